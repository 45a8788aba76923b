"""Training many toy models at once, in numpy, with hand-written backpropagation.

Two models of the paper, ``"hidden"`` and ``"reconstruction"``, both instances of
``y' = out(W2 hid(W1 x + b1) + b2)``, trained on the loss of :func:`analytic.expected_loss`
(summed over features); every instance (one seed, one sparsity, one importance vector)
trains at once, in one batched array computation.

- :mod:`~numeric.train.config`: :class:`TrainConfig`, how to train;
- :mod:`~numeric.train.optimizers`: Adam, AdamW and the learning-rate schedules;
- :mod:`~numeric.train.backpropagation`: the loss and its gradients, by hand (:func:`forward_backward`);
- :mod:`~numeric.train.models`: the two models and their initialization;
- :mod:`~numeric.train.trainer`: :class:`Trainer` and :func:`train`, and the seeding;
- :mod:`~numeric.train.result`: :class:`TrainResult`, saved and loaded;
- :mod:`~numeric.train.checks`: the argument checks they share.

>>> config = TrainConfig(steps=200, batch=256, lr=1e-2, schedule="cosine")
>>> result = train("hidden", 2, 2, [0.5], [[1.0, 1.0]], seeds=[0, 1], config=config, progress=False)
>>> result.weights["W1"].shape, len(result.seeds)
((2, 2, 2), 2)
>>> bool((result.final_estimate.mean < result.history[0]).all())
True
"""

from .backpropagation import ACTIVATIONS, Gradients, forward_backward
from .config import DTYPES, FINAL_FRACTION, HISTORY_POINTS, TrainConfig
from .models import MODELS, Model
from .optimizers import OPTIMIZERS, SCHEDULES, WARMUP_SCHEDULES, Adam, AdamW
from .result import LossEstimate, TrainResult
from .trainer import Trainer, train

__all__ = [
    "train",
    "Trainer",
    "TrainConfig",
    "TrainResult",
    "LossEstimate",
    "Adam",
    "AdamW",
    "OPTIMIZERS",
    "SCHEDULES",
    "WARMUP_SCHEDULES",
    "MODELS",
    "Model",
    "Gradients",
    "forward_backward",
    "ACTIVATIONS",
    "DTYPES",
    "FINAL_FRACTION",
    "HISTORY_POINTS",
]
