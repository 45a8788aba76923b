"""The two error types of superloss.

Every problem with user input (a spec, a circuit, a law, a point) raises
:class:`SuperlossError` with a one-line message that names the offending
input; the command line turns it into ``superloss: error: ...`` and exit code 2.

A numerical condition met while computing (a formula singular at a corner
where several regimes meet, no regime found next to a point) raises
:class:`NumericalError`: the input was fine, the computation could not go on
there. The command line says so in one line, with exit code 1. The two are
unrelated types, so that no code catches bad input to retry a numerical step.
"""


class SuperlossError(ValueError):
    """Bad input to superloss: the message says what and why, in one line."""


class NumericalError(ArithmeticError):
    """A numerical condition stopped a computation; the message says where, in one line."""
