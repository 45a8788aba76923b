"""Regimes: the regions of weight space on which one closed form holds.

The expected loss is piecewise in the weights. A regime is described by sign
conditions ``f(theta) > 0`` on irreducible polynomials ``f`` of the weights:
the signs that the cutting functions take at the vertices of the cells (see
:mod:`analytic.regions`). Each such sign is a rational function of the weights;
it keeps its sign exactly when all its irreducible factors keep theirs, so the
regime is the region around the point where every factor keeps its sign.

>>> from analytic.symbols import syms
>>> w, b = syms("w b")
>>> Regime.from_factors({(w, 1), (b, -1)}).conditions
(w > 0, b < 0)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import sympy as sp


def evaluate(poly, point: Mapping[sp.Symbol, Fraction]) -> Fraction:
    """Exact value of a sparse polynomial (a SymPy ``PolyElement``) at a point."""
    values = [point[g] for g in poly.ring.symbols]
    total = Fraction(0)
    for monom, coeff in poly.terms():
        term = Fraction(int(coeff.numerator), int(coeff.denominator))
        for v, e in zip(values, monom, strict=True):
            if e:
                term *= v**e
        total += term
    return total


def irreducible_factors(value) -> list:
    """The non-constant irreducible factors (positive leading coefficient) of the
    numerator and denominator of a nonzero element of a fraction field."""
    out = []
    for poly in (value.numer, value.denom):
        for f, _ in poly.factor_list()[1]:
            if not f.is_ground:
                out.append(-f if f.LC < 0 else f)
    return out


def signed(factors, point: Mapping[sp.Symbol, Fraction]) -> set[tuple[sp.Expr, int]]:
    """Each factor as an expression, with its sign at ``point``."""
    out = set()
    for f in factors:
        s = evaluate(f, point)
        out.add((f.as_expr(), (s > 0) - (s < 0)))
    return out


def _relation(expr: sp.Expr, sign: int) -> sp.core.relational.Relational:
    """``expr > 0`` (or ``< 0``), with negative terms moved to the other side when
    that reads better, e.g. ``w_a - w_b > 0`` becomes ``w_a > w_b``."""
    if sign == 0:
        return sp.Eq(expr, 0)
    terms = sp.Add.make_args(sp.expand(expr))
    positive = sp.Add(*[t for t in terms if not t.could_extract_minus_sign()])
    negative = -sp.Add(*[t for t in terms if t.could_extract_minus_sign()])
    if positive == 0 or negative == 0:
        return sp.Gt(expr, 0) if sign > 0 else sp.Lt(expr, 0)
    return sp.Gt(positive, negative) if sign > 0 else sp.Lt(positive, negative)


def always_true(expr: sp.Expr, sign: int) -> bool:
    """Whether ``sign * expr > 0`` holds for all real values of its symbols: SymPy
    decides the relation at once, or ``expr`` is a sum of even powers with positive
    coefficients and a positive constant (and ``sign`` is +1).

    >>> from analytic.symbols import syms
    >>> t, u = syms("t u")
    >>> always_true(t**2 + 1, 1), always_true(t**2 * u**4 + 3, 1), always_true(t**2 + u, 1)
    (True, True, False)
    """
    if sign > 0:
        terms = sp.Poly(expr, *sorted(expr.free_symbols, key=sp.default_sort_key)).terms()
        if all(c > 0 and all(e % 2 == 0 for e in monomial) for monomial, c in terms) and any(
            not any(monomial) for monomial, _ in terms
        ):
            return True
    return _relation(expr, sign) is sp.true


@dataclass(frozen=True)
class Regime:
    """A region of weight space: the sign of each of its factors.

    ``factors`` is a frozenset of ``(polynomial, sign)`` with sign +1 or -1;
    it doubles as the regime's key.
    """

    factors: frozenset

    @classmethod
    def from_factors(cls, factors: Iterable[tuple[sp.Expr, int]]) -> "Regime":
        """The regime of the signed factors, less those that are positive everywhere
        (a sum of squares plus a constant bounds nothing)."""
        return cls(frozenset((f, s) for f, s in factors if not always_true(sp.sympify(f), s)))

    @property
    def conditions(self) -> tuple:
        """Strict inequalities that hold exactly on the regime (sorted for display)."""
        return tuple(sorted((_relation(f, s) for f, s in self.factors), key=sp.default_sort_key))

    def closure(self) -> tuple:
        """The same conditions, non-strict: they hold on the regime's boundary too."""
        return tuple(sorted(((f >= 0) if s > 0 else (f <= 0) for f, s in self.factors), key=sp.default_sort_key))

    def holds(self, point: Mapping, strict: bool = True) -> bool:
        """Whether ``point`` satisfies the conditions (exactly, for rational points)."""
        for f, s in self.factors:
            v = sp.sympify(f).subs(point)
            if not v.is_number:
                raise ValueError(f"condition {f} is not fixed by the point")
            v = s * v
            if (v <= 0) if strict else (v < 0):
                return False
        return True
