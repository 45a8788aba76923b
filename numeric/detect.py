"""Find asymmetric superposition with inhibition in trained weights.

The model is the paper's ``y' = ReLU(W2 ReLU(W1 x) + b)`` with ``W1`` m x n,
``W2`` n x m and no hidden bias. :func:`detect` sorts its neurons into

- **motif instances**: a *host* neuron computing one half of a feature ``a``
  and, with a small input and a large output weight, one half of a *rider*
  ``b``; plus an *inhibitor* neuron computing one half of a third feature
  ``c`` with a small *leak* of the host's half of ``a``, and a large negative
  write to ``y_b`` that cancels the host's leak of ``a`` into ``y_b``;
- **monosemantic** neurons computing ``ReLU(+-x_i)`` and writing it to ``y_i``;
- **unexplained** live neurons (with the first test they failed), and
  **dead** ones (no gain from any input to any output).

Every decision uses quantities that the rescaling symmetry of a ReLU neuron
(input row times ``c > 0``, output column times ``1/c``) leaves unchanged:
ratios within one input row, ratios within one output column, and
in-times-out *gains* ``|W1[j, i]| * W2[k, j]`` (how much ``y_k`` moves per
unit of the half of ``x_i`` that neuron ``j`` computes). The thresholds are
fixed data, :data:`THRESHOLDS`, chosen from the paper's description and the
analytic presets (see ``docs/detect.md``):

- ``dead`` (1e-3): a neuron whose largest gain is at most this is ignored;
- ``dominance`` (2): a neuron's main input is at least twice every other
  input (its partner excepted: the rider for a host, the leak for an
  inhibitor); a monosemantic neuron's output to its feature is at least twice
  every other output;
- ``gain`` ((1/2, 2)): a neuron *computes* a half when that half's gain to its
  own output is within a factor 2 of 1;
- ``asymmetry`` (4): the host's leak gain ``a -> y_b`` is at least 4 times
  the reverse leak ``b -> y_a`` (1 for ordinary superposition, 16 for the
  paper's example: 4 is their geometric middle);
- ``leak`` (1): the inhibitor's leak is smaller than its main input;
- ``inhibition`` (2): the inhibitor's gain ``c -> -y_b`` is at least 2;
- ``cancellation`` ((1/2, 2)): the inhibitor's ``a -> -y_b`` gain is within a
  factor 2 of the host's ``a -> y_b`` gain.

The preset motif at its canonical point is one instance, with cancellation
``kappa delta / (o_b w_a) = 20 (1/4) / (2 * 2)``:

>>> from analytic.presets import CANONICAL, asymmetric_inhibition
>>> found = detect(*circuit_weights(asymmetric_inhibition().subs(CANONICAL)))
>>> [(m.host, m.inhibitor, m.rider, m.cancellation) for m in found.motifs]
[(0, 1, 1, 1.25)]
>>> [(s.neuron, s.feature, s.half) for s in found.monosemantic]
[(2, 0, -1), (3, 1, 1), (4, 2, -1)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from analytic.circuit import Circuit
from analytic.errors import SuperlossError

#: The fixed decision thresholds (data, not tuned on trained models); see the
#: module docstring and ``docs/detect.md`` for why each value.
THRESHOLDS: dict[str, float | tuple[float, float]] = {
    "dead": 1e-3,
    "dominance": 2.0,
    "gain": (0.5, 2.0),
    "asymmetry": 4.0,
    "leak": 1.0,
    "inhibition": 2.0,
    "cancellation": (0.5, 2.0),
}


@dataclass(frozen=True)
class MotifInstance:
    """One instance of asymmetric superposition with inhibition.

    Neurons are ``host`` and ``inhibitor``; features are ``host_feature``
    (``a``), ``rider`` (``b``) and ``inhibitor_feature`` (``c``), with their
    halves (+1: ``ReLU(x)``, -1: ``ReLU(-x)``). Raw weights are as given;
    every ratio and gain is invariant under rescaling a neuron.
    """

    host: int
    inhibitor: int
    host_feature: int
    rider: int
    inhibitor_feature: int
    host_half: int
    rider_half: int
    inhibitor_half: int
    host_inputs: tuple[float, float]  # W1[host, a], W1[host, b]
    host_outputs: tuple[float, float]  # W2[a, host], W2[b, host]
    inhibitor_inputs: tuple[float, float]  # W1[inhibitor, c], W1[inhibitor, a]
    inhibitor_outputs: tuple[float, float]  # W2[c, inhibitor], W2[b, inhibitor]
    rider_input: float  # W1[host, b] / |W1[host, a]|: signed, small
    host_gain: float  # |W1[host, a]| W2[a, host]: a's half reproduced, ~1
    rider_gain: float  # |W1[host, b]| W2[b, host]: b's half reproduced, ~1
    leak_gain: float  # |W1[host, a]| W2[b, host]: a's interference in y_b, >> 1
    asymmetry: float  # leak_gain / (|W1[host, b]| W2[a, host])
    inhibitor_gain: float  # |W1[inhibitor, c]| W2[c, inhibitor]: c's half reproduced, ~1
    leak: float  # |W1[inhibitor, a]| / |W1[inhibitor, c]|
    inhibition: float  # |W1[inhibitor, c]| (-W2[b, inhibitor]): c's push down on y_b
    cancellation: float  # |W1[inhibitor, a]| (-W2[b, inhibitor]) / leak_gain, ~1
    conditional_bias: float  # |W1[host, a]| W2[c, host]: a's effect on y_c through the host
    inhibitor_leak_gain: float  # |W1[inhibitor, a]| W2[c, inhibitor]: a's effect on y_c through the inhibitor


@dataclass(frozen=True)
class Monosemantic:
    """A neuron computing ``ReLU(half x_feature)`` and writing it to ``y_feature``."""

    neuron: int
    feature: int
    half: int
    gain: float  # |W1[neuron, feature]| W2[feature, neuron], ~1


@dataclass(frozen=True)
class Unexplained:
    """A live neuron in no role, with its main input and the first test it failed."""

    neuron: int
    feature: int
    half: int
    reason: str


@dataclass(frozen=True)
class Detection:
    """What :func:`detect` found: motif instances, monosemantic, unexplained and dead neurons."""

    n: int
    m: int
    features: tuple[str, ...]
    motifs: tuple[MotifInstance, ...]
    monosemantic: tuple[Monosemantic, ...]
    unexplained: tuple[Unexplained, ...]
    dead: tuple[int, ...]

    @property
    def halves(self) -> list[tuple[int, int]]:
        """The ``(feature, half)`` pairs some motif or monosemantic neuron computes."""
        found = {(s.feature, s.half) for s in self.monosemantic}
        for mi in self.motifs:
            found |= {
                (mi.host_feature, mi.host_half),
                (mi.rider, mi.rider_half),
                (mi.inhibitor_feature, mi.inhibitor_half),
            }
        return sorted(found)

    def to_dict(self) -> dict:
        """Plain data (JSON-ready), thresholds included."""
        return {
            "n": self.n,
            "m": self.m,
            "features": list(self.features),
            "thresholds": {k: list(v) if isinstance(v, tuple) else v for k, v in THRESHOLDS.items()},
            "motifs": [asdict(x) for x in self.motifs],
            "monosemantic": [asdict(x) for x in self.monosemantic],
            "unexplained": [asdict(x) for x in self.unexplained],
            "dead": list(self.dead),
        }

    def __str__(self) -> str:
        f = self.features

        def half(i: int, s: int) -> str:
            return f"ReLU({'+' if s > 0 else '-'}x_{f[i]})"

        lines = [
            f"n={self.n}, m={self.m}: {len(self.motifs)} motif instance(s), "
            f"{len(self.monosemantic)} monosemantic, {len(self.unexplained)} unexplained, "
            f"{len(self.dead)} dead neuron(s); {len(self.halves)} of {2 * self.n} halves computed"
        ]
        for x in self.motifs:
            a, b, c = x.host_feature, x.rider, x.inhibitor_feature
            lines += [
                f"motif: host neuron {x.host} = {half(a, x.host_half)} carrying rider {half(b, x.rider_half)}; "
                f"inhibitor neuron {x.inhibitor} = {half(c, x.inhibitor_half)} leaking {half(a, x.host_half)}",
                f"  host in {_pair(x.host_inputs)} out {_pair(x.host_outputs)}; gains {x.host_gain:.3g} "
                f"(y_{f[a]}), {x.rider_gain:.3g} (y_{f[b]}); leak gain {x.leak_gain:.3g}, "
                f"asymmetry {x.asymmetry:.3g}",
                f"  inhibitor in {_pair(x.inhibitor_inputs)} out {_pair(x.inhibitor_outputs)}; leak {x.leak:.3g}, "
                f"inhibition {x.inhibition:.3g}, cancellation {x.cancellation:.3g}; "
                f"x_{f[a]} -> y_{f[c]}: {x.conditional_bias:+.3g} (host), {x.inhibitor_leak_gain:+.3g} (inhibitor)",
            ]
        lines += [
            f"monosemantic: neuron {s.neuron} = {half(s.feature, s.half)} -> y_{f[s.feature]}, gain {s.gain:.3g}"
            for s in self.monosemantic
        ]
        lines += [
            f"unexplained: neuron {u.neuron} (main input {half(u.feature, u.half)}): {u.reason}"
            for u in self.unexplained
        ]
        if self.dead:
            lines.append(f"dead: neurons {', '.join(map(str, self.dead))}")
        return "\n".join(lines)


def _pair(values: tuple[float, float]) -> str:
    return "[" + ", ".join(f"{v:+.3g}" for v in values) + "]"


def circuit_weights(circuit: Circuit) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W1, W2, b2)`` of a numeric circuit of the paper's model, as float arrays.

    >>> from analytic.presets import monosemantic_abs
    >>> [w.shape for w in circuit_weights(monosemantic_abs(2))]
    [(4, 2), (2, 4), (2,)]
    """
    if not circuit.is_numeric:
        raise SuperlossError(f"detect needs numeric weights; substitute {list(circuit.symbols)} first")
    if (circuit.hidden, circuit.output) != ("relu", "relu"):
        raise SuperlossError(
            f"detect reads the model ReLU(W2 ReLU(W1 x) + b); this circuit has "
            f"hidden={circuit.hidden!r}, output={circuit.output!r}"
        )
    if any(v != 0 for v in circuit.b1):
        # With a hidden bias the geometry of a neuron (which halves it fires on) changes.
        raise SuperlossError("detect reads a model with no hidden bias; this circuit has a nonzero b1")
    return (
        np.array(circuit.W1.tolist(), dtype=float),
        np.array(circuit.W2.tolist(), dtype=float),
        np.array(circuit.b2.tolist(), dtype=float).reshape(-1),
    )


