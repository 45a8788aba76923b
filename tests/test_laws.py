"""The feature-law protocol: a law defined here, in the test file alone, gets closed forms,
the float engines and a Monte Carlo check from the package, which dispatches on no law type."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, FeatureLaw, Problem, SparseUniform, expected_loss, sym
from analytic.document import standalone
from analytic.laws import real
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric.engines.pointwise import PointwiseLoss

from conftest import agrees_with_monte_carlo

p = sym("p")


class Together(FeatureLaw):
    """Every feature is active, or none is: all on with probability ``density``, values uniform."""

    kind = "together"

    def __init__(self, density, low=-1, high=1):
        self.density_, self.low, self.high = real(density, "density"), sp.sympify(low), sp.sympify(high)

    def parameters(self) -> dict:
        return {"density": self.density_, "low": self.low, "high": self.high}

    def pattern_probabilities(self, n: int, features: Sequence[int]) -> dict:
        if not features:
            return {frozenset(): sp.Integer(1)}
        return {frozenset(features): self.density_, frozenset(): 1 - self.density_}

    def active(self, n: int, size: int, rng: np.random.Generator) -> np.ndarray:
        return np.repeat(rng.random((size, 1)) < float(self.density_), n, axis=1)

    def words(self, features: Sequence[str], latex: Mapping) -> str:
        return (
            f"All features are active together with probability ${sp.latex(self.density_, symbol_names=latex)}$, "
            "each then uniform on $[-1, 1]$."
        )


IMPORTANCE = [1, sp.Rational(3, 10), 1]


def test_a_new_law_gives_the_motif_a_closed_form_that_monte_carlo_confirms():
    loss = expected_loss(asymmetric_inhibition(), Together(p), IMPORTANCE, at=CANONICAL)
    # For each output, only the empty pattern and the whole of what it sees occur.
    circuit = asymmetric_inhibition()
    assert all(A in (frozenset(), frozenset(circuit.receptive_field(i))) for i, A in loss.terms)
    values = {**CANONICAL, p: sp.Rational(2, 5)}
    value = float(loss.expr.subs(values))
    ok, _ = agrees_with_monte_carlo(value, asymmetric_inhibition(), Together(p), IMPORTANCE, values, seed=2)
    wrong, _ = agrees_with_monte_carlo(1.03 * value, asymmetric_inhibition(), Together(p), IMPORTANCE, values, seed=2)
    assert ok and not wrong


def test_a_new_law_runs_on_the_float_engines_and_prints_in_latex():
    weights = {s: float(v) * 1.01 for s, v in CANONICAL.items()}
    problem = Problem(asymmetric_inhibition(), Together(p), IMPORTANCE, free=list(weights), fixed={p: 0.3})
    closed = expected_loss(
        asymmetric_inhibition(),
        Together(sp.Rational(3, 10)),
        IMPORTANCE,
        at={s: sp.Rational(v) for s, v in weights.items()},
    )
    exact = float(closed.expr.subs({s: sp.Rational(v) for s, v in weights.items()}))
    assert PointwiseLoss(problem).value(list(weights.values())) == pytest.approx(exact, rel=1e-12)
    numeric = expected_loss(asymmetric_inhibition().subs(weights), Together(sp.Rational(3, 10)), IMPORTANCE)
    assert float(numeric.expr) == pytest.approx(exact, rel=1e-12)
    document = standalone(closed, split="pattern")
    assert "All features are active together with probability" in document


def test_a_law_with_symbols_refuses_to_be_sampled_and_subs_fixes_them():
    law = Together(p)
    assert law.symbols == {p} and law.subs({p: sp.Rational(1, 2)}).parameters()["density"] == sp.Rational(1, 2)
    x = law.subs({p: 0.5}).sample(3, 1000, np.random.default_rng(0))
    assert set(((x != 0).sum(axis=1)).tolist()) <= {0, 3}


def test_the_laws_of_the_package_describe_themselves():
    S = sym("S")
    assert SparseUniform(S).density(3) == S and SparseUniform([S, S]).density(2) == S
    assert SparseUniform([S, sym("T")]).density(2) is None
    assert "probability $S$" in SparseUniform(S).words(["a", "b"], {})
    law = Circuit([[1]], [[1]])  # not a law: refused in one line
    with pytest.raises(Exception, match="expected a feature law"):
        Problem(law, law)


def test_numeric_pattern_probabilities_put_the_values_in():
    S = sym("S")
    numeric = SparseUniform(S).probabilities(2, [0, 1], {S: 0.25})
    assert numeric[frozenset({0, 1})] == pytest.approx(0.5625) and sum(numeric.values()) == pytest.approx(1)
    assert Together(p).probabilities(3, [0, 1, 2], {p: 0.4})[frozenset({0, 1, 2})] == pytest.approx(0.4)
