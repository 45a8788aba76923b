"""Exact algebraic weights: exact signs in a real number field, the grammar's angles, and closed
forms of circuits with irrational weights against the float engine and Monte Carlo."""

from __future__ import annotations

import random
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, OneHot, SparseUniform, SuperlossError, expected_loss, syms
from analytic.algebraic import Fractions, RealField, generators
from analytic.expression import parse_expression
from analytic.integrate import det
from analytic.presets import regular_polygon
from analytic.regime import evaluate

from conftest import agrees_with_monte_carlo, run

r, b, w = syms("r b w")
PENTAGON_ROOTS = [sp.sqrt(5), sp.sqrt(sp.Rational(5, 8) - sp.sqrt(5) / 8), sp.sqrt(sp.Rational(5, 8) + sp.sqrt(5) / 8)]


def test_signs_are_exact_where_floats_cannot_tell():
    # sqrt(2) + sqrt(3) against a rational 1e-30 away from it on either side.
    field = RealField.of([sp.sqrt(2), sp.sqrt(3)])
    x = field(sp.sqrt(2) + sp.sqrt(3))
    near = Fraction(int(sp.floor((sp.sqrt(2) + sp.sqrt(3)) * 10**30)), 10**30)
    assert x > near and x - near > 0 and x < near + Fraction(1, 10**30)
    assert float(x) == float(near)  # floats see no difference
    assert (x - near).sign() == 1 and (near - x).sign() == -1


def test_arithmetic_agrees_with_high_precision_values():
    rng = random.Random(1)
    field = RealField.of(PENTAGON_ROOTS)
    basis = [field(1), *(field(r) for r in PENTAGON_ROOTS)]
    for _ in range(200):
        u = sum((Fraction(rng.randint(-9, 9), rng.randint(1, 9)) * e for e in basis), field.zero)
        v = sum((Fraction(rng.randint(-9, 9), rng.randint(1, 9)) * e for e in basis), field.zero)
        for result in (u + v, u - v, u * v, u / v if v else u, u**2):
            exact = sp.N(result.to_sympy(), 60)
            expected = {True: 1, False: -1}[bool(exact > 0)] if exact != 0 else 0
            assert result.sign() == expected
        assert (u < v) == bool(sp.N(u.to_sympy() - v.to_sympy(), 60) < 0)


def test_equal_numbers_are_equal_and_hash_alike():
    field = RealField.of(PENTAGON_ROOTS)
    c = field(sp.cos(2 * sp.pi / 5))
    assert c == (field(sp.sqrt(5)) - 1) / 4
    assert field(sp.sqrt(5)) ** 2 == 5 and hash(field(sp.sqrt(5)) ** 2) == hash(Fraction(5))
    assert len({c, (field(sp.sqrt(5)) - 1) / 4, Fraction(1, 4)}) == 2
    # The pentagon's five cosines sum to zero exactly.
    assert sum((field(sp.cos(2 * sp.pi * j / 5)) for j in range(5)), field.zero) == 0


