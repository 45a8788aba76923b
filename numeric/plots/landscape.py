"""The loss landscape: the exact loss over two parameters around an optimum, with the boundaries
of the optimum's regime."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from analytic import SuperlossError

from ..engines.pointwise import PointwiseLoss
from .style import LANDSCAPE_CMAP, OKABE_ITO, WIDTH, house_style, label, new_figure

__all__ = ["BOUNDARY_POINTS", "landscape"]

#: Resolution of the regime boundaries' zero contours: they are cheap (a lambdified
#: polynomial), so much finer than the loss grid.
BOUNDARY_POINTS = 201


def landscape(
    optimum,
    x: sp.Symbol | str,
    y: sp.Symbol | str,
    span: Mapping | None = None,
    points: int = 41,
    *,
    figsize: tuple[float, float] | None = None,
) -> Figure:
    """The exact loss over the parameters ``x`` and ``y`` of an optimum
    (:class:`numeric.optimize.Optimum`), every other parameter at its optimum value.

    The grid is ``points`` x ``points`` over the optimum's box for ``x`` and ``y``
    (or ``span = {x: (lo, hi), y: (lo, hi)}``); the loss is computed at each point
    with :class:`numeric.engines.pointwise.PointwiseLoss` (exact, in whichever regime the
    point lies), and coloured on a log scale. The optimum is a white star. Its regime
    (where the closed form of the optimum holds, the other parameters and the fixed
    symbols substituted) is hatched, and the factors of ``optimum.regime.regime`` that
    bound it in the plane are dashed; the title states the fixed sparsity and
    importances. The motif's 41 x 41 grid takes about 10 s.
    """
    # By name, so that "kappa", sym("kappa") and a plain Symbol("kappa") all find the parameter.
    by_name = {p.name: p for p in optimum.params}
    names = [p.name if isinstance(p, sp.Symbol) else str(p) for p in (x, y)]
    if names[0] == names[1]:
        raise SuperlossError(f"landscape needs two different parameters, got {names[0]} twice")
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SuperlossError(
            f"{', '.join(missing)}: not a free parameter of the optimum; its parameters are {', '.join(by_name)}"
        )
    x, y = by_name[names[0]], by_name[names[1]]
    if not isinstance(points, (int, np.integer)) or points < 2:
        raise SuperlossError(f"points must be an integer of at least 2, got {points!r}")
    (x_lo, x_hi), (y_lo, y_hi) = (_span(span, optimum.bounds, p) for p in (x, y))

    others = {p: v for p, v in optimum.params.items() if p not in (x, y)}
    fixed = {**dict(optimum.fixed), **others}
    loss = PointwiseLoss(optimum.problem.fix(others).replace(free=[x, y]))
    xs, ys = np.linspace(x_lo, x_hi, points), np.linspace(y_lo, y_hi, points)
    values = np.array([[loss.value([u, v]) for u in xs] for v in ys])

    with house_style():
        fig = new_figure(figsize or (WIDTH["single"], 2.8))
        ax = fig.add_subplot()
        # The loss varies over decades: log colours. Exact zeros (a perfect fit) sit at the floor.
        top = float(np.max(values)) if np.max(values) > 0 else 1.0
        positive = values[values > 0]
        floor = float(np.min(positive)) if positive.size else top * 1e-12
        if top <= floor * (1 + 1e-9):
            floor, top = floor / 1.01, top * 1.01
        levels = np.geomspace(floor, top, 25)
        filled = ax.contourf(
            xs, ys, np.clip(values, floor, top), levels=levels, norm=LogNorm(floor, top), cmap=LANDSCAPE_CMAP
        )
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
        # The settings the loss was drawn at (the sparsity, the importances), on the figure itself.
        setting = [f"{label(s)} = {float(v):.4g}" for s, v in optimum.fixed.items() if s not in optimum.problem.weights]
        sparsity = getattr(optimum.problem.law, "sparsity", None)
        if isinstance(sparsity, sp.Expr) and sparsity.is_number:
            setting.insert(0, f"$S$ = {float(sparsity):.4g}")  # a law's own number, not a fixed symbol
        if setting:
            ax.set_title(", ".join(setting), fontsize="medium")

        star = ax.plot(
            [optimum.params[x]],
            [optimum.params[y]],
            linestyle="none",
            marker="*",
            markersize=9,
            markerfacecolor="white",
            markeredgecolor="black",
            markeredgewidth=0.6,
            zorder=5,
        )[0]
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
    mantissa = value / 10.0**exponent
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
    """Shade the optimum's regime in the plotted plane (gid ``regime``) and draw, dashed, the zero
    set of each of its factors that bounds it there: one that changes sign between a grid point of
    the regime and a neighbour outside it. Factors that cross the box away from the regime bound
    other regimes and are left out. Returns ``(factor after substitution, contour set)`` pairs."""
    regime = getattr(optimum.regime, "regime", None)
    if regime is None:
        return []
    u = np.linspace(*xs, BOUNDARY_POINTS)
    v = np.linspace(*ys, BOUNDARY_POINTS)
    U, V = np.meshgrid(u, v)
    signed = []
    seen: set = set()
    # Sorted, so that the same optimum draws its boundaries in the same order.
    for factor, sign in sorted(regime.factors, key=lambda fs: sp.default_sort_key(fs[0])):
        factor = sp.sympify(factor)
        if not factor.has(x, y):
            continue
        expr = sp.expand(factor.subs(dict(fixed)))
        if not expr.free_symbols or not expr.free_symbols <= {x, y} or expr in seen or -expr in seen:
            continue
        seen.add(expr)
        values = np.broadcast_to(np.asarray(sp.lambdify([x, y], expr, "numpy")(U, V), dtype=float), U.shape)
        signed.append((expr, values, sign * values > 0))
    if not signed:
        return []
    inside = np.logical_and.reduce([holds for _, _, holds in signed])
    shade = ax.contourf(U, V, inside.astype(float), levels=[0.5, 1.5], colors="none", hatches=["////"], zorder=3)
    shade.set_gid("regime")
    out = []
    for expr, values, holds in signed:
        # Grid neighbours, one in the regime and one out of it, across which this factor flips.
        flips = [
            (a & ~b & (ha != hb)).any()
            for a, b, ha, hb in (
                (inside[:, :-1], inside[:, 1:], holds[:, :-1], holds[:, 1:]),
                (inside[:, 1:], inside[:, :-1], holds[:, 1:], holds[:, :-1]),
                (inside[:-1], inside[1:], holds[:-1], holds[1:]),
                (inside[1:], inside[:-1], holds[1:], holds[:-1]),
            )
        ]
        if not any(flips):
            continue
        contour = ax.contour(
            U, V, values, levels=[0.0], colors=OKABE_ITO["vermillion"], linewidths=0.7, linestyles="--", zorder=4
        )
        out.append((expr, contour))
    return out
