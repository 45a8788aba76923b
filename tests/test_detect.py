"""The motif detector on known circuits, dense and random controls, and rescaled weights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from analytic import SuperlossError, sym
from analytic.presets import (
    CANONICAL,
    Motif,
    asymmetric_inhibition,
    asymmetric_superposition,
    compose,
    monosemantic_abs,
    symmetric_superposition,
)
from numeric.detect import THRESHOLDS, Detection, circuit_weights, detect


def canonical(circuit):
    """The circuit at the canonical point of every motif instance in it (suffixed or not)."""
    values = {}
    for s in circuit.symbols:
        base = re.sub(r"\d+$", "", s.name)
        values[s] = CANONICAL[sym(base)] if sym(base) in CANONICAL else CANONICAL[sym("b_a")]
    return circuit.subs(values)


def roles(found: Detection) -> tuple:
    """Every decision of a detection, without the raw weights (which rescaling changes)."""
    return (
        tuple(
            (
                m.host,
                m.inhibitor,
                m.host_feature,
                m.rider,
                m.inhibitor_feature,
                m.host_half,
                m.rider_half,
                m.inhibitor_half,
            )
            for m in found.motifs
        ),
        tuple((s.neuron, s.feature, s.half) for s in found.monosemantic),
        tuple(u.neuron for u in found.unexplained),
        found.dead,
    )


def rescale(W1, W2, j, c):
    """Neuron ``j``'s input row times ``c`` and output column over ``c``: the same function."""
    W1, W2 = np.array(W1, dtype=float), np.array(W2, dtype=float)
    W1[j] *= c
    W2[:, j] /= c
    return W1, W2


