"""Exact optima of free models: ``ReLU(W2 ReLU(W1 x) + b)`` with every entry free.

- :mod:`~numeric.free.model`: :class:`FreeModel`, the problem of its entries (or of a pattern of them);
- :mod:`~numeric.free.starts`: where the searches start (structured, trained, random);
- :mod:`~numeric.free.search`: capped L-BFGS-B searches on the faster exact engine, in lockstep;
- :mod:`~numeric.free.certificate`: what the float engines certify of the best point;
- :mod:`~numeric.free.optimum`: :func:`free_optimum`, the whole search and its result.
"""

from .model import FreeModel
from .optimum import FreeOptimum, free_optimum

__all__ = ["FreeModel", "FreeOptimum", "free_optimum"]
