"""The report as a person sees it: opened in headless Chromium at a desktop's width (1400 px) and a phone's (420 px).

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them).  Each page
(the default report, the one with ``--exercises --schedules``, the Chinese one, one written
without the data) must load every image, never scroll sideways, show no two visible text
boxes on top of each other (measured from their client rectangles), log no console error
and request nothing outside the report's folder.  Screenshots go to ``test-artifacts/``
only: ``report-<width>.png`` and the like, and the top of the page (1200 x 800 CSS pixels)
as ``report-excerpt.png`` and ``report-zh.png``, which ``make screenshots`` copies to
``docs/`` (the tests never write there).
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import struct
import time
from pathlib import Path

import pytest

from descentlab.cli import main
from descentlab.files import write_with

EXCERPT = (1200, 800)
PHONE_EXCERPT = (420, 1100)
EXCERPT_MAX_BYTES = 150_000

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _browser():
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (see .ci/run)")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,900", "--allow-file-access-from-files"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


WIDTHS = (1400, 420)
"""A desktop and a phone: the page must fit both without scrolling sideways."""
TALLEST_SHOT = 16_000  # CSS pixels: Chromium's largest capture


def _loaded_images(driver) -> list:
    driver.set_script_timeout(60)
    return driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const all = [...document.images];
        Promise.all(all.map(i => i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; })))
          .then(() => done(all.map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight])));
        """
    )


OVERLAPS = """
// every visible text box (one per line of each text node), then each pair of boxes from different text nodes that
// share more than 2 CSS pixels both ways
const boxes = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let node, id = 0;
while ((node = walker.nextNode())) {
  const text = node.textContent.trim();
  if (!text) continue;
  const element = node.parentElement, style = getComputedStyle(element);
  if (style.visibility !== 'visible' || style.display === 'none' || Number(style.opacity) === 0) continue;
  const range = document.createRange();
  range.selectNodeContents(node);
  for (const r of range.getClientRects()) {
    if (r.width < 1 || r.height < 1) continue;
    boxes.push({id, l: r.left + scrollX, t: r.top + scrollY, r: r.right + scrollX, b: r.bottom + scrollY,
                text: text.slice(0, 50)});
  }
  id++;
}
boxes.sort((a, b) => a.t - b.t);
const found = [];
for (let i = 0; i < boxes.length; i++) {
  for (let j = i + 1; j < boxes.length && boxes[j].t < boxes[i].b; j++) {
    const a = boxes[i], c = boxes[j];
    if (a.id === c.id) continue;
    const across = Math.min(a.r, c.r) - Math.max(a.l, c.l), down = Math.min(a.b, c.b) - Math.max(a.t, c.t);
    if (across > 2 && down > 2) found.push([a.text, c.text, Math.round(across), Math.round(down)]);
  }
}
return [boxes.length, found];
"""


