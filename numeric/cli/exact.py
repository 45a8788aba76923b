"""The exact commands: ``derive`` prints the closed-form expected loss of a spec with its regime conditions, and
``check`` compares it with a seeded Monte Carlo estimate."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import sympy as sp

from analytic import Problem, SuperlossError, expected_loss, piecewise_loss
from analytic.spec import Spec, check_exact, load_spec

from ..engines.montecarlo import Z_MAX, monte_carlo_loss
from ..files import write_atomically
from ..rounding import shown
from .arguments import check_output_file, parse_assignments, parse_bounds
from .command import Command


def _problem(spec: Spec, at: list[str] | None) -> tuple[Problem, dict]:
    """The spec's problem with the values of the spec's ``[at]`` and ``--at`` (which wins) checked and put in,
    and the point of the symbolic weights among them, which picks the regime."""
    values = Problem(spec.circuit, spec.law, spec.importance, fixed={**spec.at, **parse_assignments(at)})
    point = {s: v for s, v in values.fixed.items() if s in values.weights}
    return values.replace(fixed=values.numbers), point


def _derive_piecewise(args: argparse.Namespace, spec: Spec, problem: Problem, point: dict, split: str) -> None:
    """``derive --piecewise``: the loss over the box of the named weights, the others at the point."""
    from analytic.document import standalone_piecewise
    from analytic.latex import piecewise_align

    free = [problem.symbol(name.strip()) for name in args.piecewise.split(",")]
    if not 1 <= len(free) <= 2 or len(set(free)) != len(free):
        raise SuperlossError(f"--piecewise {args.piecewise!r}: name one or two different weights")
    boxes = {problem.symbol(s.name): b for s, b in {**spec.bounds, **parse_bounds(args.bounds)}.items()}
    missing = [s.name for s in free if s not in boxes]
    if missing:
        raise SuperlossError(f"no box for {', '.join(missing)}: give --bounds NAME=LOW:HIGH or a [bounds] table")
    rest = {s: v for s, v in point.items() if s not in free}
    start = time.perf_counter()
    pw = piecewise_loss(problem.replace(free={s: boxes[s] for s in free}, fixed={**problem.fixed, **rest}))
    pw = replace(pw, pieces=tuple(p.with_names(spec.names) for p in pw.pieces))
    elapsed = time.perf_counter() - start
    box = ", ".join(f"{s} in [{lo}, {hi}]" for s, (lo, hi) in pw.box.items())
    print(f"L over {box}: {len(pw.pieces)} regimes, {pw.method}")
    for piece, (_, where) in zip(pw.pieces, pw.expr.args, strict=True):
        print(f"where {where}:\n  L = {piece.expr}")
    print(f"derived in {elapsed:.2f} s")
    if args.json is not None:
        data = {
            "spec": str(args.spec),
            "box": {s.name: [str(lo), str(hi)] for s, (lo, hi) in pw.box.items()},
            "proven": pw.proven,
            "pieces": [
                {"where": str(w), "loss": p.to_dict()} for p, (_, w) in zip(pw.pieces, pw.expr.args, strict=True)
            ],
        }
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.latex is not None:
        write = (
            standalone_piecewise(pw, split, title=args.title) if args.standalone else piecewise_align(pw, split) + "\n"
        )
        write_atomically(args.latex, write)
        print(f"wrote {args.latex}")


def derive_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="TOML spec file (see docs/spec.md)")
    p.add_argument(
        "--at",
        action="append",
        metavar="NAME=VALUE",
        help="a value: a weight's picks the regime, another symbol's (S, I) is put into the formula (repeatable)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.add_argument(
        "--all-conditions",
        action="store_true",
        help="list every condition of the regime (by default: those that bound it, the others summarized)",
    )
    p.add_argument("--latex", metavar="FILE", help="also write the loss as a LaTeX align* block (see docs/latex.md)")
    p.add_argument(
        "--standalone", action="store_true", help="with --latex: a complete document that compiles with pdflatex"
    )
    p.add_argument(
        "--split",
        metavar="output|p|pattern",
        help="with --latex: the collected form, one line per output and number of active features (default; p "
        "where S is a number), one group per power of p = 1 - S, or one per pattern of active features",
    )
    p.add_argument("--title", metavar="TEXT", help="with --standalone: the document's title (default 'Expected loss')")
    p.add_argument(
        "--piecewise",
        metavar="NAME[,NAME]",
        help="the loss over the box of one or two weights (--bounds or the spec's [bounds]), every other weight "
        "at its value, as one formula per regime",
    )
    p.add_argument("--bounds", action="append", metavar="NAME=LOW:HIGH", help="with --piecewise: a weight's box")


def cmd_derive(args: argparse.Namespace) -> None:
    from analytic.document import standalone
    from analytic.latex import SPLITS, align

    check_output_file(args.json, "--json")
    # The LaTeX options are checked before the work, so that a typo costs nothing.
    if args.latex is None and (args.standalone or args.split is not None):
        raise SuperlossError("--standalone and --split need --latex FILE")
    if args.title is not None and not args.standalone:
        raise SuperlossError("--title needs --standalone")
    split = args.split
    if split is not None and split not in SPLITS:
        raise SuperlossError(f"--split {split!r}: must be one of {', '.join(SPLITS)}")
    check_output_file(args.latex, "--latex")
    if args.bounds and not args.piecewise:
        raise SuperlossError("--bounds needs --piecewise")
    spec = load_spec(args.spec)
    check_exact(spec.circuit, str(args.spec))
    problem, point = _problem(spec, args.at)
    if args.piecewise:
        _derive_piecewise(args, spec, problem, point, split)
        return
    start = time.perf_counter()
    loss = expected_loss(problem, at=point or None).with_names(spec.names)
    elapsed = time.perf_counter() - start
    print(f"L = {loss.expr}")
    if problem.numbers:
        print("with " + ", ".join(f"{s} = {v}" for s, v in problem.numbers.items()) + " put in")
    found = None
    if loss.regime is not None:
        print(
            f"regime at {', '.join(f'{s} = {v}' for s, v in loss.at.items())}"
            + (" (on a boundary: an adjacent regime's formula)" if loss.on_boundary else "")
        )
        if args.all_conditions:
            print(f"valid where (all {len(loss.conditions)} conditions):")
            for c in loss.conditions:
                print(f"  {c}")
        else:
            from ..facets import bounding

            start = time.perf_counter()
            found = bounding(loss)
            elapsed += time.perf_counter() - start
            print(
                f"valid where ({len(found.bounding)} of its {len(loss.conditions)} conditions bound the regime, "
                "each crossed alone just past a segment from the point, checked exactly):"
            )
            for c in found.conditions:
                print(f"  {c}")
            print(f"{found.summary} (--all-conditions lists them all)")
    print(f"derived in {elapsed:.2f} s" + ("" if found is None else ", its bounding conditions included"))
    if args.json is not None:
        data = {
            "spec": str(args.spec),
            "expr": str(loss.expr),
            "latex": sp.latex(loss.expr),
            "conditions": [str(c) for c in loss.conditions],
            "at": {str(s): str(v) for s, v in loss.at.items()},
            "witness": {str(s): str(v) for s, v in loss.witness.items()},
            "on_boundary": loss.on_boundary,
            **(found.to_dict() if found is not None else {}),
            "terms": [
                {
                    "output": spec.circuit.features[i],
                    "pattern": sorted(spec.circuit.features[k] for k in A),
                    "probability": str(loss.probability[(i, A)]),
                    "expectation": str(t),
                }
                for (i, A), t in loss.terms.items()
            ],
            "loss": loss.to_dict(),
        }
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.latex is not None:
        only = (found.conditions, found.summary) if found is not None else None
        if args.standalone:
            text = standalone(loss, split, title=args.title, only=only)
        else:
            text = align(loss, split, only=only) + "\n"
        write_atomically(args.latex, text)
        print(f"wrote {args.latex}")


DERIVE = Command(
    name="derive",
    help="Print the closed-form expected loss of a spec and its regime conditions.",
    example="superloss derive docs/examples/motif_symbolic.toml --at kappa=30 --json loss.json "
    "--latex loss.tex --standalone",
    arguments=derive_arguments,
    run=cmd_derive,
)


def check_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="TOML spec file")
    p.add_argument("--at", action="append", metavar="NAME=VALUE", help="values for every symbol (repeatable)")
    p.add_argument("--samples", type=int, default=2_000_000, help="Monte Carlo samples (default 2,000,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def cmd_check(args: argparse.Namespace) -> None:
    if args.samples < 2:
        raise SuperlossError(f"--samples must be at least 2, got {args.samples}")
    if args.seed < 0:
        raise SuperlossError(f"--seed must be >= 0, got {args.seed}")
    spec = load_spec(args.spec)
    check_exact(spec.circuit, str(args.spec))
    problem, point = _problem(spec, args.at)
    everything = problem.fix(point)
    everything.require("check", params=False)
    loss = expected_loss(problem, at=point or None).with_names(spec.names)
    exact = float(loss.expr.subs(point))
    mc = monte_carlo_loss(everything, samples=args.samples, seed=args.seed)
    print(f"closed form   {shown(exact, mc.tolerance):.10g}")
    print(f"Monte Carlo   {mc.mean:.10g} +- {mc.stderr:.3g}  ({mc.samples} samples, seed {mc.seed})")
    z = mc.zscore(exact)
    verdict = "agree" if mc.agrees(exact) else "DISAGREE"
    if z is None:
        print(f"agreement     {mc.compare(exact)}  ({verdict}: every sample gave the same loss)")
    else:
        print(f"z-score       {z:+.2f}  ({verdict} at |z| < {Z_MAX:g})")


CHECK = Command(
    name="check",
    help="Compare the closed form with a seeded Monte Carlo estimate.",
    example="superloss check docs/examples/motif_symbolic.toml --at S=0.9 --at I_a=1 --at I_b=0.3 --at I_c=1",
    arguments=check_arguments,
    run=cmd_check,
)

COMMANDS = (DERIVE, CHECK)
