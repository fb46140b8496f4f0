"""Work shared with one helper process, so that a two-core machine runs ``descentlab reproduce`` on both cores.

A :class:`Helper` owns one spawned worker process.  ``helper.task(function, *args)`` hands a
call to it and returns a :class:`Task`.  The worker runs tasks in the order they were given.
``task.result()`` takes a task back if the worker has not been given it, and runs it in this
process.  So when this process collects its tasks last-given first, the two processes work
from the two ends of one queue: neither waits while the other has work left, and neither
needs to know in advance how long a task takes.

A task's function must be picklable, a module-level function; a task whose function or
arguments cannot be pickled runs here.  A task whose worker breaks (killed, out of memory)
runs here instead.  Without a worker (``Helper(None)``, or a
one-core machine), every task runs here when its result is asked for.  So results never
depend on which process ran a task; only the wall time does.

The worker is a new Python process (started as ``python -c``, not forked: forking a process
after torch has started its threads is unsafe).  It starts at :meth:`Helper.start`, before this
process imports torch and matplotlib, and imports what ``preload`` names meanwhile on the other
core.  Calls and results travel as pickles over two pipes of its own; no multiprocessing
machinery is used, so there is no resource-tracker process and no shared semaphore to leak.

The worker never outlives this process: on Linux the kernel kills it when this process ends,
however it ends (``prctl(PR_SET_PDEATHSIG)``, even after ``kill -KILL``); elsewhere it checks
every half second that its parent is still there.  It stays in this process's group, ignores
SIGINT (a Ctrl-C is this process's to handle), and its standard input and output are not the
caller's, so a caller reading this process's output through pipes never waits for it.
:func:`stop_workers` kills and reaps every worker at once (the command line's signal handler
calls it); one also runs at exit.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Executor, Future
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _preload(modules: Sequence[str]) -> None:
    for name in modules:
        importlib.import_module(name)


def _call_pickled(call: bytes) -> Any:
    function, args, kwargs = pickle.loads(call)
    return function(*args, **kwargs)


# --- the worker process -------------------------------------------------------------------------------

_HEADER = struct.Struct("<Q")  # each message: its length, then a pickle

_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from descentlab.parallel import _serve; _serve(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), "
    "json.loads(sys.argv[5]))"
)
"""What the worker runs: this process's ``sys.path`` first, so it imports the same modules (tests' too)."""


def _die_with(parent: int) -> None:
    """Make sure this process ends when ``parent`` does (called first thing in the worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole group: the parent decides
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: killed by the kernel when the parent ends
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)

    def watch() -> None:  # everywhere (and should prctl be unavailable): look every half second
        while True:
            threading.Event().wait(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="descentlab-parent-watch").start()


def _read_message(fd: int) -> Any:
    """The next message on ``fd``; ``EOFError`` when the other side has closed it."""
    header = _read_exactly(fd, _HEADER.size)
    return pickle.loads(_read_exactly(fd, _HEADER.unpack(header)[0]))


