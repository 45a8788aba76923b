"""The ``superloss`` command.

Every problem with the input ends the program with one line,
``superloss: error: ...``, and exit code 2; files are written under a
temporary name and renamed, so nothing is ever half-written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sympy as sp

from analytic import SuperlossError, expected_loss
from analytic.expression import parse_expression
from analytic.spec import Spec, load_spec

from .files import write_atomically
from .engines.montecarlo import monte_carlo_loss

EXAMPLES = {
    "derive": "superloss derive docs/examples/motif_symbolic.toml --at kappa=30 --json loss.json "
              "--latex loss.tex --standalone",
    "check": "superloss check docs/examples/motif_symbolic.toml --at S=0.9 --at I_a=1 --at I_b=0.3 --at I_c=1",
    "optimize": "superloss optimize docs/examples/motif_study.toml --fix S=0.9 --fix I_b=0.3 --json optimum.json",
    "study": "superloss study --sparsity 0.9 --sparsity 0.97 --importance 0.3 --json study.json",
    "train": "superloss train --features 6 --neurons 10 --sparsity 0.8 --importance-decay 0.7 --steps 5000 "
             "--seeds 10 --out trained",
    "compare": "superloss compare trained trained/ --json compare.json",
    "phase": "superloss phase --points 12 --out phase",
    "plot": "superloss plot training trained/ --out training",
    "bench": "superloss bench --quick",
    "report": "superloss report --out my-report",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str):
        raise SuperlossError(f"{message} (see '{self.prog} --help')")


def parse_assignments(items: Sequence[str] | None, what: str = "--at") -> dict[sp.Symbol, sp.Expr]:
    """``["w_a=2", "S=0.9"]`` -> ``{w_a: 2, S: 9/10}``, values through the whitelist grammar."""
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SuperlossError(f"{what} {item!r}: expected NAME=VALUE")
        symbol = parse_expression(name.strip(), what=f"{what} name")
        if not isinstance(symbol, sp.Symbol):
            raise SuperlossError(f"{what} {item!r}: {name.strip()!r} is not a symbol name")
        expr = parse_expression(value.strip(), what=f"{what} {name.strip()}")
        if not expr.is_number:
            raise SuperlossError(f"{what} {item!r}: the value must be a number")
        out[symbol] = expr
    return out


def _point(spec: Spec, at: dict) -> dict:
    """The spec's default point, overridden by ``--at``; unknown names are errors."""
    known = {s.name for s in spec.symbols}
    unknown = sorted(s.name for s in at if s.name not in known)
    if unknown:
        raise SuperlossError(f"--at names {', '.join(unknown)}, which the spec does not use; "
                             f"its symbols are {', '.join(sorted(known)) or 'none'}")
    return {**spec.at, **at}


def _derive(spec: Spec, point: dict):
    weights = {s: v for s, v in point.items() if s in set(spec.circuit.symbols)}
    return expected_loss(spec.circuit, spec.law, spec.importance, at=weights or None)


