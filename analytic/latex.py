"""LaTeX for losses: a formula split into pieces a paper can print, and optima.

Symbols are named by the one rule of :mod:`analytic.names` (``w_a1`` is
``w_{a,1}``; ``names={"w_a": r"\\omega_{h}"}`` renames one, as a spec file's
``[latex]`` table does); long sums are broken to fit the page by
:mod:`analytic.lines`, and a whole document is :func:`analytic.document.standalone`.

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
from collections.abc import Mapping, Sequence

import sympy as sp

from . import lines
from .errors import SuperlossError
from .lines import LINE_WIDTH, Group, Printer
from .loss import Loss
from .names import escape, feature_name, inline, symbol_name
from .names import symbol_names as latex_names
from .stationary import Stationary

__all__ = [
    "LINE_WIDTH",
    "SPLITS",
    "align",
    "default_split",
    "inline",
    "optimum_align",
    "optimum_summary",
    "optimum_table",
    "piecewise_align",
    "piecewise_summary",
    "split_terms",
    "stationary_align",
    "stationary_summary",
    "summary",
    "symbol_name",
]


def _density_name(loss: Loss, names: Mapping | None) -> str:
    # p = 1 - S, unless the loss has a symbol that already reads p.
    taken = set(latex_names(loss.expr.free_symbols, names).values())
    return "p" if "p" not in taken else r"\tilde{p}"


def _by_power(loss: Loss, names: Mapping | None) -> list[Group]:
    """Groups of ``(1 - S)**k * C_k``, ascending in ``k``."""
    S, p = loss.law.density(loss.circuit.n), sp.Dummy("p")
    by_power: dict[int, list] = {}
    for key, term in loss.terms.items():
        probability = loss.probability[key]
        if term == 0:
            continue
        if S is None:
            if probability.free_symbols:
                raise SuperlossError(
                    "split='p' needs one sparsity symbol shared by every feature "
                    f"(this law is {loss.law!r}); use split='pattern'"
                )
            by_power.setdefault(0, []).append(probability * term)
            continue
        for (power,), coeff in sp.Poly(probability.subs(S, 1 - p), p).terms():
            by_power.setdefault(power, []).append(coeff * term)
    name = _density_name(loss, names)
    groups = []
    for power in sorted(by_power):
        summands = lines.summands(by_power[power])
        if summands:
            label = "1" if power == 0 else name if power == 1 else f"{name}^{{{power}}}"
            factor = sp.Integer(1) if power == 0 else (1 - S) ** power
            groups.append(Group(label, [(factor, summands)]))
    return groups


def _by_pattern(loss: Loss, names: Mapping | None) -> list[Group]:
    """One group per pattern ``A`` of active features; within it one part per probability."""
    patterns: dict[frozenset, dict[sp.Expr, list]] = {}
    for (i, A), term in loss.terms.items():
        if term != 0:
            patterns.setdefault(A, {}).setdefault(loss.probability[(i, A)], []).append(term)
    features = loss.circuit.features
    groups = []
    for A in sorted(patterns, key=lambda A: (len(A), sorted(A))):
        parts = [(prob, lines.summands(terms)) for prob, terms in patterns[A].items()]
        parts = [(prob, summands) for prob, summands in parts if summands]
        if parts:
            active = ", ".join(feature_name(features[k]) for k in sorted(A))
            note = rf"\text{{(${active}$ active)}}" if A else r"\text{(none active)}"
            groups.append(Group(rf"\{{{active}\}}" if A else r"\emptyset", parts, note))
    return groups


def _by_output(loss: Loss, names: Mapping | None) -> list[Group]:
    """The collected form ``sum_i I_i sum_k p^k (1 - p)^(r_i - k) C_ik``: one group per output
    ``i`` (``r_i`` the features it sees), one part per ``k``, each ``C_ik`` (the conditional
    expectations of ``(y_i - y'_i)^2`` summed over the patterns of ``k`` active features) factored."""
    S = loss.law.density(loss.circuit.n)
    if S is None:
        raise SuperlossError(
            f"split='output' needs one sparsity symbol shared by every feature (this law is {loss.law!r}); "
            "use split='pattern'"
        )
    collected: dict[int, dict[int, list]] = {}
    for (i, A), term in loss.terms.items():
        if term != 0:
            collected.setdefault(i, {}).setdefault(len(A), []).append(term)
    p, shown = _density_name(loss, names), latex_names(loss.expr.free_symbols, names)

    def power(base: str, e: int) -> str:
        return "" if e == 0 else f" {base}" if e == 1 else f" {base}^{{{e}}}"

    groups = []
    for i in sorted(collected):
        importance, r = loss.importance[i], len(loss.circuit.receptive_field(i))
        for k in sorted(collected[i]):
            weight = (1 - S) ** k * S ** (r - k)
            for (j, A), probability in loss.probability.items():
                if j == i and len(A) == k and sp.expand(probability - weight) != 0:
                    raise SuperlossError(f"split='output': a pattern of output {i} is not weighted p^k (1 - p)^(r - k)")
            C = sp.factor(sp.together(sp.Add(*collected[i][k]) / importance))
            if C != 0:
                weight_text = sp.latex(importance, symbol_names=shown)
                weight_text = rf"\left({weight_text}\right)" if importance.is_Add else weight_text
                label = (weight_text if importance != 1 else "") + power(p, k)
                label = (label + power(f"(1 - {p})", r - k)).strip() or "1"
                groups.append(
                    Group(
                        f"{feature_name(loss.circuit.features[i])},{k}",
                        [(importance * weight, [C])],
                        shown=(label,),
                        output=i,
                    )
                )
    return groups


#: The ways to split a loss into lines, by name.
SPLITS = {"p": _by_power, "pattern": _by_pattern, "output": _by_output}


def default_split(loss: Loss) -> str:
    """``"output"`` (the collected form) where every feature shares one sparsity symbol; else
    ``"p"`` where the pattern probabilities are numbers, ``"pattern"`` where they are not."""
    if loss.law.density(loss.circuit.n) is not None:
        return "output"
    return "pattern" if any(sp.sympify(p).free_symbols for p in loss.probability.values()) else "p"


def _groups(loss: Loss, split: str | None, names: Mapping | None) -> list[Group]:
    if not isinstance(loss, Loss):
        raise SuperlossError(f"expected an analytic.Loss, got {type(loss).__name__}")
    split = split or default_split(loss)
    if split not in SPLITS:
        raise SuperlossError(f"split must be one of {', '.join(map(repr, SPLITS))}, got {split!r}")
    return SPLITS[split](loss, names)


def split_terms(loss: Loss, split: str | None = "p") -> list[tuple[str, sp.Expr]]:
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


def align(
    loss: Loss,
    split: str | None = None,
    names: Mapping | None = None,
    width: float = LINE_WIDTH,
    *,
    name: str = "L",
    conditions: bool = True,
    only: tuple | None = None,
) -> str:
    """The loss as an ``align*`` block, one piece of :func:`split_terms` per
    line group, long sums broken to fit; then the regime's conditions, one
    per line (unless not ``conditions``), or ``only = (conditions, note)``: those that bound
    the regime, then one line on the others. ``width`` is the widest line in estimated glyphs
    (:data:`LINE_WIDTH`); ``name`` is the left-hand side's LaTeX.
    Needs ``amsmath`` and, if it is long, ``\\allowdisplaybreaks``.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> loss = expected_loss(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")), at={sym("w"): 1})
    >>> print(align(loss))
    \\begin{align*}
    L &= p \\Bigl[ \\frac{w^{2} - 2 w + 2}{6} \\Bigr] \\\\
    \\intertext{where $p = 1 - S$; valid where}
    &\\quad w > 0.
    \\end{align*}
    """
    names = loss.names if names is None and isinstance(loss, Loss) else names
    groups = _groups(loss, split, names)
    split = split or default_split(loss)
    symbol_names = latex_names(loss.expr.free_symbols, names)
    printer = Printer(symbol_names, width)
    factors = {}
    if split == "p" and loss.law.density(loss.circuit.n) is not None:
        factors = {g.parts[0][0]: g.label for g in groups}
    rows = []
    for k, group in enumerate(groups):
        rows += printer.rows(printer.group(group, k == 0, factors), f"{name} &= " if k == 0 else "&")
    if not rows:
        rows = [f"{name} &= 0"]
    words = []
    if factors or split == "output":
        S = loss.law.density(loss.circuit.n)
        words.append(f"where ${_density_name(loss, names)} = 1 - {symbol_names.get(S, sp.latex(S))}$")
    if loss.on_boundary:
        words.append("the point lies on a regime boundary, and this is an adjacent regime's formula")
    shown, note = only if only is not None else (loss.conditions if conditions else [], "")
    conditions = printer.conditions(shown)
    if conditions:
        words.append("valid where" + (" (the conditions that bound the regime)" if note else ""))
    body = " \\\\\n".join(rows)
    if words:
        body += " \\\\\n\\intertext{" + "; ".join(words) + ("" if conditions else ".") + "}"
        if conditions:
            body += "\n" + " \\\\\n".join(conditions)
        if note:
            body += " \\\\\n\\intertext{" + escape(note[0].upper() + note[1:]) + ".}"
    return "\\begin{align*}\n" + body + "\n\\end{align*}"


def _where(condition, box: Mapping, names: Mapping | None) -> str:
    """Where a piece of a ``Piecewise`` holds: ``a \\le w \\le b`` (or several such) for one
    weight, else its conditions' count (they follow its formula)."""
    if len(box) != 1:
        n = len(sp.And.make_args(condition))
        return rf"\text{{in its regime ({n} conditions, below)}}"
    ((x, _),) = box.items()
    spans = []
    for part in sp.Or.make_args(condition):
        low = [r.rhs for r in sp.And.make_args(part) if isinstance(r, sp.GreaterThan) and r.lhs == x]
        high = [r.rhs for r in sp.And.make_args(part) if isinstance(r, sp.LessThan) and r.lhs == x]
        if len(low) != 1 or len(high) != 1:
            return inline(condition, names)
        spans.append(rf"{inline(low[0], names)} \le {inline(x, names)} \le {inline(high[0], names)}")
    return r"\text{if } " + r" \text{ or } ".join(spans)


def piecewise_align(pw, split: str | None = None, names: Mapping | None = None, width: float = LINE_WIDTH) -> str:
    """A ``PiecewiseLoss`` as a paper prints it: ``L`` as ``cases`` of named pieces ``L_k``,
    each with where it holds (an interval of the one weight; for two weights, its regime),
    then each piece's formula grouped and broken as :func:`align` does (for two weights with
    its conditions), and how the pieces were found.

    >>> from analytic import Circuit, Problem, SparseUniform, piecewise_loss, sym
    >>> w = sym("w")
    >>> pw = piecewise_loss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-1, 1)}))
    >>> print(piecewise_align(pw).splitlines()[1])
    L = \\begin{cases} L_{1} & \\text{if } -1 \\le w \\le 0 \\\\ L_{2} & \\text{if } 0 \\le w \\le 1 \\end{cases}
    """
    names = pw.pieces[0].names if names is None else names
    two = len(pw.box) == 2
    cases = [rf"L_{{{k}}} & {_where(c, pw.box, names)}" for k, (_, c) in enumerate(pw.expr.args, start=1)]
    head = "\\begin{equation*}\nL = \\begin{cases} " + r" \\ ".join(cases) + " \\end{cases}\n\\end{equation*}"
    found = (
        "The pieces cover the box: each end of a piece is a root of a condition of its regime (proven)."
        if pw.proven
        else "The regimes were found at the points of a grid: one the grid missed is not shown."
    )
    blocks = [align(p, split, names, width, name=f"L_{{{k}}}", conditions=two) for k, p in enumerate(pw.pieces, 1)]
    return "\n".join([head, found, *blocks])


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


def _symbols(params: Mapping) -> list[sp.Symbol]:
    """The keys of a parameter table (symbols or names) as symbols."""
    return [k if isinstance(k, sp.Symbol) else sp.Symbol(str(k)) for k in params]


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
    symbols = _symbols(params)
    shown = latex_names(symbols, names)
    rows = [f"${shown[s]}$ & ${_number(v)}$ \\\\" for s, v in zip(symbols, params.values(), strict=True)]
    return "\n".join(
        [
            r"\begin{tabular}{lr}",
            r"\hline",
            r"parameter & value \\",
            r"\hline",
            *rows,
            r"\hline",
            f"$L$ & ${_number(loss)}$ \\\\",
            r"\hline",
            r"\end{tabular}",
        ]
    )


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
    names = st.loss.names if names is None else names
    symbol_names = latex_names(st.condition.free_symbols | {q}, names)
    shown = symbol_names[q]
    parts = []
    for (power,), coeff in sorted(sp.Poly(st.condition, q).terms(), reverse=True):
        summands = lines.summands([sp.expand(coeff)])
        # A coefficient of several terms is bracketed; a single term is written with its power.
        parts.append((q**power, summands) if len(summands) > 1 else (sp.Integer(1), [coeff * q**power]))
    head = rf"\frac{{\partial L}}{{\partial {shown}}} = 0 \iff 0 &= "
    printer = Printer(symbol_names, width)
    rows = printer.rows(printer.group(Group("", parts), True), head)
    solutions = [printer.rows(printer.terms(s.as_ordered_terms()), f"{shown} &= ") for s in st.solutions]
    # A root under a long square root cannot be broken: then the condition has to do.
    if any(lines.width(row) > width for found in solutions for row in found):
        rows.append(r"\intertext{its roots by radicals are too long to print here (\texttt{Stationary.solutions}).}")
    else:
        rows += [row for found in solutions for row in found]
    return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"


def optimum_align(
    params: Mapping,
    loss: float,
    stationaries: Sequence[Stationary],
    bounded: Mapping | None = None,
    names: Mapping | None = None,
    width: float = LINE_WIDTH,
) -> str:
    """An optimum as a paper prints it: :func:`optimum_table`, then the stationary condition
    (:func:`stationary_align`) of each parameter in the optimum's regime, which its value
    solves; a parameter in ``bounded`` (parameter -> "low" or "high") is at that bound of its
    box, where its condition need not hold, and is said so instead."""
    bounded = bounded or {}
    shown = latex_names(_symbols(params), names)
    parts = [
        optimum_table(params, loss, names),
        "",
        "In the optimum's regime, each parameter's value is a root of its stationary condition:",
        *(stationary_align(st, names, width) for st in stationaries if st.param not in bounded),
    ]
    at_bound = [f"${shown[p]}$ (its {side} bound)" for p, side in bounded.items()]
    if at_bound:
        parts.append("At a bound of the box, where the condition need not hold: " + ", ".join(at_bound) + ".")
    return "\n".join(parts)


# -- short forms for a notebook ---------------------------------------------------------------------

#: In a notebook, a formula longer than this many LaTeX characters is named and described, not printed.
SHORT = 400


def _shown(expr: sp.Expr, label: str, names: Mapping | None) -> tuple[str, str | None]:
    """``expr`` inline when short; else ``label`` and a line on its size (terms and symbols)."""
    text = inline(expr, names)
    if len(text) <= SHORT:
        return text, None
    symbols = latex_names(expr.free_symbols, names)
    used = ", ".join(symbols[s] for s in sorted(expr.free_symbols, key=lambda s: s.name))
    count = len(sp.Add.make_args(sp.expand(expr)))
    return label, rf"{label} &: \text{{{count} terms in }} {used}"


def _regime_line(loss: Loss, names: Mapping | None) -> list[str]:
    if loss.regime is None:
        return []
    at = ", ".join(f"{inline(s, names)} = {inline(v, names)}" for s, v in loss.at.items())
    boundary = r"\text{ (on a boundary: an adjacent regime's formula)}" if loss.on_boundary else ""
    n = len(loss.conditions)
    holds = f"its {n} conditions hold" if n != 1 else "its condition holds"
    return [rf"&\text{{valid where {holds}, in the regime of }} {at}{boundary}"]


def summary(loss: Loss, names: Mapping | None = None) -> str:
    r"""A few lines of LaTeX for a notebook (``Loss._repr_latex_``): the collected form
    ``sum_i I_i sum_k p^k (1 - p)^(r_i - k) C_ik`` (by pattern of active features when they share
    no sparsity symbol), each coefficient printed when it is short (:data:`SHORT`) and otherwise
    named ``C_{i,k}`` with its number of terms and symbols, then the regime in one line.
    :func:`align` prints all of it.

    >>> from analytic import Circuit, SparseUniform, expected_loss, sym
    >>> w = sym("w")
    >>> print(summary(expected_loss(Circuit([[w]], [[1]]), SparseUniform(sym("S")), at={w: 1})))
    $$\begin{aligned}L &= p \left(\frac{w^{2} - 2 w + 2}{6}\right)\\
    &\text{valid where its condition holds, in the regime of } w = 1\end{aligned}$$
    """
    names = loss.names if names is None else names
    collected = loss.law.density(loss.circuit.n) is not None
    lines_by: dict[object, list[str]] = {}  # one line per output (per pattern without a shared S)
    notes = []
    for group in _groups(loss, "output" if collected else "pattern", names):
        if collected:
            ((_, (C,)),) = group.parts
            (label,) = group.shown
            text, note = _shown(C, f"C_{{{group.label}}}", names)
            shown = text if note else rf"\left({text}\right)"
            lines_by.setdefault(group.output, []).append(shown if label == "1" else f"{label} {shown}")
        else:
            text, note = _shown(group.expr, rf"L_{{{group.label}}}", names)
            lines_by[group.label] = [text + (rf" \quad {group.note}" if group.note else "")]
        notes += [note] if note else []
    lines_ = [" + ".join(pieces) for pieces in lines_by.values()] or ["0"]
    rows = ["L &= " + lines_[0], *(f"&+ {line}" for line in lines_[1:]), *notes, *_regime_line(loss, names)]
    return r"$$\begin{aligned}" + "\\\\\n".join(rows) + r"\end{aligned}$$"


def piecewise_summary(pw, names: Mapping | None = None) -> str:
    """A ``PiecewiseLoss`` for a notebook: one case per regime (its formula when short), with its
    interval for one weight or its number of conditions for two, and how the regimes were found."""
    names = pw.pieces[0].names if names is None else names
    rows = []
    for k, (piece, (_, condition)) in enumerate(zip(pw.pieces, pw.expr.args, strict=True), start=1):
        text, _ = _shown(piece.expr, f"L_{{{k}}}", names)
        where = (
            inline(condition, names)
            if len(pw.box) == 1
            else rf"\text{{regime {k}: {len(piece.conditions)} conditions}}"
        )
        rows.append(f"{text} & {where}")
    cases = r"\begin{cases}" + r" \\ ".join(rows) + r"\end{cases}"
    return rf"$$L = {cases} \qquad \text{{({len(pw.pieces)} regimes, {pw.method})}}$$"


def stationary_summary(st: Stationary, names: Mapping | None = None) -> str:
    """A ``Stationary`` for a notebook: the condition when short (else its degree and size) and
    each root by radicals that is short."""
    names = st.loss.names if names is None else names
    q = inline(st.param, names)
    text = inline(st.condition, names)
    condition = f"{text} = 0" if len(text) <= SHORT else rf"\text{{a polynomial of degree {st.degree} in }} {q} = 0"
    roots = [inline(s, names) for s in st.solutions]
    roots = [rf"{q} = {r}" for r in roots if len(r) <= SHORT]
    rows = [rf"\frac{{\partial L}}{{\partial {q}}} = 0 \iff {condition}", *roots]
    return r"$$\begin{gathered}" + r" \\ ".join(rows) + r"\end{gathered}$$"


def optimum_summary(params: Mapping, loss: float, notes: Sequence[str] = (), names: Mapping | None = None) -> str:
    r"""An optimum for a notebook: each parameter's value (``%.6g``), the loss, then ``notes`` as text.

    >>> from analytic import sym
    >>> print(optimum_summary({sym("kappa"): 20.0}, 0.0053985, ["a minimum"]))
    $$\begin{array}{rl}\kappa & = 20 \\ L & = 0.0053985 \\ \multicolumn{2}{l}{\text{a minimum}}\end{array}$$
    """
    symbols = _symbols(params)
    shown = latex_names(symbols, names)
    rows = [f"{shown[s]} & = {_number(v)}" for s, v in zip(symbols, params.values(), strict=True)]
    rows += [f"L & = {_number(loss)}", *(rf"\multicolumn{{2}}{{l}}{{\text{{{escape(n)}}}}}" for n in notes)]
    return r"$$\begin{array}{rl}" + r" \\ ".join(rows) + r"\end{array}$$"
