"""The exercises of d2l's momentum, AdaGrad, RMSProp, AdaDelta and Adam sections, answered by experiment.

:func:`run_exercises` runs every experimental exercise and returns one
:class:`Exercise` record each (numbers and the series its figure draws); the
proof-only exercises are records too, with no experiment.  Nothing here
prints or writes; the sentences that conclude each exercise are computed from
its numbers in :mod:`descentlab.chapter.exercise_words`, and the figures drawn
by :func:`descentlab.plotting.exercises.draw_exercise`.

Every path is moved by the registry's rules: 2D runs through
:func:`descentlab.lab.run_batch` (one batch per algorithm), the many-eigenvalue
quadratic and the Adam/Yogi counterexample by calling ``spec.update`` on a
vector, the airfoil runs through :func:`descentlab.airfoil.train`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch

from ..airfoil.data import Airfoil
from ..airfoil.train import train
from ..algorithms import REGISTRY
from ..lab.objectives import OBJECTIVES, Objective, quadratic
from ..lab.trajectory import run_batch

if TYPE_CHECKING:
    from torch import Tensor

Series = dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class Exercise:
    """One exercise: d2l's question, and (when an experiment answers it) the numbers and the figure's series."""

    key: str  # "momentum-2": section and d2l's number
    section: str
    question: str
    experimental: bool
    numbers: dict[str, float] = field(default_factory=dict)
    series: Series = field(default_factory=dict)  # label -> y values, drawn against ``x``
    x: tuple[float, ...] = ()
    x_label: str = ""
    y_label: str = ""
    log_y: bool = True

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])


NOTES = OBJECTIVES["notes"]
ROTATED = quadratic(kappa=20.0, angle=45.0, lmin=0.4)
"""d2l's rotated problem ``0.1 (x1 + x2)^2 + 2 (x1 - x2)^2``: eigenvalues 0.4 and 8, axes at 45 degrees."""
ALIGNED = quadratic(kappa=20.0, angle=0.0, lmin=0.4)
"""The same eigenvalues on the coordinate axes: ``0.2 x1^2 + 4 x2^2``."""


def _vector_run(name: str, hp: dict, gradient: Callable[[Tensor, int], Tensor], start: Tensor, steps: int) -> list[Tensor]:
    """``x_0 .. x_steps`` of the registry rule ``name`` on any gradient field (``hp`` validated by the spec)."""
    spec = REGISTRY[name]
    resolved = spec.resolve(hp)
    x, state = start, spec.init(start, resolved)
    path = [x]
    for t in range(steps):
        x, state = spec.update(x, gradient(x, t), state, **resolved)
        path.append(x)
    return path


def _final_f(objective: Objective, trajectories) -> list[float]:
    return [math.inf if t.diverged else t.values[-1] for t in trajectories]


# ---------------------------------------------------------------------------
# Momentum
# ---------------------------------------------------------------------------

MOMENTUM_LRS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
MOMENTUM_BETAS = (0.0, 0.25, 0.5, 0.75, 0.9)


def momentum_grid(steps: int = 20) -> Exercise:
    """Exercise 1: other (eta, beta) on the notes' quadratic, the notes' 20 steps; one batch."""
    grid = [{"lr": lr, "momentum": b} for b in MOMENTUM_BETAS for lr in MOMENTUM_LRS]
    final = _final_f(NOTES, run_batch("momentum", NOTES, grid, steps=steps))
    n = len(MOMENTUM_LRS)
    series = {f"β = {b:g}": tuple(final[i * n:(i + 1) * n]) for i, b in enumerate(MOMENTUM_BETAS)}
    lmax = 4.0
    numbers: dict[str, float] = {"steps": steps, "lmax": lmax, "settings": len(grid)}
    for i, b in enumerate(MOMENTUM_BETAS):
        row = final[i * n:(i + 1) * n]
        best = min(range(n), key=lambda j: row[j])
        numbers[f"best_lr[{b:g}]"] = MOMENTUM_LRS[best]
        numbers[f"best_f[{b:g}]"] = row[best]
        numbers[f"bound[{b:g}]"] = (2 + 2 * b) / lmax
        numbers[f"largest_stable_lr[{b:g}]"] = max((lr for lr, f in zip(MOMENTUM_LRS, row) if f < final_start(NOTES)),
                                                   default=0.0)
    return Exercise("momentum-1", "momentum", "Use other combinations of momentum hyperparameters and learning rates; "
                    "observe and analyze the results.", True, numbers, series, MOMENTUM_LRS, "learning rate η",
                    f"f after {steps} steps")


