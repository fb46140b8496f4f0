"""``descentlab bench [SUITE]``: timings against a baseline, printed as a table or JSON.

Suites: ``airfoil`` (the default) — ``descentlab train`` against the
notes' training loop; ``steps`` — one optimizer step of every algorithm on every
path (ours default, notes, replay, plain and fast; torch.optim default, foreach and fused) against the
STREAM triad measured in the same run.  A new suite adds an entry to ``SUITES``: a function
``(args) -> record`` and a function ``(record) -> table lines``; its options go
in ``register``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..bench.layouts import LAYOUTS, STEP_PATHS, TIMED
from ..notes.reference import NOTES_AIRFOIL, airfoil_label
from .common import at_most, load_data, seed_count

MAX_REPEATS = 1000
DTYPES = ("float32", "float64", "bfloat16", "float16")

if TYPE_CHECKING:
    from ..bench.airfoil import AirfoilBench
    from ..bench.steps import StepBench


def _run_index(value: str) -> int:
    """An argparse type: a row number of the notes' airfoil table, 1..12."""
    if value in SUITES:  # `bench --runs 1 airfoil`: --runs takes every word after it
        raise argparse.ArgumentTypeError(
            f"{value!r} is a suite, not a row number; name the suite before --runs: descentlab bench {value} --runs ..."
        )
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a row number 1..{len(NOTES_AIRFOIL)}, got {value!r}") from None
    if not 1 <= number <= len(NOTES_AIRFOIL):
        raise argparse.ArgumentTypeError(f"expected a row number 1..{len(NOTES_AIRFOIL)}, got {number}")
    return number


