"""The exact expected loss: by hand, against Monte Carlo, across regime boundaries."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
import sympy as sp

from analytic import Circuit, OneHot, Problem, SparseUniform, SuperlossError, expected_loss, piecewise_loss, sym, syms
from analytic.presets import (
    CANONICAL,
    asymmetric_inhibition,
    asymmetric_superposition,
    compose,
    monosemantic_abs,
    relu_output,
    symmetric_superposition,
)
from numeric.facets import cross

from conftest import agrees_with_monte_carlo, numeric_value

S = sym("S")
w, b = syms("w b")
I3 = syms("I_a I_b I_c")
HALF_ABS = Circuit([[w]], [[1]])  # y' = ReLU(ReLU(w x)), target |x|


@pytest.fixture(scope="module")
def motif():
    """The fully symbolic motif, S and I symbolic, in the canonical regime."""
    return expected_loss(asymmetric_inhibition(), SparseUniform(S), I3, at=CANONICAL)


def rational_near(point: dict, rng: random.Random, spread: float) -> dict:
    return {s: v * (1 + sp.Rational(rng.randint(-1000, 1000), 1000) * sp.nsimplify(spread)) for s, v in point.items()}


# --- by hand -----------------------------------------------------------------------------


@pytest.mark.parametrize("at", [sp.Rational(1, 3), 2, -1, sp.Rational(-5, 2)])
def test_half_absolute_value_by_hand(at):
    loss = expected_loss(HALF_ABS, SparseUniform(0), at={w: at})
    expected = sp.Rational(1, 3) - sp.sign(at) * w / 3 + w**2 / 6
    assert sp.expand(loss.expr - expected) == 0
    assert loss.conditions == ((w > 0,) if at > 0 else (w < 0,))


def test_sparsity_multiplies_by_density():
    loss = expected_loss(HALF_ABS, SparseUniform(S), at={w: 1})
    assert sp.expand(loss.expr - (1 - S) * (sp.Rational(1, 3) - w / 3 + w**2 / 6)) == 0


def test_output_bias_by_hand():
    # E[(|x| - ReLU(w x + b))^2], x uniform on [-1, 1], 0 < -b < w: integrate by hand.
    loss = expected_loss(Circuit([[w]], [[1]], b2=[b]), SparseUniform(0), at={w: 2, b: sp.Rational(-1, 3)})
    x = sp.Symbol("x")
    by_hand = (sp.integrate(x**2, (x, -1, -b / w)) + sp.integrate((x - w * x - b) ** 2, (x, -b / w, 1))) / 2
    assert sp.cancel(loss.expr - by_hand) == 0


def test_monosemantic_loss_is_exactly_zero():
    assert expected_loss(monosemantic_abs(3), SparseUniform(S)).expr == 0
    assert expected_loss(monosemantic_abs(2), SparseUniform(syms("S_1 S_2"))).expr == 0


def test_reconstruction_model_by_hand():
    # n = 1, m = 1: ReLU(w^2 x) reconstructs x in [0, 1]; E[(x - w^2 x)^2] = (1 - w^2)^2 / 3.
    loss = expected_loss(relu_output([[w]]), SparseUniform(0, low=0, high=1), at={w: sp.Rational(1, 2)})
    assert sp.expand(loss.expr - (1 - w**2) ** 2 / 3) == 0


# --- the motif ----------------------------------------------------------------------------


def test_motif_symmetry(motif):
    """Scaling (w_a, w_b) by c and (o_a, o_b, gamma) by 1/c leaves the loss unchanged."""
    c = sym("c")
    w_a, w_b, o_a, o_b, gamma = syms("w_a w_b o_a o_b gamma")
    scaled = motif.expr.subs(
        {w_a: c * w_a, w_b: c * w_b, o_a: o_a / c, o_b: o_b / c, gamma: gamma / c}, simultaneous=True
    )
    rng = random.Random(1)
    for _ in range(3):
        point = {
            **rational_near(CANONICAL, rng, 0.05),
            c: sp.Rational(rng.randint(2, 30), 7),
            S: sp.Rational(rng.randint(1, 99), 100),
            **{i: sp.Rational(rng.randint(1, 9), 4) for i in I3},
        }
        assert scaled.subs(point) == motif.expr.subs(point)


def test_motif_conditions_hold_at_point(motif):
    assert not motif.on_boundary
    assert motif.regime.holds(CANONICAL)
    assert all(c.subs(CANONICAL) == sp.true for c in motif.conditions)


def test_motif_matches_monte_carlo_in_its_regime(motif):
    rng = random.Random(7)
    checked = 0
    while checked < 4:
        point = rational_near(CANONICAL, rng, 0.1)
        if not motif.regime.holds(point):
            continue
        values = {
            **point,
            S: sp.Rational(rng.choice([3, 5, 7]), 10),
            I3[0]: 1,
            I3[1]: sp.Rational(rng.randint(1, 10), 10),
            I3[2]: 1,
        }
        value = numeric_value(motif.expr, values)
        ok, z = agrees_with_monte_carlo(value, motif.circuit, motif.law, I3, values, seed=checked)
        assert ok, f"closed form {value} vs Monte Carlo: z = {z:.2f} at {values}"
        wrong, z_wrong = agrees_with_monte_carlo(1.03 * value, motif.circuit, motif.law, I3, values, seed=checked)
        assert not wrong, f"a formula 3% off was not rejected (z = {z_wrong:.2f})"
        checked += 1


def test_motif_matches_numeric_evaluation(motif):
    """The regime's formula equals the loss of the numeric circuit at the same point."""
    numeric = expected_loss(asymmetric_inhibition().subs(CANONICAL), SparseUniform(S), I3)
    assert sp.expand(numeric.expr - motif.expr.subs(CANONICAL)) == 0