def final_start(objective: Objective) -> float:
    return float(objective.f(torch.tensor(objective.start, dtype=torch.float64)))


def many_eigenvalues(dimensions: int = 10, steps: int = 100, lr: float = 1.0, beta: float = 0.9) -> Exercise:
    """Exercise 2: f = 1/2 sum lambda_i x_i^2 with lambda_i = 2^-i (i = 1..d), x_i = 1: GD against momentum."""
    lam = torch.tensor([2.0**-i for i in range(1, dimensions + 1)], dtype=torch.float64)
    start = torch.ones(dimensions, dtype=torch.float64)

    def gradient(x: Tensor, t: int) -> Tensor:
        return lam * x

    def f(x: Tensor) -> float:
        return float(0.5 * (lam * x * x).sum())

    gd = _vector_run("sgd", {"lr": lr}, gradient, start, steps)
    mom = _vector_run("momentum", {"lr": lr, "momentum": beta}, gradient, start, steps)
    numbers = {"dimensions": dimensions, "steps": steps, "lr": lr, "beta": beta,
               "gd_f": f(gd[-1]), "momentum_f": f(mom[-1]),
               "gd_slowest": float(gd[-1][-1].abs()), "momentum_slowest": float(mom[-1][-1].abs()),
               "gd_fastest": float(gd[-1][0].abs()), "momentum_fastest": float(mom[-1][0].abs()),
               "lmin": float(lam[-1]), "lmax": float(lam[0])}
    series = {"gradient descent": tuple(f(x) for x in gd), f"momentum β = {beta:g}": tuple(f(x) for x in mom)}
    return Exercise("momentum-2", "momentum", "Try GD and momentum on f(x) = ½ Σ λᵢ xᵢ² with λᵢ = 2⁻ⁱ, from xᵢ = 1; plot "
                    "how x decreases.", True, numbers, series, tuple(range(steps + 1)), "step", "f(x_t)")


AIRFOIL_MOMENTUM = ((0.02, 0.0), (0.02, 0.5), (0.01, 0.9), (0.005, 0.9), (0.002, 0.9))


def minibatch_momentum(data: Airfoil, seeds: Sequence[int] = tuple(range(10))) -> Exercise:
    """Exercise 4: minibatch SGD with momentum on the airfoil data, several (eta, beta), over seeds."""
    runs = [train("momentum", {"lr": lr, "momentum": b}, data=data, seeds=seeds) for lr, b in AIRFOIL_MOMENTUM]
    numbers: dict[str, float] = {"seeds": len(seeds), "optimum": runs[0].optimum_loss}
    series = {}
    for (lr, b), run in zip(AIRFOIL_MOMENTUM, runs):
        tag = f"{lr:g}/{b:g}"
        numbers[f"mean[{tag}]"] = run.summary.mean
        numbers[f"std[{tag}]"] = run.summary.std
        numbers[f"effective[{tag}]"] = lr / (1 - b)
        series[f"η {lr:g}, β {b:g} (η/(1−β) = {lr / (1 - b):.3g})"] = tuple(
            max(sum(column) / len(column) - run.optimum_loss, 1e-12) for column in zip(*run.losses))
    x = tuple(float(step) for step in runs[0].evaluation_steps)
    return Exercise("momentum-4", "momentum", "What changes with minibatch SGD with momentum? Experiment with the "
                    "parameters.", True, numbers, series, x, "step (minibatches of 10)",
                    "mean loss − optimum")


# ---------------------------------------------------------------------------
# AdaGrad and RMSProp
# ---------------------------------------------------------------------------

