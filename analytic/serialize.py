"""SymPy expressions as JSON trees, and back, without parsing text as code.

A tree is a number, a name or an operation ::

    "3", "-2/5"                      exact rationals
    "w_a"                            a real symbol (:func:`analytic.symbols.sym`)
    ["+", t, t, ...], ["*", t, ...]  sums and products
    ["^", base, exponent]            powers (``sqrt(x)`` is ``["^", "x", "1/2"]``)
    ["float", "-3", -2, 53]          a float, mantissa times 2 to the exponent, with its precision

Reading a tree (:func:`from_tree`) builds the expression from these pieces only, unevaluated
(so that it is the expression written, term for term, and no arithmetic can run long):
nothing reaches ``eval`` or ``sympify``, every name is checked as a spec's names are,
and the size and nesting are bounded, so a file cannot hang the program. Machine-written
formulas are far past the spec grammar's 1000 characters (the motif's loss is 15,700),
which is why they are stored as trees and not as text.

>>> from analytic.symbols import sym
>>> w = sym("w")
>>> tree = to_tree(w**2 / 6 - w / 3 + sp.Rational(1, 3))
>>> from_tree(tree) == w**2 / 6 - w / 3 + sp.Rational(1, 3)
True
"""

from __future__ import annotations

import re

import sympy as sp

from .errors import SuperlossError
from .expression import MAX_EXPONENT, MAX_ROOT_DIGITS
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
    """The expression a tree (:func:`to_tree`) stands for; a malformed tree, one past
    :data:`MAX_NODES` nodes or :data:`MAX_DEPTH` levels, or a power with an exponent past
    the spec grammar's, raises :class:`~analytic.errors.SuperlossError` naming ``what``."""
    nodes = 0

    def fail(problem: str) -> SuperlossError:
        return SuperlossError(f"{what}: {problem}")

    def build(node, depth: int) -> sp.Expr:
        nonlocal nodes
        nodes += 1
        if nodes > MAX_NODES or depth > MAX_DEPTH:
            raise fail(f"more than {MAX_NODES} nodes or {MAX_DEPTH} levels")
        if isinstance(node, str):
            if len(node) > 2 * MAX_DIGITS + 2:
                raise fail(f"a number or name of {len(node)} characters")
            if _RATIONAL.fullmatch(node):
                return sp.Rational(node)
            if _NAME.fullmatch(node):
                return sym(node)
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
            return sp.Float(sp.Rational(int(mantissa)) * sp.Rational(2) ** exponent, precision=precision)
        if op in _OPERATIONS:
            if not args:
                raise fail(f"{op!r} needs at least one argument")
            return _OPERATIONS[op](*(build(a, depth + 1) for a in args), evaluate=False)
        if op == "^":
            if len(args) != 2:
                raise fail("'^' needs a base and an exponent")
            base, exponent = build(args[0], depth + 1), build(args[1], depth + 1)
            if not exponent.is_Rational or abs(exponent) > MAX_EXPONENT:
                raise fail(f"an exponent must be a rational of absolute value at most {MAX_EXPONENT}, got {exponent}")
            if base.is_number and (
                abs(exponent.p) * len(str(base)) > MAX_DIGITS
                or not exponent.is_integer
                and len(str(base)) > MAX_ROOT_DIGITS
            ):
                raise fail(f"the power of {str(base)[:40]} to {exponent} has numbers too large")
            return sp.Pow(base, exponent, evaluate=False)
        raise fail(f"unknown operation {op!r} (only +, *, ^ and float)")

    return build(tree, 0)
