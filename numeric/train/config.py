"""How to train: :class:`TrainConfig` (steps, batch size, optimizer and its schedule, number
type), checked when it is made, with the number types and the sizes of the history and the
final estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytic import SuperlossError

from .checks import is_int, is_real
from .optimizers import OPTIMIZERS, check_schedule

DTYPES = {"float32": np.float32, "float64": np.float64}

#: Fraction of the steps at the end whose batch losses make the final estimate.
FINAL_FRACTION = 0.1
#: Roughly how many points the loss history keeps by default.
HISTORY_POINTS = 200


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
            if not is_int(value) or value <= 0:
                raise SuperlossError(f"{name} must be an integer > 0, got {value!r}")
        if not is_real(self.lr) or self.lr <= 0:
            raise SuperlossError(f"lr must be a finite number > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise SuperlossError(f"optimizer={self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
        if not is_real(self.weight_decay) or self.weight_decay < 0:
            raise SuperlossError(f"weight_decay must be a finite number >= 0, got {self.weight_decay!r}")
        check_schedule(self.schedule, self.warmup, self.steps)
        if self.clip is not None and (not is_real(self.clip) or self.clip <= 0):
            raise SuperlossError(f"clip must be None or a finite number > 0, got {self.clip!r}")
        if self.dtype not in DTYPES:
            raise SuperlossError(f"dtype={self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.log_every is not None and (not is_int(self.log_every) or self.log_every <= 0):
            raise SuperlossError(f"log_every must be None or an integer > 0, got {self.log_every!r}")

    @property
    def history_interval(self) -> int:
        """Steps per history point: ``log_every``, or about 200 points in all."""
        return self.log_every or max(1, self.steps // HISTORY_POINTS)

    @property
    def final_steps(self) -> int:
        """How many of the last steps make the final estimate (10%, at least 1)."""
        return max(1, math.ceil(FINAL_FRACTION * self.steps))
