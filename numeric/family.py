"""The motif family's global search, shared by the study and the phase diagram.

The family is the motif (:func:`analytic.presets.asymmetric_inhibition`) at one
``(S, I_b)``, searched over three variants with the batched exact engine
(:class:`numeric.engines.batch.BatchLoss`), each in the study's box
(:data:`numeric.motif.BOX`):

- ``full``: all ten weights;
- ``without``: the full motif at ``kappa = delta = gamma = 0`` (no inhibition;
  it contains the rider-dropped and symmetric variants);
- ``limit``: the other nine weights with ``kappa -> oo``, where the inhibitor
  switches the rider off. The rider's output is
  ``y'_b = ReLU(o_b n1 + ReLU(x_b) - kappa n2 + b_b)``, and ``kappa`` appears
  nowhere else, so ``y'_b -> 0`` wherever ``n2 > 0`` and is unchanged where
  ``n2 = 0``: the loss tends to a well-defined loss of the nine others (the
  errors are bounded, so the expectation converges too). Beyond the last regime
  change the loss is rational in ``kappa``, ``L_oo + c_1 / kappa + c_2 / kappa^2 + ...``;
  the searches run on the exact float engine at ``kappa = K_2`` (:data:`LIMIT_KAPPAS`),
  whose optimum is the limit's up to ``O(1/K_2)``, and the value at their end is the
  extrapolation ``(K_2 L(K_2) - K_1 L(K_1)) / (K_2 - K_1)``, which cancels the
  ``1/kappa`` term (about 1e-8 of the loss is left). A single larger ``kappa`` is no way out: the float engine
  loses its precision beyond about 1e5 (at some points by 4e-7 at ``kappa = 1e6``,
  and entirely at 1e8). The limit itself is the closed form
  :func:`limit_closed_form` (``sympy.limit`` of the regime's closed form), and
  the loss along growing ``kappa`` is taken from the regimes' exact closed forms.

The box stops ``kappa`` at 1000; where the limit's loss is lower than every
finite point found, the family's infimum is at ``kappa -> oo`` and is not
attained: :func:`optimum` reports it as the limit, with its closed form, and
the loss along growing ``kappa`` at the limit's other weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial

import numpy as np
import sympy as sp

from analytic import Problem, SparseUniform
from analytic.presets import CANONICAL, asymmetric_inhibition

from .engines.batch import BatchLoss, evaluate
from .engines.lockstep import lockstep
from .engines.montecarlo import MonteCarloResult, monte_carlo_loss
from .engines.regimes import RegimeLoss
from .motif import BOX, VARIANTS, I_b, S, classify, delta, kappa
from .optimize import ON_BOUND, SAME, local_search, random_starts

__all__ = [
    "ALONG",
    "DELTA_RELAXED",
    "LIMIT_KAPPAS",
    "VARIANT_PARAMS",
    "FamilyOptimum",
    "Limit",
    "best_variant",
    "embed",
    "evaluate_with_gradient",
    "limit_closed_form",
    "limit_values",
    "loss_along",
    "optimum",
    "restrict",
    "search",
    "searches",
    "starting_values",
    "variant_losses",
]

#: The ``kappa`` from which the limit ``kappa -> oo`` is extrapolated (the first two; the searches
#: run at the second), and the third that checks the extrapolation (:func:`limit_values`).
LIMIT_KAPPAS = (1e3, 1e4, 1e5)
#: The ``kappa`` values along which the loss is evaluated at the limit's other weights.
ALONG = tuple(10.0**k for k in range(3, 9))
#: ``delta``'s box when relaxed: the inhibitor may read the host more strongly than its own feature.
DELTA_RELAXED = (0.0, 100.0)

_NAMES = list(BOX)
#: The indices (into :data:`numeric.motif.BOX`) of the params each variant searches.
VARIANT_PARAMS = {
    "full": np.arange(len(BOX)),
    "without": np.array([k for k, p in enumerate(BOX) if p not in VARIANTS["no inhibition"]]),
    "limit": np.array([k for k, p in enumerate(BOX) if p != kappa]),
}
LOW, HIGH = np.array(list(BOX.values()), dtype=float).T
CANONICAL_POINT = np.array([float(CANONICAL[p]) for p in BOX])
_KAPPA, _DELTA = _NAMES.index(kappa), _NAMES.index(delta)


#: What each kind of question evaluates, as a weighted sum of engines (:func:`variant_losses`):
#: the searches of the limit see the loss at the larger ``kappa``; "limit value" is the
#: extrapolation from both, whose weights cancel the ``1/kappa`` term (the limit's params).
_K1, _K2, _ = LIMIT_KAPPAS
TERMS = {
    **{f"kappa = {k:g}": ((1.0, f"kappa = {k:g}"),) for k in LIMIT_KAPPAS},
    "full": ((1.0, "full"),),
    "without": ((1.0, "without"),),
    "limit": ((1.0, f"kappa = {_K2:g}"),),
    "limit value": ((-_K1 / (_K2 - _K1), f"kappa = {_K1:g}"), (_K2 / (_K2 - _K1), f"kappa = {_K2:g}")),
}


@cache
def variant_losses() -> dict[str, BatchLoss]:
    """The engines of :data:`TERMS` by name, each over its variant's params at any
    (S, I_b) (built once per process)."""
    full = asymmetric_inhibition()
    circuits = {
        "full": (full, "full"),
        "without": (full.subs(VARIANTS["no inhibition"]), "without"),
        **{f"kappa = {k:g}": (full.subs({kappa: sp.Integer(int(k))}), "limit") for k in LIMIT_KAPPAS},
    }
    return {
        name: BatchLoss(
            Problem(c, SparseUniform(S), [1, I_b, 1], free=[_NAMES[k] for k in VARIANT_PARAMS[v]], varying=[S, I_b])
        )
        for name, (c, v) in circuits.items()
    }


def embed(variant: str, x: np.ndarray) -> np.ndarray:
    """A variant's point as the ten weights of the motif (``kappa = inf`` for the limit)."""
    point = np.zeros(len(BOX))
    if variant == "limit":
        point[_KAPPA] = np.inf
    point[VARIANT_PARAMS[variant]] = x
    return point


