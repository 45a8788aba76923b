"""Training many toy models at once, in numpy, with hand-written backpropagation.

Two models of the paper, both instances of ``y' = out(W2 hid(W1 x + b1) + b2)``:

- ``"hidden"``: ``y' = ReLU(W2 ReLU(W1 x) + b)``, ``W1`` m x n, ``W2`` n x m, no
  hidden bias; target ``|x|``; features ``SparseUniform(S)`` on ``[-1, 1]``.
- ``"reconstruction"``: ``y' = ReLU(W^T W x + b)``, ``W`` m x n (tied); target
  ``x``; features ``SparseUniform(S)`` on ``[0, 1]``.

The loss of one instance is ``mean over the batch of sum_i I_i (y_i - y'_i)^2``:
summed over features (the project's convention, ``n`` times the usual mean over
features), so that it estimates the same ``L`` as :func:`analytic.expected_loss`.

Every instance (one seed, one sparsity, one importance vector) trains at once,
in one batched array computation: every array has a leading instance axis, and
the products are ``np.matmul`` over stacked matrices.

>>> config = TrainConfig(steps=200, batch=256, lr=1e-2, schedule="cosine")
>>> result = train("hidden", 2, 2, [0.5], [[1.0, 1.0]], seeds=[0, 1], config=config, progress=False)
>>> result.weights["W1"].shape, len(result.seeds)
((2, 2, 2), 2)
>>> bool((result.final_estimate.mean < result.history[0]).all())
True
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from analytic import Circuit, SparseUniform, SuperlossError, expected_loss
from analytic.presets import relu_output

from ..files import atomic, write_atomically

DTYPES = {"float32": np.float32, "float64": np.float64}

#: Fraction of the steps at the end whose batch losses make the final estimate.
FINAL_FRACTION = 0.1
#: Roughly how many points the loss history keeps by default.
HISTORY_POINTS = 200

# Every random stream is a child of the instance seed's SeedSequence, by role:
# initialization and data never share a stream, whatever else is drawn.
_INIT, _DATA = 0, 1


def _generator(seed: int, role: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(role,))))


# --- learning-rate schedules -------------------------------------------------
# A schedule maps (step, steps, warmup) to the factor applied to the base learning
# rate at that step (steps counted from 0).

def _constant(step: int, steps: int, warmup: int) -> float:
    return 1.0


def _cosine(step: int, steps: int, warmup: int) -> float:
    return 0.5 * (1.0 + math.cos(math.pi * step / steps))


def _warmup_cosine(step: int, steps: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    return _cosine(step - warmup, steps - warmup, 0)


SCHEDULES: dict[str, Callable[[int, int, int], float]] = {
    "constant": _constant,
    "cosine": _cosine,
    "warmup_cosine": _warmup_cosine,
}
#: Schedules that use ``warmup``; the others refuse a non-zero one.
WARMUP_SCHEDULES = ("warmup_cosine",)


def _check_schedule(schedule: str, warmup: int, steps: int | None) -> None:
    if schedule not in SCHEDULES:
        raise SuperlossError(f"schedule={schedule!r} is not one of {', '.join(SCHEDULES)}")
    if not _is_int(warmup) or warmup < 0:
        raise SuperlossError(f"warmup must be an integer >= 0, got {warmup!r}")
    if warmup and schedule not in WARMUP_SCHEDULES:
        raise SuperlossError(f"warmup={warmup} is used only by schedule {' or '.join(map(repr, WARMUP_SCHEDULES))}, "
                             f"not {schedule!r}")
    if schedule != "constant" and steps is None:
        raise SuperlossError(f"schedule {schedule!r} needs the total number of steps")
    if steps is not None and warmup >= steps:
        raise SuperlossError(f"warmup={warmup} must be below steps={steps}")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


# --- the configuration --------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """How to train: steps, batch size, optimizer and its schedule, number type.

    ``optimizer`` is ``"adam"`` (``weight_decay`` added to the gradient, plain L2)
    or ``"adamw"`` (decoupled: ``p <- p (1 - lr_t weight_decay)``). ``schedule`` is
    a name of :data:`SCHEDULES`; ``warmup`` linear warm-up steps (``"warmup_cosine"``
    only). ``clip`` bounds each instance's global gradient norm (None: no
    clipping). ``log_every``: history interval (None: about 200 points).

    >>> TrainConfig(steps=100, lr=1e-2).optimizer
    'adam'
    >>> TrainConfig(lr=0)
    Traceback (most recent call last):
    ...
    analytic.errors.SuperlossError: lr must be a finite number > 0, got 0
    """

    steps: int = 5000
    batch: int = 1024
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "constant"
    warmup: int = 0
    clip: float | None = None
    dtype: str = "float64"
    log_every: int | None = None

    def __post_init__(self):
        for name in ("steps", "batch"):
            value = getattr(self, name)
            if not _is_int(value) or value <= 0:
                raise SuperlossError(f"{name} must be an integer > 0, got {value!r}")
        if not _is_real(self.lr) or self.lr <= 0:
            raise SuperlossError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise SuperlossError(f"optimizer={self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if not _is_real(self.weight_decay) or self.weight_decay < 0:
            raise SuperlossError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        _check_schedule(self.schedule, self.warmup, self.steps)
        if self.clip is not None and (not _is_real(self.clip) or self.clip <= 0):
            raise SuperlossError(f"clip must be None or a finite number > 0, got {self.clip!r}")
        if self.dtype not in DTYPES:
            raise SuperlossError(f"dtype={self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.log_every is not None and (not _is_int(self.log_every) or self.log_every <= 0):
            raise SuperlossError(f"log_every must be None or an integer > 0, got {self.log_every!r}")

    @property
    def history_interval(self) -> int:
        """Steps per history point: ``log_every``, or about 200 points in all."""
        return self.log_every or max(1, self.steps // HISTORY_POINTS)

    @property
    def final_steps(self) -> int:
        """How many of the last steps make the final estimate (10%, at least 1)."""
        return max(1, math.ceil(FINAL_FRACTION * self.steps))


# --- the optimizer --------------------------------------------------------------

class Adam:
    """Adam on a list of arrays whose first axis is the instance axis, in place.

    At step ``t`` (from 0) with learning rate ``lr_t = lr * schedule(t)``, for each
    array ``p`` and its gradient ``g``: the gradient is clipped per instance (all
    arrays' entries of instance ``k`` together have norm at most ``clip``:
    ``g_k <- g_k min(1, clip / (|g_k| + 1e-6))``), then ``g += weight_decay p``
    (L2; AdamW instead shrinks ``p <- p (1 - lr_t weight_decay)``), then
    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2`` and
    ``p <- p - lr_t (m / (1 - b1^(t+1))) / (sqrt(v / (1 - b2^(t+1))) + eps)``,
    as ``torch.optim.Adam``/``AdamW``. Weight decay applies to every array given.

    >>> p = [np.array([[1.0], [2.0]])]            # two instances, one parameter each
    >>> opt = Adam(p, lr=0.1)
    >>> opt.update([np.array([[1.0], [-3.0]])], 0)
    >>> p[0].ravel().round(6).tolist()            # the first step moves by lr * sign(g)
    [0.9, 2.1]
    """

    decoupled = False

    def __init__(self, params: Sequence[np.ndarray], lr: float = 1e-3, *, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, schedule: str = "constant", warmup: int = 0,
                 steps: int | None = None, clip: float | None = None):
        self.params = list(params)
        if not self.params:
            raise SuperlossError("the optimizer needs at least one array")
        if any(p.ndim < 1 for p in self.params) or len({p.shape[0] for p in self.params}) != 1:
            raise SuperlossError("every array must have the same leading (instance) axis, got shapes "
                                 f"{[p.shape for p in self.params]}")
        if not _is_real(lr) or lr <= 0:
            raise SuperlossError(f"lr must be a finite number > 0, got {lr!r}")
        if not _is_real(weight_decay) or weight_decay < 0:
            raise SuperlossError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
        if clip is not None and (not _is_real(clip) or clip <= 0):
            raise SuperlossError(f"clip must be None or a finite number > 0, got {clip!r}")
        _check_schedule(schedule, warmup, steps)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.clip = weight_decay, clip
        self.schedule, self.warmup, self.steps = schedule, warmup, steps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    @classmethod
    def from_config(cls, params: Sequence[np.ndarray], config: TrainConfig) -> "Adam":
        """The optimizer ``config`` names (Adam or AdamW), with its settings."""
        return OPTIMIZERS[config.optimizer](params, config.lr, weight_decay=config.weight_decay,
                                            schedule=config.schedule, warmup=config.warmup,
                                            steps=config.steps, clip=config.clip)

    @property
    def instances(self) -> int:
        """Length of the leading axis of every array."""
        return self.params[0].shape[0]

    def learning_rate(self, step: int) -> float:
        """``lr * schedule(step)``."""
        return self.lr * SCHEDULES[self.schedule](step, self.steps or 1, self.warmup)

    def clip_factor(self, grads: Sequence[np.ndarray]) -> np.ndarray:
        """Per instance, the factor that brings the global gradient norm to at most ``clip``."""
        squares = sum(np.einsum("ki,ki->k", g.reshape(len(g), -1), g.reshape(len(g), -1)) for g in grads)
        return np.minimum(1.0, self.clip / (np.sqrt(squares) + 1e-6))

    def update(self, grads: Sequence[np.ndarray], step: int) -> None:
        """Apply step ``step`` (from 0) with ``grads`` (same shapes as the arrays);
        the arrays change in place, ``grads`` are left as they are."""
        if len(grads) != len(self.params) or any(g.shape != p.shape for g, p in zip(grads, self.params)):
            raise SuperlossError("gradients must match the arrays one to one in shape")
        lr = self.learning_rate(step)
        b1, b2 = self.betas
        step_size = lr / (1 - b1 ** (step + 1))
        root_correction = math.sqrt(1 - b2 ** (step + 1))
        scale = self.clip_factor(grads) if self.clip is not None else None
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            if scale is not None:
                g = g * scale.reshape((-1,) + (1,) * (g.ndim - 1)).astype(g.dtype)
            if self.weight_decay:
                if self.decoupled:
                    p *= 1 - lr * self.weight_decay
                else:
                    g = g + self.weight_decay * p
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            denom = np.sqrt(v)
            denom /= root_correction
            denom += self.eps
            p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``p <- p (1 - lr_t weight_decay)`` each step."""

    decoupled = True


