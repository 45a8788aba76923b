"""Training many toy models at once, in numpy: the package's names, from :mod:`~numeric.train.trainer`."""

from .trainer import (ACTIVATIONS, DTYPES, FINAL_FRACTION, HISTORY_POINTS, MODELS, OPTIMIZERS, SCHEDULES,
                      WARMUP_SCHEDULES, Adam, AdamW, Gradients, LossEstimate, Model, TrainConfig, Trainer, TrainResult,
                      forward_backward, train)

__all__ = ["train", "Trainer", "TrainConfig", "TrainResult", "LossEstimate", "Adam", "AdamW", "OPTIMIZERS",
           "SCHEDULES", "WARMUP_SCHEDULES", "MODELS", "Model", "Gradients", "forward_backward", "ACTIVATIONS",
           "DTYPES", "FINAL_FRACTION", "HISTORY_POINTS"]