@pytest.mark.slow
def test_every_condition_crossed(motif):
    """Across each condition the formula changes, and the new one matches Monte Carlo."""
    rng = random.Random(3)
    generic = {
        **rational_near(CANONICAL, rng, 0.5),
        S: sp.Rational(37, 100),
        I3[0]: sp.Rational(11, 10),
        I3[1]: sp.Rational(3, 10),
        I3[2]: sp.Rational(7, 10),
    }
    alone = 0
    for k, factor in enumerate(sorted(motif.regime.factors, key=sp.default_sort_key)):
        point, single = cross(motif.regime, factor, CANONICAL)
        assert point is not None, f"no point across {factor}"
        alone += single
        other = expected_loss(motif.circuit, motif.law, I3, at=point)
        assert other.regime != motif.regime
        assert other.expr.subs(generic) != motif.expr.subs(generic), f"same formula across {factor}"
        values = {**point, S: sp.Rational(1, 2), I3[0]: 1, I3[1]: sp.Rational(3, 10), I3[2]: 1}
        value = numeric_value(other.expr, values)
        ok, z = agrees_with_monte_carlo(value, motif.circuit, motif.law, I3, values, seed=k)
        assert ok, f"across {factor}: z = {z:.2f}"
    # The facets of the regime: conditions crossed while all others hold.
    assert alone >= 10


def test_boundary_point_returns_adjacent_regime():
    """Zero biases put the point on a boundary; an adjacent regime's formula is returned."""
    point = {**CANONICAL, sym("b_a"): 0, sym("b_b"): 0, sym("b_c"): 0}
    loss = expected_loss(asymmetric_inhibition(), SparseUniform(S), [1, sp.Rational(3, 10), 1], at=point)
    assert loss.on_boundary
    assert loss.regime.holds(point, strict=False)
    assert not loss.regime.holds(point, strict=True)
    values = {**point, S: sp.Rational(1, 2)}
    value = numeric_value(loss.expr, values)
    ok, z = agrees_with_monte_carlo(value, loss.circuit, loss.law, [1, 0.3, 1], values)
    assert ok, z


def test_boundary_at_a_kink():
    loss = expected_loss(HALF_ABS, SparseUniform(S), at={w: 0})
    assert loss.on_boundary and loss.expr.subs(w, 0) == (1 - S) / 3


