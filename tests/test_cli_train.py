"""``descentlab train``: the notes' output line, --json, --out, and one-line errors with exit code 2."""

from __future__ import annotations

import io
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
    (["train", "adam", "--lr", "0.01", "--batch-size", "1501"], r"--batch-size: at most 1500 rows per minibatch \(the training rows\), got 1501"),
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


# --- issue 16: a file that is not the published one is said so, once; long runs show progress; ---------
# --- a diverged figure is marked --------------------------------------------------------------------------


@pytest.fixture
def altered(airfoil_path: Path, tmp_path: Path) -> Path:
    """The airfoil file with one value changed (a frequency of 12345 Hz): it parses, trains, and is not the notes' data."""
    lines = airfoil_path.read_bytes().split(b"\n")
    lines[5] = b"\t".join([b"12345", *lines[5].split(b"\t")[1:]])
    path = tmp_path / "altered.dat"
    path.write_bytes(b"\n".join(lines))
    return path


WARNING = re.compile(
    r"descentlab (train|bench|reproduce): warning: .*altered\.dat is not the published airfoil file "
    r"\(SHA-1 [0-9a-f]{12}… instead of 76e5be1548fd…\); results will differ from the notes'"
)


def test_train_warns_once_about_a_file_that_is_not_the_published_one(capsys, altered: Path) -> None:
    code, out, err = run(capsys, "train", "sgd", "--lr", "0.1", "--data", str(altered))
    assert code == 0 and NOTES_LINE.match(out.splitlines()[0])
    assert err.count("\n") == 1 and WARNING.fullmatch(err.rstrip("\n")), err


def test_train_with_the_published_file_prints_no_warning(capsys, airfoil_path: Path) -> None:
    code, _, err = run(capsys, "train", "sgd", "--lr", "0.1", "--data", str(airfoil_path), "--json")
    assert code == 0 and err == ""


def test_bench_airfoil_warns_once(capsys, altered: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from descentlab.bench.airfoil import AirfoilBench

    seen = []

    def measured(data, runs, **options):  # the timing itself is bench's tests' business
        seen.append(data)
        return AirfoilBench(rows=(), optimum_loss=data.optimum_loss, seeds=options["seeds"], repeats=1, batch_repeats=1,
                            torch_version="", torch_threads=1)

    monkeypatch.setattr("descentlab.bench.airfoil.bench_airfoil", measured)  # bench_cmd imports it when it runs
    code, out, err = run(capsys, "bench", "airfoil", "--data", str(altered), "--json")
    assert code == 0 and json.loads(out)["suite"] == "airfoil"
    assert len(seen) == 1 and not seen[0].published
    assert err.count("\n") == 1 and WARNING.fullmatch(err.rstrip("\n")), err


def test_reproduce_warns_once_and_still_writes_the_report(capsys, altered: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "report"
    code, _, err = run(capsys, "reproduce", "--data", str(altered), "--seeds", "1", "--out", str(out_dir))
    assert code in (0, 1)  # the altered data may move a verdict
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and WARNING.fullmatch(warnings[0]), err
    assert (out_dir / "index.html").is_file()


def test_long_runs_show_progress_on_stderr_and_keep_stdout_clean(capsys, airfoil_path: Path, monkeypatch) -> None:
    from descentlab.cli import common

    ticks = iter(range(0, 10**6, 4))  # every reading of the clock: 4 s later
    monkeypatch.setattr(common.EpochProgress, "CLOCK", staticmethod(lambda: float(next(ticks))))
    code, out, err = run(capsys, "train", "sgd", "--lr", "0.1", "--epochs", "8", "--json", "--data", str(airfoil_path))
    assert code == 0 and json.loads(out)["epochs"] == 8
    # readings at 4, 8, ... s after the start at 0: a line when 10 s have passed since the last one (not after the end)
    assert err.splitlines() == ["training: epoch 3 of 8 (38%)", "training: epoch 6 of 8 (75%)"]


def test_a_short_run_prints_no_progress(capsys, airfoil_path: Path) -> None:
    code, _, err = run(capsys, "train", "sgd", "--lr", "0.1", "--epochs", "3", "--data", str(airfoil_path))
    assert code == 0 and err == ""


def test_a_diverged_figure_is_marked(capsys, airfoil_path: Path, tmp_path: Path) -> None:
    figure = tmp_path / "loss.svg"
    code, out, _ = run(capsys, "train", "sgd", "--lr", "1e6", "--data", str(airfoil_path), "--out", str(figure))
    assert code == 0 and out.startswith("diverged: the loss is not finite at step 10")
    svg = figure.read_text()
    assert "diverged at step 10" in svg  # matplotlib writes the text into the SVG as a comment and glyphs


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_epoch_progress_on_a_terminal_updates_one_line_and_erases_it() -> None:
    from descentlab.cli.common import EpochProgress

    now = [0.0]
    terminal = _Terminal()
    with EpochProgress(terminal, clock=lambda: now[0]) as progress:
        for epoch in range(1, 6):
            now[0] += 0.25
            progress(epoch, 5)
    assert terminal.getvalue() == "".join(f"\r\033[Ktraining: epoch {k} of 5 ({k / 5:.0%})" for k in range(1, 5)) + "\r\033[K"
