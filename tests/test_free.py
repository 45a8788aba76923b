"""Exact optima of free models: the search, its starts, its certificate and its command."""

import json
from dataclasses import replace

import numpy as np
import pytest

from analytic import Circuit, Problem, SparseUniform, SuperlossError, syms
from numeric.cli import main
from numeric.engines.pointwise import PointwiseLoss
from numeric.free.certificate import certify
from numeric.free.model import FreeModel
from numeric.free.optimum import _continued, balanced, free_optimum, with_run
from numeric.free.search import Run, engine, run_searches, search_box, signed_search
from numeric.free.starts import Start, random_points, structured
from numeric.optimize import LOCAL_OPTIONS, local_search, optimize


def test_model_layout_round_trips_and_matches_the_circuit():
    model = FreeModel(3, 5)
    x = np.arange(model.size, dtype=float)
    W1, W2, b = model.split(x)
    assert np.array_equal(model.join(W1, W2, b), x)
    circuit = model.problem().free_circuit
    assert circuit.W1[1, 2].name == "W1_2_3" and W1[1, 2] == x[5]
    assert circuit.W2[2, 4].name == "W2_3_5" and W2[2, 4] == x[15 + 14]


@pytest.mark.parametrize("n, m", [(0, 1), (5, 2), (3, 9), (2, 0)])
def test_sizes_outside_the_range_are_refused(n, m):
    with pytest.raises(SuperlossError, match="must be an integer from 1 to"):
        FreeModel(n, m)


def test_both_engines_give_the_same_loss_and_gradient():
    """The batched engine serves n <= 3 and the pointwise one n = 4; both are exact."""
    model = FreeModel(3, 4)
    x = random_points(model, 1, np.random.default_rng(1))[0].x
    value, gradient = engine(model, 0.7, [1, 0.5, 2])(x)
    problem = model.problem()
    fixed = dict(zip(problem.varying, [0.7, 1, 0.5, 2], strict=True))
    reference = PointwiseLoss(problem.fix(fixed))
    v, g = reference.value_and_gradient(x)
    assert value == pytest.approx(v, rel=1e-12)
    assert np.allclose(gradient, g, rtol=1e-10, atol=1e-13)


def test_structured_starts_hold_the_motif_and_monosemantic_halves():
    model = FreeModel(3, 5)
    starts = structured(model, [1, 0.3, 1])
    kinds = [s.kind for s in starts]
    # Six (host, rider, inhibitor), with and without inhibition, one instance and two mirrored ones.
    assert kinds.count("monosemantic") == 2 and kinds.count("motif") == 24
    # The motif with host 0, rider 1, inhibitor 2 at the canonical point: kappa = 20 on y_1.
    W1, W2, _ = model.split(starts[2].x)
    assert W1[0].tolist() == [2, -0.5, 0] and W2[1, 1] == -20
    # Its mirror image beside it: host 0- carries rider 1+, inhibitor 2- (every half of the three).
    W1, W2, _ = model.split(starts[2 + 12].x)
    assert W1[:4].tolist() == [[2, -0.5, 0], [0.25, 0, 1], [-2, 0.5, 0], [-0.25, 0, -1]]
    assert W2[1, :4].tolist() == [2, -20, 2, -20] and W2[:, 4].tolist() == [0, 0, 0]
    # Three neurons hold one instance only.
    assert [s.kind for s in structured(FreeModel(3, 3), [1, 0.3, 1])].count("motif") == 12


def test_searches_do_not_depend_on_the_number_of_workers():
    model = FreeModel(2, 2)
    starts = random_points(model, 4, np.random.default_rng(0))
    one = run_searches(model, 0.5, [1, 0.5], starts, jobs=1, evaluations=60)
    two = run_searches(model, 0.5, [1, 0.5], starts, jobs=2, evaluations=60)
    assert [r.loss for r in one] == [r.loss for r in two]
    assert all(np.array_equal(a.x, b.x) for a, b in zip(one, two, strict=True))


def test_free_two_by_one_agrees_with_the_certified_optimizer():
    """An independent route: the project's optimizer on the same circuit, written by hand, certified
    with the closed form of its regime."""
    best = free_optimum(2, 1, 0.5, [1, 0.5], starts=8, samples=200_000)
    u1, u2, v1, v2, c1, c2 = syms("u1 u2 v1 v2 c1 c2")
    box = {u1: (-3, 3), u2: (-3, 3), v1: (-3, 3), v2: (-3, 3), c1: (-1, 1), c2: (-1, 1)}
    circuit = Circuit([[u1, u2]], [[v1], [v2]], b2=[c1, c2])
    reference = optimize(Problem(circuit, SparseUniform(0.5), [1, 0.5], free=box), starts=16, samples=0)
    assert best.loss == pytest.approx(reference.loss, rel=1e-9)
    assert best.certificate.monte_carlo.agrees(best.loss)
    # Canonical: the live neuron's largest input weight is 1 in absolute value.
    assert np.abs(best.model.W1[0]).max() == pytest.approx(1.0)
    assert not best.growth.falling


