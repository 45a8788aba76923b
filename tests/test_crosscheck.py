"""Sampled training of a circuit's own parameters lands on the analytic optimum."""

from __future__ import annotations

import pytest

from analytic import Circuit, Problem, SparseUniform, sym, syms
from numeric.crosscheck import align, train_circuit
from numeric.optimize import optimize
from numeric.train import TrainConfig

w, o, b = syms("w o b")
S = sym("S")


@pytest.mark.parametrize("sparsity", [0.0, 0.5])
def test_training_a_circuit_reaches_its_optimum_up_to_the_rescaling(sparsity):
    # One ReLU neuron for |x|: only the positive half fits; the bias buys part of the rest.
    # (w, o) -> (c w, o / c) is a symmetry, so training may end anywhere along it.
    circuit, law = Circuit([[w]], [[o]], b2=[b]), SparseUniform(S)
    best = optimize(
        Problem(circuit, law, free={w: (0, 4), o: (0, 4), b: (-1, 1)}, fixed={S: sparsity}), starts=8, samples=0
    )
    assert best.verdict == "minimum" and len(best.symmetries) == 1
    trained = train_circuit(best, {w: 3.0, o: 0.2, b: 0.5}, TrainConfig(steps=4000, lr=1e-2, schedule="cosine"), seed=1)
    # Above the minimum by much less than the training's own noise ...
    assert 0 <= trained.loss - best.loss and trained.zscore < 1
    # ... where the training estimate says it is (an independent sampled estimate) ...
    assert abs(trained.estimate.zscore(trained.loss)) < 5
    # ... and at the optimum's parameters once moved along the symmetry.
    # (The tolerances are the sampling noise of 4,000 steps of 1,024 samples, not rounding.)
    assert trained.difference < 5e-3
    assert trained.params[w] * trained.params[o] == pytest.approx(best.params[w] * best.params[o], rel=1e-2)


def test_align_moves_along_every_symmetry_only():
    u, v = syms("u v")
    fields = [{w: w, o: -o}, {u: u, v: -v}]
    moved = align({w: 8.0, o: 0.125, u: 3.0, v: 1.0, b: 0.3}, {w: 2.0, o: 0.5, u: 1.0, v: 3.0, b: 0.1}, fields)
    assert moved[w] == pytest.approx(2.0) and moved[o] == pytest.approx(0.5)
    # Along the symmetry the product stays; the point comes closer to the reference.
    assert moved[u] * moved[v] == pytest.approx(3.0) and abs(moved[u] - 1.0) < 2.0 and abs(moved[v] - 3.0) < 2.0
    assert moved[b] == 0.3


def test_the_circuit_composed_from_a_detection_is_the_detected_circuit():
    import numpy as np

    from analytic import expected_loss
    from analytic.presets import CANONICAL, asymmetric_inhibition
    from numeric.crosscheck import composed
    from numeric.detect import circuit_weights, detect

    preset = asymmetric_inhibition().subs(CANONICAL)
    W1, W2, b = circuit_weights(preset)
    circuit, values = composed(detect(W1, W2, b), b, 3)
    rebuilt = circuit.subs(values)
    # Neurons may come in another order: compare the losses, which do not depend on it.
    law = SparseUniform(0.9)
    exact = [float(expected_loss(c, law, [1, 0.3, 1]).expr) for c in (preset, rebuilt)]
    assert exact[1] == pytest.approx(exact[0], rel=1e-12)
    assert sorted(np.round(circuit_weights(rebuilt)[0].ravel(), 12)) == sorted(np.round(W1.ravel(), 12))


def test_free_models_beside_the_motif_optimum():
    from numeric.crosscheck import free_versus_motif

    (case,) = free_versus_motif(
        ["1/2"], ["3/10"], seeds=2, config=TrainConfig(steps=300, lr=1e-2), starts=2, progress=False
    )
    # The motif's optimum at S = 0.5, I_b = 0.3 drops the rider: 0.0203125 (docs/study.md, by hand).
    assert case.structure == "rider dropped" and case.motif.loss == pytest.approx(0.0203125, rel=1e-6)
    assert len(case.free_losses) == len(case.estimates) == len(case.detections) == 2
    # Exact losses of two different seeds' models, each above zero.
    assert all(v > 0 for v in case.free_losses) and case.free_losses[0] != case.free_losses[1]
    assert case.to_dict()["motif_structure"] == "rider dropped"
