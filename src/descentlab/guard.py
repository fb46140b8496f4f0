"""What the ``descentlab`` command sets up before anything else: signals and standard streams.

This module imports only built-in modules of the standard library, so it is cheap to import first.

Signals.  SIGINT (Ctrl-C), SIGTERM and SIGHUP end the command at any instant —
while Python imports torch, while it computes, while it writes — with one line
on stderr (``descentlab: interrupted``) and exit code 128 + the signal's number
(130, 143, 129); a signal ignored by whoever started the command (``nohup``,
a background job of a script) stays ignored.  The handler raises nothing: an exception raised inside torch's
C++ code (or in the middle of an import) is what used to give tracebacks,
half-imported modules and ``terminate called ... KeyboardInterrupt``.  It kills
and reaps the helper processes (:func:`descentlab.parallel.stop_workers`),
removes the temporaries this process has staged
(:func:`descentlab.files.remove_temporaries`) and leaves with ``os._exit``.  While
a finished output is being moved into place the signal waits for the move
(:func:`descentlab.files.installing`), so an output is either the old one or the
new one, never missing or half-written.

A ``$HOME`` that does not exist is left so (matplotlib's configuration goes to the
temporary directory).

Streams.  A closed standard stream (``descentlab algorithms >&-``) becomes
``/dev/null`` (its descriptor too, so no file the command opens takes its
number).  Text the stream's encoding cannot hold is replaced
(``PYTHONIOENCODING=ascii descentlab reproduce --lang zh`` prints ``?``), and a
reader that has gone away (``| head -1``, a descriptor open for reading only) is
no longer written to: neither changes the exit code, which stays the work's.
A full disk behind standard output is still an error (``descentlab.cli.main``).

:func:`install` runs first thing when the package is imported by the command itself
(the ``descentlab`` script or ``python -m descentlab``), before any other module of
descentlab, and again (doing nothing the second time) from
:func:`descentlab.cli.script`.  A program that imports descentlab keeps its own
handlers and streams.  Only Python's own start-up (the first few hundredths of
a second) comes before it: a Ctrl-C then is Python's to handle.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import sys

WORDS = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
if hasattr(signal, "SIGHUP"):
    WORDS[signal.SIGHUP] = "hung up"

_installed = False
_kept: list[object] = []  # the streams replaced, kept so that collecting them does not close the descriptors


def is_the_command() -> bool:
    """Whether this process is the ``descentlab`` command (the console script or ``python -m descentlab``)."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name == "descentlab.__main__":
        return True
    if sys.argv[:1] == ["-m"]:  # `python -m descentlab` while it imports the package, before it runs __main__
        given = list(getattr(sys, "orig_argv", []))
        if any(given[i:i + 2] == ["-m", "descentlab"] for i in range(len(given))) or "-mdescentlab" in given:
            return True
    name = os.path.basename(getattr(main, "__file__", None) or "")
    return name.removesuffix(".exe").removesuffix("-script.py") == "descentlab"


def install() -> None:
    """Set up the signals and the standard streams (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    for signum in WORDS:
        if signal.getsignal(signum) != signal.SIG_IGN:  # ignored by whoever started us (nohup, `cmd &`): stays so
            signal.signal(signum, _on_signal)
    _open_missing_descriptors()
    _no_missing_home()
    sys.stdout = _forgiving(sys.stdout, 1, "replace")
    sys.stderr = _forgiving(sys.stderr, 2, "backslashreplace")


def _on_signal(signum: int, _frame: object) -> None:
    files = sys.modules.get("descentlab.files")
    if files is not None and files.installing():
        files.defer_signal(signum)  # raised again once the output is in place
        return
    leave(signum)


def leave(signum: int) -> None:
    """Stop the helpers, remove this process's temporaries, say why in one line and exit with 128 + ``signum``."""
    for other in WORDS:  # a second Ctrl-C does not interrupt the cleaning up
        signal.signal(other, signal.SIG_IGN)
    for name, cleanup in (("descentlab.parallel", "stop_workers"), ("descentlab.files", "remove_temporaries")):
        module = sys.modules.get(name)  # not imported yet: nothing of its to clean
        if module is not None:
            try:
                getattr(module, cleanup)()
            except Exception:  # noqa: BLE001, S110 - leaving anyway
                pass
    try:
        os.write(2, f"descentlab: {WORDS.get(signum, 'stopped')}\n".encode())
    except OSError:
        pass
    os._exit(128 + signum)


def _no_missing_home() -> None:
    """A ``$HOME`` that does not exist is not created: matplotlib's configuration goes to a temporary directory
    (descentlab's own cache does the same: :func:`descentlab.files.default_cache_dir`)."""
    home = os.environ.get("HOME")
    if home and not os.path.isdir(home) and "MPLCONFIGDIR" not in os.environ:
        import tempfile

        uid = getattr(os, "getuid", lambda: 0)()
        os.environ["MPLCONFIGDIR"] = os.path.join(tempfile.gettempdir(), f"descentlab-matplotlib-{uid}")


def _open_missing_descriptors() -> None:
    """Put ``/dev/null`` on a closed 0, 1 or 2, so no file opened later takes the number (and C code writing to
    standard output writes nowhere instead of into a report)."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


class _Sink(io.RawIOBase):
    """A descriptor written with ``os.write``; once its reader is gone (EPIPE, EBADF), writes go nowhere."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self.gone = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        try:
            return os.isatty(self._fd)
        except OSError:
            return False

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self.gone:
            return len(data)
        try:
            return os.write(self._fd, data)
        except (BrokenPipeError, ConnectionResetError):
            self.gone = True
        except OSError as error:
            if error.errno not in (errno.EBADF, errno.EPIPE, errno.EINVAL):
                raise  # a full disk is an error the command reports
            self.gone = True
        return len(data)


def _forgiving(stream: object, fd: int, errors: str) -> object:
    """A text stream on ``fd``: ``stream``'s encoding, ``errors`` for what it cannot encode, a :class:`_Sink`."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    if stream is not None:
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
        _kept.append(stream)
    sink = _Sink(fd)
    tty = sink.isatty()
    unbuffered = fd == 2 or bool(os.environ.get("PYTHONUNBUFFERED")) or sys.flags.unbuffered
    text = io.TextIOWrapper(io.BufferedWriter(sink), encoding=encoding, errors=errors,
                            line_buffering=tty or fd == 2, write_through=unbuffered)
    if (fd == 1 and sys.__stdout__ is stream) or (fd == 2 and sys.__stderr__ is stream):
        setattr(sys, "__stdout__" if fd == 1 else "__stderr__", text)
    return text
