"""The best free model found at one point, with its certificate and its circuit.

:func:`free_optimum` searches ``ReLU(W2 ReLU(W1 x) + b)`` with every entry free
(:class:`numeric.free.model.FreeModel`) on the exact loss, in stages:

1. every start (:mod:`numeric.free.starts`) runs ``SCREEN[0]`` evaluations, the best
   quarter continues to ``SCREEN[1]`` in all (successive halving: a search's early loss
   ranks it well enough to drop the worst, and the screening is most of the work);
2. the :data:`FINALISTS` best continue to :data:`numeric.free.search.EVALUATIONS`;
3. basin hopping (:func:`_hops`): :data:`HOPS` searches from the best point with
   seeded noise, screened alike, in rounds while they lower it;
4. the best point's valley is followed (:func:`_growth`) in blocks of
   :data:`GROWTH_EVALUATIONS`, each in a box sized to the point, up to :data:`WIDENINGS`
   blocks, for as long as the loss falls; whether it keeps falling as weights grow is
   said, then the point is put in canonical form (:func:`numeric.canonical.canonical`);
5. the point is certified (:mod:`numeric.free.certificate`), described
   (:func:`numeric.vocabulary.describe`) and searched for the seed's motif
   (:func:`numeric.detect.detect`).

Between stages every point is *balanced*: each neuron rescaled so that its largest
input and output weights are equal, which changes nothing but keeps the box
(:data:`numeric.free.search.BOUNDS`) from cutting off a gain that another scale
would reach. A search proves nothing about the points it did not reach: the result
says "best found, reached by k of K starts".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from analytic import SuperlossError
from analytic.problem import importances as checked_importances
from analytic.problem import number

from ..canonical import Canonical, canonical
from ..detect import Detection, detect
from ..rounding import shown, tolerance
from ..vocabulary import Description, describe
from .certificate import Certificate, certify
from .model import FreeModel, point_values
from .search import BOUNDS, EVALUATIONS, Run, engine, run_searches
from .starts import GIVEN, Start, random_points, structured, trained

__all__ = ["FINALISTS", "SCREEN", "WIDENINGS", "FreeOptimum", "Growth", "free_optimum", "with_run"]

#: Evaluations of every start, then of the best quarter (at least twice the finalists),
#: before the finalists are chosen.
SCREEN = (100, 300)
#: How many of the screened searches go on to the full cap. A search's rank after
#: ``SCREEN[1]`` evaluations is a poor guide to where it ends: a free 3 x 4 model at
#: S = 0.9, I = (1, 0.3, 1) with 4 finalists stopped at 0.00577, with 16 at 0.00379 (a
#: random start ranked below the eighth); 16 cost a 3 x 5 point 47 s instead of 32.
FINALISTS = 16
#: Blocks of the search along the best point's valley, at most (:func:`_growth`).
WIDENINGS = 1
#: Trained models among the starts, by default.
TRAINED = 4
#: The deviation of the noise added to structured starts.
NOISE = 1e-2
#: Evaluations of each block along the valley.
GROWTH_EVALUATIONS = 1000
#: Each block's box is this many times the largest weight of the point it starts from.
ROOM = 4.0
#: Searches from the best point with noise (basin hopping) per round by default, their
#: noise's deviations in turn, and rounds at most (:func:`_hops`). Each hop runs
#: ``SCREEN[1]`` evaluations, and the best third of them (at least one) go on to the cap.
HOPS = 4
HOP_NOISE = (0.03, 0.1, 0.3)
#: The kind of a hop's run: not a start, so not counted in "reached by k of K starts".
HOP = "hop"
HOP_ROUNDS = 2
#: Over the widenings, a fall of the loss (relative) and a growth of the largest gain (relative)
#: beyond these say that the loss keeps falling as weights grow.
GROWTH = 1e-5
GROWTH_GAIN = 0.05
#: Runs whose loss is within this relative distance of the best reached it. Looser than
#: :data:`numeric.optimize.SAME`: where the infimum lies at infinity, searches creep
#: along the same valley and stop at slightly different points.
REACHED = 1e-4


@dataclass(frozen=True)
class Growth:
    """Whether the loss keeps falling as weights grow: the loss and the largest
    gain (``|W1[j, i] W2[k, j]|``) reached in each widened box (:func:`_growth`)."""

    steps: tuple  # (box scale, loss, largest gain)
    falling: bool

    def __str__(self) -> str:
        rows = "; ".join(f"box x{s:g}: loss {l:.8g}, largest gain {g:.3g}" for s, l, g in self.steps)
        if not self.falling:
            return f"the loss does not fall further as weights grow ({rows})"
        return (
            f"the loss keeps falling as weights grow: {rows}; the infimum is at most {self.steps[-1][1]:.8g} "
            "and no box searched attains it"
        )

    def to_dict(self) -> dict:
        return {
            "falling": self.falling,
            "steps": [{"box_scale": s, "loss": l, "largest_gain": g} for s, l, g in self.steps],
            "infimum_at_most": min(l for _, l, _ in self.steps),
        }


@dataclass(frozen=True)
class FreeOptimum:
    """The best free model found at one ``(S, importances)``.

    ``loss`` is its exact loss; ``model`` its canonical form (``W1``, ``W2``,
    ``b`` and the gains); ``starts`` how many searches ran and ``hits`` how many
    reached the best search's loss before its widening (within :data:`REACHED`, relative);
    ``by_kind`` the best loss each kind of start reached.
    """

    n: int
    m: int
    sparsity: float
    importance: tuple
    loss: float
    model: Canonical
    starts: int
    hits: int
    by_kind: dict
    growth: Growth
    certificate: Certificate | None
    description: Description
    detection: Detection
    x: np.ndarray = field(repr=False, default=None)
    runs: list = field(repr=False, default_factory=list)

    @property
    def shown_loss(self) -> float:
        """``loss`` as printed: 0 where it is zero to rounding."""
        return shown(self.loss, _zero(FreeModel(self.n, self.m), self.sparsity, self.importance))

    def __str__(self) -> str:
        importance = ", ".join(f"{i:g}" for i in self.importance)
        head = (
            f"free {self.n} x {self.m} model at S = {self.sparsity:g}, I = ({importance})\n"
            f"best found: loss {self.shown_loss:.10g}; the best search was reached (within {REACHED:g}) "
            f"by {self.hits} of {self.starts} starts (a search proves nothing about the points it did not reach)"
        )
        kinds = ", ".join(f"{k} {v:.6g}" for k, v in self.by_kind.items())
        parts = [head, f"best by kind of start: {kinds}", str(self.growth), str(self.model)]
        if self.certificate is not None:
            parts.append(str(self.certificate))
        parts += [str(self.description)]
        if self.detection.motifs:
            parts.append(f"the seed's motif: {len(self.detection.motifs)} instance(s) found by the detector")
        return "\n\n".join(parts)

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "m": self.m,
            "S": self.sparsity,
            "importances": list(self.importance),
            "loss": self.shown_loss,
            "W1": self.model.W1.tolist(),
            "W2": self.model.W2.tolist(),
            "b": self.model.b.tolist(),
            "canonical": self.model.to_dict(),
            "starts": self.starts,
            "hits": self.hits,
            "runs": [{"kind": r.start.kind, "loss": r.loss, "evaluations": r.evaluations} for r in self.runs],
            "best_by_kind": self.by_kind,
            "growth": self.growth.to_dict(),
            "certificate": None if self.certificate is None else self.certificate.to_dict(),
            "description": self.description.to_dict(),
            "motifs": self.detection.to_dict(),
        }


def _zero(model: FreeModel, sparsity: float, importance: Sequence[float]) -> float:
    """The largest loss that is zero to rounding at this point (:func:`numeric.rounding.tolerance`)."""
    problem = model.problem()
    return tolerance(problem.fix(dict(zip(problem.varying, point_values(sparsity, importance), strict=True))))


def balanced(model: FreeModel, x: np.ndarray) -> np.ndarray:
    """``x`` with every live neuron rescaled so that its largest input and output weights are equal."""
    W1, W2, b = model.split(x)
    for j in range(model.m):
        a, c = np.abs(W1[j]).max(), np.abs(W2[:, j]).max()
        if a > 0 and c > 0:
            s = np.sqrt(c / a)
            W1[j], W2[:, j] = W1[j] * s, W2[:, j] / s
    return model.join(W1, W2, b)


def _canonical_point(model: FreeModel, x: np.ndarray) -> tuple[Canonical, np.ndarray]:
    """The canonical form of ``x``, and the point to certify: the canonical weights, or, for
    a model with a pattern of zeros (which reordering the neurons would not keep), ``x`` balanced."""
    C = canonical(*model.split(x))
    return C, model.join(*C.weights()) if model.pattern is None else balanced(model, x)


def _largest_gain(model: FreeModel, x: np.ndarray) -> float:
    W1, W2, _ = model.split(x)
    return float((np.abs(W1).max(axis=1) * np.abs(W2).max(axis=0)).max())


def _room(x: np.ndarray) -> float:
    """The scale of the box (:func:`numeric.free.search.search_box`) that holds :data:`ROOM`
    times the largest weight of ``x``, never smaller than the default box."""
    return max(1.0, ROOM * float(np.abs(x).max()) / BOUNDS["weight"])


def _growth(model: FreeModel, sparsity, importance, run: Run, widenings: int, ask=None) -> tuple[Growth, Run]:
    """Follow the best search's valley for up to ``widenings`` blocks of :data:`GROWTH_EVALUATIONS`
    evaluations, each from the last point balanced, in a box :data:`ROOM` times its largest
    weight (never smaller than :data:`numeric.free.search.BOUNDS`), until a block lowers the loss
    by less than :data:`GROWTH` (relative). The loss keeps falling as weights grow when the
    last block still lowered it by more than that while the largest gain grew by more than
    :data:`GROWTH_GAIN` (relative): the search stopped for its budget, on the way out. The
    steps, and the best run."""
    steps = [(1.0, run.loss, _largest_gain(model, run.x))]
    falling = False
    for _ in range(widenings):
        scale = _room(balanced(model, run.x))
        cap = run.evaluations + GROWTH_EVALUATIONS
        (block,) = _continued(model, sparsity, importance, [run], 1, cap, scale=scale, ask=ask)
        gain = _largest_gain(model, block.x)
        steps.append((scale, block.loss, gain))
        fell = block.loss < run.loss * (1 - GROWTH)
        falling = fell and gain > steps[-2][2] * (1 + GROWTH_GAIN)
        if block.loss < run.loss:
            run = block
        if not fell:
            break
    return Growth(tuple(steps), falling), run


def _continued(
    model: FreeModel, sparsity, importance, runs: list[Run], keep: int, cap: int, always=(), **search
) -> list[Run]:
    """``runs`` with the ``keep`` lowest, and those at the indices ``always``, continued, each
    from its point balanced, for the evaluations that bring the most advanced of them to ``cap``
    (the others as they are, in their order): a stage of successive halving. ``search`` goes to
    :func:`numeric.free.search.run_searches`."""
    order = sorted({*sorted(range(len(runs)), key=lambda k: runs[k].loss)[:keep], *always})
    if not order:
        return list(runs)
    more = run_searches(
        model,
        sparsity,
        importance,
        [replace(runs[k].start, x=balanced(model, runs[k].x)) for k in order],
        evaluations=max(1, cap - max(runs[k].evaluations for k in order)),
        **search,
    )
    runs = list(runs)
    for k, r in zip(order, more, strict=True):
        runs[k] = Run(runs[k].start, r.loss, r.x, runs[k].evaluations + r.evaluations)
    return runs


def _hops(model: FreeModel, sparsity, importance, runs: list[Run], count, rng, ask=None, jobs: int = 1) -> list[Run]:
    """``count`` searches from the best run's point, balanced, with seeded noise of the
    deviations :data:`HOP_NOISE` in turn (basin hopping), in a box sized to it, each for
    ``SCREEN[1]`` evaluations and the best third (at least one) on to the cap: models trained
    on samples reach basins next to the best that no start does. Repeated, from the new best,
    while a round lowers it."""
    for _ in range(HOP_ROUNDS):
        best = min(runs, key=lambda r: r.loss)
        x = balanced(model, best.x)
        noise = [HOP_NOISE[k % len(HOP_NOISE)] for k in range(count)]
        hops = [Start(HOP, x + s * rng.standard_normal(model.size)) for s in noise]
        search = {"jobs": jobs, "scale": _room(x), "ask": ask}
        new = run_searches(model, sparsity, importance, hops, evaluations=SCREEN[1], **search)
        new = _continued(model, sparsity, importance, new, max(1, count // 3), EVALUATIONS, **search)
        runs = runs + new
        if min(r.loss for r in new) >= best.loss * (1 - REACHED):
            break
    return runs


def free_optimum(
    n: int,
    m: int,
    sparsity,
    importance: Sequence,
    *,
    starts: int = 64,
    seed: int = 0,
    trained_starts: int = TRAINED,
    x0: Sequence[np.ndarray | Start] = (),
    samples: int = 1_000_000,
    certificate: bool = True,
    jobs: int = 1,
    pattern: Sequence[bool] | None = None,
    finalists: int = FINALISTS,
    widenings: int = WIDENINGS,
    hops: int = HOPS,
    ask: Callable | None = None,
) -> FreeOptimum:
    """The best free ``n`` x ``m`` model found at ``S = sparsity`` and these importances.

    ``starts`` searches in all (more only if ``x0`` holds more): up to half of them the
    structured ones (:func:`numeric.free.starts.structured`, monosemantic first), then
    ``trained_starts`` trained models (seeds ``0 ..``), the given points ``x0`` (flat
    vectors, say the neighbours' optima in a sweep, or :class:`numeric.free.starts.Start`),
    and seeded random points for the rest. ``samples`` Monte Carlo samples check the loss
    (0: none); ``certificate=False`` skips the certificate (an atlas certifies only what it
    prints). ``jobs`` joblib workers run the searches; the result does not depend on it.
    ``pattern`` (one flag per entry of ``W1``, ``W2``, ``b``) leaves only the marked entries
    free (:class:`numeric.free.model.FreeModel`).
    ``finalists`` searches go on after the screening; ``hops`` searches per round of basin
    hopping from the best (:func:`_hops`, not counted among the starts), whose valley is then
    followed for up to ``widenings`` blocks (:func:`_growth`).
    ``ask`` sends the batched engine's evaluations to a :func:`numeric.engines.lockstep.lockstep`
    of many points (:func:`numeric.free.search.run_searches`); ``jobs`` is then ignored.
    """
    model = FreeModel(n, m, None if pattern is None else tuple(bool(v) for v in pattern))
    S = float(number(sparsity, "S"))
    if not 0 <= S <= 1:
        raise SuperlossError(f"S must be in [0, 1], got {S:g}")
    if len(importance) != n:
        raise SuperlossError(f"{len(importance)} importances given for {n} features")
    importance = tuple(float(v) for v in checked_importances(list(importance), [str(i) for i in range(n)]))
    if starts < 1 or samples < 0 or samples == 1:
        raise SuperlossError("starts must be at least 1, and samples 0 (no check) or at least 2")
    rng = np.random.default_rng(seed)
    # The given points (a neighbour's optimum in a sweep) all run to the cap: near an optimum
    # already, their early loss at a new point does not rank them. Starts given as such (models
    # trained at the point, say) are screened as other starts are: their early loss does.
    given = [s if isinstance(s, Start) else Start(GIVEN, s, screened=False) for s in x0]
    given = [replace(s, x=model.join(*model.split(s.x))) for s in given]
    # A structured start's exact zeros make it a saddle that a gradient search cannot leave
    # (a weight that is zero on both sides of a product has no gradient): a little seeded noise.
    chosen = [
        replace(s, x=s.x + NOISE * rng.standard_normal(model.size))
        for s in structured(model, importance)[: max(1, starts // 2)]
    ]
    chosen += trained(model, S, importance, range(min(trained_starts, max(0, starts - len(chosen)))))
    chosen += given
    chosen += random_points(model, max(0, starts - len(chosen)), rng)
    chosen = [replace(s, x=balanced(model, s.x)) for s in chosen]
    always = [k for k, s in enumerate(chosen) if not s.screened]

    zero = _zero(model, S, importance)
    search = {"jobs": jobs, "ask": ask}
    runs = run_searches(model, S, importance, chosen, evaluations=SCREEN[0], **search)
    for keep, cap in ((max(2 * finalists, len(runs) // 4), SCREEN[1]), (finalists, EVALUATIONS)):
        # An exact fit cannot be improved on: no more stages, no widening.
        if min(r.loss for r in runs) <= zero:
            break
        runs = _continued(model, S, importance, runs, keep, cap, always, **search)
    exact = min(r.loss for r in runs) <= zero
    if hops and not exact:
        runs = _hops(model, S, importance, runs, hops, rng, ask, jobs)
    return _finish(model, S, importance, runs, 0 if exact else widenings, certificate, samples, seed, ask)


def _finish(model, S, importance, runs, widenings, certificate, samples, seed, ask) -> FreeOptimum:
    """The result of the searches ``runs``: the best widened, canonical, certified and described."""
    zero = _zero(model, S, importance)
    best = min(runs, key=lambda r: r.loss)
    if best.loss <= zero or not widenings:
        growth = Growth(((1.0, best.loss, _largest_gain(model, best.x)),), False)
    else:
        growth, best = _growth(model, S, importance, best, widenings, ask)
    C, x = _canonical_point(model, best.x)
    loss = engine(model, S, importance)(x)[0]
    cert = certify(model, S, importance, x, samples=samples, seed=seed) if certificate else None
    return FreeOptimum(
        model.n,
        model.m,
        S,
        importance,
        float(loss),
        C,
        _starts(runs),
        _hits(runs, zero),
        _by_kind(runs),
        growth,
        cert,
        describe(*C.weights()),
        detect(*C.weights()),
        x,
        runs,
    )


def with_run(result: FreeOptimum, run: Run, *, widenings: int = WIDENINGS, ask: Callable | None = None) -> FreeOptimum:
    """``result`` with one more search, ``run`` (from a neighbour's optimum in a sweep, say),
    among its runs: where it is lower (by more than :data:`REACHED`), its point is widened,
    put in canonical form and described as :func:`free_optimum` does (no certificate)."""
    model = FreeModel(result.n, result.m)
    runs = [*result.runs, run]
    if run.loss < result.loss * (1 - REACHED):
        return _finish(model, result.sparsity, result.importance, runs, widenings, False, 0, 0, ask)
    hits = _hits(runs, _zero(model, result.sparsity, result.importance))
    return replace(result, starts=_starts(runs), hits=hits, by_kind=_by_kind(runs), runs=runs)


def _hits(runs: list[Run], zero: float) -> int:
    """How many starts (runs other than hops) reached the best search (within :data:`REACHED`,
    relative, before its widening)."""
    best = min(r.loss for r in runs)
    return sum(r.loss <= best * (1 + REACHED) + zero for r in runs if r.start.kind != HOP)


def _starts(runs: list[Run]) -> int:
    return sum(r.start.kind != HOP for r in runs)


def _by_kind(runs: list[Run]) -> dict[str, float]:
    """The best loss each kind of start reached."""
    out: dict[str, float] = {}
    for r in runs:
        out[r.start.kind] = min(out.get(r.start.kind, np.inf), r.loss)
    return out
