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
from ..lab.objectives import OBJECTIVES, Objective
from ..lab.trajectory import run_batch
from ..lang import EN, ZH, Lang
from .formulas import NOTES_FORM, SumOfSquares

if TYPE_CHECKING:
    from torch import Tensor

Series = dict[str, tuple[float, ...]]
Pair = tuple[str, str]
"""A text in English and in Chinese."""


def both(text: Callable[[Lang], str]) -> Pair:
    """A text written in both languages side by side, ``both(lambda say: say("step", "时间步"))``: (English, Chinese)."""
    return text(EN), text(ZH)


@dataclass(frozen=True)
class Exercise:
    """One exercise: d2l's question, and (when an experiment answers it) the numbers and the figure's series.

    The texts (``question``, the axis labels and the series' labels) are the
    English ones; ``chinese`` maps each of them to its Chinese, and
    :meth:`text` gives one in a language.
    """

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
    chinese: dict[str, str] = field(default_factory=dict)  # English text -> its Chinese
    formulas: dict[str, str] = field(default_factory=dict)  # the functions it states, by role, as printed

    @property
    def number(self) -> int:
        return int(self.key.rsplit("-", 1)[1])

    def text(self, english: str, language: Lang = EN) -> str:
        """One of the record's texts (its question, an axis label, a series' label) in ``language``."""
        return language(english, self.chinese.get(english, english))


def _exercise(key: str, question: Pair, numbers: dict[str, float], series: dict[Pair, tuple[float, ...]],
              x: Sequence[float], x_label: Pair, y_label: Pair, log_y: bool = True,
              formulas: dict[str, str] | None = None) -> Exercise:
    """An experimental exercise's record from its texts in both languages."""
    section = key.split("-")[0]
    return Exercise(key, section, question[0], True, numbers, {en: v for (en, _), v in series.items()}, tuple(x),
                    x_label[0], y_label[0], log_y, _chinese([SECTIONS[section], question, x_label, y_label, *series]),
                    dict(formulas or {}))


SECTIONS: dict[str, Pair] = {
    "momentum": both(lambda say: say("momentum", "动量法")),
    "adagrad": both(lambda say: say("adagrad", "AdaGrad算法")),
    "rmsprop": both(lambda say: say("rmsprop", "RMSProp算法")),
    "adadelta": both(lambda say: say("adadelta", "AdaDelta算法")),
    "adam": both(lambda say: say("adam", "Adam算法")),
}
"""Each section's name as the titles print it: d2l's key in English, the notes' name in Chinese."""


def _chinese(texts: Sequence[Pair]) -> dict[str, str]:
    return {en: zh for en, zh in texts}


STEP = both(lambda say: say("step", "迭代步数"))
F_OF_X = both(lambda say: say("f(x_t)", "f(x_t)"))
LEARNING_RATE = both(lambda say: say("learning rate η", "学习率 η"))


NOTES = NOTES_FORM.objective("notes")
"""The notes' quadratic, built from the coefficients its formula is printed from."""
ROTATED_FORM = SumOfSquares.of((0.1, (1, 1)), (2, (1, -1)))
"""d2l's rotated problem ``0.1 (x1 + x2)² + 2 (x1 − x2)²``: eigenvalues 0.4 and 8, axes at 45 degrees."""
ALIGNED_FORM = SumOfSquares.of((0.2, (1, 0)), (4, (0, 1)))
"""The same eigenvalues on the coordinate axes: ``0.2 x1² + 4 x2²``."""
ROTATED, ALIGNED = ROTATED_FORM.objective(), ALIGNED_FORM.objective()


def start_text(point: Sequence[float]) -> str:
    """``(−5, −2)``."""
    return "(" + ", ".join(f"{v:g}".replace("-", "−") for v in point) + ")"


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


