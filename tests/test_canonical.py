"""The canonical form: its rules, its invariance under the model's symmetries, and that it keeps the function."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, Problem, SparseUniform, SuperlossError, expected_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric.canonical import DEAD, TOLERANCE, canonical, gauge
from numeric.detect import THRESHOLDS, circuit_weights
from numeric.engines.pointwise import PointwiseLoss


def forward(W1, W2, b, x):
    return np.maximum(np.maximum(x @ np.asarray(W1).T, 0) @ np.asarray(W2).T + b, 0)


def loss(W1, W2, b, S=0.5):
    circuit = Circuit(np.asarray(W1).tolist(), np.asarray(W2).tolist(), b2=np.asarray(b).tolist())
    return float(expected_loss(circuit, SparseUniform(S)).expr)


def shuffle(W1, W2, seed):
    """The same model with its neurons permuted and each rescaled by a factor in [1e-3, 1e3]:
    returns the weights and the permutation (new neuron j is old neuron perm[j])."""
    rng = np.random.default_rng(seed)
    m = len(W1)
    perm = rng.permutation(m)
    c = 10.0 ** rng.uniform(-3, 3, size=m)
    return np.asarray(W1)[perm] * c[:, None], np.asarray(W2)[:, perm] / c, perm


def model(seed, n=3, m=6, duplicates=1, dead=1):
    """Gaussian weights with ``duplicates`` neurons that are rescaled copies of others (parallel
    rows, different columns) and ``dead`` neurons with an all-zero row."""
    rng = np.random.default_rng(seed)
    W1, W2, b = rng.normal(size=(m, n)), rng.normal(size=(n, m)), 0.1 * rng.normal(size=n)
    for k in range(duplicates):
        W1[m - 1 - k] = W1[k] * rng.uniform(0.5, 2)
    for k in range(dead):
        W1[duplicates + k] = 0.0
    return W1, W2, b


def motif():
    return circuit_weights(asymmetric_inhibition().subs(CANONICAL))


def test_motif_canonical_form_is_known():
    c = canonical(*motif())
    # Host a+ first (row [2, -1/2, 0] over 2), then a-, b+, the inhibitor c+ and c-.
    assert c.W1.tolist() == [[1, -0.25, 0], [-1, 0, 0], [0, 1, 0], [0.25, 0, 1], [0, 0, -1]]
    assert c.W2[:, 0].tolist() == [1, 4, -0.25] and c.W2[:, 3].tolist() == [0, -20, 1]
    assert c.order == ((0,), (2,), (3,), (1,), (4,)) and c.dead == 0
    assert c.gains[0, 0, 1] == 4  # the host's leak of a into y_b
    assert c.gains[3, 0, 1] == -5  # the inhibitor's push on y_b from its leak of a


def test_each_rule():
    W1 = [[0, 3, 0], [2, 0, 0], [0, 0, 0], [4, 0, 0], [0, -1, 1]]
    W2 = [[0, 1, 5, 0.25, 0], [1, 0, 5, 0, 0], [0, 0, 5, 0, 2]]
    c = canonical(W1, W2, [0.5, 0, 0])
    # Neuron 2 never fires (zero row): dead, last. Neurons 1 and 3 are parallel: one slot with
    # row [1, 0, 0] and the sum of their rescaled columns; the slot merging frees is dead.
    assert c.dead == 2 and c.live == 3
    assert c.W1[:3].tolist() == [[1, 0, 0], [0, 1, 0], [0, -1, 1]]
    assert c.W2[:, 0].tolist() == [2 * 1 + 4 * 0.25, 0, 0]
    assert c.W2[:, 1].tolist() == [0, 3, 0] and c.W2[:, 2].tolist() == [0, 0, 2]
    assert not c.W1[3:].any() and not c.W2[:, 3:].any()
    assert c.order == ((1, 3), (0,), (4,), (2,), ())
    assert c.b.tolist() == [0.5, 0, 0]
    # Main feature ties go to the lowest index, and the + half comes first.
    assert canonical([[-1, 1], [1, 1]], [[1, 1], [1, 1]]).W1.tolist() == [[1, 1], [-1, 1]]


def test_dead_threshold_is_detects_absolute_gain():
    assert DEAD == THRESHOLDS["dead"]
    # Largest gain exactly at the threshold: dead; just above: live (whatever the split of
    # that gain between input and output, since the rescaling moves it freely).
    for row in (1.0, 1e-2, 1e3):
        assert canonical([[row, 0]], [[DEAD / row], [0]]).dead == 1
        assert canonical([[row, 0]], [[1.001 * DEAD / row], [0]]).dead == 0
    # A zero column with a large row is dead too: it writes nothing.
    assert canonical([[5.0, 1.0]], [[0.0], [0.0]]).dead == 1


def test_parallel_neurons_whose_columns_cancel_are_dead():
    c = canonical([[1, 0], [2, 0], [0, 1]], [[1, -0.5, 0], [0, 0, 1]])
    assert c.dead == 2 and c.W1[0].tolist() == [0, 1] and c.order == ((2,), (0,), (1,))


def test_rows_are_unit_and_sorted():
    for seed in range(5):
        c = canonical(*model(seed, n=4, m=10))
        rows = c.W1[: c.live]
        assert np.all(np.abs(rows).max(axis=1) == 1)
        keys = [(int(np.argmax(np.abs(r))), -np.sign(r[np.argmax(np.abs(r))])) for r in rows]
        assert keys == sorted(keys)


@pytest.mark.parametrize("seed", range(6))
def test_idempotent(seed):
    c = canonical(*model(seed))
    again = canonical(*c.weights())
    for a, b in ((c.W1, again.W1), (c.W2, again.W2), (c.b, again.b), (c.gains, again.gains)):
        assert np.array_equal(a, b)
    assert again.dead == c.dead and again.order == tuple((j,) for j in range(len(c.order)))


@pytest.mark.parametrize("seed", range(8))
def test_invariant_under_permutation_and_rescaling(seed):
    W1, W2, b = model(seed, n=3, m=7, duplicates=2)
    c = canonical(W1, W2, b)
    V1, V2, perm = shuffle(W1, W2, seed + 100)
    d = canonical(V1, V2, b)
    assert d.dead == c.dead
    for x, y in ((c.W1, d.W1), (c.W2, d.W2), (c.gains, d.gains)):
        np.testing.assert_allclose(y, x, rtol=1e-12, atol=1e-12)
    # The same original neurons land in each slot.
    assert [sorted(perm[j] for j in o) for o in d.order[: d.live]] == [sorted(o) for o in c.order[: c.live]]


def test_invariant_on_the_motif():
    W1, W2, b = motif()
    c = canonical(W1, W2, b)
    for seed in range(5):
        V1, V2, _ = shuffle(W1, W2, seed)
        np.testing.assert_allclose(canonical(V1, V2, b).W2, c.W2, rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_function_and_exact_loss_unchanged(seed):
    # Exactly dead neurons and exact parallel copies: the function must not move at all.
    W1, W2, b = model(seed, n=3, m=6, duplicates=1, dead=1)
    V1, V2, _ = shuffle(W1, W2, seed)
    c = canonical(V1, V2, b)
    x = np.random.default_rng(seed).uniform(-1, 1, size=(2000, 3))
    np.testing.assert_allclose(forward(*c.weights(), x), forward(W1, W2, b, x), rtol=1e-12, atol=1e-12)
    before, after = loss(W1, W2, b), loss(*c.weights())
    assert after == pytest.approx(before, rel=1e-12)


def test_a_changed_model_changes_the_loss():
    # The check above can fail: flipping one output weight moves the loss.
    W1, W2, b = model(0)
    c = canonical(W1, W2, b)
    W2c = c.W2.copy()
    W2c[0, 0] += 0.1
    assert loss(c.W1, W2c, b) != pytest.approx(loss(W1, W2, b), rel=1e-6)


def test_to_dict_and_str():
    c = canonical(*motif())
    data = json.loads(json.dumps(c.to_dict()))
    assert data["W1"][3] == [0.25, 0, 1] and data["order"][3] == [1] and data["tolerance"] == TOLERANCE
    assert np.array(data["gains"]).shape == (5, 3, 3)
    text = str(c)
    assert "5 live, 0 dead" in text and "0->1: +4" in text and "2->1: -20" in text
    assert len(text.splitlines()) == 2 + 5 + 1


def test_arrays_are_read_only():
    c = canonical(*motif())
    with pytest.raises(ValueError):
        c.W1[0, 0] = 2.0


@pytest.mark.parametrize(
    "W1, W2, b, message",
    [
        ([[1, 0]], [[1, 1]], None, "W2 has shape 1 x 2, expected 2 x 1"),
        ([[1, 0]], [[1], [1]], [0], "b has shape 1, expected 2"),
        ([[1, np.nan]], [[1], [1]], None, "W1 has an entry that is not finite"),
        ([[1, 0]], [[np.inf], [1]], None, "W2 has an entry that is not finite"),
        ([1, 0], [[1], [1]], None, "W1 has shape 2, expected a matrix"),
        (np.zeros((0, 2)), np.zeros((2, 0)), None, "at least one feature and one neuron"),
        ([["x", 0]], [[1], [1]], None, "W1 is not an array of numbers"),
    ],
)
def test_bad_input_is_refused_in_one_line(W1, W2, b, message):
    with pytest.raises(SuperlossError, match=message) as info:
        canonical(W1, W2, b)
    assert "\n" not in str(info.value)


def test_bad_tolerance_is_refused():
    with pytest.raises(SuperlossError, match="tolerance"):
        canonical([[1]], [[1]], tolerance=-1)


# -- the gauge of a circuit written in parameters -------------------------------------------------


def test_gauge_sets_each_moved_neuron_to_largest_input_one_and_keeps_the_loss():
    circuit = asymmetric_inhibition()
    rng = np.random.default_rng(3)
    values = dict(zip(circuit.symbols, rng.uniform(0.1, 3, len(circuit.symbols)), strict=True))
    moved = gauge(circuit, values, circuit.symbols)
    w_a, w_b = sym("w_a"), sym("w_b")
    assert max(abs(moved[w_a]), abs(moved[w_b])) == pytest.approx(1, abs=1e-15)
    assert moved[w_a] / moved[w_b] == pytest.approx(values[w_a] / values[w_b], rel=1e-14)
    problem = Problem(circuit, SparseUniform(sp.Rational(7, 10)), free=list(circuit.symbols))
    f = PointwiseLoss(problem)
    x, y = (np.array([point[p] for p in f.params]) for point in (values, moved))
    assert f.value(y) == pytest.approx(f.value(x), rel=1e-12)
    # A fixed weight pins the symmetry: with w_b fixed nothing can move.
    assert gauge(circuit, values, [p for p in circuit.symbols if p != w_b]) == {
        p: v for p, v in values.items() if p != w_b
    }


def test_gauge_of_two_free_neurons_scales_each_on_its_own():
    a, b, c, d = syms("a b c d")
    circuit = Circuit([[a, 0], [0, b]], [[c, 0], [0, d]])
    moved = gauge(circuit, {a: 4.0, b: -0.5, c: 0.25, d: 3.0}, [a, b, c, d])
    assert moved == {a: 1.0, b: -1.0, c: 1.0, d: 1.5}
