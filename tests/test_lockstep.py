"""Lockstep searches: batched evaluations, each task's result what it would be alone."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from numeric.engines.lockstep import lockstep


def _quadratic(centre: np.ndarray):
    def task(ask):
        return minimize(lambda x: ask(x - centre), np.zeros(len(centre)), jac=True, method="L-BFGS-B").x

    return task


def _values(questions):
    return [(float(r @ r + np.sin(r).sum()), 2 * r + np.cos(r)) for r in questions]


def test_searches_in_lockstep_end_where_they_end_alone_and_share_batches():
    centres = [np.array([1.0, -2.0]), np.array([0.5, 3.0, 1.0]), np.array([-4.0])]
    sizes = []

    def evaluate(questions):
        sizes.append(len(questions))
        return _values(questions)

    found = lockstep([_quadratic(c) for c in centres], evaluate)
    alone = [lockstep([_quadratic(c)], _values)[0] for c in centres]
    for x, y in zip(found, alone, strict=True):
        assert np.array_equal(x, y)
    # Every batch holds every search still running: three at first, fewer as they end.
    assert sizes[0] == 3 and sizes == sorted(sizes, reverse=True) and sum(sizes) > len(sizes)


def test_an_error_in_a_task_or_in_the_evaluation_is_raised_not_hung():
    def failing(ask):
        ask(1)
        raise ValueError("task failed")

    with pytest.raises(ValueError, match="task failed"):
        lockstep([failing, lambda ask: ask(2) + ask(3)], lambda qs: [q * q for q in qs])

    def evaluate(questions):
        raise RuntimeError("evaluation failed")

    with pytest.raises(RuntimeError, match="evaluation failed"):
        lockstep([lambda ask: ask(1)] * 3, evaluate)
    # An evaluation that answers fewer questions than it was asked.
    with pytest.raises(ValueError):
        lockstep([lambda ask: ask(1), lambda ask: ask(2)], lambda questions: [0])