def test_generators_refuse_what_is_not_algebraic():
    assert generators([w * sp.sqrt(3) / 2, r]) == [sp.sqrt(3)]
    with pytest.raises(SuperlossError, match="not a real algebraic number"):
        generators([w * sp.pi])
    with pytest.raises(SuperlossError, match="roots of symbols are not"):
        generators([sp.sqrt(w)])
    with pytest.raises(SuperlossError, match="may span a field of degree above 16"):
        RealField.of([sp.sqrt(p) for p in (2, 3, 5, 7, 11)])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("cos(2*pi/5)", (sp.sqrt(5) - 1) / 4),
        ("sin(pi/6)", sp.Rational(1, 2)),
        ("cos(pi/8)", sp.sqrt(2 + sp.sqrt(2)) / 2),
        ("sin(pi/5 + pi/3)", sp.sin(sp.Rational(8, 15) * sp.pi)),
        ("sqrt(10 + 2*sqrt(5))/4", sp.sin(2 * sp.pi / 5)),
    ],
)
def test_angles_and_nested_radicals_parse_exactly(text, value):
    parsed = parse_expression(text)
    assert not parsed.has(sp.cos, sp.sin, sp.pi)
    assert _same(parsed, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cos(1)", "the angle must be a rational multiple of pi"),
        ("sin(w)", "the angle must be a rational multiple of pi"),
        ("cos(2*pi/7)", "cos(2*pi/7) is not a real radical SymPy knows"),
        ("2*pi", "pi is transcendental"),
        ("cos", "'cos' is a function"),
    ],
)
def test_angles_that_are_not_radicals_are_refused(text, message):
    with pytest.raises(SuperlossError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse_expression(text, what="W1[0][1]")


def _same(x: sp.Expr, y: sp.Expr) -> bool:
    """Exact equality of two real algebraic numbers, in their field."""
    field = RealField.of(generators([x, y]) or [sp.sqrt(2)])
    return field(x) == field(y)


def _float_circuit(circuit: Circuit, values: dict) -> Circuit:
    """The same circuit with float weights, for the float engine."""
    f = lambda M: [[float(sp.N(e.subs(values), 30)) for e in row] for row in M.tolist()]  # noqa: E731
    biases = f(circuit.b1.T)[0], f(circuit.b2.T)[0]
    return Circuit(f(circuit.W1), f(circuit.W2), *biases, circuit.hidden, circuit.output, circuit.target)


@pytest.mark.parametrize("k", [3, 5, 6, 8])
def test_regular_polygon_closed_form(k):
    """The k-gon's one-hot loss in r and b: exact at the point, equal to the float engine to
    1e-12 and to Monte Carlo; its conditions hold at the point."""
    circuit = regular_polygon(k)
    at = {r: 1, b: sp.Rational(-1, 5)}
    loss = expected_loss(circuit, OneHot(), at=at)
    assert loss.expr.free_symbols == {r, b}
    assert all(bool(c.subs(at)) for c in loss.conditions)
    value = float(loss.expr.subs(at))
    floats = float(expected_loss(_float_circuit(circuit, at), OneHot()).expr)
    assert abs(value - floats) <= 1e-12 * max(1.0, abs(value))
    exact_numeric = expected_loss(circuit.subs(at), OneHot()).expr
    assert _same(exact_numeric, loss.expr.subs(at))
    ok, z = agrees_with_monte_carlo(value, _float_circuit(circuit, at), OneHot(), None, {})
    assert ok, z


def test_polygon_formula_holds_across_its_regime():
    """Away from the witness, inside the regime, the formula still equals the float engine."""
    circuit = regular_polygon(5)
    loss = expected_loss(circuit, OneHot(), at={r: 1, b: sp.Rational(-1, 5)})
    for at in ({r: sp.Rational(6, 5), b: sp.Rational(-1, 4)}, {r: sp.Rational(9, 10), b: sp.Rational(-1, 10)}):
        assert all(bool(c.subs(at)) for c in loss.conditions)
        floats = float(expected_loss(_float_circuit(circuit, at), OneHot()).expr)
        assert abs(float(loss.expr.subs(at)) - floats) <= 1e-12


def test_conditions_implied_through_irrational_multipliers_are_proved():
    """The pentagon's ``b + r**2 > 0`` is ``(b + (sqrt(5) - 1) r**2 / 4) + (5 - sqrt(5)) r**2 / 4``:
    a bounding condition plus an irrational multiple of a square, proved in the field."""
    from numeric.facets import bounding

    loss = expected_loss(regular_polygon(5), OneHot(), at={r: 1, b: sp.Rational(-1, 5)})
    found = bounding(loss)
    assert len(found.bounding) == 2 and len(found.implied) == 2 and not found.hidden
    side = lambda c: c.lhs - c.rhs if isinstance(c, sp.StrictGreaterThan) else c.rhs - c.lhs  # noqa: E731
    by_name = {str(c): c for c in found.conditions}
    for condition, combination in found.implied:
        multipliers = [*combination["conditions"].values(), *combination["squares"].values()]
        assert all(m.is_nonnegative for m in multipliers) and any(not m.is_Rational for m in multipliers)
        total = sum((k * side(by_name[n]) for n, k in combination["conditions"].items()), sp.S.Zero)
        total += sum((d * s**2 for s, d in combination["squares"].items()), sp.S.Zero)
        assert sp.expand(side(condition) - total - combination["constant"]) == 0


def test_abs_value_circuit_keeps_a_nested_radical():
    """Reconstruction losses see only W^T W; an abs-value circuit sees the weight itself."""
    s = sp.sqrt(10 + 2 * sp.sqrt(5)) / 4  # sin(2 pi / 5)
    circuit = Circuit([[s], [-1]], [[w, 1]])  # y' = ReLU(w ReLU(s x) + ReLU(-x)), target |x|
    S = sp.Rational(1, 2)
    loss = expected_loss(circuit, SparseUniform(S, low=-1, high=1), at={w: 1})
    expr = sp.expand(loss.expr)
    assert any(isinstance(a, sp.Pow) and a.base.has(sp.sqrt(5)) for a in sp.preorder_traversal(expr)), expr
    # E = (1 - S)/2 * E[(x - w s x)^2 | x ~ U(0, 1)] = (1 - S) (1 - w s)^2 / 6
    assert sp.simplify(loss.expr - (1 - S) * (1 - w * s) ** 2 / 6) == 0
    value = float(loss.expr.subs(w, 1))
    ok, z = agrees_with_monte_carlo(value, circuit.subs({w: 1}), SparseUniform(S, low=-1, high=1), None, {})
    assert ok, z


def test_float_engine_matches_on_a_dense_irrational_circuit():
    rng = np.random.default_rng(3)
    roots = [sp.sqrt(2), sp.sqrt(3), sp.sqrt(2 + sp.sqrt(2))]
    W1 = [[roots[rng.integers(3)] * int(rng.integers(-3, 4)) / 3 for _ in range(2)] for _ in range(3)]
    W2 = [[roots[rng.integers(3)] * int(rng.integers(-3, 4)) / 3 for _ in range(3)] for _ in range(2)]
    circuit = Circuit(W1, W2, b2=[-sp.sqrt(2) / 10, sp.Rational(1, 7)])
    law = SparseUniform(sp.Rational(3, 10), low=-1, high=1)
    exact = expected_loss(circuit, law).expr
    floats = float(expected_loss(_float_circuit(circuit, {}), law).expr)
    assert abs(float(exact) - floats) <= 1e-12


def test_lazy_fractions_agree_with_sympys_field():
    """Arithmetic and determinants in :class:`Fractions` (theta a variable, reduced modulo its
    minimal polynomial, denominators kept free of theta) agree with the same arithmetic on
    exact real numbers at rational points."""
    field = RealField.of(PENTAGON_ROOTS)
    space = Fractions.of(field, (b, r))
    rng = random.Random(2)
    numbers = [sp.Integer(1), *PENTAGON_ROOTS]
    reals = [field(x) for x in numbers]

    def draw():
        """``c r^k + beta b + 1`` with ``c`` in the field: as SymPy, and as a function of a point."""
        weights = [Fraction(rng.randint(-5, 5), rng.randint(1, 4)) for _ in numbers]
        k, beta = rng.randint(0, 2), Fraction(rng.randint(-3, 3), 2)
        expr = sum(sp.Rational(w.numerator, w.denominator) * x for w, x in zip(weights, numbers, strict=True))
        c = sum((w * x for w, x in zip(weights, reals, strict=True)), field.zero)
        return expr * r**k + sp.Rational(beta.numerator, beta.denominator) * b + 1, (
            lambda point: c * point[r] ** k + beta * point[b] + 1
        )

    def at(element, point):  # the exact value of an element at a rational point
        f = space.exact(element)
        return evaluate(f.numer, point) / evaluate(f.denom, point)

    points = [{b: Fraction(rng.randint(-9, 9), 7), r: Fraction(rng.randint(1, 9), 5)} for _ in range(3)]

    for size in (1, 2, 3):
        pairs = [[(draw(), draw()) for _ in range(size)] for _ in range(size)]  # entries p / q
        lazy = space.det([[space.from_sympy(p[0]) / space.from_sympy(q[0]) for p, q in row] for row in pairs])
        (x, fx), (y, fy) = draw(), draw()
        ex, ey = space.from_sympy(x), space.from_sympy(y)
        for point in points:
            reference = det([[p[1](point) / q[1](point) for p, q in row] for row in pairs])
            assert at(lazy, point) == reference
            vx, vy = fx(point), fy(point)
            assert at(ex / ey - ex * ey + ey, point) == vx / vy - vx * vy + vy


def test_triangle_under_sparse_features():
    """Patterns of up to three active features: cells in three dimensions, determinants of
    irrational entries; the formula equals the float engine at two points of its regime."""
    circuit = regular_polygon(3)
    law = SparseUniform(sp.Rational(1, 2))
    loss = expected_loss(circuit, law, at={r: 1, b: sp.Rational(-1, 5)})
    for at in ({r: 1, b: sp.Rational(-1, 5)}, {r: sp.Rational(11, 10), b: sp.Rational(-1, 4)}):
        assert all(bool(c.subs(at)) for c in loss.conditions)
        floats = float(expected_loss(_float_circuit(circuit, at), law).expr)
        assert abs(float(loss.expr.subs(at)) - floats) <= 1e-12
    value = float(loss.expr.subs({r: 1, b: sp.Rational(-1, 5)}))
    ok, z = agrees_with_monte_carlo(value, _float_circuit(circuit, {r: 1, b: sp.Rational(-1, 5)}), law, None, {})
    assert ok, z


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("cos(1)", "circuit.W1[0][0] 'cos(1)': cos at position 0: the angle must be a rational multiple of pi"),
        ("2*pi", "circuit.W1[0][0] '2*pi': pi is transcendental"),
        ("cos(2*pi/7)", "circuit.W1[0][0] 'cos(2*pi/7)': cos at position 0: cos(2*pi/7) is not a real radical"),
        ("sqrt(1 - sqrt(2))", "circuit.W1[0][0] 'sqrt(1 - sqrt(2))': sqrt at position 0 of a negative number"),
        ("sqrt(2) + sqrt(3) + sqrt(5) + sqrt(7) + sqrt(11)", "[circuit] the weights' numbers"),
    ],
)
def test_weights_the_engine_cannot_hold_are_refused_in_one_line(tmp_path, capsys, weight, message):
    spec = tmp_path / "bad.toml"
    spec.write_text(f'[circuit]\nW1 = [["{weight}", "w"]]\nW2 = [[1], [1]]\n\n[law]\nkind = "one_hot"\n\n[at]\nw = 1\n')
    code, out, err = run(capsys, "derive", str(spec))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{spec}: {message}" in err, err


