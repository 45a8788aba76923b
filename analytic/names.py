"""How a paper writes a symbol: the one naming rule of superloss.

Names follow a small rule over data: a Greek name becomes its letter, what
follows an underscore (or trailing digits) becomes a subscript, and the number
of a motif instance becomes a second index (``w_a1`` is ``w_{a,1}``). A caller
renames any symbol with ``names={"w_a": r"\\omega_{h}"}``; a spec file's
``[latex]`` table is such a mapping (:attr:`analytic.spec.Spec.names`). The
LaTeX printer (:mod:`analytic.latex`), the figures' labels and
``Loss._repr_latex_`` all name symbols here.

>>> from analytic import sym
>>> inline(sym("w_a1") ** 2 + sym("kappa"))
'\\\\kappa + w_{a,1}^{2}'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy as sp

from .errors import SuperlossError

__all__ = ["GREEK", "check_names", "escape", "feature_name", "inline", "symbol_name", "symbol_names"]

#: Names written as Greek letters (as a name, a subscript or an index).
GREEK = {
    name: "\\" + name
    for name in (
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "zeta",
        "eta",
        "theta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "rho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Upsilon",
        "Phi",
        "Psi",
        "Omega",
    )
}
GREEK["lamda"] = r"\lambda"  # SymPy's spelling, since lambda is a Python keyword

_NAME = re.compile(r"(?P<base>[A-Za-z]+?)(?P<digits>\d*)(?P<subs>(?:_[A-Za-z0-9]+)*)")
_PART = re.compile(r"(?P<letters>[A-Za-z]+)(?P<digits>\d+)")
#: Characters that are special in LaTeX text, and how to write them.
_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _word(text: str) -> str:
    """One name part: a Greek letter, one letter or digits as they are, a word upright."""
    if text in GREEK:
        return GREEK[text]
    return text if len(text) == 1 or text.isdigit() else rf"\mathrm{{{text}}}"


def symbol_name(name: str) -> str:
    """How a paper writes the symbol called ``name``.

    >>> [symbol_name(n) for n in ("w_a", "delta", "I_b", "w_a1", "kappa2", "b_2", "S")]
    ['w_{a}', '\\\\delta', 'I_{b}', 'w_{a,1}', '\\\\kappa_{2}', 'b_{2}', 'S']
    """
    match = _NAME.fullmatch(name)
    if match is None:  # not a spec-file name: let SymPy decide
        return sp.latex(sp.Symbol(name))
    parts = [match["digits"]] if match["digits"] else []
    for part in match["subs"].split("_")[1:]:
        # A subscript ending in digits is a motif instance's number: w_a1 is w_{a,1}.
        split = _PART.fullmatch(part)
        parts += [split["letters"], split["digits"]] if split else [part]
    base = _word(match["base"])
    return f"{base}_{{{','.join(map(_word, parts))}}}" if parts else base


def check_names(names: Mapping | None) -> dict[str, str]:
    """``names`` (symbol or name -> LaTeX) by name, each value checked: a nonempty string with balanced braces."""
    out = {}
    for key, value in (names or {}).items():
        key = key.name if isinstance(key, sp.Symbol) else key
        if not isinstance(key, str) or not isinstance(value, str):
            raise SuperlossError(f"names maps symbol names to LaTeX strings, got {key!r}: {value!r}")
        if not value.strip():
            raise SuperlossError(f"the LaTeX name of {key} is empty")
        depth = 0
        for char in re.sub(r"\\.", "", value):
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                break
        if depth:
            raise SuperlossError(f"the LaTeX name of {key}, {value!r}, has unbalanced braces")
        out[key] = value
    return out


def symbol_names(symbols, names: Mapping | None = None) -> dict[sp.Symbol, str]:
    """Each symbol's LaTeX name: ``names[symbol.name]`` if given, else :func:`symbol_name`."""
    renames = check_names(names)
    return {s: renames.get(s.name, symbol_name(s.name)) for s in symbols}


def inline(expr, names: Mapping | None = None) -> str:
    """One expression (or relation) as LaTeX, with paper names and ``names`` renames.

    >>> from analytic import sym
    >>> inline(sym("delta") * sym("w_a") - 1, names={"w_a": r"\\omega_{h}"})
    '\\\\delta \\\\omega_{h} - 1'
    """
    expr = sp.sympify(expr)
    return sp.latex(expr, symbol_names=symbol_names(expr.free_symbols, names))


def escape(text: str) -> str:
    """``text`` safe in LaTeX text mode."""
    return "".join(_TEXT_ESCAPES.get(c, c) for c in str(text))


def feature_name(name: str) -> str:
    """A feature's name in math mode: ``a`` or ``\\mathrm{host}``."""
    return _word(name) if re.fullmatch(r"[A-Za-z]+|\d+", name) else rf"\text{{{escape(name)}}}"
