"""The paper's scale: one n = 100, m = 40 model trained at a density, then its loss decomposed.

:func:`paper_model` trains the model as ``superloss train`` does (one seed, ``I_i = 0.8^i``),
decomposes it (:func:`numeric.decomposition.decompose`) and returns the times with what the
decomposition found; :func:`triple_time` times the cell engine on a sample of triples, for the
full order 3's extrapolation. :mod:`numeric.bench.tables` runs both in fresh processes.
"""

from __future__ import annotations

import time

import numpy as np

from ..decomposition import Activity, decompose, stratified_rest
from ..decomposition.patterns import triple_losses
from ..train import TrainConfig, train


def _model(features: int, neurons: int, density: float, steps: int):
    importance = 0.8 ** np.arange(features)
    result = train(
        "hidden",
        features,
        neurons,
        [1 - density],
        importance,
        seeds=[0],
        config=TrainConfig(steps=steps),
        progress=False,
    )
    weights = {name: array[0] for name, array in result.weights.items()}
    return weights, importance, float(result.final_estimate.mean[0])


def paper_model(
    density: float = 0.01,
    order: int = 2,
    top: int | None = None,
    samples: int = 100_000,
    features: int = 100,
    neurons: int = 40,
    steps: int = 10_000,
    scheduler: str | None = None,
    workers: int | None = None,
) -> dict:
    """Train, then decompose: ``seconds`` of the exact part, its ``share`` of the estimated loss,
    the ``bound`` over the estimated ``rest``, and the standard errors against plain Monte Carlo,
    with the stratified error that the whole order 3 would have."""
    weights, importance, training = _model(features, neurons, density, steps)
    d = decompose(
        weights["W1"], weights["W2"], weights["b"], 1 - density, importance, order, samples, 0, top, scheduler, workers
    )
    # Order 3's standard error needs no triple: only the draws beyond three active features.
    _, order_three = stratified_rest(
        weights["W1"], weights["W2"], weights["b"], importance, Activity(np.full(features, density)), 3, samples, 0
    )
    return {
        "order_three_stderr": order_three,
        "seconds": d.seconds["exact"],
        "rest_seconds": d.seconds["rest"],
        "share": d.exact_share,
        "probability": d.probability,
        "exact": d.exact,
        "rest": d.rest,
        "bound": d.bound,
        "estimate": d.estimate,
        "stderr": d.stderr,
        "plain": d.plain,
        "plain_stderr": d.plain_stderr,
        "plain_stderr_same_time": d.plain_stderr_same_time,
        "training": training,
    }


def triple_time(triples: int = 64, features: int = 100, neurons: int = 40, density: float = 0.01, steps: int = 10_000):
    """Seconds per triple of the cell engine on a trained model, over ``triples`` random triples."""
    weights, importance, _ = _model(features, neurons, density, steps)
    rng = np.random.default_rng(0)
    sample = np.array([np.sort(rng.choice(features, 3, replace=False)) for _ in range(triples)])
    start = time.perf_counter()
    triple_losses(weights["W1"], weights["W2"], weights["b"], importance, sample)
    return {"seconds_per_triple": (time.perf_counter() - start) / triples}
