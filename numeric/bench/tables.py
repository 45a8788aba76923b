"""``superloss bench``: the engine's measured figures against its targets, as Markdown tables.

Every figure comes from a benchmark function of :mod:`numeric.bench` run in a fresh process
(:func:`~numeric.bench.runner.fresh`: cold, nothing cached, imports excluded from the derivation
time), most of them the median of several such runs, all measured side by side in one run so
that the machine's noise affects them alike.

Each table takes ``sizes``: keyword arguments by target that replace the benchmarks' own
(``{"numeric.bench.phase:diagram": {"points": 3}}``), so that the tests can run it tiny.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence

from .phase import COUNTS as ENGINE_COUNTS
from .runner import DEFAULT_TIMEOUT, fresh, median
from .training import CASES as TRAINING_CASES

Sizes = Mapping[str, Mapping] | None

# The benchmarks the tables run, as targets of :func:`~numeric.bench.runner.fresh`.
MOTIF = "numeric.bench.engine:motif"
TRAINED = "numeric.bench.engine:trained_network"
OURS = "numeric.bench.engine:nested_relu_superloss"
PLAIN = "numeric.bench.engine:nested_relu_sympy"
OPTIMIZATION = "numeric.bench.optimizer:motif_optimization"
NELDER_MEAD = "numeric.bench.baseline:nelder_mead"
NUMPY_TRAINER = "numeric.bench.training:numpy_trainer"
TORCH_TRAINER = "numeric.bench.training:torch_trainer"
DIAGRAM = "numeric.bench.phase:diagram"
ENGINES = "numeric.bench.phase:engines"
FREE = "numeric.bench.free:optimization"
POLYGON = "numeric.bench.engine:polygon"
PAPER_MODEL = "numeric.bench.decomposition:paper_model"
TRIPLES = "numeric.bench.decomposition:triple_time"

#: The decompositions timed by :func:`decomposition`: density, order, top features, Dask workers, targets.
DECOMPOSITION_CASES = (
    {"density": 0.01, "order": 2, "top": None, "workers": None, "seconds": 60, "bound": 10, "error": 5},
    {"density": 0.03, "order": 2, "top": None, "workers": None, "seconds": 60, "bound": None, "error": None},
    {"density": 0.1, "order": 2, "top": None, "workers": None, "seconds": 60, "bound": None, "error": None},
    {"density": 0.01, "order": 3, "top": 30, "workers": 2, "seconds": 1800, "bound": 10, "error": None},
)
#: Triples in the full order 3 at n = 100.
ALL_TRIPLES = 161_700

#: The regular polygons timed by :func:`polygons`: k, law, target in seconds, and the runs (the slow ones fewer).
POLYGON_CASES = (
    (5, "one_hot", 30, 3),
    (6, "one_hot", 30, 3),
    (5, "sparse_uniform", 120, 3),
    (6, "sparse_uniform", 120, 1),
)

#: The free models timed by :func:`free`: size, starts, target in seconds, and the runs (the large one once).
FREE_CASES = (
    {"features": 3, "neurons": 5, "importance": [1.0, 0.3, 1.0], "starts": 64, "target": 60, "runs": 3},
    {"features": 4, "neurons": 8, "importance": [1.0, 0.3, 1.0, 0.5], "starts": 16, "target": 1800, "runs": 1},
)

#: The study cases of the baseline table, (S, I_b).
BASELINE_CASES = (("7/10", "3/10"), ("9/10", "3/10"), ("99/100", "3/10"))


def _args(target: str, sizes: Sizes, **kwargs) -> dict:
    """``kwargs`` for ``target``, with ``sizes[target]`` put over them."""
    return {**kwargs, **((sizes or {}).get(target) or {})}


def _runs(
    target: str,
    runs: int,
    sizes: Sizes,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
    **kwargs,
) -> list[dict]:
    """``runs`` results of ``target``, each from a fresh process."""
    return [fresh(target, timeout, env=env, **_args(target, sizes, **kwargs)) for _ in range(runs)]


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def _machine() -> str:
    return (
        f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
        f"{_cores()} cores"
    )


def run(quick: bool = False, runs: int = 3, sizes: Sizes = None) -> None:
    """Print the benchmark table (Markdown): derivations cold (medians of ``runs`` processes), the
    motif's optimization, and unless ``quick`` the same term by plain ``sympy.integrate``."""
    print(_machine())
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    results = _runs(MOTIF, runs, sizes)
    motif = results[-1]
    print(
        f"| motif, 10 weights + S, I symbolic, canonical regime, cold | <= 10 s | {median(results, 'seconds'):.2f} s "
        f"({motif['conditions']} conditions); whole process with imports {median(results, 'wall'):.1f} s |"
    )
    results = _runs(TRAINED, runs, sizes)
    print(
        f"| n = 6, m = 10 float network, exact loss as a polynomial in S | <= 60 s | "
        f"{median(results, 'seconds'):.1f} s; whole process {median(results, 'wall'):.1f} s |"
    )
    results = _runs(OURS, runs, sizes)
    ours, ours_s = results[-1], median(results, "seconds")
    print(
        f"| 2-feature nested-ReLU term, superloss (regime at r = e = 1/2, k = 3) | - | {ours_s:.3f} s, "
        f"{ours['ops']} ops |"
    )
    result = fresh(OPTIMIZATION, timeout=1800, **_args(OPTIMIZATION, sizes))
    starts = result["starts"]
    print(
        f"| motif optimization, 10 weights (9 up to the rescaling), {starts} starts, S = 0.9, I_b = 0.3, "
        f"2 processes | <= 5 s warm | warm (closed forms of its regimes cached) {result['warm']:.1f} s, cold "
        f"(new process) {result['cold']:.1f} s; on one core, warm {result['warm_one_core']:.1f} s; loss "
        f"{result['loss']:.10g}, {result['hits']} of {starts} starts, {result['verdict']} |"
    )
    print(
        f"| the same with differential evolution as a global cross-check | - | {result['with_global']:.0f} s; "
        f"its best loss {result['global_loss']:.10g} |"
    )
    print(
        f"| one value + gradient at the optimum | - | pointwise engine {result['pointwise_ms']:.1f} ms, "
        f"compiled closed form {result['closed_us']:.0f} us "
        f"({1e3 * result['pointwise_ms'] / result['closed_us']:.0f}x) |"
    )
    if not quick:
        plain = fresh(PLAIN, **_args(PLAIN, sizes))
        agree = abs(plain["value"] - ours["value"]) <= 1e-9 * abs(plain["value"])
        what = "the outer integral left unevaluated" if plain["unevaluated"] else "every regime at once"
        print(
            f"| same term, plain sympy.integrate ({what}) | - | "
            f"{plain['seconds']:.1f} s, "
            f"{plain['ops']} ops; ratio {plain['seconds'] / ours_s:.0f}x; values "
            f"{'agree' if agree else 'DIFFER'} ({plain['value']:.12g} vs {ours['value']:.12g}) |"
        )


