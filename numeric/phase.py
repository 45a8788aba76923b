"""The analytic phase diagram of the motif: which structure its optimum takes, over (S, I_b).

Over a grid of the sparsity (log-spaced in ``p = 1 - S``) and the rider's
importance ``I_b`` (host and inhibitor features at 1), the full motif and its
best variant without inhibition are optimized in the study's box at every
point, and the full motif's optimum is classified as in the study
(:func:`numeric.study.classify`). The loss that inhibition buys is
``1 - full / without``.

Every grid point is a local search warm-started from its neighbour: each row of
constant ``I_b`` is swept twice, from the sparsest end down (starting from a
few-start search there) and from the densest end up (starting from the
canonical point), and each point keeps the better of the two. Rows are swept
independently, so one row can end on a worse branch of local minima than the
next; then every point tries its four neighbours' optima and searches again
from any that is lower there than its own, until no point improves (the
optimal loss cannot fall as ``I_b`` grows, which the tests check). The
searches use the pointwise engine only (no certificate, no Monte Carlo): the
diagram is about structure, and ``superloss optimize`` certifies any single
point. Rows run in parallel through joblib, so a cluster backend (Dask) can
take them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed

from analytic import SparseUniform
from analytic.circuits import CANONICAL, asymmetric_inhibition

from .optimize import SAME, _local, random_starts
from .pointwise import PointwiseLoss
from .study import BOX, VARIANTS, I_b, S, classify

__all__ = ["PhaseDiagram", "TrainedOverlay", "phase_diagram", "trained_overlay"]

#: The default grid: p = 1 - S from 0.5 to 0.01 (log-spaced), I_b from 0.1 to 1 (log-spaced).
P_RANGE = (0.5, 0.01)
IMPORTANCE_RANGE = (0.1, 1.0)

#: Random starts (besides the canonical point) of the search that opens each sweep from the sparse end.
OPENING_STARTS = 3


@dataclass(frozen=True)
class PhaseDiagram:
    """``structure[i, j]``, ``loss[i, j]``, ``without[i, j]`` (the best loss
    without inhibition) at ``sparsities[j]`` and ``importances[i]``, and the
    full motif's parameters ``params[i][j]`` (by name)."""

    sparsities: np.ndarray
    importances: np.ndarray
    structure: np.ndarray
    loss: np.ndarray
    without: np.ndarray
    params: list
    #: How many searches from a neighbour's optimum lowered a point's loss (either variant).
    improved: int = 0

    @property
    def bought(self) -> np.ndarray:
        """The fraction of the loss that inhibition removes: ``1 - loss / without``."""
        return 1 - self.loss / self.without

    def to_dict(self) -> dict:
        return {"S": self.sparsities.tolist(), "I_b": self.importances.tolist(),
                "structure": self.structure.tolist(), "loss": self.loss.tolist(),
                "without_inhibition": self.without.tolist(), "bought": self.bought.tolist(),
                "params": self.params, "improved": self.improved}


#: Rounds of trying the neighbours' optima, at most (each round runs only where a neighbour changed).
POLISH_ROUNDS = 20


def _loss(circuit, params: list, importance: float, sparsity: float) -> PointwiseLoss:
    return PointwiseLoss(circuit, SparseUniform(S), [1, I_b, 1], params, {S: float(sparsity), I_b: importance})


def _variants() -> dict[str, tuple]:
    """The circuit and the params searched, for the full motif and its variant without inhibition."""
    full = asymmetric_inhibition()
    without = full.subs(VARIANTS["no inhibition"])
    return {"full": (full, list(BOX)), "without": (without, [p for p in BOX if p in without.symbols])}


