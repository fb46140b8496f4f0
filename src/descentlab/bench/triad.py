"""The memory-bandwidth ceiling ``bench steps`` puts every step against: a STREAM triad run as our kernels run.

The triad is ``c[i] = a[i] + s * b[i]`` over three float32 arrays of
:data:`TRIAD_VALUES` values (128 MiB each, far beyond a core's caches), written
as a C loop and compiled by :func:`descentlab.engine.paths.native.build`: the same
compiler, flags (``-O3 -march=native -ffp-contract=off``) and on-disk cache as
the optimizer kernels, split the way they split a step (equal contiguous ranges
cut at whole cache lines, ``torch.get_num_threads()`` threads of torch's own
OpenMP runtime, or POSIX threads where the compiler has no OpenMP).  So a step's
share of the triad compares two loops built and run alike, and differs only in
what they move.

* **Bytes.**  The triad counts 12 bytes per value, STREAM's convention: read
  ``a`` and ``b``, write ``c``.  The processor also reads each cache line of
  ``c`` before writing it (write-allocate); that read is not counted, as STREAM
  does not count it.  An optimizer step writes only what it has read (``x`` and
  its state, in place), so it has no such hidden read.
* **Why a step can exceed it.**  A few threads of a large server processor do
  not saturate its memory: each core can wait for only so many cache lines at
  once, so a loop's pace is set by the lines it reads.  The triad reads three
  per 16 values (``a``, ``b`` and ``c``'s write-allocate) for 12 counted bytes;
  an SGD step (``x = x - lr g``) reads two for the same 12 bytes and can run at
  about 3/2 of the triad, and rules that read more state per counted byte
  further above it.  So the same loop is also timed in place, ``a = a + s b``
  (an SGD step's traffic exactly): ``in_place_gb_per_s``.
* **Which timing.**  The triad is timed in blocks of a few runs, and the
  ceiling is the *best* block's median: a ceiling is what the machine can do,
  and a busy neighbour only ever makes a run slower (STREAM reports its best
  time for that reason); a block's median rather than the single fastest run
  keeps one lucky reading of the clock out.  ``bench steps`` measures it at the
  start and at the end of a run and keeps the better.  Steps are medians, so on
  a loaded machine a step's share is an understatement, never an overstatement.
* **Without a C compiler** (or when the loop cannot be built) the triad is
  ``torch.add(a, b, alpha=2, out=c)``, torch's own threads; the record says
  which ran (``method``).  ``DESCENTLAB_NATIVE=0`` does not change it: the
  ceiling is the machine's, whichever path the steps take.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

TRIAD_VALUES = 32 * 2**20
"""Values per array: three float32 arrays of 128 MiB."""

BYTES_PER_VALUE = 12
"""STREAM's count for the triad: read a and b, write c (the write-allocate read of c is not counted)."""

BLOCKS = 5
RUNS_PER_BLOCK = 5

C_METHOD = "C loop, OpenMP threads"
C_POSIX_METHOD = "C loop, POSIX threads"
"""The C triad's threads: torch's OpenMP runtime, or POSIX threads where the compiler has no OpenMP (as the kernels)."""
TORCH_METHOD = "torch.add"

_SOURCE = r"""
/* descentlab bench: the STREAM triad c = a + s*b over float32, split over threads as the optimizer kernels are */
struct part { long lo, hi; const float *a; const float *b; float *c; float s; };

static void *triad(void *arg)
{
    const struct part *p = (const struct part *)arg;
    const float *a = p->a, *b = p->b;
    float *c = p->c;
    const float s = p->s;
    for (long i = p->lo; i < p->hi; ++i) c[i] = a[i] + s * b[i];
    return 0;
}

/* the optimizer kernels' signature: sizes[0] values; ptrs a, b, c; cs[0] the scalar s; threads < 0: POSIX threads */
__attribute__((visibility("default")))
int descentlab_step(long count, const long *sizes, void *const *ptrs, const double *pt, const double *cs, long threads,
                    void *root)
{
    (void)count; (void)pt; (void)root;
    long n = sizes[0];
    int posix = threads < 0;
    if (posix) threads = -threads;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    struct part parts[64];
    for (long k = 0; k < threads; ++k) {
        struct part one = {dl_cut(n, k, threads), dl_cut(n, k + 1, threads), (const float *)ptrs[0],
                           (const float *)ptrs[1], (float *)ptrs[2], (float)cs[0]};
        parts[k] = one;
    }
    dl_split(threads, posix, triad, (char *)parts, sizeof parts[0]);
    return 0;
}
"""


