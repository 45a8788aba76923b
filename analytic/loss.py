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

import sympy as sp
from sympy.polys.constructor import construct_domain

from .circuit import Circuit
from .errors import SuperlossError
from .integrate import TermPlanes, cells_of_term, independent_planes, integrate_cells, solve
from .laws import OneHot, SparseUniform
from .regime import Regime, sign_factors


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

    @property
    def free_symbols(self) -> set:
        return self.expr.free_symbols

    def value(self, values: Mapping | None = None) -> sp.Expr:
        """The loss with ``values`` substituted (symbol -> number)."""
        return self.expr.subs(dict(values or {}))

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {sp.latex(self.expr)}$"

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
            raise SuperlossError("importances must be numbers or SymPy expressions (parse text with analytic.spec)")
        if v.is_number and not v >= 0:
            raise SuperlossError(f"importance {v} is negative; importances must be >= 0")
    return values


def _fraction(value: sp.Expr, what: str) -> Fraction:
    value = sp.nsimplify(value, rational=True) if isinstance(value, sp.Float) else sp.sympify(value)
    if not value.is_Rational:
        raise SuperlossError(f"{what} = {value} is not rational; give a rational number or a float")
    return Fraction(int(value.p), int(value.q))


def _exact(value) -> sp.Rational:
    """Floats are taken at their exact binary value: rationalised, not rounded."""
    return sp.Rational(value) if isinstance(value, sp.Float) else value


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
        value = sp.sympify(at[key])
        if not value.is_number or not value.is_finite or not value.is_real:
            raise SuperlossError(f"at: {s.name} = {value} is not a finite real number")
        point[s] = _fraction(_exact(value), f"at: {s.name}")
    if missing:
        raise SuperlossError("the weights are symbolic, so a point is needed: give at= values for "
                             + ", ".join(missing))
    return point


def _term(circuit: Circuit, planes_exact: TermPlanes, planes_sym: TermPlanes | None,
          point: dict) -> tuple[object, set]:
    """One term's integral over its cube (before dividing by the cube's volume),
    in the symbolic field if ``planes_sym`` is given, and its sign factors."""
    geo, cells = cells_of_term(planes_exact)
    if planes_sym is None:
        return integrate_cells(geo, cells, planes_exact, lambda v: list(geo.points[v])), set()

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

    factors: set = set()
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
        factors |= sign_factors(value, point)
    return integrate_cells(geo, cells, planes_sym, coords), factors


def _derive(circuit: Circuit, law, importance: tuple, point: dict | None):
    """All terms of the loss at ``point`` (``None`` for numeric weights)."""
    n = circuit.n
    entries = [_exact(e) for e in circuit.entries()]
    if point is not None:
        domain, elems = construct_domain(entries, field=True)
        if not (domain.is_FractionField or domain.is_QQ or domain.is_ZZ):
            raise SuperlossError(f"weights must be rational functions of the symbols with rational "
                                 f"coefficients (SymPy chose the domain {domain})")
        if domain.is_FractionField and not all(isinstance(g, sp.Symbol) for g in domain.symbols):
            raise SuperlossError("weights must be rational functions of the symbols, got "
                                 + ", ".join(str(g) for g in domain.symbols if not isinstance(g, sp.Symbol)))
        numbers = [_fraction(e.subs(point), "a weight") for e in entries]
        to_expr = domain.to_sympy
    else:
        domain, elems = None, None
        numbers = [_fraction(e, "a weight") for e in entries]

    def unpack(values, one):
        m = circuit.m
        it = iter(values)
        W1 = [[next(it) for _ in range(n)] for _ in range(m)]
        W2 = [[next(it) for _ in range(m)] for _ in range(n)]
        b1 = [next(it) for _ in range(m)]
        b2 = [next(it) for _ in range(n)]
        return W1, W2, b1, b2

    exact = unpack(numbers, Fraction(1))
    symbolic = unpack(elems, domain.one) if domain is not None else None
    low, high = _fraction(law.low, "low"), _fraction(law.high, "high")
    terms, probability, factors = {}, {}, set()
    for i in range(n):
        field_ = circuit.receptive_field(i)
        for A, prob in law.pattern_probabilities(n, field_).items():
            if prob == 0:
                continue
            A_ = tuple(sorted(A))

            def planes(weights, one, lo, hi):
                return TermPlanes(*weights, i=i, A=A_, hidden=circuit.hidden, output=circuit.output,
                                  target=circuit.target, one=one, low=lo, high=hi)

            planes_exact = planes(exact, Fraction(1), low, high)
            planes_sym = None
            if symbolic is not None:
                planes_sym = planes(symbolic, domain.one, domain.convert(sp.Rational(low.numerator, low.denominator)),
                                    domain.convert(sp.Rational(high.numerator, high.denominator)))
            total, term_factors = _term(circuit, planes_exact, planes_sym, point)
            factors |= term_factors
            volume = (high - low) ** len(A_)
            if symbolic is not None:
                value = to_expr(total / domain.convert(sp.Rational(volume.numerator, volume.denominator)))
            else:
                value = sp.Rational((total / volume).numerator, (total / volume).denominator)
            terms[(i, A)] = importance[i] * value
            probability[(i, A)] = prob
    return terms, probability, factors


