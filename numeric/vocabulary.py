"""A vocabulary of circuits: what each neuron of ``ReLU(W2 ReLU(W1 x) + b)`` does, in words.

:func:`describe` reads the model's :func:`numeric.canonical.canonical` form (every live
neuron's largest input is 1, so a write ``W2[k, j]`` is the gain of the neuron's main
half into ``y_k``). A neuron **reads** the halves of the features it takes non-negligible
input from, and each of its non-negligible writes has a **role**:

- **reproduce**: a positive write to the output of a feature it reads: it computes that
  half of ``|x_i|`` (exactly when the gain is 1);
- **leak**: a positive write to another feature's output: interference;
- **inhibit**: a large negative write (at least ``inhibition`` per unit of its main half)
  aimed at a leak: another neuron leaks into that output a half this one reads too;
- **conditional bias**: any other negative write, a small bias switched on with the neuron
  (the motif host's ``-gamma`` write; where it offsets a leak, that is reported).

A half is **computed** when some neuron reproduces it with a gain in the ``gain`` band.
Named structures: **monosemantic half** and **asymmetric superposition with inhibition**
(those of :func:`numeric.detect.detect` on the canonical form, so the two always agree),
**symmetric** and **asymmetric superposition** (a neuron computing two halves, its two
leaks within or beyond a factor ``asymmetry``; other inputs at most ``1 / dominance``),
**linear pair** (two neurons whose inputs and outputs are antiparallel, cosines at most
``-pair``: since ``ReLU(u) - ReLU(-u) = u`` they act together as one linear unit) and
**dropped feature** (neither half computed). Any other live neuron is **new**.

>>> from analytic.presets import CANONICAL, asymmetric_inhibition
>>> from numeric.detect import circuit_weights
>>> d = describe(*circuit_weights(asymmetric_inhibition().subs(CANONICAL)), features="abc")
>>> d.structures, d.new
(('asymmetric superposition with inhibition', 'monosemantic half', 'monosemantic half', 'monosemantic half'), False)
>>> [str(r) for r in d.neurons[0].roles if r.kind == "conditional bias"]
['conditional bias c -0.25 (offsets a+ of neuron 3, ratio 1)']
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from analytic.errors import SuperlossError

from .canonical import TOLERANCE, Canonical, canonical, main_inputs
from .detect import THRESHOLDS as DETECT
from .detect import detect

__all__ = ["KINDS", "NAMES", "THRESHOLDS", "Description", "Neuron", "Role", "Structure", "describe"]

#: Every threshold the vocabulary uses: detect's, where they mean the same thing (see
#: ``docs/detect.md`` for why each value), and the canonical form's tolerance.
THRESHOLDS: dict[str, float | tuple[float, float]] = {
    # A read or a write whose gain is at most this is ignored, as a dead neuron is.
    "negligible": DETECT["dead"],
    # A neuron computes a half when it reproduces it with a gain in this band.
    "gain": DETECT["gain"],
    # In superposition, every input but the two computed halves is at most 1 / dominance.
    "dominance": DETECT["dominance"],
    # Two shared halves are asymmetric when one leak is at least this times the other.
    "asymmetry": DETECT["asymmetry"],
    # A negative write at least this large (per unit of the main half) inhibits; smaller is a bias.
    "inhibition": DETECT["inhibition"],
    # Two neurons whose inputs and outputs are both at least this antiparallel (cosine <= -pair)
    # are a linear pair: ReLU(u) - ReLU(-u) = u.
    "pair": 0.99,
    # Rows this close are one neuron; inputs this close to the largest are tied (canonical form).
    "tolerance": TOLERANCE,
}

#: The roles of a write, in the order a neuron's roles are listed.
KINDS = ("reproduce", "leak", "inhibit", "conditional bias")

#: The named structures, in the order they are listed.
NAMES = (
    "asymmetric superposition with inhibition",
    "asymmetric superposition",
    "symmetric superposition",
    "linear pair",
    "monosemantic half",
    "dropped feature",
)


def _half(name: str, sign: int) -> str:
    return f"{name}{'+' if sign > 0 else '-'}"


@dataclass(frozen=True)
class Role:
    """One role of one write of a neuron to ``y_output``.

    ``kind`` is ``"reproduce"``, ``"leak"``, ``"inhibit"`` or ``"conditional bias"``.
    For reproduce and leak, ``(feature, half)`` is the half read and ``gain`` its gain
    into ``y_output``. For inhibit and conditional bias, ``gain`` is the write per unit
    of the neuron's main half (negative); ``(feature, half)``, if set, is the half it
    reads that ``against`` (other neurons) leak into ``y_output``, and ``ratio`` is this
    neuron's push down from that half over their leak gains (1: exactly cancelled).
    """

    kind: str
    output: int
    gain: float
    feature: int | None = None
    half: int | None = None
    against: tuple[int, ...] = ()
    ratio: float | None = None
    names: tuple[str, ...] = ()

    def label(self) -> str:
        """Short, for a figure: ``a+ reproduce``, ``b- leak→a``, ``inhibit b``, ``cond. bias c``."""
        out = self.names[self.output]
        if self.kind == "reproduce":
            return f"{_half(self.names[self.feature], self.half)} reproduce"
        if self.kind == "leak":
            return f"{_half(self.names[self.feature], self.half)} leak→{out}"
        return f"{'inhibit' if self.kind == 'inhibit' else 'cond. bias'} {out}"

    def __str__(self) -> str:
        if self.kind in ("reproduce", "leak"):
            return f"{self.label()} {self.gain:.3g}"
        text = f"{self.kind} {self.names[self.output]} {self.gain:+.3g}"
        if self.against:
            leakers = ", ".join(map(str, self.against))
            text += (
                f" (offsets {_half(self.names[self.feature], self.half)} of neuron {leakers}, ratio {self.ratio:.3g})"
            )
        return text

    def to_dict(self) -> dict:
        out = asdict(self)
        del out["names"]
        out["against"] = list(self.against)
        return out


@dataclass(frozen=True)
class Neuron:
    """A live slot of the canonical form: its main half, what it reads and its roles.

    ``reads``: ``(feature, half, weight)`` with the weight relative to the main input
    (main first). ``structure``: the named structure it belongs to, or ``"new"``.
    """

    slot: int
    origin: tuple[int, ...]
    feature: int
    half: int
    reads: tuple[tuple[int, int, float], ...]
    roles: tuple[Role, ...]
    structure: str
    names: tuple[str, ...] = ()

    def computes(self) -> list[tuple[int, int]]:
        """The halves it reproduces with a gain in the ``gain`` band."""
        low, high = THRESHOLDS["gain"]
        return [(r.feature, r.half) for r in self.roles if r.kind == "reproduce" and low <= r.gain <= high]

    def __str__(self) -> str:
        f = self.names
        reads = ", ".join(f"{_half(f[i], s)} {w:.3g}" for i, s, w in self.reads)
        origin = ",".join(map(str, self.origin))
        roles = "; ".join(map(str, self.roles)) or "nothing"
        main = _half(f[self.feature], self.half)
        return f"neuron {self.slot} (was {origin}) {main}: reads {reads} | {roles} [{self.structure}]"

    def to_dict(self) -> dict:
        return {
            "slot": self.slot,
            "origin": list(self.origin),
            "feature": self.feature,
            "half": self.half,
            "reads": [list(r) for r in self.reads],
            "roles": [r.to_dict() for r in self.roles],
            "structure": self.structure,
        }


@dataclass(frozen=True)
class Structure:
    """One instance of a named structure: its name, its neurons (canonical slots), the
    ``(feature, half)`` pairs involved and one line of detail."""

    name: str
    neurons: tuple[int, ...]
    halves: tuple[tuple[int, int], ...]
    detail: str


@dataclass(frozen=True, eq=False)
class Description:
    """What :func:`describe` found: the canonical form, one :class:`Neuron` per live slot,
    the named :class:`Structure` instances and one line per thing no name covers."""

    form: Canonical
    features: tuple[str, ...]
    neurons: tuple[Neuron, ...]
    found: tuple[Structure, ...]
    novel: tuple[str, ...]

    @property
    def structures(self) -> tuple[str, ...]:
        """The names found, one per instance."""
        return tuple(s.name for s in self.found)

    @property
    def new(self) -> bool:
        """Whether anything is not covered by a named structure."""
        return bool(self.novel)

    @property
    def computed(self) -> list[tuple[int, int]]:
        """The ``(feature, half)`` pairs some neuron computes."""
        return sorted({h for n in self.neurons for h in n.computes()})

    @property
    def dropped(self) -> list[int]:
        """Features with neither half computed."""
        done = {f for f, _ in self.computed}
        return [f for f in range(len(self.features)) if f not in done]

    @property
    def half_dropped(self) -> list[tuple[int, int]]:
        """``(feature, half)`` not computed while the other half is."""
        done = set(self.computed)
        return [(f, s) for f in sorted({f for f, _ in done}) for s in (1, -1) if (f, s) not in done]

    @property
    def shared(self) -> list[tuple[Neuron, str, float | None]]:
        """Neurons computing several halves: ``(neuron, kind, asymmetry)``, kind
        ``symmetric`` or ``asymmetric`` for two halves (asymmetry: the larger leak over
        the smaller) and ``k halves`` beyond (asymmetry None)."""
        out = []
        for n in self.neurons:
            halves = n.computes()
            if len(halves) == 2:
                asymmetry = _asymmetry(n, halves)
                out.append((n, "asymmetric" if asymmetry >= THRESHOLDS["asymmetry"] else "symmetric", asymmetry))
            elif len(halves) > 2:
                out.append((n, f"{len(halves)} halves", None))
        return out

    def roles(self, kind: str) -> list[tuple[Neuron, Role]]:
        """Every role of that kind, with its neuron."""
        return [(n, r) for n in self.neurons for r in n.roles if r.kind == kind]

    def to_dict(self) -> dict:
        """Plain data (JSON-ready), thresholds included."""
        return {
            "features": list(self.features),
            "thresholds": {k: list(v) if isinstance(v, tuple) else v for k, v in THRESHOLDS.items()},
            "canonical": self.form.to_dict(),
            "neurons": [n.to_dict() for n in self.neurons],
            "computed": [list(h) for h in self.computed],
            "dropped": self.dropped,
            "half_dropped": [list(h) for h in self.half_dropped],
            "shared": [{"neuron": n.slot, "kind": k, "asymmetry": a} for n, k, a in self.shared],
            "structures": [
                {"name": s.name, "neurons": list(s.neurons), "halves": [list(h) for h in s.halves], "detail": s.detail}
                for s in self.found
            ],
            "new": self.new,
            "novel": list(self.novel),
        }

    def __str__(self) -> str:
        f = self.features
        m, n = self.form.W1.shape
        lines = [
            f"n={n}, m={m}: {len(self.neurons)} live neuron(s), {self.form.dead} dead; "
            f"{len(self.computed)} of {2 * n} halves computed; output bias "
            + ", ".join(f"b_{name} {v:+.3g}" for name, v in zip(f, self.form.b, strict=True))
        ]
        lines += [str(neuron) for neuron in self.neurons]
        lines.append("dropped: " + (", ".join(f[i] for i in self.dropped) or "none"))
        lines.append("half-dropped: " + (", ".join(_half(f[i], s) for i, s in self.half_dropped) or "none"))
        shared = [
            f"neuron {nn.slot} {' and '.join(_half(f[i], s) for i, s in nn.computes())} ({kind}"
            + (")" if a is None else f", asymmetry {a:.3g})")
            for nn, kind, a in self.shared
        ]
        lines.append("shared: " + ("; ".join(shared) or "none"))
        inhibited = [
            f"neuron {nn.slot} inhibits y_{f[r.output]} against {_half(f[r.feature], r.half)} leaked by neuron "
            f"{', '.join(map(str, r.against))}: cancellation {r.ratio:.3g}"
            for nn, r in self.roles("inhibit")
            if r.against
        ]
        lines.append("inhibited: " + ("; ".join(inhibited) or "none"))
        biases = [f"neuron {nn.slot} {r}" for nn, r in self.roles("conditional bias")]
        lines.append("conditional biases: " + ("; ".join(biases) or "none"))
        counts = Counter(self.structures)
        lines.append("structures: " + (", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items()) or "none"))
        lines += [f"  {s.name}: {s.detail}" for s in self.found if s.name != "monosemantic half"]
        lines += [f"new: {line}" for line in self.novel]
        return "\n".join(lines)


def _asymmetry(neuron: Neuron, halves: list[tuple[int, int]]) -> float:
    """The larger of the two leaks between two shared halves over the smaller."""
    (a, _), (b, _) = halves
    leak = {(r.feature, r.output): r.gain for r in neuron.roles if r.kind == "leak"}
    ab, ba = leak.get((a, b), 0.0), leak.get((b, a), 0.0)
    return max(ab, ba) / min(ab, ba) if min(ab, ba) > 0 else float("inf")


def _roles(j: int, C: Canonical, reads, names: tuple[str, ...]) -> list[Role]:
    """The roles of live slot ``j``'s non-negligible writes."""
    t = THRESHOLDS
    W1, W2 = C.W1, C.W2
    roles = []
    for k in range(W2.shape[0]):
        w = W2[k, j]
        if abs(w) <= t["negligible"]:
            continue
        if w > 0:
            roles += [
                Role("reproduce" if i == k else "leak", k, r * w, i, s, names=names)
                for i, s, r in reads
                if r * w > t["negligible"]
            ]
            continue
        # A negative write offsets the leaks into y_k of the halves this neuron reads (it fires
        # with them); it is aimed at the one it cancels best, as detect pairs a host and an inhibitor.
        aimed = []
        for i, s, r in (read for read in reads if read[0] != k):
            leaks = {h: C.gains[h, i, k] * s for h in range(C.live) if h != j and W1[h, i] * s > 0 and W2[k, h] > 0}
            leaks = {h: g for h, g in leaks.items() if g > t["negligible"]}
            if leaks:
                aimed.append((i, s, tuple(leaks), -r * w / sum(leaks.values())))
        kind = "inhibit" if aimed and -w >= t["inhibition"] else "conditional bias"
        best = min(aimed, key=lambda a: abs(math.log(a[3])), default=())
        roles.append(Role(kind, k, w, *best, names=names))
    # One negative role per output, so only reproduce and leak roles tie up to the feature.
    return sorted(roles, key=lambda r: (KINDS.index(r.kind), r.output, -1 if r.feature is None else r.feature))