def cmd_derive(args) -> None:
    from analytic.document import standalone
    from analytic.latex import SPLITS, align

    if args.json is not None and not Path(args.json).name:
        raise SuperlossError("--json needs a file name")
    # The LaTeX options are checked before the work, so that a typo costs nothing.
    if args.latex is None and (args.standalone or args.split is not None):
        raise SuperlossError("--standalone and --split need --latex FILE")
    split = args.split or "p"
    if split not in SPLITS:
        raise SuperlossError(f"--split {split!r}: must be one of {', '.join(SPLITS)}")
    if args.latex is not None:
        if not Path(args.latex).name:
            raise SuperlossError("--latex needs a file name")
        if not Path(args.latex).parent.is_dir():
            raise SuperlossError(f"cannot write {args.latex}: folder {Path(args.latex).parent} does not exist")
    spec = load_spec(args.spec)
    point = _point(spec, parse_assignments(args.at))
    start = time.perf_counter()
    loss = _derive(spec, point)
    elapsed = time.perf_counter() - start
    print(f"L = {loss.expr}")
    found = None
    if loss.regime is not None:
        print(f"regime at {', '.join(f'{s} = {v}' for s, v in loss.at.items())}"
              + (" (on a boundary: an adjacent regime's formula)" if loss.on_boundary else ""))
        if args.facets:
            from .facets import facets

            found, implied = facets(loss)
            found = [str(c) for c, _ in found]
            print(f"valid where ({len(found)} conditions bound the regime, each crossed alone at a checked point;")
            print(f"{len(implied)} more are implied by them, as far as a search shows: see --json):")
            for c in found:
                print(f"  {c}")
        else:
            print(f"valid where ({len(loss.conditions)} conditions; --facets finds those that bound the regime):")
            for c in loss.conditions:
                print(f"  {c}")
    print(f"derived in {elapsed:.2f} s")
    if args.json is not None:
        data = {
            "spec": str(args.spec),
            "expr": str(loss.expr),
            "latex": sp.latex(loss.expr),
            "conditions": [str(c) for c in loss.conditions],
            "at": {str(s): str(v) for s, v in loss.at.items()},
            "witness": {str(s): str(v) for s, v in loss.witness.items()},
            "on_boundary": loss.on_boundary,
            "facets": found,
            "terms": [{"output": spec.circuit.features[i], "pattern": sorted(spec.circuit.features[k] for k in A),
                       "probability": str(loss.probability[(i, A)]), "expectation": str(t)}
                      for (i, A), t in loss.terms.items()],
        }
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.latex is not None:
        if args.standalone:
            text = standalone(loss, split, spec.names, title=f"Expected loss of {Path(args.spec).name}")
        else:
            text = align(loss, split, spec.names) + "\n"
        write_atomically(args.latex, text)
        print(f"wrote {args.latex}")


def cmd_check(args) -> None:
    spec = load_spec(args.spec)
    point = _point(spec, parse_assignments(args.at))
    if args.samples < 2:
        raise SuperlossError(f"--samples must be at least 2, got {args.samples}")
    if args.seed < 0:
        raise SuperlossError(f"--seed must be >= 0, got {args.seed}")
    loss = _derive(spec, point)
    value = loss.expr.subs(point)
    if value.free_symbols:
        raise SuperlossError("--at must fix every symbol; missing: "
                             + ", ".join(sorted(s.name for s in value.free_symbols)))
    exact = float(value)
    mc = monte_carlo_loss(spec.circuit, spec.law, spec.importance, point, samples=args.samples, seed=args.seed)
    z = mc.zscore(exact)
    print(f"closed form   {exact:.10g}")
    print(f"Monte Carlo   {mc.mean:.10g} +- {mc.stderr:.3g}  ({mc.samples} samples, seed {mc.seed})")
    print(f"z-score       {z:+.2f}  ({'agree' if abs(z) < 5 else 'DISAGREE'} at |z| < 5)")


def parse_bounds(items: Sequence[str] | None) -> dict[sp.Symbol, tuple[float, float]]:
    """``["kappa=0:1000"]`` -> ``{kappa: (0.0, 1000.0)}``; bounds through the whitelist grammar."""
    out = {}
    for item in items or ():
        name, sep, box = item.partition("=")
        low, colon, high = box.partition(":")
        if not sep or not colon or not name.strip():
            raise SuperlossError(f"--bounds {item!r}: expected NAME=LOW:HIGH")
        symbol = parse_expression(name.strip(), what="--bounds name")
        if not isinstance(symbol, sp.Symbol):
            raise SuperlossError(f"--bounds {item!r}: {name.strip()!r} is not a symbol name")
        ends = [parse_expression(v.strip(), what=f"--bounds {name.strip()}") for v in (low, high)]
        if not all(e.is_number and e.is_finite and e.is_real and np.isfinite(float(e)) for e in ends):
            raise SuperlossError(f"--bounds {item!r}: the bounds must be finite numbers")
        if not ends[0] < ends[1]:
            raise SuperlossError(f"--bounds {item!r}: need LOW < HIGH")
        out[symbol] = (float(ends[0]), float(ends[1]))
    return out