def restrict(variant: str, point: np.ndarray) -> np.ndarray:
    """The variant's params at a point of the motif, clipped to the box: a start for its search."""
    index = VARIANT_PARAMS[variant]
    return np.clip(np.asarray(point, dtype=float)[index], LOW[index], HIGH[index])


def _answers(questions: list, gradient: bool) -> list:
    """``(value, gradient)`` at each ``(kind, params, S, I_b)`` (a kind of :data:`TERMS`), all in one batch."""
    mine = {v: [k for k, q in enumerate(questions) if q[0] == v] for v in TERMS}
    terms = [(weight, name, ks) for v, ks in mine.items() if ks for weight, name in TERMS[v]]
    parts = [
        (variant_losses()[name], [questions[k][1] for k in ks], [questions[k][2:4] for k in ks])
        for _, name, ks in terms
    ]
    values = [0.0] * len(questions)
    gradients: list = [0.0] * len(questions)
    for (weight, _, ks), (v, g) in zip(terms, evaluate(parts, gradient), strict=True):
        for n, k in enumerate(ks):
            values[k] += weight * float(v[n])
            if gradient:
                gradients[k] = gradients[k] + weight * g[n]
    return [(value, g if gradient else None) for value, g in zip(values, gradients, strict=True)]


#: The loss and its gradient at every question: what the searches in lockstep ask.
evaluate_with_gradient = partial(_answers, gradient=True)


