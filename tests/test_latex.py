"""LaTeX export: paper names, pieces that sum to the loss, and documents that
compile with a real pdflatex without an overfull line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from random import Random

import pytest
import sympy as sp

from analytic import Circuit, Loss, Problem, SparseUniform, SuperlossError, expected_loss, piecewise_loss, sym
from analytic.document import PREAMBLE, standalone
from analytic.latex import (
    LINE_WIDTH,
    align,
    inline,
    optimum_table,
    piecewise_align,
    split_terms,
    stationary_align,
    symbol_name,
)
from analytic.lines import width
from analytic.presets import CANONICAL, asymmetric_inhibition
from analytic.spec import load_spec
from analytic.stationary import stationary
from numeric.optimize import optimize

from conftest import run

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
S, I_b = sym("S"), sym("I_b")


@pytest.fixture(scope="module")
def motif():
    """The canonical motif's loss: symbolic weights, sparsity S, rider importance I_b."""
    return expected_loss(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], at=CANONICAL)


@pytest.fixture(scope="module")
def motif_numeric_s():
    return expected_loss(asymmetric_inhibition(), SparseUniform(sp.Rational(9, 10)), [1, I_b, 1], at=CANONICAL)


# -- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("w_a", "w_{a}"),
        ("delta", r"\delta"),
        ("kappa", r"\kappa"),
        ("gamma", r"\gamma"),
        ("I_b", "I_{b}"),
        ("w_a1", "w_{a,1}"),
        ("o_b2", "o_{b,2}"),
        ("kappa1", r"\kappa_{1}"),
        ("b_2", "b_{2}"),
        ("S", "S"),
        ("w1", "w_{1}"),
        ("Gamma", r"\Gamma"),
        ("x_delta", r"x_{\delta}"),
        ("w_host", r"w_{\mathrm{host}}"),
        ("rate", r"\mathrm{rate}"),
        ("w_a_b", "w_{a,b}"),
    ],
)
def test_symbol_names_as_a_paper_writes_them(name, expected):
    assert symbol_name(name) == expected


def test_renames_replace_the_rule_and_are_checked():
    w_a, w_b = sym("w_a"), sym("w_b")
    expr = w_a * w_b
    assert inline(expr) == "w_{a} w_{b}"
    assert inline(expr, names={"w_a": r"\omega_{h}"}) == r"\omega_{h} w_{b}"
    assert inline(expr, names={w_b: r"\omega_{r}", "unused": "u"}) == r"w_{a} \omega_{r}"
    for bad, message in (({"w_a": " "}, "empty"), ({"w_a": r"\omega_{h"}, "unbalanced"), ({"w_a": 3}, "LaTeX strings")):
        with pytest.raises(SuperlossError, match=message):
            inline(expr, names=bad)


def test_jupyter_shows_a_short_form_with_the_paper_names(motif):
    shown = motif._repr_latex_()
    # The motif's formula is 15,700 characters inline: long coefficients C_ik are named instead.
    assert len(shown) < 2000 and len(inline(motif.expr)) > 10_000
    assert "L &= p (1 - p) C_{a,1} + p^{2} C_{a,2}" in shown and "&+ I_{b} p (1 - p)^{2}" in shown
    assert r"C_{b,2} &: \text{" in shown
    assert r"\kappa" in shown and "w_{a}" in shown and "I_{b}" in shown
    assert f"its {len(motif.conditions)} conditions hold" in shown
    w = sym("w")
    small = expected_loss(Circuit([[w]], [[1]]), SparseUniform(sym("S")), at={w: 1})
    assert inline(sp.factor(small.expr / (1 - sym("S")))) in small._repr_latex_()  # a short one is printed