def cmd_optimize(args) -> None:
    from .optimize import optimize

    if args.json is not None and not Path(args.json).name:
        raise SuperlossError("--json needs a file name")
    if args.starts < 1 or args.seed < 0 or args.samples < 0 or args.samples == 1:
        raise SuperlossError(f"need --starts >= 1, --seed >= 0 and --samples 0 or >= 2, "
                             f"got {args.starts}, {args.seed} and {args.samples}")
    if args.json is not None and not Path(args.json).resolve().parent.is_dir():
        raise SuperlossError(f"cannot write {args.json}: folder {Path(args.json).parent} does not exist")
    spec = load_spec(args.spec)
    known = {s.name: s for s in spec.symbols}
    weights = {s.name: s for s in spec.circuit.symbols}
    fix = parse_assignments(args.fix, "--fix")
    bounds = parse_bounds(args.bounds)
    for what, names in (("--fix", fix), ("--bounds", bounds)):
        unknown = sorted(s.name for s in names if s.name not in known)
        if unknown:
            raise SuperlossError(f"{what} names {', '.join(unknown)}, which the spec does not use; "
                                 f"its symbols are {', '.join(sorted(known)) or 'none'}")
    for s, v in fix.items():
        if not (v.is_finite and v.is_real and np.isfinite(float(v))):
            raise SuperlossError(f"--fix {s.name}: the value must be a finite real number (as a float)")
    if args.free:
        unknown = [n for n in args.free if n not in weights]
        if unknown:
            raise SuperlossError(f"--free names {', '.join(unknown)}, which are not weights of the circuit; "
                                 f"its weights are {', '.join(sorted(weights)) or 'none'}")
        free = [weights[n] for n in dict.fromkeys(args.free)]
        clash = sorted(s.name for s in free if s in fix)
        if clash:
            raise SuperlossError(f"{', '.join(clash)} cannot be both --free and --fix")
    else:
        free = [s for s in spec.circuit.symbols if s not in fix]
    if not free:
        raise SuperlossError("nothing to optimize: every weight is fixed")
    box = {**spec.bounds, **bounds}
    missing = [s.name for s in free if s not in box]
    if missing:
        raise SuperlossError(f"no bounds for {', '.join(missing)}: give --bounds NAME=LOW:HIGH "
                             "or a [bounds] table in the spec")
    values = {**spec.at, **fix}
    fixed = {s: values[s] for s in spec.symbols if s not in free and s in values}
    unset = sorted(s.name for s in spec.symbols if s not in free and s not in values)
    if unset:
        raise SuperlossError(f"no value for {', '.join(unset)}: give --fix NAME=VALUE")
    x0 = {s: spec.at[s] for s in free if s in spec.at}
    start = time.perf_counter()
    best = optimize(spec.circuit, spec.law, spec.importance, free={s: box[s] for s in free}, fixed=fixed,
                    starts=args.starts, seed=args.seed, global_search=args.global_search, samples=args.samples,
                    x0=x0 if len(x0) == len(free) else None, jobs=args.jobs)
    print(best)
    print(f"optimized in {time.perf_counter() - start:.1f} s")
    if args.json is not None:
        data = {"spec": str(args.spec), "seed": args.seed, **best.to_dict()}
        write_atomically(args.json, json.dumps(data, indent=2) + "\n")
        print(f"wrote {args.json}")


def _fractions(items: Sequence[str], what: str, low: float, high: float, closed_high: bool) -> list[sp.Rational]:
    """Numbers through the whitelist grammar, exact, each in ``[low, high)`` (or ``[low, high]``)."""
    out = []
    for item in items:
        value = parse_expression(item, what=what)
        inside = value.is_number and value.is_real and low <= value and (value <= high if closed_high else value < high)
        if not inside:
            raise SuperlossError(f"{what} {item!r}: must be a number in [{low:g}, {high:g}{']' if closed_high else ')'}")
        out.append(sp.Rational(str(value)) if value.is_Float else sp.nsimplify(value))
    return out


