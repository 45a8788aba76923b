"""A small, safe parser for the expressions users write in spec files.

Text never reaches ``eval``, ``sympify`` or ``parse_expr``: a hand-written
tokenizer and a recursive-descent parser (one function per precedence level)
accept only this grammar ::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := ("+" | "-") unary | power
    power  := atom (("**" | "^") unary)?        # right-associative
    atom   := NUMBER | NAME | "pi" | FUNC "(" expr ")" | "(" expr ")"
    FUNC   := "sqrt" | "cos" | "sin"

so ``-x**2`` is ``-(x**2)`` and ``2**3**2`` is ``2**9``, as in Python, and
``^`` means the same as ``**``. Numbers are exact: ``0.1`` is ``1/10`` and
``1e-3`` is ``1/1000``. Names become real symbols through
:func:`analytic.symbols.sym`.

Every value is a real algebraic number or a rational function of the names
with such coefficients, so that the exact engine can hold it
(:mod:`analytic.algebraic`): ``cos`` and ``sin`` take ``r*pi`` with ``r``
rational and its denominator dividing 120, the angles whose cosine and sine
SymPy writes as real radicals (the regular k-gons' ``2*pi/k`` for every ``k``
dividing 240: 3, 4, 5, 6, 8, 10, 12, 15, 16, 20, 24, ...), and ``pi`` appears
nowhere else.

Every input is bounded so that nothing can hang the program: at most
1000 characters, 500 tokens and 50 levels of nesting; an exponent must be an
integer or a fraction with absolute value at most 64; a power whose
numbers would grow past about 2000 digits is refused, and so is a root
(``sqrt`` or a fractional power) of numbers past about 100 digits, which SymPy
would try to factor. Every problem raises
:class:`~analytic.errors.SuperlossError` with a one-line message that quotes
the input.

>>> parse_expression("w_a^2/4 - 0.5*sqrt(w_b)")
w_a**2/4 - sqrt(w_b)/2
>>> parse_expression("w_a + foo(2)", what="W1[0][1]")
Traceback (most recent call last):
...
analytic.errors.SuperlossError: W1[0][1] 'w_a + foo(2)': unknown function 'foo' (allowed: sqrt, cos, sin)
"""

from __future__ import annotations

import keyword
import math
import re
from typing import NamedTuple

import sympy as sp

from .errors import SuperlossError
from .symbols import sym

MAX_LENGTH = 1000
MAX_TOKENS = 500
MAX_DEPTH = 50
MAX_EXPONENT = 64
#: Largest number of decimal digits a power of numbers may produce.
MAX_DIGITS = 2000
#: Same, for the numbers under a root (a fractional power): SymPy factors them
#: to pull out perfect powers, which gets slow well before 2000 digits.
MAX_ROOT_DIGITS = 100

# sqrt(x) is x**(1/2), checked like any other power; cos and sin take rational multiples of pi.
_FUNCTIONS = ("sqrt", "cos", "sin")
_TRIGONOMETRIC = {"cos": sp.cos, "sin": sp.sin}
#: cos(r*pi) and sin(r*pi) are radicals in SymPy when the denominator of r divides this.
ANGLE_DENOMINATORS = 120

