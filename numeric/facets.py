"""Which of a regime's conditions bound it, and which follow from those.

A regime's conditions hold exactly on it, but many are implied by others.
:func:`bounding` sorts them for printing: those a segment from the regime's own point
leaves the regime through first (each checked exactly, in rationals, at a point just
across), those a nonnegative combination of these and of squares proves, and the rest, which no
segment crossed alone. :func:`cross` looks for a point across one condition along any
path (SLSQP from the regime's own point), for tests that cross every condition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp
from scipy.optimize import linprog, minimize

from analytic import Loss
from analytic.algebraic import RealField, generators
from analytic.regime import Regime


def _exact_point(values: np.ndarray, symbols) -> dict:
    return {s: sp.Rational(Fraction(float(v)).limit_denominator(10**6)) for s, v in zip(symbols, values, strict=True)}


def cross(regime: Regime, factor: tuple, point: dict, spread: float = 3.0):
    """``(point, alone)``: a rational point where ``factor`` (a ``(polynomial,
    sign)`` of ``regime``) has flipped sign; if ``alone``, every other factor keeps
    its sign there. When no such point is found (the condition looks implied by
    the others) the point is along the steepest descent of the factor, just past
    its zero; ``(None, False)`` if the search finds no point across it at all.

    Minimises ``sign * factor`` subject to the other conditions (SLSQP, from the
    regime's own point, within ``spread`` times each weight's size).
    """
    symbols = sorted(point, key=lambda s: s.name)
    theta0 = np.array([float(point[s]) for s in symbols])
    f, sign = factor
    others = [(g, s) for g, s in regime.factors if (g, s) != factor]
    target = sp.lambdify([symbols], sign * f, "numpy")
    target_grad = sp.lambdify([symbols], [sign * sp.diff(f, s) for s in symbols], "numpy")
    constraints = [
        {
            "type": "ineq",
            "fun": sp.lambdify([symbols], s * g - 1e-4, "numpy"),
            "jac": sp.lambdify([symbols], [s * sp.diff(g, x) for x in symbols], "numpy"),
        }
        for g, s in others
    ]
    scale = np.abs(theta0) + 0.1
    bounds = list(zip(theta0 - spread * scale, theta0 + spread * scale, strict=True))
    # Stop as soon as the factor is slightly negative: a point just across.
    objective = lambda th: max(target(th), -1e-3)  # noqa: E731
    result = minimize(
        objective,
        theta0,
        jac=lambda th: np.array(target_grad(th), dtype=float),
        method="SLSQP",
        bounds=bounds,
        constraints=constraints,
        options={"maxiter": 500, "ftol": 1e-12},
    )
    candidate = _exact_point(result.x, symbols)
    if (sign * f).subs(candidate) < 0 and all(s * g.subs(candidate) > 0 for g, s in others):
        return candidate, True
    # Implied by the others: cross it together with them, along the steepest
    # descent of the factor or, if that never reaches its zero, a random direction.
    rng = np.random.default_rng(0)
    directions = [-np.array(target_grad(theta0), dtype=float)] + [rng.normal(size=len(symbols)) for _ in range(50)]
    for direction in directions:
        direction = direction * scale / (np.linalg.norm(direction) + 1e-300)
        for t in np.geomspace(1e-3, 20, 200):
            if target(theta0 + t * direction) < 0:
                candidate = _exact_point(theta0 + t * direction, symbols)
                if (sign * f).subs(candidate) < 0:
                    return candidate, False
    return None, False


#: Rays per factor aimed at it (each sliding along the conditions it meets first), and random ones.
AIMED = 4
RANDOM = 100
#: Steps along a ray, and how far it goes in units of each weight's size (|w| + 0.1).
STEPS = 300
REACH = 3.0


@dataclass(frozen=True)
class Bounds:
    """A regime's conditions sorted three ways (:func:`bounding`). ``bounding``: those a segment from
    the witness leaves the regime through first, each with the rational point just across it where
    it alone fails (checked exactly). ``implied``: those that are a nonnegative combination of the
    bounding ones, of squares of the symbols and of a constant, each with that combination
    (``{"conditions": {name: c}, "squares": {symbol: d}, "constant": e}``, checked exactly: it
    holds wherever they do). ``hidden``: the others, kept out of sight only because no segment
    crossed them alone."""

    bounding: tuple
    implied: tuple
    hidden: tuple

    @property
    def conditions(self) -> list:
        return [c for c, _ in self.bounding]

    @property
    def summary(self) -> str:
        return (
            f"{len(self.implied)} more are implied by them (a nonnegative combination of them and of squares, "
            "kept in the JSON); "
            f"{len(self.hidden)} are not shown only because no segment from the point crossed them alone"
        )

    def to_dict(self) -> dict:
        return {
            "bounding": [
                {"condition": str(c), "across": {s.name: str(v) for s, v in p.items()}} for c, p in self.bounding
            ],
            "implied": [
                {
                    "condition": str(c),
                    "combination": {
                        "conditions": {k: str(v) for k, v in w["conditions"].items()},
                        "squares": {str(k**2): str(v) for k, v in w["squares"].items()},
                        "constant": str(w["constant"]),
                    },
                }
                for c, w in self.implied
            ],
            "hidden": [str(c) for c in self.hidden],
        }


def bounding(loss: Loss, seed: int = 0) -> Bounds:
    """The conditions of ``loss``'s regime that bound it, those proved implied by them, and the rest.

    A condition bounds the regime when a segment from the witness point leaves the regime through
    it first while all others still hold: segments aimed at each condition (sliding along any
    condition met first) and seeded random ones are followed numerically, and each crossing is
    checked exactly at a rational point just past it, where that condition alone fails (which
    proves that the others do not imply it). A condition is implied when linear
    programming writes it as a nonnegative combination of the bounding ones, of squares of the
    symbols and of a constant, the combination then solved for exactly in the coefficients' field
    and checked as an identity of polynomials.
    """
    factors = sorted(loss.regime.factors, key=lambda fs: sp.default_sort_key(fs[0]))
    symbols = sorted(loss.witness, key=lambda s: s.name)
    if not factors:
        return Bounds((), (), ())
    signed = [s * f for f, s in factors]
    values = sp.lambdify([symbols], signed, "numpy")
    gradients = sp.lambdify([symbols], [[sp.diff(g, x) for x in symbols] for g in signed], "numpy")
    polys = [sp.Poly(g, *symbols) for g in signed]
    w = np.array([float(loss.witness[s]) for s in symbols])
    scale = np.abs(w) + 0.1
    steps = np.geomspace(1e-5, REACH, STEPS)
    rng = np.random.default_rng(seed)
    across: dict[int, dict] = {}

    def shoot(d: np.ndarray) -> tuple[int, float, float] | None:
        """The factor a segment along ``d`` crosses first, and the step before and at its crossing."""
        v = np.broadcast_to(
            np.array(values((w[None, :] + steps[:, None] * d[None, :]).T), dtype=float).T, (STEPS, len(polys))
        )
        crossed = v <= 0
        if not crossed.any():
            return None
        first = np.where(crossed.any(axis=0), np.argmax(crossed, axis=0), STEPS)
        k = int(np.argmin(first))
        return k, (steps[first[k] - 1] if first[k] else 0.0), steps[first[k]]

    def check(k: int, lo: float, hi: float, d: np.ndarray) -> None:
        """Record factor ``k`` as bounding if it alone fails, exactly, just past its crossing along ``d``
        (bisected between ``lo`` and ``hi``)."""
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if values(w + mid * d)[k] > 0 else (lo, mid)
        t = hi
        for past in (1e-9, 1e-7, 1e-5):
            point = [sp.Rational(Fraction(float(v)).limit_denominator(10**12)) for v in w + t * (1 + past) * d]
            failing = [j for j, p in enumerate(polys) if p.eval(tuple(point)) <= 0]
            if failing == [k]:
                across[k] = dict(zip(symbols, point, strict=True))
                return

    directions = []
    at_witness = np.array(gradients(w), dtype=float).reshape(len(polys), len(symbols))
    for k in range(len(polys)):
        aim = -at_witness[k] * scale
        directions += [
            (k, aim / (np.linalg.norm(aim) or 1) + 0.3 * rng.normal(size=len(w)) * (n > 0)) for n in range(AIMED)
        ]
    directions += [(None, rng.normal(size=len(w))) for _ in range(RANDOM)]
    for target, u in directions:
        if target is not None and target in across:
            continue
        for _ in range(8 if target is not None else 1):
            d = u * scale / (np.linalg.norm(u) or 1)
            hit = shoot(d)
            if hit is None:
                break
            k, lo, t = hit
            if k not in across:
                check(k, lo, t, d)
            if target is None or k == target:
                break
            # Slide along the condition met first: drop the part of u that would cross it.
            g = np.array(gradients(w + t * d), dtype=float).reshape(len(polys), len(symbols))[k] * scale
            if not g @ g > 0:
                break
            u = u - min(u @ g, 0.0) * g / (g @ g) + 0.05 * rng.normal(size=len(w))
    shown = sorted(across)
    implied, hidden = [], []
    for k in range(len(polys)):
        if k in across:
            continue
        combination = _combination(polys[k], [polys[j] for j in shown])
        if combination is None:
            hidden.append(Regime.condition(factors[k]))
        else:
            named = {str(Regime.condition(factors[shown[j]])): c for j, c in combination["conditions"].items()}
            implied.append((Regime.condition(factors[k]), {**combination, "conditions": named}))
    return Bounds(tuple((Regime.condition(factors[k]), across[k]) for k in shown), tuple(implied), tuple(hidden))


def _combination(target: sp.Poly, basis: list[sp.Poly]) -> dict | None:
    """Numbers ``c_j >= 0``, ``d_s >= 0`` and ``constant >= 0`` with ``target == sum_j c_j basis[j]
    + sum_s d_s s**2 + constant`` exactly, not all of ``c`` and ``constant`` zero (so ``target > 0``
    wherever every ``basis[j] > 0``); ``None`` if linear programming finds none.

    The multipliers are found in floats, then solved for exactly on the columns the solution uses,
    in the coefficients' own field (rationals, or the real field of their roots, so a multiplier
    such as ``(5 - sqrt(5))/4`` is proved as it is), and their signs decided exactly.
    """
    symbols = target.gens
    squares = [sp.Poly(s**2, *symbols) for s in symbols]
    one = sp.Poly(1, *symbols)
    columns = [*basis, *squares, one]
    monomials = sorted({m for p in [target, *columns] for m in p.monoms()})
    index = {m: i for i, m in enumerate(monomials)}

    def vector(p: sp.Poly) -> list:
        v = [sp.S.Zero] * len(monomials)
        for m, c in p.terms():
            v[index[m]] = c
        return v

    A = [vector(p) for p in columns]
    b = vector(target)
    found = linprog(
        np.zeros(len(columns)),
        A_eq=np.array(A, dtype=float).T,
        b_eq=np.array(b, dtype=float),
        bounds=(0, None),
        method="highs",
    )
    if found.status != 0:
        return None
    used = [j for j, x in enumerate(found.x) if x > 1e-12]
    exact = _number_type([c for column in [b, *A] for c in column])
    solution = _solve([[exact(A[j][i]) for j in used] for i in range(len(monomials))], [exact(c) for c in b])
    if solution is None or any(c < 0 for c in solution):
        return None
    c = dict(zip(used, solution, strict=True))
    if not any(c.get(j, 0) > 0 for j in [*range(len(basis)), len(columns) - 1]):
        return None
    value = lambda x: x.to_sympy() if hasattr(x, "to_sympy") else sp.Rational(x.numerator, x.denominator)  # noqa: E731
    return {
        "conditions": {j: value(c[j]) for j in range(len(basis)) if j in c},
        "squares": {symbols[k]: value(c[len(basis) + k]) for k in range(len(symbols)) if len(basis) + k in c},
        "constant": value(c.get(len(columns) - 1, Fraction(0))),
    }


def _number_type(numbers: list) -> Callable:
    """Exact numbers for the SymPy numbers ``numbers``: Fractions if all are rational, else
    elements of the real field their roots generate."""
    gens = generators(numbers)
    if not gens:
        return lambda x: Fraction(int(x.p), int(x.q))
    return RealField.of(gens)


def _solve(rows: list[list], rhs: list) -> list | None:
    """The unique exact solution of the linear system ``rows x = rhs`` (more equations than
    unknowns allowed), by Gauss-Jordan elimination; ``None`` if it has none or more than one."""
    n = len(rows[0]) if rows else 0
    augmented = [[*row, r] for row, r in zip(rows, rhs, strict=True)]
    pivots = []
    for col in range(n):
        pivot = next((i for i in range(len(pivots), len(augmented)) if augmented[i][col] != 0), None)
        if pivot is None:
            return None
        r = len(pivots)
        augmented[r], augmented[pivot] = augmented[pivot], augmented[r]
        lead = augmented[r][col]
        augmented[r] = [x / lead for x in augmented[r]]
        for i in range(len(augmented)):
            if i != r and augmented[i][col] != 0:
                factor = augmented[i][col]
                augmented[i] = [x - factor * y for x, y in zip(augmented[i], augmented[r], strict=True)]
        pivots.append(col)
    if any(row[-1] != 0 for row in augmented[n:]):
        return None
    return [augmented[i][-1] for i in range(n)]
