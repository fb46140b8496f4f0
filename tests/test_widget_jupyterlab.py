"""The explorer widget inside a real JupyterLab, in headless Chromium.

Starts ``jupyter lab`` on a notebook that shows ``descentlab.explore.widget``, runs
it, and checks what a person sees: the explorer drawn whole in its output cell
(no scrollbar inside the output), a slider moved with the arrow keys redraws the
path and updates the widget's ``hash`` in the kernel, those arrow keys do not
move JupyterLab's cell selection, and the layout follows the cell's width (the
page's two columns in a wide cell, one in a narrow one, the canvases redrawn to it).  Needs jupyterlab, anywidget and ipykernel (the
``jupyter`` extra; CI installs them from requirements-ci.txt) and Debian's
chromium: skipped without them, except in CI, where missing ones fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from test_report_browser import _browser

pytestmark = pytest.mark.slow

SRC = Path(__file__).resolve().parents[1] / "src"
NEEDED = ("jupyterlab", "anywidget", "ipykernel", "nbformat")


def _require() -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {', '.join(missing)} (requirements-ci.txt)")
        pytest.skip(f"needs {', '.join(missing)}: pip install -r requirements-ci.txt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CELLS = [
    "import descentlab.explore as explore\nw = explore.widget(['notes'])\nw",
    "print('hash:', w.hash)",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    _require()
    import nbformat.v4 as v4
    import nbformat

    home = tmp_path_factory.mktemp("lab")
    notebook = v4.new_notebook(cells=[v4.new_code_cell(c) for c in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, home / "explore.ipynb")
    news = home / ".settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}', encoding="utf-8")  # no news toast over the screenshots
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               JUPYTER_CONFIG_DIR=str(home / ".config"), JUPYTER_RUNTIME_DIR=str(home / ".runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / ".settings"), JUPYTERLAB_WORKSPACES_DIR=str(home / ".workspaces"),
               IPYTHONDIR=str(home / ".ipython"))
    log = open(home / "lab.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={home}", "--LabApp.expose_app_in_browser=True",
         "--allow-root"],  # CI runs as root
        cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(240):
            if server.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("jupyter lab did not start: " + (home / "lab.log").read_text()[-2000:])
        yield f"{base}/lab/tree/explore.ipynb?token={token}", home
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _wait(driver, script: str, what: str, seconds: float = 120.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; browser log: {driver.get_log('browser')[-5:]}")


BOX = "return document.querySelector('.descentlab-explore')"

LAYOUT = """
    const box = document.querySelector('.descentlab-explore');
    const root = box.shadowRoot.getElementById('explorer');
    const output = box.closest('.jp-OutputArea-output');
    const edge = output.getBoundingClientRect().right;
    const controls = root.querySelector('.dlx-controls').getBoundingClientRect();
    const views = root.querySelector('.dlx-views').getBoundingClientRect();
    const canvases = [...root.querySelectorAll('canvas')].map((c) => c.getBoundingClientRect());
    return {width: root.clientWidth, draws: box.explore.draws,
            columns: getComputedStyle(root.querySelector('.dlx')).gridTemplateColumns.split(' ').length,
            sideBySide: views.left >= controls.right - 1 && views.top < controls.bottom,
            canvasRight: Math.max(...canvases.map((r) => r.right)) - edge,
            paths: canvases[0].width, overflow: [root.scrollWidth - root.clientWidth, output.scrollWidth - output.clientWidth]};
