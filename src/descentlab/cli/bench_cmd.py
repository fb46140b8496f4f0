"""``descentlab bench [SUITE]``: timings against a baseline, printed as a table or JSON.

Suites so far: ``airfoil`` (the default) — ``descentlab train`` against the
notes' training loop.  A new suite adds an entry to ``SUITES``: a function
``(args) -> record`` and a function ``(record) -> table lines``; its options go
in ``register``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from ..bench import AirfoilBench, bench_airfoil
from ..data import DataError, load_airfoil
from ..reference import NOTES_AIRFOIL
from .common import CLIError, positive_int
from .train_cmd import DownloadProgress


def _run_index(value: str) -> int:
    """An argparse type: a row number of the notes' airfoil table, 1..12."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a row number 1..{len(NOTES_AIRFOIL)}, got {value!r}") from None
    if not 1 <= number <= len(NOTES_AIRFOIL):
        raise argparse.ArgumentTypeError(f"expected a row number 1..{len(NOTES_AIRFOIL)}, got {number}")
    return number


def _run_label(algorithm: str, impl: str, hyperparameters: dict[str, Any]) -> str:
    hp = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in hyperparameters.items())
    return f"{impl} {algorithm} {hp}"


def register(subparsers: argparse._SubParsersAction) -> None:
    rows = "; ".join(f"{i} {_run_label(r.algorithm, r.impl, r.hyperparameters)}" for i, r in enumerate(NOTES_AIRFOIL, 1))
    parser = subparsers.add_parser(
        "bench",
        help="time descentlab against the notes' code (medians after warm-up)",
        description="Benchmarks in this process, medians over repeats after a warm-up. "
        "airfoil: `descentlab train` against the notes' training loop (DataLoader, evaluation every 100 examples), "
        "one seed per epoch and N seeds as one batch against N sequential runs.",
    )
    parser.add_argument("suite", nargs="?", default="airfoil", choices=tuple(SUITES), help="what to time (default airfoil)")
    parser.add_argument("--json", action="store_true", help="print the record as one JSON object")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed single-seed runs per side (default 5)")
    airfoil = parser.add_argument_group("airfoil suite")
    airfoil.add_argument("--data", metavar="PATH", help="the airfoil file (default: $DESCENTLAB_DATA, the cache, else download)")
    airfoil.add_argument("--runs", type=_run_index, nargs="+", metavar="I", help=f"rows of the notes' table to time (default all): {rows}")
    airfoil.add_argument("--seeds", type=positive_int, default=20, help="seeds of the batch comparison (default 20)")
    airfoil.add_argument("--batch-repeats", type=positive_int, default=3, help="timed repetitions of the batch comparison (default 3)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    measure, table = SUITES[args.suite]
    record = measure(args)
    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print("\n".join(table(record)))
    return 0


def _measure_airfoil(args: argparse.Namespace) -> AirfoilBench:
    runs = [NOTES_AIRFOIL[i - 1] for i in args.runs] if args.runs else list(NOTES_AIRFOIL)
    progress = DownloadProgress()
    try:
        data = load_airfoil(args.data, progress=progress)
    except DataError as error:
        raise CLIError(str(error)) from None
    finally:
        progress.close()
    return bench_airfoil(data, runs, seeds=args.seeds, repeats=args.repeats, batch_repeats=args.batch_repeats)


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
            f"{_run_label(row.algorithm, row.impl, row.hyperparameters):<40} "
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


SUITES: dict[str, tuple[Callable[[argparse.Namespace], Any], Callable[[Any], list[str]]]] = {
    "airfoil": (_measure_airfoil, airfoil_table),
}
