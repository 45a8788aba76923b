"""Training against the exact loss: ``train`` free models on sampled data and find the motif in them, and
``compare`` trained models with the analytic optimum."""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import sympy as sp

from analytic import SuperlossError

from ..files import output_folder, staged_folder, write_atomically
from .arguments import check_output_file, parse_numbers
from .command import Command


def train_arguments(p: argparse.ArgumentParser) -> None:
    from ..train import SCHEDULES

    p.add_argument(
        "--model",
        choices=("hidden", "reconstruction"),
        default="hidden",
        help="ReLU(W2 ReLU(W1 x) + b) with target |x| (default), or ReLU(W^T W x + b) with target x",
    )
    p.add_argument("--features", type=int, default=6, help="n (default 6)")
    p.add_argument("--neurons", type=int, default=10, help="m (default 10)")
    p.add_argument("--sparsity", action="append", metavar="S", help="S in [0, 1] (repeatable; default 0.8)")
    p.add_argument("--importance-decay", type=float, default=0.7, help="I_i = r^i (default 0.7)")
    p.add_argument("--steps", type=int, default=5000, help="training steps (default 5000)")
    p.add_argument("--seeds", type=int, default=10, help="seeds 0 .. K-1 for each sparsity (default 10)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--lr", type=float, default=1e-2, help="peak learning rate (default 1e-2)")
    p.add_argument("--optimizer", choices=("adam", "adamw"), default="adam", help="default adam")
    p.add_argument("--weight-decay", type=float, default=0.0, help="default 0")
    p.add_argument("--schedule", choices=tuple(SCHEDULES), default="cosine", help="default cosine (decay to 0)")
    p.add_argument("--warmup", type=int, default=0, help="warm-up steps of warmup_cosine (default 0)")
    p.add_argument("--clip", type=float, default=None, help="clip each model's gradient norm (default: no)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_train(args: argparse.Namespace) -> None:
    from ..detect import detect
    from ..train import TrainConfig, train

    if args.features < 1 or args.neurons < 1 or args.seeds < 1:
        raise SuperlossError(
            f"need --features, --neurons and --seeds >= 1, got {args.features}, {args.neurons} and {args.seeds}"
        )
    if not (np.isfinite(args.importance_decay) and args.importance_decay > 0):
        raise SuperlossError(f"--importance-decay must be a number > 0, got {args.importance_decay}")
    sparsities = [float(v) for v in parse_numbers(args.sparsity or ["0.8"], "--sparsity", 0, 1, closed_high=True)]
    config = TrainConfig(
        steps=args.steps,
        batch=args.batch,
        lr=args.lr,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        warmup=args.warmup,
        clip=args.clip,
    )
    folder = output_folder(args.out, args.force, "train")
    importance = [args.importance_decay**i for i in range(args.features)]
    start = time.perf_counter()
    result = train(
        args.model,
        args.features,
        args.neurons,
        sparsities,
        [importance],
        seeds=list(range(args.seeds)),
        config=config,
        progress=not args.quiet,
    )
    print(
        f"trained {result.instances} models in {time.perf_counter() - start:.1f} s "
        f"(I_i = {args.importance_decay:g}^i, {args.steps} steps of batch {args.batch})"
    )
    est = result.final_estimate
    detections = []
    for k in range(result.instances):
        line = (
            f"seed {result.seeds[k]}, S = {result.sparsities[k]:g}: training loss {est.mean[k]:.6g} "
            f"+- {est.stderr[k]:.2g}"
        )
        if args.model == "hidden":
            found = detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k])
            detections.append(found.to_dict())
            line += (
                f"; {len(found.motifs)} motif instance(s), {len(found.monosemantic)} monosemantic and "
                f"{len(found.unexplained)} unexplained neuron(s)"
            ) + "".join(
                f"\n    host {m.host} ({m.host_feature}{'+-'[m.host_half < 0]}) carries rider {m.rider}, "
                f"inhibitor {m.inhibitor}: leak {m.leak:.3g} x inhibition {m.inhibition:.3g}, "
                f"cancellation {m.cancellation:.3f}"
                for m in found.motifs
            )
        print(line)
    if detections:
        with_motif = sum(1 for d in detections if d["motifs"])
        print(f"asymmetric superposition with inhibition in {with_motif} of {len(detections)} models")
    with staged_folder(folder) as tmp:
        result.save(tmp)
        if detections:
            write_atomically(tmp / "detections.json", json.dumps(detections, indent=1) + "\n")
    print(f"wrote {folder}")


TRAIN = Command(
    name="train",
    help="Train free models on sampled data (many seeds at once) and find the motif in them.",
    example="superloss train --features 6 --neurons 10 --sparsity 0.8 --importance-decay 0.7 --steps 5000 "
    "--seeds 10 --out trained",
    arguments=train_arguments,
    run=cmd_train,
)


