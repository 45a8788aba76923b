"""The atlas: every point's best free model, beside the motif family, the motif's pattern and trained models."""

import argparse
import json

import numpy as np
import pytest

from analytic import SuperlossError
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric.atlas import AtlasPoint, _improved, atlas, motif_patterns
from numeric.cli import main
from numeric.detect import circuit_weights
from numeric.free.model import FreeModel
from numeric.free.optimum import free_optimum
from numeric.free.starts import _motifs
from numeric.train import TrainConfig

QUICK = TrainConfig(steps=300, lr=1e-2, schedule="cosine")


def test_the_motif_lies_in_its_pattern_and_fills_it():
    (pattern,) = motif_patterns(5)
    model = FreeModel(3, 5, pattern)
    W1, W2, b = circuit_weights(asymmetric_inhibition().subs(CANONICAL))
    A, B, c = model.split(model.join(W1, W2, b))
    assert np.array_equal(A, W1) and np.array_equal(B, W2) and np.array_equal(c, b)
    # Host (2 inputs, 3 outputs), inhibitor (2, 2), three monosemantic neurons (1, 1), three biases.
    assert sum(pattern) == (2 + 3) + (2 + 2) + 3 * (1 + 1) + 3


@pytest.mark.parametrize("m", [2, 3, 4])
def test_smaller_budgets_keep_the_motifs_two_neurons_and_some_halves(m):
    """Below 5 neurons the motif keeps its host and inhibitor and ``m - 2`` of its three
    monosemantic halves, each choice a pattern; the motif start fitted to the budget lies in one."""
    patterns = motif_patterns(m)
    assert len(patterns) == {2: 1, 3: 3, 4: 3}[m] and len(set(patterns)) == len(patterns)
    (full,) = motif_patterns(5)
    W1, W2, b = FreeModel(3, 5).split(np.array(full, dtype=float))
    for pattern in patterns:
        A, B, c = FreeModel(3, m).split(np.array(pattern, dtype=float))
        assert np.array_equal(A[:2], W1[:2]) and np.array_equal(B[:, :2], W2[:, :2]) and c.all()
        for j in range(2, m):  # a monosemantic half: one feature in, the same feature out
            (i,) = np.flatnonzero(A[j])
            assert np.flatnonzero(B[:, j]).tolist() == [i]
    start = _motifs(FreeModel(3, m), [1, 0.3, 1])[0]
    assert any(np.array_equal(np.where(pattern, start, 0.0), start) for pattern in patterns)
    assert motif_patterns(1) == motif_patterns(6) == []


def test_a_small_atlas_is_never_worse_than_training():
    result = atlas(
        2,
        2,
        [0.5, 0.9],
        [0.5],
        importance=(1, 1),
        starts=3,
        trained_starts=6,
        jobs=1,
        training=QUICK,
        trained_seeds=range(1000, 1003),
    )
    assert result.sparsities.tolist() == [0.5, 0.9] and len(result.points) == 1
    for p in result.points[0]:
        assert len(p.trained) == 3
        # The lowest 4 of the 6 trained starts are searched, beside the others.
        assert sum(r["kind"] == "trained" for r in p.free["runs"]) == 4
        assert p.loss <= min(p.trained) * (1 + 1e-9) and not p.trained_below
        assert p.motif is None and p.pattern is None
    # Two features, two neurons: each feature's positive half is computed exactly, the
    # negative halves dropped or shared; the losses grow with the density.
    assert result.points[0][0].loss > result.points[0][1].loss
    json.dumps(result.to_dict())
    assert result.table().count("\n") == 2 + 1


@pytest.mark.slow
def test_the_motif_budget_has_all_three_losses_in_order():
    """At the motif's own budget the pattern family contains the motif family, and the free
    model contains the pattern family: their best losses can only fall in that order."""
    result = atlas(3, 5, [0.9], [0.3], importance=(1, 1, 1), starts=2, jobs=1, training=QUICK, trained_seeds=[1000])
    (p,) = result.points[0]
    assert p.pattern <= p.motif * (1 + 1e-9)
    assert p.loss <= p.pattern * (1 + 1e-9)


@pytest.mark.slow
def test_a_smaller_budget_has_the_pattern_loss_below_its_free_start():
    """At 3 neurons the pattern loss is the lowest of the three patterns', and the free model,
    which starts from each pattern's optimum, is never above it."""
    result = atlas(3, 3, [0.9], [0.3], importance=(1, 1, 1), starts=2, jobs=1, training=QUICK, trained_seeds=[1000])
    (p,) = result.points[0]
    assert p.motif is None and p.pattern is not None
    assert p.loss <= p.pattern * (1 + 1e-9)


def test_atlas_command_writes_the_grid(tmp_path, capsys):
    out = tmp_path / "atlas"
    argv = ["atlas", "--features", "2", "--neurons", "1", "--sparsity", "0.5", "0.9", "--importances", "1", "1"]
    assert (
        main(
            argv
            + [
                "--rider-importance",
                "0.5",
                "--starts",
                "2",
                "--jobs",
                "1",
                "--trained",
                "1",
                "--trained-starts",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert {"atlas.json", "atlas.md", "atlas.png", "atlas.pdf"} <= {f.name for f in out.iterdir()}
    data = json.loads((out / "atlas.json").read_text())
    assert len(data["points"]) == 1 and len(data["points"][0]) == 2
    assert "best free loss" in capsys.readouterr().out


def test_the_atlas_does_not_depend_on_the_number_of_workers():
    """Rows share batches in lockstep within a worker; no search depends on its batch."""
    args = (2, 2, [0.5, 0.9], [0.5, 1.0])
    kwargs = {"importance": (1, 1), "starts": 3, "trained_starts": 3, "training": QUICK, "trained_seeds": []}
    one, two = atlas(*args, jobs=1, **kwargs), atlas(*args, jobs=2, **kwargs)
    for a, b in zip(sum(one.points, []), sum(two.points, []), strict=True):
        assert a.loss == b.loss and a.free["W1"] == b.free["W1"] and a.free["starts"] == b.free["starts"]


def test_the_command_defaults_to_the_atlas_trained_starts():
    from numeric.atlas import TRAINED_STARTS
    from numeric.cli.atlas import atlas_arguments

    parser = argparse.ArgumentParser()
    atlas_arguments(parser)
    assert parser.get_default("trained_starts") == TRAINED_STARTS


def test_the_comparison_never_shares_a_seed_with_the_trained_starts():
    with pytest.raises(SuperlossError, match="must not be seeds of the trained starts"):
        atlas(2, 1, [0.5], [1.0], importance=(1, 1), starts=1, trained_starts=4, trained_seeds=[3])


def test_a_trained_model_below_the_best_found_is_reported():
    point = AtlasPoint(0.9, 0.3, {"loss": 1.0}, None, None, (0.5, 0.99995, 1.2))
    assert point.trained_below == 1 and point.reached == 2


def test_a_search_from_a_neighbour_counts_among_the_starts():
    found = free_optimum(2, 2, 0.9, (1, 0.5), starts=3, samples=0, certificate=False)
    neighbour = free_optimum(2, 2, 0.8, (1, 0.5), starts=3, samples=0, certificate=False, seed=1)
    more = _improved(None, found, [neighbour.x])
    assert more.starts == found.starts + 1 and more.loss <= found.loss
    assert any(r.start.kind == "neighbour" for r in more.runs)
