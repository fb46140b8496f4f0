"""``descentlab train``: the notes' output line, --json, --out, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from descentlab.airfoil import data
from descentlab.cli import main

NOTES_LINE = re.compile(r"^loss: \d+\.\d{6}, \d+\.\d{6} sec per epoch$")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Never the developer's $DESCENTLAB_DATA or cache, never the network."""
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(data, "AIRFOIL_URL", "http://127.0.0.1:9/no-network-in-tests")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_one_seed_prints_the_notes_line_first(capsys, airfoil_path: Path) -> None:
    code, out, err = run(capsys, "train", "momentum", "--lr", "0.02", "--momentum", "0.5", "--data", str(airfoil_path))
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert NOTES_LINE.match(lines[0]), lines[0]
    assert re.match(r"^least-squares optimum 0\.241688, gap \+0\.\d{6}$", lines[1]), lines[1]
    assert lines[2].startswith("optimizer: descentlab momentum(")


def test_several_seeds(capsys, airfoil_path: Path) -> None:
    code, out, _ = run(capsys, "train", "adam", "--lr", "0.01", "--seeds", "4", "--impl", "torch", "--data", str(airfoil_path))
    assert code == 0
    first, spread, optimum, optimizer = out.splitlines()
    assert NOTES_LINE.match(first)
    numbers = re.fullmatch(
        r"final loss over 4 seeds \(0\.\.3\): mean (\S+), std (\S+), min (\S+), max (\S+)", spread
    )
    assert numbers, spread
    mean, _, low, high = map(float, numbers.groups())
    assert first.startswith(f"loss: {mean:.6f},") and low <= mean <= high
    assert re.fullmatch(r"least-squares optimum 0\.241688, gap of the mean \+0\.\d{6}", optimum)
    assert optimizer.startswith("optimizer: torch.optim.Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08")


def test_json(capsys, airfoil_path: Path) -> None:
    code, out, err = run(
        capsys, "train", "rmsprop", "--lr", "0.01", "--gamma", "0.9", "--impl", "torch", "--seeds", "3", "--json", "--data", str(airfoil_path)
    )
    assert code == 0 and err == ""
    record = json.loads(out)  # one object, nothing else on stdout
    for key in ("algorithm", "impl", "hyperparameters", "seeds", "final_loss", "losses", "sec_per_epoch", "optimum_loss"):
        assert key in record
    assert (record["algorithm"], record["impl"], record["seeds"]) == ("rmsprop", "torch", [0, 1, 2])
    assert record["hyperparameters"] == {"lr": 0.01, "gamma": 0.9}
    assert record["settings"]["alpha"] == 0.9
    assert len(record["final_loss"]) == 3 and [len(curve) for curve in record["losses"]] == [31, 31, 31]
    assert record["final_loss"] == [curve[-1] for curve in record["losses"]]
    assert round(record["optimum_loss"], 6) == 0.241688


def test_seed_option_and_other_settings(capsys, airfoil_path: Path) -> None:
    code, out, _ = run(
        capsys, "train", "sgd", "--lr", "0.05", "--seed", "12", "--epochs", "3", "--batch-size", "50", "--json", "--data", str(airfoil_path)
    )
    record = json.loads(out)
    assert code == 0 and record["seeds"] == [12] and record["epochs"] == 3 and record["batch_size"] == 50
    assert len(record["losses"][0]) == 1 + 3 * 15  # every 2nd batch of 50 completes 100 examples


