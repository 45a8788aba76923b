"""The paper's density sweep: ``n = 100`` features in ``m = 40`` neurons, ``I_i = 0.8^i``, trained at
densities ``1 - S`` from 1 to 0.001, then each model taken apart.

:func:`density_sweep` trains every density at once (the numpy trainer, :func:`numeric.train.train`),
then for each model:

- what it carries (:mod:`numeric.superposition`): features per neuron, neurons per feature, the
  features dropped;
- its loss by number of active features and its interference matrix (:mod:`numeric.decomposition`);
- the motif instances and monosemantic neurons the detector finds (:mod:`numeric.detect`): these
  are *detected*, not ground truth; only circuits planted on purpose are that.

:meth:`Sweep.save` writes every model (NPZ and JSON, with its labels), ``sweep.json``, a Markdown
table and the figures.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytic import SuperlossError

from .decomposition import Decomposition, decompose
from .decomposition.scheduler import runner
from .detect import Detection, detect
from .files import atomic, write_atomically
from .superposition import CARRIES, Carrying, carrying
from .train import TrainConfig, train

__all__ = ["DENSITIES", "DensityModel", "Sweep", "density_sweep"]

#: The paper's densities ``1 - S``.
DENSITIES = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)


@dataclass(frozen=True)
class DensityModel:
    """One trained model of the sweep and what was found in it."""

    density: float
    seed: int
    weights: dict[str, np.ndarray]
    training: float
    carrying: Carrying
    detection: Detection
    decomposition: Decomposition

    @property
    def name(self) -> str:
        return f"density_{self.density:g}_seed_{self.seed}"

    def labels(self) -> dict:
        """What the model's file says of it: carried and dropped features, detected circuits."""
        return {
            "dropped": self.carrying.dropped.tolist(),
            "carries": {str(j): np.flatnonzero(row).tolist() for j, row in enumerate(self.carrying.carries)},
            "carries_threshold": CARRIES,
            "detected": {
                "motifs": self.detection.to_dict()["motifs"],
                "monosemantic": self.detection.to_dict()["monosemantic"],
            },
        }

    def summary(self) -> dict:
        d = self.decomposition
        return {
            "density": self.density,
            "seed": self.seed,
            "training_loss": self.training,
            "features_per_neuron": float(np.mean(self.carrying.features_per_neuron))
            if self.carrying.features_per_neuron.size
            else 0.0,
            "neurons_per_feature": float(np.mean(self.carrying.neurons_per_feature))
            if self.carrying.neurons_per_feature.size
            else 0.0,
            "dropped": len(self.carrying.dropped),
            "motifs_detected": len(self.detection.motifs),
            "monosemantic_detected": len(self.detection.monosemantic),
            "exact": d.exact,
            "exact_share": d.exact_share,
            "probability": d.probability,
            "bound": d.bound,
            "estimate": d.estimate,
            "stderr": d.stderr,
            "plain_stderr": d.plain_stderr,
        }


