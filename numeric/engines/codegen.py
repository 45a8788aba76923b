"""Straight-line code for a closed form and its exact derivatives.

Each term of a loss is a rational function ``N / D`` of the parameters. SymPy
differentiates the polynomials ``N`` and ``D`` (sparse polynomials, much cheaper
than differentiating the assembled expression), the quotient rule is written
once per term, and the result is compiled with ``sympy.lambdify(..., "numpy")``
(:class:`Functions`). Every monomial the polynomials share is computed once
(:class:`_Code`), known from its exponents instead of searched for.

Why this way, measured on the canonical motif with its ten weights free (one
core of a busy machine; compile = differentiate + lambdify): ``sympy.diff`` of
the assembled ``loss.expr`` then ``lambdify(cse=True)`` took 16-23 s;
``sympy.diff`` term by term 9-14 s (``cancel`` or ``together`` first did not
help: the terms already are ``N / D``); polynomial derivatives with
``sympy.cse`` 5-8 s, most of it in ``cse``; this module 1.3-2 s. Per call its
code is within about 25% of the ``sympy.cse`` code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property

import numpy as np
import sympy as sp
from sympy.polys.polyerrors import CoercionFailed
from sympy.polys.rings import PolyElement, PolyRing
from sympy.printing.numpy import NumPyPrinter

from analytic import Loss

__all__ = ["Functions"]

# --- straight-line code ----------------------------------------------------------------------

#: The printer lambdify uses for "numpy", told not to sort the terms of sums:
#: sorting thousands of generated terms was a quarter of the compile time.
_PRINTER_SETTINGS = {
    "fully_qualified_modules": False,
    "inline": True,
    "allow_unknown_functions": True,
    "user_functions": {},
    "order": "none",
}


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
        return sp.lambdify(
            list(self.args),
            outputs,
            "numpy",
            printer=NumPyPrinter(_PRINTER_SETTINGS),
            cse=lambda exprs: (self.assignments, exprs),
        )


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
        self.P, self.term = (e.xreplace({f: sp.Rational(f) for f in e.atoms(sp.Float)}) for e in (probability, term))
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
                    expr = (
                        named(Nij)
                        - first.get(j, 0) * named(dD[i])
                        - first.get(i, 0) * named(dD[j])
                        - t * named(dD[i].diff(gens[j]))
                    ) / D_
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
                    e += (
                        dP.get(i, 0) * first.get(j, 0)
                        + dP.get(j, 0) * first.get(i, 0)
                        + sp.diff(dP.get(i, 0), self.params[j]) * t
                    )
                if e != 0:
                    hessian.setdefault((i, j), []).append(e)


def _sums(terms: list[_Term], out, order: int) -> tuple[list, dict, dict]:
    value: list = []
    gradient: dict = {}
    hessian: dict = {}
    for term in terms:
        term.contribute(out, order, value, gradient, hessian)
    return value, gradient, hessian


class Functions:
    """The compiled code of one loss for one list of params. The fixed symbols
    are trailing arguments, so the code serves every value they are fixed at."""

    def __init__(self, loss: Loss, params: tuple, fixed_symbols: tuple) -> None:
        self.params, self.fixed_symbols = params, fixed_symbols
        args = list(params) + list(fixed_symbols)
        ring = PolyRing(args, sp.QQ)
        self.terms = [
            _Term(loss.probability[k], t, params, ring)
            for k, t in loss.terms.items()
            if t != 0 and loss.probability[k] != 0
        ]
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
        return (
            np.array([i for i, _ in upper], dtype=int),
            np.array([j for _, j in upper], dtype=int),
            code.compile([sp.Add(*hessian[k]) for k in upper]),
        )

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
