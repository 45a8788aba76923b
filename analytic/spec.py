"""Spec files: a circuit, a feature law, importances and a default point, in TOML.

A spec names a preset from :data:`analytic.presets.PRESETS` or writes the
matrices out. Every expression string goes through
:func:`analytic.expression.parse_expression`, never through ``eval``. ::

    # top-level keys must come before the first [table]
    importance = ["1", "I_b", "1"]   # optional; or a table [importance] b = "I_b" (others 1)

    [circuit]
    preset = "asymmetric_inhibition" # a name from PRESETS ...
    args = { }                       # ... its keyword arguments, if any: n = 3 (at most 100), W = [["w", 1]]
    substitute = { kappa = 20 }      # optional: fix symbols everywhere (circuit, law, importance)
    # ... or, instead of preset/args: W1 = [["w", 0], [0, 1]], W2 = [...] (both required),
    # b1 = [...], b2 = [...], hidden = "relu" | "linear", output = "relu" | "linear",
    # target = "abs" | "identity", features = ["a", "b"]

    [law]
    kind = "sparse_uniform"          # or "one_hot" (which takes no sparsity)
    sparsity = "S"                   # number, expression, or a list with one per feature
    low = -1                         # optional; defaults -1, 1 (sparse_uniform) or 0, 1 (one_hot)
    high = 1

    [at]                             # optional default point: symbol = number or expression
    w_a = 2

    [bounds]                         # optional boxes for optimization: symbol = [low, high]
    w_a = [0, 10]

    [latex]                          # optional LaTeX names, stored as given
    w_a = 'w_{\\mathrm{host}}'

Wherever a value is expected, a TOML number or an expression string is
allowed. Numbers are exact: TOML integers become :class:`sympy.Integer`, and
TOML floats are read through their shortest decimal form (``repr``), so
``0.25`` is ``1/4`` and ``0.1`` is ``1/10``, not the nearest binary fraction.
Booleans, dates and non-finite floats (``nan``, ``inf``) are refused.
``substitute`` is simultaneous, and both it and ``[at]`` may only name symbols
that occur in the circuit, the law or the importances. Every problem raises
:class:`~analytic.errors.SuperlossError` with a one-line message that starts
with the file name.

>>> spec = parse_spec('[circuit]\\npreset = "symmetric_superposition"\\n'
...                   '[law]\\nkind = "sparse_uniform"\\nsparsity = 0.9')
>>> spec.law.sparsity, spec.importance, spec.circuit.n
(9/10, None, 3)
"""

from __future__ import annotations

import inspect
import math
import tomllib
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from os import PathLike
from typing import Any, NamedTuple

import sympy as sp

from .algebraic import RealField, generators
from .circuit import Circuit
from .errors import SuperlossError
from .expression import parse_expression
from .laws import LAWS, FeatureLaw
from .presets import PRESETS
from .problem import Problem
from .symbols import sym

TOP_KEYS = ("importance", "circuit", "law", "at", "bounds", "latex")
MATRIX_KEYS = ("W1", "W2", "b1", "b2", "hidden", "output", "target", "features")
CIRCUIT_KEYS = ("preset", "args", "substitute", *MATRIX_KEYS)
#: Largest integer a preset argument may be: ``monosemantic_abs(n)`` builds a
#: ``2n x n`` matrix, and a typo like ``n = 1000000`` should fail, not hang.
MAX_PRESET_INT = 100


