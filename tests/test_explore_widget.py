"""``descentlab.explore.widget``: the page's module as a Jupyter widget, the grids held once, the fallback frame.

The widget's behaviour in a real JupyterLab is ``tests/test_widget_jupyterlab.py``;
here: what the kernel side sends (one shared source per data and language, the
page's own module, a fallback page stored once) and, in Chromium, that the
fallback frame takes the page's whole height.  Needs anywidget (the ``jupyter``
extra): skipped without it, except in CI.
"""

from __future__ import annotations

import html
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
        time.sleep(0.3)  # the last height the page posted
        driver.switch_to.frame(frame)
        inner = driver.execute_script("return [document.documentElement.scrollHeight, window.innerHeight]")
        driver.switch_to.default_content()
        height = driver.execute_script("return arguments[0].getBoundingClientRect().height", frame)
        assert height != FRAME_HEIGHT and inner[0] <= inner[1] + 1, (height, inner)  # no scrollbar in the frame
        assert abs(height - inner[0]) <= 2
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
