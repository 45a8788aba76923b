"""Feature laws: which features are active, and how active values are spread.

A law in scope here is a distribution over *patterns* (sets of active features)
with independent uniform values on ``[low, high]`` for the active ones.
:class:`FeatureLaw` says what a law must provide, and every part of superloss
asks it only that: the closed forms its pattern probabilities, Monte Carlo its
sampler, the LaTeX export its sentence. :class:`SparseUniform` (each feature
zero with probability ``S``) and :class:`OneHot` (exactly one active) are two
such laws; a new law is one new subclass.

>>> from analytic.symbols import sym
>>> law = SparseUniform(sym("S"))
>>> law.pattern_probabilities(2, [0, 1])[frozenset({0})]
S*(1 - S)
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from functools import cached_property
from itertools import combinations
from typing import ClassVar

import numpy as np
import sympy as sp

from .errors import SuperlossError
from .names import feature_name

__all__ = ["LAWS", "FeatureLaw", "OneHot", "SparseUniform", "subsets"]


def real(value, what: str) -> sp.Expr:
    """``value`` as a real SymPy expression; finite and real if it is a number."""
    # Only numbers and SymPy objects: text goes through analytic.expression's grammar.
    expr = sp.sympify(value) if isinstance(value, (numbers.Number, sp.Basic)) else None
    if expr is None or not isinstance(expr, sp.Expr):
        raise SuperlossError(f"{what} must be a number or a SymPy expression, got {value!r}")
    if expr.is_number and (not expr.is_finite or not expr.is_real):
        raise SuperlossError(f"{what} must be finite and real, got {value!r}")
    return expr


def _interval(low, high) -> tuple[sp.Expr, sp.Expr]:
    low, high = real(low, "low"), real(high, "high")
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


def _sparsity(value) -> sp.Expr:
    """A sparsity: a real expression, in ``[0, 1]`` if it is a number."""
    expr = real(value, "sparsity")
    if expr.is_number and not (0 <= expr <= 1):
        raise SuperlossError(f"sparsity S={expr} is outside [0, 1]")
    return expr


class FeatureLaw(ABC):
    """What a feature law provides; subclasses set ``low`` and ``high`` (numbers)
    and implement :meth:`pattern_probabilities`, :meth:`parameters`,
    :meth:`active` and :meth:`words`; :meth:`pattern_probabilities` raises a one-line
    error for a number of features the law does not fit.

    Its symbols (a symbolic sparsity, say) are those of :meth:`parameters`;
    :meth:`subs` fixes them, and a law whose parameters are numbers can be
    sampled (:meth:`sample`) and evaluated (:meth:`probabilities`).
    """

    #: The ``kind`` of the law in a spec file's ``[law]`` table.
    kind: ClassVar[str]
    low: sp.Expr
    high: sp.Expr

    @abstractmethod
    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict[frozenset, sp.Expr]:
        """``P(exactly A is active among features)`` for every pattern ``A`` that can occur
        (features outside ``features`` are marginalised out), for a circuit with ``n`` features."""

    @abstractmethod
    def parameters(self) -> dict[str, object]:
        """The keyword arguments that rebuild the law: ``type(law)(**law.parameters())``."""

    @abstractmethod
    def active(self, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """Which features are active in ``size`` draws: a boolean array ``(size, n)``,
        drawn from ``rng`` (the law's parameters must be numbers)."""

    @abstractmethod
    def words(self, features: Sequence[str], latex: Mapping[sp.Symbol, str]) -> str:
        """Which features are active, as a LaTeX sentence (symbols named by ``latex``)."""

    @cached_property
    def symbols(self) -> frozenset[sp.Symbol]:
        """The free symbols of the law's parameters."""
        found: set = set()
        for value in self.parameters().values():
            for v in value if isinstance(value, tuple) else (value,):
                found |= sp.sympify(v).free_symbols
        return frozenset(found)

    def subs(self, values: Mapping) -> FeatureLaw:
        """The same law with some symbols of its parameters replaced by ``values``."""
        values = {s: v for s, v in values.items() if s in self.symbols}
        if not values:
            return self

        def put(value):
            return tuple(put(v) for v in value) if isinstance(value, tuple) else sp.sympify(value).subs(values)

        return type(self)(**{name: put(value) for name, value in self.parameters().items()})

    def density(self, n: int) -> sp.Symbol | None:
        """The symbol ``S`` when every pattern probability is a polynomial in ``p = 1 - S``
        that the loss is collected by (``sum_k p^k C_k``), else ``None``."""
        return None

    def probabilities(self, n: int, features: Sequence[int], values: Mapping) -> dict[frozenset, float]:
        """:meth:`pattern_probabilities` as numbers, the law's symbols set by ``values``."""
        return {A: float(sp.sympify(p).subs(values)) for A, p in self.pattern_probabilities(n, features).items()}

    def sample(self, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` feature vectors ``(size, n)``: the values, uniform on ``[low, high]``,
        are drawn first, then which features are active (:meth:`active`); inactive ones are 0."""
        if self.symbols:
            raise SuperlossError(
                f"{self!r} has symbols ({', '.join(sorted(s.name for s in self.symbols))}): "
                "fix them (law.subs) before sampling"
            )
        values = rng.uniform(float(self.low), float(self.high), size=(size, n))
        return np.where(self.active(n, size, rng), values, 0.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v}" for k, v in self.parameters().items()) + ")"


class SparseUniform(FeatureLaw):
    """Each feature is 0 with probability ``S_i``, else uniform on ``[low, high]``.

    ``sparsity`` is one number or symbol for all features, or a sequence with
    one per feature. ``p_i = 1 - S_i`` is the density.
    """

    kind = "sparse_uniform"

    def __init__(self, sparsity, low=-1, high=1):
        if isinstance(sparsity, (list, tuple)):
            values = tuple(_sparsity(s) for s in sparsity)
            if not values:
                raise SuperlossError("sparsity list is empty")
        else:
            values = _sparsity(sparsity)
        self.sparsity = values
        self.low, self.high = _interval(low, high)
        self._floats: np.ndarray | None = None

    def parameters(self) -> dict[str, object]:
        return {"sparsity": self.sparsity, "low": self.low, "high": self.high}

    def sparsity_of(self, n: int) -> tuple[sp.Expr, ...]:
        """``(S_0, ..., S_{n-1})`` for a circuit with ``n`` features."""
        if isinstance(self.sparsity, tuple):
            if len(self.sparsity) != n:
                raise SuperlossError(f"sparsity has {len(self.sparsity)} entries, but the circuit has {n} features")
            return self.sparsity
        return (self.sparsity,) * n

    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict[frozenset, sp.Expr]:
        S = self.sparsity_of(n)
        return {A: sp.Mul(*[(1 - S[k]) if k in A else S[k] for k in features]) for A in subsets(features)}

    def density(self, n: int) -> sp.Symbol | None:
        shared = set(self.sparsity_of(n))
        return shared.pop() if len(shared) == 1 and isinstance(next(iter(shared)), sp.Symbol) else None

    def active(self, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        return rng.random((size, n)) >= self._numeric(n)  # P(active) = 1 - S_i, exactly 0 when S_i = 1

    def _numeric(self, n: int) -> np.ndarray:
        # The sparsities as floats, once: a sampler draws from the same law many times.
        if self._floats is None or len(self._floats) != n:
            self._floats = np.array([float(s) for s in self.sparsity_of(n)], dtype=np.float64)
        return self._floats

    def words(self, features: Sequence[str], latex: Mapping[sp.Symbol, str]) -> str:
        S = self.sparsity_of(len(features))
        if len(set(S)) == 1:
            which = f"probability ${sp.latex(S[0], symbol_names=latex)}$"
        else:
            which = "probability " + ", ".join(
                f"${sp.latex(s, symbol_names=latex)}$ (feature ${feature_name(f)}$)"
                for f, s in zip(features, S, strict=True)
            )
        return f"Each feature is $0$ with {which}, and otherwise uniform on {_latex_interval(self)}, independently."


class OneHot(FeatureLaw):
    """Exactly one feature, chosen uniformly, is active, uniform on ``[low, high]``."""

    kind = "one_hot"

    def __init__(self, low=0, high=1):
        self.low, self.high = _interval(low, high)

    def parameters(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high}

    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict[frozenset, sp.Expr]:
        """Singletons and, if some feature lies outside ``features``, the empty pattern."""
        probs = {frozenset({k}): sp.Rational(1, n) for k in features}
        if len(features) < n:
            probs[frozenset()] = sp.Rational(n - len(features), n)
        return probs

    def active(self, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        chosen = rng.integers(n, size=size)
        return chosen[:, None] == np.arange(n)[None, :]

    def words(self, features: Sequence[str], latex: Mapping[sp.Symbol, str]) -> str:
        return f"Exactly one feature, chosen uniformly, is active; its value is uniform on {_latex_interval(self)}."


def _latex_interval(law: FeatureLaw) -> str:
    return f"$[{sp.latex(law.low)}, {sp.latex(law.high)}]$"


#: The laws by the ``kind`` a spec file names them with.
LAWS: dict[str, type[FeatureLaw]] = {law.kind: law for law in (SparseUniform, OneHot)}
