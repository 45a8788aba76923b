"""The loss as a notebook holds it: fixed values, derivatives, numpy functions, files that load back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, Loss, SparseUniform, SuperlossError, expected_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition
from analytic.serialize import MAX_DEPTH, from_tree, to_tree

from conftest import agrees_with_monte_carlo, run

S = sym("S")
I3 = syms("I_a I_b I_c")
w = sym("w")


@pytest.fixture(scope="module")
def motif() -> Loss:
    return expected_loss(asymmetric_inhibition(), SparseUniform(S), I3, at=CANONICAL)


def test_the_motif_loads_back_exactly(motif, tmp_path):
    path = tmp_path / "loss.json"
    path.write_text(json.dumps(motif.to_dict()))
    back = Loss.load(path)
    assert back.expr == motif.expr
    assert back.terms == motif.terms and back.probability == motif.probability
    assert back.regime == motif.regime and back.at == motif.at and back.witness == motif.witness
    assert back.circuit.entries() == motif.circuit.entries() and back.circuit.features == motif.circuit.features
    assert back.law.parameters() == motif.law.parameters() and back.importance == motif.importance


def test_float_weights_and_per_feature_sparsities_load_back_to_the_bit():
    loss = expected_loss(
        Circuit([[0.1, -0.7], [1 / 3, 0.25]], [[1.5, 0.2], [-0.3, 2.0]], b2=[0.01, -0.02]),
        SparseUniform((sp.Rational(9, 10), S)),
    )
    back = Loss.from_dict(json.loads(json.dumps(loss.to_dict())))
    assert back.expr == loss.expr and back.law.parameters() == loss.law.parameters()
    f, g = loss.lambdify(), back.lambdify()
    assert f(S=0.7) == g(S=0.7)


def test_derive_json_loads_back_and_matches_monte_carlo(capsys, tmp_path):
    out = tmp_path / "loss.json"
    code, _, _ = run(capsys, "derive", "docs/examples/motif_symbolic.toml", "--at", "kappa=30", "--json", str(out))
    assert code == 0
    loss = Loss.load(out)
    shown = loss._repr_latex_()  # the spec's [latex] names reach the notebook
    assert r"w_{\mathrm{host}}" in shown and "w_{a}" not in shown
    values = {**{s: v for s, v in loss.at.items()}, S: sp.Rational(7, 10)}
    values.update({I3[0]: 1, I3[1]: sp.Rational(3, 10), I3[2]: 1})
    value = float(loss.expr.subs(values))
    ok, z = agrees_with_monte_carlo(value, loss.circuit, loss.law, loss.importance, values)
    assert ok, f"the loaded formula {value} vs Monte Carlo: z = {z:.2f}"
    assert not agrees_with_monte_carlo(1.03 * value, loss.circuit, loss.law, loss.importance, values)[0]


def test_subs_fixes_values_and_refuses_a_point_outside_the_regime(motif):
    kappa, w_a = sym("kappa"), sym("w_a")
    fixed = motif.subs({"S": sp.Rational(9, 10), kappa: 25})
    assert fixed.expr == motif.expr.subs({S: sp.Rational(9, 10), kappa: 25})
    assert kappa not in fixed.at and S not in fixed.expr.free_symbols
    assert all(kappa not in f.free_symbols for f, _ in fixed.regime.factors)
    assert fixed.regime.holds({s: v for s, v in CANONICAL.items() if s != kappa})
    with pytest.raises(SuperlossError, match="outside the regime of this formula: w_a > 0 fails"):
        motif.subs({w_a: -1})
    with pytest.raises(SuperlossError, match="zeta: not a symbol of this loss"):
        motif.subs({"zeta": 1})
    with pytest.raises(SuperlossError, match="is text"):
        motif.subs({w_a: "2"})


def test_diff_and_lambdify_agree_with_the_formula(motif):
    f = motif.lambdify()
    values = {**{s.name: float(v) for s, v in motif.at.items()}, "S": 0.8, "I_a": 1.0, "I_b": 0.3, "I_c": 1.0}
    exact = {sym(k): sp.nsimplify(v) for k, v in values.items()}
    assert f(**values) == pytest.approx(float(motif.expr.subs(exact)), rel=1e-12)
    kappa = np.array([20.0, 25.0, 30.0])
    assert f(**{**values, "kappa": kappa}).shape == (3,)  # arrays broadcast
    derivative = float(motif.diff("kappa").subs(exact))
    h = 1e-5
    k = values["kappa"]
    central = (f(**{**values, "kappa": k + h}) - f(**{**values, "kappa": k - h})) / (2 * h)
    assert derivative == pytest.approx(central, rel=1e-6, abs=1e-12)
    with pytest.raises(SuperlossError, match="missing kappa"):
        f(**{k: v for k, v in values.items() if k != "kappa"})


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        (["call", "os.system", "1"], "unknown operation"),
        ("__import__('os')", "neither a rational number nor a name"),
        (["^", "x", "1000"], "exponent"),
        (["^", "2", "64"], None),
        (["^", "7" * 200, "1/2"], "a root of a number"),
        # 82 bytes standing for 10^(40^6): the digits a power can reach are bounded up the tree.
        (["^", ["^", ["^", ["^", ["^", ["^", "10", "40"], "40"], "40"], "40"], "40"], "40"], "past 2000 digits"),
        (["*", *["9" * 1999] * 3], "past 2000 digits"),
        ("1/0", "divides by zero"),
        (["^", "0", "-1"], "zero to a negative power"),
        (["^", "-8", "1/3"], "negative number to the fractional power"),
        ("lambda", "cannot name a symbol"),
        ("sqrt", "cannot name a symbol"),
        (["float", "1e5; x", 0, 53], "a float"),
        (["float", "1", 10**9, 53], "out of range"),
        ({"op": "+"}, "operation list"),
        ("pi", "constant"),
    ],
)
def test_trees_are_read_only_as_numbers_names_and_operations(tree, message):
    if message is None:
        assert from_tree(tree).doit() == 2**64
        return
    with pytest.raises(SuperlossError, match=message):
        from_tree(tree, what="f.json")


def test_a_deep_tree_is_refused_not_recursed_into():
    tree = "x"
    for _ in range(MAX_DEPTH + 5):
        tree = ["+", tree, "1"]
    with pytest.raises(SuperlossError, match="levels"):
        from_tree(tree)


def test_a_file_that_is_not_a_loss_is_one_line(tmp_path, capsys):
    for text, message in (("{", "cannot read"), ('{"format": "other"}', "not a loss"), ("[1]", "not a loss")):
        path = tmp_path / "bad.json"
        path.write_text(text)
        with pytest.raises(SuperlossError, match=message) as error:
            Loss.load(path)
        assert "\n" not in str(error.value)
    data = expected_loss(Circuit([[w]], [[1]]), SparseUniform(S), at={w: 1}).to_dict()
    for change, message in (
        (lambda d: d.pop("terms"), "KeyError"),
        (lambda d: d["importance"].append("1"), "2 importances for 1 features"),
        (lambda d: d["terms"][0].update(output=3), "a term of output 3"),
    ):
        broken = json.loads(json.dumps(data))
        change(broken)
        with pytest.raises(SuperlossError, match=message):
            Loss.from_dict(broken)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SuperlossError, match="cannot read"):
        Loss.load(deep)


def test_to_tree_keeps_radicals_exact():
    x = sym("x")
    expr = sp.sqrt(10 + 2 * sp.sqrt(5)) * x / 4 - sp.Rational(3, 7)
    assert from_tree(json.loads(json.dumps(to_tree(expr)))) == expr
