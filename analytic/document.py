"""A whole LaTeX document for a loss: the setting in words, then the formula.

:func:`standalone` writes an ``article`` that compiles with ``pdflatex``
(texlive-latex-base packages only) and whose every line fits the page.

>>> from analytic import Circuit, SparseUniform, expected_loss, sym
>>> doc = standalone(expected_loss(Circuit([[1]], [[1]]), SparseUniform(sym("S"))), title="Tiny")
>>> doc.startswith(r"\\documentclass"), doc.rstrip().endswith(r"\\end{document}")
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from . import lines
from .latex import align, default_split
from .lines import LINE_WIDTH
from .loss import Loss
from .names import escape, feature_name
from .names import symbol_names as latex_names

__all__ = ["PREAMBLE", "standalone", "standalone_optimum", "standalone_piecewise"]

#: The preamble of :func:`standalone`: texlive-latex-base packages only.
PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=1.5cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.6ex}
"""

#: Settings of a circuit, in words.
ACTIVATION = {"relu": r"\mathrm{ReLU}", "linear": ""}
TARGET = {"abs": r"\lvert x_i \rvert", "identity": "x_i"}


def _matrix(rows: list[list[sp.Expr]], shown: dict) -> tuple[str, float] | None:
    """A ``pmatrix`` and its estimated width, or ``None`` if it would not fit."""
    cells = [[sp.latex(e, symbol_names=shown) for e in row] for row in rows]
    if not cells or len(cells[0]) > 10:  # amsmath's matrices take at most 10 columns
        return None
    size = sum(max(lines.width(row[j]) for row in cells) + 2 for j in range(len(cells[0]))) + 2
    body = r" \\ ".join(" & ".join(row) for row in cells)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}", size


def _weights(loss: Loss, shown: dict, width: float) -> list[str]:
    """Displays of the weights ``W_1, W_2, b_1, b_2``, several to a line where they fit."""
    c = loss.circuit
    displays: list[tuple[str, float]] = []
    zero, hidden = [], []
    for name, matrix, vector in (("W_1", c.W1, False), ("W_2", c.W2, False), ("b_1", c.b1, True), ("b_2", c.b2, True)):
        if all(e == 0 for e in matrix):
            zero.append(name)
            continue
        found = _matrix([list(matrix)] if vector else matrix.tolist(), shown)
        if found is None or found[1] + 4 > width:
            hidden.append(name)
            continue
        text, w = found
        displays.append((f"{name} = {text}" + (r"^{\top}" if vector else ""), w + 4))
    rows, used = [], width + 1.0
    for text, w in displays:
        if used + w > width:
            rows.append([])
            used = 0.0
        rows[-1].append(text)
        used += w + 3
    out = [r"\[ " + r", \qquad ".join(row) + r" \]" for row in rows]
    notes = [f"${name} = 0$" for name in zero] + [f"${name}$ is too large to show" for name in hidden]
    if notes:
        out.append(", ".join(notes) + ".")
    return out


def _setting(loss: Loss, shown: dict, width: float, closing: str | None = None, bounding: bool = False) -> list[str]:
    """The circuit, the law, the importances and the regime (or ``closing``), in words."""
    c = loss.circuit
    hidden = rf"{ACTIVATION[c.hidden]}(W_1 x + b_1)" if ACTIVATION[c.hidden] else "W_1 x + b_1"
    output = rf"{ACTIVATION[c.output]}(W_2 h + b_2)" if ACTIVATION[c.output] else "W_2 h + b_2"
    features = ", ".join(f"${feature_name(f)}$" for f in c.features)
    importance = loss.importance
    out = [
        f"The circuit has {c.n} features ({features}) and {c.m} hidden neurons: "
        f"$h = {hidden}$ and $y' = {output}$, with target $y_i = {TARGET[c.target]}$. Its weights are",
        *_weights(loss, shown, width),
        loss.law.words(c.features, shown),
        "The importances are "
        + ", ".join(
            f"${sp.latex(v, symbol_names=shown)}$ (${feature_name(f)}$)"
            for f, v in zip(c.features, importance, strict=True)
        )
        + r", and the loss is $L = \mathbb{E}\bigl[\sum_i I_i (y_i - y'_i)^2\bigr]$.",
    ]
    if closing is not None:
        out.append(closing)
    elif loss.regime is not None:
        point = ", ".join(f"${shown.get(s, sp.latex(s))} = {sp.latex(v)}$" for s, v in loss.at.items())
        out.append(
            "The weights are symbols: the formula below is that of the regime containing the point "
            f"{point}, and it is exact in that regime"
            + (
                ", whose bounding conditions are listed with it."
                if bounding
                else ": wherever the conditions listed with it hold."
            )
        )
    else:
        out.append("The weights are numbers: the formula holds for every sparsity and importance.")
    return out


