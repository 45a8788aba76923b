"""The optimizer against an independent search over the exact piecewise loss."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, SparseUniform, SuperlossError, piecewise_loss, sym
from analytic.circuits import CANONICAL, asymmetric_inhibition
from numeric.optimize import optimize

S, kappa = sym("S"), sym("kappa")
IMPORTANCE = [1, sp.Rational(3, 10), 1]


def test_half_absolute_value_optimum_by_hand():
    """E[(|x| - ReLU(w x))^2] = 1/3 - |w|/3 + w^2/6 is least at w = +-1, where it is 1/6."""
    w = sym("w")
    best = optimize(Circuit([[w]], [[1]]), SparseUniform(0), None, free={w: (-3, 3)}, starts=6, seed=1)
    assert abs(best.params[w]) == pytest.approx(1.0, abs=1e-6)
    assert best.loss == pytest.approx(1 / 6, rel=1e-9)
    assert best.verdict == "minimum" and not best.active_bounds and best.hits >= 1


def test_inhibition_strength_matches_a_dense_scan_of_the_piecewise_loss():
    fixed = {s: v for s, v in CANONICAL.items() if s != kappa}
    best = optimize(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free={kappa: (0, 40)},
                    fixed={**fixed, S: sp.Rational(9, 10)}, starts=6)
    pw = piecewise_loss(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, box={kappa: (0, 40)}, fixed=fixed)
    scan = sp.lambdify(kappa, pw.expr.subs(S, sp.Rational(9, 10)), "numpy")
    grid = np.linspace(0.001, 40, 40000)  # kappa = 0 itself divides by zero in other pieces
    values = np.array([float(scan(k)) for k in grid])
    assert best.loss <= values.min() + 1e-12
    assert best.params[kappa] == pytest.approx(grid[values.argmin()], abs=2e-3)
    assert best.verdict == "minimum" and best.gradient_norm < 1e-5


@pytest.mark.parametrize("free, message", [
    ({kappa: (1, 1)}, "low < high"),
    ({kappa: (0, float("inf"))}, "finite"),
    ({kappa: "wide"}, "expected"),
])
def test_bad_bounds(free, message):
    fixed = {s: v for s, v in CANONICAL.items() if s != kappa}
    with pytest.raises(SuperlossError, match=message):
        optimize(asymmetric_inhibition(), SparseUniform(sp.Rational(1, 2)), None, free=free, fixed=fixed)