def _compare_free(args) -> dict:
    from analytic import sym

    from ..crosscheck import free_versus_motif
    from ..train import TrainConfig

    cases = free_versus_motif(
        args.sparsity,
        args.importance,
        seeds=args.seeds,
        config=TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine"),
        jobs=args.jobs,
        progress=not args.quiet,
    )
    print(
        "| S | I_b | motif family's best (exact) | kappa | its structure | free 3 x 5 models, exact loss by seed | "
        "motif / best free | motif instances in the free models |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for c in cases:
        kappa = "oo (limit)" if c.motif.at_infinity else f"{c.motif.params[sym('kappa')]:.4g}"
        print(
            f"| {c.sparsity:g} | {c.rider_importance:g} | {c.motif.loss:.6g} | {kappa} | {c.structure} | "
            + ", ".join(f"{v:.6g}" for v in c.free_losses)
            + f" | {c.motif.loss / min(c.free_losses):.3g} | "
            + ", ".join(str(len(d.motifs)) for d in c.detections)
            + " |"
        )
    return {"free_versus_motif": [c.to_dict() for c in cases]}


def _compare_circuit(args) -> dict:
    from analytic import Problem, SparseUniform
    from analytic.presets import CANONICAL, asymmetric_inhibition

    from ..crosscheck import train_circuit
    from ..motif import BOX, I_b, S
    from ..optimize import optimize
    from ..train import TrainConfig

    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine")
    out = []
    for s in args.sparsity:
        for i in args.importance:
            fixed = {S: sp.Rational(s), I_b: sp.Rational(i)}
            problem = Problem(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], free=BOX, fixed=fixed)
            best = optimize(problem, samples=0, x0=CANONICAL, jobs=args.jobs)
            run = train_circuit(best, CANONICAL, config, seed=args.seed)
            print(
                f"S = {s}, I_b = {i}: the motif's ten parameters trained from the canonical point, "
                f"{args.steps} steps of batch {args.batch}\n{run}\n"
            )
            out.append(
                {
                    "S": str(s),
                    "I_b": str(i),
                    "optimum_loss": best.loss,
                    "trained_loss": run.loss,
                    "zscore": run.zscore,
                    "estimate": run.estimate.mean,
                    "stderr": run.estimate.stderr,
                    "largest_difference": run.difference,
                    "trained": {p.name: v for p, v in run.aligned.items()},
                    "optimum": {p.name: v for p, v in best.params.items()},
                }
            )
    return {"circuit_training": out}


def _compare_trained(args) -> dict:
    from ..crosscheck import trained_models
    from ..train import TrainConfig, TrainResult

    if args.folder is None:
        raise SuperlossError("compare trained needs the folder that 'superloss train --out' wrote")
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine")
    rows = trained_models(
        TrainResult.load(args.folder), jobs=args.jobs, composed_config=config if args.composed else None, seed=args.seed
    )
    print(
        "| seed | S | exact loss | training estimate | z | motif instances |"
        + (" composed circuit, optimized (exact loss) |" if args.composed else "")
    )
    print("|---|---|---|---|---|---|" + ("---|" if args.composed else ""))
    for r in rows:
        composed = r.get("composed_loss")
        print(
            f"| {r['seed']} | {r['S']:g} | {r['exact_loss']:.6g} | {r['training_estimate']:.6g} +- "
            f"{r['stderr']:.2g} | {r['zscore']:+.2f} | {r['motifs']} |"
            + ("" if not args.composed else " - |" if composed is None else f" {composed:.6g} |")
        )
    return {"trained": rows}


#: What ``superloss compare WHAT`` compares, by name: each prints its table and returns its JSON record.
COMPARISONS = {"free": _compare_free, "circuit": _compare_circuit, "trained": _compare_trained}


def compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("what", choices=tuple(COMPARISONS), help="which comparison")
    p.add_argument("folder", nargs="?", help="for 'trained': the folder 'superloss train --out' wrote")
    p.add_argument("--sparsity", action="append", metavar="S", help="repeatable (default 0.9)")
    p.add_argument("--importance", action="append", metavar="I_B", help="the rider's (repeatable; default 0.3)")
    p.add_argument("--seeds", type=int, default=3, help="free models per case (default 3)")
    p.add_argument("--steps", type=int, default=10_000, help="training steps (default 10,000)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--lr", type=float, default=1e-2, help="peak learning rate, cosine decay (default 1e-2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled training of 'circuit' (default 0)")
    p.add_argument(
        "--composed",
        action="store_true",
        help="for 'trained': also optimize the circuit composed from each model's motif instances "
        "(sampled training, --steps and --batch) and score it exactly (slow: a minute per model)",
    )
    p.add_argument("--jobs", type=int, default=-1, help="processes (default -1: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")


def cmd_compare(args: argparse.Namespace) -> None:
    check_output_file(args.json, "--json")
    if args.seeds < 1 or args.steps < 1 or args.batch < 1 or not args.lr > 0 or args.jobs == 0:
        raise SuperlossError("need --seeds, --steps, --batch >= 1, --lr > 0 and --jobs != 0")
    if args.what != "trained" and args.folder is not None:
        raise SuperlossError(f"compare {args.what} takes no folder")
    args.sparsity = parse_numbers(args.sparsity or ["0.9"], "--sparsity", 0, 1, closed_high=False)
    args.importance = parse_numbers(args.importance or ["0.3"], "--importance", 0, 1e6, closed_high=True)
    start = time.perf_counter()
    data = COMPARISONS[args.what](args)
    print(f"compared in {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        write_atomically(args.json, json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.json}")


COMPARE = Command(
    name="compare",
    help="Trained against analytic: free 3 x 5 models against the motif's optimum (free), the motif's own "
    "parameters trained on samples (circuit), or a 'train' folder (trained).",
    example="superloss compare trained trained/ --json compare.json",
    arguments=compare_arguments,
    run=cmd_compare,
)

COMMANDS = (TRAIN, COMPARE)
