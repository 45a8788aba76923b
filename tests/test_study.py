"""The motif study's pieces: nesting of the variants and the classification of optima."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from analytic import Problem, SparseUniform
from analytic.presets import CANONICAL, asymmetric_inhibition
from numeric.engines.pointwise import PointwiseLoss
from numeric.motif import BOX, VARIANTS, I_b, S, classify, delta, gamma, kappa, o_a, o_b, w_a, w_b
from numeric.study import _embed

FIXED = {S: sp.Rational(7, 10), I_b: sp.Rational(3, 10)}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_every_variant_is_the_full_motif_at_its_embedded_point(name):
    full = asymmetric_inhibition()
    circuit = full.subs(VARIANTS[name]) if VARIANTS[name] else full
    rng = np.random.default_rng(len(name))
    params = {
        s: float(rng.uniform(0.2, 2.0)) * (1 if s not in ("b_a", "b_b", "b_c") else -0.05) for s in circuit.symbols
    }
    variant = PointwiseLoss(Problem(circuit, SparseUniform(S), [1, I_b, 1], free=list(params), fixed=FIXED))
    motif = PointwiseLoss(Problem(full, SparseUniform(S), [1, I_b, 1], free=list(BOX), fixed=FIXED))
    embedded = _embed(VARIANTS[name], params)
    assert variant.value(list(params.values())) == pytest.approx(motif.value([embedded[s] for s in BOX]), rel=1e-12)


def test_classification_uses_quantities_the_rescaling_leaves_alone():
    assert classify(CANONICAL) == "asymmetric with inhibition"
    scaled = {**CANONICAL, w_a: 20, w_b: 5, o_a: sp.Rational(1, 20), o_b: sp.Rational(1, 5), gamma: sp.Rational(1, 80)}
    assert classify(scaled) == "asymmetric with inhibition"
    assert classify({**CANONICAL, w_b: 0}) == "rider dropped"
    assert classify({**CANONICAL, kappa: 0}) == "asymmetric without inhibition"
    assert classify({**CANONICAL, delta: 0, w_b: 2, o_b: sp.Rational(1, 2)}) == "symmetric"
    assert classify({**CANONICAL, delta: 0, w_b: 2, o_b: sp.Rational(6, 10)}) == "asymmetric without inhibition"


def test_a_bound_that_binds_is_relaxed_until_the_optimum_moves_inside():
    from analytic import Circuit, sym
    from numeric.optimize import optimize
    from numeric.study import _relax

    w = sym("w")
    circuit, law = Circuit([[w]], [[1]]), SparseUniform(0)
    best = optimize(Problem(circuit, law, free={w: (0.1, 0.5)}), starts=2, samples=0)
    (relaxation,) = _relax(best, seed=0)
    assert relaxation.side == "high" and relaxation.inside and not relaxation.stalled
    assert relaxation.widths[0][0] == pytest.approx(4.1) and relaxation.widths[0][1] == pytest.approx(1.0)
    assert relaxation.limit is None
