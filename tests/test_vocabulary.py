"""The vocabulary on known circuits, its agreement with the motif detector, and its invariance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from analytic import SuperlossError, sym
from analytic.presets import (
    CANONICAL,
    asymmetric_inhibition,
    asymmetric_superposition,
    compose,
    monosemantic_abs,
    symmetric_superposition,
)
from numeric.canonical import canonical
from numeric.detect import THRESHOLDS as DETECT
from numeric.detect import circuit_weights, detect
from numeric.vocabulary import THRESHOLDS, describe

MOTIF = "asymmetric superposition with inhibition"


def at_canonical(circuit):
    """The circuit at the canonical point of every motif instance in it (suffixed or not)."""
    values = {}
    for s in circuit.symbols:
        base = sym(re.sub(r"\d+$", "", s.name))
        values[s] = CANONICAL.get(base, CANONICAL[sym("b_a")])
    return circuit.subs(values)


def weights(circuit):
    return circuit_weights(at_canonical(circuit))


def shuffle(W1, W2, seed):
    """Neurons permuted and each rescaled by a factor in [1e-3, 1e3]; new neuron j is old perm[j]."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(W1))
    c = 10.0 ** rng.uniform(-3, 3, size=len(W1))
    return np.asarray(W1)[perm] * c[:, None], np.asarray(W2)[:, perm] / c, perm


def motifs_of(d):
    """The motif instances a description names, in original neurons: (host, inhibitor, halves)."""
    order = d.form.order
    return sorted((order[s.neurons[0]], order[s.neurons[1]], s.halves) for s in d.found if s.name == MOTIF)


def motifs_detected(W1, W2, b):
    return sorted(
        (
            (x.host,),
            (x.inhibitor,),
            ((x.host_feature, x.host_half), (x.rider, x.rider_half), (x.inhibitor_feature, x.inhibitor_half)),
        )
        for x in detect(W1, W2, b).motifs
    )


def test_monosemantic_abs_is_six_monosemantic_halves():
    d = describe(*circuit_weights(monosemantic_abs(3)))
    assert d.structures == ("monosemantic half",) * 6
    assert not d.new and d.dropped == [] and d.half_dropped == [] and d.shared == []
    assert len(d.computed) == 6
    assert all([r.kind for r in n.roles] == ["reproduce"] for n in d.neurons)


def test_motif_at_canonical():
    d = describe(*weights(asymmetric_inhibition()), features="abc")
    assert d.structures == (MOTIF,) + ("monosemantic half",) * 3 and not d.new
    (motif,) = [s for s in d.found if s.name == MOTIF]
    host, inhibitor = (d.neurons[j] for j in motif.neurons)
    assert (host.feature, host.half, inhibitor.feature, inhibitor.half) == (0, 1, 2, 1)
    assert host.computes() == [(0, 1), (1, -1)]
    # The host leaks a+ into y_b with gain w_a o_b = 4; the reverse leak is 1/4.
    leaks = {(r.feature, r.output): r.gain for r in host.roles if r.kind == "leak"}
    assert leaks == {(0, 1): 4, (1, 0): 0.25}
    # The inhibitor writes -kappa to y_b against that leak: cancellation kappa delta / 4 = 1.25.
    (inhibit,) = [r for r in inhibitor.roles if r.kind == "inhibit"]
    assert (inhibit.output, inhibit.gain, inhibit.feature, inhibit.half) == (1, -20, 0, 1)
    assert inhibit.against == (host.slot,) and inhibit.ratio == 1.25
    assert inhibit.ratio == detect(*d.form.weights()).motifs[0].cancellation
    # The host's -gamma write to y_c is a conditional bias, offsetting the inhibitor's leak of a+ exactly.
    (bias,) = [r for r in host.roles if r.kind == "conditional bias"]
    assert (bias.output, bias.gain, bias.against, bias.ratio) == (2, -0.25, (inhibitor.slot,), 1)
    assert [kind for _, kind, _ in d.shared] == ["asymmetric"]
    text = str(d)
    assert "inhibited: neuron 3 inhibits y_b against a+ leaked by neuron 0: cancellation 1.25" in text
    assert "conditional biases: neuron 0 conditional bias c -0.25" in text


