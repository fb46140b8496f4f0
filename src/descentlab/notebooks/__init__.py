"""``descentlab notebooks``: the chapter as Jupyter notebooks, one per section, executed with their outputs.

:func:`build` makes a section's notebook (``nbformat``) from the cells of
:mod:`.content`; :func:`execute` runs it top to bottom in a fresh kernel
(``nbclient``); :func:`write_notebooks` does both for every section and moves
the finished directory into place as a whole (:func:`descentlab.files.write_directory`),
so a failure leaves the previous directory, or none.  ``nbformat``, ``nbclient``
and ``ipykernel`` come with the ``descentlab[jupyter]`` extra; without them
:class:`MissingJupyter` says so in one line.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..files import write_directory, write_text
from ..lang import EN, Lang
from .content import ORDER, Data, cells, filename

NEEDS = ("nbformat", "nbclient", "ipykernel")
"""The packages building and executing the notebooks needs (the ``jupyter`` extra)."""

CELL_TIMEOUT = 600
"""Seconds one cell may run before the execution stops with an error."""


class MissingJupyter(RuntimeError):
    """A package the notebooks need is not installed (one-line message)."""


def check_installed() -> None:
    missing = [name for name in NEEDS if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingJupyter(f"the notebooks need {', '.join(missing)}: pip install 'descentlab[jupyter]'")


def names() -> list[str]:
    """The notebooks' file names, in the chapter's order."""
    return [filename(index, key) for index, key in enumerate(ORDER, start=1)]


def build(key: str, say: Lang = EN, data: Data = Data(None, "not looked for")) -> Any:
    """The section's notebook (an ``nbformat`` node), not executed."""
    import nbformat.v4 as v4

    made = [v4.new_markdown_cell(text) if kind == "markdown" else v4.new_code_cell(text) for kind, text in cells(key, say, data)]
    for index, cell in enumerate(made):
        cell["id"] = f"{key}-{index}"  # stable ids: a rebuilt notebook differs only where its outputs do
    notebook = v4.new_notebook(cells=made)
    notebook.metadata.update({
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "descentlab": {"section": key, "lang": say.code},
    })
    return notebook


def execute(notebook: Any, cwd: str | os.PathLike[str], timeout: int = CELL_TIMEOUT) -> Any:
    """Run every cell of ``notebook`` in a fresh ``python3`` kernel started in ``cwd``; the outputs are stored in it.

    A cell that raises stops the run with nbclient's ``CellExecutionError``.
    """
    from nbclient import NotebookClient

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines (the cells' output is in the notebook)
    return notebook


def error_outputs(notebook: Any) -> list[str]:
    """Every error output of an executed notebook (``ename: evalue``), and every code cell left without a run."""
    found = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            found.append(f"cell {cell.get('id')}: not run")
        found += [f"cell {cell.get('id')}: {o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                  if o.get("output_type") == "error"]
    return found


def write_notebooks(out_dir: str | os.PathLike[str], say: Lang = EN, data: Data = Data(None, "not looked for"), *,
                    sections: Sequence[str] = ORDER, run: bool = True,
                    progress: Callable[[str], None] | None = None) -> list[Path]:
    """Build (and with ``run``, execute) every section's notebook into ``out_dir`` atomically; returns the paths."""
    import nbformat

    check_installed()
    unknown = [key for key in sections if key not in ORDER]
    if unknown:
        raise ValueError(f"unknown section {unknown[0]!r}; choose from: {', '.join(ORDER)}")
    chosen = [(filename(ORDER.index(key) + 1, key), key) for key in sections]

    def fill(staging: Path) -> None:
        for name, key in chosen:
            notebook = build(key, say, data)
            if run:
                execute(notebook, staging)
            write_text(staging / name, nbformat.writes(notebook) + "\n")
            if progress is not None:
                progress(name)

    out = write_directory(out_dir, set(names()) | {".ipynb_checkpoints"}, fill)
    return [out / name for name, _ in chosen]


__all__ = ["CELL_TIMEOUT", "Data", "MissingJupyter", "NEEDS", "build", "check_installed", "error_outputs", "execute",
           "names", "write_notebooks"]
