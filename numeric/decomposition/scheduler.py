"""Where the pattern sums run: in this process, or on Dask when asked.

``scheduler=None`` maps in this process; ``"local"`` starts a ``dask.distributed.LocalCluster``
(one single-threaded worker process per core); anything else is the address of a running
scheduler (``tcp://host:8786``). Results come back in the order of the tasks whatever the
partition, so that sums over them, taken here in that order, are the same to the last bit.
Dask is an optional extra: ``pip install 'superloss[dask]'``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from analytic import SuperlossError

__all__ = ["CONNECT_TIMEOUT", "Runner", "runner"]

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 10


class Runner:
    """Maps a function over tasks, in order: here, or on a Dask client."""

    def __init__(self, client=None) -> None:
        self.client = client

    def map(self, function: Callable, tasks: Sequence) -> list:
        if self.client is None or not tasks:
            return [function(task) for task in tasks]
        futures = self.client.map(function, list(tasks), pure=False)
        return self.client.gather(futures)

    @property
    def workers(self) -> int:
        return 1 if self.client is None else len(self.client.scheduler_info()["workers"])


@contextmanager
def runner(scheduler: str | None = None, workers: int | None = None) -> Iterator[Runner]:
    """A :class:`Runner` for ``scheduler`` (module docstring), closed on exit."""
    if scheduler is None:
        yield Runner()
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise SuperlossError("--scheduler needs Dask: pip install 'superloss[dask]'") from None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        try:
            with Client(cluster) as client:
                yield Runner(client)
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise SuperlossError(f"--scheduler {scheduler}: cannot reach it within {CONNECT_TIMEOUT} s ({exc})") from None
    with client:
        yield Runner(client)