def _read_exactly(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_message(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


class _NotRunnable(Exception):
    """The worker could not unpickle a call (a function it cannot import): the caller's process runs it."""


def _serve(parent: int, calls: int, results: int, preload: Sequence[str]) -> None:
    """The worker's loop: run each call read from ``calls``, write ``(id, ok, value)`` to ``results``."""
    _die_with(parent)
    try:
        _preload(preload)
    except Exception:  # noqa: BLE001 - a module that fails to import here fails again, with its message, in the caller
        pass
    while True:
        try:
            ident, call = _read_message(calls)
        except EOFError:  # the parent closed the pipe: done
            os._exit(0)
        try:
            function, args, kwargs = pickle.loads(call)
        except Exception:  # noqa: BLE001
            reply = (ident, False, _NotRunnable())
        else:
            try:
                reply = (ident, True, function(*args, **kwargs))
            except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
                reply = (ident, False, error)
        try:
            _write_message(results, reply)
        except (pickle.PicklingError, TypeError, AttributeError) as error:  # a value or error that cannot travel
            _write_message(results, (ident, False, RuntimeError(f"the helper process could not send back: {error}")))
        except OSError:
            os._exit(0)


_WORKERS: weakref.WeakSet[_Worker] = weakref.WeakSet()


class _Worker(Executor):
    """One worker process fed pickled calls through a pipe; its results come back through another."""

    def __init__(self, preload: Sequence[str] = ()) -> None:
        import json

        calls_read, self._calls = os.pipe()
        self._results, results_write = os.pipe()
        try:
            flags = getattr(subprocess, "_args_from_interpreter_flags", list)()
            self._process = subprocess.Popen(
                [sys.executable, *flags, "-c", _BOOT, json.dumps([str(entry) for entry in sys.path]),
                 str(os.getpid()), str(calls_read), str(results_write), json.dumps(list(preload))],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=(calls_read, results_write),
                close_fds=True,
            )
            _WORKERS.add(self)  # from now on stop_workers() (a signal handler, the exit) stops it
        except BaseException:
            for fd in (calls_read, self._calls, self._results, results_write):
                os.close(fd)
            raise
        os.close(calls_read)
        os.close(results_write)
        self._lock = threading.Lock()
        self._pending: dict[int, Future] = {}
        self._next = 0
        self._broken = False
        self._reader = threading.Thread(target=self._read, daemon=True, name="descentlab-helper-results")
        self._reader.start()

    @property
    def pid(self) -> int:
        return self._process.pid

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Only ``submit(_call_pickled, call)`` is used: the call is sent as it was pickled."""
        future: Future = Future()
        with self._lock:
            if self._broken:
                raise BrokenProcessPool("the helper process has stopped")
            ident, self._next = self._next, self._next + 1
            self._pending[ident] = future
            future.set_running_or_notify_cancel()
            try:
                call = args[0] if fn is _call_pickled else pickle.dumps((fn, args, kwargs))
                _write_message(self._calls, (ident, call))
            except OSError:
                del self._pending[ident]
                self._broken = True
                raise BrokenProcessPool("the helper process has stopped") from None
        return future

    def _read(self) -> None:
        while True:
            try:
                ident, ok, value = _read_message(self._results)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                break
            except Exception:  # noqa: BLE001 - a value that does not unpickle here: the task runs here
                continue
            with self._lock:
                future = self._pending.pop(ident, None)
            if future is None:
                continue
            if ok:
                future.set_result(value)
            elif isinstance(value, _NotRunnable):
                future.set_exception(BrokenProcessPool("the helper process cannot run this call"))
            else:
                future.set_exception(value)
        with self._lock:
            self._broken = True
            pending, self._pending = self._pending, {}
        for future in pending.values():
            future.set_exception(BrokenProcessPool("the helper process has stopped"))

    def terminate_workers(self) -> None:
        """Kill the worker now, reap it, and close the pipes (pending futures fail: their tasks run here)."""
        with self._lock:
            self._broken = True
        _WORKERS.discard(self)
        try:
            self._process.kill()
        except OSError:
            pass
        self._process.wait()
        for fd in (self._calls,):
            try:
                os.close(fd)
            except OSError:
                pass
        self._calls = -1
        if threading.current_thread() is not self._reader:
            self._reader.join()  # it reads EOF now that the worker is gone
        try:
            os.close(self._results)
        except OSError:
            pass

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.terminate_workers()


def stop_workers() -> None:
    """Kill and reap every helper process this process started (safe to call from a signal handler)."""
    for worker in list(_WORKERS):
        _WORKERS.discard(worker)
        try:
            worker._process.kill()
            worker._process.wait()
        except (OSError, ValueError, RuntimeError):
            pass


def worker_pids() -> list[int]:
    """The process ids of the helper processes running now (for tests and diagnostics)."""
    return [worker.pid for worker in list(_WORKERS) if worker._process.poll() is None]


atexit.register(stop_workers)  # whatever way Python leaves, no worker is left behind


class Task:
    """One call handed to the helper; :meth:`result` gives its value, from whichever process ran it."""

    def __init__(self, here: Callable[[], Any], call: bytes | None = None, helper: Helper | None = None) -> None:
        self._here: Callable[[], Any] | None = here
        self._call = call  # the pickled call the worker is given, waiting in ``helper``'s queue (None: runs here)
        self._helper = helper
        self._future: Future | None = None  # set when the worker is given the task
        self._value: Any = None

    @property
    def with_worker(self) -> bool:
        """Whether the worker has been given the task (it can no longer be taken back)."""
        return self._future is not None

    def result(self) -> Any:
        """The call's value; run here if the worker has not been given it (or broke).  An error is raised
        again at the next call (the call is run again here), never turned into a value."""
        if self._here is not None:
            value = _UNSET
            if self._helper is not None and not self._helper._take_back(self):
                value = _taken(self._future)
            if value is _UNSET:
                value = self._here()
            # what it was given (records, data) is not kept alive
            self._value, self._here, self._call, self._helper, self._future = value, None, None, None, None
        return self._value


_UNSET = object()


def _taken(future: Future | None) -> Any:
    """The worker's value, or :data:`_UNSET` if the worker broke (or was stopped) before giving it."""
    try:
        return _UNSET if future is None else future.result()
    except (BrokenProcessPool, CancelledError):
        return _UNSET


class Helper:
    """A second process that takes :class:`Task` s (see the module's docstring); ``Helper(None)`` has none.

    The worker is given one task at a time, the next when it finishes one; the others wait
    here, where :meth:`Task.result` can take any of them back.  (Given to the executor at
    once, two more than the worker runs would sit in its queue, out of reach.)
    """

    def __init__(self, executor: Executor | None) -> None:
        self._executor = executor
        self._queue: deque[Task] = deque()
        self._lock = threading.Lock()
        self._running = False

    @classmethod
    def start(cls, preload: Sequence[str] = ()) -> Helper:
        """A helper with one spawned worker, started now and importing ``preload``; none on a one-core machine."""
        if cores() < 2:
            return cls(None)
        try:
            return cls(_Worker(preload))
        except OSError:  # no process can be started now (limits): every task runs here
            return cls(None)

    @property
    def working(self) -> bool:
        """Whether tasks can go to a second process."""
        return self._executor is not None

    def task(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
        """Hand ``function(*args, **kwargs)`` to the worker (run here at :meth:`Task.result` if there is none)."""
        return self._hand(function, args, kwargs)

    def first(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Task:
        """:meth:`task`, put before the tasks already waiting: a long task whose result is needed late, which
        would otherwise be the last to finish (this process takes tasks back from the other end)."""
        return self._hand(function, args, kwargs, first=True)

    def _hand(self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
              first: bool = False) -> Task:
        here = functools.partial(function, *args, **kwargs)
        if self._executor is None:
            return Task(here)
        try:  # pickled now, as it is: the executor would pickle it later, in a thread, while this process works
            call = pickle.dumps((function, args, kwargs))
        except (pickle.PicklingError, TypeError, AttributeError):  # it cannot be sent: this process runs it
            return Task(here)
        task = Task(here, call, self)
        with self._lock:
            (self._queue.appendleft if first else self._queue.append)(task)
        self._give()
        return task

    def _give(self) -> None:
        """Give the worker the first waiting task, if it has none."""
        with self._lock:
            if self._running or not self._queue or self._executor is None:
                return
            task = self._queue.popleft()
            try:
                task._future = self._executor.submit(_call_pickled, task._call)
            except (RuntimeError, BrokenProcessPool):  # shut down or broken: this process runs it
                return
            self._running = True
        task._future.add_done_callback(self._finished)

    def _finished(self, _: Future) -> None:
        with self._lock:
            self._running = False
        self._give()

    def _take_back(self, task: Task) -> bool:
        """Take ``task`` off the queue (True), unless the worker has been given it."""
        with self._lock:
            if task._future is None:
                if task in self._queue:
                    self._queue.remove(task)
                return True
            return False

    def close(self) -> None:
        """Stop the worker now, whatever it is doing (every result this process asked for it has);
        tasks not yet taken run here if asked for.  Without this, leaving Python would wait for
        the worker to finish its current task, such as its imports after an early error."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        terminate = getattr(executor, "terminate_workers", None)  # ours (and Python 3.14's process pools)
        if terminate is not None:
            terminate()
            return
        executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def collect(tasks: Sequence[Task]) -> list[Any]:
    """Every task's value, in the tasks' order, collected last task first (see the module's docstring)."""
    values = [task.result() for task in reversed(tasks)]
    return values[::-1]


def call(target: str, *args: Any, **kwargs: Any) -> Any:
    """``module:function`` called with the arguments: a task that can be given before this process imports ``module``."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args, **kwargs)


NO_HELPER = Helper(None)
"""Every task runs in this process."""