def limit_values(questions: list[tuple]) -> list[float]:
    """The limit ``kappa -> oo`` at every ``(params, S, I_b)`` (the nine weights), extrapolated
    from the first two :data:`LIMIT_KAPPAS`; ``inf`` where the three losses do not fall as
    ``1/kappa`` (each step ten times smaller than the last, within 10%). There the regime is not
    yet the asymptotic one at these ``kappa`` (a small ``delta`` puts it beyond ``o_b w_a /
    delta``), the extrapolation means nothing, and the limit is not claimed."""
    at = [starting_values([(f"kappa = {k:g}", *q) for q in questions]) for k in LIMIT_KAPPAS]
    out = []
    for l1, l2, l3 in zip(*at, strict=True):
        falls = l1 - l2 > 0 and abs((l1 - l2) - 10 * (l2 - l3)) <= 0.1 * (l1 - l2)
        out.append((_K2 * l2 - _K1 * l1) / (_K2 - _K1) if falls else np.inf)
    return out


def starting_values(questions: list[tuple]) -> list[float]:
    """The loss at every ``(kind, params, S, I_b)`` (a kind of :data:`TERMS`: ``"limit value"``
    for the limit's extrapolated value), in one batch (no gradients)."""
    return [value for value, _ in _answers(questions, gradient=False)]


def search(ask, variant: str, sparsity: float, importance: float, x0: np.ndarray, high: np.ndarray | None = None):
    """L-BFGS-B over the variant's params from ``x0`` at one point, asking for its
    evaluations; ``high`` replaces the box's upper bounds (in the variant's params)."""
    index = VARIANT_PARAMS[variant]
    top = HIGH[index] if high is None else high
    return local_search(lambda x: ask((variant, x, sparsity, importance)), x0, LOW[index], top)


def searches(questions: list[tuple]) -> list:
    """A search from every ``(variant, params, S, I_b[, high])``, in lockstep."""
    return lockstep(
        [
            partial(search, variant=q[0], sparsity=q[2], importance=q[3], x0=q[1], high=q[4] if len(q) > 4 else None)
            for q in questions
        ],
        evaluate_with_gradient,
    )


def best_variant(found: dict[str, tuple[float, np.ndarray]]) -> str:
    """The variant whose ``(loss, params)`` in ``found`` is the family's best. The
    finite variants are nested, so ``without`` is taken only where it is lower than
    ``full``; the limit only where it is lower than both by more than
    :data:`numeric.optimize.SAME` (relative): an infimum at infinity must be a real gain."""
    finite = "without" if found["without"][0] < found["full"][0] else "full"
    limit = found.get("limit")
    return "limit" if limit is not None and limit_wins(limit[0], found[finite][0]) else finite


def limit_wins(limit_loss: float, finite_loss: float) -> bool:
    """Whether the limit ``kappa -> oo`` is the infimum: lower than the best finite
    point by more than :data:`numeric.optimize.SAME` (relative), a real gain."""
    return limit_loss < finite_loss * (1 - SAME)


#: The powers of ten of ``kappa`` at which the regime of the limit is looked for, in turn (it is
#: derived exactly, in rationals, so no size rounds).
_KAPPA_POWERS = (12, 24, 48, 96)
#: How far into the box (a fraction of the way to its middle) the point is moved to pick the limit's regime.
_NUDGE = sp.Rational(1, 10**9)


def _regimes(sparsity, importance) -> tuple[RegimeLoss, dict]:
    """The motif's regime-by-regime loss at ``(S, I_b)``, all ten weights free (no box), and ``{S, I_b}``."""
    fixed = {S: sp.Rational(str(sparsity)), I_b: sp.Rational(str(importance))}
    problem = Problem(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], free=list(BOX), fixed=fixed)
    return RegimeLoss(problem), fixed


def _inside(params: dict) -> dict:
    """``params`` exactly (rationals), moved a hair towards the middle of the box."""
    middle = {p: sp.Rational(float(lo + hi) / 2) for p, (lo, hi) in BOX.items()}
    return {p: sp.Rational(v) + _NUDGE * (middle[p] - sp.Rational(v)) for p, v in params.items()}