def test_point_is_required_for_symbolic_weights():
    with pytest.raises(SuperlossError, match="a point is needed.*w_a"):
        expected_loss(asymmetric_inhibition(), SparseUniform(S))
    with pytest.raises(SuperlossError, match="kappa"):
        expected_loss(
            asymmetric_inhibition(), SparseUniform(S), at={k: v for k, v in CANONICAL.items() if k.name != "kappa"}
        )


# --- other circuits and laws --------------------------------------------------------------


@pytest.mark.parametrize(
    "preset, point",
    [
        (asymmetric_superposition, {k: v for k, v in CANONICAL.items() if k.name not in ("kappa", "delta", "gamma")}),
        (
            symmetric_superposition,
            {sym("w"): 1, sym("o"): sp.Rational(3, 4), **{sym(f"b_{f}"): sp.Rational(-1, 20) for f in "abc"}},
        ),
    ],
)
def test_presets_match_monte_carlo(preset, point):
    loss = expected_loss(preset(), SparseUniform(S), at=point)
    values = {**point, S: sp.Rational(7, 10)}
    ok, z = agrees_with_monte_carlo(numeric_value(loss.expr, values), loss.circuit, loss.law, None, values)
    assert ok, z


def test_per_feature_sparsity_matches_monte_carlo():
    sparsity = syms("S_a S_b S_c")
    loss = expected_loss(asymmetric_inhibition().subs(CANONICAL), SparseUniform(sparsity), [1, 2, sp.Rational(1, 2)])
    values = dict(zip(sparsity, map(sp.Rational, ("0.2", "0.6", "0.4")), strict=True))
    ok, z = agrees_with_monte_carlo(numeric_value(loss.expr, values), loss.circuit, loss.law, [1, 2, 0.5], values)
    assert ok, z


def test_one_hot_reconstruction_matches_monte_carlo():
    w1, w2, b1, b2 = syms("w_1 w_2 b_1 b_2")
    circuit = relu_output([[w1, w2]], [b1, b2])
    point = {w1: 1, w2: sp.Rational(-1, 2), b1: sp.Rational(-1, 10), b2: sp.Rational(-1, 10)}
    loss = expected_loss(circuit, OneHot(), [1, sp.Rational(1, 2)], at=point)
    ok, z = agrees_with_monte_carlo(numeric_value(loss.expr, point), circuit, OneHot(), [1, 0.5], point)
    assert ok, z


def test_composed_two_instances_match_monte_carlo():
    circuit = compose(6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)])
    rng = random.Random(5)
    point = {}
    for s in circuit.symbols:
        base = {
            "w_a": 1,
            "w_b": sp.Rational(1, 5),
            "o_a": 1,
            "o_b": 5,
            "delta": sp.Rational(7, 10),
            "kappa": 7,
            "gamma": sp.Rational(7, 10),
        }.get(s.name.rstrip("12"), sp.Rational(-1, 50))
        point[s] = base * (1 + sp.Rational(rng.randint(-50, 50), 1000))
    loss = expected_loss(circuit.subs(point), SparseUniform(S), [sp.Rational(7, 10) ** i for i in range(6)])
    values = {S: sp.Rational(1, 2)}
    ok, z = agrees_with_monte_carlo(
        numeric_value(loss.expr, values), circuit.subs(point), loss.law, [0.7**i for i in range(6)], values
    )
    assert ok, z


def test_float_weights_agree_with_rationalised_computation():
    rng = random.Random(11)
    point = {s: float(v) * (1 + rng.uniform(-0.2, 0.2)) for s, v in CANONICAL.items()}
    circuit = asymmetric_inhibition().subs(point)
    floats = expected_loss(circuit, SparseUniform(S), [1, 0.3, 1])
    exact = expected_loss(circuit, SparseUniform(S), [1, sp.Rational(0.3), 1], exact=True)
    for s in (0, 0.3, 0.9, 0.99):
        a, e = float(floats.expr.subs(S, s)), float(exact.expr.subs(S, s))
        assert abs(a - e) <= 1e-9 * abs(e)


