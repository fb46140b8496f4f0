"""Optimizer-step benchmarks: our plain and fast paths against torch.optim's foreach and fused paths.

Returns records, never prints.  For each algorithm and parameter layout it times
one ``optimizer.step()`` on every path (median over repeats after warm-up, the
paths taking turns in a few rounds so that the machine's drift reaches all alike), and
puts it against memory bandwidth: the minimum bytes a step must move (read ``x``,
``g`` and every state tensor, write ``x`` and the state) divided by the time, and
that as a share of a STREAM-style triad (``c = a + 2 b``) timed in the same run,
and what one step allocates (its temporaries) according to the torch profiler.

Each algorithm is compared with the torch.optim class computing the same update
through :data:`descentlab.engine.torch_names.TORCH_COUNTERPARTS`, the conventions of the README's table.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..optim import create
from ..engine.torch_names import TORCH_COUNTERPARTS
from .layouts import COUNTERPARTS, LAYOUTS, Layout

ROUNDS = 3
"""Turns in which the paths' timed steps are split (see :func:`_medians_in_rounds`)."""


TORCH_FUSED = frozenset({"sgd", "momentum", "adagrad", "adam"})
"""The algorithms whose torch.optim class has a fused CPU kernel (in torch 2.13)."""

TRIAD_VALUES = 32 * 2**20


@dataclass(frozen=True)
class StepRow:
    algorithm: str
    layout: str
    path: str  # "ours default", "ours plain", "ours fast", "torch default", "torch foreach", "torch fused"
    median_ms: float
    first_step_s: float  # the first step (compilation, for the fast path)
    min_bytes: int  # the least a step must read and write
    gb_per_s: float
    triad_share: float  # gb_per_s / the triad's
    speedup_vs_torch_best: float  # torch's fastest path time / this path's time
    speedup_vs_torch_default: float  # torch's default path time / this path's time
    allocated_mib: float  # memory allocated during one step (temporaries), by the profiler
    peak_extra_mib: float | None = None  # the most memory in use during a step beyond its start (--peak-memory)
    speedup_vs_torch_foreach: float | None = None  # torch's foreach time / this path's (None: not timed)
    speedup_vs_torch_fused: float | None = None  # torch's fused time / this path's (None: torch has none)
    fresh_first_step_cold_s: float | None = None  # "ours default": a new process's first step, empty kernel cache
    fresh_first_step_warm_s: float | None = None  # ... and with the kernel cache the cold one left (--first-step)


@dataclass(frozen=True)
class StepBench:
    rows: tuple[StepRow, ...]
    triad_gb_per_s: float
    triad_values: int
    repeats: int
    dtype: str
    torch_version: str
    torch_threads: int

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["suite"] = "steps"
        return record


def triad_bandwidth(values: int = TRIAD_VALUES, repeats: int = 15) -> float:
    """GB/s of ``c = a + 2 b`` on float32 arrays of ``values`` elements (3 arrays moved)."""
    a, b, c = torch.rand(values), torch.rand(values), torch.empty(values)
    seconds = _median(lambda: torch.add(a, b, alpha=2, out=c), repeats, warmup=3)
    return 3 * values * 4 / seconds / 1e9


