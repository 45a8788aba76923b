"""The command line: results, one-line errors with exit code 2, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from numeric.motif import STRUCTURES, VARIANTS

from conftest import run

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"


def test_derive_prints_formula_and_writes_json(capsys, tmp_path):
    target = tmp_path / "loss.json"
    code, out, _ = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), "--json", str(target))
    assert code == 0 and out.startswith("L = ") and "valid where" in out
    data = json.loads(target.read_text())
    assert data["conditions"] and data["on_boundary"] is False and "w_a" in data["expr"]
    assert [p.name for p in tmp_path.iterdir()] == ["loss.json"]
    # By default only the conditions that bound the regime are listed, the others summarized.
    shown = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert shown == [b["condition"] for b in data["bounding"]] and len(shown) < len(data["conditions"])
    assert len(data["bounding"]) + len(data["implied"]) + len(data["hidden"]) == len(data["conditions"])
    assert f"{len(data['implied'])} more are implied by them" in out
    code, out, _ = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), "--all-conditions")
    assert len([line for line in out.splitlines() if line.startswith("  ")]) == len(data["conditions"])


def test_check_agrees_with_monte_carlo(capsys):
    code, out, _ = run(
        capsys,
        "check",
        str(EXAMPLES / "motif_canonical.toml"),
        "--at",
        "S=0.7",
        "--at",
        "I_b=0.3",
        "--samples",
        "400000",
    )
    assert code == 0 and "agree" in out and "DISAGREE" not in out


def test_report_writes_a_whole_folder_and_replaces_it_with_force(capsys, tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    code, out, _ = run(capsys, "report", "--out", str(target), "--force", "--samples", "200000")
    assert code == 0 and "z =" in out
    names = {p.name for p in target.iterdir()}
    figures = {
        f"{stem}.{kind}"
        for stem in ("landscape", "optimum-weights", "free-weights", "training")
        for kind in ("png", "pdf")
    }
    assert {"loss.json", "loss.tex", "loss.pdf", "summary.md"} | figures == names
    assert [p.name for p in tmp_path.iterdir()] == ["report"]
    data = json.loads((target / "loss.json").read_text())
    assert abs(data["monte_carlo"]["z"]) < 5 and abs(data["optimum"]["certificate"]["monte_carlo"]["zscore"]) < 5
    # The optimum is certified, and training the motif's parameters on samples lands on it.
    assert data["optimum"]["certificate"]["verdict"] == "minimum" and data["optimum"]["loss"] < data["loss_float"]
    assert data["circuit_training"]["zscore"] < 3
    summary = (target / "summary.md").read_text()
    assert "(landscape.png)" in summary and "Certificate: minimum" in summary


def test_report_refuses_non_empty_folder(capsys, tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    code, _, err = run(capsys, "report", "--out", str(tmp_path))
    assert code == 2 and "not empty" in err and len(err.strip().splitlines()) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["old.txt"]


def test_optimize_prints_a_certificate_and_writes_json(capsys, tmp_path):
    target = tmp_path / "optimum.json"
    code, out, _ = run(
        capsys,
        "optimize",
        str(STUDY),
        "--fix",
        "S=0.9",
        "--fix",
        "I_b=0.3",
        "--free",
        "kappa",
        "--bounds",
        "kappa=0:100",
        "--starts",
        "3",
        "--global",
        "--samples",
        "100000",
        "--json",
        str(target),
    )
    assert code == 0 and "kappa =" in out and "Hessian: minimum" in out
    data = json.loads(target.read_text())
    assert 15 < data["params"]["kappa"] < 17 and data["fixed"]["w_a"] == "2"
    certificate = data["certificate"]
    assert certificate["starts"] == 3 and certificate["global_search_loss"] >= data["loss"] - 1e-12
    assert abs(certificate["monte_carlo"]["zscore"]) < 5
    assert [p.name for p in tmp_path.iterdir()] == ["optimum.json"]


STUDY = EXAMPLES / "motif_study.toml"
FIX = ["--fix", "S=0.9", "--fix", "I_b=0.3"]


def test_train_saves_models_that_reload_and_refuses_to_overwrite(capsys, tmp_path):
    from numeric.train import TrainResult

    out = tmp_path / "run"
    argv = ["train", "--features", "3", "--neurons", "5", "--steps", "50", "--seeds", "2", "--quiet", "--out", str(out)]
    code, text, _ = run(capsys, *argv)
    assert code == 0 and "of 2 models" in text
    assert sorted(p.name for p in out.iterdir()) == ["detections.json", "result.json", "weights.npz"]
    result = TrainResult.load(out)
    assert result.instances == 2 and result.circuit(1).n == 3 and result.circuit(1).m == 5
    code, _, err = run(capsys, *argv)
    assert code == 2 and "not empty" in err
    # Nothing beside the output folder: no temporary folder is left behind.
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    code, text, _ = run(capsys, "plot", "training", str(out), "--out", str(tmp_path / "curves"))
    assert code == 0 and (tmp_path / "curves.pdf").read_bytes().startswith(b"%PDF")
    code, _, err = run(capsys, "plot", "weights", str(out), "--seed", "5", "--out", str(tmp_path / "w"))
    assert code == 2 and "does not exist" in err
    code, _, _ = run(
        capsys, "plot", "weights", str(out), "--seed", "1", "--style", "bars", "--out", str(tmp_path / "b")
    )
    assert code == 0 and (tmp_path / "b.png").exists()


def test_plot_weights_of_a_spec_and_of_an_optimum(capsys, tmp_path):
    code, _, _ = run(capsys, "plot", "weights", str(EXAMPLES / "motif_canonical.toml"), "--out", str(tmp_path / "s"))
    assert code == 0 and (tmp_path / "s.pdf").read_bytes().startswith(b"%PDF")
    unset = tmp_path / "unset.toml"
    unset.write_text('[circuit]\nW1 = [["w"]]\nW2 = [[1]]\n[law]\nkind = "sparse_uniform"\nsparsity = "S"\n')
    code, _, err = run(capsys, "plot", "weights", str(unset), "--out", str(tmp_path / "x"))
    assert code == 2 and "give w a value in its [at] table" in err and err.count("\n") == 1
    optimum = tmp_path / "optimum.json"
    argv = ["optimize", str(STUDY), *FIX, "--free", "kappa", "--starts", "2", "--samples", "0", "--json", str(optimum)]
    assert run(capsys, *argv)[0] == 0
    data = json.loads(optimum.read_text())
    assert data["circuit"]["W2"][1][1] == pytest.approx(-data["params"]["kappa"])  # y_b reads -kappa from neuron 2
    code, _, _ = run(capsys, "plot", "weights", str(optimum), "--out", str(tmp_path / "o"))
    assert code == 0 and (tmp_path / "o.png").exists()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    code, _, err = run(capsys, "plot", "weights", str(bad), "--out", str(tmp_path / "z"))
    assert code == 2 and "not a train folder, a spec" in err


@pytest.mark.slow
def test_study_of_one_case_writes_table_and_json(capsys, tmp_path):
    table, data = tmp_path / "study.md", tmp_path / "study.json"
    code, out, _ = run(
        capsys,
        "study",
        "--sparsity",
        "0.5",
        "--importance",
        "0.3",
        "--starts",
        "2",
        "--samples",
        "20000",
        "--jobs",
        "1",
        "--markdown",
        str(table),
        "--json",
        str(data),
    )
    assert code == 0 and "| 1/2 | 3/10 |" in out and "1 cases in" in out
    case = json.loads(data.read_text())["cases"][0]
    assert case["S"] == "1/2" and list(case["optima"]) == list(VARIANTS)
    # The variants are nested: the full motif is never worse than any of them.
    full = case["optima"]["full"]["loss"]
    assert all(full <= o["loss"] + 1e-12 for o in case["optima"].values())
    assert case["structure"] in STRUCTURES
    assert table.read_text().startswith("| S | I_b |")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["optimize", str(STUDY), *FIX, "--fix", "zeta=1"], "is not a symbol of the circuit"),
        (["optimize", str(STUDY), "--fix", "I_b=0.3", "--free", "S"], "not weights"),
        (["optimize", str(STUDY), *FIX, "--free", "kappa", "--bounds", "kappa=5:1"], "need low < high"),
        (["optimize", str(STUDY), *FIX, "--free", "kappa", "--bounds", "kappa=1:1"], "need low < high"),
        (["optimize", str(STUDY), *FIX, "--free", "kappa", "--bounds", "kappa=0:1/0"], "division by zero"),
        (["optimize", str(STUDY), *FIX, "--free", "kappa", "--bounds", "kappa=0"], "NAME=LOW:HIGH"),
        (["optimize", str(STUDY), *FIX, "--bounds", "nu=0:1"], "is not a symbol of the circuit"),
        (["optimize", str(STUDY), "--fix", "S=0.9"], "no value for I_b"),
        (["optimize", str(STUDY), *FIX, "--fix", "kappa=1e999"], "too large for a float"),
        (["optimize", str(STUDY), *FIX, "--free", "kappa", "--fix", "kappa=3"], "cannot be both free and fixed"),
        (["optimize", str(STUDY), "--fix", "S=0.9", "--fix", "I_b=-3", "--samples", "0"], "negative (-3)"),
        (["optimize", str(STUDY), "--fix", "S=1.5", "--fix", "I_b=0.3", "--samples", "0"], "outside [0, 1]"),
        (["optimize", str(STUDY), *FIX, "--json", str(EXAMPLES)], "is a folder"),
        (["optimize", str(STUDY), *FIX, "--starts", "0"], "--starts"),
        (
            [
                "optimize",
                str(EXAMPLES / "motif_symbolic.toml"),
                *FIX,
                "--fix",
                "I_a=1",
                "--fix",
                "I_c=1",
                "--free",
                "kappa",
            ],
            "no bounds",
        ),
        (["derive", "missing.toml"], "cannot read"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "foo=1"], "is not a symbol of the circuit"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "pi=1"], "reads as a constant"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "I_b=-1"], "negative (-1)"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "w_a"], "NAME=VALUE"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "w_a=__import__('os')"], "unexpected character"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--json", ""], "needs a file name"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--json", str(EXAMPLES)], "is a folder"),
        (["check", str(EXAMPLES / "motif_canonical.toml"), "--at", "S=0.5", "--at", "I_b=1", "--seed", "-1"], "--seed"),
        (["report", "--out", "/nonexistent/dir/report"], "does not exist"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "w_a=x"], "must be a number"),
        (["check", str(EXAMPLES / "motif_canonical.toml")], "no value for I_b, S"),
        (["check", str(EXAMPLES / "motif_canonical.toml"), "--at", "S=1.5", "--at", "I_b=1"], "outside [0, 1]"),
        (["check", str(EXAMPLES / "motif_canonical.toml"), "--samples", "many"], "invalid int"),
        (["derive", str(EXAMPLES / "motif_symbolic.toml"), "--json", "/nonexistent/dir/x.json"], "does not exist"),
        (["frobnicate"], "invalid choice"),
        (["bench", "--quick", "now"], "unrecognized arguments"),
        (["train", "--features", "0"], "--features"),
        (["train", "--neurons", "-3"], "--neurons"),
        (["train", "--sparsity", "1.5"], "--sparsity"),
        (["train", "--lr", "0"], "lr"),
        (["train", "--out", "/nonexistent/dir/run"], "does not exist"),
        (["compare", "trained"], "needs the folder"),
        (["compare", "free", "somewhere"], "takes no folder"),
        (["compare", "circuit", "--sparsity", "2"], "--sparsity"),
        (["compare", "trained", "/nonexistent/run"], "/nonexistent/run"),
        (["study", "--sparsity", "1"], "in [0, 1)"),
        (["phase", "--points", "1"], "--points"),
        (["phase", "--model", "tied"], "invalid choice"),
        (["phase", "--out", "/nonexistent/dir/phase"], "does not exist"),
        (["plot", "sparsity", "/nonexistent/study.json", "--out", "fig"], "not the JSON"),
        (["plot", "phase", "/nonexistent/phase", "--out", "fig"], "not a folder"),
        (["plot", "training", "/nonexistent/run", "--out", "/nonexistent/dir/fig"], "does not exist"),
        (["plot", "spiral", "x", "--out", "fig"], "invalid choice"),
        (["study", "--sparsity", "0.9", "--importance", "-1"], "--importance"),
        (["study", "--sparsity", "0.9", "--importance", "0"], "positive"),
        (["study", "--sparsity", "0.9", "--starts", "0"], "--starts"),
        (["study", "--sparsity", "0.9", "--json", "/nonexistent/dir/s.json"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "value, message",
    [
        ("zeta=1", "zeta is not a symbol of the circuit"),
        ("I_b=-3", "importance of feature 'b' is negative (-3)"),
        ("S=2", "sparsity S=2 is outside [0, 1]"),
    ],
)
def test_every_command_refuses_the_same_input_with_the_same_message(capsys, value, message):
    errors = set()
    for argv in (
        ["derive", str(STUDY), "--at", value],
        ["check", str(STUDY), "--at", value],
        ["optimize", str(STUDY), *FIX, "--fix", value, "--samples", "0"],
        ["optimize", str(STUDY), *FIX, "--fix", value, "--starts", "3", "--global"],
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and message in err
        errors.add(err)
    assert len(errors) == 1, errors


def test_derive_puts_in_a_value_of_the_sparsity(capsys):
    code, out, _ = run(capsys, "derive", str(EXAMPLES / "motif_symbolic.toml"), "--at", "S=1/2")
    assert code == 0 and "with S = 1/2 put in" in out
    formula = out.splitlines()[0]
    assert formula.startswith("L = ") and "S" not in formula.replace("L = ", "")


def test_bad_spec_files(capsys, tmp_path):
    cases = {
        "syntax.toml": "[circuit\npreset = 1",
        "preset.toml": '[circuit]\npreset = "nope"\n[law]\nkind = "sparse_uniform"\nsparsity = 0.5',
        "shape.toml": '[circuit]\nW1 = [[1, 2]]\nW2 = [[1, 2]]\n[law]\nkind = "sparse_uniform"\nsparsity = 0.5',
        "sparsity.toml": '[circuit]\npreset = "asymmetric_inhibition"\n[law]\nkind = "sparse_uniform"\nsparsity = 1.5',
        "importance.toml": 'importance = [1, -1, 1]\n[circuit]\npreset = "asymmetric_inhibition"\n'
        '[law]\nkind = "sparse_uniform"\nsparsity = 0.5',
    }
    for name, text in cases.items():
        path = tmp_path / name
        path.write_text(text)
        code, _, err = run(capsys, "derive", str(path))
        assert code == 2 and name in err and len(err.strip().splitlines()) == 1, (name, err)


def test_console_script_help_has_an_example():
    for command in ("derive", "check", "optimize", "study", "train", "compare", "phase", "plot", "report", "bench"):
        out = subprocess.run(
            [sys.executable, "-m", "numeric.cli", command, "--help"], capture_output=True, text=True, check=True
        ).stdout
        assert "example: superloss " + command in out


def test_ctrl_c_ends_a_run_cleanly_and_leaves_nothing_half_written(capsys, tmp_path, monkeypatch):
    import numeric.report

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    # Interrupted after the closed form is derived and its LaTeX written into the staged folder.
    monkeypatch.setattr(numeric.report, "monte_carlo_loss", interrupted)
    code, _, err = run(capsys, "report", "--out", str(tmp_path / "report"))
    assert code == 130 and err.strip() == "superloss: interrupted"
    assert list(tmp_path.iterdir()) == []
