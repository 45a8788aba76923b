"""LaTeX for losses: symbol names as a paper writes them, and long formulas
broken into lines that fit the page.

Names follow a small rule over data: a Greek name becomes its letter, what
follows an underscore (or trailing digits) becomes a subscript, and the number
of a motif instance becomes a second index (``w_a1`` is ``w_{a,1}``). A caller
renames any symbol with ``names={"w_a": r"\\omega_{h}"}``; a spec file's
``[latex]`` table is such a mapping (:attr:`analytic.spec.Spec.names`).

A loss is split into pieces (:func:`split_terms`): by powers of the density
``p = 1 - S``, or by the pattern of active features. Each piece is printed
from the same SymPy objects whose sum is the loss, and long sums are broken
at their ``+`` and ``-`` so that no line is wider than :data:`LINE_WIDTH`.

>>> from analytic import sym
>>> inline(sym("w_a1") ** 2 + sym("kappa"))
'\\\\kappa + w_{a,1}^{2}'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import NamedTuple

import sympy as sp

from .errors import SuperlossError
from .laws import OneHot, SparseUniform
from .loss import Loss
from .stationary import Stationary

__all__ = ["GREEK", "LINE_WIDTH", "SPLITS", "align", "inline", "optimum_table", "split_terms", "standalone",
           "stationary_align", "symbol_name"]

#: Names written as Greek letters (as a name, a subscript or an index).
GREEK = {name: "\\" + name for name in (
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda",
    "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega")}
GREEK["lamda"] = r"\lambda"  # SymPy's spelling, since lambda is a Python keyword

#: The widest line, in the estimated glyphs of :func:`_width`. A glyph is at
#: most 4.75 pt at 10 pt, so 95 fill the 512 pt of :data:`PREAMBLE`'s page
#: with room to spare; a two-column paper (about 240 pt) wants 45.
LINE_WIDTH = 95

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

_NAME = re.compile(r"(?P<base>[A-Za-z]+?)(?P<digits>\d*)(?P<subs>(?:_[A-Za-z0-9]+)*)")
_PART = re.compile(r"(?P<letters>[A-Za-z]+)(?P<digits>\d+)")
#: Characters that are special in LaTeX text, and how to write them.
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


# -- names ------------------------------------------------------------------------------------------


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


def _check_names(names: Mapping | None) -> dict[str, str]:
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


def _names(symbols, names: Mapping | None) -> dict[sp.Symbol, str]:
    renames = _check_names(names)
    return {s: renames.get(s.name, symbol_name(s.name)) for s in symbols}


def inline(expr, names: Mapping | None = None) -> str:
    """One expression (or relation) as LaTeX, with paper names and ``names`` renames.

    >>> from analytic import sym
    >>> inline(sym("delta") * sym("w_a") - 1, names={"w_a": r"\\omega_{h}"})
    '\\\\delta \\\\omega_{h} - 1'
    """
    expr = sp.sympify(expr)
    return sp.latex(expr, symbol_names=_names(expr.free_symbols, names))


def _text(text: str) -> str:
    """``text`` safe in LaTeX text mode."""
    return "".join(_TEXT_ESCAPES.get(c, c) for c in str(text))


def _feature(name: str) -> str:
    """A feature's name in math mode: ``a`` or ``\\mathrm{host}``."""
    return _word(name) if re.fullmatch(r"[A-Za-z]+|\d+", name) else rf"\text{{{_text(name)}}}"


# -- pieces of a loss -----------------------------------------------------------------------------


class _Group(NamedTuple):
    """One piece: ``sum(factor * Add(*summands) for factor, summands in parts)``."""

    label: str
    parts: list[tuple[sp.Expr, list[sp.Expr]]]
    note: str = ""

    @property
    def expr(self) -> sp.Expr:
        return sp.Add(*[sp.Mul(f, sp.Add(*s), evaluate=False) for f, s in self.parts])


def _summands(values: list[sp.Expr]) -> list[sp.Expr]:
    total = sp.Add(*values)
    return [] if total == 0 else list(total.as_ordered_terms())


def _sparsity(loss: Loss) -> sp.Symbol | None:
    """The one sparsity symbol every feature shares, if there is one."""
    if isinstance(loss.law, SparseUniform):
        values = set(loss.law.sparsity_of(loss.circuit.n))
        if len(values) == 1 and isinstance(next(iter(values)), sp.Symbol):
            return next(iter(values))
    return None


