"""What the commands share in reading their arguments: the parser whose usage errors are one line, the parsers of
``NAME=VALUE``, ``NAME=LOW:HIGH`` and exact numbers, and the check of an output file before any work is done."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import sympy as sp

from analytic import SuperlossError
from analytic.expression import parse_expression
from analytic.symbols import check_name


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2."""

    def error(self, message: str):
        raise SuperlossError(f"{message} (see '{self.prog} --help')")


def parse_assignments(items: Sequence[str] | None, what: str = "--at") -> dict[sp.Symbol, sp.Expr]:
    """``["w_a=2", "S=0.9"]`` -> ``{w_a: 2, S: 9/10}``, values through the whitelist grammar.

    >>> parse_assignments(["w_a=2", "S=0.9"])
    {w_a: 2, S: 9/10}
    """
    out = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SuperlossError(f"{what} {item!r}: expected NAME=VALUE")
        symbol = _symbol(name.strip(), item, what)
        expr = parse_expression(value.strip(), what=f"{what} {name.strip()}")
        if not expr.is_number:
            raise SuperlossError(f"{what} {item!r}: the value must be a number")
        out[symbol] = expr
    return out


def _symbol(name: str, item: str, what: str) -> sp.Symbol:
    """The symbol a ``NAME=...`` item names; a constant's name (``pi``) is not one."""
    try:
        check_name(name)
    except SuperlossError as exc:
        raise SuperlossError(f"{what} name: {exc}") from None
    symbol = parse_expression(name, what=f"{what} name")
    if not isinstance(symbol, sp.Symbol):
        raise SuperlossError(f"{what} {item!r}: {name!r} is not a symbol name")
    return symbol


def parse_bounds(items: Sequence[str] | None) -> dict[sp.Symbol, tuple[sp.Expr, sp.Expr]]:
    """``["kappa=0:1000"]`` -> ``{kappa: (0, 1000)}``, ends through the whitelist grammar; the
    problem checks them (finite, low < high) as it checks every box.

    >>> parse_bounds(["kappa=0:1000"])
    {kappa: (0, 1000)}
    """
    out = {}
    for item in items or ():
        name, sep, box = item.partition("=")
        low, colon, high = box.partition(":")
        if not sep or not colon or not name.strip():
            raise SuperlossError(f"--bounds {item!r}: expected NAME=LOW:HIGH")
        symbol = _symbol(name.strip(), item, "--bounds")
        out[symbol] = tuple(parse_expression(v.strip(), what=f"--bounds {name.strip()}") for v in (low, high))
    return out


def parse_numbers(items: Sequence[str], what: str, low: float, high: float, closed_high: bool) -> list[sp.Rational]:
    """Numbers through the whitelist grammar, exact, each in ``[low, high)`` (or ``[low, high]``).

    >>> parse_numbers(["0.9", "1/3"], "--sparsity", 0, 1, closed_high=False)
    [9/10, 1/3]
    >>> parse_numbers(["1"], "--sparsity", 0, 1, closed_high=False)
    Traceback (most recent call last):
    analytic.errors.SuperlossError: --sparsity '1': must be a number in [0, 1)
    """
    out = []
    for item in items:
        value = parse_expression(item, what=what)
        inside = value.is_number and value.is_real and low <= value and (value <= high if closed_high else value < high)
        if not inside:
            raise SuperlossError(
                f"{what} {item!r}: must be a number in [{low:g}, {high:g}{']' if closed_high else ')'}"
            )
        out.append(sp.Rational(str(value)) if value.is_Float else sp.nsimplify(value))
    return out


def check_output_file(path: str | os.PathLike | None, option: str, stem: bool = False) -> None:
    """Check, before any work is done, that the file ``path`` given to ``option`` can be written: it has a name,
    is not a folder (unless it is a ``stem`` that names files beside it) and its folder exists. ``None`` (the
    option not given) passes.

    >>> check_output_file(None, "--json")
    >>> check_output_file("", "--json")
    Traceback (most recent call last):
    analytic.errors.SuperlossError: --json needs a file name
    >>> check_output_file("/nonexistent/dir/loss.json", "--json")
    Traceback (most recent call last):
    analytic.errors.SuperlossError: cannot write /nonexistent/dir/loss.json: folder /nonexistent/dir does not exist
    """
    if path is None:
        return
    if not Path(path).name:
        raise SuperlossError(f"{option} needs a file name")
    if Path(path).is_dir() and not stem:
        raise SuperlossError(f"cannot write {path}: it is a folder")
    if not Path(path).parent.is_dir():
        raise SuperlossError(f"cannot write {path}: folder {Path(path).parent} does not exist")