def cmd_study(args) -> None:
    from . import study

    if args.starts < 1 or args.seed < 0 or args.samples < 0 or args.samples == 1 or args.jobs == 0:
        raise SuperlossError(f"need --starts >= 1, --seed >= 0, --samples 0 or >= 2 and --jobs != 0, "
                             f"got {args.starts}, {args.seed}, {args.samples} and {args.jobs}")
    for path in (args.json, args.markdown):
        if path is not None and (not Path(path).name or not Path(path).resolve().parent.is_dir()):
            raise SuperlossError(f"cannot write {path}: no such folder, or no file name")
    sparsities = _fractions(args.sparsity or study.SPARSITIES, "--sparsity", 0, 1, closed_high=False)
    importances = _fractions(args.importance or study.RIDER_IMPORTANCES, "--importance", 0, 1e6, closed_high=True)
    if any(i == 0 for i in importances):
        raise SuperlossError("--importance 0: the rider must matter (a positive importance)")
    start = time.perf_counter()
    cases = study.run(sparsities, importances, starts=args.starts, seed=args.seed, jobs=args.jobs,
                      samples=args.samples)
    table = study.table(cases)
    notes = [f"S = {c.sparsity}, I_b = {c.rider_importance}: {r}" for c in cases for r in c.relaxations]
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


def cmd_train(args) -> None:
    from .detect import detect
    from .files import output_folder, staged_folder
    from .train import TrainConfig, train

    if args.features < 1 or args.neurons < 1 or args.seeds < 1:
        raise SuperlossError(f"need --features, --neurons and --seeds >= 1, got {args.features}, {args.neurons} "
                             f"and {args.seeds}")
    if not (np.isfinite(args.importance_decay) and args.importance_decay > 0):
        raise SuperlossError(f"--importance-decay must be a number > 0, got {args.importance_decay}")
    sparsities = [float(v) for v in _fractions(args.sparsity or ["0.8"], "--sparsity", 0, 1, closed_high=True)]
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, optimizer=args.optimizer,
                         weight_decay=args.weight_decay, schedule=args.schedule, warmup=args.warmup, clip=args.clip)
    folder = output_folder(args.out, args.force, "train")
    importance = [args.importance_decay ** i for i in range(args.features)]
    start = time.perf_counter()
    result = train(args.model, args.features, args.neurons, sparsities, [importance], seeds=list(range(args.seeds)),
                   config=config, progress=not args.quiet)
    print(f"trained {result.instances} models in {time.perf_counter() - start:.1f} s "
          f"(I_i = {args.importance_decay:g}^i, {args.steps} steps of batch {args.batch})")
    est = result.final_estimate
    detections = []
    for k in range(result.instances):
        line = (f"seed {result.seeds[k]}, S = {result.sparsities[k]:g}: training loss {est.mean[k]:.6g} "
                f"+- {est.stderr[k]:.2g}")
        if args.model == "hidden":
            found = detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k])
            detections.append(found.to_dict())
            line += (f"; {len(found.motifs)} motif instance(s), {len(found.monosemantic)} monosemantic and "
                     f"{len(found.unexplained)} unexplained neuron(s)") + "".join(
                f"\n    host {m.host} ({m.host_feature}{'+-'[m.host_half < 0]}) carries rider {m.rider}, "
                f"inhibitor {m.inhibitor}: leak {m.leak:.3g} x inhibition {m.inhibition:.3g}, "
                f"cancellation {m.cancellation:.3f}" for m in found.motifs)
        print(line)
    if detections:
        with_motif = sum(1 for d in detections if d["motifs"])
        print(f"asymmetric superposition with inhibition in {with_motif} of {len(detections)} models")
    with staged_folder(folder) as tmp:
        result.save(tmp)
        if detections:
            write_atomically(tmp / "detections.json", json.dumps(detections, indent=1) + "\n")
    print(f"wrote {folder}")


def _compare_free(args) -> dict:
    from .crosscheck import free_versus_motif
    from .train import TrainConfig

    cases = free_versus_motif(args.sparsity, args.importance, seeds=args.seeds,
                              config=TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine"),
                              jobs=args.jobs, progress=not args.quiet)
    print("| S | I_b | motif optimum (exact) | its structure | free 3 x 5 models, exact loss by seed | "
          "motif instances in the free models |")
    print("|---|---|---|---|---|---|")
    for c in cases:
        print(f"| {c.sparsity:g} | {c.rider_importance:g} | {c.motif.loss:.6g} | {c.structure} | "
              + ", ".join(f"{v:.6g}" for v in c.free_losses) + " | "
              + ", ".join(str(len(d.motifs)) for d in c.detections) + " |")
    return {"free_versus_motif": [c.to_dict() for c in cases]}