def polygons(cases: Sequence[tuple] = POLYGON_CASES, runs: int | None = None, sizes: Sizes = None) -> None:
    """Print the closed forms of the regular polygons with exact weights (medians of fresh
    processes, each case's own number of runs unless ``runs`` is given, one case after another)."""
    print(_machine())
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    for k, law, target, case_runs in cases:
        results = _runs(POLYGON, runs or case_runs, sizes, timeout=3600, k=k, law=law)
        last = results[-1]
        where = "one-hot" if law == "one_hot" else "sparse uniform, S = 9/10"
        print(
            f"| regular {k}-gon, exact weights (field of degree {last['degree']}), r and b symbolic, {where} "
            f"| <= {target} s | {median(results, 'seconds'):.1f} s ({last['terms']} terms, loss "
            f"{last['value']:.10g} at r = 1, b = -1/5); whole process {median(results, 'wall'):.1f} s |"
        )


def decomposition(cases: Sequence[dict] = DECOMPOSITION_CASES, sizes: Sizes = None) -> None:
    """Print the n = 100, m = 40 decompositions (each case once, in a fresh process that trains its
    model first) and the full order 3's time extrapolated from a sample of triples."""
    print(_machine())
    print("| what | target | measured |")
    print("|---|---|---|")
    for case in cases:
        scheduler = "local" if case["workers"] else None
        r = fresh(
            PAPER_MODEL,
            7200,
            **_args(
                PAPER_MODEL,
                sizes,
                density=case["density"],
                order=case["order"],
                top=case["top"],
                scheduler=scheduler,
                workers=case["workers"],
            ),
        )
        what = f"order {case['order']}" + (f", triples of the {case['top']} most important" if case["top"] else "")
        where = f"on a {case['workers']}-worker LocalCluster" if case["workers"] else "in one process"
        error = r["plain_stderr"] / r["stderr"] if r["stderr"] else float("inf")
        targets = [f"<= {case['seconds']} s"]
        if case["bound"]:
            targets.append(f"bound <= {case['bound']} x rest")
        if case["error"]:
            targets.append(f"error >= {case['error']} x below plain (order 3: 20 x)")
        print(
            f"| density {case['density']}, {what}, {where} | {'; '.join(targets)} | exact part "
            f"{r['seconds']:.1f} s ({r['share']:.1%} of the loss, probability {r['probability']:.4f}); bound "
            f"{r['bound'] / r['rest']:.1f} x the estimated rest; loss {r['estimate']:.6g} +- {r['stderr']:.2g}, "
            f"plain {r['plain']:.6g} +- {r['plain_stderr']:.2g} ({error:.1f} x the error; "
            f"+- {r['plain_stderr_same_time']:.2g} in the same time); with every triple exact the error would be "
            f"+- {r['order_three_stderr']:.2g} ({r['plain_stderr'] / r['order_three_stderr']:.0f} x below plain); "
            f"trained to {r['training']:.6g} |"
        )
    t = fresh(TRIPLES, 3600, **_args(TRIPLES, sizes))["seconds_per_triple"]
    print(
        f"| the full order 3 ({ALL_TRIPLES:,} triples), extrapolated | | {t:.3f} s a triple in one process: "
        f"{ALL_TRIPLES * t / 3600:.1f} h in one, {ALL_TRIPLES * t / 2 / 3600:.1f} h on two workers |"
    )