def _density_name(loss: Loss, names: Mapping | None) -> str:
    # p = 1 - S, unless the loss has a symbol that already reads p.
    taken = set(_names(loss.expr.free_symbols, names).values())
    return "p" if "p" not in taken else r"\tilde{p}"


def _by_power(loss: Loss, names: Mapping | None) -> list[_Group]:
    """Groups of ``(1 - S)**k * C_k``, ascending in ``k``."""
    S, p = _sparsity(loss), sp.Dummy("p")
    by_power: dict[int, list] = {}
    for key, term in loss.terms.items():
        probability = loss.probability[key]
        if term == 0:
            continue
        if S is None:
            if probability.free_symbols:
                raise SuperlossError("split='p' needs one sparsity symbol shared by every feature "
                                     f"(this law is {loss.law!r}); use split='pattern'")
            by_power.setdefault(0, []).append(probability * term)
            continue
        for (power,), coeff in sp.Poly(probability.subs(S, 1 - p), p).terms():
            by_power.setdefault(power, []).append(coeff * term)
    name = _density_name(loss, names)
    groups = []
    for power in sorted(by_power):
        summands = _summands(by_power[power])
        if summands:
            label = "1" if power == 0 else name if power == 1 else f"{name}^{{{power}}}"
            factor = sp.Integer(1) if power == 0 else (1 - S) ** power
            groups.append(_Group(label, [(factor, summands)]))
    return groups


def _by_pattern(loss: Loss, names: Mapping | None) -> list[_Group]:
    """One group per pattern ``A`` of active features; within it one part per probability."""
    patterns: dict[frozenset, dict[sp.Expr, list]] = {}
    for (i, A), term in loss.terms.items():
        if term != 0:
            patterns.setdefault(A, {}).setdefault(loss.probability[(i, A)], []).append(term)
    features = loss.circuit.features
    groups = []
    for A in sorted(patterns, key=lambda A: (len(A), sorted(A))):
        parts = [(prob, _summands(terms)) for prob, terms in patterns[A].items()]
        parts = [(prob, summands) for prob, summands in parts if summands]
        if parts:
            active = ", ".join(_feature(features[k]) for k in sorted(A))
            note = rf"\text{{(${active}$ active)}}" if A else r"\text{(none active)}"
            groups.append(_Group(rf"\{{{active}\}}" if A else r"\emptyset", parts, note))
    return groups


#: The ways to split a loss into lines, by name.
SPLITS = {"p": _by_power, "pattern": _by_pattern}


def _groups(loss: Loss, split: str, names: Mapping | None) -> list[_Group]:
    if not isinstance(loss, Loss):
        raise SuperlossError(f"expected an analytic.Loss, got {type(loss).__name__}")
    if split not in SPLITS:
        raise SuperlossError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    return SPLITS[split](loss, names)


def split_terms(loss: Loss, split: str = "p") -> list[tuple[str, sp.Expr]]:
    """The pieces :func:`align` prints, as ``(label, expr)``; their sum is ``loss.expr``.

    ``split="p"``: one piece per power of ``p = 1 - S`` (label ``p^{k}``), for a
    law whose features share one sparsity symbol ``S`` (a numeric sparsity
    gives one piece); ``split="pattern"``: one piece per pattern ``A`` of active
    features among those an output sees (label ``\\{a, b\\}``). Zero terms are left out.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> loss = expected_loss(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")), at={sym("w"): 1})
    >>> [label for label, _ in split_terms(loss)], sp.simplify(sum(e for _, e in split_terms(loss)) - loss.expr)
    (['p'], 0)
    """
    return [(group.label, group.expr) for group in _groups(loss, split, None)]


# -- lines ---------------------------------------------------------------------------------------


class _Atom(NamedTuple):
    """A piece of a row that is never broken. ``glue``: keep it on the row of the
    atom before (unless the two fit on no row); ``newline``: start a new row."""

    text: str
    glue: bool = False
    newline: bool = False


