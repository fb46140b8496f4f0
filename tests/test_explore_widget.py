"""``descentlab.explore.widget``: the page's module as a Jupyter widget, the grids held once, the fallback frame.

The widget's behaviour in a real JupyterLab is ``tests/test_widget_jupyterlab.py``;
here: what the kernel side sends (one shared source per data and language, the
page's own module, a fallback page stored once) and, in Chromium, that the
fallback frame takes the page's whole height and that ``mount`` in a shadow root
(the widget's way) lays out by its element's width and, with no host, keeps no hash.  Needs anywidget (the ``jupyter``
extra): skipped without it, except in CI.
"""

from __future__ import annotations

import html
import json
import importlib.util
import os
import re
import time
from pathlib import Path

import pytest

from descentlab import explore
from descentlab.explore import embedded_data, page_hash
from descentlab.explore.page import FRAME_HEIGHT
from descentlab.lang import ZH

from test_report_browser import _browser


@pytest.fixture(scope="module")
def jupyter():
    if importlib.util.find_spec("anywidget") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install anywidget (requirements-ci.txt)")
        pytest.skip("needs anywidget: pip install 'descentlab[jupyter]'")
    from descentlab.explore import jupyter

    return jupyter


@pytest.fixture(scope="module")
def notes_data():
    return explore.build(["notes"])


def test_widgets_of_the_same_data_share_one_source(jupyter, notes_data) -> None:
    first = jupyter.widget(notes_data)
    second = jupyter.widget(notes_data)
    chinese = jupyter.widget(notes_data, ZH)
    assert first.source is second.source and chinese.source is not first.source
    assert first.source.model_id == second.source.model_id
    state = first.get_state()
    assert state["source"] == f"IPY_MODEL_{first.source.model_id}"  # a reference, not the data again
    assert len(first.source.data) > 1_000_000 and "data" not in state
    assert embedded_data(f'<script type="application/json" id="explore-data">{first.source.data}</script>') \
        == embedded_data(explore.render(notes_data))  # the same payload as the page's
    assert chinese.source.lang == "zh" and "descentlab explore" in chinese.source.body


def test_the_widget_runs_the_pages_own_module(jupyter) -> None:
    module = jupyter.module_source()
    page = (Path(explore.__file__).parent / "page.js").read_text(encoding="utf-8")
    assert module.startswith(page)  # page.js itself, then the widget's render
    assert "export function mount(root, DATA, S, host)" in module and "export default { render }" in module
    css = jupyter.shadow_css((Path(explore.__file__).parent / "page.css").read_text(encoding="utf-8"))
    assert not re.search(r"(?<![\w.#-])body\b", css) and ".explore-body" in css


def test_runs_open_the_widget_on_them(jupyter) -> None:
    runs = [("adam", {"lr": 0.1}), ("yogi", {"lr": 0.1})]
    shown = explore.widget(["notes"], runs=runs)
    assert shown.hash == page_hash(runs)


def test_the_fallback_page_is_stored_with_the_first_output_only(jupyter, notes_data) -> None:
    from descentlab.explore.jupyter import _SOURCES

    _SOURCES.clear()
    first, second = jupyter.widget(notes_data), jupyter.widget(notes_data)
    always, never = jupyter.widget(notes_data, fallback=True), jupyter.widget(notes_data, fallback=False)
    bundles = [w._repr_mimebundle_()[0] for w in (first, second, always, never)]
    assert all("application/vnd.jupyter.widget-view+json" in b for b in bundles)
    page = re.search(r'srcdoc="([^"]*)"', bundles[0]["text/html"])
    assert page and embedded_data(html.unescape(page.group(1))) == embedded_data(explore.render(notes_data))
    assert len(bundles[1]["text/html"]) < 300 and "shown first" in bundles[1]["text/html"]
    assert "srcdoc" in bundles[2]["text/html"] and "text/html" not in bundles[3]