def test_jupyter_shows_piecewise_losses_stationary_conditions_and_optima():
    w = sym("w")
    problem = Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-1, 1)})
    shown = piecewise_loss(problem)._repr_latex_()
    assert shown.count("&") == 2 and "proven complete" in shown and r"w \leq 0" in shown
    st = stationary(expected_loss(Circuit([[w]], [[1]]), SparseUniform(0), at={w: 2}), w)
    assert (
        st._repr_latex_()
        == r"$$\begin{gathered}\frac{\partial L}{\partial w} = 0 \iff w - 1 = 0 \\ w = 1\end{gathered}$$"
    )
    best = optimize(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-3, 3)}), starts=4, seed=1, samples=0)
    shown = best._repr_latex_()
    assert r"w & = 1" in shown and "L & = 0.166667" in shown and "minimum" in shown


# -- pieces ---------------------------------------------------------------------------------------


def _exact_point(loss, seed: int = 0) -> dict:
    rng = Random(seed)
    return {s: sp.Rational(Fraction(rng.randint(1, 999), 1000)) for s in loss.expr.free_symbols}


@pytest.mark.parametrize(
    "split, labels",
    [
        ("p", ["p", "p^{2}", "p^{3}"]),
        ("pattern", [r"\{a\}", r"\{b\}", r"\{c\}", r"\{a, b\}", r"\{a, c\}", r"\{b, c\}", r"\{a, b, c\}"]),
    ],
)
def test_pieces_sum_to_the_loss(motif, split, labels):
    pieces = split_terms(motif, split)
    assert [label for label, _ in pieces] == labels
    total = sp.Add(*[expr for _, expr in pieces])
    assert sp.expand(total - motif.expr) == 0
    point = _exact_point(motif)
    assert total.subs(point) == motif.expr.subs(point)
    # Leaving out a piece is seen: the check can fail.
    assert sp.Add(*[expr for _, expr in pieces[1:]]).subs(point) != motif.expr.subs(point)


def test_numeric_sparsity_is_one_piece_and_per_feature_sparsity_needs_patterns(motif_numeric_s):
    [(label, expr)] = split_terms(motif_numeric_s, "p")
    assert label == "1" and sp.expand(expr - motif_numeric_s.expr) == 0
    w = sym("w")
    loss = expected_loss(Circuit([[w, 1]], [[1], [1]]), SparseUniform([sym("S_1"), sym("S_2")]), at={w: 1})
    with pytest.raises(SuperlossError, match="split='pattern'"):
        split_terms(loss, "p")
    point = _exact_point(loss)
    assert sum(e for _, e in split_terms(loss, "pattern")).subs(point) == loss.expr.subs(point)


def test_bad_split_or_loss_is_a_superloss_error(motif):
    with pytest.raises(SuperlossError, match="split must be one of 'p', 'pattern', 'output', got 'q'"):
        align(motif, "q")
    with pytest.raises(SuperlossError, match="expected an analytic.Loss"):
        standalone(motif.expr)


@pytest.mark.parametrize("split", ["p", "pattern", "output"])
def test_align_lines_fit_and_state_the_regime(motif, split):
    block = align(motif, split)
    rows = block.splitlines()
    assert rows[0] == r"\begin{align*}" and rows[-1] == r"\end{align*}" and rows[1].startswith("L &= ")
    assert max(width(row.removesuffix(" \\\\").replace("&", "")) for row in rows) <= LINE_WIDTH
    conditions = [row for row in rows if row.startswith(r"&\quad ") and re.search(r"[<>]", row)]
    assert len(conditions) == len(motif.conditions)
    assert "valid where" in block
    if split == "p":
        groups = [row.split(r" \Bigl[")[0] for row in rows if re.match(r"(L &=|&\+) p", row)]
        assert groups == ["L &= p", "&+ p^{2}", "&+ p^{3}"]
        assert r"\intertext{where $p = 1 - S$; valid where}" in block
    elif split == "pattern":
        assert r"\text{($a, b, c$ active)}" in block
    else:
        heads = [row.split(r" \Bigl[")[0] for row in rows if re.match(r"(L &=|&\+) (I_{b} )?p", row)]
        assert heads == [
            "L &= p (1 - p)",
            "&+ p^{2}",
            "&+ I_{b} p (1 - p)^{2}",
            "&+ I_{b} p^{2} (1 - p)",
            "&+ I_{b} p^{3}",
            "&+ p (1 - p)^{2}",
            "&+ p^{2} (1 - p)",
            "&+ p^{3}",
        ]
        assert sp.simplify(sum(e for _, e in split_terms(motif, "output")) - motif.expr) == 0


