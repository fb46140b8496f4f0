"""The default step's compiled loop (engine/paths/native.py): the replay's numbers, one pass, no retrace.

The loop is written from the same traced plan the replay runs, so the tests hold it
to the replay bit for bit (torch's roundings, MKL's float32 square root included) and,
with IEEE's square root (the notes' classes), to a few ulp; and check what a user
relies on: schedules that never recompile, checkpoints, switching paths, threads,
the disk cache and the fallback without a compiler.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import logging
import math
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

from descentlab import torch_optim
from descentlab.algorithms import REGISTRY
from descentlab.algorithms.conventions import PRESETS, apply
from descentlab.engine.paths import inplace, mkl, native
from descentlab.engine.paths.eager import step_in_batches
from descentlab.optim import create

pytestmark = pytest.mark.skipif(native.compiler() is None, reason="no C compiler here")

SETTINGS = [  # (algorithm, hyperparameters): every rule, with the switches that change its plan
    ("sgd", {"lr": 0.1}), ("sgd", {"lr": 0.1, "weight_decay": 0.01, "maximize": True}),
    ("momentum", {"lr": 0.1, "momentum": 0.9}), ("momentum", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "form": "torch", "dampening": 0.1}),
    ("adagrad", {"lr": 0.1}), ("adagrad", {"lr": 0.1, "eps": 1e-10, "eps_in_sqrt": False, "lr_decay": 0.01}),
    ("rmsprop", {"lr": 0.01}), ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("adadelta", {}), ("adadelta", {"lr": 1.0, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01}), ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adam", {"lr": 0.01, "eps_mode": "epsilon_hat"}),
    ("yogi", {"lr": 0.01}),
]
SETTINGS += [(name, {"lr": 0.01, **apply(convention, name, {})} if name != "adadelta" else apply(convention, name, {}))
             for convention in ("torch", "optax", "keras") for name in PRESETS[convention] if name != "momentum"]


def _valid(name: str, hp: dict) -> dict | None:
    try:
        return REGISTRY[name].resolve(hp)
    except (ValueError, TypeError):
        return None


def _problem(dtype: torch.dtype, shapes=((1000, 67), (5,), (3, 3), ())) -> tuple[list, list]:
    generator = torch.Generator().manual_seed(0)
    params = [torch.randn(shape, generator=generator, dtype=dtype) for shape in shapes]
    grads = [[torch.randn(shape, generator=generator, dtype=dtype) for shape in shapes] for _ in range(4)]
    return params, grads


def _run(name: str, hp: dict, dtype: torch.dtype, *, compiled: bool, torch_roots: bool = True,
         cache: dict | None = None, shapes: tuple = ((1000, 67), (5,), (3, 3), ())) -> tuple[list, list]:
    spec = REGISTRY[name]
    xs, grads = _problem(dtype, shapes)
    states = [spec.init(x, hp) for x in xs]
    cache = {} if cache is None else cache
    for gs in grads:
        if compiled:
            step_in_batches(spec, xs, gs, states, hp, cache=cache, site=0, torch_roots=torch_roots)
        else:
            with native.switched_off():
                step_in_batches(spec, xs, gs, states, hp, cache=cache, site=0)
    return xs, states


def _bits_equal(a: list, b: list) -> bool:
    return all(torch.equal(x, y) or (x.isnan() == y.isnan()).all() and torch.equal(x.nan_to_num(), y.nan_to_num())
               for x, y in zip(a, b))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, given", SETTINGS, ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.values()))[:40])
def test_the_loop_gives_the_replays_bits(name, given, dtype) -> None:
    """With torch's square root, the compiled loop equals the foreach replay bit for bit (state included), on a
    large tensor split over threads, small ones and a 0-dim one."""
    hp = _valid(name, given)
    if hp is None:
        pytest.skip("not a valid setting")
    loop_x, loop_states = _run(name, hp, dtype, compiled=True)
    spec = REGISTRY[name]
    x = _problem(dtype)[0][0]
    plan = inplace.plan_for(spec, hp, x, spec.init(x, hp), fma=True)
    kernel = plan.__dict__.get("_native", {}).get((dtype, True))
    assert kernel is not None and kernel.checked, "the loop did not run"
    replay_x, replay_states = _run(name, hp, dtype, compiled=False)
    assert _bits_equal(loop_x, replay_x)
    for mine, theirs in zip(loop_states, replay_states):
        assert _bits_equal([mine[k] for k in theirs], list(theirs.values()))


@pytest.mark.parametrize("name, given", [s for s in SETTINGS if s[0] in ("adam", "rmsprop", "adadelta", "adagrad", "yogi")][:8])
def test_ieee_roots_are_a_few_ulp_from_the_plain_rule(name, given) -> None:
    """The notes' classes take IEEE's square root in the loop: float64 within 1e-12 of the plain rule, float32 close."""
    hp = _valid(name, given)
    if hp is None:
        pytest.skip("not a valid setting")
    spec = REGISTRY[name]
    for dtype, tolerance in ((torch.float64, 1e-12), (torch.float32, 2e-5)):
        loop_x, _ = _run(name, hp, dtype, compiled=True, torch_roots=False)
        xs, grads = _problem(dtype)
        states = [spec.init(x, hp) for x in xs]
        for gs in grads:
            for i, (x, g) in enumerate(zip(xs, gs)):
                xs[i], states[i] = spec.update(x, g, states[i], **hp)
        for mine, plain in zip(loop_x, xs):
            scale = plain.abs().max().clamp_min(1e-30)
            assert ((mine - plain).abs().max() / scale) <= tolerance, (dtype, name)


def test_torch_optim_on_the_loop_is_torch_optim_bit_for_bit() -> None:
    """descentlab.torch_optim's default path (now the loop) stays torch.optim's default, float32, bit for bit."""
    for ours_class, theirs_class, kwargs in ((torch_optim.Adam, torch.optim.Adam, {"lr": 0.01}),
                                             (torch_optim.AdamW, torch.optim.AdamW, {"lr": 0.01}),
                                             (torch_optim.RMSprop, torch.optim.RMSprop, {"lr": 0.01, "centered": True}),
                                             (torch_optim.Adagrad, torch.optim.Adagrad, {"lr": 0.1}),
                                             (torch_optim.Adadelta, torch.optim.Adadelta, {}),
                                             (torch_optim.SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9})):
        params, grads = _problem(torch.float32, shapes=((300, 257), (7,)))
        mine = [p.clone().requires_grad_() for p in params]
        theirs = [p.clone().requires_grad_() for p in params]
        a, b = ours_class(mine, **kwargs), theirs_class(theirs, **kwargs)
        for gs in grads:
            for p, q, g in zip(mine, theirs, gs):
                p.grad, q.grad = g.clone(), g.clone()
            a.step()
            b.step()
        assert all(torch.equal(p, q) for p, q in zip(mine, theirs)), ours_class.__name__


def test_a_scheduled_learning_rate_never_traces_again_and_equals_constant_steps(monkeypatch) -> None:
    """LambdaLR changing a float lr every step: after the first change one plan serves every value (no new trace,
    so no new compilation), and every step equals a step taken with that lr as a constant (a plan traced for it)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    twin = copy.deepcopy(model)
    scheduled = torch_optim.Adam(model.parameters(), lr=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(scheduled, lambda step: 1 / (1 + 0.3 * step))
    constant = torch_optim.Adam(twin.parameters(), lr=0.01)
    traces = []
    real_init = inplace.Plan.__init__
    monkeypatch.setattr(inplace.Plan, "__init__", lambda self, *a, **k: traces.append(1) or real_init(self, *a, **k))
    x = torch.randn(32, 8)
    for step in range(8):
        for m in (model, twin):
            m.zero_grad()
            m(x).square().mean().backward()
        constant.param_groups[0]["lr"] = scheduled.param_groups[0]["lr"]
        constant._replays.clear()  # a new constant each step: no memory of earlier values
        before = len(traces)
        scheduled.step()
        if step >= 2:
            assert len(traces) == before, f"step {step} traced the rule again"
        schedule.step()
        constant.step()
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), twin.parameters())), step


