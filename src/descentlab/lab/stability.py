"""Measured stability and contraction maps of the adaptive methods over two hyperparameters, as batched runs.

For each grid cell one run of the registry rule (all cells of a map are one
:func:`~descentlab.lab.trajectory.run_batch`); the map records whether the run
diverged and its measured contraction per step of the distance to the minimum,
``(|x_T - x*| / |x_0 - x*|)^(1/T)`` (``inf`` when diverged).  None of these
methods has a closed-form rate on a general quadratic; the one closed form
drawn beside them is gradient descent's stability limit ``2/λmax`` of the notes'
quadratic, which RMSProp and AdaGrad reduce to when their denominators are
constant (``γ = 1`` from ``s = 1``, or ``ε`` much larger than ``g²``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .objectives import OBJECTIVES, Objective
from .trajectory import Trajectory, run_batch


@dataclass(frozen=True)
class StabilityMap:
    algorithm: str
    objective: str
    x_name: str  # the hyperparameter along the columns
    y_name: str  # along the rows
    x_values: tuple[float, ...]
    y_values: tuple[float, ...]
    rate: tuple[tuple[float, ...], ...]  # [row][column]: contraction per step, inf when diverged
    steps: int
    gd_limit: float | None  # 2/λmax where it applies (the notes' quadratic), else None

    @property
    def diverged_share(self) -> float:
        cells = [r for row in self.rate for r in row]
        return sum(not math.isfinite(r) for r in cells) / len(cells)


def _rate(t: Trajectory, minimum: tuple[float, float]) -> float:
    if t.diverged:
        return math.inf
    start = math.dist(t.points[0], minimum)
    end = math.dist(t.points[-1], minimum)
    return 0.0 if end == 0 else (end / start) ** (1 / (len(t.points) - 1))


def _log_grid(low: float, high: float, count: int) -> tuple[float, ...]:
    return tuple(low * (high / low) ** (i / (count - 1)) for i in range(count))


MAPS: dict[str, tuple[str, tuple[float, ...], str, tuple[float, ...], dict]] = {
    # algorithm: (x name, x values, y name, y values, fixed hyperparameters)
    "rmsprop": ("lr", _log_grid(1e-3, 3.0, 16), "gamma", (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 0.999), {}),
    "adam": ("lr", _log_grid(1e-3, 3.0, 16), "beta1", (0.0, 0.5, 0.8, 0.9, 0.95, 0.99), {}),
    "adadelta": ("rho", (0.5, 0.8, 0.9, 0.95, 0.99, 0.999), "eps", _log_grid(1e-8, 1e-1, 8), {}),
    "adagrad": ("lr", _log_grid(1e-3, 10.0, 16), "eps", _log_grid(1e-10, 10.0, 7), {}),
}


def _setting(algorithm: str, name: str, value: float) -> dict:
    return {"betas": (value, 0.999)} if name == "beta1" else {name: value}


def stability_map(algorithm: str, objective: Objective, steps: int = 200) -> StabilityMap:
    x_name, xs, y_name, ys, fixed = MAPS[algorithm]
    grid = [{**fixed, **_setting(algorithm, x_name, x), **_setting(algorithm, y_name, y)} for y in ys for x in xs]
    runs = run_batch(algorithm, objective, grid, steps=steps)
    rates = [_rate(t, objective.minima[0]) for t in runs]
    rows = tuple(tuple(rates[i * len(xs):(i + 1) * len(xs)]) for i in range(len(ys)))
    limit = 2 / 4.0 if objective.name == "notes" else None
    return StabilityMap(algorithm, objective.name, x_name, y_name, xs, ys, rows, steps, limit)


def stability_maps(steps: int = 200) -> list[StabilityMap]:
    """Every map of :data:`MAPS` on the notes' quadratic and on Rosenbrock."""
    return [stability_map(a, OBJECTIVES[o], steps) for a in MAPS for o in ("notes", "rosenbrock")]


__all__ = ["MAPS", "StabilityMap", "stability_map", "stability_maps"]
