"""The paper's n = 2, m = 1 reconstruction phase diagram, from the exact loss.

The model is ``x' = ReLU(W^T W x + b)`` with ``W = [[w_1, w_2]]`` (one neuron,
two features), features 0 with probability ``S`` and otherwise uniform on
``[0, 1]``, target ``x``, importance ``(1, r)``: ``r`` is the relative importance
of the extra feature. Over a grid of the density ``1 - S`` and ``r`` (both
log-spaced), the exact loss (:class:`numeric.engines.pointwise.PointwiseLoss`) is
minimised over ``(w_1, w_2, b_1, b_2)`` in :data:`BOX` and the optimum is
classified by :func:`classify` into the paper's phases: the extra feature
*not represented* (``w_2 = 0``), given a *dedicated dimension* (``w_1 = 0``), or
stored in *superposition* with feature 1 (antipodal: ``w_1 w_2 < 0``).

Each row of constant ``r`` is swept from the dense end to the sparse end. Every
point starts L-BFGS-B from the previous point's optimum (the warm start), from
one typical point of each structure (:data:`TEMPLATES`) and from
:data:`RANDOM_STARTS` seeded random points of the box; a second sweep back from
the sparse end, warm starts only, lets a structure found late reach the points
before it. Each point keeps the best. Rows run in parallel through joblib; the
random starts are seeded per row, so the result does not depend on ``jobs``.

>>> classify({"w_1": 1.0, "w_2": -0.98, "b_1": 0.0, "b_2": 0.0})
'superposition'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from joblib import Parallel, delayed

from analytic import Circuit, Problem, SparseUniform, SuperlossError, sym, syms
from analytic.presets import relu_output

from .engines.pointwise import PointwiseLoss
from .optimize import local_search, random_starts

__all__ = [
    "BOX",
    "STRUCTURES",
    "ReconstructionPhases",
    "classify",
    "importance",
    "law",
    "phase_diagram",
    "reconstruction_circuit",
]

W_1, W_2, B_1, B_2 = syms("w_1 w_2 b_1 b_2")
#: The sparsity and the extra feature's relative importance.
S, R = sym("S"), sym("r")

#: The search box: weights of order 1 and biases of order the features' mean are well inside it.
BOX: dict[sp.Symbol, tuple[float, float]] = {W_1: (-3.0, 3.0), W_2: (-3.0, 3.0), B_1: (-2.0, 2.0), B_2: (-2.0, 2.0)}

#: The default grid: density 1 - S from 1 (dense) to 0.01, r from 0.1 to 10 (both log-spaced).
DENSITY_RANGE = (1.0, 0.01)
IMPORTANCE_RANGE = (0.1, 10.0)

#: The structures an optimum can take, each with its Okabe-Ito colour name
#: (:data:`numeric.plots.OKABE_ITO`) and what it means. The paper's three phases
#: come first; the last two are the other sign patterns, which its diagram does not show.
#: At density 1 (S = 0) alone, "same sign" and "superposition" are one structure: each
#: output's error is then unchanged by reflecting the other feature, x -> 1 - x, so
#: (w_2, b_1, b_2) -> (-w_2, b_1 + w_1 w_2, b_2 + w_1 w_2) keeps the loss.
STRUCTURES: dict[str, dict[str, str]] = {
    "not represented": {"colour": "orange", "meaning": "w_2 = 0: the neuron stores feature 1 only"},
    "dedicated dimension": {"colour": "bluish green", "meaning": "w_1 = 0: the neuron stores feature 2 only"},
    "superposition": {"colour": "blue", "meaning": "w_1 w_2 < 0: both features, antipodal"},
    "same sign": {"colour": "reddish purple", "meaning": "w_1 w_2 > 0: both features on one side"},
    "empty": {"colour": "black", "meaning": "w_1 = w_2 = 0: the neuron stores nothing"},
}

#: A weight below this fraction of the larger |w| counts as zero. Where a weight
#: is exactly zero at the optimum, L-BFGS-B leaves it at 1e-6 or below.
ZERO = 1e-3
#: Both weights count as zero when the larger |w| is below this (absolute):
#: the neuron's contribution, of order w^2, is then below 1e-6.
EMPTY = 1e-3

#: One typical point (w_1, w_2, b_1, b_2) of each structure; every grid point starts
#: from each, so that a structure's basin is never missed for want of a start there.
TEMPLATES: dict[str, tuple[float, float, float, float]] = {
    "not represented": (1.0, 0.0, 0.0, 0.25),
    "dedicated dimension": (0.0, 1.0, 0.25, 0.0),
    "superposition": (1.0, -1.0, 0.0, 0.0),
    "same sign": (1.0, 1.0, 0.0, 0.0),
}
#: Seeded random starts (numeric.optimize.random_starts) at every point of the first sweep.
RANDOM_STARTS = 2


def reconstruction_circuit() -> tuple[Circuit, list[sp.Symbol]]:
    """The n = 2, m = 1 model ``ReLU(W^T W x + b)`` and its parameters ``[w_1, w_2, b_1, b_2]``.

    >>> circuit, params = reconstruction_circuit()
    >>> circuit.n, circuit.m, [p.name for p in params]
    (2, 1, ['w_1', 'w_2', 'b_1', 'b_2'])
    """
    return relu_output([[W_1, W_2]], [B_1, B_2]), [W_1, W_2, B_1, B_2]


def law() -> SparseUniform:
    """The features' law: 0 with probability ``S``, else uniform on ``[0, 1]``."""
    return SparseUniform(S, low=0, high=1)


