"""The one canonical form of ``y' = ReLU(W2 ReLU(W1 x) + b)`` (no hidden bias).

Many weight arrays compute the same function. :func:`canonical` picks one of them, so
that two models are the same circuit exactly when their canonical forms agree:

- **dead** neurons (largest in-times-out gain at most :data:`DEAD`, detect's
  ``dead`` threshold) are zeroed, row and column, and put last;
- every live neuron is **rescaled** (row over ``c = max |row|``, column times ``c``)
  so that its largest input weight is 1 in absolute value: ``ReLU(c r.x) = c ReLU(r.x)``
  for ``c > 0``;
- live neurons whose rescaled rows coincide (**positively parallel**, within
  ``tolerance``) are **merged**: one slot keeps the row and the sum of their columns,
  the others become dead slots;
- live neurons are **sorted** by main feature (``argmax |row|``, ties to the lowest
  index), then half (``+1`` first), then row, so that the order of the input neurons
  does not matter.

The result does not depend on the order or scale of the input neurons, canonical
forms are fixed points (``canonical(*canonical(...)) == canonical(...)``), and the
model's function is unchanged except for the dead neurons' negligible gains and the
merged rows' differences, both bounded by the thresholds.

Neurons ``ReLU(-2 x_1)``, ``ReLU(4 x_0)`` and ``ReLU(x_0)`` (the last two parallel):

>>> c = canonical([[0.0, -2.0], [4.0, 0.0], [1.0, 0.0]], [[0.0, 0.125, 0.5], [0.5, 0.0, 0.0]], [0.0, 0.0])
>>> c.W1.tolist(), c.W2.tolist(), c.order, c.dead
([[1.0, 0.0], [0.0, -1.0], [0.0, 0.0]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], ((1, 2), (0,), ()), 1)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import optimize

from analytic import Circuit
from analytic.errors import SuperlossError
from analytic.symmetry import rescalings

from .detect import THRESHOLDS, _array

__all__ = ["DEAD", "TOLERANCE", "Canonical", "canonical", "gauge", "main_inputs"]

#: A neuron is dead when its largest ``|W1[j, i] W2[k, j]|`` is at most this: detect's
#: ``dead`` threshold, absolute because a gain is already free of the rescaling symmetry
#: and measured in units of the targets (of size 1): the same neurons are dead for both.
DEAD: float = THRESHOLDS["dead"]

#: Default tolerance on rescaled rows (largest entry 1, so absolute = relative): two rows
#: within it entrywise are parallel, two inputs within it of the largest are tied. Rounding
#: leaves ~1e-16 on a rescaled copy; trained neurons that are only nearly parallel are
#: different functions and stay apart. Merging changes an output by at most
#: ``tolerance * n * |merged column|`` per unit input.
TOLERANCE: float = 1e-9


@dataclass(frozen=True, eq=False)
class Canonical:
    """A model in canonical form, with where each slot came from.

    ``W1`` (m x n), ``W2`` (n x m), ``b`` (n): the canonical weights, read-only float
    arrays. ``gains[j, i, k] = W1[j, i] * W2[k, j]``: how much ``y_k`` moves per unit of
    ``x_i`` through neuron ``j`` while it is on (signed; free of the rescaling).
    ``order[j]``: the original neuron(s) of slot ``j`` (several for a merged slot; one
    per originally dead neuron, then none for the slots merging freed). ``dead``: how
    many slots, all last, are dead. ``tolerance``: the parallel/tie tolerance used.
    """

    W1: np.ndarray
    W2: np.ndarray
    b: np.ndarray
    gains: np.ndarray
    order: tuple[tuple[int, ...], ...]
    dead: int
    tolerance: float

    @property
    def live(self) -> int:
        """How many slots (the first ones) are live."""
        return self.W1.shape[0] - self.dead

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(W1, W2, b)``, to pass on as ``canonical(*c.weights())`` or ``detect(*c.weights())``."""
        return self.W1, self.W2, self.b

    def to_dict(self) -> dict:
        """Plain data (JSON-ready): nested lists."""
        return {
            "W1": self.W1.tolist(),
            "W2": self.W2.tolist(),
            "b": self.b.tolist(),
            "gains": self.gains.tolist(),
            "order": [list(o) for o in self.order],
            "dead": self.dead,
            "tolerance": self.tolerance,
        }

    def __str__(self) -> str:
        m, n = self.W1.shape
        cells = [f"{'x_' + str(i):>7}" for i in range(n)]
        lines = [
            f"canonical form: n={n}, m={m}, {self.live} live, {self.dead} dead",
            f"{'slot':>4}  {'from':<8}" + "".join(cells) + "   gains (x_i -> y_k: gain)",
        ]
        for j in range(m):
            origin = ",".join(map(str, self.order[j])) or "-"
            row = "".join(f"{v:>+7.3g}" if v else f"{0:>7}" for v in self.W1[j])
            nonzero = np.argwhere(self.gains[j] != 0)
            gains = ", ".join(f"{i}->{k}: {self.gains[j, i, k]:+.3g}" for i, k in nonzero) or "dead"
            lines.append(f"{j:>4}  {origin:<8}{row}   {gains}")
        lines.append("b: " + " ".join(f"{v:+.3g}" for v in self.b))
        return "\n".join(lines)


