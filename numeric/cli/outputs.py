"""The commands that make finished outputs: ``report``, the main job's folder of results, ``plot``, one figure from
an earlier command's output, and ``bench``, the measurements of the engines."""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

from analytic import SuperlossError

from .arguments import check_output_file
from .command import Command


def report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--samples", type=int, default=4_000_000, help="Monte Carlo samples (default 4,000,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def cmd_report(args: argparse.Namespace) -> None:
    from ..report import run

    if args.samples < 2 or args.seed < 0:
        raise SuperlossError(f"--samples must be >= 2 and --seed >= 0, got {args.samples} and {args.seed}")
    run(out=args.out, force=args.force, samples=args.samples, seed=args.seed)


REPORT = Command(
    name="report",
    help="The main job: the motif's closed form, its Monte Carlo check, a summary.",
    example="superloss report --out my-report",
    arguments=report_arguments,
    run=cmd_report,
)


def _plot_sparsity(args):
    from ..plots import loss_against_sparsity

    try:
        cases = json.loads(Path(args.source).read_text())["cases"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SuperlossError(f"{args.source}: not the JSON that 'superloss study --json' writes") from None
    return loss_against_sparsity(cases)


def _plot_training(args):
    from ..plots import training_curves
    from ..train import TrainResult

    return training_curves(TrainResult.load(args.source))


def _weights_circuit(args):
    """The numeric circuit of ``plot weights``' source: a train folder's model ``--seed``, a spec
    at its ``[at]`` point, or the optimum an ``optimize --json`` file holds."""
    from analytic import Circuit
    from analytic.spec import load_spec

    source = Path(args.source)
    if source.is_dir():
        from ..train import TrainResult

        result = TrainResult.load(source)
        if not 0 <= args.seed < result.instances:
            raise SuperlossError(f"--seed: model {args.seed} does not exist; {source} has {result.instances}")
        return result.circuit(args.seed)
    if source.suffix == ".toml":
        spec = load_spec(source)
        circuit = spec.circuit.subs(spec.at)
        if not circuit.is_numeric:
            missing = ", ".join(s.name for s in circuit.symbols)
            raise SuperlossError(f"{source}: give {missing} a value in its [at] table to draw its weights")
        return circuit
    try:
        c = json.loads(source.read_text())["circuit"]
        return Circuit(c["W1"], c["W2"], c["b1"], c["b2"], c["hidden"], c["output"], c["target"], c["features"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SuperlossError(
            f"{source}: not a train folder, a spec (.toml) or the JSON that 'superloss optimize --json' writes"
        ) from None


def _plot_weights(args):
    from ..plots import weight_diagram, weight_heatmaps

    circuit = _weights_circuit(args)
    return weight_heatmaps(circuit) if args.style == "heatmap" else weight_diagram(circuit)


def _plot_phase(args):
    from ..plots import phase_figure

    try:
        record = json.loads((Path(args.source) / "phase.json").read_text())
        return phase_figure(record, overlay=record.get("trained"))
    except (OSError, ValueError, KeyError, TypeError):
        raise SuperlossError(f"{args.source}: not a folder that 'superloss phase' wrote") from None


#: What ``superloss plot KIND SOURCE`` draws, by kind.
PLOTS = {"sparsity": _plot_sparsity, "training": _plot_training, "weights": _plot_weights, "phase": _plot_phase}


def plot_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("kind", choices=tuple(PLOTS), help="what to draw")
    p.add_argument(
        "source",
        help="study JSON (sparsity), train folder (training), phase folder (phase); for weights a train folder, "
        "a spec with its [at] point or an 'optimize --json' file",
    )
    p.add_argument("--out", required=True, metavar="STEM", help="writes STEM.png and STEM.pdf")
    p.add_argument("--seed", type=int, default=0, help="for weights: which model of the folder (default 0)")
    p.add_argument(
        "--style",
        choices=("heatmap", "bars"),
        default="heatmap",
        help="for weights: the matrices as heatmaps (default) or each neuron's weights as stacked bars",
    )


def cmd_plot(args: argparse.Namespace) -> None:
    from ..plots import save

    check_output_file(args.out, "--out", stem=True)
    for path in save(PLOTS[args.kind](args), args.out):
        print(f"wrote {path}")


PLOT = Command(
    name="plot",
    help="Figures (PNG and PDF): loss against S from a study, training curves from a train folder, the weights "
    "of a trained model, a spec or an optimum, a phase diagram.",
    example="superloss plot training trained/ --out training",
    arguments=plot_arguments,
    run=cmd_plot,
)


def bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="skip the slow plain-SymPy comparison")
    p.add_argument(
        "--baseline",
        action="store_true",
        help="instead: the optimizer against 100 Nelder-Mead runs on a Monte Carlo loss, on three "
        "study cases (about twenty minutes)",
    )
    p.add_argument(
        "--training",
        action="store_true",
        help="instead: the numpy trainer against PyTorch on the CPU (needs the 'bench' extra: torch)",
    )
    p.add_argument(
        "--phase",
        action="store_true",
        help="instead: the 40 x 40 phase diagram (three runs of about 1.5 minutes) and its engines",
    )
    p.add_argument(
        "--free",
        action="store_true",
        help="instead: one free 3 x 5 optimization (three runs of about a minute) and one 4 x 8 (up to 30 minutes)",
    )
    p.add_argument(
        "--polygons",
        action="store_true",
        help="instead: the closed forms of the regular pentagon and hexagon with exact weights (about ten minutes)",
    )
    p.add_argument(
        "--decomposition",
        action="store_true",
        help="instead: n = 100, m = 40 models trained and decomposed, orders 2 and 3 (about fifteen minutes)",
    )


def cmd_bench(args: argparse.Namespace) -> None:
    from ..bench.tables import baseline, decomposition, free, phase, polygons, run, training_throughput

    try:
        if args.training:
            training_throughput()
        elif args.phase:
            phase()
        elif args.free:
            free()
        elif args.polygons:
            polygons()
        elif args.decomposition:
            decomposition()
        else:
            baseline() if args.baseline else run(quick=args.quick)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        raise SuperlossError(f"a benchmark run failed: {str(exc).splitlines()[0]}") from None


BENCH = Command(
    name="bench",
    help="Measure the engine against its targets and plain sympy.integrate.",
    example="superloss bench --quick",
    arguments=bench_arguments,
    run=cmd_bench,
)

COMMANDS = (REPORT, PLOT, BENCH)