@dataclass(frozen=True)
class Spec:
    """A loaded spec: what to compute the loss of, and where.

    ``importance`` is ``None`` when every feature has importance 1; ``at`` is
    the default point (possibly empty); ``bounds`` the box each weight is
    optimized in, where the spec gives one; ``names`` maps symbol names to LaTeX.
    """

    circuit: Circuit
    law: FeatureLaw
    importance: tuple[sp.Expr, ...] | None = None
    at: dict[sp.Symbol, sp.Expr] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    source: str = "<spec>"
    bounds: dict[sp.Symbol, tuple[sp.Expr, sp.Expr]] = field(default_factory=dict)

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of the circuit, law and importance, sorted by name."""
        return tuple(sorted(_free_symbols(self.circuit, self.law.symbols, self.importance), key=lambda s: s.name))


def load_spec(path: str | PathLike) -> Spec:
    """Read and check the spec file at ``path``: ``load_spec("motif.toml").circuit``."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
    except OSError as exc:
        raise SuperlossError(f"{source}: cannot read spec file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SuperlossError(f"{source}: spec file is not UTF-8 text (byte {exc.start})") from None
    return parse_spec(text, source)


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    """Parse spec text; ``source`` names it in error messages (usually the file name)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message ends with "(at line L, column C)".
        raise SuperlossError(f"{source}: TOML syntax error: {_one_line(str(exc))}") from None
    try:
        return _build(data, source)
    except SuperlossError as exc:
        raise SuperlossError(f"{source}: {_one_line(str(exc))}") from None


# -- helpers -------------------------------------------------------------------


def _one_line(message: str) -> str:
    return " ".join(line.strip() for line in message.splitlines() if line.strip())


@contextmanager
def _context(where: str):
    """Say which part of the spec a Circuit or law error comes from."""
    try:
        yield
    except SuperlossError as exc:
        raise SuperlossError(f"{where} {exc}") from None


def _check_keys(table: Mapping, allowed: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in allowed:
            hint = ""
            if key in TOP_KEYS:
                hint = f"; '{key}' belongs at the top of the file, before the first [table]"
            raise SuperlossError(f"unknown key '{key}' in {where} (allowed: {', '.join(allowed)}){hint}")


def _table(data: Mapping, key: str, *, required: bool) -> dict | None:
    if key not in data:
        if required:
            raise SuperlossError(f"missing [{key}] table")
        return None
    value = data[key]
    if not isinstance(value, dict):
        raise SuperlossError(f"'{key}' must be a table ([{key}]), got {type(value).__name__}")
    return value


def _string(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise SuperlossError(f"{what} must be a string, got {value!r}")
    return value


def _value(value: Any, what: str) -> sp.Expr:
    """A number or an expression string, exactly: ``0.25`` -> ``1/4``."""
    if isinstance(value, bool):  # bool is an int subclass: check it first
        raise SuperlossError(f"{what} is a boolean ({str(value).lower()}); expected a number or an expression string")
    if isinstance(value, int):
        return sp.Integer(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SuperlossError(f"{what} is {value}; numbers must be finite")
        exact = Fraction(repr(value))  # shortest decimal form, so 0.1 -> 1/10
        return sp.Rational(exact.numerator, exact.denominator)
    if isinstance(value, str):
        return parse_expression(value, what=what)
    raise SuperlossError(f"{what} is a {type(value).__name__} ({value!r}); expected a number or an expression string")


def _vector(value: Any, what: str) -> list[sp.Expr]:
    if not isinstance(value, list):
        raise SuperlossError(f"{what} must be a list of numbers or expression strings, got {value!r}")
    return [_value(v, f"{what}[{i}]") for i, v in enumerate(value)]


def _matrix(value: Any, what: str) -> list[list[sp.Expr]]:
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise SuperlossError(f'{what} must be a list of rows, like [[1, "w"], [0, 1]]')
    if len({len(row) for row in value}) > 1:
        raise SuperlossError(f"{what} has rows of different lengths: {[len(row) for row in value]}")
    return [[_value(v, f"{what}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(value)]


def _symbol_table(table: Mapping, what: str) -> dict[sp.Symbol, sp.Expr]:
    return {sym(name): _value(value, f"{what}.{name}") for name, value in table.items()}


def _free_symbols(circuit: Circuit, *expressions) -> set[sp.Symbol]:
    """Symbols of the circuit and of any number of expression lists (``None`` is empty)."""
    free = set(circuit.symbols)
    for group in expressions:
        for value in group or ():
            free |= value.free_symbols
    return free


def _check_named(values: Mapping[sp.Symbol, sp.Expr], free: set[sp.Symbol], what: str) -> None:
    for symbol in values:
        if symbol not in free:
            known = ", ".join(sorted(s.name for s in free)) or "none"
            raise SuperlossError(
                f"{what} names '{symbol.name}', which does not occur in the circuit, law or importance "
                f"(symbols: {known})"
            )


def _subs(expr: sp.Expr, values: Mapping) -> sp.Expr:
    # Simultaneous, so that {a = "b", b = 2} sets a to b, not to 2.
    return expr.subs(values, simultaneous=True) if values else expr


# -- the pieces of a spec -------------------------------------------------------


def _preset_arg(value: Any, what: str):
    """A preset argument: an int stays an int (``n = 3``), lists become matrices."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_PRESET_INT:
            raise SuperlossError(f"{what} = {value} is too large (at most {MAX_PRESET_INT})")
        return value
    if isinstance(value, list):
        if value and all(isinstance(row, list) for row in value):
            return _matrix(value, what)
        return _vector(value, what)
    number = _value(value, what)
    # 1e4 or "5000" are integers too: the same cap, or a preset could take forever.
    if number.is_Integer and abs(number) > MAX_PRESET_INT:
        raise SuperlossError(f"{what} = {number} is too large (at most {MAX_PRESET_INT})")
    return int(number) if number.is_Integer else number


def _circuit(table: dict) -> Circuit:
    _check_keys(table, CIRCUIT_KEYS, "[circuit]")
    if "preset" in table:
        explicit = [key for key in MATRIX_KEYS if key in table]
        if explicit:
            raise SuperlossError(
                f"[circuit] has both preset and {', '.join(explicit)}; give a preset or matrices, not both"
            )
        name = _string(table["preset"], "circuit.preset")
        if name not in PRESETS:
            raise SuperlossError(f"unknown preset '{name}' (known: {', '.join(sorted(PRESETS))})")
        args = table.get("args", {})
        if not isinstance(args, dict):
            raise SuperlossError(f"circuit.args must be a table like {{ n = 3 }}, got {args!r}")
        kwargs = {key: _preset_arg(value, f"circuit.args.{key}") for key, value in args.items()}
        try:
            return PRESETS[name](**kwargs)
        except SuperlossError as exc:
            raise SuperlossError(f"[circuit] preset '{name}': {exc}") from None
        except (TypeError, ValueError) as exc:
            raise SuperlossError(f"bad arguments for preset '{name}' {kwargs}: {_one_line(str(exc))}") from None
    if "args" in table:
        raise SuperlossError("circuit.args is only for presets")
    missing = [key for key in ("W1", "W2") if key not in table]
    if missing:
        raise SuperlossError(
            f'[circuit] needs either preset = "..." (one of {", ".join(sorted(PRESETS))}) '
            f"or the matrices W1 and W2 (missing: {', '.join(missing)})"
        )
    options = {key: _string(table[key], f"circuit.{key}") for key in ("hidden", "output", "target") if key in table}
    features = table.get("features")
    if features is not None:
        if not isinstance(features, list):
            raise SuperlossError(f"circuit.features must be a list of names, got {features!r}")
        features = [_string(f, f"circuit.features[{i}]") for i, f in enumerate(features)]
    matrices = (
        _matrix(table["W1"], "circuit.W1"),
        _matrix(table["W2"], "circuit.W2"),
        _vector(table["b1"], "circuit.b1") if "b1" in table else None,
        _vector(table["b2"], "circuit.b2") if "b2" in table else None,
    )
    _check_numbers(matrices)
    with _context("[circuit]"):
        return Circuit(*matrices, features=features, **options)


def check_exact(circuit: Circuit, source: str) -> None:
    """Refuse in one line, naming ``source`` and the entry, a weight of ``circuit`` that no exact
    closed form can hold, such as a root of a symbol (which the float engines take)."""
    try:
        _check_numbers((circuit.W1.tolist(), circuit.W2.tolist(), list(circuit.b1), list(circuit.b2)), roots=False)
    except SuperlossError as exc:
        raise SuperlossError(f"{source}: {exc}") from None


def _check_numbers(matrices: tuple, roots: bool = True) -> None:
    """Refuse, naming the entry, a weight whose numbers the exact engine cannot hold, and
    weights whose numbers span too large a field (:mod:`analytic.algebraic`). Roots of
    symbols are left to the engines that take them (the float ones) if ``roots``."""
    found = []
    for name, matrix in zip(("W1", "W2", "b1", "b2"), matrices, strict=True):
        rows = [] if matrix is None else matrix if name in ("W1", "W2") else [matrix]
        for i, row in enumerate(rows):
            for j, entry in enumerate(row):
                where = f"circuit.{name}[{i}][{j}]" if name in ("W1", "W2") else f"circuit.{name}[{j}]"
                if roots and any(
                    isinstance(n, sp.Pow) and n.base.free_symbols for n in sp.preorder_traversal(sp.sympify(entry))
                ):
                    continue
                with _context(f"{where} {entry}:"):
                    found += generators([entry])
    if found:
        with _context("[circuit]"):
            RealField.of(found)


def law_keys(kind: str) -> dict[str, bool]:
    """The keys a ``[law]`` table of ``kind`` takes besides ``kind``: the keyword
    arguments of the law's class, each with whether it is required."""
    signature = inspect.signature(LAWS[kind].__init__)
    return {name: p.default is inspect.Parameter.empty for name, p in list(signature.parameters.items())[1:]}


class _LawParts(NamedTuple):
    """A [law] table read into expressions (a list where it gives one per feature),
    before the law object is made."""

    kind: str
    values: dict[str, sp.Expr | list[sp.Expr]]

    def expressions(self) -> list[sp.Expr]:
        return [e for v in self.values.values() for e in (v if isinstance(v, list) else [v])]

    def subs(self, values: Mapping) -> "_LawParts":
        return _LawParts(
            self.kind,
            {
                k: [_subs(e, values) for e in v] if isinstance(v, list) else _subs(v, values)
                for k, v in self.values.items()
            },
        )

    def make(self) -> FeatureLaw:
        with _context("[law]"):
            return LAWS[self.kind](**self.values)


def _law(table: dict, n: int) -> _LawParts:
    if "kind" not in table:
        raise SuperlossError(f"[law] needs kind = one of {', '.join(LAWS)}")
    kind = _string(table["kind"], "law.kind")
    if kind not in LAWS:
        raise SuperlossError(f"unknown law kind '{kind}' (known: {', '.join(LAWS)})")
    keys = law_keys(kind)
    _check_keys(table, ("kind", *keys), f"[law] of kind {kind}")
    for key, required in keys.items():
        if required and key not in table:
            raise SuperlossError(f"[law] of kind {kind} needs {key} = a number, an expression or a list")
    values = {}
    for key in keys:
        if key not in table:
            continue
        raw = table[key]
        if isinstance(raw, list) and len(raw) != n:
            raise SuperlossError(f"law.{key} has {len(raw)} entries, but the circuit has {n} features")
        values[key] = _vector(raw, f"law.{key}") if isinstance(raw, list) else _value(raw, f"law.{key}")
    return _LawParts(kind, values)


def _importance(raw: Any, circuit: Circuit) -> list[sp.Expr]:
    features = circuit.features
    if isinstance(raw, list):
        if len(raw) != circuit.n:
            raise SuperlossError(f"importance has {len(raw)} entries, but the circuit has {circuit.n} features")
        return _vector(raw, "importance")
    if isinstance(raw, dict):
        # A table by feature name; features it leaves out have importance 1.
        for name in raw:
            if name not in features:
                raise SuperlossError(f"importance names feature '{name}'; the features are {', '.join(features)}")
        return [_value(raw[f], f"importance.{f}") if f in raw else sp.Integer(1) for f in features]
    raise SuperlossError(f"importance must be a list or a table by feature name, got {raw!r}")


def _build(data: dict, source: str) -> Spec:
    _check_keys(data, TOP_KEYS, "the top level")
    circuit_table = _table(data, "circuit", required=True)
    law_table = _table(data, "law", required=True)
    at_table = _table(data, "at", required=False) or {}
    latex_table = _table(data, "latex", required=False) or {}
    bounds_table = _table(data, "bounds", required=False) or {}

    circuit = _circuit(circuit_table)
    law = _law(law_table, circuit.n)
    weights = _importance(data["importance"], circuit) if "importance" in data else None

    substitute = circuit_table.get("substitute", {})
    if not isinstance(substitute, dict):
        raise SuperlossError(f"circuit.substitute must be a table like {{ kappa = 20 }}, got {substitute!r}")
    values = _symbol_table(substitute, "circuit.substitute")
    # Check the names before substituting: afterwards they no longer occur.
    _check_named(values, _free_symbols(circuit, law.expressions(), weights), "circuit.substitute")
    if values:
        # The substitution fixes the symbols everywhere: circuit, law and importance.
        with _context("[circuit] after substitute:"):
            circuit = Circuit(
                *(_subs(m, values) for m in (circuit.W1, circuit.W2, circuit.b1, circuit.b2)),
                hidden=circuit.hidden,
                output=circuit.output,
                target=circuit.target,
                features=circuit.features,
            )
        law = law.subs(values)
        weights = None if weights is None else [_subs(w, values) for w in weights]
    importance = None if weights is None else tuple(weights)
    law_object = law.make()
    # The checks every command shares (names that collide or read as constants, negative importances).
    Problem(circuit, law_object, importance)

    at = _symbol_table(at_table, "at")
    for symbol, value in at.items():
        if symbol in values:
            raise SuperlossError(f"[at] names '{symbol.name}', which circuit.substitute already fixes")
        if not (value.is_Rational or value.is_Float):
            raise SuperlossError(f"[at] {symbol.name} = {value}: a point needs rational numbers")
    _check_named(at, _free_symbols(circuit, law.expressions(), importance), "[at]")
    bounds = {sym(name): _box(value, f"bounds.{name}") for name, value in bounds_table.items()}
    _check_named(bounds, set(circuit.symbols), "[bounds]")
    names = {key: _string(value, f"latex.{key}") for key, value in latex_table.items()}
    return Spec(circuit, law_object, importance, at, names, source, bounds)


def _box(value: Any, what: str) -> tuple[sp.Expr, sp.Expr]:
    if not (isinstance(value, list) and len(value) == 2):
        raise SuperlossError(f"{what} must be [low, high], got {value!r}")
    low, high = _vector(value, what)
    if not (low.is_number and high.is_number and low < high):
        raise SuperlossError(f"{what} = [{low}, {high}]: need numbers with low < high")
    return low, high