def _exact_value(expr: sp.Expr, params: dict, inside: dict) -> float:
    """``expr`` at ``params`` in exact arithmetic; where its formula is singular there
    (0/0 on a regime's degenerate boundary), the limit along the segment from
    ``inside``: the loss is continuous."""
    at = {p: sp.Rational(v) for p, v in params.items()}
    value = expr.subs(at)
    if not value.is_finite:
        t = sp.Dummy("t", positive=True)
        value = sp.limit(expr.subs({p: v + t * (inside[p] - v) for p, v in at.items()}), t, 0, "+")
    return float(value)


def limit_closed_form(sparsity, importance, params: dict) -> tuple[sp.Expr, float, bool]:
    """The loss as ``kappa -> oo`` near the nine other weights ``params``: its closed
    form (a SymPy expression of the nine, ``S`` and ``I_b`` put in), its value at
    ``params``, and whether the regime it comes from holds for every ``kappa``
    beyond some value (each factor that grows with ``kappa`` has the sign of its
    leading coefficient).

    The regime is picked a hair inside the box: on a bound it can be degenerate
    (``delta = 1`` puts the inhibitor's plane through a corner of the cube, and
    the formula is 0/0 there). The limit loss is continuous (the integrand is
    bounded and converges almost everywhere), so where the formula is singular at
    ``params`` its value is the limit along the segment from the nudged point."""
    f, fixed = _regimes(sparsity, importance)
    inside = _inside(params)

    def asymptotic_sign(factor: sp.Expr) -> int:
        # The sign as kappa -> oo: that of the highest power of kappa whose coefficient is not zero here.
        coefficients = [c.subs(inside) for c in sp.Poly(factor, kappa).all_coeffs()]
        return int(sp.sign(next((c for c in coefficients if c != 0), sp.S.Zero)))

    # A regime holds up to kappa -> oo when every factor keeps its sign there; where the
    # point is close to a boundary, the regime at a larger kappa may be another: try larger ones.
    for power in _KAPPA_POWERS:
        loss = f.regime_at([10.0**power if p == kappa else float(inside[p]) for p in BOX])
        factors = loss.regime.factors if loss.regime else ()
        holds = all(asymptotic_sign(factor) == sign for factor, sign in factors)
        if holds:
            break
    expr = loss.expr.subs(fixed)
    # Only terms with kappa need the limit; the others are kept as they are (shorter, and faster).
    terms = sp.Add.make_args(sp.expand(expr, deep=False))
    moving = sp.Add(*[t for t in terms if t.has(kappa)])
    limit = sp.Add(*[t for t in terms if not t.has(kappa)]) + sp.limit(moving, kappa, sp.oo)
    return limit, _exact_value(limit, params, inside), holds


def loss_along(sparsity, importance, params: dict, kappas: Sequence[float] = ALONG) -> tuple:
    """``(kappa, loss)`` at the nine other weights ``params`` for each of ``kappas``,
    each from the closed form of its regime in exact arithmetic (the float engine
    loses its precision at large ``kappa``)."""
    f, fixed = _regimes(sparsity, importance)
    out = []
    for k in kappas:
        point = {**params, kappa: k}
        expr = f.regime_at([point[p] for p in BOX]).expr.subs(fixed)
        out.append((k, _exact_value(expr, point, _inside(point))))
    return tuple(out)


