"""The exact gradient of a loss term (:func:`analytic.simplices.term_gradient`).

Its value must be :func:`term_integral`'s, every entry of the gradient must match
a central finite difference of :func:`term_integral` at generic points, a
one-neuron case is worked by hand, and the ReLU rescaling symmetry must show as
an exact linear relation between the entries.
"""

from __future__ import annotations

import zlib
from itertools import combinations

import numpy as np
import pytest

from analytic.simplices import pattern_gradient, term_gradient, term_integral

CONFIGS = [
    (hidden, output, target)
    for hidden in ("relu", "linear")
    for output in ("relu", "linear")
    for target in ("abs", "identity")
]


def patterns(n: int, sizes=None):
    sizes = range(1, n + 1) if sizes is None else sizes
    return [A for r in sizes for A in combinations(range(n), r)]


def random_network(rng, n: int, m: int, bias: str, sparse: bool = False):
    W1, W2 = rng.normal(size=(m, n)), rng.normal(size=(n, m))
    if sparse:
        # Zeros in W2 leave neurons out of an output's cells (but not out of its
        # gradient); zeros in W1 make planes that vanish on a pattern (constant neurons).
        W1[rng.random((m, n)) < 0.3] = 0.0
        W2[rng.random((n, m)) < 0.3] = 0.0
    if bias == "none":
        return W1, W2, np.zeros(m), np.zeros(n)
    return W1, W2, rng.normal(0, 0.5, m), rng.normal(0, 0.3, n)


@pytest.mark.parametrize("bias", ["none", "some"])
@pytest.mark.parametrize("hidden, output, target", CONFIGS)
def test_value_is_term_integral(hidden, output, target, bias):
    # crc32, not hash(): Python salts string hashes per process, so hash() drew other networks every run.
    rng = np.random.default_rng(zlib.crc32(f"{hidden} {output} {target} {bias}".encode()))
    cases = [(3, 5, False, patterns(3)), (3, 5, True, patterns(3)), (4, 6, False, [(0, 2), (1, 2, 3), (0, 1, 2, 3)])]
    for n, m, sparse, As in cases:
        W1, W2, b1, b2 = random_network(rng, n, m, bias, sparse)
        for A in As:
            weights = {i: rng.uniform(0.1, 2.0) for i in range(n)}
            together = pattern_gradient(W1, W2, b1, b2, A, hidden, output, target, -1.0, 1.0, weights)
            alone = {i: term_gradient(W1, W2, b1, b2, i, A, hidden, output, target, -1.0, 1.0) for i in range(n)}
            for i, (value, dW1, dW2, db1, db2) in alone.items():
                exact = term_integral(W1, W2, b1, b2, i, A, hidden, output, target, -1.0, 1.0)
                assert abs(value - exact) <= 1e-12 * abs(exact) + 1e-15, (n, sparse, A, i, value, exact)
                assert (dW1.shape, dW2.shape, db1.shape, db2.shape) == (W1.shape, W2.shape, b1.shape, b2.shape)
            # All outputs integrated together: the weighted sum of the outputs integrated alone.
            for k, part in enumerate(together):
                expected = sum(w * alone[i][k] for i, w in weights.items())
                # An entry that is exactly zero comes out as rounding of order-one contributions that
                # cancel: up to about 2e-13 here (seen on networks an earlier salted seed drew).
                np.testing.assert_allclose(part, expected, rtol=1e-10, atol=1e-12)
        # Processing the simplices in small chunks changes nothing but rounding.
        one = term_gradient(W1, W2, b1, b2, 0, As[-1], hidden, output, target, -1.0, 1.0)
        small = term_gradient(W1, W2, b1, b2, 0, As[-1], hidden, output, target, -1.0, 1.0, chunk=7)
        for a, b in zip(one, small, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)


def finite_difference_errors(W1, W2, b1, b2, i, A, hidden, output, target, low, high, skip=()):
    """The entries whose gradient misses the central difference of term_integral
    (step 1e-6 relative) by more than 1e-6 relative, or 1e-9 absolute per unit of
    the term (the difference's rounding noise is about eps |value| / step)."""
    value, *grads = term_gradient(W1, W2, b1, b2, i, A, hidden, output, target, low, high)
    params = [W1.copy(), W2.copy(), b1.copy(), b2.copy()]
    bad = []
    for p, (P, G) in enumerate(zip(params, grads, strict=True)):
        for idx in np.ndindex(P.shape):
            if (p, idx) in skip:
                continue
            old = P[idx]
            h = 1e-6 * max(1.0, abs(old))
            P[idx] = old + h
            up = term_integral(*params, i, A, hidden, output, target, low, high)
            P[idx] = old - h
            down = term_integral(*params, i, A, hidden, output, target, low, high)
            P[idx] = old
            fd = (up - down) / (2 * h)
            if abs(fd - G[idx]) > 1e-6 * abs(fd) + 1e-9 * (1 + abs(value)):
                bad.append((("W1", "W2", "b1", "b2")[p], idx, G[idx], fd))
    return bad


