"""Exact integration for numeric networks in floating point, on exact cells.

The loss term of output ``i`` and pattern ``A`` (:func:`term_integral`) is
integrated over the cells of the hidden planes (:mod:`analytic.arrangement`,
triangulated and cached per pattern). Then:

**Output cuts** (:func:`_minor_side`). The remaining planes, ``x_i = 0`` of
``|x_i|`` and the output ReLU (whose plane depends on which hidden neurons
fire on the cell), cut the simplices. A crossed simplex is integrated whole
with the residual of its *major* side, plus the difference of the residuals
over the staircase pieces (:func:`staircases`) of its *minor* side only;
pieces are carried as volumes and vertex values, never as coordinates.

Every integral is an exact simplex formula (as in :mod:`analytic.integrate`)
evaluated in float64: the only errors are rounding, and vertices within a
relative ``TOLERANCE`` of a plane counting as lying on it.

**Gradients** (:func:`term_gradient`). The integrand ``(y_i - y'_i)^2`` is
continuous in ``x``, so moving a plane adds no boundary terms (Leibniz): the
derivative in any weight ``theta`` is ``int 2 rho_i (z_i - y_i) dz_i/dtheta``,
``rho_i`` the output's firing indicator. On a hidden cell every ``dz_i/dtheta``
is affine in ``x`` (``h_j``, ``W2[i, j] x_k``, ``W2[i, j]`` or ``1`` where
neuron ``j`` fires), so each cell only needs the ``d+1`` moments
``int 2 rho (z - y) [1, x_A]``. They come from the same cuts as the value: the
simplices carry the vertex values of ``1`` and the coordinates as ``extra``
affine functions, which the minor-side pieces interpolate like ``x`` and ``z``.

>>> import numpy as np
>>> value = term_integral(np.array([[0.5]]), np.array([[1.0]]), np.zeros(1), np.zeros(1), 0, (0,),
...                       "relu", "relu", "abs", -1.0, 1.0)   # int (|x| - relu(x/2))^2 on [-1, 1]
>>> round(value, 12)
0.416666666667
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import numpy as np

from .arrangement import CHUNK, TOLERANCE, Arrangement, cached_arrangement

__all__ = ["pattern_gradient", "staircases", "sum_rows", "term_gradient", "term_integral", "term_integrals"]


# -- cutting simplices (for the planes that depend on the output) -----------------


@cache
def staircases(nP: int, nZ: int, nN: int) -> tuple[np.ndarray, np.ndarray]:
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


def _bilinear(volume: np.ndarray, f: np.ndarray, g: np.ndarray) -> float:
    """Sum over simplices of the integral of ``f g``, both affine, given by their
    values ``(K, d+1)`` at the vertices: ``V/((d+1)(d+2)) (sum f sum g + sum fg)``."""
    d = f.shape[1] - 1
    return float(volume @ (f.sum(1) * g.sum(1) + (f * g).sum(1))) / ((d + 1) * (d + 2))


def _signs(values: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Signs of ``values`` ``(K, d+1)``, zero below ``TOLERANCE * scale`` ``(K,)``."""
    return (np.sign(values) * (np.abs(values) > TOLERANCE * scale[:, None])).astype(np.int8)


@dataclass
class _Pieces:
    """Simplices known only by what the integrals need: absolute volumes ``(K,)``,
    the values ``(K, d+1, F)`` at the vertices of ``F`` affine functions, the
    scale of ``z`` for sign decisions ``(K,)``. The functions are ``x`` (the
    target's coordinate), ``z`` (the output's pre-activation) and, for
    gradients, ``E = F - 2`` more (``1`` and the coordinates), which all ride
    along every cut together."""

    volume: np.ndarray
    values: np.ndarray
    zscale: np.ndarray

    #: The column of each named function in ``values``.
    COLUMNS = {"x": 0, "z": 1}

    @property
    def x(self) -> np.ndarray:
        return self.values[:, :, 0]

    @property
    def z(self) -> np.ndarray:
        return self.values[:, :, 1]

    @property
    def extra(self) -> np.ndarray | None:
        return self.values[:, :, 2:] if self.values.shape[2] > 2 else None

    def take(self, rows) -> "_Pieces":
        return _Pieces(self.volume[rows], self.values[rows], self.zscale[rows])