def _frame_fits_its_page(page: Path) -> None:
    """Open ``page`` in Chromium: its explorer frame grows from FRAME_HEIGHT to the page's height, no scrollbar inside."""
    driver = _browser()
    try:
        driver.set_window_size(1400, 900)
        driver.set_page_load_timeout(60)
        driver.get(page.resolve().as_uri())
        frame = driver.find_element("tag name", "iframe")
        driver.switch_to.frame(frame)
        for _ in range(400):
            if driver.execute_script("return !!(window.explore && window.explore.ready)"):
                break
            time.sleep(0.05)
        driver.switch_to.default_content()
        for _ in range(100):
            if driver.execute_script("return arguments[0].getBoundingClientRect().height", frame) != FRAME_HEIGHT:
                break
            time.sleep(0.05)
        # the page redraws to the frame's width and posts its height again: wait for the last height it posts
        for _ in range(100):
            driver.switch_to.frame(frame)
            inner = driver.execute_script("return [document.documentElement.scrollHeight, window.innerHeight]")
            driver.switch_to.default_content()
            height = driver.execute_script("return arguments[0].getBoundingClientRect().height", frame)
            if abs(height - inner[0]) <= 2:
                break
            time.sleep(0.1)
        # and it stays so: no scrollbar in the frame at two looks half a second apart (no loop of a scrollbar
        # narrowing the page, the page then growing); on a busy machine the last redraw can come after the first look
        settled = 0
        for _ in range(20):
            time.sleep(0.5)
            driver.switch_to.frame(frame)
            inner = driver.execute_script("return [document.documentElement.scrollHeight, window.innerHeight]")
            driver.switch_to.default_content()
            height = driver.execute_script("return arguments[0].getBoundingClientRect().height", frame)
            settled = settled + 1 if height != FRAME_HEIGHT and inner[0] <= inner[1] + 1 else 0
            if settled == 2:
                break
        assert settled == 2, (height, inner)  # no scrollbar in the frame
        assert abs(height - inner[0]) <= 2, (height, inner)
    finally:
        driver.quit()


@pytest.mark.slow
def test_the_fallback_frame_is_as_tall_as_its_page(explorer, tmp_path: Path) -> None:
    host = tmp_path / "shown.html"
    host.write_text(f"<!DOCTYPE html><html><body>{explorer._repr_html_()}</body></html>", encoding="utf-8")
    _frame_fits_its_page(host)


@pytest.mark.slow
def test_an_html_export_shows_the_page_once_in_a_frame(jupyter, tmp_path: Path) -> None:
    """nbconvert's HTML of a notebook with two explorers (widget state not saved, JupyterLab's default)."""
    for name in ("nbformat", "nbclient", "nbconvert", "ipykernel"):
        if importlib.util.find_spec(name) is None:
            if os.environ.get("CI"):
                pytest.fail(f"CI must install {name} (requirements-ci.txt)")
            pytest.skip(f"needs {name}")
    import nbformat.v4 as v4
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    notebook = v4.new_notebook(cells=[
        v4.new_code_cell("import descentlab.explore as explore\nexplore.widget(['notes'])"),
        v4.new_code_cell("explore.widget(['notes'], runs=[('adam', {'lr': 0.1})])"),
    ])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(notebook, timeout=300, kernel_name="python3", store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in notebook.cells for o in c.outputs]
    assert [o.output_type for o in outputs] == ["execute_result", "execute_result"]
    assert all("application/vnd.jupyter.widget-view+json" in o.data for o in outputs)
    exported, _ = HTMLExporter().from_notebook_node(notebook)
    assert exported.count("<iframe") == 1 and exported.count('id=&quot;explore-data&quot;') == 1  # the grids once
    assert "shown first in this notebook" in exported
    page = re.search(r'<iframe [^>]*srcdoc="([^"]*)"[^>]*></iframe>\s*<script>(.*?)</script>', exported, flags=re.S)
    assert page, exported[exported.index("<iframe") - 100:exported.index("<iframe") + 300]
    assert embedded_data(html.unescape(page.group(1)))["steps"] > 0
    assert "descentlabExploreHeight" in page.group(2)  # the script that sizes the frame to its page is kept
    (tmp_path / "exported.html").write_text(exported, encoding="utf-8")
    _frame_fits_its_page(tmp_path / "exported.html")