def test_at_twice_as_many_neurons_as_features_the_search_reaches_the_exact_fit():
    best = free_optimum(3, 6, 0.9, [1, 0.3, 1], starts=4, trained_starts=0, samples=0)
    assert best.loss <= 1e-12
    assert best.description.structures.count("monosemantic half") == 6


def test_certificate_at_a_known_minimum():
    """One neuron, one feature: ReLU(v ReLU(u x) + c); the optimum is a strict minimum
    up to the rescaling of the neuron, which the Hessian must leave flat."""
    best = free_optimum(1, 1, 0.5, [1], starts=4, trained_starts=0, samples=100_000)
    cert = best.certificate
    assert cert.verdict == "minimum" and not cert.on_boundary
    assert cert.symmetry_residual < 1e-4
    assert cert.gradient_norm < 1e-8
    assert cert.monte_carlo.agrees(best.loss)
    # A rescaled copy of the point is the same model: same loss, the same canonical form.
    model = FreeModel(1, 1)
    x = model.join(*best.model.weights())
    assert engine(model, 0.5, [1])(balanced(model, x))[0] == pytest.approx(best.loss, rel=1e-12)


def test_a_dead_neuron_that_could_help_makes_a_saddle():
    """Two features, two neurons, one of them dead: reviving it lowers the loss."""
    model = FreeModel(2, 2)
    best = free_optimum(2, 1, 0.5, [1, 1], starts=4, trained_starts=0, samples=0)
    W1, W2 = np.zeros((2, 2)), np.zeros((2, 2))
    W1[0], W2[:, 0] = best.model.W1[0], best.model.W2[:, 0]
    cert = certify(model, 0.5, [1, 1], model.join(W1, W2, best.model.b), samples=0)
    assert cert.revival > 1e-3 and cert.verdict == "saddle"
    ill = replace(cert, verdict="minimum", hessian_eigenvalues=np.array([1e-8, 0.5, 2.0]))
    assert "minimum, ill-conditioned" in str(ill) and "ill-conditioned" not in str(cert)