def main_inputs(W1: np.ndarray, tolerance: float = TOLERANCE) -> tuple[np.ndarray, np.ndarray]:
    """Each row's main feature (its largest ``|entry|``, within ``tolerance`` of the largest
    counting as tied, ties to the lowest index) and half (the sign there; 0 for a zero row).

    >>> main_inputs(np.array([[0.5, -1.0], [1.0, 1.0], [0.0, 0.0]]))
    (array([1, 0, 0]), array([-1,  1,  0]))
    """
    size = np.abs(W1)
    top = size.max(axis=1, keepdims=True)
    main = np.argmax(size >= top * (1 - tolerance), axis=1)
    return main, np.sign(W1[np.arange(len(W1)), main]).astype(int)


def _compare(tolerance: float):
    """Sort key of live neurons: main feature, half (+1 first), then the row entry by entry,
    entries within ``tolerance`` counting as equal so that rounding cannot reorder them."""

    def cmp(x: tuple, y: tuple) -> int:
        (fx, hx, rx), (fy, hy, ry) = x, y
        if (fx, -hx) != (fy, -hy):
            return -1 if (fx, -hx) < (fy, -hy) else 1
        for u, v in zip(rx, ry, strict=True):
            if abs(u - v) > tolerance:
                return -1 if u < v else 1
        return 0

    return functools.cmp_to_key(cmp)


def canonical(W1, W2, b=None, tolerance: float = TOLERANCE) -> Canonical:
    """The canonical form of ``ReLU(W2 ReLU(W1 x) + b)``: ``W1`` m x n, ``W2`` n x m,
    ``b`` n entries (``None``: zeros). See the module docstring for the rules.

    Refuses, with a one-line :class:`analytic.SuperlossError`, shapes that do not
    match and entries that are not finite numbers.
    """
    W1 = _array(W1, None, "W1")
    m, n = W1.shape
    if m == 0 or n == 0:
        raise SuperlossError(f"W1 has shape {m} x {n}; canonical needs at least one feature and one neuron")
    W2 = _array(W2, (n, m), "W2")
    b = _array(np.zeros(n) if b is None else b, (n,), "b").copy()
    if not (np.isfinite(tolerance) and 0 <= tolerance < 1):
        raise SuperlossError(f"tolerance must be a number in [0, 1), got {tolerance!r}")

    # The largest gain of a neuron is its largest input times its largest output.
    scale = np.abs(W1).max(axis=1)
    alive = [j for j in range(m) if scale[j] * np.abs(W2[:, j]).max() > DEAD]
    rows = {j: W1[j] / scale[j] for j in alive}
    cols = {j: W2[:, j] * scale[j] for j in alive}

    # Positively parallel neurons: connected groups of rows within tolerance (a relation
    # on rows alone, so the groups do not depend on the order of the neurons).
    parent = {j: j for j in alive}

    def root(j: int) -> int:
        while parent[j] != j:
            j = parent[j]
        return j

    for x, j in enumerate(alive):
        for k in alive[:x]:
            if np.max(np.abs(rows[j] - rows[k])) <= tolerance:
                parent[root(j)] = root(k)
    groups: dict[int, list[int]] = {}
    for j in alive:
        groups.setdefault(root(j), []).append(j)

    slots = []
    for group in groups.values():
        # The member with the least row keeps it (least as a tuple: independent of input order).
        row = rows[min(group, key=lambda j: tuple(rows[j]))]
        col = np.sum([cols[j] for j in group], axis=0)
        if np.abs(col).max() > DEAD:  # parallel neurons whose columns cancel are dead together
            slots.append((row, col, tuple(group)))
    main, half = main_inputs(np.array([s[0] for s in slots]).reshape(-1, n), tolerance)
    key = _compare(tolerance)
    slots = [slots[s] for s in sorted(range(len(slots)), key=lambda s: key((main[s], half[s], tuple(slots[s][0]))))]

    cW1, cW2 = np.zeros((m, n)), np.zeros((n, m))
    for j, (row, col, _) in enumerate(slots):
        cW1[j], cW2[:, j] = row, col
    # Every original neuron is named once: live ones in their slot, the others one per dead slot.
    used = {j for s in slots for j in s[2]}
    order = [s[2] for s in slots] + [(j,) for j in range(m) if j not in used]
    order += [()] * (m - len(order))
    gains = cW1[:, :, None] * cW2.T[:, None, :]
    for a in (cW1, cW2, b, gains):
        a.setflags(write=False)
    return Canonical(cW1, cW2, b, gains, tuple(order), m - len(slots), float(tolerance))


