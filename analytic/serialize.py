"""SymPy expressions as JSON trees, and back, without parsing text as code.

A tree is a number, a name or an operation ::

    "3", "-2/5"                      exact rationals
    "w_a"                            a real symbol (:func:`analytic.symbols.sym`)
    ["+", t, t, ...], ["*", t, ...]  sums and products
    ["^", base, exponent]            powers (``sqrt(x)`` is ``["^", "x", "1/2"]``)
    ["float", "-3", -2, 53]          a float, mantissa times 2 to the exponent, with its precision

Reading a tree (:func:`from_tree`) builds the expression from these pieces only, the symbolic
parts unevaluated (so that it is the expression written, term for term):
nothing reaches ``eval`` or ``sympify``, names are checked as the spec grammar checks them, and
the size, the nesting and the digits a power could reach are bounded, so that a file cannot
hang the program. Machine-written
formulas are far past the spec grammar's 1000 characters (the motif's loss is 15,700),
which is why they are stored as trees and not as text.

>>> from analytic.symbols import sym
>>> w = sym("w")
>>> tree = to_tree(w**2 / 6 - w / 3 + sp.Rational(1, 3))
>>> from_tree(tree) == w**2 / 6 - w / 3 + sp.Rational(1, 3)
True
"""

from __future__ import annotations

import keyword
import math
import re

import sympy as sp

from .errors import SuperlossError
from .expression import _FUNCTIONS, MAX_EXPONENT, MAX_ROOT_DIGITS
from .symbols import sym

__all__ = ["MAX_NODES", "from_tree", "to_tree"]

#: The most nodes a tree may have, and the deepest nesting.
MAX_NODES = 1_000_000
MAX_DEPTH = 200
#: The most decimal digits of a rational's numerator or denominator, and of a float's text.
MAX_DIGITS = 2000

_RATIONAL = re.compile(r"-?\d+(?:/\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_INTEGER = re.compile(r"-?\d+", re.ASCII)
_OPERATIONS = {"+": sp.Add, "*": sp.Mul}
#: The largest binary exponent of a float.
MAX_FLOAT_EXPONENT = 100_000


def to_tree(expr) -> object:
    """``expr`` (rationals, floats, real symbols, sums, products and powers) as a JSON tree."""
    expr = sp.sympify(expr)
    if expr.is_Rational:
        return str(expr)
    if expr.is_Float:
        sign, mantissa, exponent, _ = expr._mpf_
        return ["float", str(-mantissa if sign else mantissa), int(exponent), int(expr._prec)]
    if expr.is_Symbol:
        return expr.name
    if expr.is_Add or expr.is_Mul:
        return ["+" if expr.is_Add else "*", *(to_tree(a) for a in expr.args)]
    if expr.is_Pow:
        return ["^", to_tree(expr.base), to_tree(expr.exp)]
    raise SuperlossError(f"cannot store {type(expr).__name__} {expr} as a tree (numbers, symbols, +, *, ^ only)")


def from_tree(tree, *, what: str = "tree") -> sp.Expr:
    """The expression a tree (:func:`to_tree`) stands for. Refused, in one line naming ``what``:
    a malformed tree; one past :data:`MAX_NODES` nodes or :data:`MAX_DEPTH` levels; a name the
    spec grammar would not take; ``p/0``; a power with an exponent past the grammar's, of zero
    to a negative power, of a negative number to a fractional one, or whose numbers could grow
    past :data:`MAX_DIGITS` digits (a bound carried up the tree, as the grammar bounds powers).
    Numeric subtrees are evaluated under that bound; the others are kept as written."""
    nodes = 0

    def fail(problem: str) -> SuperlossError:
        return SuperlossError(f"{what}: {problem}")

    def build(node, depth: int) -> tuple[sp.Expr, float]:
        """The node's expression and a bound on the decimal digits of the numbers in it once expanded."""
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES or depth > MAX_DEPTH:
            raise fail(f"more than {MAX_NODES} nodes or {MAX_DEPTH} levels")
        if isinstance(node, str):
            if len(node) > 2 * MAX_DIGITS + 2:
                raise fail(f"a number or name of {len(node)} characters")
            if _RATIONAL.fullmatch(node):
                _, _, q = node.partition("/")
                if q and int(q) == 0:
                    raise fail(f"{node[:40]!r} divides by zero")
                return sp.Rational(node), float(len(node))
            if _NAME.fullmatch(node):
                if keyword.iskeyword(node) or node in _FUNCTIONS:
                    raise fail(f"{node!r} cannot name a symbol")
                return sym(node), 0.0
            raise fail(f"{node[:40]!r} is neither a rational number nor a name")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise fail(f"{str(node)[:40]!r} is not a number, a name or an operation list")
        op, args = node[0], node[1:]
        if op == "float":
            if len(args) != 3 or not isinstance(args[0], str) or not _INTEGER.fullmatch(args[0]):
                raise fail(f"a float must be ['float', mantissa, exponent, precision], got {str(node)[:40]!r}")
            mantissa, exponent, precision = args
            if not all(isinstance(v, int) for v in (exponent, precision)) or len(mantissa) > MAX_DIGITS:
                raise fail("a float's exponent and precision must be integers, its mantissa a short integer")
            if abs(exponent) > MAX_FLOAT_EXPONENT or not 1 <= precision <= 4 * MAX_DIGITS:
                raise fail(f"a float's exponent or precision is out of range ({exponent}, {precision})")
            return sp.Float(sp.Rational(int(mantissa)) * sp.Rational(2) ** exponent, precision=precision), 0.0
        if op in _OPERATIONS:
            if not args:
                raise fail(f"{op!r} needs at least one argument")
            built = [build(a, depth + 1) for a in args]
            # A sum of k numbers has at most log10(k) + 1 digits more than its longest; a product their sum.
            digits = max(d for _, d in built) + math.log10(len(built)) + 1 if op == "+" else sum(d for _, d in built)
            return _checked(op, [e for e, _ in built], digits, fail)
        if op == "^":
            if len(args) != 2:
                raise fail("'^' needs a base and an exponent")
            (base, digits), (exponent, _) = build(args[0], depth + 1), build(args[1], depth + 1)
            if not exponent.is_Rational or abs(exponent) > MAX_EXPONENT:
                raise fail(f"an exponent must be a rational of absolute value at most {MAX_EXPONENT}, got {exponent}")
            if base.is_number:
                if base.is_zero and exponent.is_negative:
                    raise fail("zero to a negative power")
                if base.is_negative and not exponent.is_integer:
                    raise fail(f"a negative number to the fractional power {exponent}")
                if not exponent.is_integer and digits > MAX_ROOT_DIGITS:
                    raise fail(f"a root of a number of about {digits:.0f} digits")
            return _checked(op, [base, exponent], abs(exponent.p) * max(digits, 1.0), fail)
        raise fail(f"unknown operation {op!r} (only +, *, ^ and float)")

    try:
        return build(tree, 0)[0]
    except RecursionError:
        raise fail("nested too deeply") from None


def _checked(op: str, args: list, digits: float, fail) -> tuple[sp.Expr, float]:
    """``op`` of ``args``: evaluated when they are all numbers, as written otherwise, once the
    bound on its numbers' digits is within :data:`MAX_DIGITS`."""
    if digits > MAX_DIGITS:
        raise fail(f"its numbers could grow past {MAX_DIGITS} digits")
    numeric = all(a.is_number for a in args)
    if op == "^":
        return sp.Pow(*args, evaluate=numeric), digits
    return _OPERATIONS[op](*args, evaluate=numeric), digits
