"""The n = 2, m = 1 reconstruction phase diagram: the paper's three phases where it shows them,
optima that the certified optimizer and Monte Carlo confirm, and a figure that saves."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

from analytic import Problem, SuperlossError
from numeric import plots
from numeric.engines.montecarlo import monte_carlo_loss
from numeric.engines.pointwise import PointwiseLoss
from numeric.optimize import optimize
from numeric.reconstruction import (
    BOX,
    STRUCTURES,
    R,
    S,
    classify,
    importance,
    law,
    phase_diagram,
    reconstruction_circuit,
)

DENSITIES = (1.0, 0.1, 0.01)
IMPORTANCES = (0.1, 1.0, 10.0)


@pytest.fixture(scope="module")
def grid():
    return phase_diagram(DENSITIES, IMPORTANCES, jobs=1)


def _loss(params: dict, density: float, r: float) -> float:
    circuit, symbols = reconstruction_circuit()
    f = PointwiseLoss(Problem(circuit, law(), importance(), free=symbols, fixed={S: 1 - density, R: r}))
    return f.value([params[p.name] for p in symbols])


def test_classify_names_each_structure_and_ignores_the_global_sign():
    cases = {
        "not represented": {"w_1": 1.0, "w_2": 1e-5, "b_1": 0.0, "b_2": 0.5},
        "dedicated dimension": {"w_1": -2e-4, "w_2": 0.9, "b_1": 0.4, "b_2": 0.0},
        "superposition": {"w_1": 1.01, "w_2": -0.2, "b_1": 0.05, "b_2": 0.4},
        "same sign": {"w_1": 0.94, "w_2": 0.37, "b_1": -0.1, "b_2": 0.26},
        "empty": {"w_1": 1e-4, "w_2": -1e-4, "b_1": 0.5, "b_2": 0.5},
    }
    assert set(cases) == set(STRUCTURES)
    for structure, point in cases.items():
        assert classify(point) == structure
        # W -> -W leaves W^T W, hence the model, unchanged: the structure too.
        assert classify({**point, "w_1": -point["w_1"], "w_2": -point["w_2"]}) == structure
    # The tolerance is relative to the larger weight: 1e-3 of it.
    assert classify({"w_1": 2.0, "w_2": -1.9e-3}) == "not represented"
    assert classify({"w_1": 2.0, "w_2": -2.1e-3}) == "superposition"
    w_1, w_2 = reconstruction_circuit()[1][:2]
    assert classify({w_1: 0.0, w_2: 1.0}) == "dedicated dimension"  # by symbol as well as by name
    with pytest.raises(SuperlossError, match="w_1 and w_2"):
        classify({"w_1": 1.0})


def test_the_corners_of_the_diagram_have_the_papers_phases(grid):
    assert grid.structure.shape == (3, 3) and grid.loss.shape == (3, 3)
    # The paper's diagram (and this exact one): with dense features the extra feature is dropped
    # when it matters less (r = 0.1) and takes the one dimension when it matters more (r = 10);
    # with sparse features it is stored in superposition, antipodal to feature 1.
    assert grid.structure[0, 0] == "not represented"
    assert grid.structure[2, 0] == "dedicated dimension"
    assert list(grid.structure[:, 2]) == ["superposition"] * 3
    # Checked with the exact loss beforehand: at density 0.1 superposition already wins at r = 0.1 and 10.
    assert list(grid.structure[:, 1]) == ["superposition"] * 3
    for i, j in [(0, 2), (1, 2), (2, 2), (0, 1)]:
        w1, w2 = grid.params[i][j]["w_1"], grid.params[i][j]["w_2"]
        assert w1 * w2 < 0 and 0.8 < abs(w1) < 1.2 and 0.8 < abs(w2) < 1.2
    # Dense, a dropped feature costs its variance: r (1/3 - 1/4) at the best bias b = 1/2.
    assert grid.loss[0, 0] == pytest.approx(0.1 / 12, rel=1e-9)
    assert grid.loss[2, 0] == pytest.approx(1 / 12, rel=1e-9)
    assert grid.params[0][0]["b_2"] == pytest.approx(0.5, abs=1e-6)
    # At r = 1 the two dedicated structures tie at 1/12; a mixed one beats both (its sign is
    # undetermined at density 1, see the next test).
    assert grid.structure[1, 0] in ("same sign", "superposition")
    assert grid.loss[1, 0] < 1 / 12 - 5e-5
    # Swapping the features maps importance (1, r) to r (1, 1/r): L(r) = r L(1/r).
    np.testing.assert_allclose(grid.loss[2], 10 * grid.loss[0], rtol=1e-9)
    # The box did not stop any search.
    assert not grid.on_box_edge.any()


def test_at_density_one_the_sign_of_w1_w2_is_not_determined():
    point = {"w_1": 0.2249, "w_2": -0.9782, "b_1": 0.5847, "b_2": 0.1304}
    shift = point["w_1"] * point["w_2"]
    reflected = {**point, "w_2": -point["w_2"], "b_1": point["b_1"] + shift, "b_2": point["b_2"] + shift}
    assert (classify(point), classify(reflected)) == ("superposition", "same sign")
    assert _loss(reflected, 1.0, 1.0) == pytest.approx(_loss(point, 1.0, 1.0), rel=1e-12)
    # Below density 1 an inactive feature is 0, not uniform, and the reflection changes the loss.
    assert abs(_loss(reflected, 0.5, 1.0) - _loss(point, 0.5, 1.0)) > 1e-3


def test_the_papers_three_configurations_have_the_closed_forms_the_docs_use():
    # W = [1, 0], [0, 1] and [1, -1] with b = 0: r p / 3, p / 3 and (1 + r) p^2 / 6.
    for density, r in [(0.3, 0.5), (0.8, 4.0)]:
        zero = {"b_1": 0.0, "b_2": 0.0}
        assert _loss({"w_1": 1.0, "w_2": 0.0, **zero}, density, r) == pytest.approx(r * density / 3, rel=1e-12)
        assert _loss({"w_1": 0.0, "w_2": 1.0, **zero}, density, r) == pytest.approx(density / 3, rel=1e-12)
        assert _loss({"w_1": 1.0, "w_2": -1.0, **zero}, density, r) == pytest.approx(
            (1 + r) * density**2 / 6, rel=1e-12
        )


def test_a_grid_optimum_is_the_certified_optimum_and_agrees_with_monte_carlo(grid):
    circuit, symbols = reconstruction_circuit()
    point = grid.params[0][1]  # r = 0.1, density 0.1: superposition
    fixed = {S: 1 - DENSITIES[1], R: IMPORTANCES[0]}
    best = optimize(
        Problem(circuit, law(), importance(), free=BOX, fixed=fixed),
        starts=2,
        samples=0,
        x0={p: point[p.name] for p in symbols},
    )
    assert best.loss == pytest.approx(grid.loss[0, 1], rel=1e-8)
    assert best.verdict == "minimum" and not best.active_bounds
    assert classify(best.params) == grid.structure[0, 1]

    values = {**fixed, **{p: point[p.name] for p in symbols}}
    mc = monte_carlo_loss(Problem(circuit, law(), importance(), fixed=values), samples=200_000, seed=0)
    assert abs(mc.zscore(grid.loss[0, 1])) < 5


def test_the_figure_builds_and_saves(grid, tmp_path):
    fig = plots.reconstruction_figure(grid)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.xaxis_inverted()  # sparser to the right
    shown = [t.get_text() for t in fig.legends[0].get_texts()]
    assert shown == [s for s in STRUCTURES if (grid.structure == s).any()]
    paths = plots.save(fig, tmp_path / "reconstruction")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert all(p.stat().st_size > 1000 for p in paths)
    # The JSON record draws the same figure.
    again = plots.reconstruction_figure(grid.to_dict())
    assert [t.get_text() for t in again.legends[0].get_texts()] == shown
    with pytest.raises(SuperlossError, match="unknown structure"):
        plots.reconstruction_figure({**grid.to_dict(), "structure": [["liquid"] * 3] * 3})


@pytest.mark.parametrize("densities, importances", [([0.0, 0.5], [1.0]), ([1.5], [1.0]), ([0.5], [-1.0])])
def test_bad_grids_are_refused(densities, importances):
    with pytest.raises(SuperlossError):
        phase_diagram(densities, importances, jobs=1)
