"""Compiled losses: a closed form as fast numeric value, gradient and Hessian.

:func:`compile_loss` turns an :class:`analytic.Loss` into numeric functions of
chosen parameters, every other symbol fixed. The derivatives are exact: each
term of the loss is a rational function ``N / D``, SymPy differentiates the
polynomials ``N`` and ``D`` (sparse polynomials, much cheaper than
differentiating the assembled expression), and the quotient rule, written once
per term, is compiled with ``sympy.lambdify(..., "numpy")``.
:class:`RegimeLoss` covers the whole weight space: it derives and compiles the
regime a point lies in, once per regime.

Why this way, measured on the canonical motif with its ten weights free (one
core of a busy machine; compile = differentiate + lambdify): ``sympy.diff`` of
the assembled ``loss.expr`` then ``lambdify(cse=True)`` took 16-23 s;
``sympy.diff`` term by term 9-14 s (``cancel`` or ``together`` first did not
help: the terms already are ``N / D``); polynomial derivatives with
``sympy.cse`` 5-8 s, most of it in ``cse``; this module 1.3-2 s, because the
monomials the polynomials share are known from their exponents instead of
searched for. Per call its code is within about 25% of the ``sympy.cse`` code.

>>> from analytic import Circuit, SparseUniform, expected_loss, sym
>>> w = sym("w")
>>> loss = expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 1})
>>> f = compile_loss(loss, [w])
>>> f.value([1.0]), f.gradient([1.0]), f.hessian([1.0])
(0.16666666666666666, array([0.]), array([[0.33333333]]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.polys.polyerrors import CoercionFailed
from sympy.polys.rings import PolyElement, PolyRing
from sympy.printing.numpy import NumPyPrinter

from analytic import Circuit, Loss, SuperlossError, expected_loss
from analytic.regime import Regime

__all__ = ["CompiledLoss", "RegimeLoss", "SingularPoint", "compile_loss"]


# --- naming symbols and values ---------------------------------------------------------------

def _name(key) -> str:
    return key.name if isinstance(key, sp.Symbol) else str(key)


def _resolve_params(params: Sequence, known: Mapping[str, sp.Symbol], what: str) -> tuple[sp.Symbol, ...]:
    """The loss's own symbols for ``params``, matched by name: ``sp.Symbol("w_a")``
    and ``analytic.sym("w_a")`` (which is real) are different SymPy objects."""
    if isinstance(params, (str, sp.Basic)) or not isinstance(params, Sequence):
        raise SuperlossError("params must be a list of symbols, e.g. [w_a, w_b]")
    names = [_name(p) for p in params]
    if not names:
        raise SuperlossError("params is empty; give at least one free parameter")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SuperlossError("params repeat " + ", ".join(repeated))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SuperlossError(f"params {', '.join(unknown)} are not symbols of {what} "
                             f"(its symbols: {', '.join(sorted(known)) or 'none'})")
    return tuple(known[n] for n in names)


def _number(value, name: str) -> sp.Expr:
    """A fixed value as a finite real SymPy number (exact when given exactly)."""
    if isinstance(value, str):
        raise SuperlossError(f"fixed: {name} = {value!r} is text; give a number")
    if isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
    try:
        value = sp.sympify(value)
    except (sp.SympifyError, TypeError):
        raise SuperlossError(f"fixed: {name} = {value!r} is not a number") from None
    if not (isinstance(value, sp.Expr) and value.is_number and value.is_real and value.is_finite):
        raise SuperlossError(f"fixed: {name} = {value} is not a finite real number")
    return value


def _resolve_fixed(fixed: Mapping | None, params: tuple, needed: set) -> dict[sp.Symbol, sp.Expr]:
    """``fixed`` keyed by the loss's own symbols, for the ``needed`` symbols that
    are not params. A missing one raises; values for params, or for symbols the
    loss does not have, are ignored (as ``subs`` ignores them)."""
    # Values for params are ignored, so that a whole point such as CANONICAL can be given.
    given = {_name(k): v for k, v in (fixed or {}).items()}
    free = sorted((s for s in needed if s not in params), key=lambda s: s.name)
    missing = [s.name for s in free if s.name not in given]
    if missing:
        raise SuperlossError("fixed has no value for " + ", ".join(missing) + "; every symbol that is not a "
                             "param needs one")
    return {s: _number(given[s.name], s.name) for s in free}


def _exact(value: sp.Expr) -> sp.Rational:
    """An exact rational: rationals as they are, floats (and anything else
    numeric) at the exact binary value of the float, as ``expected_loss`` takes
    float weights."""
    return value if value.is_Rational else sp.Rational(float(value))


# --- straight-line code ----------------------------------------------------------------------

#: The printer lambdify uses for "numpy", told not to sort the terms of sums:
#: sorting thousands of generated terms was a quarter of the compile time.
_PRINTER_SETTINGS = {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                     "user_functions": {}, "order": "none"}


class _Code:
    """Straight-line code ``symbol = expr`` for lambdify, built from polynomials.

    Every monomial of every polynomial is computed once, as one product of an
    earlier monomial and one variable; a polynomial is then one sum of
    coefficient * monomial. This is the common-subexpression elimination that
    ``sympy.cse`` finds on these expressions, known here from the exponents
    instead of searched for (``sympy.cse`` took half the compile time).
    """

    def __init__(self, args: Sequence[sp.Symbol]) -> None:
        self.args = tuple(args)
        self.assignments: list[tuple[sp.Symbol, sp.Expr]] = []
        self._monomials: dict[tuple, sp.Expr] = {}
        self._named: dict[sp.Expr, sp.Expr] = {}
        self._fresh = sp.numbered_symbols("t", cls=sp.Dummy)

    def monomial(self, exponents: tuple) -> sp.Expr:
        known = self._monomials.get(exponents)
        if known is not None:
            return known
        last = max((k for k, e in enumerate(exponents) if e), default=None)
        if last is None:
            return sp.S.One
        parent = list(exponents)
        parent[last] -= 1
        parent = tuple(parent)
        if not any(parent):
            out = self.args[last]
        else:
            out = self.let(sp.Mul(self.monomial(parent), self.args[last], evaluate=False))
        self._monomials[exponents] = out
        return out

    def poly(self, p: PolyElement) -> sp.Expr:
        """``p`` as one sum of coefficient * monomial (unevaluated: nothing to sort)."""
        terms = []
        for exponents, c in p.terms():
            c = sp.Rational(int(c.numerator), int(c.denominator))
            m = self.monomial(exponents)
            # Unevaluated, so that 3/10*m prints as (3/10)*m, which Python folds to one constant.
            terms.append(c if m == 1 else m if c == 1 else sp.Mul(c, m, evaluate=False))
        if not terms:
            return sp.S.Zero
        return terms[0] if len(terms) == 1 else sp.Add(*terms, evaluate=False)

    def let(self, expr: sp.Expr) -> sp.Expr:
        """A name for ``expr``, once per distinct expression (atoms stay themselves)."""
        if expr.is_Atom:
            return expr
        name = self._named.get(expr)
        if name is None:
            name = next(self._fresh)
            self.assignments.append((name, expr))
            self._named[expr] = name
        return name

    def compile(self, outputs: list[sp.Expr]) -> Callable:
        # lambdify's cse hook takes (assignments, outputs): ours are already made.
        return sp.lambdify(list(self.args), outputs, "numpy", printer=NumPyPrinter(_PRINTER_SETTINGS),
                           cse=lambda exprs: (self.assignments, exprs))


class _Symbolic:
    """The same interface as :class:`_Code`, producing plain SymPy expressions."""

    @staticmethod
    def poly(p: PolyElement) -> sp.Expr:
        return p.as_expr()

    @staticmethod
    def let(expr: sp.Expr) -> sp.Expr:
        return expr


# --- one term and its derivatives ------------------------------------------------------------

class _Term:
    """One term ``P * N / D`` of the loss: pattern probability ``P``, and the
    conditional expectation as polynomials ``N`` and ``D`` (or, if it is not a
    rational function with rational coefficients, a SymPy expression)."""

    def __init__(self, probability: sp.Expr, term: sp.Expr, params: tuple, ring: PolyRing) -> None:
        # Floats (float weights, importances or sparsities) are taken at their
        # exact binary value, as expected_loss takes them: the polynomial
        # arithmetic stays exact, and no float is printed into the code (lambdify
        # prints 15 digits, not enough to give the same double back).
        self.P, self.term = (e.xreplace({f: sp.Rational(f) for f in e.atoms(sp.Float)})
                             for e in (probability, term))
        self.params, self.ring = params, ring
        self.parts = self._polynomials(self.term, ring)
        if self.parts is not None:
            N, D = self.parts
            self.indices = [i for i in range(len(params)) if N.degree(i) > 0 or D.degree(i) > 0]
        else:
            self.indices = [i for i, p in enumerate(params) if self.term.has(p)]
        self.p_indices = [i for i, p in enumerate(params) if self.P.has(p)]

    @staticmethod
    def _polynomials(term: sp.Expr, ring: PolyRing) -> tuple[PolyElement, PolyElement] | None:
        # Terms come as N / D already; together() (a tenth of the compile time) only if not.
        for form in (term, sp.together(term)):
            num, den = sp.fraction(form)
            try:
                N, D = ring.from_expr(num), ring.from_expr(den)
                break
            except (ValueError, CoercionFailed):
                continue
        else:
            return None
        if D.is_ground:
            return N * (1 / D.LC), ring.one
        return N, D

    @cached_property
    def _first(self) -> tuple[dict, dict]:
        N, D = self.parts
        gens = self.ring.gens
        return {i: N.diff(gens[i]) for i in self.indices}, {i: D.diff(gens[i]) for i in self.indices}

    def emit(self, out, order: int) -> tuple[sp.Expr, dict, dict]:
        """``(t, {i: t_i}, {(i, j): t_ij})``: the term ``t = N / D`` without its
        probability and its derivatives up to ``order`` (``i <= j``), through
        ``out`` (a :class:`_Code` or :class:`_Symbolic`)."""
        if self.parts is None:
            return self._emit_general(out, order)
        N, D = self.parts
        first: dict = {}
        second: dict = {}
        polynomial = D == self.ring.one

        def named(p: PolyElement) -> sp.Expr:
            # Polynomials get names before they meet other expressions: an
            # evaluated sum would re-sort (and re-collect) their terms.
            return out.let(out.poly(p))

        if polynomial:
            t = named(N)
        else:
            # Divide (N / D prints as one division), rather than D**(-1.0), a slower power.
            D_ = named(D)
            t = out.let(named(N) / D_)
        if order == 0:
            return t, first, second
        dN, dD = self._first
        for i in self.indices:
            # (N/D)_i = (N_i - t D_i) / D, with t and D already named.
            expr = named(dN[i]) if polynomial else (named(dN[i]) - t * named(dD[i])) / D_
            if expr != 0:
                first[i] = out.let(expr)
        if order == 1:
            return t, first, second
        gens = self.ring.gens
        for a, i in enumerate(self.indices):
            for j in self.indices[a:]:
                Nij = dN[i].diff(gens[j])
                if polynomial:
                    expr = named(Nij)
                else:
                    # Differentiate t_i D = N_i - t D_i once more and solve for t_ij.
                    expr = (named(Nij) - first.get(j, 0) * named(dD[i]) - first.get(i, 0) * named(dD[j])
                            - t * named(dD[i].diff(gens[j]))) / D_
                if expr != 0:
                    second[(i, j)] = out.let(expr)
        return t, first, second

    def _emit_general(self, out, order: int) -> tuple[sp.Expr, dict, dict]:
        """The same with ``sympy.diff`` on the expression."""
        t = out.let(self.term)
        first: dict = {}
        second: dict = {}
        if order >= 1:
            d1 = {i: sp.diff(self.term, self.params[i]) for i in self.indices}
            first = {i: out.let(e) for i, e in d1.items() if e != 0}
            if order >= 2:
                for a, i in enumerate(self.indices):
                    for j in self.indices[a:]:
                        e = sp.diff(d1[i], self.params[j])
                        if e != 0:
                            second[(i, j)] = out.let(e)
        return t, first, second

    def contribute(self, out, order: int, value: list, gradient: dict, hessian: dict) -> None:
        """Add ``P * t`` and its derivatives to the running sums (product rule
        when the probability depends on a parameter, e.g. a free ``S``)."""
        t, first, second = self.emit(out, order)
        P = out.let(self.P)
        value.append(P * t)
        if order == 0:
            return
        dP = {i: sp.diff(self.P, self.params[i]) for i in self.p_indices}
        for i in sorted(set(first) | set(dP)):
            gradient.setdefault(i, []).append(P * first.get(i, 0) + dP.get(i, 0) * t)
        if order == 1:
            return
        both = sorted(set(self.indices) | set(self.p_indices))
        for a, i in enumerate(both):
            for j in both[a:]:
                e = P * second.get((i, j), 0)
                if dP:
                    e += (dP.get(i, 0) * first.get(j, 0) + dP.get(j, 0) * first.get(i, 0)
                          + sp.diff(dP.get(i, 0), self.params[j]) * t)
                if e != 0:
                    hessian.setdefault((i, j), []).append(e)


def _sums(terms: list[_Term], out, order: int) -> tuple[list, dict, dict]:
    value: list = []
    gradient: dict = {}
    hessian: dict = {}
    for term in terms:
        term.contribute(out, order, value, gradient, hessian)
    return value, gradient, hessian


class _Functions:
    """The compiled code of one loss for one list of params. The fixed symbols
    are trailing arguments, so the code serves every value they are fixed at."""

    def __init__(self, loss: Loss, params: tuple, fixed_symbols: tuple) -> None:
        self.params, self.fixed_symbols = params, fixed_symbols
        args = list(params) + list(fixed_symbols)
        ring = PolyRing(args, sp.QQ)
        self.terms = [_Term(loss.probability[k], t, params, ring) for k, t in loss.terms.items()
                      if t != 0 and loss.probability[k] != 0]
        self.n = len(params)
        # One program per function, so that value() does not pay for derivatives;
        # derivatives are compiled when first asked for (a global search needs values only).
        code = _Code(args)
        value, _, _ = _sums(self.terms, code, 0)
        self.value = code.compile([sp.Add(*value)])

    @cached_property
    def gradient(self) -> tuple[np.ndarray, Callable]:
        """The indices of the params the loss depends on, and their derivatives' code."""
        code = _Code(self.params + self.fixed_symbols)
        _, gradient, _ = _sums(self.terms, code, 1)
        return np.array(sorted(gradient), dtype=int), code.compile([sp.Add(*gradient[i]) for i in sorted(gradient)])

    @cached_property
    def hessian(self) -> tuple[np.ndarray, np.ndarray, Callable]:
        """Rows and columns of the upper triangle's nonzero entries, and their code."""
        code = _Code(self.params + self.fixed_symbols)
        _, _, hessian = _sums(self.terms, code, 2)
        upper = sorted(hessian)
        return (np.array([i for i, _ in upper], dtype=int), np.array([j for _, j in upper], dtype=int),
                code.compile([sp.Add(*hessian[k]) for k in upper]))

    @cached_property
    def value_expr(self) -> sp.Expr:
        value, _, _ = _sums(self.terms, _Symbolic, 0)
        return sp.Add(*value)

    @cached_property
    def gradient_expr(self) -> sp.ImmutableMatrix:
        _, gradient, _ = _sums(self.terms, _Symbolic, 1)
        return sp.ImmutableMatrix([sp.Add(*gradient.get(i, [])) for i in range(self.n)])

    @cached_property
    def hessian_expr(self) -> sp.ImmutableMatrix:
        _, _, hessian = _sums(self.terms, _Symbolic, 2)
        H = [[sp.S.Zero] * self.n for _ in range(self.n)]
        for (i, j), parts in hessian.items():
            H[i][j] = H[j][i] = sp.Add(*parts)
        return sp.ImmutableMatrix(H)


