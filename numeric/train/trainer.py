"""The training loop: :class:`Trainer` holds every instance's state and steps them all at once,
:func:`train` runs it to the end; with the seeding, by which an instance's weights depend on
its own seed only.

Every instance (one seed, one sparsity, one importance vector) trains at once,
in one batched array computation: every array has a leading instance axis, and
the products are ``np.matmul`` over stacked matrices.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from tqdm import tqdm

from analytic import SparseUniform, SuperlossError
from analytic.problem import importances as checked_importances

from .checks import is_int, is_real
from .config import DTYPES, TrainConfig
from .models import MODELS
from .optimizers import Adam
from .result import LossEstimate, TrainResult

# --- seeding ------------------------------------------------------------------------

# Every random stream is a child of the instance seed's SeedSequence, by role:
# initialization and data never share a stream, whatever else is drawn.
_INIT, _DATA = 0, 1


def _generator(seed: int, role: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(role,))))


# --- training -------------------------------------------------------------------------


def _instances(n: int, m: int, sparsities, importances, seeds):
    """Validated ``(seeds, sparsities, importances)``, each one entry per list item."""
    for name, value in (("n", n), ("m", m)):
        if not is_int(value) or value <= 0:
            raise SuperlossError(f"{name} must be an integer > 0, got {value!r}")
    seeds = [seeds] if is_int(seeds) else list(seeds)
    if not seeds or not all(is_int(s) and s >= 0 for s in seeds):
        raise SuperlossError(f"seeds must be a non-empty list of integers >= 0, got {seeds!r}")
    sparsities = [sparsities] if isinstance(sparsities, numbers.Real) else list(sparsities)
    if not sparsities or not all(is_real(S) for S in sparsities):
        raise SuperlossError(f"sparsities must be a non-empty list of numbers in [0, 1], got {sparsities!r}")
    for S in sparsities:
        SparseUniform(S)  # in [0, 1], with the message every part of superloss gives
    try:
        I = np.array(importances, dtype=np.float64)
    except (TypeError, ValueError):
        raise SuperlossError("importances must be a list of vectors of numbers, one number per feature") from None
    if I.ndim == 1:
        I = I[None, :]  # one vector given
    if I.ndim != 2 or I.shape[0] == 0 or I.shape[1] != n:
        raise SuperlossError(f"importances must be a non-empty list of vectors of {n} numbers, got shape {I.shape}")
    for vector in I.tolist():
        checked_importances(vector, [str(i) for i in range(n)])  # finite and >= 0, as a problem checks them
    return seeds, [float(S) for S in sparsities], I


class Trainer:
    """The training state of every instance; :func:`train` is a loop over :meth:`step`.

    Instances are the product ``seeds x sparsities x importances``, seed-major:
    instance ``k = (i_seed * len(sparsities) + i_S) * len(importances) + i_I``.

    Seeds: the seed ``s`` of an instance gives two independent streams,
    ``SeedSequence(s, spawn_key=(0,))`` for its initialization and
    ``SeedSequence(s, spawn_key=(1,))`` for its data (PCG64). So an instance's
    initial weights depend on its seed only, and each step's features are one
    draw ``u, v ~ U[0, 1)^(n x batch)`` per seed (``u`` first, in one call),
    ``x = low + (high - low) v`` where ``u >= S``, else 0: instances with the
    same seed see the same draws (common random numbers across sparsities and
    importances), and no instance's data depends on another seed. Every array operation is per instance, so
    instance ``k`` trains the same whatever else is in the batch (the tests check
    this, bit for bit).

    >>> t = Trainer("reconstruction", 2, 1, [0.0], [[1, 1]], [0], TrainConfig(steps=10, batch=8))
    >>> t.step().shape, t.weights["W"].shape
    ((1,), (1, 1, 2))
    """

    def __init__(
        self,
        model: str,
        n: int,
        m: int,
        sparsities: Sequence[float] | float,
        importances: Sequence[Sequence[float]] | Sequence[float],
        seeds: Sequence[int] | int,
        config: TrainConfig = TrainConfig(),
    ):
        if model not in MODELS:
            raise SuperlossError(f"model={model!r} is not one of {', '.join(MODELS)}")
        if not isinstance(config, TrainConfig):
            raise SuperlossError(f"config must be a TrainConfig, got {type(config).__name__}")
        seed_list, S_list, I = _instances(n, m, sparsities, importances, seeds)
        self.model, self.n, self.m, self.config = model, n, m, config
        self._spec = MODELS[model]
        dtype = DTYPES[config.dtype]
        per_seed = len(S_list) * len(I)
        self.seeds = np.repeat(np.array(seed_list, dtype=np.int64), per_seed)
        self.sparsities = np.tile(np.repeat(S_list, len(I)), len(seed_list))
        self.importances = np.tile(I, (len(seed_list) * len(S_list), 1))
        K = len(self.seeds)

        inits = [self._spec.init(_generator(s, _INIT), n, m) for s in seed_list]
        self.weights = {
            name: np.repeat(np.stack([w[name] for w in inits]), per_seed, axis=0).astype(dtype)
            for name in self._spec.names
        }
        self.optimizer = Adam.from_config([self.weights[name] for name in self._spec.names], config)

        self._rngs = [_generator(s, _DATA) for s in seed_list]
        B = config.batch
        # Buffers reused every step; shapes (seeds, sparsities, importances, n, batch) flatten to (K, n, batch).
        # One draw per seed and step fills both u (activity) and v (value): one call, not two.
        self._uv = np.empty((len(seed_list), 2, 1, n, B), dtype)
        self._u, self._v = self._uv[:, 0:1], self._uv[:, 1:2]
        self._threshold = np.array(S_list, dtype=dtype).reshape(1, -1, 1, 1, 1)
        self._active = np.empty((len(seed_list), len(S_list), 1, n, B), bool)
        self._x = np.empty((len(seed_list), len(S_list), len(I), n, B), dtype)
        self._target = np.empty_like(self._x) if self._spec.target == "abs" else self._x
        self._I = self.importances.astype(dtype)
        self._workspace: dict[str, np.ndarray] = {}

        self.step_count = 0
        self._window_sum, self._window_count = np.zeros(K), 0
        self._history_steps: list[int] = []
        self._history: list[np.ndarray] = []
        self._final = np.empty((config.final_steps, K))

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """One batch of features and targets, each of shape (K, n, batch): samples are
        columns. Both are views of buffers that the next call overwrites."""
        for rng, uv in zip(self._rngs, self._uv, strict=True):
            rng.random(out=uv, dtype=uv.dtype)
        v = self._v
        v *= self._spec.high - self._spec.low
        v += self._spec.low
        np.greater_equal(self._u, self._threshold, out=self._active)
        np.multiply(self._active, v, out=self._x)  # an inactive entry may be -0.0, which equals 0
        if self._target is not self._x:
            np.abs(self._x, out=self._target)
        shape = (len(self.seeds), self.n, self.config.batch)
        return self._x.reshape(shape), self._target.reshape(shape)

    def step(self) -> np.ndarray:
        """One optimizer step of every instance; their batch losses before it, shape (K,)."""
        config, t = self.config, self.step_count
        if t >= config.steps:
            raise SuperlossError(f"training is over: all {config.steps} steps are done")
        x, target = self.sample()
        loss, grads = self._spec.loss_and_grads(self.weights, x, target, self._I, self._workspace)
        self.optimizer.update(grads, t)
        self.step_count = t + 1
        self._window_sum += loss
        self._window_count += 1
        if self.step_count % config.history_interval == 0 or self.step_count == config.steps:
            self._history_steps.append(self.step_count)
            self._history.append(self._window_sum / self._window_count)
            self._window_sum, self._window_count = np.zeros_like(self._window_sum), 0
        tail = t - (config.steps - config.final_steps)
        if tail >= 0:
            self._final[tail] = loss
        return loss

    def result(self) -> TrainResult:
        """The result after all steps."""
        if self.step_count < self.config.steps:
            raise SuperlossError(f"training is not over: {self.step_count} of {self.config.steps} steps done")
        final = self._final
        if len(final) > 1:
            stderr = final.std(axis=0, ddof=1) / math.sqrt(len(final))
        else:
            stderr = np.full(len(self.seeds), np.nan)
        return TrainResult(
            model=self.model,
            n=self.n,
            m=self.m,
            config=self.config,
            seeds=self.seeds,
            sparsities=self.sparsities,
            importances=self.importances,
            weights={name: w.copy() for name, w in self.weights.items()},
            history_steps=np.array(self._history_steps, dtype=np.int64),
            history=np.array(self._history),
            final_estimate=LossEstimate(final.mean(axis=0), stderr, len(final)),
        )


def train(
    model: str,
    n: int,
    m: int,
    sparsities: Sequence[float] | float,
    importances: Sequence[Sequence[float]] | Sequence[float],
    seeds: Sequence[int] | int = (0,),
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
) -> TrainResult:
    """Train ``model`` (``"hidden"`` or ``"reconstruction"``) with ``n`` features and
    ``m`` neurons, one instance per ``(seed, S, importance vector)``, all at once.

    ``importances`` is a list of vectors of ``n`` numbers (or one vector). The same
    arguments give bit-identical weights; see :class:`Trainer` for the seeding.
    ``progress`` shows a progress bar (tqdm, on standard error).

    >>> r = train("reconstruction", 2, 1, [0.0], [1, 1], seeds=[3], config=TrainConfig(steps=20, batch=16),
    ...           progress=False)
    >>> r.seeds.tolist(), r.sparsities.tolist(), r.importance(0)
    ([3], [0.0], [1.0, 1.0])
    """
    trainer = Trainer(model, n, m, sparsities, importances, seeds, config)
    with tqdm(total=config.steps, disable=not progress, desc=f"train {model}", unit="step") as bar:
        for _ in range(config.steps):
            loss = trainer.step()
            if trainer.step_count % config.history_interval == 0:
                bar.set_postfix(loss=f"{float(np.mean(loss)):.4g}", refresh=False)
            bar.update()
    return trainer.result()