@dataclass(frozen=True)
class Sweep:
    """Every model of a :func:`density_sweep`, with the settings it ran with."""

    features: int
    neurons: int
    decay: float
    steps: int
    order: int
    samples: int
    models: tuple[DensityModel, ...]
    seconds: dict

    def to_dict(self) -> dict:
        return {
            "features": self.features,
            "neurons": self.neurons,
            "importance_decay": self.decay,
            "steps": self.steps,
            "order": self.order,
            "samples": self.samples,
            "seconds": self.seconds,
            "models": [m.summary() for m in self.models],
        }

    def markdown(self) -> str:
        rows = [
            "| density | seed | training loss | loss (stratified) | exact share | bound on the rest "
            "| features per neuron "
            "| neurons per feature | dropped | motifs detected | monosemantic detected |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for m in self.models:
            s = m.summary()
            rows.append(
                f"| {s['density']:g} | {s['seed']} | {s['training_loss']:.6g} | {s['estimate']:.6g} +- "
                f"{s['stderr']:.2g} | {s['exact_share']:.1%} | {s['bound']:.3g} | {s['features_per_neuron']:.2f} | "
                f"{s['neurons_per_feature']:.2f} | {s['dropped']} | {s['motifs_detected']} | "
                f"{s['monosemantic_detected']} |"
            )
        return "\n".join(rows) + "\n"

    def save(self, folder: Path) -> list[Path]:
        """Write the models (``models/NAME.npz`` and ``.json``), ``sweep.json``, ``sweep.md`` and the figures."""
        from . import plots

        (folder / "models").mkdir(exist_ok=True)
        written = []
        importance = (self.decay ** np.arange(self.features)).tolist()
        for m in self.models:
            npz, record_file = folder / "models" / f"{m.name}.npz", folder / "models" / f"{m.name}.json"
            with atomic(npz, binary=True) as handle:
                np.savez(handle, **m.weights)
            record = {
                "density": m.density,
                "sparsity": 1 - m.density,
                "seed": m.seed,
                "importance": importance,
                **{k: v.tolist() for k, v in m.weights.items()},
                "labels": m.labels(),
                "interference": m.decomposition.interference.tolist(),
            }
            write_atomically(record_file, json.dumps(record) + "\n")
            written += [npz, record_file]
            written += plots.save(
                plots.interference_figure(m.decomposition.interference, importance, title=f"density {m.density:g}"),
                folder / f"interference_{m.name}",
            )
        write_atomically(folder / "sweep.json", json.dumps(self.to_dict(), indent=2) + "\n")
        write_atomically(folder / "sweep.md", self.markdown())
        written += [folder / "sweep.json", folder / "sweep.md"]
        written += plots.save(plots.sweep_figure(self.to_dict()), folder / "superposition")
        return written


def density_sweep(
    features: int = 100,
    neurons: int = 40,
    decay: float = 0.8,
    densities: Sequence[float] = DENSITIES,
    steps: int = 10_000,
    seeds: int = 1,
    order: int = 2,
    samples: int = 100_000,
    seed: int = 0,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> Sweep:
    """Train ``seeds`` models per density (seeds 0 ..), all at once, and take each apart (module docstring)."""
    if not densities or any(not 0 < d <= 1 for d in densities):
        raise SuperlossError("every density 1 - S must lie in (0, 1]")
    if features < 3 or neurons < 1 or seeds < 1 or steps < 1 or not decay > 0:
        raise SuperlossError("need at least 3 features, and at least 1 neuron, seed and step, and a positive decay")
    if len({f"{d:g}" for d in densities}) != len(densities):
        raise SuperlossError("the densities must differ (to 6 significant digits, as the model files name them)")
    # One scheduler for every model, opened first: an unreachable one fails before the training.
    with runner(scheduler, workers) as run:
        importance = decay ** np.arange(features)
        start = time.perf_counter()
        trained = train(
            "hidden",
            features,
            neurons,
            [1 - d for d in densities],
            importance,
            seeds=list(range(seeds)),
            config=TrainConfig(steps=steps),
            progress=progress,
        )
        seconds = {"training": time.perf_counter() - start}
        start = time.perf_counter()
        models = []
        for k in range(trained.instances):
            weights = {name: array[k] for name, array in trained.weights.items()}
            density = 1 - float(trained.sparsities[k])
            models.append(
                DensityModel(
                    density=round(density, 12),
                    seed=int(trained.seeds[k]),
                    weights=weights,
                    training=float(trained.final_estimate.mean[k]),
                    carrying=carrying(weights["W1"], weights["W2"]),
                    detection=detect(weights["W1"], weights["W2"], weights["b"]),
                    decomposition=decompose(
                        weights["W1"],
                        weights["W2"],
                        weights["b"],
                        1 - density,
                        importance,
                        order=order,
                        samples=samples,
                        seed=seed,
                        scheduler=run,
                    ),
                )
            )
        seconds["analysis"] = time.perf_counter() - start
    models.sort(key=lambda m: (-m.density, m.seed))
    return Sweep(features, neurons, decay, steps, order, samples, tuple(models), seconds)
