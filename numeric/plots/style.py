"""The house style every figure is drawn in: the colour-blind-safe palette, sizes and rcParams, axis labels by
the project's naming rule (:func:`analytic.names.symbol_name`), and :func:`save` (PNG and PDF, each written atomically).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import sympy as sp
from matplotlib import rc_context
from matplotlib.figure import Figure

from analytic import SuperlossError
from analytic.names import symbol_name

from ..files import atomic

__all__ = [
    "CATEGORY_ORDER",
    "FORMATS",
    "LANDSCAPE_CMAP",
    "MANY_CATEGORIES",
    "OKABE_ITO",
    "STYLE",
    "WIDTH",
    "feature_colours",
    "house_style",
    "label",
    "new_figure",
    "save",
]

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

#: Output formats of :func:`save`, with what each writes into its metadata. The PDF's creation
#: date is left out so that the same figure gives the same bytes.
FORMATS = {"png": {}, "pdf": {"CreationDate": None}}


def feature_label(name: str, kind: str = "x") -> str:
    """A feature's input (``kind="x"``) or output (``"y"``) as mathtext (names from :func:`one_based`).

    >>> feature_label("a"), feature_label("1", "y"), feature_label("host")
    ('$x_{a}$', '$y_{1}$', '$x_{host}$')
    """
    return f"${kind}_{{{name}}}$" if name.isalnum() else name


def one_based(features: Sequence[str]) -> tuple[str, ...]:
    """The feature names figures print: a circuit's default names ``0 .. n-1`` as ``1 .. n``,
    any names a spec gives as they are, so that every figure numbers features the same way.

    >>> one_based(["0", "1"]), one_based(["1", "2"]), one_based(["a", "b"])
    (('1', '2'), ('1', '2'), ('a', 'b'))
    """
    names = tuple(str(f) for f in features)
    return tuple(str(i + 1) for i in range(len(names))) if names == tuple(map(str, range(len(names)))) else names


def label(symbol: sp.Symbol | str) -> str:
    """The symbol as mathtext, for an axis label: written as a paper writes it
    (:func:`analytic.names.symbol_name`, the project's one naming rule).

    >>> label(sp.Symbol("kappa")), label("w_a"), label("theta_1"), label("w_a1")
    ('$\\\\kappa$', '$w_{a}$', '$\\\\theta_{1}$', '$w_{a,1}$')
    """
    name = symbol.name if isinstance(symbol, sp.Symbol) else str(symbol)
    return f"${symbol_name(name)}$"


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
def house_style():
    """A context in which matplotlib draws (and saves) under :data:`STYLE`."""
    with rc_context(STYLE):
        yield


def new_figure(size: tuple[float, float]) -> Figure:
    """An empty figure of ``size`` inches, without pyplot."""
    # Constrained layout fits labels, colorbars and the legends placed "outside" the axes.
    return Figure(figsize=size, layout="constrained")


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
        with atomic(path, binary=True) as handle, house_style():
            fig.savefig(handle, format=fmt, dpi=STYLE["savefig.dpi"], metadata=metadata)
        written.append(path)
    return written
