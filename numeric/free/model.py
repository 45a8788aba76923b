"""The free abs-value model ``y' = ReLU(W2 ReLU(W1 x) + b)`` as a problem of its entries.

Every entry of ``W1`` (m x n), ``W2`` (n x m) and ``b`` (n) is a free parameter, or,
with a ``pattern``, every entry the pattern marks (the others are zero: the motif's
pattern of zeros, say); there is no hidden bias. The sparsity ``S`` and the
importances ``I_1 .. I_n`` are *varying* symbols, given per point, so one exact
engine serves every point of an atlas. The flat parameter vector is the free
entries of ``W1`` row by row, then of ``W2`` row by row, then of ``b``
(:meth:`FreeModel.split`, :meth:`FreeModel.join`).

>>> model = FreeModel(3, 5)
>>> model.size, [p.name for p in model.params[:2]], model.params[-1].name
(33, ['W1_1_1', 'W1_1_2'], 'b_3')
>>> FreeModel(1, 2, pattern=(True, False, True, True, True)).size   # W1[1, 0] is zero
4
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import sympy as sp

from analytic import Circuit, Problem, SparseUniform, SuperlossError, sym

__all__ = ["MAX_FEATURES", "MAX_NEURONS", "FreeModel", "check_size", "point_values"]

#: The largest models searched exactly: the batched engine cuts a pattern of ``n``
#: active features into ``2^n n!`` simplices, and the atlas evaluates millions of points.
MAX_FEATURES = 4
MAX_NEURONS = 8


def check_size(n: int, m: int) -> None:
    """Refuse, in one line, a size outside ``1 <= n <= 4``, ``1 <= m <= 8``."""
    for name, value, top in (("features", n, MAX_FEATURES), ("neurons", m, MAX_NEURONS)):
        if not isinstance(value, int | np.integer) or not 1 <= value <= top:
            raise SuperlossError(f"{name} must be an integer from 1 to {top}, got {value}")


@dataclass(frozen=True)
class FreeModel:
    """The free ``n``-feature, ``m``-neuron abs-value model (features uniform on [-1, 1]);
    ``pattern`` (one flag per entry of ``W1``, ``W2``, ``b`` flattened) marks the free entries."""

    n: int
    m: int
    pattern: tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        check_size(self.n, self.m)
        if self.pattern is not None and len(self.pattern) != 2 * self.m * self.n + self.n:
            raise SuperlossError(
                f"a {self.n} x {self.m} pattern has {2 * self.m * self.n + self.n} flags, got {len(self.pattern)}"
            )

    @cached_property
    def free(self) -> np.ndarray:
        """Where the parameters sit among all the entries (flattened ``W1``, ``W2``, ``b``)."""
        entries = 2 * self.m * self.n + self.n
        return np.arange(entries) if self.pattern is None else np.flatnonzero(self.pattern)

    @cached_property
    def inputs(self) -> np.ndarray:
        """Which parameters are entries of ``W1`` (a mask over the flat vector)."""
        return self.free < self.m * self.n

    @cached_property
    def _entries(self) -> list:
        """Every entry, flattened: its symbol where free, else 0."""
        names = (
            [f"W1_{j + 1}_{i + 1}" for j in range(self.m) for i in range(self.n)]
            + [f"W2_{i + 1}_{j + 1}" for i in range(self.n) for j in range(self.m)]
            + [f"b_{i + 1}" for i in range(self.n)]
        )
        free = set(self.free.tolist())
        return [sym(name) if k in free else sp.S.Zero for k, name in enumerate(names)]

    @property
    def W1(self) -> sp.Matrix:
        return sp.Matrix(self.m, self.n, self._entries[: self.m * self.n])

    @property
    def W2(self) -> sp.Matrix:
        return sp.Matrix(self.n, self.m, self._entries[self.m * self.n : 2 * self.m * self.n])

    @property
    def b(self) -> list:
        return self._entries[2 * self.m * self.n :]

    @cached_property
    def params(self) -> tuple[sp.Symbol, ...]:
        return tuple(self._entries[k] for k in self.free)

    @property
    def size(self) -> int:
        return len(self.params)

    @cached_property
    def sparsity(self) -> sp.Symbol:
        return sym("S")

    @cached_property
    def importances(self) -> tuple[sp.Symbol, ...]:
        return tuple(sym(f"I_{i + 1}") for i in range(self.n))

    def problem(self) -> Problem:
        """Every entry free, ``S`` and the importances given per point (``varying``)."""
        circuit = Circuit(self.W1, self.W2, b2=self.b)
        return Problem(
            circuit,
            SparseUniform(self.sparsity),
            list(self.importances),
            free=list(self.params),
            varying=[self.sparsity, *self.importances],
        )

    def split(self, x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(W1, W2, b)`` from a flat parameter vector (new arrays; zero off the pattern)."""
        x = np.asarray(x, dtype=float)
        if x.shape != (self.size,):
            raise SuperlossError(f"a {self.n} x {self.m} model has {self.size} parameters, got shape {x.shape}")
        full = np.zeros(2 * self.m * self.n + self.n)
        full[self.free] = x
        a, c = self.m * self.n, 2 * self.m * self.n
        return full[:a].reshape(self.m, self.n), full[a:c].reshape(self.n, self.m), full[c:]

    def join(self, W1, W2, b) -> np.ndarray:
        """The flat parameter vector of ``(W1, W2, b)``, shapes checked (entries off the pattern are dropped)."""
        shapes = {"W1": (self.m, self.n), "W2": (self.n, self.m), "b": (self.n,)}
        arrays = {"W1": np.asarray(W1, dtype=float), "W2": np.asarray(W2, dtype=float), "b": np.asarray(b, dtype=float)}
        for name, shape in shapes.items():
            if arrays[name].shape != shape:
                raise SuperlossError(f"{name} must have shape {shape}, got {arrays[name].shape}")
        return np.concatenate([arrays["W1"].ravel(), arrays["W2"].ravel(), arrays["b"]])[self.free]


def point_values(sparsity: float, importance) -> np.ndarray:
    """The varying values ``(S, I_1, .., I_n)`` of one point, as the engine takes them."""
    return np.array([float(sparsity), *map(float, importance)])