def _minor_side(simplices: _Pieces, cut: str, s: np.ndarray) -> tuple[np.ndarray, _Pieces, np.ndarray]:
    """Split simplices by the zero set of their function ``cut`` (``"x"`` or
    ``"z"``) with vertex signs ``s`` into a *major* side, integrated as the whole
    simplex, and a *minor* side, built as pieces.

    Returns ``major`` ``(K,)``, the side (+1/-1) each simplex counts as (its own
    if the plane misses it, else the side with more staircase pieces, or the
    larger one on a tie), the pieces of the minor sides and the index of the
    simplex each comes from. Then for any integrand ``F(side)``:
    ``int_S F = int_S F(major) + int_{minor pieces} (F(-major) - F(major))``.
    Without hidden biases the simplices are cones from the origin, and a plane
    that separates the apex from the base leaves one simplex on one side.

    No coordinates are needed: along the edge ``P_a N_b`` (values ``alpha_a > 0``
    and ``-beta_b < 0``) the crossing point is at ``t = alpha/(alpha + beta)``,
    where affine functions interpolate; and a staircase piece has volume
    ``vol(S) prod_v g_v / (prod alpha prod beta)`` with ``g = alpha_a`` at
    ``P_a``, ``beta_b`` at ``N_b``, ``alpha_a beta_b/(alpha_a + beta_b)`` at
    ``E_ab`` and ``1`` at zero vertices (the staircase simplices are unimodular).
    """
    K, d1 = s.shape
    d = d1 - 1
    F = simplices.values.shape[2]
    column = _Pieces.COLUMNS[cut]
    nP, nN = (s > 0).sum(1), (s < 0).sum(1)
    major = np.where(nN > nP, -1, 1).astype(np.int8)
    crossing = np.flatnonzero((nP > 0) & (nN > 0))
    out, parents = [], []
    code = nP[crossing] * (d + 2) + nN[crossing]
    for key in np.unique(code):
        group = crossing[code == key]
        k = len(group)
        p, n = divmod(int(key), d + 2)
        nz = d + 1 - p - n
        pos, neg = staircases(p, nz, n)
        order = np.argsort(-s[group], axis=1, kind="stable")
        g = simplices.take(group)
        values = np.take_along_axis(g.values, order[:, :, None], axis=1)
        c = values[:, :, column]
        alpha, beta = c[:, :p], -c[:, p + nz :]
        t = alpha[:, :, None] / (alpha[:, :, None] + beta[:, None, :])
        weight = np.concatenate([alpha, np.ones((k, nz)), (t * beta[:, None, :]).reshape(k, p * n), beta], axis=1)
        norm = alpha.prod(1) * beta.prod(1)
        start = values[:, :p, None]
        e = (start + t[:, :, :, None] * (values[:, None, p + nz :] - start)).reshape(k, p * n, F)
        e[:, :, column] = 0.0  # on the plane, exactly
        ext = np.concatenate([values[:, : p + nz], e, values[:, p + nz :]], axis=1)

        if len(pos) != len(neg):
            minor, side = (pos, 1) if len(pos) < len(neg) else (neg, -1)
            vol, vals = _staircase(g.volume, weight, norm, ext, minor)
            major[group] = -side
        else:
            # A tie: the minor side is the smaller one, which limits cancellation.
            vp, valp = _staircase(g.volume, weight, norm, ext, pos)
            vn, valn = _staircase(g.volume, weight, norm, ext, neg)
            small = vp.sum(1) <= vn.sum(1)
            vol = np.where(small[:, None], vp, vn)
            vals = np.where(small[:, None, None, None], valp, valn)
            major[group] = np.where(small, -1, 1)
        m = vol.shape[1]
        out.append(_Pieces(vol.reshape(-1), vals.reshape(k * m, d + 1, F), np.repeat(g.zscale, m)))
        parents.append(np.repeat(group, m))
    if not out:
        return major, _Pieces(np.zeros(0), np.zeros((0, d + 1, F)), np.zeros(0)), np.zeros(0, dtype=np.intp)
    pieces = _Pieces(*(np.concatenate([getattr(o, f) for o in out]) for f in ("volume", "values", "zscale")))
    return major, pieces, np.concatenate(parents)


