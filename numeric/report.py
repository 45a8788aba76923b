"""``superloss report``: the main job on the canonical motif.

On asymmetric superposition with inhibition at ``S = 0.9`` and ``I = (1, 0.3, 1)``
(the defaults), in order:

1. derive the closed form in the canonical regime, as LaTeX (and a PDF when
   ``pdflatex`` is present);
2. check it against Monte Carlo at the canonical point;
3. optimize the ten weights in the study's box, with the certificate;
4. train the motif's own parameters on samples from the canonical point, and
   compare the point reached with the optimum;
5. train free models of the motif's size (3 features, 5 neurons) briefly, score
   them exactly and look for the motif in them;
6. draw the figures (PNG and PDF) and write ``summary.md`` with every number.

Everything goes to a staged folder swapped in whole at the end.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import sympy as sp

from analytic import Problem, SparseUniform, expected_loss, sym, syms
from analytic.document import standalone
from analytic.presets import CANONICAL, asymmetric_inhibition

from .canonical import gauge
from .engines.montecarlo import monte_carlo_loss
from .files import output_folder, staged_folder, write_atomically

DEFAULT_S = sp.Rational(9, 10)
DEFAULT_I = (1, sp.Rational(3, 10), 1)

#: The sampled trainings of the report: long enough to land (docs/training.md), short enough for the report.
CIRCUIT_TRAINING = {"steps": 30_000, "batch": 4096, "lr": 1e-2, "schedule": "cosine"}
FREE_TRAINING = {"steps": 10_000, "batch": 1024, "lr": 1e-2, "schedule": "cosine"}
FREE_SEEDS = 3


def _pdf(tex: Path) -> bool:
    """Compile ``tex`` beside itself with pdflatex, if there is one; True if a PDF came out."""
    if shutil.which("pdflatex") is None:
        return False
    try:
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
            cwd=tex.parent,
            capture_output=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        return False
    for suffix in (".aux", ".log"):
        tex.with_suffix(suffix).unlink(missing_ok=True)
    return done.returncode == 0 and tex.with_suffix(".pdf").exists()


def run(out: str | None = None, force: bool = False, samples: int = 4_000_000, seed: int = 0) -> Path:
    """Write the report and return its folder."""
    from .crosscheck import train_circuit
    from .detect import detect
    from .motif import BOX
    from .optimize import optimize
    from .plots import landscape, save, training_curves, weight_diagram
    from .train import TrainConfig, train

    folder = output_folder(out, force, "report")
    S, I = sym("S"), syms("I_a I_b I_c")
    circuit, law = asymmetric_inhibition(), SparseUniform(S)
    fixed = {S: DEFAULT_S, **dict(zip(I, DEFAULT_I, strict=True))}
    begin = time.perf_counter()

    def step(message: str) -> None:
        print(f"[{time.perf_counter() - begin:6.1f} s] {message}", flush=True)

    with staged_folder(folder) as tmp:
        step("deriving the closed form of the motif (10 weights, S and I symbolic) in the canonical regime")
        start = time.perf_counter()
        loss = expected_loss(circuit, law, I, at=CANONICAL)
        derive_s = time.perf_counter() - start
        write_atomically(tmp / "loss.tex", standalone(loss, title="Asymmetric superposition with inhibition"))
        pdf = _pdf(tmp / "loss.tex")
        values = {**CANONICAL, **fixed}
        exact = loss.expr.subs(values)

        step(f"checking against Monte Carlo ({samples:,} samples, seed {seed})")
        mc = monte_carlo_loss(Problem(circuit, law, I, fixed=values), samples=samples, seed=seed)
        z = mc.zscore(float(exact))

        step("optimizing the ten weights in the study's box (16 starts, certificate, Monte Carlo check)")
        best = optimize(Problem(circuit, law, I, free=BOX, fixed=fixed), seed=seed, x0=CANONICAL, jobs=-1)

        step(
            f"training the motif's parameters on samples ({CIRCUIT_TRAINING['steps']:,} steps of "
            f"{CIRCUIT_TRAINING['batch']:,})"
        )
        trained = train_circuit(best, CANONICAL, TrainConfig(**FREE_TRAINING | CIRCUIT_TRAINING), seed=seed)

        step(f"training {FREE_SEEDS} free 3 x 5 models ({FREE_TRAINING['steps']:,} steps) and scoring them exactly")
        free = train(
            "hidden",
            3,
            5,
            [float(DEFAULT_S)],
            [[float(i) for i in DEFAULT_I]],
            seeds=list(range(seed, seed + FREE_SEEDS)),
            config=TrainConfig(**FREE_TRAINING),
            progress=False,
        )
        free_exact = [free.exact_loss(k) for k in range(free.instances)]
        free_motifs = [
            len(detect(free.weights["W1"][k], free.weights["W2"][k], free.weights["b"][k]).motifs)
            for k in range(free.instances)
        ]
        best_free = int(np.argmin(free_exact))

        step("drawing the figures")
        kappa, delta = sym("kappa"), sym("delta")
        save(landscape(best, kappa, delta, span={kappa: (0, 40), delta: (0, 1)}, points=31), tmp / "landscape")
        save(weight_diagram(circuit.subs(best.canonical)), tmp / "optimum-weights")
        save(weight_diagram(free.circuit(best_free)), tmp / "free-weights")
        save(training_curves(free, best.loss, reference_label="the motif's optimum"), tmp / "training")

        point = ", ".join(f"{s} = {v}" for s, v in CANONICAL.items())
        params = ", ".join(f"{p} = {v:.4g}" for p, v in best.canonical.items())
        summary = "\n".join(
            [
                "# superloss report: asymmetric superposition with inhibition",
                "",
                f"Sparsity S = {DEFAULT_S}, importances I = {tuple(DEFAULT_I)}; seed {seed}.",
                "",
                "## The exact loss",
                "",
                f"- At the canonical point ({point}), derived in {derive_s:.2f} s, valid in a regime of "
                f"{len(loss.conditions)} conditions (`loss.json`): {exact} = {float(exact):.10g}.",
                f"- Monte Carlo: {mc.mean:.10g} +- {mc.stderr:.2g} ({mc.samples:,} samples); "
                f"{mc.compare(float(exact))}.",
                "- The formula: `loss.tex`" + (" and `loss.pdf`." if pdf else " (no pdflatex here, so no PDF)."),
                "",
                "## The optimum",
                "",
                f"- Loss {best.loss:.10g}, {1 - best.loss / float(exact):.0%} below the canonical point: {params} "
                "(each neuron the rescaling moves has its largest input weight 1; the point searched is in "
                "`loss.json`, `optimum.searched`).",
                f"- Certificate: {best.hessian_words}; gradient norm {best.gradient_norm:.2g}; {len(best.symmetries)} "
                f"rescaling symmetry as a flat direction; {best.hits} of {best.starts} starts reached it; "
                f"Monte Carlo {best.monte_carlo.compare(best.loss)}.",
                "- The loss over kappa and delta, the others at the optimum, with the optimum's regime "
                "boundaries: [landscape.png](landscape.png) ([PDF](landscape.pdf)); its weights: "
                "[optimum-weights.png](optimum-weights.png).",
                "",
                "## Trained against analytic",
                "",
                f"- The motif's ten parameters trained on samples from the canonical point reach exact loss "
                f"{trained.loss:.10g}: z = {trained.zscore:+.2f} above the optimum against the training's noise "
                f"({trained.estimate.stderr:.2g}); largest parameter difference after the rescaling "
                f"{trained.difference:.3g}.",
                f"- Free 3 x 5 models ({FREE_TRAINING['steps']:,} steps): exact losses "
                + ", ".join(f"{v:.6g}" for v in free_exact)
                + " (motif instances found: "
                + ", ".join(map(str, free_motifs))
                + "). The best is "
                + (
                    f"{best.loss / free_exact[best_free]:.1f} times below"
                    if free_exact[best_free] < best.loss
                    else f"{free_exact[best_free] / best.loss:.2f} times above"
                )
                + " the motif's optimum: a free model of this size need not take the motif's form "
                "(docs/training.md). Its weights: [free-weights.png](free-weights.png); training curves: "
                "[training.png](training.png).",
                "",
            ]
        )
        data = {
            "expr": str(loss.expr),
            "conditions": [str(c) for c in loss.conditions],
            "at": {str(s): str(v) for s, v in CANONICAL.items()},
            "S": str(DEFAULT_S),
            "importance": [str(i) for i in DEFAULT_I],
            "loss": str(exact),
            "loss_float": float(exact),
            "monte_carlo": {"mean": mc.mean, "stderr": mc.stderr, "samples": mc.samples, "seed": mc.seed, "z": z},
            "optimum": best.to_dict(),
            "circuit_training": {
                "loss": trained.loss,
                "zscore": trained.zscore,
                "difference": trained.difference,
                "params": {
                    p.name: v
                    for p, v in gauge(
                        circuit, {**best.problem.numbers, **trained.aligned}, list(trained.aligned)
                    ).items()
                },
            },
            "free_models": {"exact": free_exact, "motifs": free_motifs, "estimates": free.final_estimate.mean.tolist()},
        }
        write_atomically(tmp / "loss.json", json.dumps(data, indent=2) + "\n")
        write_atomically(tmp / "summary.md", summary)
    step(f"wrote {folder}: summary.md, loss.tex, loss.json and the figures")
    print(summary)
    return folder