def register(subparsers: argparse._SubParsersAction) -> None:
    rows = "; ".join(f"{i} {r.label()}" for i, r in enumerate(NOTES_AIRFOIL, 1))
    parser = subparsers.add_parser(
        "bench",
        help="time descentlab against the notes' code (medians after warm-up)",
        description="Benchmarks in this process, medians over repeats after a warm-up. "
        "airfoil: `descentlab train` against the notes' training loop (DataLoader, evaluation every 100 examples), "
        "one seed per epoch and N seeds as one batch against N sequential runs.",
    )
    parser.add_argument("suite", nargs="?", default="airfoil", choices=tuple(SUITES), help="what to time (default airfoil)")
    parser.add_argument("--json", action="store_true", help="print the record as one JSON object")
    parser.add_argument("--repeats", type=at_most(MAX_REPEATS, "repeats"), default=None,
                        help=f"timed repetitions, 1 to {MAX_REPEATS}: single-seed runs per side for airfoil (default 5), "
                        "steps per path for steps (default 10)")
    airfoil = parser.add_argument_group("airfoil suite")
    airfoil.add_argument("--data", metavar="PATH", help="the airfoil file (default: $DESCENTLAB_DATA, the cache, else download)")
    airfoil.add_argument("--runs", type=_run_index, nargs="+", metavar="I", help=f"rows of the notes' table to time (default all): {rows}")
    airfoil.add_argument("--seeds", type=seed_count, default=20, help="seeds of the batch comparison (default 20)")
    airfoil.add_argument("--batch-repeats", type=at_most(MAX_REPEATS, "repeats"), default=3,
                         help=f"timed repetitions of the batch comparison, 1 to {MAX_REPEATS} (default 3)")
    steps = parser.add_argument_group("steps suite")
    steps.add_argument("--algorithms", nargs="+", choices=tuple(TIMED), metavar="NAME",
                       help=f"algorithms to time (default all: {', '.join(TIMED)}; adamw is Adam with decoupled "
                       "weight decay 0.01 against torch.optim.AdamW; yogi has no torch.optim class)")
    steps.add_argument("--layouts", nargs="+", choices=tuple(LAYOUTS), metavar="LAYOUT",
                       help=f"parameter layouts (default all: {', '.join(LAYOUTS)}): flat16m = one 16M-value tensor, "
                       "resnet18 = ResNet-18's 62 shapes, gpt2 = GPT-2 small's 148 shapes (124M values; about 8 GB "
                       "for Adam with six paths), many = 2000 tensors of 1000 values, small300 = 300 small tensors")
    steps.add_argument("--paths", nargs="+", choices=STEP_PATHS, metavar="PATH",
                       help="paths to time (default all: " + ", ".join(STEP_PATHS) + "; quote names with spaces; "
                       "without 'ours fast' nothing compiles with torch.compile; 'ours notes' runs for momentum, "
                       "adagrad and rmsprop only, where the notes' convention computes differently; the torch paths "
                       "where torch.optim has them)")
    steps.add_argument("--dtype", choices=DTYPES, default="float32",
                       help="the parameters' dtype (default float32; one of " + ", ".join(DTYPES) + "); for "
                       "bfloat16 and float16 our rule keeps float32 state and the parameters' rounding error, "
                       "torch.optim keeps state in the parameters' dtype")
    steps.add_argument("--peak-memory", action="store_true",
                       help="also measure each step's peak memory beyond its start (torch profiler; seconds per row)")
    steps.add_argument("--first-step", action="store_true",
                       help="also time the default path's first step in new processes, with an empty kernel cache "
                       "(cold) and with the one it left (warm)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    measure, table = SUITES[args.suite]
    if args.data is not None and args.suite != "airfoil":  # a named --data is checked even where it is not read
        load_data(args)
    record = measure(args)
    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print("\n".join(table(record)))
    return 0


def _measure_airfoil(args: argparse.Namespace) -> AirfoilBench:
    from ..bench.airfoil import bench_airfoil

    runs = [NOTES_AIRFOIL[i - 1] for i in args.runs] if args.runs else list(NOTES_AIRFOIL)
    return bench_airfoil(load_data(args), runs, seeds=args.seeds, repeats=args.repeats or 5, batch_repeats=args.batch_repeats)


def airfoil_table(record: AirfoilBench) -> list[str]:
    """The airfoil record as a text table (times in ms; speedups as ratios)."""
    n = record.seeds
    lines = [
        f"airfoil: descentlab train against the notes' loop, same process "
        f"(torch {record.torch_version}, {record.torch_threads} threads; medians: "
        f"{record.repeats} single runs, {record.batch_repeats} x {n} seeds, after warm-up)",
        f"{'':<40} {'ms per epoch, 1 seed':^26} {f'whole run, {n} seeds (ms)':^28} "
        f"{f'final loss over {n} seeds (mean +- std)':^37} {'notes':>9}",
        f"{'run':<40} {'notes':>8} {'train':>8} {'ratio':>8} {f'{n}x notes':>10} {'train':>8} {'ratio':>8}  "
        f"{'notes loop':>18} {'train':>18} {'printed':>9}",
    ]
    for row in record.rows:
        lines.append(
            f"{airfoil_label(row.impl, row.algorithm, row.hyperparameters):<40} "
            f"{row.notes_sec_per_epoch * 1e3:8.2f} {row.train_sec_per_epoch * 1e3:8.2f} {row.epoch_speedup:7.1f}x "
            f"{row.notes_sequential_sec * 1e3:10.1f} {row.train_batch_sec * 1e3:8.1f} {row.batch_speedup:7.1f}x  "
            f"{row.notes_loss_mean:.6f}+-{row.notes_loss_std:.6f} {row.train_loss_mean:.6f}+-{row.train_loss_std:.6f} "
            f"{row.notes_printed_loss:9.6f}"
        )
    if record.rows:
        epoch = min(r.epoch_speedup for r in record.rows)
        batch = min(r.batch_speedup for r in record.rows)
        lines.append(f"smallest ratios: {epoch:.1f}x per epoch (1 seed), {batch:.1f}x for {n} seeds; least-squares optimum {record.optimum_loss:.6f}")
    return lines


def _measure_steps(args: argparse.Namespace) -> StepBench:
    def progress(label: str) -> None:
        sys.stderr.write(f"timing {label}\n")
        sys.stderr.flush()

    from ..bench.steps import bench_steps

    import torch

    return bench_steps(args.algorithms or tuple(TIMED), args.layouts or tuple(LAYOUTS), repeats=args.repeats or 10,
                       dtype=getattr(torch, args.dtype), paths=args.paths, peak_memory=args.peak_memory,
                       first_step=args.first_step,
                       progress=progress)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def steps_table(record: StepBench) -> list[str]:
    """One optimizer step per algorithm, layout and path: median ms, GB/s, share of the triad, ratio to torch's best."""
    in_place = (f", in place (a = a + 2b) {record.triad_in_place_gb_per_s:.1f} GB/s"
                if record.triad_in_place_gb_per_s is not None else "")
    lines = [
        f"steps: one optimizer.step(), {record.dtype}, median of {record.repeats} after warm-up "
        f"(torch {record.torch_version}, {record.torch_threads} threads); triad c = a + 2b "
        f"({record.triad_method}, {record.triad_values} values, {record.triad_bytes_per_value} bytes each): "
        f"{record.triad_gb_per_s:.1f} GB/s{in_place}",
        f"{'algorithm':<10} {'layout':<9} {'path':<14} {'ms':>8} {'first s':>8} {'GB/s':>7} {'of triad':>9} {'in place':>9} "
        f"{'vs torch best':>14} {'vs default':>11} {'vs foreach':>11} {'vs fused':>9} {'alloc MiB':>10} "
        f"{'peak MiB':>9} {'new process cold/warm s':>24}",
    ]

    def ratio(value: float | None, width: int) -> str:
        return f"{value:{width - 1}.2f}x" if value is not None else f"{'-':>{width}}"

    for row in record.rows:
        fresh = (f"{row.fresh_first_step_cold_s:.2f}/{row.fresh_first_step_warm_s:.2f}"
                 if row.fresh_first_step_cold_s is not None else "-")
        lines.append(
            f"{row.algorithm:<10} {row.layout:<9} {row.path:<14} {row.median_ms:8.2f} {row.first_step_s:8.2f} "
            f"{row.gb_per_s:7.1f} {row.triad_share:8.0%} {_share(row.in_place_share):>9} {ratio(row.speedup_vs_torch_best, 14)} "
            f"{ratio(row.speedup_vs_torch_default, 11)} {ratio(row.speedup_vs_torch_foreach, 11)} "
            f"{ratio(row.speedup_vs_torch_fused, 9)} {row.allocated_mib:10.1f} "
            + (f"{row.peak_extra_mib:9.1f}" if row.peak_extra_mib is not None else f"{'-':>9}")
            + f" {fresh:>24}"
        )
    lines += [f"not timed: {path} left the parameters as they were, where the plain rule moves them ({algorithm} on {layout})"
              for algorithm, layout, path in record.stood_still]
    return lines


SUITES: dict[str, tuple[Callable[[argparse.Namespace], Any], Callable[[Any], list[str]]]] = {
    "airfoil": (_measure_airfoil, airfoil_table),
    "steps": (_measure_steps, steps_table),
}
