"""Many local searches of a free model's exact loss, and the best point they reach.

Each start runs L-BFGS-B (:func:`numeric.optimize.local_search`) on the exact loss
and gradient, capped at :data:`EVALUATIONS` evaluations, in the box
:data:`BOUNDS` (times a scale), each entry's bounds widened where needed to hold
the start. The engine is whichever exact one is faster at the size
(:data:`BATCHED_FEATURES`): for up to three features the batched engine
(:class:`numeric.engines.batch.BatchLoss`), every search of a worker in lockstep
(:func:`numeric.engines.lockstep.lockstep`) so that their evaluations share
batches; for four, the pointwise engine (:class:`numeric.engines.pointwise.PointwiseLoss`),
since a pattern of four active features is 384 simplices cut by every neuron in
the batch, more than 15 times slower there. The starts are split among ``jobs``
joblib workers; a search's result depends on its start only, never on the
others in its batch or on the number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from analytic.arrangement import clear_cache

from ..engines.batch import BatchLoss, evaluate
from ..engines.lockstep import lockstep
from ..engines.pointwise import PointwiseLoss
from ..optimize import LOCAL_OPTIONS, local_search
from ..workers import chunks
from .model import FreeModel, point_values
from .starts import Start

__all__ = [
    "BATCHED_FEATURES",
    "BOUNDS",
    "EVALUATIONS",
    "Run",
    "batched_loss",
    "engine",
    "exact_losses",
    "run_searches",
    "search_box",
]

#: The box every entry is searched in: weights of either sign (a motif's inhibition
#: is 20 in the paper's units) and output biases as in the motif study.
BOUNDS = {"weight": 25.0, "bias": 1.0}
#: Evaluations of the loss (with its gradient) per start, at most.
EVALUATIONS = 1500
#: The batched engine is used up to this many features, the pointwise one above.
BATCHED_FEATURES = 3


@dataclass(frozen=True)
class Run:
    """One local search: where it started, the loss and point it reached, and its evaluations."""

    start: Start
    loss: float
    x: np.ndarray
    evaluations: int


def search_box(model: FreeModel, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The lower and upper bounds of every parameter (``scale`` times :data:`BOUNDS`)."""
    weight = BOUNDS["weight"] * scale
    hi = model.join(
        np.full((model.m, model.n), weight),
        np.full((model.n, model.m), weight),
        np.full(model.n, BOUNDS["bias"] * scale),
    )
    return -hi, hi


@cache
def batched_loss(model: FreeModel) -> BatchLoss:
    """The batched engine of ``model`` at any sparsity and importances (built once per process)."""
    return BatchLoss(model.problem())


def _pointwise(model: FreeModel, sparsity: float, importance: Sequence[float]) -> PointwiseLoss:
    problem = model.problem()
    return PointwiseLoss(problem.fix(dict(zip(problem.varying, point_values(sparsity, importance), strict=True))))


def engine(model: FreeModel, sparsity: float, importance: Sequence[float]):
    """The exact value and gradient at one point ``x`` of the model, at this sparsity and importances."""
    if model.n <= BATCHED_FEATURES:
        F = point_values(sparsity, importance)[None]
        loss = batched_loss(model)

        def value_and_gradient(x):
            values, gradients = loss.values_and_gradients(np.asarray(x, dtype=float)[None], F)
            return float(values[0]), gradients[0]

        return value_and_gradient
    return _pointwise(model, sparsity, importance).value_and_gradient