def importance() -> list:
    """The importances ``(1, r)``."""
    return [1, R]


def classify(params: Mapping) -> str:
    """The structure (a key of :data:`STRUCTURES`) of the point ``params`` (by
    symbol or name; only ``w_1`` and ``w_2`` matter). It depends on ``|w_1|``,
    ``|w_2|`` and the sign of ``w_1 w_2`` only, so ``W -> -W`` (which leaves
    ``W^T W``, hence the model, unchanged) keeps it.

    >>> classify({"w_1": 0.0, "w_2": -1.0}), classify({"w_1": -1.0, "w_2": -1e-5})
    ('dedicated dimension', 'not represented')
    """
    by_name = {(k.name if isinstance(k, sp.Symbol) else str(k)): v for k, v in params.items()}
    try:
        w1, w2 = float(by_name["w_1"]), float(by_name["w_2"])
    except KeyError:
        raise SuperlossError(f"classify needs w_1 and w_2; got {', '.join(by_name) or 'nothing'}") from None
    top = max(abs(w1), abs(w2))
    if top < EMPTY:
        return "empty"
    if abs(w2) < ZERO * top:
        return "not represented"
    if abs(w1) < ZERO * top:
        return "dedicated dimension"
    return "superposition" if w1 * w2 < 0 else "same sign"


@dataclass(frozen=True)
class ReconstructionPhases:
    """The optimum at ``densities[j]`` (``1 - S``) and ``importances[i]`` (``r``):
    its ``structure[i, j]``, exact ``loss[i, j]`` and parameters ``params[i][j]`` (by name)."""

    densities: np.ndarray
    importances: np.ndarray
    structure: np.ndarray
    loss: np.ndarray
    params: list

    @property
    def sparsities(self) -> np.ndarray:
        return 1 - self.densities

    @property
    def on_box_edge(self) -> np.ndarray:
        """Where the optimum touches :data:`BOX` (then the box, not the loss, stopped it)."""
        edge = [
            [
                any(
                    np.isclose(point[p.name], lo, rtol=0, atol=1e-9 * (hi - lo))
                    or np.isclose(point[p.name], hi, rtol=0, atol=1e-9 * (hi - lo))
                    for p, (lo, hi) in BOX.items()
                )
                for point in row
            ]
            for row in self.params
        ]
        return np.array(edge, dtype=bool)

    def to_dict(self) -> dict:
        return {
            "density": self.densities.tolist(),
            "S": self.sparsities.tolist(),
            "r": self.importances.tolist(),
            "structure": self.structure.tolist(),
            "loss": self.loss.tolist(),
            "params": self.params,
        }

    def table(self) -> str:
        """The structures as a text table: one row per ``r`` (largest first), one
        letter per density (N not represented, D dedicated dimension,
        S superposition, A same sign, E empty)."""
        letter = {
            "not represented": "N",
            "dedicated dimension": "D",
            "superposition": "S",
            "same sign": "A",
            "empty": "E",
        }
        head = "1-S:    " + " ".join(f"{p:.2g}".rjust(4) for p in self.densities)
        rows = [
            f"r={r:<6.3g}" + " ".join(letter[s].rjust(4) for s in self.structure[i])
            for i, r in reversed(list(enumerate(self.importances)))
        ]
        return "\n".join([head, *rows])


