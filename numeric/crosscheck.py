"""The numeric cross-check of an analytic optimum: train the circuit's own parameters on samples.

:func:`train_circuit` trains the free symbols of a :class:`analytic.Circuit`
(the motif's ten weights, say) by sampled gradient descent: each step draws a
batch from the feature law, builds the weights from the parameters, and takes
the gradient of the batch loss through the symbolic weight map (chain rule
through its exact Jacobian), with the trainer's Adam (:mod:`numeric.train`),
projected onto the box. Nothing here uses the closed forms; the exact loss of
the point reached (:class:`numeric.engines.pointwise.PointwiseLoss`) is then compared
with the analytic minimum, and the parameters with the optimum's, after
moving along the rescaling symmetries (:func:`align`).

Free models against the analytic ones: :func:`free_versus_motif` trains free
models of the motif's size beside the motif's optimum, and
:func:`trained_models` scores trained models exactly, beside their training
estimates and the circuit composed from their motif instances (:func:`composed`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp
from joblib import Parallel, delayed
from scipy.optimize import least_squares

from analytic import Circuit, Problem, SuperlossError, expected_loss
from analytic.symmetry import rescalings

from .engines.montecarlo import MonteCarloResult
from .engines.pointwise import PointwiseLoss
from .family import FamilyOptimum
from .optimize import Optimum
from .train import Adam, TrainConfig, TrainResult, forward_backward, train

__all__ = [
    "CircuitTraining",
    "FreeComparison",
    "align",
    "composed",
    "descend",
    "free_versus_motif",
    "train_circuit",
    "trained_models",
]


def _exponents(field: Mapping, params: Sequence[sp.Symbol]) -> np.ndarray:
    """A symmetry field ``{p: a_p p}`` as its exponents ``a_p`` (its flow scales
    ``p`` by ``exp(a_p t)``); other fields are not rescalings."""
    out = np.zeros(len(params))
    for k, p in enumerate(params):
        a = sp.simplify(field.get(p, 0) / p)
        if not a.is_number:
            raise SuperlossError(f"the symmetry {field} is not a rescaling of each parameter")
        out[k] = float(a)
    return out


def align(point: Mapping, reference: Mapping, fields: Sequence[Mapping]) -> dict:
    """``point`` moved along the rescaling symmetries ``fields`` (as from
    :func:`analytic.symmetry.rescalings`) to where it is closest to ``reference``
    (least squares in the parameters, relative to the reference's sizes above 1).

    >>> from analytic import syms
    >>> w, o = syms("w o")
    >>> moved = align({w: 4.0, o: 0.25}, {w: 2.0, o: 0.5}, [{w: w, o: -o}])
    >>> round(moved[w], 9), round(moved[o], 9)
    (2.0, 0.5)
    """
    params = list(point)
    if not fields:
        return dict(point)
    A = np.array([_exponents(f, params) for f in fields])  # (fields, params)
    x = np.array([float(point[p]) for p in params])
    r = np.array([float(reference[p]) for p in params])
    # The measure of CircuitTraining.difference: relative for large parameters, absolute for small ones.
    scale = np.maximum(np.abs(r), 1.0)

    def moved(t: np.ndarray) -> np.ndarray:
        return x * np.exp(t @ A)

    found = least_squares(lambda t: (moved(t) - r) / scale, np.zeros(len(A)), xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return dict(zip(params, moved(found.x).tolist(), strict=True))


@dataclass(frozen=True)
class CircuitTraining:
    """The parameters sampled training reached, beside the analytic optimum.

    ``loss`` is the exact loss at ``params``; ``estimate`` the training loss
    over the last tenth of the steps (each step's batch loss one sample) with
    its standard error; ``optimum`` the analytic optimum compared against.
    ``zscore`` is ``(loss - optimum.loss) / estimate.stderr``: how far the
    point reached is above the minimum, in units of the training's own noise.
    ``aligned`` is ``params`` moved along the rescaling symmetries onto the
    optimum (:func:`align`), and ``difference`` the largest
    ``|aligned - optimum| / max(|optimum|, 1)`` over the parameters.
    """

    params: dict
    start: dict
    loss: float
    estimate: MonteCarloResult
    history: np.ndarray
    optimum: Optimum
    aligned: dict
    steps: int

    @property
    def zscore(self) -> float:
        return (self.loss - self.optimum.loss) / self.estimate.stderr

    @property
    def difference(self) -> float:
        return max(abs(self.aligned[p] - v) / max(abs(v), 1.0) for p, v in self.optimum.params.items())

    def __str__(self) -> str:
        rows = [
            f"{p.name:>10}: trained {self.aligned[p]:<12.6g} optimum {v:<12.6g}" for p, v in self.optimum.params.items()
        ]
        return "\n".join(
            rows
            + [
                f"{'loss':>10}: trained {self.loss:.8g} (exact), optimum {self.optimum.loss:.8g}; "
                f"z = {self.zscore:+.2f} against the training noise {self.estimate.stderr:.2g}",
                f"{'estimate':>10}: {self.estimate} over the last steps ({self.estimate.compare(self.loss)})",
                f"{'params':>10}: largest difference after the rescaling {self.difference:.3g}",
            ]
        )


def descend(
    f: PointwiseLoss, start: Mapping, config: TrainConfig, seed: int = 0
) -> tuple[dict, np.ndarray, MonteCarloResult]:
    """Sampled Adam on the free weights of ``f``'s problem from ``start``, projected
    onto their boxes: each step draws a batch from the law, backpropagates its
    loss to the weights and, through the weight map's exact Jacobian, to the
    params. Returns the point reached, the batch losses, and their mean over the
    last tenth of the steps with its standard error."""
    problem = f.problem
    problem.require("descend", weights_only=True, bounded=True)
    c, params = f.circuit, list(f.params)
    n = c.n
    lo, hi = np.array([problem.bounds[p] for p in params], dtype=float).T
    law = problem.law.subs(f.numbers)
    weight = np.array([[float(v.subs(f.numbers)) for v in problem.importance]])
    theta = np.clip(np.array([[float(start[p]) for p in params]]), lo, hi)
    opt = Adam.from_config([theta], config)
    rng = np.random.default_rng(seed)
    history = np.empty(config.steps)
    for step in range(config.steps):
        W1, W2, b1, b2 = f.weights(theta[0])
        x = law.sample(n, config.batch, rng).T[None]
        target = np.abs(x) if c.target == "abs" else x
        g = forward_backward(W1[None], W2[None], b1[None], b2[None], x, target, weight, c.hidden, c.output)
        history[step] = g.loss[0]
        entries = problem.layout.flatten(g.W1, g.W2, g.b1, g.b2)
        opt.update([f.pullback(theta[0], entries)[None]], step)
        np.clip(theta, lo, hi, out=theta)
    last = history[-config.final_steps :]
    estimate = MonteCarloResult(float(last.mean()), float(last.std(ddof=1) / np.sqrt(len(last))), len(last), seed)
    return dict(zip(params, theta[0].tolist(), strict=True)), history, estimate


def train_circuit(optimum: Optimum, start: Mapping, config: TrainConfig, seed: int = 0) -> CircuitTraining:
    """Train the free parameters of ``optimum`` (those of its problem, in their box,
    the rest fixed) from ``start`` (:func:`descend`), and compare the point reached
    with ``optimum``."""
    f = PointwiseLoss(optimum.problem)
    params = list(f.params)
    point, history, estimate = descend(f, start, config, seed)
    aligned = align(point, optimum.params, rescalings(f.circuit, params))
    x = np.array([point[p] for p in params])
    return CircuitTraining(point, dict(start), f.value(x), estimate, history, optimum, aligned, config.steps)


def composed(detection, b: np.ndarray, n: int) -> tuple[Circuit, dict]:
    """The analytic circuit composed (:func:`analytic.presets.compose`) from the
    motif instances of ``detection``, and the values its parameters take in the
    trained model: per instance ``w_a, w_b`` the host's input weights, ``o_a, o_b``
    its output weights, ``gamma`` minus its write to the inhibitor's feature,
    ``delta`` the inhibitor's leak and ``kappa`` its inhibition (both in units
    of the inhibitor's main input); the output biases from ``b``."""
    from analytic.presets import Motif, compose

    motifs = detection.motifs
    circuit = compose(
        n,
        [
            Motif(m.host_feature, m.rider, m.inhibitor_feature, m.rider_half, m.host_half, m.inhibitor_half)
            for m in motifs
        ],
    )
    names = {s.name: s for s in circuit.symbols}
    values = {}
    for number, m in enumerate(motifs, start=1):
        tag = str(number) if len(motifs) > 1 else ""
        (w_a, w_b), (o_a, o_b) = map(np.abs, m.host_inputs), m.host_outputs
        gamma = -m.conditional_bias / w_a
        for name, value in (
            ("w_a", w_a),
            ("w_b", w_b),
            ("o_a", o_a),
            ("o_b", o_b),
            ("gamma", gamma),
            ("delta", m.leak),
            ("kappa", m.inhibition),
        ):
            values[names[name + tag]] = float(value)
    for i in range(n):
        values[names[f"b_{i}"]] = float(b[i])
    return circuit, values


@dataclass(frozen=True)
class FreeComparison:
    """Free models of the motif's own size (3 features, 5 neurons) trained at one
    ``(S, I_b)``, beside the analytic optimum of the motif family there.

    ``motif`` is the family's best (:func:`numeric.study.family_optima`, the study's
    search: a point of the box or the limit ``kappa -> oo``). ``free_losses`` are the
    exact losses of the trained models (one per seed), ``estimates`` their training estimates, ``detections`` what
    :func:`numeric.detect.detect` finds in each. A free model may beat the
    motif family: then its detection says which circuit it found.
    """

    sparsity: float
    rider_importance: float
    motif: FamilyOptimum
    free_losses: list
    estimates: list
    detections: list

    @property
    def structure(self) -> str:
        return self.motif.structure

    def to_dict(self) -> dict:
        return {
            "S": self.sparsity,
            "I_b": self.rider_importance,
            "motif_loss": self.motif.loss,
            "motif_structure": self.structure,
            "motif": self.motif.to_dict(),
            "free_losses": self.free_losses,
            "training_estimates": self.estimates,
            "detections": [d.to_dict() for d in self.detections],
        }


def free_versus_motif(
    sparsities: Sequence,
    rider_importances: Sequence,
    seeds: int = 3,
    config: TrainConfig = TrainConfig(steps=10_000, lr=1e-2, schedule="cosine"),
    starts: int = 16,
    jobs: int = 1,
    progress: bool = True,
) -> list[FreeComparison]:
    """For every ``(S, I_b)``: the motif family's best, as the study finds it
    (:func:`numeric.study.family_optima` with ``starts`` random starts, seed 0), and
    ``seeds`` free 3 x 5 models trained (all at once) at the same ``S`` and
    importances ``(1, I_b, 1)``, each scored by its exact loss."""
    from .detect import detect
    from .study import family_optima

    # Exact values, whether given as text ("9/10"), rationals or floats (0.9 is nine tenths, not its binary value).
    sparsities = [sp.Rational(str(s)) for s in sparsities]
    rider_importances = [sp.Rational(str(i)) for i in rider_importances]
    result = train(
        "hidden",
        3,
        5,
        [float(s) for s in sparsities],
        [[1.0, float(i), 1.0] for i in rider_importances],
        seeds=list(range(seeds)),
        config=config,
        progress=progress,
    )
    best = family_optima(sparsities, rider_importances, starts=starts, jobs=jobs)
    out = []
    for (s, i), motif in best.items():
        ks = [
            k
            for k in range(result.instances)
            if result.sparsities[k] == float(s) and result.importances[k][1] == float(i)
        ]
        losses = [result.exact_loss(k) for k in ks]
        found = [detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k]) for k in ks]
        out.append(
            FreeComparison(float(s), float(i), motif, losses, [float(result.final_estimate.mean[k]) for k in ks], found)
        )
    return out


