"""What training gives: :class:`TrainResult` (the weights, the instance table, the loss history
and the final :class:`LossEstimate`), saved to a folder and read back exactly.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from analytic import Circuit, SparseUniform, SuperlossError, expected_loss

from ..files import atomic, write_atomically
from .checks import is_int
from .config import TrainConfig
from .models import MODELS


@dataclass(frozen=True)
class LossEstimate:
    """Per instance, the mean training loss over the last 10% of the steps and its
    standard error, each step's batch loss (taken before that step's update)
    counted as one sample: ``stderr = std(ddof=1) / sqrt(steps)`` (NaN for one step).
    The weights move during those steps, so this estimates the loss of the
    weights of the last steps, which a decaying schedule makes the final ones.
    """

    mean: np.ndarray
    stderr: np.ndarray
    steps: int

    def zscore(self, k: int, value: float) -> float:
        """``(value - mean_k) / stderr_k``: how many standard errors ``value`` is off.

        A zero standard error (a constant batch loss) gives 0 if ``value`` equals
        the mean to 1e-12, else +-inf; NaN (one step) gives NaN.

        >>> LossEstimate(np.array([1.0, 3.0]), np.array([0.5, 0.1]), steps=10).zscore(0, 2.0)
        2.0
        """
        diff, stderr = float(value) - float(self.mean[k]), float(self.stderr[k])
        if stderr > 0 or math.isnan(stderr):
            return diff / stderr
        if abs(diff) <= 1e-12 * max(1.0, abs(float(value))):
            return 0.0
        return math.copysign(math.inf, diff)


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Trained weights of every instance, the instance table, the history.

    ``weights[name]`` has the instance axis first (``W1``, ``W2``, ``b`` for
    ``"hidden"``; ``W``, ``b`` for ``"reconstruction"``). Instance ``k`` has seed
    ``seeds[k]``, sparsity ``sparsities[k]`` and importance ``importances[k]``.
    ``history[j, k]`` is instance ``k``'s mean batch loss over the steps up to
    ``history_steps[j]`` since the previous point.

    >>> from numeric.train import train
    >>> r = train("hidden", 2, 1, [0.5], [1, 1], seeds=[0], config=TrainConfig(steps=10, batch=8), progress=False)
    >>> r.circuit(0)
    Circuit(n=2, m=1, hidden='relu', output='relu', target='abs', symbols=[])
    >>> r.law(0), r.importance(0), r.history_steps.tolist()
    (SparseUniform(sparsity=0.500000000000000, low=-1, high=1), [1.0, 1.0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    """

    model: str
    n: int
    m: int
    config: TrainConfig
    seeds: np.ndarray
    sparsities: np.ndarray
    importances: np.ndarray
    weights: dict[str, np.ndarray]
    history_steps: np.ndarray
    history: np.ndarray
    final_estimate: LossEstimate

    @property
    def instances(self) -> int:
        """How many instances were trained."""
        return len(self.seeds)

    def _weights(self, k: int) -> dict[str, np.ndarray]:
        if not is_int(k) or not 0 <= k < self.instances:
            raise SuperlossError(f"instance {k!r} does not exist; there are {self.instances}")
        return {name: w[k] for name, w in self.weights.items()}

    def circuit(self, k: int) -> Circuit:
        """Instance ``k`` as an :class:`analytic.Circuit` with its float weights."""
        return MODELS[self.model].circuit(self._weights(k))

    def law(self, k: int) -> SparseUniform:
        """The feature law instance ``k`` was trained on."""
        self._weights(k)
        model = MODELS[self.model]
        return SparseUniform(float(self.sparsities[k]), low=model.low, high=model.high)

    def exact_loss(self, k: int) -> float:
        """The exact expected loss of instance ``k`` (its weights are numbers: the float engine)."""
        return float(expected_loss(self.circuit(k), self.law(k), self.importance(k)).expr)

    def importance(self, k: int) -> list[float]:
        """Instance ``k``'s importance vector, one number per feature."""
        self._weights(k)
        return self.importances[k].tolist()

    def table(self) -> list[dict]:
        """One row per instance: seed, sparsity, importance, final loss and its standard error."""
        return [
            {
                "seed": int(s),
                "sparsity": float(S),
                "importance": I.tolist(),
                "final_loss": float(mean),
                "final_stderr": float(se),
            }
            for s, S, I, mean, se in zip(
                self.seeds,
                self.sparsities,
                self.importances,
                self.final_estimate.mean,
                self.final_estimate.stderr,
                strict=True,
            )
        ]

    def save(self, folder: str | os.PathLike) -> None:
        """Write ``result.json`` (config, instances, final estimates, history) and
        ``weights.npz`` into ``folder`` (created if needed), each atomically."""
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SuperlossError(f"cannot create {folder}: {exc.strerror or exc}") from None
        _save_npz(folder / "weights.npz", self.weights)
        record = {
            "model": self.model,
            "n": self.n,
            "m": self.m,
            "config": asdict(self.config),
            "instances": self.table(),
            "final_steps": self.final_estimate.steps,
            "history_steps": self.history_steps.tolist(),
            "history": self.history.tolist(),
        }
        # JSON writes floats by repr, which reads back to the same float64.
        write_atomically(folder / "result.json", json.dumps(record, indent=1) + "\n")

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "TrainResult":
        """The result :meth:`save` wrote into ``folder``, exactly."""
        folder = Path(folder)
        try:
            record = json.loads((folder / "result.json").read_text())
            with np.load(folder / "weights.npz") as data:
                weights = {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise SuperlossError(f"cannot read a training result from {folder}: {exc}") from None
        rows = record["instances"]
        n = record["n"]
        return cls(
            model=record["model"],
            n=n,
            m=record["m"],
            config=TrainConfig(**record["config"]),
            seeds=np.array([r["seed"] for r in rows], dtype=np.int64),
            sparsities=np.array([r["sparsity"] for r in rows], dtype=np.float64),
            importances=np.array([r["importance"] for r in rows], dtype=np.float64).reshape(len(rows), n),
            weights={name: weights[name] for name in MODELS[record["model"]].names},
            history_steps=np.array(record["history_steps"], dtype=np.int64),
            history=np.array(record["history"], dtype=np.float64).reshape(-1, len(rows)),
            final_estimate=LossEstimate(
                np.array([r["final_loss"] for r in rows], dtype=np.float64),
                np.array([r["final_stderr"] for r in rows], dtype=np.float64),
                record["final_steps"],
            ),
        )


def _save_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with atomic(path, binary=True) as handle:
        np.savez(handle, **arrays)
