"""Atomic writes: a failing writer leaves neither the target nor a temporary file."""

from __future__ import annotations

from pathlib import Path

import pytest

from descentlab.files import write_text, write_with


def test_write_text_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_text(target, "old")
    write_text(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_failing_writer_leaves_old_content_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    target.write_bytes(b"previous")

    def half_then_fail(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_with(target, half_then_fail)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist; create it first"):
        write_text(tmp_path / "nope" / "x.txt", "x")
