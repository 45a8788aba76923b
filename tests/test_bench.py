"""Smoke tests of ``superloss bench``: every benchmark function runs, tiny, in a fresh process and
returns every figure its table reads; the tables print every row.

The keys a table reads are found by running the table against stand-in results that record each
key asked for (:func:`table_calls`), so a key renamed on either side fails here, not after
minutes of ``superloss bench``. The benchmarks then run for real with :data:`SMOKE` sizes, two
processes at a time, and the tables run once more over those real results.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from numeric.bench import BenchmarkError, fresh, runner, tables

from conftest import run

MODULES = ("engine", "optimizer", "baseline", "training", "phase", "free", "decomposition")

#: Tiny sizes of every benchmark function, put over the keyword arguments its table passes.
SMOKE = {
    tables.MOTIF: {},
    tables.TRAINED: {"features": 2, "neurons": 3},
    tables.OURS: {"nested": False},
    tables.PLAIN: {"nested": False},
    tables.OPTIMIZATION: {
        "starts": 2,
        "jobs": 1,
        "warm_runs": 1,
        "one_core_runs": 1,
        "pointwise_number": 1,
        "closed_number": 1,
        "repeats": 1,
        "free": ["w_a"],
    },
    tables.NELDER_MEAD: {
        "sparsity": "0",
        "rider_importance": "3/10",
        "runs": 2,
        "samples": 200,
        "jobs": 1,
        "max_evaluations": 20,
        "starts": 1,
    },
    tables.DIAGRAM: {"points": 1, "jobs": 1},
    tables.FREE: {"features": 2, "neurons": 1, "importance": [1.0, 0.5], "starts": 2, "jobs": 1, "samples": 1000},
    tables.POLYGON: {"k": 3},
    tables.PAPER_MODEL: {"features": 6, "neurons": 4, "steps": 20, "samples": 1000, "top": None, "workers": None},
    tables.TRIPLES: {"triples": 2, "features": 6, "neurons": 4, "steps": 20},
    tables.ENGINES: {"points": 4, "counts": [2, 4], "pointwise_repeats": 1, "batch_repeats": 1},
    tables.NUMPY_TRAINER: {
        "features": 3,
        "neurons": 2,
        "seeds": [0],
        "sparsities": [0.5],
        "warm": 2,
        "steps": 20,
        "batch": 64,
    },
    tables.TORCH_TRAINER: {
        "features": 3,
        "neurons": 2,
        "seeds": [0],
        "sparsities": [0.5],
        "warm": 2,
        "steps": 20,
        "batch": 64,
    },
}

#: The slowest benchmarks at smoke sizes (about 10 s, 4 s and 4 s on two idle cores).
SLOWEST = (tables.NELDER_MEAD, tables.OPTIMIZATION, tables.DIAGRAM)

#: Each table with its arguments for the smoke tests.
TABLES = {
    "run": lambda: tables.run(quick=False, runs=1, sizes=SMOKE),
    "quick": lambda: tables.run(quick=True, runs=1, sizes=SMOKE),
    "baseline": lambda: tables.baseline(sizes=SMOKE),
    "phase": lambda: tables.phase(runs=1, sizes=SMOKE),
    "free": lambda: tables.free(sizes=SMOKE),
    "polygons": lambda: tables.polygons(runs=1, sizes=SMOKE),
    "decomposition": lambda: tables.decomposition(sizes=SMOKE),
    "training": lambda: tables.training_throughput(runs=1, sizes=SMOKE),
}


def benchmark_targets() -> list[str]:
    """``MODULE:FUNCTION`` of every public function defined in the benchmark modules."""
    targets = []
    for name in MODULES:
        module = importlib.import_module(f"numeric.bench.{name}")
        targets += [
            f"{module.__name__}:{f}"
            for f, obj in inspect.getmembers(module, inspect.isfunction)
            if obj.__module__ == module.__name__ and not f.startswith("_")
        ]
    return sorted(targets)


class _Reads(dict):
    """A stand-in result: every key read is logged, and reads as 1.0."""

    def __init__(self, log: set) -> None:
        super().__init__()
        self.log = log

    def __missing__(self, key: str) -> float:
        self.log.add(key)
        return 1.0


def _key(target: str, kwargs: dict, env) -> str:
    return json.dumps([target, kwargs, env], sort_keys=True)


@pytest.fixture(scope="module")
def table_calls() -> tuple[dict[str, set], dict[str, tuple]]:
    """Every table run against stand-in results: the keys each target's results were read for,
    and every call the tables made (by :func:`_key`: target, keyword arguments, environment)."""
    reads: dict[str, set] = {}
    calls: dict[str, tuple] = {}

    def record(target: str, timeout: float = runner.DEFAULT_TIMEOUT, *, env=None, **kwargs) -> dict:
        calls[_key(target, kwargs, env)] = (target, kwargs, env)
        return _Reads(reads.setdefault(target, set()))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tables, "fresh", record)
        for table in TABLES.values():
            table()
    return reads, calls


def _has_torch() -> bool:
    return importlib.util.find_spec("torch") is not None


@pytest.fixture(scope="module")
def results(table_calls) -> dict[str, dict | Exception]:
    """The real result (or error) of every call the tables make, each in a fresh process, two at a time."""
    _, calls = table_calls
    todo = {k: c for k, c in calls.items() if c[0] != tables.TORCH_TRAINER or _has_torch()}
    # The slowest first, so that the others run beside them.
    todo = dict(sorted(todo.items(), key=lambda item: item[1][0] not in SLOWEST))

    def one(call: tuple) -> dict | Exception:
        target, kwargs, env = call
        try:
            return fresh(target, env=env, **kwargs)
        except BenchmarkError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(todo, pool.map(one, todo.values()), strict=True))


def test_every_benchmark_is_in_a_table_with_smoke_sizes(table_calls):
    reads, calls = table_calls
    called = {target for target, _, _ in calls.values()}
    assert set(benchmark_targets()) == called == set(SMOKE)
    assert all(reads[target] for target in called), "a table runs a benchmark and reads nothing of it"


@pytest.mark.parametrize("target", benchmark_targets())
def test_benchmark_returns_what_its_table_reads(target, table_calls, results):
    if target == tables.TORCH_TRAINER:
        pytest.importorskip("torch")
    reads, calls = table_calls
    for key, (called, kwargs, _) in calls.items():
        if called != target:
            continue
        result = results[key]
        if isinstance(result, Exception):
            raise result
        missing = reads[target] - set(result)
        assert not missing, f"{target}({kwargs}) returned no {sorted(missing)}; its table reads them"
        assert result["wall"] > 0


def _replay(monkeypatch, results: dict) -> None:
    """The tables' calls answered by the real results already measured (any other runs for real)."""

    def replay(target: str, timeout: float = runner.DEFAULT_TIMEOUT, *, env=None, **kwargs) -> dict:
        found = results.get(_key(target, kwargs, env))
        if found is None:
            return fresh(target, timeout, env=env, **kwargs)
        if isinstance(found, Exception):
            raise found
        return found

    monkeypatch.setattr(tables, "fresh", replay)


