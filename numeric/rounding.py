"""Losses that are zero to rounding.

The float engines compute a loss that is exactly zero (a perfect fit) as a few
rounding errors, such as ``-5.55e-17``. A loss counts as zero when it is at
most :data:`EPSILONS` machine epsilons times the loss of the all-zero model
(:meth:`analytic.Problem.zero_model_loss`, the natural scale of the problem's
losses); :func:`shown` prints it as 0.

>>> shown(-5.55e-17, 1e-14), shown(0.0035, 1e-14)
(0.0, 0.0035)
"""

from __future__ import annotations

import sys

from analytic import Problem

__all__ = ["EPSILONS", "shown", "tolerance"]

#: How many machine epsilons of the all-zero model's loss count as zero.
EPSILONS = 64


def tolerance(problem: Problem) -> float:
    """The largest loss of ``problem`` that is zero to rounding (its fixed values put in)."""
    return EPSILONS * sys.float_info.epsilon * abs(float(problem.zero_model_loss()))


def shown(loss: float, tolerance: float) -> float:
    """``loss``, or 0 if it is zero to rounding (``|loss| <= tolerance``)."""
    return 0.0 if abs(loss) <= tolerance else float(loss)