def check_page(driver, page: Path, width: int, shot: Path) -> dict:
    """``page`` opened at ``width`` CSS pixels (a phone below 600: mobile emulation, so the viewport tag counts): every
    image loads, the page does not scroll sideways, no two visible text boxes overlap, no console error, no request
    leaves the report's folder.  A screenshot of the page (its first 16,000 pixels) goes to ``shot``."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        driver.get(page.resolve().as_uri())
        images = _loaded_images(driver)
        broken = [src for src, w, h in images if w == 0 or h == 0]
        assert not broken, f"images that did not load at {width} px: {broken}"
        sizes = driver.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth, window.innerWidth,"
            " Math.max(...[...document.querySelectorAll('figure img')].map(i => i.getBoundingClientRect().right), 0)]")
        scroll_width, client_width, inner_width, widest_figure = sizes
        # the viewport tag: a phone lays the page out at its own width (less a desktop's scroll bar); content wider
        # than that makes a phone zoom out to it
        assert inner_width == width, f"the page scrolls sideways at {width} px: a phone zooms out to {inner_width} px"
        assert width - 20 <= client_width <= width, sizes
        assert scroll_width <= client_width, f"the page scrolls sideways at {width} px: {scroll_width} > {client_width}"
        assert widest_figure <= client_width, f"a figure leaves the screen at {width} px"
        count, overlaps = driver.execute_script(OVERLAPS)
        assert count > 200 and not overlaps, f"text boxes that overlap at {width} px: {overlaps[:5]}"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        requested = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".concat(performance.getEntriesByType('navigation').map(e => e.name))")
        folder = page.resolve().parent.as_uri() + "/"
        outside = [url for url in requested if not url.startswith(folder)]
        assert not outside, f"requests outside the report: {outside}"
        height = min(int(driver.execute_script("return document.documentElement.scrollHeight")), TALLEST_SHOT)
        picture = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        shot.parent.mkdir(exist_ok=True)
        write_with(shot, lambda tmp: Path(tmp).write_bytes(base64.b64decode(picture["data"])))
        table = driver.execute_script(
            "const t = document.querySelector('#verdicts'); return t && [t.scrollWidth, t.clientWidth]")
        return {"images": len(images), "verdicts": table}
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_report_renders_in_chromium(tmp_path: Path, airfoil_path: Path) -> None:
    """The default report (20 seeds) at a desktop's and a phone's width."""
    out = tmp_path / "report"
    assert main(["reproduce", "--out", str(out), "--data", str(airfoil_path), "--seeds", "20"]) == 0
    driver = _browser()
    try:
        seen = {width: check_page(driver, out / "index.html", width, ARTIFACTS / f"report-{width}.png")
                for width in WIDTHS}
        assert seen[1400]["images"] == seen[420]["images"] == 10
        scroll, box = seen[420]["verdicts"]
        assert scroll > box  # at 420 px the verdict table scrolls inside its own box, not the page
        assert "19 match" in driver.find_element("css selector", ".badges").text
        command = driver.find_element("css selector", "#command").text
        assert command == f"descentlab reproduce --out {out} --seeds 20 --data {airfoil_path}"
        _refresh_excerpt(driver, ARTIFACTS / "report-excerpt.png")
        _refresh_excerpt(driver, ARTIFACTS / "report-phone.png", PHONE_EXCERPT)
    finally:
        driver.quit()


@pytest.mark.slow  # (make test-all, CI)
def test_report_with_exercises_and_schedules_renders_in_chromium(tmp_path: Path, airfoil_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["reproduce", "--exercises", "--schedules", "--out", str(out), "--data", str(airfoil_path),
                 "--seeds", "20"]) in (0, 1)
    driver = _browser()
    try:
        for width in WIDTHS:
            seen = check_page(driver, out / "index.html", width, ARTIFACTS / f"report-exercises-{width}.png")
            assert seen["images"] == 26
    finally:
        driver.quit()


def test_report_without_data_says_so_in_chromium(tmp_path: Path, monkeypatch) -> None:
    """Without the data the header does not claim seeds per airfoil run, nor the section times an airfoil time; and
    "How to reproduce" names the command that wrote this report."""
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    out = tmp_path / "offline"
    assert main(["reproduce", "--out", str(out), "--no-download", "--seeds", "3", "--schedules"]) == 3
    driver = _browser()
    try:
        for width in WIDTHS:
            check_page(driver, out / "index.html", width, ARTIFACTS / f"report-offline-{width}.png")
        header = driver.find_element("css selector", ".sub").text
        assert "seeds per airfoil run" not in header and "airfoil section did not run" in header
        times = driver.find_element("xpath", "//h2[.='How to reproduce']/following-sibling::p[2]").text
        assert "airfoil" not in times and "2D: the notes' seven runs" in times
        assert driver.find_element("css selector", "#command").text == (
            f"descentlab reproduce --out {out} --seeds 3 --no-download --schedules")
    finally:
        driver.quit()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _refresh_excerpt(driver, path: Path, size: tuple[int, int] = EXCERPT) -> None:
    """The top of the page at ``size`` CSS pixels (default 1200 x 800; a width below 600 as a phone), written
    atomically onto ``path`` (the README and docs/chapter.md show them).

    Reduced to 64 colours with Pillow (matplotlib's own image library, so always installed): text stays sharp
    and the file is about 60 kB instead of 150 kB.
    """
    from PIL import Image

    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    try:
        driver.execute_script("window.scrollTo(0, 0); document.documentElement.style.overflow = 'hidden'")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    finally:
        driver.execute_script("document.documentElement.style.overflow = ''")
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    assert image.size == size
    path.parent.mkdir(exist_ok=True)
    started = time.time()
    write_with(path, lambda tmp: image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(tmp, format="PNG",
                                                                                              optimize=True))
    data = path.read_bytes()
    assert _png_size(data) == size and path.stat().st_mtime >= started - 1
    assert len(data) <= EXCERPT_MAX_BYTES, f"the excerpt is {len(data)} bytes"


def _font_files(family: str) -> list[str]:
    """The files fontconfig gives for ``family`` (every style: the page uses regular and bold)."""
    import subprocess

    listed = subprocess.run(["fc-list", f"{family}", "file"], capture_output=True, text=True, check=True).stdout
    return sorted({line.split(":")[0].strip() for line in listed.splitlines() if line.strip()})


def _coverage(files: list[str]) -> set[int]:
    """Every code point some font of ``files`` (a .ttc holds several) has a glyph for."""
    from fontTools.ttLib import TTCollection, TTFont

    points: set[int] = set()
    for file in files:
        fonts = TTCollection(file).fonts if file.lower().endswith(".ttc") else [TTFont(file)]
        for font in fonts:
            points.update(font.getBestCmap() or {})
    return points


@pytest.mark.slow  # (make test-all, CI)
def test_chinese_report_draws_every_character_in_chromium(tmp_path: Path, airfoil_path: Path, cjk_font: str) -> None:
    """The zh report's text is drawn by fonts that have every one of its characters (no tofu boxes).

    Chromium names the fonts it used for each element (DevTools' CSS.getPlatformFontsForNode); each
    character of the page must be in one of those fonts' character maps.
    """
    out = tmp_path / "report"
    assert main(["reproduce", "--lang", "zh", "--exercises", "--schedules", "--out", str(out),
                 "--data", str(airfoil_path), "--seeds", "20"]) == 0
    driver = _browser()
    try:
        driver.get((out / "index.html").resolve().as_uri())
        text = driver.execute_script("return document.body.innerText")
        assert "动量法" in text and "学习率" in text
        driver.execute_cdp_cmd("DOM.enable", {})
        driver.execute_cdp_cmd("CSS.enable", {})
        root = driver.execute_cdp_cmd("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        nodes = driver.execute_cdp_cmd("DOM.querySelectorAll", {"nodeId": root, "selector": "body *"})["nodeIds"]
        families: set[str] = set()
        for node in nodes:
            fonts = driver.execute_cdp_cmd("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
            families.update(font["familyName"] for font in fonts if font["glyphCount"])
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        assert driver.execute_script("return document.documentElement.scrollHeight") > 10_000
        for width in WIDTHS:
            assert check_page(driver, out / "index.html", width, ARTIFACTS / f"report-zh-{width}.png")["images"] == 26
        _refresh_excerpt(driver, ARTIFACTS / "report-zh.png")
    finally:
        driver.quit()
    assert any("CJK" in family or "Hei" in family or "Han" in family for family in families), families
    covered = _coverage([file for family in families for file in _font_files(family)])
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in covered})
    assert not missing, f"characters no font Chromium used can draw: {missing} (fonts: {sorted(families)})"


def test_the_page_checks_find_overlaps_sideways_scroll_and_requests(tmp_path: Path) -> None:
    """The same checks fail on a page that scrolls sideways, one with two texts on each other, one that asks the
    network."""
    pages = {
        "wide": "<div style='width:900px'>a line of text that is wider than a phone</div>",
        "overlap": "<p style='position:absolute;top:10px;left:10px'>first words</p>"
                   "<p style='position:absolute;top:14px;left:20px'>second words</p>",
        "request": "<img src='https://example.invalid/x.png' alt=''>",
    }
    head = "<!doctype html><html><head><meta name=viewport content='width=device-width,initial-scale=1'></head><body>"
    filler = "".join(f"<p>filler {i}</p>" for i in range(210))  # the check wants a page of text
    driver = _browser()
    try:
        for name, body in pages.items():
            page = tmp_path / f"{name}.html"
            page.write_text(head + body + filler + "</body></html>", encoding="utf-8")
            with pytest.raises(AssertionError) as failed:
                check_page(driver, page, 420, tmp_path / f"{name}.png")
            expected = {"wide": "scrolls sideways", "overlap": "overlap", "request": "did not load|requests outside"}
            assert any(word in str(failed.value) for word in expected[name].split("|")), (name, str(failed.value))
    finally:
        driver.quit()
