"""Preset circuits, with named symbols.

The flagship is :func:`asymmetric_inhibition`, the paper's *asymmetric
superposition with inhibition* on three features: ``a`` (host), ``b`` (rider)
and ``c`` (the inhibitor's own feature).

>>> c = asymmetric_inhibition()
>>> [s.name for s in c.symbols]
['b_a', 'b_b', 'b_c', 'delta', 'gamma', 'kappa', 'o_a', 'o_b', 'w_a', 'w_b']
>>> CANONICAL[sym("kappa")]
20
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import sympy as sp

from .circuit import Circuit
from .errors import SuperlossError
from .symbols import sym, syms

MOTIF_SYMBOLS = syms("w_a w_b o_a o_b delta kappa gamma b_a b_b b_c")

#: The canonical point of the motif: away from regime boundaries, used by every
#: example, benchmark and report. Scaling ``(w_a, w_b)`` by ``c > 0`` and
#: ``(o_a, o_b, gamma)`` by ``1/c`` leaves the loss unchanged.
CANONICAL: dict[sp.Symbol, sp.Rational] = dict(
    zip(MOTIF_SYMBOLS, map(sp.Rational, (2, "1/2", "1/2", 2, "1/4", 20, "1/8", "-1/50", "-1/50", "-1/50")), strict=True)
)


class Motif(NamedTuple):
    """One instance of asymmetric superposition with inhibition inside a larger circuit.

    The host neuron computes ``ReLU(host_half w_a x_host + rider_half w_b x_rider)``
    and writes ``o_a`` to the host, ``o_b`` to the rider and ``-gamma`` to the
    inhibitor's feature; the inhibitor neuron computes
    ``ReLU(inhibitor_half x_inhibitor + host_half delta x_host)`` and writes ``1``
    to its own feature and ``-kappa`` to the rider.
    """

    host: int | str
    rider: int | str
    inhibitor: int | str
    rider_half: int = -1
    host_half: int = 1
    inhibitor_half: int = 1


def compose(
    n: int, motifs: Sequence = (), features: Sequence[str] | None = None, suffix: bool | None = None
) -> Circuit:
    """An ``n``-feature circuit made of motif instances and monosemantic halves.

    Each motif (a :class:`Motif` or a tuple ``(host, rider, inhibitor,
    rider_half[, host_half[, inhibitor_half]])``, features by index or name)
    contributes two neurons; every half ``ReLU(+-x_i)`` that no motif neuron
    computes gets a monosemantic neuron writing ``1`` to ``y_i``. Motif symbols
    are suffixed with the instance number when there is more than one instance
    (``w_a1``, ``kappa2``); output biases are ``b_<feature>``.

    The layout a trained n = 6, m = 10 model learns, one rider sharing two hosts:

    >>> c = compose(6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)])
    >>> c.m
    10
    """
    if n < 1:
        raise SuperlossError(f"compose needs at least one feature, got n={n}")
    names = tuple(features) if features is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise SuperlossError(f"compose got {len(names)} feature names for n={n}")
    motifs = [Motif(*m) for m in motifs]
    suffix = len(motifs) > 1 if suffix is None else suffix

    def index(f) -> int:
        if isinstance(f, str) and f in names:
            return names.index(f)
        if isinstance(f, int) and 0 <= f < n:
            return f
        raise SuperlossError(f"compose: unknown feature {f!r}; features are {list(names)}")

    rows_in: list[list] = []
    rows_out: list[list] = []
    covered: set[tuple[int, int]] = set()

    def neuron(inputs: dict[int, sp.Expr], outputs: dict[int, sp.Expr]) -> None:
        rows_in.append([inputs.get(k, 0) for k in range(n)])
        rows_out.append([outputs.get(k, 0) for k in range(n)])

    for number, motif in enumerate(motifs, start=1):
        h, r, i = index(motif.host), index(motif.rider), index(motif.inhibitor)
        if len({h, r, i}) != 3:
            raise SuperlossError(f"motif {number}: host, rider and inhibitor must be three different features")
        for half in (motif.rider_half, motif.host_half, motif.inhibitor_half):
            if half not in (1, -1):
                raise SuperlossError(f"motif {number}: halves must be +1 or -1, got {half}")
        tag = str(number) if suffix else ""
        w_a, w_b, o_a, o_b, delta, kappa, gamma = (
            sym(s + tag) for s in ("w_a", "w_b", "o_a", "o_b", "delta", "kappa", "gamma")
        )
        neuron({h: motif.host_half * w_a, r: motif.rider_half * w_b}, {h: o_a, r: o_b, i: -gamma})
        neuron({i: motif.inhibitor_half, h: motif.host_half * delta}, {i: 1, r: -kappa})
        covered |= {(h, motif.host_half), (r, motif.rider_half), (i, motif.inhibitor_half)}

    for k in range(n):
        for half in (1, -1):
            if (k, half) not in covered:
                neuron({k: half}, {k: 1})

    W1 = sp.Matrix(rows_in)
    W2 = sp.Matrix(rows_out).T
    b2 = [sym(f"b_{name}") for name in names]
    return Circuit(W1, W2, b2=b2, features=names)


def asymmetric_inhibition() -> Circuit:
    """The canonical motif: five neurons on features ``a`` (host), ``b`` (rider), ``c``.

    ``n1 = ReLU(w_a x_a - w_b x_b)`` writes ``o_a, o_b, -gamma`` to ``y_a, y_b, y_c``;
    ``n2 = ReLU(x_c + delta x_a)`` writes ``1`` to ``y_c`` and ``-kappa`` to ``y_b``;
    ``n3 = ReLU(-x_a)``, ``n4 = ReLU(x_b)``, ``n5 = ReLU(-x_c)`` are monosemantic.
    """
    return compose(3, [("a", "b", "c", -1, 1, 1)], features=("a", "b", "c"))


def asymmetric_superposition() -> Circuit:
    """The motif without inhibition: ``kappa = delta = gamma = 0``."""
    delta, kappa, gamma = syms("delta kappa gamma")
    return asymmetric_inhibition().subs({delta: 0, kappa: 0, gamma: 0})


def symmetric_superposition() -> Circuit:
    """Ordinary superposition: ``w_a = w_b = w``, ``o_a = o_b = o``, no inhibition."""
    w_a, w_b, o_a, o_b = syms("w_a w_b o_a o_b")
    w, o = syms("w o")
    return asymmetric_superposition().subs({w_a: w, w_b: w, o_a: o, o_b: o})


def monosemantic_abs(n: int) -> Circuit:
    """``2n`` neurons ``ReLU(x_i)`` and ``ReLU(-x_i)`` writing to ``y_i``: loss exactly 0."""
    if n < 1:
        raise SuperlossError(f"monosemantic_abs needs n >= 1, got {n}")
    W1 = sp.Matrix.vstack(sp.eye(n), -sp.eye(n))
    return Circuit(W1, W1.T.applyfunc(abs))


def relu_output(W, b=None) -> Circuit:
    """The paper's reconstruction model ``ReLU(W^T W x + b)``, ``W`` of shape m x n."""
    W = sp.Matrix(W)
    return Circuit(W, W.T, b2=b, hidden="linear", output="relu", target="identity")


