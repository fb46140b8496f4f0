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

The worker is spawned, not forked: forking a process after torch has started its threads is
unsafe.  It starts at :meth:`Helper.start`, before this process imports torch and matplotlib,
and imports what ``preload`` names meanwhile on the other core.
"""

from __future__ import annotations

import functools
import importlib
import os
import pickle
import threading
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
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        helper = cls(ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                         initializer=_preload, initargs=(tuple(preload),)))
        helper.task(int)  # the worker is spawned at the first task: now, so its imports overlap ours
        return helper

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
        terminate = getattr(executor, "terminate_workers", None)  # Python 3.14
        if terminate is not None:
            terminate()
            return
        for worker in list((getattr(executor, "_processes", None) or {}).values()):
            worker.terminate()
        # with the worker gone this is quick; and its thread must be over before Python exits (leaving while it
        # closes its pipe makes the interpreter's exit hook write to a closed pipe: "Bad file descriptor")
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
