"""Feature laws: which features are active, and how active values are spread.

Both laws draw every active value uniformly on ``[low, high]``; they differ in
which *patterns* (sets of active features) occur and how often.

>>> from analytic.symbols import sym
>>> law = SparseUniform(sym("S"))
>>> law.pattern_probabilities(2, [0, 1])[frozenset({0})]
S*(1 - S)
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from itertools import combinations

import sympy as sp

from .errors import SuperlossError


def _real(value, what: str) -> sp.Expr:
    # Only numbers and SymPy objects: text goes through analytic.expression's grammar.
    expr = sp.sympify(value) if isinstance(value, (numbers.Number, sp.Basic)) else None
    if expr is None or not isinstance(expr, sp.Expr):
        raise SuperlossError(f"{what} must be a number or a SymPy expression, got {value!r}")
    if expr.is_number and (not expr.is_finite or not expr.is_real):
        raise SuperlossError(f"{what} must be finite and real, got {value!r}")
    return expr


def _interval(low, high) -> tuple[sp.Expr, sp.Expr]:
    low, high = _real(low, "low"), _real(high, "high")
    if not (low.is_number and high.is_number):
        raise SuperlossError("low and high of a feature law must be numbers")
    if not low < high:
        raise SuperlossError(f"low={low} must be below high={high}")
    return low, high


def subsets(items: Sequence[int]):
    """All subsets of ``items`` as frozensets, smallest first."""
    for k in range(len(items) + 1):
        for combo in combinations(items, k):
            yield frozenset(combo)


class SparseUniform:
    """Each feature is 0 with probability ``S_i``, else uniform on ``[low, high]``.

    ``sparsity`` is one number or symbol for all features, or a sequence with
    one per feature. ``p_i = 1 - S_i`` is the density.
    """

    def __init__(self, sparsity, low=-1, high=1):
        if isinstance(sparsity, (list, tuple)):
            values = tuple(_real(s, "sparsity") for s in sparsity)
            if not values:
                raise SuperlossError("sparsity list is empty")
        else:
            values = _real(sparsity, "sparsity")
        for s in values if isinstance(values, tuple) else (values,):
            if s.is_number and not (0 <= s <= 1):
                raise SuperlossError(f"sparsity S={s} is outside [0, 1]")
        self.sparsity = values
        self.low, self.high = _interval(low, high)

    def sparsity_of(self, n: int) -> tuple[sp.Expr, ...]:
        """``(S_0, ..., S_{n-1})`` for a circuit with ``n`` features."""
        if isinstance(self.sparsity, tuple):
            if len(self.sparsity) != n:
                raise SuperlossError(f"sparsity has {len(self.sparsity)} entries for {n} features")
            return self.sparsity
        return (self.sparsity,) * n

    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict[frozenset, sp.Expr]:
        """``P(exactly A is active among features)`` for every subset ``A``.

        Features outside ``features`` are marginalised out.
        """
        S = self.sparsity_of(n)
        return {
            A: sp.Mul(*[(1 - S[k]) if k in A else S[k] for k in features])
            for A in subsets(features)
        }

    @property
    def symbols(self) -> set[sp.Symbol]:
        values = self.sparsity if isinstance(self.sparsity, tuple) else (self.sparsity,)
        return set().union(*(v.free_symbols for v in values))

    def __repr__(self) -> str:
        return f"SparseUniform(sparsity={self.sparsity}, low={self.low}, high={self.high})"


class OneHot:
    """Exactly one feature, chosen uniformly, is active, uniform on ``[low, high]``."""

    def __init__(self, low=0, high=1):
        self.low, self.high = _interval(low, high)

    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict[frozenset, sp.Expr]:
        """``P(exactly A is active among features)``: singletons and, if some
        feature lies outside ``features``, the empty pattern."""
        probs = {frozenset({k}): sp.Rational(1, n) for k in features}
        if len(features) < n:
            probs[frozenset()] = sp.Rational(n - len(features), n)
        return probs

    symbols: frozenset = frozenset()

    def __repr__(self) -> str:
        return f"OneHot(low={self.low}, high={self.high})"
