"""The benchmark page as a person sees it: headless Chromium at a desktop (1400 px) and a phone (420 px) width.

At each width: the page honours the phone's width (a viewport tag), never scrolls sideways (wide tables scroll
inside themselves), no two visible pieces of text overlap (measured from their boxes), every figure loads, the
console stays clean and nothing is fetched from the network.  Full-page screenshots go to
``test-artifacts/benchmark-{1400,420}.png`` (an ignored folder; nothing in ``docs/`` is written).

Needs Debian's ``chromium`` and ``chromium-driver`` (as ``tests/test_report_browser.py``) and scikit-learn.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import pytest

from descentlab.cli import main

pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[1]

WIDTHS = (1400, 420)

TEXT_BOXES = """
// one box per line of every visible text node (viewport coordinates), clipped to its scrolling ancestors
const boxes = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
let index = 0;
while (walker.nextNode()) {
  const node = walker.currentNode;
  index += 1;
  if (!node.textContent.trim()) continue;
  const element = node.parentElement;
  const style = getComputedStyle(element);
  if (style.visibility !== 'visible' || style.display === 'none') continue;
  let clip = [-1e9, -1e9, 1e9, 1e9];
  for (let a = element; a && a !== document.documentElement; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
      const r = a.getBoundingClientRect();
      clip = [Math.max(clip[0], r.left), Math.max(clip[1], r.top), Math.min(clip[2], r.right), Math.min(clip[3], r.bottom)];
    }
  }
  const range = document.createRange();
  range.selectNodeContents(node);
  for (const r of range.getClientRects()) {
    const box = [Math.max(r.left, clip[0]), Math.max(r.top, clip[1]), Math.min(r.right, clip[2]), Math.min(r.bottom, clip[3])];
    if (box[2] - box[0] > 0.5 && box[3] - box[1] > 0.5)
      boxes.push({node: index, text: node.textContent.trim().slice(0, 50), box: box});
  }
}
return boxes;
"""

IMAGES = """
const done = arguments[arguments.length - 1];
const all = [...document.images];
Promise.all(all.map(i => i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; })))
  .then(() => done(all.map(i => [i.getAttribute('src'), i.naturalWidth, i.getBoundingClientRect().width])));
"""


def overlaps(boxes: list[dict], tolerance: float = 1.5) -> list[tuple[str, str]]:
    """Pairs of text boxes from different text nodes that overlap by more than ``tolerance`` px both ways."""
    found = []
    ordered = sorted(boxes, key=lambda b: b["box"][1])
    for i, a in enumerate(ordered):
        ax0, _, ax1, ay1 = a["box"]
        for b in ordered[i + 1:]:
            bx0, by0, bx1, _ = b["box"]
            if by0 >= ay1 - tolerance:
                break  # sorted by top: no later box reaches up into a
            if a["node"] != b["node"] and min(ax1, bx1) - max(ax0, bx0) > tolerance:
                found.append((a["text"], b["text"]))
    return found


def test_overlap_finder_finds_overlaps_and_passes_neighbours() -> None:
    a = {"node": 1, "text": "a", "box": [0, 0, 50, 20]}
    beside = {"node": 2, "text": "b", "box": [50, 0, 90, 20]}  # touching on the same line
    below = {"node": 3, "text": "c", "box": [0, 21, 50, 40]}
    across = {"node": 4, "text": "d", "box": [40, 10, 80, 30]}
    assert overlaps([a, beside, below]) == []
    assert set(overlaps([a, beside, below, across])) == {("a", "d"), ("b", "d"), ("d", "c")}


def _network_requests(driver) -> list[str]:
    """URLs of every request Chromium sent that is not a file: or data: URL (from its DevTools log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if not u.startswith(("file:", "data:"))]


