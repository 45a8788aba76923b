"""The problem: what to compute the loss of, and the role of every symbol in it.

A :class:`Problem` holds a circuit, a feature law and the importances, and
says of each of their symbols whether it is *free* (a parameter, optionally
with a box), *fixed* (with a value), *varying* (given per point, as the
batched engine takes the sparsity) or left symbolic. Every engine and every
workflow is built from one, so the checks live here once: the same bad input
is refused with the same one-line message wherever it comes from.

It refuses a weight named like a symbol of the law or of the importances (they
would be one SymPy symbol), a name that reads as a constant, two different
symbols with one name, importances below zero, a sparsity outside ``[0, 1]``,
and free, fixed or varying names that the circuit, the law and the importances
do not use, or that are given two roles.

>>> from analytic import Circuit, SparseUniform, sym
>>> w, S = sym("w"), sym("S")
>>> problem = Problem(Circuit([[w]], [[1]]), SparseUniform(S), free={w: (-1, 1)}, fixed={S: 0.5})
>>> problem.params, problem.bounds, problem.unset
((w,), {w: (-1, 1)}, ())
>>> Problem(Circuit([[S]], [[1]]), SparseUniform(S))
Traceback (most recent call last):
...
analytic.errors.SuperlossError: S is both a weight of the circuit and a symbol of the feature law
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from fractions import Fraction
from functools import cached_property

import numpy as np
import sympy as sp

from .circuit import Circuit, Layout
from .errors import SuperlossError
from .laws import FeatureLaw
from .symbols import check_name

__all__ = ["Problem", "importances", "number"]


def _name(key) -> str:
    return key.name if isinstance(key, sp.Symbol) else str(key)


def importances(importance, features: Sequence[str]) -> tuple[sp.Expr, ...]:
    """``importance`` (``None``: all 1) as one real SymPy expression per feature, each finite
    and, where it is a number, at least 0; a one-line error names the feature that is not.

    >>> importances([1, 0.5], ["a", "b"])
    (1, 0.500000000000000)
    """
    n = len(features)
    if importance is None:
        return (sp.Integer(1),) * n
    if isinstance(importance, (str, sp.Basic)) or not isinstance(importance, Iterable):
        raise SuperlossError(f"importance must be a list of {n} numbers or SymPy expressions, got {importance!r}")
    values = tuple(sp.sympify(v) if not isinstance(v, str) else None for v in list(importance))
    if len(values) != n:
        raise SuperlossError(f"importance has {len(values)} entries for {n} features")
    for feature, v in zip(features, values, strict=True):
        if v is None or not isinstance(v, sp.Expr):
            raise SuperlossError(
                "importances must be numbers or SymPy expressions "
                "(parse text with analytic.expression.parse_expression)"
            )
        if v.is_number and not (v.is_finite and v.is_real) or v.has(sp.zoo, sp.oo, -sp.oo, sp.nan):
            raise SuperlossError(f"importance of feature '{feature}' is {v}, which is not a finite real number")
        _nonnegative(feature, v)
    return values


def _nonnegative(feature: str, importance: sp.Expr) -> None:
    if importance.is_number and importance.is_negative:
        raise SuperlossError(f"importance of feature '{feature}' is negative ({importance}); importances must be >= 0")


def number(value, name: str) -> sp.Expr:
    """A value of a symbol as a finite real SymPy number (exact when given exactly)."""
    if isinstance(value, str):
        raise SuperlossError(f"{name} = {value!r} is text; give a number")
    if isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
    try:
        value = sp.sympify(value)
    except (sp.SympifyError, TypeError):
        raise SuperlossError(f"{name} = {value!r} is not a number") from None
    if not (isinstance(value, sp.Expr) and value.is_number and value.is_real and value.is_finite):
        raise SuperlossError(f"{name} = {value} is not a finite real number")
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise SuperlossError(f"{name} = {sp.Float(value, 3)} is too large for a float")
    return value


def _exact(value: sp.Expr) -> sp.Rational:
    """A rational; a float at its exact binary value (as :func:`analytic.expected_loss` takes floats)."""
    return value if value.is_Rational else sp.Rational(float(value))


def _box(symbol: sp.Symbol, box) -> tuple[sp.Expr, sp.Expr]:
    """``(low, high)`` exactly as given (floats stay floats), finite with ``low < high``."""
    if isinstance(box, str) or not isinstance(box, Iterable) or len(ends := list(box)) != 2:
        raise SuperlossError(f"bounds for {symbol.name}: expected (low, high), got {box!r}")
    lo, hi = (number(v, f"bounds for {symbol.name}: an end") for v in ends)
    if not lo < hi:
        raise SuperlossError(f"bounds for {symbol.name}: need low < high, got ({lo}, {hi})")
    return lo, hi


class Problem:
    """A circuit, a feature law and importances, with the role of every symbol.

    ``free`` is a list of symbols (or names), or a mapping symbol -> ``(low, high)``
    that also gives each its box; ``fixed`` maps symbols (or names) to numbers;
    ``varying`` lists the symbols whose values the batched engine takes per point.
    Symbols in no role stay symbolic (:attr:`unset`). Names are matched to the
    circuit's, the law's and the importances' own symbols, so ``"w_a"``,
    ``sym("w_a")`` and ``sp.Symbol("w_a")`` all name the weight ``w_a``.
    """

    def __init__(
        self,
        circuit: Circuit,
        law: FeatureLaw,
        importance: Sequence | None = None,
        free: Sequence | Mapping = (),
        fixed: Mapping | None = None,
        varying: Sequence = (),
    ):
        if not isinstance(circuit, Circuit):
            raise SuperlossError(f"expected a Circuit, got {type(circuit).__name__}")
        if not isinstance(law, FeatureLaw):
            raise SuperlossError(f"expected a feature law (such as SparseUniform or OneHot), got {type(law).__name__}")
        law.pattern_probabilities(circuit.n, [])  # a law that does not fit n features says so
        self.circuit, self.law = circuit, law
        self.importance = importances(importance, circuit.features)
        self.weights: tuple[sp.Symbol, ...] = circuit.symbols
        others = {
            "the feature law": set(law.symbols),
            "the importances": set().union(*(v.free_symbols for v in self.importance)),
        }
        for what, symbols in others.items():
            for s in sorted(symbols & set(self.weights), key=lambda s: s.name):
                raise SuperlossError(f"{s.name} is both a weight of the circuit and a symbol of {what}")
        everything = set(self.weights).union(*others.values())
        by_name: dict[str, sp.Symbol] = {}
        for s in sorted(everything, key=sp.default_sort_key):
            check_name(s.name)
            if s.name in by_name:
                raise SuperlossError(
                    f"two different symbols are called {s.name} (make every symbol with "
                    "analytic.sym, which makes them real)"
                )
            by_name[s.name] = s
        self._by_name = by_name
        #: Every symbol of the circuit, the law and the importances, sorted by name.
        self.symbols: tuple[sp.Symbol, ...] = tuple(by_name[n] for n in sorted(by_name))

        roles: dict[sp.Symbol, str] = {}
        if isinstance(free, Mapping):
            self.params = self._resolve(free, "free", roles)
            self.bounds = {p: _box(p, box) for p, box in zip(self.params, free.values(), strict=True)}
        else:
            if isinstance(free, (str, sp.Basic)):
                raise SuperlossError(
                    f"free must be a list of symbols (or a mapping symbol -> (low, high)), got {free!r}"
                )
            self.params = self._resolve(list(free), "free", roles)
            self.bounds = {}
        fixed = dict(fixed or {})
        self.fixed = {
            s: number(v, s.name) for s, v in zip(self._resolve(fixed, "fixed", roles), fixed.values(), strict=True)
        }
        self.varying = self._resolve(list(varying), "varying", roles)
        #: The symbols in no role: they stay symbolic.
        self.unset = tuple(s for s in self.symbols if s not in roles)

        # A value is checked where it lands: a sparsity by the law, an importance here.
        numbers = self.numbers
        law.subs(numbers)
        for feature, value in zip(circuit.features, self.importance, strict=True):
            _nonnegative(feature, value.subs(numbers))

    def symbol(self, key: sp.Symbol | str) -> sp.Symbol:
        """The problem's own symbol called like ``key`` (a symbol or a name); a one-line error if there is none."""
        symbol = self._by_name.get(_name(key))
        if symbol is None:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise SuperlossError(
                f"{_name(key)} is not a symbol of the circuit, its law or its importances (their symbols: {known})"
            )
        return symbol

    def _resolve(self, given: Sequence | Mapping, role: str, roles: dict) -> tuple[sp.Symbol, ...]:
        """The problem's own symbols for ``given`` (symbols or names), each given one role."""
        out = []
        for key in given:
            name = _name(key)
            symbol = self.symbol(key)
            if symbol in roles:
                raise SuperlossError(
                    f"{name} is given twice"
                    if roles[symbol] == role
                    else f"{name} cannot be both {roles[symbol]} and {role}"
                )
            roles[symbol] = role
            out.append(symbol)
        return tuple(out)

    # -- what the engines need ---------------------------------------------------------------

    @property
    def _free(self) -> tuple[sp.Symbol, ...] | dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]:
        # The ``free`` argument that rebuilds the parameters: with their boxes if they have them.
        return {p: self.bounds[p] for p in self.params} if self.bounds else self.params

    @cached_property
    def numbers(self) -> dict[sp.Symbol, sp.Expr]:
        """The fixed values of symbols that are not weights (the sparsity, the importances)."""
        return {s: v for s, v in self.fixed.items() if s not in self.weights}

    @cached_property
    def free_circuit(self) -> Circuit:
        """The circuit with the fixed weights put in, exactly (a float at its binary value):
        its symbols are the weights still free, varying or unset."""
        weights = {s: _exact(v) for s, v in self.fixed.items() if s in self.weights}
        return self.circuit.subs(weights) if weights else self.circuit

    @property
    def layout(self) -> Layout:
        """Where each weight sits in the flat vector of the circuit's entries."""
        return self.circuit.layout

    def patterns(self) -> Iterator[tuple[int, frozenset, sp.Expr]]:
        """Every output ``i`` with every pattern ``A`` of active features among those
        ``y_i`` can see (in :attr:`free_circuit`) and its probability ``P(A)``, if not
        identically zero; outputs in order, patterns in the law's order."""
        circuit = self.free_circuit
        for i in range(circuit.n):
            for A, prob in self.law.pattern_probabilities(circuit.n, circuit.receptive_field(i)).items():
                if prob != 0:
                    yield i, A, prob

    def zero_model_loss(self) -> sp.Expr:
        """The loss of the model whose outputs are all zero, ``sum_i I_i E[y_i^2]``, with the
        fixed values put in: ``sum_i I_i P(i active) (low^2 + low high + high^2) / 3``.
        It sets the scale of the problem's losses (what counts as zero to rounding).

        >>> from analytic import Circuit, SparseUniform, sym
        >>> Problem(Circuit([[1]], [[1]]), SparseUniform(sym("S"))).zero_model_loss()
        1/3 - S/3
        """
        law, numbers, n = self.law.subs(self.numbers), self.numbers, self.circuit.n
        second = (law.low**2 + law.low * law.high + law.high**2) / 3
        return sp.expand(
            sum(
                (
                    importance.subs(numbers) * law.pattern_probabilities(n, [i]).get(frozenset({i}), 0)
                    for i, importance in enumerate(self.importance)
                ),
                sp.S.Zero,
            )
            * second
        )

    def require(
        self,
        engine: str,
        *,
        params: bool = True,
        varying: bool = False,
        weights_only: bool = False,
        bounded: bool = False,
    ) -> None:
        """Refuse, in one line, a problem ``engine`` cannot evaluate: one with symbols
        left symbolic, with varying symbols (unless ``varying``), without parameters
        (if ``params``) or with some (if not), with parameters that are not weights
        (if ``weights_only``) or that have no box (if ``bounded``)."""
        others = [p.name for p in self.params if p not in self.weights]
        if weights_only and others:
            raise SuperlossError(
                f"{', '.join(others)} are not weights of the circuit; only weights can be "
                "optimized (fix the sparsity and the importances)"
            )
        if params and not self.params:
            raise SuperlossError("nothing is free; give at least one free parameter")
        if not params and self.params:
            raise SuperlossError(
                f"{engine} needs a value for every symbol; fix " + ", ".join(p.name for p in self.params)
            )
        if self.unset:
            raise SuperlossError(
                f"no value for {', '.join(s.name for s in self.unset)}: {engine} needs a value "
                "for every symbol that is not free"
            )
        if self.varying and not varying:
            raise SuperlossError(f"{engine} takes no varying symbols; fix " + ", ".join(s.name for s in self.varying))
        unbounded = [p.name for p in self.params if p not in self.bounds]
        if bounded and unbounded:
            raise SuperlossError(
                f"no bounds for {', '.join(unbounded)}: {engine} searches a box (free={{name: (low, high)}})"
            )

    # -- new problems from this one -------------------------------------------------------------

    def replace(self, **changes) -> Problem:
        """A problem with some of ``circuit, law, importance, free, fixed, varying`` replaced, checked anew."""
        given = {
            "circuit": self.circuit,
            "law": self.law,
            "importance": self.importance,
            "free": self._free,
            "fixed": self.fixed,
            "varying": self.varying,
        }
        unknown = set(changes) - set(given)
        if unknown:
            raise TypeError(f"replace() got unexpected arguments {sorted(unknown)}")
        return Problem(**{**given, **changes})

    def fix(self, values: Mapping) -> Problem:
        """The problem with the symbols of ``values`` fixed at them, whatever their role was
        (a point of the parameters: ``problem.fix(dict(zip(problem.params, x)))``)."""
        names = {_name(k) for k in values}
        free = [p for p in self.params if p.name not in names]
        if self.bounds:
            free = {p: self.bounds[p] for p in free}
        fixed = {**{s: v for s, v in self.fixed.items() if s.name not in names}, **values}
        return self.replace(free=free, fixed=fixed, varying=[s for s in self.varying if s.name not in names])

    def substituted(self) -> Problem:
        """The same problem with every fixed value put into the circuit, the law and the
        importances (weights exactly, as :attr:`free_circuit`): nothing is left fixed."""
        if not self.fixed:
            return self
        numbers = self.numbers
        return Problem(
            self.free_circuit,
            self.law.subs(numbers),
            [v.subs(numbers) for v in self.importance],
            free=self._free,
            varying=self.varying,
        )

    def vector(self, x) -> np.ndarray:
        """The point ``x`` of the parameters as a float array, checked for its length."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.params),):
            raise SuperlossError(
                f"expected a point of {len(self.params)} numbers "
                f"({', '.join(p.name for p in self.params)}), got shape {x.shape}"
            )
        return x

    def __repr__(self) -> str:
        roles = [f"free=[{', '.join(p.name for p in self.params)}]"]
        if self.fixed:
            roles.append("fixed={" + ", ".join(f"{s.name}: {v}" for s, v in self.fixed.items()) + "}")
        if self.varying:
            roles.append(f"varying=[{', '.join(s.name for s in self.varying)}]")
        return f"Problem({self.circuit!r}, {self.law!r}, {', '.join(roles)})"
