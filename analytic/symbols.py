"""Named symbols, made one way everywhere.

Every symbol superloss creates is real, so that a symbol written in a spec file
and the same name used by a preset are the same SymPy object. Names that read
as constants (``pi``, ``E``, ``I``, ``oo``, ``zoo``, ``nan``, ``inf``) are refused:
SymPy prints such a symbol exactly like the constant.

>>> sym("w_a") == sym("w_a")
True
>>> sym("pi")
Traceback (most recent call last):
...
analytic.errors.SuperlossError: 'pi' reads as a constant and cannot name a symbol (pi, E, I, oo, zoo, nan, inf)
"""

from __future__ import annotations

import sympy as sp

from .errors import SuperlossError

#: Names that read as constants, in SymPy's printing or in a paper's.
CONSTANTS = ("pi", "E", "I", "oo", "zoo", "nan", "inf")


def check_name(name: str) -> None:
    """Refuse a symbol name that reads as a constant."""
    if name in CONSTANTS:
        raise SuperlossError(f"{name!r} reads as a constant and cannot name a symbol ({', '.join(CONSTANTS)})")


def sym(name: str) -> sp.Symbol:
    """The real SymPy symbol called ``name``."""
    check_name(name)
    return sp.Symbol(name, real=True)


def syms(names: str) -> tuple[sp.Symbol, ...]:
    """Several symbols from a space-separated string: ``syms("w_a w_b")``."""
    return tuple(sym(n) for n in names.split())
