"""The optimizer against independent searches, Monte Carlo and the exact stationary conditions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, Problem, SparseUniform, SuperlossError, piecewise_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition, symmetric_superposition
from analytic.stationary import stationary
from numeric.engines.regimes import RegimeLoss
from numeric.optimize import optimize

S, kappa = sym("S"), sym("kappa")
IMPORTANCE = [1, sp.Rational(3, 10), 1]


def test_half_absolute_value_optimum_by_hand():
    """E[(|x| - ReLU(w x))^2] = 1/3 - |w|/3 + w^2/6 is least at w = +-1, where it is 1/6."""
    w = sym("w")
    best = optimize(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-3, 3)}), starts=6, seed=1, samples=0)
    assert abs(best.params[w]) == pytest.approx(1.0, abs=1e-6)
    assert best.loss == pytest.approx(1 / 6, rel=1e-9)
    assert best.verdict == "minimum" and not best.active_bounds and best.hits >= 1


def test_inhibition_strength_matches_a_dense_scan_of_the_piecewise_loss():
    fixed = {s: v for s, v in CANONICAL.items() if s != kappa}
    best = optimize(
        Problem(
            asymmetric_inhibition(),
            SparseUniform(S),
            IMPORTANCE,
            free={kappa: (0, 40)},
            fixed={**fixed, S: sp.Rational(9, 10)},
        ),
        starts=6,
        samples=0,
    )
    pw = piecewise_loss(
        Problem(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free={kappa: (0, 40)}, fixed=fixed)
    )
    scan = sp.lambdify(kappa, pw.expr.subs(S, sp.Rational(9, 10)), "numpy")
    grid = np.linspace(0.001, 40, 40000)  # kappa = 0 itself divides by zero in other pieces
    values = np.array([float(scan(k)) for k in grid])
    assert best.loss <= values.min() + 1e-12
    assert best.params[kappa] == pytest.approx(grid[values.argmin()], abs=2e-3)
    assert best.verdict == "minimum" and best.gradient_norm < 1e-5


def test_optimal_kappa_is_a_root_of_its_exact_stationary_condition():
    fixed = {**{s: v for s, v in CANONICAL.items() if s != kappa}, S: sp.Rational(9, 10)}
    best = optimize(
        Problem(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free={kappa: (0, 100)}, fixed=fixed),
        starts=4,
        samples=0,
        global_search=True,
    )
    condition = stationary(best.regime, kappa)
    roots = condition.roots_at(fixed)
    assert min(abs(r - best.params[kappa]) for r in roots) < 1e-6
    assert r"\partial \kappa" in condition.latex()


def test_optimal_output_biases_are_roots_of_their_exact_stationary_conditions():
    """Each output bias enters only its own output's terms: one polynomial condition each."""
    biases = syms("b_a b_b b_c")
    fixed = {**{s: v for s, v in CANONICAL.items() if s not in biases}, S: sp.Rational(9, 10)}
    best = optimize(
        Problem(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free={b: (-1, 1) for b in biases}, fixed=fixed),
        starts=3,
        samples=0,
        global_search=False,
    )
    assert best.verdict == "minimum" and best.gradient_norm < 1e-8
    point = {**fixed, **{b: sp.Rational(v) for b, v in best.params.items()}}
    for b in biases:
        condition = stationary(best.regime, b)
        assert condition.condition.free_symbols <= set(CANONICAL) | {S}
        assert min(abs(r - best.params[b]) for r in condition.roots_at(point)) < 1e-7


def test_certificate_reports_the_rescaling_as_a_flat_direction_and_agrees_with_monte_carlo():
    w, o = syms("w o")
    fixed = {S: sp.Rational(9, 10), **{b: sp.Rational(-1, 50) for b in syms("b_a b_b b_c")}}
    best = optimize(
        Problem(symmetric_superposition(), SparseUniform(S), IMPORTANCE, free={w: (0.1, 5), o: (0.1, 5)}, fixed=fixed),
        starts=4,
        seed=3,
        samples=2_000_000,
        global_search=True,
    )
    assert best.verdict == "minimum" and len(best.hessian_eigenvalues) == 1
    (flat,) = best.symmetries
    assert flat == pytest.approx({w: best.params[w], o: -best.params[o]})
    # The loss is constant along the symmetry, so the Hessian annihilates it at a stationary point.
    f = RegimeLoss(Problem(symmetric_superposition(), SparseUniform(S), IMPORTANCE, free=[w, o], fixed=fixed))
    x = np.array([best.params[w], best.params[o]])
    v = np.array([flat[w], flat[o]])
    assert np.linalg.norm(f.hessian(x) @ v) < 1e-8 * np.linalg.norm(f.hessian(x)) * np.linalg.norm(v)
    assert best.global_loss == pytest.approx(best.loss, rel=1e-9)
    assert best.monte_carlo.stderr < 0.01 * best.loss and abs(best.zscore) < 5
    assert abs(best.monte_carlo.zscore(1.03 * best.loss)) > 5  # the check can fail
    # Reported in the canonical gauge: the neuron's largest input weight w is 1, the product kept.
    assert best.canonical[w] == pytest.approx(1, abs=1e-15)
    assert best.canonical[w] * best.canonical[o] == pytest.approx(best.params[w] * best.params[o], rel=1e-14)
    data = best.to_dict()
    assert (
        data["params"] == {"w": best.canonical[w], "o": best.canonical[o]} and data["searched"]["w"] == best.params[w]
    )
    assert "searched at" in str(best)
    # Where the gauge would leave the box, the searched point is reported.
    tight = replace(best, problem=best.problem.replace(free={w: (0.1, 0.9), o: (0.1, 5)}))
    assert tight.canonical == best.params


