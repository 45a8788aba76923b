"""The phase diagram: its time on the whole grid, and its engines side by side.

:func:`diagram` times :func:`numeric.phase.phase_diagram` once; :mod:`numeric.bench.tables`
runs it in several fresh processes (:func:`numeric.bench.runner.fresh`) and takes the median.
:func:`engines` times one value and gradient on the pointwise engine (one point at a time) and on
the batched engine (many points at once) at points like a phase diagram's, in one process: the
median over repeats of ``timeit``.
"""

from __future__ import annotations

import statistics
import time
import timeit
from collections.abc import Callable, Sequence

import numpy as np

from analytic import sym
from analytic.presets import CANONICAL

from ..engines.batch import evaluate
from ..engines.pointwise import PointwiseLoss
from ..family import VARIANT_PARAMS, variant_losses
from ..motif import BOX, I_b, S
from ..phase import phase_diagram

#: The batch sizes of :func:`engines`: points evaluated at once.
COUNTS = (2, 20, 80)


def diagram(points: int = 40, jobs: int = 2) -> dict:
    """The ``points`` x ``points`` phase diagram of the motif on ``jobs`` processes: ``seconds``,
    the number of points whose optimum has ``inhibition``, and how many losses the neighbours'
    optima ``improved``."""
    start = time.perf_counter()
    d = phase_diagram(points=points, jobs=jobs)
    return {
        "seconds": time.perf_counter() - start,
        "points": points,
        "improved": int(d.improved),
        "inhibition": int((d.structure == "asymmetric with inhibition").sum()),
    }


def _median(f: Callable[[], object], repeats: int) -> float:
    return statistics.median(timeit.repeat(f, number=1, repeat=repeats))


def engines(
    points: int = 80, counts: Sequence[int] = COUNTS, pointwise_repeats: int = 5, batch_repeats: int = 15, seed: int = 0
) -> dict:
    """One value and gradient, in seconds per point: ``pointwise`` over ``points`` points one at a
    time, and ``batch_{count}`` for each of ``counts`` points at once. The points scatter around
    the canonical one; half are the full motif's, half the variant's without inhibition, at
    sparsities and importances of the grid."""
    params = list(BOX)
    rng = np.random.default_rng(seed)
    X = np.array([float(CANONICAL[p]) for p in params]) * (1 + 0.3 * rng.standard_normal((points, len(params))))
    X[:, params.index(sym("delta"))] %= 1
    F = np.stack([1 - np.geomspace(0.5, 0.01, points), np.geomspace(0.1, 1, points)], axis=1)
    batched, inner = variant_losses(), VARIANT_PARAMS["without"]
    half = len(X) // 2

    def parts(count: int) -> list[tuple]:
        rest = slice(half, half + count - count // 2)
        return [(batched["full"], X[: count // 2], F[: count // 2]), (batched["without"], X[rest][:, inner], F[rest])]

    # The same points on the pointwise engine, one at a time.
    variants = [batched["full"]] * half + [batched["without"]] * (len(X) - half)
    pointwise = [
        PointwiseLoss(engine.problem.replace(varying=(), fixed={S: s, I_b: i}))
        for engine, (s, i) in zip(variants, F, strict=True)
    ]
    at = [x if k < half else x[inner] for k, x in enumerate(X)]
    out = {
        "pointwise": _median(
            lambda: [p.value_and_gradient(x) for p, x in zip(pointwise, at, strict=True)], pointwise_repeats
        )
        / len(X)
    }
    for count in counts:
        out[f"batch_{count}"] = _median(lambda count=count: evaluate(parts(count)), batch_repeats) / count
    return out
