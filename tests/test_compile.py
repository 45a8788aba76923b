"""Compiled losses: values against the closed form, derivatives against finite
differences and the rescaling symmetry, regimes across a boundary and a kink."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, Problem, SparseUniform, SuperlossError, expected_loss, piecewise_loss, sym
from analytic.presets import CANONICAL, MOTIF_SYMBOLS, asymmetric_inhibition
from numeric.engines.compiled import compile_loss
from numeric.engines.regimes import RegimeLoss

S = sym("S")
w = sym("w")
w_a, w_b, o_a, o_b, delta, kappa, gamma, b_a, b_b, b_c = MOTIF_SYMBOLS
IMPORTANCE = [1, sp.Rational(3, 10), 1]
WEIGHTS = list(MOTIF_SYMBOLS)
X0 = np.array([float(CANONICAL[p]) for p in WEIGHTS])
HALF_ABS = Circuit([[w]], [[1]])  # E[(|x| - ReLU(w x))^2] = 1/3 - |w|/3 + w^2/6


@pytest.fixture(scope="module")
def motif():
    """The canonical regime, S symbolic."""
    return expected_loss(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, at=CANONICAL)


@pytest.fixture(scope="module")
def compiled(motif):
    """All ten weights free, S = 9/10."""
    return compile_loss(motif, WEIGHTS, {S: sp.Rational(9, 10)})


def without(point: dict, *params) -> dict:
    """``point`` less the values of ``params`` (which are free)."""
    return {s: v for s, v in point.items() if s not in params}


def exact_value(loss, x: np.ndarray, params, fixed: dict) -> float:
    point = {p: sp.Rational(float(v)) for p, v in zip(params, x, strict=True)}
    return float(loss.expr.subs({**fixed, **point}))


def nearby_points(loss, n: int, spread: float, seed: int = 0) -> list[np.ndarray]:
    """Points around CANONICAL that stay in its regime (checked exactly)."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        x = X0 * (1 + spread * rng.uniform(-1, 1, size=X0.size))
        if loss.regime.holds({p: sp.Rational(float(v)) for p, v in zip(WEIGHTS, x, strict=True)}):
            points.append(x)
    return points


