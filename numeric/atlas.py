"""The atlas: the best circuit a budget allows, over the sparsity and the rider's importance.

For ``n`` features with importances ``(1, I_b, 1, ..)`` (the second replaced by each
rider importance) and ``m`` neurons, at every ``(S, I_b)`` of a grid:

- the best **free** model found (:func:`numeric.free.optimum.free_optimum`): each row of
  constant ``I_b`` is swept from the dense end to the sparse one, every point
  starting also from the optimum before it, then every point searches again from its
  four neighbours' optima where they are lower there;
- for the motif's own budget (3 features, 5 neurons): the **motif family** as the
  phase diagram optimizes it (:func:`numeric.phase.phase_diagram`, unit monosemantic
  weights);
- for 3 features and 2 to 5 neurons: the motif's **pattern** of zeros with every other
  entry free (:func:`motif_patterns`; below 5 neurons, the lowest over every choice of
  the monosemantic halves kept);
- free models **trained** on samples at the point with seeds no search started from
  (:func:`numeric.train.train`, all at once), each scored exactly: how many reach the
  best found (within :data:`numeric.free.optimum.REACHED`), and their median ratio to it.

"The seed's motif is the optimum of its budget" at a point means the detector finds it
in the best free model and that model's loss equals the pattern family's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from itertools import combinations

import numpy as np

from analytic import SuperlossError
from analytic.presets import compose

from .engines.batch import evaluate
from .engines.lockstep import lockstep
from .free.model import FreeModel, point_values
from .free.optimum import REACHED, FreeOptimum, free_optimum, with_run
from .free.search import exact_losses, run_searches
from .free.starts import TRAINED, Start
from .train import TrainConfig, train
from .workers import split

__all__ = [
    "TRAINED_KEPT",
    "TRAINED_STARTS",
    "TRAINING",
    "TRAINING_SEEDS",
    "Atlas",
    "AtlasPoint",
    "atlas",
    "motif_optimal",
    "motif_patterns",
    "pattern_loss",
    "pattern_optima",
]

#: Each point's search (:func:`numeric.free.optimum.free_optimum`) continues fewer of its
#: screened searches: its neighbours' optima are starts too.
SEARCH = {"finalists": 3, "samples": 0, "certificate": False}

#: How the comparison models are trained, and their seeds (far from the seeds 0, 1, .. of
#: the trained starts, so that no comparison model is also a start).
TRAINING = TrainConfig(steps=10_000, lr=1e-2, schedule="cosine")
TRAINING_SEEDS = tuple(range(1000, 1010))
#: Models trained per point to start searches from, by default (seeds 0 ..), and how many
#: of them, the lowest, start a search.
TRAINED_STARTS = 12
TRAINED_KEPT = 4
#: Rounds of searches from the neighbours' optima, at most, and the kind of their runs.
NEIGHBOUR_ROUNDS = 5
NEIGHBOUR = "neighbour"


def motif_patterns(m: int = 5) -> list[tuple[bool, ...]]:
    """The entries of a free 3 x ``m`` model that the seed's motif uses (host 0, rider 1,
    inhibitor 2, the rider's negative half), every output bias included: its two neurons
    and every choice of ``m - 2`` of its three monosemantic halves (the motif fitted to a
    budget of 2 to 5 neurons, as the motif starts are; one pattern at ``m = 5``).

    >>> [sum(p) for p in motif_patterns(5)], [sum(p) for p in motif_patterns(3)]   # free entries
    ([18], [14, 14, 14])
    """
    if not 2 <= m <= 5:
        return []
    circuit = compose(3, [(0, 1, 2, -1, 1, 1)])
    W1 = np.array([[e != 0 for e in row] for row in circuit.W1.tolist()])
    W2 = np.array([[e != 0 for e in row] for row in circuit.W2.tolist()])
    model = FreeModel(3, m)
    return [
        tuple(bool(v) for v in model.join(W1[keep], W2[:, keep], np.ones(3)))
        for halves in combinations((2, 3, 4), m - 2)
        for keep in [[0, 1, *halves]]
    ]


def pattern_optima(m: int, sparsity: float, importance: Sequence[float], *, starts: int, x0=None, **search) -> list:
    """The best model found in each of the motif's patterns of a 3 x ``m`` budget
    (:func:`motif_patterns`; none outside 2 to 5 neurons), each from ``starts`` searches and
    its given points ``x0[k]``, with the flat vector of the free model that computes the same:
    ``[(FreeOptimum, x), ..]``. ``search`` goes to :func:`numeric.free.optimum.free_optimum`."""
    patterns = motif_patterns(m)
    out = []
    for pattern, given in zip(patterns, [[] for _ in patterns] if x0 is None else x0, strict=True):
        found = free_optimum(
            3, m, sparsity, importance, starts=starts, trained_starts=0, x0=given, pattern=pattern, **search
        )
        out.append((found, FreeModel(3, m).join(*FreeModel(3, m, pattern).split(found.x))))
    return out


def pattern_loss(found: list) -> float | None:
    """The lowest loss of :func:`pattern_optima` (as printed: 0 where zero to rounding), ``None`` if none."""
    return min((f.shown_loss for f, _ in found), default=None)


def motif_optimal(loss: float, motif_found: bool, pattern: float | None) -> bool:
    """ "The seed's motif is the optimum of its budget": the detector finds it in the best free
    model found, whose ``loss`` equals the motif pattern's (within :data:`REACHED`, relative;
    both as printed, so that two losses zero to rounding are equal)."""
    return pattern is not None and motif_found and abs(loss - pattern) <= REACHED * loss


@dataclass(frozen=True)
class AtlasPoint:
    """One ``(S, I_b)`` of the atlas: the best free model found (``free``, a dict as
    :meth:`numeric.free.optimum.FreeOptimum.to_dict`), the motif family's
    loss (``None`` outside the 3 x 5 budget), the motif pattern's (``None`` outside 3
    features and 2 to 5 neurons), and the exact losses of the models trained there."""

    sparsity: float
    rider_importance: float
    free: dict
    motif: float | None
    pattern: float | None
    trained: tuple

    @property
    def loss(self) -> float:
        return self.free["loss"]

    @property
    def reached(self) -> int:
        """How many trained models reach the best found (within :data:`REACHED`, relative)."""
        return sum(t <= self.loss * (1 + REACHED) for t in self.trained)

    @property
    def trained_below(self) -> int:
        """How many trained models are below the best found (by more than :data:`REACHED`,
        relative): the search missed their basin, and the point's value is not the best known."""
        return sum(t < self.loss * (1 - REACHED) for t in self.trained)

    @property
    def motif_found(self) -> bool:
        return bool(self.free["motifs"]["motifs"])

    @property
    def motif_optimal(self) -> bool:
        """The detector finds the motif in the best free model, whose loss equals the pattern family's."""
        return motif_optimal(self.loss, self.motif_found, self.pattern)

    def to_dict(self) -> dict:
        return {
            "S": self.sparsity,
            "I_b": self.rider_importance,
            "loss": self.loss,
            "motif_family": self.motif,
            "motif_pattern": self.pattern,
            "free": self.free,
            "trained": list(self.trained),
            "trained_reached": self.reached,
            "trained_below": self.trained_below,
            "motif_found": self.motif_found,
            "motif_optimal": self.motif_optimal,
        }