# --- compiled losses ------------------------------------------------------------------------

class CompiledLoss:
    """A loss as numeric functions of ``params``, every other symbol fixed.

    ``value(x)``, ``gradient(x)`` and ``hessian(x)`` take ``len(params)``
    numbers in the order of ``params``; ``values(X)`` takes an array of shape
    ``(..., len(params))`` and returns shape ``X.shape[:-1]``. ``value_expr``,
    ``gradient_expr`` (a column) and ``hessian_expr`` are the exact symbolic
    forms, in ``params`` and the fixed symbols (``.subs(fixed)`` sets those).

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> w, S = sym("w"), sym("S")
    >>> loss = expected_loss(Circuit([[w]], [[1]]), SparseUniform(S), at={w: -1})
    >>> f = compile_loss(loss, [w], fixed={S: 0.5})
    >>> f.value([-0.5]), f.gradient([-0.5])
    (0.10416666666666666, array([0.08333333]))
    >>> f.gradient_expr
    Matrix([[(1 - S)*(w/3 + 1/3)]])
    """

    def __init__(self, loss: Loss, params: tuple, fixed: dict, functions: _Functions) -> None:
        self.loss = loss
        self.params = params
        #: The fixed symbols with their values as given (SymPy numbers).
        self.fixed = fixed
        self._f = functions
        self._fixed_values = tuple(float(fixed[s]) for s in functions.fixed_symbols)
        self.n = len(params)

    def _point(self, x) -> list[float]:
        x = np.asarray(x, dtype=float)
        if x.shape != (self.n,):
            raise SuperlossError(f"expected a point of {self.n} numbers "
                                 f"({', '.join(p.name for p in self.params)}), got shape {x.shape}")
        # Python floats: scalar arithmetic on them is several times faster than on numpy scalars.
        return x.tolist()

    def value(self, x) -> float:
        """The loss at ``x``."""
        return float(self._f.value(*self._point(x), *self._fixed_values)[0])

    def gradient(self, x) -> np.ndarray:
        """The exact gradient at ``x``, shape ``(len(params),)``."""
        index, code = self._f.gradient
        out = np.zeros(self.n)
        out[index] = code(*self._point(x), *self._fixed_values)
        return out

    def hessian(self, x) -> np.ndarray:
        """The exact Hessian at ``x``, shape ``(len(params), len(params))``."""
        rows, cols, code = self._f.hessian
        out = np.zeros((self.n, self.n))
        upper = code(*self._point(x), *self._fixed_values)
        out[rows, cols] = upper
        out[cols, rows] = upper
        return out

    def values(self, X) -> np.ndarray:
        """The loss at every point of ``X``, shape ``(..., len(params))``, vectorised.

        On a grid of two params: ``X = np.stack(np.meshgrid(a, b, indexing="ij"),
        axis=-1)`` gives the loss as an array of shape ``(len(a), len(b))``.
        """
        X = np.asarray(X, dtype=float)
        if X.ndim == 0 or X.shape[-1] != self.n:
            raise SuperlossError(f"expected points with {self.n} coordinates in the last axis, got shape {X.shape}")
        out = self._f.value(*(X[..., i] for i in range(self.n)), *self._fixed_values)[0]
        # A loss that does not depend on the params comes back as one number.
        return np.broadcast_to(np.asarray(out, dtype=float), X.shape[:-1]).copy()

    @property
    def value_expr(self) -> sp.Expr:
        """The loss as ``sum P * N / D`` over its terms (equal to ``loss.expr``)."""
        return self._f.value_expr

    @property
    def gradient_expr(self) -> sp.ImmutableMatrix:
        """The exact gradient: a column of SymPy expressions, quotient rule per term."""
        return self._f.gradient_expr

    @property
    def hessian_expr(self) -> sp.ImmutableMatrix:
        """The exact Hessian: a symmetric matrix of SymPy expressions."""
        return self._f.hessian_expr

    def __repr__(self) -> str:
        fixed = ", ".join(f"{s.name}={v}" for s, v in self.fixed.items())
        return f"CompiledLoss(params=[{', '.join(p.name for p in self.params)}], fixed={{{fixed}}})"


