"""The two argument checks every part of the trainer validates with: an integer, a finite real.

A module of their own because the configuration, the optimizers, the result and the trainer
all need them, and the configuration imports the optimizers (to check an optimizer's name and
its schedule): here they sit below all of them.
"""

from __future__ import annotations

import math
import numbers


def is_int(value) -> bool:
    """An integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A finite real number, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
