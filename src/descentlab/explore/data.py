"""The explorer's numbers: every registry algorithm over a grid of settings on each 2D problem, precomputed.

Everything the page shows is computed here by the library and only looked up in
the page: paths, f(x_t) and ``diverged_at`` come from
:func:`descentlab.lab.trajectory.run_batches` (one batch per algorithm and
problem, a problem's batches in step), the optimizer's internal state from the same registry rule
(``spec.update``) fed the same points, the effective learning rate from
:func:`descentlab.lab.trajectory.effective_learning_rates`, and the theory from
:mod:`descentlab.lab.theory`.

The grid of one algorithm is the product of its :class:`Axis` values, read from
its hyperparameter table (so an algorithm added to ``REGISTRY`` appears with no
change here): ``lr`` on a log grid, every decay rate the rule needs (required,
or with a non-zero default: momentum β, RMSProp γ, AdaDelta ρ, Adam β1) on
:data:`DECAY_GRID`, the second of a decay pair (Adam's β2) and ``eps`` as
choices (the notes' default and torch.optim's); flags, forms and extensions
(weight decay, dampening, ...) stay at their defaults.
"""

from __future__ import annotations

import inspect
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from ..algorithms import REGISTRY, AlgorithmSpec
from ..algorithms.spec import REQUIRED, decay_pair, decay_rate
from ..lab.objectives import OBJECTIVES, Objective, curvature, get_objective, quadratic_theory
from ..lab.trajectory import Trajectory, _batched_hyperparameters, run_batches
from ..notes.reference import NOTES_TRACES
from ..engine.torch_names import TORCH_COUNTERPARTS

LR_GRID: tuple[float, ...] = tuple(float(f"{m}e{e}") for e in (-3, -2, -1, 0) for m in (1, 2, 4, 6))
"""Learning rates: 1, 2, 4, 6 per decade from 1e-3 to 6 (evenly spaced in log lr to within 0.1 decade)."""
DECAY_GRID: tuple[float, ...] = (0.0, 0.5, 0.7, 0.9, 0.95, 0.99)
"""Decay rates (momentum β, RMSProp γ, AdaDelta ρ, Adam β1)."""
SECOND_DECAY_CHOICES: tuple[float, ...] = (0.999, 0.99)
"""Choices for the second of a decay pair (Adam's β2)."""
STEPS = 200
"""Every path is computed for this many steps; the page shows a prefix."""
PRECISE_STEPS: tuple[int, ...] = (10, 20, 50, 100, 200)
"""Step counts at which every end point is also kept in float64 (the notes print x after 20 steps)."""
CONTOUR_POINTS = 96
"""f is tabulated on this many points per side of each objective's window, for the contours."""
QUADRATIC_VARIANTS: tuple[tuple[float, float], ...] = ((5.0, 0.0), (100.0, 30.0))
"""(κ, rotation in degrees) of the members of the quadratic family in the page."""
EXTRA_STARTS: dict[str, tuple[tuple[float, float], ...]] = {
    "notes": ((-4.0, 0.8),),
}
"""Starts besides each objective's own (an objective not listed gets only its own)."""
PAGE_STARTS: dict[str, tuple[tuple[float, float], ...]] = {
    "saddle": ((0.05, 1.2), (0.0, 1.0)),
}
"""Starts that replace an objective's own, first the page's default.  The saddle's own start (0, 1) lies on the
line x1 = 0, where the gradient has no x1 part: every rule runs into the saddle point (0, 0) and stays; from
(0.05, 1.2) a path has to escape it (the line's start is kept second, to show exactly that)."""
INITIAL_LR_STEPS = 20
"""An objective's first lr for an algorithm is the one that lowers f most in this many steps (see :func:`initial_lr`)."""
THEORY_KINDS: dict[str, str] = {"sgd": "gd", "momentum": "heavy_ball"}
"""Algorithms whose quadratic theory the rate map draws: gradient descent's 2/λmax, heavy-ball's (2+2β)/λmax and (α*, β*)."""
NOTES_PROBLEM = "notes@0"
"""The notes' problem: their quadratic from their start (-5, -2)."""
NOTES_STEPS = 20
LABELS = {"lr": "lr", "momentum": "β", "gamma": "γ", "rho": "ρ", "eps": "ε", "betas": ("β1", "β2")}
"""Display names of hyperparameters (any other is shown by its name)."""


@dataclass(frozen=True)
class Axis:
    """One control of an algorithm's grid: the hyperparameter (and part of a pair) and its values."""

    name: str
    label: str
    values: tuple[float, ...]
    kind: str  # "log" (a slider over log lr), "linear" (a slider) or "choice" (a menu)
    part: int | None = None  # which element of a pair hyperparameter (Adam's betas)
    initial: int = 0  # the page's first position: the default's, or the middle for a required hyperparameter


