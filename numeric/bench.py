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
from analytic.circuits import asymmetric_inhibition, CANONICAL
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
    if not quick:
        plain = _fresh(_PLAIN)
        agree = abs(plain["value"] - ours["value"]) <= 1e-9 * abs(plain["value"])
        print(f"| same term, plain sympy.integrate (every regime at once, in Min/Max) | - | "
              f"{plain['seconds']:.1f} s, "
              f"{plain['ops']} ops; ratio {plain['seconds'] / ours_s:.0f}x; values "
              f"{'agree' if agree else 'DIFFER'} ({plain['value']:.12g} vs {ours['value']:.12g}) |")


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
