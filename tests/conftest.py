"""Shared helpers: the Monte Carlo check every closed form must pass, and running the command line."""

from __future__ import annotations

import sympy as sp

from analytic import Problem
from numeric.cli import main
from numeric.engines.montecarlo import Z_MAX, monte_carlo_loss

#: The standard error must be at most this fraction of the value, so that a
#: formula 3% off is rejected (3% / 0.5% = 6 standard errors > Z_MAX).
MAX_RELATIVE_SE = 0.005


def agrees_with_monte_carlo(
    value: float, circuit, law, importance, values, seed: int = 0, samples: int = 400_000, max_samples: int = 12_800_000
) -> tuple[bool, float | None]:
    """``(agrees, z)``: ``|z| < Z_MAX`` (or, where every sample gives the same loss, agreement by the
    estimate's absolute tolerance, and ``z`` None), with enough samples that the standard error is
    at most 0.5% of the value (quadrupling the sample size as needed)."""
    problem = Problem(circuit, law, importance, fixed=values)
    while True:
        mc = monte_carlo_loss(problem, samples=samples, seed=seed)
        if mc.stderr <= MAX_RELATIVE_SE * abs(value) or samples >= max_samples:
            break
        samples = min(max_samples, samples * 4)
    assert mc.stderr <= MAX_RELATIVE_SE * abs(value), (
        f"standard error {mc.stderr:.3g} is above 0.5% of {value:.6g} even with {samples} samples"
    )
    return mc.agrees(value, Z_MAX), mc.zscore(value)


def numeric_value(expr: sp.Expr, values: dict) -> float:
    value = expr.subs(values)
    assert not value.free_symbols, f"unfixed symbols {value.free_symbols}"
    return float(value)


def run(capsys, *argv) -> tuple[int, str, str]:
    """``superloss *argv`` in this process: exit code, standard output, standard error."""
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
