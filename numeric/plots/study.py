"""The motif study's figure: the loss of the full motif and of each variant against the sparsity,
one panel per rider importance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from fractions import Fraction

from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, NullLocator

from analytic import SuperlossError

from .style import OKABE_ITO, WIDTH, house_style, new_figure

__all__ = ["VARIANT_STYLE", "loss_against_sparsity"]

#: The motif study's variants: colour and marker. The full motif is black and drawn on top; the
#: variants have open markers, so that where they coincide with it both stay visible.
VARIANT_STYLE = {
    "full": {"color": OKABE_ITO["black"], "marker": "o"},
    "no leak": {"color": OKABE_ITO["blue"], "marker": "s"},
    "no inhibition": {"color": OKABE_ITO["bluish green"], "marker": "^"},
    "symmetric": {"color": OKABE_ITO["reddish purple"], "marker": "v"},
    "rider dropped": {"color": OKABE_ITO["orange"], "marker": "D"},
}


def _number(value, what: str) -> float:
    try:
        return float(Fraction(str(value)))
    except (ValueError, ZeroDivisionError):
        raise SuperlossError(f"{what} must be a number such as 0.9 or 9/10, got {value!r}") from None


def _case_record(case) -> tuple[float, float, dict[str, float]]:
    """``(S, I_b, {variant: loss})`` of a :class:`numeric.study.Case` or of its ``to_dict()``."""
    if isinstance(case, Mapping):
        for key in ("S", "I_b", "optima"):
            if key not in case:
                raise SuperlossError(
                    f"a study case needs the keys S, I_b and optima; this one has {', '.join(map(str, case)) or 'none'}"
                )
        S, I_b, optima = case["S"], case["I_b"], case["optima"]
        losses = {name: o.get("loss") if isinstance(o, Mapping) else o for name, o in optima.items()}
        if "loss" in case:  # the family's best: the limit kappa -> oo where that is lower than the box
            losses["full"] = case["loss"]
    else:
        S, I_b = case.sparsity, case.rider_importance
        losses = {name: o.loss for name, o in case.optima.items()} | {"full": case.loss}
    S, I_b = _number(S, "S"), _number(I_b, "I_b")
    unknown = sorted(set(losses) - set(VARIANT_STYLE))
    if unknown:
        raise SuperlossError(f"unknown variant {unknown[0]!r}; the variants are {', '.join(VARIANT_STYLE)}")
    if not 0 <= S < 1:
        raise SuperlossError(f"S = {S:g}: the sparsity axis is logarithmic in 1 - S and needs 0 <= S < 1")
    return S, I_b, {name: _number(v, f"the loss of {name!r}") for name, v in losses.items() if v is not None}


def loss_against_sparsity(cases: Iterable, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The loss of the full motif and of each variant against the sparsity ``S``, one
    panel per rider importance ``I_b`` (increasing left to right, the loss axes shared).

    ``cases`` are :class:`numeric.study.Case` objects or their ``to_dict()`` (what
    ``superloss study --json`` writes): dicts with ``"S"``, ``"I_b"`` and
    ``"optima": {variant: {"loss": ...}}``. The sparsity axis is logarithmic in
    ``p = 1 - S`` and labelled with the ``S`` values, sparser to the right.

    >>> fig = loss_against_sparsity([{"S": "1/2", "I_b": "1", "optima": {"full": {"loss": 0.07}}},
    ...                              {"S": "9/10", "I_b": "1", "optima": {"full": {"loss": 0.008}}}])
    >>> len(fig.axes), fig.axes[0].get_title()
    (1, '$I_b = 1$')
    """
    records = [_case_record(c) for c in cases]
    if not records:
        raise SuperlossError("loss_against_sparsity needs at least one study case")
    importances = sorted({I for _, I, _ in records})
    sparsities = sorted({S for S, _, _ in records})
    panels = len(importances)
    with house_style():
        fig = new_figure(figsize or (WIDTH["single"] if panels == 1 else WIDTH["double"], 2.4))
        axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
        handles = {}
        for ax, I_b in zip(axes, importances, strict=True):
            rows = sorted((S, losses) for S, I, losses in records if I == I_b)
            # Variants first and the full motif last, so that it is drawn on top.
            for depth, name in enumerate(reversed(VARIANT_STYLE)):
                points = [(1 - S, losses[name]) for S, losses in rows if name in losses]
                if not points:
                    continue
                p, values = zip(*points, strict=True)
                style = VARIANT_STYLE[name]
                full = name == "full"
                line = ax.plot(
                    p,
                    values,
                    color=style["color"],
                    marker=style["marker"],
                    linewidth=0.9 if full else 0.7,
                    markersize=4 if full else 3.5,
                    markerfacecolor=style["color"] if full else "none",
                    markeredgewidth=0.8,
                    label=name,
                    zorder=2 + depth,
                )[0]
                line.set_gid(name)
                handles[name] = line
            ax.set_xscale("log")
            ax.set_yscale("log")
            ticks = [1 - S for S in sparsities]
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{S:g}" for S in sparsities])
            ax.set_xlim(max(ticks) * 1.35, min(ticks) / 1.35)  # sparser to the right
            ax.set_title(f"$I_b = {I_b:g}$")
            ax.set_xlabel("sparsity $S$")
        axes[0].set_ylabel("loss")
        order = [name for name in VARIANT_STYLE if name in handles]
        fig.legend([handles[n] for n in order], order, loc="outside upper center", ncols=len(order))
    return fig