OPTIMIZERS: dict[str, type[Adam]] = {"adam": Adam, "adamw": AdamW}


# --- the general model and its gradient ----------------------------------------

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


def forward_backward(W1: np.ndarray, W2: np.ndarray, b1: np.ndarray | None, b2: np.ndarray | None,
                     x: np.ndarray, target: np.ndarray, importance: np.ndarray,
                     hidden: str = "relu", output: str = "relu", workspace: dict | None = None) -> Gradients:
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
    squares = np.matmul(r[:, :, None, :], r[:, :, :, None]).reshape(K, n)     # sum_b r^2 per feature
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


# --- the two models ---------------------------------------------------------------

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
    return Circuit(w["W1"].tolist(), w["W2"].tolist(), b2=w["b"].tolist(), hidden="relu", output="relu",
                   target="abs")


def _reconstruction_init(rng: np.random.Generator, n: int, m: int) -> dict[str, np.ndarray]:
    return {"W": _xavier(rng, m, n), "b": np.zeros(n)}


def _reconstruction_grads(w: dict[str, np.ndarray], x, target, importance, workspace=None):
    W = w["W"]
    g = forward_backward(W, W.swapaxes(1, 2), None, w["b"], x, target, importance, hidden="linear",
                         workspace=workspace)
    # Tied weights: W is used as W1 and as W2 = W^T; its gradient is the sum of both uses.
    return g.loss, [g.W1 + g.W2.swapaxes(1, 2), g.b2]


