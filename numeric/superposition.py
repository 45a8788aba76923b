"""How many features each neuron carries, and how many neurons each feature uses, by gains.

In ``y' = ReLU(W2 ReLU(W1 x) + b)`` neuron ``j`` passes the half ``ReLU(+-x_i)`` of feature ``i``
to its own output ``y_i`` with the *gain* ``W2[i, j] * ReLU(+-W1[j, i])``: how much ``y_i`` moves
per unit of that half through ``j``, before the output's ReLU. Gains do not change when a
neuron's input row is scaled by ``c > 0`` and its output column by ``1 / c``, so what is
counted here does not depend on the gauge of the weights. With the documented threshold
:data:`CARRIES`:

- neuron ``j`` **carries** feature ``i`` when the gain of either half is at least ``CARRIES``;
- a feature is **dropped** when no neuron carries it;
- **features per neuron** counts the features a live neuron carries (the paper's measure of
  superposition), and **neurons per feature** the neurons that carry a feature not dropped.

>>> W1 = np.array([[1.0, 0.0, 0.5], [0.0, -1.0, 0.0]]); W2 = np.array([[1.0, 0], [0, 1], [1, 0]])
>>> c = carrying(W1, W2)
>>> c.features_per_neuron.tolist(), c.neurons_per_feature.tolist(), c.dropped.tolist()
([2, 1], [1, 1, 1], [])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CARRIES", "Carrying", "carrying"]

#: A neuron carries a feature when at least this much of one half of it reaches the feature's
#: own output through the neuron: a tenth, well above the stray gains of a trained model's
#: dropped features and well below the gain of 1 of a monosemantic neuron.
CARRIES = 0.1


@dataclass(frozen=True)
class Carrying:
    """``carries[j, i]``: neuron ``j`` carries feature ``i``; the counts derived from it (module docstring)."""

    carries: np.ndarray
    gains: np.ndarray

    @property
    def features_per_neuron(self) -> np.ndarray:
        live = self.carries.any(axis=1)
        return self.carries[live].sum(axis=1)

    @property
    def neurons_per_feature(self) -> np.ndarray:
        used = self.carries.any(axis=0)
        return self.carries[:, used].sum(axis=0)

    @property
    def dropped(self) -> np.ndarray:
        return np.flatnonzero(~self.carries.any(axis=0))


def carrying(W1: np.ndarray, W2: np.ndarray, threshold: float = CARRIES) -> Carrying:
    """Which neuron carries which feature (module docstring); ``gains[j, i]`` is the larger half's gain."""
    W1, W2 = np.asarray(W1, dtype=float), np.asarray(W2, dtype=float)
    own = W2.T  # own[j, i] = W2[i, j], the neuron's write to feature i's own output
    gains = np.maximum(own * np.maximum(W1, 0.0), own * np.maximum(-W1, 0.0))
    return Carrying(gains >= threshold, gains)
