"""``superloss bench``: the engine's measured figures against its targets.

Every figure is a median of several runs in fresh processes (cold: nothing
cached, imports excluded from the derivation time), measured side by side in
one run so that the machine's noise affects all of them alike.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

#: A dense network of the trained size (n = 6, m = 10): a half-absolute-value
#: layout as training finds it, every weight perturbed so that no entry is zero
#: (the hardest case: every output sees every neuron), no hidden bias.
TRAINED_SIZE_SEED = 0


def trained_size_weights(seed: int = TRAINED_SIZE_SEED):
    """``(W1, W2, b2)`` of the benchmark's n = 6, m = 10 float network."""
    rng = np.random.default_rng(seed)
    n, m = 6, 10
    W1, W2 = np.zeros((m, n)), np.zeros((n, m))
    for j in range(n):
        W1[j, j] = W2[j, j] = 1
    for j, k in zip(range(6, 10), range(4)):
        W1[j, k], W2[k, j] = -1, 1
    W1 += rng.normal(0, 0.05, (m, n))
    W2 += rng.normal(0, 0.05, (n, m))
    return W1, W2, rng.normal(0, 0.02, n)


_MOTIF = """
import time, json
from analytic import SparseUniform, expected_loss, sym, syms
from analytic.presets import asymmetric_inhibition, CANONICAL
start = time.perf_counter()
loss = expected_loss(asymmetric_inhibition(), SparseUniform(sym("S")), syms("I_a I_b I_c"), at=CANONICAL)
print(json.dumps({"seconds": time.perf_counter() - start, "conditions": len(loss.conditions)}))
"""

_TRAINED = """
import time, json
from analytic import Circuit, SparseUniform, expected_loss, sym
from numeric.bench import trained_size_weights
W1, W2, b2 = trained_size_weights()
circuit = Circuit(W1.tolist(), W2.tolist(), b2=b2.tolist())
start = time.perf_counter()
loss = expected_loss(circuit, SparseUniform(sym("S")), [0.7 ** i for i in range(6)])
print(json.dumps({"seconds": time.perf_counter() - start, "expr": str(loss.expr)}))
"""

# One 2-feature term with a nested ReLU: (|y| - ReLU(r x - y - k ReLU(e x)))^2 on [-1, 1]^2.
_PLAIN = """
import time, json
import sympy as sp
x, y = sp.symbols("x y", real=True)
r, k, e = sp.symbols("r k e", positive=True)
relu = lambda z: sp.Max(0, z)
integrand = (sp.Abs(y) - relu(r * x - y - k * relu(e * x))) ** 2
start = time.perf_counter()
# Inner integral over y: in the other order SymPy 1.14 returns an answer in which x is still free.
value = sp.integrate(integrand, (y, -1, 1), (x, -1, 1)) / 4
seconds = time.perf_counter() - start
point = {r: sp.Rational(1, 2), k: 3, e: sp.Rational(1, 2)}
print(json.dumps({"seconds": seconds, "ops": int(sp.count_ops(value)),
                  "value": float(value.subs(point))}))
"""

_OURS = """
import time, json
from analytic import Circuit, SparseUniform, expected_loss, sym
r, k, e = sym("r"), sym("k"), sym("e")
# hidden: ReLU(e x), ReLU(r x - y), ReLU(y - r x); output y: ReLU(h2 - h3 - k h1)
circuit = Circuit([[e, 0], [r, -1], [-r, 1]], [[0, 0, 0], [-k, 1, -1]])
start = time.perf_counter()
loss = expected_loss(circuit, SparseUniform(0), at={r: 0.5, k: 3, e: 0.5})
seconds = time.perf_counter() - start
term = loss.terms[(1, frozenset({0, 1}))]
import sympy as sp
print(json.dumps({"seconds": seconds, "ops": int(sp.count_ops(term)),
                  "value": float(term.subs({r: 0.5, k: 3, e: 0.5}))}))
"""


