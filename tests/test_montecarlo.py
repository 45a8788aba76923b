"""Monte Carlo against losses derived by hand.

One feature uniform on [-1, 1] through ``ReLU(w x)``: half the time ``x`` is on
the side ``w`` lets through, ``E[(1 - |w|)^2 x^2] = (1 - |w|)^2 / 3``; the other
half the output is 0 and ``E[x^2] = 1/3``. So the loss is
``(1 - |w|)^2 / 6 + 1/6 = 1/3 - |w|/3 + w^2/6``, the same for either sign of ``w``.
"""

import math

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, OneHot, Problem, SparseUniform, SuperlossError, presets, sym
from numeric.engines.montecarlo import MonteCarloResult, forward, monte_carlo_loss


def one_feature(w) -> float:
    return 1 / 3 - abs(w) / 3 + w * w / 6


def mc(circuit, law, importance=None, values=None, **options) -> MonteCarloResult:
    return monte_carlo_loss(Problem(circuit, law, importance, fixed=values), **options)


def assert_matches(result: MonteCarloResult, exact: float) -> None:
    """The exact value is accepted, and the estimate is sharp enough to reject 3% off."""
    assert abs(result.zscore(exact)) < 5, (str(result), exact)
    assert result.stderr <= 0.005 * exact
    assert abs(result.zscore(1.03 * exact)) > 5
    assert abs(result.zscore(0.97 * exact)) > 5


@pytest.mark.parametrize("w", [0.5, 1.0, -1.3, 2.0, 0.0])
def test_one_feature_numeric_weight(w):
    assert_matches(mc(Circuit([[w]], [[1]]), SparseUniform(0)), one_feature(w))


@pytest.mark.parametrize("w", [0.7, -0.4])
def test_one_feature_symbolic_weight(w):
    W = sym("w")
    assert_matches(mc(Circuit([[W]], [[1]]), SparseUniform(0), values={W: w}), one_feature(w))
    # Keys may also be names, and SymPy numbers are accepted as values.
    by_name = mc(Circuit([[W]], [[1]]), SparseUniform(0), values={"w": sp.Float(w)})
    assert by_name.mean == mc(Circuit([[W]], [[1]]), SparseUniform(0), values={W: w}).mean


def test_sparse_one_feature():
    # A zero feature gives zero loss (|0| = ReLU(0) = 0), so only the active fraction counts.
    W, S = sym("w"), sym("S")
    result = mc(Circuit([[W]], [[1]]), SparseUniform(S), values={W: 0.5, S: 0.9}, samples=2_000_000)
    assert_matches(result, (1 - 0.9) * one_feature(0.5))


def test_monosemantic_is_exact():
    result = mc(presets.monosemantic_abs(3), SparseUniform(0.3), samples=100_000)
    assert (result.mean, result.stderr) == (0.0, 0.0) and result.zero_variance
    # Zero variance: agreement is an absolute tolerance of 64 epsilons of the all-zero model's loss (0.7 here).
    assert result.tolerance == pytest.approx(64 * np.finfo(float).eps * 0.7, rel=1e-12)
    assert result.zscore(0) is None and result.agrees(0) and result.agrees(-5.55e-17)
    assert not result.agrees(0.01) and not result.agrees(-1e-13)
    assert result.compare(-5.55e-17).startswith("zero variance: agrees")


def test_per_feature_sparsity_and_importance():
    # Feature 0 has both halves, so is exact; feature 1 has no neuron, so y'_1 = 0 and
    # its loss is I_1 * P(active) * E[x^2] = I_1 (1 - S_1) / 3.
    S0, S1, I1 = sym("S_0"), sym("S_1"), sym("I_1")
    c = Circuit([[1, 0], [-1, 0]], [[1, 1], [0, 0]])
    result = mc(c, SparseUniform([S0, S1]), [1, I1], {S0: 0.2, S1: 0.4, I1: 3}, samples=400_000)
    assert_matches(result, 3 * 0.6 / 3)


def test_output_bias():
    # All weights 0: y' = ReLU(b), so the loss is E[(|x| - b)^2] = 1/3 - b + b^2 for b >= 0.
    b = 0.25
    c = Circuit([[0]], [[0]], b2=[b])
    assert_matches(mc(c, SparseUniform(0), samples=400_000), 1 / 3 - b + b * b)
    # The same constant reached through the hidden bias: ReLU(0 x + b) * 1.
    c = Circuit([[0]], [[1]], b1=[b])
    assert_matches(mc(c, SparseUniform(0), samples=400_000), 1 / 3 - b + b * b)


def test_one_hot_identity():
    # Linear hidden, ReLU output, target x on [0, 1]: with W = I, y' = ReLU(x) = x exactly.
    c = Circuit(sp.eye(2), sp.eye(2), hidden="linear", output="relu", target="identity")
    result = mc(c, OneHot(0, 1), samples=50_000)
    assert (result.mean, result.stderr) == (0.0, 0.0)
    # With W2 = 0, y' = 0 and the loss is the active value squared: E[x^2] = 1/3.
    c = Circuit(sp.eye(2), sp.zeros(2, 2), hidden="linear", output="relu", target="identity")
    assert_matches(mc(c, OneHot(0, 1), samples=400_000), 1 / 3)


def test_one_hot_abs_positive_half_only():
    # Neurons ReLU(x_i) only: the active value is lost when negative, E[x^2; x < 0] = 1/6.
    c = Circuit(sp.eye(3), sp.eye(3))
    assert_matches(mc(c, OneHot(-1, 1), samples=400_000), 1 / 6)


