"""Training throughput: the numpy trainer (:mod:`numeric.train`) against PyTorch on the CPU.

Both functions train the same model ("hidden": ``ReLU(W2 ReLU(W1 x) + b)``, target ``|x|``) on
the same data law and sizes, batch 1024, Adam (lr 1e-3), float32, all instances in one batched
computation with samples as columns, and return ``seconds`` for ``steps`` steps after ``warm``
warm-up steps. Each runs in a fresh process (:func:`numeric.bench.runner.fresh`) whose thread
limits (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS``) come with its
environment, so they hold before numpy or torch is imported; :mod:`numeric.bench.tables` takes
the median over several processes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..train import TrainConfig, Trainer

#: The training table's cases: n, m, seeds, sparsities, importance decay, warm-up steps, timed steps.
CASES = (
    (6, 10, list(range(10)), [0.8], 0.7, 50, 1000),
    (100, 40, [0], [0.0, 0.7, 0.9, 0.97, 0.99, 0.997, 0.999], 0.8, 10, 150),
)
#: The first case gives the functions' defaults: n = 6, m = 10, ten seeds at S = 0.8.
FEATURES, NEURONS, SEEDS, SPARSITIES, DECAY, WARM, STEPS = CASES[0]


def numpy_trainer(
    features: int = FEATURES,
    neurons: int = NEURONS,
    seeds: Sequence[int] = SEEDS,
    sparsities: Sequence[float] = SPARSITIES,
    decay: float = DECAY,
    warm: int = WARM,
    steps: int = STEPS,
    batch: int = 1024,
    lr: float = 1e-3,
) -> dict:
    """``seconds`` for ``steps`` steps of :class:`numeric.train.Trainer`, one instance per seed
    and sparsity, importances ``decay^i``."""
    trainer = Trainer(
        "hidden",
        features,
        neurons,
        list(sparsities),
        [[decay**i for i in range(features)]],
        list(seeds),
        TrainConfig(steps=warm + steps, batch=batch, lr=lr, dtype="float32"),
    )
    for _ in range(warm):
        trainer.step()
    start = time.perf_counter()
    for _ in range(steps):
        trainer.step()
    return {"seconds": time.perf_counter() - start, "steps": steps}


def torch_trainer(
    features: int = FEATURES,
    neurons: int = NEURONS,
    seeds: Sequence[int] = SEEDS,
    sparsities: Sequence[float] = SPARSITIES,
    decay: float = DECAY,
    warm: int = WARM,
    steps: int = STEPS,
    batch: int = 1024,
    lr: float = 1e-3,
    threads: int | None = None,
) -> dict:
    """The same computation written the usual PyTorch way: autograd, ``torch.optim.Adam``, one
    ``(u, v)`` draw per seed shared by the sparsities, as the numpy trainer does; ``threads``
    (if given) goes to ``torch.set_num_threads``. Needs PyTorch: ``pip install '.[bench]'``."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    n, m, B = features, neurons, batch
    K, bound = len(seeds) * len(sparsities), (6 / (n + m)) ** 0.5
    W1 = ((2 * torch.rand(K, m, n) - 1) * bound).requires_grad_()
    W2 = ((2 * torch.rand(K, n, m) - 1) * bound).requires_grad_()
    b = torch.zeros(K, n, requires_grad=True)
    importance = torch.tensor([decay**i for i in range(n)])[:, None]
    threshold = torch.tensor(list(sparsities)).view(1, -1, 1, 1)
    optimizer = torch.optim.Adam([W1, W2, b], lr=lr)

    def step() -> None:
        uv = torch.rand(len(seeds), 2, n, B)
        x = torch.where(uv[:, :1] >= threshold, 2 * uv[:, 1:] - 1, 0.0).reshape(K, n, B)
        y = torch.relu(W2 @ torch.relu(W1 @ x) + b[:, :, None])
        loss = ((y - x.abs()) ** 2 * importance).sum((1, 2)) / B
        optimizer.zero_grad(set_to_none=True)
        loss.sum().backward()
        optimizer.step()

    for _ in range(warm):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return {"seconds": time.perf_counter() - start, "steps": steps}
