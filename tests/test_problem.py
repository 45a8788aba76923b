"""The problem object: every check in one place, the roles of the symbols, what engines read from it."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, NumericalError, OneHot, Problem, SparseUniform, SuperlossError, expected_loss, sym, syms
from analytic.latex import align
from analytic.presets import CANONICAL, asymmetric_inhibition, monosemantic_abs
from analytic.regime import Regime
from numeric.optimize import _Objective, optimize

S, I_b, w, t = syms("S I_b w t")
MOTIF = asymmetric_inhibition()
IMPORTANCE = [1, I_b, 1]


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: Problem(Circuit([[S]], [[1]]), SparseUniform(S)),
            "S is both a weight of the circuit and a symbol of the feature law",
        ),
        (lambda: Problem(Circuit([[I_b, 1]], [[1], [1]]), SparseUniform(0), [1, I_b]), "I_b is both a weight"),
        (lambda: Problem(Circuit([[sp.Symbol("pi")]], [[1]]), SparseUniform(0)), "'pi' reads as a constant"),
        (lambda: Problem(Circuit([[w, sp.Symbol("w")]], [[1], [1]]), SparseUniform(0)), "two different symbols"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={I_b: -1}), "negative (-1)"),
        (lambda: Problem(MOTIF, SparseUniform(S), [1, -2, 1]), "negative (-2)"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={S: sp.Rational(3, 2)}), "outside [0, 1]"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={"zeta": 1}), "zeta is not a symbol"),
        (
            lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, free=["kappa"], fixed={"kappa": 1}),
            "both free and fixed",
        ),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, free=["kappa", "kappa"]), "given twice"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={S: "0.5"}), "is text"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={S: sp.oo}), "not a finite real number"),
        (lambda: Problem(MOTIF, SparseUniform(S), IMPORTANCE, free={"kappa": (1, 0)}), "low < high"),
        (lambda: Problem(MOTIF, SparseUniform([S, S]), IMPORTANCE), "2 entries, but the circuit has 3"),
        (lambda: Problem(MOTIF, OneHot(), [1, 2]), "importance has 2 entries"),
    ],
)
def test_bad_problems_are_refused_in_one_line(make, message):
    with pytest.raises(
        SuperlossError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ) as info:
        make()
    assert "\n" not in str(info.value)


def test_roles_names_and_new_problems():
    problem = Problem(
        MOTIF, SparseUniform(S), IMPORTANCE, free={"kappa": (0, 40), sp.Symbol("delta"): (0, 1)}, fixed={"S": 0.9}
    )
    kappa, delta = syms("kappa delta")
    assert problem.params == (kappa, delta) and problem.bounds == {kappa: (0, 40), delta: (0, 1)}
    assert problem.numbers == {S: sp.Float(0.9)} and I_b in problem.unset and kappa not in problem.unset
    fixed = problem.fix({kappa: 20})
    assert fixed.params == (delta,) and fixed.fixed[kappa] == 20 and fixed.bounds == {delta: (0, 1)}
    with pytest.raises(SuperlossError, match="no value for I_b"):
        fixed.require("an engine")
    # Fixed weights are put into the circuit exactly, floats at their binary value.
    weights = Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={**CANONICAL, sym("w_a"): 0.1}).free_circuit
    assert weights.is_numeric and weights.W1[0, 0] == sp.Rational(0.1)
    # The fixed values are put in for the closed form; the sparsity then is a number.
    loss = expected_loss(Problem(MOTIF, SparseUniform(S), IMPORTANCE, fixed={S: sp.Rational(1, 2)}), at=CANONICAL)
    assert S not in loss.expr.free_symbols and I_b in loss.expr.free_symbols


def test_the_loss_of_the_all_zero_model_sets_the_scale():
    # Three features on [-1, 1], each active with probability 1 - S: sum_i I_i (1 - S) / 3.
    scale = Problem(MOTIF, SparseUniform(S), IMPORTANCE).zero_model_loss()
    assert sp.simplify(scale - (2 + I_b) * (1 - S) / 3) == 0
    # One-hot on [0, 1]: each feature active with probability 1/n, E[x^2] = 1/3.
    assert Problem(Circuit([[1, 0]], [[1], [0]]), OneHot()).zero_model_loss() == sp.Rational(1, 3) / 1


def test_a_perfect_fit_prints_a_loss_of_zero_and_checks_it_by_an_absolute_tolerance():
    # ReLU(w x) + ReLU(-x) is |x| at w = 1: the float engines give a few rounding errors there.
    circuit = Circuit([[w], [-1]], [[1, 1]])
    best = optimize(Problem(circuit, SparseUniform(sp.Rational(1, 2)), free={w: (0.5, 2)}), starts=3, samples=20_000)
    assert best.shown_loss == 0.0 and abs(best.loss) < 1e-15 and best.params[w] == pytest.approx(1.0, abs=1e-6)
    assert best.monte_carlo.zero_variance and best.zscore is None and best.monte_carlo.agrees(best.loss)
    text = str(best)
    assert "loss = 0\n" in text and "zero variance: agrees" in text and "z = " not in text
    assert best.to_dict()["certificate"]["monte_carlo"]["agrees"] is True
    # The monosemantic layout is exact too.
    assert float(expected_loss(monosemantic_abs(2), SparseUniform(S)).expr) == 0


def test_conditions_that_are_always_true_are_dropped_before_they_are_counted_or_printed():
    # The two hidden planes meet where the coordinates have the denominator t^2 + 1.
    circuit = Circuit([[-1, t], [t, 1]], [[0, 1], [t, -1]])
    loss = expected_loss(circuit, SparseUniform(0), at={t: sp.Rational(1, 3)})
    # Unfiltered, t**2 + 1 > 0 would be a fifth condition (printed as True).
    assert [str(c) for c in loss.conditions] == ["t > 0", "t + 1 > 0", "t < 1", "t**2 + 2*t < 1"]
    assert "True" not in align(loss)
    assert Regime.from_factors({(t**2 + 1, 1), (w, 1), (t**2 * w**4 + 3, 1)}).conditions == (w > 0,)
    # The check is sound: a sum of squares without a positive constant can vanish.
    assert len(Regime.from_factors({(t**2 + w**2, 1)}).conditions) == 1


def test_numerical_conditions_are_not_bad_input_and_bad_input_is_never_retried():
    assert not issubclass(NumericalError, SuperlossError) and not issubclass(SuperlossError, NumericalError)

    class Failing:
        params = (w,)

        def __init__(self, error):
            self.error = error

        def value(self, x):
            raise self.error("at the point")

        gradient = value

    lo, hi = np.zeros(1), np.ones(1)
    with pytest.raises(SuperlossError):
        _Objective(Failing(SuperlossError), lo, hi)(np.array([0.5]))
    # A numerical condition is retried a hair's breadth inside the box, then reported as one.
    with pytest.raises(NumericalError, match="singular all around"):
        _Objective(Failing(NumericalError), lo, hi)(np.array([0.5]))


def test_a_numerical_condition_ends_the_command_with_exit_code_1(capsys, monkeypatch):
    from pathlib import Path

    import numeric.cli.exact as exact

    from conftest import run

    def singular(*args, **kwargs):
        raise NumericalError("could not find a regime next to the point")

    monkeypatch.setattr(exact, "expected_loss", singular)
    spec = Path(__file__).resolve().parents[1] / "docs" / "examples" / "motif_symbolic.toml"
    code, _, err = run(capsys, "derive", str(spec))
    assert code == 1 and err == "superloss: numerical problem: could not find a regime next to the point\n"


def test_piecewise_puts_in_the_fixed_sparsity_and_keeps_exact_boxes():
    from analytic import piecewise_loss

    circuit = Circuit([[w]], [[1]])
    pw = piecewise_loss(Problem(circuit, SparseUniform(S), free={w: (-1, sp.Rational(1, 3))}, fixed={S: 0.5}))
    assert S not in pw.expr.free_symbols
    ends = {r.rhs for _, condition in pw.expr.args for r in condition.atoms(sp.Rel)}
    assert sp.Rational(1, 3) in ends and all(e.is_Rational for e in ends)


def test_the_batched_engine_refuses_varying_values_no_problem_would_accept():
    from numeric.engines.batch import BatchLoss

    loss = BatchLoss(Problem(Circuit([[w]], [[1]]), SparseUniform(S), free=[w], varying=[S]))
    assert loss.values([[0.5]], [[0.5]])[0] > 0
    with pytest.raises(SuperlossError, match=r"row 1 \(S = 1.5\)"):
        loss.values([[0.5], [0.5]], [[0.5], [1.5]])


def test_training_refuses_what_a_problem_refuses_with_the_same_message():
    from numeric.crosscheck import descend
    from numeric.engines.pointwise import PointwiseLoss
    from numeric.train import TrainConfig, train

    config = TrainConfig(steps=2, batch=4)
    with pytest.raises(SuperlossError, match=r"sparsity S=1\.5\d* is outside"):
        train("hidden", 2, 2, [1.5], [1, 1], config=config, progress=False)
    with pytest.raises(SuperlossError, match=r"importance of feature '1' is negative \(-2"):
        train("hidden", 2, 2, [0.5], [1, -2], config=config, progress=False)
    with pytest.raises(SuperlossError, match="no bounds for w"):
        descend(PointwiseLoss(Problem(Circuit([[w]], [[1]]), SparseUniform(0), free=[w])), {w: 1}, config)
