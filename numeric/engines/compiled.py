"""Compiled losses: a closed form as fast numeric value, gradient and Hessian.

:func:`compile_loss` turns an :class:`analytic.Loss` into numeric functions of
chosen parameters, every other symbol fixed. The derivatives are exact (the
quotient rule per term, :mod:`numeric.engines.codegen`), and the code is cached
by loss and parameters, whatever values the other symbols are fixed at.

>>> from analytic import Circuit, SparseUniform, expected_loss, sym
>>> w = sym("w")
>>> loss = expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 1})
>>> f = compile_loss(loss, [w])
>>> f.value([1.0]), f.gradient([1.0]), f.hessian([1.0])
(0.16666666666666666, array([0.]), array([[0.33333333]]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from analytic import Loss, Problem, SuperlossError

from .codegen import Functions

__all__ = ["CompiledLoss", "compile_loss"]


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

    def __init__(self, loss: Loss, problem: Problem, fixed: dict, functions: Functions) -> None:
        self.loss, self.problem = loss, problem
        self.params = params = problem.params
        #: The fixed symbols with their values as given (SymPy numbers).
        self.fixed = fixed
        self._f = functions
        self._fixed_values = tuple(float(fixed[s]) for s in functions.fixed_symbols)
        self.n = len(params)

    def _point(self, x) -> list[float]:
        # Python floats: scalar arithmetic on them is several times faster than on numpy scalars.
        return self.problem.vector(x).tolist()

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


def compile_loss(loss: Loss, params: Sequence[sp.Symbol], fixed: Mapping | None = None) -> CompiledLoss:
    """``loss`` as fast numeric functions of ``params``, the other symbols set by ``fixed``.

    Every free symbol of ``loss.expr`` that is not a param needs a value in
    ``fixed`` (symbols are matched by name, and checked as in :class:`analytic.Problem`),
    else :class:`analytic.SuperlossError`.
    Compiled code is cached by loss and params whatever the fixed values are:
    compiling the same loss at another ``S`` costs nothing.

    >>> from analytic import SparseUniform, expected_loss, sym
    >>> from analytic.presets import CANONICAL, asymmetric_inhibition
    >>> S, kappa = sym("S"), sym("kappa")
    >>> loss = expected_loss(asymmetric_inhibition(), SparseUniform(S), [1, 0.3, 1], at=CANONICAL)
    >>> f = compile_loss(loss, [kappa], fixed={**{s: v for s, v in CANONICAL.items() if s != kappa}, S: 0.9})
    >>> round(f.value([20.0]), 12)
    0.005398539781
    """
    if not isinstance(loss, Loss):
        raise SuperlossError(f"expected an analytic.Loss, got {type(loss).__name__}")
    if isinstance(params, (str, sp.Basic)) or not isinstance(params, Sequence):
        raise SuperlossError("params must be a list of symbols, e.g. [w_a, w_b]")
    problem = Problem(loss.circuit, loss.law, loss.importance, free=params, fixed=fixed)
    params = problem.params
    if not params:
        raise SuperlossError("params is empty; give at least one free parameter")
    needed = set(loss.expr.free_symbols).union(
        *(t.free_symbols | loss.probability[k].free_symbols for k, t in loss.terms.items())
    )
    free = sorted((s for s in needed if s not in params), key=lambda s: s.name)
    missing = [s.name for s in free if s not in problem.fixed]
    if missing:
        raise SuperlossError(
            "fixed has no value for " + ", ".join(missing) + "; every symbol that is not a param needs one"
        )
    fixed_values = {s: problem.fixed[s] for s in free}
    fixed_symbols = tuple(fixed_values)
    key = _loss_key(loss, params, fixed_symbols)
    functions = _COMPILED.get(key)
    if functions is None:
        functions = Functions(loss, params, fixed_symbols)
        if len(_COMPILED) >= _COMPILED_MAX:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = functions
    return CompiledLoss(loss, problem, fixed_values, functions)