def gauge(circuit: Circuit, values: Mapping[sp.Symbol, float], free: Sequence[sp.Symbol]) -> dict[sp.Symbol, float]:
    """The ``free`` parameters of ``circuit`` (the others fixed by ``values``) moved along its
    rescaling symmetries (:func:`analytic.symmetry.rescalings`) to the gauge of
    :func:`canonical`: every neuron a symmetry moves scaled so that its largest input weight
    is 1 in absolute value (for neurons one symmetry moves together, the largest among them).
    The loss is unchanged. A symmetry that is not a rescaling of each parameter by a power of
    one factor, or that moves no live neuron, is left as it is.

    The motif's one symmetry scales its host neuron ``(w_a, -w_b)`` against ``o_a, o_b, gamma``:

    >>> from analytic.presets import asymmetric_inhibition
    >>> c = asymmetric_inhibition()
    >>> point = dict(zip(c.symbols, [-0.02, -0.02, -0.02, 0.25, 0.125, 20, 0.5, 2, 2, 0.5]))
    >>> {s.name: v for s, v in gauge(c, point, c.symbols).items() if v != point[s]}
    {'gamma': 0.25, 'o_a': 1.0, 'o_b': 4.0, 'w_a': 1.0, 'w_b': 0.25}
    """
    values = {s: float(v) for s, v in values.items()}
    free = [s for s in free if s in circuit.symbols]
    W1 = circuit.W1
    for field in rescalings(circuit, free):
        rates = {p: sp.simplify(e / p) for p, e in field.items()}
        if not all(r.is_number and r.is_real for r in rates.values()):
            continue
        rates = {p: float(r) for p, r in rates.items()}
        # How fast each neuron's input row grows along the field (all its nonzero entries alike).
        moved = []
        for j in range(circuit.m):
            row = [float(W1[j, k].subs(values)) for k in range(circuit.n)]
            speed = [
                float(sum(r * values[p] * W1[j, k].diff(p).subs(values) for p, r in rates.items()))
                for k in range(circuit.n)
            ]
            if any(speed) and max(map(abs, row)) > 0:
                k = int(np.argmax(np.abs(row)))
                moved.append((max(map(abs, row)), speed[k] / row[k]))
        if not moved or len({np.sign(a) for _, a in moved}) != 1 or any(a == 0 for _, a in moved):
            continue
        # The flow for time t scales neuron j's row by e^(a_j t): find t with max_j m_j e^(a_j t) = 1,
        # exactly (a power of the largest m) when the neurons move at one rate, as they do in presets.
        rate = {a for _, a in moved}
        if len(rate) == 1:
            (a,) = rate
            largest = max(m for m, _ in moved)
            factors = {p: largest ** (-r / a) for p, r in rates.items()}
        else:
            try:
                t = optimize.brentq(
                    lambda t, moved=moved: max(m * np.exp(a * t) for m, a in moved) - 1, -50, 50, xtol=1e-15
                )
            except ValueError:  # no root within e^(+-50): leave this symmetry as it is
                continue
            factors = {p: float(np.exp(r * t)) for p, r in rates.items()}
        values.update({p: values[p] * f for p, f in factors.items()})
    return {s: values[s] for s in free}
