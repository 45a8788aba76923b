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
(:class:`numeric.compile.RegimeLoss`) then certify the point it finds.

>>> from analytic import Circuit, SparseUniform, sym
>>> w = sym("w")
>>> f = PointwiseLoss(Circuit([[w]], [[1]]), SparseUniform(0), None, [w])
>>> value, gradient = f.value_and_gradient([0.5])   # 1/3 - w/3 + w^2/6 and -1/3 + w/3
>>> round(value, 12), gradient.round(12)
(0.208333333333, array([-0.16666667]))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import sympy as sp

from analytic import Circuit, SuperlossError
from analytic.simplices import pattern_gradient, term_integrals

from .compile import free_circuit

__all__ = ["PointwiseLoss"]


class PointwiseLoss:
    """The loss over ``params`` (weights of ``circuit``), every other symbol of
    the circuit, the law and the importances fixed by ``fixed``."""

    def __init__(self, circuit: Circuit, law, importance: Sequence | None, params: Sequence[sp.Symbol],
                 fixed: Mapping | None = None) -> None:
        self.params, values, _, self.circuit = free_circuit(circuit, law, importance, params, fixed)
        weights = set(circuit.symbols)
        others = [p.name for p in self.params if p not in weights]
        if others:
            raise SuperlossError(f"{', '.join(others)} are not weights of the circuit; only weights can be "
                                 "optimized (fix the sparsity and the importances)")
        numbers = {s: v for s, v in values.items() if s not in weights}
        #: The values of the symbols that are not weights (the sparsity, the importances).
        self.numbers = numbers
        n, m = self.circuit.n, self.circuit.m
        self._shapes = ((m, n), (n, m), (m,), (n,))
        entries = list(self.circuit.entries())
        self._entries = sp.lambdify(list(self.params), entries, "math")
        # The weight map is sparse (each entry holds one or two parameters): keep its nonzero derivatives only.
        jacobian = [(e, k, sp.diff(entry, p)) for e, entry in enumerate(entries)
                    for k, p in enumerate(self.params) if entry.has(p)]
        self._rows = np.array([e for e, _, _ in jacobian], dtype=int)
        self._cols = np.array([k for _, k, _ in jacobian], dtype=int)
        self._jacobian = sp.lambdify(list(self.params), [d for _, _, d in jacobian], "math")
        self._size = len(entries)
        self._low, self._high = float(law.low), float(law.high)
        weight = [sp.sympify(1 if importance is None else importance[i]).subs(numbers) for i in range(n)]
        # Patterns by active set: the outputs that see each, with probability * importance / volume.
        self._patterns: dict[tuple, dict[int, float]] = {}
        for i in range(n):
            for A, prob in law.pattern_probabilities(n, self.circuit.receptive_field(i)).items():
                factor = sp.sympify(prob).subs(numbers) * weight[i]
                if factor.free_symbols:
                    raise SuperlossError("no value for " + ", ".join(sorted(s.name for s in factor.free_symbols)))
                factor = float(factor) / (self._high - self._low) ** len(A)
                if factor:
                    self._patterns.setdefault(tuple(sorted(A)), {})[i] = factor

    def weights(self, x) -> list[np.ndarray]:
        """``[W1, W2, b1, b2]`` at the point ``x`` (float arrays)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.params),):
            raise SuperlossError(f"expected a point of {len(self.params)} numbers "
                                 f"({', '.join(p.name for p in self.params)}), got shape {x.shape}")
        flat = np.array(self._entries(*x.tolist()), dtype=float)
        out, start = [], 0
        for shape in self._shapes:
            size = int(np.prod(shape))
            out.append(flat[start:start + size].reshape(shape))
            start += size
        return out

    def value(self, x) -> float:
        """The exact loss at ``x`` (float64 rounding only)."""
        W1, W2, b1, b2 = self.weights(x)
        c = self.circuit
        return float(sum(factor * integrals[i]
                         for A, outputs in self._patterns.items()
                         for integrals in [term_integrals(W1, W2, b1, b2, A, c.hidden, c.output, c.target,
                                                          self._low, self._high, outputs=list(outputs))]
                         for i, factor in outputs.items()))

    def value_and_gradient(self, x) -> tuple[float, np.ndarray]:
        """The exact loss at ``x`` and its gradient in the params (at a kink:
        the derivative of the side where the unit is off)."""
        W1, W2, b1, b2 = self.weights(x)
        c = self.circuit
        value = 0.0
        entries = np.zeros(self._size)
        for A, outputs in self._patterns.items():
            v, *parts = pattern_gradient(W1, W2, b1, b2, A, c.hidden, c.output, c.target, self._low, self._high,
                                         outputs)
            value += v
            entries += np.concatenate([p.ravel() for p in parts])
        return value, self.pullback(x, entries)

    def pullback(self, x, entries: np.ndarray) -> np.ndarray:
        """The gradient in the params at ``x`` of a function whose gradient in the
        weights is ``entries`` (``W1, W2, b1, b2`` flattened and concatenated): the
        chain rule through the exact Jacobian of the weight map."""
        jacobian = np.array(self._jacobian(*np.asarray(x, dtype=float).tolist()), dtype=float)
        gradient = np.zeros(len(self.params))
        np.add.at(gradient, self._cols, np.asarray(entries)[self._rows] * jacobian)
        return gradient