def _staircase(
    volume: np.ndarray, weight: np.ndarray, norm: np.ndarray, ext: np.ndarray, template: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The volumes ``(K, m)`` and vertex values ``(K, m, d+1, F)`` of the ``m`` staircase
    pieces ``template`` of ``K`` cut simplices (:func:`_minor_side`)."""
    return volume[:, None] * weight[:, template].prod(2) / norm[:, None], ext[:, template]


def _moments(volume: np.ndarray, f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per simplex, the integrals ``(K, E)`` of ``f g_e``: :func:`_bilinear`
    against each of the ``E`` affine functions ``g`` ``(K, d+1, E)``, unsummed."""
    d = f.shape[1] - 1
    both = f.sum(1)[:, None] * g.sum(1) + np.einsum("kv,kve->ke", f, g)
    return volume[:, None] * both / ((d + 1) * (d + 2))


def sum_rows(rows: np.ndarray, parent: np.ndarray, size: int) -> np.ndarray:
    """Rows ``(K, E)`` summed by their ``parent`` index into ``(size, E)``, each
    parent's rows in their order (so its sum does not depend on other parents' rows)."""
    out = np.zeros((size, rows.shape[1]))
    for e in range(rows.shape[1]):
        out[:, e] = np.bincount(parent, rows[:, e], minlength=size)
    return out


def _output_terms(
    simplices: _Pieces, sigma: np.ndarray | float, coef: np.ndarray | None, relu: bool
) -> tuple[float, np.ndarray | None]:
    """Sum over simplices of the integral of ``(y - r)^2`` with ``y = sigma x``
    if ``coef`` is None, else of ``coef x r``; ``r = relu(z)`` (or ``z``).

    Written as ``A + rho B`` with ``rho`` the output's on/off indicator, a
    simplex the output plane crosses needs ``B`` only on the pieces of its minor
    side (:func:`_minor_side`): ``B = z (z - 2 y)``, or ``coef x z``.

    If the simplices carry ``extra`` functions ``g``, also the moments ``(K, E)``,
    per simplex, of the derivative of the integrand in ``r`` on the output's
    support: the integrals of ``2 rho (z - y) g``, or ``coef x rho g``, with
    ``rho = 1`` only where ``z > 0`` (a simplex where ``z`` vanishes counts as off).
    """
    S = simplices
    sigma = np.broadcast_to(np.asarray(sigma, dtype=float), S.volume.shape)
    y = sigma[:, None] * S.x
    grad = S.extra is not None
    if not relu:
        if coef is None:
            value = _bilinear(S.volume, y - S.z, y - S.z)
            return value, _moments(S.volume, 2 * (S.z - y), S.extra) if grad else None
        value = _bilinear(S.volume * coef, S.x, S.z)
        return value, _moments(S.volume * coef, S.x, S.extra) if grad else None
    signs = _signs(S.z, S.zscale)
    major, pieces, parent = _minor_side(S, "z", signs)
    on = major > 0
    # +1 where the pieces are the part with the output on, -1 where it is off.
    vp = pieces.volume * -major[parent]
    if coef is None:
        yp = sigma[parent, None] * pieces.x
        whole = _bilinear(S.volume[on], y[on] - S.z[on], y[on] - S.z[on]) + _bilinear(S.volume[~on], y[~on], y[~on])
        value = whole + _bilinear(vp, pieces.z, pieces.z - 2 * yp)
    else:
        value = _bilinear(S.volume[on] * coef[on], S.x[on], S.z[on]) + _bilinear(vp * coef[parent], pieces.x, pieces.z)
    if not grad:
        return value, None
    live = on & (signs != 0).any(1)
    if coef is None:
        f, fp = 2 * (S.z - y), 2 * (pieces.z - yp)
    else:
        f, fp = coef[:, None] * S.x, coef[parent, None] * pieces.x
    rows = np.zeros((len(S.volume), S.extra.shape[2]))
    rows[live] = _moments(S.volume[live], f[live], S.extra[live])
    return value, rows + sum_rows(_moments(vp, fp, pieces.extra), parent, len(rows))


def _chunk_integral(simplices: _Pieces, scale: float, absolute: bool, relu: bool) -> tuple[float, np.ndarray | None]:
    """Integral of ``(y - r)^2`` over simplices, ``y = |x|`` if ``absolute`` else ``x``,
    and the moments of :func:`_output_terms` per simplex if they carry ``extra``."""
    if not absolute:
        return _output_terms(simplices, 1.0, None, relu)
    # |x| = sigma x with sigma the major side of x = 0; on the minor pieces,
    # (-sigma x - r)^2 - (sigma x - r)^2 = 4 sigma x r (and its derivative in r, 4 sigma x).
    sigma, pieces, parent = _minor_side(simplices, "x", _signs(simplices.x, np.full(len(simplices.x), scale)))
    sigma = sigma.astype(float)
    total, rows = _output_terms(simplices, sigma, None, relu)
    if len(parent):
        more, more_rows = _output_terms(pieces, 1.0, 4.0 * sigma[parent], relu)
        total += more
        if rows is not None:
            rows += sum_rows(more_rows, parent, len(rows))
    return total, rows


@dataclass
class _Term:
    """What the loss terms of some outputs on one pattern integrate over: the
    cached arrangement ``geo`` of the hidden planes, each output's pre-activation
    ``z = za[o, c] . x + zc[o, c]`` on each cell ``c`` and its scale for sign
    decisions (``(outputs, cells)``), and which neurons fire on each cell
    (``(cells, m)``, ``None`` unless asked for)."""

    geo: Arrangement
    za: np.ndarray
    zc: np.ndarray
    zscale: np.ndarray
    firing: np.ndarray | None


def _term_setup(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    outputs: list[int],
    A: list[int],
    hidden: str,
    low: float,
    high: float,
    every: bool,
) -> _Term:
    """The cells of ``outputs`` on pattern ``A``: cut by the planes of the
    neurons feeding the (single) output, or of every neuron if ``every`` (the
    gradient in ``W2[i, j]`` needs neuron ``j`` even where ``W2[i, j] = 0``),
    which all outputs then share; also which neurons fire on each cell."""
    d = len(A)
    if not every and len(outputs) != 1:
        raise ValueError("the cells of one output only are cut by the neurons feeding it")
    feeds = np.arange(len(W1)) if every else np.flatnonzero(W2[outputs[0]])
    WA = W1[feeds][:, A].reshape(len(feeds), d)
    bf, w = b1[feeds], W2[np.ix_(outputs, feeds)]  # w: (outputs, feeds)
    firing = None
    if hidden == "relu":
        # A plane that vanishes on the pattern is a constant: the neuron fires
        # everywhere (bias > 0) or nowhere.
        zero = np.abs(WA).sum(1) == 0
        cuts, const = np.flatnonzero(~zero), np.flatnonzero(zero & (bf > 0))
        geo = cached_arrangement(np.ascontiguousarray(WA[cuts]), np.ascontiguousarray(bf[cuts]), low, high)
        weights = geo.firing[None] * w[:, None, cuts]  # (outputs, cells, cuts)
        za = weights @ WA[cuts]
        zc = weights @ bf[cuts] + (w[:, const] @ bf[const] + b2[outputs])[:, None]
        if every:
            firing = np.zeros((len(geo.firing), len(W1)), dtype=bool)
            firing[:, feeds[cuts]] = geo.firing
            firing[:, feeds[const]] = True
    else:
        geo = cached_arrangement(np.zeros((0, d)), np.zeros(0), low, high)
        za, zc = (w @ WA)[:, None, :], (w @ bf + b2[outputs])[:, None]
        firing = np.ones((1, len(W1)), dtype=bool) if every else None
    radius = max(abs(low), abs(high))
    z_scale = np.abs(za).sum(2) * radius + np.abs(zc) + 1e-300  # per output and cell, for sign decisions
    return _Term(geo, za, zc, z_scale, firing)


def _floats(W1, W2, b1, b2) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    return W1, W2, np.asarray(b1, dtype=float).ravel(), np.asarray(b2, dtype=float).ravel()


def _integrate(
    term: _Term,
    outputs: list[int],
    weights: np.ndarray,
    A: list[int],
    output: str,
    target: str,
    low: float,
    high: float,
    chunk: int | None,
    gradient: bool,
) -> tuple[float, np.ndarray | None]:
    """The sum over ``outputs`` of ``weights`` times their terms and, if
    ``gradient``, the weighted moments ``(outputs, cells, d+1)`` of each cell:
    the integrals of ``2 rho_i (z_i - y_i) [1, x_A]``. All outputs are stacked
    into one array computation: the weight scales the volumes, which every
    integral is linear in."""
    geo, d, o = term.geo, len(A), len(outputs)
    radius = max(abs(low), abs(high))
    cols = [A.index(i) if i in A else None for i in outputs]
    # An output outside the pattern has target 0: with x = 0 the |x| cut finds nothing to cut.
    absolute = target == "abs" and any(c is not None for c in cols)
    cells = len(geo.firing)
    step = chunk or CHUNK
    total = 0.0
    moments = np.zeros((o * cells, d + 1)) if gradient else None
    for start in range(0, len(geo.simplices), step):
        idx, cell = geo.simplices[start : start + step], geo.cell[start : start + step]
        K = len(idx)
        V = geo.points[idx]
        zero = np.zeros(idx.shape)
        x = np.concatenate([V[:, :, c] if c is not None else zero for c in cols])
        z = (np.einsum("kvd,okd->okv", V, term.za[:, cell]) + term.zc[:, cell][:, :, None]).reshape(o * K, d + 1)
        columns = [x[:, :, None], z[:, :, None]]
        if gradient:
            extra = np.concatenate([np.ones(idx.shape + (1,)), V], axis=2)
            columns.append(np.broadcast_to(extra, (o,) + extra.shape).reshape(o * K, d + 1, d + 1))
        volume = (weights[:, None] * geo.volume[None, start : start + step]).ravel()
        simplices = _Pieces(volume, np.concatenate(columns, axis=2), term.zscale[:, cell].ravel())
        value, rows = _chunk_integral(simplices, radius + 1e-300, absolute, output == "relu")
        total += value
        if gradient:
            owner = (np.arange(o)[:, None] * cells + cell[None, :]).ravel()
            moments += sum_rows(rows, owner, len(moments))
    return total, None if moments is None else moments.reshape(o, cells, d + 1)


def term_integral(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    i: int,
    A: tuple[int, ...],
    hidden: str,
    output: str,
    target: str,
    low: float,
    high: float,
    chunk: int | None = None,
) -> float:
    """Integral over ``[low, high]^A`` of ``(y_i - y'_i)^2``, the features outside
    ``A`` being zero; ``y' = out(W2 hid(W1 x + b1) + b2)`` with ``hid, out`` in
    ``{"relu", "linear"}`` and ``y_i = |x_i|`` if ``target == "abs"`` else ``x_i``
    (``0`` if ``i`` is not in ``A``). Exact up to floating-point rounding.

    The triangulated hidden arrangement is cached per pattern (see
    :data:`analytic.arrangement.CACHE_SIMPLICES`), so all outputs of one pattern share it. ``chunk`` is
    how many simplices are processed at once (default :data:`analytic.arrangement.CHUNK`).
    """
    W1, W2, b1, b2 = _floats(W1, W2, b1, b2)
    A = list(A)
    term = _term_setup(W1, W2, b1, b2, [i], A, hidden, low, high, every=False)
    return _integrate(term, [i], np.ones(1), A, output, target, low, high, chunk, gradient=False)[0]


def pattern_gradient(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    A: tuple[int, ...],
    hidden: str,
    output: str,
    target: str,
    low: float,
    high: float,
    weights: Mapping[int, float],
    chunk: int | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(value, dW1, dW2, db1, db2)``: ``sum_i weights[i] * term_integral(i, A)``
    over the outputs ``i`` in ``weights``, and its exact gradient with respect to
    every entry of ``W1, W2, b1, b2`` (arrays of their shapes; ``b1, b2`` flat).

    By Leibniz (the integrand is continuous in ``x``) the derivative in ``theta``
    is the integral of ``2 rho_i (z_i - y_i) dz_i/dtheta``, and ``dz_i/dtheta`` is
    affine on each hidden cell, so the moments ``int 2 rho (z - y) [1, x_A]`` of
    the cells suffice. At a kink the derivative of the side that is off is taken:
    ``rho = 1`` and a neuron fires only where its pre-activation is ``> 0``.
    The cells are cut by every hidden neuron, feeding ``i`` or not (the
    derivative in ``W2[i, j]`` is ``h_j``), so all outputs share them and are
    integrated together.
    """
    W1, W2, b1, b2 = _floats(W1, W2, b1, b2)
    A, outputs = list(A), list(weights)
    term = _term_setup(W1, W2, b1, b2, outputs, A, hidden, low, high, every=True)
    factor = np.array([float(weights[i]) for i in outputs])
    value, M = _integrate(term, outputs, factor, A, output, target, low, high, chunk, gradient=True)
    phi = term.firing  # (cells, m)
    WA = W1[:, A].reshape(len(W1), len(A))
    dW1, dW2, db1, db2 = np.zeros_like(W1), np.zeros_like(W2), np.zeros_like(b1), np.zeros_like(b2)
    # dz_i/dW2[i, j] = h_j = phi_j (W1[j] . x + b1[j]); dz_i/db1[j] = W2[i, j] phi_j;
    # dz_i/dW1[j, k] = W2[i, j] phi_j x_k; dz_i/db2[i] = 1.
    dW2[outputs] = np.einsum("cj,ocj->oj", phi, M[:, :, 1:] @ WA.T + M[:, :, :1] * b1)
    db1[:] = (W2[outputs] * (M[:, :, 0] @ phi)).sum(0)
    dW1[:, A] = np.einsum("oj,cj,ocd->jd", W2[outputs], phi, M[:, :, 1:])
    db2[outputs] = M[:, :, 0].sum(1)
    return value, dW1, dW2, db1, db2


def term_gradient(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    i: int,
    A: tuple[int, ...],
    hidden: str,
    output: str,
    target: str,
    low: float,
    high: float,
    chunk: int | None = None,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(value, dW1, dW2, db1, db2)``: the integral of :func:`term_integral` and
    its exact gradient (:func:`pattern_gradient` of the one output ``i``).

    >>> import numpy as np
    >>> value, dW1, dW2, db1, db2 = term_gradient(np.array([[0.5]]), np.array([[1.0]]), np.zeros(1),
    ...     np.zeros(1), 0, (0,), "relu", "relu", "abs", -1.0, 1.0)   # int (|x| - relu(x/2))^2
    >>> round(value, 12), round(float(dW1[0, 0]), 12), round(float(dW2[0, 0]), 12)
    (0.416666666667, -0.333333333333, -0.166666666667)
    """
    return pattern_gradient(W1, W2, b1, b2, A, hidden, output, target, low, high, {i: 1.0}, chunk)


def term_integrals(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    A: tuple[int, ...],
    hidden: str,
    output: str,
    target: str,
    low: float,
    high: float,
    outputs: Sequence[int] | None = None,
) -> dict[int, float]:
    """:func:`term_integral` of every output in ``outputs`` (default all) for
    one pattern ``A``: the outputs fed by the same hidden neurons share one
    triangulation, whatever the size of the cache."""
    outputs = range(len(np.asarray(W2))) if outputs is None else outputs
    return {i: term_integral(W1, W2, b1, b2, i, A, hidden, output, target, low, high) for i in outputs}
