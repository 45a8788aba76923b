"""The loss by number of active features (numeric.decomposition), on models small enough to
compute exactly (n = 6): the exact terms against the existing engine's per-pattern integrals,
the bound against the exact rest, the stratified estimate against the exact total."""

from __future__ import annotations

import json
from itertools import combinations

import numpy as np
import pytest

from analytic import Circuit, SparseUniform, SuperlossError, expected_loss
from analytic.simplices import term_integrals
from numeric.decomposition import Activity, decompose, pattern_losses

N, M = 6, 10


def _model(seed: int):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(M, N))
    W2 = rng.normal(size=(N, M)) * 0.4
    b = rng.normal(size=N) * 0.2 - 0.1
    return W1, W2, b, 0.8 ** np.arange(N)


def _pattern_loss(W1, W2, b, importance, A) -> float:
    """``L_A`` from the existing engine: each output's integral over the pattern's cube, divided by its volume."""
    integrals = term_integrals(W1, W2, np.zeros(M), b, tuple(A), "relu", "relu", "abs", -1.0, 1.0)
    return sum(importance[i] * integrals[i] for i in range(N)) / 2 ** len(A)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_terms_equal_the_engines_per_pattern_integrals(seed):
    W1, W2, b, importance = _model(seed)
    W1[0, 1] = 0.0  # a neuron blind to one feature of a pair, and a ray on the quadrant's edge
    terms = pattern_losses(W1, W2, b, importance)
    assert abs(terms.empty - _pattern_loss(W1, W2, b, importance, ())) <= 1e-12
    for a in range(N):
        assert abs(terms.single[a] - _pattern_loss(W1, W2, b, importance, (a,))) <= 1e-12
    for a, c in combinations(range(N), 2):
        assert abs(terms.pair[a, c] - _pattern_loss(W1, W2, b, importance, (a, c))) <= 1e-12
        assert terms.pair[c, a] == terms.pair[a, c]


def test_the_interference_matrix_is_its_definition():
    W1, W2, b, importance = _model(3)
    J = pattern_losses(W1, W2, b, importance).interference
    L = lambda *A: _pattern_loss(W1, W2, b, importance, A)  # noqa: E731
    assert abs(J[1, 4] - (L(1, 4) - L(1) - L(4) + L())) <= 1e-12 and J[4, 1] == J[1, 4]
    assert abs(J[2, 2] - (L(2) - L())) <= 1e-12


def test_two_features_in_one_neuron_interfere_and_monosemantic_ones_do_not():
    # Halves of two features, each on its own neuron: |x| exactly, no interference.
    mono = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]])
    J = pattern_losses(mono, mono.T.clip(0) + mono.T.clip(None, 0) * -1, np.zeros(2), np.ones(2)).interference
    assert np.abs(J).max() <= 1e-15
    # One neuron ReLU(x_0 + x_1) writes to both outputs. Alone, each feature costs 1/3 (its negative
    # half lost, its positive half leaked); together 7/12 (by hand: 2/3 + 2 E[R^2] - 4 E[|x_0| R] with
    # E[R^2] = 1/3 and E[|x_0| R] = 3/16), so J_01 = 7/12 - 2/3 = -1/12: together they cost less.
    shared = np.array([[1.0, 1.0]])
    J = pattern_losses(shared, np.ones((2, 1)), np.zeros(2), np.ones(2)).interference
    assert np.allclose(J, [[1 / 3, -1 / 12], [-1 / 12, 1 / 3]], rtol=0, atol=1e-15)


@pytest.fixture(scope="module")
def every_pattern():
    """A model and ``L_A`` for all 64 patterns (independent of the sparsity), from the existing engine."""
    W1, W2, b, importance = _model(4)
    L = {A: _pattern_loss(W1, W2, b, importance, A) for k in range(N + 1) for A in combinations(range(N), k)}
    return (W1, W2, b, importance), L


def _total(L: dict, S) -> float:
    """The exact loss: ``sum_A P(A) L_A``."""
    p = 1 - np.broadcast_to(np.asarray(S, dtype=float), (N,))
    return sum(np.prod([p[i] if i in A else 1 - p[i] for i in range(N)]) * value for A, value in L.items())


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.99])
def test_the_bound_holds_and_the_estimate_agrees_with_the_exact_total(every_pattern, sparsity):
    (W1, W2, b, importance), L = every_pattern
    total = _total(L, sparsity)
    for order in (0, 1, 2):
        d = decompose(W1, W2, b, sparsity, importance, order=order, samples=40_000, seed=order)
        assert total - d.exact <= d.bound
        assert abs(d.estimate - total) <= 4 * d.stderr + 1e-12
        assert abs(d.plain - total) <= 4 * d.plain_stderr