@dataclass(frozen=True)
class Atlas:
    """The atlas of one budget: ``points[i][j]`` at ``sparsities[j]`` and ``rider_importances[i]``."""

    n: int
    m: int
    importance: tuple
    sparsities: np.ndarray
    rider_importances: np.ndarray
    points: list
    starts: int
    seed: int

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "m": self.m,
            "importances": list(self.importance),
            "S": self.sparsities.tolist(),
            "I_b": self.rider_importances.tolist(),
            "starts": self.starts,
            "seed": self.seed,
            "training": {"seeds": list(TRAINING_SEEDS), "steps": TRAINING.steps, "lr": TRAINING.lr},
            "points": [[p.to_dict() for p in row] for row in self.points],
        }

    def missed(self) -> list[AtlasPoint]:
        """The points where a trained model is below the best found (:attr:`AtlasPoint.trained_below`)."""
        return [p for row in self.points for p in row if p.trained_below]

    def table(self) -> str:
        """A Markdown table, one row per point."""
        rows = [
            "| S | I_b | best free loss | reached by | motif family | motif pattern | structures | new | "
            "trained: reach best | trained: median / best |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in self.points:
            for p in row:
                names = ", ".join(sorted({s["name"] for s in p.free["description"]["structures"]})) or "-"
                median = np.median(p.trained) / p.loss if p.loss > 0 else float("nan")
                rows.append(
                    f"| {p.sparsity:.4g} | {p.rider_importance:.3g} | {p.loss:.6g} | "
                    f"{p.free['hits']} of {p.free['starts']} | {_number(p.motif)} | {_number(p.pattern)} | {names} | "
                    f"{'yes' if p.free['description']['new'] else 'no'} | {p.reached} of {len(p.trained)} | "
                    f"{median:.3g} |"
                )
        return "\n".join(rows)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _importance(base: Sequence[float], rider: float) -> tuple:
    return (float(base[0]), float(rider), *map(float, base[2:]))


def _row(ask, n, m, base, rider, sparsities, starts, seed, patterns, motif_starts, trained) -> list[tuple]:
    """One row of constant ``I_b``, swept from the dense end: per point the optimum of each
    of the motif's ``patterns`` (within the motif's budgets) and the free one, each search
    starting also from the point before, the free one from the patterns' optima too (a free
    model can do all a pattern does) and from the point's ``trained`` starts. A point's
    pattern loss is the lowest of its patterns'."""
    out, previous, previous_pattern = [], [], [[] for _ in patterns]
    search = {**SEARCH, "seed": seed, "ask": ask}
    for j, S in enumerate(sparsities):
        importance = _importance(base, rider)
        x0 = [p + motif_starts[j] for p in previous_pattern]
        found = pattern_optima(m, S, importance, starts=max(4, starts // 4), x0=x0, **search) if patterns else []
        previous_pattern = [[f.x] for f, _ in found]
        embedded = [x for _, x in found]
        x0 = previous + embedded + trained[j]
        best = free_optimum(n, m, S, importance, starts=starts, trained_starts=0, x0=x0, **search)
        previous = [best.x]
        out.append((best, pattern_loss(found)))
    return out


def _in_lockstep(function, tasks: list[dict]) -> list:
    """``function(ask, **task)`` for a worker's tasks in lockstep, their searches' evaluations
    in shared batches (:func:`numeric.free.search.run_searches`)."""
    return lockstep([partial(function, **task) for task in tasks], evaluate)


def _improved(ask, result, starts: list) -> FreeOptimum:
    """``result`` searched again from each of ``starts`` (its neighbours' optima), every
    search counted among its starts (:func:`numeric.free.optimum.with_run`)."""
    model = FreeModel(result.n, result.m)
    for x in starts:
        (run,) = run_searches(model, result.sparsity, result.importance, [Start(NEIGHBOUR, x)], ask=ask)
        result = with_run(result, run, ask=ask)
    return result


def atlas(
    n: int = 3,
    m: int = 5,
    sparsities: Sequence[float] = (0.5, 0.9, 0.99),
    rider_importances: Sequence[float] = (0.1, 0.3, 1.0),
    importance: Sequence[float] | None = None,
    *,
    starts: int = 16,
    trained_starts: int = TRAINED_STARTS,
    seed: int = 0,
    jobs: int = 2,
    training: TrainConfig = TRAINING,
    trained_seeds: Sequence[int] = TRAINING_SEEDS,
) -> Atlas:
    """The atlas of the ``n`` x ``m`` budget over ``sparsities`` x ``rider_importances``
    (importances ``importance`` with the second replaced; default all 1). Rows run in
    ``jobs`` joblib workers; nothing depends on their number.

    At every point ``trained_starts`` models are trained (seeds ``0 ..``, as the comparison
    is, all points at once) and scored exactly; the best :data:`TRAINED_KEPT` start searches,
    beside ``starts`` others. ``trained_seeds`` are the comparison's."""
    if set(range(trained_starts)) & set(trained_seeds):
        raise SuperlossError("the comparison's trained seeds must not be seeds of the trained starts")
    base = tuple(importance) if importance is not None else (1.0,) * n
    if len(base) != n or n < 2:
        raise SuperlossError(f"the atlas needs n >= 2 features and {n} importances, got {len(base)}")
    S_ = np.sort(np.asarray(sparsities, dtype=float))
    I_ = np.asarray(rider_importances, dtype=float)
    own = n == 3 and m == 5
    patterns = motif_patterns(m) if n == 3 else []
    family = None
    motif_starts = [[[] for _ in S_] for _ in I_]
    if own:
        from .phase import phase_diagram

        family = phase_diagram(S_, I_, seed=seed, jobs=jobs)
        from analytic.presets import asymmetric_inhibition

        circuit = asymmetric_inhibition()
        for i in range(len(I_)):
            for j in range(len(S_)):
                # An infimum at kappa -> oo starts the pattern's search from kappa at the study box's edge.
                values = {s: min(float(family.params[i][j].get(s.name, 0.0)), 1e3) for s in circuit.symbols}
                numeric = circuit.subs(values)
                W1, W2 = np.array(numeric.W1, dtype=float), np.array(numeric.W2, dtype=float)
                b = np.array(numeric.b2, dtype=float).ravel()
                motif_starts[i][j] = [FreeModel(3, 5, patterns[0]).join(W1, W2, b)]
    # The trained starts and the comparison in one pass: every instance depends on its seed only.
    grid = _train_grid(n, m, base, S_, I_, training, [*range(trained_starts), *trained_seeds], jobs)
    pool = [[[(x, loss) for seed, x, loss in cell if seed < trained_starts] for cell in row] for row in grid]
    tasks = [
        {
            "n": n,
            "m": m,
            "base": base,
            "rider": rider,
            "sparsities": S_,
            "starts": starts,
            "seed": seed,
            "patterns": patterns,
            "motif_starts": motif_starts[i],
            "trained": [
                [Start(TRAINED, x) for x, _ in sorted(cell, key=lambda c: c[1])[:TRAINED_KEPT]] for cell in pool[i]
            ],
        }
        for i, rider in enumerate(I_)
    ]
    rows = split(partial(_in_lockstep, _row), tasks, jobs)
    rows = _neighbours(n, m, base, S_, I_, rows, jobs)
    trained = [[[loss for seed, _, loss in cell if seed in trained_seeds] for cell in row] for row in grid]
    points = [
        [
            AtlasPoint(
                float(S_[j]),
                float(I_[i]),
                rows[i][j][0].to_dict(),
                None if family is None else float(family.loss[i, j]),
                rows[i][j][1],
                tuple(trained[i][j]),
            )
            for j in range(len(S_))
        ]
        for i in range(len(I_))
    ]
    return Atlas(n, m, _importance(base, np.nan), S_, I_, points, starts, seed)


def _neighbours(n, m, base, S_, I_, rows, jobs) -> list:
    """Rounds in which every point searches again from its four neighbours' free optima
    that changed in the last round, where one starts lower than the point's own loss
    (by more than :data:`REACHED`, relative), until nothing changes; each such search
    counts among the point's starts (:func:`numeric.free.optimum.with_run`)."""
    model = FreeModel(n, m)
    shape = (len(I_), len(S_))
    changed = np.ones(shape, dtype=bool)
    for _ in range(NEIGHBOUR_ROUNDS):
        where = [
            (i, j, rows[a][b][0].x)
            for i in range(shape[0])
            for j in range(shape[1])
            for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1))
            if 0 <= a < shape[0] and 0 <= b < shape[1] and changed[a, b]
        ]
        if not where:
            break
        F = np.array([point_values(S_[j], _importance(base, I_[i])) for i, j, _ in where])
        start = exact_losses(model, np.array([x for _, _, x in where]), F)
        lower: dict = {}
        for (i, j, x), value in zip(where, start, strict=True):
            if value < rows[i][j][0].loss * (1 - REACHED):
                lower.setdefault((i, j), []).append(x)
        tasks = [{"result": rows[i][j][0], "starts": xs} for (i, j), xs in lower.items()]
        changed = np.zeros(shape, dtype=bool)
        for (i, j), result in zip(lower, split(partial(_in_lockstep, _improved), tasks, jobs), strict=True):
            changed[i, j] = result.loss < rows[i][j][0].loss
            rows[i][j] = (result, rows[i][j][1])
    return rows


def _train_part(n, m, S_, importances, config: TrainConfig, seeds: list) -> list[tuple]:
    """``(seed, point, S, I_b)`` of every model trained with ``seeds`` at every point of the grid."""
    model = FreeModel(n, m)
    result = train("hidden", n, m, S_.tolist(), importances, seeds=seeds, config=config, progress=False)
    w = result.weights
    return [
        (
            int(result.seeds[k]),
            model.join(w["W1"][k], w["W2"][k], w["b"][k]),
            result.sparsities[k],
            result.importances[k][1],
        )
        for k in range(result.instances)
    ]


def _train_grid(n, m, base, S_, I_, config: TrainConfig, seeds: Sequence[int], jobs: int) -> list:
    """Free models trained at every point, all at once (the seeds split among ``jobs``
    workers: an instance depends on its seed only), with their exact losses:
    ``[i][j]`` lists ``(seed, point, loss)`` in the order of ``seeds``."""
    out = [[[] for _ in S_] for _ in I_]
    importances = [list(_importance(base, r)) for r in I_]
    trained = split(partial(_train_part, n, m, S_, importances, config), list(seeds), jobs)
    if not trained:
        return out
    X = np.array([x for _, x, _, _ in trained])
    F = np.array([point_values(S, _importance(base, rider)) for _, _, S, rider in trained])
    for (seed, x, S, rider), value in zip(trained, exact_losses(FreeModel(n, m), X, F), strict=True):
        i, j = int(np.flatnonzero(I_ == rider)[0]), int(np.flatnonzero(S_ == S)[0])
        out[i][j].append((seed, x, float(value)))
    return out
