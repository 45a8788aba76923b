"""The batched engine: the pointwise engine's numbers, many points at once, each independent of its batch."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import Circuit, Problem, SparseUniform, SuperlossError, syms
from analytic.presets import asymmetric_inhibition, relu_output
from numeric.engines.batch import BatchLoss, evaluate
from numeric.engines.pointwise import PointwiseLoss

from conftest import agrees_with_monte_carlo

S, T, I_b = syms("S T I_b")
w1, w2, w3, o1, o2, o3, c1, c2, e1, e2 = syms("w1 w2 w3 o1 o2 o3 c1 c2 e1 e2")

#: Circuits that take every path of the engine: ReLU or linear layers, hidden biases, both targets,
#: features on [-1, 1] (split at 0) or on [0, 1], one sparsity per feature.
CASES = {
    "motif": (asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], (S, I_b)),
    "hidden biases, identity target on [0, 1]": (
        Circuit(
            [[w1, w2], [w3, -1], [1, o3]], [[o1, o2, 1], [o3, 0, -1]], b1=[c1, c2, 0], b2=[e1, e2], target="identity"
        ),
        SparseUniform(S, 0, 1),
        [1, I_b],
        (S, I_b),
    ),
    "linear hidden, ReLU output": (relu_output([[w1, w2, w3]], [e1, e2, c1]), SparseUniform([S, T, S]), None, (S, T)),
    "linear output": (
        Circuit([[w1, w2], [w3, o1]], [[o2, 1], [o3, c1]], b2=[e1, e2], output="linear"),
        SparseUniform(S),
        [1, I_b],
        (S, I_b),
    ),
}


def batch(circuit, law, importance, params, varying) -> BatchLoss:
    return BatchLoss(Problem(circuit, law, importance, free=params, varying=varying))


def _points(loss: BatchLoss, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 1, (count, len(loss.params)))
    X[: count // 4] = np.round(X[: count // 4])  # integers put vertices on planes
    return X, rng.uniform(0.05, 0.95, (count, len(loss.varying)))


@pytest.mark.parametrize("case", CASES)
def test_values_and_gradients_equal_the_pointwise_engine(case):
    circuit, law, importance, fixed = CASES[case]
    params = [p for p in circuit.symbols]
    loss = batch(circuit, law, importance, params, fixed)
    X, F = _points(loss, 16, seed=len(case))
    values, gradients = loss.values_and_gradients(X, F)
    assert np.array_equal(loss.values(X, F), values)
    for x, f, value, gradient in zip(X, F, values, gradients, strict=True):
        pointwise = PointwiseLoss(
            Problem(circuit, law, importance, free=params, fixed=dict(zip(fixed, f.tolist(), strict=True)))
        )
        expected, expected_gradient = pointwise.value_and_gradient(x)
        assert value == pytest.approx(expected, rel=1e-11, abs=1e-15)
        assert gradient == pytest.approx(expected_gradient, rel=1e-9, abs=1e-12 * np.abs(expected_gradient).max())


def test_value_agrees_with_monte_carlo():
    circuit, law, importance, fixed = CASES["motif"]
    params = list(circuit.symbols)
    loss = batch(circuit, law, importance, params, fixed)
    x = np.array([1.3, 0.9, 1.1, 0.8, 0.4, 2.0, 0.3, -0.02, 0.01, 0.05])
    value = float(loss.values_and_gradients([x], [[0.8, 0.4]])[0][0])
    point = dict(zip(params, x.tolist(), strict=True)) | {S: 0.8, I_b: 0.4}
    ok, _ = agrees_with_monte_carlo(value, circuit, law, importance, point, seed=3)
    wrong, _ = agrees_with_monte_carlo(1.03 * value, circuit, law, importance, point, seed=3)
    assert ok and not wrong


@pytest.mark.parametrize("case", CASES)
def test_a_point_gets_the_same_bits_in_any_batch(case):
    circuit, law, importance, fixed = CASES[case]
    loss = batch(circuit, law, importance, list(circuit.symbols), fixed)
    X, F = _points(loss, 24, seed=1)
    values, gradients = loss.values_and_gradients(X, F)
    order = np.random.default_rng(2).permutation(len(X))[:9]
    shuffled = loss.values_and_gradients(X[order], F[order])
    alone = [loss.values_and_gradients(X[k : k + 1], F[k : k + 1]) for k in order[:3]]
    assert np.array_equal(shuffled[0], values[order]) and np.array_equal(shuffled[1], gradients[order])
    for k, (value, gradient) in zip(order, alone, strict=False):
        assert value[0] == values[k] and np.array_equal(gradient[0], gradients[k])


def test_neither_memory_layout_nor_batch_mates_change_a_bit():
    """numpy's powers can differ in the last bit between a contiguous array and a
    view read backwards; and circuits whose receptive fields list the patterns in
    different orders must still sum a point's patterns in one order."""
    circuit, law, importance, fixed = CASES["motif"]
    loss = batch(circuit, law, importance, list(circuit.symbols), fixed)
    rng = np.random.default_rng(5)
    X = rng.normal(0, 1, (40, len(loss.params)))
    X[:20] *= rng.integers(0, 2, (20, len(loss.params)))
    X[10:20] = np.round(X[10:20] * 2) / 2
    F = rng.uniform(0.05, 0.95, (40, 2))
    values, gradients = loss.values_and_gradients(X, F)
    backwards = loss.values_and_gradients(X[::-1], F[::-1])
    assert np.array_equal(backwards[0], values[::-1]) and np.array_equal(backwards[1], gradients[::-1])

    S_, a, b, c, d, e, f = syms("S a b c d e f")
    # P: output 0 sees features 1 and 2, output 1 feature 0; Q the other way round.
    P = Circuit([[0, a, b], [c, 0, 0]], [[d, 0], [0, e], [0, 0]], b2=[f, 0, 0])
    Q = Circuit([[a, 0, 0], [0, b, c]], [[d, 0], [0, e], [0, 0]], b2=[f, 0, 0])
    LP, LQ = (batch(C, SparseUniform(S_), None, [a, b, c, d, e, f], [S_]) for C in (P, Q))
    X, F = rng.normal(0, 1, (60, 6)), rng.uniform(0.05, 0.95, (60, 1))
    alone = LP.values_and_gradients(X, F)
    mixed = evaluate([(LQ, X, F), (LP, X, F)])[1]
    assert np.array_equal(alone[0], mixed[0]) and np.array_equal(alone[1], mixed[1])