def rotated(algorithm: str, key: str, hp: dict, steps: int = 20) -> Exercise:
    """AdaGrad/RMSProp on 0.1(x1+x2)^2 + 2(x1-x2)^2 against the same eigenvalues on the axes."""
    aligned = run_batch(algorithm, ALIGNED, [hp], steps=steps)[0]
    turned = run_batch(algorithm, ROTATED, [hp], steps=steps)[0]
    numbers = {"steps": steps, "lr": hp["lr"], "aligned_f": _final_f(ALIGNED, [aligned])[0],
               "rotated_f": _final_f(ROTATED, [turned])[0],
               "aligned_distance": math.hypot(*aligned.final), "rotated_distance": math.hypot(*turned.final)}
    series = {"axis-aligned 0.2x1² + 4x2²": aligned.values, "rotated 0.1(x1+x2)² + 2(x1−x2)²": turned.values}
    title = REGISTRY[algorithm].title
    return Exercise(key, algorithm, f"{title} on f = 0.1 x1² + 2 x2² and on it rotated by 45°, "
                    "f = 0.1 (x1+x2)² + 2 (x1−x2)². Does it behave differently?", True, numbers, series,
                    tuple(range(steps + 1)), "step", "f(x_t)")


def adagrad_decay(steps: int = 200, lr: float = 0.4) -> Exercise:
    """Exercise 6: a less aggressive decay than AdaGrad's: its sum against RMSProp's leaky averages, same eta."""
    grid = [("adagrad", {"lr": lr}), ("rmsprop", {"lr": lr, "gamma": 0.99}), ("rmsprop", {"lr": lr, "gamma": 0.9})]
    runs = [run_batch(name, NOTES, [hp], steps=steps)[0] for name, hp in grid]
    labels = ["AdaGrad (sum)", "RMSProp γ = 0.99", "RMSProp γ = 0.9"]
    numbers: dict[str, float] = {"steps": steps, "lr": lr}
    for label, key, run in zip(labels, ("adagrad", "rmsprop0.99", "rmsprop0.9"), runs):
        numbers[f"f[{key}]"] = _final_f(NOTES, [run])[0]
        numbers[f"x1[{key}]"] = run.final[0]
    return Exercise("adagrad-6", "adagrad", "How would you modify AdaGrad to achieve a less aggressive decay in the "
                    "learning rate?", True, numbers, {label: run.values for label, run in zip(labels, runs)},
                    tuple(range(steps + 1)), "step", "f(x_t)")


def rmsprop_gamma_one(steps: int = 20, lr: float = 0.01) -> Exercise:
    """Exercise 1: gamma = 1.  The registry refuses it (the average would never move), so the pure rule is called
    with gamma = 1 directly, beside gamma = 0.9 and plain GD at the learning rate eta / sqrt(eps) it amounts to."""
    spec = REGISTRY["rmsprop"]
    start = torch.tensor([NOTES.start], dtype=torch.float64)
    eps = spec.defaults["eps"]

    def path(gamma: float) -> tuple[list[Tensor], Tensor]:
        hp = {**spec.resolve({"lr": lr}), "gamma": gamma}  # gamma = 1 bypasses the table's check on purpose
        x, state = start, spec.init(start, hp)
        points = [x]
        for _ in range(steps):
            x, state = spec.update(x, NOTES.gradient(x), state, **hp)
            points.append(x)
        return points, state["s"]

    one, s_one = path(1.0)
    usual, _ = path(0.9)
    gd = _vector_run("sgd", {"lr": lr / math.sqrt(eps)}, lambda x, t: NOTES.gradient(x), start, steps)
    def values(points: list[Tensor]) -> list[float]:
        return [float(NOTES.f(x)[0]) for x in points]

    one_f, usual_f, gd_f = values(one), values(usual), values(gd)
    finite = [v for v in one_f if math.isfinite(v)]
    numbers = {"steps": steps, "lr": lr, "eps": eps, "s_max": float(s_one.abs().max()),
               "effective_lr": lr / math.sqrt(eps), "gd_bound": 2 / 4.0,
               "gamma1_f": one_f[-1], "gamma09_f": usual_f[-1], "gd_f": gd_f[-1],
               "max_gd_relative": max(float(((a - b).abs() / b.abs().clamp(min=1.0)).max()) for a, b in zip(one, gd)),
               "start_f": one_f[0], "finite_steps": len(finite) - 1}
    series = {"γ = 1": tuple(one_f), "γ = 0.9": tuple(usual_f), f"GD, η/√ε = {lr / math.sqrt(eps):g}": tuple(gd_f)}
    return Exercise("rmsprop-1", "rmsprop", "What happens experimentally if we set γ = 1? Why?", True, numbers, series,
                    tuple(range(steps + 1)), "step", "f(x_t)")


