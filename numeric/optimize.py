"""Optimal circuit parameters: seeded multi-start L-BFGS-B on the exact loss.

Every start runs L-BFGS-B with the exact gradient of the regime it is in
(:class:`numeric.compile.RegimeLoss`); the best point is then certified with
the exact Hessian there. The result object carries what a researcher asks
next: the parameters, the loss, the gradient norm, the Hessian eigenvalues and
a verdict, the active bounds, the regime, and how many starts agreed.

>>> from analytic import Circuit, SparseUniform, sym
>>> w = sym("w")
>>> best = optimize(Circuit([[w]], [[1]]), SparseUniform(0), None, free={w: (-3, 3)}, starts=4)
>>> round(abs(best.params[w]), 6), round(best.loss, 6), best.verdict
(1.0, 0.166667, 'minimum')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from analytic import Circuit, Loss, SuperlossError

from .compile import RegimeLoss

#: Eigenvalues within this fraction of the largest one count as zero (flat).
FLAT = 1e-7
#: Starts whose loss is within this relative distance of the best reached it.
SAME = 1e-7


@dataclass(frozen=True)
class Optimum:
    """The best point found, with its certificate.

    ``verdict`` is ``"minimum"`` (every Hessian eigenvalue positive),
    ``"saddle"`` (one negative) or ``"degenerate"`` (some flat: a symmetry or a
    valley); eigenvalues along active bounds are left out, since there the
    bound, not the curvature, holds the point.
    """

    params: dict
    loss: float
    gradient_norm: float
    hessian_eigenvalues: np.ndarray
    verdict: str
    active_bounds: dict
    on_boundary: bool
    regime: Loss
    starts: int
    hits: int

    def __str__(self) -> str:
        rows = [f"{p.name:>10} = {v:.8g}" + (f"   (at its {self.active_bounds[p]} bound)"
                                                  if p in self.active_bounds else "")
                for p, v in self.params.items()]
        eig = ", ".join(f"{e:.3g}" for e in self.hessian_eigenvalues)
        return "\n".join(rows + [
            f"{'loss':>10} = {self.loss:.10g}",
            f"{'|grad|':>10} = {self.gradient_norm:.2g}",
            f"{'Hessian':>10}: {self.verdict} (eigenvalues {eig})"
            + ("; one-sided: the point is on a regime boundary" if self.on_boundary else ""),
            f"{'starts':>10}: {self.hits} of {self.starts} reached the best value",
        ])


def optimize(circuit: Circuit, law, importance: Sequence | None, free: Mapping,
             fixed: Mapping | None = None, starts: int = 16, seed: int = 0) -> Optimum:
    """Minimise the exact loss over ``free`` (symbol -> (low, high) bounds), the
    other symbols set by ``fixed``, from ``starts`` seeded random starts."""
    bounds = []
    for s, box in free.items():
        try:
            lo, hi = (float(v) for v in box)
        except (TypeError, ValueError):
            raise SuperlossError(f"bounds for {s}: expected (low, high), got {box!r}") from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise SuperlossError(f"bounds for {s}: need finite low < high, got ({lo}, {hi})")
        bounds.append((lo, hi))
    if starts < 1:
        raise SuperlossError(f"starts must be at least 1, got {starts}")
    params = list(free)
    f = RegimeLoss(circuit, law, importance, params, fixed, seed=seed)
    lo, hi = np.array(bounds).T
    rng = np.random.default_rng(seed)
    points = [(lo + hi) / 2] + [lo + (hi - lo) * rng.random(len(params)) for _ in range(starts - 1)]
    # Losses are small numbers (1e-3 and below): SciPy's default tolerances stop far too early.
    options = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 2000}
    results = [minimize(f.value, x0, jac=f.gradient, method="L-BFGS-B", bounds=bounds, options=options)
               for x0 in points]
    best = min(results, key=lambda r: r.fun)
    x = best.x
    scale = abs(best.fun) + 1e-300
    hits = sum(r.fun <= best.fun + SAME * scale for r in results)

    width = hi - lo
    active = {p: side for p, v, a, b, w in zip(params, x, lo, hi, width)
              for side, edge in (("low", a), ("high", b)) if abs(v - edge) <= 1e-8 * w}
    gradient = f.gradient(x)
    inner = [k for k, p in enumerate(params) if p not in active]
    # At an active bound the gradient may point outward: only the inner part must vanish.
    gradient_norm = float(np.linalg.norm(gradient[inner])) if inner else 0.0
    hessian = f.hessian(x)[np.ix_(inner, inner)]
    eigenvalues = np.linalg.eigvalsh(hessian) if inner else np.zeros(0)
    top = np.abs(eigenvalues).max(initial=0.0)
    if np.any(eigenvalues < -FLAT * top):
        verdict = "saddle"
    elif np.all(eigenvalues > FLAT * top):
        verdict = "minimum"
    else:
        verdict = "degenerate"
    return Optimum(dict(zip(params, map(float, x))), float(best.fun), gradient_norm, eigenvalues, verdict,
                   active, bool(f.on_boundary(x)), f.regime_at(x), starts, int(hits))
