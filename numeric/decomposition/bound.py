"""A rigorous upper bound on the loss from patterns of more than ``k`` active features.

With ``E`` the event that more than ``k`` features are active, the rest of the loss is
``R = E[sum_i I_i (|x_i| - y'_i)^2 1_E]``. Both ``|x_i|`` and ``y'_i`` are nonnegative, so
``(|x_i| - y'_i)^2 <= x_i^2 + y'_i^2``, and ``0 <= y'_i <= b_i^+ + sum_j c_ij ReLU(u_j)`` with
``c_ij = (W2_ij)^+`` and ``u = W1 x``. The square of the right side has the expectation on ``E``

    b_i^+2 P(E) + 2 b_i^+ sum_j c_ij E[ReLU(u_j) 1_E] + sum_jl c_ij c_il E[ReLU(u_j) ReLU(u_l) 1_E],

each term bounded exactly or by Cauchy-Schwarz. Flipping the sign of every feature keeps both
the law and ``E``, and ``ReLU(u) ReLU(v) + ReLU(-u) ReLU(-v) = (uv)^+``, so

    E[ReLU(u_j) ReLU(u_l) 1_E] = (G_jl + E[|u_j u_l| 1_E]) / 4 <= (G_jl + sqrt(G_jj G_ll)) / 4,

exact on the diagonal, with ``G = E[u u^T 1_E] = W1 diag(s) W1^T`` (flipping one feature's sign
makes the cross terms vanish) and ``E[ReLU(u_j) 1_E] = E[|u_j| 1_E] / 2 <= sqrt(G_jj P(E)) / 2``.
Finally ``s_l = E[x_l^2 1_E] = p_l / 3 * P(at least k of the others active)``, exact from the
Poisson-binomial law (features uniform on ``[-1, 1]``). Cauchy-Schwarz on each pair of neurons
alone (Minkowski's inequality) would give ``sqrt(G_jj G_ll) / 2`` instead: up to twice as large
for neurons that are not aligned.
"""

from __future__ import annotations

import numpy as np

from .activity import Activity

__all__ = ["rest_bound"]


def rest_bound(W1: np.ndarray, W2: np.ndarray, b: np.ndarray, importance: np.ndarray, law: Activity, k: int) -> float:
    """An upper bound on ``E[sum_i I_i (|x_i| - y'_i)^2 1{more than k active}]`` (module docstring)."""
    W1, W2, b, importance = (np.asarray(x, dtype=float) for x in (W1, W2, b, importance))
    event = law.more_than(k)
    # s_l = E[x_l^2 1_E]: feature l active (p_l), its square (1/3), at least k of the others active.
    second = law.p / 3 * (law.more_than_without(k - 1) if k > 0 else np.ones(len(law.p)))
    G = (W1 * second) @ W1.T
    scale = np.sqrt(np.clip(np.diag(G), 0.0, None))
    products = (G + np.outer(scale, scale)) / 4  # bounds E[ReLU(u_j) ReLU(u_l) 1_E]
    c = np.maximum(W2, 0.0)
    bias = np.maximum(b, 0.0)
    outputs = bias**2 * event + bias * (c @ scale) * np.sqrt(event) + np.einsum("ij,jl,il->i", c, products, c)
    return float(importance @ (second + outputs))