class _Counts:
    """How many plans were traced, kernels written (or loaded) and replays built while counting."""

    def __init__(self, monkeypatch) -> None:
        from descentlab.engine.paths import eager

        self.plans = self.kernels = self.replays = 0
        for owner, name, field in ((inplace.Plan, "__init__", "plans"), (eager.Replay, "__init__", "replays")):
            real = getattr(owner, name)
            monkeypatch.setattr(owner, name, self._counting(real, field))
        monkeypatch.setattr(native, "build", self._counting(native.build, "kernels"))

    def _counting(self, real, field):
        def counted(*args, **kwargs):
            setattr(self, field, getattr(self, field) + 1)
            return real(*args, **kwargs)
        return counted

    def now(self) -> tuple[int, int, int]:
        return self.plans, self.kernels, self.replays


@pytest.mark.parametrize("face", ["torch_optim", "optim"])
@pytest.mark.parametrize("schedule", ["lambda", "tensor lr", "one cycle"])
def test_scheduled_hyperparameters_build_nothing_new_after_the_first_steps(monkeypatch, face, schedule) -> None:
    """A scheduler changing the lr (a float, or a 0-dim tensor) or OneCycleLR changing the lr and Adam's first beta
    at every step: after the first steps no plan is traced, no kernel built or loaded, no replay rebuilt, also
    when every step's gradients are new tensors (``zero_grad()``); and every step equals a step with those values as
    constants (an optimizer that never saw other values)."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    twin = copy.deepcopy(model)
    lr = torch.tensor(0.01) if schedule == "tensor lr" else 0.01

    def make(params):
        if face == "torch_optim":
            return torch_optim.Adam(params, lr=lr.clone() if isinstance(lr, torch.Tensor) else lr)
        from descentlab import optim
        return optim.Adam(params, lr=lr.clone() if isinstance(lr, torch.Tensor) else lr, conventions="torch")

    scheduled, constant = make(model.parameters()), make(twin.parameters())
    if schedule == "one cycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(scheduled, max_lr=0.05, total_steps=40)
    else:
        scheduler = torch.optim.lr_scheduler.LambdaLR(scheduled, lambda step: 1 / (1 + 0.3 * step))
    x = torch.randn(32, 8)
    for step in range(12):
        for m in (model, twin):
            m.zero_grad()  # (set_to_none: new gradient tensors at every step)
            m(x).square().mean().backward()
        for key in ("lr", "betas"):
            value = scheduled.param_groups[0][key]
            constant.param_groups[0][key] = value.clone() if isinstance(value, torch.Tensor) else value
        scheduled.step()
        scheduler.step()
        constant._replays.clear()  # the constant run forgets earlier values: a plan of these very numbers
        constant.step()
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), twin.parameters())), step
    counts = _Counts(monkeypatch)
    for step in range(5):
        model.zero_grad()
        model(x).square().mean().backward()
        scheduled.step()
        scheduler.step()
    assert counts.now() == (0, 0, 0), f"{schedule}: plans, kernels, replays made by 5 scheduled steps"


def test_the_loop_follows_tensors_that_moved() -> None:
    """The kernel's tables of addresses are kept between steps: a parameter given new memory (``p.data = ...``),
    new gradient tensors at every step, or a state entry placed anew by ``load_state_dict`` are written where they
    are now, as the replay writes them (the old memory is never touched)."""
    params, grads = _problem(torch.float32, shapes=((300, 7), (64,), (5,)))
    runs = {}
    for native_on in (True, False):
        xs = [p.clone() for p in params]
        opt = create("adam", xs, lr=0.01)
        with contextlib.nullcontext() if native_on else native.switched_off():
            for step, gs in enumerate(grads):
                for x, g in zip(xs, gs):
                    x.grad = g.clone()
                if step == 1:
                    old = xs[0].data
                    xs[0].data = old.clone()  # new memory for the same parameter
                    kept = old.clone()
                if step == 2:
                    opt.load_state_dict(copy.deepcopy(opt.state_dict()))  # every state entry placed anew
                opt.step()
                if step == 1:
                    assert torch.equal(old, kept)  # the memory the parameter left is not written
        runs[native_on] = [x.detach().clone() for x in xs]
    assert _bits_equal(runs[True], runs[False])


def test_checkpoint_resumes_bit_for_bit_and_switching_paths() -> None:
    """A state_dict saved mid-run on the loop resumes bit for bit; switching to the replay or the plain rule
    mid-run continues from the same state."""
    params, grads = _problem(torch.float32, shapes=((5000,), (31, 7)))
    straight = [p.clone().requires_grad_() for p in params]
    opt = create("adam", straight, lr=0.01)
    for gs in grads[:2]:
        for p, g in zip(straight, gs):
            p.grad = g.clone()
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    resumed = [p.detach().clone().requires_grad_() for p in straight]
    for gs in grads[2:]:
        for p, g in zip(straight, gs):
            p.grad = g.clone()
        opt.step()
    again = create("adam", resumed, lr=0.01)
    again.load_state_dict(saved)
    for gs in grads[2:]:
        for p, g in zip(resumed, gs):
            p.grad = g.clone()
        again.step()
    assert all(torch.equal(p, q) for p, q in zip(straight, resumed))
    # the same run with the third step on the replay and the fourth by the plain rule
    switched = [p.clone().requires_grad_() for p in params]
    opt = create("adam", switched, lr=0.01)
    for index, gs in enumerate(grads):
        for p, g in zip(switched, gs):
            p.grad = g.clone()
        if index == 2:
            with native.switched_off():
                opt.step()
        else:
            opt.fused = False if index == 3 else None
            opt.step()
    assert all(torch.allclose(p, q, rtol=1e-5, atol=1e-6) for p, q in zip(switched, straight))


def test_threads_stepping_their_own_optimizers_match_sequential_runs() -> None:
    """Four Python threads each stepping its own optimizer (the loop releases the GIL and splits work over
    threads) give exactly the sequential results; and any split of the loop gives the same bits."""
    params, grads = _problem(torch.float32, shapes=((200_000,), (300,)))

    def run(index: int, out: list) -> None:
        mine = [p.clone().mul_(1 + index / 10).requires_grad_() for p in params]
        opt = create("rmsprop", mine, lr=0.01, momentum=0.9)
        for gs in grads:
            for p, g in zip(mine, gs):
                p.grad = g.clone()
            opt.step()
        out[index] = mine

    sequential: list = [None] * 4
    for i in range(4):
        run(i, sequential)
    parallel: list = [None] * 4
    threads = [threading.Thread(target=run, args=(i, parallel)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(p, q) for i in range(4) for p, q in zip(sequential[i], parallel[i]))
    # the kernel's own split: 1, 2 and 3 threads, and 2 POSIX threads (a negative count: a forked child's)
    spec, hp = REGISTRY["adam"], REGISTRY["adam"].resolve({"lr": 0.01})
    x = params[0]
    plan = inplace.plan_for(spec, hp, x, spec.init(x, hp), fma=True)
    kernel = native.kernel_for(plan, torch.float32)
    results = []
    for count in (1, 2, 3, -2):
        tensors = {name: [x.clone() if name == "x" else (grads[0][0].clone() if name == "g" else x.abs().clone())]
                   for name in kernel.buffers}
        kernel(tensors, [0.01, 0.5], 1, threads=count)
        results.append(tensors)
    assert all(torch.equal(results[0][k][0], r[k][0]) for r in results[1:] for k in kernel.buffers)


ONE_RUNTIME = textwrap.dedent("""
    import torch
    from descentlab import torch_optim
    from descentlab.engine.paths import inplace, native

    x = torch.zeros(1 << 20, requires_grad=True)
    x.grad = torch.ones(1 << 20)
    torch_optim.Adam([x], lr=0.01).step()  # (over 2^18 values: split over threads)
    kernels = [k for plan in inplace._PLANS.values() if plan for k in plan.__dict__.get("_native", {}).values()]
    runtimes = {line.split()[-1] for line in open("/proc/self/maps") if "libgomp" in line}
    print(int(kernels[0].function.openmp), len(runtimes), sorted(runtimes))
