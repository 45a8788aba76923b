"""Optimal circuit parameters: multi-start L-BFGS-B on the exact loss, with a certificate.

Every start runs L-BFGS-B with the exact loss and gradient at each point from
the pointwise engine (:class:`numeric.engines.pointwise.PointwiseLoss`): it costs the
same in every regime, while deriving a regime's closed form costs seconds and a
search crosses dozens. Differential evolution, which uses loss values only, searches the
same box independently; its best point is polished the same way and competes
with the starts. The best point is then polished and certified with the closed
form of its regime (:class:`numeric.engines.regimes.RegimeLoss`): the exact Hessian
there, the circuit's rescaling symmetries
(:func:`analytic.symmetry.rescalings`) as flat directions, the active bounds,
the regime, and a Monte Carlo estimate of the loss that shares no code with the
closed forms.

>>> from analytic import Circuit, Problem, SparseUniform, sym
>>> w = sym("w")
>>> best = optimize(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-3, 3)}), starts=4, samples=0)
>>> round(abs(best.params[w]), 6), round(best.loss, 6), best.verdict
(1.0, 0.166667, 'minimum')
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from joblib import Parallel, delayed
from scipy.optimize import differential_evolution, minimize

from analytic import Loss, NumericalError, Problem, SuperlossError
from analytic.arrangement import clear_cache
from analytic.latex import optimum_summary
from analytic.symmetry import rescalings

from .canonical import gauge
from .engines.montecarlo import MonteCarloResult, monte_carlo_loss
from .engines.pointwise import PointwiseLoss
from .engines.regimes import RegimeLoss
from .rounding import shown, tolerance

#: Eigenvalues within this fraction of the largest one count as zero (flat).
FLAT = 1e-7
#: A minimum whose smallest reduced-Hessian eigenvalue is below this fraction of its largest is
#: ill-conditioned: the loss barely rises along that direction, so the point is poorly determined.
ILL_CONDITIONED = 1e-6
#: Starts whose loss is within this relative distance of the best reached it.
SAME = 1e-7
#: A parameter within this fraction of its box's width of a bound is on it.
ON_BOUND = 1e-8
#: Differential evolution's population (times the number of parameters) and generations.
GLOBAL_POPSIZE = 5
GLOBAL_MAXITER = 40
#: SciPy's default tolerances stop far too early on losses of 1e-3 and below.
LOCAL_OPTIONS = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 3000}


@dataclass(frozen=True)
class Optimum:
    """The best point found, with its certificate.

    ``verdict`` is ``"minimum"`` when the Hessian is positive definite once the
    symmetry directions (``symmetries``, exactly flat) and the active bounds are
    taken out, ``"saddle"`` when it has a negative eigenvalue there, and
    ``"degenerate"`` when it has a flat direction no symmetry explains.
    ``hessian_eigenvalues`` are those of that reduced Hessian. On a regime
    boundary (``on_boundary``) the derivatives are one-sided.
    ``global_loss`` is the best loss the independent global search reached
    (``None`` without one). ``problem`` is the problem that was optimized.
    """

    params: dict
    loss: float
    gradient_norm: float
    hessian_eigenvalues: np.ndarray
    verdict: str
    symmetries: tuple
    active_bounds: dict
    on_boundary: bool
    regime: Loss
    starts: int
    hits: int
    global_loss: float | None
    monte_carlo: MonteCarloResult | None
    problem: Problem

    @property
    def fixed(self) -> dict:
        """The values of the symbols that were not optimized."""
        return self.problem.fixed

    @property
    def bounds(self) -> dict:
        """The box each parameter was searched in."""
        return self.problem.bounds

    @property
    def shown_loss(self) -> float:
        """``loss`` as it is printed and written: 0 where it is zero to rounding (:mod:`numeric.rounding`)."""
        return shown(self.loss, tolerance(self.problem))

    @property
    def conditioning(self) -> float | None:
        """The smallest over the largest eigenvalue of the reduced Hessian at a minimum (else ``None``)."""
        e = self.hessian_eigenvalues
        return float(e.min() / e.max()) if self.verdict == "minimum" and len(e) else None

    @property
    def hessian_words(self) -> str:
        """The verdict, a minimum's eigenvalue range, and whether it is ill-conditioned (:data:`ILL_CONDITIONED`)."""
        e = self.hessian_eigenvalues
        if self.conditioning is None:
            return f"{self.verdict} (eigenvalues {', '.join(f'{v:.3g}' for v in e) or 'none'})"
        words = f"{self.verdict}, eigenvalues from {e.min():.3g} to {e.max():.3g}"
        if self.conditioning < ILL_CONDITIONED:
            words += f", ill-conditioned (ratio {self.conditioning:.2g} < {ILL_CONDITIONED:g})"
        return words

    @property
    def zscore(self) -> float | None:
        """The Monte Carlo estimate's distance from ``loss`` in standard errors
        (``None`` without a check, or where every sample gave the same loss)."""
        return None if self.monte_carlo is None else self.monte_carlo.zscore(self.loss)

    @functools.cached_property
    def canonical(self) -> dict:
        """The optimum as it is reported: ``params`` moved along the circuit's rescaling symmetries
        to the point where each neuron they move has largest input weight 1
        (:func:`numeric.canonical.gauge`, the free models' convention). The loss is the same.
        The searched point itself where that point leaves the box or moves a weight held by a
        bound: there the box, not the symmetry, decides."""
        moved = gauge(self.problem.circuit, {**self.problem.numbers, **self.params}, list(self.params))
        changed = {p for p, v in moved.items() if v != self.params[p]}
        inside = all(lo <= moved[p] <= hi for p, (lo, hi) in self.bounds.items() if p in moved)
        return moved if inside and not changed & set(self.active_bounds) else dict(self.params)

    def __str__(self) -> str:
        moved = {p for p, v in self.canonical.items() if v != self.params[p]}
        rows = [
            f"{p.name:>10} = {v:<14.8g}"
            + (f" (searched at {self.params[p]:.8g})" if p in moved else "")
            + (f" (at its {self.active_bounds[p]} bound)" if p in self.active_bounds else "")
            for p, v in self.canonical.items()
        ]
        if moved:
            rows.append(
                f"{'':>10}   (each neuron a rescaling moves has its largest input weight 1: same loss; "
                "the gradient and Hessian below are at the point searched)"
            )
        lines = rows + [
            f"{'loss':>10} = {self.shown_loss:.10g}",
            f"{'|grad|':>10} = {self.gradient_norm:.2g}" + (" (free directions only)" if self.active_bounds else ""),
            f"{'Hessian':>10}: {self.hessian_words}"
            + ("; one-sided: the point is on a regime boundary" if self.on_boundary else ""),
        ]
        for v in self.symmetries:
            lines.append(
                f"{'flat':>10}: " + ", ".join(f"{p.name} {c:+.4g}" for p, c in v.items()) + " (rescaling symmetry)"
            )
        lines += [
            f"{'starts':>10}: {self._search_words}",
            f"{'regime':>10}: {len(self.regime.conditions)} conditions",
        ]
        if self.monte_carlo is not None:
            lines.append(f"{'check':>10}: {self.monte_carlo} ({self.monte_carlo.compare(self.shown_loss)})")
        return "\n".join(lines)

    @property
    def _search_words(self) -> str:
        search = "no global search" if self.global_loss is None else f"global search reached {self.global_loss:.10g}"
        return f"{self.hits} of {self.starts} starts reached the best value; {search}"

    def _repr_latex_(self) -> str:
        notes = [
            f"Hessian: {self.hessian_words}" + ("; one-sided, on a regime boundary" if self.on_boundary else ""),
            self._search_words,
        ]
        if self.monte_carlo is not None:
            notes.append(f"Monte Carlo: {self.monte_carlo} ({self.monte_carlo.compare(self.shown_loss)})")
        return optimum_summary(self.canonical, self.shown_loss, notes)

    def to_dict(self) -> dict:
        """Everything as JSON-ready data, parameters by name."""
        mc = self.monte_carlo
        return {
            "params": {p.name: v for p, v in self.canonical.items()},
            "searched": {p.name: v for p, v in self.params.items()},
            "circuit": _circuit_numbers(self.problem.free_circuit.subs(self.canonical)),
            "fixed": {s.name: str(v) for s, v in self.fixed.items()},
            "bounds": {p.name: [float(v) for v in b] for p, b in self.bounds.items()},
            "loss": self.shown_loss,
            "certificate": {
                "gradient_norm": self.gradient_norm,
                "hessian_eigenvalues": [float(e) for e in self.hessian_eigenvalues],
                "verdict": self.verdict,
                "conditioning": self.conditioning,
                "ill_conditioned": self.conditioning is not None and self.conditioning < ILL_CONDITIONED,
                "flat_directions": [{p.name: c for p, c in v.items()} for v in self.symmetries],
                "active_bounds": {p.name: side for p, side in self.active_bounds.items()},
                "on_regime_boundary": self.on_boundary,
                "regime_conditions": [str(c) for c in self.regime.conditions],
                "starts": self.starts,
                "hits": self.hits,
                "global_search_loss": self.global_loss,
                "monte_carlo": None if mc is None else mc.to_dict(self.shown_loss),
            },
        }


