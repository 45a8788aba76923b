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

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from random import Random

import numpy as np
import sympy as sp
from sympy.polys.constructor import construct_domain

from .algebraic import Fractions, Real, RealField, canonical, generators
from .circuit import Circuit
from .errors import NumericalError, SuperlossError
from .integrate import TermPlanes, cells_of_term, independent_planes, integrate_cells, solve
from .laws import LAWS, FeatureLaw
from .names import check_names
from .problem import Problem
from .regime import Regime, irreducible_factors, signed
from .serialize import from_tree, to_tree
from .simplices import term_integrals
from .symbols import sym

#: What :meth:`Loss.to_dict` writes as ``format``, so that a file says what it holds.
FORMAT = "superloss.loss/1"


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
    itself unless ``on_boundary``). ``names`` (symbol name -> LaTeX, a spec's ``[latex]``
    table; :meth:`with_names`) names symbols in every LaTeX output of this loss.
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
    names: dict = field(default_factory=dict)

    @property
    def conditions(self) -> tuple:
        """Strict inequalities in the weights that hold exactly on this regime."""
        return self.regime.conditions if self.regime else ()

    def value(self, values: Mapping | None = None) -> sp.Expr:
        """The loss with ``values`` substituted (symbols or their names -> numbers, never text)."""
        return self.expr.subs(_values(values or {}))

    def with_names(self, names: Mapping | None) -> Loss:
        """This loss with LaTeX names for some symbols (name or symbol -> LaTeX), used by its
        display and its LaTeX exports unless they are given others."""
        return replace(self, names=check_names(names))

    def subs(self, values: Mapping) -> Loss:
        """This loss with some symbols fixed (symbols or their names as keys, numbers or SymPy
        expressions as values): ``loss.subs({"S": Rational(9, 10)})``. A weight fixed outside
        the regime is refused, since the formula does not hold there; its closure is allowed
        (the loss is continuous).

        >>> from analytic import SparseUniform
        >>> w, S = sym("w"), sym("S")
        >>> expected_loss(Circuit([[w]], [[1]]), SparseUniform(S), at={w: 1}).subs({"w": 2}).expr
        1/3 - S/3
        """
        values = _values(values)
        known = self.expr.free_symbols | set(self.circuit.symbols) | self.law.symbols | set(self.at)
        unknown = sorted(s.name for s in values if s not in known)
        if unknown:
            raise SuperlossError(f"{', '.join(unknown)}: not a symbol of this loss")
        factors = set()
        for factor, sign in self.regime.factors if self.regime else ():
            f = sp.expand(factor.subs(values))
            if f.free_symbols:
                factors.add((f, sign))
            elif sign * f < 0:
                fixed = ", ".join(f"{s} = {v}" for s, v in values.items())
                condition = Regime.condition((factor, sign))
                raise SuperlossError(f"{fixed} lies outside the regime of this formula: {condition} fails")
        keep = {s: v for s, v in self.at.items() if s not in values}
        return Loss(
            self.expr.subs(values),
            {k: sp.sympify(t).subs(values) for k, t in self.terms.items()},
            {k: sp.sympify(p).subs(values) for k, p in self.probability.items()},
            self.circuit.subs(values),
            self.law.subs(values),
            tuple(sp.sympify(i).subs(values) for i in self.importance),
            Regime.from_factors(factors) if self.regime else None,
            keep,
            {s: v for s, v in self.witness.items() if s not in values},
            self.on_boundary,
            self.names,
        )

    def diff(self, *symbols) -> sp.Expr:
        """The derivative of the formula (symbols or their names; several for higher orders):
        exact inside the regime, where the formula holds."""
        return self.expr.diff(*(sym(s) if isinstance(s, str) else s for s in symbols))

    def lambdify(self) -> Callable:
        """The loss as a numpy function of its symbols by name (arrays broadcast);
        ``.names`` lists them.

        >>> from analytic import SparseUniform
        >>> w, S = sym("w"), sym("S")
        >>> f = expected_loss(Circuit([[w]], [[1]]), SparseUniform(S), at={w: 1}).lambdify()
        >>> f.names, float(f(S=0.5, w=1.0))
        (('S', 'w'), 0.08333333333333333)
        """
        symbols = sorted(self.expr.free_symbols, key=lambda s: s.name)
        names = tuple(s.name for s in symbols)
        function = sp.lambdify(symbols, self.expr, "numpy")

        def loss(**values):
            missing, unknown = sorted(set(names) - set(values)), sorted(set(values) - set(names))
            if missing or unknown:
                raise SuperlossError(
                    f"the loss takes {', '.join(names) or 'no arguments'}: "
                    + "; ".join(
                        f"{what} {', '.join(v)}" for what, v in (("missing", missing), ("unknown", unknown)) if v
                    )
                )
            return function(*(np.asarray(values[n], dtype=float) for n in names))

        loss.names = names
        return loss

    def to_dict(self) -> dict:
        """Everything :meth:`from_dict` needs to rebuild this loss, JSON-ready: expressions as
        trees (:mod:`analytic.serialize`), the formula (which :meth:`from_dict` rebuilds from
        the terms) also as text and LaTeX for reading."""
        c, tree = self.circuit, to_tree

        def matrix(M):
            return [[tree(M[r, k]) for k in range(M.cols)] for r in range(M.rows)]

        def parameter(value):
            return [tree(v) for v in value] if isinstance(value, tuple) else tree(value)

        return {
            "format": FORMAT,
            "expr": str(self.expr),
            "latex": sp.latex(self.expr),
            "terms": [
                {
                    "output": i,
                    "pattern": sorted(A),
                    "probability": tree(self.probability[(i, A)]),
                    "expectation": tree(t),
                }
                for (i, A), t in self.terms.items()
            ],
            "circuit": {
                "W1": matrix(c.W1),
                "W2": matrix(c.W2),
                "b1": [tree(v) for v in c.b1],
                "b2": [tree(v) for v in c.b2],
                "hidden": c.hidden,
                "output": c.output,
                "target": c.target,
                "features": list(c.features),
            },
            "law": {"kind": self.law.kind, **{k: parameter(v) for k, v in self.law.parameters().items()}},
            "importance": [tree(i) for i in self.importance],
            "regime": None if self.regime is None else [{"factor": tree(f), "sign": s} for f, s in self.regime.factors],
            "at": {s.name: tree(v) for s, v in self.at.items()},
            "witness": {s.name: tree(v) for s, v in self.witness.items()},
            "on_boundary": self.on_boundary,
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, data: Mapping, *, what: str = "loss") -> Loss:
        """The loss :meth:`to_dict` wrote; anything else raises a one-line
        :class:`~analytic.errors.SuperlossError` naming ``what``."""
        try:
            if data.get("format") != FORMAT:
                raise SuperlossError(f"{what}: not a loss written by superloss ({FORMAT!r} expected as 'format')")

            def tree(node, where: str):
                return from_tree(node, what=f"{what}: {where}")

            def point(name: str) -> dict:
                return {sym(s): tree(v, f"{name} {s}") for s, v in data[name].items()}

            c = data["circuit"]
            circuit = Circuit(
                *([[tree(e, k) for e in row] for row in c[k]] for k in ("W1", "W2")),
                *([tree(e, k) for e in c[k]] for k in ("b1", "b2")),
                hidden=c["hidden"],
                output=c["output"],
                target=c["target"],
                features=c["features"],
            )
            law = dict(data["law"])
            kind = law.pop("kind")
            if kind not in LAWS:
                raise SuperlossError(f"{what}: unknown law {kind!r} (one of {', '.join(LAWS)})")
            law = LAWS[kind](
                **{k: tuple(tree(x, k) for x in v) if isinstance(v, list) else tree(v, k) for k, v in law.items()}
            )
            importance = tuple(tree(i, "importance") for i in data["importance"])
            n = circuit.n
            if len(importance) != n:
                raise SuperlossError(f"{what}: {len(importance)} importances for {n} features")
            terms, probability = {}, {}
            for term in data["terms"]:
                key = (int(term["output"]), frozenset(int(a) for a in term["pattern"]))
                if not 0 <= key[0] < n or not key[1] <= set(range(n)):
                    raise SuperlossError(
                        f"{what}: a term of output {key[0]}, pattern {sorted(key[1])}, for {n} features"
                    )
                terms[key] = tree(term["expectation"], "a term")
                probability[key] = tree(term["probability"], "a probability")
            regime = data["regime"]
            if regime is not None:
                regime = Regime.from_factors((tree(f["factor"], "the regime"), int(f["sign"])) for f in regime)
            return cls(
                # The formula from its terms, as expected_loss assembles it: the two cannot disagree.
                _assemble(terms, probability, law, n),
                terms,
                probability,
                circuit,
                law,
                importance,
                regime,
                point("at"),
                point("witness"),
                bool(data["on_boundary"]),
                check_names(data.get("names")),
            )
        except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, RecursionError) as exc:
            raise SuperlossError(f"{what}: not a loss written by superloss ({type(exc).__name__}: {exc})") from None

    @classmethod
    def load(cls, path: str | Path) -> Loss:
        """The loss in a JSON file: one :meth:`to_dict` wrote, or the ``superloss derive --json`` file
        that holds it under ``"loss"``."""
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise SuperlossError(f"cannot read {path}: {type(exc).__name__}: {exc}") from None
        if isinstance(data, dict) and "loss" in data:
            data = data["loss"]
        if not isinstance(data, dict):
            raise SuperlossError(f"{path}: not a loss written by superloss")
        return cls.from_dict(data, what=str(path))

    def _repr_latex_(self) -> str:
        """In Jupyter, a few lines (:func:`analytic.latex.summary`): the formula by powers of
        ``p``, long coefficients named with their size, the regime in one line."""
        from .latex import summary  # the LaTeX layer builds on this module

        return summary(self)

    def __str__(self) -> str:
        lines = [f"L = {self.expr}"]
        if self.regime:
            lines.append("valid where " + ", ".join(map(str, self.conditions)))
            if self.on_boundary:
                lines.append("(the point lies on a regime boundary; this is an adjacent regime's formula)")
        return "\n".join(lines)