def test_collected_form_brackets_a_sum_as_importance_and_default_split_fits_the_law():
    w, d = sym("w"), sym("d")
    loss = expected_loss(Circuit([[w]], [[1]]), SparseUniform(S), [1 + d], at={w: 1})
    assert r"L &= \left(d + 1\right) p \Bigl[" in align(loss)
    per_feature = expected_loss(Circuit([[w, 0]], [[1], [0]]), SparseUniform((S, sym("T"))), at={w: 1})
    assert r"\text{($0$ active)}" in align(per_feature)  # per-feature sparsity symbols: by pattern
    pw = piecewise_loss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-1, 1)}))
    pw = replace(pw, pieces=tuple(p.with_names({"w": r"\omega"}) for p in pw.pieces))
    assert r"-1 \le \omega \le 0" in piecewise_align(pw) and r"\omega" in pw._repr_latex_()


def test_optimum_table_formats_six_significant_digits():
    table = optimum_table({sym("kappa"): 20.000001234, "w_a1": -1.5e-7}, 0.005398539781, names={"kappa": "k"})
    assert "$k$ & $20$ \\\\" in table
    assert r"$w_{a,1}$ & $-1.5 \times 10^{-7}$ \\" in table
    assert "$L$ & $0.00539854$ \\\\" in table
    assert table.startswith(r"\begin{tabular}{lr}") and table.endswith(r"\end{tabular}")


# -- pdflatex -------------------------------------------------------------------------------------


def pdflatex() -> str:
    """The pdflatex program: a missing one fails, unless SUPERLOSS_ALLOW_NO_LATEX=1 says to skip."""
    program = shutil.which("pdflatex")
    if program is None:
        if os.environ.get("SUPERLOSS_ALLOW_NO_LATEX") == "1":
            pytest.skip("pdflatex is missing and SUPERLOSS_ALLOW_NO_LATEX=1")
        pytest.fail(
            "pdflatex is missing: install texlive-latex-base and texlive-latex-recommended "
            "(or set SUPERLOSS_ALLOW_NO_LATEX=1 to skip these tests)"
        )
    return program


