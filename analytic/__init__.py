"""superloss.analytic: exact expected losses of small ReLU circuits, as SymPy closed forms."""

from . import presets
from .circuit import Circuit
from .errors import NumericalError, SuperlossError
from .laws import FeatureLaw, OneHot, SparseUniform
from .loss import Loss, expected_loss
from .piecewise import PiecewiseLoss, piecewise_loss
from .problem import Problem
from .symbols import sym, syms

__all__ = [
    "Circuit",
    "FeatureLaw",
    "Loss",
    "NumericalError",
    "OneHot",
    "PiecewiseLoss",
    "Problem",
    "SparseUniform",
    "SuperlossError",
    "expected_loss",
    "piecewise_loss",
    "presets",
    "sym",
    "syms",
]