def _ends(numbers: dict[str, float], key: str, trajectory) -> None:
    """The run's last point as ``x1[key]``, ``x2[key]`` (nan where it diverged): what its printed f is f of."""
    x1, x2 = (math.nan, math.nan) if trajectory.diverged else trajectory.final
    numbers[f"x1[{key}]"], numbers[f"x2[{key}]"] = x1, x2


NOTES_FORMULAS = {"f": NOTES_FORM.text()}


# ---------------------------------------------------------------------------
# Momentum
# ---------------------------------------------------------------------------

MOMENTUM_LRS = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
MOMENTUM_BETAS = (0.0, 0.25, 0.5, 0.75, 0.9)


def momentum_grid(steps: int = 20) -> Exercise:
    """Exercise 1: other (eta, beta) on the notes' quadratic, the notes' 20 steps; one batch."""
    grid = [{"lr": lr, "momentum": b} for b in MOMENTUM_BETAS for lr in MOMENTUM_LRS]
    runs = run_batch("momentum", NOTES, grid, steps=steps)
    final = _final_f(NOTES, runs)
    n = len(MOMENTUM_LRS)
    series = {both(lambda say: say(f"β = {b:g}", f"β = {b:g}")): tuple(final[i * n:(i + 1) * n])
              for i, b in enumerate(MOMENTUM_BETAS)}
    lmax = NOTES_FORM.eigenvalues()[1]
    numbers: dict[str, float] = {"steps": steps, "lmax": lmax, "settings": len(grid),
                                 "start_x1": NOTES.start[0], "start_x2": NOTES.start[1]}
    for i, b in enumerate(MOMENTUM_BETAS):
        row = final[i * n:(i + 1) * n]
        best = min(range(n), key=lambda j: row[j])
        numbers[f"best_lr[{b:g}]"] = MOMENTUM_LRS[best]
        numbers[f"best_f[{b:g}]"] = row[best]
        _ends(numbers, f"best {b:g}", runs[i * n + best])
        numbers[f"bound[{b:g}]"] = (2 + 2 * b) / lmax
        numbers[f"largest_stable_lr[{b:g}]"] = max((lr for lr, f in zip(MOMENTUM_LRS, row) if f < final_start(NOTES)),
                                                   default=0.0)
    question = both(lambda say: say("Use other combinations of momentum hyperparameters and learning rates; observe "
                                    "and analyze the results.",
                                    "换用其他的动量超参数与学习率组合，观察并分析实验结果。"))
    return _exercise("momentum-1", question, numbers, series, MOMENTUM_LRS, LEARNING_RATE,
                     both(lambda say: say(f"f after {steps} steps", f"{steps} 步后的 f")), formulas=NOTES_FORMULAS)


def final_start(objective: Objective) -> float:
    return float(objective.f(torch.tensor(objective.start, dtype=torch.float64)))


def eigenvalue_sum_text(dimensions: int) -> str:
    """``½ (2⁻¹ x₁² + 2⁻² x₂² + … + 2⁻¹⁰ x₁₀²)``: the function of exercise momentum-2, from its number of dimensions."""
    up, down = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"), str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

    def term(i: int) -> str:
        return f"2⁻{str(i).translate(up)} x{str(i).translate(down)}²"

    shown = [term(i) for i in range(1, min(dimensions, 2) + 1)]
    if dimensions > 3:
        shown.append("…")
    if dimensions > 2:
        shown.append(term(dimensions))
    return "½ (" + " + ".join(shown) + ")"


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
    series = {both(lambda say: say("gradient descent", "梯度下降")): tuple(f(x) for x in gd),
              both(lambda say: say(f"momentum β = {beta:g}", f"动量法 β = {beta:g}")): tuple(f(x) for x in mom)}
    question = both(lambda say: say("Try GD and momentum on f(x) = ½ Σ λᵢ xᵢ² with λᵢ = 2⁻ⁱ, from xᵢ = 1; plot how x "
                                    "decreases.",
                                    "在有多个特征值的二次函数 f(x) = ½ Σ λᵢ xᵢ²（λᵢ = 2⁻ⁱ）上，从 xᵢ = 1 出发，"
                                    "比较梯度下降与动量法，画出 x 如何减小。"))
    return _exercise("momentum-2", question, numbers, series, range(steps + 1), STEP, F_OF_X,
                     formulas={"f": eigenvalue_sum_text(dimensions)})


