"""The report in Chinese: the same run's numbers as the English one, in Chinese, with every glyph drawn.

One chapter run (every optional section included) is rendered in both
languages; the Chinese page must show every number the English page shows,
say it in Chinese (no English sentence left), and its figures must draw every
character (matplotlib warns for a glyph its fonts lack).
"""

from __future__ import annotations

import html
import json
import re
import warnings
from pathlib import Path

import pytest

from descentlab.airfoil import Airfoil
from descentlab.chapter.report import render_html, results_json, write_report
from descentlab.chapter.reproduce import run_chapter
from descentlab.cli import main
from descentlab.lang import EN, ZH

NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
# an English sentence: four words in a row (names such as "own adam lr=0.01" or "descentlab bench airfoil" are shorter)
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?:[ ,']+[A-Za-z]{2,}){3,}")
NAMES = ("descentlab", "torch.optim", "nn.Linear", "make reproduce", "README", "Student", "UTC", "AdaGrad", "RMSProp",
         "AdaDelta", "Adam", "Yogi", "ResNet")


@pytest.fixture(scope="module")
def results(airfoil: Airfoil):
    return run_chapter(seeds=range(6), data=airfoil, exercises=True, schedules=True)


def _text(page: str) -> str:
    body = re.sub(r"<style>.*?</style>|<code>.*?</code>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_the_chinese_page_holds_every_number_of_the_english_one(results) -> None:
    english, chinese = _text(render_html(results, EN)), _text(render_html(results, ZH))
    missing = set(NUMBER.findall(english)) - set(NUMBER.findall(chinese))
    assert not missing, f"numbers of the English page missing from the Chinese one: {sorted(missing)}"
    assert len(re.findall(r"[\u4e00-\u9fff]", chinese)) > 2500


def test_no_english_sentence_is_left_on_the_chinese_page(results) -> None:
    chinese = _text(render_html(results, ZH))
    for name in NAMES:
        chinese = chinese.replace(name, "")
    left = ENGLISH.findall(chinese)
    assert not left, left[:10]


def test_the_chinese_page_says_its_language_and_verdicts_in_chinese(results) -> None:
    page = render_html(results, ZH)
    assert page.startswith("<!doctype html><html lang=zh>")
    assert "<h2>3. 动量法</h2>" in page and "学习率" in page and "指数加权移动平均" in page
    statuses = re.findall(r"<td class=(?:pass|FAIL|notrun|few)>(.*?)</td>", page)
    assert len(statuses) == 19 and set(statuses) <= {"一致", "不一致", "未运行", "种子太少"}


def test_results_json_carries_the_language_and_the_same_numbers(results) -> None:
    english = json.loads(json.dumps(results_json(results, EN), default=str))
    chinese = json.loads(json.dumps(results_json(results, ZH), default=str))
    assert (english["language"], chinese["language"]) == ("en", "zh")
    assert chinese["airfoil"]["runs"] == english["airfoil"]["runs"]
    assert chinese["quadratic_theory"] == english["quadratic_theory"]
    assert re.search(r"[\u4e00-\u9fff]", chinese["airfoil"]["gap_sentence"])


def test_the_chinese_figures_draw_every_glyph(results, tmp_path: Path, cjk_font: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        index = write_report(results, tmp_path / "zh", say=ZH)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing[:5]
    svg = (index.parent / "figures" / "airfoil_curves.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and index.read_text(encoding="utf-8").count("<figure ") >= 20


@pytest.mark.slow  # (make test-all, CI)
def test_cli_writes_the_chinese_report_and_refuses_another_language(tmp_path: Path, airfoil_path: Path, cjk_font: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report"
    assert main(["reproduce", "--lang", "zh", "--out", str(out), "--data", str(airfoil_path), "--seeds", "5",
                 "--first-seed", "1"]) in (0, 1)
    printed = capsys.readouterr().out
    assert "结论：" in printed and "个一致" in printed
    assert f"已写入 {out / 'index.html'}" in printed and "wrote" not in printed
    assert (out / "index.html").read_text(encoding="utf-8").startswith("<!doctype html><html lang=zh>")
    assert main(["reproduce", "--lang", "fr", "--out", str(tmp_path / "fr")]) == 2
    assert "invalid choice: 'fr'" in capsys.readouterr().err
    assert not (tmp_path / "fr").exists()
