"""The cells of a cube cut by the hidden ReLU planes, in floating point, triangulated.

For weights that are floats (a trained network) the cells need no symbolic
vertices, only their volumes; :mod:`analytic.simplices` integrates over them.

1. **Hidden cells** (:func:`arrangement`). The cube ``[low, high]^A`` is cut by
   every hidden ReLU plane, one after another, into convex polytopes given by
   their vertices. Each vertex carries its *tight set* (bit mask of the planes
   it lies on) and edges are found from the tight sets alone (the double
   description test of :mod:`analytic.regions`), so the only floating-point
   decision is the sign of a plane at a vertex (with a relative tolerance).
   Degenerate vertices are handled exactly: without hidden biases every plane
   passes through the origin, which is one vertex lying on all of them.
   Three shortcuts give the same cells far faster, which a search that
   integrates at every step needs: a segment is cut at the zeros of its planes
   (:func:`_segments`), and without hidden biases a square or a cube around the
   origin is a fan or a cone of simplices from it (:func:`_fan`, :func:`_cone`).
2. **Triangulation** (:class:`_Pulling`). Every cell is triangulated by
   *pulling*: cone from its first vertex over the facets that miss it,
   recursively, the faces of a face being found from the tight sets alone.
   Pulling the most degenerate vertex first keeps the number of simplices down
   (without biases every cell is a cone from the origin). Both steps depend
   on the pattern of active features only, not on the output, and are cached
   (:func:`cached_arrangement`).

>>> import numpy as np
>>> geo = arrangement(np.array([[1.0, -1.0]]), np.zeros(1), -1.0, 1.0)   # the square cut by x = y
>>> float(geo.volume.sum()), float(geo.volume[geo.firing[geo.cell, 0]].sum())   # all, and where x > y
(4.0, 2.0)
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from itertools import product
from math import factorial

import numpy as np

__all__ = [
    "CACHE_SIMPLICES",
    "CHUNK",
    "TOLERANCE",
    "Arrangement",
    "arrangement",
    "cached_arrangement",
    "clear_cache",
    "volumes",
]

#: Below this relative size a plane's value at a vertex counts as zero: the
#: vertex lies on the plane (many planes meet at the origin without biases).
TOLERANCE = 1e-11

#: How many simplices the cached pattern triangulations may hold in all (about
#: 40 bytes each). Callers that loop over the outputs outside and the patterns
#: inside need every pattern of the network to fit (the trained-size benchmark,
#: 6 features and 10 hidden neurons, needs about 0.6 million).
CACHE_SIMPLICES = 4_000_000


def volumes(V: np.ndarray) -> np.ndarray:
    """Signed volumes of simplices ``V`` of shape ``(K, d+1, d)``."""
    d = V.shape[2]
    if d == 0:
        return np.ones(V.shape[0])
    return np.linalg.det(V[:, 1:, :] - V[:, :1, :]) / factorial(d)


#: Simplices processed at once (bounds the memory of volumes and integrals).
CHUNK = 8000


@dataclass
class Arrangement:
    """The cube ``[low, high]^d`` cut by the hidden planes, triangulated.

    ``points`` ``(P, d)`` are the vertices of all cells, ``simplices`` ``(K, d+1)``
    index them and ``volume`` ``(K,)`` holds their absolute volumes; ``cell[k]``
    is the cell of simplex ``k`` and ``firing[c, j]`` tells whether plane ``j``
    is positive on cell ``c``.
    """

    points: np.ndarray
    simplices: np.ndarray
    volume: np.ndarray
    cell: np.ndarray
    firing: np.ndarray


def _bit_sets(tight: np.ndarray, bits: int) -> list[int]:
    """For each plane bit, the set (bit mask over positions) of the entries of
    ``tight`` that contain it, as Python ints."""
    if tight.dtype == object:
        return [sum(1 << k for k, t in enumerate(tight) if t >> b & 1) for b in range(bits)]
    member = (tight[:, None] >> np.arange(bits, dtype=np.uint64)[None, :]) & np.uint64(1)
    packed = np.packbits(member.astype(bool), axis=0, bitorder="little")
    return [int.from_bytes(packed[:, b].tobytes(), "little") for b in range(bits)]


class _Pulling:
    """Pulling triangulations of the faces of a polyhedral complex, given by the
    tight sets of its points.

    Faces are sets of points (bit masks over the points, ranked most degenerate
    first). The facets of a face ``F`` are the maximal proper nonempty sets
    ``F & plane``, which is exact because every plane is valid for every cell
    (each cell lies on one side of it) and every facet lies on one of them. A
    face is coned from its first point over its facets that miss that point,
    recursively; as the order is global, the triangulation of a face does not
    depend on the cell it is reached from, and it is remembered across cells.
    """

    def __init__(self, tight: np.ndarray, bits: int):
        # Most degenerate points first: cones from them need fewest simplices.
        degree = np.array([int(t).bit_count() for t in tight], dtype=np.int64)
        self.order = np.lexsort((np.arange(len(tight)), -degree))
        self.rank = np.empty(len(tight), dtype=np.int64)
        self.rank[self.order] = np.arange(len(tight))
        self.planes = [s for s in _bit_sets(tight[self.order], bits) if s]
        self.memo: dict[tuple[int, int], list[tuple[int, ...]]] = {}

    def facets(self, face: int) -> list[int]:
        """The facets of ``face``: its maximal proper nonempty intersections with the planes."""
        subs = sorted({face & s for s in self.planes} - {0, face}, key=int.bit_count, reverse=True)
        out: list[int] = []
        for s in subs:
            if not any(s & t == s for t in out):
                out.append(s)
        return out

    def pull(self, face: int, dim: int) -> list[tuple[int, ...]]:
        """Simplices (tuples of ranks) of the pulling triangulation of ``face``."""
        apex = (face & -face).bit_length() - 1
        if dim == 0:
            return [(apex,)]
        # A face is remembered with its dimension: where rounding makes a face degenerate it
        # can be reached as a facet of faces of two dimensions, and each needs its own simplices.
        found = self.memo.get((face, dim))
        if found is None:
            found = self.memo[(face, dim)] = [
                (apex,) + rest for f in self.facets(face) if not f >> apex & 1 for rest in self.pull(f, dim - 1)
            ]
        return found

    def cell(self, vertices: np.ndarray, d: int) -> list[tuple[int, ...]]:
        """Simplices (tuples of ranks) of the cell with the given point indices."""
        return self.pull(sum(1 << int(r) for r in self.rank[vertices]), d)


def arrangement(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """Cut ``[low, high]^d`` by the planes ``a[j] . x + c[j] = 0`` (``a`` is
    ``(h, d)`` with nonzero rows) and triangulate every cell (in one dimension
    by :func:`_segments`, else by :func:`_cut_and_pull`)."""
    d = a.shape[1]
    if d == 1:
        return _segments(a, c, low, high)
    if d in (2, 3) and len(a) and low < 0 < high and not np.any(c):
        return (_fan if d == 2 else _cone)(a, low, high)
    return _cut_and_pull(a, c, low, high)


def _segments(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement` of a segment: cut at the zeros of the planes, a zero
    within the plane's ``TOLERANCE`` of a point already there counting as that
    point (as in :func:`_cut_and_pull`). Ten times faster, and the search of
    the optimizer meets a segment in every pattern with one feature."""
    a1 = a[:, 0]
    slack = TOLERANCE * (np.abs(a1) * max(abs(low), abs(high)) + np.abs(c)) / np.abs(a1)
    cuts = [low]
    for t, s in sorted(zip((-c / a1).tolist(), slack.tolist(), strict=True)):
        if cuts[-1] + s < t < high - s:
            cuts.append(t)
    cuts.append(high)
    points = np.array(cuts)
    middle = (points[1:] + points[:-1]) / 2
    k = len(points) - 1
    return Arrangement(
        points[:, None],
        np.stack([np.arange(k), np.arange(1, k + 1)], axis=1).astype(np.int32),
        np.diff(points),
        np.arange(k, dtype=np.int32),
        (middle[:, None] * a1[None, :] + c[None, :]) > 0,
    )


