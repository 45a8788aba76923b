"""Named symbols, made one way everywhere.

Every symbol superloss creates is real, so that a symbol written in a spec file
and the same name used by a preset are the same SymPy object.

>>> sym("w_a") == sym("w_a")
True
"""

from __future__ import annotations

import sympy as sp


def sym(name: str) -> sp.Symbol:
    """The real SymPy symbol called ``name``."""
    return sp.Symbol(name, real=True)


def syms(names: str) -> tuple[sp.Symbol, ...]:
    """Several symbols from a space-separated string: ``syms("w_a w_b")``."""
    return tuple(sym(n) for n in names.split())