#: Rows each table prints: lines that start with "|", header and separator included.
ROWS = {
    "run": 9,
    "quick": 8,
    "baseline": 2 + 3,
    "phase": 3 + 1 + 2,
    "training": 2 + 2,
    "free": 2 + 2,
    "polygons": 2 + 4,
    "decomposition": 2 + 4 + 1,
}


@pytest.mark.parametrize("table", list(TABLES))
def test_table_prints_every_row(table, results, monkeypatch, capsys):
    if table == "training":
        pytest.importorskip("torch")
    _replay(monkeypatch, results)
    TABLES[table]()
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("|")]
    assert len(rows) == ROWS[table], "\n".join(lines)
    assert all(row.endswith("|") for row in rows), "\n".join(rows)
    assert all(len(row.split("|")) == len(rows[0].split("|")) for row in rows), "\n".join(rows)


def test_a_failed_benchmark_names_itself_and_its_error():
    with pytest.raises(BenchmarkError, match=r"^numeric\.bench\.engine:motif: TypeError: .*'nonsense'"):
        fresh(tables.MOTIF, nonsense=1)
    with pytest.raises(BenchmarkError, match=r"^numeric\.bench\.engine:motif: no result after 0 s"):
        fresh(tables.MOTIF, timeout=0.01)


def test_the_command_reports_a_failed_benchmark_in_one_line(monkeypatch, capsys):
    def fail(target: str, *args, **kwargs) -> dict:
        raise BenchmarkError(f"{target}: KeyError: 'loss'")

    monkeypatch.setattr(tables, "fresh", fail)
    code, out, err = run(capsys, "bench", "--quick")
    assert code == 2
    assert err.strip().splitlines() == [
        "superloss: error: a benchmark run failed: numeric.bench.engine:motif: KeyError: 'loss'"
    ]