def _reconstruction_circuit(w: dict[str, np.ndarray]) -> Circuit:
    return relu_output(w["W"].tolist(), w["b"].tolist())


#: Model name -> model. Initialization: Xavier (Glorot) uniform on
#: ``[-sqrt(6 / (m + n)), sqrt(6 / (m + n))]`` for every weight matrix, biases 0.
MODELS: dict[str, Model] = {
    "hidden": Model(("W1", "W2", "b"), -1, 1, "abs", _hidden_init, _hidden_grads, _hidden_circuit),
    "reconstruction": Model(("W", "b"), 0, 1, "identity", _reconstruction_init, _reconstruction_grads,
                            _reconstruction_circuit),
}


# --- the result ---------------------------------------------------------------------

@dataclass(frozen=True)
class LossEstimate:
    """Per instance, the mean training loss over the last 10% of the steps and its
    standard error, each step's batch loss (taken before that step's update)
    counted as one sample: ``stderr = std(ddof=1) / sqrt(steps)`` (NaN for one step).
    The weights move during those steps, so this estimates the loss of the
    weights of the last steps, which a decaying schedule makes the final ones.
    """

    mean: np.ndarray
    stderr: np.ndarray
    steps: int

    def zscore(self, k: int, value: float) -> float:
        """``(value - mean_k) / stderr_k``: how many standard errors ``value`` is off.

        A zero standard error (a constant batch loss) gives 0 if ``value`` equals
        the mean to 1e-12, else +-inf; NaN (one step) gives NaN.

        >>> LossEstimate(np.array([1.0, 3.0]), np.array([0.5, 0.1]), steps=10).zscore(0, 2.0)
        2.0
        """
        diff, stderr = float(value) - float(self.mean[k]), float(self.stderr[k])
        if stderr > 0 or math.isnan(stderr):
            return diff / stderr
        if abs(diff) <= 1e-12 * max(1.0, abs(float(value))):
            return 0.0
        return math.copysign(math.inf, diff)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Trained weights of every instance, the instance table, the history.

    ``weights[name]`` has the instance axis first (``W1``, ``W2``, ``b`` for
    ``"hidden"``; ``W``, ``b`` for ``"reconstruction"``). Instance ``k`` has seed
    ``seeds[k]``, sparsity ``sparsities[k]`` and importance ``importances[k]``.
    ``history[j, k]`` is instance ``k``'s mean batch loss over the steps up to
    ``history_steps[j]`` since the previous point.

    >>> r = train("hidden", 2, 1, [0.5], [1, 1], seeds=[0], config=TrainConfig(steps=10, batch=8), progress=False)
    >>> r.circuit(0)
    Circuit(n=2, m=1, hidden='relu', output='relu', target='abs', symbols=[])
    >>> r.law(0), r.importance(0), r.history_steps.tolist()
    (SparseUniform(sparsity=0.500000000000000, low=-1, high=1), [1.0, 1.0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    """

    model: str
    n: int
    m: int
    config: TrainConfig
    seeds: np.ndarray
    sparsities: np.ndarray
    importances: np.ndarray
    weights: dict[str, np.ndarray]
    history_steps: np.ndarray
    history: np.ndarray
    final_estimate: LossEstimate

    @property
    def instances(self) -> int:
        """How many instances were trained."""
        return len(self.seeds)

    def _weights(self, k: int) -> dict[str, np.ndarray]:
        if not _is_int(k) or not 0 <= k < self.instances:
            raise SuperlossError(f"instance {k!r} does not exist; there are {self.instances}")
        return {name: w[k] for name, w in self.weights.items()}

    def circuit(self, k: int) -> Circuit:
        """Instance ``k`` as an :class:`analytic.Circuit` with its float weights."""
        return MODELS[self.model].circuit(self._weights(k))

    def law(self, k: int) -> SparseUniform:
        """The feature law instance ``k`` was trained on."""
        self._weights(k)
        model = MODELS[self.model]
        return SparseUniform(float(self.sparsities[k]), low=model.low, high=model.high)

    def exact_loss(self, k: int) -> float:
        """The exact expected loss of instance ``k`` (its weights are numbers: the float engine)."""
        return float(expected_loss(self.circuit(k), self.law(k), self.importance(k)).expr)

    def importance(self, k: int) -> list[float]:
        """Instance ``k``'s importance vector, one number per feature."""
        self._weights(k)
        return self.importances[k].tolist()

    def table(self) -> list[dict]:
        """One row per instance: seed, sparsity, importance, final loss and its standard error."""
        return [{"seed": int(s), "sparsity": float(S), "importance": I.tolist(),
                 "final_loss": float(mean), "final_stderr": float(se)}
                for s, S, I, mean, se in zip(self.seeds, self.sparsities, self.importances,
                                             self.final_estimate.mean, self.final_estimate.stderr)]

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``result.json`` (config, instances, final estimates, history) and
        ``weights.npz`` into ``folder`` (created if needed), each atomically."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SuperlossError(f"cannot create {folder}: {exc.strerror or exc}") from None
        _save_npz(folder / "weights.npz", self.weights)
        record = {"model": self.model, "n": self.n, "m": self.m, "config": asdict(self.config),
                  "instances": self.table(), "final_steps": self.final_estimate.steps,
                  "history_steps": self.history_steps.tolist(), "history": self.history.tolist()}
        # JSON writes floats by repr, which reads back to the same float64.
        write_atomically(folder / "result.json", json.dumps(record, indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "TrainResult":
        """The result :meth:`save` wrote into ``folder``, exactly."""
        folder = Path(folder)
        try:
            record = json.loads((folder / "result.json").read_text())
            with np.load(folder / "weights.npz") as data:
                weights = {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise SuperlossError(f"cannot read a training result from {folder}: {exc}") from None
        rows = record["instances"]
        n = record["n"]
        return cls(model=record["model"], n=n, m=record["m"], config=TrainConfig(**record["config"]),
                   seeds=np.array([r["seed"] for r in rows], dtype=np.int64),
                   sparsities=np.array([r["sparsity"] for r in rows], dtype=np.float64),
                   importances=np.array([r["importance"] for r in rows], dtype=np.float64).reshape(len(rows), n),
                   weights={name: weights[name] for name in MODELS[record["model"]].names},
                   history_steps=np.array(record["history_steps"], dtype=np.int64),
                   history=np.array(record["history"], dtype=np.float64).reshape(-1, len(rows)),
                   final_estimate=LossEstimate(np.array([r["final_loss"] for r in rows], dtype=np.float64),
                                               np.array([r["final_stderr"] for r in rows], dtype=np.float64),
                                               record["final_steps"]))


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic(path, binary=True) as handle:
        np.savez(handle, **arrays)


# --- training -------------------------------------------------------------------------

def _instances(n: int, m: int, sparsities, importances, seeds):
    """Validated ``(seeds, sparsities, importances)``, each one entry per list item."""
    for name, value in (("n", n), ("m", m)):
        if not _is_int(value) or value <= 0:
            raise SuperlossError(f"{name} must be an integer > 0, got {value!r}")
    seeds = [seeds] if _is_int(seeds) else list(seeds)
    if not seeds or not all(_is_int(s) and s >= 0 for s in seeds):
        raise SuperlossError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    sparsities = [sparsities] if isinstance(sparsities, numbers.Real) else list(sparsities)
    if not sparsities or not all(_is_real(S) and 0 <= S <= 1 for S in sparsities):
        raise SuperlossError(f"sparsities must be a non-empty list of numbers in [0, 1], got {sparsities!r}")
    try:
        I = np.array(importances, dtype=np.float64)
    except (TypeError, ValueError):
        raise SuperlossError("importances must be a list of vectors of numbers, one number per feature") from None
    if I.ndim == 1:
        I = I[None, :]          # one vector given
    if I.ndim != 2 or I.shape[0] == 0 or I.shape[1] != n:
        raise SuperlossError(f"importances must be a non-empty list of vectors of {n} numbers, got shape {I.shape}")
    if not np.all(np.isfinite(I)) or np.any(I < 0):
        raise SuperlossError(f"importances must be finite and >= 0, got {I.tolist()}")
    return seeds, [float(S) for S in sparsities], I


class Trainer:
    """The training state of every instance; :func:`train` is a loop over :meth:`step`.

    Instances are the product ``seeds x sparsities x importances``, seed-major:
    instance ``k = (i_seed * len(sparsities) + i_S) * len(importances) + i_I``.

    Seeds: the seed ``s`` of an instance gives two independent streams,
    ``SeedSequence(s, spawn_key=(0,))`` for its initialization and
    ``SeedSequence(s, spawn_key=(1,))`` for its data (PCG64). So an instance's
    initial weights depend on its seed only, and each step's features are one
    draw ``u, v ~ U[0, 1)^(n x batch)`` per seed (``u`` first, in one call),
    ``x = low + (high - low) v`` where ``u >= S``, else 0: instances with the
    same seed see the same draws (common random numbers across sparsities and
    importances), and no instance's data depends on another seed. Every array operation is per instance, so
    instance ``k`` trains the same whatever else is in the batch (the tests check
    this, bit for bit).

    >>> t = Trainer("reconstruction", 2, 1, [0.0], [[1, 1]], [0], TrainConfig(steps=10, batch=8))
    >>> t.step().shape, t.weights["W"].shape
    ((1,), (1, 1, 2))
    """

    def __init__(self, model: str, n: int, m: int, sparsities: Sequence[float] | float,
                 importances: Sequence[Sequence[float]] | Sequence[float], seeds: Sequence[int] | int,
                 config: TrainConfig = TrainConfig()):
        if model not in MODELS:
            raise SuperlossError(f"model={model!r} is not one of {', '.join(MODELS)}")
        if not isinstance(config, TrainConfig):
            raise SuperlossError(f"config must be a TrainConfig, got {type(config).__name__}")
        seed_list, S_list, I = _instances(n, m, sparsities, importances, seeds)
        self.model, self.n, self.m, self.config = model, n, m, config
        self._spec = MODELS[model]
        dtype = DTYPES[config.dtype]
        per_seed = len(S_list) * len(I)
        self.seeds = np.repeat(np.array(seed_list, dtype=np.int64), per_seed)
        self.sparsities = np.tile(np.repeat(S_list, len(I)), len(seed_list))
        self.importances = np.tile(I, (len(seed_list) * len(S_list), 1))
        K = len(self.seeds)

        inits = [self._spec.init(_generator(s, _INIT), n, m) for s in seed_list]
        self.weights = {name: np.repeat(np.stack([w[name] for w in inits]), per_seed, axis=0).astype(dtype)
                        for name in self._spec.names}
        self.optimizer = Adam.from_config([self.weights[name] for name in self._spec.names], config)

        self._rngs = [_generator(s, _DATA) for s in seed_list]
        B = config.batch
        # Buffers reused every step; shapes (seeds, sparsities, importances, n, batch) flatten to (K, n, batch).
        # One draw per seed and step fills both u (activity) and v (value): one call, not two.
        self._uv = np.empty((len(seed_list), 2, 1, n, B), dtype)
        self._u, self._v = self._uv[:, 0:1], self._uv[:, 1:2]
        self._threshold = np.array(S_list, dtype=dtype).reshape(1, -1, 1, 1, 1)
        self._active = np.empty((len(seed_list), len(S_list), 1, n, B), bool)
        self._x = np.empty((len(seed_list), len(S_list), len(I), n, B), dtype)
        self._target = np.empty_like(self._x) if self._spec.target == "abs" else self._x
        self._I = self.importances.astype(dtype)
        self._workspace: dict[str, np.ndarray] = {}

        self.step_count = 0
        self._window_sum, self._window_count = np.zeros(K), 0
        self._history_steps: list[int] = []
        self._history: list[np.ndarray] = []
        self._final = np.empty((config.final_steps, K))

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One batch of features and targets, each of shape (K, n, batch): samples are
        columns. Both are views of buffers that the next call overwrites."""
        for rng, uv in zip(self._rngs, self._uv):
            rng.random(out=uv, dtype=uv.dtype)
        v = self._v
        v *= self._spec.high - self._spec.low
        v += self._spec.low
        np.greater_equal(self._u, self._threshold, out=self._active)
        np.multiply(self._active, v, out=self._x)      # an inactive entry may be -0.0, which equals 0
        if self._target is not self._x:
            np.abs(self._x, out=self._target)
        shape = (len(self.seeds), self.n, self.config.batch)
        return self._x.reshape(shape), self._target.reshape(shape)

    def step(self) -> np.ndarray:
        """One optimizer step of every instance; their batch losses before it, shape (K,)."""
        config, t = self.config, self.step_count
        if t >= config.steps:
            raise SuperlossError(f"training is over: all {config.steps} steps are done")
        x, target = self.sample()
        loss, grads = self._spec.loss_and_grads(self.weights, x, target, self._I, self._workspace)
        self.optimizer.update(grads, t)
        self.step_count = t + 1
        self._window_sum += loss
        self._window_count += 1
        if self.step_count % config.history_interval == 0 or self.step_count == config.steps:
            self._history_steps.append(self.step_count)
            self._history.append(self._window_sum / self._window_count)
            self._window_sum, self._window_count = np.zeros_like(self._window_sum), 0
        tail = t - (config.steps - config.final_steps)
        if tail >= 0:
            self._final[tail] = loss
        return loss

    def result(self) -> TrainResult:
        """The result after all steps."""
        if self.step_count < self.config.steps:
            raise SuperlossError(f"training is not over: {self.step_count} of {self.config.steps} steps done")
        final = self._final
        if len(final) > 1:
            stderr = final.std(axis=0, ddof=1) / math.sqrt(len(final))
        else:
            stderr = np.full(len(self.seeds), np.nan)
        return TrainResult(model=self.model, n=self.n, m=self.m, config=self.config, seeds=self.seeds,
                           sparsities=self.sparsities, importances=self.importances,
                           weights={name: w.copy() for name, w in self.weights.items()},
                           history_steps=np.array(self._history_steps, dtype=np.int64),
                           history=np.array(self._history),
                           final_estimate=LossEstimate(final.mean(axis=0), stderr, len(final)))


def train(model: str, n: int, m: int, sparsities: Sequence[float] | float,
          importances: Sequence[Sequence[float]] | Sequence[float], seeds: Sequence[int] | int = (0,),
          config: TrainConfig = TrainConfig(), progress: bool = True) -> TrainResult:
    """Train ``model`` (``"hidden"`` or ``"reconstruction"``) with ``n`` features and
    ``m`` neurons, one instance per ``(seed, S, importance vector)``, all at once.

    ``importances`` is a list of vectors of ``n`` numbers (or one vector). The same
    arguments give bit-identical weights; see :class:`Trainer` for the seeding.
    ``progress`` shows a progress bar (tqdm, on standard error).

    >>> r = train("reconstruction", 2, 1, [0.0], [1, 1], seeds=[3], config=TrainConfig(steps=20, batch=16),
    ...           progress=False)
    >>> r.seeds.tolist(), r.sparsities.tolist(), r.importance(0)
    ([3], [0.0], [1.0, 1.0])
    """
    trainer = Trainer(model, n, m, sparsities, importances, seeds, config)
    with tqdm(total=config.steps, disable=not progress, desc=f"train {model}", unit="step") as bar:
        for _ in range(config.steps):
            loss = trainer.step()
            if trainer.step_count % config.history_interval == 0:
                bar.set_postfix(loss=f"{float(np.mean(loss)):.4g}", refresh=False)
            bar.update()
    return trainer.result()