AIRFOIL_LOSS_TEXT = "mean((Xw + b − y)²)/2"
"""The airfoil runs' loss, as the exercise states it (descentlab.airfoil.train minimises it)."""
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
        series[both(lambda say: say(f"η {lr:g}, β {b:g} (η/(1−β) = {lr / (1 - b):.3g})",
                                    f"η {lr:g}，β {b:g}（η/(1−β) = {lr / (1 - b):.3g}）"))] = tuple(
            max(sum(column) / len(column) - run.optimum_loss, 1e-12) for column in zip(*run.losses))
    x = tuple(float(step) for step in runs[0].evaluation_steps)
    question = both(lambda say: say("What changes with minibatch SGD with momentum? Experiment with the parameters.",
                                    "把动量法用于小批量随机梯度下降时有什么变化？调整参数做实验。"))
    return _exercise("momentum-4", question, numbers, series, x,
                     both(lambda say: say("step (minibatches of 10)", "迭代步数（小批量大小 10）")),
                     both(lambda say: say("mean loss − optimum", "平均损失 − 最优值")),
                     formulas={"loss": AIRFOIL_LOSS_TEXT})


# ---------------------------------------------------------------------------
# AdaGrad and RMSProp
# ---------------------------------------------------------------------------

def rotated(algorithm: str, key: str, hp: dict, steps: int = 20) -> Exercise:
    """AdaGrad/RMSProp on d2l's rotated 0.1 (x1 + x2)² + 2 (x1 − x2)² against the same eigenvalues on the axes,
    0.2 x1² + 4 x2² (both functions, their texts and their eigenvalues from :data:`ROTATED_FORM`, :data:`ALIGNED_FORM`)."""
    aligned = run_batch(algorithm, ALIGNED, [hp], steps=steps)[0]
    turned = run_batch(algorithm, ROTATED, [hp], steps=steps)[0]
    low, high = ALIGNED_FORM.eigenvalues()
    numbers = {"steps": steps, "lr": hp["lr"], "aligned_f": _final_f(ALIGNED, [aligned])[0],
               "rotated_f": _final_f(ROTATED, [turned])[0], "start_x1": ALIGNED.start[0], "start_x2": ALIGNED.start[1],
               "aligned_start_f": aligned.values[0], "rotated_start_f": turned.values[0],
               "lmin": low, "lmax": high, "rotated_lmin": ROTATED_FORM.eigenvalues()[0],
               "rotated_lmax": ROTATED_FORM.eigenvalues()[1],
               "aligned_distance": math.hypot(*aligned.final), "rotated_distance": math.hypot(*turned.final)}
    _ends(numbers, "aligned", aligned)
    _ends(numbers, "rotated", turned)
    flat, turned_text = ALIGNED_FORM.text(), ROTATED_FORM.text()
    series = {both(lambda say: say(f"axis-aligned {flat}", f"与坐标轴对齐 {flat}")): aligned.values,
              both(lambda say: say(f"rotated {turned_text}", f"旋转后 {turned_text}")): turned.values}
    title = REGISTRY[algorithm].title
    question = both(lambda say: say(f"{title} on f = {turned_text} (d2l's rotated problem) and on f = {flat}, the "
                                    "same function with its axes turned back onto x1 and x2. Does it behave "
                                    "differently?",
                                    f"在 f = {turned_text}（d2l 的旋转问题）和 f = {flat}（同一个函数，主轴转回到 x1 和 x2 "
                                    f"上）上分别运行{title}算法，表现有什么不同？"))
    return _exercise(key, question, numbers, series, range(steps + 1), STEP, F_OF_X,
                     formulas={"aligned": flat, "rotated": turned_text})


