"""Figures: each function draws what it promises, in the shared style, and save writes both files atomically."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import sympy as sp
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.contour import ContourSet
from matplotlib.figure import Figure
from matplotlib.text import Text

from analytic import Circuit, Problem, SparseUniform, SuperlossError, expected_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric import plots
from numeric.motif import VARIANTS
from numeric.optimize import optimize
from numeric.study import Case
from numeric.train import TrainConfig, train

w, v = syms("w v")
kappa, delta = sym("kappa"), sym("delta")
S, I_b = sym("S"), sym("I_b")


def _gids(ax) -> dict:
    return {child.get_gid(): child for child in ax.get_children() if child.get_gid()}


def _boundaries(ax) -> dict:
    """Each drawn regime boundary: its polynomial, and the vertices of its zero contour."""
    out = {}
    for gid, child in _gids(ax).items():
        if gid.startswith("boundary: "):
            assert isinstance(child, ContourSet)
            vertices = np.vstack([p.vertices for p in child.get_paths() if len(p.vertices)])
            out[sp.sympify(gid.removeprefix("boundary: "), locals={"w": w, "v": v, "kappa": kappa, "delta": delta})] = (
                vertices
            )
    return out


@pytest.fixture(scope="module")
def tiny():
    """``ReLU(w x_1 + v x_2)`` feeding both outputs: its optimum at S = 1/2 is inside
    the box, in the regime cut by ``w``, ``v``, ``v - w`` and ``v + w``."""
    circuit = Circuit([[w, v]], [[1], [1]])
    law = SparseUniform(sp.Rational(1, 2))
    best = optimize(Problem(circuit, law, free={w: (0.1, 2), v: (-1, 1)}), starts=2, samples=0)
    return circuit, law, best


def test_landscape_has_the_loss_the_optimum_and_the_known_boundaries(tiny):
    circuit, law, best = tiny
    fig = plots.landscape(best, w, v, points=7)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the landscape and its colorbar
    ax = fig.axes[0]
    gids = _gids(ax)
    assert isinstance(gids["loss"], ContourSet)
    # Log colours: the levels are geometric, and start at the grid's least loss, which the optimum undercuts.
    levels = gids["loss"].levels
    assert np.allclose(levels[1:] / levels[:-1], levels[1] / levels[0])
    assert best.loss <= levels[0] < 1.5 * best.loss
    assert gids["optimum"].get_xydata().tolist() == [[best.params[w], best.params[v]]]
    assert ax.get_xlim() == (0.1, 2.0) and ax.get_ylim() == (-1.0, 1.0)
    assert ax.get_xlabel() == "$w$" and ax.get_ylabel() == "$v$"
    drawn = _boundaries(ax)
    # The regime is w > 0, v + w > 0, v < 0, v < w. In the box (w >= 0.1) w = 0 is outside it,
    # and v < w is implied by v < 0 < w: only v = 0 and v + w = 0 bound the regime there.
    assert {frozenset({f, -f}) for f in drawn} == {frozenset({g, -g}) for g in (v, v + w)}
    assert "regime" in gids and ax.get_title() == "$S$ = 0.5"
    for f, vertices in drawn.items():
        assert len(vertices) > 2
        values = sp.lambdify([w, v], f)(vertices[:, 0], vertices[:, 1])
        assert np.max(np.abs(values)) < 1e-9, f


def test_landscape_of_the_motif_draws_its_regime_boundaries_in_kappa_and_delta():
    # The regime of the canonical point, as an optimum-like object: landscape reads params,
    # fixed, bounds, regime and problem only.
    fixed = {S: sp.Rational(9, 10), I_b: sp.Rational(3, 10)}
    law, importance = SparseUniform(S), [1, I_b, 1]
    regime = expected_loss(asymmetric_inhibition(), law, importance, at=CANONICAL)
    point = SimpleNamespace(
        params={p: float(x) for p, x in CANONICAL.items()},
        fixed=fixed,
        regime=regime,
        bounds={kappa: (0.0, 1000.0), delta: (0.0, 1.0)},
        problem=Problem(asymmetric_inhibition(), law, importance, fixed=fixed),
    )
    fig = plots.landscape(point, "kappa", "delta", span={kappa: (0, 40), delta: (0, 1)}, points=5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == r"$\kappa$" and ax.get_ylabel() == r"$\delta$"
    drawn = _boundaries(ax)
    # In the plane the regime is the strip 0.2075 < delta < 0.27 right of delta kappa = 4.98
    # (b_c + delta - gamma w_a = 0 is delta = 0.27); those three bound it and are drawn.
    horizontal = [x for x in drawn.values() if np.allclose(x[:, 1], 0.27)]
    assert len(horizontal) == 1 and np.ptp(horizontal[0][:, 0]) == pytest.approx(40.0)
    assert any(np.allclose(x[:, 1], 0.2075) for x in drawn.values()) and len(drawn) == 3
    # b_b - kappa + 1 = 0 (kappa = 0.98) changes sign in the box but far from the regime: not drawn.
    assert not any(np.allclose(x[:, 0], 0.98) for x in drawn.values())
    assert ax.get_title() == "$S$ = 0.9, $I_{b}$ = 0.3"


def test_landscape_rejects_what_it_cannot_draw(tiny):
    circuit, law, best = tiny
    with pytest.raises(SuperlossError, match="not a free parameter"):
        plots.landscape(best, w, sym("kappa"), points=3)
    with pytest.raises(SuperlossError, match="two different"):
        plots.landscape(best, w, w, points=3)
    with pytest.raises(SuperlossError, match="points"):
        plots.landscape(best, w, v, points=1)
    # Parameters are found by name: a plain Symbol (no assumptions) or a string will do.
    assert plots.landscape(best, sp.Symbol("w"), "v", points=3).axes[0].get_xlabel() == "$w$"
    with pytest.raises(SuperlossError, match="lo < hi"):
        plots.landscape(best, w, v, span={w: (1, 1)}, points=3)


def test_save_writes_png_and_pdf_atomically(tmp_path, tiny):
    fig = plots.weight_diagram([[1.0, -0.5]], [[1.0], [0.25]])
    paths = plots.save(fig, tmp_path / "diagram")
    assert paths == [tmp_path / "diagram.png", tmp_path / "diagram.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diagram.pdf", "diagram.png"]  # no temporary file
    # 300 dpi: the PNG is 300 pixels per inch of the figure's width (IHDR holds the width).
    assert int.from_bytes(png[16:20], "big") == round(fig.get_figwidth() * 300)
    # The same figure gives the same PDF (no creation date inside).
    plots.save(fig, tmp_path / "again")
    assert (tmp_path / "again.pdf").read_bytes() == pdf


def test_save_into_a_missing_folder_is_a_one_line_error(tmp_path):
    fig = plots.weight_diagram([[1.0]], [[1.0]])
    with pytest.raises(SuperlossError, match="does not exist") as error:
        plots.save(fig, tmp_path / "missing" / "figure")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "missing").exists()


def _case(S_, I, **losses) -> dict:
    return {"S": S_, "I_b": I, "optima": {name.replace("_", " "): {"loss": x} for name, x in losses.items()}}


def test_loss_against_sparsity_from_study_dicts():
    cases = [
        _case("1/2", "1/10", full=0.0068, rider_dropped=0.0068, symmetric=0.042),
        _case("9/10", "1/10", full=0.0016, rider_dropped=0.0016, symmetric=0.009),
        _case("99/100", "1/10", full=4.3e-5, rider_dropped=1.7e-4, symmetric=9.2e-4),
        _case("0.5", "1", full=0.068, no_leak=0.068),
        _case("0.99", "1", full=1.5e-4, no_leak=2.3e-4),
    ]
    fig = plots.loss_against_sparsity(cases)
    assert len(fig.axes) == 2
    low, high = fig.axes
    assert [low.get_title(), high.get_title()] == ["$I_b = 0.1$", "$I_b = 1$"]
    assert {line.get_gid() for line in low.lines} == {"full", "rider dropped", "symmetric"}
    assert {line.get_gid() for line in high.lines} == {"full", "no leak"}
    full = {line.get_gid(): line for line in low.lines}["full"]
    assert np.allclose(full.get_xdata(), [0.5, 0.1, 0.01]) and np.allclose(full.get_ydata(), [0.0068, 0.0016, 4.3e-5])
    assert full.get_color() == plots.VARIANT_STYLE["full"]["color"]
    assert low.get_xscale() == low.get_yscale() == "log"
    assert low.get_xlim()[0] > low.get_xlim()[1]  # sparser to the right
    assert [t.get_text() for t in low.get_xticklabels()] == ["0.5", "0.9", "0.99"]
    # One legend for the figure, with every variant that appears, the full motif first.
    assert len(fig.legends) == 1 and low.get_legend() is None and high.get_legend() is None
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["full", "no leak", "symmetric", "rider dropped"]


def test_loss_against_sparsity_from_case_objects_and_bad_input():
    optimum = SimpleNamespace
    cases = [
        Case(
            sp.Rational(s),
            sp.Rational(3, 10),
            {"full": optimum(loss=x), "no leak": optimum(loss=2 * x)},
            optimum(loss=x, structure="asymmetric with inhibition"),
            [],
        )
        for s, x in (("7/10", 0.013), ("97/100", 4.6e-4))
    ]
    fig = plots.loss_against_sparsity(cases)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 2
    with pytest.raises(SuperlossError, match="unknown variant 'other'"):
        plots.loss_against_sparsity([_case("1/2", "1", other=0.1)])
    with pytest.raises(SuperlossError, match="0 <= S < 1"):
        plots.loss_against_sparsity([_case("1", "1", full=0.0)])
    with pytest.raises(SuperlossError, match="the loss of 'full'"):
        plots.loss_against_sparsity([_case("1/2", "1", full="small")])
    with pytest.raises(SuperlossError, match="needs the keys"):
        plots.loss_against_sparsity([{"S": "1/2"}])
    with pytest.raises(SuperlossError, match="at least one"):
        plots.loss_against_sparsity([])


def test_weight_diagram_of_the_motif_has_one_bar_group_per_neuron():
    motif = asymmetric_inhibition().subs(CANONICAL)
    fig = plots.weight_diagram(motif)
    assert len(fig.axes) == 2
    top, bottom = fig.axes
    W1 = np.array(motif.W1.tolist(), dtype=float)
    W2 = np.array(motif.W2.tolist(), dtype=float)
    inputs = [c for c in top.containers if isinstance(c, BarContainer)]
    outputs = [c for c in bottom.containers if isinstance(c, BarContainer)]
    # One container per feature; in each, one bar per neuron (5), and below one more for the bias.
    assert [c.get_label() for c in inputs] == ["$x_{a}$", "$x_{b}$", "$x_{c}$"]
    assert [len(c) for c in inputs] == [5, 5, 5] and [len(c) for c in outputs] == [6, 6, 6]
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["1", "2", "3", "4", "5", "b"]
    for i, (up, down) in enumerate(zip(inputs, outputs, strict=True)):
        assert [p.get_height() for p in up] == pytest.approx(W1[:, i])
        assert [p.get_height() for p in down] == pytest.approx([*W2[i], -0.02])
        assert up.patches[0].get_facecolor()[:3] == pytest.approx(down.patches[0].get_facecolor()[:3])
    # Neuron 2 reads x_c + delta x_a: the x_c bar stands on the x_a bar.
    assert inputs[2].patches[1].get_y() == pytest.approx(0.25)
    # Neuron 1 reads 2 x_a - x_b / 2: the negative part hangs from zero.
    assert inputs[1].patches[0].get_y() == pytest.approx(0.0) and inputs[1].patches[0].get_height() == -0.5
    # The biases (-0.02, too small to see as bars) are written out.
    (bias,) = [t for t in bottom.texts if t.get_gid() == "bias values"]
    assert bias.get_text() == "b: -0.02, -0.02, -0.02"
    # The input panel's legend names inputs, the output panel's outputs.
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["$x_{a}$", "$x_{b}$", "$x_{c}$"]
    assert [t.get_text() for t in fig.legends[1].get_texts()] == ["$y_{a}$", "$y_{b}$", "$y_{c}$"]
    assert [c.get_label() for c in outputs] == ["$y_{a}$", "$y_{b}$", "$y_{c}$"]
    # Numbered features are 1-based in every figure.
    numbered = plots.weight_diagram([[1.0, 0.0]], [[1.0], [0.0]])
    assert [t.get_text() for t in numbered.legends[1].get_texts()] == ["$y_{1}$", "$y_{2}$"]
    named = plots.weight_diagram([[1.0, 0.0]], [[1.0], [0.0]], features=["1", "2"])  # a spec's names stay
    assert [t.get_text() for t in named.legends[1].get_texts()] == ["$y_{1}$", "$y_{2}$"]


def test_weight_diagram_checks_its_input():
    with pytest.raises(SuperlossError, match="numeric weights"):
        plots.weight_diagram(asymmetric_inhibition())
    with pytest.raises(SuperlossError, match="W2 must be 2 x 1"):
        plots.weight_diagram([[1.0, 2.0]], [[1.0, 2.0]])
    with pytest.raises(SuperlossError, match="b must have 2"):
        plots.weight_diagram([[1.0, 2.0]], [[1.0], [2.0]], b=[0.1])
    fig = plots.weight_diagram(np.ones((3, 8)), np.ones((8, 3)))  # past the palette: cividis
    colours = {tuple(c.patches[0].get_facecolor()) for c in fig.axes[0].containers}
    assert len(colours) == 8


def test_training_curves_of_a_short_run(tmp_path):
    result = train(
        "hidden", 3, 5, [0.7, 0.9], [1, 0.3, 1], seeds=[0, 1], config=TrainConfig(steps=30, batch=64), progress=False
    )
    fig = plots.training_curves(result)
    assert len(fig.axes) == 1
    ax = fig.axes[0]
    curves = [line for line in ax.lines if line.get_gid() == "instance"]
    finals = [line for line in ax.lines if line.get_gid() == "final estimate"]
    assert len(curves) == len(finals) == result.instances == 4
    for k, line in enumerate(curves):
        assert np.array_equal(line.get_xdata(), result.history_steps)
        assert np.array_equal(line.get_ydata(), result.history[:, k])
        assert finals[k].get_xydata().tolist() == [[30, result.final_estimate.mean[k]]]
    # Colour by sparsity: the two seeds of one S share a colour, the two S differ.
    colour = {float(S): set() for S in result.sparsities}
    for line, S_ in zip(curves, result.sparsities, strict=True):
        colour[float(S_)].add(line.get_color())
    assert all(len(c) == 1 for c in colour.values()) and len(set.union(*colour.values())) == 2
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["$S = 0.7$", "$S = 0.9$", "final estimate"]
    # One sparsity: a colour per seed, and the analytic optimum as a dashed reference line.
    one = train(
        "hidden", 3, 5, [0.9], [1, 0.3, 1], seeds=[0, 1, 2], config=TrainConfig(steps=30, batch=64), progress=False
    )
    ax1 = plots.training_curves(one, 0.0123).axes[0]
    assert len({line.get_color() for line in ax1.lines if line.get_gid() == "instance"}) == 3
    (ref,) = [line for line in ax1.lines if line.get_gid() == "reference"]
    assert list(ref.get_ydata()) == [0.0123, 0.0123] and ref.get_linestyle() == "--"
    labels = [t.get_text() for t in ax1.get_legend().get_texts()]
    assert labels == ["seed 0", "seed 1", "seed 2", "final estimate", "analytic optimum"]
    # A saved result folder draws the same curves.
    result.save(tmp_path / "run")
    again = plots.training_curves(tmp_path / "run").axes[0]
    assert all(np.array_equal(a.get_ydata(), b.get_ydata()) for a, b in zip(again.lines, ax.lines, strict=True))


def test_every_figure_is_in_the_house_style():
    figures = [
        plots.weight_diagram(asymmetric_inhibition().subs(CANONICAL)),
        plots.loss_against_sparsity([_case("1/2", "1", full=0.07), _case("9/10", "1", full=0.008)]),
    ]
    for fig in figures:
        assert fig.get_figwidth() == plots.WIDTH["single"]
        FigureCanvasAgg(fig).draw()  # ticks are made at draw time, outside the style's settings
        sizes = {t.get_fontsize() for t in fig.findobj(Text) if t.get_text()}
        assert sizes and sizes <= {7.0, 8.0}, sizes
        ticks = [t for ax in fig.axes for t in ax.xaxis.get_major_ticks() + ax.yaxis.get_major_ticks()]
        assert {t.tick1line.get_markersize() for t in ticks} == {plots.STYLE["xtick.major.size"]}
    assert set(plots.VARIANT_STYLE) == set(VARIANTS)
    assert plots.feature_colours(3) == [plots.OKABE_ITO[c] for c in ("blue", "orange", "bluish green")]


def test_no_pyplot_and_no_matplotlib_in_analytic():
    code = (
        "import sys, analytic, analytic.presets; assert 'matplotlib' not in sys.modules; "
        "import numeric.plots; assert 'matplotlib.pyplot' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_weight_heatmaps_show_every_matrix_on_one_scale():
    motif = asymmetric_inhibition().subs(CANONICAL)
    fig = plots.weight_heatmaps(motif)
    images = {im.get_gid(): im for ax in fig.axes for im in ax.get_images()}
    assert set(images) == {"W1", "W2", "b2"}
    assert np.array_equal(images["W1"].get_array(), np.array(motif.W1.tolist(), dtype=float))
    assert np.array_equal(images["W2"].get_array(), np.array(motif.W2.tolist(), dtype=float))
    assert {im.get_clim() for im in images.values()} == {(-20.0, 20.0)}  # kappa = 20 sets the scale


def test_a_pentagon_shows_w_transpose_w_and_its_feature_directions():
    k = 5
    W = np.array([[np.cos(2 * np.pi * i / k) for i in range(k)], [np.sin(2 * np.pi * i / k) for i in range(k)]])
    from analytic import Circuit

    fig = plots.weight_heatmaps(Circuit(W.tolist(), W.T.tolist(), b2=[-0.1] * k, target="identity"))
    images = {im.get_gid(): im for ax in fig.axes for im in ax.get_images()}
    assert np.allclose(images["W2 W1"].get_array(), W.T @ W) and "$W^\\top W$" in [ax.get_title() for ax in fig.axes]
    arrows = {t.get_gid(): t.xy for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("direction")}
    assert len(arrows) == k and np.allclose(arrows["direction: 2"], W[:, 1])  # numbered 1-based