def _sweeps(circuit, params: list, importance: float, sparsities: np.ndarray, seed: int) -> tuple[list, list]:
    """Best loss and point at every sparsity: two warm-started sweeps, kept pointwise best."""
    lo, hi = np.array([BOX[p] for p in params], dtype=float).T
    losses = [_loss(circuit, params, importance, s) for s in sparsities]
    canonical = np.array([float(CANONICAL[p]) for p in params])
    best = [(np.inf, None)] * len(sparsities)
    order = np.argsort(sparsities)
    # From the sparse end (where the motif's structure is richest) down, and from the dense end up.
    for sweep in (order[::-1], order):
        k = sweep[0]
        if sweep is order:
            starts = [canonical]
        else:
            starts = [canonical] + random_starts(lo, hi, OPENING_STARTS, np.random.default_rng(seed))
        runs = [_local(losses[k].value_and_gradient, x, lo, hi) for x in starts]
        x = min(runs, key=lambda r: r.fun).x
        for k in sweep:
            r = _local(losses[k].value_and_gradient, x, lo, hi)
            if r.fun < best[k][0]:
                best[k] = (float(r.fun), r.x)
            x = r.x
    return [b[0] for b in best], [b[1] for b in best]


def _row(importance: float, sparsities: np.ndarray, seed: int) -> dict[str, tuple[list, list]]:
    """Both variants' sweeps of one row."""
    return {name: _sweeps(circuit, params, importance, sparsities, seed)
            for name, (circuit, params) in _variants().items()}


def _polish(variant: str, importance: float, sparsities: np.ndarray, loss: list, points: list,
            candidates: list[list[np.ndarray]]) -> tuple[list, list, list[bool]]:
    """One row of one variant: at every sparsity, search again from each candidate
    point that is lower there than the point's own optimum by more than
    :data:`numeric.optimize.SAME` (relative); keep the best."""
    circuit, params = _variants()[variant]
    lo, hi = np.array([BOX[p] for p in params], dtype=float).T
    loss, points, changed = list(loss), list(points), [False] * len(loss)
    for k, starts in enumerate(candidates):
        if not starts:
            continue
        f = _loss(circuit, params, importance, sparsities[k])
        for x in starts:
            if f.value(x) >= loss[k] * (1 - SAME):
                continue
            r = _local(f.value_and_gradient, x, lo, hi)
            if r.fun < loss[k] * (1 - SAME):
                loss[k], points[k], changed[k] = float(r.fun), r.x, True
    return loss, points, changed


def _neighbours(points: list, changed: np.ndarray, i: int, j: int) -> list[np.ndarray]:
    """The optima of the grid neighbours of ``(i, j)`` that changed in the last round."""
    rows, cols = changed.shape
    return [points[a][b] for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1))
            if 0 <= a < rows and 0 <= b < cols and changed[a, b]]


def _improve(variant: str, importances: np.ndarray, sparsities: np.ndarray, loss: list, points: list,
             jobs: int) -> tuple[list, list, int]:
    """Rounds of :func:`_polish` on every row with a changed neighbour, until
    nothing changes: the losses and points by row, and how many were lowered."""
    changed = np.ones((len(importances), len(sparsities)), dtype=bool)
    lowered = 0
    for _ in range(POLISH_ROUNDS):
        tasks = [(i, [_neighbours(points, changed, i, j) for j in range(len(sparsities))])
                 for i in range(len(importances))]
        tasks = [(i, starts) for i, starts in tasks if any(starts)]
        if not tasks:
            break
        out = Parallel(n_jobs=jobs)(delayed(_polish)(variant, float(importances[i]), sparsities, loss[i],
                                                     points[i], starts) for i, starts in tasks)
        changed[:] = False
        for (i, _), (row_loss, row_points, row_changed) in zip(tasks, out):
            loss[i], points[i], changed[i] = row_loss, row_points, row_changed
        lowered += int(changed.sum())
    return loss, points, lowered