def _compare_circuit(args) -> dict:
    from analytic import SparseUniform
    from analytic.presets import CANONICAL, asymmetric_inhibition

    from .crosscheck import train_circuit
    from .optimize import optimize
    from .motif import BOX, I_b, S
    from .train import TrainConfig

    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine")
    out = []
    for s in args.sparsity:
        for i in args.importance:
            fixed = {S: sp.Rational(s), I_b: sp.Rational(i)}
            best = optimize(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], dict(BOX), fixed, samples=0,
                            x0=CANONICAL, jobs=args.jobs)
            run = train_circuit(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], best, CANONICAL, config,
                                seed=args.seed)
            print(f"S = {s}, I_b = {i}: the motif's ten parameters trained from the canonical point, "
                  f"{args.steps} steps of batch {args.batch}\n{run}\n")
            out.append({"S": str(s), "I_b": str(i), "optimum_loss": best.loss, "trained_loss": run.loss,
                        "zscore": run.zscore, "estimate": run.estimate.mean, "stderr": run.estimate.stderr,
                        "largest_difference": run.difference,
                        "trained": {p.name: v for p, v in run.aligned.items()},
                        "optimum": {p.name: v for p, v in best.params.items()}})
    return {"circuit_training": out}


def _compare_trained(args) -> dict:
    from .crosscheck import trained_models
    from .train import TrainConfig, TrainResult

    if args.folder is None:
        raise SuperlossError("compare trained needs the folder that 'superloss train --out' wrote")
    config = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, schedule="cosine")
    rows = trained_models(TrainResult.load(args.folder), jobs=args.jobs,
                          composed_config=config if args.composed else None, seed=args.seed)
    print("| seed | S | exact loss | training estimate | z | motif instances |"
          + (" composed circuit, optimized (exact loss) |" if args.composed else ""))
    print("|---|---|---|---|---|---|" + ("---|" if args.composed else ""))
    for r in rows:
        composed = r.get("composed_loss")
        print(f"| {r['seed']} | {r['S']:g} | {r['exact_loss']:.6g} | {r['training_estimate']:.6g} +- "
              f"{r['stderr']:.2g} | {r['zscore']:+.2f} | {r['motifs']} |"
              + ("" if not args.composed else " - |" if composed is None else f" {composed:.6g} |"))
    return {"trained": rows}


COMPARISONS = {"free": _compare_free, "circuit": _compare_circuit, "trained": _compare_trained}


def cmd_compare(args) -> None:
    if args.json is not None and (not Path(args.json).name or not Path(args.json).resolve().parent.is_dir()):
        raise SuperlossError(f"cannot write {args.json}: no such folder, or no file name")
    if args.seeds < 1 or args.steps < 1 or args.batch < 1 or not args.lr > 0 or args.jobs == 0:
        raise SuperlossError("need --seeds, --steps, --batch >= 1, --lr > 0 and --jobs != 0")
    if args.what != "trained" and args.folder is not None:
        raise SuperlossError(f"compare {args.what} takes no folder")
    args.sparsity = _fractions(args.sparsity or ["0.9"], "--sparsity", 0, 1, closed_high=False)
    args.importance = _fractions(args.importance or ["0.3"], "--importance", 0, 1e6, closed_high=True)
    start = time.perf_counter()
    data = COMPARISONS[args.what](args)
    print(f"compared in {time.perf_counter() - start:.0f} s")
    if args.json is not None:
        write_atomically(args.json, json.dumps(data, indent=1) + "\n")
        print(f"wrote {args.json}")


