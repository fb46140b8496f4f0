"""The explorer as a person uses it: headless Chromium, from file://, keyboard and mouse.

Needs Debian's ``chromium`` and ``chromium-driver`` (as ``test_report_browser.py``).
Saves ``test-artifacts/explore.png`` and ``test-artifacts/explore-timings.json``
(the slider-move-to-redraw times measured in the page with ``performance.now()``).
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from pathlib import Path

import pytest

from descentlab.algorithms import REGISTRY

from test_report_browser import REPO, _browser

REDRAW_MEDIAN_MS = 20.0


@pytest.fixture(scope="module")
def page_url(explorer, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("explore") / "explore.html"
    explorer.save(path)
    return path.resolve().as_uri()


@pytest.fixture(scope="module")
def driver():
    browser = _browser()
    browser.set_window_size(1400, 1750)
    yield browser
    browser.quit()


def _open(driver, url: str) -> None:
    driver.get("about:blank")
    driver.get(url)
    for _ in range(300):
        if driver.execute_script("return !!(window.explore && window.explore.ready)"):
            return
        time.sleep(0.05)
    raise AssertionError(f"the page did not get ready: {driver.get_log('browser')}")


def _paths(driver) -> str:
    return driver.execute_script("return document.getElementById('view-paths').toDataURL()")


def _readout(driver, slot: int) -> str:
    return driver.find_element("id", f"readout-{slot}").text


def _errors(driver) -> list:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def test_loads_from_file_with_no_error_and_no_request(driver, page_url: str) -> None:
    _open(driver, page_url)
    assert not _errors(driver)
    resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert resources == []  # no script, style, image, font or fetch was requested
    assert driver.execute_script("return location.protocol") == "file:"
    assert driver.execute_script("return window.explore.draws") >= 1


def test_every_slider_moves_the_path_and_the_reported_state(driver, page_url: str) -> None:
    names = list(REGISTRY)
    moved = 0
    for first in range(0, len(names), 3):
        group = names[first : first + 3]
        slots = "&".join(f"o{i + 1}={name}:" for i, name in enumerate(group))
        off = "&".join(f"o{i + 1}=off" for i in range(len(group), 3))
        _open(driver, f"{page_url}#p=notes%400&T=30&{slots}{'&' + off if off else ''}")
        sliders = driver.find_elements("css selector", "#slots input[type=range]")
        assert len(sliders) == sum(sum(a.kind != "choice" for a in _axes(n)) for n in group)
        for slider in [*sliders, driver.find_element("id", "steps")]:
            slot = slider.get_attribute("data-slot")
            before = (_paths(driver), driver.find_element("id", "readout").text)
            state_before = driver.execute_script("return window.explore.state()")
            at_end = slider.get_attribute("value") == slider.get_attribute("max")
            slider.send_keys("\ue012" if at_end else "\ue014")  # arrow left / right: the keyboard moves it
            after = (_paths(driver), driver.find_element("id", "readout").text)
            assert driver.execute_script("return window.explore.state()") != state_before, slider.get_attribute("id")
            assert after[0] != before[0], f"{slider.get_attribute('id')} did not change the drawn path"
            if slot is not None:
                cells = driver.find_element("id", f"readout-{slot}").find_elements("css selector", "td")
                assert after[1] != before[1]
                assert cells[2].text or cells[4].text
            moved += 1
    assert moved >= len(names) + 1
    assert not _errors(driver)


def _axes(name: str):
    from descentlab.explore.data import axes

    return axes(REGISTRY[name])


def test_the_notes_runs_show_their_printed_numbers(driver, page_url: str) -> None:
    from selenium.webdriver.support.ui import Select

    _open(driver, page_url)
    runs = driver.execute_script("return JSON.parse(document.getElementById('explore-data').textContent).notes")
    assert len(runs) == 7
    for i, run in enumerate(runs):
        Select(driver.find_element("id", "notes-run")).select_by_value(str(i))
        end = driver.find_element("css selector", "#readout-0 td.end code").text
        assert end == run["printed"]
        assert "✓ same digits" in _readout(driver, 0)
        assert f"{run['algorithm']}:" in driver.execute_script("return location.hash")
    assert not _errors(driver)


def test_clicking_the_rate_map_selects_that_setting_and_the_hash_is_shareable(driver, page_url: str) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    _open(driver, f"{page_url}#p=notes%400&T=20&focus=1&o1=momentum:lr=0.1,momentum=0.5&o2=off&o3=off")
    layout = driver.execute_script("return window.explore.mapLayout()")
    canvas = driver.find_element("id", "view-map")
    width, height = canvas.size["width"], canvas.size["height"]
    i, j = 3, layout["ny"] - 2  # lr = the 4th grid value, beta = the second largest
    x = layout["left"] + (i + 0.5) * layout["cw"]
    y = layout["top"] + (layout["ny"] - 1 - j + 0.5) * layout["ch"]
    scale = width / int(canvas.get_attribute("width"))
    ActionChains(driver).move_to_element_with_offset(canvas, (x * scale) - width / 2, (y * scale) - height / 2).click().perform()
    state = driver.execute_script("return window.explore.state()")
    assert state["slots"][0]["idx"] == [i, j]
    lr, beta = _axes("momentum")[0].values[i], _axes("momentum")[1].values[j]
    assert driver.find_element("id", "slot0-lr-value").text == f"{lr:g}"
    assert f"o1=momentum:lr={lr!r},momentum={beta!r}" in driver.execute_script("return location.hash")
    shared = driver.current_url
    readout = _readout(driver, 0)
    _open(driver, shared)  # the link opens the same setting
    assert _readout(driver, 0) == readout
    assert not _errors(driver)


def test_a_diverged_run_is_marked_with_its_step(driver, page_url: str) -> None:
    from descentlab.lab import OBJECTIVES, run

    expected = run("sgd", OBJECTIVES["notes"], {"lr": 0.6}, steps=200).diverged_at
    assert expected is not None
    _open(driver, f"{page_url}#p=notes%400&T=200&o1=sgd:lr=0.6&o2=sgd:lr=0.4&o3=off")
    assert f"diverged at step {expected}" in _readout(driver, 0)
    assert "diverged" not in _readout(driver, 1)
    before = _paths(driver)
    _open(driver, f"{page_url}#p=notes%400&T={expected - 1}&o1=sgd:lr=0.6&o2=sgd:lr=0.4&o3=off")
    assert "diverged" not in _readout(driver, 0)  # one step earlier it is still a path, not a mark
    assert _paths(driver) != before


def test_the_jupyter_frame_runs_the_same_page(driver, explorer, tmp_path: Path) -> None:
    host = tmp_path / "notebook.html"
    host.write_text(f"<!DOCTYPE html><html><body>{explorer._repr_html_()}</body></html>", encoding="utf-8")
    driver.get(host.resolve().as_uri())
    driver.switch_to.frame(driver.find_element("tag name", "iframe"))
    try:
        for _ in range(300):
            if driver.execute_script("return !!(window.explore && window.explore.ready)"):
                break
            time.sleep(0.05)
        assert driver.execute_script("return window.explore.ready")
        slider = driver.find_element("id", "slot0-lr")
        before = _paths(driver)
        slider.send_keys("\ue014")
        assert _paths(driver) != before
    finally:
        driver.switch_to.default_content()
    assert not _errors(driver)


def test_redraw_is_fast_and_a_screenshot_is_saved(driver, page_url: str) -> None:
    _open(driver, f"{page_url}#p=notes%400&T=200&o1=momentum:lr=0.1,momentum=0.9&o2=rmsprop:lr=0.1&o3=adam:lr=0.1")
    slider = driver.find_element("id", "slot0-lr")
    for k in range(30):
        slider.send_keys("\ue014" if k % 2 == 0 else "\ue012")
    timings = driver.execute_script("return window.explore.inputTimings")[-30:]
    redraws = driver.execute_script("return window.explore.timings")[-30:]
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "explore-timings.json").write_text(json.dumps({
        "input_to_redrawn_ms": timings, "redraw_ms": redraws,
        "median_input_to_redrawn_ms": statistics.median(timings), "median_redraw_ms": statistics.median(redraws),
    }, indent=1))
    assert statistics.median(timings) <= REDRAW_MEDIAN_MS * 2  # the target is 20 ms; the machine is shared
    _open(driver, f"{page_url}#p=notes%400&T=20&focus=1&o1=momentum:lr=0.6,momentum=0.5&o2=sgd:lr=0.6&o3=adam:lr=0.4")
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    (artifacts / "explore.png").write_bytes(base64.b64decode(shot["data"]))
    assert (artifacts / "explore.png").stat().st_size > 50_000


ALLOWED_WORDS = {"descentlab", "explore", "float", "bfloat", "AdaGrad", "RMSProp", "AdaDelta", "Adam", "Yogi",
                 "Rosenbrock", "Himmelblau", "Hessian", "theory", "run_batch"}
"""Words a Chinese page keeps: the program's and the algorithms' names, number formats (``float64``)."""
CANVAS_TEXTS = """
window.__canvasTexts = [];
const fill = CanvasRenderingContext2D.prototype.fillText;
CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
  window.__canvasTexts.push(String(text));
  return fill.call(this, text, ...rest);
};
"""


@pytest.fixture(scope="module")
def chinese_url(explorer, tmp_path_factory: pytest.TempPathFactory) -> str:
    from descentlab.explore import render
    from descentlab.lang import ZH

    path = tmp_path_factory.mktemp("explore-zh") / "explore.html"
    path.write_text(render(explorer.data, ZH), encoding="utf-8")
    return path.resolve().as_uri()


def test_the_chinese_page_renders_with_no_english_label_left(driver, explorer, chinese_url: str) -> None:
    import re

    from descentlab.explore.strings import page_strings
    from descentlab.lang import EN

    # every text drawn on a canvas is recorded too (axis labels, divergence marks)
    script = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CANVAS_TEXTS})
    try:
        _open(driver, f"{chinese_url}#p=notes%400&T=200&focus=1&o1=momentum:lr=0.1,momentum=0.5&o2=sgd:lr=0.6"
                      f"&o3=adagrad:lr=0.4")
        assert not _errors(driver)
        assert driver.execute_script("return document.documentElement.lang") == "zh"
        shown = driver.execute_script(
            "const copy = document.body.cloneNode(true); copy.querySelectorAll('code').forEach((c) => c.remove());"
            "document.body.append(copy); const text = copy.innerText; copy.remove(); return text;")
        drawn = driver.execute_script("return window.__canvasTexts")
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
    # the visible labels of the English page, none of which may be left (placeholders split a text into its parts)
    labels = [part.strip(" .:;,()") for key, text in page_strings(explorer.data, EN).items()
              if isinstance(text, str) and key != "lang" for part in re.split(r"\{\w+\}|<[^>]+>", text)]
    labels = [label for label in labels
              if re.search(r"(?<![λA-Za-z])[A-Za-z]{3,}", label) and label not in ALLOWED_WORDS]  # not λmax
    assert len(labels) > 40
    for label in labels:
        assert label not in shown, label
        assert not any(label in text for text in drawn), label
    left = set(re.findall(r"[A-Za-z]{4,}", shown)) - ALLOWED_WORDS
    assert left == set(), left  # no English word at all outside the <code> of printed results
    for chinese in ("优化器 1", "速率图与状态", "笔记中的运行", "动量法", "目标函数的理论值", "收敛率"):
        assert chinese in shown, chinese
    assert "时间步 t" in drawn and "η（对数）" in drawn
    expected = driver.execute_script("return window.explore.state()")  # the diverged GD run is marked in Chinese
    assert expected["slots"][1]["alg"] == "sgd"
    assert any(re.fullmatch(r"✕ 第 \d+ 步发散", text) for text in drawn), drawn
    assert re.search(r"第 \d+ 步发散（\|x\| > 1e12 或非有限值）", _readout(driver, 1))


def test_the_chinese_page_has_the_notes_runs_and_a_screenshot_is_saved(driver, chinese_url: str) -> None:
    from selenium.webdriver.support.ui import Select

    _open(driver, chinese_url)
    runs = driver.execute_script("return JSON.parse(document.getElementById('explore-data').textContent).notes")
    menu = Select(driver.find_element("id", "notes-run"))
    assert [o.text for o in menu.options][1:3] == ["梯度下降，η=0.4", "梯度下降，η=0.6"]
    for i, run in enumerate(runs):
        menu.select_by_value(str(i))
        assert driver.find_element("css selector", "#readout-0 td.end code").text == run["printed"]
        assert "✓ 数字相同" in _readout(driver, 0)
    _open(driver, f"{chinese_url}#p=notes%400&T=20&focus=1&o1=momentum:lr=0.6,momentum=0.5&o2=sgd:lr=0.6&o3=adam:lr=0.4")
    assert not _errors(driver)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / "explore-zh.png").write_bytes(base64.b64decode(shot["data"]))
    assert (artifacts / "explore-zh.png").stat().st_size > 50_000