#: Compiled code by loss (its terms and probabilities), params and fixed symbols.
_COMPILED: dict = {}
_COMPILED_MAX = 256


def _loss_key(loss: Loss, params: tuple, fixed_symbols: tuple) -> tuple:
    terms = frozenset((k, loss.probability[k], t) for k, t in loss.terms.items())
    return terms, params, fixed_symbols


def _loss_symbols(loss: Loss) -> dict[str, sp.Symbol]:
    """Every symbol the loss may depend on: of its terms, circuit, law and importances."""
    symbols = set(loss.expr.free_symbols) | set(loss.circuit.symbols) | set(getattr(loss.law, "symbols", ()))
    for v in loss.importance:
        symbols |= v.free_symbols
    return {s.name: s for s in symbols}


def compile_loss(loss: Loss, params: Sequence[sp.Symbol], fixed: Mapping | None = None) -> CompiledLoss:
    """``loss`` as fast numeric functions of ``params``, the other symbols set by ``fixed``.

    Every free symbol of ``loss.expr`` that is not a param needs a value in
    ``fixed`` (symbols are matched by name), else :class:`analytic.SuperlossError`.
    Compiled code is cached by loss and params whatever the fixed values are:
    compiling the same loss at another ``S`` costs nothing.

    >>> from analytic import SparseUniform, expected_loss, sym
    >>> from analytic.circuits import CANONICAL, asymmetric_inhibition
    >>> S, kappa = sym("S"), sym("kappa")
    >>> loss = expected_loss(asymmetric_inhibition(), SparseUniform(S), [1, 0.3, 1], at=CANONICAL)
    >>> f = compile_loss(loss, [kappa], fixed={**CANONICAL, S: 0.9})
    >>> round(f.value([20.0]), 12)
    0.005398539781
    """
    if not isinstance(loss, Loss):
        raise SuperlossError(f"expected an analytic.Loss, got {type(loss).__name__}")
    params = _resolve_params(params, _loss_symbols(loss), "the loss")
    needed = set(loss.expr.free_symbols).union(
        *(t.free_symbols | loss.probability[k].free_symbols for k, t in loss.terms.items()))
    fixed_values = _resolve_fixed(fixed, params, needed)
    fixed_symbols = tuple(fixed_values)
    key = _loss_key(loss, params, fixed_symbols)
    functions = _COMPILED.get(key)
    if functions is None:
        functions = _Functions(loss, params, fixed_symbols)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = functions
    return CompiledLoss(loss, params, fixed_values, functions)


