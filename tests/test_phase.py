"""The analytic phase diagram: structures where the study found them, inhibition never costs."""

from __future__ import annotations

import numpy as np
import pytest

from numeric.phase import phase_diagram


@pytest.mark.slow
def test_corners_of_the_phase_diagram():
    d = phase_diagram([0.5, 0.99], [0.3, 1.0], jobs=1)
    assert d.structure.shape == (2, 2) and d.loss.shape == (2, 2)
    # The study's corners: the rider is dropped at S = 0.5, asymmetric with inhibition at S = 0.99.
    assert list(d.structure[:, 0]) == ["rider dropped"] * 2
    assert list(d.structure[:, 1]) == ["asymmetric with inhibition"] * 2
    # The variant without inhibition is nested in the full motif: inhibition never costs.
    assert np.all(d.bought >= -1e-12)
    # The rider-dropped optimum at S = 0.5, I_b = 0.3 is 0.0203125 (checked by hand in docs/study.md).
    assert d.loss[0, 0] == pytest.approx(0.0203125, rel=1e-6)
    assert d.bought[1, 1] > 0.5


@pytest.mark.slow
def test_optimal_loss_never_falls_as_the_rider_matters_more():
    """For fixed weights the loss is linear in I_b with a nonnegative slope, so its
    minimum cannot fall as I_b grows. On this grid the row sweeps alone end the
    lower row on a worse branch of local minima at two sparsities; searches from
    the neighbouring row's optima repair it."""
    d = phase_diagram(1 - np.geomspace(0.2, 0.01, 6)[3:], np.geomspace(0.12, 0.2, 5)[3:], jobs=1)
    assert d.improved > 0
    assert np.all(d.loss[1] >= d.loss[0] * (1 - 1e-9))
    assert np.all(d.bought >= -1e-12)


def test_phase_figure_marks_the_free_models(tmp_path):
    from numeric.plots import phase_figure, save

    record = {
        "S": [0.5, 0.9, 0.99],
        "I_b": [0.1, 1.0],
        "structure": [
            ["rider dropped"] * 3,
            ["rider dropped", "asymmetric with inhibition", "asymmetric with inhibition"],
        ],
        "bought": [[0, 0, 0], [0, 0.3, 0.8]],
    }
    overlay = {"S": [0.5, 0.99], "I_b": [0.1, 1.0], "motif": [[0, 0.5], [0, 1]]}
    fig = phase_figure(record, overlay=overlay)
    left = fig.axes[0]
    filled, empty = left.collections[-2:]
    assert len(filled.get_offsets()) == 2 and len(empty.get_offsets()) == 2
    labels = [t.get_text() for t in left.get_legend().get_texts()]
    assert labels == [
        "rider dropped",
        "asymmetric with inhibition",
        "free models with the motif",
        "free models without it",
    ]
    assert all(p.stat().st_size > 0 for p in save(fig, tmp_path / "phase"))
