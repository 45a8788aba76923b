"""Exact integration for numeric networks in floating point, by cutting simplices.

For weights that are floats (a trained network) the cells need no symbolic
vertices, only their volumes and residuals. Here the cube is triangulated
(Kuhn's triangulation into ``d!`` simplices) and every cut splits each simplex
it crosses into simplices again, with a fixed template per sign pattern, all
vectorised with numpy. A simplex whose vertices the plane separates into ``P``
positive, ``Z`` zero and ``N`` negative ones has a positive part that is a
product of simplices ``Delta_{P-1} x Delta_N`` (joined with ``Z``); its
staircase triangulation has ``C(P-1+N, N)`` simplices.

The integrals are the exact simplex formulas of :mod:`analytic.integrate`,
evaluated in float64: the only error is rounding.

>>> import numpy as np
>>> V, _ = kuhn(2, -1.0, 1.0)
>>> float(np.abs(volumes(V)).sum())
4.0
"""

from __future__ import annotations

from functools import cache
from itertools import combinations, permutations
from math import factorial

import numpy as np

#: Below this relative size a plane's value at a vertex counts as zero: the
#: vertex lies on the plane (many planes meet at the origin without biases).
TOLERANCE = 1e-11


def kuhn(d: int, low: float, high: float) -> tuple[np.ndarray, int]:
    """Kuhn's triangulation of ``[low, high]^d``: array ``(d!, d+1, d)``."""
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


@cache
def _templates(nP: int, nZ: int, nN: int) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays of the staircase triangulations of both parts of a cut simplex.

    Vertices are numbered ``P (nP), Z (nZ), E (nP*nN, row-major), N (nN)``,
    ``E[i, j]`` being the point where the plane crosses the edge ``P_i N_j``.
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
    """Split simplices ``V`` by the planes ``a_k . x + c_k = 0`` (one per simplex).

    ``labels[:, column]`` receives the side: +1, -1, or 0 where the plane
    function vanishes on the whole simplex. Returns the new ``(V, labels)``.
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
    return np.concatenate(out_V), np.concatenate(out_L)


def square_integral(V: np.ndarray, a: np.ndarray, c: np.ndarray) -> float:
    """Sum over simplices of the integral of ``(a_k . x + c_k)^2``."""
    d = V.shape[2]
    values = np.einsum("kvd,kd->kv", V, a) + c[:, None]
    moment = (values.sum(1) ** 2 + (values ** 2).sum(1)) / ((d + 1) * (d + 2))
    return float(np.sum(np.abs(volumes(V)) * moment))


def term_integral(W1: np.ndarray, W2: np.ndarray, b1: np.ndarray, b2: np.ndarray, i: int,
                  A: tuple[int, ...], hidden: str, output: str, target: str, low: float, high: float,
                  chunk: int = 64) -> float:
    """Integral over ``[low, high]^A`` of ``(y_i - y'_i)^2``, the features outside
    ``A`` being zero. Same cuts, in the same order, as :func:`analytic.integrate.cells_of_term`."""
    d = len(A)
    A = list(A)
    feeds = np.flatnonzero(W2[i])
    relu_hidden = hidden == "relu"
    has_abs = target == "abs" and i in A
    columns = (len(feeds) if relu_hidden else 0) + has_abs + (output == "relu")
    unit = np.zeros(d)
    if i in A:
        unit[A.index(i)] = 1.0
    simplices, _ = kuhn(d, low, high)
    total = 0.0
    for start in range(0, len(simplices), chunk):
        V = simplices[start:start + chunk]
        L = np.zeros((len(V), columns), dtype=np.int8)
        col = 0
        if relu_hidden:
            for j in feeds:
                K = len(V)
                V, L = cut(V, L, np.broadcast_to(W1[j, A], (K, d)), np.full(K, b1[j]), col)
                col += 1
        if has_abs:
            K = len(V)
            V, L = cut(V, L, np.broadcast_to(unit, (K, d)), np.zeros(K), col)
            col += 1
        firing = (L[:, :len(feeds)] > 0) if relu_hidden else np.ones((len(V), len(feeds)), bool)
        w = firing * W2[i, feeds]
        za, zc = w @ W1[feeds][:, A], w @ b1[feeds] + b2[i]
        if output == "relu":
            V, L = cut(V, L, za, zc, col)
            firing = (L[:, :len(feeds)] > 0) if relu_hidden else np.ones((len(V), len(feeds)), bool)
            on = L[:, col] > 0
            w = firing * W2[i, feeds]
            za, zc = (w @ W1[feeds][:, A]) * on[:, None], (w @ b1[feeds] + b2[i]) * on
        sign = L[:, len(feeds) if relu_hidden else 0] if has_abs else np.ones(len(V))
        ya = sign[:, None] * unit[None, :]
        total += square_integral(V, ya - za, -zc)
    return total
