"""superloss.analytic: exact expected losses of small ReLU circuits, as SymPy closed forms."""

from . import circuits
from .circuit import Circuit
from .errors import SuperlossError
from .laws import OneHot, SparseUniform
from .symbols import sym, syms

__all__ = ["Circuit", "OneHot", "SparseUniform", "SuperlossError", "circuits", "sym", "syms"]
from .loss import Loss, expected_loss  # noqa: E402

__all__ += ["Loss", "expected_loss"]
from .piecewise import PiecewiseLoss, piecewise_loss  # noqa: E402

__all__ += ["PiecewiseLoss", "piecewise_loss"]
