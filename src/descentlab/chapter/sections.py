"""The chapter's experiments as records: what ``descentlab reproduce`` shows, computed.

Each function runs one section of the notes (its 2D experiments, the theory, the airfoil runs) with the
registry's rules and returns a frozen record; nothing here draws or prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..airfoil.data import Airfoil
from ..airfoil.train import TrainingRun, train
from ..lab.objectives import OBJECTIVES, QuadraticTheory, curvature
from ..lab.theory import theory_of
from ..lab.trajectory import Trajectory, effective_learning_rates, newton, run, run_many
from ..notes.reference import NOTES_AIRFOIL, NOTES_TRACES, AirfoilResult, TraceResult

NOTES = OBJECTIVES["notes"]


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
    trajectories = run_many([(r.algorithm, r.hyperparameters) for r in NOTES_TRACES], NOTES, steps=20)
    return [TraceCheck(r, t) for r, t in zip(NOTES_TRACES, trajectories)]


def _notes_runs(traces: Sequence[TraceCheck], algorithm: str) -> list[Trajectory]:
    """The checked trajectories of the notes' runs of ``algorithm``, in the notes' order: the sections draw these."""
    return [check.trajectory for check in traces if check.reference.algorithm == algorithm]


@dataclass(frozen=True)
class IllConditioning:
    theory: QuadraticTheory
    hessian: tuple[tuple[float, float], tuple[float, float]]
    stable: Trajectory  # GD, lr 0.4
    unstable: Trajectory  # GD, lr 0.6


def ill_conditioning(traces: Sequence[TraceCheck]) -> IllConditioning:
    stable, unstable = _notes_runs(traces, "sgd")
    return IllConditioning(theory=theory_of(NOTES), hessian=curvature(NOTES).hessian, stable=stable, unstable=unstable)


@dataclass(frozen=True)
class Preconditioning:
    newton: Trajectory
    gradient_descent: Trajectory


def preconditioning(traces: Sequence[TraceCheck]) -> Preconditioning:
    return Preconditioning(newton=newton(NOTES, steps=3), gradient_descent=_notes_runs(traces, "sgd")[0])


@dataclass(frozen=True)
class MomentumSection:
    traces: tuple[Trajectory, Trajectory]  # the notes' runs: lr 0.4 and 0.6, momentum 0.5 (velocity form)
    ema: Trajectory  # the first of them in the EMA form
    max_form_difference: float  # largest coordinate difference between the two forms' paths
    betas: tuple[float, ...]  # for the EMA-weight figure


def momentum_section(traces: Sequence[TraceCheck]) -> MomentumSection:
    first, second = _notes_runs(traces, "momentum")
    ema = run("momentum", NOTES, {**first.hyperparameters, "form": "ema"}, steps=first.steps)
    difference = max(abs(a - b) for p, q in zip(first.points, ema.points) for a, b in zip(p, q))
    return MomentumSection(traces=(first, second), ema=ema, max_form_difference=difference, betas=(0.5, 0.9, 0.95))


BEYOND_THE_NOTES: tuple[tuple[str, dict], ...] = (("adadelta", {"rho": 0.9}), ("adam", {"lr": 0.4}))
"""The adaptive methods the notes ran only on the airfoil data, shown on the 2D landscape too."""


@dataclass(frozen=True)
class AdaptiveSection:
    trajectories: tuple[Trajectory, ...]  # the notes' AdaGrad and RMSProp runs, then BEYOND_THE_NOTES
    long_runs: tuple[Trajectory, ...]  # AdaGrad and RMSProp over more steps: the stall and the plateau
    long_effective_lr: tuple[tuple[tuple[float, float], ...], ...]  # per long run, per step, per coordinate


def adaptive_section(traces: Sequence[TraceCheck], long_steps: int = 200) -> AdaptiveSection:
    adagrad, rmsprop = _notes_runs(traces, "adagrad"), _notes_runs(traces, "rmsprop")
    trajectories = (*adagrad, *rmsprop, *run_many(list(BEYOND_THE_NOTES), NOTES))
    longer = [(t.algorithm, t.hyperparameters) for t in (adagrad[0], rmsprop[0])]
    long_runs = tuple(run_many(longer, NOTES, steps=long_steps))
    return AdaptiveSection(
        trajectories=trajectories,
        long_runs=long_runs,
        long_effective_lr=tuple(effective_learning_rates(t, NOTES) for t in long_runs),
    )


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