def signed_search(model: FreeModel, objective: Callable, x0: np.ndarray, lo, hi, options):
    """L-BFGS-B (:func:`numeric.optimize.local_search`) with every input weight written as
    the difference of two nonnegative parts, ``w = u - v``.

    The exact loss has a kink where an input weight crosses zero (the neuron turns from
    reading one half of the feature alone to the other), and optima often sit on it, as
    in the lasso; a gradient search stalls there. Split, the kink is a corner of the
    box, which L-BFGS-B handles: it stops there only if neither side goes down.

    The loss is divided by its value at the start: L-BFGS-B's ``ftol`` compares a step's
    fall with ``max(|f|, 1)``, so at a loss of 1e-4 it would stop a search that still
    falls by 1e-11 of the loss per step, as it does along a kinked valley."""
    k, size = model.inputs, model.size
    x0 = np.asarray(x0, dtype=float)
    unit = objective(x0)[0] or 1.0

    def joined(z: np.ndarray) -> np.ndarray:
        x = z[:size].copy()
        x[k] -= z[size:]
        return x

    def split_objective(z: np.ndarray):
        value, gradient = objective(joined(z))
        return value / unit, np.concatenate([gradient, -gradient[k]]) / unit

    z0 = np.concatenate([np.where(k, np.maximum(x0, 0), x0), np.maximum(-x0[k], 0)])
    zlo = np.concatenate([np.where(k, 0.0, lo), np.zeros(k.sum())])
    zhi = np.concatenate([hi, -lo[k]])
    result = local_search(split_objective, z0, zlo, zhi, options)
    result.x = np.clip(joined(result.x), lo, hi)
    result.fun, result.nfev = result.fun * unit, result.nfev + 1
    return result


def _chunk(
    model: FreeModel,
    sparsity: float,
    importance: tuple,
    starts: list[Start],
    scale: float,
    evaluations: int,
    ask: Callable | None = None,
) -> list[Run]:
    bound = search_box(model, scale)[1]
    # Each search's box holds its start, entry by entry: a point far along a valley (a
    # neighbour's optimum, say) cut to the box would start from a worse point than the one given.
    boxes = [(-h, h) for s in starts for h in [np.maximum(bound, np.abs(s.x))]]
    options = {**LOCAL_OPTIONS, "maxfun": evaluations}
    if model.n > BATCHED_FEATURES:
        f = engine(model, sparsity, importance)
        results = []
        for s, (lo, hi) in zip(starts, boxes, strict=True):
            clear_cache()  # a search never comes back to another's cells
            results.append(signed_search(model, f, s.x, lo, hi, options))
    else:
        loss, F = batched_loss(model), point_values(sparsity, importance)
        ask = ask or (lambda part: evaluate([part])[0])

        def answer(questions: list) -> list:
            X = np.array(questions)
            values, gradients = ask((loss, X, np.tile(F, (len(X), 1))))
            return [(float(v), g) for v, g in zip(values, gradients, strict=True)]

        def task(ask, x0: np.ndarray, box):
            return signed_search(model, ask, x0, *box, options)

        tasks = [partial(task, x0=s.x, box=box) for s, box in zip(starts, boxes, strict=True)]
        results = lockstep(tasks, answer)
    return [Run(s, float(r.fun), r.x, int(r.nfev)) for s, r in zip(starts, results, strict=True)]


def run_searches(
    model: FreeModel,
    sparsity: float,
    importance: Sequence[float],
    starts: Sequence[Start],
    *,
    jobs: int = 1,
    scale: float = 1.0,
    evaluations: int = EVALUATIONS,
    ask: Callable | None = None,
) -> list[Run]:
    """A capped local search from every start, in ``jobs`` joblib workers (the runs in the starts' order).

    ``ask``, a :func:`numeric.engines.lockstep.lockstep` task's ``ask``, sends the batched
    engine's ``(loss, X, F)`` there (:func:`numeric.engines.batch.evaluate` answers it), so
    that the searches of many points share batches; the searches then run in this process."""
    args = (model, float(sparsity), tuple(map(float, importance)))
    if ask is not None:
        return _chunk(*args, list(starts), scale, evaluations, ask)
    parts = Parallel(n_jobs=jobs)(
        delayed(_chunk)(*args, chunk, scale, evaluations) for chunk in chunks(list(starts), effective_n_jobs(jobs))
    )
    return [run for part in parts for run in part]


def exact_losses(model: FreeModel, X: np.ndarray, F: np.ndarray) -> np.ndarray:
    """The exact loss of every point ``X[k]`` at the sparsity and importances ``F[k]``
    (:func:`numeric.free.model.point_values`), in one batch where the batched engine serves."""
    if model.n <= BATCHED_FEATURES:
        return batched_loss(model).values(np.asarray(X, dtype=float), np.asarray(F, dtype=float))
    return np.array([engine(model, f[0], f[1:])(x)[0] for x, f in zip(X, F, strict=True)])
