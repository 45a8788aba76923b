"""Real algebraic numbers: exact arithmetic and exact signs in a real number field.

Weights such as ``sqrt(3)/2``, ``cos(2*pi/5) = (sqrt(5) - 1)/4`` or the nested
radical ``sqrt(10 + 2*sqrt(5))/4`` lie in a number field ``Q(theta)``: SymPy's
:class:`~sympy.polys.domains.AlgebraicField` does the arithmetic, on
polynomials in a primitive element ``theta`` reduced by its minimal polynomial,
so that a number is zero exactly when its representation is. What SymPy does not
give is the order of the reals, which the cells need (the sign of a plane at a
vertex). :class:`RealField` isolates ``theta`` between two rationals and decides
a sign by interval arithmetic over that interval, halving it until the value's
interval excludes zero. This ends, because a nonzero element is a nonzero real
number, and it is exact: no floating-point number decides anything.

>>> import sympy as sp
>>> field = RealField.of([sp.sqrt(2), sp.sqrt(3)])
>>> x = field(sp.sqrt(2) + sp.sqrt(3)) - field(sp.sqrt(6) + sp.Rational(7, 10))   # 3.14626... - 3.14949...
>>> x < 0, x * x == field(sp.expand((sp.sqrt(2) + sp.sqrt(3) - sp.sqrt(6) - sp.Rational(7, 10)) ** 2))
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache
from itertools import combinations

import sympy as sp
from sympy.polys.domains import AlgebraicField
from sympy.polys.polyerrors import CoercionFailed

from .errors import SuperlossError

__all__ = ["MAX_DEGREE", "Fractions", "Real", "RealField", "canonical", "generators"]

#: Largest degree of a field of weights. The 15-gon's field has degree 8 and takes
#: seconds to set up; arithmetic and factoring slow down with the degree.
MAX_DEGREE = 16


def generators(exprs: Iterable[sp.Expr]) -> list[sp.Expr]:
    """The irrational numbers of ``exprs`` (after expansion), as the roots that generate
    their field: ``[sqrt(5)]`` for ``w*(sqrt(5) - 1)/4``. Anything else that is not a
    rational function of the symbols is refused in one line.

    >>> from analytic.symbols import sym
    >>> generators([sym("w") * (sp.sqrt(5) - 1) / 4, sp.sqrt(2 + sp.sqrt(2))])
    [sqrt(2), sqrt(5), sqrt(sqrt(2) + 2)]
    """
    found = set()
    for expr in exprs:
        for node in sp.preorder_traversal(sp.expand(expr)):
            if isinstance(node, sp.Pow) and not node.exp.is_Integer:
                if not node.base.is_number or not node.exp.is_Rational:
                    raise SuperlossError(
                        f"{node} is not a rational function of the weights with real algebraic "
                        "coefficients (roots of numbers are allowed, roots of symbols are not)"
                    )
                if not node.base.is_positive:
                    raise SuperlossError(f"{node} is not real")
                found.add(node)
            elif isinstance(node, sp.Function) or (node.is_number and node.is_Atom and not node.is_Rational):
                raise SuperlossError(f"{node} is not a real algebraic number superloss can represent exactly")
    return sorted(found, key=sp.default_sort_key)


class _NumberField(AlgebraicField):
    """SymPy's algebraic field with its gcd answered directly. The inherited one asks for
    the field's ring, which raises an error whose message prints the field, on every
    operation of a fraction field over it (half the time of a closed form, before
    :class:`Fractions`). The answer is the same: a field's gcd is 1."""

    def gcd(self, a, b):
        return self.one

    def quo(self, a, b):
        """``a / b``, with ``1 / b`` remembered: the fraction field divides by the same
        coefficients over and over, and each inverse costs an extended Euclid."""
        if b == self.one:
            return a
        key = tuple(b.to_list())
        inverses = self.__dict__.setdefault("_inverses", {})
        if key not in inverses:
            if len(inverses) > 100_000:
                inverses.clear()
            inverses[key] = self.one / b
        return a * inverses[key]

    exquo = quo


