"""``superloss bench``: the measured figures of superloss against their targets.

Every benchmark is a function that measures one thing and returns its figures as a JSON-ready
dict, its sizes keyword arguments whose defaults are the real benchmark's:

- :mod:`~numeric.bench.engine`: closed forms derived (the motif, the n = 6, m = 10 float
  network, one nested-ReLU term by superloss and by plain ``sympy.integrate``);
- :mod:`~numeric.bench.optimizer`: the motif's optimization, and one value and gradient per engine;
- :mod:`~numeric.bench.baseline`: the optimizer against Nelder-Mead on a Monte Carlo loss;
- :mod:`~numeric.bench.training`: the numpy trainer against PyTorch on the CPU;
- :mod:`~numeric.bench.phase`: the 40 x 40 phase diagram, and its engines side by side.

Each runs in a fresh interpreter (:func:`~numeric.bench.runner.fresh`, or
``python -m numeric.bench MODULE:FUNCTION '{"keyword": "arguments"}'``), so nothing is cached
between runs; :mod:`~numeric.bench.tables` prints the Markdown tables of ``docs/benchmarks.md``,
each figure a median over several such processes.
"""

from __future__ import annotations

import numpy as np

from .runner import BenchmarkError, fresh, median

__all__ = ["BenchmarkError", "TRAINED_SIZE_SEED", "fresh", "median", "trained_size_weights"]

#: A dense network of the trained size (n = 6, m = 10): a half-absolute-value
#: layout as training finds it, every weight perturbed so that no entry is zero
#: (the hardest case: every output sees every neuron), no hidden bias.
TRAINED_SIZE_SEED = 0


def trained_size_weights(
    seed: int = TRAINED_SIZE_SEED, features: int = 6, neurons: int = 10
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W1, W2, b2)`` of the benchmark's n = 6, m = 10 float network (other sizes for tests:
    ``features`` monosemantic neurons, then ``neurons - features`` more, each the negative half
    of one feature; every weight perturbed by a normal of sd 0.05, ``b2`` of sd 0.02).

    >>> [a.shape for a in trained_size_weights(features=2, neurons=3)]
    [(3, 2), (2, 3), (2,)]
    """
    if not features <= neurons <= 2 * features:
        raise ValueError(f"need features <= neurons <= 2 features, got {features} and {neurons}")
    rng = np.random.default_rng(seed)
    n, m = features, neurons
    W1, W2 = np.zeros((m, n)), np.zeros((n, m))
    for j in range(n):
        W1[j, j] = W2[j, j] = 1
    for j, k in zip(range(n, m), range(m - n), strict=True):
        W1[j, k], W2[k, j] = -1, 1
    W1 += rng.normal(0, 0.05, (m, n))
    W2 += rng.normal(0, 0.05, (n, m))
    return W1, W2, rng.normal(0, 0.02, n)