@dataclass(frozen=True)
class Limit:
    """The family's loss as ``kappa -> oo`` at its best nine other weights.

    ``expr`` is its closed form (a SymPy expression of the nine, from the regime
    they lie in; ``regime_holds``: that regime holds for all large ``kappa``),
    ``loss`` its value at ``params``; ``searched`` the value the searches saw (the
    extrapolation from :data:`LIMIT_KAPPAS`). ``along`` is ``(kappa, loss)`` at the same nine
    weights for ``kappa`` in :data:`ALONG`; ``monte_carlo`` a sampled estimate at the
    largest of them.
    """

    params: dict
    loss: float
    expr: sp.Expr
    regime_holds: bool
    searched: float
    along: tuple
    monte_carlo: MonteCarloResult | None = None

    @property
    def falling(self) -> bool:
        """Whether the loss falls at every step along growing ``kappa``."""
        return all(b < a for (_, a), (_, b) in zip(self.along, self.along[1:], strict=False))

    @property
    def zscore(self) -> float | None:
        return None if self.monte_carlo is None else self.monte_carlo.zscore(self.loss)

    def to_dict(self) -> dict:
        mc = self.monte_carlo
        return {
            "kappa": "oo",
            "params": {p.name: v for p, v in self.params.items()},
            "loss": self.loss,
            "closed_form": str(self.expr),
            "regime_holds_for_large_kappa": self.regime_holds,
            "searched": {"extrapolated_from_kappa": list(LIMIT_KAPPAS), "loss": self.searched},
            "along": [{"kappa": k, "loss": v} for k, v in self.along],
            "falling": self.falling,
            "monte_carlo": None if mc is None else {"kappa": self.along[-1][0], **mc.to_dict(self.loss)},
        }


@dataclass(frozen=True)
class FamilyOptimum:
    """The motif family's best at one ``(S, I_b)``: the best finite point of the box
    (``finite``, ten weights, and ``finite_loss``), the limit ``kappa -> oo``
    (:class:`Limit`), and, beside the winner, the best with ``delta``'s box relaxed
    to :data:`DELTA_RELAXED` (``relaxed``, ten weights with ``kappa = inf`` for the
    limit, and ``relaxed_loss``)."""

    sparsity: float
    importance: float
    finite: dict
    finite_loss: float
    limit: Limit
    relaxed: dict
    relaxed_loss: float
    starts: int

    @property
    def relaxed_bounds(self) -> list[str]:
        """The weights on a bound of the box (``delta`` on its relaxed one) at the relaxed point."""
        box = {**BOX, delta: DELTA_RELAXED}
        return [
            p.name
            for p, v in self.relaxed.items()
            if p != kappa and any(abs(v - float(e)) <= ON_BOUND * float(box[p][1] - box[p][0]) for e in box[p])
        ]

    @property
    def at_infinity(self) -> bool:
        """Whether the infimum is the limit ``kappa -> oo`` (lower than every finite point found)."""
        return limit_wins(self.limit.loss, self.finite_loss)

    @property
    def loss(self) -> float:
        """The family's least loss: the limit's where the infimum is at infinity."""
        return self.limit.loss if self.at_infinity else self.finite_loss

    @property
    def params(self) -> dict:
        """The weights of the best (``kappa = inf`` for the limit)."""
        return {**self.limit.params, kappa: np.inf} if self.at_infinity else self.finite

    @property
    def structure(self) -> str:
        return classify(self.params)

    def __str__(self) -> str:
        def weights(params: dict) -> str:
            return ", ".join(f"{p.name} = {'oo' if np.isinf(v) else f'{v:.6g}'}" for p, v in params.items())

        lines = [
            f"S = {self.sparsity:g}, I_b = {self.importance:g}: {self.structure}, loss {self.loss:.10g}"
            + (" (the limit kappa -> oo, not attained)" if self.at_infinity else " (a point of the box)"),
            f"  best point of the box: loss {self.finite_loss:.10g} at {weights(self.finite)}",
            f"  kappa -> oo: loss {self.limit.loss:.10g} at {weights(self.limit.params)}; along kappa "
            + ", ".join(f"{k:.0e}: {v:.10g}" for k, v in self.limit.along)
            + (" (still falling)" if self.limit.falling else " (not falling at every step)"),
            f"  kappa -> oo with delta relaxed to [0, {DELTA_RELAXED[1]:g}]: loss {self.relaxed_loss:.10g} at "
            f"{weights(self.relaxed)}; on a bound: {', '.join(self.relaxed_bounds) or 'none'}",
        ]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "S": self.sparsity,
            "I_b": self.importance,
            "structure": self.structure,
            "loss": self.loss,
            "at_infinity": self.at_infinity,
            "kappa": "oo" if self.at_infinity else self.finite[kappa],
            "finite": {"params": {p.name: v for p, v in self.finite.items()}, "loss": self.finite_loss},
            "limit": self.limit.to_dict(),
            "delta_relaxed": {
                "delta_box": list(DELTA_RELAXED),
                "params": {p.name: ("oo" if np.isinf(v) else v) for p, v in self.relaxed.items()},
                "loss": self.relaxed_loss,
                "on_bounds": self.relaxed_bounds,
            },
            "starts": self.starts,
        }


