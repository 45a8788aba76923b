"""Many searches in lockstep: their evaluations gathered into batches.

Each task runs in a thread of its own (SciPy's L-BFGS-B, say) and asks for
the evaluations it needs one at a time; :func:`lockstep` waits until every
live task is waiting for an answer and computes all of the questions in one
call. A batched engine (:class:`numeric.batch.BatchLoss`) then costs little
more per batch than per question. The threads only take turns, so the result
of every task is what it would be on its own, whatever the others do, as long
as ``evaluate`` answers each question independently of its batch.

>>> def task(ask):
...     return ask(2) + ask(3)
>>> lockstep([task, task], lambda questions: [q * q for q in questions])
[13, 13]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["lockstep"]


class _Failed:
    """The answer to every question of a batch whose evaluation raised."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def lockstep(tasks: Sequence[Callable[[Callable[[Any], Any]], Any]],
             evaluate: Callable[[list], Sequence]) -> list:
    """Run ``task(ask)`` for every task, each in its own thread; ``ask(question)``
    returns the matching entry of ``evaluate(questions)``, evaluated for all the
    questions the live tasks are waiting on at once. The tasks' results, in order;
    the first error any of them (or ``evaluate``) raised is raised again."""
    ready = threading.Condition()
    waiting: dict[int, Any] = {}
    answered = [threading.Event() for _ in tasks]
    answers: list = [None] * len(tasks)
    results: list = [None] * len(tasks)
    errors: list[BaseException] = []
    alive = len(tasks)

    def ask(k: int, question):
        with ready:
            waiting[k] = question
            if len(waiting) == alive:                               # the last to ask wakes the batch
                ready.notify()
        answered[k].wait()
        answered[k].clear()
        if isinstance(answers[k], _Failed):
            raise answers[k].error
        return answers[k]

    def work(k: int, task) -> None:
        nonlocal alive
        try:
            results[k] = task(lambda question: ask(k, question))
        except BaseException as error:                              # noqa: BLE001 (raised again below)
            errors.append(error)
        finally:
            with ready:
                alive -= 1
                if len(waiting) == alive:
                    ready.notify()

    threads = [threading.Thread(target=work, args=(k, task), daemon=True) for k, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    while True:
        with ready:
            ready.wait_for(lambda: len(waiting) == alive)
            if not alive:
                break
            batch = sorted(waiting.items())
            waiting.clear()
        try:
            out = list(evaluate([question for _, question in batch]))
        except BaseException as error:                              # noqa: BLE001 (every asker raises it)
            out = [_Failed(error)] * len(batch)
        for (k, _), answer in zip(batch, out):
            answers[k] = answer
            answered[k].set()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results