_SPLIT_WORDS = {
    "p": "Grouped by powers of the density $p = 1 - S$.",
    "pattern": "One group per pattern of active features (among those an output sees), each bracket "
    "weighted by that pattern's probability; zero terms are left out.",
    "output": "Collected as $L = \\sum_i I_i \\sum_k p^k (1 - p)^{r_i - k} C_{ik}$, with $p = 1 - S$ and $r_i$ the "
    "number of features output $i$ sees: each bracket is a $C_{ik}$, the expected squared error of output $i$ "
    "summed over the patterns of $k$ active features, factored.",
}


def standalone(
    loss: Loss,
    split: str | None = None,
    names: Mapping | None = None,
    title: str | None = None,
    only: tuple | None = None,
) -> str:
    """A complete document (``article``, ``amsmath``, ``amssymb``, ``geometry``)
    with the setting in words and the loss of :func:`align`; it compiles with
    ``pdflatex`` and every line fits the page.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> doc = standalone(expected_loss(Circuit([[1]], [[1]]), SparseUniform(sym("S"))), title="Tiny")
    >>> doc.startswith(r"\\documentclass"), doc.rstrip().endswith(r"\\end{document}")
    (True, True)
    """
    block = align(loss, split, names, LINE_WIDTH, only=only)  # checks loss, split and names first
    split = split or default_split(loss)
    names = loss.names if names is None else names
    shown = latex_names(loss.expr.free_symbols | set(loss.circuit.symbols) | set(loss.at), names)
    words = _SPLIT_WORDS[split] if split == "pattern" or loss.law.density(loss.circuit.n) is not None else ""
    return _document(
        title or "Expected loss", [*_setting(loss, shown, LINE_WIDTH, bounding=only is not None), words, block]
    )


def standalone_piecewise(pw, split: str | None = None, names: Mapping | None = None, title: str | None = None) -> str:
    """A complete document for a ``PiecewiseLoss``: the setting in words, the box, then
    :func:`analytic.latex.piecewise_align`; it compiles as :func:`standalone` does."""
    from .latex import piecewise_align

    block = piecewise_align(pw, split, names, LINE_WIDTH)
    first = pw.pieces[0]
    names = first.names if names is None else names
    shown = latex_names(first.expr.free_symbols | set(pw.box), names)
    box = ", ".join(rf"${shown[s]} \in [{sp.latex(lo)}, {sp.latex(hi)}]$" for s, (lo, hi) in pw.box.items())
    closing = (
        f"The loss is followed over {box}, every other weight fixed: it is one formula in each regime "
        f"({len(pw.pieces)} regimes, {pw.method})."
    )
    return _document(title or "Expected loss", [*_setting(first, shown, LINE_WIDTH, closing), block])


def standalone_optimum(
    regime: Loss, block: str, point: Mapping, names: Mapping | None = None, title: str | None = None
) -> str:
    """A complete document for an optimum: the setting in words (``regime`` is the optimum's
    regime, its parameters symbols), where the values ``point`` were fixed, then ``block``
    (:func:`analytic.latex.optimum_align`); it compiles as :func:`standalone` does."""
    names = regime.names if names is None else names
    shown = latex_names(regime.expr.free_symbols | set(regime.circuit.symbols) | set(point), names)
    fixed = ", ".join(f"${shown.get(s, sp.latex(s))} = {sp.latex(v)}$" for s, v in point.items())
    closing = (
        "The optimum below was found by a seeded search on the exact loss"
        + (f", with {fixed}" if fixed else "")
        + "; the formulas are those of its regime."
    )
    return _document(title or "Optimum", [*_setting(regime, shown, LINE_WIDTH, closing), block])


def _document(title: str, paragraphs: list[str]) -> str:
    """The article: the preamble, the title as a section, the nonempty paragraphs."""
    body = "\n\n".join([rf"\section*{{{escape(title)}}}", *(p for p in paragraphs if p)])
    return PREAMBLE + "\\begin{document}\n\n" + body + "\n\n\\end{document}\n"
