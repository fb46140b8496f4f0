"""The chapter's experiments as records: what ``descentlab reproduce`` shows, computed.

Each function runs one section of the notes (its 2D experiments, the theory, the airfoil runs) with the
registry's rules and returns a frozen record; nothing here draws or prints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..airfoil.data import Airfoil
from ..airfoil.train import IMPLS, INITS, TrainingRun, train
from ..lab.objectives import OBJECTIVES, QuadraticTheory, curvature
from ..lab.theory import theory_of
from ..lab.trajectory import Trajectory, effective_learning_rates, newton, run, run_many
from ..notes.loop import NotesRun, notes_train
from ..notes.reference import NOTES_AIRFOIL, NOTES_TRACES, AirfoilResult, TraceResult
from ..parallel import NO_HELPER, Helper, Task, collect
from .rule import PredictionInterval, prediction_interval

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
    """One of the notes' twelve airfoil runs, re-run over many seeds (and once with the notes' own loop)."""

    reference: AirfoilResult
    run: TrainingRun
    notes_loop: NotesRun | None = None  # the notes' loop on this machine, one seed (for its time per epoch)

    @property
    def interval(self) -> PredictionInterval | None:
        """Where one more of our seeds would end, with probability rule.LEVEL; None below MIN_SEEDS seeds (or one diverged)."""
        return prediction_interval(self.run.final_loss, self.run.optimum_loss)

    @property
    def passed(self) -> bool | None:
        """The verdict: the notes' single draw inside :attr:`interval`; None when there is no interval."""
        interval = self.interval
        if interval is None:
            return False if self.run.diverged else None
        return interval.contains(self.reference.final_loss)


@dataclass(frozen=True)
class AdaDeltaCell:
    """AdaDelta with one choice of each thing that differs between the notes' run and torch's."""

    impl: str  # whose code: the registry's rule ("own") or torch.optim.Adadelta ("torch")
    init: str  # whose initialization (see descentlab.airfoil.train.INITS)
    eps: float
    run: TrainingRun


@dataclass(frozen=True)
class AdaDeltaDecomposition:
    """The notes' own AdaDelta (eps 1e-5, w ~ N(0, 0.01²)) against torch's (eps 1e-6, nn.Linear's start),
    one difference at a time: every combination of code, initialization and eps, over the same seeds."""

    cells: tuple[AdaDeltaCell, ...]
    notes_eps: float
    torch_eps: float

    def cell(self, impl: str, init: str, eps: float) -> AdaDeltaCell:
        return next(c for c in self.cells if (c.impl, c.init, c.eps) == (impl, init, eps))

    def mean(self, init: str, eps: float, impl: str = "own") -> float:
        return self.cell(impl, init, eps).run.summary.mean

    @property
    def baseline(self) -> float:
        """The notes' own AdaDelta: our rule, the notes' start, the notes' eps."""
        return self.mean("own", self.notes_eps)

    @property
    def eps_alone(self) -> float:
        """Change of the mean final loss from torch's eps alone (the notes' start)."""
        return self.mean("own", self.torch_eps) - self.baseline

    @property
    def init_alone(self) -> float:
        """Change from nn.Linear's initialization alone (the notes' eps)."""
        return self.mean("torch", self.notes_eps) - self.baseline

    @property
    def both(self) -> float:
        """Change from both: torch's eps and torch's start (what torch.optim.Adadelta ran in the notes)."""
        return self.mean("torch", self.torch_eps) - self.baseline

    @property
    def code_difference(self) -> float:
        """Largest difference of any seed's final loss between our rule and torch's class, same eps and start."""
        return max(
            abs(a - b)
            for c in self.cells
            if c.impl == "own"
            for a, b in zip(c.run.final_loss, self.cell("torch", c.init, c.eps).run.final_loss)
        )


