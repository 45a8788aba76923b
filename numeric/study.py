"""The motif study: which circuit is optimal, by sparsity and the rider's importance.

For each sparsity ``S`` and rider importance ``I_b`` (host and inhibitor
features have importance 1) the full motif and its variants are optimized in
the study's box (:data:`numeric.motif.BOX`). Every variant is the full motif at some
parameter values (symmetric, no inhibition and no leak are also nested in one
another), so each variant's optimum is also a start of the later searches, and
the full motif is never worse. Its optimum is classified by
the structure it takes (:func:`numeric.motif.classify`), and
the loss each ingredient buys is the difference between consecutive variants.
Active bounds that are not zero are relaxed ten times wider, then a hundred
times. The optimum has moved inside when it leaves the bound and the loss
drops by more than :data:`numeric.optimize.SAME` (relative); if it keeps
following the bound, or leaves it only where the loss is flat, the limit of the
closed form is taken instead. An optimum that leaves the bound behind without
moving is reported as stalled. (Bounds at zero switch a weight off and are
reported, not relaxed.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
import sympy as sp
from joblib import Parallel, delayed

from analytic import Problem, SparseUniform
from analytic.presets import CANONICAL, asymmetric_inhibition

from . import family
from .motif import BOX, VARIANTS, I_b, S, delta, kappa, o_b, w_a, w_b
from .optimize import ON_BOUND, SAME, Optimum, optimize
from .phase import neighbourhood, phase_diagram

SPARSITIES = ("1/2", "7/10", "9/10", "97/100", "99/100")
RIDER_IMPORTANCES = ("1/10", "3/10", "1")


@dataclass
class Relaxation:
    """What became of one active bound when it was widened."""

    param: sp.Symbol
    side: str
    widths: list = field(default_factory=list)  # (bound, value the param took, loss) per widening
    inside: bool = False  # it moved off the old bound into the wider box
    stalled: bool = False  # it left the bound behind but did not move: the search stopped there
    limit: float | None = None

    def __str__(self) -> str:
        steps = "; ".join(f"bound {b:g}: {self.param.name} = {v:.6g}, loss {l:.6g}" for b, v, l in self.widths)
        end = (
            "moved inside"
            if self.inside
            else "stalled on the old bound (the search stopped there)"
            if self.stalled
            else f"no optimum inside (it follows the bound, or the loss is flat); limit of the loss {self.limit:.6g}"
        )
        return f"{self.param.name} at its {self.side} bound, widened: {steps}; {end}"

    def to_dict(self) -> dict:
        return {
            "param": self.param.name,
            "side": self.side,
            "widths": [{"bound": b, "value": v, "loss": l} for b, v, l in self.widths],
            "inside": self.inside,
            "stalled": self.stalled,
            "limit": self.limit,
        }


@dataclass
class Case:
    """One (S, I_b): every variant's optimum in the box, the family's best
    (:class:`numeric.family.FamilyOptimum`: a point of the box, or the limit
    ``kappa -> oo``), its structure and what each ingredient buys."""

    sparsity: sp.Rational
    rider_importance: sp.Rational
    optima: dict
    family: family.FamilyOptimum
    relaxations: list

    @property
    def full(self) -> Optimum:
        """The best point of the box, with its certificate."""
        return self.optima["full"]

    @property
    def structure(self) -> str:
        return self.family.structure

    @property
    def loss(self) -> float:
        """The family's least loss (the limit's where the infimum is at ``kappa -> oo``)."""
        return self.family.loss

    def bought(self) -> dict:
        """The loss each step from one variant to the next removes, the full motif
        at its best (the limit where it is lower). The steps from symmetric on are
        nested, so these are >= 0; "rider dropped" and "symmetric" are
        alternatives, and the first difference may be negative."""
        losses = {n: o.loss for n, o in self.optima.items()} | {"full": self.loss}
        return {f"{b} over {a}": losses[a] - losses[b] for a, b in pairwise(VARIANTS)}

    def to_dict(self) -> dict:
        """The case as JSON-ready data: every variant's optimum with its certificate, and the family's best."""
        return {
            "S": str(self.sparsity),
            "I_b": str(self.rider_importance),
            "structure": self.structure,
            "loss": self.loss,
            "bought": self.bought(),
            "family": self.family.to_dict(),
            "optima": {n: o.to_dict() for n, o in self.optima.items()},
            "relaxations": [r.to_dict() for r in self.relaxations],
        }


def _embed(variant: dict, params: dict) -> dict:
    """A variant's optimum as a point of the full motif."""
    return {s: float(sp.sympify(variant[s]).subs(params)) if s in variant else params[s] for s in BOX}