class RealField:
    """A real number field ``Q(theta)`` with ``theta`` isolated between two rationals.

    Make one with :meth:`of` (cached, so that equal generators share the
    field); call it on a SymPy number of the field to get a :class:`Real`.
    """

    def __init__(self, domain):
        self.domain = domain
        minpoly = sp.Poly(domain.ext.minpoly)
        self.degree = minpoly.degree()
        self._minpoly = [Fraction(int(c.p), int(c.q)) for c in minpoly.all_coeffs()]
        approx = sp.N(domain.ext.as_expr(), 50)
        inside = [(a, b) for (a, b), _ in minpoly.intervals() if sp.Rational(a) <= approx <= sp.Rational(b)]
        if len(inside) != 1:  # SymPy's intervals isolate the real roots; a root is in exactly one
            raise AssertionError(f"cannot isolate {domain.ext.as_expr()}")
        ((a, b),) = inside
        self._low, self._high = Fraction(int(a.p), int(a.q)), Fraction(int(b.p), int(b.q))
        if self._low == self._high:
            raise AssertionError("a primitive element of degree above 1 is irrational")
        self._refine(Fraction(1, 2**64))
        self.one = Real(self, domain.one)
        self.zero = Real(self, domain.zero)

    @staticmethod
    @lru_cache(maxsize=64)
    def _cached(gens: tuple) -> RealField:
        return RealField(_NumberField(sp.QQ, *gens))

    @classmethod
    def of(cls, gens: Iterable[sp.Expr]) -> RealField:
        """The field generated by the real algebraic numbers ``gens``, built one generator at a
        time: one already in the field is skipped (the pentagon's three roots span degree 4),
        and one that could take the degree past :data:`MAX_DEGREE` is refused before SymPy
        computes the larger field."""
        kept: list[sp.Expr] = []
        for g in sorted(set(gens), key=sp.default_sort_key):
            if kept:
                field = cls._cached(tuple(kept))
                if field.contains(g):
                    continue
                if field.degree * sp.minimal_polynomial(g).as_poly().degree() > MAX_DEGREE:
                    raise SuperlossError(
                        f"the weights' numbers {', '.join(map(str, [*kept, g]))} may span a field of "
                        f"degree above {MAX_DEGREE} (the field of {', '.join(map(str, kept))} has degree "
                        f"{field.degree})"
                    )
            kept.append(g)
        return cls._cached(tuple(kept))

    def contains(self, number: sp.Expr) -> bool:
        """Whether the real number ``number`` lies in this field."""
        try:
            self.domain.from_sympy(number)
        except CoercionFailed:
            return False
        return True

    @classmethod
    def over(cls, domain) -> RealField:
        """The field of a SymPy ``AlgebraicField``."""
        return cls._cached(tuple(domain.orig_ext))

    def __call__(self, value) -> Real:
        if isinstance(value, Real):
            return value
        if isinstance(value, Fraction | int) or self.domain.of_type(value):
            return Real(self, self._convert(value))
        return Real(self, self.domain.from_sympy(sp.sympify(value)))

    def _convert(self, value):
        """An int, Fraction or element of the field's domain as an element of the domain."""
        if isinstance(value, int):
            return self.domain.convert(value)
        if isinstance(value, Fraction):
            return self.domain.convert(sp.QQ(value.numerator, value.denominator))
        return value

    def _minpoly_at(self, x: Fraction) -> Fraction:
        total = Fraction(0)
        for c in self._minpoly:
            total = total * x + c
        return total

    def _refine(self, width: Fraction) -> None:
        """Halve the interval of ``theta`` until it is at most ``width`` wide: the minimal
        polynomial changes sign across its one root in the interval."""
        low_sign = self._minpoly_at(self._low) > 0
        while self._high - self._low > width:
            middle = (self._low + self._high) / 2
            value = self._minpoly_at(middle)
            if value == 0:  # cannot happen for an irreducible polynomial of degree > 1
                raise AssertionError("a rational root of an irreducible polynomial")
            if (value > 0) == low_sign:
                self._low = middle
            else:
                self._high = middle

    def sign(self, element) -> int:
        """The sign of an element of the domain, exactly."""
        if not element:
            return 0
        coeffs = [Fraction(int(c.numerator), int(c.denominator)) for c in element.to_list()]
        while True:
            low, high = Fraction(0), Fraction(0)
            for c in coeffs:  # Horner's rule on intervals: [low, high] * [tl, th] + c
                products = (low * self._low, low * self._high, high * self._low, high * self._high)
                low, high = min(products) + c, max(products) + c
            if low > 0:
                return 1
            if high < 0:
                return -1
            self._refine((self._high - self._low) / 2**16)

    def __repr__(self) -> str:
        return f"RealField({self.domain})"


