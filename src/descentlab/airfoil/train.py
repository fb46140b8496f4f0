"""The notes' airfoil experiment: minibatch linear regression, many seeds at once.

The procedure is the notes', exactly: model ``y_hat = X w + b``, loss
``mean((y_hat - y)**2) / 2``, minibatches of ``batch_size`` rows reshuffled every
epoch (the last batch of an epoch may be smaller), the loss on all rows before
training and whenever ``(batch_index + 1) * batch_size % 100 == 0`` (31 points
for 2 epochs of batches of 10), ``sec_per_epoch`` = wall time of the last epoch.

What differs from the notes' loop (:mod:`descentlab.notes.loop`) is only how it is
computed, not what:

* **Seeds are a batch dimension.**  ``N`` seeds train together: ``theta`` of shape
  ``(N, 6, 1)`` holds each seed's ``w`` (5 rows) and ``b`` (last row).  Every
  seed draws its initialization and each epoch's permutation from its own
  ``torch.Generator(seed)``, so seed ``k`` in a batch is the run with seed ``k``
  alone.  Every update rule is elementwise, so keeping ``w`` and ``b`` in one
  tensor and stacking seeds changes nothing in the arithmetic.
* **Gradients are analytic**: for this loss ``grad = X_b^T (X_b theta - y_b) / |b|``.
* No ``DataLoader``: one gather per seed and epoch, then views.
* The loss on all rows comes from the Gram matrix of ``[X, 1, y]`` in float64
  (the same quantity, a 6x6 product instead of a pass over the rows).
* Every kernel is small enough to run on one thread, so a busy machine does not
  stall it (on two shared cores a multi-threaded kernel can cost milliseconds).

The parameters train in ``dtype`` (float32, as the notes; float64 for exactness
tests).

``impl="own"`` runs the registry's rule (``REGISTRY[name].update``) with the
notes' defaults and ``w ~ N(0, 0.01**2)``, ``b = 0``; ``impl="torch"`` runs the
torch.optim class the notes used on the same batched tensor, with
``nn.Linear(5, 1)``'s initialization (``w`` and ``b`` uniform in
``+-1/sqrt(5)``) and torch's defaults.  ``init`` ("own" or "torch") takes the
other side's initialization instead, so that the rule and the start can be
changed one at a time.  Hyperparameters always use descentlab's
names; :data:`descentlab.engine.torch_names.TORCH_COUNTERPARTS` is the one table that
translates them.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..algorithms import Setting
from ..algorithms import get as get_algorithm
from ..schedules import Schedule, lr_sequence
from ..schedules import schedule as check_schedule
from ..engine.torch_names import torch_counterpart, torch_refusals
from .data import Airfoil, load_airfoil

if TYPE_CHECKING:
    from torch import Tensor

IMPLS = ("own", "torch")
INITS = {"own": "w ~ N(0, 0.01²), b = 0 (the notes)", "torch": "nn.Linear(5, 1)'s default: w, b ~ U(±1/√5)"}
"""The two initializations, named by the impl whose runs use them by default."""
EVAL_EVERY = 100  # examples between two evaluations of the loss (the notes' constant)
MAX_SEED = 2**63 - 1
MAX_SEEDS = 10_000
"""Seeds that train together at most: each keeps its own shuffled copy of the data (~42 kB in float32)."""
MAX_LOSS_POINTS = 10_000_000
"""Recorded losses (seeds x evaluations) at most: the record keeps every one of them."""
MAX_EPOCHS = 10_000
"""Epochs of one run at most: 5,000 times the notes' 2.  At the notes' batch size that is 150,001 recorded losses per
seed and, on the project's shared 2-core machine, about 40 s for SGD and 2.3 min for Adam (medians of
3.7 and 13.7 ms per epoch over 300 epochs, one seed); 100,000 epochs (6 to 23 min, for nothing the curve
would show) is a typo, not a study."""

Progress = Callable[[int, int], None]
"""``progress(epochs_done, epochs)``, called after every epoch (outside the timed part)."""


def check_hyperparameters(algorithm: str, impl: str, given: Mapping[str, Any] | Setting) -> Setting:
    """Validate ``given`` for ``algorithm`` on ``impl``, once; a :class:`Setting` already made for them passes.

    ``ValueError`` for an unknown algorithm or impl, an option ``impl="torch"``
    cannot honour, or a value out of range; ``TypeError`` for a name the
    algorithm does not take or a missing required one (the same required
    hyperparameters on both impls, so one command line means one experiment).
    A torch run's setting holds what the torch class always does as ``fixed``.
    """
    spec = get_algorithm(algorithm)
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {', '.join(map(repr, IMPLS))}, got {impl!r}")
    fixed = dict(torch_counterpart(algorithm).fixed) if impl == "torch" else {}
    if isinstance(given, Setting):
        if given.spec is not spec or given.fixed != fixed:
            raise ValueError(f"this setting of {given.algorithm} was not made for {algorithm} with impl {impl!r}")
        names = list(given.given)
    else:
        spec.check_names(given)
        names = list(given)
    refusals = torch_refusals(algorithm, names) if impl == "torch" else []
    if refusals:
        name, reason = refusals[0]
        raise ValueError(f"{name} is not available with impl 'torch': {reason}")
    return given if isinstance(given, Setting) else spec.setting(given, fixed)


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation (0 for one value), min and max; all nan if a value is not finite."""

    mean: float
    std: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        values = list(values)
        if not all(math.isfinite(v) for v in values):  # a diverged seed: no meaningful spread
            return cls(math.nan, math.nan, math.nan, math.nan)
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        return cls(statistics.fmean(values), std, min(values), max(values))