# re.ASCII: str.isdigit and \d would otherwise accept digits like '²' or '٣'.
_TOKEN = re.compile(
    r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^()])
    """,
    re.VERBOSE | re.ASCII,
)
_NUMBER = re.compile(r"(?P<int>\d*)(?:\.(?P<frac>\d*))?(?:[eE](?P<exp>[+-]?\d+))?", re.ASCII)


class _Token(NamedTuple):
    kind: str  # "number", "name", "op" or "end"
    text: str
    start: int
    end: int


def _quote(text: str) -> str:
    # repr() keeps the message on one line; long inputs are shortened.
    shown = text if len(text) <= 80 else text[:60] + "..."
    return repr(shown)


def _number(text: str) -> sp.Rational:
    """Exact value of a numeric literal: ``"0.25"`` -> ``1/4``."""
    match = _NUMBER.fullmatch(text)
    assert match is not None  # the tokenizer only yields well-formed numbers
    digits = match["int"] + (match["frac"] or "")
    exponent = int(match["exp"] or 0) - len(match["frac"] or "")
    if abs(exponent) > MAX_DIGITS:
        raise ValueError(f"number {text!r} is too large or too small (exponent at most {MAX_DIGITS})")
    mantissa = int(digits)
    if exponent >= 0:
        return sp.Integer(mantissa * 10**exponent)
    return sp.Rational(mantissa, 10**-exponent)


def _digits(expr: sp.Expr) -> float:
    """Rough number of decimal digits in the numbers of ``expr``.

    Summed over every rational number in it, so that it bounds the size of
    the coefficient a power of ``expr`` can produce when SymPy distributes the
    power over a product (``(2*x)**64`` becomes ``2**64 * x**64``).
    """
    return sum(math.log10(abs(r.p) + abs(r.q) + 1) for r in expr.atoms(sp.Rational))


def _finite(expr: sp.Expr) -> bool:
    return not expr.has(sp.zoo, sp.oo, -sp.oo, sp.nan)


class _Parser:
    def __init__(self, text: str, what: str):
        self.text = text
        self.what = what
        self.tokens = self._tokenize()
        self.index = 0
        self.depth = 0

    # -- errors --------------------------------------------------------------

    def error(self, problem: str) -> SuperlossError:
        return SuperlossError(f"{self.what} {_quote(self.text)}: {problem}")

    def describe(self, token: _Token) -> str:
        if token.kind == "end":
            return "end of input"
        return f"{token.text!r} at position {token.start}"

    # -- tokens --------------------------------------------------------------

    def _tokenize(self) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while position < len(self.text):
            match = _TOKEN.match(self.text, position)
            if match is None:
                char = self.text[position]
                raise self.error(
                    f"unexpected character {char!r} at position {position} "
                    "(allowed: numbers, names, + - * / ** ^, parentheses, sqrt, cos and sin)"
                )
            kind = match.lastgroup
            assert kind is not None
            if kind != "space":
                tokens.append(_Token(kind, match.group(), match.start(), match.end()))
                if len(tokens) > MAX_TOKENS:
                    raise self.error(f"more than {MAX_TOKENS} tokens")
            position = match.end()
        tokens.append(_Token("end", "", len(self.text), len(self.text)))
        return tokens

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def enter(self) -> None:
        # Counts parentheses, unary signs and exponents alike: each costs a few
        # Python stack frames, and the bound keeps us far from RecursionError.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels")

    # -- grammar -------------------------------------------------------------

    def parse(self) -> sp.Expr:
        expr = self.sum()
        if self.token.kind != "end":
            raise self.error(f"unexpected {self.describe(self.token)} (expected an operator or the end)")
        if expr.has(sp.I):
            raise self.error("the value is not real")
        if not _finite(expr):
            raise self.error("the value is infinite or undefined")
        if expr.has(sp.pi):
            raise self.error("pi is transcendental; it may appear only in angles, as in cos(2*pi/5)")
        return expr

    def sum(self) -> sp.Expr:
        """``term (("+" | "-") term)*``, left-associative."""
        terms = [self.product()]
        while self.at_op("+", "-"):
            sign = self.advance().text
            term = self.product()
            terms.append(term if sign == "+" else -term)
        return sp.Add(*terms)

    def product(self) -> sp.Expr:
        """``unary (("*" | "/") unary)*``, left-associative.

        The factors are multiplied once, at the end: SymPy merges numeric
        roots (``sqrt(2)*sqrt(3)`` is ``sqrt(6)``) and factors the merged
        number, so multiplying step by step would redo that work per factor.
        """
        factors = [self.unary()]
        while self.at_op("*", "/"):
            op = self.advance()
            factor = self.unary()
            if op.text == "/":
                if factor == 0 or (factor.is_number and factor.is_zero):
                    raise self.error(f"division by zero at position {op.start}")
                factor = sp.Pow(factor, -1)
            factors.append(factor)
        return sp.Mul(*factors)

    def unary(self) -> sp.Expr:
        if self.at_op("+", "-"):
            sign = self.advance().text
            self.enter()
            operand = self.unary()
            self.depth -= 1
            return -operand if sign == "-" else operand
        return self.power()

    def power(self) -> sp.Expr:
        base = self.atom()
        if not self.at_op("**", "^"):
            return base
        op = self.advance()
        self.enter()
        first = self.token
        exponent = self.unary()  # Python allows 2**-1, and recursion makes ** right-associative
        self.depth -= 1
        source = self.text[first.start : self.tokens[self.index - 1].end]
        if not isinstance(exponent, sp.Rational):
            raise self.error(
                f"exponent {source!r} is not a number (exponents must be integers or fractions, "
                f"at most {MAX_EXPONENT} in absolute value)"
            )
        if abs(exponent) > MAX_EXPONENT:
            raise self.error(f"exponent {source!r} is larger than {MAX_EXPONENT} in absolute value")
        return self.raise_to(base, exponent, f"power at position {op.start}")

    def raise_to(self, base: sp.Expr, exponent: sp.Rational, where: str) -> sp.Expr:
        """``base**exponent``, refusing results that are huge, infinite or not real."""
        # Estimate sizes before SymPy evaluates anything: that is what can hang.
        if abs(exponent) * _digits(base) > MAX_DIGITS:
            raise self.error(f"{where} would have more than {MAX_DIGITS} digits")
        if exponent.q != 1 and abs(exponent.p) * _digits(base) > MAX_ROOT_DIGITS:
            raise self.error(
                f"{where} is a root of numbers that are too large "
                f"(at most about {MAX_ROOT_DIGITS} digits, times the numerator of the exponent)"
            )
        if base == 0 and exponent < 0:
            raise self.error(f"division by zero: {where} raises zero to a negative power")
        if not exponent.is_integer and base.is_number and base.is_negative:
            # SymPy would return a complex principal root: (-8)**(1/3) = 2*(-1)**(1/3).
            raise self.error(f"{where} of a negative number is not real (it would be complex)")
        result = base**exponent
        if not _finite(result) or result.has(sp.I):
            raise self.error(f"{where} is not a finite real number")
        return result

    def atom(self) -> sp.Expr:
        token = self.advance()
        if token.kind == "number":
            try:
                return _number(token.text)
            except ValueError as exc:
                raise self.error(str(exc)) from None
        if token.kind == "name":
            return self.name(token)
        if token.kind == "op" and token.text == "(":
            self.enter()
            inner = self.sum()
            self.depth -= 1
            self.expect_close(token)
            return inner
        raise self.error(f"expected a number, a name or '(', found {self.describe(token)}")

    def name(self, token: _Token) -> sp.Expr:
        called = self.at_op("(")
        if token.text in _FUNCTIONS:
            if not called:
                raise self.error(f"{token.text!r} is a function: write {token.text}(...)")
            opening = self.advance()
            self.enter()
            argument = self.sum()
            self.depth -= 1
            self.expect_close(opening)
            where = f"{token.text} at position {token.start}"
            if token.text == "sqrt":
                return self.raise_to(argument, sp.Rational(1, 2), where)
            return self.angle(token.text, argument, where)
        if called:
            raise self.error(f"unknown function {token.text!r} (allowed: {', '.join(_FUNCTIONS)})")
        if token.text == "pi":
            return sp.pi
        if keyword.iskeyword(token.text):
            # Keywords would break generated code (and are never meant as weights).
            raise self.error(f"{token.text!r} is a Python keyword, not allowed as a name")
        try:
            return sym(token.text)
        except SuperlossError as exc:  # a name that reads as a constant
            raise self.error(str(exc)) from None

    def angle(self, name: str, argument: sp.Expr, where: str) -> sp.Expr:
        """``cos`` or ``sin`` of ``r*pi``, refused unless SymPy writes it as real radicals."""
        r = sp.expand(argument / sp.pi) if argument.has(sp.pi) else None
        if r is None or not r.is_Rational:
            raise self.error(
                f"{where}: the angle must be a rational multiple of pi, like {name}(2*pi/5) "
                "(other angles have no exact algebraic value here)"
            )
        if ANGLE_DENOMINATORS % r.q:
            raise self.error(
                f"{where}: {name}({r * sp.pi}) is not a real radical SymPy knows; the denominator of the "
                f"multiple of pi must divide {ANGLE_DENOMINATORS} (the k-gons for k dividing 240)"
            )
        return _TRIGONOMETRIC[name](r * sp.pi)

    def expect_close(self, opening: _Token) -> None:
        if not self.at_op(")"):
            raise self.error(f"'(' at position {opening.start} is not closed: found {self.describe(self.token)}")
        self.advance()


def parse_expression(text: str, *, what: str = "expression") -> sp.Expr:
    """Parse ``text`` into an exact real SymPy expression, safely.

    ``what`` names the input in error messages (``"W1[0][1]"``, ``"law.sparsity"``).

    >>> parse_expression("-x**2 + 1e-3")
    1/1000 - x**2
    >>> parse_expression("2^3^2")
    512
    """
    if not isinstance(text, str):
        raise SuperlossError(f"{what} {text!r}: expected a string expression")
    if len(text) > MAX_LENGTH:
        raise SuperlossError(f"{what} {_quote(text)}: longer than {MAX_LENGTH} characters")
    return _Parser(text, what).parse()
