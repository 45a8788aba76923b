"""The exact expected loss ``E[sum_i I_i (y_i - y'_i)^2]`` as a SymPy expression.

For every output ``i`` and every pattern ``A`` of active features among those
``y_i`` can see, the cube of ``A`` is cut into cells where every ReLU and every
``|.|`` has a fixed sign (:mod:`analytic.regions`), and the squared residual is
integrated exactly on each cell (:mod:`analytic.integrate`). The loss is the sum
of these terms weighted by the pattern probabilities of the feature law.

With symbolic weights the cells are found at a point ``at``; the result is the
formula of the *regime* containing it, with the conditions that delimit it.

>>> from analytic import Circuit, SparseUniform, sym
>>> w, S = sym("w"), sym("S")
>>> expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 1}).expr
w**2/6 - w/3 + 1/3
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from random import Random

import numpy as np
import sympy as sp
from sympy.polys.constructor import construct_domain

from .circuit import Circuit
from .errors import SuperlossError
from .integrate import TermPlanes, cells_of_term, independent_planes, integrate_cells, solve
from .laws import OneHot, SparseUniform
from .names import inline
from .regime import Regime, irreducible_factors, signed
from .simplices import term_integrals


class OnBoundary(Exception):
    """The witness point lies on a regime boundary (internal signal)."""


@dataclass(frozen=True)
class Loss:
    """An exact expected loss.

    ``expr`` is the loss; ``terms[(i, A)]`` the conditional expectation of
    ``I_i (y_i - y'_i)^2`` given that exactly the features ``A`` are active among
    those ``y_i`` sees, and ``probability[(i, A)]`` the chance of that pattern, so
    that ``expr == sum(probability[k] * terms[k])``. For symbolic weights,
    ``regime`` holds the conditions under which ``expr`` is exact, ``at`` the
    point asked for and ``witness`` the point the cells were found at (``at``
    itself unless ``on_boundary``).
    """

    expr: sp.Expr
    terms: dict
    probability: dict
    circuit: Circuit
    law: object
    importance: tuple
    regime: Regime | None = None
    at: dict = field(default_factory=dict)
    witness: dict = field(default_factory=dict)
    on_boundary: bool = False

    @property
    def conditions(self) -> tuple:
        """Strict inequalities in the weights that hold exactly on this regime."""
        return self.regime.conditions if self.regime else ()

    def value(self, values: Mapping | None = None) -> sp.Expr:
        """The loss with ``values`` substituted (symbol -> number)."""
        return self.expr.subs(dict(values or {}))

    def _repr_latex_(self) -> str:
        """The formula in Jupyter, with paper names (:func:`analytic.names.inline`)."""
        return "$\\displaystyle " + inline(self.expr) + "$"

    def __str__(self) -> str:
        lines = [f"L = {self.expr}"]
        if self.regime:
            lines.append("valid where " + ", ".join(map(str, self.conditions)))
            if self.on_boundary:
                lines.append("(the point lies on a regime boundary; this is an adjacent regime's formula)")
        return "\n".join(lines)


def _importance(importance, n: int) -> tuple[sp.Expr, ...]:
    if importance is None:
        return (sp.Integer(1),) * n
    values = tuple(sp.sympify(v) if not isinstance(v, str) else None for v in importance)
    if len(values) != n:
        raise SuperlossError(f"importance has {len(values)} entries for {n} features")
    for v in values:
        if v is None or not isinstance(v, sp.Expr):
            raise SuperlossError("importances must be numbers or SymPy expressions "
                                 "(parse text with analytic.expression.parse_expression)")
        if v.is_number and not (v.is_finite and v.is_real):
            raise SuperlossError(f"importance {v} is not a finite real number")
        if v.is_number and v < 0:
            raise SuperlossError(f"importance {v} is negative; importances must be >= 0")
    return values


def _fraction(value, what: str) -> Fraction:
    """An exact fraction; floats are taken at their exact binary value, not rounded."""
    value = sp.Rational(value) if isinstance(value, sp.Float) else sp.sympify(value)
    if not value.is_Rational:
        raise SuperlossError(f"{what} = {value} is not rational; give a rational number or a float")
    return Fraction(int(value.p), int(value.q))


def _point(circuit: Circuit, at: Mapping | None) -> dict[sp.Symbol, Fraction]:
    at = {(k if isinstance(k, sp.Symbol) else sp.Symbol(str(k))): v for k, v in (at or {}).items()}
    by_name = {s.name: s for s in at}
    point = {}
    missing = []
    for s in circuit.symbols:
        key = s if s in at else by_name.get(s.name)
        if key is None:
            missing.append(s.name)
            continue
        value = at[key]
        if isinstance(value, str):
            # Text is parsed by analytic.expression's whitelist grammar, never sympified here.
            raise SuperlossError(f"at: {s.name} = {value!r} is text; give a number (or parse it with "
                                 "analytic.expression.parse_expression)")
        value = sp.sympify(value)
        if not value.is_number or not value.is_finite or not value.is_real:
            raise SuperlossError(f"at: {s.name} = {value} is not a finite real number")
        point[s] = _fraction(value, f"at: {s.name}")
    if missing:
        raise SuperlossError("the weights are symbolic, so a point is needed: give at= values for "
                             + ", ".join(missing))
    return point


#: Derived terms by circuit, output, pattern and the signs of all cut events:
#: equal signs mean equal cells, hence the same formula (reused across regimes).
_TERMS: dict = {}
_TERMS_MAX = 20_000


def _term(planes_exact: TermPlanes, planes_sym: TermPlanes | None, point: dict,
          circuit_key: tuple = ()) -> tuple[object, set]:
    """One term's integral over its cube (before dividing by the cube's volume),
    in the symbolic field if ``planes_sym`` is given, and its signed factors."""
    geo, cells = cells_of_term(planes_exact)
    if planes_sym is None:
        return integrate_cells(geo, cells, planes_exact, lambda v: list(geo.points[v])), set()
    key = (circuit_key, planes_exact.i, planes_exact.A, frozenset(geo.events.items()))
    if key not in _TERMS:
        if len(_TERMS) >= _TERMS_MAX:
            _TERMS.clear()
        _TERMS[key] = _symbolic_term(geo, cells, planes_sym)
    total, factors = _TERMS[key]
    return total, signed(factors, point)


def _symbolic_term(geo, cells, planes_sym: TermPlanes) -> tuple[object, list]:
    """The integral in the fraction field, and the irreducible factors of the
    values of the cutting functions at the vertices (the regime's conditions)."""
    cache: dict[tuple, list] = {}

    def coords(v: int) -> list:
        keys = independent_planes(geo, v)
        if keys not in cache:
            rows, rhs = [], []
            for key in keys:
                a, c = planes_sym.plane(key)
                rows.append(a)
                rhs.append(-c)
            cache[keys] = solve(rows, rhs) if keys else []
        return cache[keys]

    factors: dict = {}
    seen: set = set()
    for (key, v), s in geo.events.items():
        a, c = planes_sym.plane(key)
        value = sum((x * y for x, y in zip(a, coords(v))), c)
        if s == 0:
            if value:
                raise OnBoundary(key)
            continue
        if value in seen:
            continue
        seen.add(value)
        if not value:
            raise AssertionError(f"plane {key} vanishes identically at a vertex but not at the witness")
        factors.update(dict.fromkeys(irreducible_factors(value)))
    return integrate_cells(geo, cells, planes_sym, coords), list(factors)


def _unpack(circuit: Circuit, values: Sequence) -> tuple[list, list, list, list]:
    """``W1, W2, b1, b2`` as nested lists from the flat ``circuit.entries()`` order."""
    n, m = circuit.n, circuit.m
    it = iter(values)
    W1 = [[next(it) for _ in range(n)] for _ in range(m)]
    W2 = [[next(it) for _ in range(m)] for _ in range(n)]
    return W1, W2, [next(it) for _ in range(m)], [next(it) for _ in range(n)]


def _patterns(circuit: Circuit, law):
    """Every output ``i`` with every pattern ``A`` of nonzero probability."""
    for i in range(circuit.n):
        for A, prob in law.pattern_probabilities(circuit.n, circuit.receptive_field(i)).items():
            if prob != 0:
                yield i, A, prob


def _derive_float(circuit: Circuit, law, importance: tuple):
    """All terms for float weights: exact formulas evaluated in float64. The
    cells of a pattern are shared by its outputs, so patterns go outside."""
    W1, W2, b1, b2 = (np.array(x, dtype=float) for x in _unpack(circuit, [float(e) for e in circuit.entries()]))
    low, high = float(law.low), float(law.high)
    by_pattern: dict[frozenset, dict[int, sp.Expr]] = {}
    for i, A, prob in _patterns(circuit, law):
        by_pattern.setdefault(A, {})[i] = prob
    terms, probability = {}, {}
    for A, outputs in by_pattern.items():
        totals = term_integrals(W1, W2, b1, b2, tuple(sorted(A)), circuit.hidden, circuit.output,
                                circuit.target, low, high, outputs=list(outputs))
        for i, prob in outputs.items():
            terms[(i, A)] = importance[i] * sp.Float(totals[i] / (high - low) ** len(A))
            probability[(i, A)] = prob
    return terms, probability, set()


def _derive(circuit: Circuit, law, importance: tuple, point: dict | None):
    """All terms in exact arithmetic: in the fraction field of the weights at
    ``point``, or in rationals for numeric weights (``point`` is ``None``)."""
    # Floats are taken at their exact binary value, so that the fraction field is exact.
    entries = [e.xreplace({f: sp.Rational(f) for f in e.atoms(sp.Float)}) for e in circuit.entries()]
    if point is not None:
        domain, elems = construct_domain(entries, field=True)
        if not (domain.is_FractionField or domain.is_QQ or domain.is_ZZ) or (
                domain.is_FractionField and not all(isinstance(g, sp.Symbol) for g in domain.symbols)):
            raise SuperlossError(f"weights must be rational functions of the symbols with rational "
                                 f"coefficients (SymPy chose the domain {domain})")
        symbolic = _unpack(circuit, elems)
        numbers = [_fraction(e.subs(point), "a weight") for e in entries]
    else:
        domain, symbolic = None, None
        numbers = [_fraction(e, "a weight") for e in entries]
    exact = _unpack(circuit, numbers)
    circuit_key = (tuple(entries), circuit.hidden, circuit.output, circuit.target, law.low, law.high)
    low, high = _fraction(law.low, "low"), _fraction(law.high, "high")
    terms, probability, factors = {}, {}, set()
    for i, A, prob in _patterns(circuit, law):
        shape = dict(i=i, A=tuple(sorted(A)), hidden=circuit.hidden, output=circuit.output,
                     target=circuit.target, feeds=tuple(circuit.feeds(i)))
        planes_exact = TermPlanes(*exact, **shape, one=Fraction(1), low=low, high=high)
        planes_sym = None
        if domain is not None:
            planes_sym = TermPlanes(*symbolic, **shape, one=domain.one, low=domain.convert(_rational(low)),
                                    high=domain.convert(_rational(high)))
        total, term_factors = _term(planes_exact, planes_sym, point, circuit_key)
        factors |= term_factors
        volume = (high - low) ** len(A)
        value = domain.to_sympy(total / domain.convert(_rational(volume))) if domain else _rational(total / volume)
        terms[(i, A)] = importance[i] * value
        probability[(i, A)] = prob
    return terms, probability, factors


def _rational(x: Fraction) -> sp.Rational:
    return sp.Rational(x.numerator, x.denominator)


def _assemble(terms: dict, probability: dict, law) -> sp.Expr:
    """``sum P(A) * term``, collected by powers of the density ``p = 1 - S`` when
    one symbol ``S`` is the sparsity of every feature: ``sum_k (1 - S)**k * C_k``.
    Each ``C_k`` stays a sum of the terms' own fractions, which reads better
    than one fraction over their common denominator."""
    S = law.sparsity if isinstance(law, SparseUniform) else None
    if not (isinstance(S, sp.Symbol)):
        return sp.Add(*[probability[k] * terms[k] for k in terms])
    p = sp.Dummy("p")
    by_power: dict[int, list] = {}
    for k, term in terms.items():
        for (power,), coeff in sp.Poly(probability[k].subs(S, 1 - p), p).terms():
            by_power.setdefault(power, []).append(coeff * term)
    out = []
    for power in sorted(by_power):
        C = sp.Add(*by_power[power])
        if C.is_Number:
            C = C if C.is_Rational else sp.Float(C)
        if C != 0:
            # Unevaluated, so that a number times (1 - S) is not multiplied out.
            out.append(sp.Mul(C, (1 - S) ** power, evaluate=False) if power else C)
    return sp.Add(*out)


def expected_loss(circuit: Circuit, law: SparseUniform | OneHot, importance: Sequence | None = None,
                  at: Mapping | None = None, seed: int = 0, exact: bool | None = None) -> Loss:
    """The exact ``E[sum_i I_i (y_i - y'_i)^2]`` of ``circuit`` under ``law``.

    Numeric weights give one expression, valid everywhere (``S`` and ``I`` may be
    symbols). Symbolic weights need a point ``at`` (symbol -> number); the result
    is the formula of the regime containing it, with ``.conditions``. On a regime
    boundary the formula of an adjacent regime is returned (the loss is
    continuous) and ``on_boundary`` is set; ``seed`` fixes which one.

    Float weights are integrated with the same exact formulas in float64;
    ``exact=True`` takes them at their exact binary value in rationals instead.
    """
    if not isinstance(circuit, Circuit):
        raise SuperlossError(f"expected a Circuit, got {type(circuit).__name__}")
    if not isinstance(law, (SparseUniform, OneHot)):
        raise SuperlossError(f"expected a feature law (SparseUniform or OneHot), got {type(law).__name__}")
    if isinstance(law, SparseUniform):
        law.sparsity_of(circuit.n)
    importance = _importance(importance, circuit.n)
    floats = any(e.has(sp.Float) for e in circuit.entries())
    if circuit.is_numeric:
        use_floats = floats if exact is None else not exact
        derive = _derive_float if use_floats else (lambda c, l, i: _derive(c, l, i, None))
        terms, probability, _ = derive(circuit, law, importance)
        return Loss(_assemble(terms, probability, law), terms, probability, circuit, law, importance)

    point = _point(circuit, at)
    rng = Random(seed)
    for attempt in range(12):
        # On a boundary, step off it in a random direction, shorter each time,
        # until the adjacent regime found there holds at the point (closure).
        step = Fraction(1, 10 ** (2 + attempt))
        witness = point if attempt == 0 else {
            s: v + step * (1 + abs(v)) * Fraction(rng.randint(-1000, 1000), 1000) for s, v in point.items()}
        try:
            terms, probability, factors = _derive(circuit, law, importance, witness)
        except OnBoundary:
            continue
        regime = Regime.from_factors(factors)
        if attempt and not regime.holds(point, strict=False):
            continue
        return Loss(_assemble(terms, probability, law), terms, probability, circuit, law, importance,
                    regime, {s: _rational(v) for s, v in point.items()},
                    {s: _rational(v) for s, v in witness.items()}, on_boundary=attempt > 0)
    raise SuperlossError("could not find a regime next to the point; it may lie where many boundaries meet")