def _relax(best: Optimum, seed: int) -> list[Relaxation]:
    out = []
    for p, side in best.active_bounds.items():
        lo, hi = (float(v) for v in best.bounds[p])
        edge = lo if side == "low" else hi
        # Bounds at zero switch a weight off; kappa's upper bound is the family's limit kappa -> oo.
        if edge == 0 or p == kappa:
            continue
        relaxation = Relaxation(p, side)
        current = best
        for factor in (10, 100):
            width = (hi - lo) * (factor - 1)
            box = dict(current.bounds)
            box[p] = (lo - width, hi) if side == "low" else (lo, hi + width)
            previous, previous_loss = current.params[p], current.loss
            current = optimize(
                current.problem.replace(free=box),
                starts=1,
                seed=seed,
                global_search=False,
                samples=0,
                x0=current.params,
            )
            relaxation.widths.append((box[p][0] if side == "low" else box[p][1], current.params[p], current.loss))
            gain = previous_loss - current.loss
            if p in current.active_bounds:
                continue
            moved = abs(current.params[p] - previous) > ON_BOUND * (box[p][1] - box[p][0])
            if moved and gain > SAME * abs(current.loss):
                relaxation.inside = True
                break
            if not moved:
                relaxation.stalled = True
                break
            # It moved, but the loss is flat out there (far along kappa, say): keep widening.
        if not (relaxation.inside or relaxation.stalled):
            others = {s: sp.Rational(v) for s, v in current.params.items() if s != p}
            expr = current.regime.expr.subs({**current.fixed, **others})
            relaxation.limit = float(sp.limit(expr, p, sp.oo if side == "high" else -sp.oo))
        out.append(relaxation)
    return out


def family_optima(
    sparsities: Sequence, rider_importances: Sequence, starts: int = 16, seed: int = 0, jobs: int = 2, samples: int = 0
) -> dict:
    """The family's global search (:func:`numeric.family.optimum`) at every
    ``(S, I_b)``, by exact values: each starts from the optima of a phase diagram
    (:func:`numeric.phase.phase_diagram`, all three variants) at the case and at
    its grid neighbours (:func:`numeric.phase.neighbourhood`), all cases' grids
    in one diagram, and from the canonical point and ``starts`` seeded random points."""
    cases = [(sp.Rational(str(s)), sp.Rational(str(i))) for s in sparsities for i in rider_importances]
    grids = [neighbourhood(float(s), float(i)) for s, i in cases]
    S_grid = np.unique(np.concatenate([g[0] for g in grids]))
    I_grid = np.unique(np.concatenate([g[1] for g in grids]))
    diagram = phase_diagram(S_grid, I_grid, seed=seed, jobs=jobs)

    def near(s: float, i: float) -> list[np.ndarray]:
        j, k = int(np.flatnonzero(S_grid == s)[0]), int(np.flatnonzero(I_grid == i)[0])
        block = [
            diagram.params[a][b]
            for a in range(k - 1, k + 2)
            for b in range(j - 1, j + 2)
            if 0 <= a < len(I_grid) and 0 <= b < len(S_grid)
        ]
        return [np.array([c[p.name] for p in BOX]) for c in block]

    found = Parallel(n_jobs=jobs)(
        delayed(family.optimum)(s, i, near(float(s), float(i)), starts, seed, samples) for s, i in cases
    )
    return dict(zip(cases, found, strict=True))