""")


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps (Linux)")
def test_the_loop_runs_on_torchs_own_openmp_threads() -> None:
    """Built with OpenMP, the kernel's threads are those of the OpenMP runtime torch loaded: a new process that only
    imports torch and descentlab and steps has one runtime, torch's (no thread started per step; POSIX threads
    started beside torch's spinning workers ran at half speed).  (In a process that also imported, say, scikit-learn,
    its own copy of libgomp is there too.)"""
    done = subprocess.run([sys.executable, "-c", ONE_RUNTIME], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "DESCENTLAB_CACHE": str(native.cache_dir())}, check=True)
    openmp, count, runtimes = done.stdout.split(maxsplit=2)
    if openmp == "0":
        pytest.skip(f"{native.compiler()} builds without OpenMP here")
    assert count == "1" and "torch" in runtimes, runtimes


FORKED = textwrap.dedent("""
    import os, sys, torch
    from descentlab import torch_optim

    def steps(threads):
        torch.set_num_threads(1)  # (torch's own parallel ops hang in a forked child: only the step gets threads)
        g = torch.Generator().manual_seed(0)
        x = torch.randn(1 << 21, generator=g).requires_grad_()
        x.grad = torch.randn(1 << 21, generator=g)
        opt = torch_optim.Adam([x], lr=0.01)
        opt.step()
        torch.set_num_threads(threads)
        opt.step(); opt.step()
        torch.set_num_threads(1)
        return x.detach()

    mine = steps(2)  # the OpenMP pool now exists in this process
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, bytes([int(torch.equal(steps(2), mine))]))
        os._exit(0)
    os.waitpid(child, 0)
    print("equal" if os.read(read, 1) == bytes([1]) else "different")
