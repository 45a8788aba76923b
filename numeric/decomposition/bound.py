"""A rigorous upper bound on the loss from patterns of more than ``k`` active features.

With ``E`` the event that more than ``k`` features are active, the rest of the loss is
``R = E[sum_i I_i (|x_i| - y'_i)^2 1_E]``. Both ``|x_i|`` and ``y'_i`` are nonnegative, so
``(|x_i| - y'_i)^2 <= x_i^2 + y'_i^2``, and ``0 <= y'_i <= b_i^+ + sum_j (W2_ij)^+ ReLU(u_j)`` with
``u = W1 x``. Minkowski's inequality in ``L2`` restricted to ``E`` then gives

    ||y'_i 1_E|| <= b_i^+ sqrt(P(E)) + sum_j (W2_ij)^+ sqrt(E[ReLU(u_j)^2 1_E]),

and, because flipping the sign of every feature keeps both the law and ``E``,
``E[ReLU(u_j)^2 1_E] = E[u_j^2 1_E] / 2 = sum_l W1_jl^2 E[x_l^2 1_E] / 2`` (the cross terms vanish
when one feature's sign is flipped). Finally ``E[x_l^2 1_E] = p_l / 3 * P(at least k of the
others active)``, exact from the Poisson-binomial law (features uniform on ``[-1, 1]``).
"""

from __future__ import annotations

import numpy as np

from .activity import Activity

__all__ = ["rest_bound"]


def rest_bound(W1: np.ndarray, W2: np.ndarray, b: np.ndarray, importance: np.ndarray, law: Activity, k: int) -> float:
    """An upper bound on ``E[sum_i I_i (|x_i| - y'_i)^2 1{more than k active}]`` (module docstring)."""
    W1, W2, b, importance = (np.asarray(x, dtype=float) for x in (W1, W2, b, importance))
    event = law.more_than(k)
    # E[x_l^2 1_E]: feature l active (p_l), its square (1/3), at least k of the others active.
    second = law.p / 3 * (law.more_than_without(k - 1) if k > 0 else np.ones(len(law.p)))
    hidden = np.sqrt((W1**2 @ second) / 2)  # ||ReLU(u_j) 1_E||
    outputs = np.maximum(b, 0.0) * np.sqrt(event) + np.maximum(W2, 0.0) @ hidden
    return float(importance @ (second + outputs**2))
