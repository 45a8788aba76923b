"""The golden record: every engine's value and gradient at fixed points, bit for bit.

``tests/golden.json`` was written by ``python tests/test_golden.py --record`` before the
package was reorganised (one problem object, one law protocol, engines grouped), and the
reorganisation must not move a single bit of it: floats are stored as ``float.hex``,
closed forms as their exact text. The cases cover the motif, the reconstruction model
with both laws, free circuits with hidden biases and linear layers, and one sparsity per
feature. Re-record only for a change that is meant to move numbers, and say so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from analytic import Circuit, OneHot, Problem, SparseUniform, expected_loss, syms
from analytic.presets import CANONICAL, asymmetric_inhibition, relu_output
from numeric.engines.batch import BatchLoss
from numeric.engines.compiled import compile_loss
from numeric.engines.montecarlo import monte_carlo_loss
from numeric.engines.pointwise import PointwiseLoss
from numeric.engines.regimes import RegimeLoss

GOLDEN = Path(__file__).with_name("golden.json")

S, T, S_a, S_b, S_c, I_b, r = syms("S T S_a S_b S_c I_b r")
w1, w2, w3, w4, w5, w6, c1, c2, c3, e1, e2, e3 = syms("w1 w2 w3 w4 w5 w6 c1 c2 c3 e1 e2 e3")
o1, o2, o3, o4, o5, o6 = syms("o1 o2 o3 o4 o5 o6")


def _motif_point() -> list[float]:
    # The canonical point, moved off its rationals so that every engine works in floats.
    return [float(v) * (1 + 0.01 * k) for k, v in enumerate(CANONICAL.values())]


#: name -> (circuit, law, importance, the varying symbols with their values, the point of the weights).
CASES = {
    "motif": (asymmetric_inhibition(), SparseUniform(S), [1, I_b, 1], {S: 0.9, I_b: 0.3}, _motif_point()),
    "motif, one sparsity per feature": (
        asymmetric_inhibition(),
        SparseUniform([S_a, S_b, S_c]),
        [1, I_b, 1],
        {S_a: 0.8, S_b: 0.95, S_c: 0.7, I_b: 0.5},
        _motif_point(),
    ),
    "reconstruction n = 2, m = 1": (
        relu_output([[w1, w2]], [e1, e2]),
        SparseUniform(S, 0, 1),
        [1, r],
        {S: 0.7, r: 2.5},
        [0.9, -0.8, 0.05, -0.1],
    ),
    "reconstruction n = 3, m = 2, one-hot": (
        relu_output([[w1, w2, w3], [w4, w5, w6]], [e1, e2, e3]),
        OneHot(0, 1),
        [1, 1, r],
        {r: 0.4},
        [0.8, -0.5, 0.3, 0.2, 0.7, -0.6, -0.05, 0.02, -0.1],
    ),
    "free 2 x 3, hidden biases": (
        Circuit([[w1, w2], [w3, w4], [w5, w6]], [[o1, o2, o3], [o4, o5, o6]], b1=[c1, c2, c3], b2=[e1, e2]),
        SparseUniform(S),
        [1, I_b],
        {S: 0.6, I_b: 0.7},
        [1.1, -0.4, -0.9, 0.3, 0.2, 1.2, 0.9, 0.35, 0.2, -0.3, 1.05, 0.6, 0.1, -0.2, 0.15, -0.05, 0.03],
    ),
    "hidden biases, identity target on [0, 1]": (
        Circuit(
            [[w1, w2], [w3, -1], [1, o3]], [[o1, o2, 1], [o3, 0, -1]], b1=[c1, c2, 0], b2=[e1, e2], target="identity"
        ),
        SparseUniform(S, 0, 1),
        [1, I_b],
        {S: 0.5, I_b: 0.8},
        [0.7, -0.3, 0.4, 1.1, 0.6, 0.5, -0.2, 0.1, 0.05, -0.02],
    ),
    "linear hidden, ReLU output, two sparsities": (
        relu_output([[w1, w2, w3]], [e1, e2, c1]),
        SparseUniform([S, T, S]),
        None,
        {S: 0.75, T: 0.4},
        [0.6, -0.7, 0.45, 0.1, -0.05, 0.02],
    ),
    "linear output": (
        Circuit([[w1, w2], [w3, o1]], [[o2, 1], [o3, c1]], b2=[e1, e2], output="linear"),
        SparseUniform(S),
        [1, I_b],
        {S: 0.85, I_b: 0.25},
        [1.2, -0.3, 0.4, 0.9, 0.8, 0.6, -0.4, 0.05, -0.1],
    ),
}

#: Monte Carlo samples and seed of every case.
SAMPLES, SEED = 40_000, 5


def _hex(values) -> list[str] | str:
    array = np.asarray(values, dtype=float)
    return float(array).hex() if array.ndim == 0 else [_hex(v) for v in array]


def record(name: str) -> dict:
    """Every engine's numbers for one case."""
    circuit, law, importance, varying, point = CASES[name]
    params = list(circuit.symbols)
    x = np.array(point)
    weights = dict(zip(params, point, strict=True))
    exact = {p: sp.Rational(v) for p, v in weights.items()}
    values = {**weights, **varying}
    out: dict = {}

    loss = expected_loss(circuit, law, importance, at=exact)
    out["closed form"] = {
        "expr": str(loss.expr),
        "conditions": [str(c) for c in loss.conditions],
        "value": str(loss.expr.subs({**exact, **{s: sp.Rational(v) for s, v in varying.items()}})),
    }
    numeric = expected_loss(circuit.subs(weights), law, importance)
    out["float closed form"] = _hex(float(numeric.expr.subs(varying)))

    compiled = compile_loss(loss, params, varying)
    out["compiled"] = {
        "value": _hex(compiled.value(x)),
        "gradient": _hex(compiled.gradient(x)),
        "hessian": _hex(compiled.hessian(x)),
    }
    problem = Problem(circuit, law, importance, free=params, fixed=varying)
    regimes = RegimeLoss(problem)
    out["regimes"] = {
        "value": _hex(regimes.value(x)),
        "gradient": _hex(regimes.gradient(x)),
        "hessian": _hex(regimes.hessian(x)),
    }

    pointwise = PointwiseLoss(problem)
    value, gradient = pointwise.value_and_gradient(x)
    out["pointwise"] = {"value": _hex(pointwise.value(x)), "value and gradient": [_hex(value), _hex(gradient)]}

    # The point and two more around it, each with its own varying values.
    X = np.stack([x, x * 1.05, x[::-1] * 0.9 if len(x) % 2 else -x])
    F = np.array([list(varying.values())] * 3) * np.array([[1.0], [0.97], [0.93]])
    batch = BatchLoss(Problem(circuit, law, importance, free=params, varying=list(varying)))
    values_, gradients = batch.values_and_gradients(X, F)
    out["batch"] = {"values": _hex(values_), "gradients": _hex(gradients), "values only": _hex(batch.values(X, F))}

    mc = monte_carlo_loss(Problem(circuit, law, importance, fixed=values), samples=SAMPLES, seed=SEED)
    out["monte carlo"] = {"mean": _hex(mc.mean), "stderr": _hex(mc.stderr)}
    return out


@pytest.mark.parametrize("name", CASES)
def test_every_engine_gives_the_recorded_bits(name):
    expected = json.loads(GOLDEN.read_text())[name]
    found = record(name)
    assert found.keys() == expected.keys()
    for engine in expected:
        assert found[engine] == expected[engine], f"{name}: {engine} moved"


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_golden.py --record")
    GOLDEN.write_text(json.dumps({name: record(name) for name in CASES}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
