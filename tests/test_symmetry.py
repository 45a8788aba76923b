"""Rescaling symmetries, found from a circuit's structure, and the flatness they promise."""

from __future__ import annotations

import sympy as sp

from analytic import Circuit, SparseUniform, expected_loss, sym, syms
from analytic.presets import CANONICAL, asymmetric_inhibition, compose, relu_output, symmetric_superposition
from analytic.symmetry import rescalings


def names(fields):
    return [{s.name: str(e) for s, e in f.items()} for f in fields]


def test_the_motif_host_neuron_rescales_and_the_inhibitor_is_pinned_by_its_unit_weight():
    assert names(rescalings(asymmetric_inhibition())) == [
        {"gamma": "-gamma", "o_a": "-o_a", "o_b": "-o_b", "w_a": "w_a", "w_b": "w_b"}
    ]


def test_one_symmetry_per_free_unit_and_none_for_tied_or_linear_units():
    two = compose(6, [(2, 5, 4, 1, 1, 1), (3, 5, 4, -1, -1, -1)])
    assert len(rescalings(two)) == 2
    assert names(rescalings(symmetric_superposition())) == [{"o": "-o", "w": "w"}]
    w = sym("w")
    # w is both the input and the output weight: scaling one by c and the other by 1/c is impossible.
    assert rescalings(Circuit([[w]], [[w]])) == ()
    assert rescalings(relu_output([[w, 1]])) == ()  # w is the input and the output weight


def test_hidden_bias_scales_with_the_input_row():
    w, b, o = syms("w b o")
    assert names(rescalings(Circuit([[w]], [[o]], b1=[b]))) == [{"b": "b", "o": "-o", "w": "w"}]


def test_a_redundant_parametrisation_is_a_symmetry_too():
    a, b = syms("a b")
    assert names(rescalings(Circuit([[a * b]], [[1]]))) == [{"a": "-a", "b": "b"}]


def test_the_exact_loss_is_unchanged_along_the_symmetry():
    (field,) = rescalings(asymmetric_inhibition())
    c = sp.Rational(3)
    moved = {s: v * c ** int(sp.sign(field[s].subs(s, 1))) if s in field else v for s, v in CANONICAL.items()}
    assert moved != CANONICAL
    S = sym("S")
    law, importance = SparseUniform(S), [1, sp.Rational(3, 10), 1]
    here = expected_loss(asymmetric_inhibition().subs(CANONICAL), law, importance).expr
    there = expected_loss(asymmetric_inhibition().subs(moved), law, importance).expr
    assert sp.expand(here - there) == 0 and here.has(S)


def test_a_linear_hidden_unit_rescales_too():
    w, o = syms("w o")
    assert names(rescalings(Circuit([[w]], [[o]], hidden="linear"))) == [{"o": "-o", "w": "w"}]