@dataclass(frozen=True)
class Triad:
    """One triad measurement: GB/s at :data:`BYTES_PER_VALUE` bytes per value, how it ran, and its spread."""

    gb_per_s: float  # the best block's median
    median_gb_per_s: float  # the median of every timed run (how loaded the machine was)
    in_place_gb_per_s: float  # the in-place triad a = a + s b (an SGD step), its best block's median, 12 B per value
    method: str  # C_METHOD, C_POSIX_METHOD or TORCH_METHOD
    values: int
    threads: int

    def better(self, other: Triad) -> Triad:
        """The measurement with the higher ceiling (the run's triad: measured at its start and its end)."""
        return other if other.gb_per_s > self.gb_per_s else self


def c_triad(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, s: float = 2.0,
            threads: int | None = None) -> Callable[[], object] | None:
    """A call that runs the C triad ``c = a + s b`` once (contiguous float32 tensors of one size), or ``None`` when it
    cannot be built here (no C compiler, a failed build; :mod:`descentlab.engine.paths.native` says so on the log)."""
    from ..engine.paths import native

    if not all(t.dtype == torch.float32 and t.is_contiguous() and t.device.type == "cpu" for t in (a, b, c)):
        raise ValueError("the triad runs on contiguous float32 CPU tensors")
    if not a.numel() == b.numel() == c.numel():
        raise ValueError("the triad's arrays must have one size")
    function = native.build(native.SPLIT_C + _SOURCE)
    if function is None:
        return None
    sizes = torch.tensor([a.numel()], dtype=torch.int64)
    pointers = torch.tensor([a.data_ptr(), b.data_ptr(), c.data_ptr()], dtype=torch.int64)
    scalar = torch.tensor([s], dtype=torch.float64)
    count = torch.get_num_threads() if threads is None else threads

    def run() -> object:
        return function(1, sizes.data_ptr(), pointers.data_ptr(), None, scalar.data_ptr(), count, None)

    run.arrays = (a, b, c)  # type: ignore[attr-defined]  # (alive as long as the call that writes them)
    run.openmp = function.openmp  # type: ignore[attr-defined]
    return run


def measure_triad(values: int = TRIAD_VALUES, blocks: int = BLOCKS, runs: int = RUNS_PER_BLOCK,
                  use_c: bool = True) -> Triad:
    """The triad's bandwidth on ``values``-value float32 arrays: the best of ``blocks`` block medians of ``runs`` runs
    each, after a warm-up (see the module's note); the C loop unless ``use_c`` is false or it cannot be built.

    Each block also times the in-place triad ``a = a + s b`` (the same loop writing into ``a``: an SGD step), in turn
    with the triad, so that both see the same load.
    """
    generator = torch.Generator().manual_seed(0)
    a, b = torch.rand(values, generator=generator), torch.rand(values, generator=generator)
    c = torch.empty(values)
    triad, in_place = (c_triad(a, b, c), c_triad(a, b, a)) if use_c else (None, None)
    method = C_METHOD if getattr(triad, "openmp", False) else C_POSIX_METHOD
    if triad is None or in_place is None:
        method = TORCH_METHOD

        def triad() -> object:
            return torch.add(a, b, alpha=2, out=c)

        def in_place() -> object:
            return a.add_(b, alpha=2)
    times: dict[Callable[[], object], list[list[float]]] = {triad: [], in_place: []}
    for run, blocks_of_run in times.items():
        for _ in range(3):  # the pages of c touched, the library loaded
            run()
    for _ in range(blocks):
        for run, blocks_of_run in times.items():
            run()
            blocks_of_run.append([_seconds(run) for _ in range(runs)])
    moved = BYTES_PER_VALUE * values / 1e9

    def best(run: Callable[[], object]) -> float:
        return moved / min(statistics.median(block) for block in times[run])

    every = statistics.median(t for block in times[triad] for t in block)
    return Triad(best(triad), moved / every, best(in_place), method, values, torch.get_num_threads())


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


__all__ = ["BYTES_PER_VALUE", "C_METHOD", "C_POSIX_METHOD", "TORCH_METHOD", "TRIAD_VALUES", "Triad", "c_triad", "measure_triad"]