def _fan(a: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement` of a square around the origin cut by lines through
    it (a circuit without hidden biases): the triangles from the origin to
    consecutive points of the boundary, sorted by angle, where the corners and
    the lines meet it. No line crosses a triangle's inside, so each is a cell
    of its own, on the side of each line that its centroid is on."""
    directions = np.concatenate([np.stack([-a[:, 1], a[:, 0]], axis=1), np.stack([a[:, 1], -a[:, 0]], axis=1)])
    with np.errstate(divide="ignore"):
        reach = np.where(directions > 0, high / directions, np.where(directions < 0, low / directions, np.inf))
    rim = directions * reach.min(1)[:, None]
    rim = np.concatenate([rim, np.array([[low, low], [high, low], [high, high], [low, high]])])
    rim = rim[np.argsort(np.arctan2(rim[:, 1], rim[:, 0]), kind="stable")]
    k = len(rim)
    points = np.concatenate([np.zeros((1, 2)), rim])
    simplices = np.stack(
        [
            np.zeros(k, dtype=np.int32),
            np.arange(1, k + 1, dtype=np.int32),
            np.roll(np.arange(1, k + 1, dtype=np.int32), -1),
        ],
        axis=1,
    )
    first, second = rim, np.roll(rim, -1, axis=0)
    volume = np.abs(first[:, 0] * second[:, 1] - first[:, 1] * second[:, 0]) / 2
    return Arrangement(points, simplices, volume, np.arange(k, dtype=np.int32), ((first + second) / 3) @ a.T > 0)


def _split(polygon: list, au: float, aw: float, c: float, tol: float) -> list[list]:
    """A convex polygon (vertices in order) cut by the line ``au u + aw w + c = 0``:
    its one or two parts, a vertex within ``tol`` of the line belonging to both."""
    values = [au * u + aw * w + c for u, w in polygon]
    if all(v >= -tol for v in values) or all(v <= tol for v in values):
        return [polygon]
    pos, neg = [], []
    for k, (p, v) in enumerate(zip(polygon, values, strict=True)):
        q, vq = polygon[k - len(polygon) + 1], values[k - len(polygon) + 1]
        if v >= -tol:
            pos.append(p)
        if v <= tol:
            neg.append(p)
        if (v > tol and vq < -tol) or (v < -tol and vq > tol):
            t = v / (v - vq)
            crossing = (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))
            pos.append(crossing)
            neg.append(crossing)
    return [pos, neg]


def _cone(a: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement` of a cube around the origin cut by planes through
    it (a circuit without hidden biases): every cell is a cone from the origin,
    so each face of the cube is cut by the planes' traces (lines), its pieces
    fanned into triangles, and each triangle coned from the origin into a
    tetrahedron: a cell of its own, on the side of each plane that its centroid is on."""
    radius = max(abs(low), abs(high))
    square = [(low, low), (high, low), (high, high), (low, high)]
    rows = a.tolist()
    corners = []
    for k in range(3):
        u, w = [j for j in range(3) if j != k]
        for v in (low, high):
            polygons = [square]
            for row in rows:
                if row[u] or row[w]:
                    tol = TOLERANCE * ((abs(row[u]) + abs(row[w]) + abs(row[k])) * radius)
                    polygons = [part for poly in polygons for part in _split(poly, row[u], row[w], row[k] * v, tol)]
            for poly in polygons:
                for i in range(1, len(poly) - 1):
                    for p in (poly[0], poly[i], poly[i + 1]):
                        point = [0.0, 0.0, 0.0]
                        point[u], point[w], point[k] = p[0], p[1], v
                        corners.append(point)
    tri = np.array(corners).reshape(-1, 3, 3)  # (tetrahedra, 3 face vertices, 3)
    n = len(tri)
    points = np.concatenate([np.zeros((1, 3)), tri.reshape(-1, 3)])
    simplices = np.concatenate(
        [np.zeros((n, 1), dtype=np.int32), np.arange(1, 3 * n + 1, dtype=np.int32).reshape(n, 3)], axis=1
    )
    volume = np.abs(np.linalg.det(tri)) / 6
    return Arrangement(points, simplices, volume, np.arange(n, dtype=np.int32), (tri.sum(1) / 4) @ a.T > 0)


def _cut_and_pull(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement` in any dimension: the cube cut by one plane after
    another, every cell triangulated by pulling (:class:`_Pulling`).

    Tight-set bits: ``2k`` / ``2k+1`` for the faces ``x_k = low`` / ``x_k = high``,
    ``2d + j`` for plane ``j``. Every plane cuts every cell, so every plane is
    valid for every cell (the cell lies on one side), which is what the edge test
    and the triangulation rely on.
    """
    h, d = a.shape
    bits = 2 * d + h
    # Tight sets are bit masks: machine words when they fit, Python ints otherwise.
    kind = np.uint64 if bits <= 64 else object
    corners = list(product((0, 1), repeat=d))
    points = [np.array([high if b else low for b in corner], dtype=float) for corner in corners]
    tight = np.array([sum(1 << (2 * k + b) for k, b in enumerate(corner)) for corner in corners], dtype=kind)
    # A cell: its vertices (point indices) and the planes positive on it (bit j).
    cells: list[tuple[np.ndarray, int]] = [(np.arange(len(corners)), 0)]
    radius = max(abs(low), abs(high))
    for j in range(h):
        bit = np.array(1 << (2 * d + j), dtype=kind)[()]
        P = np.array(points, dtype=float).reshape(len(points), d)
        values = P @ a[j] + c[j]
        tol = TOLERANCE * (np.abs(a[j]).sum() * radius + abs(c[j]))
        sign = np.where(values > tol, 1, np.where(values < -tol, -1, 0))
        tight = np.where(sign == 0, tight | bit, tight)
        # Each crossed edge (u, v) gets one new point, shared by the cells around it.
        crossings: dict[tuple[int, int], int] = {}
        new_tight: list = []
        out: list[tuple[np.ndarray, int]] = []
        for verts, fire in cells:
            s = sign[verts]
            pos, neg = verts[s > 0], verts[s < 0]
            if len(neg) == 0 or len(pos) == 0:
                out.append((verts, fire | (1 << j) if len(pos) else fire))
                continue
            # u, v span an edge iff no third vertex lies on every plane they share.
            common = tight[pos][:, None] & tight[neg][None, :]
            shared = (tight[verts][None, None, :] & common[..., None]) == common[..., None]
            rim = []
            for p, q in zip(*np.nonzero(shared.sum(-1) == 2), strict=True):
                u, v = int(pos[p]), int(neg[q])
                if (u, v) not in crossings:
                    t = values[u] / (values[u] - values[v])
                    crossings[(u, v)] = len(points)
                    points.append(P[u] + t * (P[v] - P[u]))
                    # Inside the edge: on exactly the planes that hold the edge.
                    new_tight.append(common[p, q] | bit)
                rim.append(crossings[(u, v)])
            rim = np.concatenate([verts[s == 0], np.array(rim, dtype=np.intp)])
            out.append((np.concatenate([pos, rim]), fire | (1 << j)))
            out.append((np.concatenate([neg, rim]), fire))
        tight = np.concatenate([tight, np.array(new_tight, dtype=kind)])
        cells = out
    pulling = _Pulling(tight, bits)
    simplices, owner = [], []
    for index, (verts, _) in enumerate(cells):
        pieces = pulling.cell(verts, d)
        simplices.extend(pieces)
        owner.extend([index] * len(pieces))
    index = np.int32 if len(points) < 2**31 else np.intp
    simplices = pulling.order.astype(index)[np.array(simplices, dtype=np.intp).reshape(len(simplices), d + 1)]
    firing = np.array([[fire >> j & 1 for j in range(h)] for _, fire in cells], dtype=bool).reshape(len(cells), h)
    P = np.array(points, dtype=float).reshape(len(points), d)
    volume = np.concatenate(
        [np.zeros(0)] + [np.abs(volumes(P[simplices[k : k + CHUNK]])) for k in range(0, len(simplices), CHUNK)]
    )
    return Arrangement(P, simplices, volume, np.array(owner, dtype=index), firing)


_arrangements: OrderedDict = OrderedDict()
#: The number of simplices in ``_arrangements``, kept as entries come and go.
_cached_simplices = 0


def cached_arrangement(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement`, remembered (least recently used first out, up to
    :data:`CACHE_SIMPLICES` simplices in all, the newest always kept)."""
    global _cached_simplices
    key = (a.shape, a.tobytes(), c.tobytes(), float(low), float(high))
    if key in _arrangements:
        _arrangements.move_to_end(key)
        return _arrangements[key]
    result = arrangement(a, c, low, high)
    _arrangements[key] = result
    _cached_simplices += len(result.simplices)
    while len(_arrangements) > 1 and _cached_simplices > CACHE_SIMPLICES:
        _cached_simplices -= len(_arrangements.popitem(last=False)[1].simplices)
    return result


def clear_cache() -> None:
    """Forget every cached arrangement."""
    global _cached_simplices
    _arrangements.clear()
    _cached_simplices = 0