def _assemble(terms: dict, probability: dict, law, floats: bool) -> sp.Expr:
    """``sum P(A) * term`` collected by powers of the density ``p = 1 - S``."""
    if isinstance(law, SparseUniform) and not isinstance(law.sparsity, tuple) and law.sparsity.is_Symbol:
        S = law.sparsity
        p = sp.Dummy("p")
        total = sp.Add(*[sp.expand(probability[k].subs(S, 1 - p)) * terms[k] for k in terms])
        total = sp.collect(sp.expand(total), p, evaluate=False)
        expr = sp.Add(*[sp.factor_terms(sp.together(c)) * m.subs(p, 1 - S) for m, c in total.items()])
    else:
        expr = sp.Add(*[probability[k] * terms[k] for k in terms])
        expr = sp.expand(expr) if not any(t.free_symbols for t in terms.values()) else expr
    return expr.evalf() if floats else expr


def expected_loss(circuit: Circuit, law: SparseUniform | OneHot, importance: Sequence | None = None,
                  at: Mapping | None = None, seed: int = 0) -> Loss:
    """The exact ``E[sum_i I_i (y_i - y'_i)^2]`` of ``circuit`` under ``law``.

    Numeric weights give one expression, valid everywhere (``S`` and ``I`` may be
    symbols). Symbolic weights need a point ``at`` (symbol -> number); the result
    is the formula of the regime containing it, with ``.conditions``. On a regime
    boundary the formula of an adjacent regime is returned (the loss is
    continuous) and ``on_boundary`` is set; ``seed`` fixes which one.
    """
    if not isinstance(circuit, Circuit):
        raise SuperlossError(f"expected a Circuit, got {type(circuit).__name__}")
    if not isinstance(law, (SparseUniform, OneHot)):
        raise SuperlossError(f"expected a feature law (SparseUniform or OneHot), got {type(law).__name__}")
    if isinstance(law, SparseUniform):
        law.sparsity_of(circuit.n)
    importance = _importance(importance, circuit.n)
    floats = any(isinstance(e, sp.Float) or e.has(sp.Float) for e in circuit.entries())
    if circuit.is_numeric:
        terms, probability, _ = _derive(circuit, law, importance, None)
        return Loss(_assemble(terms, probability, law, floats), terms, probability, circuit, law, importance)

    point = _point(circuit, at)
    witness, rng, on_boundary = dict(point), Random(seed), False
    for attempt in range(12):
        try:
            terms, probability, factors = _derive(circuit, law, importance, witness)
        except OnBoundary:
            # Step off the boundary in a random direction; shrink until the
            # adjacent regime found there still contains the point in its closure.
            on_boundary = True
            scale = Fraction(1, 10 ** (3 + attempt // 2))
            witness = {s: v + scale * (1 + abs(v)) * Fraction(rng.randint(-1000, 1000), 1000)
                       for s, v in point.items()}
            continue
        regime = Regime.from_factors(factors)
        if on_boundary and not regime.holds(point, strict=False):
            scale_fail = True
            witness = {s: v + Fraction(1, 10 ** (4 + attempt)) * (1 + abs(v)) * Fraction(rng.randint(-1000, 1000), 1000)
                       for s, v in point.items()}
            continue
        at_exprs = {s: sp.Rational(v.numerator, v.denominator) for s, v in point.items()}
        wit_exprs = {s: sp.Rational(v.numerator, v.denominator) for s, v in witness.items()}
        return Loss(_assemble(terms, probability, law, floats), terms, probability, circuit, law, importance,
                    regime, at_exprs, wit_exprs, on_boundary)
    raise SuperlossError("could not find a regime next to the point; it may lie where many boundaries meet")
