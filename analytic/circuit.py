"""A small two-layer circuit: ``y' = out(W2 hid(W1 x + b1) + b2)``.

``hid`` and ``out`` are each ReLU or the identity; the target is ``|x|`` (the
paper's absolute-value task) or ``x`` (reconstruction). Weights are numbers,
SymPy expressions or symbols.

>>> from analytic.symbols import sym
>>> w = sym("w")
>>> c = Circuit([[w]], [[1]])          # y' = ReLU(ReLU(w x)), target |x|
>>> c.n, c.m, c.symbols
(1, 1, (w,))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from math import prod

import numpy as np
import sympy as sp

from .errors import SuperlossError

ACTIVATIONS = ("relu", "linear")
TARGETS = ("abs", "identity")


def _has_text(value) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple)):
        return any(_has_text(v) for v in value)
    return False


def _matrix(value, rows: int | None, cols: int | None, what: str) -> sp.ImmutableMatrix:
    if _has_text(value):
        # SymPy would sympify (evaluate) text: text goes through analytic.expression instead.
        raise SuperlossError(
            f"{what} has a text entry; give numbers or SymPy expressions "
            "(parse text with analytic.expression.parse_expression)"
        )
    try:
        mat = sp.ImmutableMatrix(value)
    except (TypeError, ValueError, sp.SympifyError) as exc:
        raise SuperlossError(f"{what} is not a matrix of numbers or expressions: {exc}") from None
    if rows is not None and mat.rows != rows or cols is not None and mat.cols != cols:
        raise SuperlossError(f"{what} has shape {mat.rows} x {mat.cols}, expected {rows} x {cols}")
    for entry in mat:
        if not isinstance(entry, sp.Expr) or entry.has(sp.I) or entry.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise SuperlossError(f"{what} has an entry that is not a finite real expression: {entry}")
    return mat


def _vector(value, size: int, what: str) -> sp.ImmutableMatrix:
    if value is None:
        return sp.ImmutableMatrix.zeros(size, 1)
    flat = list(value)
    if any(isinstance(v, (list, tuple, sp.MatrixBase)) for v in flat):
        raise SuperlossError(f"{what} must be a flat list of {size} entries, not a matrix")
    if len(flat) != size:
        raise SuperlossError(f"{what} has {len(flat)} entries, expected {size}")
    return _matrix([[v] for v in flat], size, 1, what)


@dataclass(frozen=True)
class Layout:
    """Where each weight sits in the flat vector of a circuit's entries
    (:meth:`Circuit.entries`): ``W1`` (m x n) row by row, then ``W2`` (n x m),
    ``b1`` (m) and ``b2`` (n).

    >>> layout = Layout(m=2, n=1)
    >>> [w.tolist() for w in layout.split(np.arange(7.0))]
    [[[0.0], [1.0]], [[2.0, 3.0]], [4.0, 5.0], [6.0]]
    """

    m: int
    n: int

    @property
    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """The shapes of ``W1, W2, b1, b2``."""
        return (self.m, self.n), (self.n, self.m), (self.m,), (self.n,)

    def split(self, flat: np.ndarray) -> list[np.ndarray]:
        """``[W1, W2, b1, b2]`` from the entries along the last axis of ``flat``, for any leading axes."""
        out, start = [], 0
        for shape in self.shapes:
            size = prod(shape)
            out.append(flat[..., start : start + size].reshape(flat.shape[:-1] + shape))
            start += size
        return out

    def unpack(self, values: Sequence) -> tuple[list, list, list, list]:
        """``W1, W2, b1, b2`` as nested lists of the entries ``values`` (of any number type)."""
        it = iter(values)
        W1 = [[next(it) for _ in range(self.n)] for _ in range(self.m)]
        W2 = [[next(it) for _ in range(self.m)] for _ in range(self.n)]
        return W1, W2, [next(it) for _ in range(self.m)], [next(it) for _ in range(self.n)]

    def flatten(self, W1, W2, b1, b2) -> np.ndarray:
        """The flat vector of four arrays of these shapes (the inverse of :meth:`split`)."""
        return np.concatenate([np.ravel(W1), np.ravel(W2), np.ravel(b1), np.ravel(b2)])


@dataclass(frozen=True, eq=False)
class Circuit:
    """``y' = out(W2 hid(W1 x + b1) + b2)`` with ``W1`` m x n and ``W2`` n x m."""

    W1: sp.ImmutableMatrix
    W2: sp.ImmutableMatrix
    b1: sp.ImmutableMatrix
    b2: sp.ImmutableMatrix
    hidden: str
    output: str
    target: str
    features: tuple[str, ...]

    def __init__(
        self,
        W1,
        W2,
        b1=None,
        b2=None,
        hidden: str = "relu",
        output: str = "relu",
        target: str = "abs",
        features: Sequence[str] | None = None,
    ):
        W1 = _matrix(W1, None, None, "W1")
        m, n = W1.shape
        if m == 0 or n == 0:
            raise SuperlossError(f"W1 has shape {m} x {n}; a circuit needs at least one feature and one neuron")
        W2 = _matrix(W2, n, m, "W2")
        for name, value, allowed in (
            ("hidden", hidden, ACTIVATIONS),
            ("output", output, ACTIVATIONS),
            ("target", target, TARGETS),
        ):
            if value not in allowed:
                raise SuperlossError(f"{name}={value!r} is not one of {', '.join(allowed)}")
        features = tuple(str(f) for f in features) if features is not None else tuple(str(i) for i in range(n))
        if len(features) != n or len(set(features)) != n:
            raise SuperlossError(f"features must be {n} distinct names, got {list(features)}")
        set_ = object.__setattr__
        set_(self, "W1", W1)
        set_(self, "W2", W2)
        set_(self, "b1", _vector(b1, m, "b1"))
        set_(self, "b2", _vector(b2, n, "b2"))
        set_(self, "hidden", hidden)
        set_(self, "output", output)
        set_(self, "target", target)
        set_(self, "features", features)

    @property
    def n(self) -> int:
        """Number of features (inputs and outputs)."""
        return self.W1.cols

    @property
    def m(self) -> int:
        """Number of hidden neurons."""
        return self.W1.rows

    def entries(self) -> tuple[sp.Expr, ...]:
        """All weights and biases, flattened: W1, W2, b1, b2 (in the order of :attr:`layout`)."""
        return (*self.W1, *self.W2, *self.b1, *self.b2)

    @property
    def layout(self) -> Layout:
        """Where each entry sits in the flat vector of :meth:`entries`."""
        return Layout(self.m, self.n)

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """The free symbols of the weights and biases, sorted by name."""
        free = set().union(*(e.free_symbols for e in self.entries()))
        return tuple(sorted(free, key=lambda s: s.name))

    @property
    def is_numeric(self) -> bool:
        """True when every weight and bias is a number."""
        return not self.symbols

    def arrays(self, what: str = "this") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(W1, W2, b1, b2)`` as float arrays (the biases flat); a one-line error naming ``what``
        needs them if a weight is still a symbol.

        >>> [a.shape for a in Circuit([[1, 2]], [[1], [0]]).arrays()]
        [(1, 2), (2, 1), (1,), (2,)]
        """
        if not self.is_numeric:
            names = ", ".join(s.name for s in self.symbols)
            raise SuperlossError(f"{what} needs numeric weights; give {names} values first")
        return (
            np.array(self.W1.tolist(), dtype=float),
            np.array(self.W2.tolist(), dtype=float),
            np.array(self.b1.tolist(), dtype=float).reshape(-1),
            np.array(self.b2.tolist(), dtype=float).reshape(-1),
        )

    def collapsed(self) -> "Circuit":
        """The same function with a linear hidden layer multiplied out: ``out(W x + c)`` with
        ``W = W2 W1`` and ``c = W2 b1 + b2`` (expanded), the hidden layer the identity. A ReLU
        hidden layer is returned as it is. The product is simpler than its factors: a regular
        hexagon's ``W^T W`` is rational although ``W`` holds ``sqrt(3)/2``.

        >>> from analytic.presets import relu_output
        >>> relu_output([[1, 1]]).collapsed().W1
        Matrix([
        [1, 1],
        [1, 1]])
        """
        if self.hidden != "linear":
            return self
        W = (self.W2 * self.W1).applyfunc(sp.expand)
        c = (self.W2 * self.b1 + self.b2).applyfunc(sp.expand)
        return Circuit(
            W,
            sp.eye(self.n),
            b2=list(c),
            hidden="linear",
            output=self.output,
            target=self.target,
            features=self.features,
        )

    def subs(self, values: Mapping) -> "Circuit":
        """The same circuit with some symbols replaced: ``c.subs({w: 2})``."""
        return Circuit(
            self.W1.subs(values),
            self.W2.subs(values),
            self.b1.subs(values),
            self.b2.subs(values),
            self.hidden,
            self.output,
            self.target,
            self.features,
        )

    def feeds(self, i: int) -> list[int]:
        """Hidden neurons whose output weight to ``y_i`` is not identically zero."""
        return [j for j in range(self.m) if self.W2[i, j] != 0]

    def inputs_of(self, j: int) -> list[int]:
        """Features whose input weight to neuron ``j`` is not identically zero."""
        return [k for k in range(self.n) if self.W1[j, k] != 0]

    def receptive_field(self, i: int) -> list[int]:
        """Features that ``y_i`` or its target can depend on."""
        field = {i}
        for j in self.feeds(i):
            field.update(self.inputs_of(j))
        return sorted(field)

    def __repr__(self) -> str:
        return (
            f"Circuit(n={self.n}, m={self.m}, hidden={self.hidden!r}, output={self.output!r}, "
            f"target={self.target!r}, symbols={list(self.symbols)})"
        )
