"""The helper process: tasks give the same values whichever process runs them, and nothing waits for it."""

from __future__ import annotations

import os
import time

import pytest

from descentlab.parallel import NO_HELPER, Helper, call, collect, cores

pytestmark = pytest.mark.skipif(cores() < 2, reason="the helper needs a second core")


def pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def pid_given(_: object) -> int:
    return os.getpid()


def wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def ready(helper: Helper) -> None:
    """Wait until the worker is up (spawned, imported, taking tasks)."""
    task = helper.task(pid_after, 0.0)
    wait_until(lambda: task.with_worker, 120.0)
    task.result()


def test_tasks_are_shared_between_the_two_processes_and_keep_their_order() -> None:
    with Helper.start() as helper:
        assert helper.working
        ready(helper)
        tasks = [helper.task(pid_after, 0.2) for _ in range(8)]
        pids = collect(tasks)
    assert len(pids) == 8
    # the worker took tasks from the front while this process took the rest from the back
    assert os.getpid() in pids and any(pid != os.getpid() for pid in pids)
    ours = [i for i, pid in enumerate(pids) if pid == os.getpid()]
    assert ours == list(range(ours[0], 8)), pids


def test_a_task_the_worker_has_not_started_runs_here() -> None:
    here = os.getpid()
    with Helper.start() as helper:
        ready(helper)
        busy = helper.task(pid_after, 1.0)
        wait_until(lambda: busy.with_worker)
        taken = helper.task(pid_after, 0.0)
        queued = [helper.task(pid_after, 0.0) for _ in range(3)]
        assert queued[-1].result() == here  # behind a task of a second: still queued, so taken back
        assert busy.result() != here
        assert taken.result() in (here, busy.result())
        assert queued[-1].result() == here  # a value is computed once


def test_only_the_task_the_worker_runs_is_out_of_reach() -> None:
    # the worker is given one task at a time: all the others can be taken back, however many wait
    with Helper.start() as helper:
        ready(helper)
        tasks = [helper.task(pid_after, 2.0)] + [helper.task(pid_after, 0.0) for _ in range(3)]
        wait_until(lambda: tasks[0].with_worker)
        assert [t.with_worker for t in tasks[1:]] == [False] * 3
        assert [t.result() for t in reversed(tasks[1:])] == [os.getpid()] * 3
        assert tasks[0].result() != os.getpid()


def test_a_task_given_first_goes_before_the_waiting_ones() -> None:
    with Helper.start() as helper:
        ready(helper)
        busy = helper.task(pid_after, 1.0)
        wait_until(lambda: busy.with_worker)
        waiting = [helper.task(time.monotonic) for _ in range(3)]  # one clock for all processes (Linux)
        urgent = helper.first(time.monotonic)
        assert not any(t.with_worker for t in waiting)
        busy.result()
        started = urgent.result()
        assert min(collect(waiting)) > started  # the worker ran it before any of those given earlier


def test_tasks_of_a_closed_or_missing_helper_run_here() -> None:
    helper = Helper.start()
    tasks = [helper.task(pid_after, 0.0) for _ in range(3)]
    started = time.perf_counter()
    helper.close()  # the worker is still importing: it is stopped, not waited for
    assert time.perf_counter() - started < 1.0
    assert not helper.working
    assert collect(tasks) == [os.getpid()] * 3
    assert helper.task(pid_after, 0.0).result() == os.getpid()
    assert NO_HELPER.task(pid_after, 0.0).result() == os.getpid()


def test_a_task_that_cannot_be_pickled_runs_here() -> None:
    with Helper.start() as helper:
        task = helper.task(call, "math:hypot", 3.0, lambda: 4.0)  # a lambda cannot be sent to the worker
        assert not task.with_worker
        with pytest.raises(TypeError):  # run here, where hypot refuses the lambda: the caller's own error
            task.result()
        assert helper.task(pid_given, lambda: 0).result() == os.getpid()


def test_an_error_in_the_worker_reaches_the_caller() -> None:
    with Helper.start() as helper:
        task = helper.task(call, "math:sqrt", -1.0)
        with pytest.raises(ValueError, match="math domain error"):
            task.result()
        with pytest.raises(ValueError, match="math domain error"):  # again, not a value of None
            task.result()
    failing = NO_HELPER.task(call, "math:sqrt", -1.0)
    for _ in range(2):
        with pytest.raises(ValueError, match="math domain error"):
            failing.result()


def test_call_names_a_function_by_module() -> None:
    assert call("math:hypot", 3.0, 4.0) == 5.0
    with Helper.start(preload=("math",)) as helper:
        assert helper.task(call, "math:hypot", 3.0, 4.0).result() == 5.0