def _row(r: float, densities: np.ndarray, seed: int, row: int) -> tuple[list, list, list]:
    """Best loss, point and structure at every density for one importance ``r``."""
    circuit, params = reconstruction_circuit()
    lo, hi = np.array([BOX[p] for p in params]).T
    losses = [
        PointwiseLoss(Problem(circuit, law(), importance(), free=params, fixed={S: 1.0 - float(p), R: r}))
        for p in densities
    ]
    rng = np.random.default_rng([seed, row])
    templates = [np.array(t) for t in TEMPLATES.values()]
    best: list = [(np.inf, None)] * len(densities)
    order = np.argsort(densities)[::-1]
    x = None
    # Dense to sparse with every start, then back with warm starts only.
    for sweep, fresh in ((order, True), (order[::-1], False)):
        for k in sweep:
            starts = ([] if x is None else [x]) + (
                templates + random_starts(lo, hi, RANDOM_STARTS, rng) if fresh else []
            )
            run = min((local_search(losses[k].value_and_gradient, s, lo, hi) for s in starts), key=lambda q: q.fun)
            if run.fun < best[k][0]:
                best[k] = (float(run.fun), run.x)
            # The next point starts from this one's best, whichever sweep found it.
            x = best[k][1]
    points = [{p.name: float(v) for p, v in zip(params, b[1], strict=True)} for b in best]
    return [classify(pt) for pt in points], [b[0] for b in best], points


def phase_diagram(
    densities: Sequence[float] | None = None,
    importances: Sequence[float] | None = None,
    points: int = 20,
    seed: int = 0,
    jobs: int = -1,
) -> ReconstructionPhases:
    """The optimum's structure over ``densities`` (``1 - S``, in ``(0, 1]``) x
    ``importances`` (``r > 0``); by default ``points`` of each, log-spaced over
    :data:`DENSITY_RANGE` and :data:`IMPORTANCE_RANGE`. One joblib task per row
    of constant ``r`` (``jobs``: processes, -1 one per core). The 20 x 20 default
    takes 75 to 130 s on 2 cores (8 L-BFGS-B runs per point).
    """
    p_ = np.asarray(np.geomspace(*DENSITY_RANGE, points) if densities is None else densities, dtype=float)
    r_ = np.asarray(np.geomspace(*IMPORTANCE_RANGE, points) if importances is None else importances, dtype=float)
    if p_.ndim != 1 or not p_.size or not np.all((p_ > 0) & (p_ <= 1)):
        raise SuperlossError(f"densities 1 - S must be a non-empty list of numbers in (0, 1], got {p_.tolist()}")
    if r_.ndim != 1 or not r_.size or not np.all((r_ > 0) & np.isfinite(r_)):
        raise SuperlossError(f"importances r must be a non-empty list of positive numbers, got {r_.tolist()}")
    rows = Parallel(n_jobs=jobs)(delayed(_row)(float(r), p_, seed, i) for i, r in enumerate(r_))
    structure, loss, params = zip(*rows, strict=True)
    return ReconstructionPhases(p_, r_, np.array(structure), np.array(loss), list(params))
