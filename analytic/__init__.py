"""superloss.analytic: exact expected losses of small ReLU circuits, as SymPy closed forms."""

from . import presets
from .circuit import Circuit
from .errors import SuperlossError
from .laws import OneHot, SparseUniform
from .loss import Loss, expected_loss
from .piecewise import PiecewiseLoss, piecewise_loss
from .symbols import sym, syms

__all__ = ["Circuit", "Loss", "OneHot", "PiecewiseLoss", "SparseUniform", "SuperlossError", "presets",
           "expected_loss", "piecewise_loss", "sym", "syms"]