def central_gradient(f, x: np.ndarray, rel: float = 1e-6) -> np.ndarray:
    g = np.empty_like(x)
    for i in range(x.size):
        h = rel * max(1.0, abs(x[i]))
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def central_hessian(f, x: np.ndarray, rel: float = 1e-4) -> np.ndarray:
    n = x.size
    H = np.empty((n, n))
    h = rel * np.maximum(1.0, np.abs(x))
    for i in range(n):
        for j in range(i, n):
            ei, ej = np.zeros(n), np.zeros(n)
            ei[i], ej[j] = h[i], h[j]
            H[i, j] = H[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
    return H


# --- compile_loss on the canonical motif --------------------------------------------------


def test_value_equals_closed_form(motif, compiled):
    fixed = {S: sp.Rational(9, 10)}
    for x in [X0, *nearby_points(motif, 3, 0.05)]:
        assert compiled.value(x) == pytest.approx(exact_value(motif, x, WEIGHTS, fixed), rel=1e-12)
    assert compiled.value(X0) == pytest.approx(0.005398539781, rel=1e-10)  # README's figure


def test_gradient_and_hessian_against_finite_differences(motif, compiled):
    for x in [X0, *nearby_points(motif, 2, 0.05, seed=1)]:
        g = compiled.gradient(x)
        assert g.shape == (10,)
        assert np.allclose(g, central_gradient(compiled.value, x), rtol=0, atol=1e-5 * np.abs(g).max())
        H = compiled.hessian(x)
        assert H.shape == (10, 10) and np.array_equal(H, H.T)
        scale = np.abs(H).max()
        assert np.allclose(H, central_hessian(compiled.value, x), rtol=0, atol=1e-5 * scale)
        of_gradient = np.array([central_gradient(lambda y, i=i: compiled.gradient(y)[i], x) for i in range(10)])
        assert np.allclose(H, of_gradient, rtol=0, atol=1e-7 * scale)


def test_gradient_matches_symbolic_gradient(motif, compiled):
    values = {**CANONICAL, S: sp.Rational(9, 10)}
    symbolic = compiled.gradient_expr
    assert symbolic.shape == (10, 1)
    for i in (0, 5, 6):  # w_a, kappa, gamma
        assert compiled.gradient(X0)[i] == pytest.approx(float(symbolic[i].subs(values)), rel=1e-10)
    assert compiled.hessian(X0)[5, 5] == pytest.approx(float(compiled.hessian_expr[5, 5].subs(values)), rel=1e-9)


def test_gradient_orthogonal_to_rescaling_symmetry(motif, compiled):
    # L(c w_a, c w_b, o_a/c, o_b/c, gamma/c) does not depend on c: its c-derivative at c = 1 is 0.
    for x in [X0, *nearby_points(motif, 3, 0.1, seed=2)]:
        direction = np.zeros(10)
        for p, sign in ((w_a, 1), (w_b, 1), (o_a, -1), (o_b, -1), (gamma, -1)):
            i = WEIGHTS.index(p)
            direction[i] = sign * x[i]
        g = compiled.gradient(x)
        assert abs(g @ direction) <= 1e-12 * np.linalg.norm(g) * np.linalg.norm(direction)
        # ... and the loss is the same along the orbit.
        c = 1.3
        moved = x.copy()
        for p, power in ((w_a, 1), (w_b, 1), (o_a, -1), (o_b, -1), (gamma, -1)):
            moved[WEIGHTS.index(p)] *= c**power
        assert compiled.value(moved) == pytest.approx(compiled.value(x), rel=1e-12)


def test_values_on_a_grid_equal_pointwise_values(compiled):
    kappas = np.linspace(18, 22, 5)
    deltas = np.linspace(0.2, 0.3, 4)
    K, D = np.meshgrid(kappas, deltas, indexing="ij")
    X = np.broadcast_to(X0, K.shape + (10,)).copy()
    X[..., WEIGHTS.index(kappa)] = K
    X[..., WEIGHTS.index(delta)] = D
    grid = compiled.values(X)
    assert grid.shape == (5, 4)
    for idx in np.ndindex(grid.shape):
        assert grid[idx] == pytest.approx(compiled.value(X[idx]), rel=1e-13)
    flat = compiled.values(X.reshape(-1, 10))
    assert flat.shape == (20,) and np.allclose(flat, grid.ravel(), rtol=1e-13, atol=0)


def test_fixed_values_reuse_the_compiled_code(motif, compiled):
    other = compile_loss(motif, WEIGHTS, {S: 0.5})
    assert other._f is compiled._f  # the code takes S as an argument
    assert other.value(X0) == pytest.approx(exact_value(motif, X0, WEIGHTS, {S: sp.Rational(1, 2)}), rel=1e-12)


def test_sparsity_and_a_few_weights_as_params(motif):
    params = [kappa, S]
    f = compile_loss(motif, params, without(CANONICAL, kappa))
    x = np.array([20.0, 0.9])
    assert f.value(x) == pytest.approx(exact_value(motif, x, params, CANONICAL), rel=1e-12)
    assert np.allclose(f.gradient(x), central_gradient(f.value, x), rtol=1e-6, atol=0)
    H = f.hessian(x)
    assert np.allclose(H, central_hessian(f.value, x), rtol=1e-5, atol=1e-5 * np.abs(H).max())


def test_importance_as_param_by_hand():
    I = sym("I_a")
    loss = expected_loss(HALF_ABS, SparseUniform(S), [I], at={w: 1})
    f = compile_loss(loss, [w, I], {S: 0.25})
    x = np.array([0.4, 2.0])
    L = 1 / 3 - 0.4 / 3 + 0.4**2 / 6
    assert f.value(x) == pytest.approx(0.75 * 2.0 * L, rel=1e-14)
    assert np.allclose(f.gradient(x), [0.75 * 2.0 * (-1 / 3 + 0.4 / 3), 0.75 * L], rtol=1e-14)
    assert np.allclose(
        f.hessian(x), [[0.75 * 2.0 / 3, 0.75 * (-1 / 3 + 0.4 / 3)], [0.75 * (-1 / 3 + 0.4 / 3), 0]], rtol=1e-14
    )
    assert sp.simplify(f.gradient_expr[0] - I * (1 - S) * (w / 3 - sp.Rational(1, 3))) == 0


def test_float_circuit_with_free_sparsity():
    loss = expected_loss(Circuit([[0.7]], [[1.3]]), SparseUniform(S))
    f = compile_loss(loss, [S])
    for s in (0.1, 0.5):
        assert f.value([s]) == pytest.approx(float(loss.expr.subs(S, s)), rel=1e-12)
    assert f.gradient([0.5])[0] == pytest.approx(float(sp.diff(loss.expr, S)), rel=1e-12)


def test_irrational_importance_takes_the_general_path():
    # sqrt(2) is no rational coefficient: the term is differentiated as an expression.
    loss = expected_loss(HALF_ABS, SparseUniform(0), [sp.sqrt(2)], at={w: 1})
    f = compile_loss(loss, [w])
    assert f._f.terms[0].parts is None
    r2 = np.sqrt(2)
    assert f.value([0.4]) == pytest.approx(r2 * (1 / 3 - 0.4 / 3 + 0.4**2 / 6), rel=1e-14)
    assert f.gradient([0.4])[0] == pytest.approx(r2 * (-1 / 3 + 0.4 / 3), rel=1e-14)
    assert f.hessian([0.4])[0, 0] == pytest.approx(r2 / 3, rel=1e-14)


# --- errors ------------------------------------------------------------------------------


def test_missing_fixed_symbols_are_named(motif):
    with pytest.raises(SuperlossError) as err:
        compile_loss(motif, [kappa], {S: 0.9, w_a: 2})
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("fixed has no value for b_a, b_b, b_c, delta, gamma, o_a, o_b, w_b;")


def test_bad_params_and_points(motif, compiled):
    with pytest.raises(SuperlossError, match="kappa2"):
        compile_loss(motif, [sym("kappa2")], {**CANONICAL, S: 0.9})
    with pytest.raises(SuperlossError, match="kappa is given twice"):
        compile_loss(motif, [kappa, kappa], {**without(CANONICAL, kappa), S: 0.9})
    with pytest.raises(SuperlossError, match="kappa cannot be both free and fixed"):
        compile_loss(motif, [kappa], {**CANONICAL, S: 0.9})
    with pytest.raises(SuperlossError, match="10 numbers"):
        compiled.value([1.0, 2.0])
    with pytest.raises(SuperlossError, match="S"):
        RegimeLoss(
            Problem(
                asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free=[kappa], fixed=without(CANONICAL, kappa)
            )
        )


def test_params_matched_by_name(motif):
    # sp.Symbol("kappa") is not the real symbol analytic.sym("kappa"), but means it.
    f = compile_loss(motif, [sp.Symbol("kappa")], {**without(CANONICAL, kappa), "S": 0.9})
    assert f.params == (kappa,)
    assert f.value([20.0]) == pytest.approx(0.005398539781, rel=1e-10)


# --- RegimeLoss ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kappa_boundary():
    """The regime boundary in kappa just below CANONICAL's 20 (others at CANONICAL),
    with the formulas of piecewise_loss on its left and right."""
    pw = piecewise_loss(
        Problem(
            asymmetric_inhibition(),
            SparseUniform(S),
            IMPORTANCE,
            free={kappa: (0, 40)},
            fixed=without(CANONICAL, kappa),
        )
    )
    assert pw.proven and len(pw.pieces) > 1
    ends = {r.rhs for _, cond in pw.expr.args for r in cond.atoms(sp.Rel)}
    boundary = max(e for e in ends if e < 20)

    def formula_at(k):
        return next(expr for expr, cond in pw.expr.args if cond.subs(kappa, k))

    return boundary, formula_at(boundary - sp.Rational(1, 100)), formula_at(20)


def test_regime_loss_across_a_kappa_boundary(kappa_boundary):
    boundary, left_expr, right_expr = kappa_boundary
    b = float(boundary)
    fixed = {**without(CANONICAL, kappa), S: sp.Rational(9, 10)}
    f = RegimeLoss(Problem(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free=[kappa], fixed=fixed))
    assert f.value([20.0]) == pytest.approx(0.005398539781, rel=1e-10)
    assert (f.derived, f.compiled) == (1, 1)
    first = f.regime_at([20.0])
    h = 1e-10 * b
    right = f.value([b + h])  # same regime: nothing derived
    assert (f.derived, f.compiled) == (1, 1)
    left = f.value([b - h])  # across: a second regime
    assert (f.derived, f.compiled) == (2, 2)
    second = f.regime_at([b - h])
    assert second.regime != first.regime
    # Back to the first regime: from the cache.
    values = {S: sp.Rational(9, 10)}
    assert f.value([21.0]) == pytest.approx(float(right_expr.subs({**values, kappa: 21})), rel=1e-12)
    assert (f.derived, f.compiled, f.reused) == (2, 2, 1)
    # The formulas are those of piecewise_loss on either side, and meet at the boundary.
    assert right == pytest.approx(float(right_expr.subs({**values, kappa: b + h})), rel=1e-12)
    assert left == pytest.approx(float(left_expr.subs({**values, kappa: b - h})), rel=1e-12)
    assert abs(left - right) <= 1e-9 * abs(right)
    on_left = f.compiled_at([b - h]).value([b])
    on_right = f.compiled_at([20.0]).value([b])
    assert on_left == pytest.approx(on_right, rel=1e-12)
    assert f.on_boundary([b]) and not f.on_boundary([20.0]) and not f.on_boundary([b - 0.1])
    assert f.derived == 2
    assert f.regime_at([21.0]) is first
    assert len(f.regimes) == 2


def test_regime_loss_with_all_weights_free(motif, compiled):
    f = RegimeLoss(Problem(asymmetric_inhibition(), SparseUniform(S), IMPORTANCE, free=WEIGHTS, fixed={S: 0.9}))
    assert f.value(X0) == compiled.value(X0)
    assert f.compiled_at(X0)._f is compiled._f  # the same regime compiles to the cached code
    assert np.array_equal(f.gradient(X0), compiled.gradient(X0))
    assert np.array_equal(f.hessian(X0), compiled.hessian(X0))
    assert f.derived == 1
    # Scaling along the symmetry keeps the regime (its conditions are invariant).
    moved = X0.copy()
    for p, power in ((w_a, 1), (w_b, 1), (o_a, -1), (o_b, -1), (gamma, -1)):
        moved[WEIGHTS.index(p)] *= 1.5**power
    assert f.value(moved) == pytest.approx(f.value(X0), rel=1e-12)
    assert f.derived == 1


def test_one_dimensional_kink():
    f = RegimeLoss(Problem(HALF_ABS, SparseUniform(0), free=[w]))
    for x in (0.5, 0.1, 1e-6, 2.0):
        assert f.gradient([x])[0] == pytest.approx(-1 / 3 + x / 3, rel=1e-12)
        assert f.value([x]) == pytest.approx(1 / 3 - x / 3 + x * x / 6, rel=1e-12)
        assert f.hessian([x])[0, 0] == pytest.approx(1 / 3, rel=1e-12)
    for x in (-0.5, -0.1, -1e-6, -2.0):
        assert f.gradient([x])[0] == pytest.approx(1 / 3 + x / 3, rel=1e-12)
        assert f.value([x]) == pytest.approx(1 / 3 + x / 3 + x * x / 6, rel=1e-12)
    assert (f.derived, f.compiled) == (2, 2)
    assert f.on_boundary([0.0])
    assert not f.on_boundary([0.5]) and not f.on_boundary([-0.5])
    assert f.value([0.0]) == pytest.approx(1 / 3, rel=1e-15)
    assert abs(f.gradient([0.0])[0]) == pytest.approx(1 / 3, rel=1e-12)  # one-sided
    assert {str(c) for loss in f.regimes for c in loss.conditions} == {"w > 0", "w < 0"}
    assert f.derived == 2  # 0 lies on the closure of a regime already compiled


def test_regime_loss_derives_at_a_boundary_point():
    f = RegimeLoss(Problem(HALF_ABS, SparseUniform(0), free=[w]))
    assert f.value([0.0]) == pytest.approx(1 / 3, rel=1e-15)
    assert f.regime_at([0.0]).on_boundary
    assert f.on_boundary([0.0])
