"""Exact integration for numeric networks in floating point, by exact cells.

For weights that are floats (a trained network) the cells need no symbolic
vertices, only their volumes and residuals. The loss term of output ``i`` and
pattern ``A`` is computed in three steps:

1. **Hidden cells.** The cube ``[low, high]^A`` is cut by every hidden ReLU
   plane, one after another, as convex polytopes given by their vertices. Each
   vertex carries its *tight set* (bit mask of the planes it lies on), and
   edges are found combinatorially from the tight sets (the double description
   test of :mod:`analytic.regions`), so the only floating-point decision is the
   sign of a plane at a vertex (with a relative tolerance). Degenerate vertices
   (without hidden biases every plane passes through the origin) are therefore
   handled exactly: the origin is one vertex lying on all planes.
2. **Triangulation.** Every cell is triangulated by *pulling*: cone from its
   first vertex over the facets that miss it, recursively, where the faces of a
   face are found from the tight sets alone (maximal proper intersections with
   the planes). Pulling the most degenerate vertex first keeps the number of
   simplices small (without biases each cell is a cone from the origin).
   Steps 1 and 2 depend on the pattern only, not on the output, and are cached.
3. **Output cuts.** All simplices of the pattern, each labelled with the hidden
   neurons firing on its cell, are cut, vectorised, by the plane ``x_i = 0`` of
   ``|x_i|`` and by the output ReLU plane (which depends on the firing
   pattern), and ``l^2`` is integrated with the exact simplex formula.

The integrals are the exact simplex formulas of :mod:`analytic.integrate`,
evaluated in float64: the only error is rounding (and vertices that lie within a
relative ``TOLERANCE`` of a plane count as lying on it).

>>> import numpy as np
>>> V, _ = kuhn(2, -1.0, 1.0)
>>> float(np.abs(volumes(V)).sum())
4.0
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from itertools import combinations, permutations, product
from math import factorial

import numpy as np

#: Below this relative size a plane's value at a vertex counts as zero: the
#: vertex lies on the plane (many planes meet at the origin without biases).
TOLERANCE = 1e-11

#: How many pattern triangulations :func:`term_integral` keeps (callers loop over
#: the outputs outside and the patterns inside, so this should cover all patterns).
CACHE_SIZE = 128


def kuhn(d: int, low: float, high: float) -> tuple[np.ndarray, int]:
    """Kuhn's triangulation of ``[low, high]^d``: array ``(d!, d+1, d)`` and ``d!``."""
    if d == 0:
        return np.zeros((1, 1, 0)), 1
    simplices = []
    for perm in permutations(range(d)):
        v = np.full(d, low, dtype=float)
        verts = [v.copy()]
        for k in perm:
            v[k] = high
            verts.append(v.copy())
        simplices.append(verts)
    return np.array(simplices, dtype=float).reshape(-1, d + 1, d), factorial(d)


def volumes(V: np.ndarray) -> np.ndarray:
    """Signed volumes of simplices ``V`` of shape ``(K, d+1, d)``."""
    d = V.shape[2]
    if d == 0:
        return np.ones(V.shape[0])
    return np.linalg.det(V[:, 1:, :] - V[:, :1, :]) / factorial(d)


# -- cutting simplices (for the planes that depend on the output) -----------------


