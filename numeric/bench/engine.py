"""The engine: how long closed forms take to derive, cold.

Each function derives one loss with :func:`analytic.expected_loss` and returns ``seconds``, the
derivation's time alone (the imports are done before the clock starts), with a figure or two
that says what was derived. Run each in a fresh process (:func:`numeric.bench.runner.fresh`):
nothing is then cached from an earlier derivation, and :mod:`numeric.bench.tables` takes the
median over several processes.
"""

from __future__ import annotations

import time

import sympy as sp

from analytic import Circuit, SparseUniform, expected_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition

from . import TRAINED_SIZE_SEED, trained_size_weights


def motif() -> dict:
    """The motif with its ten weights, ``S`` and ``I_a, I_b, I_c`` symbolic, derived in its
    canonical regime: ``seconds`` and the regime's number of ``conditions``."""
    start = time.perf_counter()
    loss = expected_loss(asymmetric_inhibition(), SparseUniform(sym("S")), syms("I_a I_b I_c"), at=CANONICAL)
    return {"seconds": time.perf_counter() - start, "conditions": len(loss.conditions)}


def trained_network(seed: int = TRAINED_SIZE_SEED, features: int = 6, neurons: int = 10, decay: float = 0.7) -> dict:
    """The exact loss of the float network :func:`numeric.bench.trained_size_weights` as a
    polynomial in ``S``, importances ``decay^i``: ``seconds`` and the number of ``terms``
    (outputs times patterns of active features)."""
    W1, W2, b2 = trained_size_weights(seed, features, neurons)
    circuit = Circuit(W1.tolist(), W2.tolist(), b2=b2.tolist())
    importance = [decay**i for i in range(features)]
    start = time.perf_counter()
    loss = expected_loss(circuit, SparseUniform(sym("S")), importance)
    return {"seconds": time.perf_counter() - start, "terms": len(loss.terms)}


def nested_relu_superloss(r: float = 0.5, k: float = 3, e: float = 0.5, nested: bool = True) -> dict:
    """One 2-feature term with a nested ReLU, ``(|y| - ReLU(r x - y - k ReLU(e x)))^2`` on
    ``[-1, 1]^2``, derived by superloss in the regime of the point ``(r, k, e)``: ``seconds``,
    the term's ``ops`` (``sympy.count_ops``) and its ``value`` at the point. Not ``nested``: the
    term without its inner ReLU, ``(|y| - ReLU(r x - y))^2`` (a smaller one, for tests)."""
    rs, ks, es = sym("r"), sym("k"), sym("e")
    # hidden: ReLU(e x), ReLU(r x - y), ReLU(y - r x); output y: ReLU(h2 - h3 - k h1)
    hidden, output, point = [[rs, -1], [-rs, 1]], [[0, 0], [1, -1]], {rs: r}
    if nested:
        hidden, output, point = [[es, 0], *hidden], [[0, 0, 0], [-ks, 1, -1]], {rs: r, ks: k, es: e}
    circuit = Circuit(hidden, output)
    start = time.perf_counter()
    loss = expected_loss(circuit, SparseUniform(0), at=point)
    seconds = time.perf_counter() - start
    term = loss.terms[(1, frozenset({0, 1}))]
    return {"seconds": seconds, "ops": int(sp.count_ops(term)), "value": float(term.subs(point))}


def nested_relu_sympy(r: float = 0.5, k: float = 3, e: float = 0.5, nested: bool = True) -> dict:
    """The same term by plain ``sympy.integrate`` with ``r, k, e`` positive symbols: ``seconds``,
    ``ops``, whether SymPy left an integral ``unevaluated`` (SymPy 1.14 returns the outer one over
    ``x`` as an ``Integral`` of a ``Piecewise``) and its ``value`` at ``(r, k, e)`` (where an integral
    is left, by numerical quadrature, outside the clock)."""
    x, y = sp.symbols("x y", real=True)
    rs, ks, es = sp.symbols("r k e", positive=True)
    inner = ks * sp.Max(0, es * x) if nested else 0
    integrand = (sp.Abs(y) - sp.Max(0, rs * x - y - inner)) ** 2
    start = time.perf_counter()
    # Inner integral over y: in the other order SymPy 1.14 returns an answer in which x is still free.
    value = sp.integrate(integrand, (y, -1, 1), (x, -1, 1)) / 4
    seconds = time.perf_counter() - start
    point = {rs: sp.Rational(str(r)), ks: sp.Rational(str(k)), es: sp.Rational(str(e))}
    return {
        "seconds": seconds,
        "ops": int(sp.count_ops(value)),
        "unevaluated": bool(value.has(sp.Integral)),
        "value": float(value.subs(point)),
    }


def polygon(k: int = 5, law: str = "one_hot", sparsity: str = "9/10") -> dict:
    """The regular k-gon reconstruction model (:func:`analytic.presets.regular_polygon`), exact
    irrational weights, length ``r`` and bias ``b`` symbolic, derived at ``r = 1, b = -1/5``
    under the one-hot law or the sparse-uniform law with a numeric ``sparsity``: ``seconds``,
    the field's ``degree``, the number of ``terms`` and the ``value`` at the point."""
    from analytic import OneHot
    from analytic.algebraic import RealField, generators
    from analytic.presets import regular_polygon

    circuit = regular_polygon(k)
    r, b = syms("r b")
    point = {r: 1, b: sp.Rational(-1, 5)}
    chosen = OneHot() if law == "one_hot" else SparseUniform(sp.Rational(sparsity))
    start = time.perf_counter()
    loss = expected_loss(circuit, chosen, at=point)
    seconds = time.perf_counter() - start
    gens = generators(circuit.entries())
    return {
        "seconds": seconds,
        "degree": RealField.of(gens).degree if gens else 1,
        "terms": len(loss.terms),
        "value": float(loss.expr.subs(point)),
    }
