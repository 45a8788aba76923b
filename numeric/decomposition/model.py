"""One abs-value model's arrays read from a file: NPZ or JSON with ``W1`` (m x n), ``W2``
(n x m) and ``b`` (n), or one instance of a ``superloss train`` folder. A train folder, and the
JSON of a ``superloss sweep`` model, also give the sparsity and importances it was trained at."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from analytic import SuperlossError

__all__ = ["ModelArrays", "read_model"]


@dataclass(frozen=True)
class ModelArrays:
    """A model's weights, and the sparsity and importances it was trained at when the file says."""

    W1: np.ndarray
    W2: np.ndarray
    b: np.ndarray
    sparsity: float | None = None
    importance: np.ndarray | None = None


def _arrays(found: dict, source: str) -> ModelArrays:
    missing = [k for k in ("W1", "W2", "b") if k not in found]
    if missing:
        raise SuperlossError(f"{source}: no array {', '.join(missing)} (a model needs W1, W2 and b)")
    try:
        W1, W2, b = (np.asarray(found[k], dtype=float) for k in ("W1", "W2", "b"))
    except (TypeError, ValueError):
        raise SuperlossError(f"{source}: W1, W2 and b must be arrays of numbers") from None
    if W1.ndim != 2 or W2.shape != W1.shape[::-1] or b.shape != (W1.shape[1],):
        raise SuperlossError(
            f"{source}: shapes do not fit: W1 is m x n, W2 n x m and b has n entries; "
            f"got W1 {W1.shape}, W2 {W2.shape}, b {b.shape}"
        )
    return ModelArrays(W1, W2, b)


def read_model(path: str | Path, instance: int | None = None) -> ModelArrays:
    """The model in ``path``: an ``.npz`` or ``.json`` file, or a train folder with ``instance``."""
    path = Path(path)
    source = str(path)
    if path.is_dir():
        from ..train import TrainResult

        result = TrainResult.load(path)
        if result.model != "hidden":
            raise SuperlossError(f"{source}: holds {result.model} models; decompose takes the abs-value model")
        k = 0 if instance is None else instance
        if not 0 <= k < result.instances:
            raise SuperlossError(f"--instance {k}: {source} has instances 0 to {result.instances - 1}")
        w = {name: array[k] for name, array in result.weights.items()}
        return ModelArrays(w["W1"], w["W2"], w["b"], float(result.sparsities[k]), np.array(result.importances[k]))
    if instance is not None:
        raise SuperlossError("--instance needs a train folder")
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                found = {k: data[k] for k in data.files}
        elif path.suffix == ".json":
            found = json.loads(path.read_text())
            if not isinstance(found, dict):
                raise SuperlossError(f"{source}: a model's JSON is an object with W1, W2 and b")
        else:
            raise SuperlossError(f"{source}: a model is an .npz or .json file or a train folder")
    except OSError as exc:
        raise SuperlossError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, zipfile.BadZipFile, UnicodeDecodeError):
        raise SuperlossError(f"{source}: not a readable {path.suffix[1:].upper()} file") from None
    arrays = _arrays(found, source)
    # A model file of a sweep says what it was trained at.
    if isinstance(found, dict) and "sparsity" in found and "importance" in found:
        try:
            importance = np.asarray(found["importance"], dtype=float)
            return ModelArrays(arrays.W1, arrays.W2, arrays.b, float(found["sparsity"]), importance)
        except (TypeError, ValueError):
            raise SuperlossError(f"{source}: sparsity and importance must be numbers") from None
    return arrays