def reference_trained() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n = 6, m = 10 trained model of the reference note, by hand: two instances
    (hosts ReLU(x_2) and ReLU(-x_3), rider 5, inhibitors feature 4's two neurons)
    and a monosemantic neuron for each of the other six halves."""
    n, m = 6, 10
    W1, W2 = np.zeros((m, n)), np.zeros((n, m))

    def neuron(j, inputs, outputs):
        for i, w in inputs.items():
            W1[j, i] = w
        for i, w in outputs.items():
            W2[i, j] = w

    for j, (i, s) in enumerate([(0, 1), (0, -1), (1, 1), (1, -1), (2, -1), (3, 1)]):
        neuron(j, {i: s}, {i: 1.0})
    neuron(6, {2: 1.0, 5: 0.19}, {2: 1.03, 5: 4.99, 4: -0.69})  # host of x_2+, rider x_5+
    neuron(7, {3: -1.0, 5: -0.24}, {3: 1.09, 5: 3.18})  # host of x_3-, rider x_5-
    neuron(8, {4: 1.0, 2: 0.72}, {4: 1.0, 5: -6.94})  # inhibitor x_4+, leak +x_2
    neuron(9, {4: -1.0, 3: -0.42}, {4: 1.0, 5: -7.45})  # inhibitor x_4-, leak -x_3
    return W1, W2, np.full(n, -0.02)


def test_preset_motif_found_once():
    found = detect(*circuit_weights(asymmetric_inhibition().subs(CANONICAL)), features="abc")
    assert len(found.motifs) == 1
    mi = found.motifs[0]
    assert (mi.host, mi.inhibitor) == (0, 1)
    assert (mi.host_feature, mi.rider, mi.inhibitor_feature) == (0, 1, 2)
    assert (mi.host_half, mi.rider_half, mi.inhibitor_half) == (1, -1, 1)
    # kappa delta / (o_b w_a) = 20 * (1/4) / (2 * 2)
    assert mi.cancellation == pytest.approx(1.25)
    assert (mi.leak, mi.inhibition, mi.leak_gain, mi.asymmetry) == pytest.approx((0.25, 20, 4, 16))
    assert (mi.host_gain, mi.rider_gain, mi.rider_input) == pytest.approx((1, 1, -0.25))
    # The host's -gamma w_a into y_c cancels the inhibitor's delta leak into y_c.
    assert (mi.conditional_bias, mi.inhibitor_leak_gain) == pytest.approx((-0.25, 0.25))
    assert [(s.neuron, s.feature, s.half) for s in found.monosemantic] == [(2, 0, -1), (3, 1, 1), (4, 2, -1)]
    assert not found.unexplained and not found.dead
    assert len(found.halves) == 6
    assert "cancellation 1.25" in str(found) and "ReLU(-x_b)" in str(found)


def test_two_composed_instances_found_with_their_halves():
    circuit = canonical(
        compose(
            6,
            [
                Motif(2, 5, 4, rider_half=1, host_half=1, inhibitor_half=1),
                Motif(3, 5, 4, rider_half=-1, host_half=-1, inhibitor_half=-1),
            ],
        )
    )
    found = detect(*circuit_weights(circuit))
    got = sorted(
        (m.host_feature, m.host_half, m.rider, m.rider_half, m.inhibitor_feature, m.inhibitor_half)
        for m in found.motifs
    )
    assert got == [(2, 1, 5, 1, 4, 1), (3, -1, 5, -1, 4, -1)]
    assert [m.cancellation for m in found.motifs] == pytest.approx([1.25, 1.25])
    assert len(found.monosemantic) == 6 and not found.unexplained
    assert found.halves == [(i, s) for i in range(6) for s in (-1, 1)]


def test_reference_trained_weights_give_two_instances():
    W1, W2, b = reference_trained()
    found = detect(W1, W2, b)
    assert [(m.host, m.inhibitor, m.host_feature, m.host_half, m.rider, m.rider_half) for m in found.motifs] == [
        (6, 8, 2, 1, 5, 1),
        (7, 9, 3, -1, 5, -1),
    ]
    first, second = found.motifs
    assert first.cancellation == pytest.approx(0.72 * 6.94 / 4.99)
    assert second.cancellation == pytest.approx(0.42 * 7.45 / 3.18)
    assert first.conditional_bias == pytest.approx(-0.69)
    assert len(found.monosemantic) == 6 and not found.unexplained
    assert len(found.halves) == 12


def test_reference_trained_weights_with_noise_still_give_two_instances():
    W1, W2, b = reference_trained()
    for seed in range(5):
        rng = np.random.default_rng(seed)
        found = detect(W1 + rng.normal(0, 0.02, W1.shape), W2 + rng.normal(0, 0.02, W2.shape), b)
        assert len(found.motifs) == 2, str(found)


def test_monosemantic_circuit_has_no_motif():
    for n in (1, 3, 6):
        found = detect(*circuit_weights(monosemantic_abs(n)))
        assert not found.motifs and not found.unexplained
        assert [(s.feature, s.half, s.gain) for s in found.monosemantic] == [(i, 1, 1.0) for i in range(n)] + [
            (i, -1, 1.0) for i in range(n)
        ]


@pytest.mark.parametrize("n, m", [(6, 10), (3, 6), (10, 20), (20, 40)])
def test_random_gaussian_weights_have_no_motif(n, m):
    rng = np.random.default_rng(n * 1000 + m)
    for _ in range(20):
        assert not detect(rng.normal(size=(m, n)), rng.normal(size=(n, m))).motifs


def test_superposition_without_inhibition_is_no_motif():
    sym_point = {sym("w"): 1, sym("o"): 1, **{sym(f"b_{f}"): 0 for f in "abc"}}
    found = detect(*circuit_weights(symmetric_superposition().subs(sym_point)))
    assert not found.motifs and 0 in [u.neuron for u in found.unexplained]
    # Asymmetric but uninhibited: the host is named, with no inhibitor.
    found = detect(*circuit_weights(asymmetric_superposition().subs(CANONICAL)))
    assert not found.motifs
    assert [u.reason for u in found.unexplained if u.neuron == 0] == ["asymmetric host of ReLU(-x_1) with no inhibitor"]


@pytest.mark.parametrize(
    "changes",
    [
        {"kappa": 2},  # cancellation 0.125: the leak is not cancelled
        {"kappa": 100},  # cancellation 6.25: the rider is crushed whenever a is on
        {"delta": "-1/4"},  # the leak fires on the other half of a
        {"kappa": 2, "delta": "5/2"},  # cancellation 1.25 again, but the leak is the inhibitor's main input
        {"o_b": 1, "w_b": 1, "kappa": "3/2", "delta": "9/10"},  # cancellation 0.675 but inhibition 1.5
        {"kappa": 3, "delta": "5/12", "o_b": "1/2", "w_b": 2, "o_a": "1/2"},  # asymmetry 1
        {"w_a": "6/5", "o_a": "5/6", "w_b": "5/6", "o_b": "6/5", "kappa": "144/25"},  # asymmetry 2.07
        {"o_a": "1/10"},  # host's own half reproduced with gain 1/5
        {"o_b": 10, "kappa": 80},  # rider reproduced with gain 5 (cancellation 1)
    ],
)
def test_broken_motifs_are_not_found(changes):
    circuit = asymmetric_inhibition().subs({**CANONICAL, **{sym(k): sp.Rational(v) for k, v in changes.items()}})
    assert not detect(*circuit_weights(circuit)).motifs


@pytest.mark.parametrize(
    "neuron, feature, weight",
    [
        (0, 2, 1.5),  # the host takes a third input 3/4 of its main one
        (1, 1, 0.6),  # the inhibitor takes the rider at 0.6 of its main input
        (1, 0, 1.5),  # the 'leak' is the inhibitor's main input
    ],
)
def test_motif_with_a_third_input_is_not_found(neuron, feature, weight):
    W1, W2, b = circuit_weights(asymmetric_inhibition().subs(CANONICAL))
    W1[neuron, feature] = weight
    assert not detect(W1, W2, b).motifs


def test_inhibitor_must_compute_its_own_half():
    W1, W2, b = circuit_weights(asymmetric_inhibition().subs(CANONICAL))
    W2[2, 1] = 5.0  # inhibitor gain 5 into y_c
    assert not detect(W1, W2, b).motifs


@pytest.mark.parametrize("extra_first", [False, True])
def test_host_takes_the_inhibitor_that_cancels_best(extra_first):
    W1, W2, b = circuit_weights(asymmetric_inhibition().subs({**CANONICAL, sym("kappa"): 16}))
    extra_in, extra_out = W1[1].copy(), W2[:, 1].copy()
    extra_out[1] = -30.0  # cancellation 1.875 against the original's 1.0
    if extra_first:
        W1, W2 = np.vstack([extra_in, W1]), np.column_stack([extra_out, W2])
    else:
        W1, W2 = np.vstack([W1, extra_in]), np.column_stack([W2, extra_out])
    found = detect(W1, W2, b)
    assert [m.cancellation for m in found.motifs] == pytest.approx([1.0])
    assert [u.neuron for u in found.unexplained] == [0 if extra_first else 5]


def test_monosemantic_needs_one_input_and_one_output():
    W1, W2, b = circuit_weights(monosemantic_abs(3))
    W1[0, 1], W2[2, 3] = 0.6, 0.7  # neuron 0 reads x_1 too; neuron 3 writes y_2 too
    found = detect(W1, W2, b)
    assert [u.neuron for u in found.unexplained] == [0, 3]
    assert "input from x_1" in found.unexplained[0].reason and "output to y_2" in found.unexplained[1].reason
    W1, W2, b = circuit_weights(monosemantic_abs(3))
    W2[1, 4] = 3.0  # gain 3
    assert [u.neuron for u in detect(W1, W2, b).unexplained] == [4]


@pytest.mark.parametrize("neuron", [0, 1, 2])
@pytest.mark.parametrize("c", [1e-3, 0.1, 3.0, 1e4])
def test_rescaling_a_neuron_changes_no_decision(neuron, c):
    W1, W2, b = circuit_weights(asymmetric_inhibition().subs(CANONICAL))
    before = detect(W1, W2, b)
    after = detect(*rescale(W1, W2, neuron, c), b)
    assert roles(after) == roles(before)
    assert (after.motifs[0].cancellation, after.motifs[0].asymmetry, after.motifs[0].leak) == pytest.approx(
        (1.25, 16, 0.25)
    )


def test_rescaling_every_neuron_of_random_and_trained_models_changes_no_decision():
    rng = np.random.default_rng(7)
    models = [reference_trained()[:2]] + [(rng.normal(size=(10, 6)), rng.normal(size=(6, 10))) for _ in range(50)]
    for W1, W2 in models:
        before = roles(detect(W1, W2))
        for j, c in enumerate(np.exp(rng.uniform(-5, 5, len(W1)))):
            W1, W2 = rescale(W1, W2, j, c)
        assert roles(detect(W1, W2)) == before


def test_dead_neurons_are_ignored():
    W1, W2, b = reference_trained()
    W1 = np.vstack([W1, np.zeros(6), np.eye(6)[0]])  # never fires; fires but writes nothing
    W2 = np.hstack([W2, np.ones((6, 1)), np.zeros((6, 1))])
    found = detect(W1, W2, b)
    assert found.dead == (10, 11) and len(found.motifs) == 2 and not found.unexplained


def test_report_is_plain_data():
    found = detect(*reference_trained())
    data = json.loads(json.dumps(found.to_dict()))
    assert len(data["motifs"]) == 2 and data["motifs"][0]["host"] == 6
    assert data["thresholds"]["cancellation"] == [0.5, 2.0]
    assert str(found).count("motif: host neuron") == 2


def test_thresholds_are_documented():
    doc = (Path(__file__).parents[1] / "docs" / "detect.md").read_text()
    for name, value in THRESHOLDS.items():
        shown = f"({value[0]:g}, {value[1]:g})" if isinstance(value, tuple) else f"{value:g}"
        assert f"`{name}`" in doc and shown in doc, name


def test_bad_input_is_refused():
    with pytest.raises(SuperlossError, match="W2 has shape 2 x 3, expected 3 x 2"):
        detect(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(SuperlossError, match="not finite"):
        detect([[np.nan]], [[1.0]])
    with pytest.raises(SuperlossError, match="substitute"):
        circuit_weights(asymmetric_inhibition())
