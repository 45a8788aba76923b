"""The loss by number of active features: exact for few, bounded and estimated for the rest.

For numeric weights of the abs-value model ``y' = ReLU(W2 ReLU(W1 x) + b)`` (features uniform
on ``[-1, 1]``, feature ``i`` active with probability ``p_i = 1 - S_i``),

    L = sum_k sum_{|A| = k} P(A) L_A,

with ``L_A`` the loss given exactly the features in ``A`` active. :func:`decompose` computes the
terms with ``|A| <= k`` exactly (:mod:`.patterns`), bounds the rest rigorously from above
(:mod:`.bound`), and estimates it by Monte Carlo conditioned on more than ``k`` active, drawn
exactly (:mod:`.activity`): a stratified estimate of the total whose only error is that of
the rest. Beside it, plain Monte Carlo's standard error at the same number of samples and at
the same wall time. At the sparse end most of the loss is exact; at density 0.1 and denser
almost none is, and the decomposition is then honest Monte Carlo, which its shares say.

>>> rng = np.random.default_rng(0)
>>> W1, W2, b = rng.normal(size=(4, 6)), rng.normal(size=(6, 4)) / 2, np.full(6, -0.1)
>>> d = decompose(W1, W2, b, sparsity=0.95, importance=0.8 ** np.arange(6), samples=20_000, seed=0)
>>> f"{d.probability:.4f}", d.rest <= d.bound
('0.9978', True)
"""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import partial
from itertools import combinations

import numpy as np

from analytic import NumericalError, SuperlossError

from .activity import Activity
from .bound import rest_bound
from .patterns import PatternLosses, pattern_losses, triple_losses
from .scheduler import Runner, runner

__all__ = [
    "Activity",
    "Decomposition",
    "PatternLosses",
    "decompose",
    "pattern_losses",
    "sample_losses",
    "stratified_rest",
    "triple_losses",
]

#: Samples pushed through the network at once.
CHUNK = 20_000


@dataclass(frozen=True)
class Decomposition:
    """What :func:`decompose` found. ``exact``: ``sum_{|A| <= order} P(A) L_A``, and ``by_size[k]``
    its part from patterns of ``k`` active features; ``probability``:
    ``P(at most order active)``; ``bound``: an upper bound on the rest; ``rest`` and
    ``rest_stderr``: its Monte Carlo estimate from ``samples`` draws conditioned on more than
    ``order`` active; ``estimate = exact + rest`` and ``stderr`` (the stratified total);
    ``plain`` and ``plain_stderr``: plain Monte Carlo with the same number of samples, and
    ``plain_stderr_same_time`` scaled to the stratified estimate's wall time; ``patterns``: the
    exact ``L_A`` of at most two features, whose :attr:`interference` matrix shows who
    interferes with whom."""

    order: int
    exact: float
    by_size: tuple[float, ...]
    probability: float
    bound: float
    rest: float
    rest_stderr: float
    plain: float
    plain_stderr: float
    plain_stderr_same_time: float
    samples: int
    seed: int
    seconds: dict = field(default_factory=dict)
    patterns: PatternLosses | None = None

    @property
    def estimate(self) -> float:
        """The stratified estimate of the loss: the exact part plus the rest's estimate."""
        return self.exact + self.rest

    @property
    def stderr(self) -> float:
        """Its standard error: the rest's (the exact part has none)."""
        return self.rest_stderr

    @property
    def exact_share(self) -> float:
        """The share of the estimated loss that is computed exactly."""
        return self.exact / self.estimate if self.estimate else 1.0

    @property
    def interference(self) -> np.ndarray:
        """``J``: ``L_ab - L_a - L_b + L_0`` off the diagonal, ``L_a - L_0`` on it."""
        return self.patterns.interference


def _check(W1, W2, b, importance, p) -> None:
    m, n = W1.shape
    if W2.shape != (n, m) or b.shape != (n,) or importance.shape != (n,) or p.shape != (n,):
        raise SuperlossError(
            f"shapes do not fit: W1 {W1.shape} is m x n, so W2 must be {(n, m)}, b, the importances "
            f"and the sparsities {n} long; got W2 {W2.shape}, b {b.shape}, importances {importance.shape}, "
            f"sparsities {p.shape}"
        )
    for name, x in (("W1", W1), ("W2", W2), ("b", b), ("importance", importance)):
        if not np.all(np.isfinite(x)):
            raise SuperlossError(f"{name} has entries that are not finite numbers")
    if not np.all((p >= 0) & (p <= 1)):
        raise SuperlossError("every sparsity S must lie in [0, 1]")
    if np.any(importance < 0):
        raise SuperlossError("importances must be nonnegative")
    # Every output is at most |b| + m n max|W1| max|W2| on the cube; its square, weighted, must fit in float64.
    logs = [np.log10(1 + np.abs(x).max(initial=0)) for x in (b, W1, W2)]
    largest = max(logs[0], np.log10(m * n) + logs[1] + logs[2]) + np.log10(2)
    if not 2 * largest + np.log10(1 + importance.sum()) < 300:
        raise SuperlossError("the weights are too large for float64: the loss would overflow")