def _values(values: Mapping) -> dict:
    """``values`` keyed by symbols (names allowed), their values numbers or SymPy expressions, never text."""
    out = {}
    for key, value in dict(values).items():
        if isinstance(value, str):
            raise SuperlossError(f"the value of {key} is text; give a number or a SymPy expression")
        out[sym(key) if isinstance(key, str) else key] = sp.sympify(value)
    return out


def _fraction(value, what: str) -> Fraction:
    """An exact fraction; floats are taken at their exact binary value, not rounded."""
    value = sp.Rational(value) if isinstance(value, sp.Float) else sp.sympify(value)
    if not value.is_Rational:
        raise SuperlossError(f"{what} = {value} is not rational; give a rational number or a float")
    return Fraction(int(value.p), int(value.q))


def _point(circuit: Circuit, at: Mapping | None) -> dict[sp.Symbol, Fraction]:
    """The point ``at`` of the circuit's symbolic weights, exactly, in the order of
    ``circuit.symbols``; every weight needs a value, and a name that is not one is refused."""
    weights = {s.name: s for s in circuit.symbols}
    given = {}
    for key, value in (at or {}).items():
        name = key.name if isinstance(key, sp.Symbol) else str(key)
        if name not in weights:
            raise SuperlossError(
                f"at: {name} is not a symbolic weight of the circuit (its symbolic weights: "
                f"{', '.join(weights) or 'none'}); the point picks the regime of the weights"
            )
        given[name] = value
    missing = [name for name in weights if name not in given]
    if missing:
        raise SuperlossError(
            "the weights are symbolic, so a point is needed: give at= values for " + ", ".join(missing)
        )
    point = {}
    for name, s in weights.items():
        value = given[name]
        if isinstance(value, str):
            # Text is parsed by analytic.expression's whitelist grammar, never sympified here.
            raise SuperlossError(
                f"at: {name} = {value!r} is text; give a number (or parse it with analytic.expression.parse_expression)"
            )
        value = sp.sympify(value)
        if not value.is_number or not value.is_finite or not value.is_real:
            raise SuperlossError(f"at: {name} = {value} is not a finite real number")
        point[s] = _fraction(value, f"at: {name}")
    return point


