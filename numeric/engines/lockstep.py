"""Many searches in lockstep: their evaluations gathered into batches.

Each task (SciPy's L-BFGS-B, say) runs as a coroutine of its own (a greenlet)
and asks for the evaluations it needs one at a time; :func:`lockstep` lets
every live task run until it asks, then computes all of the questions in one
call and hands each task its answer. A batched engine
(:class:`numeric.engines.batch.BatchLoss`) then costs little more per batch than per
question. Switching between greenlets takes a microsecond, where handing work
between threads took about 0.3 ms per question on 2 cores; and only one task
runs at a time, so the result of every task is what it would be on its own, as
long as ``evaluate`` answers each question independently of its batch.

>>> def task(ask):
...     return ask(2) + ask(3)
>>> lockstep([task, task], lambda questions: [q * q for q in questions])
[13, 13]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from greenlet import getcurrent, greenlet

__all__ = ["lockstep"]


def lockstep(tasks: Sequence[Callable[[Callable[[Any], Any]], Any]], evaluate: Callable[[list], Sequence]) -> list:
    """Run ``task(ask)`` for every task; ``ask(question)`` returns the matching
    entry of ``evaluate(questions)``, evaluated for the questions of all the
    live tasks at once (in the order of the tasks). The tasks' results, in
    order; an error in a task or in ``evaluate`` is raised at once."""
    coordinator = getcurrent()
    results: list = [None] * len(tasks)

    def run(k: int) -> None:
        results[k] = tasks[k](coordinator.switch)

    runs = [greenlet(partial(run, k)) for k in range(len(tasks))]
    waiting = {}
    for k, task in enumerate(runs):
        question = task.switch()
        if not task.dead:
            waiting[k] = question
    while waiting:
        batch = list(waiting.items())  # in the order of the tasks
        waiting = {}
        for (k, _), answer in zip(batch, list(evaluate([question for _, question in batch])), strict=True):
            question = runs[k].switch(answer)
            if not runs[k].dead:
                waiting[k] = question
    return results
