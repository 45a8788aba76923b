"""Spec files: the examples load to the intended circuits, and bad specs are refused clearly."""

from __future__ import annotations

import math
import textwrap
from fractions import Fraction
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from analytic import Circuit, OneHot, SparseUniform, SuperlossError
from analytic.presets import CANONICAL, MOTIF_SYMBOLS, asymmetric_inhibition, relu_output
from analytic.spec import Spec, load_spec, parse_spec
from analytic.symbols import sym, syms

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
S, I_a, I_b, I_c, r = syms("S I_a I_b I_c r")


def same_circuit(a: Circuit, b: Circuit) -> bool:
    return (
        a.W1 == b.W1
        and a.W2 == b.W2
        and a.b1 == b.b1
        and a.b2 == b.b2
        and (a.hidden, a.output, a.target, a.features) == (b.hidden, b.output, b.target, b.features)
    )


def spec(text: str, source: str = "test.toml") -> Spec:
    return parse_spec(textwrap.dedent(text), source)


def refused(text: str, source: str = "bad.toml") -> str:
    """The one-line message a bad spec fails with; it always names the file."""
    with pytest.raises(SuperlossError) as info:
        spec(text, source)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: ")
    return message


MOTIF = """
[circuit]
preset = "asymmetric_inhibition"
[law]
kind = "sparse_uniform"
sparsity = "S"
"""


# -- the shipped examples ----------------------------------------------------------


def test_every_example_loads():
    files = sorted(EXAMPLES.glob("*.toml"))
    assert {f.name for f in files} >= {"motif_canonical.toml", "motif_symbolic.toml", "reconstruction_n2_m1.toml"}
    for path in files:
        loaded = load_spec(path)
        assert loaded.source == str(path)
        assert path.read_text().startswith("#")  # each says what it is


def test_motif_canonical_example():
    loaded = load_spec(EXAMPLES / "motif_canonical.toml")
    assert same_circuit(loaded.circuit, asymmetric_inhibition().subs(CANONICAL))
    assert loaded.circuit.is_numeric
    assert isinstance(loaded.law, SparseUniform)
    assert (loaded.law.sparsity, loaded.law.low, loaded.law.high) == (S, -1, 1)
    assert loaded.importance == (1, I_b, 1)
    assert loaded.at == {}
    assert set(loaded.symbols) == {S, I_b}


def test_motif_symbolic_example():
    loaded = load_spec(EXAMPLES / "motif_symbolic.toml")
    assert same_circuit(loaded.circuit, asymmetric_inhibition())
    assert loaded.law.sparsity == S
    assert loaded.importance == (I_a, I_b, I_c)
    assert loaded.at == CANONICAL
    assert set(loaded.at) == set(MOTIF_SYMBOLS)
    assert loaded.names["w_a"] == r"w_{\mathrm{host}}"


def test_reconstruction_example():
    loaded = load_spec(EXAMPLES / "reconstruction_n2_m1.toml")
    w_1, w_2, b_1, b_2 = syms("w_1 w_2 b_1 b_2")
    assert same_circuit(loaded.circuit, relu_output([[w_1, w_2]], [b_1, b_2]))
    assert (loaded.law.low, loaded.law.high) == (0, 1)
    assert loaded.importance == (1, r)
    assert loaded.at == {w_1: 1, w_2: sp.Rational(-1, 2), b_1: sp.Rational(-1, 10), b_2: sp.Rational(-1, 10)}


# -- what a spec can say -------------------------------------------------------------


def test_minimal_spec_defaults():
    loaded = spec(MOTIF)
    assert loaded.importance is None and loaded.at == {} and loaded.names == {}
    assert loaded.source == "test.toml"


def test_spec_is_frozen():
    loaded = spec(MOTIF)
    with pytest.raises(AttributeError):
        loaded.source = "other"  # type: ignore[misc]


