"""Writing files atomically: a reader never sees a half-written file.

Everything is written to a temporary file in the destination's directory and
renamed into place, so an interrupted run or an error leaves either the old file
or nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def check_parent(path: Path) -> None:
    """Fail early, with a ``ValueError``, if the directory that would hold ``path`` cannot take a new entry."""
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise ValueError(f"{parent} is a file, not a directory; choose another location")
    if not parent.is_dir():
        raise ValueError(f"directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"directory {parent} is not writable; choose another location")


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a ``ValueError``, if ``path`` cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; give a file name")
    check_parent(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{path} exists and is write-protected; choose another file name")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix, so writers that pick a format
    from the suffix (matplotlib's ``savefig``) still do the right thing.
    """
    path = check_writable(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_with(path: str | os.PathLike[str], writer: Callable[[Path], object]) -> Path:
    """Call ``writer(tmp_path)`` and move the result onto ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)