""")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_steps_on_threads_of_its_own() -> None:
    """A child forked after steps ran on OpenMP threads (whose pool stays in the parent) still steps on two threads
    and gets the parent's numbers: it would wait for the parent's threads forever on OpenMP's."""
    done = subprocess.run([sys.executable, "-c", FORKED], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "DESCENTLAB_CACHE": str(native.cache_dir())})
    assert done.returncode == 0 and done.stdout.strip() == "equal", done.stderr[-2000:]


def test_kernels_are_cached_on_disk_and_loaded_by_later_processes(tmp_path, monkeypatch) -> None:
    """A kernel compiles once into the cache directory (atomically, named by its source's hash); a later load
    (a new process: here the in-process memory is cleared) finds the file and does not compile."""
    monkeypatch.setenv("DESCENTLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "_LOADED", {})
    compiled = []
    real = native._compile
    monkeypatch.setattr(native, "_compile", lambda *a: compiled.append(a) or real(*a))
    text = _tiny_source()
    assert native.build(text) is not None and len(compiled) == 1
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.endswith(".so") for name in files) and not any(name.startswith(".") for name in files)
    monkeypatch.setattr(native, "_LOADED", {})
    assert native.build(text) is not None and len(compiled) == 1


def _tiny_source() -> str:
    spec, hp = REGISTRY["sgd"], REGISTRY["sgd"].resolve({"lr": 0.5})
    x = torch.zeros(3)
    return native.Source(inplace.plan_for(spec, hp, x, spec.init(x, hp), fma=True), torch.float32).text