def _width(text: str) -> float:
    """Estimated width in glyphs: a command is one glyph, markup none, and
    binary operators count their spacing. Fractions count numerator and
    denominator side by side, so the estimate is on the wide side."""
    text = re.sub(r"\\(?:left|right|[bB]igg?[lr]|frac|mathrm|text|displaystyle)\b", "", text)
    text = re.sub(r"\\quad\b", "xx", text)
    text = re.sub(r"\\qquad\b", "xxxx", text)
    text = re.sub(r"\\[A-Za-z]+|\\.", "x", text)
    operators = len(re.findall(r"[-+=<>]", text))
    return len(re.sub(r"[\s{}^_]", "", text)) + 1.2 * operators


def _signed(text: str, first: bool) -> str:
    """``text`` as a summand: ``+ x`` or ``- x``, or as it is when first."""
    if first:
        return text
    return f"- {text[1:].lstrip()}" if text.startswith("-") else f"+ {text}"


def _unsigned(expr: sp.Expr) -> tuple[bool, sp.Expr]:
    """Whether ``expr`` reads with a leading minus sign, and ``expr`` without it."""
    return (True, -expr) if expr.could_extract_minus_sign() else (False, expr)


class _Printer:
    """Turns summands into atoms and atoms into ``align`` rows of at most ``width`` glyphs."""

    def __init__(self, symbol_names: dict, width: float):
        self.symbol_names = symbol_names
        self.width = width

    def latex(self, expr) -> str:
        return sp.latex(expr, symbol_names=self.symbol_names)

    def term(self, term: sp.Expr, first: bool) -> list[_Atom]:
        """A summand; a long one ``c N / D`` becomes ``c / D`` times its sum ``N``, broken."""
        text = self.latex(term)
        if _width(text) <= self.width / 2:
            return [_Atom(_signed(text, first))]
        numerator, denominator = sp.fraction(term)
        factors = sp.Mul.make_args(numerator)
        sums = [f for f in factors if f.is_Add]
        if not sums:  # nothing to break: it stays one piece
            return [_Atom(_signed(text, first))]
        longest = max(sums, key=lambda f: len(f.args))
        rest = sp.Mul(*[f for f in factors if f is not longest])
        # SymPy distributes a minus sign over a sum: take it out again, and out of c and D.
        signs = [_unsigned(x) for x in (rest, sp.factor(denominator), longest)]
        negative = sum(s for s, _ in signs) % 2 == 1
        (_, rest), (_, denominator), (_, longest) = signs
        head = self.latex(rest) if rest != 1 else ""
        if denominator != 1:
            head = rf"\frac{{{head or '1'}}}{{{self.latex(denominator)}}}"
        head = ("- " if negative else "" if first else "+ ") + head
        inner = self.terms(longest.as_ordered_terms())
        return [_Atom(f"{head} \\bigl("), inner[0]._replace(glue=True), *inner[1:], _Atom(r"\bigr)", glue=True)]

    def terms(self, summands: list[sp.Expr]) -> list[_Atom]:
        return [atom for k, t in enumerate(summands) for atom in self.term(t, k == 0)]

    def group(self, group: _Group, first: bool, factors: Mapping | None = None) -> list[_Atom]:
        """A group on a new line: each part ``factor \\Bigl[ ... \\Bigr]``, then its note;
        ``factors`` says how to write a factor (``p^{2}`` for ``(1 - S)**2``)."""
        atoms: list[_Atom] = []
        for factor, summands in group.parts:
            inner = self.terms(summands)
            opening = first and not atoms
            if factor == 1:
                if not opening:
                    inner[0] = _Atom(_signed(inner[0].text, False))
                atoms += inner
                continue
            shown = (factors or {}).get(factor) or self.latex(factor)
            head = shown if opening else f"+ {shown}"
            # An opening bracket stays on the line of what follows it, and a closing one too.
            atoms += [_Atom(f"{head} \\Bigl["), inner[0]._replace(glue=True), *inner[1:], _Atom(r"\Bigr]", glue=True)]
        atoms[0] = atoms[0]._replace(newline=True)
        if group.note:
            atoms.append(_Atom(rf"\quad {group.note}", glue=True))
        return atoms

    def rows(self, atoms: list[_Atom], head: str, indent: str = r"&\qquad ") -> list[str]:
        """Atoms packed greedily into rows: the first starts with ``head``, a
        new group at the column (``&``), a continuation ``indent``-ed."""
        merged: list[_Atom] = []
        for atom in atoms:
            joined = f"{merged[-1].text} {atom.text}" if merged else ""
            # Glued atoms stay together, unless together they could fit on no line.
            if atom.glue and merged and _width(joined) + _width(head) + _width(indent) <= self.width:
                merged[-1] = merged[-1]._replace(text=joined)
            else:
                merged.append(atom)
        rows: list[tuple[str, list[str]]] = []
        # Every row starts after the left column, which is as wide as the head's left part.
        room, used = self.width - _width(head.partition("&")[0]), 0.0
        for atom in merged:
            w = _width(atom.text)
            if rows and not atom.newline and used + w <= room:
                rows[-1][1].append(atom.text)
                used += w
                continue
            prefix = head if not rows else "&" if atom.newline else indent
            rows.append((prefix, [atom.text]))
            used = _width(prefix.partition("&")[2]) + w
        return [prefix + " ".join(texts) for prefix, texts in rows]

    def conditions(self, conditions: tuple) -> list[str]:
        """One row per condition, a long one broken at its ``+`` and ``-``."""
        rows = []
        for k, c in enumerate(conditions):
            end = "," if k < len(conditions) - 1 else "."
            text = self.latex(c)
            if _width(text) <= self.width or c.func not in RELATIONS:
                rows.append(rf"&\quad {text}{end}")
                continue
            relation = _Atom(f"{RELATIONS[c.func]} {self.latex(c.rhs)}{end}", glue=True)
            rows += self.rows([*self.terms(c.lhs.as_ordered_terms()), relation], r"&\quad ",
                              indent=r"&\qquad\quad ")
        return rows


