"""Learning-rate schedules (d2l 11.11): one table, validated parameters, built from ``torch.optim.lr_scheduler``.

Every schedule is a torch scheduler attached to an optimizer; the per-step
learning rates of a run come from stepping that very scheduler
(:func:`lr_sequence`), so the 2D lab, the airfoil runs and a user's own
``torch.optim`` loop see the same numbers.

* ``constant``: the base learning rate throughout (the baseline).
* ``factor``: ``lr_t = max(min_lr, lr · factor^t)`` (d2l's FactorScheduler), as a ``LambdaLR``.
* ``multi_factor``: ``lr`` times ``factor`` at each milestone step (d2l's MultiFactorScheduler), as ``MultiStepLR``.
* ``cosine``: a linear warm-up over ``warmup`` steps from ``warmup_start · lr``, then
  cosine annealing from ``lr`` to ``final_lr`` over the rest of the run (d2l's CosineScheduler),
  as ``LinearLR`` then ``CosineAnnealingLR`` in a ``SequentialLR``.
* ``warmup``: the linear warm-up alone, then ``lr`` (``LinearLR``).

``lr_t`` is the rate used by step ``t`` (t = 1 … steps): the scheduler steps after each optimizer step.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # torch.optim.lr_scheduler is reached through torch at run time: `--help` must not load torch
    from torch.optim import lr_scheduler


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    check: Callable[[Any], str | None]  # None when the value is valid, else the message's condition
    doc: str


def _fraction(open_low: bool = True, high: float = 1.0) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return "must be a finite number"
        if not (0 < value <= high if open_low else 0 <= value <= high):
            return f"must be in {'(' if open_low else '['}0, {high:g}]"
        return None
    return check


def _nonnegative(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        return "must be a finite number"
    return "must be >= 0" if value < 0 else None


def _count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return "must be an integer"
    return "must be >= 0" if value < 0 else None


def _milestones(value: Any) -> str | None:
    if not isinstance(value, (tuple, list)) or not value:
        return "must be a non-empty list of steps"
    if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1 for v in value):
        return "must hold integers >= 1"
    if any(b <= a for a, b in zip(value, value[1:])):
        return "must be increasing"
    return None


@dataclass(frozen=True)
class ScheduleSpec:
    name: str
    title: str
    parameters: tuple[Parameter, ...]
    build: Callable[..., lr_scheduler.LRScheduler]  # build(optimizer, steps, **parameters)

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters}


def _factor(optimizer: torch.optim.Optimizer, steps: int, *, factor: float, min_lr: float) -> lr_scheduler.LRScheduler:
    base = optimizer.param_groups[0]["lr"]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: max(min_lr / base, factor ** t))


def _multi_factor(optimizer: torch.optim.Optimizer, steps: int, *, milestones: tuple[int, ...],
                  factor: float) -> lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(milestones), gamma=factor)


def _linear_warmup(optimizer: torch.optim.Optimizer, warmup: int, warmup_start: float) -> lr_scheduler.LRScheduler:
    return torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=warmup_start, end_factor=1.0, total_iters=warmup)


def _cosine(optimizer: torch.optim.Optimizer, steps: int, *, warmup: int, warmup_start: float,
            final_lr: float) -> lr_scheduler.LRScheduler:
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(steps - warmup, 1), eta_min=final_lr)
    if warmup == 0:
        return cosine
    # SequentialLR steps the first scheduler at construction already; build the warm-up first
    return torch.optim.lr_scheduler.SequentialLR(optimizer, [_linear_warmup(optimizer, warmup, warmup_start), cosine],
                                     milestones=[warmup])


def _warmup(optimizer: torch.optim.Optimizer, steps: int, *, warmup: int, warmup_start: float) -> lr_scheduler.LRScheduler:
    return _linear_warmup(optimizer, warmup, warmup_start)


_WARMUP = Parameter("warmup", 10, _count, "steps of linear warm-up")
_WARMUP_START = Parameter("warmup_start", 0.1, _fraction(), "the warm-up's first rate, as a share of lr")

SCHEDULES: dict[str, ScheduleSpec] = {
    s.name: s for s in (
        ScheduleSpec("constant", "constant", (), lambda optimizer, steps: torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)),
        ScheduleSpec("factor", "factor", (
            Parameter("factor", 0.99, _fraction(), "the rate's multiplier per step"),
            Parameter("min_lr", 0.0, _nonnegative, "the floor of the rate"),
        ), _factor),
        ScheduleSpec("multi_factor", "multi-factor", (
            Parameter("milestones", (100, 200), _milestones, "the steps after which the rate is multiplied"),
            Parameter("factor", 0.5, _fraction(), "the multiplier at each milestone"),
        ), _multi_factor),
        ScheduleSpec("cosine", "cosine with warm-up", (
            _WARMUP, _WARMUP_START,
            Parameter("final_lr", 0.0, _nonnegative, "the rate at the end of the run"),
        ), _cosine),
        ScheduleSpec("warmup", "warm-up", (_WARMUP, _WARMUP_START), _warmup),
    )
}
"""Every schedule by name."""


@dataclass(frozen=True)
class Schedule:
    """A validated schedule: its spec and its complete parameters."""

    spec: ScheduleSpec
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    def label(self) -> str:
        given = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.parameters.items())
        return self.spec.title + (f" ({given})" if given else "")

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled by name and parameters (the table's functions are found again by name)."""
        return schedule, (self.name, self.parameters)

    def attach(self, optimizer: torch.optim.Optimizer, steps: int) -> lr_scheduler.LRScheduler:
        """The torch scheduler of a ``steps``-step run with ``optimizer`` (call its ``step()`` after each step)."""
        return self.spec.build(optimizer, steps, **self.parameters)


def schedule(name: str | Schedule, parameters: Mapping[str, Any] | None = None, /, **kwargs: Any) -> Schedule:
    """Validate a schedule: ``schedule("cosine", warmup=5)``; ValueError/TypeError with the parameter's name."""
    if isinstance(name, Schedule):
        if parameters or kwargs:
            raise TypeError("a Schedule is already complete; pass its name to change its parameters")
        return name
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
    if parameters is not None and not isinstance(parameters, Mapping):
        raise TypeError(f"schedule parameters must be a mapping, got {parameters!r}")
    given = {**(parameters or {}), **kwargs}
    spec = SCHEDULES[name]
    unknown = sorted(set(given) - {p.name for p in spec.parameters})
    if unknown:
        known = ", ".join(p.name for p in spec.parameters) or "none"
        raise ValueError(f"{name} has no parameter {unknown[0]!r} (its parameters: {known})")
    complete = spec.defaults | given
    for p in spec.parameters:
        problem = p.check(complete[p.name])
        if problem is not None:
            raise ValueError(f"{p.name} {problem}, got {complete[p.name]!r}")
    if "milestones" in complete:
        complete["milestones"] = tuple(int(m) for m in complete["milestones"])
    return Schedule(spec, complete)


def lr_sequence(plan: str | Schedule, lr: float, steps: int) -> tuple[float, ...]:
    """The rate used by each of ``steps`` steps at base rate ``lr``, read from the torch scheduler itself."""
    plan = schedule(plan)
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=float(lr))
    scheduler = plan.attach(optimizer, int(steps))
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradient: a no-op, but the scheduler expects one before its own step
        scheduler.step()
    return tuple(float(r) for r in rates)


__all__ = ["SCHEDULES", "Parameter", "Schedule", "ScheduleSpec", "lr_sequence", "schedule"]
