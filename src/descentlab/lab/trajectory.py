"""Run registry rules on 2D objectives: one trajectory, or K hyperparameter settings as one batch.

The points move by the registry's own update function (``spec.update``), never a
second copy of it.  K settings of one algorithm run as one batch: ``x`` has shape
``(K, 2)`` and every numeric hyperparameter that differs between settings becomes
a ``(K, 1)`` tensor, which the elementwise rules broadcast.  Batches of several
algorithms on one objective run in step (:func:`run_batches`): one gradient call
per step for all their points.

A run that leaves the finite numbers, or grows past :func:`divergence_bound` of
its start (:data:`DIVERGENCE_BOUND`, or a million times the start for a start
beyond 1e6), is stopped at that step and reported as diverged; its later points
are not made up.  A run that contracts is never called diverged, however far
out it starts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..algorithms import Setting, setting
from ..schedules import Schedule, lr_sequence
from ..schedules import schedule as check_schedule
from .objectives import Objective, Point

if TYPE_CHECKING:
    from torch import Tensor

DIVERGENCE_BOUND = 1e12
"""A coordinate larger than this in magnitude counts as divergence (for a start within 1e6 of 0)."""
GROWTH_BOUND = 1e6
"""For a start farther out, divergence is a coordinate beyond this many times the start's largest one."""
MAX_STEPS = 100_000
"""The longest run: every point of a path is kept."""


@dataclass(frozen=True)
class Trajectory:
    """The points one optimizer visited on one objective."""

    algorithm: str
    hyperparameters: dict[str, Any]  # as given (the defaults are not repeated)
    objective: str
    points: tuple[Point, ...]  # the start, then one point per completed step
    values: tuple[float, ...]  # f at each point
    steps: int  # steps asked for
    diverged_at: int | None = None  # the step at which the run left the finite numbers / the bound
    schedule: str | None = None  # the learning-rate schedule's label (None: the constant lr)

    @property
    def final(self) -> Point:
        return self.points[-1]

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def notes_line(self) -> str:
        """The notes' output: ``epoch 20, x1 -0.943467, x2 -0.000073``."""
        if self.diverged:
            return f"epoch {self.diverged_at}, diverged (|x| > {divergence_bound(self.points[0]):g} or not finite)"
        x1, x2 = (_notes_number(c) for c in self.final)
        return f"epoch {len(self.points) - 1}, x1 {x1}, x2 {x2}"


def _notes_number(value: float) -> str:
    """The notes' ``%f``; beyond 1e15, where ``%f`` would print hundreds of digits, ``%e``."""
    return f"{value:f}" if abs(value) < 1e15 else f"{value:e}"


def divergence_bound(start: Point) -> float:
    """The magnitude past which a coordinate of a run from ``start`` counts as divergence.

    ``max(DIVERGENCE_BOUND, GROWTH_BOUND * max|start|)``: the notes' start
    (-5, -2) gets 1e12, so their eta = 0.6 run diverges where it always did; a
    start at 1e300 gets infinity, so only leaving the finite numbers counts.
    """
    return max(DIVERGENCE_BOUND, GROWTH_BOUND * max(abs(c) for c in start))


