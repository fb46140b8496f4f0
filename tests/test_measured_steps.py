"""benchmarks/measured.py's steps table and the README's speed table: written from a record of any age.

A record from before a field existed renders it as '—'; a new record (AdamW, Yogi, "ours notes", the C triad)
renders every column it has.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

import pytest

import descentlab.bench.steps as bench_steps
from descentlab.bench.triad import C_METHOD, Triad

REPO = Path(__file__).resolve().parents[1]
STEPS = json.loads((REPO / "docs" / "measured" / "steps.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def measured():
    spec = importlib.util.spec_from_file_location("measured", REPO / "benchmarks" / "measured.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _readme_with_empty_block(measured) -> str:
    return f"# x\n\nbefore\n\n{measured.README_BEGIN}\n{measured.README_END}\n\nafter\n"


@pytest.fixture(scope="module")
def new_record() -> dict:
    """A real (tiny) run of today's bench: resnet18 shrunk, the triad a fixed record so that no time goes to it."""
    patch = pytest.MonkeyPatch()
    patch.setattr(bench_steps, "measure_triad", lambda: Triad(10.0, 9.0, 15.0, C_METHOD, 32 * 2**20, 2))
    patch.setitem(bench_steps.LAYOUTS, "resnet18", ((64, 3), (64,)))
    try:
        result = bench_steps.bench_steps(["sgd", "rmsprop", "adamw", "yogi"], ["resnet18"], repeats=1, warmup=0,
                                         paths=["ours default", "ours notes", "torch default", "torch foreach",
                                                "torch fused"]).to_dict()
    finally:
        patch.undo()
    return {"name": "steps", "command": ["descentlab", "bench", "steps"], "date": "2026-12-08",
            "machine": {**STEPS["machine"], "load_average": 0.5}, "result": json.loads(json.dumps(result))}


def test_a_new_record_renders_every_column(measured, new_record) -> None:
    table = measured.render(new_record)
    lines = table.splitlines()
    header = next(line for line in lines if line.startswith("| algorithm |"))
    assert "| ours notes |" in header and "| torch fused |" in header
    rows = {line.split(" | ")[0][2:]: line for line in lines if line.startswith("| ") and not line.startswith("| algorithm")}
    assert set(rows) >= {"sgd", "rmsprop", "adamw", "yogi"}
    yogi = rows["yogi"].split(" | ")
    assert yogi[2] == "—" and yogi[4:7] == ["—"] * 3 and yogi[7] == "— / — / —"  # no notes, no torch path, no ratio
    assert rows["rmsprop"].split(" | ")[2] != "—" and rows["rmsprop"].split(" | ")[6] == "—"  # notes row; no fused
    assert f"({C_METHOD}; 12 bytes per value as STREAM counts them" in table
    assert "the same loop in place (a = a + 2b, an SGD step): 15 GB/s" in table
    readme = measured.with_readme_speed(_readme_with_empty_block(measured), new_record)
    assert readme.startswith("# x\n\nbefore\n\n" + measured.README_BEGIN) and readme.endswith(measured.README_END + "\n\nafter\n")
    speed = {line.split(" | ")[0][2:]: line.split(" | ") for line in readme.splitlines() if line.startswith("| ")}
    assert speed["yogi"][2:] == ["—", "—", "— |"]  # its ratio columns; its GB/s and share are shown
    assert speed["yogi"][1].endswith("%)") and speed["adamw"][4] != "— |"  # torch has a fused AdamW
    assert measured.with_readme_speed(readme, new_record) == readme  # rendering twice changes nothing


def test_a_record_from_before_the_new_fields_renders_them_as_dashes(measured) -> None:
    old = copy.deepcopy(STEPS)
    for key in ("triad_method", "triad_bytes_per_value", "triad_in_place_gb_per_s", "triad_median_gb_per_s",
                "peak_rss_mib"):
        old["result"].pop(key, None)
    for row in old["result"]["rows"]:
        row.pop("speedup_vs_torch_fused", None)
    table = measured.render(old)
    assert "(how is not recorded)" in table and "Peak resident memory of the run: — GiB" in table
    readme = measured.with_readme_speed(_readme_with_empty_block(measured), old)
    rows = [line.split(" | ") for line in readme.splitlines() if line.startswith("| ") and "rule" not in line]
    assert rows and all(row[4] == "— |" for row in rows)  # the fused ratios the record lacks
    assert "(—, " in readme  # the triad's method


def test_the_readme_table_takes_resnet18_or_the_first_layout(measured, new_record) -> None:
    record = copy.deepcopy(new_record)
    for row in record["result"]["rows"]:
        row["layout"] = "flat16m"
    readme = measured.with_readme_speed(_readme_with_empty_block(measured), record)
    assert "Our default step on one 16M tensor" in readme
    assert "Our default step on ResNet-18" in measured.with_readme_speed(_readme_with_empty_block(measured), STEPS)
