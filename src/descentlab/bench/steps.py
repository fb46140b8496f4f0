"""Optimizer-step benchmarks: our plain and fast paths against torch.optim's foreach and fused paths.

Returns records, never prints.  For each algorithm and parameter layout it times
one ``optimizer.step()`` on every path (median over repeats after warm-up, the
paths taking turns in a few rounds so that the machine's drift reaches all alike), and
puts it against memory bandwidth: the minimum bytes a step must move (read ``x``,
``g`` and every state tensor, write ``x`` and the state) divided by the time, and
that as a share of the STREAM triad (``c = a + s b``, :mod:`descentlab.bench.triad`: a C loop
built and threaded as our kernels are) measured at the start and the end of the run,
and what one step allocates (its temporaries) according to the torch profiler.

Each algorithm is compared with the torch.optim class computing the same update
through :data:`descentlab.engine.torch_names.TORCH_COUNTERPARTS`, the conventions of the README's table
(:data:`~descentlab.bench.layouts.TIMED` says which; Yogi has no torch.optim class, so its ratios are ``None``).

Memory: the paths share the parameters and their gradients; each path keeps its own
optimizer state, and one algorithm's optimizers are freed before the next one's
parameters are made.  So a run's peak is about ``values x 4 bytes x (2 + paths x
state tensors)`` plus torch foreach's temporaries: for Adam on the ``gpt2`` layout
(124M values) with the six paths of the measured table, 0.5 GB x (2 + 6 x 2) = 7 GB
and a temporary or two of 0.5 GB (8.0 GiB peak resident, measured: ``peak_rss_mib``).
"""

from __future__ import annotations

import contextlib
import math
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import torch

from ..optim import create
from ..engine.torch_names import TORCH_COUNTERPARTS
from .layouts import LAYOUTS, TIMED, Layout, Timed
from .triad import BYTES_PER_VALUE, measure_triad

ROUNDS = 3
"""Turns in which the paths' timed steps are split (see :func:`_medians_in_rounds`)."""


TORCH_FUSED = frozenset({"SGD", "Adagrad", "Adam", "AdamW"})
"""The torch.optim classes with a fused CPU kernel (in torch 2.13)."""


@dataclass(frozen=True)
class StepRow:
    algorithm: str
    layout: str
    path: str  # one of layouts.STEP_PATHS
    median_ms: float
    first_step_s: float  # the first step (compilation, for the fast path)
    min_bytes: int  # the least a step must read and write
    gb_per_s: float
    triad_share: float  # gb_per_s / the triad's (STREAM's 12 bytes per value)
    speedup_vs_torch_best: float | None  # torch's fastest path time / this path's time (None: no torch path, Yogi)
    speedup_vs_torch_default: float | None  # torch's default path time / this path's time
    allocated_mib: float  # memory allocated during one step (temporaries), by the profiler
    peak_extra_mib: float | None = None  # the most memory in use during a step beyond its start (--peak-memory)
    speedup_vs_torch_foreach: float | None = None  # torch's foreach time / this path's (None: not timed)
    speedup_vs_torch_fused: float | None = None  # torch's fused time / this path's (None: torch has none)
    fresh_first_step_cold_s: float | None = None  # "ours default": a new process's first step, empty kernel cache
    fresh_first_step_warm_s: float | None = None  # ... and with the kernel cache the cold one left (--first-step)
    in_place_share: float | None = None  # gb_per_s / the in-place loop's (a = a + s b: read what it writes, as a step)


@dataclass(frozen=True)
class StepBench:
    rows: tuple[StepRow, ...]
    triad_gb_per_s: float  # the ceiling: the better of the run's two triad measurements (see descentlab.bench.triad)
    triad_values: int
    repeats: int
    dtype: str
    torch_version: str
    torch_threads: int
    triad_method: str = ""  # triad.C_METHOD (our C loop) or triad.TORCH_METHOD (torch.add: no C compiler)
    triad_bytes_per_value: int = BYTES_PER_VALUE  # STREAM's count (the write-allocate read of c not counted)
    triad_median_gb_per_s: float | None = None  # the median of that measurement's runs (how loaded the machine was)
    triad_in_place_gb_per_s: float | None = None  # the same loop writing into a (a = a + s b: an SGD step)
    peak_rss_mib: float | None = None  # the process's peak resident memory by the end of the run
    stood_still: tuple[tuple[str, str, str], ...] = ()  # (algorithm, layout, path): its step left (nearly) every
    # parameter as it was, where the plain rule's moved them: not timed

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["suite"] = "steps"
        return record


