"""Which features are active: the Poisson-binomial law of their number, and exact sampling of
the active set given that more than ``k`` are active.

Feature ``i`` is active with probability ``p_i = 1 - S_i``, independently. The number active
has the Poisson-binomial law; :class:`Activity` holds ``P(exactly j active among features i, i+1,
...)`` for every ``i`` and ``j`` (a table built from the last feature back), from which a set of a
given size is drawn feature by feature, each with its exact conditional probability: no
rejection, which at density 0.001 would need thousands of draws per sample.

>>> law = Activity(np.full(3, 0.5))
>>> law.count().round(3)            # 0, 1, 2 or 3 of three fair coins
array([0.125, 0.375, 0.375, 0.125])
>>> float(law.more_than(1))
0.5
"""

from __future__ import annotations

import numpy as np

__all__ = ["Activity"]


class Activity:
    """The law of the active set for activation probabilities ``p`` (one per feature)."""

    def __init__(self, p: np.ndarray) -> None:
        self.p = p = np.asarray(p, dtype=float)
        n = len(p)
        # tail[i, j] = P(exactly j of features i..n-1 active); row n is the empty set.
        tail = np.zeros((n + 1, n + 1))
        tail[n, 0] = 1.0
        for i in range(n - 1, -1, -1):
            tail[i] = (1 - p[i]) * tail[i + 1]
            tail[i, 1:] += p[i] * tail[i + 1, :-1]
        self._tail = tail

    def count(self) -> np.ndarray:
        """``P(exactly j active)`` for ``j = 0 .. n``."""
        return self._tail[0].copy()

    def more_than(self, k: int) -> float:
        """``P(more than k active)``, summed from the small side where that is more accurate."""
        counts = self._tail[0]
        return float(counts[k + 1 :].sum()) if counts[: k + 1].sum() > 0.5 else float(1 - counts[: k + 1].sum())

    def more_than_without(self, k: int) -> np.ndarray:
        """``P(more than k active among the features other than i)`` for each ``i``."""
        out = np.empty(len(self.p))
        for i in range(len(self.p)):
            out[i] = Activity(np.delete(self.p, i)).more_than(k)
        return out

    def sample(self, rng: np.random.Generator, samples: int, more_than: int) -> np.ndarray:
        """``samples`` active sets (a boolean array, samples x n) drawn from the law conditioned
        on more than ``more_than`` active: the count from its truncated law, then each feature in
        turn with its probability given the number still to place."""
        n = len(self.p)
        counts = self._tail[0].copy()
        counts[: more_than + 1] = 0.0
        if counts.sum() <= 0:
            raise ValueError(f"more than {more_than} of {n} features are never active together")
        need = rng.choice(n + 1, size=samples, p=counts / counts.sum())
        active = np.zeros((samples, n), dtype=bool)
        for i in range(n):
            live = need > 0
            # P(i active | need from i on) = p_i tail[i+1, need-1] / tail[i, need]
            num = self.p[i] * self._tail[i + 1, np.maximum(need - 1, 0)]
            den = self._tail[i, need]
            chance = np.where(live & (den > 0), num / np.where(den > 0, den, 1.0), 0.0)
            active[:, i] = rng.random(samples) < chance
            need = need - active[:, i]
        return active
