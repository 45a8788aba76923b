"""Phase diagrams: the structure of the motif's optimum over sparsity and rider importance, and the
n = 2, m = 1 reconstruction phases."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analytic import SuperlossError

from .style import LANDSCAPE_CMAP, OKABE_ITO, WIDTH, house_style, new_figure

__all__ = ["STRUCTURE_COLOURS", "phase_figure", "reconstruction_figure"]

#: The structures of the motif's optimum, in the phase diagram's colours.
STRUCTURE_COLOURS = {
    "rider dropped": OKABE_ITO["orange"],
    "symmetric": OKABE_ITO["reddish purple"],
    "asymmetric without inhibition": OKABE_ITO["sky blue"],
    "asymmetric with inhibition": OKABE_ITO["blue"],
}


def phase_figure(diagram, overlay=None, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The phase diagram (:class:`numeric.phase.PhaseDiagram`, or its ``to_dict()``):
    left, the structure of the motif's optimum over ``(1 - S, I_b)`` (log axes);
    right, the fraction of the loss that inhibition buys. With ``overlay`` (a
    :class:`numeric.phase.TrainedOverlay` or its ``to_dict()``), the free models'
    grid on the left: filled circles where the detector found the motif in some
    seeds (sized by the fraction), open circles where in none."""
    record = diagram.to_dict() if hasattr(diagram, "to_dict") else diagram
    p = 1 - np.asarray(record["S"], dtype=float)
    importance = np.asarray(record["I_b"], dtype=float)
    names = list(STRUCTURE_COLOURS)
    codes = np.array([[names.index(s) for s in row] for row in record["structure"]], dtype=float)
    bought = np.asarray(record["bought"], dtype=float)
    with house_style():
        fig = new_figure(figsize or (WIDTH["double"], 2.8))
        left, right = fig.subplots(1, 2)
        cmap = ListedColormap([STRUCTURE_COLOURS[n] for n in names])
        left.pcolormesh(p, importance, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, shading="nearest")
        mesh = right.pcolormesh(
            p, importance, np.clip(bought, 0, 1), cmap=LANDSCAPE_CMAP, vmin=0, vmax=1, shading="nearest"
        )
        fig.colorbar(mesh, ax=right, label="loss bought by inhibition (fraction)")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.invert_xaxis()
            ax.set_xlabel(r"$p = 1 - S$ (sparser to the right)")
            ax.set_ylabel(r"$I_b$")
        if overlay is not None:
            trained = overlay.to_dict() if hasattr(overlay, "to_dict") else overlay
            tp, ti = np.meshgrid(1 - np.asarray(trained["S"], dtype=float), np.asarray(trained["I_b"], dtype=float))
            share = np.asarray(trained["motif"], dtype=float)
            some = share > 0
            left.scatter(
                tp[some],
                ti[some],
                s=8 + 30 * share[some],
                color=OKABE_ITO["black"],
                zorder=3,
                label="free models with the motif",
            )
            left.scatter(
                tp[~some],
                ti[~some],
                s=10,
                facecolors="none",
                edgecolors=OKABE_ITO["black"],
                linewidths=0.6,
                zorder=3,
                label="free models without it",
            )
        shown = [n for n in names if (codes == names.index(n)).any()]
        # A framed legend: it sits on top of the orange region.
        handles = [Patch(color=STRUCTURE_COLOURS[n], label=n) for n in shown]
        handles += left.get_legend_handles_labels()[0]
        # Below the axes: inside, it would hide part of the diagram.
        left.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.2), ncols=2, fontsize=6, frameon=False)
    return fig


def reconstruction_figure(phases, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The n = 2, m = 1 reconstruction phase diagram (:class:`numeric.reconstruction.ReconstructionPhases`,
    or its ``to_dict()``): the structure of the optimum over the density ``1 - S``
    (log axis, sparser to the right) and the extra feature's relative importance ``r``
    (log axis), coloured as in :data:`numeric.reconstruction.STRUCTURES`, with a legend
    of the structures that appear."""
    from ..reconstruction import STRUCTURES  # only here: the figure module needs no optimizer otherwise

    record = phases.to_dict() if hasattr(phases, "to_dict") else phases
    for key in ("density", "r", "structure"):
        if key not in record:
            raise SuperlossError(
                f"a reconstruction phase diagram needs the keys density, r and structure; "
                f"this one has {', '.join(map(str, record)) or 'none'}"
            )
    density = np.asarray(record["density"], dtype=float)
    importance = np.asarray(record["r"], dtype=float)
    names = list(STRUCTURES)
    unknown = sorted({str(s) for row in record["structure"] for s in row} - set(names))
    if unknown:
        raise SuperlossError(f"unknown structure {unknown[0]!r}; the structures are {', '.join(names)}")
    codes = np.array([[names.index(str(s)) for s in row] for row in record["structure"]], dtype=float)
    if codes.shape != (importance.size, density.size):
        raise SuperlossError(
            f"structure must be {importance.size} x {density.size} (r x density), "
            f"got {codes.shape[0]} x {codes.shape[1] if codes.ndim == 2 else 0}"
        )
    colours = {n: OKABE_ITO[STRUCTURES[n]["colour"]] for n in names}
    with house_style():
        fig = new_figure(figsize or (WIDTH["single"], 2.8))
        ax = fig.add_subplot()
        cmap = ListedColormap([colours[n] for n in names])
        mesh = ax.pcolormesh(density, importance, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, shading="nearest")
        mesh.set_gid("structure")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(r"density $1 - S$ (sparser to the right)")
        ax.set_ylabel(r"relative importance $r$ of feature 2")
        shown = [n for n in names if (codes == names.index(n)).any()]
        # Above the axes, in one row: every corner of the diagram holds data.
        fig.legend(
            handles=[Patch(color=colours[n], label=n) for n in shown],
            loc="outside upper center",
            ncols=len(shown),
            fontsize=6,
            handlelength=1.0,
            columnspacing=1.0,
        )
    return fig
