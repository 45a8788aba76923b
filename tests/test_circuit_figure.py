"""The circuit figure draws the canonical weights as heatmaps centred at 0 and annotates each neuron's roles."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.image import AxesImage

from analytic import SuperlossError
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric import plots
from numeric.detect import circuit_weights
from numeric.vocabulary import describe


def _gids(fig) -> dict:
    return {child.get_gid(): child for ax in fig.axes for child in ax.get_children() if child.get_gid()}


def _draw(fig) -> None:
    FigureCanvasAgg(fig).draw()  # lays out and renders every artist: errors surface here


def test_motif_figure_has_weights_roles_and_title(tmp_path):
    circuit = asymmetric_inhibition().subs(CANONICAL)
    d = describe(*circuit_weights(circuit), features=circuit.features)
    fig = plots.circuit_figure(d)
    _draw(fig)
    gids = _gids(fig)
    for name, values in (("W1", d.form.W1), ("W2", d.form.W2), ("b", d.form.b[:, None])):
        image = gids[name]
        assert isinstance(image, AxesImage)
        assert np.array_equal(image.get_array(), values)
        low, high = image.get_clim()
        assert low == -high == -np.abs(values).max()  # symmetric about 0
    roles = {j: gids[f"roles: {j}"].get_text().splitlines() for j in range(5)}
    assert roles[0] == ["a+ reproduce", "b- reproduce", "b- leak→a", "a+ leak→b", "cond. bias c"]
    assert roles[3] == ["c+ reproduce", "a+ leak→c", "inhibit b"]
    assert roles[1] == ["a- reproduce"]
    assert fig._suptitle.get_text() == "asymmetric superposition with inhibition, monosemantic half x3"
    # Every cell's value is written, white on the dark cells.
    texts = {t.get_text(): t for t in fig.axes[1].texts}
    assert texts["-20"].get_color() == "white" and texts["4"].get_color() == "black"
    assert len(fig.axes[0].texts) == d.form.W1.size
    # A circuit gives the same figure as its description; and save writes both files.
    same = plots.circuit_figure(circuit)
    assert _gids(same)["roles: 0"].get_text() == gids["roles: 0"].get_text()
    written = plots.save(fig, tmp_path / "motif")
    assert [p.suffix for p in written] == [".png", ".pdf"] and all(p.stat().st_size > 0 for p in written)


def test_random_model_figure_has_every_role():
    rng = np.random.default_rng(7)
    W1, W2, b = rng.normal(size=(8, 4)), rng.normal(size=(4, 8)), rng.normal(size=4)
    fig = plots.circuit_figure(W1, W2, b)
    _draw(fig)
    d = describe(W1, W2, b)
    gids = _gids(fig)
    for j, neuron in enumerate(d.neurons):
        # Features are numbered 1-based in the figure, as on its axes.
        shown = tuple(str(int(x) + 1) for x in d.features)
        assert gids[f"roles: {j}"].get_text().splitlines() == [replace(r, names=shown).label() for r in neuron.roles]
    title = fig._suptitle.get_text()
    assert d.new and f"new: {len(d.novel)} neuron(s)" in title and all(name in title for name in d.structures)


def test_dead_neurons_are_marked_and_bad_input_refused():
    fig = plots.circuit_figure([[1.0, 0.0], [0.0, 0.0]], [[1.0, 5.0], [0.0, 0.0]], features=("p", "q"))
    assert _gids(fig)["roles: 1"].get_text() == "dead"
    with pytest.raises(SuperlossError, match="W2 has shape"):
        plots.circuit_figure([[1.0, 0.0]], [[1.0, 0.0]])