def test_numbers_are_exact():
    loaded = spec("""
        importance = [0.1, 0.25, 3]
        [circuit]
        preset = "asymmetric_inhibition"
        substitute = { kappa = 1e1, gamma = 0.125, delta = "1e-3" }
        [law]
        kind = "sparse_uniform"
        sparsity = 0.9
        low = -0.5
        high = 0.5
    """)
    assert loaded.importance == (sp.Rational(1, 10), sp.Rational(1, 4), 3)
    assert all(isinstance(v, sp.Rational) for v in loaded.importance)
    assert loaded.law.sparsity == sp.Rational(9, 10)
    assert (loaded.law.low, loaded.law.high) == (sp.Rational(-1, 2), sp.Rational(1, 2))
    kappa, gamma, delta = syms("kappa gamma delta")
    expected = asymmetric_inhibition().subs({kappa: 10, gamma: sp.Rational(1, 8), delta: sp.Rational(1, 1000)})
    assert same_circuit(loaded.circuit, expected)


def test_substitute_reaches_law_and_importance_and_is_simultaneous():
    loaded = spec("""
        importance = ["1", "I_b", "1"]
        [circuit]
        preset = "asymmetric_inhibition"
        substitute = { w_a = "w_b", w_b = 3, S = "1/2", I_b = "2" }
        [law]
        kind = "sparse_uniform"
        sparsity = "S"
    """)
    w_a, w_b = syms("w_a w_b")
    # Simultaneous: w_a becomes the symbol w_b, not 3.
    assert same_circuit(loaded.circuit, asymmetric_inhibition().subs({w_b: 3}).subs({w_a: w_b}))
    assert loaded.law.sparsity == sp.Rational(1, 2)
    assert loaded.importance == (1, 2, 1)


def test_substitute_can_make_the_law_numeric():
    loaded = spec("""
        [circuit]
        preset = "monosemantic_abs"
        args = { n = 1 }
        substitute = { lo = -2, hi = "2" }
        [law]
        kind = "one_hot"
        low = "lo"
        high = "hi"
    """)
    assert (loaded.law.low, loaded.law.high) == (-2, 2)


def test_importance_table_by_feature_name():
    loaded = spec("""
        [circuit]
        preset = "asymmetric_inhibition"
        [law]
        kind = "sparse_uniform"
        sparsity = "S"
        [importance]
        b = "I_b"
        c = 0.5
    """)
    assert loaded.importance == (1, I_b, sp.Rational(1, 2))


def test_sparsity_per_feature_and_one_hot():
    loaded = spec("""
        [circuit]
        preset = "monosemantic_abs"
        args = { n = 2 }
        [law]
        kind = "sparse_uniform"
        sparsity = ["S", 0.5]
    """)
    assert loaded.law.sparsity == (S, sp.Rational(1, 2))
    loaded = spec("""
        [circuit]
        preset = "monosemantic_abs"
        args = { n = 2 }
        [law]
        kind = "one_hot"
        low = -1
    """)
    assert isinstance(loaded.law, OneHot)
    assert (loaded.law.low, loaded.law.high) == (-1, 1)


def test_relu_output_preset_with_matrix_args():
    loaded = spec("""
        [circuit]
        preset = "relu_output"
        args = { W = [["w_1", "w_2"]], b = ["b_1", -0.1] }
        [law]
        kind = "sparse_uniform"
        sparsity = "S"
        low = 0
    """)
    w_1, w_2, b_1 = syms("w_1 w_2 b_1")
    assert same_circuit(loaded.circuit, relu_output([[w_1, w_2]], [b_1, sp.Rational(-1, 10)]))


def test_explicit_matrices_with_options():
    loaded = spec("""
        [circuit]
        W1 = [["w", "0"], [0, 1]]
        W2 = [[1, 0], ["0.5", "-w"]]
        b1 = [0, "-1/50"]
        b2 = [0, 0]
        hidden = "relu"
        output = "linear"
        target = "identity"
        features = ["a", "b"]
        [law]
        kind = "one_hot"
        [at]
        w = "3/4"
    """)
    w = sym("w")
    c = loaded.circuit
    assert c.W1 == sp.Matrix([[w, 0], [0, 1]]) and c.W2 == sp.Matrix([[1, 0], [sp.Rational(1, 2), -w]])
    assert list(c.b1) == [0, sp.Rational(-1, 50)]
    assert (c.hidden, c.output, c.target, c.features) == ("relu", "linear", "identity", ("a", "b"))
    assert loaded.at == {w: sp.Rational(3, 4)}


