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

from .algebraic import RealField


def _coefficient(ring):
    """How a coefficient of a polynomial ring becomes an exact number: a Fraction, or a
    :class:`~analytic.algebraic.Real` when the coefficients are algebraic."""
    if ring.domain.is_AlgebraicField:
        return RealField.over(ring.domain)
    return lambda c: Fraction(int(c.numerator), int(c.denominator))


def _sign(coeff, domain) -> int:
    """The real sign of a coefficient (SymPy orders algebraic numbers by their representation)."""
    return RealField.over(domain)(coeff).sign() if domain.is_AlgebraicField else (coeff > 0) - (coeff < 0)


def evaluate(poly, point: Mapping[sp.Symbol, Fraction]) -> Fraction:
    """Exact value of a sparse polynomial (a SymPy ``PolyElement``) at a point."""
    values = [point[g] for g in poly.ring.symbols]
    number = _coefficient(poly.ring)
    total = Fraction(0)
    for monom, coeff in poly.terms():
        term = number(coeff)
        for v, e in zip(values, monom, strict=True):
            if e:
                term *= v**e
        total += term
    return total


def irreducible_factors(value) -> list:
    """The non-constant irreducible factors (positive leading coefficient) of the
    numerator and denominator of a nonzero element of a fraction field; monic when the
    coefficients are algebraic numbers, whose integer form would be unreadable."""
    out = []
    for poly in (value.numer, value.denom):
        domain = poly.ring.domain
        for f, _ in poly.factor_list()[1]:
            if not f.is_ground:
                out.append(f.monic() if domain.is_AlgebraicField else -f if f.LC < 0 else f)
    return out


def positive_definite(poly) -> bool:
    """Whether a sparse polynomial (a SymPy ``PolyElement``) is positive for every real
    point: a sum of even powers with positive coefficients and a positive constant.

    >>> from sympy import QQ, ring
    >>> _, t, u = ring("t u", QQ)
    >>> positive_definite(t**2 + 1), positive_definite(t**2 * u**4 + 3), positive_definite(t**2 + u**2)
    (True, True, False)
    """
    terms = poly.terms()
    return any(not any(monomial) for monomial, _ in terms) and all(
        _sign(c, poly.ring.domain) > 0 and all(e % 2 == 0 for e in monomial) for monomial, c in terms
    )


def signed(factors, point: Mapping[sp.Symbol, Fraction]) -> set[tuple[sp.Expr, int]]:
    """Each factor as an expression, with its sign at ``point``; a factor that is positive
    everywhere (:func:`positive_definite`) bounds nothing and is left out."""
    out = set()
    for f in factors:
        if positive_definite(f):
            continue
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


@dataclass(frozen=True)
class Regime:
    """A region of weight space: the sign of each of its factors.

    ``factors`` is a frozenset of ``(polynomial, sign)`` with sign +1 or -1;
    it doubles as the regime's key.
    """

    factors: frozenset

    @classmethod
    def from_factors(cls, factors: Iterable[tuple[sp.Expr, int]]) -> "Regime":
        return cls(frozenset(factors))

    @property
    def conditions(self) -> tuple:
        """Strict inequalities that hold exactly on the regime (sorted for display); one that
        SymPy finds true for all real values (``t**2 + 1 > 0``) bounds nothing and is left out."""
        relations = (self.condition(f) for f in self.factors)
        return tuple(sorted((r for r in relations if r is not sp.true), key=sp.default_sort_key))

    @staticmethod
    def condition(factor: tuple[sp.Expr, int]) -> sp.core.relational.Relational:
        """One signed factor ``(f, sign)`` as the inequality it stands for, written to read well."""
        return _relation(*factor)

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
