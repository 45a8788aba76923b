"""Run one benchmark function in a fresh interpreter, and take medians over such runs.

A benchmark is named by its target, ``MODULE:FUNCTION`` (``numeric.bench.engine:motif``).
``python -m numeric.bench TARGET '{"keyword": "arguments"}'`` imports the module, calls the
function with those keyword arguments and prints its result, a JSON object, on the last line of
its standard output; an error ends it with a traceback and a nonzero exit code.

:func:`fresh` runs that command in a new process, so that nothing is cached from one run to the
next (cold means cold) and the imports are done before the function starts its clock. The child
imports the same ``numeric`` as the caller: the folder holding it goes first on the child's
``PYTHONPATH``, and ``-P`` keeps the working directory off its ``sys.path``. Anything else the
child needs from its environment (thread limits, say) is passed in ``env``; the child itself sets
nothing global.
"""

from __future__ import annotations

import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

#: Seconds a benchmark's process may take before :func:`fresh` gives up on it.
DEFAULT_TIMEOUT = 900.0


class BenchmarkError(RuntimeError):
    """A benchmark's process failed, timed out or printed no result; the message names the target."""


def _source_root() -> str:
    """The folder that holds the ``numeric`` package this process imported."""
    import numeric

    return str(Path(numeric.__file__).resolve().parents[1])


def command(target: str, kwargs: Mapping | None = None) -> list[str]:
    """The command line that runs ``target`` with ``kwargs`` in a new interpreter."""
    return [sys.executable, "-P", "-m", "numeric.bench", target, json.dumps(dict(kwargs or {}))]


def fresh(target: str, timeout: float = DEFAULT_TIMEOUT, *, env: Mapping[str, str] | None = None, **kwargs) -> dict:
    """Run the benchmark ``target`` (``MODULE:FUNCTION``) with ``kwargs`` in a fresh interpreter.

    Returns its JSON result plus ``wall``, the wall time of the whole process (imports included).
    ``env`` adds to (or overrides) the child's environment. Raises :class:`BenchmarkError` with the
    last line of the child's standard error if it fails, and when it takes longer than ``timeout``.
    """
    child_env = {**os.environ, **(env or {})}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (_source_root(), child_env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    try:
        out = subprocess.run(command(target, kwargs), capture_output=True, text=True, timeout=timeout, env=child_env)
    except subprocess.TimeoutExpired:
        raise BenchmarkError(f"{target}: no result after {timeout:.0f} s") from None
    wall = time.perf_counter() - start
    if out.returncode:
        lines = out.stderr.strip().splitlines()
        raise BenchmarkError(f"{target}: {lines[-1] if lines else f'exit code {out.returncode}'}")
    lines = out.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise BenchmarkError(f"{target}: no JSON result on the last line of its output") from None
    if not isinstance(result, dict):
        raise BenchmarkError(f"{target}: its result is not a JSON object")
    return {**result, "wall": wall}


def median(results: Sequence[Mapping], key: str) -> float:
    """The median of ``key`` over several runs' results.

    >>> median([{"seconds": 3.0}, {"seconds": 1.0}, {"seconds": 2.0}], "seconds")
    2.0
    """
    return statistics.median(r[key] for r in results)


def main(argv: Sequence[str]) -> int:
    """The child's side: ``TARGET [JSON]`` -> the function's result, as JSON, on the last line."""
    if not 1 <= len(argv) <= 2 or ":" not in argv[0]:
        print('usage: python -m numeric.bench MODULE:FUNCTION [\'{"keyword": "arguments"}\']', file=sys.stderr)
        return 2
    module, _, name = argv[0].partition(":")
    kwargs = json.loads(argv[1]) if len(argv) == 2 else {}
    if not isinstance(kwargs, dict):
        print(f"error: the arguments must be a JSON object, got {argv[1]!r}", file=sys.stderr)
        return 2
    result = getattr(importlib.import_module(module), name)(**kwargs)
    print(json.dumps(result))
    return 0