def test_at_may_name_law_and_importance_symbols():
    loaded = spec("""
        importance = [1, "r", 1]
        [circuit]
        preset = "asymmetric_inhibition"
        [law]
        kind = "sparse_uniform"
        sparsity = "S"
        [at]
        S = 0.9
        r = 2
        w_b = "1 / 4"
    """)
    assert loaded.at == {S: sp.Rational(9, 10), r: 2, sym("w_b"): sp.Rational(1, 4)}


@pytest.mark.parametrize("value", ['"w_a / 4"', '"sqrt(2)"'])
def test_at_needs_rational_numbers(value):
    with pytest.raises(SuperlossError, match="rational numbers"):
        spec(f"""
            [circuit]
            preset = "asymmetric_inhibition"
            [law]
            kind = "sparse_uniform"
            sparsity = 0.5
            [at]
            w_b = {value}
        """)


@pytest.mark.parametrize("value", ["1e4", '"5000"'])
def test_preset_size_is_capped_whatever_its_type(value):
    with pytest.raises(SuperlossError, match="too large"):
        spec(f"""
            [circuit]
            preset = "monosemantic_abs"
            args = {{ n = {value} }}
            [law]
            kind = "sparse_uniform"
            sparsity = 0.5
        """)


def test_load_spec_reads_files(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MOTIF)
    assert load_spec(path).source == str(path)
    assert same_circuit(load_spec(str(path)).circuit, asymmetric_inhibition())