# --- regime-aware losses --------------------------------------------------------------------

class SingularPoint(SuperlossError):
    """A regime's formula divides by zero at the point asked for.

    The loss is continuous there, but the point is a corner where several
    boundaries meet (say ``o_a = 0`` and ``b_a = 0``): the formula of an
    adjacent regime is ``0 / 0`` and its derivatives have no limit.
    """


#: A point belongs to a regime when every factor has its sign there, up to this
#: fraction of the factor's scale: float evaluation of a factor that is exactly
#: zero on the boundary can come out -1e-16, and the loss is continuous there.
_MEMBERSHIP_TOL = 1e-12


def free_circuit(circuit: Circuit, law, importance: Sequence | None, params: Sequence,
                 fixed: Mapping | None) -> tuple[tuple, dict, dict, Circuit]:
    """``(params, values, fixed_weights, circuit)``: the params as the circuit's,
    the law's or the importances' own symbols; the values of every other symbol;
    those of them that are weights, exactly; and the circuit with them put in."""
    if not isinstance(circuit, Circuit):
        raise SuperlossError(f"expected a Circuit, got {type(circuit).__name__}")
    weights = set(circuit.symbols)
    known = weights | set(getattr(law, "symbols", ()))
    for v in importance or ():
        if isinstance(v, sp.Basic):
            known |= v.free_symbols
    params = _resolve_params(params, {s.name: s for s in known}, "the circuit, its law or its importances")
    values = _resolve_fixed(fixed, params, known)
    fixed_weights = {s: _exact(v) for s, v in values.items() if s in weights}
    return params, values, fixed_weights, circuit.subs(fixed_weights) if fixed_weights else circuit