def test_the_total_of_every_pattern_is_the_closed_form(every_pattern):
    (W1, W2, b, importance), L = every_pattern
    circuit = Circuit(W1.tolist(), W2.tolist(), b2=b.tolist())
    S = [0.9, 0.95, 0.8, 0.99, 0.97, 0.5]
    closed = float(expected_loss(circuit, SparseUniform(S, low=-1, high=1), importance.tolist()).expr)
    assert abs(_total(L, S) - closed) <= 1e-12


def test_per_feature_sparsities_and_the_exact_part_by_hand(every_pattern):
    (W1, W2, b, importance), L = every_pattern
    S = [0.9, 0.95, 0.8, 0.99, 0.97, 0.5]
    d = decompose(W1, W2, b, S, importance, order=2, samples=40_000, seed=0)
    exact = _total({A: v for A, v in L.items() if len(A) <= 2}, S)
    assert abs(d.exact - exact) <= 1e-12
    total = _total(L, S)
    assert total - d.exact <= d.bound and abs(d.estimate - total) <= 4 * d.stderr


def test_the_active_count_and_the_conditioned_sets_follow_the_law():
    p = np.array([0.3, 0.05, 0.5, 0.2, 0.9])
    law = Activity(p)
    chance = {
        A: np.prod([p[i] if i in A else 1 - p[i] for i in range(5)])
        for k in range(6)
        for A in combinations(range(5), k)
    }
    counts = [sum(v for A, v in chance.items() if len(A) == k) for k in range(6)]
    assert np.allclose(law.count(), counts, rtol=0, atol=1e-15)
    assert abs(law.more_than(1) - sum(counts[2:])) <= 1e-15
    samples = 200_000
    sets = law.sample(np.random.default_rng(0), samples, more_than=1)
    assert sets.sum(1).min() >= 2
    # Every set of two or more, drawn with its conditional probability: z-scores of the frequencies.
    keys = np.packbits(sets, axis=1, bitorder="little")[:, 0]
    event = sum(counts[2:])
    for A, v in chance.items():
        if len(A) < 2:
            continue
        q = v / event
        seen = np.mean(keys == sum(1 << i for i in A))
        assert abs(seen - q) <= 5 * np.sqrt(q * (1 - q) / samples) + 1e-12, (A, seen, q)


def test_the_same_seed_gives_the_same_numbers():
    W1, W2, b, importance = _model(6)
    one = decompose(W1, W2, b, 0.9, importance, samples=5_000, seed=3)
    two = decompose(W1, W2, b, 0.9, importance, samples=5_000, seed=3)
    assert (one.estimate, one.stderr, one.plain) == (two.estimate, two.stderr, two.plain)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"W2": np.zeros((N, M + 1))}, "shapes do not fit"),
        ({"b": np.full(N, np.nan)}, "b has entries that are not finite"),
        ({"sparsity": 1.5}, "sparsity S must lie in [0, 1]"),
        ({"order": 4}, "--order must be 0 to 3"),
        ({"importance": -np.ones(N)}, "importances must be nonnegative"),
        ({"sparsity": [0.9, 0.9]}, "one sparsity or one per feature (6), got 2"),
        ({"samples": 100.5}, "an integer number of samples >= 2"),
        ({"seed": -1}, "a seed >= 0"),
        ({"order": 3, "top": 2}, "--top must be from 3"),
    ],
)
def test_bad_input_is_refused_in_one_line(change, message):
    W1, W2, b, importance = _model(7)
    arguments = {"W1": W1, "W2": W2, "b": b, "sparsity": 0.9, "importance": importance, **change}
    arguments.setdefault("samples", 100)
    with pytest.raises(SuperlossError) as error:
        decompose(**arguments)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("top", [None, 4])
