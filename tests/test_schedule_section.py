"""``reproduce --schedules``: the section's numbers, the conclusion drawn from them, the report and its JSON."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from descentlab.chapter.schedule_section import PLANS, decaying, ranking, schedule_section
from descentlab.chapter.schedule_words import SAME, schedule_conclusion
from descentlab.cli import main
from descentlab.schedules import SCHEDULES


@pytest.fixture(scope="module")
def section(airfoil):
    return schedule_section(airfoil, range(10))


def test_every_schedule_runs_over_the_seeds_with_its_own_rates(section):
    assert [r.plan.name for r in section.runs] == list(SCHEDULES) == list(PLANS)
    for r in section.runs:
        assert len(r.rates) == section.steps == 300
        assert len(r.run.seeds) == 10 and not r.run.diverged
        assert r.run.schedule == r.plan.label()
    assert {r.plan.name for r in decaying(section)} == {"factor", "multi_factor", "cosine"}


def test_the_conclusion_is_what_the_numbers_say(section):
    words = schedule_conclusion(section)
    constant = section.by_name("constant")
    annealing = decaying(section)
    # the claim: every annealing schedule ends closer to the optimum, and by how much
    assert all(r.median_gap < constant.median_gap for r in annealing)
    assert "Every schedule that lowers the rate by the end" in words
    ratios = sorted(constant.median_gap / r.median_gap for r in annealing)
    assert f"{ratios[0]:.0f}× to {ratios[-1]:.0f}× smaller" in words
    assert ratios[0] > 5  # minibatch noise at a constant rate dominates the gap
    assert f"The closest here is {ranking(section)[0].plan.label()} " in words
    warmup = section.by_name("warmup")
    assert abs(warmup.median_gap - constant.median_gap) < SAME * constant.median_gap
    assert "Warm-up alone ends like the constant rate" in words


def test_the_conclusion_follows_other_numbers(section):
    """Swap the cosine run's finals for the constant run's, doubled: the words must say it is not closer."""
    constant = section.by_name("constant")
    worse = dataclasses.replace(constant.run, final_loss=tuple(2 * f for f in constant.run.final_loss))
    runs = tuple(dataclasses.replace(r, run=worse) if r.plan.name == "cosine" else r for r in section.runs)
    words = schedule_conclusion(dataclasses.replace(section, runs=runs))
    assert "Not every annealing schedule ends closer than the constant rate: cosine with warm-up does not." in words


def test_reproduce_schedules_adds_the_section(tmp_path: Path, airfoil_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["reproduce", "--out", str(out), "--data", str(airfoil_path), "--seeds", "5", "--schedules"]) in (0, 1)
    page = (out / "index.html").read_text(encoding="utf-8")
    results = json.loads((out / "results.json").read_text())
    assert "<h2>6c. Learning-rate schedules</h2>" in page and (out / "figures" / "schedules.svg").is_file()
    words = re.search(r"<span id=schedule-words>(.*?)</span>", page).group(1)
    assert words.replace("&#x27;", "'") == results["schedules"]["conclusion"]
    assert [r["schedule"] for r in results["schedules"]["runs"]] == list(SCHEDULES)
    for r in results["schedules"]["runs"]:
        assert f"{r['median_gap']:.2e}" in page


@pytest.mark.slow  # (make test-all, CI)
def test_reproduce_schedules_without_data_says_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    out = tmp_path / "report"
    main(["reproduce", "--out", str(out), "--no-download", "--seeds", "2", "--schedules"])
    page = (out / "index.html").read_text(encoding="utf-8")
    section = page[page.index("<h2>6c. Learning-rate schedules</h2>"):]
    assert section.startswith("<h2>6c. Learning-rate schedules</h2><p class=note><b>Not run:</b>")
    assert json.loads((out / "results.json").read_text())["schedules"] is None
