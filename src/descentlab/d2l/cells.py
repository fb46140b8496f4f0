"""A notes file's code cells and what the notes show after each: a course ``.ipynb`` or a text export.

* ``.ipynb`` (nbformat 4 JSON, read with :mod:`json`): every ``code`` cell, its
  ``stream`` (stdout) and ``execute_result`` text as what the notes printed, its
  image outputs counted.
* Any other file is read as a text or Markdown export of a notebook: a line
  ``In [n]:`` opens a cell whose code is the indented block (4 spaces or a tab)
  or the fenced block (```` ``` ````) after it.  The block after the code, if any,
  is what the notes printed only when it has the *shape* of what the cell prints
  when run (see :func:`shown_output`): the same lines with numbers in the same
  places; otherwise it is the notes' prose.  Images (``![..](..)``) before the
  next cell or prose are counted as the cell's figures.
"""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_NOTES_BYTES = 32 << 20
"""A notes file larger than this is refused before it is read (a notebook with its images is a few MB)."""

_PROMPT = re.compile(r"^\s*In\s*\[\s*(\d*)\s*\]\s*:\s*$")
_IMAGE = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
_FENCE = re.compile(r"^\s*(```+|~~~+)")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class NotesError(ValueError):
    """The notes file cannot be read as notes (one-line message)."""


@dataclass(frozen=True)
class Cell:
    """One code cell: its label (``In [7]``), its source, what the notes printed after it and their figures."""

    label: str
    source: str
    shown: tuple[str, ...] | None  # .ipynb: the printed lines; text: the block after the code (judged by its shape)
    images: int
    exact: bool  # True for .ipynb, whose outputs are known to be outputs


def read_notes(path: str | Path) -> list[Cell]:
    """The code cells of ``path`` in order; :class:`NotesError` for a file that cannot be notes."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise NotesError(f"{path} is a directory; give a notes file (.ipynb or a text export)")
        if not stat.S_ISREG(mode):
            raise NotesError(f"{path} is not a regular file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_NOTES_BYTES + 1)
    except OSError as error:
        raise NotesError(f"cannot read {path}: {error.strerror or error}") from None
    if len(raw) > MAX_NOTES_BYTES:
        raise NotesError(f"{path} is larger than {MAX_NOTES_BYTES >> 20} MiB; not a notes file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotesError(f"{path} is not UTF-8 text") from None
    cells = notebook_cells(text, str(path)) if path.suffix.lower() == ".ipynb" else text_cells(text)
    if not cells:
        raise NotesError(f"{path} has no code cells (expected a .ipynb notebook, or a text export with 'In [n]:' cells)")
    return cells


def _joined(value: object) -> str:
    return "".join(value) if isinstance(value, list) else value if isinstance(value, str) else ""


def notebook_cells(text: str, name: str = "notebook") -> list[Cell]:
    """The code cells of an nbformat 4 notebook's JSON text."""
    try:
        notebook = json.loads(text)
    except ValueError as error:
        raise NotesError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        version = notebook.get("nbformat") if isinstance(notebook, dict) else None
        hint = f" (nbformat {version}; save it as nbformat 4)" if version else ""
        raise NotesError(f"{name} is not a Jupyter notebook: no list of cells{hint}")
    cells = []
    for index, cell in enumerate(notebook["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        count = cell.get("execution_count")
        label = f"In [{count}]" if isinstance(count, int) else f"cell {index}"
        printed, images = [], 0
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type")
            data = output.get("data") if isinstance(output.get("data"), dict) else {}
            if kind == "stream" and output.get("name") == "stdout":
                printed.append(_joined(output.get("text")))
            elif kind == "execute_result":
                printed.append(_joined(data.get("text/plain")) + "\n")
            if kind in ("display_data", "execute_result") and any(key.startswith("image/") for key in data):
                images += 1
        lines = "".join(printed).splitlines()
        cells.append(Cell(label, _joined(cell.get("source")), tuple(lines), images, True))
    return cells


def text_cells(text: str) -> list[Cell]:
    """The ``In [n]:`` cells of a text or Markdown export (see the module's docstring)."""
    lines = text.splitlines()
    cells, index = [], 0
    while index < len(lines):
        match = _PROMPT.match(lines[index])
        if not match:
            index += 1
            continue
        label = f"In [{match.group(1)}]" if match.group(1) else f"cell {len(cells) + 1}"
        index = _skip_blank(lines, index + 1)
        code, index = _block(lines, index)
        index = _skip_blank(lines, index)
        shown: tuple[str, ...] | None = None
        if index < len(lines) and not _PROMPT.match(lines[index]) and not _IMAGE.match(lines[index]):
            block, after = _block(lines, index, paragraph=True)
            if block:
                shown, index = tuple(block), after
        images = 0
        while True:
            index = _skip_blank(lines, index)
            if index < len(lines) and _IMAGE.match(lines[index]):
                images, index = images + 1, index + 1
            else:
                break
        if code is not None:
            cells.append(Cell(label, "\n".join(code) + "\n", shown, images, False))
    return cells


def _skip_blank(lines: Sequence[str], index: int) -> int:
    while index < len(lines) and not lines[index].strip():
        index += 1
    return index


def _indent(line: str) -> str | None:
    """The line without its block indentation (4 spaces or a tab), or None if it is not indented."""
    if line.startswith("\t"):
        return line[1:]
    if line.startswith("    "):
        return line[4:]
    return None


def _block(lines: Sequence[str], index: int, paragraph: bool = False) -> tuple[list[str] | None, int]:
    """The fenced or indented block at ``index`` (a plain paragraph too if ``paragraph``), and the index after it."""
    if index >= len(lines):
        return None, index
    fence = _FENCE.match(lines[index])
    if fence:
        body, end = [], index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence.group(1)):
            body.append(lines[end])
            end += 1
        return body, min(end + 1, len(lines))
    if _indent(lines[index]) is not None:
        body, end = [], index
        while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) is not None):
            body.append(_indent(lines[end]) or "")
            end += 1
        while body and not body[-1].strip():
            body.pop()
        return body, end
    if not paragraph:
        return None, index
    body, end = [], index
    while end < len(lines) and lines[end].strip() and not _PROMPT.match(lines[end]) and not _IMAGE.match(lines[end]):
        body.append(lines[end].strip())
        end += 1
    return body, end


def shape(line: str) -> str:
    """A printed line with every number replaced by ``#``: ``loss: #, # sec per epoch``."""
    return _NUMBER.sub("#", line.strip())


def shown_output(cell: Cell, ran: Sequence[str]) -> tuple[str, ...]:
    """What the notes printed for ``cell``, given the lines it printed when run.

    A notebook's outputs are outputs.  In a text export the block after the code
    counts only when its lines have the shapes of the lines that ran (:func:`shape`);
    otherwise it is prose and the notes show nothing printed.
    """
    if cell.shown is None:
        return ()
    if cell.exact:
        return cell.shown
    if ran and len(cell.shown) == len(ran) and all(shape(a) == shape(b) for a, b in zip(cell.shown, ran)):
        return cell.shown
    return ()


__all__ = ["MAX_NOTES_BYTES", "Cell", "NotesError", "notebook_cells", "read_notes", "shape", "shown_output", "text_cells"]