def _seconds(step: Callable[[], Any]) -> float:
    start = time.perf_counter()
    step()
    return time.perf_counter() - start


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

    timed = TIMED[algorithm]
    argument = json.dumps([timed.rule, [list(shape) for shape in layout], _ours(timed), str(dtype).replace("torch.", "")])
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


def _ours(timed: Timed) -> dict[str, Any]:
    """Our setting of ``timed`` in torch's convention (its counterpart's ``fixed`` settings added)."""
    counterpart = TORCH_COUNTERPARTS.get(timed.rule)
    return {**(counterpart.fixed if counterpart else {}), **timed.settings}


def _torch(timed: Timed) -> tuple[type[torch.optim.Optimizer], dict[str, Any]] | None:
    """torch.optim's class for ``timed`` and the setting in its names, or ``None`` (torch.optim has none)."""
    if timed.torch_class is None or timed.rule not in TORCH_COUNTERPARTS:
        return None
    counterpart = TORCH_COUNTERPARTS[timed.rule]
    theirs = {counterpart.names[name]: value for name, value in timed.settings.items() if name not in timed.implied}
    return getattr(torch.optim, timed.torch_class or counterpart.class_name), theirs


def _optimizers(algorithm: str, params: list[torch.Tensor], paths: Sequence[str] | None = None) -> dict[str, torch.optim.Optimizer]:
    timed = TIMED[algorithm]
    rule, ours = timed.rule, _ours(timed)
    found: dict[str, Callable[[], torch.optim.Optimizer]] = {
        "ours default": lambda: create(rule, params, **ours),
        "ours replay": lambda: _Replayed(create(rule, params, **ours)),
        "ours plain": lambda: create(rule, params, fused=False, **ours),
        "ours fast": lambda: create(rule, params, fused=True, **ours),
    }
    if timed.notes is not None:
        found["ours notes"] = lambda: create(rule, params, **timed.notes)
    theirs = _torch(timed)
    if theirs is not None:
        cls, settings = theirs
        found["torch default"] = lambda: cls(params, **settings)
        found["torch foreach"] = lambda: cls(params, foreach=True, **settings)
        if cls.__name__ in TORCH_FUSED:
            found["torch fused"] = lambda: cls(params, fused=True, **settings)
    order = [path for path in (paths if paths is not None else found) if path in found]
    order += [path for path in ("ours plain", "torch default") if path in found and path not in order]  # the references
    return {path: found[path]() for path in sorted(order, key=_PATH_ORDER.index)}


_PATH_ORDER = ["ours default", "ours notes", "ours replay", "ours plain", "ours fast", "torch default", "torch foreach",
               "torch fused"]


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
    """Read x, g and each state tensor; write x and each state tensor (0-dim counters ignored), each in its own dtype
    (a 16-bit parameter's state is float32 in our rule, with its rounding error kept in 16 bits)."""
    total = 0
    for p in (p for group in optimizer.param_groups for p in group["params"]):
        state_tensors = [v for v in optimizer.state[p].values() if isinstance(v, torch.Tensor) and v.dim() > 0]
        total += 3 * p.numel() * p.element_size() + 2 * sum(v.numel() * v.element_size() for v in state_tensors)
    return total