def test_piecewise_one_weight_is_proven_and_continuous():
    kappa = sym("kappa")
    fixed = {k: v for k, v in CANONICAL.items() if k != kappa}
    pw = piecewise_loss(
        Problem(
            asymmetric_inhibition(), SparseUniform(S), [1, sp.Rational(3, 10), 1], free={kappa: (0, 40)}, fixed=fixed
        )
    )
    assert pw.proven and len(pw.pieces) > 3
    pieces = pw.expr.args
    for (left, cond), (right, _) in pairwise(pieces):
        # At each boundary both neighbouring formulas agree: the loss is continuous.
        edge = cond.as_set().sup
        values = {kappa: edge, S: sp.Rational(1, 2)}
        assert abs(float(left.subs(values) - right.subs(values))) < 1e-12
    at = {kappa: sp.Rational(13, 2), S: sp.Rational(1, 2)}
    values = {**fixed, **at}
    value = numeric_value(pw.expr.subs(S, at[S]), {kappa: at[kappa]})
    ok, z = agrees_with_monte_carlo(value, asymmetric_inhibition(), SparseUniform(S), [1, 0.3, 1], values)
    assert ok, z


def test_piecewise_two_weights_say_sampled():
    pw = piecewise_loss(Problem(Circuit([[w]], [[1]], b2=[b]), SparseUniform(0), free={w: (-1, 1), b: (-1, 1)}), grid=6)
    assert not pw.proven and pw.method == "found by sampling"
    assert len(pw.pieces) >= 3


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: SparseUniform(1.5), "outside"),
        (lambda: expected_loss(HALF_ABS.subs({w: 1}), SparseUniform(0), [-1]), "negative"),
        (lambda: expected_loss(HALF_ABS.subs({w: 1}), SparseUniform(0), [1, 2]), "2 entries"),
        (lambda: Circuit([[1, 2]], [[1, 2]]), "shape"),
        (lambda: expected_loss(HALF_ABS, SparseUniform(0), at={w: sp.sqrt(2)}), "not rational"),
        (lambda: SparseUniform(0, low=1, high=0), "below"),
    ],
)
def test_bad_input_is_one_line(make, message):
    with pytest.raises(SuperlossError, match=message) as info:
        make()
    assert "\n" not in str(info.value)


def test_weight_zero_at_the_point_still_in_the_formula():
    """gamma = 0 at the point: the regime's formula must still hold for small gamma."""
    gamma = sym("gamma")
    loss = expected_loss(
        asymmetric_inhibition(), SparseUniform(S), [1, sp.Rational(3, 10), 1], at={**CANONICAL, gamma: 0}
    )
    assert loss.expr.has(gamma)
    near = {**CANONICAL, gamma: sp.Rational(1, 20)}
    assert loss.regime.holds(near)
    values = {**near, S: sp.Rational(1, 2)}
    ok, z = agrees_with_monte_carlo(numeric_value(loss.expr, values), loss.circuit, loss.law, [1, 0.3, 1], values)
    assert ok, z


@pytest.mark.parametrize(
    "make",
    [
        lambda: Circuit([["__import__('os')"]], [[1]]),
        lambda: Circuit([[1]], [[1]], b2=["b"]),
        lambda: expected_loss(HALF_ABS, SparseUniform(0), at={w: "1"}),
        lambda: expected_loss(HALF_ABS.subs({w: 1}), SparseUniform(0), ["1"]),
        lambda: SparseUniform("S"),
    ],
)
def test_text_is_never_sympified(make):
    with pytest.raises(SuperlossError, match="text|must be"):
        make()