def test_asymmetric_superposition_without_inhibition():
    d = describe(*weights(asymmetric_superposition()), features="abc")
    assert d.structures == ("asymmetric superposition",) + ("monosemantic half",) * 4 and not d.new
    assert d.roles("inhibit") == [] and d.roles("conditional bias") == []
    assert d.shared[0][2] == 16


def test_symmetric_superposition():
    circuit = symmetric_superposition().subs({sym("w"): 1, sym("o"): 1})
    d = describe(*weights(circuit), features="abc")
    assert d.structures == ("symmetric superposition",) + ("monosemantic half",) * 4 and not d.new
    assert [(kind, a) for _, kind, a in d.shared] == [("symmetric", 1)]


def test_asymmetry_threshold_separates_the_two():
    # w_a = 2 w_b with unit gains: leaks 2 and 1/2, asymmetry exactly 4 (asymmetric); a bit less: symmetric.
    for w, name in ((2.0, "asymmetric superposition"), (1.9, "symmetric superposition")):
        d = describe([[w, 1.0]], [[1 / w], [1.0]])
        assert d.structures == (name,)


def test_dropped_and_half_dropped_features():
    W1, W2, _ = circuit_weights(monosemantic_abs(3))
    keep = [0, 1, 3, 4]  # both halves of feature 2 removed
    d = describe(W1[keep], W2[:, keep])
    assert d.dropped == [2] and d.structures.count("dropped feature") == 1 and not d.new
    assert next(s for s in d.found if s.name == "dropped feature").halves == ((2, 1), (2, -1))
    d = describe(W1[[0, 1, 2, 3, 4]], W2[:, [0, 1, 2, 3, 4]])  # ReLU(-x_2) removed
    assert d.dropped == [] and d.half_dropped == [(2, -1)] and "half-dropped: 2-" in str(d)


def test_made_up_model_is_new():
    # One neuron reading three features equally and writing 1/3 to each output, beside a monosemantic half.
    d = describe([[1, 1, 1], [0, -1, 0]], [[1 / 3, 0], [1 / 3, 1], [1 / 3, 0]])
    assert d.new and d.structures == ("monosemantic half", "dropped feature", "dropped feature")
    (line,) = d.novel
    assert line.startswith("neuron 0 (0+) computes no half") and "\n" not in line
    assert d.neurons[0].structure == "new" and f"new: {line}" in str(d)


def test_inhibition_with_a_bad_cancellation_is_not_the_motif():
    W1, W2, b = weights(asymmetric_inhibition())
    W2[1, 1] = -200.0  # kappa ten times too large: cancellation 12.5
    d = describe(W1, W2, b)
    assert MOTIF not in d.structures and "asymmetric superposition" in d.structures and d.new
    (inhibit,) = [r for _, r in d.roles("inhibit")]
    assert inhibit.ratio == 12.5


@pytest.mark.parametrize(
    "n, motifs",
    [
        (3, [(0, 1, 2, -1, 1, 1)]),
        (4, [(3, 0, 1, 1, -1, -1)]),
        (6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)]),
        (6, [(0, 1, 2, -1, 1, 1), (3, 4, 5, 1, -1, 1)]),
    ],
)
def test_describe_names_what_detect_finds(n, motifs):
    W1, W2, b = weights(compose(n, motifs))
    found = motifs_detected(W1, W2, b)
    assert len(found) == len(motifs)
    assert motifs_of(describe(W1, W2, b)) == found
    for seed in range(6):
        V1, V2, _ = shuffle(W1, W2, seed)
        d = describe(V1, V2, b)
        assert motifs_of(d) == motifs_detected(V1, V2, b)
        assert d.structures.count(MOTIF) == len(motifs) and not d.new


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("kind", ["gaussian", "noisy motifs"])
def test_describe_agrees_with_detect_on_random_models(seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        W1, W2, b = rng.normal(size=(8, 4)), rng.normal(size=(4, 8)), rng.normal(size=4)
    else:  # two instances with noise of 0.1 on every weight: some survive, some do not
        W1, W2, b = weights(compose(6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)]))
        W1, W2 = W1 + 0.1 * rng.normal(size=W1.shape), W2 + 0.1 * rng.normal(size=W2.shape)
    d = describe(W1, W2, b)
    assert motifs_of(d) == motifs_detected(W1, W2, b)
    monosemantic = sorted(
        (d.form.order[s.neurons[0]][0], *s.halves[0]) for s in d.found if s.name == "monosemantic half"
    )
    assert monosemantic == sorted((s.neuron, s.feature, s.half) for s in detect(W1, W2, b).monosemantic)