#: Derived terms by circuit, output, pattern and the signs of all cut events:
#: equal signs mean equal cells, hence the same formula (reused across regimes).
_TERMS: dict = {}
_TERMS_MAX = 20_000


def _term(
    planes_exact: TermPlanes, planes_sym: TermPlanes | None, point: dict, circuit_key: tuple = ()
) -> tuple[object, set]:
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
    at_vertex: dict[int, list] = {}

    def coords(v: int) -> list:
        if v not in at_vertex:
            keys = independent_planes(geo, v)
            if keys not in cache:
                rows, rhs = [], []
                for key in keys:
                    a, c = planes_sym.plane(key)
                    rows.append(a)
                    rhs.append(-c)
                cache[keys] = solve(rows, rhs) if keys else []
            at_vertex[v] = cache[keys]
        return at_vertex[v]

    factors: dict = {}
    seen: set = set()
    for (key, v), s in geo.events.items():
        a, c = planes_sym.plane(key)
        value = sum((x * y for x, y in zip(a, coords(v), strict=True)), c)
        if s == 0:
            if value:
                raise OnBoundary(key)
            continue
        if value in seen:
            continue
        seen.add(value)
        if not value:
            raise AssertionError(f"plane {key} vanishes identically at a vertex but not at the witness")
        factors.update(dict.fromkeys(irreducible_factors(canonical(value))))
    return integrate_cells(geo, cells, planes_sym, coords), list(factors)


