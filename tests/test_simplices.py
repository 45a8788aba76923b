"""The float engine of :mod:`analytic.simplices` against the exact rational engine.

Both compute the raw integral over the cube ``[low, high]^A`` of ``(y_i - y'_i)^2``;
the float one must agree to rounding (relative 1e-9 here, ~1e-14 in practice),
its simplices must tile the cube exactly, and a trained-size network must run
in seconds.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations

import numpy as np
import pytest

from analytic import arrangement as cells
from analytic.arrangement import arrangement
from analytic.integrate import TermPlanes, cells_of_term, integrate_cells
from analytic.simplices import term_integral

RTOL = 1e-9


def exact_term(W1, W2, b1, b2, i, A, hidden, output, target, low, high) -> float:
    """The same integral by the exact engine, the floats taken at their binary value."""

    def fr(x):
        return Fraction(float(x))

    planes = TermPlanes(
        [[fr(x) for x in row] for row in W1],
        [[fr(x) for x in row] for row in W2],
        [fr(x) for x in b1],
        [fr(x) for x in b2],
        i,
        tuple(A),
        hidden,
        output,
        target,
        Fraction(1),
        fr(low),
        fr(high),
        feeds=tuple(j for j in range(len(W1)) if W2[i][j] != 0),
    )
    geo, cells = cells_of_term(planes)
    return float(integrate_cells(geo, cells, planes, lambda v: list(geo.points[v])))


def patterns(n: int):
    return [A for r in range(n + 1) for A in combinations(range(n), r)]


def assert_close(value: float, exact: float, what) -> None:
    assert abs(value - exact) <= RTOL * abs(exact) + 1e-15, (what, value, exact)


def random_network(rng, n: int, m: int, bias: str, sparse: bool):
    W1, W2 = rng.normal(size=(m, n)), rng.normal(size=(n, m))
    if sparse:
        W1[rng.random((m, n)) < 0.3] = 0.0
        W2[rng.random((n, m)) < 0.3] = 0.0
    b1 = {"none": np.zeros(m), "some": rng.normal(0, 0.5, m)}[bias]
    return W1, W2, b1, rng.normal(0, 0.3, n)


CONFIGS = [
    (hidden, output, target, bounds)
    for hidden in ("relu", "linear")
    for output in ("relu", "linear")
    for target in ("abs", "identity")
    for bounds in ((-1.0, 1.0), (0.0, 1.0))
]


@pytest.mark.parametrize("seed, hidden, output, target, bounds", [(k, *c) for k, c in enumerate(CONFIGS)])
def test_random_networks_match_exact_engine(seed, hidden, output, target, bounds):
    rng = np.random.default_rng(seed)
    low, high = bounds
    for trial, (n, m, bias, sparse) in enumerate(
        [(2, 3, "none", False), (3, 4, "some", False), (3, 5, "none", True), (2, 5, "some", True)]
    ):
        W1, W2, b1, b2 = random_network(rng, n, m, bias, sparse)
        for i in range(n):
            for A in patterns(n):
                args = (W1, W2, b1, b2, i, A, hidden, output, target, low, high)
                assert_close(term_integral(*args), exact_term(*args), (trial, i, A))


@pytest.mark.parametrize("bias", ["none", "some"])
def test_four_features_match_exact_engine(bias):
    rng = np.random.default_rng(7)
    W1, W2, b1, b2 = random_network(rng, 4, 5, bias, False)
    for A, i in [((0, 1, 2, 3), 0), ((1, 2, 3), 3), ((0, 3), 3)]:
        args = (W1, W2, b1, b2, i, A, "relu", "relu", "abs", -1.0, 1.0)
        assert_close(term_integral(*args), exact_term(*args), (i, A))


def test_degenerate_hand_made_circuits():
    # |x| = relu(x) + relu(-x): the same plane twice, all through the origin; exact fit.
    W1, W2 = np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]])
    assert term_integral(W1, W2, np.zeros(2), np.zeros(1), 0, (0,), "relu", "relu", "abs", -1.0, 1.0) == 0.0
    # Duplicated rows, planes along cube faces and through cube vertices, exact integers.
    W1 = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    W2 = np.array([[1.0, -1.0, 0.5, 0.0, 2.0], [0.0, 1.0, 1.0, -1.0, 1.0]])
    for b1 in (np.zeros(5), np.array([1.0, -1.0, 0.0, -1.0, 2.0])):
        for low, high in ((-1.0, 1.0), (0.0, 1.0)):
            for i in range(2):
                for A in patterns(2):
                    for output in ("relu", "linear"):
                        args = (W1, W2, b1, np.array([0.0, -0.5]), i, A, "relu", output, "abs", low, high)
                        assert_close(term_integral(*args), exact_term(*args), (b1, low, i, A, output))


def test_empty_pattern_and_constant_neurons():
    # A = (): the single point x = 0, where only biases act.
    W1, W2 = np.array([[1.0], [2.0]]), np.array([[1.0, -3.0]])
    b1, b2 = np.array([0.5, -0.25]), np.array([0.1])
    assert term_integral(W1, W2, b1, b2, 0, (), "relu", "relu", "abs", -1.0, 1.0) == pytest.approx(0.36)
    # Feature 1 is silent for neuron 0: its plane vanishes on A = (1,), it fires by its bias alone.
    W1, W2 = np.array([[1.0, 0.0], [0.3, -1.0]]), np.array([[0.7, 1.0], [1.0, 0.0]])
    b1, b2 = np.array([0.4, 0.1]), np.array([-0.2, 0.05])
    for i in range(2):
        for A in patterns(2):
            args = (W1, W2, b1, b2, i, A, "relu", "relu", "abs", -1.0, 1.0)
            assert_close(term_integral(*args), exact_term(*args), (i, A))


def test_many_planes_use_python_int_tight_sets():
    # 2 * d + h > 64 bits: tight sets fall back to Python integers.
    rng = np.random.default_rng(3)
    W1, W2 = rng.normal(size=(64, 1)), rng.normal(size=(1, 64)) / 10
    b1, b2 = rng.normal(0, 0.5, 64), np.array([0.1])
    args = (W1, W2, b1, b2, 0, (0,), "relu", "relu", "abs", -1.0, 1.0)
    assert_close(term_integral(*args), exact_term(*args), "64 planes")
    geo = arrangement(rng.normal(size=(70, 2)), rng.normal(size=70), -1.0, 1.0)
    assert geo.volume.sum() == pytest.approx(4.0, rel=1e-12)


@pytest.mark.parametrize("d, h, bias", [(1, 3, 0.0), (2, 4, 0.5), (3, 5, 0.0), (4, 6, 0.3), (5, 6, 0.0)])
def test_simplices_tile_the_cube(d, h, bias):
    rng = np.random.default_rng(d)
    for low, high in ((-1.0, 1.0), (0.0, 1.0), (-0.5, 2.0)):
        geo = arrangement(rng.normal(size=(h, d)), bias * rng.normal(size=h), low, high)
        assert geo.volume.sum() == pytest.approx((high - low) ** d, rel=1e-12)
        # Every simplex lies in one cell, on the side of every plane its cell is on.
        assert len(geo.firing) >= 1 and geo.simplices.shape[1] == d + 1


@pytest.mark.slow
def test_trained_size_network_all_terms():
    from numeric.bench import trained_size_weights

    W1, W2, b2 = trained_size_weights()
    b1 = np.zeros(len(W1))
    cells.clear_cache()
    terms = {
        (i, A): term_integral(W1, W2, b1, b2, i, A, "relu", "relu", "abs", -1.0, 1.0)
        for i in range(6)
        for A in patterns(6)
    }
    assert all(np.isfinite(v) and v >= 0 for v in terms.values())
    # The 6-dimensional cells tile the cube.
    geo = cells.cached_arrangement(np.ascontiguousarray(W1), b1, -1.0, 1.0)
    assert geo.volume.sum() == pytest.approx(64.0, rel=1e-12)
    # Small patterns against the exact engine.
    for i, A in [(0, ()), (0, (0,)), (5, (4, 5)), (2, (0, 2, 3)), (3, (1, 2))]:
        args = (W1, W2, b1, b2, i, A, "relu", "relu", "abs", -1.0, 1.0)
        assert_close(terms[(i, A)], exact_term(*args), (i, A))


def test_segments_are_the_general_cells():
    # The one-dimensional shortcut against the general cutting, with zeros that
    # coincide, sit on the ends of the segment, or lie outside it.
    rng = np.random.default_rng(11)
    cases = [(rng.normal(size=(4, 1)), rng.normal(size=4) * 0.5) for _ in range(20)]
    cases += [
        (np.array([[1.0], [2.0], [-1.0]]), np.array([0.0, 0.0, 0.0])),
        (np.array([[1.0], [1.0]]), np.array([1.0, -1.0])),
        (np.array([[3.0], [-0.5]]), np.array([9.0, 2.0])),
    ]
    for a, c in cases:
        fast, general = cells._segments(a, c, -1.0, 1.0), cells._cut_and_pull(a, c, -1.0, 1.0)

        def by_firing(geo):
            out = {}
            for k, cell in enumerate(geo.cell):
                key = tuple(geo.firing[cell])
                out[key] = out.get(key, 0.0) + geo.volume[k]
            return out

        f, g = by_firing(fast), by_firing(general)
        assert f.keys() == g.keys(), (a.ravel(), c)
        for key in f:
            assert f[key] == pytest.approx(g[key], rel=1e-12, abs=1e-15)


def test_fan_is_the_general_cells():
    # Lines through the origin of a square around it: the angular shortcut
    # against the general cutting, with lines through corners and repeated lines.
    rng = np.random.default_rng(12)
    cases = [rng.normal(size=(h, 2)) for h in (1, 2, 3, 5) for _ in range(5)]
    cases += [
        np.array([[1.0, 1.0], [1.0, -1.0]]),
        np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]]),
        np.array([[0.3, -0.7], [-0.6, 1.4]]),
    ]
    for a in cases:
        for low, high in ((-1.0, 1.0), (-0.5, 2.0)):
            c = np.zeros(len(a))
            fast, general = cells._fan(a, low, high), cells._cut_and_pull(a, c, low, high)
            assert fast.volume.sum() == pytest.approx((high - low) ** 2, rel=1e-12)
            for j in range(len(a)):
                for side in (False, True):
                    f = fast.volume[fast.firing[fast.cell, j] == side].sum()
                    g = general.volume[general.firing[general.cell, j] == side].sum()
                    assert f == pytest.approx(g, rel=1e-12, abs=1e-14), (a, j, side)


def test_cone_is_the_general_cells():
    # Planes through the origin of a cube around it: the cone shortcut against
    # the general cutting, with planes through edges and corners and repeated planes.
    rng = np.random.default_rng(13)
    cases = [rng.normal(size=(h, 3)) for h in (1, 2, 3, 5) for _ in range(4)]
    cases += [
        np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, -1.0]]),
        np.array([[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]),
        np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]),
    ]
    for a in cases:
        for low, high in ((-1.0, 1.0), (-0.5, 2.0)):
            c = np.zeros(len(a))
            fast, general = cells._cone(a, low, high), cells._cut_and_pull(a, c, low, high)
            assert fast.volume.sum() == pytest.approx((high - low) ** 3, rel=1e-12)
            for pattern in {tuple(f) for f in general.firing} | {tuple(f) for f in fast.firing}:
                f = fast.volume[(fast.firing[fast.cell] == pattern).all(1)].sum()
                g = general.volume[(general.firing[general.cell] == pattern).all(1)].sum()
                assert f == pytest.approx(g, rel=1e-11, abs=1e-13), (a, pattern)


def test_a_face_made_degenerate_by_rounding_is_triangulated_at_each_of_its_dimensions():
    """Eight planes in four dimensions, two per feature almost coinciding (a free 4 x 8 model's
    search met them): a face is reached as a facet of faces of two dimensions, and was once
    triangulated for one and reused for the other (simplices of the wrong size)."""
    a = np.array(
        [
            [0.9926623014130982, -4.664524727360231e-06, 2.8306643073960913e-06, 3.028776731639482e-07],
            [-0.9977362805578771, 9.885616378824125e-07, 3.4288605021970398e-06, -2.0697623561716227e-06],
            [9.766125081966948e-07, -1.7852723743772003e-08, 1.002961137028791, 1.1859333071129186e-06],
            [4.18698656190486e-06, 1.3631689661508517e-06, -1.0023411756353688, -3.1564050217980366e-07],
            [6.123908569577452e-06, -3.7129045082906487e-07, 1.537709339771709e-05, 0.9987916450028607],
            [2.2528290237744386e-06, -4.227113876709154e-06, 1.5192843168421177e-05, -0.9992922759643328],
            [-1.3049286611277466e-05, 0.9963232692158144, -6.140203520743626e-06, 8.030617664189776e-06],
            [-1.5505131401027938e-06, -0.9981863959504977, -1.9033346880803492e-06, 1.8645348731638478e-07],
        ]
    )
    geo = arrangement(a, np.zeros(8), -1.0, 1.0)
    assert geo.simplices.shape[1] == 5
    # Rounding loses slivers between the almost coinciding planes: about 1e-8 of the volume.
    assert abs(geo.volume.sum() - 16) < 1e-6
