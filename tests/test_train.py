"""The numpy trainer: gradients, optimizer, seeding, and trained models against the exact loss."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from analytic import Problem, SuperlossError, expected_loss
from numeric.engines.montecarlo import forward, monte_carlo_loss
from numeric.train import MODELS, SCHEDULES, Adam, AdamW, TrainConfig, Trainer, TrainResult, forward_backward, train

from conftest import Z_MAX

SMALL = TrainConfig(steps=60, batch=32, lr=1e-2)


def _random_problem(hidden: str, output: str, K: int = 3, n: int = 3, m: int = 4, B: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    arrays = {
        "W1": rng.normal(size=(K, m, n)),
        "b1": rng.normal(size=(K, m)) * 0.3,
        "W2": rng.normal(size=(K, n, m)),
        "b2": rng.normal(size=(K, n)) * 0.3,
    }
    x = rng.uniform(-1, 1, size=(K, n, B))
    target = np.abs(x) + rng.normal(size=x.shape) * 0.1
    importance = rng.uniform(0.1, 2, size=(K, n))
    return arrays, x, target, importance


@pytest.mark.parametrize("hidden, output", list(itertools.product(["relu", "linear"], repeat=2)))
def test_gradients_match_central_differences(hidden, output):
    arrays, x, target, importance = _random_problem(hidden, output)

    def loss(a):
        return forward_backward(a["W1"], a["W2"], a["b1"], a["b2"], x, target, importance, hidden, output).loss

    grads = forward_backward(
        arrays["W1"], arrays["W2"], arrays["b1"], arrays["b2"], x, target, importance, hidden, output
    )
    eps = 1e-6
    for name, array in arrays.items():
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            k = index[0]
            plus = {**arrays, name: array.copy()}
            minus = {**arrays, name: array.copy()}
            plus[name][index] += eps
            minus[name][index] -= eps
            numeric[index] = (loss(plus)[k] - loss(minus)[k]) / (2 * eps)
            # An entry of instance k changes no other instance's loss.
            others = np.arange(len(array)) != k
            assert np.array_equal(loss(plus)[others], loss(arrays)[others])
        np.testing.assert_allclose(getattr(grads, name), numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_loss_is_the_importance_weighted_sum_over_features():
    arrays, x, target, importance = _random_problem("relu", "relu")
    got = forward_backward(arrays["W1"], arrays["W2"], arrays["b1"], arrays["b2"], x, target, importance).loss
    for k in range(len(x)):
        y = forward(arrays["W1"][k], arrays["W2"][k], arrays["b1"][k], arrays["b2"][k], x[k].T)
        assert got[k] == pytest.approx((((target[k].T - y) ** 2) @ importance[k]).mean(), rel=1e-12)


@pytest.mark.parametrize("model", list(MODELS))
def test_model_gradients_match_central_differences(model):
    # For "reconstruction" this checks that the tied W gets the sum of its two uses.
    spec = MODELS[model]
    rng = np.random.default_rng(1)
    K, n, m, B = 2, 3, 2, 6
    weights = {name: np.stack([spec.init(rng, n, m)[name] for _ in range(K)]) for name in spec.names}
    weights["b"] = rng.normal(size=(K, n)) * 0.2
    x = rng.uniform(spec.low, spec.high, size=(K, n, B))
    target = np.abs(x) if spec.target == "abs" else x
    importance = rng.uniform(0.5, 1.5, size=(K, n))
    _, grads = spec.loss_and_grads(weights, x, target, importance)
    eps = 1e-6
    for name, grad in zip(spec.names, grads, strict=True):
        for index in np.ndindex(weights[name].shape):
            plus = {**weights, name: weights[name].copy()}
            minus = {**weights, name: weights[name].copy()}
            plus[name][index] += eps
            minus[name][index] -= eps
            numeric = (
                spec.loss_and_grads(plus, x, target, importance)[0][index[0]]
                - spec.loss_and_grads(minus, x, target, importance)[0][index[0]]
            ) / (2 * eps)
            assert grad[index] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, index)


@pytest.mark.parametrize(
    "optimizer, decay, schedule, warmup",
    [("adam", 0.0, "constant", 0), ("adam", 0.1, "cosine", 0), ("adamw", 0.1, "warmup_cosine", 2)],
)
def test_adam_matches_torch(optimizer, decay, schedule, warmup):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    steps = 6
    params = [rng.normal(size=(2, 3)), rng.normal(size=(2, 4, 2))]
    reference = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    ours = {"adam": Adam, "adamw": AdamW}[optimizer](
        params, lr=0.05, weight_decay=decay, schedule=schedule, warmup=warmup, steps=steps
    )
    theirs = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[optimizer](reference, lr=0.05, weight_decay=decay)
    factor = torch.optim.lr_scheduler.LambdaLR(theirs, lambda t: SCHEDULES[schedule](t, steps, warmup))
    for step in range(steps):
        grads = [rng.normal(size=p.shape) for p in params]
        for r, g in zip(reference, grads, strict=True):
            r.grad = torch.tensor(g)
        theirs.step()
        factor.step()
        ours.update(grads, step)
    for p, r in zip(params, reference, strict=True):
        np.testing.assert_allclose(p, r.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_clipping_is_per_instance():
    params = [np.zeros((2, 3)), np.zeros((2, 1))]
    grads = [np.array([[3.0, 0, 0], [0.1, 0, 0]]), np.array([[4.0], [0.0]])]  # norms 5 and 0.1
    np.testing.assert_allclose(Adam(params, clip=1.0).clip_factor(grads), [1 / (5 + 1e-6), 1.0])
    # Adam's first step moves each entry by lr * sign(g): clipping (a common scale) leaves it unchanged.
    opt = Adam(params, lr=0.1, clip=1.0)
    opt.update(grads, 0)
    np.testing.assert_allclose(params[0], [[-0.1, 0, 0], [-0.1, 0, 0]], atol=1e-6)


def test_schedules():
    assert SCHEDULES["constant"](7, 10, 0) == 1.0
    assert SCHEDULES["cosine"](0, 10, 0) == 1.0
    assert SCHEDULES["cosine"](5, 10, 0) == pytest.approx(0.5)
    warm = [SCHEDULES["warmup_cosine"](t, 10, 4) for t in range(10)]
    assert warm[:4] == [0.25, 0.5, 0.75, 1.0] and warm[4] == 1.0 and warm[-1] < 0.1
    assert Adam([np.zeros((1, 1))], lr=0.2, schedule="cosine", steps=10).learning_rate(5) == pytest.approx(0.1)


def test_same_seed_gives_identical_weights_and_another_seed_different():
    a = train("hidden", 3, 2, [0.5], [[1, 1, 1]], [4], SMALL, progress=False)
    b = train("hidden", 3, 2, [0.5], [[1, 1, 1]], [4], SMALL, progress=False)
    c = train("hidden", 3, 2, [0.5], [[1, 1, 1]], [5], SMALL, progress=False)
    for name in a.weights:
        assert np.array_equal(a.weights[name], b.weights[name])
    assert not np.array_equal(a.weights["W1"], c.weights["W1"])


def test_an_instance_trains_the_same_whatever_else_is_in_the_batch():
    alone = train("hidden", 3, 2, [0.9], [[1, 0.5, 0.25]], [0], SMALL, progress=False)
    many = train("hidden", 3, 2, [0.5, 0.9], [[1, 1, 1], [1, 0.5, 0.25]], [7, 0], SMALL, progress=False)
    rows = list(zip(many.seeds.tolist(), many.sparsities.tolist(), map(tuple, many.importances.tolist()), strict=True))
    k = rows.index((0, 0.9, (1.0, 0.5, 0.25)))
    assert k == 7  # seed-major: (seed 1, S 1, importance 1)
    for name in alone.weights:
        assert np.array_equal(alone.weights[name][0], many.weights[name][k])
    assert np.array_equal(alone.history[:, 0], many.history[:, k])


def test_instances_with_one_seed_share_their_initialization():
    trainer = Trainer("hidden", 3, 2, [0.1, 0.9], [[1, 1, 1]], [0, 1], SMALL)
    W1 = trainer.weights["W1"]
    assert np.array_equal(W1[0], W1[1]) and not np.array_equal(W1[0], W1[2])
    assert np.abs(W1).max() <= math.sqrt(6 / (3 + 2))  # Xavier uniform


def test_sampled_features_follow_the_law():
    size = 200_000
    trainer = Trainer("hidden", 4, 2, [0.0, 0.75], [[1, 1, 1, 1]], [0], TrainConfig(steps=1, batch=size))
    x, target = trainer.sample()
    assert x.shape == (2, 4, size) and np.array_equal(target, np.abs(x))
    assert (x[0] != 0).all() and x.min() >= -1 and x.max() < 1
    active = (x[1] != 0).mean()
    assert abs(active - 0.25) < Z_MAX * math.sqrt(0.25 * 0.75 / x[1].size)
    assert abs(x[0].mean()) < Z_MAX * math.sqrt(1 / 3 / x[0].size)
    assert np.array_equal(x[1][x[1] != 0], x[0][x[1] != 0])  # one seed: common random numbers
    reconstruction = Trainer("reconstruction", 4, 2, [0.0], [[1, 1, 1, 1]], [0], TrainConfig(steps=1, batch=1000))
    x, target = reconstruction.sample()
    assert np.array_equal(target, x) and x.min() >= 0 and x.max() < 1


@pytest.mark.parametrize(
    "model, n, m, S, importance", [("hidden", 3, 4, 0.7, [1, 0.7, 0.5]), ("reconstruction", 3, 2, 0.5, [1, 1, 0.5])]
)
def test_training_lowers_the_loss_and_the_estimate_matches_the_exact_loss(model, n, m, S, importance):
    config = TrainConfig(steps=1500, batch=256, lr=1e-2, schedule="cosine")
    result = train(model, n, m, [S], [importance], [0, 1], config, progress=False)
    assert result.final_estimate.steps == 150
    # The zero model loses sum_i I_i E[x_i^2] = sum_i I_i (1 - S) / 3 on [-1, 1] and on [0, 1] alike.
    zero_model = sum(importance) * (1 - S) / 3
    for k in range(2):
        circuit, law = result.circuit(k), result.law(k)
        exact = float(expected_loss(circuit, law, result.importance(k)).expr)
        assert exact < 0.5 * zero_model
        mc = monte_carlo_loss(Problem(circuit, law, result.importance(k)), samples=400_000, seed=k)
        assert abs(mc.zscore(exact)) < Z_MAX, (exact, str(mc))
        # The training estimate is of the last steps' weights; the schedule has all but stopped them.
        assert abs(result.final_estimate.zscore(k, exact)) < Z_MAX, (exact, result.final_estimate)


def test_two_features_one_neuron_at_full_density():
    result = train(
        "reconstruction",
        2,
        1,
        [0.0],
        [[1, 1]],
        [0],
        TrainConfig(steps=1500, batch=256, lr=1e-2, schedule="cosine"),
        progress=False,
    )
    exact = float(expected_loss(result.circuit(0), result.law(0), [1, 1]).expr)
    # The zero model loses E[x_1^2 + x_2^2] = 2/3; one feature kept and the other's mean as a bias: 1/12.
    assert exact < 0.1


def test_history_and_final_estimate_follow_their_definitions():
    config = TrainConfig(steps=50, batch=16, lr=1e-2, log_every=20)
    trainer = Trainer("hidden", 2, 2, [0.5], [[1, 1]], [0, 1], config)
    losses = np.array([trainer.step() for _ in range(config.steps)])
    result = trainer.result()
    assert result.history_steps.tolist() == [20, 40, 50]
    np.testing.assert_allclose(result.history[2], losses[40:].mean(axis=0))
    tail = losses[-5:]
    np.testing.assert_allclose(result.final_estimate.mean, tail.mean(axis=0))
    np.testing.assert_allclose(result.final_estimate.stderr, tail.std(axis=0, ddof=1) / math.sqrt(5))
    with pytest.raises(SuperlossError, match="over"):
        trainer.step()
    assert TrainConfig(steps=5000).history_interval == 25


def test_save_and_load_round_trip(tmp_path):
    config = TrainConfig(steps=30, batch=16, lr=1e-2, dtype="float32", clip=1.0, optimizer="adamw", weight_decay=0.01)
    result = train("hidden", 3, 2, [0.3, 0.8], [[1, 0.5, 0.2]], [0, 2], config, progress=False)
    result.save(tmp_path / "run")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["result.json", "weights.npz"]
    loaded = TrainResult.load(tmp_path / "run")
    assert loaded.config == config and (loaded.model, loaded.n, loaded.m) == ("hidden", 3, 2)
    for name in result.weights:
        assert loaded.weights[name].dtype == np.float32
        assert np.array_equal(loaded.weights[name], result.weights[name])
    for field in ("seeds", "sparsities", "importances", "history_steps", "history"):
        assert np.array_equal(getattr(loaded, field), getattr(result, field)), field
    assert np.array_equal(loaded.final_estimate.mean, result.final_estimate.mean)
    assert np.array_equal(loaded.final_estimate.stderr, result.final_estimate.stderr)
    for k in range(result.instances):
        a, b = result.circuit(k), loaded.circuit(k)
        assert (a.W1, a.W2, a.b1, a.b2, a.hidden, a.output, a.target) == (
            b.W1,
            b.W2,
            b.b1,
            b.b2,
            b.hidden,
            b.output,
            b.target,
        )
        assert loaded.law(k).sparsity == result.law(k).sparsity and loaded.importance(k) == result.importance(k)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "n must be"),
        ({"m": -1}, "m must be"),
        ({"sparsities": [1.5]}, "sparsity S=1.5"),
        ({"sparsities": [-0.1]}, "sparsity S=-0.1"),
        ({"sparsities": []}, "sparsities"),
        ({"importances": [[1, -1]]}, "importances"),
        ({"importances": [[1, 1, 1]]}, "importances"),
        ({"seeds": [-1]}, "seeds"),
        ({"model": "conv"}, "model"),
    ],
)
def test_bad_training_input(kwargs, message):
    args = {
        "model": "hidden",
        "n": 2,
        "m": 1,
        "sparsities": [0.5],
        "importances": [[1, 1]],
        "seeds": [0],
        "config": SMALL,
        "progress": False,
        **kwargs,
    }
    with pytest.raises(SuperlossError, match=message) as error:
        train(**args)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": 0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"steps": 0}, "steps"),
        ({"batch": -4}, "batch"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"schedule": "step"}, "schedule"),
        ({"warmup": 10}, "warmup"),
        ({"schedule": "warmup_cosine", "steps": 10, "warmup": 10}, "warmup"),
        ({"clip": 0.0}, "clip"),
        ({"dtype": "float16"}, "dtype"),
    ],
)
def test_bad_config(kwargs, message):
    with pytest.raises(SuperlossError, match=message) as error:
        TrainConfig(**kwargs)
    assert "\n" not in str(error.value)