def test_load_spec_missing_and_binary_files(tmp_path):
    with pytest.raises(SuperlossError, match="cannot read spec file"):
        load_spec(tmp_path / "absent.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SuperlossError, match="not UTF-8"):
        load_spec(binary)


# -- what a spec may not say -----------------------------------------------------------

_REJECTIONS = [
    ("[circuit\npreset = 1", "TOML syntax error"),
    ('[circuit]\npreset = "asymmetric_inhibition"\n[law]\nkind = = 1\n', "line 4"),
    ("colour = 1\n" + MOTIF, "unknown key 'colour' in the top level"),
    (MOTIF.replace("[law]", "flavour = 2\n[law]"), "unknown key 'flavour' in [circuit]"),
    (MOTIF + "high = 1\nwidth = 3\n", "unknown key 'width' in [law] of kind sparse_uniform"),
    (MOTIF + "importance = [1, 1, 1]\n", "'importance' belongs at the top of the file"),
    ('[law]\nkind = "one_hot"\n', "missing [circuit] table"),
    ('[circuit]\npreset = "asymmetric_inhibition"\n', "missing [law] table"),
    ('circuit = 3\n[law]\nkind = "one_hot"\n', "'circuit' must be a table"),
    (MOTIF.replace("[law]", "W1 = [[1]]\n[law]"), "both preset and W1"),
    (MOTIF.replace("asymmetric_inhibition", "asymmetric"), "unknown preset 'asymmetric' (known: asymmetric_inhibition"),
    (MOTIF.replace("[law]", "args = { n = 3 }\n[law]"), "bad arguments for preset 'asymmetric_inhibition'"),
    (
        MOTIF.replace("asymmetric_inhibition", "monosemantic_abs").replace("[law]", 'args = { n = "k" }\n[law]'),
        "bad arguments for preset 'monosemantic_abs'",
    ),
    (
        MOTIF.replace("asymmetric_inhibition", "monosemantic_abs").replace("[law]", "args = { n = 0 }\n[law]"),
        "monosemantic_abs needs n >= 1",
    ),
    (
        MOTIF.replace("asymmetric_inhibition", "monosemantic_abs").replace("[law]", "args = { n = 1000000 }\n[law]"),
        "too large",
    ),
    (
        MOTIF.replace("asymmetric_inhibition", "monosemantic_abs").replace("[law]", "args = { n = true }\n[law]"),
        "boolean",
    ),
    (MOTIF.replace("[law]", "args = 3\n[law]"), "circuit.args must be a table"),
    ('[circuit]\nW1 = [[1]]\n[law]\nkind = "one_hot"\n', "missing: W2"),
    ('[circuit]\nW1 = [[1]]\nW2 = [[1]]\nargs = {}\n[law]\nkind = "one_hot"\n', "only for presets"),
    ('[circuit]\nW1 = [[1, 2]]\nW2 = [[1, 2]]\n[law]\nkind = "one_hot"\n', "W2 has shape 1 x 2, expected 2 x 1"),
    ('[circuit]\nW1 = [[1, 2], [3]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n', "rows of different lengths"),
    ('[circuit]\nW1 = [1, 2]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n', "list of rows"),
    ('[circuit]\nW1 = [[1]]\nW2 = [[1]]\nhidden = "tanh"\n[law]\nkind = "one_hot"\n', "hidden='tanh' is not one of"),
    ('[circuit]\nW1 = [[1]]\nW2 = [[1]]\nhidden = 1\n[law]\nkind = "one_hot"\n', "circuit.hidden must be a string"),
    ('[circuit]\nW1 = [[1]]\nW2 = [[1]]\nfeatures = ["a", "b"]\n[law]\nkind = "one_hot"\n', "features must be 1"),
    ('[circuit]\nW1 = [[1]]\nW2 = [[1]]\nb2 = [1, 2]\n[law]\nkind = "one_hot"\n', "b2 has 2 entries"),
    (
        '[circuit]\nW1 = [["w + foo(2)"]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n',
        "circuit.W1[0][0] 'w + foo(2)': unknown function 'foo' (allowed: sqrt, cos, sin)",
    ),
    ('[circuit]\nW1 = [["__import__(\'os\')"]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n', "circuit.W1[0][0]"),
    (
        '[circuit]\nW1 = [[nan]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n',
        "circuit.W1[0][0] is nan; numbers must be finite",
    ),
    ('[circuit]\nW1 = [[1]]\nW2 = [[-inf]]\n[law]\nkind = "one_hot"\n', "circuit.W2[0][0] is -inf"),
    ('[circuit]\nW1 = [[true]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n', "circuit.W1[0][0] is a boolean"),
    ('[circuit]\nW1 = [[1979-05-27]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n', "expected a number or an expression"),
    (
        '[circuit]\nW1 = [["1/w"]]\nW2 = [[1]]\nsubstitute = { w = 0 }\n[law]\nkind = "one_hot"\n',
        "not a finite real expression",
    ),
    (MOTIF.replace("sparse_uniform", "gaussian"), "unknown law kind 'gaussian' (known: sparse_uniform, one_hot)"),
    (MOTIF.replace('kind = "sparse_uniform"\n', ""), "[law] needs kind"),
    (MOTIF.replace('sparsity = "S"\n', ""), "needs sparsity"),
    (MOTIF.replace("sparse_uniform", "one_hot"), "unknown key 'sparsity' in [law] of kind one_hot"),
    (MOTIF.replace('"S"', "1.5"), "outside [0, 1]"),
    (MOTIF.replace('"S"', '"-1/2"'), "outside [0, 1]"),
    (MOTIF.replace('"S"', '["S", 2, 0]'), "outside [0, 1]"),
    (MOTIF.replace('"S"', '["S", 0]'), "law.sparsity has 2 entries, but the circuit has 3 features"),
    (MOTIF.replace('"S"', "false"), "law.sparsity is a boolean"),
    (MOTIF.replace("[law]", "substitute = { S = 2 }\n[law]"), "outside [0, 1]"),
    (MOTIF + "low = 1\nhigh = 0\n", "must be below"),
    (MOTIF + 'low = "a"\n', "must be numbers"),
    ("importance = [1, 1]\n" + MOTIF, "importance has 2 entries, but the circuit has 3 features"),
    ("importance = [1, -1, 1]\n" + MOTIF, "importance of feature 'b' is negative (-1); importances must be >= 0"),
    ('importance = [1, "-1/2", 1]\n' + MOTIF, "importances must be >= 0"),
    (
        'importance = [1, "r", 1]\n' + MOTIF.replace("[law]", "substitute = { r = -2 }\n[law]"),
        "importances must be >= 0",
    ),
    ("importance = [1, true, 1]\n" + MOTIF, "importance[1] is a boolean"),
    (
        'importance = [1, "1/r", 1]\n' + MOTIF.replace("[law]", "substitute = { r = 0 }\n[law]"),
        "importance of feature 'b' is zoo, which is not a finite real number",
    ),
    ("importance = 3\n" + MOTIF, "importance must be a list or a table"),
    (MOTIF + "[importance]\nz = 2\n", "importance names feature 'z'; the features are a, b, c"),
    (
        MOTIF.replace("[law]", "substitute = { zeta = 1 }\n[law]"),
        "circuit.substitute names 'zeta', which does not occur in the circuit, law or importance",
    ),
    (MOTIF.replace("[law]", "substitute = 3\n[law]"), "circuit.substitute must be a table"),
    (MOTIF + "[at]\nzeta = 1\n", "[at] names 'zeta', which does not occur"),
    (
        MOTIF.replace("[law]", "substitute = { kappa = 1 }\n[law]") + "[at]\nkappa = 2\n",
        "[at] names 'kappa', which circuit.substitute already fixes",
    ),
    (MOTIF + "[at]\nw_a = nan\n", "at.w_a is nan"),
    (MOTIF + "[at]\nw_a = inf\n", "at.w_a is inf"),
    (MOTIF + "[at]\nw_a = true\n", "at.w_a is a boolean"),
    (MOTIF + '[at]\nw_a = "9**9**9**9"\n', "at.w_a '9**9**9**9'"),
    (MOTIF + "[at]\nw_a = [1]\n", "at.w_a is a list"),
    (MOTIF + "[latex]\nw_a = 3\n", "latex.w_a must be a string"),
]


@pytest.mark.parametrize("text, fragment", _REJECTIONS, ids=range(len(_REJECTIONS)))
def test_rejections(text, fragment):
    message = refused(text)
    assert fragment in message


# -- properties ------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_toml_floats_are_read_through_their_shortest_decimal(value):
    loaded = spec(f'[circuit]\nW1 = [[{value!r}]]\nW2 = [[1]]\n[law]\nkind = "one_hot"\n')
    exact = Fraction(repr(value))
    assert loaded.circuit.W1[0, 0] == sp.Rational(exact.numerator, exact.denominator)
    assert math.isclose(float(loaded.circuit.W1[0, 0]), value, rel_tol=0, abs_tol=0) or value == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_loads_or_raises_superloss_error(text):
    try:
        parse_spec(text, "fuzz.toml")
    except SuperlossError as exc:
        assert "\n" not in str(exc)
        assert str(exc).startswith("fuzz.toml: ")


def test_bounds_table():
    s = spec(
        '[circuit]\npreset = "asymmetric_inhibition"\n[law]\nkind = "sparse_uniform"\nsparsity = 0.5\n'
        '[bounds]\nkappa = [0, 1000]\nb_a = ["-1/2", 0.5]'
    )
    assert s.bounds == {sym("kappa"): (0, 1000), sym("b_a"): (sp.Rational(-1, 2), sp.Rational(1, 2))}
    base = '[circuit]\npreset = "asymmetric_inhibition"\n[law]\nkind = "sparse_uniform"\nsparsity = "S"\n[bounds]\n'
    assert "low < high" in refused(base + "kappa = [5, 1]")
    assert "[low, high]" in refused(base + "kappa = 5")
    assert "does not occur" in refused(base + "nu = [0, 1]")
