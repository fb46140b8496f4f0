"""``descentlab notebooks``: the chapter as Jupyter notebooks, run top to bottom in a fresh kernel.

The full run executes all six notebooks with the airfoil data (slow: CI runs it)
and reads them back as a reader would: no error output, every code cell run, the
notes' 2D lines reproduced beside theirs, figures drawn, the section's exercises
at the end.  Needs nbformat, nbclient and ipykernel (the ``jupyter`` extra):
skipped without them, except in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from descentlab.cli import main
from descentlab.notebooks import build, error_outputs, names
from descentlab.notebooks.content import ORDER, Data
from descentlab.lang import ZH
from descentlab.notes.reference import NOTES_TRACES

NEEDED = ("nbformat", "nbclient", "ipykernel")


@pytest.fixture(autouse=True)
def _jupyter() -> None:
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install {', '.join(missing)} (requirements-ci.txt)")
        pytest.skip(f"needs {', '.join(missing)}: pip install 'descentlab[jupyter]'")


def _read(path: Path):
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    return notebook


def _streams(notebook) -> str:
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream")


def _images(notebook) -> int:
    return sum("image/png" in o.get("data", {}) for c in notebook.cells if c.cell_type == "code" for o in c.outputs)


@pytest.mark.slow
def test_every_notebook_runs_top_to_bottom_with_the_data(tmp_path: Path, airfoil_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "notebooks"
    assert main(["notebooks", "--out", str(out), "--data", str(airfoil_path)]) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(names())
    assert f"wrote {len(ORDER)} notebooks" in printed
    seen_lines = set()
    for name in names():
        notebook = _read(out / name)
        assert error_outputs(notebook) == [], name
        assert _images(notebook) >= 2, name  # the section's figures were drawn
        headings = [c.source.splitlines()[0] for c in notebook.cells if c.cell_type == "markdown"]
        exercises = headings.index("## Exercises")
        assert exercises > 0 and len(headings) > exercises + 1, name  # it ends with the exercises
        text = _streams(notebook)
        assert "No airfoil data" not in "".join(c.source for c in notebook.cells)
        for line in re.findall(r"^(epoch 20, .*?)\s+notes: (epoch 20, .*)$", text, flags=re.M):
            assert line[0] == line[1], name  # the notes' 2D runs, digit for digit
            seen_lines.add(line[1])
        if "momentum" in name or "adam" in name or "adagrad" in name:
            assert "sec per epoch" in text and "least-squares optimum 0.241688" in text, name
    assert seen_lines == {t.printed for t in NOTES_TRACES}  # all seven of the notes' 2D lines


@pytest.mark.slow
def test_without_data_the_notebooks_say_so_and_still_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("descentlab.airfoil.data.AIRFOIL_URL", "http://127.0.0.1:9/airfoil_self_noise.dat")
    out = tmp_path / "nb"
    assert main(["notebooks", "--out", str(out), "--section", "schedules"]) == 0
    captured = capsys.readouterr()
    assert "no airfoil data" in captured.err and captured.err.count("\n") == 1
    notebook = _read(out / "6-schedules.ipynb")
    assert error_outputs(notebook) == []
    sources = "".join(c.source for c in notebook.cells)
    assert "No airfoil data" in sources and "schedule_section(" not in sources
    assert "needs the airfoil data" in _streams(notebook)


def test_the_cells_use_the_public_api_and_each_section_ends_with_its_exercises() -> None:
    for key in ORDER:
        notebook = build(key, data=Data("/data/airfoil_self_noise.dat"))
        code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        assert "import descentlab" not in code.replace("from descentlab", "")  # only named imports
        imported = set(re.findall(r"from (descentlab[\w.]*) import", code))
        assert imported and all(not part.startswith("_") for m in imported for part in m.split("."))
        markdown = [c.source for c in notebook.cells if c.cell_type == "markdown"]
        tail = markdown[[m.splitlines()[0] for m in markdown].index("## Exercises"):]
        if key != "schedules":
            numbers = [int(n) for n in re.findall(r"^### \S+ (\d+)", "\n".join(tail), flags=re.M)]
            assert numbers == sorted(numbers) and numbers[0] == 1, key  # d2l's exercises in order
        assert "'/data/airfoil_self_noise.dat'" in code or key not in ("momentum", "schedules")


def test_the_chinese_notebooks_are_in_chinese() -> None:
    notebook = build("adam", ZH, Data(None, "not found"))
    markdown = "".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    assert "Adam算法与Yogi算法" in markdown and "练习" in markdown and "没有翼型噪声数据" in markdown
    assert "say = lang('zh')" in notebook.cells[2].source and "cjk_family" in notebook.cells[2].source


@pytest.mark.parametrize("argv, message", [
    (["--section", "nesterov"], "unknown section 'nesterov'"),
    (["--data", "/nonexistent/airfoil.dat"], "--data /nonexistent/airfoil.dat: no such file"),
])
def test_bad_input_is_one_line_and_exit_code_2(tmp_path: Path, argv: list[str], message: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["notebooks", "--out", str(tmp_path / "nb"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "nb").exists()


def test_a_directory_of_other_files_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    assert main(["notebooks", "--out", str(tmp_path), "--no-execute"]) == 2
    assert "mine.txt" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_unexecuted_notebooks_are_valid_and_replace_a_previous_run(tmp_path: Path, airfoil_path: Path) -> None:
    out = tmp_path / "nb"
    for _ in range(2):  # the second run replaces the first as a whole
        assert main(["notebooks", "--out", str(out), "--no-execute", "--data", str(airfoil_path)]) == 0
        assert sorted(p.name for p in out.iterdir()) == sorted(names())
    notebook = _read(out / "1-momentum.ipynb")
    assert all(c.get("outputs") == [] for c in notebook.cells if c.cell_type == "code")
    assert notebook.metadata["descentlab"] == {"section": "momentum", "lang": "en"}
