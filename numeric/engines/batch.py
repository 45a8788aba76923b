"""The exact loss and its gradient at many points at once, in one array computation.

:class:`BatchLoss` gives the same numbers as :class:`numeric.engines.pointwise.PointwiseLoss`
(exact simplex integrals in float64) for a batch of parameter points, each
with its own sparsity and importances. A search evaluates small circuits
thousands of times, and one point's integrals are a few hundred tiny array
operations: their overhead, not their arithmetic, is the cost. Here every
simplex of every (point, pattern) sits in one array, so a batch of 80 points
costs about as many array operations as one.

The method trades the fewest simplices (:mod:`analytic.simplices` triangulates
cells) for a fixed sequence of operations:

1. the cube ``[low, high]^A`` is split at 0, if 0 is inside, into boxes (so
   ``|x_i|`` is affine on each) and each box into ``d!`` simplices from its
   corner at the origin (Kuhn's triangulation);
2. every simplex is cut by each hidden plane in turn, both sides kept as
   staircase simplices (:func:`analytic.simplices.staircases`): on every piece
   each neuron is on or off, and ``z_i`` and the target ``y_i`` are affine;
3. each output's loss is ``int y^2 + int_{z > 0} z (z - 2 y)`` (ReLU output;
   ``int (z - y)^2`` if linear): only the side where ``z > 0`` is cut out. Its
   gradient needs the moments ``int_{z > 0} 2 (z - y) [1, x_A]`` per piece, as in
   :func:`analytic.simplices.pattern_gradient` (whose conventions at kinks and
   sign tolerance it shares).

A point's numbers do not depend on the other points of its batch, to the last
bit: after every cut the order of its simplices depends on their own signs
only, and sums run over them in that order.

>>> from analytic import Circuit, Problem, SparseUniform, sym
>>> w, S = sym("w"), sym("S")
>>> f = BatchLoss(Problem(Circuit([[w]], [[1]]), SparseUniform(S), free=[w], varying=[S]))
>>> values, gradients = f.values_and_gradients([[0.5], [0.5]], [[0.0], [0.5]])
>>> values.round(12), gradients.round(12).ravel()   # (1/3 - w/3 + w^2/6) (1 - S)
(array([0.20833333, 0.10416667]), array([-0.16666667, -0.08333333]))
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import permutations, product
from math import factorial

import numpy as np
import sympy as sp

from analytic import Problem, SuperlossError
from analytic.arrangement import TOLERANCE
from analytic.simplices import staircases, sum_rows

from .weights import WeightMap

__all__ = ["BatchLoss", "batch_terms", "evaluate"]

#: The most features a pattern may have: its cube is cut from ``2^d d!`` simplices per point
#: (3,840 at 5; 46,080 at 6, where the pointwise engine, which triangulates cells, is far faster).
MAX_FEATURES = 5


@cache
def _kuhn(d: int, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Simplices ``(K, d+1, d)`` tiling ``[low, high]^d`` and their volumes: the
    boxes between 0 and each corner (the whole cube if 0 is not inside), each in
    ``d!`` simplices along the coordinate paths from the box's inner corner."""
    if low < 0 < high:
        boxes = [(np.zeros(d), np.array(c, dtype=float)) for c in product((low, high), repeat=d)]
    else:
        boxes = [(np.full(d, low), np.full(d, high))]
    simplices, volume = [], []
    for start, end in boxes:
        for order in permutations(range(d)):
            path = [start.copy()]
            for k in order:
                path.append(path[-1].copy())
                path[-1][k] = end[k]
            simplices.append(path)
            volume.append(abs(np.prod(end - start)) / factorial(d))
    return np.array(simplices, dtype=float).reshape(len(simplices), d + 1, d), np.array(volume)


