"""The two models of the paper, both instances of ``y' = out(W2 hid(W1 x + b1) + b2)``
(:func:`~numeric.train.backpropagation.forward_backward`), with their initialization:

- ``"hidden"``: ``y' = ReLU(W2 ReLU(W1 x) + b)``, ``W1`` m x n, ``W2`` n x m, no
  hidden bias; target ``|x|``; features ``SparseUniform(S)`` on ``[-1, 1]``.
- ``"reconstruction"``: ``y' = ReLU(W^T W x + b)``, ``W`` m x n (tied); target
  ``x``; features ``SparseUniform(S)`` on ``[0, 1]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytic import Circuit
from analytic.presets import relu_output

from .backpropagation import forward_backward


def _xavier(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    bound = math.sqrt(6.0 / (rows + cols))
    return rng.uniform(-bound, bound, size=(rows, cols))


@dataclass(frozen=True)
class Model:
    """One model: its weights, feature interval, target and how to train it.

    ``init(rng, n, m)`` gives one instance's weights (float64, by name);
    ``loss_and_grads(weights, x, target, importance, workspace=None)`` the batched
    loss and the gradients in the order of ``names`` (see :func:`forward_backward`); ``circuit(weights)`` one instance's
    :class:`analytic.Circuit`.
    """

    names: tuple[str, ...]
    low: int
    high: int
    target: str
    init: Callable[[np.random.Generator, int, int], dict[str, np.ndarray]]
    loss_and_grads: Callable[..., tuple[np.ndarray, list[np.ndarray]]]
    circuit: Callable[[dict[str, np.ndarray]], Circuit]


def _hidden_init(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    return {"W1": _xavier(rng, m, n), "W2": _xavier(rng, n, m), "b": np.zeros(n)}


def _hidden_grads(w: dict[str, np.ndarray], x, target, importance, workspace=None):
    g = forward_backward(w["W1"], w["W2"], None, w["b"], x, target, importance, workspace=workspace)
    return g.loss, [g.W1, g.W2, g.b2]


def _hidden_circuit(w: dict[str, np.ndarray]) -> Circuit:
    return Circuit(w["W1"].tolist(), w["W2"].tolist(), b2=w["b"].tolist(), hidden="relu", output="relu", target="abs")


def _reconstruction_init(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    return {"W": _xavier(rng, m, n), "b": np.zeros(n)}


def _reconstruction_grads(w: dict[str, np.ndarray], x, target, importance, workspace=None):
    W = w["W"]
    g = forward_backward(W, W.swapaxes(1, 2), None, w["b"], x, target, importance, hidden="linear", workspace=workspace)
    # Tied weights: W is used as W1 and as W2 = W^T; its gradient is the sum of both uses.
    return g.loss, [g.W1 + g.W2.swapaxes(1, 2), g.b2]


def _reconstruction_circuit(w: dict[str, np.ndarray]) -> Circuit:
    return relu_output(w["W"].tolist(), w["b"].tolist())


#: Model name -> model. Initialization: Xavier (Glorot) uniform on
#: ``[-sqrt(6 / (m + n)), sqrt(6 / (m + n))]`` for every weight matrix, biases 0.
MODELS: dict[str, Model] = {
    "hidden": Model(("W1", "W2", "b"), -1, 1, "abs", _hidden_init, _hidden_grads, _hidden_circuit),
    "reconstruction": Model(
        ("W", "b"), 0, 1, "identity", _reconstruction_init, _reconstruction_grads, _reconstruction_circuit
    ),
}