def compiles_cleanly(tex: str, folder: Path) -> str:
    """Compile ``tex`` in ``folder``; assert exit code 0, no error and no overfull line; the log."""
    (folder / "doc.tex").write_text(tex)
    run = subprocess.run(
        [pdflatex(), "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = (folder / "doc.log").read_text(errors="replace")
    assert run.returncode == 0, run.stdout[-2000:]
    assert "Error" not in log, log[-2000:]
    assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)
    assert (folder / "doc.pdf").stat().st_size > 0
    return log


@pytest.mark.parametrize("split", ["p", "pattern"])
def test_standalone_motif_compiles_without_overfull_lines(motif, split, tmp_path):
    tex = standalone(motif, split, title="The canonical motif & its loss")
    assert r"\documentclass" in tex and r"\allowdisplaybreaks" in tex and r"The canonical motif \& its loss" in tex
    compiles_cleanly(tex, tmp_path)


@pytest.mark.parametrize("split", ["p", "pattern"])
def test_standalone_numeric_sparsity_with_renames_compiles(motif_numeric_s, split, tmp_path):
    tex = standalone(motif_numeric_s, split, names={"w_a": r"\omega_{\mathrm{host}}", "kappa": r"\varkappa"})
    assert r"\omega_{\mathrm{host}}" in tex and r"\varkappa" in tex and "w_{a}" not in tex
    compiles_cleanly(tex, tmp_path)


def test_narrow_column_and_stationary_condition_compile(motif, tmp_path):
    """``width=45`` fits a two-column paper's 240 pt; the stationary condition and
    an optimum table fit the standalone page."""
    narrow = PREAMBLE.replace("margin=1.5cm", "textwidth=240pt")
    compiles_cleanly(
        narrow + "\\begin{document}\n" + align(motif, "pattern", width=45) + "\n\\end{document}\n", tmp_path
    )
    block = stationary_align(stationary(motif, sym("kappa")))
    assert block.startswith(r"\begin{align*}" "\n" r"\frac{\partial L}{\partial \kappa} = 0 \iff 0 &= \kappa^{2}")
    table = optimum_table({sym("kappa"): 20.0, sym("w_a"): 2.0}, 0.0054)
    compiles_cleanly(PREAMBLE + "\\begin{document}\n" + block + "\n\n" + table + "\n\\end{document}\n", tmp_path)


# -- the command line -----------------------------------------------------------------------------


def test_derive_writes_an_align_block_with_the_spec_names(capsys, tmp_path):
    target = tmp_path / "loss.tex"
    code, out, _ = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), "--latex", str(target))
    assert code == 0 and f"wrote {target}" in out
    text = target.read_text()
    # The collected form by default: I_i p^k (1 - p)^(r_i - k) C_ik, one line per output and k.
    assert text.startswith(r"\begin{align*}" "\nL &= I_{a} p (1 - p) \\Bigl[") and text.endswith("\\end{align*}\n")
    assert r"w_{\mathrm{host}}" in text and "w_{a}" not in text  # the spec's [latex] table
    # Only the conditions that bound the regime, then one line on the others.
    assert "(the conditions that bound the regime)" in text and "more are implied by them" in text
    assert [p.name for p in tmp_path.iterdir()] == ["loss.tex"]


def test_derive_standalone_by_pattern_compiles(capsys, tmp_path):
    target = tmp_path / "doc.tex"
    code, _, _ = run(
        capsys,
        "derive",
        str(EXAMPLES / "motif_canonical.toml"),
        "--latex",
        str(target),
        "--standalone",
        "--split",
        "pattern",
        "--title",
        "Asymmetric superposition & inhibition",
    )
    assert code == 0
    text = target.read_text()
    assert r"\section*{Asymmetric superposition \& inhibition}" in text and "toml" not in text
    log = compiles_cleanly(text, tmp_path)
    assert "Output written on doc.pdf" in log


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--latex", "out.tex", "--split", "power"], "--split 'power': must be one of p, pattern"),
        (["--latex", "missing-folder/out.tex"], "folder missing-folder does not exist"),
        (["--latex", ""], "--latex needs a file name"),
        (["--standalone"], "need --latex FILE"),
        (["--split", "pattern"], "need --latex FILE"),
        (["--latex", "out.tex", "--title", "T"], "--title needs --standalone"),
    ],
)
def test_derive_latex_errors_are_one_line_with_exit_code_2(capsys, tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), *extra)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


# -- the loss over one or two weights ---------------------------------------------------------------

FIXED_SETTING = ["--at", "S=9/10", "--at", "I_a=1", "--at", "I_b=3/10", "--at", "I_c=1"]