@cache
def _templates(nP: int, nZ: int, nN: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays of the staircase triangulations of both parts of a cut simplex.

    Vertices are numbered ``P (nP), Z (nZ), E (nP*nN, row-major), N (nN)``,
    ``E[i, j]`` being the point where the plane crosses the edge ``P_i N_j``.
    The positive part is ``Delta_{P-1} x Delta_N`` joined with ``Z``; its
    staircase triangulation has ``C(P-1+N, N)`` simplices (likewise the negative).
    """
    zs = list(range(nP, nP + nZ))

    def e(i: int, j: int) -> int:
        return nP + nZ + i * nN + j

    def staircase(rows: int, cols: int, at) -> list[list[int]]:
        out = []
        steps = rows - 1 + cols - 1
        for ups in combinations(range(steps), rows - 1):
            r = c = 0
            path = [at(0, 0)]
            for step in range(steps):
                if step in ups:
                    r += 1
                else:
                    c += 1
                path.append(at(r, c))
            out.append(path + zs)
        return out

    pos = staircase(nP, nN + 1, lambda i, j: i if j == 0 else e(i, j - 1))
    neg = staircase(nN, nP + 1, lambda j, i: nP + nZ + nP * nN + j if i == 0 else e(i - 1, j))
    return np.array(pos, dtype=np.intp), np.array(neg, dtype=np.intp)


def cut(V: np.ndarray, labels: np.ndarray, a: np.ndarray, c: np.ndarray, column: int):
    """Split simplices ``V`` ``(K, d+1, d)`` by the planes ``a_k . x + c_k = 0`` (one per simplex).

    ``labels`` ``(K, columns)`` (any integer dtype) is carried along to the
    pieces, and ``labels[:, column]`` receives the side: +1, -1, or 0 where the
    plane function vanishes on the whole simplex. Returns the new ``(V, labels)``.
    """
    values = np.einsum("kvd,kd->kv", V, a) + c[:, None]
    scale = np.abs(a).sum(1) * np.abs(V).max(axis=(1, 2), initial=0.0) + np.abs(c) + 1e-300
    s = np.sign(values) * (np.abs(values) > TOLERANCE * scale[:, None])
    s = s.astype(np.int8)
    nonneg, nonpos = (s >= 0).all(1), (s <= 0).all(1)
    out_V, out_L = [], []
    whole = nonneg | nonpos
    if whole.any():
        L = labels[whole].copy()
        L[:, column] = np.where(nonneg[whole] & nonpos[whole], 0, np.where(nonneg[whole], 1, -1))
        out_V.append(V[whole])
        out_L.append(L)
    crossing = ~whole
    if crossing.any():
        Vc, sc, valc, Lc = V[crossing], s[crossing], values[crossing], labels[crossing]
        counts = np.stack([(sc > 0).sum(1), (sc == 0).sum(1), (sc < 0).sum(1)], axis=1)
        for nP, nZ, nN in {tuple(map(int, row)) for row in counts}:
            group = (counts == (nP, nZ, nN)).all(1)
            order = np.argsort(-sc[group], axis=1, kind="stable")
            Vg = np.take_along_axis(Vc[group], order[:, :, None], axis=1)
            vg = np.take_along_axis(valc[group], order, axis=1)
            P, Z, N = Vg[:, :nP], Vg[:, nP:nP + nZ], Vg[:, nP + nZ:]
            vp, vn = vg[:, :nP, None], vg[:, None, nP + nZ:]
            t = vp / (vp - vn)
            E = P[:, :, None, :] + t[..., None] * (N[:, None, :, :] - P[:, :, None, :])
            ext = np.concatenate([P, Z, E.reshape(len(Vg), nP * nN, -1), N], axis=1)
            pos, neg = _templates(nP, nZ, nN)
            for template, side in ((pos, 1), (neg, -1)):
                pieces = ext[:, template]
                L = np.repeat(Lc[group], len(template), axis=0)
                L[:, column] = side
                out_V.append(pieces.reshape(-1, *V.shape[1:]))
                out_L.append(L)
    if not out_V:
        return V, labels
    return np.concatenate(out_V), np.concatenate(out_L)


def square_integral(V: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
    """Sum over simplices ``V`` of the integral of ``(a_k . x + c_k)^2`` (absolute volumes)."""
    d = V.shape[2]
    values = np.einsum("kvd,kd->kv", V, a) + c[:, None]
    moment = (values.sum(1) ** 2 + (values ** 2).sum(1)) / ((d + 1) * (d + 2))
    return float(np.sum(np.abs(volumes(V)) * moment))


# -- the cells of the hidden arrangement -----------------------------------------


@dataclass(frozen=True)
class Arrangement:
    """The cube ``[low, high]^d`` cut by the hidden planes, triangulated.

    ``points`` ``(P, d)`` are the vertices of all cells, ``simplices`` ``(K, d+1)``
    index them, ``cell[k]`` is the cell of simplex ``k`` and ``firing[c, j]``
    tells whether hidden plane ``j`` is positive on cell ``c``.
    """

    points: np.ndarray
    simplices: np.ndarray
    cell: np.ndarray
    firing: np.ndarray

    def vertices(self) -> np.ndarray:
        """The simplices as coordinates, ``(K, d+1, d)``."""
        return self.points[self.simplices]


def _bit_sets(tight: np.ndarray, bits: int) -> list[int]:
    """For each plane bit, the set (bit mask over positions) of the entries of
    ``tight`` that contain it, as Python ints."""
    member = (tight[:, None] >> np.arange(bits, dtype=np.uint64)[None, :]) & np.uint64(1)
    packed = np.packbits(member.astype(bool), axis=0, bitorder="little")
    return [int.from_bytes(packed[:, b].tobytes(), "little") for b in range(bits)]


def _pull(vertices: np.ndarray, tight: np.ndarray, bits: int, d: int) -> list[tuple[int, ...]]:
    """Pulling triangulation of the d-polytope with the given vertices (global
    indices) and tight sets: a list of ``d+1``-tuples of global indices.

    Faces are vertex sets (bit masks over positions); the facets of a face ``F``
    are the maximal proper nonempty sets ``F & plane`` over all planes, which is
    exact because every plane ever applied is valid for the cell (the cell lies
    on one side) and every facet lies on one of them.
    """
    # Most degenerate vertices first: each face is coned from its first vertex.
    degree = np.array([int(t).bit_count() for t in tight])
    order = np.lexsort((vertices, -degree))
    vertices, tight = vertices[order], tight[order]
    planes = {s for s in _bit_sets(tight, bits) if s}
    memo: dict[int, list[tuple[int, ...]]] = {}

    def facets(face: int) -> list[int]:
        subs = sorted({face & s for s in planes} - {0, face}, key=lambda s: -s.bit_count())
        out: list[int] = []
        for s in subs:
            if not any(s & t == s for t in out):
                out.append(s)
        return out

    def pull(face: int, dim: int) -> list[tuple[int, ...]]:
        apex = (face & -face).bit_length() - 1
        if dim == 0:
            return [(apex,)]
        if face in memo:
            return memo[face]
        out = [(apex,) + rest for f in facets(face) if not f >> apex & 1 for rest in pull(f, dim - 1)]
        memo[face] = out
        return out

    local = pull((1 << len(vertices)) - 1, d)
    return [tuple(int(vertices[k]) for k in s) for s in local]


def arrangement(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """Cut ``[low, high]^d`` by the planes ``a[j] . x + c[j] = 0`` (``a`` is ``(h, d)``,
    each row nonzero) and triangulate every cell.

    Tight-set bits: ``2k`` / ``2k+1`` for the faces ``x_k = low`` / ``x_k = high``,
    ``2d + j`` for plane ``j``.
    """
    h, d = a.shape
    bits = 2 * d + h
    if bits > 64:
        raise ValueError(f"too many planes for 64-bit tight sets: {h} planes in {d} dimensions")
    corners = list(product((0, 1), repeat=d))
    points = [np.array([high if b else low for b in corner], dtype=float) for corner in corners]
    tight = np.array([sum(1 << (2 * k + b) for k, b in enumerate(corner)) for corner in corners],
                     dtype=np.uint64)
    cells: list[tuple[np.ndarray, int]] = [(np.arange(len(corners)), 0)]
    radius = max(abs(low), abs(high))
    for j in range(h):
        bit = np.uint64(1 << (2 * d + j))
        P = np.array(points, dtype=float).reshape(len(points), d)
        values = P @ a[j] + c[j]
        tol = TOLERANCE * (np.abs(a[j]).sum() * radius + abs(c[j]))
        sign = np.where(values > tol, 1, np.where(values < -tol, -1, 0))
        tight = tight | np.where(sign == 0, bit, np.uint64(0))
        crossings: dict[tuple[int, int], int] = {}
        new_tight: list[int] = []
        out: list[tuple[np.ndarray, int]] = []
        for verts, fire in cells:
            s = sign[verts]
            pos, neg = verts[s > 0], verts[s < 0]
            if len(neg) == 0 or len(pos) == 0:
                out.append((verts, fire | (1 << j) if len(pos) else fire))
                continue
            # Edges joining a positive and a negative vertex: no third vertex of
            # the cell lies on every plane the two share.
            T = tight[verts]
            common = tight[pos][:, None] & tight[neg][None, :]
            inside = (T[None, None, :] & common[..., None]) == common[..., None]
            for p, q in zip(*np.nonzero(inside.sum(-1) == 2)):
                u, v = int(pos[p]), int(neg[q])
                if (u, v) not in crossings:
                    t = values[u] / (values[u] - values[v])
                    crossings[(u, v)] = len(points)
                    points.append(P[u] + t * (P[v] - P[u]))
                    new_tight.append(int(common[p, q]) | int(bit))
            rim = np.array([crossings[(int(pos[p]), int(neg[q]))]
                            for p, q in zip(*np.nonzero(inside.sum(-1) == 2))], dtype=np.intp)
            zero = verts[s == 0]
            out.append((np.concatenate([pos, zero, rim]), fire | (1 << j)))
            out.append((np.concatenate([neg, zero, rim]), fire))
        tight = np.concatenate([tight, np.array(new_tight, dtype=np.uint64)])
        cells = out
    P = np.array(points, dtype=float).reshape(len(points), d)
    simplices, owner = [], []
    for index, (verts, _) in enumerate(cells):
        pieces = _pull(verts, tight[verts], bits, d)
        simplices.extend(pieces)
        owner.extend([index] * len(pieces))
    firing = np.array([[fire >> j & 1 for j in range(h)] for _, fire in cells], dtype=bool).reshape(len(cells), h)
    return Arrangement(P, np.array(simplices, dtype=np.intp).reshape(len(simplices), d + 1),
                       np.array(owner, dtype=np.intp), firing)


_arrangements: OrderedDict = OrderedDict()


def _cached_arrangement(a: np.ndarray, c: np.ndarray, low: float, high: float) -> Arrangement:
    """:func:`arrangement`, remembered for the last :data:`CACHE_SIZE` inputs."""
    key = (a.shape, a.tobytes(), c.tobytes(), float(low), float(high))
    if key in _arrangements:
        _arrangements.move_to_end(key)
        return _arrangements[key]
    result = arrangement(a, c, low, high)
    _arrangements[key] = result
    while len(_arrangements) > CACHE_SIZE:
        _arrangements.popitem(last=False)
    return result


# -- one loss term ---------------------------------------------------------------


def term_integral(W1: np.ndarray, W2: np.ndarray, b1: np.ndarray, b2: np.ndarray, i: int,
                  A: tuple[int, ...], hidden: str, output: str, target: str, low: float, high: float,
                  chunk: int | None = None) -> float:
    """Integral over ``[low, high]^A`` of ``(y_i - y'_i)^2``, the features outside
    ``A`` being zero; ``y' = out(W2 hid(W1 x + b1) + b2)`` with ``hid, out`` in
    ``{"relu", "linear"}`` and ``y_i = |x_i|`` if ``target == "abs"`` else ``x_i``
    (``0`` if ``i`` is not in ``A``). Exact up to floating-point rounding. The
    hidden triangulation is cached per pattern, so all outputs of one pattern
    share it. ``chunk`` is ignored (kept for compatibility).
    """
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    b1, b2 = np.asarray(b1, dtype=float).ravel(), np.asarray(b2, dtype=float).ravel()
    A = list(A)
    d = len(A)
    feeds = np.flatnonzero(W2[i])
    WA = W1[feeds][:, A].reshape(len(feeds), d)
    bf, w = b1[feeds], W2[i, feeds]
    if hidden == "relu":
        # A plane that vanishes on the pattern is a constant: the neuron fires
        # everywhere (bias > 0) or nowhere.
        cuts = np.flatnonzero(np.abs(WA).sum(1) > 0)
        const = np.flatnonzero((np.abs(WA).sum(1) == 0) & (bf > 0))
        geo = _cached_arrangement(np.ascontiguousarray(WA[cuts]), np.ascontiguousarray(bf[cuts]), low, high)
        weights = geo.firing[geo.cell] * w[cuts]                       # (K, cuts)
        za = weights @ WA[cuts]
        zc = weights @ bf[cuts] + (w[const] @ bf[const] + b2[i])
    else:
        geo = _cached_arrangement(np.zeros((0, d)), np.zeros(0), low, high)
        K = len(geo.simplices)
        za = np.broadcast_to(w @ WA, (K, d)).copy()
        zc = np.full(K, w @ bf + b2[i])
    V = geo.vertices()
    # Label columns: 0 the row of (za, zc), 1 the sign of x_i, 2 the output sign.
    L = np.zeros((len(V), 3), dtype=np.int64)
    L[:, 0] = np.arange(len(V))
    L[:, 1] = 1
    unit = np.zeros(d)
    if i in A:
        unit[A.index(i)] = 1.0
        if target == "abs":
            K = len(V)
            V, L = cut(V, L, np.broadcast_to(unit, (K, d)), np.zeros(K), 1)
    if output == "relu":
        # The output plane depends on the firing pattern: one plane per simplex.
        V, L = cut(V, L, za[L[:, 0]], zc[L[:, 0]], 2)
    on = L[:, 2] >= 0 if output == "relu" else np.ones(len(V), dtype=bool)
    za, zc = za[L[:, 0]] * on[:, None], zc[L[:, 0]] * on
    ya = L[:, 1, None] * unit[None, :]
    return square_integral(V, ya - za, -zc)