@dataclass(frozen=True)
class Problem:
    """One objective (a member of the quadratic family: its κ and rotation) and one start."""

    key: str
    objective: str
    kappa: float | None
    angle: float | None
    start: tuple[float, float]
    start_index: int

    def build(self) -> Objective:
        if self.kappa is None:
            return get_objective(self.objective)
        return get_objective(self.objective, kappa=self.kappa, angle=self.angle)


@dataclass(frozen=True)
class Block:
    """One algorithm's grid on one problem: ``values`` has shape (settings, channels, STEPS + 1), float32.

    Channels: x1, x2, f, the effective learning rates of x1 and x2 (the step's,
    at the step's end; nan at step 0), then each state tensor's two coordinates.
    Past a run's divergence every channel is nan.  ``precise`` holds the end
    points at :data:`PRECISE_STEPS` in float64, shape (settings, len, 2).
    """

    algorithm: str
    problem: str
    channels: tuple[str, ...]
    values: np.ndarray
    precise: np.ndarray
    diverged_at: tuple[int | None, ...]


def _label(name: str, part: int | None) -> str:
    label = LABELS.get(name, name)
    return label[part] if isinstance(label, tuple) else label


def _torch_default(spec: AlgorithmSpec, name: str) -> Any:
    """torch.optim's default for our hyperparameter ``name`` (None if the algorithm has no torch counterpart)."""
    counterpart = TORCH_COUNTERPARTS.get(spec.name)
    if counterpart is None or name not in counterpart.names:
        return None
    parameter = inspect.signature(counterpart.optimizer).parameters.get(counterpart.names[name])
    return None if parameter is None else parameter.default


def axes(spec: AlgorithmSpec) -> tuple[Axis, ...]:
    """The controls of ``spec``'s grid, in the order of its hyperparameter table."""
    return tuple(_with_initial(spec, axis) for axis in _axes(spec))


