"""Weight diagrams: each neuron's input and output weights as stacked bars, one colour per feature."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analytic import Circuit, SuperlossError

from .style import WIDTH, feature_colours, feature_label, house_style, new_figure, one_based

__all__ = ["weight_diagram"]


def _matrix(value, what: str) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise SuperlossError(f"{what} is not an array of numbers") from None
    if not np.all(np.isfinite(out)):
        raise SuperlossError(f"{what} has entries that are not finite")
    return out


def _stack(values: np.ndarray) -> np.ndarray:
    """Bottoms of stacked bars, one row per bar: positive parts pile up from zero,
    negative parts down, each in column order."""
    up = np.cumsum(np.where(values > 0, values, 0.0), axis=1)
    down = np.cumsum(np.where(values < 0, values, 0.0), axis=1)
    bottoms = np.where(values >= 0, up - np.where(values > 0, values, 0.0), down - values)
    return bottoms


def weight_diagram(
    W1, W2=None, b=None, features: Sequence[str] | None = None, *, figsize: tuple[float, float] | None = None
) -> Figure:
    """Each neuron's input weights (row ``j`` of ``W1``, above) and output weights
    (column ``j`` of ``W2``, below) as stacked bars, one colour per feature.

    ``W1`` is m x n and ``W2`` n x m (arrays or nested lists); ``W1`` may instead be a
    numeric :class:`analytic.Circuit` (then ``W2`` is ``None``, and ``b`` and
    ``features`` default to the circuit's ``b2`` and feature names). Positive weights
    stack up from zero and negative ones down. The output bias ``b``, if given (and
    not all zero), is one more stacked bar, labelled ``b``; a circuit's hidden bias
    is a grey part of each neuron's input bar.
    """
    hidden_bias = None
    if isinstance(W1, Circuit):
        circuit = W1
        if W2 is not None:
            raise SuperlossError("weight_diagram takes a circuit alone or the arrays W1 and W2, not both")
        W1, W2, hidden_bias, b2 = circuit.arrays("weight_diagram")
        b = b2 if b is None else b
        features = circuit.features if features is None else features
    elif W2 is None:
        raise SuperlossError("weight_diagram needs W2 (or a circuit in place of W1)")
    W1, W2 = _matrix(W1, "W1"), _matrix(W2, "W2")
    if W1.ndim != 2 or W1.size == 0:
        raise SuperlossError(f"W1 must be a non-empty m x n matrix, got shape {W1.shape}")
    m, n = W1.shape
    if W2.shape != (n, m):
        raise SuperlossError(f"W2 must be {n} x {m} (features x neurons) for W1 of shape {m} x {n}, got {W2.shape}")
    if b is not None:
        b = _matrix(b, "b").reshape(-1)
        if b.shape != (n,):
            raise SuperlossError(f"b must have {n} entries, one per feature, got {b.size}")
        if not b.any():
            b = None
    names = tuple(str(f) for f in features) if features is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise SuperlossError(f"features must be {n} names, got {len(names)}")
    names = one_based(names)

    colours = feature_colours(n)
    neurons = np.arange(m, dtype=float)
    # The bias bar stands apart from the neurons, past a gap.
    out_x = neurons if b is None else np.append(neurons, m + 0.4)
    out_values = W2.T if b is None else np.vstack([W2.T, b])
    in_values = W1 if hidden_bias is None or not hidden_bias.any() else np.column_stack([W1, hidden_bias])
    width = WIDTH["single"] if m <= 12 else WIDTH["double"]
    with house_style():
        fig = new_figure(figsize or (width, 3.0))
        top, bottom = fig.subplots(2, 1, sharex=True)
        for ax, xs, values in ((top, neurons, in_values), (bottom, out_x, out_values)):
            bottoms = _stack(values)
            for i in range(values.shape[1]):
                feature = i < n
                ax.bar(
                    xs,
                    values[:, i],
                    bottom=bottoms[:, i],
                    width=0.7,
                    linewidth=0,
                    color=colours[i] if feature else "0.6",
                    label=feature_label(names[i], "x" if ax is top else "y") if feature else "hidden bias",
                )
            ax.axhline(0.0, color="0.3", linewidth=0.5, zorder=0)
        top.set_ylabel("input weight")
        bottom.set_ylabel("output weight")
        bottom.set_xlabel("neuron")
        bottom.set_xticks(out_x, [str(j + 1) for j in range(m)] + ([] if b is None else ["b"]))
        if b is not None:
            # Biases are often small beside the weights: their values are written out, in output order.
            text = bottom.annotate(
                "b: " + ", ".join(f"{v:.2g}" for v in b),
                xy=(1.0, 1.0),
                xycoords="axes fraction",
                ha="right",
                va="bottom",
            )
            text.set_gid("bias values")
        top.tick_params(labelbottom=False)
        # Each panel says what its colours are: the inputs read above, the outputs written below.
        for kind, title, where in (("x", "input", "outside right upper"), ("y", "output", "outside right lower")):
            handles = [Patch(color=c, label=feature_label(f, kind)) for c, f in zip(colours, names, strict=True)]
            if kind == "x" and in_values.shape[1] > n:
                handles.append(Patch(color="0.6", label="hidden bias"))
            fig.legend(handles=handles, loc=where, title=title)
    return fig