@dataclass(frozen=True)
class TrainingRun:
    """One experiment: ``len(seeds)`` independent runs of the same settings."""

    algorithm: str
    impl: str
    hyperparameters: dict[str, Any]  # as given, descentlab's names
    init: str  # whose initialization: a key of INITS
    optimizer: str  # what ran: "descentlab adam" or "torch.optim.Adam"
    settings: dict[str, Any]  # everything that optimizer ran with, in its own names
    seeds: tuple[int, ...]
    epochs: int
    batch_size: int
    losses: tuple[tuple[float, ...], ...]  # per seed: the loss on all rows at each evaluation
    final_loss: tuple[float, ...]  # per seed
    sec_per_epoch: float  # wall time of the last epoch (all seeds together)
    epoch_times: tuple[float, ...]
    optimum_loss: float
    summary: Summary  # of final_loss
    diverged_at: tuple[int | None, ...]  # per seed: the step of the first non-finite loss, or None
    evaluation_steps: tuple[int, ...]  # the step after which each loss was taken (0: the start)
    schedule: str | None = None  # the learning-rate schedule's label (None: the constant lr)

    @property
    def gap(self) -> tuple[float, ...]:
        """Per seed: final loss - optimum."""
        return tuple(f - self.optimum_loss for f in self.final_loss)

    @property
    def diverged(self) -> bool:
        """Whether some seed's loss left the finite numbers."""
        return any(step is not None for step in self.diverged_at)

    @property
    def mean_gap(self) -> float:
        return self.summary.mean - self.optimum_loss

    def epoch_axis(self) -> list[float]:
        """The x values of the loss curves: ``linspace(0, epochs, points)``, as the notes plot them."""
        points = len(self.losses[0])
        if points == 1:
            return [0.0]
        return [self.epochs * i / (points - 1) for i in range(points)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return _jsonable(
            {
                "algorithm": self.algorithm,
                "impl": self.impl,
                "hyperparameters": self.hyperparameters,
                "init": self.init,
                "optimizer": self.optimizer,
                "settings": self.settings,
                "seeds": self.seeds,
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "epoch_axis": self.epoch_axis(),
                "losses": self.losses,
                "final_loss": self.final_loss,
                "gap": self.gap,
                "sec_per_epoch": self.sec_per_epoch,
                "epoch_times": self.epoch_times,
                "optimum_loss": self.optimum_loss,
                "summary": vars(self.summary),
                "mean_gap": self.mean_gap,
                "diverged_at": self.diverged_at,
            } | ({} if self.schedule is None else {"schedule": self.schedule})
        )


def _jsonable(value: Any) -> Any:
    """Containers as dicts and lists; a non-finite float as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def train(
    algorithm: str,
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    data: Airfoil | None = None,
    impl: str = "own",
    init: str | None = None,
    seeds: Sequence[int] = (0,),
    epochs: int = 2,
    batch_size: int = 10,
    dtype: torch.dtype | None = None,
    progress: Progress | None = None,
    schedule: str | Schedule | None = None,
) -> TrainingRun:
    """Train the notes' linear regression with ``algorithm`` once per seed, all seeds as one batch.

    ``data`` defaults to :func:`descentlab.airfoil.load_airfoil` (which may download).
    ``init`` names whose initialization to start from (a key of :data:`INITS`);
    the default is ``impl``'s own.
    Raises ``ValueError``/``TypeError`` for bad settings before any work.  A seed
    whose loss leaves the finite numbers is not an error: ``diverged_at`` gives the
    step of its first non-finite evaluation (its later losses are nan or inf).
    At most :data:`MAX_EPOCHS` epochs; ``progress(done, epochs)``, if given, is
    called after every epoch (this function never prints).  ``dtype`` defaults to
    ``torch.float32``, the notes' precision.  ``schedule`` (a name of
    :data:`descentlab.schedules.SCHEDULES` or a :class:`~descentlab.schedules.Schedule`)
    sets the learning rate of every minibatch step; ``impl="torch"`` attaches the very
    torch scheduler to the ``torch.optim`` optimizer.

    >>> run = train("adam", {"lr": 0.01}, seeds=range(20))   # doctest: +SKIP
    >>> print("loss: %f, %f sec per epoch" % (run.summary.mean, run.sec_per_epoch))  # doctest: +SKIP
    """
    if hyperparameters is not None and not isinstance(hyperparameters, (Mapping, Setting)):
        raise TypeError(f"hyperparameters must be a mapping of names to values, got {hyperparameters!r}")
    setting = check_hyperparameters(algorithm, impl, hyperparameters if hyperparameters is not None else {})
    init = impl if init is None else init
    if not isinstance(init, str) or init not in INITS:
        raise ValueError(f"init must be one of {', '.join(map(repr, INITS))}, got {init!r}")
    seeds = _check_seeds(seeds)
    epochs = check_count("epochs", epochs)
    batch_size = check_count("batch_size", batch_size)
    dtype = torch.float32 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype such as torch.float32, got {dtype!r}")
    if data is not None and not isinstance(data, Airfoil):
        raise TypeError(f"data must be an Airfoil from descentlab.airfoil.load_airfoil(path), got {type(data).__name__}")
    if data is None:
        data = load_airfoil()
    rows = data.rows
    if batch_size > rows:
        raise ValueError(f"batch_size {batch_size} is larger than the {rows} training rows")
    points = 1 + epochs * sum(_evaluations(rows, batch_size))  # counted, not listed: epochs may be huge
    if len(seeds) * points > MAX_LOSS_POINTS:
        raise ValueError(
            f"{len(seeds)} seeds x {points} evaluations would record more than {MAX_LOSS_POINTS} losses; "
            "use fewer seeds or epochs"
        )
    if epochs > MAX_EPOCHS:
        raise ValueError(f"epochs must be at most {MAX_EPOCHS} (the notes train for 2), got {epochs}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function progress(epochs_done, epochs), got {progress!r}")
    evaluation_steps = _evaluation_steps(rows, batch_size, epochs)
    plan = None if schedule is None else check_schedule(schedule)
    if plan is not None and "lr" not in setting.hyperparameters:
        raise ValueError(f"{algorithm} has no learning rate to schedule")
    total_steps = epochs * math.ceil(rows / batch_size)

    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    ones = torch.ones(rows, 1, dtype=dtype)
    X = torch.cat([data.features.to(dtype), ones], dim=1)  # (rows, 6): [features, 1]
    y = data.labels.to(dtype).reshape(rows, 1)
    with torch.inference_mode():  # no autograd bookkeeping: the gradient is analytic
        theta = torch.stack([_initial_theta(init, X.shape[1], g, dtype) for g in generators])  # (N, 6, 1)
        step, optimizer, settings = _stepper(impl, setting, theta, plan, total_steps)
        losses, epoch_times = _loop(theta, step, X, y, generators, epochs, batch_size, progress)

    per_seed = tuple(tuple(row) for row in losses.tolist())
    final = tuple(row[-1] for row in per_seed)
    first_bad = [next((i for i, loss in enumerate(row) if not math.isfinite(loss)), None) for row in per_seed]
    return TrainingRun(
        algorithm=algorithm,
        impl=impl,
        hyperparameters=dict(setting.given),
        init=init,
        optimizer=optimizer,
        settings=settings,
        seeds=seeds,
        epochs=epochs,
        batch_size=batch_size,
        losses=per_seed,
        final_loss=final,
        sec_per_epoch=epoch_times[-1],
        epoch_times=tuple(epoch_times),
        optimum_loss=data.optimum_loss,
        summary=Summary.of(final),
        diverged_at=tuple(None if i is None else evaluation_steps[i] for i in first_bad),
        evaluation_steps=evaluation_steps,
        schedule=None if plan is None else plan.label(),
    )


def _check_seeds(seeds: Sequence[int]) -> tuple[int, ...]:
    if isinstance(seeds, int) or not isinstance(seeds, (Sequence, range)):
        raise TypeError(f"seeds must be a sequence of integers, got {seeds!r}")
    if len(seeds) > MAX_SEEDS:  # before tuple(): range(10**12) is cheap, its tuple is not
        raise ValueError(f"at most {MAX_SEEDS} seeds train together, got {len(seeds)}; split them into several runs")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"a seed must be an integer, got {seed!r}")
        if not 0 <= seed <= MAX_SEED:
            raise ValueError(f"a seed must be in [0, 2**63 - 1], got {seed}")
    return seeds


def check_count(name: str, value: int) -> int:
    """``value`` if it is an integer >= 1: else a ``TypeError`` or ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _evaluations(rows: int, batch_size: int) -> list[bool]:
    """For each minibatch of an epoch: is the loss evaluated after it (every EVAL_EVERY examples)?"""
    return [(i + 1) * batch_size % EVAL_EVERY == 0 for i in range(math.ceil(rows / batch_size))]


