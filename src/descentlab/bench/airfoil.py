"""Benchmarks that return records (they never print): for now, the airfoil experiment.

:func:`bench_airfoil` times :func:`descentlab.airfoil.train` against the notes' own
loop (:mod:`descentlab.notes.loop`, ``DataLoader`` and all) in the same process,
on the same data and hyperparameters, with ``time.perf_counter``:

* **per epoch, one seed**: after one warm-up run of each, ``repeats`` runs of each,
  interleaved; the median over all their epochs;
* **N seeds**: the wall time of N sequential runs of the notes' loop (seeds
  0..N-1) against one ``train`` call with the same N seeds as a batch; the
  median over ``batch_repeats`` interleaved repetitions.

Both sides' final losses over the N seeds are kept, so that equal speed claims
come with equal results.  Further suites (optimizer steps, ...) add their own
function and record here.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch

from ..airfoil.data import Airfoil
from ..notes.loop import notes_train
from ..notes.reference import NOTES_AIRFOIL, AirfoilResult
from ..airfoil.train import Summary, check_count, train


@dataclass(frozen=True)
class AirfoilBenchRow:
    """One of the notes' runs, timed both ways (times in seconds, medians)."""

    algorithm: str
    impl: str
    hyperparameters: dict[str, Any]
    notes_printed_loss: float  # what the notes printed (one random draw)
    notes_sec_per_epoch: float  # the notes' loop, one seed
    train_sec_per_epoch: float  # descentlab train, one seed
    epoch_speedup: float
    seeds: int
    notes_sequential_sec: float  # `seeds` sequential runs of the notes' loop, whole runs
    train_batch_sec: float  # one `train` call with `seeds` seeds, whole run
    batch_speedup: float
    notes_loss_mean: float  # final loss over the `seeds` seeds
    notes_loss_std: float
    train_loss_mean: float
    train_loss_std: float


@dataclass(frozen=True)
class AirfoilBench:
    """The airfoil suite: one row per run, and the conditions of the measurement."""

    rows: tuple[AirfoilBenchRow, ...]
    optimum_loss: float
    seeds: int
    repeats: int
    batch_repeats: int
    torch_version: str
    torch_threads: int

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["suite"] = "airfoil"
        return record


def bench_airfoil(
    data: Airfoil,
    runs: Sequence[AirfoilResult] = NOTES_AIRFOIL,
    *,
    seeds: int = 20,
    repeats: int = 5,
    batch_repeats: int = 3,
) -> AirfoilBench:
    """Time each of ``runs`` (default: the notes' twelve) both ways; see the module docstring."""
    for name, value in (("seeds", seeds), ("repeats", repeats), ("batch_repeats", batch_repeats)):
        check_count(name, value)
    rows = tuple(_bench_run(data, run, seeds, repeats, batch_repeats) for run in runs)
    return AirfoilBench(
        rows=rows,
        optimum_loss=data.optimum_loss,
        seeds=seeds,
        repeats=repeats,
        batch_repeats=batch_repeats,
        torch_version=torch.__version__,
        torch_threads=torch.get_num_threads(),
    )


def _bench_run(data: Airfoil, run: AirfoilResult, seeds: int, repeats: int, batch_repeats: int) -> AirfoilBenchRow:
    def notes(seed: int) -> Any:
        return notes_train(run.algorithm, run.hyperparameters, data.features, data.labels, impl=run.impl, seed=seed)

    def ours(seed_list: Sequence[int]) -> Any:
        return train(run.algorithm, run.hyperparameters, data=data, impl=run.impl, seeds=seed_list)

    notes(0), ours([0]), ours(range(seeds))  # warm-up
    notes_epochs: list[float] = []
    train_epochs: list[float] = []
    for repeat in range(repeats):
        notes_epochs += notes(repeat).epoch_times
        train_epochs += ours([repeat]).epoch_times

    notes_walls, train_walls = [], []
    for _ in range(batch_repeats):
        start = time.perf_counter()
        notes_losses = Summary.of([notes(seed).final_loss for seed in range(seeds)])
        notes_walls.append(time.perf_counter() - start)
        start = time.perf_counter()
        batch = ours(range(seeds))
        train_walls.append(time.perf_counter() - start)

    notes_epoch, train_epoch = statistics.median(notes_epochs), statistics.median(train_epochs)
    notes_wall, train_wall = statistics.median(notes_walls), statistics.median(train_walls)
    return AirfoilBenchRow(
        algorithm=run.algorithm,
        impl=run.impl,
        hyperparameters=dict(run.hyperparameters),
        notes_printed_loss=run.final_loss,
        notes_sec_per_epoch=notes_epoch,
        train_sec_per_epoch=train_epoch,
        epoch_speedup=notes_epoch / train_epoch,
        seeds=seeds,
        notes_sequential_sec=notes_wall,
        train_batch_sec=train_wall,
        batch_speedup=notes_wall / train_wall,
        notes_loss_mean=notes_losses.mean,
        notes_loss_std=notes_losses.std,
        train_loss_mean=batch.summary.mean,
        train_loss_std=batch.summary.std,
    )


__all__ = ["AirfoilBench", "AirfoilBenchRow", "bench_airfoil"]
