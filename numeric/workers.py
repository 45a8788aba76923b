"""Work split among joblib workers: contiguous chunks, one per worker, answers in order.

Every sweep of the project (the phase diagram, the free searches, the atlas) splits
its questions this way, so that a result never depends on the number of workers as
long as each question is answered on its own.

>>> chunks([1, 2, 3, 4, 5], 2)
[[1, 2], [3, 4, 5]]
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs

__all__ = ["chunks", "split"]


def chunks(items: list, count: int) -> list[list]:
    """``items`` in at most ``count`` contiguous chunks of nearly equal size."""
    bounds = np.linspace(0, len(items), max(1, min(count, len(items))) + 1).round().astype(int)
    return [items[a:b] for a, b in pairwise(bounds)]


def split(function: Callable[[list], list], questions: list, jobs: int) -> list:
    """``function(chunk)`` of one chunk of ``questions`` per joblib worker, the answers in order."""
    if not questions:
        return []
    parts = Parallel(n_jobs=jobs)(delayed(function)(chunk) for chunk in chunks(questions, effective_n_jobs(jobs)))
    return [answer for part in parts for answer in part]
