"""Long formulas broken into lines that fit a page.

A formula arrives as groups of summands (:class:`Group`); :class:`Printer`
turns each summand into atoms that are never broken and packs them greedily
into ``align`` rows no wider than :data:`LINE_WIDTH` estimated glyphs
(:func:`width`), breaking long sums at their ``+`` and ``-``.

>>> width(r"\\frac{w_{a}}{2} + 1")
6.2
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

import sympy as sp

__all__ = ["LINE_WIDTH", "RELATIONS", "Atom", "Group", "Printer", "summands", "width"]

#: The widest line, in the estimated glyphs of :func:`width`. A glyph is at
#: most 4.75 pt at 10 pt, so 95 fill the 512 pt of :data:`PREAMBLE`'s page
#: with room to spare; a two-column paper (about 240 pt) wants 45.
LINE_WIDTH = 95


class Group(NamedTuple):
    """One piece: ``sum(factor * Add(*summands) for factor, summands in parts)``."""

    label: str
    parts: list[tuple[sp.Expr, list[sp.Expr]]]
    note: str = ""
    #: How to write each part's factor, if not as SymPy would.
    shown: tuple[str, ...] = ()
    #: The output a group of the collected form belongs to.
    output: int | None = None

    @property
    def expr(self) -> sp.Expr:
        return sp.Add(*[sp.Mul(f, sp.Add(*s), evaluate=False) for f, s in self.parts])


def summands(values: list[sp.Expr]) -> list[sp.Expr]:
    """The terms of ``sum(values)`` in print order (none if it is zero)."""
    total = sp.Add(*values)
    return [] if total == 0 else list(total.as_ordered_terms())


class Atom(NamedTuple):
    """A piece of a row that is never broken. ``glue``: keep it on the row of the
    atom before (unless the two fit on no row); ``newline``: start a new row."""

    text: str
    glue: bool = False
    newline: bool = False


def width(text: str) -> float:
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


class Printer:
    """Turns summands into atoms and atoms into ``align`` rows of at most ``width`` glyphs."""

    def __init__(self, symbol_names: dict, width: float):
        self.symbol_names = symbol_names
        self.width = width

    def latex(self, expr) -> str:
        return sp.latex(expr, symbol_names=self.symbol_names)

    def term(self, term: sp.Expr, first: bool) -> list[Atom]:
        """A summand; a long one ``c N / D`` becomes ``c / D`` times its sum ``N``, broken."""
        text = self.latex(term)
        if width(text) <= self.width / 2:
            return [Atom(_signed(text, first))]
        numerator, denominator = sp.fraction(term)
        factors = sp.Mul.make_args(numerator)
        sums = [f for f in factors if f.is_Add]
        if not sums:  # nothing to break: it stays one piece
            return [Atom(_signed(text, first))]
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
        return [Atom(f"{head} \\bigl("), inner[0]._replace(glue=True), *inner[1:], Atom(r"\bigr)", glue=True)]

    def terms(self, summands: list[sp.Expr]) -> list[Atom]:
        return [atom for k, t in enumerate(summands) for atom in self.term(t, k == 0)]

    def group(self, group: Group, first: bool, factors: Mapping | None = None) -> list[Atom]:
        """A group on a new line: each part ``factor \\Bigl[ ... \\Bigr]``, then its note;
        ``factors`` says how to write a factor (``p^{2}`` for ``(1 - S)**2``)."""
        atoms: list[Atom] = []
        for n, (factor, summands) in enumerate(group.parts):
            inner = self.terms(summands)
            opening = first and not atoms
            if factor == 1 and not group.shown:
                if not opening:
                    inner[0] = Atom(_signed(inner[0].text, False))
                atoms += inner
                continue
            shown = group.shown[n] if group.shown else (factors or {}).get(factor) or self.latex(factor)
            head = shown if opening else f"+ {shown}"
            # An opening bracket stays on the line of what follows it, and a closing one too.
            atoms += [Atom(f"{head} \\Bigl["), inner[0]._replace(glue=True), *inner[1:], Atom(r"\Bigr]", glue=True)]
        atoms[0] = atoms[0]._replace(newline=True)
        if group.note:
            atoms.append(Atom(rf"\quad {group.note}", glue=True))
        return atoms

    def rows(self, atoms: list[Atom], head: str, indent: str = r"&\qquad ") -> list[str]:
        """Atoms packed greedily into rows: the first starts with ``head``, a
        new group at the column (``&``), a continuation ``indent``-ed."""
        merged: list[Atom] = []
        for atom in atoms:
            joined = f"{merged[-1].text} {atom.text}" if merged else ""
            # Glued atoms stay together, unless together they could fit on no line.
            if atom.glue and merged and width(joined) + width(head) + width(indent) <= self.width:
                merged[-1] = merged[-1]._replace(text=joined)
            else:
                merged.append(atom)
        rows: list[tuple[str, list[str]]] = []
        # Every row starts after the left column, which is as wide as the head's left part.
        room, used = self.width - width(head.partition("&")[0]), 0.0
        for atom in merged:
            w = width(atom.text)
            if rows and not atom.newline and used + w <= room:
                rows[-1][1].append(atom.text)
                used += w
                continue
            prefix = head if not rows else "&" if atom.newline else indent
            rows.append((prefix, [atom.text]))
            used = width(prefix.partition("&")[2]) + w
        return [prefix + " ".join(texts) for prefix, texts in rows]

    def conditions(self, conditions: tuple) -> list[str]:
        """One row per condition, a long one broken at its ``+`` and ``-``."""
        rows = []
        for k, c in enumerate(conditions):
            end = "," if k < len(conditions) - 1 else "."
            text = self.latex(c)
            if width(text) <= self.width or c.func not in RELATIONS:
                rows.append(rf"&\quad {text}{end}")
                continue
            relation = Atom(f"{RELATIONS[c.func]} {self.latex(c.rhs)}{end}", glue=True)
            rows += self.rows([*self.terms(c.lhs.as_ordered_terms()), relation], r"&\quad ", indent=r"&\qquad\quad ")
        return rows


#: How each relation of a regime condition is written.
RELATIONS = {sp.StrictGreaterThan: ">", sp.StrictLessThan: "<", sp.GreaterThan: r"\geq", sp.LessThan: r"\leq"}
