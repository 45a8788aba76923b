"""Exact stationary conditions: where the loss's derivative in one parameter vanishes.

Inside a regime the loss is a rational function of each parameter, so
``dL/dq = 0`` is a polynomial equation in ``q`` once the denominator (which
does not vanish inside the regime) and the factors free of ``q`` are dropped.
Its degree depends on the regime: for the motif's output biases a cubic or a
quartic, for the inhibition strength ``kappa`` a quadratic in the canonical
regime (solved by radicals) and a quintic in the regime of its optimum. The formula holds in the
regime of the loss it came from, and so does the root it picks: a stationary
point of the formula outside its regime is not one of the loss.

>>> from analytic import Circuit, SparseUniform, expected_loss, sym
>>> w = sym("w")
>>> loss = expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 2})
>>> st = stationary(loss, w)
>>> st.condition, st.solutions
(w - 1, (1,))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from .errors import SuperlossError
from .loss import Loss

__all__ = ["Stationary", "stationary"]

#: Solve by radicals up to this degree; above it the condition is the formula.
EXPLICIT_DEGREE = 2


@dataclass(frozen=True)
class Stationary:
    """``dL/dparam = 0`` in the regime of ``loss``.

    ``condition`` is the polynomial in ``param`` (coefficients in the other
    symbols) that vanishes exactly where the derivative does, inside the
    regime; ``solutions`` its roots as formulas when they are found by radicals
    of degree at most :data:`EXPLICIT_DEGREE` (else empty).
    """

    param: sp.Symbol
    condition: sp.Expr
    degree: int
    solutions: tuple
    loss: Loss

    def roots_at(self, values: Mapping) -> list[float]:
        """The real roots, with every other symbol set by ``values``, at which
        the loss's regime holds (``values[param]`` is replaced by each root)."""
        others = {s: v for s, v in values.items() if s != self.param}
        poly = sp.Poly(self.condition.subs(others), self.param)
        if poly.free_symbols - {self.param}:
            missing = sorted(s.name for s in poly.free_symbols - {self.param})
            raise SuperlossError("roots_at needs values for " + ", ".join(missing))
        roots = sorted(float(r) for r in sp.real_roots(poly)) if poly.degree() > 0 else []
        regime = self.loss.regime
        return [
            r for r in roots if regime is None or regime.holds({**others, self.param: sp.Rational(r)}, strict=False)
        ]

    def _repr_latex_(self) -> str:
        from .latex import stationary_summary  # the LaTeX layer builds on this module

        return stationary_summary(self)

    def latex(self) -> str:
        """The condition, and each explicit solution, as LaTeX."""
        q = sp.latex(self.param)
        lines = [rf"\frac{{\partial L}}{{\partial {q}}} = 0 \iff {sp.latex(self.condition)} = 0"]
        lines += [rf"{q} = {sp.latex(s)}" for s in self.solutions]
        return r" \\ ".join(lines)


def stationary(loss: Loss, param: sp.Symbol) -> Stationary:
    """The stationary condition of ``loss`` in ``param``, valid in its regime."""
    if not isinstance(loss, Loss):
        raise SuperlossError(f"expected an analytic.Loss, got {type(loss).__name__}")
    if param not in loss.expr.free_symbols:
        names = ", ".join(sorted(s.name for s in loss.expr.free_symbols)) or "none"
        raise SuperlossError(f"the loss does not depend on {param} (its symbols: {names})")
    # Term by term: together() of the whole sum is much slower than of its parts.
    numerator = sp.together(
        sum((sp.diff(p * t, param) for p, t in ((loss.probability[k], t) for k, t in loss.terms.items())), sp.S.Zero)
    )
    numerator = sp.numer(numerator)
    _, factors = sp.factor_list(sp.expand(numerator))
    kept = [f**e for f, e in factors if f.has(param)]
    condition = sp.expand(sp.Mul(*kept))
    degree = sp.degree(condition, param)
    solutions: tuple = ()
    if 0 < degree:
        explicit = [
            sp.roots(sp.Poly(f, param)) for f, _ in factors if f.has(param) and sp.degree(f, param) <= EXPLICIT_DEGREE
        ]
        if len(explicit) == sum(1 for f, _ in factors if f.has(param)):
            solutions = tuple(r for found in explicit for r in found)
    return Stationary(param, condition, int(degree), solutions, loss)
