"""Writing files atomically: a reader never sees a half-written file.

Everything is written to a temporary file in the destination's directory and
renamed into place, so an interrupted run or an error leaves either the old file
or nothing.

Every way a write can fail — a missing directory, a parent that is a file, a
destination that is a directory or a device, a directory that takes no new files
(``/proc``, a read-only file system, no permission), a full disk — is a
:class:`WriteError`: a ``ValueError`` whose one-line message names the path and
the operating system's reason.  The command line turns it into one line on
stderr and exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Collection, Iterator
from pathlib import Path


class WriteError(ValueError):
    """A file cannot be written: the message names it and says why, on one line."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def kind_of(mode: int) -> str:
    """What an ``os.stat`` mode is, for a message: ``"a regular file"``, ``"a named pipe (FIFO)"``, ..."""
    return next((name for test, name in _KINDS if test(mode)), "a regular file")


def reason(error: OSError) -> str:
    """The operating system's reason without the errno and path decoration: ``No space left on device``."""
    return error.strerror or str(error) or type(error).__name__


def check_parent(path: Path) -> None:
    """Fail early, with a :class:`WriteError`, if the directory that would hold ``path`` cannot take a new entry.

    Permission bits do not tell (``root`` passes ``os.access`` on ``/proc``), so
    the check ends by creating and removing an empty temporary file there.
    """
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise WriteError(f"{parent} is a file, not a directory; choose another location")
    if not parent.is_dir():
        raise WriteError(f"directory {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise WriteError(f"directory {parent} is not writable; choose another location")
    try:
        fd, probe = tempfile.mkstemp(prefix=".descentlab-probe.", dir=parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise WriteError(f"directory {parent} takes no new files ({reason(error)}); choose another location") from None


def check_writable(path: str | os.PathLike[str]) -> Path:
    """Fail early, with a :class:`WriteError`, if ``path`` cannot be written."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:  # nothing there yet (or a parent is missing or a file: check_parent says which)
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise WriteError(f"{path} is a directory; give a file name")
    if mode is not None and not stat.S_ISREG(mode):  # never replace /dev/full or a pipe by a file
        raise WriteError(f"{path} is {kind_of(mode)}, not a regular file; give a file name")
    check_parent(path)
    if mode is not None and not os.access(path, os.W_OK):
        raise WriteError(f"{path} exists and is write-protected; choose another file name")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix, so writers that pick a format
    from the suffix (matplotlib's ``savefig``) still do the right thing.  An
    ``OSError`` while the block writes (a full disk, ...) or while renaming
    becomes a :class:`WriteError`; the temporary file is removed either way.
    """
    path = check_writable(path)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent)
    except OSError as error:
        raise WriteError(f"cannot write {path} ({reason(error)}); nothing was written") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as error:
        raise WriteError(f"cannot write {path} ({reason(error)}); nothing was written") from None
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


def check_directory(out_dir: Path, allowed: Collection[str]) -> None:
    """Fail early, with a ``ValueError``, unless ``out_dir`` is new, empty, or holds only names in ``allowed`` (a previous report)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory; choose another --out")
    if out_dir.is_dir():
        foreign = [p.name for p in out_dir.iterdir() if p.name not in allowed]
        if foreign:
            raise ValueError(
                f"{out_dir} holds files that are not a descentlab report ({', '.join(sorted(foreign)[:3])}); "
                "choose an empty or new directory"
            )
    check_parent(out_dir.resolve())


def write_directory(out_dir: str | os.PathLike[str], allowed: Collection[str], fill: Callable[[Path], object]) -> Path:
    """Build a directory with ``fill(staging)`` beside ``out_dir`` and move it into place as a whole.

    ``out_dir`` must pass :func:`check_directory`; a previous one is replaced only
    once the new one is complete, so a failure leaves the old directory (or none).
    """
    out_dir = Path(out_dir)
    check_directory(out_dir, allowed)
    parent = out_dir.resolve().parent
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        fill(staging)
        staging.chmod(0o755)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=parent))
            old.rmdir()
            out_dir.rename(old)
            staging.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return out_dir


__all__ = ["WriteError", "atomic_path", "check_directory", "check_parent", "check_writable", "kind_of", "reason",
           "write_directory", "write_text", "write_with"]
