"""The learning-rate schedules section (d2l 11.11): each schedule of the table on the notes' airfoil run, over seeds.

:func:`schedule_section` trains the notes' momentum run (lr 0.02, β 0.9: the
airfoil row that ends farthest above the optimum) once per schedule, every seed
in one batch, and keeps each schedule's per-step rates; :func:`schedule_conclusion`
says what the numbers show.  Nothing here draws or prints.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..airfoil.data import Airfoil
from ..airfoil.train import TrainingRun, train
from ..schedules import SCHEDULES, Schedule, lr_sequence, schedule

ALGORITHM = "momentum"
HYPERPARAMETERS: dict[str, Any] = {"lr": 0.02, "momentum": 0.9}
EPOCHS = 2
BATCH_SIZE = 10
PLANS: dict[str, dict[str, Any]] = {  # per-step parameters for the 300 steps of two epochs
    "constant": {},
    "factor": {"factor": 0.99, "min_lr": 1e-4},
    "multi_factor": {"milestones": (100, 200), "factor": 0.3},
    "cosine": {"warmup": 15, "warmup_start": 0.1, "final_lr": 0.0},
    "warmup": {"warmup": 15, "warmup_start": 0.1},
}
assert set(PLANS) == set(SCHEDULES)  # every schedule of the table is in the section


@dataclass(frozen=True)
class ScheduleRun:
    plan: Schedule
    rates: tuple[float, ...]  # the rate of each step
    run: TrainingRun

    @property
    def median_gap(self) -> float:
        return statistics.median(self.run.gap)

    @property
    def spread(self) -> float:
        """Max − min of the final loss over seeds."""
        return max(self.run.final_loss) - min(self.run.final_loss)


@dataclass(frozen=True)
class ScheduleSection:
    runs: tuple[ScheduleRun, ...]
    optimum_loss: float
    steps: int

    def by_name(self, name: str) -> ScheduleRun:
        return next(r for r in self.runs if r.plan.name == name)


def schedule_section(data: Airfoil, seeds: Sequence[int]) -> ScheduleSection:
    steps = EPOCHS * math.ceil(data.rows / BATCH_SIZE)
    runs = []
    for name, parameters in PLANS.items():
        plan = schedule(name, parameters)
        run = train(ALGORITHM, HYPERPARAMETERS, data=data, seeds=tuple(seeds), epochs=EPOCHS, batch_size=BATCH_SIZE,
                    schedule=plan)
        runs.append(ScheduleRun(plan, lr_sequence(plan, HYPERPARAMETERS["lr"], steps), run))
    return ScheduleSection(tuple(runs), data.optimum_loss, steps)


def ranking(section: ScheduleSection) -> list[ScheduleRun]:
    """The schedules from the smallest median gap to the optimum to the largest."""
    return sorted(section.runs, key=lambda r: r.median_gap)


def decaying(section: ScheduleSection) -> list[ScheduleRun]:
    """The schedules whose last rate is below their first full rate (they anneal)."""
    return [r for r in section.runs if r.rates[-1] < max(r.rates)]


__all__ = ["ALGORITHM", "HYPERPARAMETERS", "PLANS", "ScheduleRun", "ScheduleSection", "decaying", "ranking",
           "schedule_section"]