# The full motif, ten weights free in the study's box, 16 starts: cold (nothing derived), then the
# same optimization again in the same process (the optimum's regime derived and cached), and the
# cost of one value-and-gradient call of each back end at the optimum.
_OPTIMIZE = """
import time, json, timeit
from pathlib import Path
import numpy as np, sympy as sp
import numeric
from analytic import sym
from analytic.spec import load_spec
from numeric.optimize import optimize
from numeric.engines.pointwise import PointwiseLoss
from numeric.engines.regimes import RegimeLoss
spec = load_spec(Path(numeric.__file__).resolve().parents[1] / "docs" / "examples" / "motif_study.toml")
free = {s: (float(a), float(b)) for s, (a, b) in spec.bounds.items()}
fixed = {sym("S"): sp.Rational(9, 10), sym("I_b"): sp.Rational(3, 10)}
out = {}
def once(jobs):
    start = time.perf_counter()
    best = optimize(spec.circuit, spec.law, spec.importance, free, fixed, starts=16, seed=0,
                    global_search=False, samples=0, x0=spec.at, jobs=jobs)
    return time.perf_counter() - start, best
out["cold"], best = once(2)
out["loss"], out["hits"], out["verdict"] = best.loss, best.hits, best.verdict
# Warm: the closed forms of the regimes met are cached; the search's cells never are (every point is new).
out["warm"] = float(np.median([once(2)[0] for _ in range(5)]))
out["warm_one_core"] = float(np.median([once(1)[0] for _ in range(3)]))
start = time.perf_counter()
found = optimize(spec.circuit, spec.law, spec.importance, free, fixed, starts=16, seed=0,
                 global_search=True, samples=0, x0=spec.at, jobs=2)
out["with_global"], out["global_loss"] = time.perf_counter() - start, found.global_loss
x = np.array([best.params[s] for s in free])
pointwise = PointwiseLoss(spec.circuit, spec.law, spec.importance, list(free), fixed)
closed = RegimeLoss(spec.circuit, spec.law, spec.importance, list(free), fixed)
closed.value(x)
out["pointwise_ms"] = 1e3 * min(timeit.repeat(lambda: pointwise.value_and_gradient(x), number=5, repeat=3)) / 5
out["closed_us"] = 1e6 * min(timeit.repeat(lambda: (closed.value(x), closed.gradient(x)), number=200, repeat=3)) / 200
print(json.dumps(out))
"""