@cache
def _orders(d1: int) -> np.ndarray:
    """For every pattern of signs of ``d1`` vertices (code ``sum_v (s_v + 1) 3^v``),
    the vertices positive first, then zero, then negative (each in their order)."""
    signs = (np.arange(3**d1)[:, None] // 3 ** np.arange(d1)[None, :]) % 3 - 1
    return np.argsort(-signs, axis=1, kind="stable")


def _cut(
    values: np.ndarray, volume: np.ndarray, plane: np.ndarray, scale: np.ndarray, both: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simplices, given by the values ``(K, d+1, F)`` at their vertices of ``F``
    affine functions, cut by the zero set of the affine ``plane`` ``(K, d+1)``
    (zero below ``TOLERANCE * scale``). Returns the pieces' values, volumes and
    the index of the simplex each comes from: both sides if ``both``, else the
    side where ``plane > 0`` only.

    Pieces are staircase simplices: along the edge from a positive vertex (value
    ``alpha``) to a negative one (``-beta``) the plane vanishes at
    ``t = alpha / (alpha + beta)``, and a piece's volume is the simplex's times
    ``prod_v g_v / (prod alpha prod beta)`` (as in :mod:`analytic.simplices`).
    The pieces come in an order that depends on each simplex's own signs only:
    the uncut simplices first, then the cut ones by how their vertices fall.
    """
    K, d1, F = values.shape
    tol = TOLERANCE * scale[:, None]
    pos, neg = plane > tol, plane < -tol
    nP, nN = pos.sum(1), neg.sum(1)
    crossing = (nP > 0) & (nN > 0)
    kept = ~crossing if both else ~crossing & (nP > 0)
    if kept.all():
        return values, volume, np.arange(K)
    whole = np.flatnonzero(kept)
    out = [(values[whole], volume[whole], whole)]
    crossed = np.flatnonzero(crossing)
    pattern = (1 + pos[crossed].astype(np.intp) - neg[crossed]) @ 3 ** np.arange(d1)
    code = nP[crossed] * (d1 + 1) + nN[crossed]
    for key in np.unique(code):
        chosen = code == key
        group = crossed[chosen]
        k = len(group)
        p, n = divmod(int(key), d1 + 1)
        nz = d1 - p - n
        order = _orders(d1)[pattern[chosen]]
        vals, c = values[group[:, None], order], plane[group[:, None], order]
        alpha, beta = c[:, :p], -c[:, p + nz :]
        t = alpha[:, :, None] / (alpha[:, :, None] + beta[:, None, :])
        start = vals[:, :p, None]
        crossings = (start + t[:, :, :, None] * (vals[:, None, p + nz :] - start)).reshape(k, p * n, F)
        ext = np.concatenate([vals[:, : p + nz], crossings, vals[:, p + nz :]], axis=1)
        weight = np.concatenate([alpha, np.ones((k, nz)), (t * beta[:, None, :]).reshape(k, p * n), beta], axis=1)
        scaled = volume[group] / (alpha.prod(1) * beta.prod(1))
        for template in staircases(p, nz, n)[: 2 if both else 1]:
            m = len(template)
            out.append(
                (
                    ext[:, template].reshape(k * m, d1, F),
                    (scaled[:, None] * weight[:, template].prod(2)).ravel(),
                    np.repeat(group, m),
                )
            )
    return tuple(np.concatenate(part) for part in zip(*out, strict=True))


def _bilinear(volume: np.ndarray, f: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Per simplex, the integral of ``f g``, both affine and given by their values
    ``(K, d+1)`` at the vertices: ``V/((d+1)(d+2)) (sum f sum g + sum fg)``."""
    d1 = f.shape[1]
    return volume * (f.sum(1) * g.sum(1) + (f * g).sum(1)) / (d1 * (d1 + 1))


def batch_terms(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    factors: dict[tuple, np.ndarray],
    hidden: str,
    output: str,
    target: str,
    low: float,
    high: float,
    gradient: bool = True,
) -> tuple[np.ndarray, ...]:
    """``(values, dW1, dW2, db1, db2)`` for ``B`` networks (``W1`` ``(B, m, n)``,
    ``W2`` ``(B, n, m)``, ``b1`` ``(B, m)``, ``b2`` ``(B, n)``): ``values[b] =
    sum_A sum_i factors[A][b, i] * term_integral(i, A)`` of network ``b``, and its
    exact gradient in every weight (:func:`analytic.simplices.pattern_gradient`,
    batched; zeros unless ``gradient``). ``factors[A]`` is ``(B, n)``, zero where
    output ``i`` does not count: a pattern is integrated only at the points where
    one counts."""
    B, m, n = W1.shape
    values = np.zeros(B)
    grads = [np.zeros_like(W1), np.zeros_like(W2), np.zeros_like(b1), np.zeros_like(b2)]
    radius = max(abs(low), abs(high))
    by_size: dict[int, list[tuple]] = {}
    # In a fixed order, whichever losses brought the patterns: a point's sums do not depend on its batch.
    for A in sorted(factors, key=lambda A: (len(A), A)):
        by_size.setdefault(len(A), []).append(A)
    for d, patterns in sorted(by_size.items()):
        # One owner per (pattern, point) with an output that counts: pattern pat[u], point point[u].
        pat, point = np.nonzero(np.stack([factors[A].any(1) for A in patterns]))
        U = len(pat)
        if not U:
            continue
        cols = np.array(patterns, dtype=np.intp).reshape(len(patterns), d)
        WA = W1[point[:, None, None], np.arange(m)[None, :, None], cols[pat][:, None, :]]
        bias1, bias2 = b1[point], b2[point]
        weight = np.stack([factors[A] for A in patterns])[pat, point]  # (U, n)
        # The target's column of each output in its pattern (d: not in it, target 0, a column of zeros).
        column = np.array([[A.index(i) if i in A else d for i in range(n)] for A in patterns])[pat]
        base, volume0 = _kuhn(d, float(low), float(high))
        K0 = len(base)
        # Every vertex carries its coordinates and the hidden pre-activations:
        # affine functions, which the cuts interpolate.
        pre = np.einsum("kvd,ujd->ukvj", base, WA) + bias1[:, None, None, :]
        carried = np.concatenate([np.broadcast_to(base, (U,) + base.shape), pre], axis=3).reshape(U * K0, d + 1, d + m)
        volume = np.tile(volume0, U)
        owner = np.repeat(np.arange(U), K0)
        scale = np.abs(WA).sum(2) * radius + np.abs(bias1)  # (U, m)
        if hidden == "relu":
            # With 0 inside the interval, a plane x_k = 0 runs along faces of the boxes: it cuts nothing.
            along = (low < 0 < high) & ((WA != 0).sum(2) <= 1) & (bias1 == 0)  # (U, m)
            for j in np.flatnonzero(~along.all(0)):
                carried, volume, parent = _cut(carried, volume, carried[:, :, d + j], scale[owner, j], both=True)
                owner = owner[parent]
            firing = carried[:, :, d:].mean(1) > TOLERANCE * scale[owner]
        else:
            firing = np.ones((len(owner), m), dtype=bool)
        X = carried[:, :, :d]
        gain = firing[:, None, :] * W2[point][owner]  # (K, n, m): W2 where firing
        z = np.einsum("kvj,kij->kvi", carried[:, :, d:], gain) + bias2[owner][:, None, :]  # (K, d+1, n)
        padded = np.concatenate([X, np.zeros(X.shape[:2] + (1,))], axis=2)
        y = np.take_along_axis(padded, np.broadcast_to(column[owner][:, None, :], z.shape), axis=2)
        if target == "abs":
            y = np.abs(y)
        if output == "relu":
            # The scale of z's sign decisions: a bound of |z| on the cube, as for the planes.
            zscale = np.einsum("kij,kj->ki", np.abs(gain), scale[owner]) + np.abs(bias2[owner]) + 1e-300
        # Every (simplex, output) that counts, by simplex then output; its key: owner and output.
        k, i = np.nonzero(weight[owner] != 0)
        key, f, zi, yi, Xi = owner[k] * n + i, weight[owner[k], i], z[k, :, i], y[k, :, i], X[k]
        if output == "relu":
            # Where the output is off the residual is y: int y^2 over each simplex not wholly on,
            # less, where z changes sign, over its part that is on (local, so no cancellation).
            tol = TOLERANCE * zscale[k, i][:, None]
            on, off = (zi > tol).any(1), (zi < -tol).any(1)
            outside = sum_rows((_bilinear(volume[k] * f, yi, yi) * (off | ~on))[:, None], key, U * n)[:, 0]
            pieces = np.concatenate([Xi, zi[:, :, None], yi[:, :, None]], axis=2)
            pieces, vol, parent = _cut(pieces, volume[k], zi, zscale[k, i], both=False)
            Xp, zp, yp = pieces[:, :, :d], pieces[:, :, d], pieces[:, :, d + 1]
            vol = vol * f[parent]
            value = _bilinear(vol, zp - yp, zp - yp) - _bilinear(vol, yp, yp) * (on & off)[parent]
        else:
            outside, parent, Xp, zp, yp = 0.0, np.arange(len(k)), Xi, zi, yi
            vol = volume[k] * f
            value = _bilinear(vol, zp - yp, zp - yp)
        # Per owner and output: the value and, from the moments M = int 2 rho_i (z_i - y_i) [1, x_A]
        # of every piece, sum rho_j M1 (m), sum rho_j Mx (m * d) and sum M1.
        rows = [value[:, None]]
        if gradient:
            r = 2 * (zp - yp)
            total = r.sum(1)
            M1 = (vol * total / (d + 1))[:, None]
            Mx = (vol / ((d + 1) * (d + 2)))[:, None] * (total[:, None] * Xp.sum(1) + np.einsum("kv,kvd->kd", r, Xp))
            on = firing[k[parent]]
            rows += [on * M1, (on[:, :, None] * Mx[:, None, :]).reshape(len(on), m * d), M1]
        sums = sum_rows(np.concatenate(rows, axis=1), key[parent], U * n).reshape(U, n, -1)
        sums[:, :, 0] += np.reshape(outside, (U, n)) if output == "relu" else 0.0
        # Back from (pattern, point) to point. dz_i/dW2[i, j] = h_j, dz_i/db1[j] = W2[i, j] rho_j,
        # dz_i/dW1[j] = W2[i, j] rho_j x and dz_i/db2[i] = 1 are linear in the moments.
        for a in range(len(patterns)):
            mine = pat == a
            block, b = sums[mine], point[mine]
            values[b] += block[:, :, 0].sum(1)
            if gradient:
                S1, Sx = block[:, :, 1 : 1 + m], block[:, :, 1 + m : -1].reshape(len(b), n, m, d)
                grads[1][b] += np.einsum("bijd,bjd->bij", Sx, WA[mine]) + S1 * b1[b, None, :]
                grads[2][b] += (W2[b] * S1).sum(1)
                grads[0][np.ix_(b, np.arange(m), cols[a])] += np.einsum("bij,bijd->bjd", W2[b], Sx)
                grads[3][b] += block[:, :, -1]
    return (values, *grads)


class _Columns:
    """Expressions of ``symbols`` evaluated at every row of an array ``(B, symbols)``
    into ``(B, expressions)``: the constant ones once, the others in one compiled call."""

    def __init__(self, symbols: Sequence[sp.Symbol], expressions: Sequence) -> None:
        expressions = [sp.sympify(e) for e in expressions]
        self.constant = np.array([float(e) if e.is_number else 0.0 for e in expressions])
        self.varying = [k for k, e in enumerate(expressions) if not e.is_number]
        self.function = sp.lambdify(list(symbols), [expressions[k] for k in self.varying], "numpy")

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = np.tile(self.constant, (len(X), 1))
        if self.varying:
            # Contiguous columns: numpy's last bit can depend on an array's strides.
            columns = [np.ascontiguousarray(c) for c in np.asarray(X, dtype=float).T]
            for k, column in zip(self.varying, self.function(*columns), strict=True):
                out[:, k] = column
        return out


class BatchLoss:
    """The loss of ``problem`` over its parameters (weights of the circuit) at many
    points, its varying symbols (the sparsity, the importances) given per point.

    Every other symbol must be fixed; the weight map and the patterns' factors
    (probability times importance over the cube's volume) are compiled once.
    """

    def __init__(self, problem: Problem) -> None:
        problem.require("the batched engine", varying=True, weights_only=True)
        self.problem = problem
        self.circuit, self.params, self.varying = problem.free_circuit, problem.params, problem.varying
        self._map = WeightMap(problem)
        self._entries = _Columns(self.params, self._map.entries)
        self._jacobian = _Columns(self.params, self._map.derivatives)
        law, numbers = problem.law, problem.numbers
        self._low, self._high = float(law.low), float(law.high)
        volume = law.high - law.low
        n = self.circuit.n
        expressions: dict[tuple, list] = {}
        for i, A, prob in problem.patterns():
            factor = (prob * problem.importance[i] / volume ** len(A)).subs(numbers)
            expressions.setdefault(tuple(sorted(A)), [sp.S.Zero] * n)[i] = factor
        largest = max(map(len, expressions))
        if largest > MAX_FEATURES:
            raise SuperlossError(
                f"a pattern of {largest} features is too large for the batched engine (at most "
                f"{MAX_FEATURES}): use numeric.engines.pointwise.PointwiseLoss"
            )
        self._patterns = list(expressions)
        self._factors = _Columns(self.varying, [e for row in expressions.values() for e in row])

    @property
    def _kind(self) -> tuple:
        """What must agree for losses to share a batch: shapes, activations, target, interval."""
        c = self.circuit
        return c.n, c.m, c.hidden, c.output, c.target, self._low, self._high

    def _inputs(self, X, F) -> tuple[np.ndarray, list[np.ndarray], dict]:
        """The points as an array, the weights ``[W1, W2, b1, b2]`` at each and the patterns' factors."""
        X = np.asarray(X, dtype=float).reshape(-1, len(self.params))
        F = np.asarray(F, dtype=float).reshape(len(X), len(self.varying))
        weights = self._map.layout.split(self._entries(X))
        factors = self._factors(F).reshape(len(X), len(self._patterns), self.circuit.n)
        # Probability times importance is never negative for values a problem accepts.
        wrong = np.flatnonzero((factors < 0).any(axis=(1, 2)) | ~np.isfinite(factors).all(axis=(1, 2)))
        if len(wrong):
            row = ", ".join(f"{s.name} = {v:g}" for s, v in zip(self.varying, F[wrong[0]], strict=True))
            raise SuperlossError(
                f"the varying values of row {wrong[0]} ({row}) give a pattern a negative or non-finite weight: "
                "a sparsity outside [0, 1] or a negative importance"
            )
        return X, weights, {A: factors[:, a] for a, A in enumerate(self._patterns)}

    def values(self, X, F) -> np.ndarray:
        """The exact loss at every row of ``X`` ``(B, params)``, with the varying
        symbols at the matching row of ``F`` ``(B, len(self.varying))``."""
        return evaluate([(self, X, F)], gradient=False)[0][0]

    def values_and_gradients(self, X, F) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`values` and the gradients in the params ``(B, params)``; a kink is
        treated as :meth:`numeric.engines.pointwise.PointwiseLoss.value_and_gradient` does."""
        return evaluate([(self, X, F)])[0]


def evaluate(parts: Sequence[tuple[BatchLoss, np.ndarray, np.ndarray]], gradient: bool = True) -> list[tuple]:
    """``(values, gradients)`` (gradients None unless ``gradient``) of every
    ``(loss, X, F)`` (points and varying values), all in one batch: the losses may be of different
    circuits of one shape (say a circuit and a variant with some weights fixed,
    whose own receptive fields spare it patterns), as long as their activations,
    target and feature interval agree."""
    if not parts:
        return []
    kinds = {loss._kind for loss, _, _ in parts}
    if len(kinds) > 1:
        raise SuperlossError("losses in one batch need circuits of one shape, activations, target and interval")
    inputs = [loss._inputs(X, F) for loss, X, F in parts]
    W1, W2, b1, b2 = (np.concatenate([w[k] for _, w, _ in inputs]) for k in range(4))
    sizes = [len(X) for X, _, _ in inputs]
    factors = {}
    starts = np.cumsum([0] + sizes)[:-1]
    for (X, _, own), start in zip(inputs, starts, strict=True):
        for A, f in own.items():
            factors.setdefault(A, np.zeros((len(W1), W2.shape[1])))[start : start + len(X)] = f
    _, _, hidden, output, target, low, high = kinds.pop()
    values, *grads = batch_terms(W1, W2, b1, b2, factors, hidden, output, target, low, high, gradient)
    out = []
    for (loss, _, _), (X, _, _), start in zip(parts, inputs, starts, strict=True):
        rows = slice(start, start + len(X))
        gradients = None
        if gradient:
            entries = np.concatenate([g[rows].reshape(len(X), int(np.prod(g.shape[1:]))) for g in grads], axis=1)
            gradients = loss._map.pullback(entries, loss._jacobian(X))
        out.append((values[rows], gradients))
    return out