def test_order_three_whole_or_over_the_most_important_features(every_pattern, top):
    (W1, W2, b, importance), L = every_pattern
    S = 0.8
    d = decompose(W1, W2, b, S, importance, order=3, top=top, samples=40_000, seed=2)
    chosen = range(N) if top is None else range(top)  # importances 0.8^i: the first are the most important
    exact = {A: v for A, v in L.items() if len(A) <= 2 or (len(A) == 3 and set(A) <= set(chosen))}
    assert abs(d.exact - _total(exact, S)) <= 1e-12
    total = _total(L, S)
    assert total - d.exact <= d.bound and abs(d.estimate - total) <= 4 * d.stderr
    assert abs(d.probability - _total(dict.fromkeys(exact, 1.0), S)) <= 1e-12


def test_dask_gives_the_same_numbers_to_the_last_bit(every_pattern):
    pytest.importorskip("dask.distributed")
    (W1, W2, b, importance), _ = every_pattern
    here = decompose(W1, W2, b, 0.9, importance, order=3, samples=50_000, seed=5)
    there = decompose(W1, W2, b, 0.9, importance, order=3, samples=50_000, seed=5, scheduler="local", workers=2)
    assert (here.exact, here.bound, here.estimate, here.stderr, here.plain, here.plain_stderr) == (
        there.exact, there.bound, there.estimate, there.stderr, there.plain, there.plain_stderr
    )  # fmt: skip
    assert np.array_equal(here.interference, there.interference)


