"""Where the searches of a free model start: structured circuits, trained models, random points.

Every start is a flat parameter vector of :class:`numeric.free.model.FreeModel`
with a name that says where it came from, so that a result can say which kinds
of start reached the best point:

- ``monosemantic``: ``ReLU(+-x_i)`` writing to ``y_i`` for as many halves as the
  budget holds, the most important features first (both halves of a feature
  together, or one half of every feature first);
- ``motif``: the seed's motif (:func:`analytic.presets.compose` at
  :data:`analytic.presets.CANONICAL`) for every choice of host, rider and
  inhibitor, and the same without inhibition, the least important monosemantic
  halves dropped to fit the budget; from four neurons on, also two mirrored
  instances, which compute every half of the three features;
- ``trained``: free models trained on samples at the point (seeds ``0, 1, ..``);
- ``random``: seeded random points, the rest of the count.

>>> from numeric.free.model import FreeModel
>>> [s.kind for s in structured(FreeModel(3, 5), [1, 0.3, 1])][:3]
['monosemantic', 'monosemantic', 'motif']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import permutations

import numpy as np

from analytic.presets import CANONICAL, compose
from analytic.symbols import sym

from .model import FreeModel

__all__ = ["GIVEN", "MONOSEMANTIC", "MOTIF", "RANDOM", "TRAINED", "Start", "random_points", "structured", "trained"]

#: Training of the ``trained`` starts (Adam on samples, the trainer's own defaults otherwise).
TRAINING = {"steps": 4000, "lr": 1e-2, "schedule": "cosine"}


#: The kinds of start, as a result names them.
MONOSEMANTIC, MOTIF, TRAINED, RANDOM, GIVEN = "monosemantic", "motif", "trained", "random", "given"


@dataclass(frozen=True)
class Start:
    """A start of a search: where it came from (``kind``), the flat parameter vector, and
    whether its early loss may drop it in the screening (``screened``: a point near an
    optimum already, such as a neighbour's in a sweep, is not ranked by its early loss)."""

    kind: str
    x: np.ndarray
    screened: bool = True


def _neurons(model: FreeModel, rows: list, columns: list, b=None) -> np.ndarray:
    """The flat vector of the given neurons, zero neurons after them up to ``m``."""
    W1, W2 = np.zeros((model.m, model.n)), np.zeros((model.n, model.m))
    for j, (row, column) in enumerate(zip(rows[: model.m], columns[: model.m], strict=True)):
        W1[j], W2[:, j] = row, column
    return model.join(W1, W2, np.zeros(model.n) if b is None else b)


def _ranked(importance: Sequence[float]) -> list[int]:
    """Features from the most to the least important (ties: the lower index first)."""
    return sorted(range(len(importance)), key=lambda i: (-float(importance[i]), i))


def _monosemantic(model: FreeModel, halves: list[tuple[int, int]]) -> np.ndarray:
    eye = np.eye(model.n)
    return _neurons(model, [s * eye[i] for i, s in halves], [eye[i] for i, _ in halves])


def _motifs(model: FreeModel, importance: Sequence[float]) -> list[np.ndarray]:
    """The motif for every (host, rider, inhibitor), with and without inhibition, fitted to the
    budget; where four neurons fit, also two mirrored instances (the host's halves carrying the
    rider's opposite halves, the inhibitor's halves inhibiting them), every half of the three."""
    if model.n < 3 or model.m < 2:
        return []
    rank = {f: r for r, f in enumerate(_ranked(importance))}
    out = []
    # The seed's choice first: the least important feature rides on the most important one.
    triples = sorted(permutations(range(model.n), 3), key=lambda t: (importance[t[1]], -importance[t[0]], t))
    instances = [[(-1, 1, 1)], [(-1, 1, 1), (1, -1, -1)]][: 1 + (model.m >= 4)]
    for halves in instances:
        for host, rider, inhibitor in triples:
            circuit = compose(model.n, [(host, rider, inhibitor, *h) for h in halves])
            for values in ({**CANONICAL}, {**CANONICAL, sym("kappa"): 0, sym("delta"): 0, sym("gamma"): 0}):
                named = {s.name: v for s, v in values.items()}
                # Two instances suffix their symbols (kappa1, kappa2): each takes the value of its name.
                numeric = circuit.subs(
                    {s: named.get(s.name, named.get(s.name.rstrip("0123456789"), 0)) for s in circuit.symbols}
                )
                W1 = np.array(numeric.W1, dtype=float)
                W2 = np.array(numeric.W2, dtype=float)
                # The motif's neurons first, then the monosemantic halves of the most important features.
                motif = 2 * len(halves)
                mono = sorted(range(motif, len(W1)), key=lambda j: rank[int(np.flatnonzero(W1[j])[0])])
                keep = [*range(motif), *mono][: model.m]
                out.append(_neurons(model, list(W1[keep]), list(W2[:, keep].T)))
    return out


def structured(model: FreeModel, importance: Sequence[float]) -> list[Start]:
    """The monosemantic and motif starts of ``model`` at these importances."""
    ranked = _ranked(importance)
    both = [(i, s) for i in ranked for s in (1, -1)]
    one_each = [(i, 1) for i in ranked] + [(i, -1) for i in ranked]
    starts = [Start(MONOSEMANTIC, _monosemantic(model, halves)) for halves in (both, one_each)]
    if model.m >= 2 * model.n:
        starts = starts[:1]  # both orders hold every half
    return starts + [Start(MOTIF, x) for x in _motifs(model, importance)]


def random_points(model: FreeModel, count: int, rng: np.random.Generator) -> list[Start]:
    """``count`` random points: input and output weights standard normal, biases
    normal with deviation 0.1 (the loss's scale is set by |x| <= 1)."""
    return [
        Start(
            RANDOM,
            model.join(
                rng.normal(size=(model.m, model.n)), rng.normal(size=(model.n, model.m)), 0.1 * rng.normal(size=model.n)
            ),
        )
        for _ in range(count)
    ]


def trained(model: FreeModel, sparsity: float, importance: Sequence[float], seeds: Sequence[int]) -> list[Start]:
    """Free models trained on samples at the point, one per seed (:func:`numeric.train.train`)."""
    if not len(seeds):
        return []
    from ..train import TrainConfig, train

    result = train(
        "hidden",
        model.n,
        model.m,
        [float(sparsity)],
        [list(map(float, importance))],
        seeds=list(seeds),
        config=TrainConfig(**TRAINING),
        progress=False,
    )
    w = result.weights
    return [Start(TRAINED, model.join(w["W1"][k], w["W2"][k], w["b"][k])) for k in range(result.instances)]
