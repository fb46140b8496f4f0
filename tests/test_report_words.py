"""Every sentence of the report about a measured number is true of that number.

The captions and sentences are computed from the records (descentlab.chapter.words);
these tests read them back from the rendered page and check each claim against the
numbers in results.json, with a parser written here, independently of the code
that wrote the words.  A claim that contradicts its numbers fails the test.
"""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pytest

from descentlab.airfoil import Airfoil, load_airfoil
from descentlab.chapter.describe import series_shape, shape_words
from descentlab.chapter.report import render_html, results_json
from descentlab.chapter.reproduce import run_chapter

SEEDS = range(8)



@pytest.fixture(scope="module")
def published(airfoil: Airfoil):
    results = run_chapter(seeds=SEEDS, data=airfoil)
    return render_html(results), json.loads(json.dumps(results_json(results), default=str))


@pytest.fixture(scope="module")
def altered_path(airfoil_path: Path, tmp_path_factory) -> Path:
    """The airfoil file with one typo: row 1's chord length 300 instead of 0.3048 (a unit slip, metres to mm)."""
    rows = [line.split("\t") for line in airfoil_path.read_text().splitlines()]
    assert rows[0][2] == "0.3048"
    rows[0][2] = "300"
    path = tmp_path_factory.mktemp("altered") / "airfoil_self_noise.dat"
    path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    return path


@pytest.fixture(scope="module")
def altered(altered_path: Path):
    results = run_chapter(seeds=SEEDS, data=load_airfoil(altered_path))
    return render_html(results), json.loads(json.dumps(results_json(results), default=str))


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def _caption(page: str, stem: str) -> str:
    match = re.search(rf'<img src="figures/{stem}.svg"[^>]*><figcaption>(.*?)</figcaption>', page, flags=re.S)
    return html.unescape(match.group(1))


# --- a parser of the series words, and the check of each claim --------------------------------

NUMBER = r"-?[0-9.]+(?:e[-+]?[0-9]+)?"


def _same(text: str, value: float) -> bool:
    return f"{value:.3g}" == text


def _direction_holds(values: list[float], start: int, end: int, direction: str) -> bool:
    """values[start..end] (steps from 1) never go against ``direction`` beyond rounding."""
    part = values[start - 1:end]
    tolerance = 1e-9
    if direction == "rises":
        return all(b >= a - tolerance * abs(a) for a, b in zip(part, part[1:]))
    return all(b <= a + tolerance * abs(a) for a, b in zip(part, part[1:]))


def check_series_words(words: str, values: list[float], curvature: float | None = None) -> list[str]:
    """Every claim of ``words`` (as shape_words writes them) that ``values`` contradict; [] if all hold."""
    problems: list[str] = []
    finite = [v for v in values if math.isfinite(v)]
    if not _same(re.search(rf"(?:from|starts at) ({NUMBER})", words).group(1), finite[0]):
        problems.append("first value")
    segments = re.findall(rf"(rises|falls)(?: from {NUMBER})? to ({NUMBER}) \(step (\d+)\)", words)
    start = 1
    for direction, value, step in segments:
        step = int(step)
        if not _same(value, values[step - 1]):
            problems.append(f"value at step {step}")
        if not _direction_holds(values, start, step, direction):
            problems.append(f"{direction} from step {start} to {step}")
        start = step
    if segments and start != len(values):
        problems.append("the last stretch does not end at the last step")
    turns = re.search(rf"turns (\d+) times between ({NUMBER}) \(step (\d+)\) and ({NUMBER}) \(step (\d+)\) and ends at ({NUMBER})", words)
    if turns:
        count, low, low_step, high, high_step, last = turns.groups()
        if not (_same(low, min(finite)) and values[int(low_step) - 1] == min(finite)):
            problems.append("low")
        if not (_same(high, max(finite)) and values[int(high_step) - 1] == max(finite)):
            problems.append("peak")
        if not _same(last, finite[-1]):
            problems.append("last")
        moves = [1 if b > a else -1 for a, b in zip(finite, finite[1:]) if abs(b - a) > 1e-9 * max(abs(a), abs(b))]
        if sum(1 for a, b in zip(moves, moves[1:]) if a != b) != int(count):
            problems.append("number of turns")
    if "never rising" in words and not _direction_holds(values, 1, len(values), "falls"):
        problems.append("never rising")
    if "never falling" in words and not _direction_holds(values, 1, len(values), "rises"):
        problems.append("never falling")
    edge = re.search(r"= 2/λ\d, the edge of stability", words)
    if edge and (curvature is None or abs(finite[-1] - 2 / curvature) > 0.01 * 2 / curvature):
        problems.append("edge of stability")
    settled = re.search(r"within 1% of it from step (\d+)", words)
    if settled and any(abs(v - finite[-1]) > 0.01 * abs(finite[-1]) for v in values[int(settled.group(1)) - 1:]):
        problems.append("settled")
    for phrase in ("levels off", "decays"):  # the words of the old caption: no longer claimed without a check
        if phrase in words:
            problems.append(phrase)
    return problems