def test_an_unreachable_scheduler_fails_within_ten_seconds(every_pattern):
    pytest.importorskip("dask.distributed")
    import time

    (W1, W2, b, importance), _ = every_pattern
    start = time.perf_counter()
    with pytest.raises(SuperlossError, match="cannot reach it within 10 s"):
        decompose(W1, W2, b, 0.9, importance, samples=100, scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - start <= 12


def test_the_command_reads_npz_json_and_train_folders(tmp_path, capsys, every_pattern):
    from conftest import run

    (W1, W2, b, importance), L = every_pattern
    np.savez(tmp_path / "model.npz", W1=W1, W2=W2, b=b)
    (tmp_path / "model.json").write_text(json.dumps({"W1": W1.tolist(), "W2": W2.tolist(), "b": b.tolist()}))
    outputs = []
    for name in ("model.npz", "model.json"):
        target = tmp_path / f"{name}.out.json"
        code, out, err = run(
            capsys, "decompose", str(tmp_path / name), "--sparsity", "0.9", "--importance-decay", "0.8",
            "--samples", "20000", "--json", str(target), "--figure", str(tmp_path / "J"),
        )  # fmt: skip
        assert code == 0 and err == "", err
        data = json.loads(target.read_text())
        outputs.append(data)
        assert {"exact", "bound", "estimate", "stderr", "plain_stderr", "interference"} <= set(data)
        assert abs(data["estimate"] - _total(L, 0.9)) <= 4 * data["stderr"]
        assert np.array(data["interference"]).shape == (N, N)
        assert (tmp_path / "J.png").is_file() and (tmp_path / "J.pdf").is_file()
    assert outputs[0]["estimate"] == outputs[1]["estimate"]  # the same model, seed and numbers

    from numeric.train import TrainConfig, train

    result = train(
        "hidden", 3, 4, [0.7, 0.9], [1, 0.8, 0.64], seeds=[0], config=TrainConfig(steps=20, batch=8), progress=False
    )
    result.save(tmp_path / "trained")
    code, out, err = run(capsys, "decompose", str(tmp_path / "trained"), "--instance", "1", "--samples", "1000")
    assert code == 0 and "S = 0.9," in out and "importances 1 .. 0.64" in out, out + err


_GOOD = {"W1": np.ones((2, 3)), "W2": np.ones((3, 2)), "b": np.zeros(3)}


@pytest.mark.parametrize(
    ("arrays", "extra", "message"),
    [
        ({"W1": np.ones((2, 3)), "W2": np.ones((3, 2))}, [], "no array b"),
        ({**_GOOD, "W2": np.ones((2, 3))}, [], "shapes do not fit"),
        ({**_GOOD, "W1": np.full((2, 3), np.nan)}, [], "W1 has entries that are not finite"),
        (
            {"W1": np.ones((2, 1)), "W2": np.ones((1, 2)), "b": np.zeros(1)},
            ["--order", "2"],
            "the number of features (1)",
        ),
        (_GOOD, ["--sparsity", "1.5"], "sparsity S must lie in [0, 1]"),
        (_GOOD, ["--instance", "0"], "--instance needs a train folder"),
        (_GOOD, ["--scheduler", "tcp://127.0.0.1:9"], "cannot reach it within 10 s"),
    ],
)
def test_the_command_refuses_bad_models_in_one_line_and_writes_nothing(tmp_path, capsys, arrays, extra, message):
    from conftest import run

    np.savez(tmp_path / "model.npz", **arrays)
    options = {"--sparsity": "0.9", "--importance-decay": "0.8"}
    for key, value in zip(extra[::2], extra[1::2], strict=True):
        options[key] = value
    argv = [a for kv in options.items() for a in kv]
    target = tmp_path / "out.json"
    code, out, err = run(capsys, "decompose", str(tmp_path / "model.npz"), *argv, "--json", str(target))
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert not target.exists()


def test_the_detector_finds_motifs_planted_at_the_papers_scale_and_nothing_in_random_models():
    from analytic.presets import Motif
    from numeric.detect import detect, plant

    rng = np.random.default_rng(0)
    planted = [Motif(3, 50, 7, -1, 1, 1), Motif(10, 11, 12, 1, -1, 1), Motif(60, 80, 99, -1, -1, -1)]
    truth = {(0, 1, 3, 50, 7), (10, 11, 10, 11, 12), (20, 21, 60, 80, 99)}
    for _ in range(5):
        W1, W2 = rng.normal(size=(40, 100)) * 0.3, rng.normal(size=(100, 40)) * 0.3
        assert not detect(W1, W2).motifs
        W1, W2 = plant(W1, W2, planted, neurons=[0, 1, 10, 11, 20, 21])
        found = {(m.host, m.inhibitor, m.host_feature, m.rider, m.inhibitor_feature) for m in detect(W1, W2).motifs}
        assert found == truth


def test_the_sweep_writes_every_model_with_its_labels(tmp_path, capsys):
    from conftest import run

    out = tmp_path / "sweep"
    code, text, err = run(
        capsys, "sweep", "--features", "6", "--neurons", "4", "--steps", "50", "--densities", "1", "0.05",
        "--samples", "2000", "--out", str(out), "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "detected, not ground truth" in text
    summary = json.loads((out / "sweep.json").read_text())
    assert [m["density"] for m in summary["models"]] == [1.0, 0.05]
    assert summary["models"][0]["exact_share"] == 0.0  # density 1: every pattern has all six features
    for name in ("density_1_seed_0", "density_0.05_seed_0"):
        record = json.loads((out / "models" / f"{name}.json").read_text())
        assert {"dropped", "carries", "detected"} <= set(record["labels"])
        assert (out / "models" / f"{name}.npz").is_file() and (out / f"interference_{name}.png").is_file()
    assert (out / "superposition.png").is_file() and (out / "sweep.md").is_file()
    code, text, err = run(capsys, "decompose", str(out / "models" / "density_0.05_seed_0.json"), "--samples", "1000")
    assert code == 0 and "S = 0.95," in text, err
    code, text, err = run(capsys, "sweep", "--densities", "0", "--out", str(tmp_path / "bad"))
    assert code == 2 and "every density 1 - S must lie in (0, 1]" in err and not (tmp_path / "bad").exists()


def test_weights_that_overflow_end_in_one_line_and_write_nothing(tmp_path, capsys):
    from conftest import run

    np.savez(tmp_path / "huge.npz", W1=np.full((3, 5), 1e200), W2=np.full((5, 3), 1e200), b=np.zeros(5))
    code, out, err = run(
        capsys, "decompose", str(tmp_path / "huge.npz"), "--sparsity", "0.9", "--importance-decay", "0.8",
        "--samples", "100", "--json", str(tmp_path / "d.json"), "--figure", str(tmp_path / "J"),
    )  # fmt: skip
    assert code == 2 and out == "" and err.count("\n") == 1 and "too large for float64" in err, err
    assert not any(tmp_path.glob("d.json")) and not any(tmp_path.glob("J.*"))


def test_plant_and_sweep_refuse_what_would_be_ambiguous(tmp_path, capsys):
    from analytic.presets import Motif
    from numeric.detect import plant

    from conftest import run

    with pytest.raises(SuperlossError, match="neurons must be from 0 to 2"):
        plant(np.zeros((3, 4)), np.zeros((4, 3)), [Motif(0, 1, 2)], neurons=[1, -1])
    code, out, err = run(capsys, "sweep", "--densities", "0.1", "0.1000001", "--out", str(tmp_path / "s"))
    assert code == 2 and "the densities must differ" in err and not (tmp_path / "s").exists()