#: How each relation of a regime condition is written.
RELATIONS = {sp.StrictGreaterThan: ">", sp.StrictLessThan: "<", sp.GreaterThan: r"\geq", sp.LessThan: r"\leq"}


def align(loss: Loss, split: str = "p", names: Mapping | None = None, width: float = LINE_WIDTH) -> str:
    """The loss as an ``align*`` block, one piece of :func:`split_terms` per
    line group, long sums broken to fit; then the regime's conditions, one
    per line. ``width`` is the widest line in estimated glyphs (:data:`LINE_WIDTH`).
    Needs ``amsmath`` and, if it is long, ``\\allowdisplaybreaks``.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> loss = expected_loss(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")), at={sym("w"): 1})
    >>> print(align(loss))
    \\begin{align*}
    L &= p \\Bigl[ \\frac{w^{2}}{6} - \\frac{w}{3} + \\frac{1}{3} \\Bigr] \\\\
    \\intertext{where $p = 1 - S$; valid where}
    &\\quad w > 0.
    \\end{align*}
    """
    groups = _groups(loss, split, names)
    symbol_names = _names(loss.expr.free_symbols, names)
    printer = _Printer(symbol_names, width)
    factors = {}
    if split == "p" and _sparsity(loss) is not None:
        factors = {g.parts[0][0]: g.label for g in groups}
    rows = []
    for k, group in enumerate(groups):
        rows += printer.rows(printer.group(group, k == 0, factors), "L &= " if k == 0 else "&")
    if not rows:
        rows = ["L &= 0"]
    words = []
    if factors:
        S = _sparsity(loss)
        words.append(f"where ${_density_name(loss, names)} = 1 - {symbol_names.get(S, sp.latex(S))}$")
    if loss.on_boundary:
        words.append("the point lies on a regime boundary, and this is an adjacent regime's formula")
    conditions = printer.conditions(loss.conditions)
    if conditions:
        words.append("valid where")
    body = " \\\\\n".join(rows)
    if words:
        body += " \\\\\n\\intertext{" + "; ".join(words) + ("" if conditions else ".") + "}"
        if conditions:
            body += "\n" + " \\\\\n".join(conditions)
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


# -- a whole document ---------------------------------------------------------------------------


def _matrix(rows: list[list[sp.Expr]], symbol_names: dict) -> tuple[str, float] | None:
    """A ``pmatrix`` and its estimated width, or ``None`` if it would not fit."""
    cells = [[sp.latex(e, symbol_names=symbol_names) for e in row] for row in rows]
    if not cells or len(cells[0]) > 10:  # amsmath's matrices take at most 10 columns
        return None
    width = sum(max(_width(row[j]) for row in cells) + 2 for j in range(len(cells[0]))) + 2
    body = r" \\ ".join(" & ".join(row) for row in cells)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}", width