def _shadow_page(jupyter, data, tmp_path: Path) -> Path:
    """A page that mounts two explorers the widget's way (page.css and the body in a shadow root), with no hash kept."""
    from descentlab.explore.encode import dumps, script_safe
    from descentlab.explore.page import body_html, strings_json

    folder = Path(explore.__file__).parent
    css = jupyter.shadow_css((folder / "page.css").read_text(encoding="utf-8"))
    as_js = lambda text: script_safe(json.dumps(text))  # noqa: E731
    page = tmp_path / "shadow.html"
    page.write_text(f"""<!DOCTYPE html><html><body style="margin:0">
<div id="narrow" style="width:600px"></div><div id="wide" style="width:1300px"></div>
<script type="application/json" id="grids">{dumps(data)}</script>
<script type="application/json" id="texts">{strings_json(data)}</script>
<script type="module">
{(folder / "page.js").read_text(encoding="utf-8")}
const DATA = JSON.parse(document.getElementById("grids").textContent);
const S = JSON.parse(document.getElementById("texts").textContent);
window.mounted = ["narrow", "wide"].map((id) => {{
  const shadow = document.getElementById(id).attachShadow({{ mode: "open" }});
  const style = document.createElement("style");
  style.textContent = {as_js(css)};
  const frame = document.createElement("div");
  frame.className = "explore-body";
  frame.innerHTML = {as_js(body_html(data))};
  shadow.append(style, frame);
  return mount(frame.querySelector("#explorer"), DATA, S, null);
}});
</script></body></html>""", encoding="utf-8")
    return page


@pytest.mark.slow
def test_mount_lays_out_by_its_own_width_in_a_shadow_root_and_a_host_may_keep_no_hash(
        jupyter, notes_data, tmp_path: Path) -> None:
    driver = _browser()
    try:
        driver.set_window_size(1400, 900)
        driver.get(_shadow_page(jupyter, notes_data, tmp_path).resolve().as_uri())
        for _ in range(400):
            if driver.execute_script("return !!(window.mounted && window.mounted.every((api) => api.ready))"):
                break
            time.sleep(0.05)
        layout = """
            return ['narrow', 'wide'].map((id) => {
              const root = document.getElementById(id).shadowRoot.getElementById('explorer');
              const paths = root.querySelector('#view-paths').getBoundingClientRect();
              return {columns: getComputedStyle(root.querySelector('.dlx')).gridTemplateColumns.split(' ').length,
                      paths: paths.width, inside: paths.right <= root.getBoundingClientRect().right + 1,
                      overflow: root.scrollWidth - root.clientWidth};
            });"""
        narrow, wide = driver.execute_script(layout)
        assert (narrow["columns"], wide["columns"]) == (1, 2)  # the container query sees the element's own width
        assert narrow["inside"] and wide["inside"] and narrow["overflow"] == wide["overflow"] == 0
        assert not driver.execute_script("return 'explore' in window")  # the page's own mount: only with its data
        slider = driver.find_element("id", "narrow").shadow_root.find_element("css selector", "#slot0-lr")
        before = driver.execute_script("return window.mounted.map((api) => api.hash())")
        driver.execute_script("arguments[0].focus()", slider)
        slider.send_keys("\ue014")  # ArrowRight
        after = driver.execute_script("return window.mounted.map((api) => api.hash())")
        assert after[0] != before[0] and after[1] == before[1]  # the explorers are apart
        assert driver.execute_script("return location.hash") == ""  # a host without readHash keeps no state
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
    finally:
        driver.quit()