def describe(W1, W2, b=None, features: Sequence[str] | None = None) -> Description:
    """Describe ``ReLU(W2 ReLU(W1 x) + b)`` neuron by neuron, on its canonical form.

    ``W1`` is m x n, ``W2`` n x m, ``b`` n entries (``None``: zeros); ``features`` names
    the n features (default ``0 .. n-1``). Bad input is refused as by :func:`canonical`.
    Neurons are canonical slots; ``Neuron.origin`` says which input neurons each came from.

    >>> d = describe([[1, 0], [-1, 0], [0, 1]], [[1, 1, 0], [0, 0, 1]], features="ab")
    >>> d.structures, d.half_dropped, d.new
    (('monosemantic half', 'monosemantic half', 'monosemantic half'), [(1, -1)], False)
    """
    C = canonical(W1, W2, b)
    n = C.W1.shape[1]
    names = tuple(str(f) for f in features) if features is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise SuperlossError(f"describe got {len(names)} feature names for n={n}")
    t = THRESHOLDS
    main, half = main_inputs(C.W1[: C.live], C.tolerance)
    reads_of = {}
    for j in range(C.live):
        row, top = C.W1[j], np.abs(C.W2[:, j]).max()
        read = [i for i in range(n) if abs(row[i]) * top > t["negligible"]]
        read.sort(key=lambda i: i != main[j])  # the main input first, then by feature
        reads_of[j] = tuple((i, int(np.sign(row[i])), float(abs(row[i]))) for i in read)
    roles = {j: tuple(_roles(j, C, reads_of[j], names)) for j in range(C.live)}

    # The motif and the monosemantic halves are detect's, on the same canonical weights.
    found, member = [], {}
    d = detect(*C.weights(), features=names)
    for x in d.motifs:
        halves = ((x.host_feature, x.host_half), (x.rider, x.rider_half), (x.inhibitor_feature, x.inhibitor_half))
        a, r, c = (_half(names[i], s) for i, s in halves)
        detail = (
            f"host neuron {x.host} = {a} carrying {r} (leak gain {x.leak_gain:.3g}, asymmetry {x.asymmetry:.3g}); "
            f"inhibitor neuron {x.inhibitor} = {c} leaking {a} (inhibition {x.inhibition:.3g}, "
            f"cancellation {x.cancellation:.3g})"
        )
        found.append(Structure("asymmetric superposition with inhibition", (x.host, x.inhibitor), halves, detail))
        member[x.host] = member[x.inhibitor] = "asymmetric superposition with inhibition"
    for s in d.monosemantic:
        detail = f"neuron {s.neuron} = ReLU({'+' if s.half > 0 else '-'}x_{names[s.feature]}), gain {s.gain:.3g}"
        found.append(Structure("monosemantic half", (s.neuron,), ((s.feature, s.half),), detail))
        member[s.neuron] = "monosemantic half"

    for j, k, inputs, outputs in _linear_pairs(C, [j for j in range(C.live) if j not in member]):
        detail = (
            f"neurons {j} and {k}: inputs antiparallel (cosine {inputs:.6f}), outputs opposite (cosine {outputs:.6f}); "
            "together nearly one linear unit"
        )
        found.append(
            Structure("linear pair", (j, k), ((int(main[j]), int(half[j])), (int(main[k]), int(half[k]))), detail)
        )
        member[j] = member[k] = "linear pair"

    neurons, novel = [], []
    for j in range(C.live):
        neuron = Neuron(j, C.order[j], int(main[j]), int(half[j]), reads_of[j], roles[j], member.get(j, ""), names)
        if j not in member:
            name = _superposition(neuron)
            if name is None:
                name = "new"
                novel.append(f"neuron {j} ({_half(names[main[j]], half[j])}) {_unnamed(neuron)}")
            else:
                halves = tuple(neuron.computes())
                text = " and ".join(_half(names[i], s) for i, s in halves)
                asymmetry = _asymmetry(neuron, list(halves))
                found.append(Structure(name, (j,), halves, f"neuron {j} = {text}, asymmetry {asymmetry:.3g}"))
            neuron = replace(neuron, structure=name)
        neurons.append(neuron)
    computed = {i for nn in neurons for i, _ in nn.computes()}
    found += [
        Structure("dropped feature", (), ((i, 1), (i, -1)), f"no neuron computes |x_{names[i]}|")
        for i in range(n)
        if i not in computed
    ]
    found.sort(key=lambda s: (NAMES.index(s.name), s.neurons, s.halves))
    return Description(C, names, tuple(neurons), tuple(found), tuple(novel))


