"""The interference matrix of a model: who is in superposition with whom.

``J_ab = L_ab - L_a - L_b + L_0`` off the diagonal (what two features cost together beyond
what each costs alone) and ``L_a - L_0`` on it (:attr:`numeric.decomposition.PatternLosses.interference`),
drawn on a diverging scale centred at 0 with the features in order of importance, most
important first: red where two features hurt each other, blue where one's error cancels the
other's (as inhibition does).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.colors import SymLogNorm
from matplotlib.figure import Figure

from .circuit import WEIGHT_CMAP, heatmap
from .style import WIDTH, house_style, new_figure

__all__ = ["interference_figure"]

#: Up to this many features each cell's value is written in it; beyond, the scale is logarithmic
#: away from 0, linear within ``LINEAR`` times the largest value.
WRITTEN = 12
LINEAR = 1e-4


def interference_figure(J: np.ndarray, importance: Sequence[float], title: str | None = None) -> Figure:
    """``J`` with rows and columns sorted by decreasing importance (1-based feature numbers),
    the colour scale symmetric about 0 (gid ``interference``; logarithmic away from 0 for more
    than :data:`WRITTEN` features) with its colour bar.

    >>> fig = interference_figure(np.array([[0.3, -0.1], [-0.1, 0.2]]), [0.8, 1.0])
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['2', '1']
    """
    J = np.asarray(J, dtype=float)
    order = np.argsort(-np.asarray(importance, dtype=float), kind="stable")
    values = J[np.ix_(order, order)]
    names = [str(i + 1) for i in order]
    n = len(order)
    side = WIDTH["single"] if n <= WRITTEN else WIDTH["double"] * 0.6
    scale = float(np.abs(values).max()) or 1.0
    with house_style():
        fig = new_figure((side + 0.6, side))
        ax = fig.subplots()
        if n <= WRITTEN:
            heatmap(ax, values, names, names, "interference", scale)
            image = ax.images[0]
        else:
            # Importances 0.8^i span ten orders of magnitude at n = 100: a symmetric log scale
            # (linear within 1e-4 of the largest value) shows the small features' interference too.
            norm = SymLogNorm(linthresh=LINEAR * scale, vmin=-scale, vmax=scale, base=10)
            image = ax.imshow(values, cmap=WEIGHT_CMAP, norm=norm, interpolation="nearest")
            image.set_gid("interference")
            ticks = list(range(0, n, max(1, n // 10)))
            ax.set_xticks(ticks, [names[t] for t in ticks])
            ax.set_yticks(ticks, [names[t] for t in ticks])
        ax.set_xlabel("feature (by importance)")
        ax.set_ylabel("feature (by importance)")
        fig.colorbar(image, ax=ax, label="$J_{ab}$", shrink=0.8)
        if title:
            ax.set_title(title)
    return fig
