"""The weights of a problem's circuit as functions of its parameters, and the chain rule back.

Every entry of ``W1, W2, b1, b2`` (:attr:`analytic.Circuit.layout`) is an
expression of the free parameters; :class:`WeightMap` keeps the entries and
the nonzero entries of their Jacobian (each entry holds one or two
parameters), which the exact engines compile their own way, and
:meth:`WeightMap.pullback` turns a gradient in the entries into one in the
parameters.

>>> from analytic import Circuit, Problem, SparseUniform, sym
>>> w = sym("w")
>>> weights = WeightMap(Problem(Circuit([[w, 2 * w]], [[1], [1]]), SparseUniform(0), free=[w]))
>>> weights.derivatives, weights.pullback(np.array([1.0, 1.0, 0, 0, 0, 0, 0]), np.array([1.0, 2.0]))
([1, 2], array([3.]))
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from analytic import Problem

__all__ = ["WeightMap"]


class WeightMap:
    """The entries of ``problem.free_circuit`` (``W1, W2, b1, b2`` flattened) and the
    nonzero entries of their Jacobian in ``problem.params``:
    ``derivatives[t] = d entries[rows[t]] / d params[cols[t]]``."""

    def __init__(self, problem: Problem) -> None:
        params = problem.params
        self.layout = problem.layout
        self.entries = list(problem.free_circuit.entries())
        jacobian = [
            (e, k, sp.diff(entry, p))
            for e, entry in enumerate(self.entries)
            for k, p in enumerate(params)
            if entry.has(p)
        ]
        self.rows = np.array([e for e, _, _ in jacobian], dtype=int)
        self.cols = np.array([k for _, k, _ in jacobian], dtype=int)
        self.derivatives = [d for _, _, d in jacobian]
        self.size = len(params)

    def pullback(self, entries: np.ndarray, jacobian: np.ndarray) -> np.ndarray:
        """The gradient in the params (last axis) of a function whose gradient in
        the entries is ``entries``, the Jacobian's nonzero values being ``jacobian``."""
        gradient = np.zeros(entries.shape[:-1] + (self.size,))
        np.add.at(gradient, (..., self.cols), entries[..., self.rows] * jacobian)
        return gradient
