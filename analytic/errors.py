"""The one error type of superloss.

Every problem with user input (a spec, a circuit, a law, a point) raises
:class:`SuperlossError` with a one-line message that names the offending
input; the command line turns it into ``superloss: error: ...`` and exit code 2.
"""


class SuperlossError(ValueError):
    """Bad input to superloss: the message says what and why, in one line."""
