"""Publication figures: one style for every figure, colour-blind-safe, sized for a paper column.

Every figure function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global figure manager, no interactive backend); :func:`save` writes
it as ``stem.png`` (300 dpi) and ``stem.pdf``, each atomically.

- :func:`landscape`: the exact loss over two parameters around an optimum,
  with the boundaries of the optimum's regime;
- :func:`loss_against_sparsity`: the motif study, the full motif and each
  variant against ``S``, one panel per rider importance;
- :func:`weight_diagram`: each neuron's input and output weights as stacked bars;
- :func:`training_curves`: the loss history of a :class:`numeric.train.TrainResult`.

The style is data: :data:`OKABE_ITO` (the palette), :data:`VARIANT_STYLE`,
:data:`STYLE` (the rcParams every figure is drawn and saved under),
:data:`WIDTH` (inches) and :data:`LABELS` (symbol names in mathtext).

>>> fig = weight_diagram([[1.0, -0.5]], [[1.0], [0.25]])
>>> [ax.get_ylabel() for ax in fig.axes]
['input weight', 'output weight']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp
from matplotlib import rc_context
from matplotlib.colors import ListedColormap, LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullLocator

from analytic import Circuit, SuperlossError

from .files import atomic
from .engines.pointwise import PointwiseLoss

__all__ = ["LABELS", "OKABE_ITO", "STYLE", "VARIANT_STYLE", "WIDTH", "feature_colours", "label", "landscape",
           "loss_against_sparsity", "save", "training_curves", "weight_diagram"]

#: The Okabe-Ito palette (Okabe and Ito 2008): eight colours told apart with every common
#: colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}

#: The order categories (features, sparsities) take colours in. Yellow is last: it is faint on
#: white. Black is left out: it marks the full motif and the final estimates.
CATEGORY_ORDER = ("blue", "orange", "bluish green", "vermillion", "sky blue", "reddish purple", "yellow")

#: Past this many categories the palette runs out; colours are then sampled from this
#: sequential, colour-blind-safe colormap.
MANY_CATEGORIES = "cividis"

#: The colormap of the loss landscapes (sequential, perceptually uniform, colour-blind-safe).
LANDSCAPE_CMAP = "viridis"

#: The motif study's variants: colour and marker. The full motif is black and drawn on top; the
#: variants have open markers, so that where they coincide with it both stay visible.
VARIANT_STYLE = {
    "full": {"color": OKABE_ITO["black"], "marker": "o"},
    "no leak": {"color": OKABE_ITO["blue"], "marker": "s"},
    "no inhibition": {"color": OKABE_ITO["bluish green"], "marker": "^"},
    "symmetric": {"color": OKABE_ITO["reddish purple"], "marker": "v"},
    "rider dropped": {"color": OKABE_ITO["orange"], "marker": "D"},
}

#: Figure widths in inches: one column and the full page of a two-column paper.
WIDTH = {"single": 3.4, "double": 7.0}

#: The matplotlib settings every figure is drawn and saved under: 8 pt text, 7 pt ticks,
#: thin lines, no top or right spines, no legend frames, fonts embedded as TrueType.
STYLE = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "xtick.major.size": 3.0,
    "ytick.major.size": 3.0,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "xtick.minor.size": 1.5,
    "ytick.minor.size": 1.5,
    "xtick.minor.width": 0.4,
    "ytick.minor.width": 0.4,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.0,
    "lines.markersize": 4,
    "legend.frameon": False,
    "legend.handlelength": 1.6,
    "mathtext.fontset": "dejavusans",
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "savefig.dpi": 300,
    "figure.dpi": 100,
}

#: Symbol names as a paper writes them (matplotlib mathtext, without the dollars). Other names
#: go through SymPy's LaTeX printer (``w_x`` is ``w_{x}``, ``theta`` is ``\\theta``).
LABELS = {
    "w_a": "w_a", "w_b": "w_b", "o_a": "o_a", "o_b": "o_b",
    "delta": r"\delta", "kappa": r"\kappa", "gamma": r"\gamma",
    "b_a": "b_a", "b_b": "b_b", "b_c": "b_c",
    "S": "S", "I_a": "I_a", "I_b": "I_b", "I_c": "I_c",
}

#: Resolution of the regime boundaries' zero contours: they are cheap (a lambdified
#: polynomial), so much finer than the loss grid.
BOUNDARY_POINTS = 201

#: Output formats of :func:`save`, with what each writes into its metadata. The PDF's creation
#: date is left out so that the same figure gives the same bytes.
FORMATS = {"png": {}, "pdf": {"CreationDate": None}}


def label(symbol: sp.Symbol | str) -> str:
    """The symbol as mathtext, for an axis label.

    >>> label(sp.Symbol("kappa")), label("w_a"), label("theta_1")
    ('$\\\\kappa$', '$w_a$', '$\\\\theta_{1}$')
    """
    name = symbol.name if isinstance(symbol, sp.Symbol) else str(symbol)
    return f"${LABELS.get(name) or sp.latex(sp.Symbol(name))}$"


def feature_colours(count: int) -> list[str]:
    """``count`` distinct colours: the palette in :data:`CATEGORY_ORDER`, or past its
    seven colours, evenly spaced samples of :data:`MANY_CATEGORIES`.

    >>> feature_colours(2)
    ['#0072B2', '#E69F00']
    """
    if count <= len(CATEGORY_ORDER):
        return [OKABE_ITO[name] for name in CATEGORY_ORDER[:count]]
    from matplotlib import colormaps  # only here: the palette covers the usual case

    cmap = colormaps[MANY_CATEGORIES]
    return [_hex(cmap(t)) for t in np.linspace(0.0, 0.95, count)]


def _hex(rgba) -> str:
    return "#" + "".join(f"{round(255 * c):02X}" for c in rgba[:3])


@contextmanager
def _style():
    with rc_context(STYLE):
        yield


def _figure(size: tuple[float, float]) -> Figure:
    # Constrained layout fits labels, colorbars and the legends placed "outside" the axes.
    return Figure(figsize=size, layout="constrained")


# --- the loss landscape -------------------------------------------------------------------------


def landscape(circuit: Circuit, law, importance: Sequence | None, optimum, x: sp.Symbol | str,
              y: sp.Symbol | str, span: Mapping | None = None, points: int = 41, *,
              figsize: tuple[float, float] | None = None) -> Figure:
    """The exact loss over the parameters ``x`` and ``y`` of an optimum
    (:class:`numeric.optimize.Optimum`), every other parameter at its optimum value.

    The grid is ``points`` x ``points`` over the optimum's box for ``x`` and ``y``
    (or ``span = {x: (lo, hi), y: (lo, hi)}``); the loss is computed at each point
    with :class:`numeric.engines.pointwise.PointwiseLoss` (exact, in whichever regime the
    point lies), and coloured on a log scale. The optimum is a white star. The
    boundaries of the optimum's regime are dashed: the zero set of each factor of
    ``optimum.regime.regime`` that depends on ``x`` or ``y``, the other parameters
    and the fixed symbols substituted; inside them the closed form of the optimum
    holds. The motif's 41 x 41 grid takes about 10 s.
    """
    # By name, so that "kappa", sym("kappa") and a plain Symbol("kappa") all find the parameter.
    by_name = {p.name: p for p in optimum.params}
    names = [p.name if isinstance(p, sp.Symbol) else str(p) for p in (x, y)]
    if names[0] == names[1]:
        raise SuperlossError(f"landscape needs two different parameters, got {names[0]} twice")
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SuperlossError(f"{', '.join(missing)}: not a free parameter of the optimum; "
                             f"its parameters are {', '.join(by_name)}")
    x, y = by_name[names[0]], by_name[names[1]]
    if not isinstance(points, (int, np.integer)) or points < 2:
        raise SuperlossError(f"points must be an integer of at least 2, got {points!r}")
    (x_lo, x_hi), (y_lo, y_hi) = (_span(span, optimum.bounds, p) for p in (x, y))

    others = {p: v for p, v in optimum.params.items() if p not in (x, y)}
    fixed = {**dict(optimum.fixed), **others}
    loss = PointwiseLoss(circuit, law, importance, [x, y], fixed)
    xs, ys = np.linspace(x_lo, x_hi, points), np.linspace(y_lo, y_hi, points)
    values = np.array([[loss.value([u, v]) for u in xs] for v in ys])

    with _style():
        fig = _figure(figsize or (WIDTH["single"], 2.8))
        ax = fig.add_subplot()
        # The loss varies over decades: log colours. Exact zeros (a perfect fit) sit at the floor.
        top = float(np.max(values)) if np.max(values) > 0 else 1.0
        positive = values[values > 0]
        floor = float(np.min(positive)) if positive.size else top * 1e-12
        if top <= floor * (1 + 1e-9):
            floor, top = floor / 1.01, top * 1.01
        levels = np.geomspace(floor, top, 25)
        filled = ax.contourf(xs, ys, np.clip(values, floor, top), levels=levels, norm=LogNorm(floor, top),
                             cmap=LANDSCAPE_CMAP)
        filled.set_gid("loss")
        bar = fig.colorbar(filled, ax=ax, label="loss")
        # Over a decade or less, ticks at 1, 2 and 5 times powers of ten, so that some fall inside.
        decades = np.log10(top / floor)
        subs = (1.0,) if decades > 2 else (1.0, 2.0, 5.0) if decades > 0.5 else tuple(range(1, 10))
        bar.ax.yaxis.set_major_locator(LogLocator(subs=subs))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(_tick_label))
        bar.ax.yaxis.set_minor_locator(NullLocator())

        for expr, contour in _boundaries(ax, optimum, x, y, fixed, (x_lo, x_hi), (y_lo, y_hi)):
            contour.set_gid(f"boundary: {expr}")

        star = ax.plot([optimum.params[x]], [optimum.params[y]], linestyle="none", marker="*", markersize=9,
                       markerfacecolor="white", markeredgecolor="black", markeredgewidth=0.6, zorder=5)[0]
        star.set_gid("optimum")
        ax.set_xlim(x_lo, x_hi)
        ax.set_ylim(y_lo, y_hi)
        ax.set_xlabel(label(x))
        ax.set_ylabel(label(y))
    return fig


def _tick_label(value: float, _position=None) -> str:
    """A loss on a log axis: ``0.05``, or ``3×10⁻⁴`` (mathtext) for small and large values."""
    if value <= 0:
        return ""
    exponent = int(np.floor(np.log10(value) + 1e-9))
    if -2 <= exponent < 3:
        return f"{value:.3g}"
    mantissa = value / 10.0 ** exponent
    head = "" if abs(mantissa - 1) < 1e-9 else f"{mantissa:.3g}" + r"\times"
    return f"${head}10^{{{exponent}}}$"


def _span(span: Mapping | None, bounds: Mapping, p: sp.Symbol) -> tuple[float, float]:
    given = None
    if span is not None:
        given = span.get(p, span.get(p.name))
    if given is None:
        if p not in bounds:
            raise SuperlossError(f"no span for {p.name}: give span={{{p.name}: (lo, hi)}}")
        given = bounds[p]
    try:
        lo, hi = (float(v) for v in given)
    except (TypeError, ValueError):
        raise SuperlossError(f"the span of {p.name} must be two numbers (lo, hi), got {given!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise SuperlossError(f"the span of {p.name} must be finite with lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


def _boundaries(ax, optimum, x: sp.Symbol, y: sp.Symbol, fixed: Mapping, xs: tuple, ys: tuple) -> list:
    """Draw the zero set of each regime factor that depends on ``x`` or ``y`` and changes
    sign in the plotted box; return ``(factor after substitution, contour set)`` pairs."""
    regime = getattr(optimum.regime, "regime", None)
    if regime is None:
        return []
    u = np.linspace(*xs, BOUNDARY_POINTS)
    v = np.linspace(*ys, BOUNDARY_POINTS)
    U, V = np.meshgrid(u, v)
    seen: set = set()
    out = []
    # Sorted, so that the same optimum draws its boundaries in the same order.
    for factor in sorted((f for f, _ in regime.factors), key=sp.default_sort_key):
        factor = sp.sympify(factor)
        if not factor.has(x, y):
            continue
        expr = sp.expand(factor.subs(dict(fixed)))
        if not expr.free_symbols or not expr.free_symbols <= {x, y} or expr in seen or -expr in seen:
            continue
        seen.add(expr)
        values = np.broadcast_to(np.asarray(sp.lambdify([x, y], expr, "numpy")(U, V), dtype=float), U.shape)
        if not (np.nanmin(values) < 0 < np.nanmax(values)):
            continue  # its zero set misses the box
        contour = ax.contour(U, V, values, levels=[0.0], colors=OKABE_ITO["vermillion"], linewidths=0.7,
                             linestyles="--", zorder=4)
        out.append((expr, contour))
    return out


# --- the motif study ----------------------------------------------------------------------------


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
                raise SuperlossError(f"a study case needs the keys S, I_b and optima; this one has "
                                     f"{', '.join(map(str, case)) or 'none'}")
        S, I_b, optima = case["S"], case["I_b"], case["optima"]
        losses = {name: o.get("loss") if isinstance(o, Mapping) else o for name, o in optima.items()}
    else:
        S, I_b = case.sparsity, case.rider_importance
        losses = {name: o.loss for name, o in case.optima.items()}
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
    with _style():
        fig = _figure(figsize or (WIDTH["single"] if panels == 1 else WIDTH["double"], 2.4))
        axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
        handles = {}
        for ax, I_b in zip(axes, importances):
            rows = sorted((S, losses) for S, I, losses in records if I == I_b)
            # Variants first and the full motif last, so that it is drawn on top.
            for depth, name in enumerate(reversed(VARIANT_STYLE)):
                points = [(1 - S, losses[name]) for S, losses in rows if name in losses]
                if not points:
                    continue
                p, values = zip(*points)
                style = VARIANT_STYLE[name]
                full = name == "full"
                line = ax.plot(p, values, color=style["color"], marker=style["marker"], linewidth=0.9 if full else 0.7,
                               markersize=4 if full else 3.5, markerfacecolor=style["color"] if full else "none",
                               markeredgewidth=0.8, label=name, zorder=2 + depth)[0]
                line.set_gid(name)
                handles[name] = line
            ax.set_xscale("log")
            ax.set_yscale("log")
            ticks = [1 - S for S in sparsities]
            ax.xaxis.set_major_locator(FixedLocator(ticks))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xticklabels([f"{S:g}" for S in sparsities])
            ax.set_xlim(max(ticks) * 1.35, min(ticks) / 1.35)   # sparser to the right
            ax.set_title(f"$I_b = {I_b:g}$")
            ax.set_xlabel("sparsity $S$")
        axes[0].set_ylabel("loss")
        order = [name for name in VARIANT_STYLE if name in handles]
        fig.legend([handles[n] for n in order], order, loc="outside upper center", ncols=len(order))
    return fig


# --- weight diagrams ----------------------------------------------------------------------------


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


def weight_diagram(W1, W2=None, b=None, features: Sequence[str] | None = None, *,
                   figsize: tuple[float, float] | None = None) -> Figure:
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
        if not circuit.is_numeric:
            raise SuperlossError(f"weight_diagram needs numeric weights; substitute "
                                 f"{', '.join(s.name for s in circuit.symbols)} first")
        W1, W2 = np.array(circuit.W1.tolist(), dtype=float), np.array(circuit.W2.tolist(), dtype=float)
        b = np.array(circuit.b2.tolist(), dtype=float).reshape(-1) if b is None else b
        hidden_bias = np.array(circuit.b1.tolist(), dtype=float).reshape(-1)
        features = circuit.features if features is None else features
    elif W2 is None:
        raise SuperlossError("weight_diagram needs W2 (or a circuit in place of W1)")
    W1, W2 = _matrix(W1, "W1"), _matrix(W2, "W2")
    if W1.ndim != 2 or W1.size == 0:
        raise SuperlossError(f"W1 must be a non-empty m x n matrix, got shape {W1.shape}")
    m, n = W1.shape
    if W2.shape != (n, m):
        raise SuperlossError(f"W2 must be {n} x {m} (features x neurons) for W1 of shape {m} x {n}, "
                             f"got {W2.shape}")
    if b is not None:
        b = _matrix(b, "b").reshape(-1)
        if b.shape != (n,):
            raise SuperlossError(f"b must have {n} entries, one per feature, got {b.size}")
        if not b.any():
            b = None
    names = tuple(str(f) for f in features) if features is not None else tuple(str(i) for i in range(n))
    if len(names) != n:
        raise SuperlossError(f"features must be {n} names, got {len(names)}")

    colours = feature_colours(n)
    neurons = np.arange(m, dtype=float)
    # The bias bar stands apart from the neurons, past a gap.
    out_x = neurons if b is None else np.append(neurons, m + 0.4)
    out_values = W2.T if b is None else np.vstack([W2.T, b])
    in_values = W1 if hidden_bias is None or not hidden_bias.any() else np.column_stack([W1, hidden_bias])
    width = WIDTH["single"] if m <= 12 else WIDTH["double"]
    with _style():
        fig = _figure(figsize or (width, 3.0))
        top, bottom = fig.subplots(2, 1, sharex=True)
        for ax, xs, values in ((top, neurons, in_values), (bottom, out_x, out_values)):
            bottoms = _stack(values)
            for i in range(values.shape[1]):
                feature = i < n
                ax.bar(xs, values[:, i], bottom=bottoms[:, i], width=0.7, linewidth=0,
                              color=colours[i] if feature else "0.6",
                              label=_feature_label(names[i]) if feature else "hidden bias")
            ax.axhline(0.0, color="0.3", linewidth=0.5, zorder=0)
        top.set_ylabel("input weight")
        bottom.set_ylabel("output weight")
        bottom.set_xlabel("neuron")
        bottom.set_xticks(out_x, [str(j + 1) for j in range(m)] + ([] if b is None else ["b"]))
        top.tick_params(labelbottom=False)
        handles = [Patch(color=c, label=_feature_label(f)) for c, f in zip(colours, names)]
        if in_values.shape[1] > n:
            handles.append(Patch(color="0.6", label="hidden bias"))
        fig.legend(handles=handles, loc="outside right upper", title="feature")
    return fig


def _feature_label(name: str) -> str:
    # Names a subscript can hold are written as the paper writes features: x_a, x_3.
    return f"$x_{{{name}}}$" if name.isalnum() else name


# --- training -----------------------------------------------------------------------------------

#: Line styles that tell importance vectors apart when a result has more than one.
IMPORTANCE_STYLES = ("-", "--", ":", "-.")


def training_curves(result, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The loss history of a :class:`numeric.train.TrainResult` (or the folder it was
    saved to): one thin line per instance against the step, coloured by sparsity
    (line style by importance vector when there are several), log loss axis; each
    instance's final estimate (mean over the last 10% of the steps, with its
    standard error) is a dot at the last step.
    """
    if isinstance(result, (str, os.PathLike)):
        from .train import TrainResult  # only here: a result object needs no loading

        result = TrainResult.load(result)
    steps = np.asarray(result.history_steps, dtype=float)
    history = np.asarray(result.history, dtype=float)
    if history.ndim != 2 or history.shape[0] == 0 or history.shape[1] == 0:
        raise SuperlossError("training_curves needs a result with a loss history")
    sparsities = np.asarray(result.sparsities, dtype=float)
    groups = sorted(set(sparsities.tolist()))
    colour = dict(zip(groups, feature_colours(len(groups))))
    vectors = [tuple(v) for v in np.asarray(result.importances, dtype=float).tolist()]
    distinct = list(dict.fromkeys(vectors))
    style = {v: IMPORTANCE_STYLES[k % len(IMPORTANCE_STYLES)] for k, v in enumerate(distinct)}
    mean = np.asarray(result.final_estimate.mean, dtype=float)
    stderr = np.nan_to_num(np.asarray(result.final_estimate.stderr, dtype=float))
    with _style():
        fig = _figure(figsize or (WIDTH["single"], 2.6))
        ax = fig.add_subplot()
        for k in range(history.shape[1]):
            c = colour[float(sparsities[k])]
            line = ax.plot(steps, history[:, k], color=c, linewidth=0.6, alpha=0.8, linestyle=style[vectors[k]])[0]
            line.set_gid("instance")
            dot = ax.errorbar([steps[-1]], [mean[k]], yerr=[stderr[k]], fmt="o", color=c, markersize=2.5,
                              markeredgecolor="black", markeredgewidth=0.3, elinewidth=0.6, capsize=0, zorder=4)
            dot.lines[0].set_gid("final estimate")
        ax.set_yscale("log", nonpositive="mask")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (batch mean)")
        handles = [Line2D([], [], color=colour[S], linewidth=1.0, label=f"$S = {S:g}$") for S in groups]
        if len(distinct) > 1:
            handles += [Line2D([], [], color="0.3", linewidth=0.8, linestyle=style[v], label=f"importance {k + 1}")
                        for k, v in enumerate(distinct)]
        handles.append(Line2D([], [], color="0.3", marker="o", markersize=2.5, linestyle="none",
                              markeredgecolor="black", markeredgewidth=0.3, label="final estimate"))
        ax.legend(handles=handles, loc="upper right")
    return fig


