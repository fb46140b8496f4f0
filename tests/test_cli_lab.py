"""The 2D lab's command line: the notes' lines character for character, figures, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from descentlab.cli import main
from descentlab.notes.reference import NOTES_TRACES

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def option_args(hyperparameters: dict) -> list[str]:
    args: list[str] = []
    for name, value in hyperparameters.items():
        args += [f"--{name.replace('_', '-')}", repr(value)]
    return args


@pytest.mark.parametrize("reference", NOTES_TRACES, ids=lambda r: f"{r.algorithm}-{r.hyperparameters}")
def test_trace_prints_the_notes_line_first(reference, capsys) -> None:
    assert main(["trace", reference.algorithm, *option_args(reference.hyperparameters)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == reference.printed


def test_trace_writes_png_and_svg(tmp_path: Path, capsys) -> None:
    png, svg = tmp_path / "gd.png", tmp_path / "gd.svg"
    assert main(["trace", "sgd", "--lr", "0.6", "--out", str(png)]) == 0
    assert main(["trace", "momentum", "--lr", "0.4", "--momentum", "0.5", "--out", str(svg)]) == 0
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    text = svg.read_text()
    assert "<svg" in text and "</svg>" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gd.png", "gd.svg"]  # no temporary files left


def test_trace_reports_theory_and_divergence(capsys) -> None:
    assert main(["trace", "sgd", "--lr", "0.6", "--steps", "300"]) == 0
    out = capsys.readouterr().out
    assert "diverged" in out.splitlines()[0]
    assert "kappa 20, GD stable for lr < 0.5" in out


def test_trace_on_other_objectives_and_start(capsys) -> None:
    assert main(["trace", "adam", "--lr", "0.05", "--objective", "rosenbrock", "--steps", "3000", "--start", "-1.2", "1"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    x1, x2 = (float(part.split()[1]) for part in first.split(", ")[1:])
    assert abs(x1 - 1) < 1e-2 and abs(x2 - 1) < 2e-2


def test_quadratic_family_from_the_cli(capsys) -> None:
    assert main(["trace", "sgd", "--lr", "0.1", "--objective", "quadratic", "--kappa", "100", "--angle", "30"]) == 0
    assert "kappa 100, GD stable for lr < 0.1" in capsys.readouterr().out


def test_compare_draws_several_runs_in_one_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "compare.png"
    runs = ["sgd:lr=0.4", "momentum:lr=0.4,momentum=0.5", "adam:lr=0.5,betas=0.8/0.99", "momentum:lr=0.1,momentum=0.9,nesterov=true"]
    assert main(["compare", *runs, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "sgd(lr=0.4): epoch 20, x1 -0.943467, x2 -0.000073"
    assert lines[1] == "momentum(lr=0.4, momentum=0.5): epoch 20, x1 -0.062843, x2 0.001202"
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_objectives_lists_kappa_and_bound(capsys) -> None:
    assert main(["objectives"]) == 0
    out = capsys.readouterr().out
    notes_row = next(line for line in out.splitlines() if line.startswith("notes "))
    assert notes_row.split()[1:3] == ["20", "0.5"]
    for name in ("rosenbrock", "himmelblau", "saddle", "quadratic"):
        assert name in out


BAD = [
    (["trace", "nope", "--lr", "0.1"], "invalid choice: 'nope'"),
    (["trace", "sgd", "--lr", "0.1", "--objective", "nope"], "invalid choice: 'nope'"),
    (["trace", "sgd", "--lr", "-0.4"], "lr must be >= 0, got -0.4"),
    (["trace", "sgd", "--lr", "nan"], "lr must be finite"),
    (["trace", "sgd", "--lr", "abc"], "invalid float value: 'abc'"),
    (["trace", "sgd"], "--lr is required"),
    (["trace", "momentum", "--lr", "0.4", "--momentum", "1"], r"momentum must be in \[0, 1\), got 1"),
    (["trace", "sgd", "--lr", "0.4", "--steps", "0"], "--steps: must be >= 1, got 0"),
    (["trace", "sgd", "--lr", "0.4", "--steps", "-3"], "--steps: must be >= 1, got -3"),
    (["trace", "sgd", "--lr", "0.4", "--gamma", "0.9"], "sgd does not take --gamma"),
    (["trace", "adam", "--lr", "0.4", "--betas", "0.9"], "--betas: expected 2 arguments"),
    (["trace", "rmsprop", "--lr", "0.4", "--gamma", "1.5"], r"gamma must be in \[0, 1\), got 1.5"),
    (["trace", "momentum", "--lr", "0.4", "--momentum", "0.5", "--form", "bogus"], "invalid choice: 'bogus'"),
    (["trace", "sgd", "--lr", "0.4", "--objective", "rosenbrock", "--kappa", "5"], "apply to the objective 'quadratic' only"),
    (["trace", "sgd", "--lr", "0.4", "--start", "inf", "0"], "--start must be two finite numbers"),
    (["compare", "sgd:lr=x"], "lr='x' is not a valid value"),
    (["compare", "sgd:gamma=0.1"], "expected key=value with a key from lr"),
    (["compare", "bogus"], "unknown algorithm 'bogus'"),
    (["compare", "sgd:lr=-1"], "lr must be >= 0, got -1"),
]


@pytest.mark.parametrize("argv,message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_on_stderr_and_exit_2(argv, message, capsys) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert re.search(message, lines[0]), lines[0]


@pytest.mark.parametrize("kind", ["missing-dir", "is-dir", "bad-suffix", "parent-is-file"])
def test_unwritable_output_is_refused_before_any_work(kind: str, tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    out = {
        "missing-dir": tmp_path / "no" / "such" / "dir" / "fig.png",
        "is-dir": tmp_path,
        "bad-suffix": tmp_path / "fig.bmpx",
        "parent-is-file": blocker / "fig.png",
    }[kind]
    before = sorted(tmp_path.rglob("*"))
    assert main(["trace", "sgd", "--lr", "0.4", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert sorted(tmp_path.rglob("*")) == before