def _evaluation_steps(rows: int, batch_size: int, epochs: int) -> tuple[int, ...]:
    """The step (minibatches done, over all epochs) at which each loss is taken; 0 is the start."""
    per_epoch = _evaluations(rows, batch_size)
    inside = [i + 1 for i, now in enumerate(per_epoch) if now]
    return (0, *(epoch * len(per_epoch) + step for epoch in range(epochs) for step in inside))


def _initial_theta(init: str, size: int, generator: torch.Generator, dtype: torch.dtype) -> Tensor:
    """One seed's ``[w; b]`` as a ``(size, 1)`` column, drawn as ``init``'s runs draw it (see :data:`INITS`)."""
    if init == "own":  # the notes: w ~ N(0, 0.01^2), b = 0
        w = torch.randn(size - 1, 1, generator=generator, dtype=dtype) * 0.01
        return torch.cat([w, torch.zeros(1, 1, dtype=dtype)])
    bound = 1 / math.sqrt(size - 1)  # nn.Linear(5, 1): w and b uniform in (-1/sqrt(fan_in), 1/sqrt(fan_in))
    return (torch.rand(size, 1, generator=generator, dtype=dtype) * 2 - 1) * bound


Step = Callable[["Tensor", "Tensor"], "Tensor"]


def _stepper(impl: str, setting: Setting, theta: Tensor, plan: Schedule | None = None,
             steps: int = 0) -> tuple[Step, str, dict[str, Any]]:
    """``step(theta, grad) -> new theta``, the optimizer's title and its complete settings.

    With ``plan``, the learning rate of each of the run's ``steps`` steps follows that schedule.
    """
    spec, hp = setting.spec, setting.hyperparameters
    if impl == "own":
        state = spec.init(theta, hp)
        rates = iter(lr_sequence(plan, hp["lr"], steps)) if plan is not None else None

        def own_step(theta: Tensor, grad: Tensor) -> Tensor:
            nonlocal state
            now = hp if rates is None else hp | {"lr": next(rates)}
            theta, state = spec.update(theta, grad, state, **now)
            return theta

        return own_step, f"descentlab {spec.name}", hp

    counterpart = torch_counterpart(spec.name)
    kwargs = {counterpart.names[name]: value for name, value in setting.given.items()}
    parameter = theta.clone()
    optimizer = counterpart.optimizer([parameter], **kwargs)
    settings = {name: optimizer.defaults[name] for name in counterpart.names.values() if name in optimizer.defaults}
    scheduler = None if plan is None else plan.attach(optimizer, steps)

    def torch_step(theta: Tensor, grad: Tensor) -> Tensor:
        parameter.grad = grad
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        return parameter

    return torch_step, counterpart.title, settings