def regular_polygon(k: int) -> Circuit:
    """The regular k-gon reconstruction model of TMS: ``ReLU(W^T W x + b)`` with ``m = 2``
    neurons, feature ``j`` at angle ``2 pi j / k`` and length ``r``, every bias ``b``. The
    weights are exact (``cos(2*pi/5) = (sqrt(5) - 1)/4``) for ``k`` dividing 240, whose
    cosines SymPy writes as radicals (:mod:`analytic.algebraic` holds them).

    >>> regular_polygon(4).W1
    Matrix([
    [r, 0, -r,  0],
    [0, r,  0, -r]])
    """
    if not 3 <= k or 240 % k:
        raise SuperlossError(f"regular_polygon needs k >= 3 dividing 240 (exact radicals), got {k}")
    r, b = syms("r b")
    angles = [2 * sp.pi * j / k for j in range(k)]
    W = sp.Matrix([[r * sp.cos(a) for a in angles], [r * sp.sin(a) for a in angles]])
    return relu_output(W, [b] * k)


#: Presets by name, as spec files and the command line refer to them.
PRESETS = {
    "asymmetric_inhibition": asymmetric_inhibition,
    "asymmetric_superposition": asymmetric_superposition,
    "symmetric_superposition": symmetric_superposition,
    "monosemantic_abs": monosemantic_abs,
    "relu_output": relu_output,
    "regular_polygon": regular_polygon,
}
