"""Which regime conditions are boundaries: points just across them.

A regime's conditions hold exactly on it, but many are implied by others. A
condition is a *facet* of the regime when some point violates it while every
other condition holds; :func:`cross` looks for such a point (SLSQP from the
regime's own point) and checks it exactly, in rationals. Not finding one is
evidence, not proof, that the condition is implied.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp
from scipy.optimize import minimize

from analytic import Loss
from analytic.regime import Regime


def _exact_point(values: np.ndarray, symbols) -> dict:
    return {s: sp.Rational(Fraction(float(v)).limit_denominator(10**6)) for s, v in zip(symbols, values, strict=True)}


def cross(regime: Regime, factor: tuple, point: dict, spread: float = 3.0):
    """``(point, alone)``: a rational point where ``factor`` (a ``(polynomial,
    sign)`` of ``regime``) has flipped sign; if ``alone``, every other factor keeps
    its sign there. When no such point is found (the condition looks implied by
    the others) the point is along the steepest descent of the factor, just past
    its zero; ``(None, False)`` if the search finds no point across it at all.

    Minimises ``sign * factor`` subject to the other conditions (SLSQP, from the
    regime's own point, within ``spread`` times each weight's size).
    """
    symbols = sorted(point, key=lambda s: s.name)
    theta0 = np.array([float(point[s]) for s in symbols])
    f, sign = factor
    others = [(g, s) for g, s in regime.factors if (g, s) != factor]
    target = sp.lambdify([symbols], sign * f, "numpy")
    target_grad = sp.lambdify([symbols], [sign * sp.diff(f, s) for s in symbols], "numpy")
    constraints = [
        {
            "type": "ineq",
            "fun": sp.lambdify([symbols], s * g - 1e-4, "numpy"),
            "jac": sp.lambdify([symbols], [s * sp.diff(g, x) for x in symbols], "numpy"),
        }
        for g, s in others
    ]
    scale = np.abs(theta0) + 0.1
    bounds = list(zip(theta0 - spread * scale, theta0 + spread * scale, strict=True))
    # Stop as soon as the factor is slightly negative: a point just across.
    objective = lambda th: max(target(th), -1e-3)  # noqa: E731
    result = minimize(
        objective,
        theta0,
        jac=lambda th: np.array(target_grad(th), dtype=float),
        method="SLSQP",
        bounds=bounds,
        constraints=constraints,
        options={"maxiter": 500, "ftol": 1e-12},
    )
    candidate = _exact_point(result.x, symbols)
    if (sign * f).subs(candidate) < 0 and all(s * g.subs(candidate) > 0 for g, s in others):
        return candidate, True
    # Implied by the others: cross it together with them, along the steepest
    # descent of the factor or, if that never reaches its zero, a random direction.
    rng = np.random.default_rng(0)
    directions = [-np.array(target_grad(theta0), dtype=float)] + [rng.normal(size=len(symbols)) for _ in range(50)]
    for direction in directions:
        direction = direction * scale / (np.linalg.norm(direction) + 1e-300)
        for t in np.geomspace(1e-3, 20, 200):
            if target(theta0 + t * direction) < 0:
                candidate = _exact_point(theta0 + t * direction, symbols)
                if (sign * f).subs(candidate) < 0:
                    return candidate, False
    return None, False


def facets(loss: Loss, spread: float = 3.0) -> tuple[list[tuple[sp.Expr, dict]], list]:
    """``(facets, implied)``: the conditions crossed alone, each with a rational
    point across it, and those no point was found to violate alone."""
    found, implied = [], []
    point = {s: v for s, v in loss.witness.items()}
    for factor in sorted(loss.regime.factors, key=sp.default_sort_key):
        condition = Regime.condition(factor)
        across, alone = cross(loss.regime, factor, point, spread)
        if alone:
            found.append((condition, across))
        else:
            implied.append(condition)
    return found, implied