def test_derive_piecewise_over_kappa_is_proven_compiles_and_agrees_pointwise(capsys, tmp_path):
    kappa = sym("kappa")
    data_file, tex = tmp_path / "pw.json", tmp_path / "pw.tex"
    code, out, _ = run(
        capsys,
        "derive",
        str(EXAMPLES / "motif_symbolic.toml"),
        "--piecewise",
        "kappa",
        "--bounds",
        "kappa=0:40",
        *FIXED_SETTING,
        "--json",
        str(data_file),
        "--latex",
        str(tex),
        "--standalone",
    )
    assert code == 0 and "proven complete" in out
    assert "Output written on doc.pdf" in compiles_cleanly(tex.read_text(), tmp_path)
    data = json.loads(data_file.read_text())
    assert data["proven"] and data["box"] == {"kappa": ["0", "40"]}
    pieces = [Loss.from_dict(p["loss"]) for p in data["pieces"]]
    assert len(pieces) > 3
    # Each piece, at a point inside its interval, is the loss derived there on its own.
    spec = load_spec(EXAMPLES / "motif_symbolic.toml")
    setting = {sym("S"): sp.Rational(9, 10), sym("I_a"): 1, sym("I_b"): sp.Rational(3, 10), sym("I_c"): 1}
    for piece in pieces:
        inside = piece.at[kappa]
        point = {**spec.at, kappa: inside}
        alone = expected_loss(Problem(spec.circuit, spec.law, spec.importance, fixed=setting), at=point)
        assert sp.simplify(piece.expr.subs(kappa, inside) - alone.expr.subs(point)) == 0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--piecewise", "kappa"], "no box for kappa"),
        (["--piecewise", "kappa,delta,gamma", "--bounds", "kappa=0:1"], "one or two different weights"),
        (["--bounds", "kappa=0:1"], "--bounds needs --piecewise"),
        (["--piecewise", "zeta", "--bounds", "zeta=0:1"], "zeta is not a symbol"),
    ],
)
def test_derive_piecewise_errors_are_one_line(capsys, tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), *extra)
    assert code == 2 and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_optimize_latex_exports_the_table_and_conditions_its_values_solve(capsys, tmp_path):
    tex = tmp_path / "opt.tex"
    code, out, _ = run(
        capsys,
        "optimize",
        str(EXAMPLES / "motif_study.toml"),
        "--fix",
        "S=0.9",
        "--fix",
        "I_b=0.3",
        "--free",
        "kappa",
        "--free",
        "b_b",
        "--starts",
        "4",
        "--samples",
        "0",
        "--latex",
        str(tex),
        "--standalone",
    )
    assert code == 0
    text = tex.read_text()
    assert r"\kappa" in text and r"\frac{\partial L}{\partial \kappa} = 0" in text and "b_{b}" in text
    assert "Output written on doc.pdf" in compiles_cleanly(text, tmp_path)
    # The printed values solve the printed conditions: rebuild both from the library.
    spec = load_spec(EXAMPLES / "motif_study.toml")
    kappa, b_b = sym("kappa"), sym("b_b")
    found = dict(re.findall(r"(?m)^\s+(kappa|b_b) = (\S+)", out))
    assert set(found) == {"kappa", "b_b"}
    point = {sym(k): sp.Rational(v) for k, v in found.items()}
    fixed = {s: v for s, v in spec.at.items() if s not in point}
    fixed.update({sym("S"): sp.Rational(9, 10), sym("I_b"): sp.Rational(3, 10)})
    problem = Problem(spec.circuit, spec.law, spec.importance, fixed=fixed)
    regime = expected_loss(problem, at=point)
    for q in (kappa, b_b):
        gradient = float(regime.expr.diff(q).subs(point))
        assert abs(gradient) < 1e-5, f"dL/d{q} = {gradient} at the printed optimum"
        # ... and is a root of the condition the document prints (relative to its terms' size).
        condition = stationary(regime, q).condition
        size = sum(abs(float(t.subs(point))) for t in sp.Add.make_args(condition))
        assert abs(float(condition.subs(point))) < 1e-5 * size


def test_optimize_latex_options_are_checked_first(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for extra, message in (
        (["--standalone"], "--standalone needs --latex FILE"),
        (["--latex", "o.tex", "--title", "T"], "--title needs --standalone"),
        (["--latex", "missing/o.tex"], "folder missing does not exist"),
    ):
        code, out, err = run(capsys, "optimize", str(EXAMPLES / "motif_study.toml"), "--fix", "S=0.9", *extra)
        assert code == 2 and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