def adagrad_decay(steps: int = 200, lr: float = 0.4) -> Exercise:
    """Exercise 6: a less aggressive decay than AdaGrad's: its sum against RMSProp's leaky averages, same eta."""
    grid = [("adagrad", {"lr": lr}), ("rmsprop", {"lr": lr, "gamma": 0.99}), ("rmsprop", {"lr": lr, "gamma": 0.9})]
    runs = [run_batch(name, NOTES, [hp], steps=steps)[0] for name, hp in grid]
    labels = [both(lambda say: say("AdaGrad (sum)", "AdaGrad（累加）")),
              both(lambda say: say("RMSProp γ = 0.99", "RMSProp γ = 0.99")),
              both(lambda say: say("RMSProp γ = 0.9", "RMSProp γ = 0.9"))]
    numbers: dict[str, float] = {"steps": steps, "lr": lr}
    for label, key, run in zip(labels, ("adagrad", "rmsprop0.99", "rmsprop0.9"), runs):
        numbers[f"f[{key}]"] = _final_f(NOTES, [run])[0]
        _ends(numbers, key, run)
    question = both(lambda say: say("How would you modify AdaGrad to achieve a less aggressive decay in the learning "
                                    "rate?",
                                    "怎样修改AdaGrad算法，才能让学习率衰减得不那么激进？"))
    return _exercise("adagrad-6", question, numbers, {label: run.values for label, run in zip(labels, runs)},
                     range(steps + 1), STEP, F_OF_X, formulas=NOTES_FORMULAS)


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
               "effective_lr": lr / math.sqrt(eps), "gd_bound": 2 / NOTES_FORM.eigenvalues()[1],
               "start_x1": NOTES.start[0], "start_x2": NOTES.start[1],
               "gamma1_f": one_f[-1], "gamma09_f": usual_f[-1], "gd_f": gd_f[-1],
               "max_gd_relative": max(float(((a - b).abs() / b.abs().clamp(min=1.0)).max()) for a, b in zip(one, gd)),
               "start_f": one_f[0], "finite_steps": len(finite) - 1}
    series = {both(lambda say: say("γ = 1", "γ = 1")): tuple(one_f), both(lambda say: say("γ = 0.9", "γ = 0.9")): tuple(usual_f),
              both(lambda say: say(f"GD, η/√ε = {lr / math.sqrt(eps):g}", f"梯度下降，η/√ε = {lr / math.sqrt(eps):g}")):
                  tuple(gd_f)}
    question = both(lambda say: say("What happens experimentally if we set γ = 1? Why?",
                                    "令 γ = 1，实验中会发生什么？为什么？"))
    return _exercise("rmsprop-1", question, numbers, series, range(steps + 1), STEP, F_OF_X, formulas=NOTES_FORMULAS)


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
        _ends(numbers, f"{r:g}", run)
    question = both(lambda say: say("Adjust the value of ρ. What happens?", "调整 ρ 的值，会发生什么？"))
    series = {both(lambda say: say(f"ρ = {r:g}", f"ρ = {r:g}")): run.values for r, run in zip(ADADELTA_RHOS, runs)}
    return _exercise("adadelta-1", question, numbers, series, range(steps + 1), STEP, F_OF_X, formulas=NOTES_FORMULAS)


ADADELTA_SCALES = (1.0, 100.0, 10000.0)


def scaled(form: SumOfSquares, scale: float) -> SumOfSquares:
    """``form`` in units ``scale`` times smaller: ``f(x / scale)`` (the minimum stays at 0, the start moves out)."""
    return SumOfSquares.of(*((t.coefficient, (t.weights[0] / scale, t.weights[1] / scale)) for t in form.terms))