def adadelta_decomposition(data: Airfoil, seeds: Sequence[int], notes_eps: float = 1e-5, torch_eps: float = 1e-6,
                           *, reuse: Sequence[TrainingRun] = ()) -> AdaDeltaDecomposition:
    """Run AdaDelta (rho 0.9) for each code x initialization x eps, all over ``seeds``.

    A run in ``reuse`` that is one of the cells (AdaDelta, rho 0.9, the same seeds and data) is taken as it is
    instead of being run again: the notes' own run and torch's are two of the corners.
    """
    seeds = tuple(seeds)

    def cell(impl: str, init: str, eps: float) -> AdaDeltaCell:
        hyperparameters = {"rho": 0.9, "eps": eps}
        for done in reuse:
            if (done.algorithm, done.impl, done.init, done.seeds, done.optimum_loss, done.epochs) == (
                    "adadelta", impl, init, seeds, data.optimum_loss, 2) \
                    and done.settings.get("rho") == 0.9 and done.settings.get("eps") == eps:
                return AdaDeltaCell(impl, init, eps, done)
        return AdaDeltaCell(impl, init, eps, train("adadelta", hyperparameters, data=data, impl=impl, init=init,
                                                   seeds=seeds))

    cells = tuple(cell(impl, init, eps) for impl in IMPLS for init in INITS for eps in (notes_eps, torch_eps))
    return AdaDeltaDecomposition(cells=cells, notes_eps=notes_eps, torch_eps=torch_eps)


NOTES_LOOP_SEED = 0
"""The one seed the notes' loop runs with in the report (numpy's global seed must be below 2**32)."""
NOTES_LOOP_EPOCHS = 1
"""Epochs of the notes' loop per run in the report: its time per epoch needs one (the notes ran 2 and printed the last)."""


@dataclass(frozen=True)
class AirfoilSection:
    checks: tuple[AirfoilCheck, ...]
    adadelta: AdaDeltaDecomposition
    optimum_loss: float
    data_path: str
    data_sha1: str
    data_published: bool  # the file is byte for byte the published one


def airfoil_section(data: Airfoil, seeds: Sequence[int], *, time_notes_loop: bool = True,
                    helper: Helper = NO_HELPER,
                    on_trained: Callable[[AirfoilSection], None] | None = None) -> AirfoilSection:
    """The notes' twelve runs (own and torch.optim), plus the runs that explain the AdaDelta gap.

    With ``time_notes_loop`` each run also goes once through the notes' own loop
    (:func:`descentlab.notes.loop.notes_train`, seed :data:`NOTES_LOOP_SEED`,
    :data:`NOTES_LOOP_EPOCHS` epoch: 0.03-0.1 s each) so that its time per epoch on
    this machine stands beside ours; only its time is used.  ``helper`` may run the
    loops of the notes' own functions meanwhile (see :mod:`descentlab.parallel`); the
    torch.optim ones run here, where torch.optim is imported anyway (its first
    optimizer imports Dynamo, about 1.5 s).  ``on_trained``, if given, sees the section as soon as
    its runs are trained, before the loops' times are in (every ``notes_loop`` is None there).
    """
    seeds = tuple(seeds)
    loops = [_notes_loop(helper if r.impl == "own" else NO_HELPER, r, data) for r in NOTES_AIRFOIL] \
        if time_notes_loop else []
    runs = [train(r.algorithm, r.hyperparameters, data=data, impl=r.impl, seeds=seeds) for r in NOTES_AIRFOIL]
    adadelta = adadelta_decomposition(data, seeds, reuse=runs)

    def section(timed: Sequence[NotesRun | None]) -> AirfoilSection:
        return AirfoilSection(
            checks=tuple(AirfoilCheck(r, run, loop) for r, run, loop in zip(NOTES_AIRFOIL, runs, timed)),
            adadelta=adadelta,
            optimum_loss=data.optimum_loss,
            data_path=str(data.path),
            data_sha1=data.sha1,
            data_published=data.published,
        )

    if on_trained is not None:
        on_trained(section([None] * len(runs)))
    return section(collect(loops) or [None] * len(runs))  # the torch.optim loops run here now, the rest as they come


def _notes_loop(helper: Helper, reference: AirfoilResult, data: Airfoil) -> Task:
    return helper.task(notes_train, reference.algorithm, reference.hyperparameters, data.features, data.labels,
                       impl=reference.impl, seed=NOTES_LOOP_SEED, epochs=NOTES_LOOP_EPOCHS)
