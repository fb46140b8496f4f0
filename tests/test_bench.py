"""descentlab.bench and ``descentlab bench``: the record's shape only (timing belongs to the benchmark, not tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from descentlab.bench.airfoil import bench_airfoil
from descentlab.bench.triad import Triad
from descentlab.cli import main
from descentlab.airfoil.data import load_airfoil
from descentlab.notes.reference import NOTES_AIRFOIL


def test_bench_airfoil_record(airfoil_path: Path) -> None:
    record = bench_airfoil(load_airfoil(airfoil_path), [NOTES_AIRFOIL[9]], seeds=2, repeats=1, batch_repeats=1)
    (row,) = record.rows
    assert (row.algorithm, row.impl, row.seeds) == ("adadelta", "torch", 2)
    assert row.notes_printed_loss == 0.267756
    assert row.epoch_speedup == pytest.approx(row.notes_sec_per_epoch / row.train_sec_per_epoch)
    assert row.batch_speedup == pytest.approx(row.notes_sequential_sec / row.train_batch_sec)
    assert 0.24 < row.notes_loss_mean < 0.4 and 0.24 < row.train_loss_mean < 0.4
    assert json.loads(json.dumps(record.to_dict()))["suite"] == "airfoil"


def test_bench_cli_json_and_table(capsys, airfoil_path: Path) -> None:
    argv = ["bench", "airfoil", "--runs", "1", "--seeds", "2", "--repeats", "1", "--batch-repeats", "1", "--data", str(airfoil_path)]
    assert main([*argv, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["seeds"] == 2 and record["rows"][0]["algorithm"] == "momentum"
    for key in ("notes_sec_per_epoch", "train_sec_per_epoch", "epoch_speedup", "notes_sequential_sec", "train_batch_sec",
                "batch_speedup", "notes_loss_mean", "train_loss_mean"):
        assert key in record["rows"][0]
    assert main(argv) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].startswith("airfoil: descentlab train against the notes' loop")
    assert table[3].startswith("own momentum lr=0.02, momentum=0.5")
    assert table[-1].startswith("smallest ratios:")


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--runs", "13"], "expected a row number 1..12, got 13"), (["--seeds", "0"], "must be >= 1"), (["gpu"], "invalid choice: 'gpu'"),
     (["--runs", "1", "--data", "/nonexistent/airfoil.dat"], "no such file")],
)
def test_bench_cli_errors(capsys, argv: list[str], message: str) -> None:
    assert main(["bench", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def _fake_triad() -> Triad:
    """A triad record of round numbers, so that a tiny steps run spends no time on the real one."""
    return Triad(10.0, 9.0, 15.0, "fake", 1024, 2)


def test_steps_suite_record_and_table(monkeypatch, capsys) -> None:
    """A tiny steps run: every path of one algorithm appears, with consistent derived numbers."""
    import descentlab.bench.steps as bench_steps

    monkeypatch.setitem(bench_steps.LAYOUTS, "resnet18", ((64, 3), (64,)))  # small, so it runs in a moment
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    assert main(["bench", "steps", "--algorithms", "rmsprop", "--layouts", "resnet18", "--repeats", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    paths = [row["path"] for row in record["rows"]]
    assert paths == ["ours default", "ours notes", "ours replay", "ours plain", "ours fast", "torch default",
                     "torch foreach"]  # no fused RMSprop
    foreach = next(r for r in record["rows"] if r["path"] == "torch foreach")
    for row in record["rows"]:
        assert row["speedup_vs_torch_foreach"] == pytest.approx(foreach["median_ms"] / row["median_ms"])
        assert row["speedup_vs_torch_fused"] is None and row["fresh_first_step_cold_s"] is None
        assert row["min_bytes"] == (64 * 3 + 64) * 4 * (3 + 2)  # read x, g, s; write x, s
        assert row["gb_per_s"] == pytest.approx(row["min_bytes"] / (row["median_ms"] / 1e3) / 1e9)
        assert row["triad_share"] == pytest.approx(row["gb_per_s"] / 10.0)
        default = next(r for r in record["rows"] if r["path"] == "torch default")
        assert row["speedup_vs_torch_default"] == pytest.approx(default["median_ms"] / row["median_ms"])
    assert record["suite"] == "steps" and record["triad_gb_per_s"] == 10.0 and record["triad_method"] == "fake"
    assert record["triad_bytes_per_value"] == 12 and record["triad_in_place_gb_per_s"] == 15.0
    assert record["peak_rss_mib"] > 0


def test_steps_suite_keeps_stderr_to_its_progress_lines(monkeypatch, capfd) -> None:
    """The profiler's C++ logging (``USDT: ... profiler_start``) does not reach the terminal."""
    import descentlab.bench.steps as bench_steps

    monkeypatch.setitem(bench_steps.LAYOUTS, "resnet18", ((8, 3),))
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    assert main(["bench", "steps", "--algorithms", "sgd", "--layouts", "resnet18", "--repeats", "1", "--json"]) == 0
    err = capfd.readouterr().err
    assert err.splitlines() == ["timing sgd on resnet18"]


def test_peak_memory_is_the_largest_temporary_of_a_step() -> None:
    """The peak column measures memory in use beyond the step's start: one 4 MiB temporary reads 4 MiB, in place 0."""
    from types import SimpleNamespace

    from descentlab.bench.steps import peak_during_step

    x = torch.zeros(1 << 20)

    def with_temporary() -> None:
        y = x + 1  # 4 MiB, freed at return
        x.copy_(y)

    assert 4.0 <= peak_during_step(SimpleNamespace(step=with_temporary)) < 4.1
    assert peak_during_step(SimpleNamespace(step=lambda: x.add_(1))) < 0.01


def test_steps_suite_peak_memory_column(monkeypatch, capsys) -> None:
    import descentlab.bench.steps as bench_steps

    monkeypatch.setitem(bench_steps.LAYOUTS, "resnet18", ((256, 256),))
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    assert main(["bench", "steps", "--algorithms", "sgd", "--layouts", "resnet18", "--repeats", "1", "--peak-memory"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[1].split()
    assert header[header.index("peak") + 1] == "MiB"
    assert all(float(line.split()[-2]) >= 0 for line in lines[2:])


def test_steps_suite_first_step_in_new_processes(monkeypatch, capsys) -> None:
    """--first-step: the default path's first step in new processes, with an empty kernel cache and a warm one."""
    import descentlab.bench.steps as bench_steps

    monkeypatch.setitem(bench_steps.LAYOUTS, "resnet18", ((64, 3), (5,)))
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    assert main(["bench", "steps", "--algorithms", "adam", "--layouts", "resnet18", "--repeats", "1", "--json",
                 "--first-step", "--paths", "ours default", "torch default"]) == 0
    record = json.loads(capsys.readouterr().out)
    ours = next(r for r in record["rows"] if r["path"] == "ours default")
    assert 0 < ours["fresh_first_step_cold_s"] < 60 and 0 < ours["fresh_first_step_warm_s"] < 60
    assert all(r["fresh_first_step_cold_s"] is None for r in record["rows"] if r["path"] != "ours default")