# --- output -------------------------------------------------------------------------------------


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
    with _style():
        fig = _figure(figsize or (WIDTH["double"], 2.8))
        left, right = fig.subplots(1, 2)
        cmap = ListedColormap([STRUCTURE_COLOURS[n] for n in names])
        left.pcolormesh(p, importance, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, shading="nearest")
        mesh = right.pcolormesh(p, importance, np.clip(bought, 0, 1), cmap=LANDSCAPE_CMAP, vmin=0, vmax=1,
                                shading="nearest")
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
            left.scatter(tp[some], ti[some], s=8 + 30 * share[some], color=OKABE_ITO["black"], zorder=3,
                         label="free models with the motif")
            left.scatter(tp[~some], ti[~some], s=10, facecolors="none", edgecolors=OKABE_ITO["black"],
                         linewidths=0.6, zorder=3, label="free models without it")
        shown = [n for n in names if (codes == names.index(n)).any()]
        # A framed legend: it sits on top of the orange region.
        handles = [Patch(color=STRUCTURE_COLOURS[n], label=n) for n in shown]
        handles += left.get_legend_handles_labels()[0]
        # Below the axes: inside, it would hide part of the diagram.
        left.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.2), ncols=2, fontsize=6,
                    frameon=False)
    return fig


def save(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``stem.png`` (300 dpi) and ``stem.pdf``, each through a temporary file in
    the same folder renamed into place; return the two paths. The folder must exist."""
    stem = Path(stem)
    if not stem.name:
        raise SuperlossError("the figure's file name is empty")
    folder = stem.parent if str(stem.parent) else Path(".")
    if not folder.is_dir():
        raise SuperlossError(f"cannot write {stem}.png: folder {folder} does not exist")
    written = []
    for fmt, metadata in FORMATS.items():
        path = folder / f"{stem.name}.{fmt}"
        with atomic(path, binary=True) as handle, _style():
            fig.savefig(handle, format=fmt, dpi=STYLE["savefig.dpi"], metadata=metadata)
        written.append(path)
    return written


def reconstruction_figure(phases, *, figsize: tuple[float, float] | None = None) -> Figure:
    """The n = 2, m = 1 reconstruction phase diagram (:class:`numeric.reconstruction.ReconstructionPhases`,
    or its ``to_dict()``): the structure of the optimum over the density ``1 - S``
    (log axis, sparser to the right) and the extra feature's relative importance ``r``
    (log axis), coloured as in :data:`numeric.reconstruction.STRUCTURES`, with a legend
    of the structures that appear."""
    from .reconstruction import STRUCTURES  # only here: the figure module needs no optimizer otherwise

    record = phases.to_dict() if hasattr(phases, "to_dict") else phases
    for key in ("density", "r", "structure"):
        if key not in record:
            raise SuperlossError(f"a reconstruction phase diagram needs the keys density, r and structure; "
                                 f"this one has {', '.join(map(str, record)) or 'none'}")
    density = np.asarray(record["density"], dtype=float)
    importance = np.asarray(record["r"], dtype=float)
    names = list(STRUCTURES)
    unknown = sorted({str(s) for row in record["structure"] for s in row} - set(names))
    if unknown:
        raise SuperlossError(f"unknown structure {unknown[0]!r}; the structures are {', '.join(names)}")
    codes = np.array([[names.index(str(s)) for s in row] for row in record["structure"]], dtype=float)
    if codes.shape != (importance.size, density.size):
        raise SuperlossError(f"structure must be {importance.size} x {density.size} (r x density), "
                             f"got {codes.shape[0]} x {codes.shape[1] if codes.ndim == 2 else 0}")
    colours = {n: OKABE_ITO[STRUCTURES[n]["colour"]] for n in names}
    with _style():
        fig = _figure(figsize or (WIDTH["single"], 2.8))
        ax = fig.add_subplot()
        cmap = ListedColormap([colours[n] for n in names])
        mesh = ax.pcolormesh(density, importance, codes, cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5,
                             shading="nearest")
        mesh.set_gid("structure")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel(r"density $1 - S$ (sparser to the right)")
        ax.set_ylabel(r"relative importance $r$ of feature 2")
        shown = [n for n in names if (codes == names.index(n)).any()]
        # Above the axes, in one row: every corner of the diagram holds data.
        fig.legend(handles=[Patch(color=colours[n], label=n) for n in shown], loc="outside upper center",
                   ncols=len(shown), fontsize=6, handlelength=1.0, columnspacing=1.0)
    return fig
