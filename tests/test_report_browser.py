"""The report as a person sees it: opened in headless Chromium, every image loads, no console error.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). A
full-page screenshot is saved to ``test-artifacts/report.png``, and the top of the
page (1200 x 800 CSS pixels) to ``test-artifacts/report-excerpt.png``: ``make
screenshots`` copies it to ``docs/``, the README's image (the tests never write there).
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
EXCERPT_MAX_BYTES = 150_000

REPO = Path(__file__).resolve().parents[1]
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


def test_report_renders_in_chromium(tmp_path: Path, airfoil_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["reproduce", "--out", str(out), "--data", str(airfoil_path), "--seeds", "20"]) == 0
    driver = _browser()
    try:
        driver.get((out / "index.html").resolve().as_uri())
        driver.set_script_timeout(30)
        images = driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const all = [...document.images];
            Promise.all(all.map(i => i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; })))
              .then(() => done(all.map(i => [i.getAttribute('src'), i.naturalWidth, i.naturalHeight])));
            """
        )
        assert len(images) == 10
        broken = [src for src, width, height in images if width == 0 or height == 0]
        assert not broken, f"images that did not load: {broken}"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert not errors, errors
        assert "19 match" in driver.find_element("css selector", ".badges").text
        _refresh_excerpt(driver, REPO / "test-artifacts" / "report-excerpt.png")
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 100, 16000))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "report.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.quit()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def _refresh_excerpt(driver, path: Path) -> None:
    """The top of the page at 1200 CSS pixels wide, written atomically onto ``path`` (the README shows it).

    Reduced to 64 colours with Pillow (matplotlib's own image library, so always installed): text stays sharp
    and the file is about 60 kB instead of 150 kB.
    """
    from PIL import Image

    width, height = EXCERPT
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.execute_script("window.scrollTo(0, 0); document.documentElement.style.overflow = 'hidden'")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    finally:
        driver.execute_script("document.documentElement.style.overflow = ''")
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    image = Image.open(io.BytesIO(base64.b64decode(shot["data"]))).convert("RGB")
    assert image.size == EXCERPT
    path.parent.mkdir(exist_ok=True)
    started = time.time()
    write_with(path, lambda tmp: image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(tmp, format="PNG",
                                                                                              optimize=True))
    data = path.read_bytes()
    assert _png_size(data) == EXCERPT and path.stat().st_mtime >= started - 1
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
        _refresh_excerpt(driver, REPO / "test-artifacts" / "report-zh.png")
    finally:
        driver.quit()
    assert any("CJK" in family or "Hei" in family or "Han" in family for family in families), families
    covered = _coverage([file for family in families for file in _font_files(family)])
    missing = sorted({ch for ch in text if not ch.isspace() and ord(ch) not in covered})
    assert not missing, f"characters no font Chromium used can draw: {missing} (fonts: {sorted(families)})"
