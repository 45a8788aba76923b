"""Monte Carlo estimate of the expected loss: the independent ground truth.

``L = E[ sum_i I_i (y_i - y'_i)^2 ]`` for ``y' = out(W2 hid(W1 x + b1) + b2)``,
estimated by plain sampling of ``x`` from the feature law. Nothing here uses the
closed forms, so agreement between the two is real evidence.

>>> from analytic import Circuit, SparseUniform
>>> r = monte_carlo_loss(Circuit([[1]], [[1]]), SparseUniform(0), samples=100_000)
>>> abs(r.zscore(1 / 6)) < 5          # E[(|x| - ReLU(x))^2] = 1/6 on [-1, 1]
True
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from analytic.circuit import Circuit
from analytic.errors import SuperlossError
from analytic.laws import OneHot, SparseUniform


@dataclass(frozen=True)
class MonteCarloResult:
    """Sample mean of the per-sample loss and its standard error.

    >>> MonteCarloResult(mean=1.0, stderr=0.5, samples=10, seed=0).zscore(2.0)
    2.0
    """

    mean: float
    stderr: float
    samples: int
    seed: int

    def zscore(self, value: float) -> float:
        """``(value - mean) / stderr``: how many standard errors ``value`` is off.

        With ``stderr == 0`` (a loss that is constant, e.g. exactly 0) the answer
        is ``0.0`` if ``value`` equals ``mean`` to 1e-12 (relative, or absolute
        near zero, so that a float closed form of 1e-17 still matches 0), else
        ``+-inf``.
        """
        diff = float(value) - self.mean
        if self.stderr > 0:
            return diff / self.stderr
        if abs(diff) <= 1e-12 * max(1.0, abs(float(value)), abs(self.mean)):
            return 0.0
        return math.copysign(math.inf, diff)

    def __str__(self) -> str:
        return f"{self.mean:.6g} ± {self.stderr:.2g} (Monte Carlo, {self.samples} samples, seed {self.seed})"


def forward(W1: np.ndarray, W2: np.ndarray, b1: np.ndarray, b2: np.ndarray, x: np.ndarray,
            hidden: str = "relu", output: str = "relu") -> np.ndarray:
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


def _float(expr, what: str) -> float:
    try:
        value = float(expr)
    except (TypeError, ValueError):
        free = getattr(expr, "free_symbols", None)
        detail = f"symbols {sorted(s.name for s in free)} are not set" if free else f"{expr!r} is not a real number"
        raise SuperlossError(f"{what}: {detail}") from None
    if not math.isfinite(value):
        raise SuperlossError(f"{what} is not finite: {expr}")
    return value


def _array(exprs, what: str) -> np.ndarray:
    return np.array([_float(e, what) for e in exprs], dtype=np.float64)


def _sparsity(exprs) -> np.ndarray:
    S = _array(exprs, "sparsity")
    if np.any((S < 0) | (S > 1)):
        raise SuperlossError(f"sparsity must lie in [0, 1], got {S.tolist()}")
    return S


def sample_features(law, n: int, size: int, rng: np.random.Generator,
                    sparsity: Sequence[float] | None = None) -> np.ndarray:
    """Draw ``size`` feature vectors of length ``n`` from ``law``: an array (size, n).

    ``sparsity`` overrides the law's per-feature sparsity with numbers, for a
    law whose sparsity is symbolic.

    >>> x = sample_features(OneHot(), 3, 4, np.random.default_rng(0))
    >>> x.shape, bool(((x != 0).sum(axis=1) == 1).all())
    ((4, 3), True)
    """
    low, high = float(law.low), float(law.high)
    values = rng.uniform(low, high, size=(size, n))
    if isinstance(law, SparseUniform):
        S = _sparsity(law.sparsity_of(n)) if sparsity is None else np.asarray(sparsity, dtype=np.float64)
        active = rng.random((size, n)) >= S        # P(active) = 1 - S_i, exactly 0 when S_i = 1
        return np.where(active, values, 0.0)
    if isinstance(law, OneHot):
        # Keep only the value of one uniformly chosen feature per row.
        chosen = rng.integers(n, size=size)
        x = np.zeros((size, n))
        rows = np.arange(size)
        x[rows, chosen] = values[rows, chosen]
        return x
    raise SuperlossError(f"unknown feature law {law!r}; expected SparseUniform or OneHot")


def _substitution(needed: set, values: Mapping | None) -> dict:
    """``{symbol: float}`` for every needed symbol, matching ``values`` keys by name."""
    by_name: dict[str, object] = {}
    for key, value in (values or {}).items():
        name = key.name if isinstance(key, sp.Symbol) else str(key)
        if name in by_name and by_name[name] != value:
            raise SuperlossError(f"values gives symbol {name} twice")
        by_name[name] = value
    missing = sorted({s.name for s in needed} - by_name.keys())
    if missing:
        raise SuperlossError(f"values must fix every free symbol; missing: {', '.join(missing)}")
    for name, value in by_name.items():
        if isinstance(value, str):
            # Text never reaches sympify: parse it with analytic.expression first.
            raise SuperlossError(f"value of {name} is text ({value!r}); give a number")
    return {s: _float(sp.sympify(by_name[s.name]), f"value of {s.name}") for s in needed}


def _importances(importance, n: int) -> list:
    if importance is None:
        return [1] * n
    if isinstance(importance, str) or any(isinstance(i, str) for i in np.ravel(np.asarray(importance, dtype=object))):
        raise SuperlossError("importance is text; give numbers or SymPy expressions")
    if isinstance(importance, (numbers.Number, sp.Expr)):
        return [importance] * n
    items = list(importance)
    if len(items) != n:
        raise SuperlossError(f"importance has {len(items)} entries for {n} features")
    return [sp.sympify(i) for i in items]


def monte_carlo_loss(circuit: Circuit, law, importance=None, values: Mapping | None = None, *,
                     samples: int = 1_000_000, seed: int = 0, batch: int = 200_000) -> MonteCarloResult:
    """Estimate ``E[sum_i I_i (y_i - y'_i)^2]`` from ``samples`` draws of ``x ~ law``.

    ``importance`` is ``None`` (all 1), one value or one per feature. ``values``
    maps symbols (or their names) to numbers and must fix every free symbol of
    the circuit, the law's sparsity and the importances. The result depends only
    on ``(seed, samples, batch)``: the same ones give bit-identical numbers.

    >>> from analytic import Circuit, SparseUniform, sym
    >>> r = monte_carlo_loss(Circuit([[sym("w")]], [[1]]), SparseUniform(sym("S")),
    ...                      values={"w": 1, "S": 0.5}, samples=10_000)
    >>> r.samples, r.mean > 0
    (10000, True)
    """
    if not isinstance(law, (SparseUniform, OneHot)):
        raise SuperlossError(f"unknown feature law {law!r}; expected SparseUniform or OneHot")
    if not (isinstance(samples, numbers.Integral) and samples >= 2):
        raise SuperlossError(f"samples must be an integer >= 2, got {samples!r}")
    if not (isinstance(batch, numbers.Integral) and batch >= 1):
        raise SuperlossError(f"batch must be a positive integer, got {batch!r}")
    n, m = circuit.n, circuit.m
    I_exprs = _importances(importance, n)
    S_exprs = law.sparsity_of(n) if isinstance(law, SparseUniform) else ()
    needed = set(circuit.symbols) | set(getattr(law, "symbols", ()))
    for e in (*I_exprs, *S_exprs):
        needed |= sp.sympify(e).free_symbols
    subs = _substitution(needed, values)

    def numeric(exprs, what: str) -> np.ndarray:
        return _array([sp.sympify(e).subs(subs) for e in exprs], what)

    W1 = numeric(circuit.W1, "W1").reshape(m, n)
    W2 = numeric(circuit.W2, "W2").reshape(n, m)
    b1, b2 = numeric(circuit.b1, "b1"), numeric(circuit.b2, "b2")
    I = numeric(I_exprs, "importance")
    if np.any(I < 0):
        raise SuperlossError(f"importances must be >= 0, got {I.tolist()}")
    S = None
    if isinstance(law, SparseUniform):
        S = _sparsity([sp.sympify(e).subs(subs) for e in S_exprs])

    rng = np.random.default_rng(seed)
    count, mean, m2 = 0, 0.0, 0.0
    while count < samples:
        size = min(batch, samples - count)
        x = sample_features(law, n, size, rng, sparsity=S)
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
    return MonteCarloResult(mean=mean, stderr=stderr, samples=int(count), seed=seed)
