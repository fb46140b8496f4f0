"""The explorer as a person uses it: headless Chromium, from file://, keyboard and mouse, desktop and phone widths.

Needs Debian's ``chromium`` and ``chromium-driver`` (as ``test_report_browser.py``).
Saves ``test-artifacts/explore.png`` (1400 px wide), ``explore-420.png`` (a phone's 420 px), their Chinese
twins ``explore-zh.png`` and ``explore-zh-420.png`` (``make screenshots`` copies them to ``docs/``), and
``test-artifacts/explore-timings.json`` (the slider-move-to-redraw times measured in the page with
``performance.now()``).
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
        _open(driver, f"{page_url}#p=notes%400&T=5&{slots}{'&' + off if off else ''}")
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
    x = layout["left"] + (i + 0.5) * layout["cw"]  # the layout is in CSS pixels, as the canvas is shown
    y = layout["top"] + (layout["ny"] - 1 - j + 0.5) * layout["ch"]
    ActionChains(driver).move_to_element_with_offset(canvas, x - width / 2, y - height / 2).click().perform()
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


def test_redraw_is_fast(driver, page_url: str) -> None:
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
    assert any(re.fullmatch(r"第 \d+ 步发散", text) for text in drawn), drawn
    assert re.search(r"第 \d+ 步发散（\|x\| > 1e12 或非有限值）", _readout(driver, 1))


def test_the_chinese_page_has_the_notes_runs(driver, chinese_url: str) -> None:
    from selenium.webdriver.support.ui import Select

    _open(driver, chinese_url)
    runs = driver.execute_script("return JSON.parse(document.getElementById('explore-data').textContent).notes")
    menu = Select(driver.find_element("id", "notes-run"))
    assert [o.text for o in menu.options][1:3] == ["梯度下降，η=0.4", "梯度下降，η=0.6"]
    for i, run in enumerate(runs):
        menu.select_by_value(str(i))
        assert driver.find_element("css selector", "#readout-0 td.end code").text == run["printed"]
        assert "✓ 数字相同" in _readout(driver, 0)
    assert not _errors(driver)


# ---------- the layout at desktop and phone widths: nothing overlaps, nothing scrolls sideways ----------

OVERLAPS = """
const root = document.getElementById('explorer');
const shown = (el) => { for (let e = el; e; e = e.parentElement) { const s = getComputedStyle(e);
  if (s.display === 'none' || s.visibility === 'hidden') return false; } return el.getClientRects().length > 0; };
const boxes = [];
// every visible text: the boxes of its lines (a text node's own lines never overlap each other)
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  const el = n.parentElement;
  if (!n.textContent.trim() || el.closest('script, style, select, option, .dlx-hidden') || !shown(el)) continue;
  const range = document.createRange();
  range.selectNodeContents(n);
  for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) boxes.push({ what: n.textContent.trim().slice(0, 50), node: n, r });
}
// controls and canvases show text inside their boxes
for (const el of root.querySelectorAll('select, input, output, canvas')) {
  if (!shown(el)) continue;
  const r = el.getBoundingClientRect();
  if (r.width > 0 && r.height > 0) boxes.push({ what: `<${el.tagName.toLowerCase()} id=${el.id}>`, node: el, r });
}
const cut = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
const found = [];
for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
  const [p, q] = [boxes[i].node, boxes[j].node];
  if (p !== q && !p.contains(q) && !q.contains(p) && cut(boxes[i].r, boxes[j].r)) found.push([boxes[i].what, boxes[j].what]);
}
// the blocks: the control boxes and the figures do not overlap, and none is wider than its column
const blocks = [...root.querySelectorAll('fieldset, figure, .dlx-numbers')].filter(shown).map((el) => [el, el.getBoundingClientRect()]);
for (let i = 0; i < blocks.length; i++) {
  for (let j = i + 1; j < blocks.length; j++) {
    if (!blocks[i][0].contains(blocks[j][0]) && cut(blocks[i][1], blocks[j][1])) found.push([blocks[i][0].id || blocks[i][0].tagName, blocks[j][0].id || blocks[j][0].tagName]);
  }
  const column = blocks[i][0].closest('.dlx-controls, .dlx-views, .dlx-numbers').getBoundingClientRect();
  if (blocks[i][1].right > column.right + 0.5 || blocks[i][1].left < column.left - 0.5) found.push(['wider than its column', blocks[i][0].tagName]);
}
// the labels drawn on each canvas: inside it, and apart
const drawn = window.explore.labels();
for (const [id, labels] of Object.entries(drawn)) {
  const canvas = document.getElementById(id);
  if (!shown(canvas)) continue;
  const w = canvas.clientWidth, h = canvas.clientHeight;
  for (const b of labels) if (b.x < -0.5 || b.y < -0.5 || b.x + b.w > w + 0.5 || b.y + b.h > h + 0.5) found.push([id, 'outside: ' + b.text]);
  for (let i = 0; i < labels.length; i++) for (let j = i + 1; j < labels.length; j++) {
    const a = labels[i], b = labels[j];
    if (Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x) > 0.5 && Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y) > 0.5) found.push([id, a.text, b.text]);
  }
}
const canvases = [...root.querySelectorAll('canvas')].filter(shown).map((c) => ({
  id: c.id, css: c.clientWidth, backing: c.width, figure: c.parentElement.clientWidth }));
