"""The loss over the whole weight space, regime by regime, from its closed forms.

:class:`RegimeLoss` checks numerically which regime a point lies in, derives
and compiles that regime's closed form the first time it is met
(:func:`analytic.expected_loss`, :func:`numeric.engines.compiled.compile_loss`),
and evaluates it there: the exact value, gradient and Hessian anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import sympy as sp

from analytic import Loss, NumericalError, Problem, SuperlossError, expected_loss
from analytic.regime import Regime

from .compiled import CompiledLoss, compile_loss

__all__ = ["RegimeLoss", "SingularPoint"]


class SingularPoint(NumericalError):
    """A regime's formula divides by zero at the point asked for.

    The loss is continuous there, but the point is a corner where several
    boundaries meet (say ``o_a = 0`` and ``b_a = 0``): the formula of an
    adjacent regime is ``0 / 0`` and its derivatives have no limit.
    """


#: A point belongs to a regime when every factor has its sign there, up to this
#: fraction of the factor's scale: float evaluation of a factor that is exactly
#: zero on the boundary can come out -1e-16, and the loss is continuous there.
_MEMBERSHIP_TOL = 1e-12


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
        return all(v >= -_MEMBERSHIP_TOL * s for v, s in zip(values, self._scales(*w), strict=True))


class RegimeLoss:
    """The loss of ``problem`` over its parameters everywhere, regime by regime.

    At a point ``x`` (``len(params)`` numbers) it checks numerically, with the
    compiled factors of the regimes it knows, which one ``x`` lies in; if none,
    it derives the regime there with :func:`analytic.expected_loss`, compiles it
    and caches it by regime. Every other symbol of the circuit, the law and the
    importances is fixed; fixed weights are put into the circuit before
    deriving (so regimes are slices in the free weights), while ``S`` and
    importances never change the regime and are only substituted numerically.

    The loss is continuous across regimes; its gradient is continuous except at
    kinks, where :meth:`on_boundary` is True and the derivatives are one-sided.
    ``derived`` counts derivations, ``compiled`` the regimes compiled, ``reused``
    the switches to a regime already in the cache.

    >>> from analytic import Circuit, Problem, SparseUniform, sym
    >>> w = sym("w")
    >>> f = RegimeLoss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free=[w]))
    >>> f.gradient([-0.5]), f.gradient([0.5]), f.compiled
    (array([0.16666667]), array([-0.16666667]), 2)
    >>> f.on_boundary([0.0]), f.on_boundary([0.5])
    (True, False)
    """

    def __init__(self, problem: Problem, *, seed: int = 0) -> None:
        problem.require("the closed forms")
        self.problem, self.params, self.seed = problem, problem.params, seed
        #: The circuit with the fixed weights put in: its symbols are the free weights.
        self.circuit = problem.free_circuit
        self.law, self.importance = problem.law, problem.importance
        #: ``S`` and importances: substituted numerically, never re-derived.
        self.fixed = problem.numbers
        #: The free weights, in the order of ``params``; only they move the regime.
        self.weights = tuple(p for p in self.params if p in problem.weights)
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
        x = self.problem.vector(x)
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
        at = {s: sp.Rational(v) for s, v in zip(self.weights, w, strict=True)}
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
            raise SingularPoint(
                f"the {what} of the regime's formula is singular at "
                + ", ".join(f"{p.name} = {v:.6g}" for p, v in zip(self.params, np.ravel(x), strict=True))
            )
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
        loss = expected_loss(self.circuit.subs(dict(zip(self.weights, w, strict=True))), self.law, self.importance)
        values = {**self.fixed, **{p: v for p, v in zip(self.params, x.tolist(), strict=True) if p not in self.weights}}
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
        return any(abs(v) <= tol * s for v, s in zip(values, scales, strict=True))

    def __repr__(self) -> str:
        return (
            f"RegimeLoss(params=[{', '.join(p.name for p in self.params)}], regimes={len(self._pieces)}, "
            f"derived={self.derived})"
        )