def sample_losses(W1, W2, b, importance, x: np.ndarray) -> np.ndarray:
    """``sum_i I_i (|x_i| - y'_i)^2`` for each row of ``x``."""
    y = np.maximum(np.maximum(x @ W1.T, 0.0) @ W2.T + b, 0.0)
    return ((np.abs(x) - y) ** 2) @ importance


def _chunk_moments(W1, W2, b, importance, law: Activity, more_than: int | None, exact: np.ndarray | None, task):
    """``(count, mean, sum of squared deviations)`` of the loss over one chunk of draws, its random
    stream fixed by ``(seed, stream, chunk)`` alone: the same whichever worker runs it. With
    ``more_than``, the active sets are drawn conditioned on more than that many; a set of exactly
    three features all marked in ``exact`` (computed exactly already) counts 0."""
    seed, stream, chunk, size = task
    rng = np.random.default_rng([seed, stream, chunk])
    if more_than is None:
        active = rng.random((size, len(law.p))) < law.p
    else:
        active = law.sample(rng, size, more_than=more_than)
    x = np.where(active, rng.uniform(-1.0, 1.0, size=active.shape), 0.0)
    losses = sample_losses(W1, W2, b, importance, x)
    if exact is not None:
        losses = np.where((active.sum(1) == 3) & ~(active & ~exact).any(1), 0.0, losses)
    mean = float(losses.mean())
    return size, mean, float(((losses - mean) ** 2).sum())


def _combine(parts) -> tuple[float, float]:
    """Mean and standard error from chunks' moments, combined in order by Chan's formula."""
    count, mean, m2 = 0, 0.0, 0.0
    for size, chunk_mean, chunk_m2 in parts:
        delta = chunk_mean - mean
        m2 += chunk_m2 + delta**2 * count * size / (count + size)
        mean += delta * size / (count + size)
        count += size
    return mean, float(np.sqrt(m2 / (count - 1) / count))