def _fresh(code: str, timeout: float = 900) -> dict:
    """Run ``code`` in a new interpreter; its JSON result, plus the process's wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "wall": time.perf_counter() - start}


def _median(code: str, runs: int) -> tuple[float, dict]:
    results = [_fresh(code) for _ in range(runs)]
    wall = statistics.median(r["wall"] for r in results)
    return statistics.median(r["seconds"] for r in results), {**results[-1], "wall": wall}


def run(quick: bool = False, runs: int = 3) -> None:
    """Print the benchmark table (markdown)."""
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, {_cores()} cores")
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    seconds, motif = _median(_MOTIF, runs)
    print(f"| motif, 10 weights + S, I symbolic, canonical regime, cold | <= 10 s | {seconds:.2f} s "
          f"({motif['conditions']} conditions); whole process with imports {motif['wall']:.1f} s |")
    seconds, trained = _median(_TRAINED, runs)
    print(f"| n = 6, m = 10 float network, exact loss as a polynomial in S | <= 60 s | {seconds:.1f} s; "
          f"whole process {trained['wall']:.1f} s |")
    ours_s, ours = _median(_OURS, runs)
    print(f"| 2-feature nested-ReLU term, superloss (regime at r = e = 1/2, k = 3) | - | {ours_s:.3f} s, "
          f"{ours['ops']} ops |")
    result = _fresh(_OPTIMIZE, timeout=1800)
    print(f"| motif optimization, 10 weights (9 up to the rescaling), 16 starts, S = 0.9, I_b = 0.3, 2 processes | "
          f"<= 5 s warm | warm (closed forms of its regimes cached) {result['warm']:.1f} s, cold (new process) "
          f"{result['cold']:.1f} s; on one core, warm {result['warm_one_core']:.1f} s; loss {result['loss']:.10g}, "
          f"{result['hits']} of 16 starts, {result['verdict']} |")
    print(f"| the same with differential evolution as a global cross-check | - | {result['with_global']:.0f} s; "
          f"its best loss {result['global_loss']:.10g} |")
    print(f"| one value + gradient at the optimum | - | pointwise engine {result['pointwise_ms']:.1f} ms, "
          f"compiled closed form {result['closed_us']:.0f} us "
          f"({1e3 * result['pointwise_ms'] / result['closed_us']:.0f}x) |")
    if not quick:
        plain = _fresh(_PLAIN)
        agree = abs(plain["value"] - ours["value"]) <= 1e-9 * abs(plain["value"])
        print(f"| same term, plain sympy.integrate (every regime at once, in Min/Max) | - | "
              f"{plain['seconds']:.1f} s, "
              f"{plain['ops']} ops; ratio {plain['seconds'] / ours_s:.0f}x; values "
              f"{'agree' if agree else 'DIFFER'} ({plain['value']:.12g} vs {ours['value']:.12g}) |")


def nelder_mead_baseline(sparsity: str, rider_importance: str, runs: int = 100, samples: int = 20_000,
                         seed: int = 0, jobs: int = 2) -> dict:
    """The issue's independent baseline: the best of ``runs`` bounded Nelder-Mead
    searches on a Monte Carlo loss of the motif (one fixed seeded sample, so the
    objective is deterministic), every end point re-scored by the exact loss;
    beside the study's optimum of the full motif at the same (S, I_b) and box."""
    import sympy as sp
    from joblib import Parallel, delayed
    from scipy.optimize import minimize

    from analytic import SparseUniform
    from analytic.presets import asymmetric_inhibition

    from .. import motif, study
    from ..engines.montecarlo import forward, sample_features
    from ..optimize import random_starts
    from ..engines.pointwise import PointwiseLoss

    circuit, params = asymmetric_inhibition(), list(motif.BOX)
    S, I = float(sp.Rational(sparsity)), float(sp.Rational(rider_importance))
    rng = np.random.default_rng(seed)
    x = sample_features(SparseUniform(S), 3, samples, rng)
    weight = np.array([1.0, I, 1.0])
    entries = sp.lambdify(params, list(circuit.entries()), "math")

    def mc(p: np.ndarray) -> float:
        e = np.array(entries(*p))
        W1, W2, b2 = e[:15].reshape(5, 3), e[15:30].reshape(3, 5), e[35:38]
        y = forward(W1, W2, np.zeros(5), b2, x)
        return float((((np.abs(x) - y) ** 2) @ weight).mean())

    lo, hi = np.array(list(motif.BOX.values()), dtype=float).T
    starts = random_starts(lo, hi, runs, rng)
    options = {"maxfev": 4000, "xatol": 1e-7, "fatol": 1e-10}
    ends = Parallel(n_jobs=jobs)(delayed(minimize)(mc, x0, method="Nelder-Mead", bounds=list(zip(lo, hi)),
                                                   options=options) for x0 in starts)
    exact = PointwiseLoss(circuit, SparseUniform(motif.S), [1, motif.I_b, 1], params,
                          {motif.S: sp.Rational(sparsity), motif.I_b: sp.Rational(rider_importance)})
    rescored = [exact.value(r.x) for r in ends]
    case = study.run_case(sparsity, rider_importance, samples=0)
    return {"best_nelder_mead": min(rescored), "median_nelder_mead": float(np.median(rescored)),
            "optimizer": case.full.loss, "structure": case.structure}


def baseline(cases=(("7/10", "3/10"), ("9/10", "3/10"), ("99/100", "3/10"))) -> None:
    """Print the optimizer against the Nelder-Mead baseline on three study cases."""
    print("| S | I_b | optimizer (full motif) | best of 100 Nelder-Mead on Monte Carlo, re-scored exactly "
          "| median of the 100 | optimizer no worse |")
    print("|---|---|---|---|---|---|")
    for s, i in cases:
        r = nelder_mead_baseline(s, i)
        ok = r["optimizer"] <= r["best_nelder_mead"] * (1 + 1e-9)
        print(f"| {s} | {i} | {r['optimizer']:.8g} ({r['structure']}) | {r['best_nelder_mead']:.8g} | "
              f"{r['median_nelder_mead']:.8g} | {'yes' if ok else 'NO'} |", flush=True)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()



