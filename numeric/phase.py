"""The analytic phase diagram of the motif: which structure its optimum takes, over (S, I_b).

Over a grid of the sparsity (log-spaced in ``p = 1 - S``) and the rider's
importance ``I_b`` (host and inhibitor features at 1), the motif family is
searched at every point with the pieces of :mod:`numeric.family` (the search the
study uses too): the full motif and its best variant without inhibition in the
study's box, and the limit ``kappa -> oo``. The family's best is classified as
in the study (:func:`numeric.motif.classify`); where it is the limit,
``at_infinity`` says so. The loss that inhibition buys is ``1 - best / without``.

Every grid point is a local search warm-started from its neighbour: each row of
constant ``I_b`` is swept twice (the limit not at all: :data:`SWEEPS`), from the
sparsest end down (starting from a few-start search there) and from the densest
end up (starting from the canonical point), and each point keeps the better of the two. Rows are swept
independently, so one row can end on a worse branch of local minima than the
next; then every point tries its four neighbours' optima (and the other
variants' optima at the point) and searches again
from any that is lower there than its own (and was not a start there yet),
until no point improves. The optimal loss cannot fall as ``I_b`` grows, which
the tests check.

The searches use the batched exact engine (:class:`numeric.engines.batch.BatchLoss`),
with no certificate and no Monte Carlo: the diagram is about structure, and
``superloss optimize`` certifies any single point. The rows are split into one
chunk per joblib worker, so a cluster backend (Dask) can take them; within a
chunk every search runs in lockstep (:func:`numeric.engines.lockstep.lockstep`), its
evaluations batched with the others'. No result depends on the number of workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

from .engines.lockstep import lockstep
from .family import (
    CANONICAL_POINT,
    HIGH,
    LOW,
    VARIANT_PARAMS,
    best_variant,
    embed,
    evaluate_with_gradient,
    limit_values,
    restrict,
    search,
    searches,
    starting_values,
)
from .motif import BOX, classify
from .optimize import SAME, random_starts
from .workers import chunks, split

__all__ = ["PhaseDiagram", "TrainedOverlay", "neighbourhood", "phase_diagram", "trained_overlay"]

#: The default grid: p = 1 - S from 0.5 to 0.01 (log-spaced), I_b from 0.1 to 1 (log-spaced).
P_RANGE = (0.5, 0.01)
IMPORTANCE_RANGE = (0.1, 1.0)

#: Sweeps of each row, by variant. The limit kappa -> oo is not swept: every point starts it from
#: the full motif's optimum there (:data:`CROSS`), and the rounds carry it to the neighbours.
SWEEPS = {"full": 2, "without": 2, "limit": 0}
#: The variants whose optimum at a point is a start for another variant there: the limit from the
#: full motif's other weights (where the limit wins, the full motif runs to kappa's bound).
CROSS = {"limit": ("full",)}

#: Random starts (besides the canonical point) of the search that opens each sweep from the sparse end.
OPENING_STARTS = 3


@dataclass(frozen=True)
class PhaseDiagram:
    """``structure[i, j]``, ``loss[i, j]`` (the family's best), ``without[i, j]``
    (the best loss without inhibition) at ``sparsities[j]`` and ``importances[i]``,
    the full motif's parameters ``params[i][j]`` (by name; ``kappa`` is ``inf``
    where the best is the limit ``kappa -> oo``) and ``at_infinity[i, j]``, where
    it is (:mod:`numeric.family`: the infimum is not attained there)."""

    sparsities: np.ndarray
    importances: np.ndarray
    structure: np.ndarray
    loss: np.ndarray
    without: np.ndarray
    params: list
    at_infinity: np.ndarray
    #: How many searches from a neighbour's optimum lowered a point's loss (either variant).
    improved: int = 0

    @property
    def bought(self) -> np.ndarray:
        """The fraction of the loss that inhibition removes: ``1 - loss / without``."""
        return 1 - self.loss / self.without

    def to_dict(self) -> dict:
        return {
            "S": self.sparsities.tolist(),
            "I_b": self.importances.tolist(),
            "structure": self.structure.tolist(),
            "loss": self.loss.tolist(),
            "without_inhibition": self.without.tolist(),
            "bought": self.bought.tolist(),
            "params": [[{p: "oo" if np.isinf(v) else v for p, v in c.items()} for c in row] for row in self.params],
            "at_infinity": self.at_infinity.tolist(),
            "improved": self.improved,
        }


#: Rounds of trying the neighbours' optima, at most (each round runs only where a neighbour changed).
POLISH_ROUNDS = 20


def _sweep(ask, variant: str, importance: float, sparsities: np.ndarray, x0: np.ndarray) -> list[tuple]:
    """``(loss, point, start)`` at each sparsity in the given order, each search
    warm-started from the one before (the first from ``x0``)."""
    found, x = [], x0
    for sparsity in sparsities:
        r = search(ask, variant, float(sparsity), importance, x)
        found.append((float(r.fun), r.x, x))
        x = r.x
    return found


def _rows(importances: np.ndarray, sparsities: np.ndarray, seed: int) -> tuple[list[dict], list[dict]]:
    """Every variant's two sweeps of every row: per row and variant, the better
    ``(loss, point)`` of the two at every sparsity, and the starts searched from
    there (as bytes).

    A sweep from the sparse end (where the motif's structure is richest) down
    starts from the best of a few searches there; one from the dense end up
    starts from a search from the canonical point. All the opening searches run
    in lockstep, then all the sweeps."""
    order = np.argsort(sparsities)
    sweeps, openings = [], []
    for i, importance in enumerate(importances):
        for variant, index in VARIANT_PARAMS.items():
            if not SWEEPS[variant]:
                continue
            rng = np.random.default_rng(seed)
            down = [restrict(variant, CANONICAL_POINT)] + random_starts(LOW[index], HIGH[index], OPENING_STARTS, rng)
            both = ((order[::-1], down), (order, [restrict(variant, CANONICAL_POINT)]))
            for sweep, starts in both[: SWEEPS[variant]]:
                sweeps.append((i, variant, float(importance), sweep))
                openings += [
                    (
                        len(sweeps) - 1,
                        partial(
                            search,
                            variant=variant,
                            sparsity=float(sparsities[sweep[0]]),
                            importance=float(importance),
                            x0=x,
                        ),
                    )
                    for x in starts
                ]
    opened: list = [None] * len(sweeps)
    for (k, _), r in zip(openings, lockstep([task for _, task in openings], evaluate_with_gradient), strict=True):
        if opened[k] is None or r.fun < opened[k].fun:
            opened[k] = r
    tasks = [
        partial(_sweep, variant=variant, importance=importance, sparsities=sparsities[sweep], x0=opened[k].x)
        for k, (_, variant, importance, sweep) in enumerate(sweeps)
    ]
    rows = [{v: [(np.inf, None)] * len(sparsities) for v in VARIANT_PARAMS} for _ in importances]
    tried = [{v: [set() for _ in sparsities] for v in VARIANT_PARAMS} for _ in importances]
    for (i, variant, _, sweep), found in zip(sweeps, lockstep(tasks, evaluate_with_gradient), strict=True):
        best = rows[i][variant]
        for k, (loss, x, start) in zip(sweep, found, strict=True):
            tried[i][variant][k].add(start.tobytes())
            if loss < best[k][0]:
                best[k] = (loss, x)
    return rows, tried


def _candidates(found: dict, changed: dict, variant: str, i: int, j: int) -> list[np.ndarray]:
    """Starts for ``variant`` at ``(i, j)``: the optima of its four grid neighbours,
    and those of the variants of :data:`CROSS` at ``(i, j)`` itself, wherever they
    changed in the last round."""
    rows, cols = changed[variant].shape
    near = [
        found[variant][a][b][1]
        for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1))
        if 0 <= a < rows and 0 <= b < cols and changed[variant][a, b] and found[variant][a][b][1] is not None
    ]
    return near + [
        restrict(variant, embed(other, found[other][i][j][1]))
        for other in CROSS.get(variant, ())
        if changed[other][i, j]
    ]


def _improve(found: dict, tried: dict, importances: np.ndarray, sparsities: np.ndarray, jobs: int) -> int:
    """Rounds of searches from the neighbours' optima that changed in the last
    round, wherever one starts lower than a point's own loss by more than
    :data:`numeric.optimize.SAME` (relative) and was not a start there before,
    until nothing changes. Updates ``found[variant][i][j]`` (and ``tried``) and
    returns how many losses were lowered."""
    shape = (len(importances), len(sparsities))
    changed = {v: np.ones(shape, dtype=bool) for v in found}
    lowered = 0
    for _ in range(POLISH_ROUNDS):
        where = [
            (v, i, j, x)
            for v, grid in found.items()
            for i in range(shape[0])
            for j in range(shape[1])
            for x in _candidates(found, changed, v, i, j)
            if x.tobytes() not in tried[v][i][j]
        ]
        questions = [(v, x, float(sparsities[j]), float(importances[i])) for v, i, j, x in where]
        start = split(starting_values, questions, jobs)
        lower = [k for k, (v, i, j, _) in enumerate(where) if start[k] < found[v][i][j][0] * (1 - SAME)]
        if not lower:
            break
        changed = {v: np.zeros(shape, dtype=bool) for v in found}
        for k, r in zip(lower, split(searches, [questions[k] for k in lower], jobs), strict=True):
            v, i, j, x = where[k]
            tried[v][i][j].add(x.tobytes())
            if r.fun < found[v][i][j][0] * (1 - SAME):
                found[v][i][j] = (float(r.fun), r.x)
                changed[v][i, j] = True
        lowered += sum(int(c.sum()) for c in changed.values())
    return lowered


def phase_diagram(
    sparsities: Sequence[float] | None = None,
    importances: Sequence[float] | None = None,
    points: int = 40,
    seed: int = 0,
    jobs: int = -1,
) -> PhaseDiagram:
    """The phase diagram over ``sparsities`` x ``importances`` (default: ``points``
    of each, log-spaced over :data:`P_RANGE` and :data:`IMPORTANCE_RANGE`).

    The without-inhibition variant contains the rider-dropped and symmetric
    ones, so its optimum is the best without inhibition; the full motif's is
    never worse up to the searches' tolerance. After the sweeps, rounds of
    searches from the neighbours' optima (:data:`POLISH_ROUNDS` at most) are
    split among the joblib workers as the rows are.
    """
    S_ = np.asarray(1 - np.geomspace(*P_RANGE, points) if sparsities is None else sparsities, dtype=float)
    I_ = np.asarray(np.geomspace(*IMPORTANCE_RANGE, points) if importances is None else importances, dtype=float)
    parts = Parallel(n_jobs=jobs)(
        delayed(_rows)(np.array(chunk), S_, seed) for chunk in chunks(list(I_), effective_n_jobs(jobs))
    )
    rows = [row for part in parts for row in part[0]]
    starts = [row for part in parts for row in part[1]]
    found = {v: [row[v] for row in rows] for v in VARIANT_PARAMS}
    improved = _improve(found, {v: [row[v] for row in starts] for v in VARIANT_PARAMS}, I_, S_, jobs)
    # The limit's searches saw the loss at a large finite kappa; its value is extrapolated to
    # kappa -> oo, and not claimed (inf) where the losses do not yet fall as 1 / kappa.
    points = [(x, float(S_[k]), float(I_[i])) for i, row in enumerate(found["limit"]) for k, (_, x) in enumerate(row)]
    values = iter(split(limit_values, points, jobs))
    found["limit"] = [[(next(values), x) for _, x in row] for row in found["limit"]]
    losses = {v: np.array([[f for f, _ in row] for row in found[v]]) for v in VARIANT_PARAMS}
    chosen, infinite = [], np.zeros((len(I_), len(S_)), dtype=bool)
    for i in range(len(I_)):
        chosen.append([])
        for k in range(len(S_)):
            # The family's best of the three (numeric.family.best_variant): the variant without
            # inhibition is the full motif at kappa = delta = gamma = 0, the limit at kappa -> oo.
            v = best_variant({u: found[u][i][k] for u in VARIANT_PARAMS})
            infinite[i, k] = v == "limit"
            chosen[-1].append(dict(zip(BOX, embed(v, found[v][i][k][1]).tolist(), strict=True)))
    best = np.where(infinite, losses["limit"], np.minimum(losses["full"], losses["without"]))
    return PhaseDiagram(
        S_,
        I_,
        np.array([[classify(c) for c in row] for row in chosen]),
        best,
        losses["without"],
        [[{p.name: v for p, v in c.items()} for c in row] for row in chosen],
        infinite,
        improved,
    )


def neighbourhood(sparsity: float, importance: float) -> tuple[np.ndarray, np.ndarray]:
    """The 3 x 3 grid around ``(S, I_b)`` with the default 40 x 40 grid's spacing
    (a factor in ``1 - S`` and one in ``I_b``): the case itself in the middle, and its
    grid neighbours."""
    p_step = (P_RANGE[0] / P_RANGE[1]) ** (1 / 39)
    i_step = (IMPORTANCE_RANGE[1] / IMPORTANCE_RANGE[0]) ** (1 / 39)
    p = 1 - sparsity
    denser = max(0.0, 1 - p * p_step)  # 1 - S stays at most 1
    return np.array([denser, sparsity, 1 - p / p_step]), np.array(
        [importance / i_step, importance, importance * i_step]
    )


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
        return {
            "S": self.sparsities.tolist(),
            "I_b": self.importances.tolist(),
            "motif": self.motif.tolist(),
            "loss": self.loss.tolist(),
            "seeds": self.seeds,
        }


def trained_overlay(
    sparsities: Sequence[float], importances: Sequence[float], seeds: int = 3, config=None
) -> TrainedOverlay:
    """Train ``seeds`` free 3 x 5 models at every grid point (all at once) and
    look for the motif in each (5,000 steps, peak learning rate 1e-2 with cosine
    decay, unless ``config`` says otherwise)."""
    from .detect import detect
    from .train import TrainConfig, train

    config = config or TrainConfig(steps=5000, lr=1e-2, schedule="cosine")
    S_, I_ = np.asarray(sparsities, dtype=float), np.asarray(importances, dtype=float)
    result = train(
        "hidden",
        3,
        5,
        S_.tolist(),
        [[1.0, i, 1.0] for i in I_],
        seeds=list(range(seeds)),
        config=config,
        progress=False,
    )
    found = np.zeros((len(I_), len(S_)))
    loss = np.zeros((len(I_), len(S_)))
    for k in range(result.instances):
        j = int(np.flatnonzero(S_ == result.sparsities[k])[0])
        i = int(np.flatnonzero(I_ == result.importances[k][1])[0])
        motifs = detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k]).motifs
        found[i, j] += bool(motifs) / seeds
        loss[i, j] += float(result.final_estimate.mean[k]) / seeds
    return TrainedOverlay(S_, I_, found, loss, seeds)