class _Arithmetic:
    """``+ - * /`` for an exact number type that mixes with ints and Fractions. A subclass says
    how an operand becomes its representation (``_other``, ``None`` if it cannot), how a result
    becomes a number (``_new``) and how to divide (``_quotient``)."""

    __slots__ = ()

    def _binary(self, other, operation):
        o = self._other(other)
        return NotImplemented if o is None else self._new(operation(self._value(), o))

    def __add__(self, other):
        return self._binary(other, lambda x, y: x + y)

    __radd__ = __add__

    def __sub__(self, other):
        return self._binary(other, lambda x, y: x - y)

    def __rsub__(self, other):
        return self._binary(other, lambda x, y: y - x)

    def __mul__(self, other):
        return self._binary(other, lambda x, y: x * y)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._other(other)
        if o is None:
            return NotImplemented
        if not o:
            raise ZeroDivisionError("division by zero")
        return self._new(self._quotient(self._value(), o))

    def __rtruediv__(self, other):
        o = self._other(other)
        if o is None:
            return NotImplemented
        if not self._value():
            raise ZeroDivisionError("division by zero")
        return self._new(self._quotient(o, self._value()))


class Real(_Arithmetic):
    """An element of a :class:`RealField`, with exact ``+ - * /`` and exact comparisons.

    Ints and Fractions mix in freely, so the exact geometry of :mod:`analytic.regions`
    runs on these numbers as it does on fractions.
    """

    __slots__ = ("field", "rep")

    def __init__(self, field: RealField, rep):
        self.field = field
        self.rep = rep

    def _other(self, other):
        if isinstance(other, Real):
            return other.rep
        if isinstance(other, Fraction | int):
            return self.field._convert(other)
        return None

    def _value(self):
        return self.rep

    def _new(self, rep) -> Real:
        return Real(self.field, rep)

    def _quotient(self, a, b):
        return self.field.domain.quo(a, b)

    def __pow__(self, exponent: int):
        if not isinstance(exponent, int):
            return NotImplemented
        base = self if exponent >= 0 else 1 / self
        return Real(self.field, base.rep ** abs(exponent))

    def __neg__(self):
        return Real(self.field, -self.rep)

    def __pos__(self):
        return self

    def __abs__(self):
        return -self if self.sign() < 0 else self

    def __bool__(self) -> bool:
        return bool(self.rep)

    def sign(self) -> int:
        """``-1``, ``0`` or ``1``, exactly."""
        return self.field.sign(self.rep)

    def _compare(self, other) -> int:
        o = self._other(other)
        return NotImplemented if o is None else self.field.sign(self.rep - o)

    def __eq__(self, other) -> bool:
        o = self._other(other)
        return NotImplemented if o is None else self.rep == o

    def __lt__(self, other):
        c = self._compare(other)
        return c if c is NotImplemented else c < 0

    def __le__(self, other):
        c = self._compare(other)
        return c if c is NotImplemented else c <= 0

    def __gt__(self, other):
        c = self._compare(other)
        return c if c is NotImplemented else c > 0

    def __ge__(self, other):
        c = self._compare(other)
        return c if c is NotImplemented else c >= 0

    def __hash__(self) -> int:
        coeffs = self.rep.to_list()
        if len(coeffs) <= 1:  # a rational: hash as the Fraction it equals
            c = coeffs[0] if coeffs else 0
            return hash(Fraction(int(getattr(c, "numerator", c)), int(getattr(c, "denominator", 1))))
        return hash(tuple(coeffs))

    def __float__(self) -> float:
        return float(self.to_sympy())

    def to_sympy(self) -> sp.Expr:
        return self.field.domain.to_sympy(self.rep)

    def __repr__(self) -> str:
        return f"Real({self.to_sympy()})"


