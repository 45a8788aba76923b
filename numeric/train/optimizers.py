"""The optimizers, :class:`Adam` and :class:`AdamW`, on arrays whose first axis is the
instance axis, and the learning-rate schedules they apply.

:class:`~numeric.train.config.TrainConfig` checks its optimizer and schedule against the
names here, so this module does not import the configuration (only for type checking).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from analytic import SuperlossError

from .checks import is_int, is_real

if TYPE_CHECKING:
    from .config import TrainConfig


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


def check_schedule(schedule: str, warmup: int, steps: int | None) -> None:
    """Raise :class:`SuperlossError` unless ``schedule`` and ``warmup`` fit ``steps`` (None: not known)."""
    if schedule not in SCHEDULES:
        raise SuperlossError(f"schedule={schedule!r} is not one of {', '.join(SCHEDULES)}")
    if not is_int(warmup) or warmup < 0:
        raise SuperlossError(f"warmup must be an integer >= 0, got {warmup!r}")
    if warmup and schedule not in WARMUP_SCHEDULES:
        raise SuperlossError(
            f"warmup={warmup} is used only by schedule {' or '.join(map(repr, WARMUP_SCHEDULES))}, not {schedule!r}"
        )
    if schedule != "constant" and steps is None:
        raise SuperlossError(f"schedule {schedule!r} needs the total number of steps")
    if steps is not None and warmup >= steps:
        raise SuperlossError(f"warmup={warmup} must be below steps={steps}")


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

    def __init__(
        self,
        params: Sequence[np.ndarray],
        lr: float = 1e-3,
        *,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        schedule: str = "constant",
        warmup: int = 0,
        steps: int | None = None,
        clip: float | None = None,
    ):
        self.params = list(params)
        if not self.params:
            raise SuperlossError("the optimizer needs at least one array")
        if any(p.ndim < 1 for p in self.params) or len({p.shape[0] for p in self.params}) != 1:
            raise SuperlossError(
                f"every array must have the same leading (instance) axis, got shapes {[p.shape for p in self.params]}"
            )
        if not is_real(lr) or lr <= 0:
            raise SuperlossError(f"lr must be a finite number > 0, got {lr!r}")
        if not is_real(weight_decay) or weight_decay < 0:
            raise SuperlossError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
        if clip is not None and (not is_real(clip) or clip <= 0):
            raise SuperlossError(f"clip must be None or a finite number > 0, got {clip!r}")
        check_schedule(schedule, warmup, steps)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.weight_decay, self.clip = weight_decay, clip
        self.schedule, self.warmup, self.steps = schedule, warmup, steps
        self.m = [np.zeros_like(p) for p in self.params]
        self.v = [np.zeros_like(p) for p in self.params]

    @classmethod
    def from_config(cls, params: Sequence[np.ndarray], config: TrainConfig) -> "Adam":
        """The optimizer ``config`` names (Adam or AdamW), with its settings."""
        return OPTIMIZERS[config.optimizer](
            params,
            config.lr,
            weight_decay=config.weight_decay,
            schedule=config.schedule,
            warmup=config.warmup,
            steps=config.steps,
            clip=config.clip,
        )

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
        if len(grads) != len(self.params) or any(g.shape != p.shape for g, p in zip(grads, self.params, strict=True)):
            raise SuperlossError("gradients must match the arrays one to one in shape")
        lr = self.learning_rate(step)
        b1, b2 = self.betas
        step_size = lr / (1 - b1 ** (step + 1))
        root_correction = math.sqrt(1 - b2 ** (step + 1))
        scale = self.clip_factor(grads) if self.clip is not None else None
        for p, g, m, v in zip(self.params, grads, self.m, self.v, strict=True):
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