def test_piecewise_over_the_bias_of_the_pentagon():
    """Regime ends are roots of conditions with irrational coefficients: found through their
    norm, and the pieces cover the box (proven) and equal the float engine inside each piece."""
    from analytic import Problem, piecewise_loss

    circuit = regular_polygon(5)
    pw = piecewise_loss(Problem(circuit, OneHot(), free={b: (-1, 1)}, fixed={r: 1}))
    assert pw.proven and len(pw.pieces) == 4
    for value in (sp.Rational(-7, 10), sp.Rational(-1, 10), sp.Rational(1, 2), sp.Rational(9, 10)):
        floats = float(expected_loss(_float_circuit(circuit, {r: 1, b: value}), OneHot()).expr)
        assert abs(float(pw.expr.subs(b, value)) - floats) <= 1e-12


@pytest.mark.parametrize("command", [["derive"], ["check"], ["optimize", "--starts", "1", "--bounds", "w=1:2"]])
def test_a_root_of_a_weight_is_refused_by_the_exact_commands_naming_file_and_entry(tmp_path, capsys, command):
    spec = tmp_path / "root.toml"
    spec.write_text('[circuit]\nW1 = [["sqrt(w)"]]\nW2 = [[1]]\n\n[law]\nkind = "one_hot"\n\n[at]\nw = 2\n')
    code, out, err = run(capsys, command[0], str(spec), *command[1:])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{spec}: circuit.W1[0][0] sqrt(w): " in err and "roots of symbols" in err, err
