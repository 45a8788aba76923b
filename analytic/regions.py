"""Cells of a cube cut by hyperplanes, found at a witness point in exact arithmetic.

A *cell* is a convex polytope on which every ReLU and every ``|.|`` of one loss
term has a fixed sign. Cells are found by cutting the cube ``[low, high]^d`` by
one hyperplane after another; each vertex remembers the planes it lies on (its
*tight set*), which is all the symbolic layer needs to write the vertex as a
function of the weights, and all the triangulation needs to stay valid across a
whole regime.

Every cut records the sign of the cutting function at every vertex of the cell
it cuts: these *events* are the regime's key. As long as none of them changes
sign, every cell keeps its combinatorial type, so one formula holds.

>>> from fractions import Fraction as F
>>> g = Geometry(1, F(-1), F(1))
>>> pos, neg = g.cut(g.cube(), Plane("relu", (F(1),), F(0)))
>>> sorted(g.points[v] for v in pos.vertices)
[(Fraction(0, 1),), (Fraction(1, 1),)]
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import product

Number = Fraction


@dataclass(frozen=True)
class Plane:
    """The affine function ``g(x) = a . x + c``; its zero set is the hyperplane."""

    key: Hashable
    a: tuple[Number, ...]
    c: Number

    def __call__(self, x: Sequence[Number]) -> Number:
        return sum((ai * xi for ai, xi in zip(self.a, x, strict=True)), self.c)


@dataclass(frozen=True)
class Cell:
    """A convex polytope: its vertices (indices into ``Geometry.points``), the
    planes that bound it (a bit mask over ``Geometry.keys``) and the signs that
    define it, plane key -> +1, 0 (the function vanishes on the cell) or -1."""

    vertices: tuple[int, ...]
    planes: int
    signs: tuple[tuple[Hashable, int], ...] = ()


def rank(rows: Sequence[Sequence[Number]]) -> int:
    """Exact rank of a small matrix of fractions (Gaussian elimination)."""
    rows = [list(r) for r in rows]
    r = 0
    cols = len(rows[0]) if rows else 0
    for c in range(cols):
        pivot = next((i for i in range(r, len(rows)) if rows[i][c] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        for i in range(r + 1, len(rows)):
            if rows[i][c] != 0:
                f = rows[i][c] / rows[r][c]
                rows[i] = [x - f * y for x, y in zip(rows[i], rows[r], strict=True)]
        r += 1
    return r


@dataclass
class Geometry:
    """The points, planes and cut events of one loss term, in ``d`` dimensions."""

    d: int
    low: Number
    high: Number
    points: list[tuple[Number, ...]] = field(default_factory=list)
    tight: list[int] = field(default_factory=list)
    keys: list[Hashable] = field(default_factory=list)
    planes: dict[Hashable, Plane] = field(default_factory=dict)
    events: dict[tuple[Hashable, int], int] = field(default_factory=dict)
    _index: dict = field(default_factory=dict)
    _bits: dict = field(default_factory=dict)

    def bit(self, plane: Plane) -> int:
        """The bit of a plane in tight sets and cell masks (registering it)."""
        if plane.key not in self._bits:
            self._bits[plane.key] = 1 << len(self.keys)
            self.keys.append(plane.key)
            self.planes[plane.key] = plane
        return self._bits[plane.key]

    def point(self, x: tuple[Number, ...], tight: int) -> int:
        """Index of the point ``x``, adding it (or the planes it lies on) as needed."""
        i = self._index.get(x)
        if i is None:
            i = self._index[x] = len(self.points)
            self.points.append(x)
            self.tight.append(tight)
        else:
            self.tight[i] |= tight
        return i

    def cube(self) -> Cell:
        """The whole cube ``[low, high]^d`` as the first cell."""
        faces = []
        for k in range(self.d):
            unit = tuple(Fraction(int(i == k)) for i in range(self.d))
            faces.append(
                (
                    self.bit(Plane(("low", k), unit, -self.low)),
                    self.bit(Plane(("high", k), tuple(-u for u in unit), self.high)),
                )
            )
        vertices = []
        for corner in product((0, 1), repeat=self.d):
            x = tuple(self.high if c else self.low for c in corner)
            vertices.append(self.point(x, sum(faces[k][c] for k, c in enumerate(corner))))
        mask = sum(lo | hi for lo, hi in faces)
        return Cell(tuple(vertices), mask)

    def _adjacent(self, cell: Cell, u: int, v: int) -> bool:
        # Combinatorial test (double description method): u and v span an edge
        # iff no third vertex lies on every plane they share.
        common = self.tight[u] & self.tight[v] & cell.planes
        if common.bit_count() < self.d - 1:
            return False
        return not any(w != u and w != v and self.tight[w] & common == common for w in cell.vertices)

    def cut(self, cell: Cell, plane: Plane) -> tuple[Cell | None, Cell | None]:
        """Split ``cell`` by ``plane`` into its parts where ``g >= 0`` and ``g <= 0``.

        A part of zero volume is ``None``; a cell on which ``g`` vanishes
        identically is returned as the positive part with sign 0.
        """
        bit = self.bit(plane)
        value = {v: plane(self.points[v]) for v in cell.vertices}
        sign = {v: (x > 0) - (x < 0) for v, x in value.items()}
        for v, s in sign.items():
            self.events[(plane.key, v)] = s
            if s == 0:
                self.tight[v] |= bit
        pos = [v for v in cell.vertices if sign[v] > 0]
        neg = [v for v in cell.vertices if sign[v] < 0]
        zero = [v for v in cell.vertices if sign[v] == 0]
        planes = cell.planes | bit
        if not neg or not pos:
            s = 1 if pos else -1 if neg else 0
            part = Cell(cell.vertices, planes, cell.signs + ((plane.key, s),))
            return (part, None) if s >= 0 else (None, part)
        new = []
        for u in pos:
            for v in neg:
                if self._adjacent(cell, u, v):
                    t = value[u] / (value[u] - value[v])
                    x = tuple(a + t * (b - a) for a, b in zip(self.points[u], self.points[v], strict=True))
                    new.append(self.point(x, (self.tight[u] & self.tight[v] & cell.planes) | bit))
        rim = zero + new
        return (
            Cell(tuple(pos + rim), planes, cell.signs + ((plane.key, 1),)),
            Cell(tuple(neg + rim), planes, cell.signs + ((plane.key, -1),)),
        )

    def dimension(self, vertices: Sequence[int]) -> int:
        """Affine dimension of a set of vertices."""
        base = self.points[vertices[0]]
        return rank([[a - b for a, b in zip(self.points[v], base, strict=True)] for v in vertices[1:]])

    def triangulate(self, cell: Cell) -> list[tuple[int, ...]]:
        """A pulling triangulation of ``cell``: cone from its first vertex over the
        facets that miss it, recursively. It is defined by the tight sets alone,
        so it stays a triangulation wherever the cell keeps its combinatorial type."""
        memo: dict[tuple[int, ...], list[tuple[int, ...]]] = {}

        def pull(face: tuple[int, ...], dim: int) -> list[tuple[int, ...]]:
            if dim == 0:
                return [face[:1]]
            if face in memo:
                return memo[face]
            apex = face[0]
            facets = set()
            planes = cell.planes
            while planes:
                bit = planes & -planes
                planes ^= bit
                sub = tuple(v for v in face if self.tight[v] & bit)
                if (
                    sub
                    and apex not in sub
                    and len(sub) < len(face)
                    and sub not in facets
                    and self.dimension(sub) == dim - 1
                ):
                    facets.add(sub)
            out = [(apex,) + s for f in sorted(facets) for s in pull(f, dim - 1)]
            memo[face] = out
            return out

        return pull(tuple(sorted(cell.vertices)), self.d)
