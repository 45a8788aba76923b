"""The optimizer: the motif's optimization cold and warm, and one evaluation per engine.

:func:`motif_optimization` runs in one fresh process (:func:`numeric.bench.runner.fresh`), in
this order: the study's optimization of the full motif (as ``docs/examples/motif_study.toml`` has it:
the ten weights free in the study's box, S = 0.9, I_b = 0.3, no global search, no Monte Carlo) once
cold (nothing derived yet in the process); the same again, warm (the closed forms of the regimes
it met are cached; the searches' cells never are, as every point is new), the median of several
runs on two processes and then on one; once more with differential evolution as a global
cross-check; and last, the cost of one value and gradient at the optimum on the pointwise engine
and on the compiled closed form of its regime (the minimum over a few repeats of ``timeit``).
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Sequence

import numpy as np
import sympy as sp

from analytic import Problem, SparseUniform
from analytic.presets import CANONICAL, asymmetric_inhibition

from ..engines.pointwise import PointwiseLoss
from ..engines.regimes import RegimeLoss
from ..motif import BOX, I_b, S
from ..optimize import Optimum, optimize

#: The point of the study the optimization is measured at.
FIXED = {S: sp.Rational(9, 10), I_b: sp.Rational(3, 10)}


def _problem(free: Sequence[str] | None) -> Problem:
    """The study's problem: the weights named in ``free`` (all ten if None) searched in the
    study's box, the others held at the canonical point, the first start."""
    names = [s.name for s in BOX] if free is None else list(free)
    fixed = FIXED | {s: CANONICAL[s] for s in BOX if s.name not in names}
    return Problem(
        asymmetric_inhibition(),
        SparseUniform(S),
        [1, I_b, 1],
        free={s: box for s, box in BOX.items() if s.name in names},
        fixed=fixed,
    )


def _timed(problem: Problem, starts: int, jobs: int, global_search: bool = False) -> tuple[float, Optimum]:
    """One optimization from the canonical point and ``starts - 1`` seeded starts: its wall time and its optimum."""
    start = time.perf_counter()
    best = optimize(problem, starts=starts, seed=0, global_search=global_search, samples=0, x0=CANONICAL, jobs=jobs)
    return time.perf_counter() - start, best


def motif_optimization(
    starts: int = 16,
    jobs: int = 2,
    warm_runs: int = 5,
    one_core_runs: int = 3,
    pointwise_number: int = 5,
    closed_number: int = 200,
    repeats: int = 3,
    free: Sequence[str] | None = None,
) -> dict:
    """The motif's optimization with ``starts`` starts on ``jobs`` processes, in seconds: ``cold``,
    ``warm`` (median of ``warm_runs``), ``warm_one_core`` (median of ``one_core_runs``) and
    ``with_global`` (one run, warm, with differential evolution, whose best is ``global_loss``);
    the optimum's ``loss``, ``hits`` (starts that reach it) and ``verdict``; ``pointwise_ms`` and
    ``closed_us``, one value and gradient at the optimum (milliseconds, microseconds: the minimum
    over ``repeats`` of ``pointwise_number`` and ``closed_number`` calls). ``free`` names the
    weights searched (smaller problems, for tests)."""
    problem = _problem(free)
    out: dict = {"starts": starts}
    out["cold"], best = _timed(problem, starts, jobs)
    out["loss"], out["hits"], out["verdict"] = best.loss, best.hits, best.verdict
    out["warm"] = float(np.median([_timed(problem, starts, jobs)[0] for _ in range(warm_runs)]))
    out["warm_one_core"] = float(np.median([_timed(problem, starts, 1)[0] for _ in range(one_core_runs)]))
    out["with_global"], found = _timed(problem, starts, jobs, global_search=True)
    out["global_loss"] = found.global_loss
    x = np.array([best.params[s] for s in problem.params])
    pointwise, closed = PointwiseLoss(problem), RegimeLoss(problem)
    closed.value(x)  # derives and compiles the optimum's regime, outside the clock
    out["pointwise_ms"] = (
        1e3
        * min(timeit.repeat(lambda: pointwise.value_and_gradient(x), number=pointwise_number, repeat=repeats))
        / pointwise_number
    )
    out["closed_us"] = (
        1e6
        * min(timeit.repeat(lambda: (closed.value(x), closed.gradient(x)), number=closed_number, repeat=repeats))
        / closed_number
    )
    return out
