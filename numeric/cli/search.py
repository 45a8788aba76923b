"""The searches for least loss: ``optimize`` one spec's parameters with a certificate, ``study`` the motif and its
nested variants over a grid of (S, I_b), and ``phase``, the structure of the optimum over the whole plane."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from analytic import Problem, SuperlossError
from analytic.spec import check_exact, load_spec

from ..files import output_folder, staged_folder, write_atomically
from .arguments import check_output_file, parse_assignments, parse_bounds, parse_numbers
from .command import Command


def optimize_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", help="TOML spec file")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="fix a symbol, e.g. S=0.9 (repeatable)")
    p.add_argument(
        "--free",
        action="append",
        metavar="NAME",
        help="a weight to optimize (repeatable; default: every weight not fixed)",
    )
    p.add_argument(
        "--bounds",
        action="append",
        metavar="NAME=LOW:HIGH",
        help="the box of a free weight (repeatable; default: the spec's [bounds])",
    )
    p.add_argument("--starts", type=int, default=16, help="local searches from seeded starts (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--samples",
        type=int,
        default=1_000_000,
        help="Monte Carlo samples to check the optimum's loss (default 1,000,000; 0: no check)",
    )
    p.add_argument(
        "--global",
        dest="global_search",
        action="store_true",
        help="also run differential evolution as an independent cross-check (about 20 s more on the full motif)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="processes for the starts (default -1: one per core)")
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    p.add_argument(
        "--latex",
        metavar="FILE",
        help="also write the optimum's table and the stationary conditions in its regime as LaTeX",
    )
    p.add_argument("--standalone", action="store_true", help="with --latex: a complete document")
    p.add_argument("--title", metavar="TEXT", help="with --standalone: the document's title (default 'Optimum')")


def _optimum_latex(args: argparse.Namespace, spec, best) -> None:
    """``optimize --latex``: the optimum's table and each parameter's stationary condition in its regime."""
    from analytic.document import standalone_optimum
    from analytic.latex import optimum_align
    from analytic.stationary import stationary

    settled = {s: v for s, v in best.fixed.items() if s in best.regime.expr.free_symbols}
    regime = best.regime.subs(settled).with_names(spec.names)
    # Stationary on the whole orbit of the rescaling: the conditions hold at the canonical point too.
    free = [p for p in best.params if p in regime.expr.free_symbols and p not in best.active_bounds]
    stationaries = [stationary(regime, p) for p in free]
    block = optimum_align(best.canonical, best.shown_loss, stationaries, best.active_bounds, spec.names)
    text = standalone_optimum(regime, block, best.fixed, title=args.title) if args.standalone else block + "\n"
    write_atomically(args.latex, text)
    print(f"wrote {args.latex}")


def cmd_optimize(args: argparse.Namespace) -> None:
    from ..optimize import optimize

    check_output_file(args.json, "--json")
    check_output_file(args.latex, "--latex")
    if args.latex is None and args.standalone or args.title is not None and not args.standalone:
        raise SuperlossError("--standalone needs --latex FILE, and --title needs --standalone")
    if args.starts < 1 or args.seed < 0 or args.samples < 0 or args.samples == 1:
        raise SuperlossError(
            f"need --starts >= 1, --seed >= 0 and --samples 0 or >= 2, "
            f"got {args.starts}, {args.seed} and {args.samples}"
        )
    spec = load_spec(args.spec)
    check_exact(spec.circuit, str(args.spec))  # its certificate is a closed form
    fix, bounds = parse_assignments(args.fix, "--fix"), parse_bounds(args.bounds)
    fixed_names = {s.name for s in fix}
    free = list(dict.fromkeys(args.free or [s.name for s in spec.circuit.symbols if s.name not in fixed_names]))
    # The spec's [at] gives the values of the symbols that are not free (and a start for those that are).
    values = {**{s: v for s, v in spec.at.items() if s.name not in free}, **fix}
    # Names, values and roles are checked by the problem, with the same messages in every command.
    problem = Problem(spec.circuit, spec.law, spec.importance, free=free, fixed=values)
    problem.require("optimize", weights_only=True)
    box = {problem.symbol(s): b for s, b in {**spec.bounds, **bounds}.items()}
    missing = [p.name for p in problem.params if p not in box]
    if missing:
        raise SuperlossError(
            f"no bounds for {', '.join(missing)}: give --bounds NAME=LOW:HIGH or a [bounds] table in the spec"
        )
    problem = problem.replace(free={p: box[p] for p in problem.params})
    free = problem.params
    x0 = {s: spec.at[s] for s in free if s in spec.at}
    start = time.perf_counter()
    best = optimize(
        problem,
        starts=args.starts,
        seed=args.seed,
        global_search=args.global_search,
        samples=args.samples,
        x0=x0 if len(x0) == len(free) else None,
        jobs=args.jobs,
    )
    print(best)
    print(f"optimized in {time.perf_counter() - start:.1f} s")
    if args.json is not None:
        data = {"spec": str(args.spec), "seed": args.seed, **best.to_dict()}
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.latex is not None:
        _optimum_latex(args, spec, best)


OPTIMIZE = Command(
    name="optimize",
    help="Find the parameters of least loss, with a certificate of the optimum.",
    example="superloss optimize docs/examples/motif_study.toml --fix S=0.9 --fix I_b=0.3 --json optimum.json",
    arguments=optimize_arguments,
    run=cmd_optimize,
)


def study_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--sparsity",
        action="append",
        metavar="S",
        help="a sparsity in [0, 1) (repeatable; default 0.5 0.7 0.9 0.97 0.99)",
    )
    p.add_argument(
        "--importance",
        action="append",
        metavar="I_B",
        help="the rider's importance, > 0 (repeatable; default 0.1 0.3 1)",
    )
    p.add_argument("--starts", type=int, default=16, help="starts of the full motif's search (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--samples",
        type=int,
        default=1_000_000,
        help="Monte Carlo samples to check each optimum (default 1,000,000; 0: no check)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="cases run in parallel (default -1: one per core)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write every optimum with its certificate as JSON")


def cmd_study(args: argparse.Namespace) -> None:
    from .. import study

    if args.starts < 1 or args.seed < 0 or args.samples < 0 or args.samples == 1 or args.jobs == 0:
        raise SuperlossError(
            f"need --starts >= 1, --seed >= 0, --samples 0 or >= 2 and --jobs != 0, "
            f"got {args.starts}, {args.seed}, {args.samples} and {args.jobs}"
        )
    check_output_file(args.json, "--json")
    check_output_file(args.markdown, "--markdown")
    sparsities = parse_numbers(args.sparsity or study.SPARSITIES, "--sparsity", 0, 1, closed_high=False)
    importances = parse_numbers(args.importance or study.RIDER_IMPORTANCES, "--importance", 0, 1e6, closed_high=True)
    if any(i == 0 for i in importances):
        raise SuperlossError("--importance 0: the rider must matter (a positive importance)")
    start = time.perf_counter()
    cases = study.run(sparsities, importances, starts=args.starts, seed=args.seed, jobs=args.jobs, samples=args.samples)
    table = study.table(cases)
    notes = [str(c.family) for c in cases]
    notes += [f"S = {c.sparsity}, I_b = {c.rider_importance}: {r}" for c in cases for r in c.relaxations]
    print(table)
    print("\n".join(notes))
    print(f"{len(cases)} cases in {time.perf_counter() - start:.0f} s")
    if args.markdown is not None:
        write_atomically(args.markdown, table + "\n\n" + "".join(f"- {n}\n" for n in notes))
        print(f"wrote {args.markdown}")
    if args.json is not None:
        data = {"seed": args.seed, "starts": args.starts, "cases": [c.to_dict() for c in cases]}
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")


STUDY = Command(
    name="study",
    help="The motif study: the full motif and its nested variants optimized at each (S, I_b).",
    example="superloss study --sparsity 0.9 --sparsity 0.97 --importance 0.3 --json study.json",
    arguments=study_arguments,
    run=cmd_study,
)


def phase_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--model",
        choices=("motif", "reconstruction"),
        default="motif",
        help="the motif over (S, I_b) (default), or the paper's n = 2, m = 1 reconstruction model "
        "ReLU(W^T W x + b) over (1 - S, r)",
    )
    p.add_argument("--points", type=int, default=40, help="grid points along each axis (default 40)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the opening searches (default 0)")
    p.add_argument(
        "--jobs", type=int, default=-1, help="processes, the rows split among them (default -1: one per core)"
    )
    p.add_argument(
        "--overlay",
        action="store_true",
        help="also train free 3 x 5 models (3 seeds) on a grid a quarter as fine, and mark where the "
        "detector finds the motif in them",
    )
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")


def cmd_phase(args: argparse.Namespace) -> None:
    from ..phase import phase_diagram
    from ..plots import phase_figure, save

    if args.points < 2 or args.jobs == 0 or args.seed < 0:
        raise SuperlossError(
            f"need --points >= 2, --jobs != 0 and --seed >= 0, got {args.points}, {args.jobs} and {args.seed}"
        )
    folder = output_folder(args.out, args.force, "phase")
    if args.model == "reconstruction":
        return _reconstruction_phase(args, folder)
    start = time.perf_counter()
    diagram = phase_diagram(points=args.points, seed=args.seed, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(f"{args.points} x {args.points} phase diagram in {elapsed:.0f} s")
    for structure in sorted(set(diagram.structure.ravel())):
        print(f"  {structure}: {int((diagram.structure == structure).sum())} points")
    print(f"  the infimum at kappa -> oo (not attained): {int(diagram.at_infinity.sum())} points")
    print(f"  searches from neighbouring optima lowered {diagram.improved} losses")
    record = {**diagram.to_dict(), "seconds": elapsed}
    overlay = None
    if args.overlay:
        from ..phase import IMPORTANCE_RANGE, P_RANGE, trained_overlay

        coarse = max(2, args.points // 4)
        overlay = trained_overlay(1 - np.geomspace(*P_RANGE, coarse), np.geomspace(*IMPORTANCE_RANGE, coarse))
        record["trained"] = overlay.to_dict()
        print(f"free 3 x 5 models on a {coarse} x {coarse} grid: the motif in {overlay.motif.mean():.0%} of them")
    with staged_folder(folder) as tmp:
        write_atomically(tmp / "phase.json", json.dumps(record) + "\n")
        save(phase_figure(diagram, overlay=overlay), tmp / "phase")
    print(f"wrote {folder}")


def _reconstruction_phase(args, folder: Path) -> None:
    from ..plots import reconstruction_figure, save
    from ..reconstruction import phase_diagram

    start = time.perf_counter()
    phases = phase_diagram(points=args.points, seed=args.seed, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(f"n = 2, m = 1 reconstruction model: {args.points} x {args.points} phase diagram in {elapsed:.0f} s")
    print(phases.table())
    with staged_folder(folder) as tmp:
        write_atomically(tmp / "phase.json", json.dumps({**phases.to_dict(), "seconds": elapsed}) + "\n")
        save(reconstruction_figure(phases), tmp / "phase")
    print(f"wrote {folder}")


PHASE = Command(
    name="phase",
    help="The motif's analytic phase diagram: the structure of its optimum over (S, I_b), and what inhibition buys.",
    example="superloss phase --points 12 --out phase",
    arguments=phase_arguments,
    run=cmd_phase,
)

COMMANDS = (OPTIMIZE, STUDY, PHASE)
