"""Weight matrices as the field draws them: diverging red/blue heatmaps centred at 0, values written in.

:func:`weight_heatmaps` draws any numeric circuit: ``W1`` (neuron x feature), ``W2``
(output x neuron), the biases, and for a reconstruction model (target ``x``) the
feature interactions ``W2 W1`` (``W^T W`` when ``W2 = W1^T``, as in the toy models of
superposition); with two neurons, each feature's direction ``W1[:, i]`` in the plane
of the neurons, as those papers draw a pentagon.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from analytic import Circuit

from .circuit import heatmap
from .style import WIDTH, feature_colours, feature_label, house_style, new_figure, one_based

__all__ = ["weight_heatmaps"]


def weight_heatmaps(circuit: Circuit, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The circuit's weights as heatmaps on one colour scale (gids ``W1``, ``W2``, ``b1`` if not
    zero, ``b2``, and ``W2 W1`` for a reconstruction model), and with two neurons the feature directions (one
    arrow per feature, gid ``direction: <feature>``). Numbered features are 1-based.

    >>> from analytic.presets import CANONICAL, asymmetric_inhibition
    >>> fig = weight_heatmaps(asymmetric_inhibition().subs(CANONICAL))
    >>> [ax.get_title() for ax in fig.axes]
    ['$W_1$', '$W_2$', '$b_2$']
    """
    W1, W2, b1, b2 = circuit.arrays("weight_heatmaps")
    m, n = W1.shape
    features = one_based(circuit.features)
    inputs = [feature_label(f) for f in features]
    outputs = [feature_label(f, "y") for f in features]
    neurons = [str(j + 1) for j in range(m)]
    panels = [("W1", "$W_1$", W1, neurons, inputs), ("W2", "$W_2$", W2, outputs, neurons)]
    if b1.any():
        panels.append(("b1", "$b_1$", b1[:, None], neurons, [""]))
    panels.append(("b2", "$b_2$", b2[:, None], outputs, [""]))
    if circuit.target == "identity":
        product = "W^\\top W" if np.array_equal(W2, W1.T) else "W_2 W_1"
        panels.append(("W2 W1", f"${product}$", W2 @ W1, outputs, inputs))
    directions = m == 2
    widths = [max(M.shape[1], 1) + 0.6 for _, _, M, _, _ in panels] + ([3.0] if directions else [])
    size = figsize or (min(WIDTH["double"], 0.9 + 0.32 * sum(widths)), 0.9 + 0.3 * max(n, m))
    with house_style():
        fig = new_figure(size)
        axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths})
        axes = np.atleast_1d(axes)
        # One colour scale for every panel, so that colours compare across them.
        scale = max(float(np.abs(M).max()) for _, _, M, _, _ in panels) or 1.0
        for ax, (gid, title, M, rows, cols) in zip(axes, panels, strict=False):
            heatmap(ax, M, rows, cols, gid, scale)
            ax.set_title(title)
        if directions:
            _directions(axes[-1], W1, features)
    return fig


def _directions(ax, W1: np.ndarray, features: Sequence[str]) -> None:
    """Each feature's column of ``W1`` as an arrow from the origin in the plane of the two neurons."""
    colours = feature_colours(W1.shape[1])
    reach = float(np.abs(W1).max()) or 1.0
    for i, name in enumerate(features):
        x, y = W1[:, i]
        arrow = ax.annotate(
            "", xy=(x, y), xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": colours[i], "linewidth": 1.0}
        )
        arrow.set_gid(f"direction: {name}")
        ax.text(x * 1.12, y * 1.12, feature_label(name), color=colours[i], ha="center", va="center", fontsize=6)
    ax.set_xlim(-1.3 * reach, 1.3 * reach)
    ax.set_ylim(-1.3 * reach, 1.3 * reach)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.8", linewidth=0.5, zorder=0)
    ax.axvline(0, color="0.8", linewidth=0.5, zorder=0)
    ax.set_xlabel("neuron 1")
    ax.set_ylabel("neuron 2")
    ax.set_title("feature directions")
