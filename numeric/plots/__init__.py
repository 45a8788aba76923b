"""Publication figures: one style for every figure, colour-blind-safe, sized for a paper column.

Every figure function returns a :class:`matplotlib.figure.Figure` built without
pyplot (no global figure manager, no interactive backend); :func:`save` writes
it as ``stem.png`` (300 dpi) and ``stem.pdf``, each atomically.

- :mod:`numeric.plots.style`: the style as data, :data:`OKABE_ITO` (the palette),
  :data:`STYLE` (the rcParams every figure is drawn and saved under) and
  :data:`WIDTH` (inches); :func:`label` (a symbol as the paper writes it, by
  :func:`analytic.names.symbol_name`), :func:`feature_colours` and :func:`save`;
- :mod:`numeric.plots.landscape`: :func:`landscape`, the exact loss over two
  parameters around an optimum, with the boundaries of the optimum's regime;
- :mod:`numeric.plots.study`: :func:`loss_against_sparsity`, the motif study, the
  full motif and each variant (:data:`VARIANT_STYLE`) against ``S``, one panel per
  rider importance;
- :mod:`numeric.plots.matrices`: :func:`weight_heatmaps`, any circuit's weight matrices as
  diverging heatmaps (``W2 W1`` for a reconstruction model, feature directions for two neurons);
- :mod:`numeric.plots.weights`: :func:`weight_diagram`, each neuron's input and
  output weights as stacked bars (the paper's neuron diagrams);
- :mod:`numeric.plots.sweep`: :func:`sweep_figure`, the density sweep: features per neuron,
  neurons per feature, features dropped and the exact share against density;
- :mod:`numeric.plots.interference`: :func:`interference_figure`, a model's interference
  matrix (:mod:`numeric.decomposition`), features by importance;
- :mod:`numeric.plots.circuit`: :func:`circuit_figure`, a model's canonical weights as
  heatmaps, each neuron annotated with its roles (:mod:`numeric.vocabulary`);
- :mod:`numeric.plots.training`: :func:`training_curves`, the loss history of a
  :class:`numeric.train.TrainResult`;
- :mod:`numeric.plots.phase`: :func:`phase_figure` and :func:`reconstruction_figure`,
  the phase diagrams of the motif and of the n = 2, m = 1 reconstruction.

>>> fig = weight_diagram([[1.0, -0.5]], [[1.0], [0.25]])
>>> [ax.get_ylabel() for ax in fig.axes]
['input weight', 'output weight']
"""

from __future__ import annotations

from .atlas import ATLAS_COLOURS, atlas_figure
from .circuit import WEIGHT_CMAP, circuit_figure
from .interference import interference_figure
from .landscape import BOUNDARY_POINTS, landscape
from .matrices import weight_heatmaps
from .phase import STRUCTURE_COLOURS, phase_figure, reconstruction_figure
from .study import VARIANT_STYLE, loss_against_sparsity
from .style import (
    CATEGORY_ORDER,
    FORMATS,
    LANDSCAPE_CMAP,
    MANY_CATEGORIES,
    OKABE_ITO,
    STYLE,
    WIDTH,
    feature_colours,
    label,
    save,
)
from .sweep import sweep_figure
from .training import IMPORTANCE_STYLES, training_curves
from .weights import weight_diagram

__all__ = [
    "ATLAS_COLOURS",
    "BOUNDARY_POINTS",
    "CATEGORY_ORDER",
    "FORMATS",
    "IMPORTANCE_STYLES",
    "LANDSCAPE_CMAP",
    "MANY_CATEGORIES",
    "OKABE_ITO",
    "STRUCTURE_COLOURS",
    "STYLE",
    "VARIANT_STYLE",
    "WEIGHT_CMAP",
    "WIDTH",
    "atlas_figure",
    "circuit_figure",
    "feature_colours",
    "interference_figure",
    "label",
    "landscape",
    "loss_against_sparsity",
    "phase_figure",
    "reconstruction_figure",
    "sweep_figure",
    "save",
    "training_curves",
    "weight_diagram",
    "weight_heatmaps",
]