def test_without_a_compiler_the_replay_runs_and_the_log_says_so_once(monkeypatch, caplog) -> None:
    monkeypatch.setattr(native, "compiler", lambda: None)
    monkeypatch.setattr(native, "_LOADED", {})
    monkeypatch.setattr(native, "_SAID", set())
    monkeypatch.setattr(inplace, "_PLANS", {})
    with caplog.at_level(logging.INFO, logger="descentlab"):
        loop_x, _ = _run("adam", REGISTRY["adam"].resolve({"lr": 0.01}), torch.float32, compiled=True)
        _run("rmsprop", REGISTRY["rmsprop"].resolve({"lr": 0.01}), torch.float32, compiled=True)
    said = [r for r in caplog.records if "no C compiler" in r.getMessage()]
    assert len(said) == 1
    replay_x, _ = _run("adam", REGISTRY["adam"].resolve({"lr": 0.01}), torch.float32, compiled=False)
    assert _bits_equal(loop_x, replay_x)


def test_a_non_contiguous_gradient_takes_the_replay() -> None:
    spec, hp = REGISTRY["adam"], REGISTRY["adam"].resolve({"lr": 0.01})
    x = torch.randn(64, 32)
    y = x.clone()
    g = torch.randn(32, 64).t()  # not contiguous
    states = [spec.init(x, hp)]
    other = [spec.init(y, hp)]
    step_in_batches(spec, [x], [g], states, hp, cache={}, site=0)
    with native.switched_off():
        step_in_batches(spec, [y], [g], other, hp, cache={}, site=0)
    assert torch.equal(x, y)


