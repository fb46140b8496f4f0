"""The report as a person sees it: opened in headless Chromium, every image loads, no console error.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). A
full-page screenshot is saved to ``test-artifacts/report.png``.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import pytest

from descentlab.cli import main

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
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height) + 100, 16000))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        (artifacts / "report.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        driver.quit()