def _batched_hyperparameters(settings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge K resolved settings: equal values stay scalars, differing numbers become (K, 1) tensors."""
    merged: dict[str, Any] = {}
    for name in settings[0]:
        values = [s[name] for s in settings]
        if all(v == values[0] for v in values):
            merged[name] = values[0]
        elif isinstance(values[0], tuple):
            merged[name] = tuple(
                torch.tensor([v[i] for v in values], dtype=torch.float64).unsqueeze(-1) for i in range(len(values[0]))
            )
        elif isinstance(values[0], (bool, str)):
            raise ValueError(f"{name} must be the same for all settings of one batch, got {values}")
        else:
            merged[name] = torch.tensor(values, dtype=torch.float64).unsqueeze(-1)
    return merged


def run_batch(
    algorithm: str,
    objective: Objective,
    settings: Sequence[Mapping[str, Any] | Setting],
    *,
    steps: int = 20,
    start: Point | None = None,
    schedule: str | Schedule | None = None,
    observe: Callable[[Tensor, dict[str, Tensor]], None] | None = None,
) -> list[Trajectory]:
    """Run K hyperparameter settings of one algorithm as one batch, in float64.

    ``observe(g, state)``, if given, sees each step's gradients ``g`` (K, 2) and the rule's
    state after the step, every row's (a diverged row's too, until all have diverged).

    With ``schedule`` (a name of :data:`descentlab.schedules.SCHEDULES` or a
    :class:`~descentlab.schedules.Schedule`), step t uses each setting's lr as
    that schedule sets it for step t of this run (see :func:`~descentlab.schedules.lr_sequence`).

    Each setting is a mapping of hyperparameters (validated here) or a
    :class:`~descentlab.algorithms.Setting` already validated.  Settings that
    differ in a flag or a choice (``nesterov``, ``form``) cannot share a batch;
    :func:`run_many` groups them for you.
    """
    seen = None if observe is None else (lambda _, gradient, state: observe(gradient, state))
    return run_batches(objective, [(algorithm, settings)], steps=steps, start=start, schedule=schedule, observe=seen)[0]


def run_batches(
    objective: Objective,
    batches: Sequence[tuple[str, Sequence[Mapping[str, Any] | Setting]]],
    *,
    steps: int = 20,
    start: Point | None = None,
    schedule: str | Schedule | None = None,
    observe: Callable[[int, Tensor, dict[str, Tensor]], None] | None = None,
) -> list[list[Trajectory]]:
    """Several batches (algorithm, K settings; see :func:`run_batch`) on one objective, in step with each other.

    Each step takes the gradient at every batch's points in one call (the objectives are
    functions of each point alone, so a batch's gradients are those it would get alone);
    each batch then steps by its own rule, until every one of its rows has diverged.
    ``observe(i, g, state)`` sees batch i's gradients and state after each of its steps.
    Returns each batch's trajectories, in order.
    """
    start = _check_problem(objective, steps, start)
    plan = None if schedule is None else check_schedule(schedule)
    runs = [_Batch.begin(algorithm, settings, start, steps, plan) for algorithm, settings in batches]
    bound = divergence_bound(start)
    for t in range(1, steps + 1):
        going = [(index, run) for index, run in enumerate(runs) if not run.done]
        if not going:
            break
        xs = [run.path[-1] for _, run in going]
        gradients = objective.gradient(torch.cat(xs)).split([len(x) for x in xs])
        for (index, run), gradient in zip(going, gradients):
            run.step(t, gradient, bound)
            if observe is not None:
                observe(index, gradient, run.state)
    return [run.trajectories(objective, steps, plan) for run in runs]


class _Batch:
    """One batch of :func:`run_batches` while it runs: its settings, state, path and divergences."""

    def __init__(self, checked: list[Setting], hp: dict[str, Any], x: Tensor, rates: Tensor | None) -> None:
        self.checked, self.hp, self.rates = checked, hp, rates
        self.spec = checked[0].spec
        self.state = self.spec.init(x, hp)
        self.path = [x]
        self.diverged_at: list[int | None] = [None] * len(checked)

    @property
    def done(self) -> bool:
        """Every row has diverged: the batch takes no more steps."""
        return all(d is not None for d in self.diverged_at)

    @classmethod
    def begin(cls, algorithm: str, settings: Sequence[Mapping[str, Any] | Setting], start: Point, steps: int,
              plan: Schedule | None) -> _Batch:
        if not settings:
            raise ValueError("settings must not be empty")
        checked = [setting(algorithm, s) for s in settings]
        hp = _batched_hyperparameters([s.hyperparameters for s in checked])
        rates = None
        if plan is not None:
            if "lr" not in hp:
                raise ValueError(f"{checked[0].spec.name} has no learning rate to schedule")
            rates = torch.tensor([lr_sequence(plan, s.hyperparameters["lr"], steps) for s in checked],
                                 dtype=torch.float64).T.unsqueeze(-1)  # (steps, K, 1)
        return cls(checked, hp, torch.tensor([start] * len(checked), dtype=torch.float64), rates)

    def step(self, t: int, gradient: Tensor, bound: float) -> None:
        """Step t (from 1) with the gradient at the last point."""
        hp = self.hp if self.rates is None else self.hp | {"lr": self.rates[t - 1]}
        x, self.state = self.spec.update(self.path[-1], gradient, self.state, **hp)
        for row in torch.nonzero(_out_of_bounds(x, bound)).flatten().tolist():
            if self.diverged_at[row] is None:
                self.diverged_at[row] = t
        self.path.append(x)

    def trajectories(self, objective: Objective, steps: int, plan: Schedule | None) -> list[Trajectory]:
        points = torch.stack(self.path)  # (T + 1, K, 2)
        values = objective.f(points)
        ends = [len(self.path) if d is None else d for d in self.diverged_at]  # keep only the finite prefix
        return [
            _trajectory(self.spec.name, dict(s.given), objective, points[:end, row], values[:end, row], steps,
                        diverged, None if plan is None else plan.label())
            for row, (s, end, diverged) in enumerate(zip(self.checked, ends, self.diverged_at))
        ]


def _out_of_bounds(x: Tensor, bound: float) -> Tensor:
    """Per point (last dimension: the coordinates): not finite, or beyond ``bound`` (see :func:`divergence_bound`)."""
    return ~torch.isfinite(x).all(dim=-1) | (x.abs() > bound).any(dim=-1)


def _trajectory(
    algorithm: str, hp: dict[str, Any], objective: Objective, points: Tensor, values: Tensor, steps: int, diverged_at: int | None,
    schedule: str | None = None,
) -> Trajectory:
    """The record of one path: ``points`` (T, 2) and ``values`` (T,) as plain floats."""
    return Trajectory(
        algorithm=algorithm,
        hyperparameters=hp,
        objective=objective.name,
        points=tuple(map(tuple, points.tolist())),  # tolist gives Python floats
        values=tuple(values.tolist()),
        steps=steps,
        diverged_at=diverged_at,
        schedule=schedule,
    )


def _check_problem(objective: Any, steps: Any, start: Any) -> Point:
    """Check a run's objective, step count and start (``None``: the objective's); return the start."""
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise TypeError(f"steps must be an integer, got {steps!r}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if steps > MAX_STEPS:
        raise ValueError(f"steps must be at most {MAX_STEPS} (every point is kept), got {steps}")
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective, e.g. descentlab.lab.get_objective('notes'), got {objective!r}")
    return objective.start if start is None else _check_start(start)


def _check_start(start: Any) -> Point:
    """A start point: two finite real numbers."""
    try:
        values = tuple(start)
    except TypeError:
        values = ()
    if isinstance(start, (str, bytes)) or len(values) != 2 or not all(
        isinstance(c, numbers.Real) and not isinstance(c, bool) for c in values
    ):
        raise TypeError(f"start must be a pair of numbers (x1, x2), got {start!r}")
    if not all(math.isfinite(c) for c in values):
        raise ValueError(f"start must be finite, got {start}")
    return (float(values[0]), float(values[1]))


def run(
    algorithm: str,
    objective: Objective,
    hyperparameters: Mapping[str, Any] | Setting,
    *,
    steps: int = 20,
    start: Point | None = None,
    schedule: str | Schedule | None = None,
) -> Trajectory:
    """One trajectory: ``algorithm`` with ``hyperparameters`` on ``objective`` for ``steps`` steps."""
    return run_batch(algorithm, objective, [hyperparameters], steps=steps, start=start, schedule=schedule)[0]


def run_many(
    runs: Sequence[tuple[str, Mapping[str, Any] | Setting]],
    objective: Objective,
    *,
    steps: int = 20,
    start: Point | None = None,
    schedule: str | Schedule | None = None,
) -> list[Trajectory]:
    """Several (algorithm, hyperparameters) runs on one objective, batched where possible (the batches in step,
    see :func:`run_batches`), in order."""
    checked = [setting(algorithm, hp) for algorithm, hp in runs]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, s in enumerate(checked):
        fixed = tuple((k, v) for k, v in s.hyperparameters.items() if isinstance(v, (bool, str)))
        groups.setdefault((s.algorithm, fixed), []).append(index)
    batches = [(algorithm, [checked[i] for i in indices]) for (algorithm, _), indices in groups.items()]
    ran = run_batches(objective, batches, steps=steps, start=start, schedule=schedule)
    results = {i: t for indices, batch in zip(groups.values(), ran) for i, t in zip(indices, batch)}
    return [results[i] for i in range(len(runs))]


def newton(objective: Objective, *, steps: int = 20, start: Point | None = None, lr: float = 1.0) -> Trajectory:
    """Preconditioned gradient descent ``x <- x - lr * H(x)^-1 g`` (Newton's method for lr = 1).

    On a quadratic the preconditioned problem has the identity Hessian, and one
    step with ``lr = 1`` lands on the minimum.
    """
    start = _check_problem(objective, steps, start)
    bound = divergence_bound(start)
    x = torch.tensor(start, dtype=torch.float64)
    points = [x]
    diverged_at = None
    for t in range(1, steps + 1):
        direction = torch.linalg.solve(objective.hessian(x), objective.gradient(x))
        x = x - lr * direction
        if _out_of_bounds(x, bound):
            diverged_at = t
            break
        points.append(x)
    path = torch.stack(points)
    return _trajectory("newton", {"lr": lr}, objective, path, objective.f(path), steps, diverged_at)


def effective_learning_rates(trajectory: Trajectory, objective: Objective) -> tuple[tuple[float, float], ...]:
    """Per-coordinate effective learning rate of every step: ``-(x_t - x_{t-1}) / g(x_{t-1})``.

    For gradient descent this is ``lr`` throughout; for AdaGrad it is
    ``lr / sqrt(s_t + eps)``, which only shrinks; RMSProp's grows again as the gradients
    shrink (on the notes' quadratic up to 2/λ, where the path oscillates).  It is
    read off the path and the gradients, so it needs no knowledge of the rule.
    A coordinate whose gradient is exactly zero gives ``nan``.
    """
    points = torch.tensor(trajectory.points, dtype=torch.float64)
    gradients = objective.gradient(points[:-1])
    steps = points[:-1] - points[1:]
    rates = torch.where(gradients != 0, steps / gradients, torch.full_like(steps, math.nan))
    return tuple((float(a), float(b)) for a, b in rates.tolist())
