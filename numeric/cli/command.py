"""A command of ``superloss`` as data: its name, its help, an example, its options and the function that runs it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NamedTuple


class Command(NamedTuple):
    """One subcommand; :func:`numeric.cli.build_parser` turns each into a subparser whose help ends with the example."""

    #: The word after ``superloss``.
    name: str
    #: One sentence: the line in ``superloss --help`` and the description in ``superloss NAME --help``.
    help: str
    #: A whole command line, shown last in ``superloss NAME --help``.
    example: str
    #: Adds the command's arguments and options to its subparser.
    arguments: Callable[[argparse.ArgumentParser], None]
    #: Runs the command on the parsed arguments; a problem with the input raises ``SuperlossError``.
    run: Callable[[argparse.Namespace], None]
