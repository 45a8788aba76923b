"""The optimizer against an independent baseline: Nelder-Mead on a Monte Carlo loss.

:func:`nelder_mead` runs one case of the study, in one fresh process
(:func:`numeric.bench.runner.fresh`): the best of many bounded Nelder-Mead searches on a Monte
Carlo loss of the motif (one fixed seeded sample, so that the objective is deterministic), every
end point re-scored by the exact loss, beside the study's optimum of the full motif at the same
(S, I_b) and box. Nothing here is timed: the figures are losses.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from joblib import Parallel, delayed
from scipy.optimize import minimize

from analytic import Problem, SparseUniform
from analytic.presets import asymmetric_inhibition

from .. import motif, study
from ..engines.montecarlo import forward
from ..engines.pointwise import PointwiseLoss
from ..optimize import random_starts


def _exact(circuit, sparsity: str, rider_importance: str) -> PointwiseLoss:
    """The exact loss of the motif over its ten weights, at (S, I_b)."""
    fixed = {motif.S: sp.Rational(sparsity), motif.I_b: sp.Rational(rider_importance)}
    return PointwiseLoss(Problem(circuit, SparseUniform(motif.S), [1, motif.I_b, 1], free=list(motif.BOX), fixed=fixed))


def nelder_mead(
    sparsity: str = "9/10",
    rider_importance: str = "3/10",
    runs: int = 100,
    samples: int = 20_000,
    seed: int = 0,
    jobs: int = 2,
    max_evaluations: int = 4000,
    starts: int = 16,
) -> dict:
    """The best of ``runs`` bounded Nelder-Mead searches (at most ``max_evaluations`` each, on
    ``jobs`` processes) on a Monte Carlo loss of ``samples`` feature vectors, from starts drawn as
    the optimizer's are, re-scored exactly: ``best_nelder_mead`` and ``median_nelder_mead``; and
    the study's full-motif optimum with ``starts`` starts (:func:`numeric.study.run_case`):
    ``optimizer`` (its loss) and its ``structure``."""
    circuit, params = asymmetric_inhibition(), list(motif.BOX)
    S, I = float(sp.Rational(sparsity)), float(sp.Rational(rider_importance))
    rng = np.random.default_rng(seed)
    x = SparseUniform(S).sample(circuit.n, samples, rng)
    weight = np.array([1.0, I, 1.0])
    entries = sp.lambdify(params, list(circuit.entries()), "math")

    def mc(p: np.ndarray) -> float:
        W1, W2, b1, b2 = circuit.layout.split(np.array(entries(*p), dtype=float))
        y = forward(W1, W2, b1, b2, x)
        return float((((np.abs(x) - y) ** 2) @ weight).mean())

    lo, hi = np.array(list(motif.BOX.values()), dtype=float).T
    points = random_starts(lo, hi, runs, rng)
    options = {"maxfev": max_evaluations, "xatol": 1e-7, "fatol": 1e-10}
    ends = Parallel(n_jobs=jobs)(
        delayed(minimize)(mc, x0, method="Nelder-Mead", bounds=list(zip(lo, hi, strict=True)), options=options)
        for x0 in points
    )
    exact = _exact(circuit, sparsity, rider_importance)
    rescored = [exact.value(r.x) for r in ends]
    case = study.run_case(sparsity, rider_importance, starts=starts, samples=0)
    return {
        "best_nelder_mead": min(rescored),
        "median_nelder_mead": float(np.median(rescored)),
        "optimizer": case.full.loss,
        "structure": case.structure,
    }