# ---------------------------------------------------------------------------
# AdaDelta
# ---------------------------------------------------------------------------

ADADELTA_RHOS = (0.5, 0.9, 0.99, 0.999)


def adadelta_rho(steps: int = 500) -> Exercise:
    """Exercise 1: rho on the notes' quadratic, one batch."""
    runs = run_batch("adadelta", NOTES, [{"rho": r} for r in ADADELTA_RHOS], steps=steps)
    numbers: dict[str, float] = {"steps": steps}
    for r, run in zip(ADADELTA_RHOS, runs):
        numbers[f"f[{r:g}]"] = _final_f(NOTES, [run])[0]
    return Exercise("adadelta-1", "adadelta", "Adjust the value of ρ. What happens?", True, numbers,
                    {f"ρ = {r:g}": run.values for r, run in zip(ADADELTA_RHOS, runs)}, tuple(range(steps + 1)),
                    "step", "f(x_t)")


ADADELTA_SCALES = (1.0, 100.0, 10000.0)


def adadelta_scale(steps: int = 500) -> Exercise:
    """Exercise 3: is AdaDelta learning-rate free?  The notes' quadratic in units s times larger (x -> s x): the same
    problem, its start s times farther; the share of the distance to the minimum covered in ``steps`` steps."""
    numbers: dict[str, float] = {"steps": steps}
    series = {}
    for scale in ADADELTA_SCALES:
        lam = torch.tensor([0.2, 4.0], dtype=torch.float64) / scale**2
        start = torch.tensor(NOTES.start, dtype=torch.float64) * scale
        path = _vector_run("adadelta", {}, lambda x, t: lam * x, start, steps)
        remaining = [float(x.norm() / start.norm()) for x in path]
        numbers[f"remaining[{scale:g}]"] = remaining[-1]
        series[f"start × {scale:g}"] = tuple(remaining)
    return Exercise("adadelta-3", "adadelta", "Is AdaDelta really learning-rate free? Could you find optimization "
                    "problems that break it?", True, numbers, series, tuple(range(steps + 1)), "step",
                    "|x_t| / |x_0| (share of the distance left)")


# ---------------------------------------------------------------------------
# Adam
# ---------------------------------------------------------------------------

ADAM_LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)


def adam_lr(steps: int = 100) -> Exercise:
    """Exercise 1: the learning rate, on the notes' quadratic and on Rosenbrock, one batch each."""
    numbers: dict[str, float] = {"steps": steps}
    series = {}
    for objective in (NOTES, OBJECTIVES["rosenbrock"]):
        final = _final_f(objective, run_batch("adam", objective, [{"lr": lr} for lr in ADAM_LRS], steps=steps))
        for lr, f in zip(ADAM_LRS, final):
            numbers[f"{objective.name}[{lr:g}]"] = f
        series[objective.name] = tuple(final)
    return Exercise("adam-1", "adam", "Adjust the learning rate and observe and analyze the experimental results.",
                    True, numbers, series, ADAM_LRS, "learning rate η", f"f after {steps} steps")


YOGI_CASE = {"C": 10.0, "mu": 0.01, "beta2": 0.01, "lr": 1.0}