def _browser():
    """Headless Chromium (the setup of tests/test_report_browser.py) that also logs its network requests."""
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        if os.environ.get("CI"):
            pytest.fail("CI must install Debian's chromium and chromium-driver (see .ci/run)")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,900", "--allow-file-access-from-files", "--hide-scrollbars"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)


def check_page(index: Path, shots: str) -> dict[int, dict]:
    """Open ``index`` at each of WIDTHS, assert what a reader needs, save ``test-artifacts/{shots}-WIDTH.png``."""
    driver = _browser()
    seen: dict[int, dict] = {}
    try:
        for width in WIDTHS:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
            driver.get(index.resolve().as_uri())
            driver.set_script_timeout(30)
            images = driver.execute_async_script(IMAGES)
            broken = [src for src, natural, _ in images if natural == 0]
            assert images and not broken, f"images that did not load at {width} px: {broken}"
            layout = driver.execute_script("return [window.innerWidth, document.documentElement.scrollWidth,"
                                           " document.documentElement.clientWidth]")
            inner, scroll_width, client_width = layout
            assert inner == width, f"the page is laid out {inner} px wide on a {width} px screen (no viewport tag?)"
            assert scroll_width <= client_width, f"the page scrolls sideways at {width} px: {scroll_width} > {client_width}"
            narrow = [src for src, _, shown in images if shown > client_width]
            assert not narrow, f"figures wider than the screen at {width} px: {narrow}"
            boxes = driver.execute_script(TEXT_BOXES)
            assert len(boxes) > 100
            bad = overlaps(boxes)
            assert not bad, f"overlapping text at {width} px: {bad[:5]}"
            errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR", "WARNING")]
            assert not errors, errors
            requests = _network_requests(driver)
            assert not requests, f"network requests: {requests}"
            height = driver.execute_script("return document.documentElement.scrollHeight")
            shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": min(int(height), 16000), "scale": 1}})
            artifacts = REPO / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            (artifacts / f"{shots}-{width}.png").write_bytes(base64.b64decode(shot["data"]))
            seen[width] = {"images": images, "text": driver.execute_script("return document.body.innerText")}
    finally:
        driver.quit()
    return seen


@pytest.fixture(scope="module")
def small_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny real run written as the command writes it: two problems (a data set and a 2-D function) at 40 steps,
    four optimizers, 4 trials, 3 seeds."""
    from descentlab.benchmark.engine import cached_problem
    from descentlab.benchmark.problems import DEFAULT_BUDGETS, Budget
    from descentlab.benchmark.protocol import Protocol, run_benchmark
    from descentlab.benchmark.report import write_benchmark
    from descentlab.benchmark.spaces import resolve

    budgets = {name: Budget(40, DEFAULT_BUDGETS[name].batch_size, 10, DEFAULT_BUDGETS[name].target)
               for name in ("wine", "rosenbrock")}
    problems = [(cached_problem(name, budget, None), budget, None) for name, budget in budgets.items()]
    optimizers = [resolve(name) for name in ("sgd", "momentum", "adam", "yogi")]
    bm = run_benchmark(problems, optimizers, Protocol(trials=4, seeds=3))
    return write_benchmark(bm, tmp_path_factory.mktemp("bench") / "report")


def test_the_benchmark_page_reads_at_desktop_and_phone_widths(small_page: Path) -> None:
    seen = check_page(small_page, "benchmark-small")
    text = seen[420]["text"]
    assert "Protocol" in text and "Tuning." in text and "Re-run." in text  # the protocol is page text
    assert "1000 train" not in text and "2 parameters, no data set" in text  # rosenbrock is a function
    # every figure fits the phone's width
    assert all(shown <= 420 for _, _, shown in seen[420]["images"])


@pytest.mark.slow  # the whole --quick suite (seven optimizers, three problems) run first
def test_the_quick_benchmark_page_reads_at_desktop_and_phone_widths(tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["benchmark", "--quick", "--out", str(out)]) == 0
    check_page(out / "index.html", "benchmark")