class Fractions:
    """The rational functions of some symbols with coefficients in a :class:`RealField`,
    computed fast: ``theta`` is one more variable over the rationals, and every result is
    reduced modulo its minimal polynomial.

    SymPy's own fraction field over an algebraic field cancels every result by a gcd over
    that field, which made a closed form some 30 times slower than over the rationals.
    Here the gcds are over the rationals. A result ``N / D`` is not canonical (``D`` may
    hold ``theta``), but it is zero exactly when ``N`` reduces to zero: ``D`` is nonzero in
    the field, and the minimal polynomial stays irreducible over the rational functions of
    the symbols. :meth:`exact` gives the canonical element of SymPy's field, once per value
    that is kept (a regime's factors, a term).

    >>> import sympy as sp
    >>> from analytic.symbols import sym
    >>> space = Fractions.of(RealField.of([sp.sqrt(5)]), (sym("L"),))
    >>> x = space.from_sympy(sp.sqrt(5) * sym("L")) / space.from_sympy(1 + sp.sqrt(5))
    >>> space.to_sympy(x * space.from_sympy(1 + sp.sqrt(5)) - space.from_sympy(sp.sqrt(5) * sym("L")))
    0
    >>> space.to_sympy(x)
    L*(5/4 - sqrt(5)/4)
    """

    @staticmethod
    @lru_cache(maxsize=64)
    def of(field: RealField, symbols: tuple[sp.Symbol, ...]) -> Fractions:
        """The space of ``field`` and ``symbols``, one object for equal arguments, so that
        elements kept from one derivation (cached terms) mix with those of the next."""
        return Fractions(field, symbols)

    def __init__(self, field: RealField, symbols: Iterable[sp.Symbol]):
        symbols = tuple(symbols)
        self.field = field
        self.exact_field = field.domain.frac_field(*symbols)
        self._theta = sp.Dummy("theta")
        self._space = sp.QQ.frac_field(self._theta, *symbols).field  # SymPy's FracField, not the domain
        self._exact = self.exact_field.field
        ring = self._space.ring
        minpoly = sp.Poly(field.domain.ext.minpoly).monic()
        self._modulus = ring.from_dict({(k,) + (0,) * len(symbols): c for (k,), c in minpoly.terms()})
        self._theta_powers = [field.domain.one]
        generator = field.domain.from_sympy(field.domain.ext.as_expr())
        for _ in range(field.degree):
            self._theta_powers.append(self._theta_powers[-1] * generator)
        self.one = _Element(self, self._space.one)
        self.zero = _Element(self, self._space.zero)

    def _reduce(self, f) -> _Element:
        """``f`` with its numerator reduced modulo the minimal polynomial and its denominator
        free of ``theta``: that form is canonical, so sums cancel as over the rationals."""
        numer, denom = self._rem(f.numer), self._rem(f.denom)
        if denom.degree() > 0:  # the degree in theta, the first generator
            cofactor, norm = self._inverse(denom)
            numer, denom = self._rem(numer * cofactor), norm
        if numer == f.numer and denom == f.denom:
            return _Element(self, f)
        return _Element(self, f.new(numer, denom))

    def det(self, rows: list[list[_Element]]) -> _Element:
        """The determinant of a square matrix of elements, with one division at the end: each
        row is brought over the least common multiple of its denominators (free of ``theta``),
        and the numerators' determinant is taken by cofactors, reduced as it goes."""
        ring = self._space.ring
        numerators, denominator = [], ring.one
        for row in rows:
            common = ring.one
            for x in row:
                common = common.lcm(x.f.denom)
            numerators.append([x.f.numer * common.exquo(x.f.denom) for x in row])
            denominator *= common
        minors = _minors(numerators, reduce=self._rem)
        columns = frozenset(range(len(rows)))
        value = sum(((-1) ** k * top * minors[columns - {k}] for k, top in enumerate(numerators[0])), ring.zero)
        return self._reduce(self._space.new(self._rem(value), denominator))

    def _rem(self, poly):
        """``poly`` modulo the minimal polynomial (a division only where ``theta`` reaches its degree)."""
        return poly.rem(self._modulus) if poly.degree() >= self.field.degree else poly

    def _inverse(self, poly):
        """``(U, D)`` with ``1 / poly = U / D`` and ``D`` free of ``theta``, without a division:
        column ``j`` of ``M`` holds the coordinates of ``poly theta^j`` in the basis ``1, theta,
        ..., theta^(d-1)`` (polynomials free of ``theta``); the inverse's coordinates solve
        ``M u = e_0``, so ``u = adj(M) e_0 / det(M)``, both by cofactors along the first row."""
        ring, degree = self._space.ring, self.field.degree
        theta = ring.gens[0]
        matrix = [[ring.zero] * degree for _ in range(degree)]
        for j in range(degree):
            for (k, *rest), c in self._rem(poly * theta**j).terms():
                matrix[k][j] += ring.from_dict({(0, *rest): c})
        minors = _minors(matrix)
        cofactors = [(-1) ** k * minors[frozenset(range(degree)) - {k}] for k in range(degree)]
        norm = sum((matrix[0][k] * c for k, c in enumerate(cofactors)), ring.zero)
        return sum((c * theta**k for k, c in enumerate(cofactors)), ring.zero), norm

    def convert(self, value) -> _Element:
        """A rational number (SymPy's or an int) as an element."""
        return _Element(self, self._space(value))

    def from_sympy(self, expr: sp.Expr) -> _Element:
        exact = self.exact_field.from_sympy(sp.expand(expr))
        numer, denom = (self._lift(p) for p in (exact.numer, exact.denom))
        return self._reduce(self._space.new(numer, denom))

    def _lift(self, poly):
        """A polynomial over the algebraic field as one in ``theta`` over the rationals."""
        out = {}
        for monom, coeff in poly.terms():
            for k, c in enumerate(reversed(coeff.to_list())):
                if c:
                    out[(k,) + monom] = out.get((k,) + monom, 0) + c
        return self._space.ring.from_dict(out)

    def _lower(self, poly):
        """A polynomial in ``theta`` over the rationals as one over the algebraic field."""
        ring = self._exact.ring
        out = ring.zero
        for (k, *monom), c in poly.terms():
            out += ring.from_dict({tuple(monom): self._theta_powers[k] * self.field.domain.convert(c)})
        return out

    def exact(self, x: _Element):
        """The element of SymPy's fraction field over the algebraic field, with a denominator
        free of irrational numbers, and monic. It is not cancelled over that field (its gcds cost minutes
        where these take milliseconds), only over the rationals with ``theta`` a variable, so a
        factor such as ``r - sqrt(5)`` of ``r**2 - 5`` may stay above and below the bar."""
        numer, denom = self._lower(x.f.numer), self._lower(x.f.denom)
        inverse = self.field.domain.one / denom.LC  # a monic denominator: no stray integers
        return self._exact.raw_new(numer * inverse, denom * inverse)

    def to_sympy(self, x: _Element) -> sp.Expr:
        return self.exact_field.to_sympy(self.exact(x))