def cmd_phase(args) -> None:
    from .files import output_folder, staged_folder
    from .phase import phase_diagram
    from .plots import phase_figure, save

    if args.points < 2 or args.jobs == 0 or args.seed < 0:
        raise SuperlossError(f"need --points >= 2, --jobs != 0 and --seed >= 0, got {args.points}, {args.jobs} "
                             f"and {args.seed}")
    folder = output_folder(args.out, args.force, "phase")
    if args.model == "reconstruction":
        return _reconstruction_phase(args, folder)
    start = time.perf_counter()
    diagram = phase_diagram(points=args.points, seed=args.seed, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(f"{args.points} x {args.points} phase diagram in {elapsed:.0f} s")
    for structure in sorted(set(diagram.structure.ravel())):
        print(f"  {structure}: {int((diagram.structure == structure).sum())} points")
    print(f"  searches from neighbouring optima lowered {diagram.improved} losses")
    record = {**diagram.to_dict(), "seconds": elapsed}
    overlay = None
    if args.overlay:
        from .phase import IMPORTANCE_RANGE, P_RANGE, trained_overlay

        coarse = max(2, args.points // 4)
        overlay = trained_overlay(1 - np.geomspace(*P_RANGE, coarse), np.geomspace(*IMPORTANCE_RANGE, coarse))
        record["trained"] = overlay.to_dict()
        print(f"free 3 x 5 models on a {coarse} x {coarse} grid: the motif in "
              f"{overlay.motif.mean():.0%} of them")
    with staged_folder(folder) as tmp:
        write_atomically(tmp / "phase.json", json.dumps(record) + "\n")
        save(phase_figure(diagram, overlay=overlay), tmp / "phase")
    print(f"wrote {folder}")


def _reconstruction_phase(args, folder: Path) -> None:
    from .files import staged_folder
    from .plots import reconstruction_figure, save
    from .reconstruction import phase_diagram

    start = time.perf_counter()
    phases = phase_diagram(points=args.points, seed=args.seed, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    print(f"n = 2, m = 1 reconstruction model: {args.points} x {args.points} phase diagram in {elapsed:.0f} s")
    print(phases.table())
    with staged_folder(folder) as tmp:
        write_atomically(tmp / "phase.json", json.dumps({**phases.to_dict(), "seconds": elapsed}) + "\n")
        save(reconstruction_figure(phases), tmp / "phase")
    print(f"wrote {folder}")


def _plot_sparsity(args):
    from .plots import loss_against_sparsity

    try:
        cases = json.loads(Path(args.source).read_text())["cases"]
    except (OSError, ValueError, KeyError, TypeError):
        raise SuperlossError(f"{args.source}: not the JSON that 'superloss study --json' writes") from None
    return loss_against_sparsity(cases)


def _plot_training(args):
    from .plots import training_curves
    from .train import TrainResult

    return training_curves(TrainResult.load(args.source))


def _plot_weights(args):
    from .plots import weight_diagram
    from .train import TrainResult

    result = TrainResult.load(args.source)
    if not 0 <= args.seed < result.instances:
        raise SuperlossError(f"--seed: model {args.seed} does not exist; {args.source} has {result.instances}")
    return weight_diagram(result.circuit(args.seed))


def _plot_phase(args):
    from .plots import phase_figure

    try:
        record = json.loads((Path(args.source) / "phase.json").read_text())
        return phase_figure(record, overlay=record.get("trained"))
    except (OSError, ValueError, KeyError, TypeError):
        raise SuperlossError(f"{args.source}: not a folder that 'superloss phase' wrote") from None


#: What ``superloss plot KIND SOURCE`` draws, by kind.
PLOTS = {"sparsity": _plot_sparsity, "training": _plot_training, "weights": _plot_weights, "phase": _plot_phase}


def cmd_plot(args) -> None:
    from .plots import save

    if not Path(args.out).name or not Path(args.out).resolve().parent.is_dir():
        raise SuperlossError(f"--out {args.out}: no such folder, or no file name")
    for path in save(PLOTS[args.kind](args), args.out):
        print(f"wrote {path}")


def cmd_bench(args) -> None:
    from .bench.tables import baseline, phase, run, training_throughput

    try:
        if args.training:
            training_throughput()
        elif args.phase:
            phase()
        else:
            baseline() if args.baseline else run(quick=args.quick)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        raise SuperlossError(f"a benchmark run failed: {str(exc).splitlines()[0]}") from None


def cmd_report(args) -> None:
    from .report import run

    if args.samples < 2 or args.seed < 0:
        raise SuperlossError(f"--samples must be >= 2 and --seed >= 0, got {args.samples} and {args.seed}")
    run(out=args.out, force=args.force, samples=args.samples, seed=args.seed)


def build_parser() -> argparse.ArgumentParser:
    from .train import SCHEDULES

    parser = _Parser(prog="superloss", description="Exact expected loss of small ReLU circuits.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name: str, help_: str):
        p = sub.add_parser(name, help=help_, description=help_, epilog=f"example: {EXAMPLES[name]}")
        return p

    p = command("derive", "Print the closed-form expected loss of a spec and its regime conditions.")
    p.add_argument("spec", help="TOML spec file (see docs/spec.md)")
    p.add_argument("--at", action="append", metavar="NAME=VALUE", help="a point: fixes the regime (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    p.add_argument("--facets", action="store_true",
                   help="show only the conditions that bound the regime (numeric search, slower)")
    p.add_argument("--latex", metavar="FILE",
                   help="also write the loss as a LaTeX align* block (see docs/latex.md)")
    p.add_argument("--standalone", action="store_true",
                   help="with --latex: a complete document that compiles with pdflatex")
    p.add_argument("--split", metavar="p|pattern",
                   help="with --latex: one line group per power of p = 1 - S (default) or per pattern "
                        "of active features")
    p.set_defaults(run=cmd_derive)

    p = command("check", "Compare the closed form with a seeded Monte Carlo estimate.")
    p.add_argument("spec", help="TOML spec file")
    p.add_argument("--at", action="append", metavar="NAME=VALUE", help="values for every symbol (repeatable)")
    p.add_argument("--samples", type=int, default=2_000_000, help="Monte Carlo samples (default 2,000,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=cmd_check)

    p = command("report", "The main job: the motif's closed form, its Monte Carlo check, a summary.")
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    p.add_argument("--samples", type=int, default=4_000_000, help="Monte Carlo samples (default 4,000,000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(run=cmd_report)

    p = command("optimize", "Find the parameters of least loss, with a certificate of the optimum.")
    p.add_argument("spec", help="TOML spec file")
    p.add_argument("--fix", action="append", metavar="NAME=VALUE", help="fix a symbol, e.g. S=0.9 (repeatable)")
    p.add_argument("--free", action="append", metavar="NAME",
                   help="a weight to optimize (repeatable; default: every weight not fixed)")
    p.add_argument("--bounds", action="append", metavar="NAME=LOW:HIGH",
                   help="the box of a free weight (repeatable; default: the spec's [bounds])")
    p.add_argument("--starts", type=int, default=16, help="local searches from seeded starts (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--samples", type=int, default=1_000_000,
                   help="Monte Carlo samples to check the optimum's loss (default 1,000,000; 0: no check)")
    p.add_argument("--global", dest="global_search", action="store_true",
                   help="also run differential evolution as an independent cross-check (about 20 s more on "
                        "the full motif)")
    p.add_argument("--jobs", type=int, default=-1, help="processes for the starts (default -1: one per core)")
    p.add_argument("--json", metavar="FILE", help="also write the full result as JSON")
    p.set_defaults(run=cmd_optimize)

    p = command("study", "The motif study: the full motif and its nested variants optimized at each (S, I_b).")
    p.add_argument("--sparsity", action="append", metavar="S",
                   help="a sparsity in [0, 1) (repeatable; default 0.5 0.7 0.9 0.97 0.99)")
    p.add_argument("--importance", action="append", metavar="I_B",
                   help="the rider's importance, > 0 (repeatable; default 0.1 0.3 1)")
    p.add_argument("--starts", type=int, default=16, help="starts of the full motif's search (default 16)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--samples", type=int, default=1_000_000,
                   help="Monte Carlo samples to check each optimum (default 1,000,000; 0: no check)")
    p.add_argument("--jobs", type=int, default=-1, help="cases run in parallel (default -1: one per core)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    p.add_argument("--json", metavar="FILE", help="also write every optimum with its certificate as JSON")
    p.set_defaults(run=cmd_study)

    p = command("train", "Train free models on sampled data (many seeds at once) and find the motif in them.")
    p.add_argument("--model", choices=("hidden", "reconstruction"), default="hidden",
                   help="ReLU(W2 ReLU(W1 x) + b) with target |x| (default), or ReLU(W^T W x + b) with target x")
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
    p.set_defaults(run=cmd_train)

    p = command("compare", "Trained against analytic: free 3 x 5 models against the motif's optimum (free), the "
                           "motif's own parameters trained on samples (circuit), or a 'train' folder (trained).")
    p.add_argument("what", choices=tuple(COMPARISONS), help="which comparison")
    p.add_argument("folder", nargs="?", help="for 'trained': the folder 'superloss train --out' wrote")
    p.add_argument("--sparsity", action="append", metavar="S", help="repeatable (default 0.9)")
    p.add_argument("--importance", action="append", metavar="I_B", help="the rider's (repeatable; default 0.3)")
    p.add_argument("--seeds", type=int, default=3, help="free models per case (default 3)")
    p.add_argument("--steps", type=int, default=10_000, help="training steps (default 10,000)")
    p.add_argument("--batch", type=int, default=1024, help="batch size (default 1024)")
    p.add_argument("--lr", type=float, default=1e-2, help="peak learning rate, cosine decay (default 1e-2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled training of 'circuit' (default 0)")
    p.add_argument("--composed", action="store_true",
                   help="for 'trained': also optimize the circuit composed from each model's motif instances "
                        "(sampled training, --steps and --batch) and score it exactly (slow: a minute per model)")
    p.add_argument("--jobs", type=int, default=-1, help="processes (default -1: one per core)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--json", metavar="FILE", help="also write the comparison as JSON")
    p.set_defaults(run=cmd_compare)

    p = command("phase", "The motif's analytic phase diagram: the structure of its optimum over (S, I_b), and "
                         "what inhibition buys.")
    p.add_argument("--model", choices=("motif", "reconstruction"), default="motif",
                   help="the motif over (S, I_b) (default), or the paper's n = 2, m = 1 reconstruction model "
                        "ReLU(W^T W x + b) over (1 - S, r)")
    p.add_argument("--points", type=int, default=40, help="grid points along each axis (default 40)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the opening searches (default 0)")
    p.add_argument("--jobs", type=int, default=-1,
                   help="processes, the rows split among them (default -1: one per core)")
    p.add_argument("--overlay", action="store_true",
                   help="also train free 3 x 5 models (3 seeds) on a grid a quarter as fine, and mark where the "
                        "detector finds the motif in them")
    p.add_argument("--out", metavar="DIR", help="output folder (default: a new dated folder)")
    p.add_argument("--force", action="store_true", help="replace a non-empty --out folder")
    p.set_defaults(run=cmd_phase)

    p = command("plot", "Figures (PNG and PDF): loss against S from a study, training curves or weight diagrams "
                        "from a train folder, a phase diagram.")
    p.add_argument("kind", choices=tuple(PLOTS), help="what to draw")
    p.add_argument("source", help="study JSON (sparsity), train folder (training, weights) or phase folder (phase)")
    p.add_argument("--out", required=True, metavar="STEM", help="writes STEM.png and STEM.pdf")
    p.add_argument("--seed", type=int, default=0, help="for weights: which model of the folder (default 0)")
    p.set_defaults(run=cmd_plot)

    p = command("bench", "Measure the engine against its targets and plain sympy.integrate.")
    p.add_argument("--quick", action="store_true", help="skip the slow plain-SymPy comparison")
    p.add_argument("--baseline", action="store_true",
                   help="instead: the optimizer against 100 Nelder-Mead runs on a Monte Carlo loss, on three "
                        "study cases (about twenty minutes)")
    p.add_argument("--training", action="store_true",
                   help="instead: the numpy trainer against PyTorch on the CPU (needs the 'bench' extra: torch)")
    p.add_argument("--phase", action="store_true",
                   help="instead: the 40 x 40 phase diagram (three runs of about 1.5 minutes) and its engines")
    p.set_defaults(run=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        args.run(args)
    except SuperlossError as exc:
        print(f"superloss: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("superloss: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (``superloss ... | head``): say nothing more, and
        # keep Python from complaining about the closed stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
