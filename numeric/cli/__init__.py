"""The ``superloss`` command.

Every problem with the input ends the program with one line,
``superloss: error: ...``, and exit code 2; a numerical condition that stops
a computation (:class:`analytic.NumericalError`) with one line,
``superloss: numerical problem: ...``, and exit code 1. Files are written under
a temporary name and renamed, so nothing is ever half-written.

Each command is a :class:`~numeric.cli.command.Command` record, kept with its
options and its code in the module of its family: :mod:`~numeric.cli.exact`
(derive, check), :mod:`~numeric.cli.search` (optimize, study, phase), :mod:`~numeric.cli.atlas`,
:mod:`~numeric.cli.training` (train, compare), :mod:`~numeric.cli.scale` (decompose, sweep) and
:mod:`~numeric.cli.outputs` (report, plot, bench); what they share in reading arguments is in
:mod:`~numeric.cli.arguments`. Heavy modules are imported by the command that
needs them, so that ``superloss --help`` starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from analytic import NumericalError, SuperlossError

from . import atlas, exact, outputs, scale, search, training
from .arguments import Parser

#: The order in which ``superloss --help`` lists the commands: the exact ones and the main job first.
ORDER = (
    "derive",
    "check",
    "report",
    "optimize",
    "study",
    "atlas",
    "train",
    "compare",
    "decompose",
    "sweep",
    "phase",
    "plot",
    "bench",
)
#: Every command of every family, in that order.
COMMANDS = tuple(
    sorted(
        exact.COMMANDS + search.COMMANDS + atlas.COMMANDS + training.COMMANDS + scale.COMMANDS + outputs.COMMANDS,
        key=lambda command: ORDER.index(command.name),
    )
)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``superloss``: a subparser for each of :data:`COMMANDS`, its help ending with the example.

    >>> args = build_parser().parse_args(["check", "spec.toml", "--at", "S=0.9"])
    >>> args.command, args.at, args.samples, args.run.__name__
    ('check', ['S=0.9'], 2000000, 'cmd_check')
    """
    parser = Parser(prog="superloss", description="Exact expected loss of small ReLU circuits.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        p = sub.add_parser(
            command.name, help=command.help, description=command.help, epilog=f"example: {command.example}"
        )
        command.arguments(p)
        p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``superloss`` on ``argv`` (default: the program's arguments) and return its exit code."""
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except SuperlossError as exc:
        print(f"superloss: error: {exc}", file=sys.stderr)
        return 2
    except NumericalError as exc:
        # The input was fine; the computation could not go on where it was.
        print(f"superloss: numerical problem: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("superloss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``superloss ... | head``): say nothing more, and
        # keep Python from complaining about the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0
