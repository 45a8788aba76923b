"""Exact integration of one loss term over its cells.

A *term* is ``E[I_i (y_i - y'_i)^2 | pattern A]``: output ``i``, with exactly the
features ``A`` active (uniform on the cube) among those ``y_i`` can see. On every
cell the residual ``l = y_i - y'_i`` is affine, and for an affine ``l`` on a
d-simplex with vertices ``v_0..v_d`` and volume ``V``

    integral of l^2 = V / ((d+1)(d+2)) * ((sum_k l(v_k))^2 + sum_k l(v_k)^2),

exact in any field. The same code runs on fractions (numeric weights) and on
elements of a SymPy fraction field (symbolic weights): the geometry is decided
once at a witness point, the arithmetic is done in the field.

>>> from fractions import Fraction as F
>>> simplex_square_integral(F(1, 2), [F(0), F(1), F(1)])   # (x+y)^2 on the unit triangle
Fraction(1, 4)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from math import factorial

from sympy.polys.fields import FracElement

from .regions import Cell, Geometry, Plane, rank


def solve(rows: Sequence[Sequence], rhs: Sequence):
    """Solve the square system ``rows x = rhs`` over an exact field (Gauss-Jordan)."""
    n = len(rows)
    aug = [list(r) + [b] for r, b in zip(rows, rhs, strict=True)]
    for c in range(n):
        pivot = next(i for i in range(c, n) if aug[i][c])
        aug[c], aug[pivot] = aug[pivot], aug[c]
        inv = 1 / aug[c][c]
        aug[c] = [x * inv for x in aug[c]]
        for i in range(n):
            if i != c and aug[i][c]:
                f = aug[i][c]
                aug[i] = [x - f * y for x, y in zip(aug[i], aug[c], strict=True)]
    return [aug[i][n] for i in range(n)]


def det(rows: Sequence[Sequence]):
    """Determinant over an exact field, by fraction-free (Bareiss) elimination. Rational
    functions (SymPy's ``FracElement``) are brought over one denominator per row first, so
    that every division is exact in the polynomial ring and only the result is cancelled
    (one gcd instead of one per step); a number type with its own ``determinant``
    (:mod:`analytic.algebraic`) is handed its matrix."""
    a = [list(r) for r in rows]
    if not a:
        return 1
    own = getattr(a[0][0], "determinant", None)
    if own is not None:
        return own(a)
    if all(isinstance(x, FracElement) for row in a for x in row):
        field = a[0][0].field
        numerators, denominator = [], field.ring.one
        for row in a:
            common = field.ring.one
            for x in row:
                common = common.lcm(x.denom)
            numerators.append([x.numer * common.exquo(x.denom) for x in row])
            denominator *= common
        return field.new(_bareiss(numerators, exact=lambda x, y: x.exquo(y)), denominator)
    return _bareiss(a, exact=lambda x, y: x / y)


def _bareiss(a: list[list], exact) -> object:
    """The determinant of ``a`` (changed in place) by Bareiss's elimination, whose every
    division ``exact(x, y)`` leaves no remainder."""
    n = len(a)
    sign, prev = 1, 1
    for k in range(n - 1):
        pivot = next((i for i in range(k, n) if a[i][k]), None)
        if pivot is None:
            return a[0][0] * 0
        if pivot != k:
            a[k], a[pivot] = a[pivot], a[k]
            sign = -sign
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                a[i][j] = a[i][j] * a[k][k] - a[i][k] * a[k][j]
                if k:
                    a[i][j] = exact(a[i][j], prev)
        prev = a[k][k]
    return sign * a[n - 1][n - 1]


def simplex_square_integral(volume, values: Sequence):
    """Integral of ``l^2`` over a simplex of the given volume, ``l`` affine with
    the given values at its ``d + 1`` vertices."""
    d = len(values) - 1
    total = sum(values[1:], values[0])
    squares = sum((v * v for v in values[1:]), values[0] * values[0])
    return volume * (total * total + squares) / ((d + 1) * (d + 2))


@dataclass
class TermPlanes:
    """The hyperplanes and residuals of term ``(i, A)`` for weights of any number type.

    ``W1, W2, b1, b2`` are nested lists of field elements; ``A`` lists the active
    features, which are the coordinates of the cube; ``feeds`` the neurons that
    write to ``y_i``.
    """

    W1: list
    W2: list
    b1: list
    b2: list
    i: int
    A: tuple[int, ...]
    hidden: str
    output: str
    target: str
    one: object
    low: object
    high: object
    #: Neurons writing to ``y_i``: decided on the weights as written (a symbol
    #: that is zero at the witness still feeds ``y_i`` everywhere else).
    feeds: tuple[int, ...] = ()

    def hidden_plane(self, j: int):
        return [self.W1[j][k] for k in self.A], self.b1[j]

    def abs_plane(self):
        return [self.one if k == self.i else self.one * 0 for k in self.A], self.one * 0

    def output_plane(self, on: Sequence[int]):
        """Pre-activation of ``y_i`` when exactly the hidden neurons ``on`` fire."""
        zero = self.one * 0
        a = [zero] * len(self.A)
        c = self.b2[self.i]
        for j in on:
            w = self.W2[self.i][j]
            hj, cj = self.hidden_plane(j)
            a = [x + w * y for x, y in zip(a, hj, strict=True)]
            c = c + w * cj
        return a, c

    def plane(self, key):
        """Coefficients ``(a, c)`` of the plane called ``key``."""
        kind = key[0]
        if kind == "low":
            return [self.one * int(k == key[1]) for k in range(len(self.A))], -self.low
        if kind == "high":
            return [-self.one * int(k == key[1]) for k in range(len(self.A))], self.high
        if kind == "hidden":
            return self.hidden_plane(key[1])
        if kind == "abs":
            return self.abs_plane()
        return self.output_plane(key[1])

    def residual(self, cell: Cell):
        """``l = y_i - y'_i`` on ``cell`` as coefficients ``(a, c)``."""
        zero = self.one * 0
        signs = dict(cell.signs)
        if self.i in self.A:
            sign = signs.get(("abs",), 1) if self.target == "abs" else 1
            a = [self.one * sign if k == self.i else zero for k in self.A]
        else:
            a = [zero] * len(self.A)
        c = zero
        out = signs.get(("output", self.firing(cell)), 1)
        if out > 0:
            za, zc = self.output_plane(self.firing(cell))
            a = [x - y for x, y in zip(a, za, strict=True)]
            c = c - zc
        return a, c

    def firing(self, cell: Cell) -> tuple[int, ...]:
        """Hidden neurons of ``y_i`` that fire on ``cell``."""
        if self.hidden == "linear":
            return tuple(self.feeds)
        signs = dict(cell.signs)
        return tuple(j for j in self.feeds if signs.get(("hidden", j), 0) > 0)


def cells_of_term(witness: TermPlanes) -> tuple[Geometry, list[Cell]]:
    """Cut the cube of term ``(i, A)`` into its cells at the witness weights.

    Order: hidden ReLUs, then ``|x_i|``, then the output ReLU (whose plane
    depends on which hidden neurons fire).
    """
    geo = Geometry(len(witness.A), witness.low, witness.high)
    cells = [geo.cube()]

    def split(cells: list[Cell], key_of: Callable[[Cell], object]) -> list[Cell]:
        out = []
        for cell in cells:
            key = key_of(cell)
            a, c = witness.plane(key)
            for part in geo.cut(cell, Plane(key, tuple(a), c)):
                if part is not None:
                    out.append(part)
        return out

    if witness.hidden == "relu":
        for j in witness.feeds:
            cells = split(cells, lambda cell, j=j: ("hidden", j))
    if witness.target == "abs" and witness.i in witness.A:
        cells = split(cells, lambda cell: ("abs",))
    if witness.output == "relu":
        cells = split(cells, lambda cell: ("output", witness.firing(cell)))
    return geo, cells


def independent_planes(geo: Geometry, vertex: int) -> tuple:
    """``d`` planes through ``vertex`` with independent normals, taken greedily
    in the order the planes were registered (so the choice is deterministic)."""
    chosen, normals = [], []
    for bit, key in enumerate(geo.keys):
        if geo.tight[vertex] >> bit & 1:
            trial = normals + [geo.planes[key].a]
            if rank(trial) == len(trial):
                chosen.append(key)
                normals = trial
                if len(chosen) == geo.d:
                    break
    return tuple(chosen)


def integrate_cells(geo: Geometry, cells: list[Cell], planes: TermPlanes, coords: Callable[[int], list]):
    """Sum over the cells of the integral of ``l^2``, in the number type of ``planes``.

    ``coords(v)`` gives vertex ``v`` in that number type; orientation signs come
    from the witness coordinates in ``geo``.
    """
    d = geo.d
    total = planes.one * 0
    scale = Fraction(1, factorial(d))
    for cell in cells:
        a, c = planes.residual(cell)
        values = {}
        for simplex in geo.triangulate(cell):
            pts = [coords(v) for v in simplex]
            edges = [[x - y for x, y in zip(p, pts[0], strict=True)] for p in pts[1:]]
            witness_edges = [
                [x - y for x, y in zip(geo.points[v], geo.points[simplex[0]], strict=True)] for v in simplex[1:]
            ]
            orientation = 1 if det(witness_edges) > 0 else -1
            volume = det(edges) * (orientation * scale) if d else planes.one
            for v, p in zip(simplex, pts, strict=True):
                if v not in values:
                    values[v] = sum((x * y for x, y in zip(a, p, strict=True)), c)
            total = total + simplex_square_integral(volume, [values[v] for v in simplex])
    return total
