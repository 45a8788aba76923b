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

import sympy as sp
from joblib import Parallel, delayed

from analytic import Problem, SparseUniform
from analytic.presets import CANONICAL, asymmetric_inhibition

from .motif import BOX, VARIANTS, I_b, S, classify, delta, kappa, o_b, w_a, w_b
from .optimize import ON_BOUND, SAME, Optimum, optimize

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
    """One (S, I_b): every variant's optimum, the full motif's structure and what it buys."""

    sparsity: sp.Rational
    rider_importance: sp.Rational
    optima: dict
    structure: str
    relaxations: list

    @property
    def full(self) -> Optimum:
        return self.optima["full"]

    def bought(self) -> dict:
        """The loss each step from one variant to the next removes. The steps from
        symmetric on are nested, so these are >= 0; "rider dropped" and
        "symmetric" are alternatives, and the first difference may be negative."""
        names = list(VARIANTS)
        return {f"{b} over {a}": self.optima[a].loss - self.optima[b].loss for a, b in pairwise(names)}

    def to_dict(self) -> dict:
        """The case as JSON-ready data: every variant's optimum with its certificate."""
        return {
            "S": str(self.sparsity),
            "I_b": str(self.rider_importance),
            "structure": self.structure,
            "bought": self.bought(),
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
        if edge == 0:
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


def run_case(sparsity, rider_importance, starts: int = 16, seed: int = 0, samples: int = 1_000_000) -> Case:
    """Optimize every variant at one (S, I_b), the full motif last, from the others' optima too."""
    S_, I_ = sp.Rational(sparsity), sp.Rational(rider_importance)
    full = asymmetric_inhibition()
    law, importance = SparseUniform(S), [1, I_b, 1]
    fixed = {S: S_, I_b: I_}
    optima = {}
    for name, variant in VARIANTS.items():
        circuit = full.subs(variant) if variant else full
        free = {s: BOX[s] for s in circuit.symbols}
        # Every simpler variant's optimum is a start: where it is a special case, this one cannot be
        # worse. The canonical point is the first start.
        x0 = [{s: float(CANONICAL[s]) for s in free}]
        x0 += [{s: v for s, v in _embed(VARIANTS[n], o.params).items() if s in free} for n, o in optima.items()]
        problem = Problem(circuit, law, importance, free=free, fixed=fixed)
        optima[name] = optimize(
            problem,
            starts=starts if name == "full" else max(4, starts // 2),
            seed=seed,
            global_search=False,
            samples=samples,
            x0=x0,
        )
    structure = classify(optima["full"].params)
    relaxations = _relax(optima["full"], seed)
    return Case(S_, I_, optima, structure, relaxations)


def run(
    sparsities: Sequence = SPARSITIES,
    rider_importances: Sequence = RIDER_IMPORTANCES,
    starts: int = 16,
    seed: int = 0,
    jobs: int = 2,
    samples: int = 1_000_000,
) -> list[Case]:
    """Every case of the study, ``jobs`` in parallel (through joblib)."""
    grid = [(s, i) for s in sparsities for i in rider_importances]
    return Parallel(n_jobs=jobs)(delayed(run_case)(s, i, starts, seed, samples) for s, i in grid)


def table(cases: Sequence[Case]) -> str:
    """The study as a Markdown table: one row per case."""
    rows = [
        "| S | I_b | structure | full loss | rider dropped | symmetric | no inhibition | no leak "
        "| w_a/w_b | kappa delta / (o_b w_a) | kappa | delta | z (MC) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in cases:
        p = {s: case.full.params.get(s, 0.0) for s in BOX}
        # Without a rider the ratios are noise (0 / 0 up to rounding).
        rider = case.structure != "rider dropped"
        ratio = f"{p[w_a] / p[w_b]:.3g}" if rider else "-"
        cancel = f"{p[kappa] * p[delta] / (p[o_b] * p[w_a]):.3g}" if rider and p[o_b] * p[w_a] else "-"
        losses = " | ".join(f"{case.optima[n].loss:.6g}" for n in VARIANTS if n != "full")
        z = case.full.zscore
        rows.append(
            f"| {case.sparsity} | {case.rider_importance} | {case.structure} | {case.full.loss:.6g} | "
            f"{losses} | {ratio} | {cancel} | {p[kappa]:.4g} | {p[delta]:.3g} | "
            f"{'' if z is None else f'{z:+.2f}'} |"
        )
    return "\n".join(rows)