def run_case(
    sparsity,
    rider_importance,
    starts: int = 16,
    seed: int = 0,
    samples: int = 1_000_000,
    best: family.FamilyOptimum | None = None,
) -> Case:
    """Optimize every variant at one (S, I_b) in the box, and take the family's best
    (``best``, else :func:`family_optima` at this case alone); the best point of the
    box is certified by :func:`numeric.optimize.optimize`."""
    S_, I_ = sp.Rational(str(sparsity)), sp.Rational(str(rider_importance))
    full = asymmetric_inhibition()
    law, importance = SparseUniform(S), [1, I_b, 1]
    fixed = {S: S_, I_b: I_}
    optima = {}
    for name, variant in VARIANTS.items():
        if not variant:
            continue
        circuit = full.subs(variant)
        free = {s: BOX[s] for s in circuit.symbols}
        # Every simpler variant's optimum is a start: where it is a special case, this one cannot be
        # worse. The canonical point is the first start.
        x0 = [{s: float(CANONICAL[s]) for s in free}]
        x0 += [{s: v for s, v in _embed(VARIANTS[n], o.params).items() if s in free} for n, o in optima.items()]
        problem = Problem(circuit, law, importance, free=free, fixed=fixed)
        optima[name] = optimize(
            problem, starts=max(4, starts // 2), seed=seed, global_search=False, samples=samples, x0=x0
        )
    if best is None:
        best = family_optima([S_], [I_], starts, seed, jobs=1, samples=samples)[S_, I_]
    embedded = [np.array([_embed(VARIANTS[n], o.params)[s] for s in BOX]) for n, o in optima.items()]
    problem = Problem(full, law, importance, free=BOX, fixed=fixed)
    if min(o.loss for o in optima.values()) < best.loss * (1 - SAME):
        # A nested variant did better than the family's search: search again, from the variants' optima too.
        ends = [np.array([v for v in point.values()]) for point in (best.finite, best.params)]
        best = family.optimum(S_, I_, embedded + ends, starts, seed, samples)
    optima["full"] = optimize(problem, starts=1, seed=seed, samples=samples, x0=best.finite)
    return Case(S_, I_, optima, best, _relax(optima["full"], seed))


def run(
    sparsities: Sequence = SPARSITIES,
    rider_importances: Sequence = RIDER_IMPORTANCES,
    starts: int = 16,
    seed: int = 0,
    jobs: int = 2,
    samples: int = 1_000_000,
) -> list[Case]:
    """Every case of the study, ``jobs`` in parallel (through joblib)."""
    best = family_optima(sparsities, rider_importances, starts, seed, jobs, samples)
    return Parallel(n_jobs=jobs)(delayed(run_case)(s, i, starts, seed, samples, b) for (s, i), b in best.items())


def table(cases: Sequence[Case]) -> str:
    """The study as a Markdown table: one row per case. "full" is the family's
    best: ``kappa`` is ``oo`` where it is the limit ``kappa -> oo`` (not attained),
    and "best in box" is then the best point with ``kappa <= 1000``."""
    rows = [
        "| S | I_b | structure | full loss | best in box | rider dropped | symmetric | no inhibition | no leak "
        "| w_a/w_b | kappa delta / (o_b w_a) | kappa | delta | kappa -> oo, delta <= 100 | z (MC) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        best = case.family
        p = best.params
        # Without a rider the ratios are noise (0 / 0 up to rounding).
        rider = case.structure != "rider dropped"
        ratio = f"{p[w_a] / p[w_b]:.3g}" if rider else "-"
        if best.at_infinity:
            cancel, shown_kappa, z = "oo", "oo", best.limit.zscore
        else:
            cancel = f"{p[kappa] * p[delta] / (p[o_b] * p[w_a]):.3g}" if rider and p[o_b] * p[w_a] else "-"
            shown_kappa, z = f"{p[kappa]:.4g}", case.full.zscore
        losses = " | ".join(f"{case.optima[n].loss:.6g}" for n in VARIANTS if n != "full")
        rows.append(
            f"| {case.sparsity} | {case.rider_importance} | {case.structure} | {case.loss:.6g} | "
            f"{best.finite_loss:.6g} | {losses} | {ratio} | {cancel} | {shown_kappa} | {p[delta]:.3g} | "
            f"{best.relaxed_loss:.6g} (delta {best.relaxed[delta]:.3g}) | {'' if z is None else f'{z:+.2f}'} |"
        )
    return "\n".join(rows)