def test_the_effective_lr_caption_is_true_of_its_plot(published) -> None:
    page, results = published
    caption = _caption(page, "adaptive_theory")
    curvatures = (results["quadratic_theory"]["lmin"], results["quadratic_theory"]["lmax"])
    assert len(results["adaptive_effective_lr"]) == 2
    for run in results["adaptive_effective_lr"]:
        for name, curvature in zip(("x1", "x2"), curvatures):
            words = run["words"][name]
            assert f"{name} {words}" in caption
            assert check_series_words(words, run[name], curvature) == [], (run["algorithm"], name, words)
    adagrad, rmsprop = results["adaptive_effective_lr"]
    assert "never rising" in adagrad["words"]["x1"] and "never rising" in adagrad["words"]["x2"]
    assert "never" not in rmsprop["words"]["x1"]  # it climbs to ~50, then drops: not "levels off"
    assert "edge of stability" in rmsprop["words"]["x1"] and "edge of stability" in rmsprop["words"]["x2"]
    assert "levels off" not in page


def test_the_checker_catches_words_that_contradict_the_numbers(published) -> None:
    """The words of one series, checked against another, fail; so do doctored words."""
    _, results = published
    adagrad, rmsprop = results["adaptive_effective_lr"]
    assert check_series_words(adagrad["words"]["x1"], rmsprop["x1"])
    assert check_series_words(rmsprop["words"]["x1"], adagrad["x1"])
    assert check_series_words(adagrad["words"]["x1"].replace("never rising", "never falling"), adagrad["x1"])
    assert check_series_words(rmsprop["words"]["x1"] + ", then levels off", rmsprop["x1"], 0.2)
    assert check_series_words(rmsprop["words"]["x2"], rmsprop["x2"], curvature=1.0)  # 2/λ would be 2, not 0.5


@pytest.mark.parametrize(("values", "expected"), [
    ([3.0, 2.0, 1.0, 0.5], "falls from 3 to 0.5 (step 4), never rising"),
    ([1.0, 2.0, 2.0, 4.0], "rises from 1 to 4 (step 4), never falling"),
    ([1.0, 5.0, 2.0], "rises from 1 to 5 (step 2), then falls to 2 (step 3)"),
    ([2.0, 1.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0],
     "falls from 2 to 1 (step 2), then rises to 3 (step 11); within 1% of it from step 3"),
    ([1.0, 1.0 + 1e-15, 1.0 - 1e-15, 0.5], "falls from 1 to 0.5 (step 4), never rising"),  # rounding is not a rise
    ([2.0, math.nan, 1.0], "falls from 2 to 1 (step 3), never rising"),  # a zero gradient's nan is skipped
    ([1.0, 1.0], "stays at 1"),
])
def test_shape_words(values: list[float], expected: str) -> None:
    assert shape_words(series_shape(values)) == expected


def test_shape_words_summarise_many_turns() -> None:
    words = shape_words(series_shape([1, 3, 2, 4, 1, 5, 2, 6, 0.5, 2]))
    assert words == "starts at 1, turns 8 times between 0.5 (step 9) and 6 (step 8) and ends at 2"
    assert check_series_words(words, [1, 3, 2, 4, 1, 5, 2, 6, 0.5, 2]) == []


def _gap_numbers(sentence: str) -> tuple[float, float]:
    low, high = re.search(rf"ends between ({NUMBER}|\+[0-9.]+) and (\+?{NUMBER})", sentence).groups()
    return float(low), float(high)