def canonical(value):
    """``value`` as SymPy's fraction field holds it: an element of :class:`Fractions` becomes
    one over the algebraic field (:meth:`Fractions.exact`); anything else is returned as it is."""
    return value.space.exact(value) if isinstance(value, _Element) else value


def _minors(matrix: list[list], reduce=lambda x: x) -> dict[frozenset, object]:
    """The determinants of the last ``k`` rows of ``matrix`` restricted to every set of
    ``k`` columns (``k < d``), built up by cofactor expansion (no division): ``O(d 2^d)``
    products, each passed through ``reduce``."""
    size = len(matrix)
    minors: dict[frozenset, object] = {frozenset(): 1}
    for row in range(size - 1, 0, -1):
        depth = size - row
        new = {}
        for columns in combinations(range(size), depth):
            total = 0
            for position, c in enumerate(columns):
                rest = frozenset(columns[:position] + columns[position + 1 :])
                total = total + (-1) ** position * matrix[row][c] * minors[rest]
            new[frozenset(columns)] = reduce(total)
        minors.update(new)
    return minors


class _Element(_Arithmetic):
    """An element of :class:`Fractions`: a rational function reduced modulo the minimal polynomial."""

    __slots__ = ("f", "space")

    def __init__(self, space: Fractions, f):
        self.space = space
        self.f = f

    def _other(self, other):
        if isinstance(other, _Element):
            return other.f
        if isinstance(other, int):
            return self.space._space(other)
        if isinstance(other, Fraction):
            return self.space._space(sp.QQ(other.numerator, other.denominator))
        return None

    def _value(self):
        return self.f

    def _new(self, f) -> _Element:
        return self.space._reduce(f)

    def _quotient(self, a, b):
        return a / b

    def __neg__(self):
        return _Element(self.space, -self.f)

    @staticmethod
    def determinant(rows: list[list[_Element]]) -> _Element:
        """The determinant (:func:`analytic.integrate.det` hands square matrices of elements here)."""
        return rows[0][0].space.det(rows)

    def __bool__(self) -> bool:
        return bool(self.f)

    def __eq__(self, other) -> bool:
        o = self._other(other)
        return NotImplemented if o is None else not self.space._rem((self.f - o).numer)

    def __hash__(self) -> int:
        # Equal values may differ in representation; hashing the representation only makes
        # a set of values keep some duplicates, which is what callers (deduplication) allow.
        return hash(self.f)
