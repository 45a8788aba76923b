"""The certificate of a free model's best point, without a closed form.

Deriving the closed form of a dense free model takes far longer than its search,
so the certificate uses the float engines only:

- the exact gradient (:func:`numeric.free.search.engine`);
- the Hessian by central differences of that gradient, with the step :data:`STEP`
  stated; it must vanish along the rescaling of every live neuron (row times ``c``,
  column over ``c``), which ``symmetry_residual`` measures, and those directions and
  the dead neurons' entries are taken out before the verdict
  (:func:`numeric.optimize._verdict`);
- whether a dead neuron could be revived: the gradient of the loss in a dead
  neuron's output weights when its input is any half of a feature or one of
  :data:`PROBES` random directions. It is zero at a local minimum; if not, a small
  neuron along that input lowers the loss at second order, and the point is a saddle;
- the distance to the nearest regime boundary, to first order
  (:func:`boundary_distance`); a central difference with a step below it never
  crosses a boundary;
- a Monte Carlo estimate of the loss that shares no code with the exact engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from analytic.arrangement import arrangement

from ..engines.montecarlo import MonteCarloResult, monte_carlo_loss
from ..optimize import ILL_CONDITIONED, _verdict
from .model import FreeModel, point_values
from .search import engine

__all__ = ["PROBES", "STEP", "Certificate", "boundary_distance", "certify"]

#: The central-difference step of the Hessian, in the canonical weights (inputs of size 1).
STEP = 1e-6
#: Random input directions (besides the halves of the features) a dead neuron is tried with.
PROBES = 32
#: Below this relative size a plane's value at a vertex is zero: the plane passes through it.
TIGHT = 1e-9


@dataclass(frozen=True)
class Certificate:
    """What is known of a point from its derivatives and a Monte Carlo check.

    ``verdict`` is ``"minimum"``, ``"saddle"`` or ``"degenerate"`` as for
    :class:`numeric.optimize.Optimum`, from the reduced Hessian's eigenvalues
    ``hessian_eigenvalues``; where the nearest regime boundary is closer than ten
    steps (``on_boundary``) the differences mix two regimes and the derivatives are one-sided;
    ``revival`` is the largest gradient in a dead neuron's outputs, NaN without
    dead neurons (a positive value makes the point a saddle);
    ``boundary_distance`` the first-order distance to the nearest regime boundary
    (0: on one, where the derivatives are one-sided).
    """

    gradient_norm: float
    step: float
    hessian_eigenvalues: np.ndarray
    symmetry_residual: float
    revival: float
    verdict: str
    boundary_distance: float
    monte_carlo: MonteCarloResult | None
    loss: float

    @property
    def on_boundary(self) -> bool:
        return self.boundary_distance < 10 * self.step

    @property
    def zscore(self) -> float | None:
        return None if self.monte_carlo is None else self.monte_carlo.zscore(self.loss)

    def __str__(self) -> str:
        eig = self.hessian_eigenvalues
        spread = f"{eig.min():.3g} to {eig.max():.3g}" if len(eig) else "none"
        ill = self.verdict == "minimum" and len(eig) and eig.min() < ILL_CONDITIONED * eig.max()
        lines = [
            f"|grad| = {self.gradient_norm:.2g}",
            f"Hessian (central differences of the exact gradient, step {self.step:g}): {self.verdict}, "
            + (f"ill-conditioned (smallest over largest below {ILL_CONDITIONED:g}), " if ill else "")
            + f"{len(eig)} eigenvalues from {spread} once the rescalings and dead neurons are taken out; "
            f"rescalings flat to {self.symmetry_residual:.1g} (relative)",
            f"dead neurons: {'none' if np.isnan(self.revival) else f'largest revival gradient {self.revival:.2g}'}",
            f"nearest regime boundary: {self.boundary_distance:.3g} away (first order)"
            + (
                "; closer than ten steps: the differences mix regimes (one-sided derivatives)"
                if self.on_boundary
                else ""
            ),
        ]
        if self.monte_carlo is not None:
            lines.append(f"check: {self.monte_carlo} ({self.monte_carlo.compare(self.loss)})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        mc = self.monte_carlo
        return {
            "gradient_norm": self.gradient_norm,
            "hessian_step": self.step,
            "hessian_eigenvalues": [float(e) for e in self.hessian_eigenvalues],
            "symmetry_residual": self.symmetry_residual,
            "revival_gradient": None if np.isnan(self.revival) else self.revival,
            "verdict": self.verdict,
            "boundary_distance": self.boundary_distance,
            "on_boundary": self.on_boundary,
            "monte_carlo": None if mc is None else mc.to_dict(self.loss),
        }


def _gradients(model: FreeModel, sparsity: float, importance: Sequence[float], X: np.ndarray) -> np.ndarray:
    f = engine(model, sparsity, importance)
    return np.array([f(x)[1] for x in X])


def _planes(model: FreeModel, x: np.ndarray) -> dict:
    """Every signed value whose zero is a regime boundary, by a key that names it
    independently of the point: per pattern of active features ``A``, each live
    neuron's row on ``A`` (its size), and at every vertex of the cells of ``A``'s
    cube (cut by the hidden planes and the coordinate planes where ``|x|`` kinks),
    every hidden plane and every output that does not pass through it."""
    W1, W2, b = model.split(x)
    live = np.flatnonzero(np.abs(W1).max(axis=1) * np.abs(W2).max(axis=0) > 0)
    values = {}
    for size in range(1, model.n + 1):
        for A in combinations(range(model.n), size):
            rows = W1[np.ix_(live, A)]
            norms = np.linalg.norm(rows, axis=1)
            for j, r in zip(live, norms, strict=True):
                values[(A, "row", int(j))] = r
            planes = np.vstack([rows[norms > 0], np.eye(size)])
            points = arrangement(planes, np.zeros(len(planes)), -1.0, 1.0).points
            hidden = points @ rows.T
            z = np.maximum(hidden, 0) @ W2[:, live].T + b
            scale = np.abs(planes).max(axis=1)
            for p, h, out in zip(points, hidden, z, strict=True):
                tight = np.flatnonzero(np.abs(p @ planes.T) <= TIGHT * scale)
                face = np.where(np.abs(np.abs(p) - 1) <= TIGHT, np.sign(p), 0).astype(int)
                key = (A, tuple(tight), tuple(face))
                for j, v in zip(live, h, strict=True):
                    if abs(v) > TIGHT * np.abs(W1[j]).max():
                        values[key + ("hidden", int(j))] = v
                for i, v in enumerate(out):
                    values[key + ("output", i)] = v
    return values


def boundary_distance(model: FreeModel, x: np.ndarray, delta: float = 1e-7) -> float:
    """The smallest ``|q| / |grad q|`` over the values ``q`` whose zero is a regime
    boundary (:func:`_planes`): the distance, to first order in the parameters, to
    the nearest point where a hidden or output plane passes through a vertex of the
    cells, or a neuron's row on some pattern vanishes. The gradients are forward
    differences with step ``delta``; values whose vertex disappears under the step
    are on a boundary already (distance 0)."""
    base = _planes(model, x)
    gradient = {k: np.zeros(len(x)) for k in base}
    for k in range(len(x)):
        y = x.copy()
        y[k] += delta
        moved = _planes(model, y)
        for key, v in base.items():
            if key not in moved:
                return 0.0
            gradient[key][k] = (moved[key] - v) / delta
    distances = [abs(v) / np.linalg.norm(gradient[key]) for key, v in base.items() if np.any(gradient[key])]
    return float(min(distances, default=np.inf))


def _neuron(model: FreeModel, j: int, row: bool) -> np.ndarray:
    """Which parameters are neuron ``j``'s input weights (``row``) or output weights."""
    R, C = np.zeros((model.m, model.n)), np.zeros((model.n, model.m))
    if row:
        R[j] = 1
    else:
        C[:, j] = 1
    return model.join(R, C, np.zeros(model.n)) != 0


