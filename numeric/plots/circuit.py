"""The circuit figure: a model's canonical weights as heatmaps, each neuron annotated with its roles."""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from matplotlib.figure import Figure

from analytic import Circuit

from ..detect import circuit_weights
from ..vocabulary import Description, describe
from .style import WIDTH, feature_label, house_style, new_figure, one_based

__all__ = ["WEIGHT_CMAP", "circuit_figure"]

#: Diverging colormap of the weights, centred at 0: red positive, blue negative (ColorBrewer's
#: RdBu, which stays readable under the common colour-vision deficiencies).
WEIGHT_CMAP = "RdBu_r"

#: Cell values are written in white where the colour is darker than this fraction of the scale.
DARK = 0.6


def heatmap(
    ax, values: np.ndarray, rows: Sequence[str], cols: Sequence[str], gid: str, scale: float | None = None
) -> None:
    """``values`` coloured on limits symmetric about 0 (``+-scale``, by default the largest
    ``|value|``), each cell's value written in it."""
    scale = scale or float(np.abs(values).max()) or 1.0
    image = ax.imshow(values, cmap=WEIGHT_CMAP, vmin=-scale, vmax=scale, aspect="auto")
    image.set_gid(gid)
    for (r, c), v in np.ndenumerate(values):
        colour = "white" if abs(v) > DARK * scale else "black"
        ax.text(c, r, f"{v:.2g}" if v else "0", ha="center", va="center", fontsize=5.5, color=colour)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def circuit_figure(
    source: Description | Circuit | np.ndarray | Sequence,
    W2=None,
    b=None,
    features: Sequence[str] | None = None,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """The canonical ``W1`` (neurons x features), ``W2`` (outputs x neurons) and ``b`` as
    diverging heatmaps centred at 0, each neuron's column of ``W2`` annotated with its roles
    (``a+ reproduce``, ``b- leak→a``, ``inhibit b``, ``cond. bias c``) and the named structures in
    the title.

    ``source`` is a :class:`numeric.vocabulary.Description`, a numeric
    :class:`analytic.Circuit`, or ``W1`` with ``W2`` and ``b`` (then :func:`describe` is run,
    with ``features``). Each role annotation is a text with gid ``roles: <slot>``.
    """
    if isinstance(source, Description):
        d = source
    elif isinstance(source, Circuit):
        d = describe(*circuit_weights(source), features=features or source.features)
    else:
        d = describe(source, W2, b, features)
    c, f = d.form, d.features
    m, n = c.W1.shape
    f = one_based(f)
    halves = [f"{j + 1}: {f[nn.feature]}{'+' if nn.half > 0 else '-'}" for j, nn in enumerate(d.neurons)]
    neurons = halves + [f"{j + 1}: dead" for j in range(c.live, m)]
    # Role labels name features as the axes do: numbered ones 1-based.
    roles = [[replace(r, names=f).label() for r in nn.roles] for nn in d.neurons] + [["dead"]] * c.dead
    lines = max(len(r) for r in roles)

    counts = Counter(d.structures)
    title = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items()) or "no named structure"
    if d.new:
        title += f"; new: {len(d.novel)} neuron(s)"

    # Each neuron's column is wide enough for a role label ("b- reproduce") at 5 pt.
    width = figsize[0] if figsize else min(WIDTH["double"], 1.0 + 0.3 * n + 0.62 * m)
    height = figsize[1] if figsize else 1.0 + 0.22 * max(n, m) + 0.08 * lines
    with house_style():
        fig = new_figure((width, height))
        grid = fig.add_gridspec(2, 3, width_ratios=[n + 1, 2.2 * m, 1.2], height_ratios=[max(n, m), 0.45 * lines])
        ax1, ax2, axb = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1]), fig.add_subplot(grid[0, 2])
        heatmap(ax1, c.W1, neurons, [feature_label(name) for name in f], "W1")
        heatmap(ax2, c.W2, [feature_label(name, "y") for name in f], [str(j + 1) for j in range(m)], "W2")
        heatmap(axb, c.b[:, None], [feature_label(name, "y") for name in f], ["b"], "b")
        ax1.set_title("$W_1$ (neuron x feature)")
        ax2.set_title("$W_2$ (output x neuron)")
        axb.set_title("$b$")
        ax1.set_xlabel("feature")
        ax2.set_xlabel("neuron")
        annotations = fig.add_subplot(grid[1, 1], sharex=ax2)
        annotations.axis("off")
        for j, labels in enumerate(roles):
            text = annotations.text(j, 1.0, "\n".join(labels), ha="center", va="top", fontsize=5, linespacing=1.1)
            text.set_gid(f"roles: {j}")
        annotations.set_ylim(0, 1)
        fig.suptitle("\n".join(textwrap.wrap(title, 90)))
    return fig