def adadelta_scale(steps: int = 500) -> Exercise:
    """Exercise 3: is AdaDelta learning-rate free?  The notes' quadratic in units s times larger (x -> s x): the same
    problem, its start s times farther; the share of the distance to the minimum covered in ``steps`` steps."""
    numbers: dict[str, float] = {"steps": steps}
    series = {}
    formulas = {}
    for scale in ADADELTA_SCALES:
        form = scaled(NOTES_FORM, scale)
        start = (NOTES.start[0] * scale, NOTES.start[1] * scale)
        path = run_batch("adadelta", form.objective("scaled", start), [{}], steps=steps)[0]
        distance = math.hypot(*start)
        remaining = [math.hypot(*p) / distance for p in path.points]
        numbers[f"remaining[{scale:g}]"] = remaining[-1]
        numbers[f"start_x1[{scale:g}]"], numbers[f"start_x2[{scale:g}]"] = start
        formulas[f"{scale:g}"] = form.text()
        series[both(lambda say: say(f"start × {scale:g}", f"起点 × {scale:g}"))] = tuple(remaining)
    question = both(lambda say: say("Is AdaDelta really learning-rate free? Could you find optimization problems that "
                                    "break it?",
                                    "AdaDelta算法真的不需要学习率吗？能否找到让它失效的优化问题？"))
    return _exercise("adadelta-3", question, numbers, series, range(steps + 1), STEP,
                     both(lambda say: say("|x_t| / |x_0| (share of the distance left)", "|x_t| / |x_0|（剩余距离的比例）")),
                     formulas=formulas)


# ---------------------------------------------------------------------------
# Adam
# ---------------------------------------------------------------------------

def printed(formula: str) -> str:
    """An objective's formula as the sentences print it: ``^2`` as ², ``-`` as −."""
    return formula.replace("^2", "²").replace(" - ", " − ")


ADAM_LRS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
OBJECTIVE_NAMES: dict[str, Pair] = {
    "notes": both(lambda say: say("notes", "笔记中的二次函数")),
    "rosenbrock": both(lambda say: say("rosenbrock", "Rosenbrock 函数")),
}


def adam_lr(steps: int = 100) -> Exercise:
    """Exercise 1: the learning rate, on the notes' quadratic and on Rosenbrock, one batch each."""
    numbers: dict[str, float] = {"steps": steps}
    series = {}
    for objective in (NOTES, OBJECTIVES["rosenbrock"]):
        runs = run_batch("adam", objective, [{"lr": lr} for lr in ADAM_LRS], steps=steps)
        final = _final_f(objective, runs)
        for lr, f, run in zip(ADAM_LRS, final, runs):
            numbers[f"{objective.name}[{lr:g}]"] = f
            _ends(numbers, f"{objective.name} {lr:g}", run)
        numbers[f"start_x1[{objective.name}]"], numbers[f"start_x2[{objective.name}]"] = objective.start
        series[OBJECTIVE_NAMES[objective.name]] = tuple(final)
    question = both(lambda say: say("Adjust the learning rate and observe and analyze the experimental results.",
                                    "调整学习率，观察并分析实验结果。"))
    return _exercise("adam-1", question, numbers, series, ADAM_LRS, LEARNING_RATE,
                     both(lambda say: say(f"f after {steps} steps", f"{steps} 步后的 f")),
                     formulas={"notes": NOTES_FORM.text(), "rosenbrock": printed(OBJECTIVES["rosenbrock"].formula)})


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
    numbers: dict[str, float] = {"steps": steps, "x_star": x_star, "f_star": f_star, "start_f": average(start),
                                 **YOGI_CASE}
    series = {}
    for name in ("adam", "yogi"):
        path = _vector_run(name, {"lr": lr, "betas": (0.0, beta2)}, gradient, start, steps)
        gaps = [average(x) - f_star for x in path]
        numbers[f"{name}_x"] = float(path[-1][0])
        numbers[f"{name}_gap"] = gaps[-1]
        series[(REGISTRY[name].title, REGISTRY[name].title)] = tuple(gaps[::every])
    question = both(lambda say: say("Try to construct a case for which Adam diverges and Yogi converges.",
                                    "试着构造一个Adam算法发散而Yogi收敛的例子。"))
    return _exercise("adam-4", question, numbers, series, [float(t) for t in range(0, steps + 1, every)], STEP,
                     both(lambda say: say("F(x_t) − F(x*) (the average objective)", "F(x_t) − F(x*)（平均目标函数）")),
                     formulas={"F": f"{c - 2:g}/3·x + {mu / 2:g}·x²"})