def _loop(
    theta: Tensor,
    step: Step,
    X: Tensor,
    y: Tensor,
    generators: list[torch.Generator],
    epochs: int,
    batch_size: int,
    progress: Progress | None = None,
) -> tuple[Tensor, list[float]]:
    """The training loop for all seeds; returns the losses ``(N, points)`` (float64) and the epoch times.

    Every tensor operation here is small enough to stay on one thread: on a busy
    two-core machine a multi-threaded kernel per step or evaluation costs far
    more than it saves.
    """
    rows, width = X.shape
    seeds = len(generators)
    evaluations = _evaluations(rows, batch_size)
    losses = torch.empty(seeds, 1 + epochs * sum(evaluations), dtype=torch.float64)
    table = torch.cat([X, y], dim=1)  # (rows, 7): a row and its target travel together
    shuffled = torch.empty(seeds, rows, width + 1, dtype=X.dtype)
    evaluate = _full_loss(table)

    losses[:, 0] = evaluate(theta)
    point = 1
    epoch_times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for k, generator in enumerate(generators):  # each seed's own shuffle, one small gather per seed
            torch.index_select(table, 0, torch.randperm(rows, generator=generator), out=shuffled[k])
        for evaluate_now, part in zip(evaluations, shuffled.split(batch_size, dim=1)):
            xb, yb = part[..., :width], part[..., width:]  # (N, b, 6), (N, b, 1)
            residual = torch.baddbmm(yb, xb, theta, beta=-1)  # X_b theta - y_b
            grad = torch.bmm(xb.mT, residual).div_(xb.shape[1])  # X_b^T (X_b theta - y_b) / |b|
            theta = step(theta, grad)
            if evaluate_now:
                losses[:, point] = evaluate(theta)
                point += 1
        epoch_times.append(time.perf_counter() - start)
        if progress is not None:
            progress(len(epoch_times), epochs)
    return losses, epoch_times


