"""The paper's scale. ``decompose``: one model of any size, its loss by number of active features and its
interference matrix; ``sweep``: the paper's density sweep, trained and taken apart."""

from __future__ import annotations

import argparse
import json

import numpy as np

from analytic import SuperlossError

from ..files import output_folder, staged_folder, write_atomically
from .arguments import check_output_file
from .command import Command


def _scheduler_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run the pattern sums on Dask: 'local' starts a LocalCluster, else a running scheduler's address",
    )
    p.add_argument("--workers", type=int, metavar="K", help="with --scheduler local: worker processes (default 1/core)")


def _check_workers(args: argparse.Namespace) -> None:
    if args.workers is not None and (args.scheduler != "local" or args.workers < 1):
        raise SuperlossError("--workers K (K >= 1) goes with --scheduler local")


def decompose_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="an .npz or .json file with W1 (m x n), W2 (n x m) and b (n), or a train folder")
    p.add_argument("--instance", type=int, metavar="K", help="with a train folder: the instance (default 0)")
    p.add_argument("--sparsity", type=float, metavar="S", help="S in [0, 1] (a train folder's own by default)")
    p.add_argument(
        "--importance-decay", type=float, metavar="R", help="I_i = R^i, i from 0 (a train folder's own by default)"
    )
    p.add_argument("--order", type=int, default=2, help="patterns of up to this many active features exactly (0-3)")
    p.add_argument(
        "--top", type=int, metavar="K", help="with --order 3: only the triples of the K most important features"
    )
    p.add_argument("--samples", type=int, default=100_000, help="Monte Carlo samples for the rest (default 100,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _scheduler_arguments(p)
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.add_argument("--figure", metavar="STEM", help="draw the interference matrix to STEM.png and STEM.pdf")


def cmd_decompose(args: argparse.Namespace) -> None:
    from ..decomposition import decompose
    from ..decomposition.model import read_model

    check_output_file(args.json, "--json")
    check_output_file(args.figure, "--figure", stem=True)
    if args.seed < 0:
        raise SuperlossError(f"--seed must be >= 0, got {args.seed}")
    model = read_model(args.model, args.instance)
    n = model.W1.shape[1]
    sparsity = args.sparsity if args.sparsity is not None else model.sparsity
    if sparsity is None:
        raise SuperlossError("give --sparsity S (the model file does not say)")
    if args.importance_decay is not None:
        if not args.importance_decay > 0:
            raise SuperlossError(f"--importance-decay must be positive, got {args.importance_decay}")
        importance = args.importance_decay ** np.arange(n)
    elif model.importance is not None:
        importance = model.importance
    else:
        raise SuperlossError("give --importance-decay R (the model file does not say)")
    _check_workers(args)
    d = decompose(
        model.W1,
        model.W2,
        model.b,
        sparsity,
        importance,
        args.order,
        args.samples,
        args.seed,
        top=args.top,
        scheduler=args.scheduler,
        workers=args.workers,
    )
    m = model.W1.shape[0]
    print(
        f"model: n = {n} features, m = {m} neurons; S = {sparsity:g}, "
        f"importances {importance[0]:g} .. {importance[-1]:.3g}"
    )
    print(
        f"exact, patterns of at most {d.order} active"
        + (f" (triples of the {args.top} most important)" if d.order == 3 and args.top else "")
        + f": {d.exact:.8g} "
        f"(probability {d.probability:.4g}, {d.exact_share:.1%} of the estimated loss; "
        + ", ".join(f"{k} active {v:.4g}" for k, v in enumerate(d.by_size))
        + ")"
    )
    print(
        (
            "rest, the patterns not computed exactly"
            if d.order == 3 and args.top
            else f"rest, more than {d.order} active"
        )
        + f": at most {d.bound:.6g} (bound); "
        f"estimated {d.rest:.6g} +- {d.rest_stderr:.2g}"
    )
    print(f"loss: {d.estimate:.8g} +- {d.stderr:.2g} (stratified, {d.samples} samples, seed {d.seed})")
    ratio = d.plain_stderr / d.stderr if d.stderr else float("inf")
    print(
        f"plain Monte Carlo: {d.plain:.8g} +- {d.plain_stderr:.2g} with as many samples ({ratio:.1f} times the "
        f"stratified error); +- {d.plain_stderr_same_time:.2g} in the same wall time"
    )
    print(
        "seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in d.seconds.items())
        + " (exact: every pattern of at most two features, for the interference matrix)"
    )
    # Everything is built before anything is written: a failure leaves no file behind.
    figure = None
    if args.figure is not None:
        from ..plots import interference_figure

        figure = interference_figure(d.interference, importance)
    if args.json is not None:
        data = {
            "model": str(args.model),
            "n": n,
            "m": m,
            "sparsity": float(sparsity),
            "importance": [float(x) for x in importance],
            "order": d.order,
            "top": args.top if d.order == 3 else None,
            "exact": {"total": d.exact, "by_size": list(d.by_size), "probability": d.probability},
            "bound": d.bound,
            "rest": d.rest,
            "rest_stderr": d.rest_stderr,
            "estimate": d.estimate,
            "stderr": d.stderr,
            "plain": d.plain,
            "plain_stderr": d.plain_stderr,
            "plain_stderr_same_time": d.plain_stderr_same_time,
            "samples": d.samples,
            "seed": d.seed,
            "seconds": d.seconds,
            "interference": d.interference.tolist(),
        }
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if figure is not None:
        from ..plots import save

        paths = save(figure, args.figure)
        print("wrote " + " and ".join(map(str, paths)))


DECOMPOSE = Command(
    name="decompose",
    help="One model's loss by number of active features: exact for few, bounded and estimated for the rest; "
    "its interference matrix.",
    example="superloss decompose trained --instance 0 --order 2 --samples 100000 --json decomposition.json",
    arguments=decompose_arguments,
    run=cmd_decompose,
)


def sweep_arguments(p: argparse.ArgumentParser) -> None:
    from ..sweep import DENSITIES

    p.add_argument("--features", type=int, default=100, help="n (default 100)")
    p.add_argument("--neurons", type=int, default=40, help="m (default 40)")
    p.add_argument("--importance-decay", type=float, default=0.8, metavar="R", help="I_i = R^i (default 0.8)")
    p.add_argument(
        "--densities",
        type=float,
        nargs="+",
        default=list(DENSITIES),
        metavar="D",
        help="densities 1 - S in (0, 1] (default the paper's: " + " ".join(f"{d:g}" for d in DENSITIES) + ")",
    )
    p.add_argument("--steps", type=int, default=10_000, help="training steps (default 10,000, batch 1024)")
    p.add_argument("--seeds", type=int, default=1, help="models per density, seeds 0 .. K-1 (default 1)")
    p.add_argument("--order", type=int, default=2, help="patterns computed exactly, 0 to 2 (default 2)")
    p.add_argument("--samples", type=int, default=100_000, help="Monte Carlo samples per model (default 100,000)")
    p.add_argument("--seed", type=int, default=0, help="the Monte Carlo's random seed (default 0)")
    _scheduler_arguments(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_sweep(args: argparse.Namespace) -> None:
    from ..sweep import density_sweep

    _check_workers(args)
    if args.order not in (0, 1, 2):
        raise SuperlossError(f"--order must be 0, 1 or 2 in a sweep (order 3 takes hours at n = 100), got {args.order}")
    if args.seed < 0 or args.samples < 2:
        raise SuperlossError(f"need --seed >= 0 and --samples >= 2, got {args.seed} and {args.samples}")
    folder = output_folder(args.out, args.force, "sweep")
    result = density_sweep(
        args.features,
        args.neurons,
        args.importance_decay,
        args.densities,
        args.steps,
        args.seeds,
        args.order,
        args.samples,
        args.seed,
        args.scheduler,
        args.workers,
        progress=not args.quiet,
    )
    print(result.markdown(), end="")
    print(
        f"trained in {result.seconds['training']:.0f} s, taken apart in {result.seconds['analysis']:.0f} s; "
        f"motifs and monosemantic neurons are as the detector finds them (detected, not ground truth)"
    )
    with staged_folder(folder) as tmp:
        result.save(tmp)
    print(f"wrote {folder}")


SWEEP = Command(
    name="sweep",
    help="The paper's density sweep: n = 100 features in m = 40 neurons trained at every density, then each "
    "model's superposition, loss decomposition, interference matrix and detected circuits.",
    example="superloss sweep --features 100 --neurons 40 --importance-decay 0.8 --steps 10000 --out sweep",
    arguments=sweep_arguments,
    run=cmd_sweep,
)

COMMANDS = (DECOMPOSE, SWEEP)