@pytest.mark.parametrize("seed", range(30))
def test_gradient_matches_finite_differences(seed):
    rng = np.random.default_rng(1000 + seed)
    hidden, output, target = CONFIGS[seed % len(CONFIGS)]
    n, m = (4, 6) if seed % 10 == 9 else (3, 5)
    # Biases (some zeros in the weights) or none at all (dense weights).
    bias, sparse = ("some", seed % 3 == 0) if seed % 4 else ("none", False)
    W1, W2, b1, b2 = random_network(rng, n, m, bias, sparse)
    low, high = (-1.0, 1.0) if seed % 5 else (-0.5, 1.5)
    skip = set()
    if bias == "none" and hidden == "relu" and output == "relu":
        # Without biases z = b2 = 0 on the cell where no neuron fires: the loss
        # has a kink in b2 there (see test_kink_convention).
        skip = {(3, (i,)) for i in range(n)}
    A = patterns(n)[rng.integers(len(patterns(n)))]
    for i in {int(rng.integers(n)), A[-1]}:
        bad = finite_difference_errors(W1, W2, b1, b2, i, A, hidden, output, target, low, high, skip)
        assert not bad, (hidden, output, target, bias, sparse, i, A, bad[:5])


@pytest.mark.parametrize("output, target", [("relu", "abs"), ("linear", "identity")])
def test_constant_neurons(output, target):
    # On A = (1,) neuron 0 sees nothing and fires by its bias alone (and neuron 2
    # is off by its bias); on A = (0,) neuron 1's plane vanishes likewise.
    W1 = np.array([[1.0, 0.0], [0.0, -1.0], [0.7, 0.0]])
    W2 = np.array([[0.7, 1.0, -0.4], [1.0, 0.3, 0.8]])
    b1, b2 = np.array([0.4, 0.1, -0.3]), np.array([-0.2, 0.05])
    for A in patterns(2, sizes=(0, 1, 2)):
        for i in range(2):
            bad = finite_difference_errors(W1, W2, b1, b2, i, A, "relu", output, target, -1.0, 1.0)
            assert not bad, (A, i, bad)


@pytest.mark.parametrize("w", [0.5, -0.7, 1.3, -2.0])
def test_one_neuron_by_hand(w):
    # int_{-1}^{1} (|x| - relu(w x))^2 dx = 2 (1/3 - |w|/3 + w^2/6).
    W1, W2, zero = np.array([[w]]), np.array([[1.0]]), np.zeros(1)
    value, dW1, dW2, db1, db2 = term_gradient(W1, W2, zero, zero, 0, (0,), "relu", "relu", "abs", -1.0, 1.0)
    assert value == pytest.approx(2 * (1 / 3 - abs(w) / 3 + w * w / 6), rel=1e-13)
    assert dW1[0, 0] == pytest.approx(2 * (-np.sign(w) / 3 + w / 3), rel=1e-13)
    # d/dW2 = int 2 (relu(w x) - |x|) relu(w x) = 2 |w| (|w| - 1) / 3.
    assert dW2[0, 0] == pytest.approx(2 * abs(w) * (abs(w) - 1) / 3, rel=1e-13)
    # d/db1 = int_{w x > 0} 2 (w x - |x|) = |w| - 1.
    assert db1[0] == pytest.approx(abs(w) - 1, rel=1e-13)


def test_kink_convention():
    # Without biases the output is exactly zero where the hidden neuron is off,
    # so the loss has a kink in b2 at 0: raising b2 lights the output up on
    # x < 0 too. The gradient takes rho = [z > 0], the side where it is off:
    # the left derivative int_0^1 2 (x/2 - x) = -1/2 (the right one is -3/2).
    W1, W2, zero = np.array([[0.5]]), np.array([[1.0]]), np.zeros(1)
    db2 = term_gradient(W1, W2, zero, zero, 0, (0,), "relu", "relu", "abs", -1.0, 1.0)[4]
    assert db2[0] == pytest.approx(-0.5, rel=1e-13)

    def f(b):
        return term_integral(W1, W2, zero, np.array([b]), 0, (0,), "relu", "relu", "abs", -1.0, 1.0)

    h = 1e-7
    assert (f(0.0) - f(-h)) / h == pytest.approx(-0.5, abs=1e-6)
    assert (f(h) - f(0.0)) / h == pytest.approx(-1.5, abs=1e-6)


@pytest.mark.parametrize("hidden", ["relu", "linear"])
def test_rescaling_symmetry(hidden):
    # Row j of W1 and b1[j] times c, column j of W2 over c: the network is the same,
    # so sum_k W1[j,k] dW1[j,k] + b1[j] db1[j] - sum_i W2[i,j] dW2[i,j] = 0.
    rng = np.random.default_rng(5)
    alive = 0
    for n, m, bias in [(3, 5, "some"), (3, 5, "none"), (4, 6, "some")]:
        W1, W2, b1, b2 = random_network(rng, n, m, bias)
        for A in [(0,), (0, 2), tuple(range(n))]:
            for i, target in [(0, "abs"), (2, "identity")]:
                value, dW1, dW2, db1, db2 = term_gradient(W1, W2, b1, b2, i, A, hidden, "relu", target, -1.0, 1.0)
                inner = (W1 * dW1).sum(1) + b1 * db1
                outer = (W2 * dW2).sum(0)
                scale = np.abs(W1 * dW1).sum(1) + np.abs(b1 * db1) + np.abs(W2 * dW2).sum(0)
                assert np.all(np.abs(inner - outer) <= 1e-10 * scale + 1e-300), (A, i, inner, outer)
                alive += np.count_nonzero(scale)
                # And the value itself is unchanged by such a rescaling.
                c = np.where(np.arange(m) == 1, 2.5, 1.0)
                moved = term_integral(W1 * c[:, None], W2 / c, b1 * c, b2, i, A, hidden, "relu", target, -1.0, 1.0)
                assert moved == pytest.approx(value, rel=1e-12, abs=1e-15)
    assert alive > 50  # not every output is dead