return { overlaps: found, labels: Object.values(drawn).reduce((n, l) => n + l.length, 0), canvases,
         scrollWidth: document.scrollingElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
         ratio: window.devicePixelRatio, columns: getComputedStyle(root.querySelector('.dlx')).gridTemplateColumns.split(' ').length };
"""

SCENARIOS = {
    # the page as it opens: the first objective, the first optimizers, their first settings
    "defaults": "",
    # two identical runs diverging at the same place, and a third: their labels must find three free places
    "same-divergence": "#p=notes%400&T=200&focus=1&o1=sgd:lr=0.6&o2=sgd:lr=0.6&o3=momentum:lr=1,momentum=0.9",
    "rosenbrock-adadelta": "#p=rosenbrock%400&T=100&focus=3&o1=sgd:lr=0.004&o2=momentum:lr=0.004,momentum=0.9&o3=adadelta:",
    "himmelblau-yogi": "#p=himmelblau%400&T=50&focus=2&o1=rmsprop:&o2=yogi:&o3=off",
    "one-row-map": "#p=quadratic-k100-a30%400&T=200&focus=1&o1=sgd:lr=0.02&o2=adagrad:&o3=off",
    "saddle": "#p=saddle%400&T=60&focus=1&o1=adam:&o2=momentum:&o3=sgd:",
}
WIDTHS = (1400, 420, 360)


def _redrawn(driver, draws: int) -> None:
    for _ in range(100):
        if driver.execute_script("return window.explore.draws") > draws:
            return
        time.sleep(0.03)
    raise AssertionError("the page did not redraw")


def _check_layout(driver, width: int, where: str) -> dict:
    # two animation frames: a redraw the page scheduled on a resize (a scroll bar appearing) has run
    driver.execute_async_script("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(done));")
    measured = driver.execute_script(OVERLAPS)
    assert measured["overlaps"] == [], (where, measured["overlaps"][:10])
    assert measured["scrollWidth"] <= measured["clientWidth"], (where, measured)  # no sideways scroll of the page
    assert measured["columns"] == (2 if width >= 1000 else 1), where  # one column below 900 px
    for canvas in measured["canvases"]:  # each canvas fills its figure, drawn at the device's pixel ratio
        assert canvas["figure"] - 12 <= canvas["css"] <= canvas["figure"], (where, canvas)
        assert canvas["backing"] == round(canvas["css"] * measured["ratio"]), (where, canvas)
    assert measured["labels"] > 40, where
    return measured


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_width_from_phone_to_desktop_has_no_overlap_no_sideways_scroll_and_no_request(
    driver, page_url: str, chinese_url: str, lang: str
) -> None:
    url = page_url if lang == "en" else chinese_url
    artifacts = REPO / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    suffix = "" if lang == "en" else "-zh"
    try:
        for width in WIDTHS:
            if width == 360:  # a phone: two device pixels per CSS pixel
                driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                       {"width": width, "height": 800, "deviceScaleFactor": 2, "mobile": True})
            else:
                driver.set_window_size(width, 1000)
            _open(driver, url)
            assert driver.execute_script("return window.devicePixelRatio") == (2 if width == 360 else 1)
            for name, hash_ in SCENARIOS.items():
                if hash_:
                    draws = driver.execute_script("return window.explore.draws")
                    driver.execute_script("location.hash = arguments[0]", hash_)
                    _redrawn(driver, draws)
                _check_layout(driver, width, f"{lang} {width} px {name}")
            # the same page resized: the canvases follow (ResizeObserver), still no overlap
            if width == 1400:
                draws = driver.execute_script("return window.explore.draws")
                driver.set_window_size(700, 1000)
                _redrawn(driver, draws)
                _check_layout(driver, 700, f"{lang} resized to 700 px")
                driver.set_window_size(width, 1000)
            if width in (1400, 420):
                draws = driver.execute_script("return window.explore.draws")
                driver.execute_script("location.hash = arguments[0]", SCREENSHOT)
                _redrawn(driver, draws)
                _check_layout(driver, width, f"{lang} {width} px screenshot")
                shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
                name = f"explore{suffix}.png" if width == 1400 else f"explore{suffix}-{width}.png"
                (artifacts / name).write_bytes(base64.b64decode(shot["data"]))
                assert (artifacts / name).stat().st_size > 50_000
            assert not _errors(driver), (lang, width)
            resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
            assert all(r.startswith(("data:", "blob:")) for r in resources), resources
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(1400, 1750)


SCREENSHOT = "#p=notes%400&T=20&focus=1&o1=momentum:lr=0.6,momentum=0.5&o2=sgd:lr=0.6&o3=adam:lr=0.4"
"""The screenshots' state: the notes' momentum and GD runs at η = 0.6 (GD beyond 2/λmax leaves the window) and Adam."""


def test_the_canvases_are_focusable_described_and_the_map_moves_with_the_keyboard(driver, page_url: str) -> None:
    _open(driver, f"{page_url}#p=notes%400&T=200&focus=1&o1=momentum:lr=0.1,momentum=0.5&o2=sgd:lr=0.6&o3=off")
    for id_ in ("view-paths", "view-map", "view-loss", "view-elr", "view-state"):
        canvas = driver.find_element("id", id_)
        assert canvas.get_attribute("tabindex") == "0" and canvas.get_attribute("role") == "img"
        label = canvas.get_attribute("aria-label")
        assert len(label) > 40, (id_, label)
    paths = driver.find_element("id", "view-paths").get_attribute("aria-label")
    assert "Momentum after 200 steps at (" in paths and "SGD diverged at step" in paths
    assert driver.find_element("id", "summary").get_attribute("aria-live") == "polite"
    canvas = driver.find_element("id", "view-map")
    canvas.send_keys("\ue014")  # arrow right: the next lr
    state = driver.execute_script("return window.explore.state()")
    lr = _axes("momentum")[0].values[state["slots"][0]["idx"][0]]
    assert lr == 0.2 and "o1=momentum:lr=0.2," in driver.execute_script("return location.hash")
    assert driver.switch_to.active_element == canvas
    paths_canvas = driver.find_element("id", "view-paths")
    paths_canvas.send_keys("\ue007")  # Enter: the next start
    assert driver.execute_script("return window.explore.state()")["problem"] == "notes@1"


def test_captions_say_what_is_drawn_and_numbers_read_at_a_glance(driver, page_url: str) -> None:
    import re

    # momentum on a quadratic: the bound and the optimum are drawn, and the caption says so
    _open(driver, f"{page_url}#p=notes%400&T=20&focus=1&o1=momentum:lr=0.1,momentum=0.5&o2=off&o3=off")
    caption = driver.find_element("id", "map-caption").text
    assert "White dashes" in caption and "✚" in caption
    assert re.search(r"f fell by 10\^\d+(\.\d{1,2})?, rate 0\.\d{1,3}\b", caption), caption
    # Adam has no theory line and no optimum: neither is mentioned; on Rosenbrock no bound at all
    _open(driver, f"{page_url}#p=rosenbrock%400&T=20&focus=1&o1=adam:&o2=off&o3=off")
    caption = driver.find_element("id", "map-caption").text
    assert "White dashes" not in caption and "✚" not in caption
    # the colour scale is one for every kind of map: the bar's colours and labels are the same for any algorithm,
    # objective and step count (read back from the canvas)
    bars = []
    for hash_ in ("#p=notes%400&T=20&focus=1&o1=sgd:lr=0.6&o2=off&o3=off",
                  "#p=rosenbrock%400&T=100&focus=1&o1=adam:&o2=off&o3=off",
                  "#p=himmelblau%400&T=200&focus=1&o1=adadelta:&o2=off&o3=off"):
        _open(driver, page_url + hash_)
        bars.append(driver.execute_script("""
            const bar = window.explore.mapLayout().bar, canvas = document.getElementById('view-map');
            const r = window.devicePixelRatio, ctx = canvas.getContext('2d');
            const row = ctx.getImageData(Math.round((bar.left + 2) * r), Math.round((bar.top + 6) * r), Math.round((bar.width - 4) * r), 1);
            const step = Math.floor(row.data.length / 4 / 8);
            return [Array.from({length: 8}, (_, k) => Array.from(row.data.slice(k * step * 4, k * step * 4 + 3))),
                    window.explore.labels()['view-map'].filter(l => l.kind === 'bar' && /^[0-9.]+$/.test(l.text)).map(l => l.text)];
        """))
    assert bars[0] == bars[1] == bars[2], bars
    assert bars[0][1] == ["0", "0.9", "0.99", "0.999"] and len({tuple(c) for c in bars[0][0]}) == 8
    # a diverged run's huge f is written 1.19e18-style, never as twenty digits
    _open(driver, f"{page_url}#p=notes%400&T=20&focus=1&o1=sgd:lr=0.6&o2=off&o3=off")
    for cell in driver.find_elements("css selector", "#readout td"):
        assert not re.search(r"\d{7,}", cell.text.replace("epoch", "")), cell.text
    readout = driver.execute_script("return window.explore.labels()['view-loss'].map(l => l.text)")
    assert all(not re.search(r"\d{6,}", t) for t in readout), readout
    # the f(x_t) axis has at least three tick labels even over less than a decade
    _open(driver, f"{page_url}#p=notes%400&T=3&focus=1&o1=sgd:lr=0.001&o2=off&o3=off")
    ticks = [t for t in driver.execute_script("return window.explore.labels()['view-loss']") if t["kind"] == "ytick"]
    assert len(ticks) >= 3, ticks
    # −Δx/g: the spikes of a velocity rule are explained, and only when drawn
    _open(driver, f"{page_url}#p=notes%400&T=50&focus=1&o1=momentum:lr=0.1,momentum=0.9&o2=off&o3=off")
    assert "running average of past gradients" in driver.find_element("id", "elr-caption").text
    _open(driver, f"{page_url}#p=notes%400&T=50&focus=1&o1=sgd:lr=0.1&o2=off&o3=off")
    assert "running average" not in driver.find_element("id", "elr-caption").text
    assert not _errors(driver)


def test_the_page_opens_on_optimizers_with_a_state_and_an_lr_that_suits_each_objective(driver, page_url: str) -> None:
    from selenium.webdriver.support.ui import Select

    _open(driver, page_url)
    state = driver.execute_script("return window.explore.state()")
    focus = state["slots"][state["focus"]]
    assert focus["alg"] != "sgd"
    assert driver.find_element("id", "view-state").is_displayed()  # the focused optimizer has a state to show
    assert driver.execute_script("return window.explore.mapLayout().ny") > 1  # and a two-dimensional map
    for objective in ("rosenbrock", "himmelblau", "saddle"):
        Select(driver.find_element("id", "objective")).select_by_value(objective)
        readout = driver.find_element("id", "readout").text
        assert "diverged" not in readout, (objective, readout)
    # the saddle opens off the line x1 = 0, so a path escapes the saddle point (0, 0)
    state = driver.execute_script("return window.explore.state()")
    assert state["problem"] == "saddle@0"
    ends = driver.execute_script("""return window.explore.state().slots.filter(Boolean).map((s, i) =>
        document.getElementById('readout-' + i).querySelector('td.end').textContent)""")
    assert ends
    assert not _errors(driver)
