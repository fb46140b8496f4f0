"""The chapter's experiments as records: what ``descentlab reproduce`` shows, computed.

Each function runs one section of the notes (SPEC sections 2 to 4) with the
registry's rules and returns a frozen record; nothing here draws or prints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from .data import Airfoil
from .objectives import OBJECTIVES, Objective, QuadraticTheory, quadratic_theory
from .reference import NOTES_AIRFOIL, NOTES_TRACES, AirfoilResult, TraceResult
from .train import TrainingRun, train
from .trajectory import Trajectory, effective_learning_rates, newton, run, run_batch, run_many

NOTES = OBJECTIVES["notes"]


def _theory(objective: Objective) -> QuadraticTheory:
    theory = quadratic_theory(objective)
    if theory is None:
        raise ValueError(f"{objective.name} is not a convex quadratic")
    return theory


@dataclass(frozen=True)
class TraceCheck:
    """One of the notes' seven 2D results, recomputed."""

    reference: TraceResult
    trajectory: Trajectory

    @property
    def ours(self) -> str:
        return self.trajectory.notes_line()

    @property
    def matches(self) -> bool:
        return self.ours == self.reference.printed


def check_traces() -> list[TraceCheck]:
    """Run the seven 2D experiments of the notes exactly as they did (20 steps from (-5, -2))."""
    return [TraceCheck(r, run(r.algorithm, NOTES, r.hyperparameters, steps=20)) for r in NOTES_TRACES]


@dataclass(frozen=True)
class IllConditioning:
    theory: QuadraticTheory
    hessian: tuple[tuple[float, float], tuple[float, float]]
    stable: Trajectory  # GD, lr 0.4
    unstable: Trajectory  # GD, lr 0.6


def ill_conditioning() -> IllConditioning:
    h = NOTES.hessian((0.0, 0.0))
    stable, unstable = run_batch("sgd", NOTES, [{"lr": 0.4}, {"lr": 0.6}])
    return IllConditioning(
        theory=_theory(NOTES),
        hessian=((float(h[0, 0]), float(h[0, 1])), (float(h[1, 0]), float(h[1, 1]))),
        stable=stable,
        unstable=unstable,
    )


@dataclass(frozen=True)
class Preconditioning:
    newton: Trajectory
    gradient_descent: Trajectory


def preconditioning() -> Preconditioning:
    return Preconditioning(newton=newton(NOTES, steps=3), gradient_descent=run("sgd", NOTES, {"lr": 0.4}))


@dataclass(frozen=True)
class MomentumSection:
    traces: tuple[Trajectory, Trajectory]  # lr 0.4 and 0.6, momentum 0.5
    velocity: Trajectory
    ema: Trajectory
    max_form_difference: float  # largest coordinate difference between the two forms' paths
    betas: tuple[float, ...]  # for the EMA-weight figure


def momentum_section() -> MomentumSection:
    traces = run_batch("momentum", NOTES, [{"lr": 0.4, "momentum": 0.5}, {"lr": 0.6, "momentum": 0.5}])
    velocity = traces[0]
    ema = run("momentum", NOTES, {"lr": 0.4, "momentum": 0.5, "form": "ema"})
    difference = max(abs(a - b) for p, q in zip(velocity.points, ema.points) for a, b in zip(p, q))
    return MomentumSection(
        traces=(traces[0], traces[1]),
        velocity=velocity,
        ema=ema,
        max_form_difference=difference,
        betas=(0.5, 0.9, 0.95),
    )


ADAPTIVE_RUNS: tuple[tuple[str, dict], ...] = (
    ("adagrad", {"lr": 0.4}),
    ("adagrad", {"lr": 2.0}),
    ("rmsprop", {"lr": 0.4, "gamma": 0.9}),
    ("adadelta", {"rho": 0.9}),
    ("adam", {"lr": 0.4}),
)


@dataclass(frozen=True)
class AdaptiveSection:
    trajectories: tuple[Trajectory, ...]
    effective_lr: tuple[tuple[tuple[float, float], ...], ...]  # per trajectory, per step, per coordinate
    long_steps: int
    long_runs: tuple[Trajectory, ...]  # AdaGrad and RMSProp over more steps: the stall and the plateau
    long_effective_lr: tuple[tuple[tuple[float, float], ...], ...]