def _cosine(u: np.ndarray, v: np.ndarray) -> float:
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))


def _linear_pairs(C: Canonical, slots: list[int]) -> list[tuple[int, int, float, float]]:
    """Disjoint pairs of ``slots`` whose input rows and output columns both have cosine at most
    ``-pair``, the most antiparallel first: ``(j, k, input cosine, output cosine)``."""
    pairs = sorted(
        (_cosine(C.W1[j], C.W1[k]) + _cosine(C.W2[:, j], C.W2[:, k]), j, k)
        for a, j in enumerate(slots)
        for k in slots[a + 1 :]
        if np.abs(C.W2[:, j]).max() > 0 and np.abs(C.W2[:, k]).max() > 0
    )
    out, used = [], set()
    for _, j, k in pairs:
        inputs, outputs = _cosine(C.W1[j], C.W1[k]), _cosine(C.W2[:, j], C.W2[:, k])
        if j not in used and k not in used and max(inputs, outputs) <= -THRESHOLDS["pair"]:
            out.append((j, k, inputs, outputs))
            used |= {j, k}
    return out


def _superposition(neuron: Neuron) -> str | None:
    """The superposition a neuron is in (two computed halves, every other input at most
    ``1 / dominance``), or None."""
    halves = neuron.computes()
    if len(halves) != 2:
        return None
    shared = {i for i, _ in halves}
    if any(w * THRESHOLDS["dominance"] > 1 for i, _, w in neuron.reads if i not in shared):
        return None
    asymmetric = _asymmetry(neuron, halves) >= THRESHOLDS["asymmetry"]
    return "asymmetric superposition" if asymmetric else "symmetric superposition"


def _unnamed(neuron: Neuron) -> str:
    """One line on a neuron no name fits: what it computes, reads and writes."""
    f = neuron.names
    halves = " and ".join(_half(f[i], s) for i, s in neuron.computes()) or "no half"
    count = Counter(r.kind for r in neuron.roles)
    leaks = [r for r in neuron.roles if r.kind == "leak"]
    largest = f" (largest {max(leaks, key=lambda r: r.gain)})" if leaks else ""
    return (
        f"computes {halves}, reads {len(neuron.reads)} half(s), {count['leak']} leak(s){largest}, "
        f"{count['inhibit']} inhibition(s), {count['conditional bias']} conditional bias(es): no known structure"
    )