def _full_loss(table: Tensor) -> Callable[[Tensor], Tensor]:
    """``theta (N, 6, 1) -> mean((X theta - y)**2) / 2`` per seed, in float64, for ``table = [X, y]``.

    Expanded as ``(theta^T A theta - 2 c^T theta + y^T y) / (2 rows)`` with
    ``A = X^T X`` and ``c = X^T y`` computed once in float64: the same quantity
    as the notes' float32 mean of squared residuals (and closer to exact), at the
    cost of a 6x6 product instead of a pass over all rows.
    """
    rows, width = table.shape[0], table.shape[1] - 1
    Z = table.double()  # [X, y]
    gram = Z.t() @ Z  # [[A, c], [c^T, y^T y]] in one product (X^T @ y alone hits a slow BLAS path)
    A, twice_c, yy = gram[:width, :width], 2 * gram[:width, width:], float(gram[width, width])
    scale = 1 / (2 * rows)

    def evaluate(theta: Tensor) -> Tensor:
        t = theta.double()
        return ((t * (torch.matmul(A, t) - twice_c)).sum(dim=(1, 2)) + yy) * scale

    return evaluate


__all__ = [
    "IMPLS",
    "INITS",
    "MAX_EPOCHS",
    "MAX_LOSS_POINTS",
    "MAX_SEED",
    "MAX_SEEDS",
    "Summary",
    "TrainingRun",
    "check_count",
    "check_hyperparameters",
    "train",
]