def _array(value, shape: tuple[int, ...] | None, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SuperlossError(f"{what} is not an array of numbers: {exc}") from None
    if shape is not None and arr.shape != shape or shape is None and arr.ndim != 2:
        want = " x ".join(map(str, shape)) if shape else "a matrix"
        raise SuperlossError(f"{what} has shape {' x '.join(map(str, arr.shape)) or 'scalar'}, expected {want}")
    if not np.all(np.isfinite(arr)):
        raise SuperlossError(f"{what} has an entry that is not finite")
    return arr


def _within(value: float, band: tuple[float, float]) -> bool:
    return band[0] <= value <= band[1]


def _others(row: np.ndarray, keep: Sequence[int]) -> tuple[float, int]:
    """The largest ``|row[i]|`` over ``i`` not in ``keep``, and where it is."""
    rest = np.abs(row).copy()
    rest[list(keep)] = -1.0
    i = int(np.argmax(rest))
    return max(float(rest[i]), 0.0), i


@dataclass(frozen=True)
class _Host:
    """A neuron that passes the host tests, waiting for its inhibitor."""

    neuron: int
    a: int
    b: int
    host_half: int
    rider_half: int
    host_gain: float
    rider_gain: float
    leak_gain: float
    asymmetry: float


def _host(j: int, W1: np.ndarray, W2: np.ndarray, t: dict) -> tuple[_Host | None, str]:
    """Neuron ``j`` as a host, or why not."""
    row, col = W1[j], W2[:, j]
    a = int(np.argmax(np.abs(row)))
    wa = abs(row[a])
    # The rider is the other half this neuron reproduces best: its gain into its own output.
    gains = np.abs(row) * col
    gains[a] = -np.inf
    b = int(np.argmax(gains))
    if gains[b] <= 0:
        return None, "reproduces no second feature"
    host_gain, rider_gain = wa * col[a], float(gains[b])
    if not _within(host_gain, t["gain"]):
        return None, f"gain {host_gain:.3g} of its main half outside {t['gain']}"
    if not _within(rider_gain, t["gain"]):
        return None, f"second feature x_{b} has gain {rider_gain:.3g} outside {t['gain']}"
    other, i = _others(row, (a, b))
    if other * t["dominance"] > wa:
        return None, f"input from x_{i} is {other / wa:.3g} of the main input"
    leak_gain = wa * col[b]
    asymmetry = leak_gain / (abs(row[b]) * col[a])
    if asymmetry < t["asymmetry"]:
        return None, f"superposes x_{b} with asymmetry {asymmetry:.3g} < {t['asymmetry']}"
    return _Host(
        j,
        a,
        b,
        int(np.sign(row[a])),
        int(np.sign(row[b])),
        float(host_gain),
        rider_gain,
        float(leak_gain),
        float(asymmetry),
    ), ""


def _inhibits(h: _Host, k: int, W1: np.ndarray, W2: np.ndarray, t: dict) -> MotifInstance | None:
    """Neuron ``k`` as the inhibitor of host ``h``, or None."""
    row, col = W1[k], W2[:, k]
    c = int(np.argmax(np.abs(row)))
    if c in (h.a, h.b):
        return None
    wc, leak_w = abs(row[c]), row[h.a] * h.host_half  # positive: fires on the host's half of a
    leak = leak_w / wc
    if not 0 < leak < t["leak"]:
        return None
    other, _ = _others(row, (c, h.a))
    if other * t["dominance"] > wc:
        return None
    inhibitor_gain = wc * col[c]
    inhibition = -wc * col[h.b]
    cancellation = -leak_w * col[h.b] / h.leak_gain
    if (
        not _within(inhibitor_gain, t["gain"])
        or inhibition < t["inhibition"]
        or not _within(cancellation, t["cancellation"])
    ):
        return None
    j, hrow, hcol = h.neuron, W1[h.neuron], W2[:, h.neuron]
    wa = abs(hrow[h.a])
    return MotifInstance(
        host=j,
        inhibitor=k,
        host_feature=h.a,
        rider=h.b,
        inhibitor_feature=c,
        host_half=h.host_half,
        rider_half=h.rider_half,
        inhibitor_half=int(np.sign(row[c])),
        host_inputs=(float(hrow[h.a]), float(hrow[h.b])),
        host_outputs=(float(hcol[h.a]), float(hcol[h.b])),
        inhibitor_inputs=(float(row[c]), float(row[h.a])),
        inhibitor_outputs=(float(col[c]), float(col[h.b])),
        rider_input=float(hrow[h.b] / wa),
        host_gain=h.host_gain,
        rider_gain=h.rider_gain,
        leak_gain=h.leak_gain,
        asymmetry=h.asymmetry,
        inhibitor_gain=float(inhibitor_gain),
        leak=float(leak),
        inhibition=float(inhibition),
        cancellation=float(cancellation),
        conditional_bias=float(wa * hcol[c]),
        inhibitor_leak_gain=float(leak_w * col[c]),
    )


def _monosemantic(j: int, W1: np.ndarray, W2: np.ndarray, t: dict) -> tuple[Monosemantic | None, str]:
    """Neuron ``j`` as a half-absolute-value neuron, or why not."""
    row, col = W1[j], W2[:, j]
    i = int(np.argmax(np.abs(row)))
    wi = abs(row[i])
    other, k = _others(row, (i,))
    if other * t["dominance"] > wi:
        return None, f"input from x_{k} is {other / wi:.3g} of the main input"
    gain = wi * col[i]
    if not _within(gain, t["gain"]):
        return None, f"gain {gain:.3g} of its main half outside {t['gain']}"
    other, k = _others(col, (i,))
    if other * t["dominance"] > col[i]:
        return None, f"output to y_{k} is {other / col[i]:.3g} of the output to its own feature"
    return Monosemantic(j, i, int(np.sign(row[i])), float(gain)), ""


def detect(W1, W2, b=None, features: Sequence[str] | None = None) -> Detection:
    """Motif instances and monosemantic neurons of ``y' = ReLU(W2 ReLU(W1 x) + b)``.

    ``W1`` is m x n, ``W2`` n x m; ``b`` (n entries) is checked but no
    decision depends on it. Each host takes the candidate inhibitor whose
    cancellation is nearest 1.

    >>> found = detect([[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, 1, 0, 0], [0, 0, 1, 1]])
    >>> len(found.motifs), len(found.monosemantic), found.halves[:2]
    (0, 4, [(0, -1), (0, 1)])
    """
    W1 = _array(W1, None, "W1")
    m, n = W1.shape
    if m == 0 or n == 0:
        raise SuperlossError(f"W1 has shape {m} x {n}; detect needs at least one feature and one neuron")
    W2 = _array(W2, (n, m), "W2")
    _array(np.zeros(n) if b is None else b, (n,), "b")
    names = tuple(str(f) for f in features) if features is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise SuperlossError(f"detect got {len(names)} feature names for n={n}")
    t = THRESHOLDS

    # In-times-out gains are what the rescaling symmetry leaves unchanged; an all-zero row
    # (never fires: there is no hidden bias) or column (writes nothing) has none.
    largest = np.abs(W1).max(axis=1) * np.abs(W2).max(axis=0)
    dead = tuple(j for j in range(m) if largest[j] <= t["dead"])
    live = [j for j in range(m) if j not in dead]

    hosts, why = {}, {}
    for j in live:
        h, why[j] = _host(j, W1, W2, t)
        if h is not None:
            hosts[j] = h
    motifs = []
    for j, h in hosts.items():
        found = [mi for k in live if k != j and (mi := _inhibits(h, k, W1, W2, t)) is not None]
        if found:
            motifs.append(min(found, key=lambda mi: abs(math.log(mi.cancellation))))
        else:
            why[j] = f"asymmetric host of ReLU({'+' if h.rider_half > 0 else '-'}x_{names[h.b]}) with no inhibitor"
    in_motif = {mi.host for mi in motifs} | {mi.inhibitor for mi in motifs}

    mono, unexplained = [], []
    for j in live:
        if j in in_motif:
            continue
        s, reason = _monosemantic(j, W1, W2, t)
        if s is not None:
            mono.append(s)
            continue
        i = int(np.argmax(np.abs(W1[j])))
        # A host without an inhibitor says more than its failed monosemantic test.
        unexplained.append(Unexplained(j, i, int(np.sign(W1[j, i])), why[j] if j in hosts else reason))
    return Detection(n, m, names, tuple(motifs), tuple(mono), tuple(unexplained), dead)


def plant(
    W1, W2, motifs: Sequence, neurons: Sequence[int], values: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(W1, W2)`` with motif instances written over the given neurons: motif ``k`` (a
    :class:`analytic.presets.Motif` or its tuple) becomes host neuron ``neurons[2k]`` and inhibitor
    ``neurons[2k + 1]``, their weights those of :func:`analytic.presets.compose` at ``values`` (the
    canonical point by default; the output biases are the model's own). What is planted is ground
    truth, for validating :func:`detect` on models of any size: the other neurons keep their weights.

    >>> from analytic.presets import Motif
    >>> W1, W2 = plant(np.zeros((3, 4)), np.zeros((4, 3)), [Motif(0, 1, 2)], neurons=[1, 2])
    >>> [(m.host, m.inhibitor, m.host_feature, m.rider, m.inhibitor_feature) for m in detect(W1, W2).motifs]
    [(1, 2, 0, 1, 2)]
    """
    from analytic.presets import CANONICAL, compose

    W1, W2 = np.array(W1, dtype=float), np.array(W2, dtype=float)
    m, n = W1.shape
    if len(neurons) != 2 * len(motifs) or len(set(neurons)) != len(neurons):
        raise SuperlossError("plant needs two different neurons per motif")
    if not all(0 <= j < m for j in neurons):
        raise SuperlossError(f"plant: neurons must be from 0 to {m - 1}, got {list(neurons)}")
    for k, motif in enumerate(motifs):
        circuit = compose(n, [motif], suffix=False).subs(values or CANONICAL)
        host, inhibitor = neurons[2 * k], neurons[2 * k + 1]
        for source, target in ((0, host), (1, inhibitor)):
            W1[target] = np.array(circuit.W1.row(source), dtype=float).ravel()
            W2[:, target] = np.array(circuit.W2.col(source), dtype=float).ravel()
    return W1, W2