@pytest.mark.slow
@pytest.mark.parametrize("sparsity", [0, sp.Rational(1, 2)])
def test_trained_size_float_network_matches_monte_carlo(sparsity):
    """n = 6, m = 10, dense float weights: every 6-dimensional term counts at S = 0."""
    from numeric.bench import trained_size_weights

    W1, W2, b2 = trained_size_weights()
    circuit = Circuit(W1.tolist(), W2.tolist(), b2=b2.tolist())
    importance = [0.7**i for i in range(6)]
    loss = expected_loss(circuit, SparseUniform(S), importance)
    values = {S: sparsity}
    ok, z = agrees_with_monte_carlo(numeric_value(loss.expr, values), circuit, SparseUniform(S), importance, values)
    assert ok, z


def test_a_unit_coefficient_is_not_printed():
    # y' = 0 with importance 3: L = 3 E[x^2] (1 - S) = 1 - S, which printed as "1 (1 - S)".
    loss = expected_loss(Circuit([[1]], [[0]]), SparseUniform(S), [3])
    assert str(loss.expr) == "1 - S" and r"1 \left" not in sp.latex(loss.expr)


def test_bounding_conditions_are_crossed_alone_and_the_rest_proved_or_said_hidden():
    from numeric.facets import bounding

    w, v = syms("w v")
    loss = expected_loss(Circuit([[w, v]], [[1], [1]]), SparseUniform(sp.Rational(1, 2)), at={w: 2, v: -1})
    # The regime is w > 0, v < 0, v + w > 0, v < w: w = (v + w) + (-v) and w - v = w + (-v) follow.
    found = bounding(loss)
    assert set(found.conditions) == {v < 0, v + w > 0}
    assert {str(c) for c, _ in found.implied} == {"w > 0", "v < w"} and not found.hidden


def test_the_motifs_bounding_conditions_are_checked_exactly(motif):
    from numeric.facets import bounding

    found = bounding(motif)
    assert len(found.bounding) + len(found.implied) + len(found.hidden) == len(motif.conditions)
    assert len(found.bounding) >= 10 and (sym("b_a") < 0) in found.conditions
    for condition, point in found.bounding:
        # Across it, this condition alone fails; the point is a rational point near the witness.
        failing = [c for c in motif.conditions if not c.subs(point)]
        assert failing == [condition]
    for condition, combination in found.implied:
        # The condition's side is the combination of the bounding ones' sides, exactly.
        side = lambda c: c.lhs - c.rhs if isinstance(c, sp.StrictGreaterThan) else c.rhs - c.lhs  # noqa: E731
        by_name = {str(c): c for c in found.conditions}
        total = sum((k * side(by_name[n]) for n, k in combination["conditions"].items()), sp.S.Zero)
        total += sum((d * s**2 for s, d in combination["squares"].items()), sp.S.Zero)
        assert all(k >= 0 for k in [*combination["conditions"].values(), *combination["squares"].values()])
        assert sp.expand(side(condition) - total - combination["constant"]) == 0


def test_a_linear_hidden_layer_is_multiplied_out_without_changing_the_loss():
    # Hidden biases pass through W2: out(W2 (W1 x + b1) + b2) = out(W2 W1 x + W2 b1 + b2).
    w = sym("w")
    circuit = Circuit(
        [[w, 1, 0], [sp.Rational(1, 2), -1, 1]],
        [[1, sp.Rational(1, 3)], [0, 1], [-1, 2]],
        b1=[sp.Rational(1, 5), -sp.Rational(1, 10)],
        b2=[0, sp.Rational(-1, 4), sp.Rational(1, 8)],
        hidden="linear",
        output="relu",
        target="abs",
    )
    at = {w: sp.Rational(3, 2)}
    loss = expected_loss(circuit, SparseUniform(sp.Rational(1, 2)), at=at)
    assert loss.circuit is circuit and circuit.collapsed().W1 == circuit.W2 * circuit.W1
    value = float(loss.expr.subs(at))
    # The float engine integrates the circuit as given, two layers.
    from numeric.engines.pointwise import PointwiseLoss

    floats = PointwiseLoss(Problem(circuit, SparseUniform(sp.Rational(1, 2)), free=[w])).value([1.5])
    assert abs(value - floats) < 1e-12
    ok, z = agrees_with_monte_carlo(value, circuit, SparseUniform(sp.Rational(1, 2)), None, at)
    assert ok, z
