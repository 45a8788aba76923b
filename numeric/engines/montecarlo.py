"""Monte Carlo estimate of the expected loss: the independent ground truth.

``L = E[ sum_i I_i (y_i - y'_i)^2 ]`` for ``y' = out(W2 hid(W1 x + b1) + b2)``,
estimated by plain sampling of ``x`` from the feature law
(:meth:`analytic.laws.FeatureLaw.sample`). Nothing here uses the closed forms,
so agreement between the two is real evidence.

>>> from analytic import Circuit, Problem, SparseUniform
>>> r = monte_carlo_loss(Problem(Circuit([[1]], [[1]]), SparseUniform(0)), samples=100_000)
>>> r.agrees(1 / 6)          # E[(|x| - ReLU(x))^2] = 1/6 on [-1, 1]
True
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from analytic import Problem, SuperlossError

from ..rounding import tolerance

__all__ = ["MonteCarloResult", "forward", "monte_carlo_loss"]

#: A closed form agrees with a Monte Carlo estimate when it is fewer standard errors away.
Z_MAX = 5.0


@dataclass(frozen=True)
class MonteCarloResult:
    """Sample mean of the per-sample loss and its standard error.

    ``tolerance`` is what counts as zero to rounding for this loss
    (:func:`numeric.rounding.tolerance`): a standard error below it means that
    every sample gave the same loss (a perfect fit, say), and a value is then
    compared with the mean by that absolute tolerance instead of a z-score.

    >>> MonteCarloResult(mean=1.0, stderr=0.5, samples=10, seed=0).zscore(2.0)
    2.0
    >>> MonteCarloResult(mean=0.0, stderr=1e-33, samples=10, seed=0, tolerance=1e-15).compare(-5.5e-17)
    'zero variance: agrees within 1e-15'
    """

    mean: float
    stderr: float
    samples: int
    seed: int
    tolerance: float = 0.0

    @property
    def zero_variance(self) -> bool:
        """Whether every sample gave the same loss, up to rounding."""
        return self.stderr <= self.tolerance

    def zscore(self, value: float) -> float | None:
        """``(value - mean) / stderr``: how many standard errors ``value`` is off;
        ``None`` when the variance is zero to rounding (see :meth:`agrees`)."""
        return None if self.zero_variance else (float(value) - self.mean) / self.stderr

    def agrees(self, value: float, z_max: float = Z_MAX) -> bool:
        """Whether ``value`` agrees with the estimate: ``|z| < z_max``, or within the
        tolerance when the variance is zero to rounding."""
        z = self.zscore(value)
        return abs(float(value) - self.mean) <= self.tolerance if z is None else abs(z) < z_max

    def compare(self, value: float) -> str:
        """The agreement of ``value`` in words: ``z = +0.31``, or the zero-variance verdict."""
        z = self.zscore(value)
        if z is not None:
            return f"z = {z:+.2f}"
        verdict = "agrees" if self.agrees(value) else f"DIFFERS by {abs(float(value) - self.mean):.3g}"
        return f"zero variance: {verdict} within {self.tolerance:.2g}"

    def to_dict(self, value: float) -> dict:
        """The estimate as JSON-ready data, with ``value``'s z-score and whether it agrees."""
        return {
            "mean": self.mean,
            "stderr": self.stderr,
            "samples": self.samples,
            "seed": self.seed,
            "zscore": self.zscore(value),
            "agrees": self.agrees(value),
        }

    def __str__(self) -> str:
        return f"{self.mean:.6g} ± {self.stderr:.2g} (Monte Carlo, {self.samples} samples, seed {self.seed})"


def forward(
    W1: np.ndarray,
    W2: np.ndarray,
    b1: np.ndarray,
    b2: np.ndarray,
    x: np.ndarray,
    hidden: str = "relu",
    output: str = "relu",
) -> np.ndarray:
    """``y' = out(W2 hid(W1 x + b1) + b2)`` for a batch ``x`` of shape (size, n).

    >>> forward(np.eye(2), np.eye(2), np.zeros(2), np.zeros(2), np.array([[1.0, -2.0]]))
    array([[1., 0.]])
    """
    h = x @ W1.T + b1
    if hidden == "relu":
        h = np.maximum(h, 0.0)
    y = h @ W2.T + b2
    if output == "relu":
        y = np.maximum(y, 0.0)
    return y


def _array(exprs, what: str) -> np.ndarray:
    values = np.array([float(e) for e in exprs], dtype=np.float64)
    if not np.all(np.isfinite(values)):
        raise SuperlossError(f"{what} is not finite: {values.tolist()}")
    return values


def monte_carlo_loss(
    problem: Problem, *, samples: int = 1_000_000, seed: int = 0, batch: int = 200_000
) -> MonteCarloResult:
    """Estimate ``E[sum_i I_i (y_i - y'_i)^2]`` from ``samples`` draws of ``x ~ law``.

    Every symbol of the problem must be fixed (``problem.fix(point)`` fixes the
    free parameters at a point). The result depends only on ``(seed, samples,
    batch)``: the same ones give bit-identical numbers.

    >>> from analytic import Circuit, Problem, SparseUniform, sym
    >>> problem = Problem(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")), fixed={"w": 1, "S": 0.5})
    >>> r = monte_carlo_loss(problem, samples=10_000)
    >>> r.samples, r.mean > 0
    (10000, True)
    """
    if not isinstance(problem, Problem):
        raise SuperlossError(f"expected an analytic.Problem, got {type(problem).__name__}")
    if not (isinstance(samples, numbers.Integral) and samples >= 2):
        raise SuperlossError(f"samples must be an integer >= 2, got {samples!r}")
    if not (isinstance(batch, numbers.Integral) and batch >= 1):
        raise SuperlossError(f"batch must be a positive integer, got {batch!r}")
    problem.require("Monte Carlo", params=False)
    circuit = problem.circuit
    n, m = circuit.n, circuit.m
    subs = {s: float(v) for s, v in problem.fixed.items()}

    def numeric(exprs, what: str) -> np.ndarray:
        return _array([e.subs(subs) for e in exprs], what)

    W1 = numeric(circuit.W1, "W1").reshape(m, n)
    W2 = numeric(circuit.W2, "W2").reshape(n, m)
    b1, b2 = numeric(circuit.b1, "b1"), numeric(circuit.b2, "b2")
    I = numeric(problem.importance, "importance")
    law = problem.law.subs(subs)

    rng = np.random.default_rng(seed)
    count, mean, m2 = 0, 0.0, 0.0
    while count < samples:
        size = min(batch, samples - count)
        x = law.sample(n, size, rng)
        y = np.abs(x) if circuit.target == "abs" else x
        loss = ((y - forward(W1, W2, b1, b2, x, circuit.hidden, circuit.output)) ** 2) @ I
        # Chan et al.'s merge of (count, mean, M2): stable, no large cancelling sums.
        b_mean = float(loss.mean())
        b_m2 = float(((loss - b_mean) ** 2).sum())
        total = count + size
        delta = b_mean - mean
        mean += delta * size / total
        m2 += b_m2 + delta * delta * count * size / total
        count = total
    stderr = math.sqrt(m2 / (count - 1) / count)
    return MonteCarloResult(mean=mean, stderr=stderr, samples=int(count), seed=seed, tolerance=tolerance(problem))