class _Objective:
    """Value and gradient for SciPy. At a corner where the regime's formula is
    singular (see :class:`numeric.engines.regimes.SingularPoint`), or where so many
    regime boundaries meet that no regime is found next to the point, the
    derivatives (and there the value) are taken a hair's breadth towards the
    middle of the box: there the loss is smooth and, being continuous, almost the same."""

    def __init__(self, f: RegimeLoss, lo: np.ndarray, hi: np.ndarray) -> None:
        self.f, self.middle = f, (lo + hi) / 2

    def inside(self, x: np.ndarray) -> np.ndarray:
        for step in (1e-10, 1e-8, 1e-6):
            y = x + step * (self.middle - x)
            try:
                self.f.gradient(y)
                return y
            except NumericalError:
                continue
        raise NumericalError(
            "the loss formula is singular all around "
            + ", ".join(f"{p.name} = {v:.6g}" for p, v in zip(self.f.params, x, strict=True))
        )

    def __call__(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        try:
            return self.f.value(x), self.f.gradient(x)
        except NumericalError:
            y = self.inside(x)
            try:
                value = self.f.value(x)
            except NumericalError:
                value = self.f.value(y)
            return value, self.f.gradient(y)


def local_search(objective, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray, options: Mapping = LOCAL_OPTIONS):
    """L-BFGS-B from ``x0`` in coordinates scaled to the unit box: with kappa in
    [0, 1000] beside delta in [0, 1], unscaled steps are badly proportioned.
    ``options`` are SciPy's (``maxfun`` caps the evaluations)."""
    width = hi - lo

    def scaled(u: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = objective(lo + u * width)
        return value, gradient * width

    result = minimize(
        scaled,
        (np.asarray(x0) - lo) / width,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, 1.0)] * len(lo),
        options=dict(options),
    )
    result.x = np.clip(lo + result.x * width, lo, hi)
    return result