def test_atlas_command_one_point(tmp_path, capsys):
    out = tmp_path / "free.json"
    argv = ["atlas", "--features", "2", "--neurons", "1", "--sparsity", "0.5", "--importances", "1", "1/2"]
    assert main(argv + ["--starts", "4", "--samples", "1000", "--jobs", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert f"by {data['hits']} of {data['starts']} starts" in printed
    assert {"loss", "W1", "W2", "b", "certificate", "description"} <= set(data)
    assert np.array(data["W1"]).shape == (1, 2)


def test_atlas_command_one_point_of_the_motifs_features_compares_its_pattern(tmp_path, capsys):
    out = tmp_path / "free.json"
    argv = ["atlas", "--features", "3", "--neurons", "2", "--sparsity", "0.9", "--importances", "1", "0.3", "1"]
    assert main(argv + ["--starts", "2", "--samples", "0", "--jobs", "1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert "the motif's pattern of zeros" in printed and f"{data['motif_pattern']:.10g}" in printed
    # The free model starts from the pattern's optimum, which it contains.
    assert data["loss"] <= data["motif_pattern"] * (1 + 1e-12)
    assert data["motif_optimal"] is bool(data["motif_optimal"])


def test_a_search_starts_where_its_start_is_even_outside_the_box():
    """``|x| = 100 ReLU(x/100) + 100 ReLU(-x/100)`` exactly, with weights beyond the box: cut to
    the box, its output weights would be 25 and the start another, worse model."""
    model = FreeModel(1, 2)
    x = model.join([[0.01], [-0.01]], [[100.0, 100.0]], [0.0])
    assert x.max() > search_box(model)[1].max()
    (run,) = run_searches(model, 0.5, [1.0], [Start("given", x)], evaluations=1)
    assert run.loss <= 1e-15 and np.array_equal(run.x, x)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--features", "5", "--neurons", "2", "--sparsity", "0.9", "--importances", "1"], "features must be"),
        (["--features", "2", "--neurons", "0", "--sparsity", "0.9", "--importances", "1", "1"], "neurons must be"),
        (["--features", "2", "--neurons", "2", "--sparsity", "1.5", "--importances", "1", "1"], "--sparsity"),
        (["--features", "2", "--neurons", "2", "--sparsity", "0.5", "--importances", "1"], "1 given for 2"),
        (["--features", "2", "--neurons", "2", "--sparsity", "0.5", "--importances", "1", "-1"], "--importances"),
    ],
)
def test_atlas_command_refuses_bad_input(argv, message, capsys):
    assert main(["atlas", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_pattern_of_zeros_leaves_only_its_entries_free():
    full = FreeModel(3, 5)
    x = random_points(full, 1, np.random.default_rng(2))[0].x
    W1, W2, b = full.split(x)
    pattern = tuple(bool(v) for v in full.join(W1 > 0, W2 > 0, np.ones(3)))
    model = FreeModel(3, 5, pattern)
    assert model.size == sum(pattern) and all(p.name in {q.name for q in full.params} for p in model.params)
    y = model.join(W1, W2, b)
    A, B, c = model.split(y)
    assert np.array_equal(A, np.where(W1 > 0, W1, 0)) and np.array_equal(B, np.where(W2 > 0, W2, 0))
    value, gradient = engine(model, 0.8, [1, 0.5, 1])(y)
    reference, full_gradient = engine(full, 0.8, [1, 0.5, 1])(full.join(A, B, c))
    assert value == reference and np.array_equal(gradient, full_gradient[full.free[np.array(pattern)]])


def test_a_further_run_counts_as_a_start_and_replaces_the_best_only_when_lower():
    found = free_optimum(2, 2, 0.9, (1, 1), starts=3, samples=0, certificate=False, widenings=0)
    best = min(found.runs, key=lambda r: r.loss)
    higher = Run(Start("neighbour", best.x), found.loss * 2, best.x, 1)
    more = with_run(found, higher, widenings=0)
    assert more.starts == found.starts + 1 and more.loss == found.loss and more.by_kind["neighbour"] == higher.loss
    runs = more.to_dict()["runs"]
    assert more.hits == found.hits >= 1 and sum(r["kind"] != "hop" for r in runs) == more.starts
    assert any(r["kind"] == "hop" for r in runs), "basin hopping ran, and its searches are not counted as starts"
    # Against a result that claims twice its loss, the same point is lower and becomes the best.
    worse = replace(found, loss=2 * found.loss)
    lower = with_run(worse, Run(Start("neighbour", best.x), best.loss, best.x, 1), widenings=0)
    assert lower.loss == pytest.approx(found.loss, rel=1e-12) and lower.starts == found.starts + 1


def test_a_stage_of_the_screening_continues_only_the_lowest_searches_and_the_given_ones():
    model = FreeModel(2, 2)
    starts = random_points(model, 6, np.random.default_rng(3))
    runs = run_searches(model, 0.9, (1, 1), starts, evaluations=5)
    order = sorted(range(6), key=lambda k: runs[k].loss)
    more = _continued(model, 0.9, (1, 1), runs, 2, 40, always=[order[-1]])
    for k in range(6):
        if k in order[:2] + order[-1:]:
            assert more[k].start is runs[k].start and more[k].loss <= runs[k].loss
            assert more[k].evaluations > runs[k].evaluations
        else:
            assert more[k] is runs[k]


def test_the_signed_search_stops_on_a_kink_at_a_zero_input_weight():
    # The exact loss has a kink where an input weight crosses zero; a minimum sitting on it
    # is reached exactly by the split w = u - v, and only approached by a plain search.
    model = FreeModel(1, 1)
    lo, hi = search_box(model)

    def kinked(x):
        value = abs(x[0]) + 0.5 * x[0] + (x[1] - 2) ** 2 + x[2] ** 2
        return value, np.array([np.sign(x[0]) + 0.5, 2 * (x[1] - 2), 2 * x[2]])

    x0 = np.array([0.7, 0.3, 0.4])
    options = {**LOCAL_OPTIONS, "maxfun": 1500}
    assert signed_search(model, kinked, x0, lo, hi, options).x[0] == 0.0
    assert local_search(kinked, x0, lo, hi, options).x[0] != 0.0


def test_the_signed_search_does_not_stop_early_at_a_small_loss():
    # L-BFGS-B's ftol compares a step's fall with max(|f|, 1): at a loss of 1e-12 a plain
    # search stops after two steps; divided by its value at the start, the search goes on.
    model = FreeModel(1, 1)
    lo, hi = search_box(model)
    scale = 1e-12

    def rosenbrock(x):
        a, b = x[1], x[2]
        value = scale * ((1 - a) ** 2 + 100 * (b - a * a) ** 2 + x[0] ** 2)
        return value, scale * np.array([2 * x[0], -2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])

    x0 = np.array([0.0, -1.2, 1.0])
    options = {**LOCAL_OPTIONS, "maxfun": 1500}
    assert signed_search(model, rosenbrock, x0, lo, hi, options).fun < 1e-10 * scale
    assert local_search(rosenbrock, x0, lo, hi, options).fun > 1e-3 * scale


def test_given_starts_other_than_trained_models_are_never_screened_out(monkeypatch):
    import numeric.free.optimum as optimum

    stages = []
    real = optimum._continued

    def spy(model, sparsity, importance, runs, keep, cap, always=(), **search):
        stages.append(([r.start.kind for r in runs], set(always)))
        return real(model, sparsity, importance, runs, keep, cap, always, **search)

    monkeypatch.setattr(optimum, "_continued", spy)
    model = FreeModel(2, 2)
    far = random_points(model, 2, np.random.default_rng(5))
    x0 = [10 * far[0].x, Start("trained", far[1].x)]
    free_optimum(2, 2, 0.9, (1, 0.5), starts=12, x0=x0, hops=0, samples=0, certificate=False)
    screening = [(kinds, always) for kinds, always in stages if "given" in kinds]
    assert len(screening) == 2, "two stages of the screening"
    for kinds, always in screening:
        assert always == {kinds.index("given")} and "trained" in kinds
