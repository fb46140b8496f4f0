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

Temporary siblings carry their writer's process id: ``.NAME.<pid>.<random>``
(``.NAME.<pid>.<random>.html`` for a file, ``.NAME.old.<pid>.<random>`` for a
replaced directory on its way out).  Every write first removes the siblings of
its destination whose writer is no longer running (a run killed with
``kill -KILL``); a live writer's are left alone.  Moving a finished output into
place holds an exclusive ``flock`` on the destination's directory, so writers of
one ``--out`` take turns: each installs a complete output, the last one stays.
A destination that is a symbolic link keeps its link: the link's target is
written.  While an output is moved into place, :func:`installing` is true; the
command line's signal handler waits for it (:func:`defer_signal`) so that a
Ctrl-C never leaves the old output moved away and the new one not yet in place.
:func:`remove_temporaries` removes what this process has staged so far (the
signal handler calls it before leaving).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import sys
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
    _clean_stale(_real(path))  # what killed runs left beside it goes now, before this run's work
    return path


# --- temporaries: named after their writer, removed by this process on a signal, by the next run if it died ---

_OWN: set[str] = set()
"""The temporaries this process has made and not yet moved into place or removed."""

_installing = 0
_deferred: list[int] = []


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def remove_temporaries() -> None:
    """Remove every temporary this process has made so far (what a killed write would leave)."""
    for path in list(_OWN):
        _OWN.discard(path)
        _remove(path)


def installing() -> bool:
    """Whether a finished output is being moved into place (a signal should wait: :func:`defer_signal`)."""
    return _installing > 0


def defer_signal(signum: int) -> None:
    """Deliver ``signum`` again as soon as the output being moved into place is there."""
    _deferred.append(signum)


@contextlib.contextmanager
def _moving_into_place() -> Iterator[None]:
    global _installing
    _installing += 1
    try:
        yield
    finally:
        _installing -= 1
        if not _installing and _deferred:
            signum = _deferred.pop(0)
            _deferred.clear()
            signal.raise_signal(signum)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process (EPERM): alive
        return True
    return True


def _stale_siblings(path: Path) -> list[Path]:
    """The temporaries beside ``path`` whose writer (the process id in their name) is no longer running."""
    suffix = f"(?:{re.escape(path.suffix)})?" if path.suffix else ""  # a file's temporary keeps its suffix
    pattern = re.compile(rf"\.{re.escape(path.name)}\.(?:old\.)?(\d+)\.[a-z0-9_]{{8}}{suffix}")
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    stale = []
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            stale.append(path.parent / name)
    return stale


def _clean_stale(path: Path) -> None:
    for stale in _stale_siblings(path):
        _remove(str(stale))


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``directory`` (nothing is created there); without ``fcntl``, no lock."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: go on unlocked
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def _real(path: Path) -> Path:
    """``path``, or the path a symbolic link ``path`` points to (so the link is kept and its target written)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temporary(path: Path, directory: bool, old: bool = False) -> Path:
    prefix = f".{path.name}.{'old.' if old else ''}{os.getpid()}."
    if directory:
        made = tempfile.mkdtemp(prefix=prefix, dir=path.parent)
    else:
        fd, made = tempfile.mkstemp(prefix=prefix, suffix=path.suffix, dir=path.parent)
        os.close(fd)
    _OWN.add(made)
    return Path(made)


def _exchange(a: Path, b: Path) -> bool:
    """Swap the directories ``a`` and ``b`` in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    # not 0: EINVAL (a file system without it), ENOSYS, ...: the caller does the two renames instead
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path``.

    The temporary file keeps ``path``'s suffix, so writers that pick a format
    from the suffix (matplotlib's ``savefig``) still do the right thing.  An
    ``OSError`` while the block writes (a full disk, ...) or while renaming
    becomes a :class:`WriteError`; the temporary file is removed either way.
    """
    path = _real(check_writable(path))
    _clean_stale(path)
    try:
        tmp = _temporary(path, directory=False)
    except OSError as error:
        raise WriteError(f"cannot write {path} ({reason(error)}); nothing was written") from None
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        with _moving_into_place():
            os.replace(tmp, path)
    except OSError as error:
        raise WriteError(f"cannot write {path} ({reason(error)}); nothing was written") from None
    finally:
        tmp.unlink(missing_ok=True)
        _OWN.discard(str(tmp))


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
    """Fail early, with a ``ValueError``, unless ``out_dir`` is new, empty, or holds only names in ``allowed`` (a
    previous report).  Temporaries that killed runs left beside it are removed."""
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
    real = _real(out_dir)
    _clean_stale(real.parent.resolve() / real.name)  # what killed runs left beside it goes now, before the work


def write_directory(out_dir: str | os.PathLike[str], allowed: Collection[str], fill: Callable[[Path], object]) -> Path:
    """Build a directory with ``fill(staging)`` beside ``out_dir`` and move it into place as a whole.

    ``out_dir`` must pass :func:`check_directory`; a previous one is replaced only
    once the new one is complete, so a failure leaves the old directory (or none).
    """
    given = Path(out_dir)
    check_directory(given, allowed)
    out_dir = _real(given)
    out_dir = out_dir.parent.resolve() / out_dir.name
    _clean_stale(out_dir)
    staging = _temporary(out_dir, directory=True)
    try:
        fill(staging)
        staging.chmod(0o755)
        with _locked(out_dir.parent), _moving_into_place():
            check_directory(out_dir, allowed)  # another writer may have put something else there meanwhile
            if not out_dir.is_dir():
                staging.rename(out_dir)
            elif _exchange(staging, out_dir):  # staging now holds the previous output
                _remove(str(staging))
            else:
                old = _temporary(out_dir, directory=True, old=True)
                old.rmdir()
                out_dir.rename(old)
                staging.rename(out_dir)
                _remove(str(old))
                _OWN.discard(str(old))
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        _OWN.discard(str(staging))
    return given


__all__ = ["WriteError", "atomic_path", "check_directory", "default_cache_dir", "check_parent", "check_writable", "defer_signal",
           "installing", "kind_of", "reason", "remove_temporaries", "write_directory", "write_text", "write_with"]


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/descentlab``, or ``~/.cache/descentlab`` when that is unset.

    A home directory that does not exist (``HOME=/nonexistent``, a service account)
    is never created: the cache is then ``descentlab-cache-<uid>`` in the system's
    temporary directory.
    """
    base = os.environ.get("XDG_CACHE_HOME")
    if base and Path(base).is_absolute():
        return Path(base) / "descentlab"
    try:
        home = Path.home()
    except (RuntimeError, KeyError):  # no HOME and no password entry
        home = None
    if home is None or not home.is_dir():
        return Path(tempfile.gettempdir()) / f"descentlab-cache-{getattr(os, 'getuid', lambda: 0)()}"
    return home / ".cache" / "descentlab"
