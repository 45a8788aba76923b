"""Training curves: the loss history of every instance of a trained model, with its final estimate."""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analytic import SuperlossError

from .style import WIDTH, feature_colours, house_style, new_figure

__all__ = ["IMPORTANCE_STYLES", "training_curves"]

#: Line styles that tell importance vectors apart when a result has more than one.
IMPORTANCE_STYLES = ("-", "--", ":", "-.")


def training_curves(
    result,
    reference: float | Mapping | None = None,
    *,
    reference_label: str = "analytic optimum",
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """The loss history of a :class:`numeric.train.TrainResult` (or the folder it was
    saved to): one thin line per instance against the step, a colour per seed when the
    instances share one sparsity and per sparsity otherwise (line style by importance
    vector when there are several), log loss axis; each instance's final estimate (mean
    over the last 10% of the steps, with its standard error) is a dot at the last step.
    ``reference``, the loss to compare with (the analytic optimum), is a dashed line:
    one number, or one per sparsity (``{S: loss}``), labelled ``reference_label``.
    """
    if isinstance(result, (str, os.PathLike)):
        from ..train import TrainResult  # only here: a result object needs no loading

        result = TrainResult.load(result)
    steps = np.asarray(result.history_steps, dtype=float)
    history = np.asarray(result.history, dtype=float)
    if history.ndim != 2 or history.shape[0] == 0 or history.shape[1] == 0:
        raise SuperlossError("training_curves needs a result with a loss history")
    sparsities = np.asarray(result.sparsities, dtype=float)
    groups = sorted(set(sparsities.tolist()))
    seeds = np.asarray(result.seeds).tolist()
    # One sparsity: the seeds are what tells the curves apart; several: the sparsities are.
    by_seed = len(groups) == 1
    keys = list(dict.fromkeys(seeds)) if by_seed else groups
    palette = dict(zip(keys, feature_colours(len(keys)), strict=True))
    colour_of = [palette[seeds[k] if by_seed else float(sparsities[k])] for k in range(len(seeds))]
    if reference is not None and not isinstance(reference, Mapping):
        reference = dict.fromkeys(groups, float(reference))
    vectors = [tuple(v) for v in np.asarray(result.importances, dtype=float).tolist()]
    distinct = list(dict.fromkeys(vectors))
    style = {v: IMPORTANCE_STYLES[k % len(IMPORTANCE_STYLES)] for k, v in enumerate(distinct)}
    mean = np.asarray(result.final_estimate.mean, dtype=float)
    stderr = np.nan_to_num(np.asarray(result.final_estimate.stderr, dtype=float))
    with house_style():
        fig = new_figure(figsize or (WIDTH["single"], 2.6))
        ax = fig.add_subplot()
        for k in range(history.shape[1]):
            c = colour_of[k]
            line = ax.plot(steps, history[:, k], color=c, linewidth=0.6, alpha=0.8, linestyle=style[vectors[k]])[0]
            line.set_gid("instance")
            dot = ax.errorbar(
                [steps[-1]],
                [mean[k]],
                yerr=[stderr[k]],
                fmt="o",
                color=c,
                markersize=2.5,
                markeredgecolor="black",
                markeredgewidth=0.3,
                elinewidth=0.6,
                capsize=0,
                zorder=4,
            )
            dot.lines[0].set_gid("final estimate")
        for S, loss in (reference or {}).items():
            line = ax.axhline(
                float(loss), color="black" if by_seed else palette.get(float(S), "black"), linewidth=0.8, linestyle="--"
            )
            line.set_gid("reference")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (batch mean)")
        handles = [
            Line2D([], [], color=palette[key], linewidth=1.0, label=f"seed {key}" if by_seed else f"$S = {key:g}$")
            for key in keys
        ]
        if len(distinct) > 1:
            handles += [
                Line2D([], [], color="0.3", linewidth=0.8, linestyle=style[v], label=f"importance {k + 1}")
                for k, v in enumerate(distinct)
            ]
        handles.append(
            Line2D(
                [],
                [],
                color="0.3",
                marker="o",
                markersize=2.5,
                linestyle="none",
                markeredgecolor="black",
                markeredgewidth=0.3,
                label="final estimate",
            )
        )
        if reference:
            handles.append(Line2D([], [], color="black", linewidth=0.8, linestyle="--", label=reference_label))
        if by_seed:
            ax.set_title(f"$S = {groups[0]:g}$", fontsize="medium")
        ax.legend(handles=handles, loc="upper right")
    return fig