#: The box the composed circuit's parameters are trained in: weights of either
#: sign up to far beyond what trained models show, biases as in the study.
COMPOSED_BOUNDS = {"weight": (-100.0, 100.0), "bias": (-1.0, 1.0)}


def _composed_loss(result: TrainResult, k: int, found, config: TrainConfig, seed: int) -> dict:
    """The circuit composed from model ``k``'s motif instances ``found`` (its
    detection), its parameters trained from the model's values (:func:`descend`),
    scored exactly."""
    if not found.motifs:
        return {"composed_loss": None}
    circuit, start = composed(found, result.weights["b"][k], result.n)
    law, importance = result.law(k), result.importance(k)
    bounds = {p: COMPOSED_BOUNDS["bias" if p.name.startswith("b_") else "weight"] for p in circuit.symbols}
    point, _, estimate = descend(PointwiseLoss(Problem(circuit, law, importance, free=bounds)), start, config, seed)
    exact = float(expected_loss(circuit.subs(point), law, importance).expr)
    return {
        "composed_loss": exact,
        "composed_estimate": estimate.mean,
        "composed_stderr": estimate.stderr,
        "composed_params": {p.name: v for p, v in point.items()},
    }


def trained_models(
    result: TrainResult, jobs: int = 1, composed_config: TrainConfig | None = None, seed: int = 0
) -> list[dict]:
    """Each trained model's exact loss (the float engine: its weights are numbers)
    beside its training estimate, with the motif instances found in it; with
    ``composed_config``, also the exact loss of the analytic circuit composed
    from those instances, its parameters optimized by sampled training from the
    model's own values (:func:`composed`, :func:`descend`)."""
    from .detect import detect

    exact = Parallel(n_jobs=jobs)(delayed(result.exact_loss)(k) for k in range(result.instances))
    detections = [
        detect(result.weights["W1"][k], result.weights["W2"][k], result.weights["b"][k])
        for k in range(result.instances)
    ]
    more = [{}] * result.instances
    if composed_config is not None:
        more = Parallel(n_jobs=jobs)(
            delayed(_composed_loss)(result, k, found, composed_config, seed) for k, found in enumerate(detections)
        )
    out = []
    for k, found in enumerate(detections):
        mean, stderr = float(result.final_estimate.mean[k]), float(result.final_estimate.stderr[k])
        out.append(
            {
                "seed": int(result.seeds[k]),
                "S": float(result.sparsities[k]),
                "exact_loss": exact[k],
                "training_estimate": mean,
                "stderr": stderr,
                "zscore": (exact[k] - mean) / stderr,
                "motifs": len(found.motifs),
                "detection": found.to_dict(),
                **more[k],
            }
        )
    return out