class _Piece:
    """One regime: its loss, the compiled loss, and the signed factors compiled
    as numeric functions of the free weights."""

    def __init__(self, loss: Loss, compiled: CompiledLoss, weights: tuple) -> None:
        self.loss, self.compiled, self.weights = loss, compiled, weights
        self.factors = sorted(loss.regime.factors, key=sp.default_sort_key) if loss.regime else []
        # Signed so that each is positive inside the regime. Scalars only, hence
        # "math"; no CSE: on the motif's 53 small factors it cost 0.2 s to save 3 us a check.
        self._signed = sp.lambdify(list(weights), [s * f for f, s in self.factors], "math")

    @cached_property
    def _scales(self) -> Callable:
        # A factor's scale: the sum of the absolute values of its monomials, so
        # that "near zero" means cancellation, whatever the units of the weights.
        scales = [sp.Add(*[sp.Abs(t) for t in sp.Add.make_args(sp.expand(f))]) for f, _ in self.factors]
        return sp.lambdify(list(self.weights), scales, "math")

    def margins(self, w: list[float]) -> tuple[list[float], list[float]]:
        """Signed factor values (positive inside) and their scales at ``w``."""
        return self._signed(*w), self._scales(*w)

    def contains(self, w: list[float]) -> bool:
        """Whether ``w`` lies in the regime or on its boundary (up to rounding)."""
        if not self.factors:
            return True
        values = self._signed(*w)
        if min(values) >= 0:
            return True
        return all(v >= -_MEMBERSHIP_TOL * s for v, s in zip(values, self._scales(*w)))


