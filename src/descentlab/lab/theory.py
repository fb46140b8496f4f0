"""The theory beside the paths: closed-form rates of quadratics measured by batched runs, EMA weights.

Everything here is computed from the registry's rules (through
:func:`descentlab.lab.trajectory.run_batch`) or from closed forms, and returned as
records; the figures in :mod:`descentlab.plotting.theory` draw them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .objectives import OBJECTIVES, Objective, QuadraticTheory, quadratic_theory
from .trajectory import Trajectory, run_batch


def theory_of(objective: Objective) -> QuadraticTheory:
    """The closed-form theory of a convex quadratic; ``ValueError`` for any other objective."""
    theory = quadratic_theory(objective)
    if theory is None:
        raise ValueError(f"{objective.name} is not a convex quadratic")
    return theory


@dataclass(frozen=True)
class RateSweep:
    """Measured contraction per step against the theory, over a grid of hyperparameters."""

    theory: QuadraticTheory
    steps: int
    gd_lr: tuple[float, ...]
    gd_measured: tuple[float, ...]  # geometric-mean contraction of |x| per step (inf when diverged)
    gd_predicted: tuple[float, ...]  # max(|1 - lr lmin|, |1 - lr lmax|)
    momentum_lr: tuple[float, ...]
    momentum_beta: tuple[float, ...]
    momentum_measured: tuple[tuple[float, ...], ...]  # [beta index][lr index]


def contraction(trajectory: Trajectory) -> float:
    """Geometric-mean contraction of ``|x|`` per step (``inf`` for a diverged run, 0 at the exact minimum)."""
    if trajectory.diverged:
        return math.inf
    start = math.hypot(*trajectory.points[0])
    end = math.hypot(*trajectory.points[-1])
    if end == 0:
        return 0.0
    return (end / start) ** (1 / (len(trajectory.points) - 1))


def rate_sweep(
    objective: Objective | None = None, steps: int = 100, gd_points: int = 61, lr_points: int = 48, beta_points: int = 20
) -> RateSweep:
    """GD over learning rates, and momentum over (lr, beta), on a quadratic (the notes' by default): one batch each.

    The measured rates sit beside the closed forms of :func:`theory_of`; the grids
    span the notes' quadratic's stable region.
    """
    objective = OBJECTIVES["notes"] if objective is None else objective
    theory = theory_of(objective)
    gd_lr = [float(v) for v in torch.linspace(0.01, 0.6, gd_points)]
    gd = run_batch("sgd", objective, [{"lr": lr} for lr in gd_lr], steps=steps)
    predicted = [max(abs(1 - lr * theory.lmin), abs(1 - lr * theory.lmax)) for lr in gd_lr]
    momentum_lr = [float(v) for v in torch.linspace(0.02, 1.2, lr_points)]
    momentum_beta = [float(v) for v in torch.linspace(0.0, 0.95, beta_points)]
    grid = [{"lr": lr, "momentum": beta} for beta in momentum_beta for lr in momentum_lr]
    measured = [contraction(t) for t in run_batch("momentum", objective, grid, steps=steps)]
    rows = tuple(tuple(measured[i * lr_points : (i + 1) * lr_points]) for i in range(beta_points))
    return RateSweep(
        theory=theory,
        steps=steps,
        gd_lr=tuple(gd_lr),
        gd_measured=tuple(contraction(t) for t in gd),
        gd_predicted=tuple(predicted),
        momentum_lr=tuple(momentum_lr),
        momentum_beta=tuple(momentum_beta),
        momentum_measured=rows,
    )


def ema_weights(beta: float, count: int) -> list[float]:
    """The weights ``(1 - beta) beta^i`` an exponential moving average gives the value ``i`` steps back."""
    return [(1 - beta) * beta**i for i in range(count)]


def bias_correction(betas: Sequence[float], steps: int) -> dict[float, list[float]]:
    """``1 - beta^t`` for t = 1..steps: the total weight of an EMA started at zero (Adam divides by it)."""
    return {beta: [1 - beta**t for t in range(1, steps + 1)] for beta in betas}


__all__ = ["RateSweep", "bias_correction", "contraction", "ema_weights", "rate_sweep", "theory_of"]
