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

from .regimes import free_circuit

__all__ = ["PointwiseLoss"]


def _only_weights(params: Sequence[sp.Symbol], circuit: Circuit) -> None:
    """Refuse params that are not weights of ``circuit`` (one line, for the command line)."""
    others = [p.name for p in params if p not in set(circuit.symbols)]
    if others:
        raise SuperlossError(f"{', '.join(others)} are not weights of the circuit; only weights can be "
                             "optimized (fix the sparsity and the importances)")


class _WeightMap:
    """The circuit's weights as expressions of ``params``:
    ``entries`` (``W1, W2, b1, b2`` flattened and concatenated) and the nonzero
    entries of the map's Jacobian, ``derivatives[t] = d entries[rows[t]] / d
    params[cols[t]]`` (each entry holds one or two params). Both engines use it."""

    def __init__(self, circuit: Circuit, params: Sequence[sp.Symbol]) -> None:
        n, m = circuit.n, circuit.m
        self.shapes = ((m, n), (n, m), (m,), (n,))
        self.entries = list(circuit.entries())
        jacobian = [(e, k, sp.diff(entry, p)) for e, entry in enumerate(self.entries)
                    for k, p in enumerate(params) if entry.has(p)]
        self.rows = np.array([e for e, _, _ in jacobian], dtype=int)
        self.cols = np.array([k for _, k, _ in jacobian], dtype=int)
        self.derivatives = [d for _, _, d in jacobian]
        self.size = len(params)

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """``[W1, W2, b1, b2]`` from the entries ``flat`` (last axis), for any leading axes."""
        out, start = [], 0
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(flat[..., start:start + size].reshape(flat.shape[:-1] + shape))
            start += size
        return out

    def pullback(self, entries: np.ndarray, jacobian: np.ndarray) -> np.ndarray:
        """The gradient in the params (last axis) of a function whose gradient in
        the entries is ``entries``, the Jacobian's nonzero values being ``jacobian``."""
        gradient = np.zeros(entries.shape[:-1] + (self.size,))
        np.add.at(gradient, (..., self.cols), entries[..., self.rows] * jacobian)
        return gradient


class PointwiseLoss:
    """The loss over ``params`` (weights of ``circuit``), every other symbol of
    the circuit, the law and the importances fixed by ``fixed``."""

    def __init__(self, circuit: Circuit, law, importance: Sequence | None, params: Sequence[sp.Symbol],
                 fixed: Mapping | None = None) -> None:
        self.params, values, _, self.circuit = free_circuit(circuit, law, importance, params, fixed)
        _only_weights(self.params, circuit)
        self._map = _WeightMap(self.circuit, self.params)
        weights = set(circuit.symbols)
        numbers = {s: v for s, v in values.items() if s not in weights}
        #: The values of the symbols that are not weights (the sparsity, the importances).
        self.numbers = numbers
        n = self.circuit.n
        self._entries = sp.lambdify(list(self.params), self._map.entries, "math")
        self._jacobian = sp.lambdify(list(self.params), self._map.derivatives, "math")
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
        return self._map.split(np.array(self._entries(*x.tolist()), dtype=float))

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
        entries = np.zeros(len(self._map.entries))
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
        return self._map.pullback(np.asarray(entries), jacobian)