def test_seeds():
    c = Circuit([[0.5]], [[1]])
    first = mc(c, SparseUniform(0.5), samples=100_000, seed=7, batch=30_000)
    again = mc(c, SparseUniform(0.5), samples=100_000, seed=7, batch=30_000)
    other = mc(c, SparseUniform(0.5), samples=100_000, seed=8, batch=30_000)
    assert (first.mean, first.stderr) == (again.mean, again.stderr)
    assert first.mean != other.mean
    assert (first.samples, first.seed) == (100_000, 7)


def test_batches_merge_like_one_pass():
    # The same draws split into uneven batches give the same mean and standard error.
    c = Circuit([[0.5]], [[1]])
    rng = np.random.default_rng(3)
    x = SparseUniform(0).sample(1, 10_001, rng)
    loss = ((np.abs(x) - forward(np.array([[0.5]]), np.array([[1.0]]), np.zeros(1), np.zeros(1), x)) ** 2)[:, 0]
    result = mc(c, SparseUniform(0), samples=10_001, seed=3, batch=20_000)
    assert result.mean == pytest.approx(loss.mean(), rel=1e-12)
    assert result.stderr == pytest.approx(loss.std(ddof=1) / math.sqrt(loss.size), rel=1e-9)
    # Batches of one sample: all of the spread comes from the merge step.
    single = mc(c, SparseUniform(0), samples=5_000, seed=3, batch=1)
    assert single.stderr == pytest.approx(result.stderr * math.sqrt(10_001 / 5_000), rel=0.1)
    assert abs(single.zscore(result.mean)) < 5


def test_sample_features():
    rng = np.random.default_rng(0)
    x = SparseUniform([0.0, 0.5, 1.0], -2, 3).sample(3, 100_000, rng)
    assert x.shape == (100_000, 3)
    assert x.min() >= -2 and x.max() <= 3
    assert (x[:, 2] == 0).all() and (x[:, 0] != 0).all()
    assert abs((x[:, 1] == 0).mean() - 0.5) < 0.01
    x = OneHot(-1, 1).sample(4, 10_000, rng)
    assert ((x != 0).sum(axis=1) == 1).all()
    assert np.allclose((x != 0).mean(axis=0), 0.25, atol=0.02)
    with pytest.raises(SuperlossError, match="fix them"):
        SparseUniform(sym("S")).sample(2, 10, rng)


def test_forward():
    W1 = np.array([[1.0, -1.0], [2.0, 0.0]])
    W2 = np.array([[1.0, 1.0], [-1.0, 0.5]])
    x = np.array([[1.0, 3.0], [0.5, 0.0]])
    b1, b2 = np.array([0.0, -1.0]), np.array([0.5, 0.0])
    # Row 0: hidden (-2, 1) -> ReLU (0, 1) -> (1.5, 0.5). Row 1: hidden (0.5, 0) -> (1.0, -0.5).
    assert np.allclose(forward(W1, W2, b1, b2, x), [[1.5, 0.5], [1.0, 0.0]])
    assert np.allclose(
        forward(W1, W2, b1, b2, x, hidden="linear", output="linear"), [[0.5 + -2 + 1, 2 + 0.5], [0.5 + 0.5 + 0, -0.5]]
    )


def test_missing_symbols():
    W, S, I = sym("w"), sym("S"), sym("I_w")
    c = Circuit([[W]], [[1]])
    with pytest.raises(SuperlossError, match="no value for I_w, S, w") as err:
        mc(c, SparseUniform(S), [I], {})
    assert "\n" not in str(err.value)
    with pytest.raises(SuperlossError, match="no value for S"):
        mc(c, SparseUniform(S), values={W: 1})
    with pytest.raises(SuperlossError, match="fix w"):
        monte_carlo_loss(Problem(c, SparseUniform(S), free=[W], fixed={S: 0.5}))


@pytest.mark.parametrize(
    "values",
    [
        {"S": 1.5, "w": 1, "I_w": 1},  # sparsity outside [0, 1]
        {"S": 0.5, "w": 1, "I_w": -1},  # negative importance
        {"S": 0.5, "w": math.inf, "I_w": 1},
        {"S": 0.5, "w": sp.I, "I_w": 1},
        {"S": 0.5, "w": "x", "I_w": 1},
        {"S": 0.5, "w": 1, "I_w": 1, "v": 2},  # a symbol the problem does not use
    ],
)
def test_bad_values(values):
    with pytest.raises(SuperlossError):
        mc(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")), [sym("I_w")], values, samples=100)


def test_bad_arguments():
    c = Circuit([[1]], [[1]])
    with pytest.raises(SuperlossError):
        mc(c, SparseUniform(0), samples=1)
    with pytest.raises(SuperlossError):
        mc(c, SparseUniform(0), batch=0)
    with pytest.raises(SuperlossError):
        mc(c, SparseUniform(0), importance=[1, 1])
    with pytest.raises(SuperlossError):
        mc(c, object())
    with pytest.raises(SuperlossError, match="expected an analytic.Problem"):
        monte_carlo_loss(c)


def test_result_str():
    text = str(MonteCarloResult(mean=0.25, stderr=0.001, samples=1000, seed=4))
    assert "0.25" in text and "1000" in text and "seed 4" in text