def bench_steps(
    algorithms: Sequence[str] = tuple(TIMED),
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
    """Time every path of every algorithm on every layout, between two triad measurements (the better one is the
    run's ceiling, :mod:`descentlab.bench.triad`).

    ``paths`` picks the paths (default all; "ours plain" and "torch default" are always
    timed: the rows' ratios refer to them).  ``peak_memory`` adds each step's peak memory beyond its start (:func:`peak_during_step`; slow).
    ``first_step`` adds the default path's first step in new processes, cold and warm (:func:`fresh_first_steps`),
    all run before this process makes any tensor: in a run that had made and freed gigabytes, a new process's first
    GPT-2 step took seconds where alone it took a fraction of one.
    """
    fresh: dict[tuple[str, str], tuple[float | None, float | None]] = {}
    if first_step and (paths is None or "ours default" in paths):
        # first, while this process holds no tensors (a new process's first step meets the memory a user's does)
        for layout in layouts:
            for algorithm in algorithms:
                if progress is not None:
                    progress(f"the first step of {algorithm} on {layout} in new processes")
                fresh[algorithm, layout] = fresh_first_steps(algorithm, LAYOUTS[layout], dtype)
    triad = measure_triad()
    rows: list[StepRow] = []
    stood_still: list[tuple[str, str, str]] = []
    for layout in layouts:
        for algorithm in algorithms:
            if progress is not None:
                progress(f"{algorithm} on {layout}")
            rows += _time_one(algorithm, layout, dtype, paths, repeats, warmup, peak_memory,
                              fresh.get((algorithm, layout), (None, None)), stood_still)
    triad = triad.better(measure_triad())
    rows = [replace(row, triad_share=row.gb_per_s / triad.gb_per_s,
                    in_place_share=row.gb_per_s / triad.in_place_gb_per_s if triad.in_place_gb_per_s else None)
            for row in rows]
    return StepBench(tuple(rows), triad.gb_per_s, triad.values, repeats, str(dtype).replace("torch.", ""),
                     torch.__version__, torch.get_num_threads(), triad.method, BYTES_PER_VALUE, triad.median_gb_per_s,
                     triad.in_place_gb_per_s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                     tuple(stood_still))


def _time_one(algorithm: str, layout: str, dtype: torch.dtype, paths: Sequence[str] | None, repeats: int, warmup: int,
              peak_memory: bool, fresh: tuple[float | None, float | None],
              stood_still: list[tuple[str, str, str]]) -> list[StepRow]:
    """The rows of one algorithm on one layout (their triad shares left for the caller); its tensors are freed on
    return.  A path whose first step changes under a tenth as many values as the plain rule's (of each tensor's first
    4096) is not timed (nor compared with): it is added to ``stood_still``."""
    params = _parameters(LAYOUTS[layout], dtype)
    optimizers = _optimizers(algorithm, params, paths)
    first, moved = {}, {}
    for path, optimizer in optimizers.items():
        before = [p.detach().flatten()[:4096].clone() for p in params]
        first[path] = _seconds(optimizer.step)
        moved[path] = sum(int((p.detach().flatten()[:4096] != b).sum()) for p, b in zip(params, before))
    for path in [path for path in optimizers if moved[path] < moved["ours plain"] / 10]:
        del optimizers[path]  # (torch 2.13.0's fused SGD leaves 16-bit parameters as they were, on the CPU)
        stood_still.append((algorithm, layout, path))
    seconds = _medians_in_rounds(optimizers, repeats, warmup)
    theirs = [time for path, time in seconds.items() if path.startswith("torch")]
    torch_best = min(theirs) if theirs else None
    torch_default = seconds.get("torch default")
    foreach, fused = seconds.get("torch foreach"), seconds.get("torch fused")
    minimum = _min_bytes(optimizers["ours plain"])
    rows = []
    for path, optimizer in optimizers.items():
        time = seconds[path]
        rows.append(StepRow(algorithm, layout, path, time * 1e3, first[path], minimum, minimum / time / 1e9, math.nan,
                            _ratio(torch_best, time), _ratio(torch_default, time),
                            allocated_during_step(optimizer) / 2**20,
                            peak_during_step(optimizer) if peak_memory else None,
                            _ratio(foreach, time), _ratio(fused, time),
                            *(fresh if path == "ours default" else (None, None))))
    return rows


def _ratio(theirs: float | None, ours: float) -> float | None:
    return theirs / ours if theirs else None
