"""Exact optima of free models: one point's whole search, timed.

:func:`optimization` runs :func:`numeric.free.optimum.free_optimum` once (starts, the
best continued, basin hopping, the valley, the certificate with its Monte Carlo check) and returns
its time with what it found; :mod:`numeric.bench.tables` runs it in fresh processes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..free.optimum import free_optimum


def optimization(
    features: int = 3,
    neurons: int = 5,
    sparsity: float = 0.9,
    importance: Sequence[float] = (1.0, 0.3, 1.0),
    starts: int = 64,
    jobs: int = 2,
    samples: int = 1_000_000,
) -> dict:
    """One free optimization: ``seconds``, the best ``loss`` (as printed: 0 where zero to rounding),
    the ``starts`` run and the ``hits``."""
    begin = time.perf_counter()
    best = free_optimum(features, neurons, sparsity, list(importance), starts=starts, jobs=jobs, samples=samples)
    return {
        "seconds": time.perf_counter() - begin,
        "loss": best.shown_loss,
        "starts": best.starts,
        "hits": best.hits,
        "falling": best.growth.falling,
        "verdict": best.certificate.verdict,
    }