def _tasks(seed: int, stream: int, samples: int) -> list[tuple]:
    """The Monte Carlo chunks of one random stream: ``(seed, stream, chunk, size)``."""
    return [(seed, stream, k, min(CHUNK, samples - k * CHUNK)) for k in range(-(-samples // CHUNK))]


def stratified_rest(
    W1, W2, b, importance, law: Activity, beyond: int, samples: int, seed: int, exact=None, run: Runner | None = None
) -> tuple[float, float]:
    """``E[loss 1{more than beyond active}]`` and its standard error: ``P(more than beyond)`` times
    the mean loss over ``samples`` draws conditioned on it (a set of three features all marked in
    ``exact`` counts 0: those were computed exactly)."""
    event = law.more_than(beyond)
    if event <= 0:
        return 0.0, 0.0
    parts = (run or Runner()).map(
        partial(_chunk_moments, W1, W2, b, importance, law, beyond, exact), _tasks(seed, 0, samples)
    )
    mean, stderr = _combine(parts)
    return float(event * mean), float(event * stderr)


def _leave_out(q: np.ndarray, *indices: np.ndarray) -> np.ndarray:
    """``prod_{i not in A} q_i`` for each pattern ``A``, given as the columns of ``indices``
    (no division, so a ``q_i = 0`` stays exact)."""
    rows = np.stack(indices, axis=1)
    keep = np.ones((len(rows), len(q)), dtype=bool)
    keep[np.arange(len(rows))[:, None], rows] = False
    return np.where(keep, q, 1.0).prod(axis=1)


def decompose(
    W1,
    W2,
    b,
    sparsity,
    importance,
    order: int = 2,
    samples: int = 100_000,
    seed: int = 0,
    top: int | None = None,
    scheduler: str | Runner | None = None,
    workers: int | None = None,
) -> Decomposition:
    """The loss of ``(W1, W2, b)`` split by the number of active features (module docstring).

    ``sparsity`` is one ``S`` or one per feature; ``order`` is 0 to 3 (the patterns computed
    exactly; order 3 by the cell engine, about 0.25 s a triple at n = 100, m = 40, over the
    triples of the ``top`` most important features, all by default); ``samples`` draws
    estimate the rest, and as many the plain Monte Carlo beside it. ``scheduler`` runs the
    pattern sums and the draws on Dask (:mod:`.scheduler`; ``workers`` processes for
    ``"local"``, one per core by default), with the same numbers; an open :class:`Runner`
    is used as it is (a sweep opens one for all its models).
    """
    W1, W2, b, importance = (np.asarray(x, dtype=float) for x in (W1, W2, b, importance))
    if W1.ndim != 2:
        raise SuperlossError(f"W1 must be a matrix (m x n), got shape {W1.shape}")
    n = W1.shape[1]
    S = np.asarray(sparsity, dtype=float)
    if S.ndim > 1 or S.size not in (1, n):
        raise SuperlossError(f"give one sparsity or one per feature ({n}), got {S.size}")
    p = 1 - np.broadcast_to(S, (n,))
    _check(W1, W2, b, importance, p)
    if order not in (0, 1, 2, 3) or order > n:
        raise SuperlossError(f"--order must be 0 to 3 and at most the number of features ({n}), got {order}")
    if not isinstance(samples, int | np.integer) or samples < 2 or not isinstance(seed, int | np.integer) or seed < 0:
        raise SuperlossError(f"need an integer number of samples >= 2 and a seed >= 0, got {samples} and {seed}")
    top = n if top is None else top
    if order == 3 and not 3 <= top <= n:
        raise SuperlossError(f"--top must be from 3 to the number of features ({n}), got {top}")
    law = Activity(p)
    q = 1 - p
    seconds = {}
    opened = nullcontext(scheduler) if isinstance(scheduler, Runner) else runner(scheduler, workers)
    with opened as run:
        start = time.perf_counter()
        patterns = pattern_losses(W1, W2, b, importance, run)
        by_size = [float(np.prod(q)) * patterns.empty]
        if order >= 1:
            by_size.append(float((p * _leave_out(q, np.arange(n))) @ patterns.single))
        if order >= 2:
            a, c = np.triu_indices(n, k=1)
            by_size.append(float((p[a] * p[c] * _leave_out(q, a, c)) @ patterns.pair[a, c]))
        exact_set = None
        if order == 3:
            chosen = np.sort(np.argsort(-importance, kind="stable")[:top])
            triples = np.array(list(combinations(chosen, 3)), dtype=int).reshape(-1, 3)
            values = triple_losses(W1, W2, b, importance, triples, run)
            chance = p[triples].prod(1) * _leave_out(q, *triples.T)
            by_size.append(float(chance @ values))
            if top < n:
                exact_set = np.zeros(n, dtype=bool)
                exact_set[chosen] = True
        exact = float(sum(by_size))
        # The bound on everything beyond the patterns of at most `order` features; with a part of
        # the triples exact, on everything beyond two, less what those triples hold.
        bound = rest_bound(W1, W2, b, importance, law, 2 if exact_set is not None else order)
        if exact_set is not None:
            bound -= by_size[3]
        seconds["exact"] = time.perf_counter() - start

        beyond = 2 if exact_set is not None else order
        start = time.perf_counter()
        rest, rest_stderr = stratified_rest(W1, W2, b, importance, law, beyond, samples, seed, exact_set, run)
        seconds["rest"] = time.perf_counter() - start

        start = time.perf_counter()
        plain, plain_stderr = _combine(
            run.map(partial(_chunk_moments, W1, W2, b, importance, law, None, None), _tasks(seed, 1, samples))
        )
        seconds["plain"] = time.perf_counter() - start
    if not np.isfinite([exact, bound, rest, rest_stderr, plain, plain_stderr]).all():
        raise NumericalError("the loss overflows float64 (weights too large?); nothing was written")
    stratified_time = seconds["exact"] + seconds["rest"]
    same_time = plain_stderr * np.sqrt(seconds["plain"] / stratified_time) if stratified_time > 0 else plain_stderr
    return Decomposition(
        order=order,
        exact=exact,
        by_size=tuple(by_size),
        probability=1 - law.more_than(beyond) + (float(chance.sum()) if exact_set is not None else 0.0),
        bound=float(bound),
        rest=rest,
        rest_stderr=rest_stderr,
        plain=plain,
        plain_stderr=plain_stderr,
        plain_stderr_same_time=float(same_time),
        samples=samples,
        seed=seed,
        seconds=seconds,
        patterns=patterns,
    )