class RegimeLoss:
    """The loss over ``params`` everywhere, regime by regime.

    At a point ``x`` (``len(params)`` numbers) it checks numerically, with the
    compiled factors of the regimes it knows, which one ``x`` lies in; if none,
    it derives the regime there with :func:`analytic.expected_loss`, compiles it
    and caches it by regime. ``fixed`` gives every other symbol of the circuit,
    the law and the importances; fixed weights are put into the circuit before
    deriving (so regimes are slices in the free weights), while ``S`` and
    importances never change the regime and are only substituted numerically.

    The loss is continuous across regimes; its gradient is continuous except at
    kinks, where :meth:`on_boundary` is True and the derivatives are one-sided.
    ``derived`` counts derivations, ``compiled`` the regimes compiled, ``reused``
    the switches to a regime already in the cache.

    >>> from analytic import Circuit, SparseUniform, sym
    >>> w = sym("w")
    >>> f = RegimeLoss(Circuit([[w]], [[1]]), SparseUniform(0), None, [w])
    >>> f.gradient([-0.5]), f.gradient([0.5]), f.compiled
    (array([0.16666667]), array([-0.16666667]), 2)
    >>> f.on_boundary([0.0]), f.on_boundary([0.5])
    (True, False)
    """

    def __init__(self, circuit: Circuit, law, importance: Sequence | None, params: Sequence[sp.Symbol],
                 fixed: Mapping | None = None, *, seed: int = 0) -> None:
        self.params, values, fixed_weights, circuit = free_circuit(circuit, law, importance, params, fixed)
        weights = set(circuit.symbols) | set(fixed_weights)
        #: The circuit with the fixed weights put in: its symbols are the free weights.
        self.circuit = circuit
        self.law, self.importance, self.seed = law, importance, seed
        #: ``S`` and importances: substituted numerically, never re-derived.
        self.fixed = {s: v for s, v in values.items() if s not in weights}
        self.fixed_weights = fixed_weights
        #: The free weights, in the order of ``params``; only they move the regime.
        self.weights = tuple(p for p in self.params if p in weights)
        self._weight_index = [self.params.index(w) for w in self.weights]
        self._pieces: dict[Regime | None, _Piece] = {}
        self._current: _Piece | None = None
        self._last: tuple[bytes, _Piece] | None = None
        self.derived = 0
        self.compiled = 0
        self.reused = 0

    @property
    def regimes(self) -> tuple[Loss, ...]:
        """The losses of the regimes compiled so far, in the order they were met."""
        return tuple(piece.loss for piece in self._pieces.values())

    def _point(self, x) -> tuple[np.ndarray, list[float]]:
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.params),):
            raise SuperlossError(f"expected a point of {len(self.params)} numbers "
                                 f"({', '.join(p.name for p in self.params)}), got shape {x.shape}")
        values = x.tolist()
        return x, [values[i] for i in self._weight_index]

    def _piece(self, x) -> _Piece:
        x, w = self._point(x)
        key = x.tobytes()
        # An optimizer asks for value, gradient and Hessian at one point in a row.
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        piece = self._current
        if piece is None or not piece.contains(w):
            piece = next((p for p in self._pieces.values() if p is not self._current and p.contains(w)), None)
            if piece is not None:
                self.reused += 1
            else:
                piece = self._derive(w)
        self._current = piece
        self._last = (key, piece)
        return piece

    def _derive(self, w: list[float]) -> _Piece:
        if not all(np.isfinite(w)):
            raise SuperlossError(f"the weights {w} are not all finite")
        # Floats at their exact binary value: the regime derived then holds at
        # exactly the point the numeric check was made for (a rounded point, e.g.
        # limit_denominator(10**12), can fall across a boundary the float is next
        # to, and the same point would be derived again and again). The point only
        # picks the regime: the formula does not depend on it.
        at = {s: sp.Rational(v) for s, v in zip(self.weights, w)}
        loss = expected_loss(self.circuit, self.law, self.importance, at=at, seed=self.seed)
        self.derived += 1
        piece = self._pieces.get(loss.regime)
        if piece is None:
            compiled = compile_loss(loss, self.params, self.fixed)
            piece = _Piece(loss, compiled, self.weights)
            self._pieces[loss.regime] = piece
            self.compiled += 1
        return piece

    def _evaluate(self, x, what: str):
        piece = self._piece(x)
        try:
            out = getattr(piece.compiled, what)(x)
        except ZeroDivisionError:
            out = None
        if out is None or not np.all(np.isfinite(out)):
            raise SingularPoint(f"the {what} of the regime's formula is singular at "
                                + ", ".join(f"{p.name} = {v:.6g}" for p, v in zip(self.params, np.ravel(x))))
        return out

    def value(self, x) -> float:
        """The loss at ``x``; where the regime's formula is singular, the value
        of the numeric engine at the point (the loss is continuous)."""
        try:
            return self._evaluate(x, "value")
        except SingularPoint:
            return self._engine_value(x)

    def _engine_value(self, x) -> float:
        x, w = self._point(x)
        loss = expected_loss(self.circuit.subs(dict(zip(self.weights, w))), self.law, self.importance)
        values = {**self.fixed, **{p: v for p, v in zip(self.params, x.tolist()) if p not in self.weights}}
        return float(loss.expr.subs(values))

    def gradient(self, x) -> np.ndarray:
        """The exact gradient at ``x`` (one-sided on a boundary); raises
        :class:`SingularPoint` where the formula is singular."""
        return self._evaluate(x, "gradient")

    def hessian(self, x) -> np.ndarray:
        """The exact Hessian at ``x`` (one-sided on a boundary); raises
        :class:`SingularPoint` where the formula is singular."""
        return self._evaluate(x, "hessian")

    def regime_at(self, x) -> Loss:
        """The loss of the regime ``x`` lies in (an adjacent one on a boundary)."""
        return self._piece(x).loss

    def compiled_at(self, x) -> CompiledLoss:
        """The compiled loss of the regime ``x`` lies in."""
        return self._piece(x).compiled

    def on_boundary(self, x, tol: float = 1e-9) -> bool:
        """Whether some factor of the regime at ``x`` is within ``tol`` of zero,
        relative to its scale (the sum of its monomials' absolute values): there
        the loss has a kink or a curvature jump, and the Hessian is one-sided."""
        piece = self._piece(x)
        values, scales = piece.margins(self._point(x)[1])
        return any(abs(v) <= tol * s for v, s in zip(values, scales))

    def __repr__(self) -> str:
        return (f"RegimeLoss(params=[{', '.join(p.name for p in self.params)}], regimes={len(self._pieces)}, "
                f"derived={self.derived})")