def baseline(cases: Sequence[tuple[str, str]] = BASELINE_CASES, sizes: Sizes = None) -> None:
    """Print the optimizer against the Nelder-Mead baseline on the study ``cases`` (S, I_b), each
    case in a fresh process."""
    print(
        "| S | I_b | optimizer (full motif) | best of 100 Nelder-Mead on Monte Carlo, re-scored exactly "
        "| median of the 100 | optimizer no worse |"
    )
    print("|---|---|---|---|---|---|")
    for s, i in cases:
        r = fresh(NELDER_MEAD, timeout=7200, **_args(NELDER_MEAD, sizes, sparsity=s, rider_importance=i))
        ok = r["optimizer"] <= r["best_nelder_mead"] * (1 + 1e-9)
        print(
            f"| {s} | {i} | {r['optimizer']:.8g} ({r['structure']}) | {r['best_nelder_mead']:.8g} | "
            f"{r['median_nelder_mead']:.8g} | {'yes' if ok else 'NO'} |",
            flush=True,
        )


def training_throughput(
    runs: int = 5, threads: int = 2, cases: Sequence[tuple] = TRAINING_CASES, sizes: Sizes = None
) -> None:
    """Print training steps per second of the numpy trainer (:mod:`numeric.train`)
    against PyTorch on the CPU, as a markdown table.

    The same model ("hidden": ``ReLU(W2 ReLU(W1 x) + b)``, target ``|x|``), the
    same data law and sizes, batch 1024, Adam (lr 1e-3), float32 in both, all
    instances in one batched computation with samples as columns. Each run is a
    fresh process limited to ``threads`` threads (the BLAS and OpenMP variables in
    its environment, and ``torch.set_num_threads``); warm-up steps are excluded; each
    figure is the median of ``runs`` runs. Needs PyTorch: ``pip install '.[bench]'``.
    """
    limits = {name: str(threads) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    print(
        f"{_machine()}; {threads} thread(s) per process; float32 in both; batch 1024; Adam lr 1e-3; "
        f"median of {runs} runs, each in a fresh process, warm-up steps excluded"
    )
    print("| n | m | instances | numpy trainer (steps/s) | PyTorch CPU (steps/s) | numpy / PyTorch |")
    print("|---|---|---|---|---|---|")
    for n, m, seeds, sparsities, decay, warm, steps in cases:
        case = {
            "features": n,
            "neurons": m,
            "seeds": list(seeds),
            "sparsities": list(sparsities),
            "decay": decay,
            "warm": warm,
            "steps": steps,
        }
        rates = {}
        for name, target, extra in (("numpy", NUMPY_TRAINER, {}), ("torch", TORCH_TRAINER, {"threads": threads})):
            results = _runs(target, runs, sizes, env=limits, **case, **extra)
            rates[name] = statistics.median(r["steps"] / r["seconds"] for r in results)
        instances = (
            f"{len(seeds)} (seeds; S = {sparsities[0]})"
            if len(seeds) > 1
            else f"{len(sparsities)} (S = {', '.join(map(str, sparsities))})"
        )
        print(
            f"| {n} | {m} | {instances}; I_i = {decay}^i | {rates['numpy']:.0f} | {rates['torch']:.0f} | "
            f"{rates['numpy'] / rates['torch']:.2f} |",
            flush=True,
        )


def phase(runs: int = 3, jobs: int = 2, sizes: Sizes = None) -> None:
    """Print the 40 x 40 phase diagram's time against its target (the median of
    ``runs`` fresh processes with ``jobs`` workers), and one evaluation on the
    pointwise and the batched engine side by side (medians, one core)."""
    print(_machine())
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    results = _runs(DIAGRAM, runs, sizes, timeout=3600, jobs=jobs)
    points = results[-1]["points"]
    each = ", ".join(f"{r['seconds']:.0f}" for r in results)
    print(
        f"| {points} x {points} motif phase diagram, {jobs} processes | <= 120 s | "
        f"{median(results, 'seconds'):.0f} s (whole process {median(results, 'wall'):.0f} s; runs {each} s); "
        f"{results[-1]['inhibition']} points with inhibition, {results[-1]['improved']} losses lowered by "
        f"the neighbours' optima |",
        flush=True,
    )
    kwargs = _args(ENGINES, sizes, counts=list(ENGINE_COUNTS))
    engines = fresh(ENGINES, **kwargs)
    pointwise = engines["pointwise"]
    print(f"| one value + gradient, pointwise engine, one point at a time | - | {1e3 * pointwise:.2f} ms |")
    for count in kwargs["counts"]:
        each = engines[f"batch_{count}"]
        print(
            f"| the same, batched engine, {count} points at once (half without inhibition) | - | "
            f"{1e3 * each:.2f} ms per point ({pointwise / each:.1f}x) |"
        )


def free(jobs: int = 2, sizes: Sizes = None) -> None:
    """Print the time of one free model's optimization at S = 0.9 against its target, per
    size (the median of fresh processes with ``jobs`` workers), with what the search found."""
    print(_machine())
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    for case in FREE_CASES:
        n, m, starts, target = case["features"], case["neurons"], case["starts"], case["target"]
        results = _runs(
            FREE,
            case["runs"],
            sizes,
            timeout=2 * target + 600,
            features=n,
            neurons=m,
            importance=case["importance"],
            starts=starts,
            jobs=jobs,
        )
        each = ", ".join(f"{r['seconds']:.0f}" for r in results)
        last = results[-1]
        print(
            f"| one free {n} x {m} optimization, {starts} starts, I = {tuple(case['importance'])}, {jobs} processes "
            f"| <= {target} s | {median(results, 'seconds'):.0f} s (runs {each} s); best loss {last['loss']:.8g}, "
            f"reached by {last['hits']} of {last['starts']} starts; "
            f"{'keeps falling as weights grow' if last['falling'] else 'stops falling'}; Hessian: {last['verdict']} |",
            flush=True,
        )
