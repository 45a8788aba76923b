"""The whole loss over a box of one or two free weights, as a ``Piecewise``.

With one free weight the regimes are intervals whose ends are real roots of the
regimes' own condition polynomials; covering the interval by them is a proof
that no regime was missed. With two free weights the regimes are found by
deriving at the points of a grid, which is only a sample: the result says so.

>>> from analytic import Circuit, Problem, SparseUniform, sym
>>> w = sym("w")
>>> pw = piecewise_loss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-1, 1)}))
>>> pw.proven, len(pw.pieces)
(True, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import product

import sympy as sp

from .errors import SuperlossError
from .loss import Loss, expected_loss
from .problem import Problem


@dataclass(frozen=True)
class PiecewiseLoss:
    """``expr`` is a ``Piecewise`` over the box; ``pieces`` the regimes' losses.

    ``proven`` is True when the regimes are proven to cover the box (one free
    weight), False when they were found by sampling (two free weights).
    """

    expr: sp.Piecewise
    pieces: tuple[Loss, ...]
    box: dict
    proven: bool

    @property
    def method(self) -> str:
        return "proven complete" if self.proven else "found by sampling"

    def _repr_latex_(self) -> str:
        from .latex import piecewise_summary  # the LaTeX layer builds on this module

        return piecewise_summary(self)


def _roots(poly: sp.Expr, x: sp.Symbol) -> list[sp.Expr]:
    """The real roots of ``poly`` in ``x``. With irrational coefficients (``sqrt(5)``), those of
    its norm, the product of its conjugates, which is rational: a superset, whose extra roots
    only split a piece where the formula does not change."""
    if not poly.has(x):
        return []
    p = sp.Poly(poly, x)
    if not (p.domain.is_QQ or p.domain.is_ZZ):
        p = sp.Poly(poly, x, extension=True).norm()
    return p.real_roots()


def _interval(loss: Loss, x: sp.Symbol, lo: sp.Rational, hi: sp.Rational):
    """The regime's interval inside ``[lo, hi]``: between the nearest roots of its
    condition polynomials around the point it was derived at."""
    at = loss.witness[x]
    left, right = lo, hi
    for f, _ in loss.regime.factors:
        for r in _roots(f, x):
            if r < at and r > left:
                left = r
            elif r > at and r < right:
                right = r
    return left, right


def piecewise_loss(problem: Problem, grid: int = 12, max_regimes: int = 200) -> PiecewiseLoss:
    """The loss over the box of the problem's one or two free weights (every other
    weight fixed; the sparsity and importances fixed or symbolic), as a ``Piecewise``
    of its regimes; fixed values are put in (:meth:`Problem.substituted`)."""
    problem = problem.substituted()
    free = set(problem.circuit.symbols)
    box = {s: (sp.Rational(lo), sp.Rational(hi)) for s, (lo, hi) in problem.bounds.items()}
    if not box or len(box) > 2 or set(box) != free:
        raise SuperlossError(
            "piecewise_loss needs one or two free weights, each with a (low, high) box, and "
            f"every other weight fixed; weights not fixed here: {sorted(s.name for s in free)}"
        )
    pieces: dict = {}

    def derive(point: dict) -> Loss:
        loss = expected_loss(problem, at=point)
        pieces.setdefault(loss.regime, loss)
        if len(pieces) > max_regimes:
            raise SuperlossError(f"more than {max_regimes} regimes in the box; narrow it")
        return loss

    if len(box) == 1:
        ((x, (lo, hi)),) = box.items()

        def cover(a, b) -> None:
            # Derive at the middle, take the regime's whole interval, recurse on what is left.
            mid = sp.Rational(Fraction(float((a + b) / 2)).limit_denominator(10**12))
            mid = min(max(mid, a), b)
            loss = derive({x: mid})
            left, right = _interval(loss, x, lo, hi)
            intervals.setdefault(loss.regime, []).append((left, right))
            if left > a:
                cover(a, left)
            if right < b:
                cover(right, b)

        intervals: dict = {}
        cover(lo, hi)
        proven = True
        ordered = sorted(pieces.values(), key=lambda l: min(intervals[l.regime]))
        # In one dimension a regime is exactly its intervals: say so instead of
        # listing every condition polynomial.
        expr = sp.Piecewise(
            *[(l.expr, sp.Or(*[(x >= a) & (x <= b) for a, b in sorted(intervals[l.regime])])) for l in ordered]
        )
        return PiecewiseLoss(expr, tuple(ordered), box, proven)
    for point in product(
        *[[lo + (hi - lo) * sp.Rational(2 * k + 1, 2 * grid) for k in range(grid)] for lo, hi in box.values()]
    ):
        derive(dict(zip(box, point, strict=True)))
    ordered = sorted(pieces.values(), key=lambda l: [float(v) for v in l.witness.values()])
    expr = sp.Piecewise(*[(l.expr, sp.And(*l.regime.closure())) for l in ordered])
    return PiecewiseLoss(expr, tuple(ordered), box, proven=False)