def test_the_loop_makes_no_temporaries() -> None:
    """One step on the loop allocates nothing the size of a parameter (the replay's Adam makes one temporary)."""
    from descentlab.bench.steps import allocated_during_step

    p = torch.randn(1 << 20, requires_grad=True)
    p.grad = torch.randn_like(p)
    opt = create("adam", [p], lr=0.01)
    opt.step()
    assert allocated_during_step(opt) < p.numel() * p.element_size() / 4


def test_mkl_root_is_torchs_root() -> None:
    """The premise of torch's bits: torch's float32 CPU sqrt is the routine the loop is given (or, where torch has
    no MKL, the loop takes C's root and the check against the replay decides)."""
    address = mkl.torch_root("float")
    if address is None:
        pytest.skip("torch has no MKL here")
    root = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(address)
    x = torch.rand(10_007, generator=torch.Generator().manual_seed(1)) * 4
    out = torch.empty_like(x)
    root(x.numel(), x.data_ptr(), out.data_ptr())
    assert torch.equal(out, x.sqrt())


def _adam_kernel(dtype: torch.dtype = torch.float32) -> "native.Kernel":
    spec, hp = REGISTRY["adam"], REGISTRY["adam"].resolve({"lr": 0.01})
    x = torch.zeros(4, dtype=dtype)
    plan = inplace.plan_for(spec, hp, x, spec.init(x, hp), fma=True)
    kernel = native.kernel_for(plan, dtype)
    assert kernel is not None
    return kernel


needs_written_root = pytest.mark.skipif(not native.emulated_root_possible(), reason="no AVX-512 F/VL here")


@needs_written_root
def test_torchs_root_is_written_into_the_one_loop() -> None:
    """On an AVX-512 processor a float32 plan with a root is one loop that takes the written-out root (no stages,
    no call to MKL), and the per-process check on a sample passed."""
    kernel = _adam_kernel()
    assert kernel.source.emulated_root and kernel.source.stages == 1 and kernel.root is None
    assert kernel.source.vectorized and "dl_root_v(" in kernel.source.text  # (the root inline on whole vectors)
    assert native._ROOT_VERDICT == [True]
    assert not _adam_kernel(torch.float64).source.emulated_root  # (float64 keeps MKL's vdSqrt between stages)


needs_vector_loop = pytest.mark.skipif(not native.vector_loop_possible(), reason="no AVX-512 F/VL here")


def _vector_sources() -> list:
    return [kernel.source for plan in inplace._PLANS.values() for kernel in plan.__dict__.get("_native", {}).values()
            if kernel is not None]


