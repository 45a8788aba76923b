"""The atlas of a budget: what the best free model found is, over sparsity and rider importance."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from .style import LANDSCAPE_CMAP, OKABE_ITO, WIDTH, house_style, new_figure

__all__ = ["ATLAS_COLOURS", "atlas_figure"]

#: What the best free model found at a point is, in the atlas's colours.
ATLAS_COLOURS = {
    "the seed's motif, optimal": OKABE_ITO["blue"],
    "the seed's motif, not optimal": OKABE_ITO["sky blue"],
    "known structures only": OKABE_ITO["orange"],
    "new circuit": OKABE_ITO["vermillion"],
}


def _kind(point: dict) -> str:
    if point["motif_found"]:
        return "the seed's motif, optimal" if point["motif_optimal"] else "the seed's motif, not optimal"
    return "new circuit" if point["free"]["description"]["new"] else "known structures only"


def _edges(values: np.ndarray) -> np.ndarray:
    """Cell edges for values on a log axis: geometric midpoints, the ends mirrored."""
    v = np.log(values)
    if len(v) == 1:
        return np.exp(v[0] + np.array([-0.5, 0.5]))
    middle = (v[1:] + v[:-1]) / 2
    return np.exp(np.concatenate([[2 * v[0] - middle[0]], middle, [2 * v[-1] - middle[-1]]]))


def atlas_figure(atlas, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The atlas (:class:`numeric.atlas.Atlas`, or its ``to_dict()``): left, what the best
    free model found is at each ``(1 - S, I_b)`` (log axes); right, its loss over the motif
    family's where the budget is the motif's own, else its loss (log10)."""
    record = atlas.to_dict() if hasattr(atlas, "to_dict") else atlas
    p = 1 - np.asarray(record["S"], dtype=float)
    importance = np.asarray(record["I_b"], dtype=float)
    names = list(ATLAS_COLOURS)
    points = record["points"]
    codes = np.array([[names.index(_kind(q)) for q in row] for row in points], dtype=float)
    loss = np.array([[q["loss"] for q in row] for row in points], dtype=float)
    family = np.array([[q["motif_family"] if q["motif_family"] is not None else np.nan for q in row] for row in points])
    with house_style():
        fig = new_figure(figsize or (WIDTH["double"], 2.8))
        left, right = fig.subplots(1, 2)
        cmap = ListedColormap([ATLAS_COLOURS[n] for n in names])
        # On log axes the cells are drawn between geometric midpoints (matplotlib's "nearest"
        # puts a coarse grid's outer edges at zero or below).
        px, iy = _edges(p), _edges(importance)
        left.pcolormesh(px, iy, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5)
        left.legend(
            handles=[Patch(color=ATLAS_COLOURS[n], label=n) for n in names],
            fontsize="x-small",
            loc="upper left",
            bbox_to_anchor=(0, -0.28),
            ncol=2,
        )
        if np.isfinite(family).all():
            shown, label = loss / family, "best free loss / motif family's"
            mesh = right.pcolormesh(px, iy, shown, cmap=LANDSCAPE_CMAP, vmin=0, vmax=1)
        else:
            shown, label = np.log10(np.maximum(loss, 1e-300)), "log10 best free loss"
            mesh = right.pcolormesh(px, iy, shown, cmap=LANDSCAPE_CMAP)
        fig.colorbar(mesh, ax=right, label=label)
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xticks(p, [f"{v:.2g}" for v in p], minor=False, rotation=45)
            ax.set_yticks(importance, [f"{v:.3g}" for v in importance], minor=False)
            ax.minorticks_off()
            ax.invert_xaxis()
            ax.set_xlabel(r"$p = 1 - S$ (sparser to the right)")
            ax.set_ylabel(r"$I_b$")
        fig.suptitle(f"free {record['n']} x {record['m']} models: the best found", fontsize="small")
    return fig
