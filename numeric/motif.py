"""The motif family of the study: its weights, the box they are searched in, its nested
variants, and the structure an optimum takes.

The family is :func:`analytic.presets.asymmetric_inhibition` with the sparsity ``S``
shared by its three features and importances ``(1, I_b, 1)``: the rider ``b``
matters ``I_b`` as much as the host ``a`` and the inhibitor's own feature ``c``.
Every variant (:data:`VARIANTS`) is the full motif at some values of its weights,
and :func:`classify` names an optimum's structure from quantities that the
rescaling symmetry leaves unchanged.
"""

from __future__ import annotations

from analytic import sym, syms

w_a, w_b, o_a, o_b, delta, kappa, gamma, b_a, b_b, b_c = syms("w_a w_b o_a o_b delta kappa gamma b_a b_b b_c")
S, I_b = sym("S"), sym("I_b")

#: The box every weight is optimized in.
BOX = {
    w_a: (0, 10),
    w_b: (0, 10),
    o_a: (0, 10),
    o_b: (0, 10),
    delta: (0, 1),
    kappa: (0, 1000),
    gamma: (0, 10),
    b_a: (-1, 1),
    b_b: (-1, 1),
    b_c: (-1, 1),
}

#: The nested variants, simplest first, each as the values it gives the full motif's weights.
VARIANTS = {
    "rider dropped": {w_b: 0, o_b: 0},
    "symmetric": {w_b: w_a, o_b: o_a, kappa: 0, delta: 0, gamma: 0},
    "no inhibition": {kappa: 0, delta: 0, gamma: 0},
    "no leak": {gamma: 0},
    "full": {},
}

#: Thresholds of :func:`classify`, on quantities the rescaling symmetry leaves unchanged:
#: the rider's path ``w_b o_b`` and the inhibition ``kappa delta`` against the
#: monosemantic neurons' unit path, and the host/rider ratios' distance from 1.
TOLERANCE = {"rider": 1e-3, "symmetric": 1e-2, "inhibition": 1e-3}

STRUCTURES = ("rider dropped", "symmetric", "asymmetric without inhibition", "asymmetric with inhibition")


def classify(params: dict) -> str:
    """The structure a motif optimum takes.

    >>> classify({w_a: 2, w_b: 0.5, o_a: 0.5, o_b: 2, delta: 0.25, kappa: 20, gamma: 0.125})
    'asymmetric with inhibition'
    """
    p = {s: float(params.get(s, 0.0)) for s in BOX}
    # The host neuron serving one feature only. With I_b = 1 host and rider are
    # interchangeable, and the optimum may as well keep the rider and drop the host's half.
    if min(p[w_b] * p[o_b], p[w_a] * p[o_a]) < TOLERANCE["rider"]:
        return "rider dropped"
    inhibition = p[kappa] * p[delta] >= TOLERANCE["inhibition"]
    ratios = (p[w_a] / p[w_b], p[o_a] / p[o_b]) if p[o_b] and p[w_b] else (float("inf"),) * 2
    if not inhibition and all(abs(r - 1) < TOLERANCE["symmetric"] for r in ratios):
        return "symmetric"
    return "asymmetric with inhibition" if inhibition else "asymmetric without inhibition"
