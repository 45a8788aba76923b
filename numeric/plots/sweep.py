"""The density sweep's figure, as the paper draws it: superposition against density.

Three panels over the density ``1 - S`` (logarithmic): features per neuron and neurons per feature
(:mod:`numeric.superposition`, the mean over a model's live neurons or carried features, one
point per seed), the features dropped, and the share of the loss computed exactly
(:mod:`numeric.decomposition`).
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure

from .style import OKABE_ITO, WIDTH, house_style, new_figure

__all__ = ["sweep_figure"]

#: What each panel draws: the key of a model's summary, its label and colour.
PANELS = (
    (("features_per_neuron", "features per neuron", "blue"), ("neurons_per_feature", "neurons per feature", "orange")),
    (("dropped", "features dropped", "reddish purple"),),
    (("exact_share", "share of the loss exact", "bluish green"),),
)


def sweep_figure(sweep: Mapping) -> Figure:
    """The figure of a :meth:`numeric.sweep.Sweep.to_dict` record (one line per quantity, gid its key).

    >>> record = {"models": [{"density": d, "seed": 0, "features_per_neuron": 2.0, "neurons_per_feature": 1.5,
    ...                       "dropped": 60, "exact_share": 0.5} for d in (1.0, 0.1, 0.01)]}
    >>> [line.get_gid() for ax in sweep_figure(record).axes for line in ax.get_lines()]
    ['features_per_neuron', 'neurons_per_feature', 'dropped', 'exact_share']
    """
    models = sorted(sweep["models"], key=lambda m: m["density"])
    with house_style():
        fig = new_figure((WIDTH["double"], 2.2))
        axes = fig.subplots(1, len(PANELS))
        for ax, panel in zip(axes, PANELS, strict=True):
            for key, label, colour in panel:
                seeds = sorted({m["seed"] for m in models})
                for n, seed in enumerate(seeds):
                    mine = [m for m in models if m["seed"] == seed]
                    (line,) = ax.plot(
                        [m["density"] for m in mine],
                        [m[key] for m in mine],
                        marker="o",
                        color=OKABE_ITO[colour],
                        label=label if n == 0 else None,
                    )
                    line.set_gid(key if n == 0 else f"{key}, seed {seed}")
            ax.set_xscale("log")
            ax.set_xlabel("density $1 - S$")
            ax.legend()
    return fig
