"""The loss given exactly which features are active, for every pattern of at most two.

For the abs-value model ``y' = ReLU(W2 ReLU(W1 x) + b)`` (no hidden bias) with active features
uniform on ``[-1, 1]``, ``L_A = E[sum_i I_i (|x_i| - y'_i)^2 | exactly A active]``. With one or
two active features every hidden plane passes through the origin, so each quadrant of the
pattern's square is cut into triangles at the origin by the neurons' rays (and its diagonal),
and on each triangle every neuron and the integrand are fixed: ``z = W2 h + b`` is affine, its
values at the triangle's corners are the network's own values there (it is continuous), and
``int ReLU(z)^2`` and ``int t ReLU(z)`` have closed forms in those values. All patterns of a
size are one array computation: order 2 for ``n = 100, m = 40`` is about 85 million triangle
integrals, done in seconds.

>>> W1 = np.array([[1.0, 0.0], [0.0, 1.0]]); W2 = W1.copy(); b = np.zeros(2)
>>> terms = pattern_losses(W1, W2, b, np.ones(2))      # the identity on halves: |x| is lost
>>> float(terms.empty), terms.single.round(12), terms.pair.round(12)
(0.0, array([0.16666667, 0.16666667]), array([[0.        , 0.33333333],
       [0.33333333, 0.        ]]))
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from analytic.simplices import term_integrals

from .scheduler import Runner

__all__ = ["PatternLosses", "pattern_losses", "relu_moments", "triple_losses"]

#: Pairs computed in one array operation (memory grows as pairs x 4 x (m + 2) x n), and triples per task.
PAIR_CHUNK = 128
TRIPLE_CHUNK = 16


@dataclass(frozen=True)
class PatternLosses:
    """``L_A`` for ``|A| <= 2``: ``empty`` (no feature active), ``single[a]`` and ``pair[a, b]``
    (symmetric, zero on the diagonal)."""

    empty: float
    single: np.ndarray
    pair: np.ndarray

    @property
    def interference(self) -> np.ndarray:
        """``J``: ``L_ab - L_a - L_b + L_0`` off the diagonal and ``L_a - L_0`` on it. Signed and
        independent of the sparsity: how much the loss of two features together exceeds what
        each costs alone (negative where one's error cancels the other's)."""
        J = self.pair - (self.single[:, None] + self.single[None, :]) + self.empty  # symmetric to the bit
        np.fill_diagonal(J, self.single - self.empty)
        return J


def relu_moments(
    volume: np.ndarray, z: np.ndarray, t: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(int ReLU(z)^2, int t ReLU(z))`` over simplices of dimension ``d = 1`` or ``2``, for
    ``z`` and ``t`` affine, given by their values at the ``d + 1`` corners (last axis); the
    second is ``None`` without ``t``.

    Exact: a simplex with one corner above zero keeps the sub-simplex cut at ``z = 0``, with
    ``int l_i l_j = volume (1 + [i = j]) / ((d + 1)(d + 2))`` on it; with one corner below zero
    the complement is used (``ReLU(z)^2 = z^2 - ReLU(-z)^2``, ``ReLU(z) = z + ReLU(-z)``).

    >>> relu_moments(np.array(1.0), np.array([-1.0, 1.0]), np.array([0.0, 1.0]))  # z = 2s - 1 on [0, 1]
    (array(0.16666667), array(0.20833333))
    """
    d = z.shape[-1] - 1
    if d not in (1, 2):
        raise ValueError("simplices of dimension 1 or 2")
    factor = 1 / ((d + 1) * (d + 2))
    others = [[q for q in range(d + 1) if q != p] for p in range(d + 1)]

    def one_above(values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """The moments of ``ReLU(values)`` where exactly one corner is above zero (0 elsewhere)."""
        above = values > 0
        only = above.sum(-1) == 1
        square = np.zeros(values.shape[:-1])
        product = None if t is None else np.zeros(values.shape[:-1])
        for p in range(d + 1):
            here = only & above[..., p]
            top = np.where(here, values[..., p], 1.0)
            fractions = [top / (top - np.where(here, values[..., q], 0.0)) for q in others[p]]
            sub = np.where(here, volume * np.prod(fractions, axis=0) * top, 0.0)
            square += sub * 2 * top
            if t is not None:
                # t at the corners cut on the edges from corner p, then the sum over all corners.
                tsum = t[..., p] + sum(
                    t[..., p] + f * (t[..., q] - t[..., p]) for f, q in zip(fractions, others[p], strict=True)
                )
                product += sub * (t[..., p] + tsum)
        return square * factor, None if t is None else product * factor

    above = (z > 0).sum(-1)
    cases = [above == 0, above == d + 1, above == 1]
    full_square = volume * factor * ((z * z).sum(-1) + z.sum(-1) ** 2)
    up_square, up_product = one_above(z)
    down_square, down_product = one_above(-z)
    square = np.select(cases, [0.0, full_square, up_square], full_square - down_square)
    if t is None:
        return square, None
    full_product = volume * factor * ((t * z).sum(-1) + t.sum(-1) * z.sum(-1))
    product = np.select(cases, [0.0, full_product, up_product], full_product + down_product)
    return square, product


def pattern_losses(
    W1: np.ndarray, W2: np.ndarray, b: np.ndarray, importance: np.ndarray, runner: Runner | None = None
) -> PatternLosses:
    """``L_A`` for every pattern of at most two active features (:class:`PatternLosses`).

    ``W1`` is m x n, ``W2`` n x m, ``b`` and ``importance`` have n entries. The pairs go to
    ``runner`` (:mod:`.scheduler`) in chunks of :data:`PAIR_CHUNK`, the same whatever the
    workers, so the numbers are too.
    """
    W1, W2, b, importance = (np.asarray(x, dtype=float) for x in (W1, W2, b, importance))
    m, n = W1.shape
    empty = float(importance @ np.maximum(b, 0.0) ** 2)

    # One feature: z = s W2 ReLU(+-W1[:, a]) + b on s in [0, 1], each sign with probability 1/2.
    single = np.zeros(n)
    for sign in (1.0, -1.0):
        ends = np.maximum(sign * W1, 0.0).T @ W2.T + b  # (a, i): z_i at s = 1
        z = np.stack([np.broadcast_to(b, ends.shape), ends], axis=-1)
        square, _ = relu_moments(np.array(1.0), z)
        own = np.arange(n)
        _, cross = relu_moments(np.array(1.0), z[own, own], np.array([0.0, 1.0]))
        single += 0.5 * (square @ importance + importance * (1 / 3 - 2 * cross))

    pair = np.zeros((n, n))
    first, second = np.triu_indices(n, k=1)
    chunks = [(first[k : k + PAIR_CHUNK], second[k : k + PAIR_CHUNK]) for k in range(0, len(first), PAIR_CHUNK)]
    values = (runner or Runner()).map(partial(_pairs, W1, W2, b, importance), chunks)
    for (a, c), value in zip(chunks, values, strict=True):
        pair[a, c] = pair[c, a] = value
    return PatternLosses(empty, single, pair)


def triple_losses(
    W1: np.ndarray,
    W2: np.ndarray,
    b: np.ndarray,
    importance: np.ndarray,
    triples: np.ndarray,
    runner: Runner | None = None,
) -> np.ndarray:
    """``L_A`` for each row ``A`` of ``triples`` (k x 3), by the exact cell engine
    (:func:`analytic.simplices.term_integrals`), in chunks of :data:`TRIPLE_CHUNK` on ``runner``."""
    W1, W2, b, importance = (np.asarray(x, dtype=float) for x in (W1, W2, b, importance))
    chunks = [triples[k : k + TRIPLE_CHUNK] for k in range(0, len(triples), TRIPLE_CHUNK)]
    values = (runner or Runner()).map(partial(_triples, W1, W2, b, importance), chunks)
    return np.concatenate(values) if values else np.zeros(0)


def _triples(W1, W2, b, importance, triples: np.ndarray) -> np.ndarray:
    hidden = np.zeros(W1.shape[0])
    out = np.empty(len(triples))
    for k, A in enumerate(triples):
        integrals = term_integrals(W1, W2, hidden, b, tuple(int(i) for i in A), "relu", "relu", "abs", -1.0, 1.0)
        out[k] = sum(importance[i] * value for i, value in integrals.items()) / 8
    return out


def _pairs(W1, W2, b, importance, pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``L_{a, c}`` for the pairs ``(a[k], c[k])`` of ``pairs = (a, c)``: the four quadrants of ``(x_a, x_c)``, each
    ``(s, t)`` in the unit square, cut into triangles at the origin by the rays where a neuron
    changes state (and by the diagonal, so that each triangle's far side lies on one edge)."""
    a, c = pairs
    total = np.zeros(len(a))
    for sa in (1.0, -1.0):
        for sc in (1.0, -1.0):
            A, B = sa * W1[:, a].T, sc * W1[:, c].T  # (pairs, m): neuron j is A s + B t
            crossing = A * B < 0
            ratio = np.where(crossing, -A / np.where(crossing, B, 1.0), 0.0)  # t / s on the ray
            # Position along the square's far boundary, (1, 0) -> (1, 1) -> (0, 1): 0 to 2.
            along = np.where(ratio <= 1, ratio, 2 - 1 / np.where(ratio > 1, ratio, 1.0))
            fixed = np.broadcast_to([0.0, 1.0, 2.0], (len(a), 3))
            along = np.sort(np.concatenate([np.where(crossing, along, 0.0), fixed], axis=1), axis=1)
            s = np.where(along <= 1, 1.0, 2 - along)
            t = np.where(along <= 1, along, 1.0)
            hidden = np.maximum(A[:, None, :] * s[..., None] + B[:, None, :] * t[..., None], 0.0)  # (pairs, m+3, m)
            z = hidden @ W2.T + b  # (pairs, m + 3, n): the network at each boundary point
            area = 0.5 * np.abs(s[:, :-1] * t[:, 1:] - s[:, 1:] * t[:, :-1])  # (pairs, m + 2)
            corners = np.stack(
                [np.broadcast_to(b, z[:, 1:].shape), z[:, :-1], z[:, 1:]], axis=-1
            )  # (pairs, m + 2, n, 3)
            square, _ = relu_moments(area[..., None], corners)
            total += np.einsum("ptn,n->p", square, importance)
            rows = np.arange(len(a))
            for feature, coordinate in ((a, s), (c, t)):
                own = corners[rows, :, feature]  # (pairs, m + 2, 3): z of the feature's own output
                target = np.stack([np.zeros_like(area), coordinate[:, :-1], coordinate[:, 1:]], axis=-1)
                _, cross = relu_moments(area, own, target)
                total += importance[feature] * (1 / 3 - 2 * cross.sum(-1))
    return total / 4
