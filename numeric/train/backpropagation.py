"""The general model ``y' = out(W2 hid(W1 x + b1) + b2)`` of many instances at once, forward
and backward by hand: its loss and gradients (:func:`forward_backward`), in numpy.

The loss of one instance is ``mean over the batch of sum_i I_i (y_i - y'_i)^2``:
summed over features (the project's convention, ``n`` times the usual mean over
features), so that it estimates the same ``L`` as :func:`analytic.expected_loss`.
Every array has a leading instance axis, and the products are ``np.matmul`` over
stacked matrices: instances never mix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from analytic import SuperlossError


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0, out=z)


def _relu_back(grad: np.ndarray, a: np.ndarray, mask: np.ndarray) -> None:
    # a = ReLU(z) > 0 exactly where z > 0, so the activation output is all we keep.
    np.greater(a, 0, out=mask)
    np.multiply(grad, mask, out=grad)


#: Activation name -> (apply in place, multiply a gradient by its derivative in
#: place given the activation output and a boolean scratch array of its shape).
ACTIVATIONS: dict[str, tuple[Callable, Callable | None]] = {
    "relu": (_relu, _relu_back),
    "linear": (lambda z: z, None),
}


def _scratch(workspace: dict | None, name: str, shape: tuple, dtype) -> np.ndarray:
    """An array to overwrite: the workspace's one under ``name`` if it fits, else a new one (kept there).

    Reusing the large per-step arrays matters: allocated afresh, memory freed at
    the end of each step goes back to the system and comes back as page faults,
    which cost as much as the arithmetic at n = 100, m = 40, batch 1024.
    """
    array = None if workspace is None else workspace.get(name)
    if array is None or array.shape != shape or array.dtype != dtype:
        array = np.empty(shape, dtype)
        if workspace is not None:
            workspace[name] = array
    return array


@dataclass(frozen=True)
class Gradients:
    """Per-instance loss and its gradients; ``None`` for an absent bias."""

    loss: np.ndarray
    W1: np.ndarray
    b1: np.ndarray | None
    W2: np.ndarray
    b2: np.ndarray | None


def forward_backward(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray | None,
    b2: np.ndarray | None,
    x: np.ndarray,
    target: np.ndarray,
    importance: np.ndarray,
    hidden: str = "relu",
    output: str = "relu",
    workspace: dict | None = None,
) -> Gradients:
    """Loss ``L_k = (1/B) sum_b sum_i I_ki (target_kib - y'_kib)^2`` of every instance
    ``k`` and its gradients, for ``y' = out(W2 hid(W1 x + b1) + b2)``.

    Samples are columns, as in the formula: ``x`` and ``target`` have shape
    (K, n, B), ``W1`` (K, m, n), ``W2`` (K, n, m), ``b1`` (K, m), ``b2`` (K, n),
    ``importance`` (K, n); each gradient has its array's shape. A bias given as
    ``None`` is absent (zero, not trained) and its gradient is ``None``.
    Instances never mix. ``workspace``: a dict kept between calls, in which the
    large intermediate arrays are reused (the returned ones are always new).

    >>> g = forward_backward(np.ones((1, 1, 1)), np.ones((1, 1, 1)), None, None,
    ...                      np.array([[[2.0]]]), np.array([[[3.0]]]), np.ones((1, 1)))
    >>> g.loss.tolist(), g.W1.ravel().tolist()     # y' = 2: loss 1, dL/dW1 = 2 (2 - 3) 1 * 2
    ([1.0], [-4.0])
    """
    for name in (hidden, output):
        if name not in ACTIVATIONS:
            raise SuperlossError(f"activation {name!r} is not one of {', '.join(ACTIVATIONS)}")
    hid, hid_back = ACTIVATIONS[hidden]
    out, out_back = ACTIVATIONS[output]
    (K, n, batch), m = x.shape, W1.shape[1]
    dtype = np.result_type(W1, x)
    # Samples along the last axis keep every product long and contiguous: with
    # n and m of ten or less, (m x n) @ (n x B) is several times faster than
    # (B x n) @ (n x m), and the bias gradients are sums over contiguous rows.
    h = np.matmul(W1, x, out=_scratch(workspace, "h", (K, m, batch), dtype))
    if b1 is not None:
        h += b1[:, :, None]
    h = hid(h)
    y = np.matmul(W2, h, out=_scratch(workspace, "y", (K, n, batch), dtype))
    if b2 is not None:
        y += b2[:, :, None]
    y = out(y)
    r = np.subtract(y, target, out=_scratch(workspace, "r", (K, n, batch), dtype))
    # dL/dy' = s r with s = (2/B) I per feature row. The big arrays carry r only; s
    # scales the small matrices instead (W2's rows, the gradients' rows): one pass fewer.
    s = (2.0 / batch) * importance
    squares = np.matmul(r[:, :, None, :], r[:, :, :, None]).reshape(K, n)  # sum_b r^2 per feature
    loss = (squares * importance).sum(axis=1) / batch
    if out_back is not None:
        out_back(r, y, _scratch(workspace, "y>0", (K, n, batch), bool))
    gW2 = np.matmul(r, h.swapaxes(1, 2)) * s[:, :, None]
    gb2 = r.sum(axis=2) * s if b2 is not None else None
    dh = np.matmul((W2 * s[:, :, None]).swapaxes(1, 2), r, out=_scratch(workspace, "dh", (K, m, batch), dtype))
    if hid_back is not None:
        hid_back(dh, h, _scratch(workspace, "h>0", (K, m, batch), bool))
    gW1 = np.matmul(dh, x.swapaxes(1, 2))
    gb1 = dh.sum(axis=2) if b1 is not None else None
    return Gradients(loss=loss, W1=gW1, b1=gb1, W2=gW2, b2=gb2)
