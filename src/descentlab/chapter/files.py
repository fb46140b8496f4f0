"""The files a chapter report consists of; light to import, so the CLI checks ``--out`` before loading torch."""

from __future__ import annotations

from pathlib import Path

from ..files import check_directory

EXPLORER = "explore.html"
"""The explorer page beside the report (see :func:`descentlab.explore.notes_page`)."""

REPORT_FILES = ("index.html", "results.json", "results.csv", "figures", EXPLORER)


def check_destination(out_dir: Path) -> None:
    """Fail early, with a ``ValueError``, unless ``out_dir`` can receive a report (new, empty, or a previous report)."""
    check_directory(out_dir, REPORT_FILES)