def _derive_float(problem: Problem):
    """All terms for float weights: exact formulas evaluated in float64. The
    cells of a pattern are shared by its outputs, so patterns go outside."""
    circuit, law, importance = problem.circuit, problem.law, problem.importance
    W1, W2, b1, b2 = (np.array(x, dtype=float) for x in circuit.layout.unpack([float(e) for e in circuit.entries()]))
    low, high = float(law.low), float(law.high)
    by_pattern: dict[frozenset, dict[int, sp.Expr]] = {}
    for i, A, prob in problem.patterns():
        by_pattern.setdefault(A, {})[i] = prob
    terms, probability = {}, {}
    for A, outputs in by_pattern.items():
        totals = term_integrals(
            W1,
            W2,
            b1,
            b2,
            tuple(sorted(A)),
            circuit.hidden,
            circuit.output,
            circuit.target,
            low,
            high,
            outputs=list(outputs),
        )
        for i, prob in outputs.items():
            terms[(i, A)] = importance[i] * sp.Float(totals[i] / (high - low) ** len(A))
            probability[(i, A)] = prob
    return terms, probability, set()


def _derive(problem: Problem, point: dict | None):
    """All terms in exact arithmetic: in the fraction field of the weights at
    ``point``, or in rationals for numeric weights (``point`` is ``None``). Weights
    with irrational numbers (``sqrt(5)``, ``cos(2*pi/5)``) are held in their real
    number field (:mod:`analytic.algebraic`), which decides signs exactly too."""
    circuit, law, importance = problem.circuit, problem.law, problem.importance
    # Floats are taken at their exact binary value, so that the fraction field is exact.
    entries = [e.xreplace({f: sp.Rational(f) for f in e.atoms(sp.Float)}) for e in circuit.entries()]
    gens = generators(entries)
    field = RealField.of(gens) if gens else None
    number = field or (lambda value: _fraction(value, "a weight"))
    if point is not None:
        if field is None:
            domain, elems = construct_domain(entries, field=True)
            if not (domain.is_FractionField or domain.is_QQ or domain.is_ZZ) or (
                domain.is_FractionField and not all(isinstance(g, sp.Symbol) for g in domain.symbols)
            ):
                raise SuperlossError(
                    f"weights must be rational functions of the symbols with rational "
                    f"coefficients (SymPy chose the domain {domain})"
                )
        else:
            symbols = sorted(set().union(*(e.free_symbols for e in entries)), key=sp.default_sort_key)
            domain = Fractions.of(field, tuple(symbols))
            elems = [domain.from_sympy(e) for e in entries]
        symbolic = circuit.layout.unpack(elems)
        numbers = [number(e.subs(point)) for e in entries]
    else:
        domain, symbolic = None, None
        numbers = [number(e) for e in entries]
    exact = circuit.layout.unpack(numbers)
    circuit_key = (tuple(entries), circuit.hidden, circuit.output, circuit.target, law.low, law.high)
    low, high = _fraction(law.low, "low"), _fraction(law.high, "high")
    one = field.one if field else Fraction(1)
    terms, probability, factors = {}, {}, set()
    for i, A, prob in problem.patterns():
        shape = dict(
            i=i,
            A=tuple(sorted(A)),
            hidden=circuit.hidden,
            output=circuit.output,
            target=circuit.target,
            feeds=tuple(circuit.feeds(i)),
        )
        planes_exact = TermPlanes(*exact, **shape, one=one, low=one * low, high=one * high)
        planes_sym = None
        if domain is not None:
            planes_sym = TermPlanes(
                *symbolic,
                **shape,
                one=domain.one,
                low=domain.convert(_rational(low)),
                high=domain.convert(_rational(high)),
            )
        total, term_factors = _term(planes_exact, planes_sym, point, circuit_key)
        factors |= term_factors
        volume = (high - low) ** len(A)
        value = domain.to_sympy(total / domain.convert(_rational(volume))) if domain else _sympy(total / volume)
        terms[(i, A)] = importance[i] * value
        probability[(i, A)] = prob
    return terms, probability, factors