def _weights(loss: Loss, symbol_names: dict, width: float) -> list[str]:
    """Displays of the weights ``W_1, W_2, b_1, b_2``, several to a line where they fit."""
    c = loss.circuit
    shown: list[tuple[str, float]] = []
    zero, hidden = [], []
    for name, matrix, vector in (("W_1", c.W1, False), ("W_2", c.W2, False), ("b_1", c.b1, True),
                                 ("b_2", c.b2, True)):
        if all(e == 0 for e in matrix):
            zero.append(name)
            continue
        found = _matrix([list(matrix)] if vector else matrix.tolist(), symbol_names)
        if found is None or found[1] + 4 > width:
            hidden.append(name)
            continue
        text, w = found
        shown.append((f"{name} = {text}" + (r"^{\top}" if vector else ""), w + 4))
    lines, used = [], width + 1.0
    for text, w in shown:
        if used + w > width:
            lines.append([])
            used = 0.0
        lines[-1].append(text)
        used += w + 3
    out = [r"\[ " + r", \qquad ".join(line) + r" \]" for line in lines]
    notes = [f"${name} = 0$" for name in zero] + [f"${name}$ is too large to show" for name in hidden]
    if notes:
        out.append(", ".join(notes) + ".")
    return out


def _law(loss: Loss, symbol_names: dict) -> str:
    law = loss.law
    interval = f"$[{sp.latex(law.low)}, {sp.latex(law.high)}]$"
    if isinstance(law, OneHot):
        return f"Exactly one feature, chosen uniformly, is active; its value is uniform on {interval}."
    S = law.sparsity_of(loss.circuit.n)
    if len(set(S)) == 1:
        which = f"probability ${sp.latex(S[0], symbol_names=symbol_names)}$"
    else:
        which = "probability " + ", ".join(f"${sp.latex(s, symbol_names=symbol_names)}$ (feature ${_feature(f)}$)"
                                           for f, s in zip(loss.circuit.features, S))
    return f"Each feature is $0$ with {which}, and otherwise uniform on {interval}, independently."


def _setting(loss: Loss, symbol_names: dict, width: float) -> list[str]:
    """The circuit, the law, the importances and the regime, in words."""
    c = loss.circuit
    hidden = rf"{ACTIVATION[c.hidden]}(W_1 x + b_1)" if ACTIVATION[c.hidden] else "W_1 x + b_1"
    output = rf"{ACTIVATION[c.output]}(W_2 h + b_2)" if ACTIVATION[c.output] else "W_2 h + b_2"
    features = ", ".join(f"${_feature(f)}$" for f in c.features)
    importance = loss.importance
    out = [f"The circuit has {c.n} features ({features}) and {c.m} hidden neurons: "
           f"$h = {hidden}$ and $y' = {output}$, with target $y_i = {TARGET[c.target]}$. Its weights are",
           *_weights(loss, symbol_names, width),
           _law(loss, symbol_names),
           "The importances are " + ", ".join(f"${sp.latex(v, symbol_names=symbol_names)}$ (${_feature(f)}$)"
                                              for f, v in zip(c.features, importance))
           + r", and the loss is $L = \mathbb{E}\bigl[\sum_i I_i (y_i - y'_i)^2\bigr]$."]
    if loss.regime is not None:
        point = ", ".join(f"${symbol_names.get(s, sp.latex(s))} = {sp.latex(v)}$" for s, v in loss.at.items())
        out.append("The weights are symbols: the formula below is that of the regime containing the point "
                   f"{point}, and it is exact wherever the conditions listed with it hold.")
    else:
        out.append("The weights are numbers: the formula holds for every sparsity and importance.")
    return out


_SPLIT_WORDS = {
    "p": "Grouped by powers of the density $p = 1 - S$.",
    "pattern": "One group per pattern of active features (among those an output sees), each bracket "
               "weighted by that pattern's probability; zero terms are left out.",
}