def _decisions(d):
    """Every decision of a description, without raw numbers (which rescaling perturbs in the last bits)."""
    return (
        d.found,
        d.novel,
        tuple(
            (n.feature, n.half, n.structure, tuple((r.kind, r.output, r.feature, r.half, r.against) for r in n.roles))
            for n in d.neurons
        ),
    )


@pytest.mark.parametrize("seed", range(5))
def test_invariant_under_permutation_and_rescaling(seed):
    rng = np.random.default_rng(seed)
    for W1, W2, b in (
        weights(compose(6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)])),
        (rng.normal(size=(8, 4)), rng.normal(size=(4, 8)), rng.normal(size=4)),
    ):
        V1, V2, _ = shuffle(W1, W2, seed)
        assert _decisions(describe(V1, V2, b)) == _decisions(describe(W1, W2, b))


def test_thresholds_are_detects_where_they_mean_the_same():
    for name in ("gain", "dominance", "asymmetry", "inhibition"):
        assert THRESHOLDS[name] is DETECT[name]
    assert THRESHOLDS["negligible"] is DETECT["dead"]


def test_str_and_to_dict():
    d = describe(*weights(asymmetric_inhibition()), features="abc")
    lines = str(d).splitlines()
    assert len([x for x in lines if x.startswith("neuron ")]) == 5
    assert lines[1].startswith("neuron 0 (was 0) a+: reads a+ 1, b- 0.25 | a+ reproduce 1;")
    data = json.loads(json.dumps(d.to_dict()))
    assert data["structures"][0]["name"] == MOTIF and data["structures"][0]["neurons"] == [0, 3]
    assert data["neurons"][3]["roles"][-1] == {
        "kind": "inhibit",
        "output": 1,
        "gain": -20.0,
        "feature": 0,
        "half": 1,
        "against": [0],
        "ratio": 1.25,
    }
    assert data["new"] is False and data["thresholds"]["gain"] == [0.5, 2.0]


def test_bad_input_is_refused():
    with pytest.raises(SuperlossError, match="2 feature names for n=3"):
        describe(*circuit_weights(monosemantic_abs(3)), features="ab")
    with pytest.raises(SuperlossError, match="not finite"):
        describe([[np.nan]], [[1.0]])


def _block_after(heading: str) -> str:
    """The first fenced block after ``heading`` in docs/vocabulary.md."""
    text = (Path(__file__).parent.parent / "docs" / "vocabulary.md").read_text()
    return text.split(heading, 1)[1].split("```\n", 2)[1].rstrip("\n")


def test_docs_show_what_the_code_prints():
    circuit = asymmetric_inhibition().subs(CANONICAL)
    assert _block_after("### The canonical motif, as `describe` prints it") == str(
        describe(*circuit_weights(circuit), features=circuit.features)
    )
    assert _block_after("`.weights()`, `.to_dict()` and a printed table") == str(canonical(*circuit_weights(circuit)))


def test_antiparallel_neurons_with_opposite_outputs_are_a_linear_pair():
    # ReLU(x_0 + 0.8 x_1) - ReLU(-x_0 - 0.8 x_1) = x_0 + 0.8 x_1: one linear unit written to y_0.
    W1 = [[1, 0.8], [-1, -0.8], [0, 1]]
    d = describe(W1, [[2, -2, 0], [0, 0, 1]], features="ab")
    (pair,) = [s for s in d.found if s.name == "linear pair"]
    assert len(pair.neurons) == 2 and all(d.neurons[j].structure == "linear pair" for j in pair.neurons)
    # Outputs of one sign are not a linear unit, nor are inputs that are not antiparallel.
    for W2 in ([[2, 2, 0], [0, 0, 1]], [[2, -2, 0], [1, 0, 1]]):
        assert "linear pair" not in describe(W1, W2, features="ab").structures
    assert "linear pair" not in describe([[1, 0.8], [-1, 0.8], [0, 1]], [[2, -2, 0], [0, 0, 1]]).structures