def _seconds(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


def _median(step: Callable[[], Any], repeats: int, warmup: int) -> float:
    for _ in range(warmup):
        step()
    return statistics.median(_seconds(step) for _ in range(repeats))


def _medians_in_rounds(optimizers: dict[str, torch.optim.Optimizer], repeats: int, warmup: int) -> dict[str, float]:
    """Median step time of each path, timed in :data:`ROUNDS` turns so that the machine's drift reaches all alike.

    In each turn a path first takes ``warmup`` untimed steps, so it is timed with
    its own data in the caches (as in a loop of steps), not what the path before
    it left behind.
    """
    times: dict[str, list[float]] = {path: [] for path in optimizers}
    for turn in range(ROUNDS):
        for path, optimizer in optimizers.items():
            for _ in range(warmup):
                optimizer.step()
            times[path] += [_seconds(optimizer.step) for _ in range(repeats * (turn + 1) // ROUNDS - repeats * turn // ROUNDS)]
    return {path: statistics.median(values) for path, values in times.items()}


def _parameters(layout: Layout, dtype: torch.dtype) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    params = []
    for shape in layout:
        p = torch.randn(shape, generator=generator, dtype=dtype).requires_grad_()
        p.grad = torch.randn(shape, generator=generator, dtype=dtype)
        params.append(p)
    return params


class _Replayed:
    """An optimizer of the default path whose steps run with the compiled loop off (the plan replayed)."""

    def __init__(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer = optimizer

    def step(self) -> Any:
        from ..engine.paths import native

        with native.switched_off():
            return self.optimizer.step()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.optimizer, name)


_FRESH = """
import json, sys, time
import torch
from descentlab.optim import create
algorithm, shapes, hyperparameters, dtype = json.loads(sys.argv[1])
generator = torch.Generator().manual_seed(0)
params = []
for shape in shapes:
    p = torch.randn(shape, generator=generator, dtype=getattr(torch, dtype)).requires_grad_()
    p.grad = torch.randn(shape, generator=generator, dtype=p.dtype)
    params.append(p)
optimizer = create(algorithm, params, **hyperparameters)
start = time.perf_counter()
optimizer.step()
print(time.perf_counter() - start)
"""


def fresh_first_steps(algorithm: str, layout: Layout, dtype: torch.dtype) -> tuple[float, float]:
    """Seconds of the first default step in a new process: with an empty kernel cache (cold), then with the one
    that process left (warm).  Imports and the model's construction are not counted."""
    import json
    import subprocess
    import tempfile

    import descentlab

    counterpart = TORCH_COUNTERPARTS[algorithm]
    hyperparameters = {**counterpart.fixed, **COUNTERPARTS[algorithm]}
    argument = json.dumps([algorithm, [list(shape) for shape in layout], hyperparameters, str(dtype).replace("torch.", "")])
    source = os.path.dirname(os.path.dirname(descentlab.__file__))
    times = []
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "DESCENTLAB_CACHE": cache,
                       "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
        for _ in range(2):
            done = subprocess.run([sys.executable, "-c", _FRESH, argument], capture_output=True, text=True,
                                  env=environment, check=True, timeout=600)
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return times[0], times[1]


def _optimizers(algorithm: str, params: list[torch.Tensor], paths: Sequence[str] | None = None) -> dict[str, torch.optim.Optimizer]:
    given, counterpart = COUNTERPARTS[algorithm], TORCH_COUNTERPARTS[algorithm]
    ours = {**counterpart.fixed, **given}
    theirs = {counterpart.names[name]: value for name, value in given.items()}
    found: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "ours default": lambda: create(algorithm, params, **ours),
        "ours replay": lambda: _Replayed(create(algorithm, params, **ours)),
        "ours plain": lambda: create(algorithm, params, fused=False, **ours),
        "ours fast": lambda: create(algorithm, params, fused=True, **ours),
        "torch default": lambda: counterpart.optimizer(params, **theirs),
        "torch foreach": lambda: counterpart.optimizer(params, foreach=True, **theirs),
    }
    if algorithm in TORCH_FUSED:
        found["torch fused"] = lambda: counterpart.optimizer(params, fused=True, **theirs)
    if paths is None:
        paths = list(found)
    missing = [path for path in ("ours plain", "torch default") if path not in paths]  # the rows' references
    return {path: found[path]() for path in [*paths, *missing] if path in found}


def allocated_during_step(optimizer: torch.optim.Optimizer) -> int:
    """Bytes the allocator hands out during one ``step()`` (its temporaries), by the torch profiler.

    The profiler's C++ side logs to the process's stderr; that is silenced for the
    call, so the command's stderr keeps only its own progress lines.
    """
    with _quiet_stderr(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        optimizer.step()
    return sum(e.self_cpu_memory_usage for e in prof.key_averages() if e.self_cpu_memory_usage > 0)


def peak_during_step(optimizer: torch.optim.Optimizer) -> float:
    """MiB: the most memory in use during one ``step()`` beyond what was in use when it began.

    From the torch profiler's memory timeline (CPU), which needs shapes and stacks
    recorded: several seconds per step on a large layout, hence ``bench steps
    --peak-memory`` only.  The timeline's export is deprecated in torch 2.13 in
    favour of a CUDA-only recorder; there is no CPU replacement yet.
    """
    import json
    import tempfile
    import warnings

    with _quiet_stderr(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True,
                                                 record_shapes=True, with_stack=True) as prof:
        optimizer.step()
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        path = os.path.join(folder, "timeline.json")
        prof.export_memory_timeline(path, device="cpu")
        with open(path) as file:
            _, sizes = json.load(file)
    in_use = [sum(categories) for categories in sizes]
    return (max(in_use) - in_use[0]) / 2**20 if in_use else 0.0


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """File descriptor 2 to /dev/null for the block (C++ logging bypasses ``sys.stderr``)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as sink:
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _min_bytes(optimizer: torch.optim.Optimizer) -> int:
    """Read x, g and each state tensor; write x and each state tensor (0-dim counters ignored)."""
    total = 0
    for p in (p for group in optimizer.param_groups for p in group["params"]):
        state_tensors = [v for v in optimizer.state[p].values() if isinstance(v, torch.Tensor) and v.dim() > 0]
        total += p.numel() * p.element_size() * (3 + 2 * len(state_tensors))
    return total


def bench_steps(
    algorithms: Sequence[str] = tuple(COUNTERPARTS),
    layouts: Sequence[str] = tuple(LAYOUTS),
    *,
    repeats: int = 10,
    warmup: int = 3,
    dtype: torch.dtype = torch.float32,
    paths: Sequence[str] | None = None,
    peak_memory: bool = False,
    first_step: bool = False,
    progress: Callable[[str], None] | None = None,
) -> StepBench:
    """Time every path of every algorithm on every layout; one triad measurement for the run.

    ``paths`` picks the paths (default all; "ours plain" and "torch default" are always
    timed: the rows' ratios refer to them).  ``peak_memory`` adds each step's peak memory beyond its start (:func:`peak_during_step`; slow).
    ``first_step`` adds the default path's first step in new processes, cold and warm (:func:`fresh_first_steps`).
    """
    triad = triad_bandwidth()
    rows: list[StepRow] = []
    for layout in layouts:
        for algorithm in algorithms:
            if progress is not None:
                progress(f"{algorithm} on {layout}")
            optimizers = _optimizers(algorithm, _parameters(LAYOUTS[layout], dtype), paths)
            first = {path: _seconds(optimizer.step) for path, optimizer in optimizers.items()}
            seconds = _medians_in_rounds(optimizers, repeats, warmup)
            torch_best = min(time for path, time in seconds.items() if path.startswith("torch"))
            torch_default = seconds["torch default"]
            foreach, fused = seconds.get("torch foreach"), seconds.get("torch fused")
            minimum = _min_bytes(optimizers["ours plain"])
            fresh = (fresh_first_steps(algorithm, LAYOUTS[layout], dtype)
                     if first_step and "ours default" in optimizers else (None, None))
            for path, optimizer in optimizers.items():
                bandwidth = minimum / seconds[path] / 1e9
                rows.append(StepRow(algorithm, layout, path, seconds[path] * 1e3, first[path], minimum, bandwidth,
                                    bandwidth / triad, torch_best / seconds[path], torch_default / seconds[path],
                                    allocated_during_step(optimizer) / 2**20,
                                    peak_during_step(optimizer) if peak_memory else None,
                                    foreach / seconds[path] if foreach else None,
                                    fused / seconds[path] if fused else None,
                                    *(fresh if path == "ours default" else (None, None))))
    return StepBench(tuple(rows), triad, TRIAD_VALUES, repeats, str(dtype).replace("torch.", ""),
                     torch.__version__, torch.get_num_threads())