# ---------------------------------------------------------------------------
# Not experimental
# ---------------------------------------------------------------------------

PROOFS: tuple[tuple[str, Pair], ...] = (
    ("momentum-3", both(lambda say: say(
        "Derive the minimum value and minimizer of h(x) = ½ xᵀQx + xᵀc + b.",
        "推导 h(x) = ½ xᵀQx + xᵀc + b 的最小值与最优解。"))),
    ("adagrad-1", both(lambda say: say(
        "Prove ‖c − δ‖₂ = ‖Uc − Uδ‖₂ for an orthogonal U; why does this mean perturbations keep their magnitude "
        "under an orthogonal change of variables?",
        "证明对正交矩阵 U 有 ‖c − δ‖₂ = ‖Uc − Uδ‖₂；为什么这说明在正交变量替换下扰动的大小不变？"))),
    ("adagrad-3", both(lambda say: say("Prove Gerschgorin's circle theorem.", "证明 Gerschgorin 圆盘定理。"))),
    ("adagrad-4", both(lambda say: say(
        "What does Gerschgorin's theorem say about the eigenvalues of diag^-½(M) M diag^-½(M)?",
        "Gerschgorin 定理对 diag^-½(M) M diag^-½(M) 的特征值说明了什么？"))),
    ("adagrad-5", both(lambda say: say(
        "Try AdaGrad on a proper deep network (LeNet on Fashion-MNIST).",
        "在真正的深度网络上（Fashion-MNIST 上的 LeNet）试试AdaGrad算法。"))),
    ("rmsprop-3", both(lambda say: say(
        "Try RMSProp on a real machine-learning problem such as Fashion-MNIST.",
        "在真实的机器学习问题（如 Fashion-MNIST）上试试RMSProp算法。"))),
    ("rmsprop-4", both(lambda say: say(
        "Would you adjust γ as optimization progresses? How sensitive is RMSProp to it?",
        "随着优化的进行，要不要调整 γ？RMSProp算法对它有多敏感？"))),
    ("adadelta-2", both(lambda say: say(
        "Implement AdaDelta without the variable g′ₜ. Why might this be a good idea?",
        "不用变量 g′ₜ 实现AdaDelta算法。这样做为什么可能更好？"))),
    ("adadelta-4", both(lambda say: say(
        "Compare AdaDelta to AdaGrad and RMSProp: convergence behaviour.",
        "比较AdaDelta算法与AdaGrad算法、RMSProp算法的收敛行为。"))),
    ("adam-2", both(lambda say: say(
        "Rewrite the momentum and second-moment updates so that they need no bias correction.",
        "改写动量与二阶矩的更新，使它们不再需要偏差修正。"))),
    ("adam-3", both(lambda say: say(
        "Why do you need to reduce the learning rate η as we converge?",
        "为什么在接近收敛时需要减小学习率 η？"))),
)
"""The exercises answered here by a sketch, not an experiment (the sketches are in ``exercise_words``)."""


def proofs() -> list[Exercise]:
    found = []
    for key, question in PROOFS:
        section = key.split("-")[0]
        found.append(Exercise(key, section, question[0], False, chinese=_chinese([SECTIONS[section], question])))
    return found


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


__all__ = ["Exercise", "PROOFS", "Pair", "both", "experiments", "proofs", "run_exercises"]