def training_throughput(runs: int = 5, threads: int = 2) -> None:
    """Print training steps per second of the numpy trainer (:mod:`numeric.train`)
    against PyTorch on the CPU, as a markdown table.

    The same model ("hidden": ``ReLU(W2 ReLU(W1 x) + b)``, target ``|x|``), the
    same data law and sizes, batch 1024, Adam (lr 1e-3), float32 in both, all
    instances in one batched computation with samples as columns. Each run is a
    fresh process limited to ``threads`` threads (the BLAS and OpenMP variables,
    and ``torch.set_num_threads``); warm-up steps are excluded; each figure is
    the median of ``runs`` runs. Needs PyTorch: ``pip install '.[bench]'``.
    """
    cases = [  # n, m, seeds, sparsities, importance decay, warm-up steps, timed steps
        (6, 10, list(range(10)), [0.8], 0.7, 50, 1000),
        (100, 40, [0], [0.0, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999], 0.8, 10, 150),
    ]
    limit = (f"import os\nos.environ.update(OMP_NUM_THREADS='{threads}', OPENBLAS_NUM_THREADS='{threads}', "
             f"MKL_NUM_THREADS='{threads}')\n")
    ours = limit + """
import json, time
from numeric.train import TrainConfig, Trainer
n, m, seeds, sparsities, decay, warm, steps = CASE
trainer = Trainer("hidden", n, m, sparsities, [[decay ** i for i in range(n)]], seeds,
                  TrainConfig(steps=warm + steps, batch=1024, lr=1e-3, dtype="float32"))
for _ in range(warm):
    trainer.step()
start = time.perf_counter()
for _ in range(steps):
    trainer.step()
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
    # The same computation written the usual PyTorch way: autograd, torch.optim.Adam, one
    # (u, v) draw per seed shared by the sparsities, as the numpy trainer does.
    theirs = limit + """
import json, time
import torch
torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
torch.manual_seed(0)
n, m, seeds, sparsities, decay, warm, steps = CASE
K, B, bound = len(seeds) * len(sparsities), 1024, (6 / (n + m)) ** 0.5
W1 = ((2 * torch.rand(K, m, n) - 1) * bound).requires_grad_()
W2 = ((2 * torch.rand(K, n, m) - 1) * bound).requires_grad_()
b = torch.zeros(K, n, requires_grad=True)
importance = torch.tensor([decay ** i for i in range(n)])[:, None]
threshold = torch.tensor(sparsities).view(1, -1, 1, 1)
optimizer = torch.optim.Adam([W1, W2, b], lr=1e-3)

def step():
    uv = torch.rand(len(seeds), 2, n, B)
    x = torch.where(uv[:, :1] >= threshold, 2 * uv[:, 1:] - 1, 0.0).reshape(K, n, B)
    y = torch.relu(W2 @ torch.relu(W1 @ x) + b[:, :, None])
    loss = ((y - x.abs()) ** 2 * importance).sum((1, 2)) / B
    optimizer.zero_grad(set_to_none=True)
    loss.sum().backward()
    optimizer.step()

for _ in range(warm):
    step()
start = time.perf_counter()
for _ in range(steps):
    step()
print(json.dumps({"seconds": time.perf_counter() - start}))
"""
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}, "
          f"{_cores()} cores; {threads} thread(s) per process; float32 in both; batch 1024; Adam lr 1e-3; "
          f"median of {runs} runs, each in a fresh process, warm-up steps excluded")
    print("| n | m | instances | numpy trainer (steps/s) | PyTorch CPU (steps/s) | numpy / PyTorch |")
    print("|---|---|---|---|---|---|")
    for case in cases:
        n, m, seeds, sparsities, decay, warm, steps = case
        rates = {}
        for name, code in (("numpy", ours), ("torch", theirs)):
            code = code.replace("CASE", repr(case))
            rates[name] = statistics.median(steps / _fresh(code)["seconds"] for _ in range(runs))
        instances = (f"{len(seeds)} (seeds; S = {sparsities[0]})" if len(seeds) > 1
                     else f"{len(sparsities)} (S = {', '.join(map(str, sparsities))})")
        print(f"| {n} | {m} | {instances}; I_i = {decay}^i | {rates['numpy']:.0f} | {rates['torch']:.0f} | "
              f"{rates['numpy'] / rates['torch']:.2f} |", flush=True)


_PHASE = """
import json, time
from numeric.phase import phase_diagram
start = time.perf_counter()
d = phase_diagram(points=40, jobs=JOBS)
print(json.dumps({"seconds": time.perf_counter() - start, "improved": d.improved,
                  "inhibition": int((d.structure == "asymmetric with inhibition").sum())}))
