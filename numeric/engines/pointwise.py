"""The exact loss and its gradient at numeric parameters, without a closed form.

:class:`PointwiseLoss` evaluates ``E[sum_i I_i (y_i - y'_i)^2]`` of a
parametrised circuit at one point: the weights are put in as floats and every
(output, pattern) term is integrated exactly in float64 by
:mod:`analytic.simplices`, with its gradient in every weight
(:func:`analytic.simplices.pattern_gradient`); the chain rule through the
circuit's weight map (each weight an expression of the parameters) gives the
gradient in the parameters. Nothing is derived symbolically, so every point
costs the same, in whichever regime it lies: this is what a search that
wanders across many regimes needs. The closed forms
(:class:`numeric.engines.regimes.RegimeLoss`) then certify the point it finds.

>>> from analytic import Circuit, Problem, SparseUniform, sym
>>> w = sym("w")
>>> f = PointwiseLoss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free=[w]))
>>> value, gradient = f.value_and_gradient([0.5])   # 1/3 - w/3 + w^2/6 and -1/3 + w/3
>>> round(value, 12), gradient.round(12)
(0.208333333333, array([-0.16666667]))
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from analytic import Problem
from analytic.simplices import pattern_gradient, term_integrals

from .weights import WeightMap

__all__ = ["PointwiseLoss"]


class PointwiseLoss:
    """The loss of ``problem`` over its parameters (weights of the circuit), every
    other symbol fixed."""

    def __init__(self, problem: Problem) -> None:
        problem.require("the pointwise engine", weights_only=True)
        self.problem = problem
        self.params = problem.params
        self.circuit = problem.free_circuit
        self._map = WeightMap(problem)
        #: The values of the symbols that are not weights (the sparsity, the importances).
        self.numbers = numbers = problem.numbers
        self._entries = sp.lambdify(list(self.params), self._map.entries, "math")
        self._jacobian = sp.lambdify(list(self.params), self._map.derivatives, "math")
        law = problem.law
        self._low, self._high = float(law.low), float(law.high)
        weight = [v.subs(numbers) for v in problem.importance]
        # Patterns by active set: the outputs that see each, with probability * importance / volume.
        self._patterns: dict[tuple, dict[int, float]] = {}
        for i, A, prob in problem.patterns():
            factor = float(sp.sympify(prob).subs(numbers) * weight[i]) / (self._high - self._low) ** len(A)
            if factor:
                self._patterns.setdefault(tuple(sorted(A)), {})[i] = factor

    def weights(self, x) -> list[np.ndarray]:
        """``[W1, W2, b1, b2]`` at the point ``x`` (float arrays)."""
        return self._map.layout.split(np.array(self._entries(*self.problem.vector(x).tolist()), dtype=float))

    def value(self, x) -> float:
        """The exact loss at ``x`` (float64 rounding only)."""
        W1, W2, b1, b2 = self.weights(x)
        c = self.circuit
        return float(
            sum(
                factor * integrals[i]
                for A, outputs in self._patterns.items()
                for integrals in [
                    term_integrals(
                        W1, W2, b1, b2, A, c.hidden, c.output, c.target, self._low, self._high, outputs=list(outputs)
                    )
                ]
                for i, factor in outputs.items()
            )
        )

    def value_and_gradient(self, x) -> tuple[float, np.ndarray]:
        """The exact loss at ``x`` and its gradient in the params (at a kink:
        the derivative of the side where the unit is off)."""
        W1, W2, b1, b2 = self.weights(x)
        c = self.circuit
        value = 0.0
        entries = np.zeros(len(self._map.entries))
        for A, outputs in self._patterns.items():
            v, *parts = pattern_gradient(
                W1, W2, b1, b2, A, c.hidden, c.output, c.target, self._low, self._high, outputs
            )
            value += v
            entries += np.concatenate([p.ravel() for p in parts])
        return value, self.pullback(x, entries)

    def pullback(self, x, entries: np.ndarray) -> np.ndarray:
        """The gradient in the params at ``x`` of a function whose gradient in the
        weights is ``entries`` (``W1, W2, b1, b2`` flattened and concatenated): the
        chain rule through the exact Jacobian of the weight map."""
        jacobian = np.array(self._jacobian(*np.asarray(x, dtype=float).tolist()), dtype=float)
        return self._map.pullback(np.asarray(entries), jacobian)