def _start(problem: Problem, x0: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """One L-BFGS-B run on the pointwise engine (built here, so that it can run in a worker process)."""
    # Search points are never revisited across runs: cached cells would only
    # take memory (and make a repeated run look faster than a new one).
    clear_cache()
    return local_search(PointwiseLoss(problem).value_and_gradient, x0, lo, hi)


def random_starts(lo: np.ndarray, hi: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` points of the box, alternately uniform and log-uniform in
    magnitude (over three decades below the largest bound where the box spans
    or touches zero, with a random sign where it spans it; between the bounds'
    magnitudes where it does not): a weight in [0, 1000] is tried at every
    scale, not only near 500, where large weights leave ReLUs dead."""
    top = np.maximum(np.abs(lo), np.abs(hi))
    spans = (lo <= 0) & (hi >= 0)
    bottom = np.where(spans, top * 1e-3, np.minimum(np.abs(lo), np.abs(hi)))
    points = []
    for k in range(count):
        if k % 2 == 0:
            points.append(lo + (hi - lo) * rng.random(len(lo)))
            continue
        magnitude = bottom * (top / bottom) ** rng.random(len(lo))
        negative = np.where(spans, rng.random(len(lo)) * (hi - lo) < -lo, hi <= 0)
        points.append(np.clip(np.where(negative, -magnitude, magnitude), lo, hi))
    return points


def _circuit_numbers(circuit) -> dict:
    """A numeric circuit as JSON-ready data (what ``superloss plot weights`` draws from)."""
    return {
        **{k: a.tolist() for k, a in zip(("W1", "W2", "b1", "b2"), circuit.arrays("the optimum's JSON"), strict=True)},
        "features": list(circuit.features),
        "hidden": circuit.hidden,
        "output": circuit.output,
        "target": circuit.target,
    }


def _verdict(hessian: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, str]:
    """Eigenvalues of ``hessian`` on the complement of the columns of ``flat``, and the verdict."""
    if flat.shape[1]:
        # An orthonormal basis of the complement of the symmetry directions.
        q, _ = np.linalg.qr(np.hstack([flat, np.eye(len(hessian))]))
        hessian = q[:, flat.shape[1] :].T @ hessian @ q[:, flat.shape[1] :]
    eigenvalues = np.linalg.eigvalsh(hessian) if len(hessian) else np.zeros(0)
    top = np.abs(eigenvalues).max(initial=0.0)
    if np.any(eigenvalues < -FLAT * top):
        return eigenvalues, "saddle"
    if np.all(eigenvalues > FLAT * top):
        return eigenvalues, "minimum"
    return eigenvalues, "degenerate"


def optimize(
    problem: Problem,
    starts: int = 16,
    seed: int = 0,
    *,
    global_search: bool = False,
    samples: int = 1_000_000,
    x0: Mapping | Sequence[Mapping] | None = None,
    jobs: int = 1,
) -> Optimum:
    """Minimise the exact loss of ``problem`` over its free weights, each in its box
    (``Problem(..., free={w: (low, high)}, fixed=...)``): ``starts`` seeded L-BFGS-B
    runs (the first from ``x0``, a point or a list of points, if given, else from
    the middle of the box; the rest from :func:`random_starts`), plus differential
    evolution if ``global_search`` (an independent cross-check, slow on large
    problems). ``samples`` Monte Carlo samples check the loss at the optimum (0: no
    check). The starts run in ``jobs`` processes (joblib; -1: one per core); the
    result does not depend on it."""
    problem.require("optimize", weights_only=True, bounded=True)
    if starts < 1:
        raise SuperlossError(f"starts must be at least 1, got {starts}")
    if samples == 1 or samples < 0:
        raise SuperlossError(f"samples must be 0 (no check) or at least 2, got {samples}")
    params = list(problem.params)
    search = PointwiseLoss(problem)
    lo, hi = np.array([[float(a), float(b)] for a, b in problem.bounds.values()]).T
    rng = np.random.default_rng(seed)
    given = [] if x0 is None else [x0] if isinstance(x0, Mapping) else list(x0)
    first = [np.clip([float(point[p]) for p in params], lo, hi) for point in given] or [(lo + hi) / 2]
    points = first + random_starts(lo, hi, starts - len(first), rng)
    starts = len(points)
    results = Parallel(n_jobs=jobs)(delayed(_start)(problem, x, lo, hi) for x in points)
    global_loss = None
    if global_search:
        found = differential_evolution(
            search.value,
            list(zip(lo, hi, strict=True)),
            seed=rng,
            tol=1e-8,
            polish=False,
            init="sobol",
            popsize=GLOBAL_POPSIZE,
            maxiter=GLOBAL_MAXITER,
        )
        polished = local_search(search.value_and_gradient, found.x, lo, hi)
        global_loss = float(min(found.fun, polished.fun))
        results.append(polished)
    best = min(results, key=lambda r: r.fun)
    f = RegimeLoss(problem, seed=seed)
    # The certificate comes from the closed form of the regime the best point lies in;
    # a last polish with it takes the gradient down to rounding.
    objective = _Objective(f, lo, hi)
    polished = local_search(objective, best.x, lo, hi)
    x = polished.x if polished.fun <= best.fun else best.x
    try:
        loss = f.value(x)
    except NumericalError:
        loss = search.value(x)
    reference = min(loss, best.fun)
    # The absolute floor is for an exact fit, whose loss is zero up to rounding.
    hits = sum(r.fun <= reference + SAME * abs(reference) + 1e-15 for r in results[:starts])

    width = hi - lo
    active = {
        p: side
        for p, v, a, b, w in zip(params, x, lo, hi, width, strict=True)
        for side, edge in (("low", a), ("high", b))
        if abs(v - edge) <= ON_BOUND * w
    }
    try:
        gradient, hessian, on_boundary, regime = f.gradient(x), f.hessian(x), f.on_boundary(x), f.regime_at(x)
    except NumericalError:
        y = objective.inside(x)
        gradient, hessian, on_boundary, regime = f.gradient(y), f.hessian(y), True, f.regime_at(y)
    inner = [k for k, p in enumerate(params) if p not in active]
    # At an active bound the gradient may point outward: only the inner part must vanish.
    gradient_norm = float(np.linalg.norm(gradient[inner])) if inner else 0.0

    point = dict(zip(params, map(float, x), strict=True))
    values = {**problem.fixed, **point}
    symmetries = []
    for field_ in rescalings(f.circuit, f.weights) if f.weights else ():
        vector = np.array([float(sp.sympify(field_.get(p, 0)).subs(values)) for p in params])
        # A symmetry moving a parameter that sits on a bound leaves the box (or does nothing).
        if np.any(vector[[k for k in range(len(params)) if k not in inner]]) or not np.any(vector):
            continue
        symmetries.append({p: c for p, c in zip(params, vector, strict=True) if c})
    flat = np.array([[v.get(params[k], 0.0) for v in symmetries] for k in inner]).reshape(len(inner), len(symmetries))
    eigenvalues, verdict = _verdict(hessian[np.ix_(inner, inner)], flat)

    mc = None
    if samples:
        mc = monte_carlo_loss(problem.fix(point), samples=samples, seed=seed)
    return Optimum(
        point,
        float(loss),
        gradient_norm,
        eigenvalues,
        verdict,
        tuple(symmetries),
        active,
        bool(on_boundary),
        regime,
        starts,
        int(hits),
        global_loss,
        mc,
        problem,
    )
