"""The protocol: one declared budget, N quasi-random trials per optimizer, the best re-run on fresh seeds.

For every problem and every optimizer alike:

1. **Tuning.** ``trials`` settings from the optimizer's search space (a scrambled
   Sobol sequence seeded by the protocol's seed and the optimizer's name), each
   run once for the problem's budget with the same tuning seed — the same
   initial point and the same minibatch order for every trial of every optimizer.
2. **Selection.** The best trial has the lowest validation loss at the end of
   the budget (a run that left the finite numbers counts as +inf; a tie goes to
   the earlier trial).
3. **Re-run.** The best setting runs again on ``seeds`` fresh seeds, the same
   seeds for every optimizer; these runs are the reported performance.

No gradient clipping, no learning-rate schedule, no weight decay for anyone.
Everything is a function of the protocol's seed, so a benchmark re-run gives the
same records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from .engine import LocalEngine, Run, Task, split
from .problems import Budget, Problem
from .spaces import OptimizerRef, sobol_seed

TUNING_CHUNK = 64  # members per batched task
LOOP_CHUNK = 4  # members per task for a class run one by one (a Ray task each)


@dataclass(frozen=True)
class Protocol:
    trials: int = 24
    seeds: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("trials", "seeds"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {getattr(self, name)!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {self.seed!r}")

    @property
    def tuning_seed(self) -> int:
        return 1000 * self.seed

    @property
    def fresh_seeds(self) -> tuple[int, ...]:
        return tuple(1000 * self.seed + 1 + i for i in range(self.seeds))

    def text(self) -> str:
        """The protocol in one paragraph, for every output."""
        return (
            f"Protocol (seed {self.seed}): for every problem and optimizer the same budget (steps, batch size); "
            f"{self.trials} scrambled-Sobol trials over all searched hyperparameters (lr, ε and 1−β on log scales), "
            f"each run once with tuning seed {self.tuning_seed}; the best by final validation loss re-run on "
            f"{self.seeds} fresh seeds ({self.fresh_seeds[0]}–{self.fresh_seeds[-1]}), the same for all; "
            "no gradient clipping, schedule or weight decay."
        )


@dataclass(frozen=True)
class Study:
    """One optimizer on one problem: its trials, the chosen one, and the re-runs of that choice."""

    problem: str
    optimizer: str
    trials: tuple[Run, ...]
    best: int  # index into trials
    reruns: tuple[Run, ...]

    @property
    def best_trial(self) -> Run:
        return self.trials[self.best]


@dataclass(frozen=True)
class Benchmark:
    """Every study of a benchmark, with what produced it."""

    protocol: Protocol
    problems: tuple[Problem, ...]
    optimizers: tuple[OptimizerRef, ...]
    studies: dict[tuple[str, str], Study]
    engine: str
    seconds: float = 0.0
    space_text: dict[str, str] = field(default_factory=dict)

    def study(self, problem: str, optimizer: str) -> Study:
        return self.studies[(problem, optimizer)]


def best_index(runs: Sequence[Run]) -> int:
    """The trial with the lowest final validation loss (diverged = +inf; the first of equals)."""
    finals = [run.final for run in runs]
    return min(range(len(runs)), key=lambda i: (finals[i], i))


def _tasks(problem: Problem, budget: Budget, data: str | None, optimizer: OptimizerRef, settings: list[dict],
           seeds: list[int]) -> list[Task]:
    chunk = TUNING_CHUNK if optimizer.batched else LOOP_CHUNK
    return split(problem.name, budget, data, optimizer.name, settings, seeds, chunk=chunk)


def _run_phase(engine, jobs: list[tuple[tuple[str, str], list[Task]]]) -> dict[tuple[str, str], list[Run]]:
    """All jobs' tasks in one engine call (a cluster runs them side by side), records regrouped per job."""
    flat = [task for _, tasks in jobs for task in tasks]
    results = iter(engine.map(flat))
    return {key: [run for _ in tasks for run in next(results)] for key, tasks in jobs}


def run_benchmark(problems: Sequence[tuple[Problem, Budget, str | None]], optimizers: Sequence[OptimizerRef],
                  protocol: Protocol, engine=None, clock=None) -> Benchmark:
    """Run the protocol for every (problem, optimizer); ``problems`` holds each problem with its budget and data path."""
    import time

    engine = engine or LocalEngine()
    clock = clock or time.perf_counter
    started = clock()
    settings = {opt.name: opt.space.sample(protocol.trials, sobol_seed(protocol.seed, opt.name)) for opt in optimizers}
    tuning = _run_phase(engine, [
        ((p.name, opt.name), _tasks(p, budget, data, opt, settings[opt.name], [protocol.tuning_seed] * protocol.trials))
        for p, budget, data in problems for opt in optimizers
    ])
    best = {key: best_index(runs) for key, runs in tuning.items()}
    reruns = _run_phase(engine, [
        ((p.name, opt.name), _tasks(p, budget, data, opt, [settings[opt.name][best[(p.name, opt.name)]]] * protocol.seeds,
                                    list(protocol.fresh_seeds)))
        for p, budget, data in problems for opt in optimizers
    ])
    studies = {key: Study(key[0], key[1], tuple(tuning[key]), best[key], tuple(reruns[key])) for key in tuning}
    return Benchmark(protocol, tuple(p for p, _, _ in problems), tuple(optimizers), studies, engine.name,
                     clock() - started, {opt.name: opt.space.describe() for opt in optimizers})


def summary_steps(runs: Sequence[Run], target: float, evaluations: Sequence[int]) -> float:
    """The median over seeds of the steps to target (``inf`` when half the seeds or more never reach it)."""
    steps = sorted(run.steps_to(target, evaluations) for run in runs)
    n = len(steps)
    middle = steps[n // 2] if n % 2 else (steps[n // 2 - 1] + steps[n // 2]) / 2
    return middle if math.isfinite(middle) else math.inf


__all__ = ["Benchmark", "Protocol", "Study", "best_index", "run_benchmark", "summary_steps"]