def adaptive_section(long_steps: int = 200) -> AdaptiveSection:
    trajectories = tuple(run_many(list(ADAPTIVE_RUNS), NOTES))
    long_runs = tuple(run_many([("adagrad", {"lr": 0.4}), ("rmsprop", {"lr": 0.4, "gamma": 0.9})], NOTES, steps=long_steps))
    return AdaptiveSection(
        trajectories=trajectories,
        effective_lr=tuple(effective_learning_rates(t, NOTES) for t in trajectories),
        long_steps=long_steps,
        long_runs=long_runs,
        long_effective_lr=tuple(effective_learning_rates(t, NOTES) for t in long_runs),
    )


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
    momentum_best: Trajectory
    gd_best: Trajectory


def _contraction(trajectory: Trajectory) -> float:
    if trajectory.diverged:
        return math.inf
    start = math.hypot(*trajectory.points[0])
    end = math.hypot(*trajectory.points[-1])
    if end == 0:
        return 0.0
    return (end / start) ** (1 / (len(trajectory.points) - 1))


def rate_sweep(steps: int = 100, gd_points: int = 61, lr_points: int = 48, beta_points: int = 20) -> RateSweep:
    """GD over learning rates, and momentum over (lr, beta), on the notes' quadratic: one batch each."""
    theory = _theory(NOTES)
    gd_lr = [float(v) for v in torch.linspace(0.01, 0.6, gd_points)]
    gd = run_batch("sgd", NOTES, [{"lr": lr} for lr in gd_lr], steps=steps)
    predicted = [max(abs(1 - lr * theory.lmin), abs(1 - lr * theory.lmax)) for lr in gd_lr]
    momentum_lr = [float(v) for v in torch.linspace(0.02, 1.2, lr_points)]
    momentum_beta = [float(v) for v in torch.linspace(0.0, 0.95, beta_points)]
    grid = [{"lr": lr, "momentum": beta} for beta in momentum_beta for lr in momentum_lr]
    measured = [_contraction(t) for t in run_batch("momentum", NOTES, grid, steps=steps)]
    rows = tuple(tuple(measured[i * lr_points : (i + 1) * lr_points]) for i in range(beta_points))
    return RateSweep(
        theory=theory,
        steps=steps,
        gd_lr=tuple(gd_lr),
        gd_measured=tuple(_contraction(t) for t in gd),
        gd_predicted=tuple(predicted),
        momentum_lr=tuple(momentum_lr),
        momentum_beta=tuple(momentum_beta),
        momentum_measured=rows,
        momentum_best=run(
            "momentum", NOTES, {"lr": theory.momentum_best_lr, "momentum": theory.momentum_best_beta}, steps=steps
        ),
        gd_best=run("sgd", NOTES, {"lr": theory.gd_best_lr}, steps=steps),
    )


def ema_weights(beta: float, count: int) -> list[float]:
    """The weights ``(1 - beta) beta^i`` an exponential moving average gives the value ``i`` steps back."""
    return [(1 - beta) * beta**i for i in range(count)]


def bias_correction(betas: Sequence[float], steps: int) -> dict[float, list[float]]:
    """``1 - beta^t`` for t = 1..steps: the total weight of an EMA started at zero (Adam divides by it)."""
    return {beta: [1 - beta**t for t in range(1, steps + 1)] for beta in betas}


@dataclass(frozen=True)
class AirfoilCheck:
    """One of the notes' twelve airfoil runs, re-run over many seeds."""

    reference: AirfoilResult
    run: TrainingRun

    @property
    def inside(self) -> bool:
        """The notes' single draw lies within our seeds' range."""
        return self.run.summary.min <= self.reference.final_loss <= self.run.summary.max


@dataclass(frozen=True)
class AirfoilSection:
    checks: tuple[AirfoilCheck, ...]
    adadelta_eps: tuple[TrainingRun, ...]  # torch Adadelta with the notes' eps, own AdaDelta with torch's eps
    optimum_loss: float


def airfoil_section(data: Airfoil, seeds: Sequence[int]) -> AirfoilSection:
    """The notes' twelve runs (own and torch.optim), plus the runs that explain the AdaDelta gap."""
    checks = tuple(
        AirfoilCheck(r, train(r.algorithm, r.hyperparameters, data=data, impl=r.impl, seeds=seeds))
        for r in NOTES_AIRFOIL
    )
    adadelta_eps = (
        train("adadelta", {"rho": 0.9, "eps": 1e-5}, data=data, impl="torch", seeds=seeds),
        train("adadelta", {"rho": 0.9, "eps": 1e-6}, data=data, impl="own", seeds=seeds),
    )
    return AirfoilSection(checks=checks, adadelta_eps=adadelta_eps, optimum_loss=data.optimum_loss)