def phase_diagram(sparsities: Sequence[float] | None = None, importances: Sequence[float] | None = None,
                  points: int = 40, seed: int = 0, jobs: int = -1) -> PhaseDiagram:
    """The phase diagram over ``sparsities`` x ``importances`` (default: ``points``
    of each, log-spaced over :data:`P_RANGE` and :data:`IMPORTANCE_RANGE`), one
    row of constant ``I_b`` per joblib task.

    The without-inhibition variant contains the rider-dropped and symmetric
    ones, so its optimum is the best without inhibition; the full motif's is
    never worse up to the searches' tolerance. After the sweeps, rounds of
    searches from the neighbours' optima (:data:`POLISH_ROUNDS` at most) run
    row by row through joblib as well.
    """
    S_ = np.asarray(1 - np.geomspace(*P_RANGE, points) if sparsities is None else sparsities, dtype=float)
    I_ = np.asarray(np.geomspace(*IMPORTANCE_RANGE, points) if importances is None else importances, dtype=float)
    rows = Parallel(n_jobs=jobs)(delayed(_row)(float(i), S_, seed) for i in I_)
    variants = _variants()
    found, improved = {}, 0
    for name in variants:
        loss, points, lowered = _improve(name, I_, S_, [list(row[name][0]) for row in rows],
                                         [list(row[name][1]) for row in rows], jobs)
        found[name] = (loss, points)
        improved += lowered
    (full_loss, full_points), (without, without_points) = found["full"], found["without"]
    full_loss, without = np.array(full_loss), np.array(without)
    inner = variants["without"][1]

    def optimum(i: int, k: int) -> dict:
        # The variant is the full motif at kappa = delta = gamma = 0: where its search did
        # better, the full motif's optimum is at least that good.
        if without[i, k] < full_loss[i, k]:
            return {p: 0.0 for p in BOX} | dict(zip(inner, without_points[i][k].tolist()))
        return dict(zip(BOX, full_points[i][k].tolist()))

    chosen = [[optimum(i, k) for k in range(len(S_))] for i in range(len(I_))]
    return PhaseDiagram(S_, I_, np.array([[classify(c) for c in row] for row in chosen]),
                        np.minimum(full_loss, without), without,
                        [[{p.name: v for p, v in c.items()} for c in row] for row in chosen], improved)


@dataclass(frozen=True)
class TrainedOverlay:
    """Free models of the motif's size (3 features, 5 neurons) trained on a coarse
    grid: ``motif[i, j]`` is the fraction of the seeds at ``sparsities[j]`` and
    ``importances[i]`` in which :func:`numeric.detect.detect` finds the motif,
    ``loss[i, j]`` their mean training estimate."""

    sparsities: np.ndarray
    importances: np.ndarray
    motif: np.ndarray
    loss: np.ndarray
    seeds: int

    def to_dict(self) -> dict:
        return {"S": self.sparsities.tolist(), "I_b": self.importances.tolist(), "motif": self.motif.tolist(),
                "loss": self.loss.tolist(), "seeds": self.seeds}


def trained_overlay(sparsities: Sequence[float], importances: Sequence[float], seeds: int = 3,
                    config=None) -> TrainedOverlay:
    """Train ``seeds`` free 3 x 5 models at every grid point (all at once) and
    look for the motif in each (5,000 steps, peak learning rate 1e-2 with cosine
    decay, unless ``config`` says otherwise)."""
    from .detect import detect
    from .train import TrainConfig, train

    config = config or TrainConfig(steps=5000, lr=1e-2, schedule="cosine")
    S_, I_ = np.asarray(sparsities, dtype=float), np.asarray(importances, dtype=float)
    result = train("hidden", 3, 5, S_.tolist(), [[1.0, i, 1.0] for i in I_], seeds=list(range(seeds)),
                   config=config, progress=False)
    found = np.zeros((len(I_), len(S_)))
    loss = np.zeros((len(I_), len(S_)))
    for k in range(result.instances):
        j = int(np.flatnonzero(S_ == result.sparsities[k])[0])
        i = int(np.flatnonzero(I_ == result.importances[k][1])[0])
        motifs = detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k]).motifs
        found[i, j] += bool(motifs) / seeds
        loss[i, j] += float(result.final_estimate.mean[k]) / seeds
    return TrainedOverlay(S_, I_, found, loss, seeds)
