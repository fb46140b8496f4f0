"""From a :class:`~descentlab.benchmark.protocol.Benchmark` to the numbers a report shows (records, no printing).

Per problem and optimizer (a :class:`Row`):

- **final**: the final validation loss of the best setting on the fresh seeds:
  mean ± sd (a diverged seed makes the mean ``inf``), median, lowest and highest,
  how many seeds ended at or below the target and how many diverged, and the
  chosen trial's own final loss on the tuning seed (to compare against);
- **speed**: the median over seeds of the first evaluated step at which the
  validation loss was at or below the problem's target (rule 1 of :mod:`.scoring`),
  and how many seeds got there at some step (a run may get there and end above it);
- **tuneability**: the expected best final loss of ``k = 4`` trials drawn
  without replacement from the ``N`` trials (how good a small tuning budget
  gets), and the share of trials that reach the target at all;
- **sensitivity**: the share of trials that diverged, and the lr-sensitivity
  curves (final loss against lr of every trial) in the report's figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .protocol import Benchmark, Study, summary_steps
from .scoring import R_MAX, ratios, scores

TUNE_K = 4


@dataclass(frozen=True)
class Row:
    problem: str
    optimizer: str
    best: dict[str, Any]  # the chosen setting
    final_mean: float
    final_sd: float
    steps: float  # median steps to target over the fresh seeds (inf: not reached by half)
    reached: int  # seeds that reached the target
    seeds: int
    best_of_k: float  # expected best final loss of TUNE_K random trials
    at_target: float  # share of trials that reached the target
    diverged: float  # share of trials that diverged
    trials: int = 0  # N, the number of tuning trials
    final_median: float = math.nan  # median over the fresh seeds of the final loss
    final_low: float = math.nan  # lowest and highest final loss over the fresh seeds (inf: one diverged)
    final_high: float = math.nan
    ended_below: int = 0  # fresh seeds whose final loss is at or below the target
    seeds_diverged: int = 0  # fresh seeds whose run left the finite numbers
    tuning_final: float = math.nan  # the chosen trial's final loss on the tuning seed
    finals: tuple[float, ...] = ()  # each fresh seed's final loss (inf: diverged)


def expected_best_of(values: Sequence[float], k: int) -> float:
    """E[min of k values drawn without replacement from ``values``] (exact order statistics; inf if inf can be drawn as the min)."""
    v = sorted(values)
    n = len(v)
    k = min(k, n)
    total = math.comb(n, k)
    expectation = 0.0
    for i, value in enumerate(v):  # P(min is the (i+1)-th smallest) = C(n-i-1, k-1) / C(n, k)
        p = math.comb(n - i - 1, k - 1) / total
        if p > 0:
            if math.isinf(value):
                return math.inf
            expectation += p * value
    return expectation


def _mean_sd(values: Sequence[float]) -> tuple[float, float]:
    if not all(math.isfinite(v) for v in values):
        return math.inf, math.nan
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, sd


def median(values: Sequence[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count); ``inf`` values sort last."""
    v = sorted(values)
    n = len(v)
    if n == 0:
        return math.nan
    if n % 2:
        return v[n // 2]
    low, high = v[n // 2 - 1], v[n // 2]
    return high if math.isinf(high) else (low + high) / 2


def row(bm: Benchmark, study: Study) -> Row:
    problem = next(p for p in bm.problems if p.name == study.problem)
    evaluations, target = problem.evaluations, problem.target
    finals = [run.final for run in study.reruns]
    mean, sd = _mean_sd(finals)
    trials = study.trials
    return Row(
        study.problem, study.optimizer, study.best_trial.hyperparameters, mean, sd,
        summary_steps(study.reruns, target, evaluations),
        sum(math.isfinite(run.steps_to(target, evaluations)) for run in study.reruns), len(study.reruns),
        expected_best_of([t.final for t in trials], TUNE_K),
        sum(math.isfinite(t.steps_to(target, evaluations)) for t in trials) / len(trials),
        sum(t.diverged for t in trials) / len(trials),
        len(trials), median(finals), min(finals), max(finals),
        sum(value <= target for value in finals), sum(run.diverged for run in study.reruns),
        study.best_trial.final, tuple(finals),
    )


def rows(bm: Benchmark) -> list[Row]:
    return [row(bm, bm.study(p.name, o.name)) for p in bm.problems for o in bm.optimizers]


def times(bm: Benchmark) -> dict[str, dict[str, float]]:
    """``times[optimizer][problem]``: the median steps to target (the profile's input)."""
    by = {o.name: {} for o in bm.optimizers}
    for r in rows(bm):
        by[r.optimizer][r.problem] = r.steps
    return by


@dataclass(frozen=True)
class Profile:
    taus: tuple[float, ...]
    rho: dict[str, tuple[float, ...]]
    ratios: dict[str, dict[str, float]]
    scores: dict[str, float]
    r_max: float = R_MAX


def coinciding(profile: Profile) -> list[list[str]]:
    """Groups (two or more, in the profile's order) of optimizers whose profiles ρ(τ) are the same function:
    ρ depends only on the multiset of an optimizer's ratios, so equal sorted ratios draw one line."""
    groups: dict[tuple[float, ...], list[str]] = {}
    for name, row_ in profile.ratios.items():
        groups.setdefault(tuple(sorted(row_.values())), []).append(name)
    return [g for g in groups.values() if len(g) > 1]


def performance_profile(bm: Benchmark, points: int = 301) -> Profile:
    from .scoring import profile

    t = times(bm)
    r = ratios(t)
    taus = tuple(1 + (R_MAX - 1) * i / (points - 1) for i in range(points))
    return Profile(taus, {s: tuple(profile(row_, taus)) for s, row_ in r.items()}, r, scores(t))


__all__ = ["TUNE_K", "Profile", "Row", "coinciding", "expected_best_of", "median", "performance_profile", "row", "rows", "times"]
