"""Atomic writes: a failing writer leaves neither the target nor a temporary file, and says why in one line."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

import pytest

from descentlab.files import WriteError, check_writable, write_text, write_with


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


# --- every way a write can fail is one WriteError naming the path --------------------------


def _no_space(tmp: Path) -> None:
    tmp.write_bytes(b"half a figure")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_a_write_error_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    target.write_bytes(b"previous")
    with pytest.raises(WriteError, match=r"cannot write .*fig\.png \(No space left on device\); nothing was written"):
        write_with(target, _no_space)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_a_failing_rename_is_a_write_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(WriteError, match="Invalid cross-device link"):
        write_text(tmp_path / "out.txt", "x")
    assert list(tmp_path.iterdir()) == []


def test_a_pipe_is_never_replaced_by_a_file(tmp_path: Path) -> None:
    fifo = tmp_path / "figure.png"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match=r"figure\.png is a named pipe \(FIFO\), not a regular file"):
        write_text(fifo, "x")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["figure.png"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_a_device_is_refused_before_any_write() -> None:
    with pytest.raises(WriteError, match=r"/dev/full is a character device, not a regular file"):
        check_writable("/dev/full")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc")
def test_a_directory_that_takes_no_files_is_refused_before_any_write() -> None:
    """root passes os.access on /proc; creating a file there still fails, and the check says so."""
    with pytest.raises(WriteError, match=r"directory /proc takes no new files \(.+\); choose another location"):
        check_writable("/proc/figure.png")


def test_a_read_only_file_system_is_refused_before_any_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_: object, **__: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(WriteError, match=r"takes no new files \(Read-only file system\)"):
        check_writable(tmp_path / "fig.png")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="is not writable"):
            write_text(locked / "x.txt", "x")
    finally:
        locked.chmod(0o755)