def standalone(loss: Loss, split: str = "p", names: Mapping | None = None, title: str | None = None) -> str:
    """A complete document (``article``, ``amsmath``, ``amssymb``, ``geometry``)
    with the setting in words and the loss of :func:`align`; it compiles with
    ``pdflatex`` and every line fits the page.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> doc = standalone(expected_loss(Circuit([[1]], [[1]]), SparseUniform(sym("S"))), title="Tiny")
    >>> doc.startswith(r"\\documentclass"), doc.rstrip().endswith(r"\\end{document}")
    (True, True)
    """
    block = align(loss, split, names, LINE_WIDTH)  # checks loss, split and names first
    symbol_names = _names(loss.expr.free_symbols | set(loss.circuit.symbols) | set(loss.at), names)
    words = _SPLIT_WORDS[split] if split == "pattern" or _sparsity(loss) is not None else ""
    paragraphs = [rf"\section*{{{_text(title or 'Expected loss')}}}", *_setting(loss, symbol_names, LINE_WIDTH),
                  words, block]
    return PREAMBLE + "\\begin{document}\n\n" + "\n\n".join(p for p in paragraphs if p) + "\n\n\\end{document}\n"


# -- optima and stationary conditions -----------------------------------------------------------------


def _number(x) -> str:
    """A float as ``%.6g``, with the exponent written as a power of ten."""
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    mantissa, _, exponent = f"{x:.6g}".partition("e")
    return mantissa + (rf" \times 10^{{{int(exponent)}}}" if exponent else "")


def optimum_table(params: Mapping, loss: float, names: Mapping | None = None) -> str:
    """A ``tabular`` of parameter = value (``%.6g``) and the loss.

    >>> from analytic import sym
    >>> print(optimum_table({sym("kappa"): 20.0, "w_a": 1.5e-7}, 0.0053985))
    \\begin{tabular}{lr}
    \\hline
    parameter & value \\\\
    \\hline
    $\\kappa$ & $20$ \\\\
    $w_{a}$ & $1.5 \\times 10^{-7}$ \\\\
    \\hline
    $L$ & $0.0053985$ \\\\
    \\hline
    \\end{tabular}
    """
    symbols = [k if isinstance(k, sp.Symbol) else sp.Symbol(str(k)) for k in params]
    shown = _names(symbols, names)
    rows = [f"${shown[s]}$ & ${_number(v)}$ \\\\" for s, v in zip(symbols, params.values())]
    return "\n".join([r"\begin{tabular}{lr}", r"\hline", r"parameter & value \\", r"\hline", *rows, r"\hline",
                      f"$L$ & ${_number(loss)}$ \\\\", r"\hline", r"\end{tabular}"])


def stationary_align(st: Stationary, names: Mapping | None = None, width: float = LINE_WIDTH) -> str:
    """:meth:`Stationary.latex` as an ``align*`` block: the condition collected
    by powers of the parameter, broken to fit, then each explicit solution.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> from analytic.stationary import stationary
    >>> w = sym("w")
    >>> print(stationary_align(stationary(expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 2}), w)))
    \\begin{align*}
    \\frac{\\partial L}{\\partial w} = 0 \\iff 0 &= w - 1 \\\\
    w &= 1
    \\end{align*}
    """
    q = st.param
    symbol_names = _names(st.condition.free_symbols | {q}, names)
    shown = symbol_names[q]
    parts = []
    for (power,), coeff in sorted(sp.Poly(st.condition, q).terms(), reverse=True):
        summands = _summands([sp.expand(coeff)])
        # A coefficient of several terms is bracketed; a single term is written with its power.
        parts.append((q ** power, summands) if len(summands) > 1 else (sp.Integer(1), [coeff * q ** power]))
    head = rf"\frac{{\partial L}}{{\partial {shown}}} = 0 \iff 0 &= "
    printer = _Printer(symbol_names, width)
    rows = printer.rows(printer.group(_Group("", parts), True), head)
    solutions = [printer.rows(printer.terms(s.as_ordered_terms()), f"{shown} &= ") for s in st.solutions]
    # A root under a long square root cannot be broken: then the condition has to do.
    if any(_width(row) > width for found in solutions for row in found):
        rows.append(r"\intertext{its roots by radicals are too long to print here (\texttt{Stationary.solutions}).}")
    else:
        rows += [row for found in solutions for row in found]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"
