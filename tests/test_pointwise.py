"""The pointwise exact loss and gradient against the closed forms and Monte Carlo."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from analytic import Problem, SparseUniform, SuperlossError, sym
from analytic.spec import load_spec
from numeric.engines.pointwise import PointwiseLoss
from numeric.engines.regimes import RegimeLoss

from conftest import agrees_with_monte_carlo

S, I_b = sym("S"), sym("I_b")
STUDY = load_spec(Path(__file__).resolve().parents[1] / "docs" / "examples" / "motif_study.toml")
PARAMS = list(STUDY.bounds)
LO, HI = np.array([[float(a), float(b)] for a, b in STUDY.bounds.values()]).T


@pytest.mark.parametrize("seed", range(4))
def test_value_and_gradient_equal_the_closed_form_of_the_regime(seed):
    fixed = {S: sp.Rational(7, 10), I_b: sp.Rational(3, 10)}
    problem = Problem(STUDY.circuit, STUDY.law, STUDY.importance, free=PARAMS, fixed=fixed)
    pointwise, closed = PointwiseLoss(problem), RegimeLoss(problem)
    rng = np.random.default_rng(seed)
    # Moderate weights, so that the points fall in regimes where every neuron matters.
    x = LO + (HI - LO) * rng.random(len(PARAMS)) * np.array([0.3, 0.3, 0.3, 0.3, 1, 0.05, 0.1, 1, 1, 1])
    value, gradient = pointwise.value_and_gradient(x)
    assert value == pytest.approx(closed.value(x), rel=1e-10)
    assert gradient == pytest.approx(closed.gradient(x), rel=1e-8, abs=1e-12 * np.abs(gradient).max())
    assert pointwise.value(x) == pytest.approx(value, rel=1e-12)


def test_value_agrees_with_monte_carlo_where_weights_vanish():
    """A corner where closed forms divide by zero: the rider dropped, no inhibition."""
    point = {**{p: 0 for p in PARAMS}, sym("w_a"): 1, sym("o_a"): 1, S: sp.Rational(1, 2), I_b: 1}
    weights = {p: point[p] for p in PARAMS}
    pointwise = PointwiseLoss(
        Problem(STUDY.circuit, STUDY.law, STUDY.importance, free=PARAMS, fixed={S: point[S], I_b: point[I_b]})
    )
    value = pointwise.value([float(weights[p]) for p in PARAMS])
    ok, _ = agrees_with_monte_carlo(value, STUDY.circuit, STUDY.law, STUDY.importance, point, seed=5)
    wrong, _ = agrees_with_monte_carlo(1.03 * value, STUDY.circuit, STUDY.law, STUDY.importance, point, seed=5)
    assert ok and not wrong


def test_only_weights_can_be_free():
    with pytest.raises(SuperlossError, match="not weights"):
        PointwiseLoss(
            Problem(STUDY.circuit, STUDY.law, STUDY.importance, free=[S], fixed={I_b: 1, **{p: 1 for p in PARAMS}})
        )
    with pytest.raises(SuperlossError, match="no value for"):
        PointwiseLoss(Problem(STUDY.circuit, SparseUniform(S), STUDY.importance, free=PARAMS, fixed={I_b: 1}))