"""


def test_the_widget_renders_whole_in_jupyterlab_and_a_slider_moves_the_path(lab) -> None:
    url, home = lab
    driver = _browser()
    try:
        driver.set_window_size(1400, 1000)
        driver.get(url)
        _wait(driver, "return !!(window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell'))",
              "the notebook to open")
        _wait(driver, "const k = window.jupyterapp.shell.currentWidget?.sessionContext?.session?.kernel;"
                      "return !!k && k.status === 'idle'", "the kernel")
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        _wait(driver, "const b = document.querySelector('.descentlab-explore');"
                      "return !!(b && b.explore && b.explore.ready)", "the explorer widget to draw", 180)
        assert driver.execute_script(BOX + ".getBoundingClientRect().height") > 1000  # the page, not a stub

        # full height: neither the output area nor any box around the widget scrolls
        scrolling = driver.execute_script("""
            const box = document.querySelector('.descentlab-explore');
            const found = [];
            for (let node = box; node && !node.classList.contains('jp-Cell'); node = node.parentElement) {
              if (node.scrollHeight > node.clientHeight + 1) found.push([node.className, node.scrollHeight, node.clientHeight]);
            }
            const output = box.closest('.jp-OutputArea-output');
            return {found, output: output && [output.scrollHeight, output.clientHeight]};
        """)
        assert scrolling["output"] is not None
        assert scrolling["output"][0] <= scrolling["output"][1] + 1, scrolling
        assert scrolling["found"] == [], scrolling

        # the arrow keys move the slider and the path, not JupyterLab's cell selection
        host = driver.find_element("css selector", ".descentlab-explore")
        slider = host.shadow_root.find_element("css selector", "#slot0-lr")
        paths = "return document.querySelector('.descentlab-explore').shadowRoot.getElementById('view-paths').toDataURL()"
        state = "return document.querySelector('.descentlab-explore').explore.hash()"
        before_path, before_state = driver.execute_script(paths), driver.execute_script(state)
        driver.execute_script("arguments[0].focus()", slider)
        active = "return window.jupyterapp.shell.currentWidget.content.activeCellIndex"
        cell_before = driver.execute_script(active)
        slider.send_keys("\ue014")  # ArrowRight
        _wait(driver, f"return document.querySelector('.descentlab-explore').explore.hash() !== {json.dumps(before_state)}",
              "the explorer's state to change")
        assert driver.execute_script(paths) != before_path
        assert driver.execute_script(active) == cell_before
        moved = driver.execute_script(state)
        assert "lr=" in moved and moved != before_state

        # the state reached the kernel: run the second cell, which prints w.hash
        driver.execute_script("""
            const panel = window.jupyterapp.shell.currentWidget;
            panel.content.activeCellIndex = 1;
            window.jupyterapp.commands.execute('notebook:run-cell');
        """)
        printed = _wait(driver, """
            const cells = document.querySelectorAll('.jp-Notebook .jp-CodeCell');
            const out = cells[1] && cells[1].querySelector('.jp-OutputArea-output');
            return out && out.textContent.includes('hash:') ? out.textContent : null;
        """, "the kernel's w.hash")
        assert printed.strip() == f"hash: {moved}"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "descentlab" in e["message"]]
        assert errors == []
        out = Path(__file__).resolve().parents[1] / "test-artifacts"
        out.mkdir(exist_ok=True)
        driver.execute_script(BOX + ".scrollIntoView()")
        driver.save_screenshot(str(out / "explore-jupyterlab.png"))

        # the page's layout in the cell: two columns in a wide cell; one in a narrow cell, canvases redrawn to it
        wide = driver.execute_script(LAYOUT)
        assert wide["width"] > 900 and wide["columns"] == 2 and wide["sideBySide"], wide
        assert wide["canvasRight"] <= 1 and wide["overflow"] == [0, 0], wide
        driver.set_window_size(800, 1000)
        _wait(driver, f"const b = document.querySelector('.descentlab-explore');"
                      f"return b.shadowRoot.getElementById('explorer').clientWidth < 900 && b.explore.draws > {wide['draws']}",
              "the explorer to redraw at the narrower width", 30)
        time.sleep(0.5)  # the last redraw of the resize
        narrow = driver.execute_script(LAYOUT)
        assert narrow["columns"] == 1 and not narrow["sideBySide"], narrow
        assert narrow["paths"] < wide["paths"] and narrow["canvasRight"] <= 1 and narrow["overflow"] == [0, 0], narrow
        driver.execute_script(BOX + ".shadowRoot.getElementById('view-paths').scrollIntoView()")
        driver.save_screenshot(str(out / "explore-jupyterlab-narrow.png"))
    finally:
        driver.quit()
