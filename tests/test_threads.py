"""Optimizers stepped from several Python threads give the numbers of the same runs done one after another.

A user may train several models in threads of one process (a sweep, a server):
each optimizer must compute on its own path whatever the other threads do.  In
torch 2.13 ``torch.compiler.is_compiling()`` reads one flag of the whole process,
true while *any* thread compiles; the adapter once took it to mean that its own
step was being traced, and while one thread compiled every other thread's step
left its path for the plain rule (a few ulp off, differing from run to run).
"""

from __future__ import annotations

import threading

import pytest
import torch

import descentlab.engine.paths.fast as fast
import descentlab.optim as dl

needs_compiler = pytest.mark.skipif(not fast.compiler_available(), reason="torch.compile needs a C++ compiler here")
FUSED = [None, pytest.param(True, marks=[needs_compiler, pytest.mark.slow])]  # (compiling: seconds)
RULES = {"adam": {"lr": 0.01}, "adagrad": {"lr": 0.1}, "rmsprop": {"lr": 0.01}, "adadelta": {"lr": 1.0}}
SHAPES = [((3000,), torch.float32), ((17, 5), torch.float32), ((), torch.float32),
          ((2000,), torch.float64), ((), torch.float64)]  # two buckets (float32, float64) and 0-dim parameters


def _problem(seed: int, steps: int, shapes: list) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    generator = torch.Generator().manual_seed(seed)
    start = [torch.randn(shape, generator=generator, dtype=dtype) for shape, dtype in shapes]
    grads = [[torch.randn(shape, generator=generator, dtype=dtype) for shape, dtype in shapes] for _ in range(steps)]
    return start, grads


def _train(name: str, fused: bool | None, seed: int, steps: int = 8, scale: float = 1.0, between=None,
           shapes: list = SHAPES) -> list:
    """``steps`` steps of one optimizer (its lr scaled by ``scale``); ``between()`` runs after the second step.
    Returns the parameters and every state entry."""
    start, grads = _problem(seed, steps, shapes)
    params = [x.clone().requires_grad_() for x in start]
    hp = {key: value * scale for key, value in RULES[name].items()}
    opt = dl.create(name, params, fused=fused, **hp)
    for t, step_grads in enumerate(grads):
        if t == 2 and between is not None:
            between()
        for p, g in zip(params, step_grads):
            p.grad = g.clone()
        opt.step()
    if fused:
        assert opt._compiled is not None and opt._compiled.failure is None
    return [p.detach().clone() for p in params] + [v.clone() for p in params for v in opt.state[p].values()]


def _identical(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x.dtype == y.dtype and torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("fused", FUSED, ids=["default", "compiled"])
def test_a_compile_in_another_thread_leaves_this_threads_path_alone(fused: bool | None) -> None:
    """While another thread sits in torch.compile (held there by its backend), this thread's steps keep their path:
    the run equals the same run with nobody compiling, bit for bit."""
    shapes = SHAPES[:3]  # float32 only: one graph to compile
    reference = _train("adam", fused, seed=0, shapes=shapes)
    compiling, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def held_backend(gm: torch.fx.GraphModule, example_inputs: list) -> object:
        compiling.set()
        release.wait(timeout=300)
        return gm.forward

    other = threading.Thread(target=torch.compile(lambda t: t * 3 + 1, backend=held_backend), args=(torch.ones(4),))

    def start_compiling() -> None:
        other.start()
        assert compiling.wait(timeout=300), "the other thread never reached its backend"
        seen.append(torch.compiler.is_compiling())  # torch 2.13: True here too (the process's flag)

    try:
        result = _train("adam", fused, seed=0, between=start_compiling, shapes=shapes)
    finally:
        release.set()
        other.join()
    assert seen, "the other thread's compile did not overlap the steps"
    assert _identical(result, reference)


def _sequential_and_threaded(paths: list[bool | None]) -> tuple[list, list]:
    """Thread ``i`` runs rule ``i`` on path ``paths[i]`` with its own data and lr; first one after another, then all
    four at once (started together)."""
    names = list(RULES)
    sequential = [_train(names[i], paths[i], seed=i, scale=1 + i) for i in range(4)]
    threaded: list = [None] * 4
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def work(i: int) -> None:
        try:
            barrier.wait()
            threaded[i] = _train(names[i], paths[i], seed=i, scale=1 + i)
        except Exception as error:  # noqa: BLE001 - an assert in a thread would pass silently
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return sequential, threaded


@pytest.mark.slow  # (the compiled paths compile 16 graphs: about a minute)
@pytest.mark.parametrize("paths", [[None] * 4, pytest.param([True] * 4, marks=needs_compiler),
                                   pytest.param([True, None, True, None], marks=needs_compiler)],
                         ids=["default", "compiled", "mixed"])
def test_four_threads_give_the_sequential_results_bit_for_bit(paths: list) -> None:
    """Four threads, each stepping its own optimizer (Adam, AdaGrad, RMSProp, AdaDelta; float32 and float64
    parameters, 0-dim ones among them) at the same time, end with exactly the parameters and states of the same
    four runs done one after another; twice, so a result that changes from run to run is seen too."""
    for _ in range(2):
        sequential, threaded = _sequential_and_threaded(paths)
        for i in range(4):
            assert _identical(threaded[i], sequential[i]), f"thread {i} ({list(RULES)[i]}, fused={paths[i]})"