def optimum(
    sparsity, importance, x0: Sequence = (), starts: int = 16, seed: int = 0, samples: int = 0
) -> FamilyOptimum:
    """The family's global search at one ``(S, I_b)``: every variant searched from
    the canonical point, from every point of ``x0`` (ten weights each, ``kappa =
    inf`` allowed: say, the neighbours' optima of a phase diagram) and from
    ``starts`` seeded random points, all in lockstep; then each variant again from
    the others' best (the limit from the best finite point's other weights, the
    full motif from the limit's with ``kappa`` at its bound). The limit's closed
    form is taken at its best, and the limit is searched again with ``delta``'s
    box relaxed. ``samples`` Monte Carlo samples check the limit at ``kappa = 1e8``
    (0: none)."""
    s, i = float(sp.Rational(str(sparsity))), float(sp.Rational(str(importance)))
    rng = np.random.default_rng(seed)
    points = [CANONICAL_POINT] + [np.asarray(x, dtype=float) for x in x0] + random_starts(LOW, HIGH, starts, rng)
    found: dict[str, tuple[float, np.ndarray]] = {v: (np.inf, None) for v in VARIANT_PARAMS}

    def run(questions: list[tuple]) -> None:
        for (v, *_), r in zip(questions, searches(questions), strict=True):
            if r.fun < found[v][0]:
                found[v] = (float(r.fun), r.x)

    run([(v, restrict(v, x), s, i) for x in points for v in VARIANT_PARAMS])
    run([(v, restrict(v, embed(u, found[u][1])), s, i) for u in VARIANT_PARAMS for v in VARIANT_PARAMS if u != v])

    finite = best_variant({**found, "limit": (np.inf, None)})
    nine = dict(zip([_NAMES[k] for k in VARIANT_PARAMS["limit"]], found["limit"][1].tolist(), strict=True))
    expr, exact, holds = limit_closed_form(sparsity, importance, nine)
    along = loss_along(sparsity, importance, nine)
    mc = None
    if samples:
        fixed = {S: sp.Rational(str(sparsity)), I_b: sp.Rational(str(importance))}
        point = {**nine, kappa: ALONG[-1]}
        problem = Problem(asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], fixed={**fixed, **point})
        mc = monte_carlo_loss(problem, samples=samples, seed=seed)
    (searched,) = starting_values([("limit value", found["limit"][1], s, i)])
    limit = Limit(nine, exact, expr, holds, searched, along, mc)

    high = HIGH[VARIANT_PARAMS["limit"]].copy()
    high[list(VARIANT_PARAMS["limit"]).index(_DELTA)] = DELTA_RELAXED[1]
    (relaxed,) = searches([("limit", found["limit"][1], s, i, high)])
    relaxed_nine = dict(zip(nine, relaxed.x.tolist(), strict=True))
    _, relaxed_loss, _ = limit_closed_form(sparsity, importance, relaxed_nine)
    return FamilyOptimum(
        s,
        i,
        dict(zip(BOX, embed(finite, found[finite][1]).tolist(), strict=True)),
        found[finite][0],
        limit,
        dict(zip(BOX, embed("limit", relaxed.x).tolist(), strict=True)),
        relaxed_loss,
        len(points),
    )
