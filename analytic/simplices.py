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
from functools import cache, cached_property
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


@dataclass
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

    @cached_property
    def _volumes(self) -> np.ndarray:
        return np.concatenate([np.zeros(0)] + [np.abs(volumes(self.points[self.simplices[k:k + CHUNK]]))
                                               for k in range(0, len(self.simplices), CHUNK)])

    def volumes(self) -> np.ndarray:
        """Absolute volumes of the simplices (computed once)."""
        return self._volumes


def _bit_sets(tight: np.ndarray, bits: int) -> list[int]:
    """For each plane bit, the set (bit mask over positions) of the entries of
    ``tight`` that contain it, as Python ints."""
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
        self.memo: dict[int, list[tuple[int, ...]]] = {}

    def facets(self, face: int) -> list[int]:
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
        found = self.memo.get(face)
        if found is None:
            found = self.memo[face] = [(apex,) + rest for f in self.facets(face) if not f >> apex & 1
                                       for rest in self.pull(f, dim - 1)]
        return found

    def cell(self, vertices: np.ndarray, d: int) -> list[tuple[int, ...]]:
        """Simplices (tuples of ranks) of the cell with the given point indices."""
        return self.pull(sum(1 << int(r) for r in self.rank[vertices]), d)


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
    pulling = _Pulling(tight, bits)
    simplices, owner = [], []
    for index, (verts, _) in enumerate(cells):
        pieces = pulling.cell(verts, d)
        simplices.extend(pieces)
        owner.extend([index] * len(pieces))
    simplices = pulling.order[np.array(simplices, dtype=np.intp).reshape(len(simplices), d + 1)]
    firing = np.array([[fire >> j & 1 for j in range(h)] for _, fire in cells], dtype=bool).reshape(len(cells), h)
    return Arrangement(P, simplices,
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

#: Simplices processed at once by :func:`term_integral` (bounds the memory).
CHUNK = 20000


def _bilinear(volume: np.ndarray, f: np.ndarray, g: np.ndarray) -> float:
    """Sum over simplices of the integral of ``f g``, both affine, given by their
    values ``(K, d+1)`` at the vertices: ``V/((d+1)(d+2)) (sum f sum g + sum fg)``."""
    d = f.shape[1] - 1
    return float(volume @ (f.sum(1) * g.sum(1) + (f * g).sum(1))) / ((d + 1) * (d + 2))


def _affine(V: np.ndarray, a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Values ``(K, d+1)`` of ``a_k . x + c_k`` at the vertices of simplices ``V``."""
    return (V @ a[:, :, None])[:, :, 0] + c[:, None]


def _signs(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Signs of ``values`` ``(K, d+1)``, zero below ``TOLERANCE * scale`` ``(K,)``."""
    return (np.sign(values) * (np.abs(values) > TOLERANCE * scale[:, None])).astype(np.int8)


def _minor_side(V: np.ndarray, values: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split simplices ``V`` by a plane, with ``values`` and signs ``s`` at the
    vertices, into a *major* side, integrated as the whole simplex, and a *minor*
    side, built as pieces.

    Returns ``major`` ``(K,)``, the side (+1/-1) each simplex counts as (its own
    side if the plane misses it, the side with more staircase pieces if the plane
    crosses it), the pieces ``(M, d+1, d)`` of the minor sides and the index of
    the simplex each piece comes from. Then for any integrand ``F(side)``:
    ``int_S F = int_S F(major) + int_{minor pieces} (F(-major) - F(major))``.
    Without hidden biases the simplices are cones from the origin, and a plane
    that separates the apex from the base leaves a single simplex on one side.
    """
    d = V.shape[2]
    nP, nN = (s > 0).sum(1), (s < 0).sum(1)
    major = np.where(nN > nP, -1, 1).astype(np.int8)
    crossing = np.flatnonzero((nP > 0) & (nN > 0))
    pieces, parents = [np.zeros((0, d + 1, d))], [np.zeros(0, dtype=np.intp)]
    code = nP[crossing] * (d + 2) + nN[crossing]
    for key in np.unique(code):
        group = crossing[code == key]
        p, n = divmod(int(key), d + 2)
        pos, neg = _templates(p, d + 1 - p - n, n)
        minor, side = (pos, 1) if len(pos) < len(neg) else (neg, -1)
        major[group] = -side
        # Vertices sorted positive, zero, negative; E[a, b] lies on the edge P_a N_b.
        order = np.argsort(-s[group], axis=1, kind="stable")
        Vg = np.take_along_axis(V[group], order[:, :, None], axis=1)
        vg = np.take_along_axis(values[group], order, axis=1)
        P, N = Vg[:, :p], Vg[:, d + 1 - n:]
        t = vg[:, :p, None] / (vg[:, :p, None] - vg[:, None, d + 1 - n:])
        E = P[:, :, None, :] + t[..., None] * (N[:, None, :, :] - P[:, :, None, :])
        ext = np.concatenate([Vg[:, :d + 1 - n], E.reshape(len(group), p * n, d), N], axis=1)
        pieces.append(ext[:, minor].reshape(-1, d + 1, d))
        parents.append(np.repeat(group, len(minor)))
    return major, np.concatenate(pieces), np.concatenate(parents)


def _output_terms(V: np.ndarray, volume: np.ndarray, z: tuple[np.ndarray, np.ndarray],
                  y: tuple[np.ndarray, np.ndarray], coef: np.ndarray | None, relu: bool) -> float:
    """Sum over simplices ``V`` (absolute volumes ``volume``) of the integral of
    ``(y - r)^2`` if ``coef`` is None, else of ``coef y r``.

    ``r = relu(z)`` (or ``z`` if not ``relu``); ``y`` and ``z`` are affine on
    each simplex, given as coefficients ``(a (K, d), c (K,))``, ``coef`` is per
    simplex. Written as ``A + rho B`` with ``rho`` the output's on/off
    indicator, a simplex the output plane crosses needs ``B`` only on the pieces
    of its minor side (see :func:`_minor_side`): ``B = z (z - 2 y)`` or ``coef y z``.
    """
    zv, yv = _affine(V, *z), _affine(V, *y)
    if not relu:
        if coef is None:
            return _bilinear(volume, yv - zv, yv - zv)
        return _bilinear(volume * coef, yv, zv)
    za, zc = z
    scale = np.abs(za).sum(1) * np.abs(V).max(axis=(1, 2), initial=0.0) + np.abs(zc) + 1e-300
    major, pieces, parent = _minor_side(V, zv, _signs(zv, scale))
    on = major > 0
    # +1 where the pieces are the part with the output on, -1 where it is off.
    vp = np.abs(volumes(pieces)) * -major[parent]
    zp = _affine(pieces, za[parent], zc[parent])
    yp = _affine(pieces, y[0][parent], y[1][parent])
    if coef is None:
        whole = _bilinear(volume[on], yv[on] - zv[on], yv[on] - zv[on]) + _bilinear(volume[~on], yv[~on], yv[~on])
        return whole + _bilinear(vp, zp, zp - 2 * yp)
    return _bilinear(volume[on] * coef[on], yv[on], zv[on]) + _bilinear(vp * coef[parent], yp, zp)


def _chunk_integral(V: np.ndarray, volume: np.ndarray, za: np.ndarray, zc: np.ndarray,
                    col: int | None, absolute: bool, relu: bool) -> float:
    """Integral of ``(y - r)^2`` over simplices ``V``; the target is ``y = x[col]``
    (``|x[col]|`` if ``absolute``, ``0`` if ``col`` is None)."""
    K, _, d = V.shape
    unit = np.zeros((K, d))
    if col is not None:
        unit[:, col] = 1.0
    zero = np.zeros(K)
    if not absolute:
        return _output_terms(V, volume, (za, zc), (unit, zero), None, relu)
    # |x| = sigma x with sigma the major side of x = 0; on the minor pieces,
    # (-sigma x - r)^2 - (sigma x - r)^2 = 4 sigma x r.
    x = V[:, :, col]
    scale = np.abs(V).max(axis=(1, 2), initial=0.0) + 1e-300
    sigma, pieces, parent = _minor_side(V, x, _signs(x, scale))
    total = _output_terms(V, volume, (za, zc), (unit * sigma[:, None], zero), None, relu)
    if len(pieces):
        total += _output_terms(pieces, np.abs(volumes(pieces)), (za[parent], zc[parent]),
                               (unit[parent], zero[parent]), 4.0 * sigma[parent], relu)
    return total


def term_integral(W1: np.ndarray, W2: np.ndarray, b1: np.ndarray, b2: np.ndarray, i: int,
                  A: tuple[int, ...], hidden: str, output: str, target: str, low: float, high: float,
                  chunk: int | None = None) -> float:
    """Integral over ``[low, high]^A`` of ``(y_i - y'_i)^2``, the features outside
    ``A`` being zero; ``y' = out(W2 hid(W1 x + b1) + b2)`` with ``hid, out`` in
    ``{"relu", "linear"}`` and ``y_i = |x_i|`` if ``target == "abs"`` else ``x_i``
    (``0`` if ``i`` is not in ``A``). Exact up to floating-point rounding.

    The triangulated hidden arrangement is cached per pattern (see
    :data:`CACHE_SIZE`), so all outputs of one pattern share it. ``chunk`` is
    how many simplices are processed at once (default :data:`CHUNK`).
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
        zero = np.abs(WA).sum(1) == 0
        cuts, const = np.flatnonzero(~zero), np.flatnonzero(zero & (bf > 0))
        geo = _cached_arrangement(np.ascontiguousarray(WA[cuts]), np.ascontiguousarray(bf[cuts]), low, high)
        weights = geo.firing * w[cuts]                                  # per cell
        za_cell = weights @ WA[cuts]
        zc_cell = weights @ bf[cuts] + (w[const] @ bf[const] + b2[i])
    else:
        geo = _cached_arrangement(np.zeros((0, d)), np.zeros(0), low, high)
        za_cell, zc_cell = (w @ WA)[None, :], np.array([w @ bf + b2[i]])
    col = A.index(i) if i in A else None
    absolute = target == "abs" and col is not None
    volume = geo.volumes()
    step = chunk or CHUNK
    total = 0.0
    for start in range(0, len(geo.simplices), step):
        part = slice(start, start + step)
        cell = geo.cell[part]
        total += _chunk_integral(geo.points[geo.simplices[part]], volume[part], za_cell[cell], zc_cell[cell],
                                 col, absolute, output == "relu")
    return total