def test_data_from_the_environment(capsys, airfoil_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCENTLAB_DATA", str(airfoil_path))
    code, out, _ = run(capsys, "train", "adadelta")
    assert code == 0 and NOTES_LINE.match(out.splitlines()[0])


def test_download_progress_goes_to_stderr(capsys, airfoil_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(data, "AIRFOIL_URL", airfoil_path.as_uri())
    code, out, err = run(capsys, "train", "adadelta", "--json")
    assert code == 0
    json.loads(out)
    assert "downloading the airfoil data: 59984 of 59984 bytes" in err and err.endswith("\n")
    assert (tmp_path / "xdg-cache" / "descentlab" / "airfoil_self_noise.dat").is_file()


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_out_writes_the_figure(capsys, airfoil_path: Path, tmp_path: Path, suffix: str) -> None:
    figure = tmp_path / f"loss{suffix}"
    code, out, _ = run(capsys, "train", "adam", "--lr", "0.01", "--seeds", "3", "--out", str(figure), "--data", str(airfoil_path))
    assert code == 0 and NOTES_LINE.match(out.splitlines()[0])
    content = figure.read_bytes()
    if suffix == ".png":
        assert content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) > 1000
    else:
        assert b"<svg" in content[:2000] and content.rstrip().endswith(b"</svg>")
    assert [p.name for p in tmp_path.iterdir()] == [figure.name]  # and no temporary file left


ERRORS = [
    (["train", "lbfgs"], r"invalid choice: 'lbfgs'"),
    (["train", "adam"], r"--lr is required"),
    (["train", "adam", "--lr", "-1"], r"lr must be >= 0"),
    (["train", "adam", "--lr", "0.01", "--gamma", "0.9"], r"adam does not take --gamma"),
    (["train", "rmsprop", "--lr", "0.01", "--impl", "torch", "--eps-in-sqrt"], r"--eps-in-sqrt is not available with --impl torch: torch\.optim\.RMSprop"),
    (["train", "momentum", "--lr", "0.01", "--momentum", "0.9", "--impl", "torch", "--form", "ema"], r"--form is not available with --impl torch"),
    (["train", "momentum", "--lr", "0.01", "--impl", "torch"], r"--momentum is required"),
    (["train", "adam", "--lr", "0.01", "--impl", "cuda"], r"invalid choice: 'cuda'"),
    (["train", "adam", "--lr", "0.01", "--seed", "-1"], r"--seed: must be >= 0, got -1"),
    (["train", "adam", "--lr", "0.01", "--seeds", "0"], r"--seeds: must be >= 1, got 0"),
    (["train", "adam", "--lr", "0.01", "--seed", "1", "--seeds", "2"], r"not allowed with argument"),
    (["train", "adam", "--lr", "0.01", "--batch-size", "1501"], r"--batch-size 1501 is larger than the 1500 training rows"),
    (["train", "adam", "--lr", "0.01", "--batch-size", "0"], r"--batch-size: must be >= 1"),
    (["train", "adam", "--lr", "0.01", "--epochs", "two"], r"--epochs: expected a whole number"),
    (["train", "adam", "--lr", "0.01", "--out", "loss.gif"], r"--out loss\.gif: use a file name ending in \.png"),
    (["train", "adam", "--lr", "0.01", "--out", "{tmp}/no/such/dir/loss.png"], r"directory .* does not exist"),
]


@pytest.mark.parametrize(("argv", "message"), ERRORS, ids=[" ".join(a[1:]) for a, _ in ERRORS])
def test_user_mistakes_are_one_line_and_exit_2(capsys, airfoil_path: Path, tmp_path: Path, argv: list[str], message: str) -> None:
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--data", str(airfoil_path)]
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.search(message, err), err
    assert err.startswith("descentlab train: error: ")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, r"--data .*nope\.dat: no such file"),
        ("dir", r"is a directory"),
        ("", r"is empty"),
        ("800\t0\t0.3048\t71.3\t0.00266337\t126.201\n" * 10, r"is truncated: 10 rows"),
        ("a\tb\tc\td\te\tf\n", r"'a' is not a number"),
    ],
)
def test_data_errors_exit_2_and_write_no_figure(capsys, tmp_path: Path, make: str | None, message: str) -> None:
    path = tmp_path / "nope.dat"
    if make == "dir":
        path.mkdir()
    elif make is not None:
        path.write_text(make)
    figure = tmp_path / "loss.png"
    code, out, err = run(capsys, "train", "adam", "--lr", "0.01", "--data", str(path), "--out", str(figure))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.search(message, err) and "--data PATH" in err, err
    assert not figure.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_offline_without_data_is_a_one_line_error(capsys) -> None:
    code, out, err = run(capsys, "train", "adam", "--lr", "0.01")
    assert code == 2 and out == ""
    assert err.startswith("descentlab train: error: could not download") and "--data PATH" in err
    assert err.count("\n") == 1


def test_the_installed_command(airfoil_path: Path) -> None:
    """One real process: the entry point, exit code and the notes' line."""
    result = subprocess.run(
        [sys.executable, "-m", "descentlab", "train", "adagrad", "--lr", "0.1", "--data", str(airfoil_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert NOTES_LINE.match(result.stdout.splitlines()[0])