def _with_initial(spec: AlgorithmSpec, axis: Axis) -> Axis:
    default = spec.hyperparameter(axis.name).default
    if default is REQUIRED:
        return replace(axis, initial=(len(axis.values) - 1) // 2)
    value = float(default if axis.part is None else default[axis.part])
    return replace(axis, initial=axis.values.index(value))


def _axes(spec: AlgorithmSpec) -> list[Axis]:
    found = []
    for h in spec.hyperparameters:
        if h.name == "lr":
            values = LR_GRID if h.required else tuple(sorted(set(LR_GRID) | {float(h.default)}))
            found.append(Axis("lr", "lr", values, "log"))
        elif h.check is decay_rate and (h.required or h.default != 0):
            values = DECAY_GRID if h.required else tuple(sorted(set(DECAY_GRID) | {float(h.default)}))
            found.append(Axis(h.name, _label(h.name, None), values, "linear"))
        elif h.check is decay_pair:
            first, second = (float(v) for v in h.default)
            found.append(Axis(h.name, _label(h.name, 0), tuple(sorted(set(DECAY_GRID) | {first})), "linear", 0))
            found.append(Axis(h.name, _label(h.name, 1), tuple(dict.fromkeys((second, *SECOND_DECAY_CHOICES))), "choice", 1))
        elif h.name == "eps" and h.default is not REQUIRED:
            torch_eps = _torch_default(spec, "eps")
            choices = (float(h.default),) if torch_eps is None else (float(h.default), float(torch_eps))
            found.append(Axis("eps", "ε", tuple(dict.fromkeys(choices)), "choice"))
        elif h.required:
            raise ValueError(f"{spec.name}: no grid for the required hyperparameter {h.name!r}")
    return found


def grid_settings(spec: AlgorithmSpec) -> list[dict[str, Any]]:
    """Every setting of ``spec``'s grid, the first axis varying slowest (the page's index order)."""
    found = axes(spec)
    settings = []
    for combination in itertools.product(*(a.values for a in found)):
        given: dict[str, Any] = {}
        for axis, value in zip(found, combination):
            if axis.part is None:
                given[axis.name] = value
            else:
                pair = list(given.get(axis.name, (None, None)))
                pair[axis.part] = value
                given[axis.name] = tuple(pair)
        settings.append(given)
    return settings


def problems(objectives: Sequence[str] | None = None) -> list[Problem]:
    """The page's problems: each objective of the lab's registry (or of ``objectives``) from each of its starts.

    ``quadratic`` stands for the family: one problem per member of :data:`QUADRATIC_VARIANTS`.
    """
    names = list(OBJECTIVES) if objectives is None else list(dict.fromkeys(objectives))
    for name in names:
        if name not in OBJECTIVES:
            raise ValueError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    found = []
    for name in names:
        variants = QUADRATIC_VARIANTS if name == "quadratic" else ((None, None),)
        for kappa, angle in variants:
            base = OBJECTIVES[name] if kappa is None else get_objective(name, kappa=kappa, angle=angle)
            starts = PAGE_STARTS.get(name, (base.start, *EXTRA_STARTS.get(name, ())))
            for index, start in enumerate(starts):
                key = name if kappa is None else f"{name}-k{kappa:g}-a{angle:g}"
                found.append(Problem(f"{key}@{index}", name, kappa, angle, (float(start[0]), float(start[1])), index))
    return found


def block(spec: AlgorithmSpec, problem: Problem, objective: Objective | None = None) -> Block:
    """Run ``spec``'s whole grid on ``problem`` as one batch and collect every channel."""
    return blocks([spec], problem, objective)[0]


def blocks(specs: Sequence[AlgorithmSpec], problem: Problem, objective: Objective | None = None) -> list[Block]:
    """Each of ``specs``' whole grid on ``problem`` as one batch, all in step (one ``run_batches``)."""
    objective = problem.build() if objective is None else objective
    grids = [grid_settings(spec) for spec in specs]
    seen: list[list[tuple[torch.Tensor, dict[str, torch.Tensor]]]] = [[] for _ in specs]
    runs = run_batches(objective, [(spec.name, settings) for spec, settings in zip(specs, grids)], steps=STEPS,
                       start=problem.start, observe=lambda index, gradient, state: seen[index].append((gradient, state)))
    return [_block(spec, problem, settings, trajectories, steps_seen)
            for spec, settings, trajectories, steps_seen in zip(specs, grids, runs, seen)]


def _block(spec: AlgorithmSpec, problem: Problem, settings: list[dict[str, Any]], trajectories: list[Trajectory],
           seen: list[tuple[torch.Tensor, dict[str, torch.Tensor]]]) -> Block:
    """One algorithm's block from its batch's trajectories and what the batch's ``observe`` saw."""
    k, length = len(settings), STEPS + 1
    points = np.full((length, k, 2), math.nan)
    values = np.full((length, k), math.nan)
    for row, t in enumerate(trajectories):
        n = len(t.points)
        points[:n, row] = t.points
        values[:n, row] = t.values
    points, values = torch.from_numpy(points), torch.from_numpy(values)
    states, rates = _states_along(spec, settings, points, seen)
    keys = tuple(states)
    channels = ("x1", "x2", "f", "elr1", "elr2", *(f"{key}{i}" for key in keys for i in (1, 2)))
    stacked = [points[..., 0], points[..., 1], values, rates[..., 0], rates[..., 1]]
    for key in keys:
        stacked += [states[key][..., 0], states[key][..., 1]]
    array = torch.stack(stacked, dim=-1).permute(1, 2, 0)  # (K, C, T + 1)
    precise = points[list(PRECISE_STEPS)].permute(1, 0, 2)  # (K, len, 2)
    return Block(
        algorithm=spec.name,
        problem=problem.key,
        channels=channels,
        values=_float32(array.numpy()),
        precise=precise.numpy().copy(),
        diverged_at=tuple(t.diverged_at for t in trajectories),
    )


def _float32(array: np.ndarray) -> np.ndarray:
    """``array`` in float32; a value beyond float32's range (a diverging run's last steps) becomes ±inf."""
    with np.errstate(over="ignore"):
        return array.astype(np.float32)


def _states_along(
    spec: AlgorithmSpec, settings: list[dict[str, Any]], points: torch.Tensor,
    seen: list[tuple[torch.Tensor, dict[str, torch.Tensor]]],
) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """The rule's state after each step of the paths ((T + 1, K, 2); nan past a divergence), and the effective lr.

    ``seen`` is what :func:`~descentlab.lab.trajectory.run_batches` showed its ``observe`` of this batch: each
    step's gradients and state.  State 0 is the initial state.  The effective learning rate of
    step t is :func:`~descentlab.lab.trajectory.effective_learning_rates`' ``-(x_t - x_{t-1}) / g(x_{t-1})``
    on the whole batch at once (nan at step 0 and where a gradient is 0; the test checks it
    equals that function's).
    """
    hp = _batched_hyperparameters([spec.resolve(s) for s in settings])
    state = spec.init(points[0], hp)
    keys = [key for key, value in state.items() if value.shape == points[0].shape]
    found = {key: [state[key]] for key in keys}
    rates = [torch.full_like(points[0], math.nan)]
    for t in range(1, points.shape[0]):
        gone = torch.isnan(points[t])
        # past the last step seen every row had diverged (the batch stopped): all nan, whatever the state
        gradient, state = seen[min(t, len(seen)) - 1]
        for key in keys:
            found[key].append(torch.where(gone, math.nan, state[key]))
        step = points[t - 1] - points[t]
        rates.append(torch.where((gradient != 0) & ~gone, step / gradient, math.nan))
    return {key: torch.stack(values) for key, values in found.items()}, torch.stack(rates)


@dataclass(frozen=True)
class Landscape:
    """One objective's contour table and theory, shared by its starts."""

    key: str
    objective: str
    label: str
    formula: str
    window: tuple[tuple[float, float], tuple[float, float]]
    minima: tuple[tuple[float, float], ...]
    log_levels: bool
    grid: np.ndarray  # (CONTOUR_POINTS, CONTOUR_POINTS) f on the window, rows along x2
    theory: dict[str, Any]


def landscape(problem: Problem, objective: Objective | None = None) -> Landscape:
    """The contour table of ``problem``'s objective and what theory says about it."""
    objective = problem.build() if objective is None else objective
    (a1, b1), (a2, b2) = objective.window
    x1 = torch.linspace(a1, b1, CONTOUR_POINTS, dtype=torch.float64)
    x2 = torch.linspace(a2, b2, CONTOUR_POINTS, dtype=torch.float64)
    mesh = torch.stack(torch.meshgrid(x2, x1, indexing="ij")[::-1], dim=-1)  # [..., 0] = x1
    grid = objective.f(mesh).numpy().astype(np.float32)
    return Landscape(
        key=problem.key.split("@")[0],
        objective=objective.name,
        label=problem.objective if problem.kappa is None else f"{problem.objective} κ={problem.kappa:g}, {problem.angle:g}°",
        formula=objective.formula,
        window=objective.window,
        minima=objective.minima,
        log_levels=objective.log_levels,
        grid=grid,
        theory=theory_numbers(objective),
    )


def theory_numbers(objective: Objective) -> dict[str, Any]:
    """κ, 2/λmax, (2+2β)/λmax over :data:`DECAY_GRID` and a fine β grid, α*, β* (quadratics); κ at the minimum otherwise."""
    theory = quadratic_theory(objective)
    if theory is None:
        c = curvature(objective)
        return {"quadratic": False, "kappa_at_minimum": c.condition_number, "eigenvalues": list(c.eigenvalues)}
    betas = [i / 100 for i in range(100)]
    return {
        "quadratic": True,
        "lmin": theory.lmin,
        "lmax": theory.lmax,
        "kappa": theory.kappa,
        "gd_max_lr": theory.gd_max_lr,
        "gd_best_lr": theory.gd_best_lr,
        "gd_best_rate": theory.gd_best_rate,
        "momentum_best_lr": theory.momentum_best_lr,
        "momentum_best_beta": theory.momentum_best_beta,
        "momentum_best_rate": theory.momentum_best_rate,
        "momentum_bound": {"beta": betas, "lr": [theory.momentum_max_lr(b) for b in betas]},
    }


@dataclass(frozen=True)
class ExploreData:
    """Everything the page shows: the grids, the problems, their landscapes and every block."""

    algorithms: dict[str, tuple[Axis, ...]]
    titles: dict[str, str]
    problems: tuple[Problem, ...]
    landscapes: dict[str, Landscape]
    blocks: dict[tuple[str, str], Block]  # (algorithm, problem key)
    notes: list[dict[str, Any]]  # the notes' 2D runs that the page holds, with the index of their grid point
    initial_lr: dict[str, dict[str, int]]  # landscape key -> algorithm -> the lr axis' first position there


def build(objectives: Sequence[str] | None = None, algorithms: Sequence[str] | None = None) -> ExploreData:
    """Compute every block: each registry algorithm (or ``algorithms``) on each problem.

    Runs with one torch thread (restored after): the tensors are a few hundred
    numbers, and on a busy machine a second thread made the build 5 to 10 times slower.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _build(objectives, algorithms)
    finally:
        torch.set_num_threads(threads)


def _build(objectives: Sequence[str] | None, algorithms: Sequence[str] | None) -> ExploreData:
    names = list(REGISTRY) if algorithms is None else list(algorithms)
    for name in names:
        if name not in REGISTRY:
            raise ValueError(f"unknown algorithm {name!r}; choose one of: {', '.join(REGISTRY)}")
    found = problems(objectives)
    landscapes: dict[str, Landscape] = {}
    computed: dict[tuple[str, str], Block] = {}
    for problem in found:
        objective = problem.build()
        key = problem.key.split("@")[0]
        if key not in landscapes:
            landscapes[key] = landscape(problem, objective)
        for name, found_block in zip(names, blocks([REGISTRY[name] for name in names], problem, objective)):
            computed[(name, problem.key)] = found_block
    algorithm_axes = {name: axes(REGISTRY[name]) for name in names}
    return ExploreData(
        algorithms=algorithm_axes,
        titles={name: REGISTRY[name].title for name in names},
        problems=tuple(found),
        landscapes=landscapes,
        blocks=computed,
        notes=notes_runs(names, found),
        initial_lr={key: {name: initial_lr(algorithm_axes[name], [computed[(name, p.key)] for p in found
                                                                    if p.key.split("@")[0] == key], land.window)
                          for name in names}
                    for key, land in landscapes.items()},
    )


def initial_lr(found: Sequence[Axis], runs: Sequence[Block],
               window: tuple[tuple[float, float], tuple[float, float]]) -> int:
    """The lr position the page opens an objective with, for one algorithm: computed from its runs, not chosen.

    The other hyperparameters at their first positions, it is the grid lr whose runs (one per start, ``runs``)
    diverge from no start within :data:`STEPS`, stay in the drawn ``window`` for :data:`INITIAL_LR_STEPS` steps
    and lower f the most in those steps (the mean over the starts of log10 f(x_t)/f(x_0)); among equals (f at 0
    from several) the one nearest the registry's default.  If no lr qualifies, the smallest.
    """
    (a1, b1), (a2, b2) = window
    position = next(i for i, a in enumerate(found) if a.name == "lr")
    lr = found[position]
    sizes = [len(a.values) for a in found]
    best: tuple[float, float, int] | None = None
    for i, value in enumerate(lr.values):
        index = [a.initial for a in found]
        index[position] = i
        row = 0
        for size, k in zip(sizes, index):
            row = row * size + k
        if any(b.diverged_at[row] is not None for b in runs):
            continue
        paths = [b.values[row, :2, : INITIAL_LR_STEPS + 1] for b in runs]
        if not all(np.all((a1 <= p[0]) & (p[0] <= b1) & (a2 <= p[1]) & (p[1] <= b2)) for p in paths):
            continue
        drops = []
        for b in runs:
            f = b.values[row, b.channels.index("f")].astype(np.float64)
            drops.append(math.log10(max(f[INITIAL_LR_STEPS], 1e-300) / f[0]) if f[0] > 0 else 0.0)
        score = round(float(np.mean(drops)), 6)
        key = (score, abs(math.log(value / lr.values[lr.initial])), i)
        best = key if best is None or key < best else best
    return 0 if best is None else best[2]


def setting_index(spec: AlgorithmSpec, given: dict[str, Any]) -> int | None:
    """The row of ``given`` (missing names: the defaults) in ``spec``'s grid; None if it is not a grid point."""
    resolved = spec.resolve(given)
    for index, candidate in enumerate(grid_settings(spec)):
        if all(resolved[name] == value for name, value in candidate.items()):
            return index
    return None


def notes_runs(algorithms: Sequence[str], found: Sequence[Problem]) -> list[dict[str, Any]]:
    """The notes' seven 2D runs, each with its grid row, when the page holds their problem and algorithm."""
    if NOTES_PROBLEM not in {p.key for p in found}:
        return []
    runs = []
    for trace in NOTES_TRACES:
        if trace.algorithm not in algorithms:
            continue
        index = setting_index(REGISTRY[trace.algorithm], trace.hyperparameters)
        if index is None:
            raise AssertionError(f"the notes' {trace.algorithm} {trace.hyperparameters} is not on the explorer's grid")
        runs.append({
            "algorithm": trace.algorithm,
            "hyperparameters": dict(trace.hyperparameters),
            "printed": trace.printed,
            "problem": NOTES_PROBLEM,
            "steps": NOTES_STEPS,
            "index": index,
        })
    return runs


__all__ = [
    "CONTOUR_POINTS", "DECAY_GRID", "INITIAL_LR_STEPS", "LR_GRID", "PAGE_STARTS", "PRECISE_STEPS", "STEPS", "Axis",
    "Block", "ExploreData", "Landscape", "Problem", "axes", "block", "blocks", "build", "grid_settings", "initial_lr",
    "landscape", "problems", "theory_numbers",
]