@pytest.mark.parametrize("which", ["published", "altered"])
def test_the_gap_sentence_is_computed_from_the_runs(which: str, request) -> None:
    page, results = request.getfixturevalue(which)
    airfoil = results["airfoil"]
    sentence = airfoil["gap_sentence"]
    assert sentence in _text(page)
    gaps = [g for run in airfoil["runs"] for g in run["gap"]]
    low, high = _gap_numbers(sentence)
    assert low == pytest.approx(min(gaps), abs=5e-5) and high == pytest.approx(max(gaps), abs=5e-5)
    for run in airfoil["runs"]:
        label = f"{run['impl']} {run['algorithm']}"
        far = run["mean_gap"] > 0.005
        assert (f"({run['mean_gap']:+.4f})" in sentence) == far, (label, run["mean_gap"])
    assert "a few thousandths" not in page


def test_altered_data_gives_a_visible_note(altered, published, altered_path: Path) -> None:
    page, results = altered
    data = results["airfoil"]["data"]
    assert data["published"] is False and data["sha1"] != published[1]["airfoil"]["data"]["sha1"]
    assert data["note"].startswith("Not the published data") and str(altered_path) in data["note"]
    section = page[page.index("<h2>5."):]
    assert section.index("id=data-note") < section.index("<table>")  # at the top of the airfoil section
    assert html.escape(data["note"]) in section
    # the runs end far from this data's optimum: the sentence says which, instead of "a few thousandths above"
    assert "no run's mean lies within 0.005" in results["airfoil"]["gap_sentence"]
    assert published[1]["airfoil"]["data"] == {"path": published[1]["airfoil"]["data"]["path"],
                                               "sha1": "76e5be1548fd8222e5074cf0faae75edff8cf93f",
                                               "published": True, "note": None}
    assert "id=data-note" not in published[0]


def test_the_epoch_times_say_whose_machine(published) -> None:
    page, results = published
    runs = results["airfoil"]["runs"]
    assert all(run["notes_loop_sec_per_epoch"] > 0 for run in runs)
    words = _text(page)
    assert "their machine" in _caption(page, "airfoil_times") and "this machine" in _caption(page, "airfoil_times")
    loop = [run["notes_loop_sec_per_epoch"] for run in runs]
    ours = [run["sec_per_epoch"] for run in runs]
    printed = [run["notes_printed_sec_per_epoch"] for run in runs]
    assert f"The notes printed {min(printed):.3f}–{max(printed):.3f} s per epoch: measured on their machine" in words
    assert f"took {min(loop):.4f}–{max(loop):.4f} s per epoch and descentlab {min(ours):.4f}–{max(ours):.4f} s" in words


def test_the_adadelta_panel_and_text_follow_the_decomposition(published) -> None:
    page, results = published
    d = results["airfoil"]["adadelta_decomposition"]
    assert "eps alone explains" not in page  # 8 seeds show it too: the start matters once eps is small
    words = _text(page)
    assert f"torch's ε alone {d['baseline'] + d['eps_alone']:.4f} ({d['eps_alone']:+.4f})" in words
    assert len(d["cells"]) == 8 and d["code_difference"] < 1e-5


def test_the_other_sentences_use_the_records(published) -> None:
    """The 2D sections' numbers in the text are the trajectories' (spot checks of each sentence that quotes one)."""
    page, results = published
    words = _text(page)
    traces = {(t["algorithm"], t["hyperparameters"].get("lr")): t["final"] for t in results["traces"]}
    assert f"ends at {traces[('sgd', 0.6)][1]:.1f}" in words
    assert f"only gets from -5 to {traces[('sgd', 0.4)][0]:.3f} (η = 0.4) and {traces[('sgd', 0.6)][0]:.3f}" in words
    assert "lands on the minimum in one step" in words and results["newton_after_one_step"] == [0.0, 0.0]
    assert "no longer diverges" in words
    assert "(2 for β = 0.5, 10 for β = 0.9, 20 for β = 0.95)" in words
    assert f"at ({traces[('adagrad', 0.4)][0]:.3g}, {traces[('adagrad', 0.4)][1]:.3g})" in words