def adam_against_yogi(steps: int = 3000) -> Exercise:
    """Exercise 4: a case where Adam fails and Yogi converges.  Period-3 gradients (after Reddi et al., 2018):
    g = C + mu x on every third step, -1 + mu x otherwise; on average F(x) = (C - 2)/3 x + mu/2 x^2, minimum at
    x* = -(C - 2)/(3 mu).  With beta1 = 0 and a short second-moment memory (beta2 = 0.01) Adam's s follows g^2,
    so every step has length ~lr and the two small gradients outvote the large one; Yogi's s only grows."""
    c, mu, beta2, lr = YOGI_CASE["C"], YOGI_CASE["mu"], YOGI_CASE["beta2"], YOGI_CASE["lr"]

    def gradient(x: Tensor, t: int) -> Tensor:
        return (c if t % 3 == 0 else -1.0) + mu * x

    def average(x: Tensor) -> float:
        v = float(x[0])
        return (c - 2) / 3 * v + mu / 2 * v * v

    start = torch.zeros(1, dtype=torch.float64)
    x_star = -(c - 2) / (3 * mu)
    f_star = (c - 2) / 3 * x_star + mu / 2 * x_star**2
    every = max(steps // 300, 1)
    numbers: dict[str, float] = {"steps": steps, "x_star": x_star, "f_star": f_star, "start_f": 0.0, **YOGI_CASE}
    series = {}
    for name in ("adam", "yogi"):
        path = _vector_run(name, {"lr": lr, "betas": (0.0, beta2)}, gradient, start, steps)
        gaps = [average(x) - f_star for x in path]
        numbers[f"{name}_x"] = float(path[-1][0])
        numbers[f"{name}_gap"] = gaps[-1]
        series[REGISTRY[name].title] = tuple(gaps[::every])
    return Exercise("adam-4", "adam", "Try to construct a case for which Adam diverges and Yogi converges.", True,
                    numbers, series, tuple(float(t) for t in range(0, steps + 1, every)), "step",
                    "F(x_t) − F(x*) (the average objective)")


# ---------------------------------------------------------------------------
# Not experimental
# ---------------------------------------------------------------------------

PROOFS: tuple[tuple[str, str], ...] = (
    ("momentum-3", "Derive the minimum value and minimizer of h(x) = ½ xᵀQx + xᵀc + b."),
    ("adagrad-1", "Prove ‖c − δ‖₂ = ‖Uc − Uδ‖₂ for an orthogonal U; why does this mean perturbations keep their "
                  "magnitude under an orthogonal change of variables?"),
    ("adagrad-3", "Prove Gerschgorin's circle theorem."),
    ("adagrad-4", "What does Gerschgorin's theorem say about the eigenvalues of diag^-½(M) M diag^-½(M)?"),
    ("adagrad-5", "Try AdaGrad on a proper deep network (LeNet on Fashion-MNIST)."),
    ("rmsprop-3", "Try RMSProp on a real machine-learning problem such as Fashion-MNIST."),
    ("rmsprop-4", "Would you adjust γ as optimization progresses? How sensitive is RMSProp to it?"),
    ("adadelta-2", "Implement AdaDelta without the variable g′ₜ. Why might this be a good idea?"),
    ("adadelta-4", "Compare AdaDelta to AdaGrad and RMSProp: convergence behaviour."),
    ("adam-2", "Rewrite the momentum and second-moment updates so that they need no bias correction."),
    ("adam-3", "Why do you need to reduce the learning rate η as we converge?"),
)
"""The exercises answered here by a sketch, not an experiment (the sketches are in ``exercise_words``)."""


def proofs() -> list[Exercise]:
    return [Exercise(key, key.split("-")[0], question, False) for key, question in PROOFS]


def experiments(data: Airfoil | None) -> list[tuple[str, Callable[[], Exercise]]]:
    """Every experimental exercise by key, in the sections' order; the airfoil one only with ``data``."""
    table: list[tuple[str, Callable[[], Exercise]]] = [
        ("momentum-1", momentum_grid),
        ("momentum-2", many_eigenvalues),
    ]
    if data is not None:
        table.append(("momentum-4", lambda: minibatch_momentum(data)))
    table += [
        ("adagrad-2", lambda: rotated("adagrad", "adagrad-2", {"lr": 0.4})),
        ("adagrad-6", adagrad_decay),
        ("rmsprop-1", rmsprop_gamma_one),
        ("rmsprop-2", lambda: rotated("rmsprop", "rmsprop-2", {"lr": 0.4, "gamma": 0.9})),
        ("adadelta-1", adadelta_rho),
        ("adadelta-3", adadelta_scale),
        ("adam-1", adam_lr),
        ("adam-4", adam_against_yogi),
    ]
    return table


def run_exercises(data: Airfoil | None = None, only: Sequence[str] | None = None) -> list[Exercise]:
    """The experimental exercises (those in ``only``, by key, if given) then the proof-only ones; records only."""
    table = experiments(data)
    chosen = [compute() for key, compute in table if only is None or key in only]
    return chosen + ([] if only else proofs())


__all__ = ["Exercise", "PROOFS", "experiments", "proofs", "run_exercises"]