def test_a_variant_shares_a_batch_with_its_circuit():
    """The motif without inhibition (kappa = delta = gamma = 0) has smaller receptive
    fields, so fewer patterns; in one batch with the full motif it gives the full
    motif's loss at those zeros, and the full motif's points are untouched."""
    circuit, law, importance, fixed = CASES["motif"]
    params = list(circuit.symbols)
    zero = [p for p in params if p.name in ("kappa", "delta", "gamma")]
    inner = [params.index(p) for p in params if p not in zero]
    full = batch(circuit, law, importance, params, fixed)
    variant = batch(circuit.subs({p: 0 for p in zero}), law, importance, [params[k] for k in inner], fixed)
    X, F = _points(full, 8, seed=4)
    X[4:, [params.index(p) for p in zero]] = 0
    values, gradients = full.values_and_gradients(X, F)
    (v1, g1), (v2, g2) = evaluate([(full, X[:4], F[:4]), (variant, X[4:, inner], F[4:])])
    assert np.array_equal(v1, values[:4]) and np.array_equal(g1, gradients[:4])
    assert v2 == pytest.approx(values[4:], rel=1e-12, abs=0)
    assert g2 == pytest.approx(gradients[4:, inner], rel=1e-9, abs=1e-12 * np.abs(gradients).max())
    # A part with no points, and a batch where no point needs the three-feature pattern.
    (v0, g0), (v3, _) = evaluate([(full, X[:0], F[:0]), (variant, X[4:, inner], F[4:])])
    assert v0.shape == (0,) and g0.shape == (0, len(params)) and np.array_equal(v3, v2)
    # Whichever loss comes first, the patterns are summed in one order.
    (v4, g4), (v5, g5) = evaluate([(variant, X[4:, inner], F[4:]), (full, X[:4], F[:4])])
    assert np.array_equal(v4, v2) and np.array_equal(g4, g2) and np.array_equal(v5, v1) and np.array_equal(g5, g1)
    other, other_law, other_importance, other_fixed = CASES["linear output"]
    with pytest.raises(SuperlossError, match="one shape"):
        evaluate(
            [
                (full, X[:1], F[:1]),
                (
                    batch(other, other_law, other_importance, list(other.symbols), other_fixed),
                    np.zeros((1, len(other.symbols))),
                    F[:1],
                ),
            ]
        )


def test_a_near_perfect_fit_keeps_its_relative_precision():
    """|x| by ReLU(a x) + ReLU(-x) misses by (a - 1) x for x > 0: with a = 1 + eps and
    1 - eps on two features, each active with probability 1/2, the loss is eps^2 / 6.
    No term of the size of int y^2 may cancel against it."""
    S_, a, b = syms("S a b")
    circuit = Circuit([[a, 0], [-1, 0], [0, b], [0, -1]], [[1, 1, 0, 0], [0, 0, 1, 1]])
    loss = batch(circuit, SparseUniform(S_), None, [a, b], [S_])
    for eps in (1e-4, 1e-6, 1e-8):
        a_, b_ = 1 + eps, 1 - eps
        (value,), _ = loss.values_and_gradients([[a_, b_]], [[0.5]])
        # (a_ - 1 and 1 - b_ are exact in floating point; eps itself is not what they hold.)
        assert value == pytest.approx(((a_ - 1) ** 2 + (1 - b_) ** 2) / 12, rel=1e-12, abs=0)


def test_only_weights_are_params_and_every_other_symbol_is_fixed():
    circuit, law, importance, _ = CASES["motif"]
    with pytest.raises(SuperlossError, match="not weights"):
        batch(circuit, law, importance, [S], [I_b])
    with pytest.raises(SuperlossError, match="no value for I_b"):
        batch(circuit, law, importance, list(circuit.symbols), [S])
    with pytest.raises(SuperlossError, match="no value for kappa"):
        batch(circuit, law, importance, [p for p in circuit.symbols if p.name != "kappa"], [S, I_b])
    with pytest.raises(SuperlossError, match="nothing is free"):
        batch(circuit, law, importance, [], [S, I_b])
    wide = relu_output([list(syms("u1 u2 u3 u4 u5 u6"))])
    with pytest.raises(SuperlossError, match="pattern of 6 features is too large"):
        batch(wide, SparseUniform(S), None, list(wide.symbols), [S])
