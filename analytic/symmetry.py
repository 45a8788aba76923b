"""Continuous symmetries of a circuit's parameters: directions the loss is flat along.

A ReLU (or linear) hidden unit is positively homogeneous, ``ReLU(c z) = c ReLU(z)`` for
``c > 0``: scaling its input row and bias by ``c`` and its output column by
``1 / c`` changes no output, so the loss is constant along that curve. Whether
the free parameters can follow such a curve depends on how the weights are
written in them (a fixed input weight of ``1`` pins the unit), so the symmetries
are found from the circuit's structure, not listed per preset: a tangent vector
``v`` over the parameters is a symmetry when the weights move along it exactly as
some combination of unit rescalings moves them,

    d(entry)/dv = sum_j a_j * (entry if in unit j's input row or bias,
                               -entry if in unit j's output column, else 0),

a homogeneous linear system in ``v`` and the ``a_j``. Solutions with every
``a_j = 0`` are directions that leave every weight unchanged (a redundant
parametrisation); they are symmetries too.

>>> from analytic.presets import asymmetric_inhibition
>>> [dict((s.name, e) for s, e in r.items()) for r in rescalings(asymmetric_inhibition())]
[{'gamma': -gamma, 'o_a': -o_a, 'o_b': -o_b, 'w_a': w_a, 'w_b': w_b}]
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .circuit import Circuit
from .errors import SuperlossError

__all__ = ["rescalings"]


def rescalings(circuit: Circuit, params: Sequence[sp.Symbol] | None = None) -> tuple[dict, ...]:
    """A basis of the symmetry directions over ``params`` (default: the circuit's
    symbols), each a vector field ``{param: expression}`` (zero components left out).

    ReLU and linear hidden units are both positively homogeneous; the other
    symmetries of a linear layer (any invertible mixing of its units) are not
    looked for.
    """
    params = tuple(circuit.symbols if params is None else params)
    unknown = [p for p in params if p not in circuit.symbols]
    if unknown:
        raise SuperlossError("rescalings: " + ", ".join(map(str, unknown)) + " are not weights of the circuit")
    units = range(circuit.m)
    v = sp.symbols(f"v0:{len(params)}")
    a = sp.symbols(f"a0:{circuit.m}")
    equations = []

    def scale(entry: sp.Expr, sign: int, unit: int | None) -> None:
        moved = sum((d * entry.diff(p) for d, p in zip(v, params, strict=True)), sp.S.Zero)
        target = sign * a[unit] * entry if unit in units else sp.S.Zero
        equations.append(sp.expand(moved - target))

    for j in range(circuit.m):
        for k in range(circuit.n):
            scale(circuit.W1[j, k], 1, j)
            scale(circuit.W2[k, j], -1, j)
        scale(circuit.b1[j], 1, j)
    for k in range(circuit.n):
        scale(circuit.b2[k], 1, None)
    equations = [e for e in equations if e != 0]
    unknowns = list(v) + [a[j] for j in units]
    if not equations:
        return ()
    solution = sp.linsolve(equations, unknowns)
    if not solution:
        return ()
    (general,) = solution
    free = sorted(set().union(*(e.free_symbols for e in general)) & set(unknowns), key=unknowns.index)
    basis = []
    for f in free:
        field = {
            p: sp.factor(e.subs({g: int(g == f) for g in free}))
            for p, e in zip(params, general[: len(params)], strict=True)
        }
        field = {p: e for p, e in field.items() if e != 0}
        # Polynomial fields: a denominator would make the direction undefined where it vanishes.
        common = sp.lcm([sp.denom(e) for e in field.values()]) if field else 1
        field = {p: sp.factor(e * common) for p, e in field.items()}
        if field:
            basis.append(dict(sorted(field.items(), key=lambda item: item[0].name)))
    return tuple(basis)