def _sympy(x: Fraction | Real) -> sp.Expr:
    return x.to_sympy() if isinstance(x, Real) else _rational(x)


def _rational(x: Fraction) -> sp.Rational:
    return sp.Rational(x.numerator, x.denominator)


def _assemble(terms: dict, probability: dict, law: FeatureLaw, n: int) -> sp.Expr:
    """``sum P(A) * term``, collected by powers of the density ``p = 1 - S`` when
    one symbol ``S`` is the sparsity of every feature: ``sum_k (1 - S)**k * C_k``.
    Each ``C_k`` stays a sum of the terms' own fractions, which reads better
    than one fraction over their common denominator."""
    S = law.density(n)
    if S is None:
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
            factor = (1 - S) ** power
            out.append(C if not power else factor if C == 1 else sp.Mul(C, factor, evaluate=False))
    return sp.Add(*out)


def expected_loss(
    circuit: Circuit | Problem,
    law: FeatureLaw | None = None,
    importance: Sequence | None = None,
    at: Mapping | None = None,
    seed: int = 0,
    exact: bool | None = None,
) -> Loss:
    """The exact ``E[sum_i I_i (y_i - y'_i)^2]`` of ``circuit`` under ``law``, or of a
    :class:`~analytic.problem.Problem` with its fixed values put in.

    Numeric weights give one expression, valid everywhere (``S`` and ``I`` may be
    symbols). Symbolic weights need a point ``at`` (symbol -> number); the result
    is the formula of the regime containing it, with ``.conditions``. On a regime
    boundary the formula of an adjacent regime is returned (the loss is
    continuous) and ``on_boundary`` is set; ``seed`` fixes which one.

    Float weights are integrated with the same exact formulas in float64;
    ``exact=True`` takes them at their exact binary value in rationals instead.
    """
    if isinstance(circuit, Problem):
        if law is not None or importance is not None:
            raise SuperlossError("give a problem, or a circuit with its law and importances, not both")
        problem = circuit.substituted()
    else:
        problem = Problem(circuit, law, importance)
    circuit, law, importance = problem.circuit, problem.law, problem.importance
    # Derived in fewer, simpler numbers; the loss keeps the circuit as given.
    problem = Problem(circuit.collapsed(), law, importance)
    floats = any(e.has(sp.Float) for e in circuit.entries())
    if circuit.is_numeric:
        use_floats = floats if exact is None else not exact
        terms, probability, _ = _derive_float(problem) if use_floats else _derive(problem, None)
        return Loss(_assemble(terms, probability, law, circuit.n), terms, probability, circuit, law, importance)

    point = _point(circuit, at)
    rng = Random(seed)
    for attempt in range(12):
        # On a boundary, step off it in a random direction, shorter each time,
        # until the adjacent regime found there holds at the point (closure).
        step = Fraction(1, 10 ** (2 + attempt))
        witness = (
            point
            if attempt == 0
            else {s: v + step * (1 + abs(v)) * Fraction(rng.randint(-1000, 1000), 1000) for s, v in point.items()}
        )
        try:
            terms, probability, factors = _derive(problem, witness)
        except OnBoundary:
            continue
        regime = Regime.from_factors(factors)
        if attempt and not regime.holds(point, strict=False):
            continue
        return Loss(
            _assemble(terms, probability, law, circuit.n),
            terms,
            probability,
            circuit,
            law,
            importance,
            regime,
            {s: _rational(v) for s, v in point.items()},
            {s: _rational(v) for s, v in witness.items()},
            on_boundary=attempt > 0,
        )
    raise NumericalError("could not find a regime next to the point; it may lie where many boundaries meet")