def _rescalings(model: FreeModel, x: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Columns: the rescaling direction of each live neuron (its row, minus its column)."""
    W1, W2, _ = model.split(x)
    out = np.zeros((len(x), len(live)))
    for c, j in enumerate(live):
        R, C = np.zeros_like(W1), np.zeros_like(W2)
        R[j], C[:, j] = W1[j], -W2[:, j]
        out[:, c] = model.join(R, C, np.zeros(model.n))
    return out


def certify(
    model: FreeModel,
    sparsity: float,
    importance: Sequence[float],
    x: np.ndarray,
    *,
    samples: int = 1_000_000,
    seed: int = 0,
    step: float = STEP,
) -> Certificate:
    """The certificate of the point ``x`` (canonical: dead neurons zero, live ones with inputs of size 1)."""
    f = engine(model, sparsity, importance)
    loss, gradient = f(x)
    P = len(x)
    eye = np.eye(P)
    G = _gradients(model, sparsity, importance, np.vstack([x + step * eye, x - step * eye]))
    H = (G[:P] - G[P:]).T / (2 * step)
    H = (H + H.T) / 2
    W1, W2, b = model.split(x)
    live = np.flatnonzero(np.abs(W1).max(axis=1) * np.abs(W2).max(axis=0) > 0)
    dead = [j for j in range(model.m) if j not in live]
    V = _rescalings(model, x, live)
    norm = np.linalg.norm(H, 2)
    residual = max((np.linalg.norm(H @ v) / (norm * np.linalg.norm(v)) for v in V.T), default=0.0) if norm else 0.0
    # The dead neurons' entries: a zero neuron's row does nothing while its column is zero.
    mask = np.zeros(model.size, dtype=bool)
    for j in dead:
        mask |= _neuron(model, j, row=True) | _neuron(model, j, row=False)
    keep = np.flatnonzero(~mask)
    eigenvalues, verdict = _verdict(H[np.ix_(keep, keep)], V[keep])
    revival = np.nan
    if dead:
        rng = np.random.default_rng(seed)
        probes = np.vstack([np.eye(model.n), -np.eye(model.n), rng.normal(size=(PROBES, model.n))])
        probes /= np.linalg.norm(probes, axis=1, keepdims=True)
        j = dead[0]
        points = []
        for r in probes:
            A = W1.copy()
            A[j] = r
            points.append(model.join(A, W2, b))
        grads = _gradients(model, sparsity, importance, np.array(points))
        column = _neuron(model, j, row=False)
        revival = float(np.linalg.norm(grads[:, column], axis=1).max())
        if revival > np.sqrt(np.finfo(float).eps) * max(norm, 1.0):
            verdict = "saddle"
    mc = None
    if samples:
        problem = model.problem()
        values = dict(zip(problem.varying, point_values(sparsity, importance), strict=True))
        point = {**values, **dict(zip(model.params, x, strict=True))}
        mc = monte_carlo_loss(problem.fix(point), samples=samples, seed=seed)
    return Certificate(
        float(np.linalg.norm(gradient[keep])),
        step,
        eigenvalues,
        float(residual),
        revival,
        verdict,
        boundary_distance(model, x),
        mc,
        float(loss),
    )