def test_json_result_names_parameters_and_certificate():
    w = sym("w")
    data = optimize(
        Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (0.5, 3)}), starts=2, samples=10_000
    ).to_dict()
    assert set(data["params"]) == {"w"} and data["certificate"]["verdict"] == "minimum"
    assert data["certificate"]["monte_carlo"]["samples"] == 10_000


def test_an_optimum_on_a_bound_is_reported_with_its_outward_gradient():
    w = sym("w")
    best = optimize(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (0.1, 0.5)}), starts=3, samples=0)
    assert best.params[w] == pytest.approx(0.5) and best.active_bounds == {w: "high"}
    assert best.gradient_norm == 0.0 and best.verdict == "minimum"


@pytest.mark.parametrize(
    "free, message",
    [
        ({kappa: (1, 1)}, "low < high"),
        ({kappa: (0, float("inf"))}, "finite"),
        ({kappa: "wide"}, "expected"),
        ({}, "nothing is free"),
    ],
)
def test_bad_bounds(free, message):
    fixed = {s: v for s, v in CANONICAL.items() if s != kappa}
    with pytest.raises(SuperlossError, match=message):
        optimize(Problem(asymmetric_inhibition(), SparseUniform(sp.Rational(1, 2)), free=free, fixed=fixed))
    # A weight left out of the fixed ones and the free ones is named.
    with pytest.raises(SuperlossError, match="no value for kappa"):
        optimize(
            Problem(
                asymmetric_inhibition(),
                SparseUniform(sp.Rational(1, 2)),
                free={sym("w_a"): (0, 1)},
                fixed={s: v for s, v in fixed.items() if s.name != "w_a"},
            )
        )


def test_regimes_are_not_shared_between_laws_with_different_numeric_sparsities():
    """1/3 - |w|/3 + w^2/6 at S = 0 is 1/6 at w = 1; at S = 1/2 the loss halves."""
    w = sym("w")
    for sparsity, expected in ((0, 1 / 6), (sp.Rational(1, 2), 1 / 12)):
        best = optimize(
            Problem(Circuit([[w]], [[1]]), SparseUniform(sparsity), free={w: (0.2, 3)}),
            starts=2,
            samples=0,
            global_search=False,
        )
        assert best.loss == pytest.approx(expected, rel=1e-9)


def test_starts_cover_boxes_away_from_zero():
    from numeric.optimize import random_starts

    points = np.array(random_starts(np.array([-10.0, 0.1]), np.array([-1.0, 5.0]), 400, np.random.default_rng(0)))
    for k, (lo, hi) in enumerate(((-10, -1), (0.1, 5))):
        on_bound = np.isclose(points[:, k], lo) | np.isclose(points[:, k], hi)
        assert np.all((points[:, k] >= lo) & (points[:, k] <= hi)) and on_bound.mean() < 0.01


def test_a_minimum_states_its_eigenvalue_range_and_whether_it_is_ill_conditioned():
    w = sym("w")
    best = optimize(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free={w: (-3, 3)}), starts=2, seed=1, samples=0)
    assert best.hessian_words == "minimum, eigenvalues from 0.333 to 0.333" and best.conditioning == pytest.approx(1)
    flat = replace(best, hessian_eigenvalues=np.array([5e-7, 1.9]))  # the spread the issue reported
    assert "ill-conditioned (ratio 2.6e-07 < 1e-06)" in flat.hessian_words and "ill-conditioned" in str(flat)
    assert flat.to_dict()["certificate"]["ill_conditioned"] is True
    saddle = replace(best, verdict="saddle", hessian_eigenvalues=np.array([-1.0, 2.0]))
    assert saddle.conditioning is None and saddle.hessian_words == "saddle (eigenvalues -1, 2)"