"""

# One value + gradient on each engine, at points like a phase diagram's: half of them the
# full motif, half the variant without inhibition, at sparsities and importances of the grid.
_ENGINES = """
import json, statistics, timeit
import numpy as np
from analytic import SparseUniform, sym
from analytic.presets import CANONICAL
from numeric.engines.batch import evaluate
from numeric.phase import VARIANT_PARAMS, _engines
from numeric.engines.pointwise import PointwiseLoss
from numeric.motif import BOX, I_b, S
params = list(BOX)
rng = np.random.default_rng(0)
X = np.array([float(CANONICAL[p]) for p in params]) * (1 + 0.3 * rng.standard_normal((80, len(params))))
X[:, params.index(sym("delta"))] %= 1
F = np.stack([1 - np.geomspace(0.5, 0.01, 80), np.geomspace(0.1, 1, 80)], axis=1)
engines, inner = _engines(), VARIANT_PARAMS["without"]
half = len(X) // 2
def parts(count):
    rest = slice(half, half + count - count // 2)
    return [(engines["full"], X[:count // 2], F[:count // 2]), (engines["without"], X[rest][:, inner], F[rest])]
# The same points on the pointwise engine, one at a time.
pointwise = [PointwiseLoss(engine.circuit, SparseUniform(S), [1, I_b, 1], engine.params, {S: s, I_b: i})
             for engine, (s, i) in zip([engines["full"]] * half + [engines["without"]] * (len(X) - half), F)]
points = [x if k < half else x[inner] for k, x in enumerate(X)]
def median(f, reps):
    return statistics.median(timeit.repeat(f, number=1, repeat=reps))
out = {"pointwise": median(lambda: [p.value_and_gradient(x) for p, x in zip(pointwise, points)], 5) / len(X)}
for count in (2, 20, 80):
    out[f"batch_{count}"] = median(lambda: evaluate(parts(count)), 15) / count
print(json.dumps(out))
"""


def phase(runs: int = 3, jobs: int = 2) -> None:
    """Print the 40 x 40 phase diagram's time against its target (the median of
    ``runs`` fresh processes with ``jobs`` workers), and one evaluation on the
    pointwise and the batched engine side by side (medians, one core)."""
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, {_cores()} cores")
    print("| what | target | measured (median) |")
    print("|---|---|---|")
    results = [_fresh(_PHASE.replace("JOBS", str(jobs)), timeout=3600) for _ in range(runs)]
    seconds = statistics.median(r["seconds"] for r in results)
    wall = statistics.median(r["wall"] for r in results)
    each = ", ".join(f"{r['seconds']:.0f}" for r in results)
    print(f"| 40 x 40 motif phase diagram, {jobs} processes | <= 120 s | {seconds:.0f} s (whole process "
          f"{wall:.0f} s; runs {each} s); "
          f"{results[-1]['inhibition']} points with inhibition, {results[-1]['improved']} losses lowered by "
          f"the neighbours' optima |", flush=True)
    engines = _fresh(_ENGINES)
    pointwise = engines["pointwise"]
    print(f"| one value + gradient, pointwise engine, one point at a time | - | {1e3 * pointwise:.2f} ms |")
    for count in (2, 20, 80):
        each = engines[f"batch_{count}"]
        print(f"| the same, batched engine, {count} points at once (half without inhibition) | - | "
              f"{1e3 * each:.2f} ms per point ({pointwise / each:.1f}x) |")


if __name__ == "__main__":
    baseline() if "--baseline" in sys.argv else run(quick="--quick" in sys.argv)