@needs_vector_loop
@pytest.mark.parametrize("name, given", SETTINGS, ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v.values()))[:40])
def test_the_loop_on_whole_vectors_gives_the_replays_bits_at_every_length(name, given, monkeypatch) -> None:
    """Every float32 plan runs on 16-value vectors and the rest value by value: tensors of 1 to 49 values (none,
    one and several whole vectors, with and without a rest) give the replay's bits."""
    hp = _valid(name, given)
    if hp is None:
        pytest.skip("not a valid setting")
    shapes = tuple((length,) for length in (1, 15, 16, 17, 31, 32, 33, 48, 49))
    monkeypatch.setattr(inplace, "_PLANS", {})  # (this test's plans only)
    cache: dict = {}
    loop_x, loop_states = _run(name, hp, torch.float32, compiled=True, cache=cache, shapes=shapes)
    replay_x, replay_states = _run(name, hp, torch.float32, compiled=False, shapes=shapes)
    assert _bits_equal(loop_x, replay_x)
    for mine, theirs in zip(loop_states, replay_states):
        assert _bits_equal([mine[k] for k in theirs], list(theirs.values()))
    sources = _vector_sources()
    assert sources and all(source.vectorized and "_mm_prefetch(" in source.text for source in sources)


@needs_vector_loop
@pytest.mark.parametrize("name, given, helper", [("yogi", {"lr": 0.01}, "dl_sign_v("),
                                                 ("adam", {"lr": 0.01, "amsgrad": True}, "dl_maximum_v(")])
def test_sign_and_maximum_on_whole_vectors_keep_the_replays_bits_on_zeros_ties_and_nans(name, given, helper,
                                                                                     monkeypatch) -> None:
    """Yogi's sign and AMSGrad's maximum on whole vectors: gradients of signed zeros, infinities, nans and values
    that leave the moment where it was (sign of zero, ties of the maximum) step as the replay does, bit for bit."""
    hp = REGISTRY[name].resolve(given)
    odd = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-30, -1e-30, 1.0, -1.0, 3e-20, 2.0, -0.5]
    grads = [torch.tensor(odd * 4), torch.tensor(odd * 4), torch.zeros(48), torch.tensor(odd[::-1] * 4) * 0.5]
    monkeypatch.setattr(inplace, "_PLANS", {})
    results = []
    for compiled in (True, False):
        spec, xs = REGISTRY[name], [torch.linspace(-1, 1, 48)]
        states = [spec.init(xs[0], hp)]
        with contextlib.nullcontext() if compiled else native.switched_off():
            for g in grads:
                step_in_batches(spec, xs, [g], states, hp, cache={}, site=0)
        results.append([xs[0], *states[0].values()])
    assert _bits_equal(*results)
    assert any(source.vectorized and helper in source.text for source in _vector_sources())


@needs_written_root
@pytest.mark.slow
def test_the_written_root_is_torchs_on_every_float32() -> None:
    """All 2^32 float32 bit patterns: the kernel's root equals torch's sqrt bit for bit (zeros, subnormals, the
    2^-64 bound, infinities, NaN payloads and negatives included)."""
    function = _adam_kernel().function.library.descentlab_roots
    chunk = 1 << 24
    out = torch.empty(chunk, dtype=torch.float32)
    bits = torch.empty(chunk, dtype=torch.int32)
    for start in range(-(1 << 31), 1 << 31, chunk):
        x = torch.arange(start, start + chunk, dtype=torch.int32, out=bits).view(torch.float32)
        function(chunk, x.data_ptr(), out.data_ptr())
        differ = out.view(torch.int32) != x.sqrt().view(torch.int32)
        assert not differ.any(), f"x bits {x[differ][:4].view(torch.int32).tolist()}"


def test_a_written_root_that_disagrees_gives_way_to_mkls(monkeypatch) -> None:
    """If the per-process check finds the written root is not torch's here, kernels take MKL's routine between
    stages and still give torch's bits."""
    monkeypatch.setattr(native, "_ROOT_VERDICT", [False])
    spec, hp = REGISTRY["adam"], REGISTRY["adam"].resolve({"lr": 0.01})
    x = torch.zeros(4)
    plan = inplace.plan_for(spec, hp, x, spec.init(x, hp), fma=True)
    plan.__dict__.pop("_native", None)
    kernel = native.kernel_for(plan, torch.float32)
    assert kernel is not None and not kernel.source.emulated_root and kernel.source.stages > 1
    plan.__dict__.pop("_native", None)
