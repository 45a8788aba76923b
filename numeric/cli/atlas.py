"""``atlas``: the best free models found, with their certificate and their circuit, at one point or over a grid."""

from __future__ import annotations

import argparse
import json
import time

from analytic import SuperlossError

from ..files import output_folder, staged_folder, write_atomically
from .arguments import check_output_file, parse_numbers
from .command import Command


def atlas_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--features", type=int, required=True, metavar="N", help="features, 1 to 4")
    p.add_argument("--neurons", type=int, required=True, metavar="M", help="hidden neurons, 1 to 8")
    p.add_argument("--sparsity", nargs="+", required=True, metavar="S", help="the sparsity, in [0, 1]")
    p.add_argument("--importances", nargs="+", required=True, metavar="I", help="one importance per feature, >= 0")
    p.add_argument(
        "--rider-importance",
        nargs="+",
        metavar="I_B",
        help="values that replace the second importance, one atlas row each (an atlas over the grid)",
    )
    p.add_argument("--starts", type=int, default=64, help="searches per point (default 64)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--samples",
        type=int,
        default=1_000_000,
        help="Monte Carlo samples to check the best loss (default 1,000,000; 0: no check)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="processes (default -1: one per core)")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.add_argument(
        "--trained",
        type=int,
        default=10,
        metavar="K",
        help="an atlas's comparison: free models trained per point, seeds no search starts from (default 10)",
    )
    p.add_argument(
        "--trained-starts",
        type=int,
        default=12,
        metavar="K",
        help="an atlas's models trained per point to start from (seeds 0 ..), the 4 lowest searched (default 12)",
    )
    p.add_argument("--out", metavar="DIR", help="the atlas's folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")


def cmd_atlas(args: argparse.Namespace) -> None:
    from ..free.model import check_size

    check_size(args.features, args.neurons)
    check_output_file(args.json, "--json")
    from ..atlas import TRAINING_SEEDS

    if args.jobs == 0 or args.trained < 0 or not 0 <= args.trained_starts < TRAINING_SEEDS[0]:
        raise SuperlossError(
            f"need --jobs != 0, --trained >= 0 and --trained-starts from 0 to {TRAINING_SEEDS[0] - 1}, "
            f"got {args.jobs}, {args.trained} and {args.trained_starts}"
        )
    if args.starts < 1 or args.seed < 0 or args.samples < 0 or args.samples == 1:
        raise SuperlossError(
            "need --starts >= 1, --seed >= 0 and --samples 0 or >= 2, "
            f"got {args.starts}, {args.seed} and {args.samples}"
        )
    sparsities = parse_numbers(args.sparsity, "--sparsity", 0, 1, closed_high=True)
    importances = parse_numbers(args.importances, "--importances", 0, float("inf"), closed_high=False)
    if len(importances) != args.features:
        raise SuperlossError(f"--importances: {len(importances)} given for {args.features} features")
    riders = parse_numbers(args.rider_importance or [], "--rider-importance", 0, float("inf"), closed_high=False)
    if len(sparsities) > 1 or riders:
        return _atlas(args, sparsities, importances, riders)
    from ..atlas import motif_optimal, pattern_loss, pattern_optima
    from ..free.optimum import FINALISTS, free_optimum

    start = time.perf_counter()
    search = {"seed": args.seed, "jobs": args.jobs}
    # The motif's patterns first, from a quarter of the starts and finalists: the free model
    # starts from their optima, which it contains.
    found = []
    if args.features == 3:
        found = pattern_optima(
            args.neurons,
            sparsities[0],
            importances,
            starts=max(4, args.starts // 4),
            finalists=FINALISTS // 4,
            certificate=False,
            samples=0,
            **search,
        )
    best = free_optimum(
        args.features,
        args.neurons,
        sparsities[0],
        importances,
        starts=args.starts,
        samples=args.samples,
        x0=[x for _, x in found],
        **search,
    )
    print(best)
    record = {"seed": args.seed, **best.to_dict()}
    if found:
        pattern = pattern_loss(found)
        optimal = motif_optimal(best.shown_loss, bool(best.detection.motifs), pattern)
        record |= {"motif_pattern": pattern, "motif_optimal": optimal}
        ratio = f" ({pattern / best.shown_loss:.5g} times the free model's)" if best.shown_loss > 0 else ""
        print(
            f"\nthe motif's pattern of zeros, every other entry free (the best of {len(found)} choice(s) of its "
            f"monosemantic halves): {pattern:.10g}{ratio}; the seed's motif is "
            f"{'' if optimal else 'not '}the optimum found for this budget"
        )
    print(f"searched in {time.perf_counter() - start:.1f} s")
    if args.json is not None:
        write_atomically(args.json, json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.json}")


def _atlas(args: argparse.Namespace, sparsities: list, importances: list, riders: list) -> None:
    """Several points: the atlas, written to a folder (JSON, Markdown, figure) and summarized."""
    from ..atlas import TRAINING_SEEDS, atlas
    from ..plots import atlas_figure, save

    if args.features < 2:
        raise SuperlossError("--rider-importance needs at least two features (it replaces the second importance)")
    folder = output_folder(args.out, args.force, "atlas")
    start = time.perf_counter()
    result = atlas(
        args.features,
        args.neurons,
        [float(s) for s in sparsities],
        [float(r) for r in riders or importances[1:2]],
        [float(i) for i in importances],
        starts=args.starts,
        trained_starts=args.trained_starts,
        seed=args.seed,
        jobs=args.jobs,
        trained_seeds=range(TRAINING_SEEDS[0], TRAINING_SEEDS[0] + args.trained),
    )
    elapsed = time.perf_counter() - start
    print(result.table())
    for p in result.missed():
        print(
            f"S = {p.sparsity:g}, I_b = {p.rider_importance:g}: {p.trained_below} trained model(s) below the best "
            f"found ({min(p.trained):.6g} < {p.loss:.6g}): the search missed their basin"
        )
    print(f"atlas in {elapsed:.0f} s")
    record = {**result.to_dict(), "seconds": elapsed}
    with staged_folder(folder) as tmp:
        write_atomically(tmp / "atlas.json", json.dumps(record) + "\n")
        write_atomically(tmp / "atlas.md", result.table() + "\n")
        save(atlas_figure(result), tmp / "atlas")
    if args.json is not None:
        write_atomically(args.json, json.dumps(record, indent=2) + "\n")
    print(f"wrote {folder}")


ATLAS = Command(
    name="atlas",
    help="The best free models found, with a certificate and a description of their circuit.",
    example="superloss atlas --features 3 --neurons 5 --sparsity 0.9 --importances 1 0.3 1 --json free.json",
    arguments=atlas_arguments,
    run=cmd_atlas,
)

COMMANDS = (ATLAS,)
