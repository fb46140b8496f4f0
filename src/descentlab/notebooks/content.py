"""What each of the chapter's notebooks says and runs: cells as (kind, text) pairs, in one language.

Every notebook opens with the same setup cell, then its section's prose and code,
then the airfoil runs of that section (or a note that the data was not found),
then the section's exercises.  The code cells call descentlab's public API only
(``descentlab.lab``, ``descentlab.airfoil``, ``descentlab.optim``, the plotting
helpers and the chapter's exercises and sentences), so a reader can copy any of
them into their own work.  The prose is written here in both languages, side by
side (:class:`~descentlab.lang.Lang`); the sentences about measured numbers are
not typed here but printed by the cells, computed from their records by the
chapter's own functions (``conclusion``, ``settles_sentence``, ``schedule_conclusion``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..chapter.exercises import PROOFS, SECTIONS, experiments
from ..chapter.exercise_words import sketches
from ..lang import EN, Lang
from ..notes.reference import NOTES_AIRFOIL

Cell = tuple[str, str]
"""("markdown" or "code", its source)."""

ORDER: tuple[str, ...] = ("momentum", "adagrad", "rmsprop", "adadelta", "adam", "schedules")
"""The sections, one notebook each, in the chapter's order."""

SEEDS = 5
"""Seeds per airfoil run in the notebooks (the fewest the report's verdict rule judges)."""

OPTIM_CLASSES = {"momentum": "Momentum", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adadelta": "AdaDelta",
                 "adam": "Adam"}
"""The :mod:`descentlab.optim` class each algorithm section trains a ``torch.nn.Linear`` with."""


@dataclass(frozen=True)
class Data:
    """Where the airfoil file is for the notebooks' cells, or why there is none."""

    path: str | None
    problem: str | None = None


def filename(index: int, key: str) -> str:
    """``1-momentum.ipynb``: the notebook's name in the output directory."""
    return f"{index}-{key}.ipynb"


def _md(text: str) -> Cell:
    return ("markdown", text.strip("\n"))


def _code(text: str) -> Cell:
    return ("code", text.strip("\n"))


def setup(say: Lang, data: Data) -> list[Cell]:
    fonts = ("\nfrom descentlab.plotting.fonts import cjk_family\n"
             'plt.rcParams["font.family"] = ["DejaVu Sans", cjk_family()]  # the Chinese labels') if say.code == "zh" else ""
    where = f"DATA = {data.path!r}  # the airfoil file these notebooks were built with" if data.path else (
        "DATA = None  # no airfoil file was found when these notebooks were built")
    return [_code(f"""
%matplotlib inline
import matplotlib.pyplot as plt
import torch
from descentlab.lang import lang

say = lang({say.code!r})  # the language of the sentences the cells print
plt.rcParams["figure.dpi"] = 72{fonts}
{where}
""")]


def _title(key: str, say: Lang) -> str:
    return {
        "momentum": say("Momentum", "动量法"),
        "adagrad": say("AdaGrad", "AdaGrad算法"),
        "rmsprop": say("RMSProp", "RMSProp算法"),
        "adadelta": say("AdaDelta", "AdaDelta算法"),
        "adam": say("Adam and Yogi", "Adam算法与Yogi算法"),
        "schedules": say("Learning-rate schedules", "学习率调度"),
    }[key]


def _intro(key: str, say: Lang) -> str:
    return {
        "momentum": say(
            "Gradient descent uses one learning rate η for every direction. On the notes' quadratic "
            "`f(x) = 0.1·x1² + 2·x2²` the steep direction x2 caps η, and the flat direction x1 then crawls. Momentum "
            "keeps a velocity `m ← βm + ηg; x ← x − m`: gradients that flip sign cancel in `m`, gradients that agree "
            "add up. Every path below is computed by descentlab's registry rule for the algorithm.",
            "梯度下降对所有方向使用同一个学习率 η。在笔记的二次函数 `f(x) = 0.1·x1² + 2·x2²` 上，陡峭的 x2 方向限制了 η，"
            "平坦的 x1 方向于是走得很慢。动量法维护一个速度变量 `m ← βm + ηg; x ← x − m`：正负交替的梯度在 `m` 中"
            "相互抵消，方向一致的梯度不断累加。下面的每条轨迹都由 descentlab 登记的更新规则算出。"),
        "adagrad": say(
            "AdaGrad gives each coordinate its own step: it divides η by the root of that coordinate's summed squared "
            "gradients, `s ← s + g²; x ← x − η/√(s + ε) ⊙ g`. A steep coordinate gets a small step, a flat one a large "
            "step — a diagonal stand-in for the inverse Hessian. The sum never shrinks, so the effective learning rate "
            "η/√(s + ε) only falls.",
            "AdaGrad算法给每个坐标各自的步长：把 η 除以该坐标梯度平方累加和的平方根，`s ← s + g²; x ← x − η/√(s + ε) ⊙ g`。"
            "陡峭的坐标步长小，平坦的坐标步长大——这是 Hessian 矩阵之逆的一个对角近似。累加和从不减小，所以有效学习率 "
            "η/√(s + ε) 只降不升。"),
        "rmsprop": say(
            "RMSProp keeps AdaGrad's per-coordinate scaling but replaces the sum by a moving average, "
            "`s ← γs + (1 − γ)g²`, which forgets gradients older than about 1/(1 − γ) steps. Near the minimum the "
            "gradients shrink, `s` follows them down, and the effective learning rate grows again.",
            "RMSProp算法保留了AdaGrad算法的逐坐标缩放，但用指数加权移动平均 `s ← γs + (1 − γ)g²` 代替累加和，"
            "大约 1/(1 − γ) 步以前的梯度会被遗忘。接近最小值时梯度变小，`s` 随之变小，有效学习率又会变大。"),
        "adadelta": say(
            "AdaDelta has no learning rate in the notes' form: it scales each coordinate by the ratio of two running "
            "root-mean-squares, that of its own past steps over that of its gradients, "
            "`x ← x − √(Δ + ε)/√(s + ε) ⊙ g`, with `Δ` the moving average of the squared steps. Its first steps are "
            "therefore about √ε long, whatever the problem's scale.",
            "笔记形式的AdaDelta算法没有学习率：它用两个滑动均方根之比缩放每个坐标——自己过去步长的均方根除以梯度的均方根，"
            "`x ← x − √(Δ + ε)/√(s + ε) ⊙ g`，其中 `Δ` 是步长平方的移动平均。因此无论问题的尺度如何，它最初的步长"
            "都约为 √ε。"),
        "adam": say(
            "Adam combines momentum (a moving average `m` of the gradients, β1) with RMSProp's scaling (a moving "
            "average `s` of their squares, β2), and divides both by 1 − βᵗ because they start at zero. Yogi changes "
            "only how `s` moves: by `(1 − β2)·sign(g² − s)·g²`, so a large gradient is not forgotten as fast.",
            "Adam算法把动量（梯度的移动平均 `m`，β1）和RMSProp算法的缩放（梯度平方的移动平均 `s`，β2）结合起来，"
            "并因为两者从零开始而都除以 1 − βᵗ。Yogi算法只改变 `s` 的更新方式：按 `(1 − β2)·sign(g² − s)·g²` 变化，"
            "所以大梯度不会那么快被遗忘。"),
        "schedules": say(
            "With minibatches the gradient is noisy, and a constant learning rate keeps the iterate wandering around "
            "the minimum at a distance set by η. A schedule changes η step by step: descentlab's schedules are "
            "torch's own schedulers (factor, multi-factor, cosine with warm-up, warm-up), so `lr_sequence` reads the "
            "rate of each step from the scheduler itself.",
            "使用小批量时梯度带有噪声，常数学习率会让迭代点在最小值附近徘徊，徘徊的距离由 η 决定。学习率调度逐步改变 η："
            "descentlab 的调度就是 torch 自己的调度器（因子衰减、多因子衰减、含预热的余弦、预热），所以 `lr_sequence` "
            "直接从调度器读出每一步的学习率。"),
    }[key]


NOTES_TRACES_OF = {
    "momentum": ("sgd", "momentum"),
    "adagrad": ("adagrad",),
    "rmsprop": ("rmsprop",),
}
"""The sections whose 2D runs the notes printed (the other sections run their rule on the same quadratic)."""

PLANE_RUNS = {
    "adadelta": '[("adadelta", {"rho": 0.9}), ("adadelta", {"rho": 0.9, "eps": 1e-3}), ("rmsprop", {"lr": 0.4, "gamma": 0.9})]',
    "adam": '[("adam", {"lr": 0.4}), ("yogi", {"lr": 0.4}), ("momentum", {"lr": 0.4, "momentum": 0.5})]',
}


def plane(key: str, say: Lang) -> list[Cell]:
    """The section's 2D runs on the notes' quadratic, drawn on its contours."""
    if key in NOTES_TRACES_OF:
        algorithms = NOTES_TRACES_OF[key]
        return [
            _md(say("The notes' runs of this section, 20 steps from (−5, −2); each line is printed as the notes "
                    "printed it, beside their own line.",
                    "笔记中本节的实验，从 (−5, −2) 出发 20 步；每一行都按笔记的格式打印，旁边是笔记自己打印的那一行。")),
            _code(f"""
from descentlab.lab import OBJECTIVES, quadratic_theory, run
from descentlab.notes.reference import NOTES_TRACES
from descentlab.plotting.landscape import draw_landscape, trajectory_label

f = OBJECTIVES["notes"]
theory = quadratic_theory(f)
print(f"κ = {{theory.kappa:g}}; gradient descent is stable for η < {{theory.gd_max_lr:g}}")
notes = [r for r in NOTES_TRACES if r.algorithm in {algorithms!r}]
paths = [run(r.algorithm, f, r.hyperparameters, steps=20) for r in notes]
for r, path in zip(notes, paths):
    print(f"{{path.notes_line():<40}} notes: {{r.printed}}")
fig, axes = plt.subplots(1, len(paths), figsize=(4.2 * len(paths), 3.4), layout="constrained", squeeze=False)
for ax, path in zip(axes[0], paths):
    draw_landscape(ax, f, [path], say)
    ax.set_title(trajectory_label(path, say), fontsize=9)
plt.show()
"""),
        ]
    return [
        _md(say("The notes printed no 2D run for this section; here the rule runs on the same quadratic, 20 steps "
                "from (−5, −2), beside a rule of an earlier section.",
                "笔记没有打印本节的二维实验；这里让更新规则在同一个二次函数上从 (−5, −2) 出发运行 20 步，并与前面一节的"
                "规则对照。")),
        _code(f"""
from descentlab.lab import OBJECTIVES, run_many
from descentlab.plotting.landscape import draw_landscape
from descentlab.plotting.theory import draw_convergence

f = OBJECTIVES["notes"]
paths = run_many({PLANE_RUNS[key]}, f, steps=20)
for path in paths:
    print(path.algorithm, path.hyperparameters, "→", path.notes_line())
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
draw_landscape(left, f, paths, say)
draw_convergence(right, paths, say)
plt.show()
"""),
    ]


def theory(key: str, say: Lang) -> list[Cell]:
    """A closer look particular to the section."""
    if key == "momentum":
        return [
            _md(say("An exponential moving average gives the value i steps back the weight (1 − β)βⁱ: roughly an "
                    "average over the last 1/(1 − β) values.",
                    "指数加权移动平均给 i 步之前的值权重 (1 − β)βⁱ：大致是最近 1/(1 − β) 个值的平均。")),
            _code("""
from descentlab.plotting.theory import draw_ema_weights

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
draw_ema_weights(ax, [0.5, 0.9, 0.95], say=say)
plt.show()
"""),
        ]
    if key in ("adagrad", "rmsprop"):
        return [
            _md(say("The effective learning rate of each coordinate, step by step, over 200 steps: the ratio of the "
                    "step taken to the gradient.",
                    "200 步内每个坐标逐步的有效学习率：所走步长与梯度之比。")),
            _code(f"""
from descentlab.chapter.words import settles_sentence
from descentlab.lab import effective_learning_rates
from descentlab.plotting.theory import draw_effective_lr

long = run({key!r}, f, {{"lr": 0.4}} if {key!r} == "adagrad" else {{"lr": 0.4, "gamma": 0.9}}, steps=200)
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
draw_effective_lr(ax, [long], [effective_learning_rates(long, f)], say)
plt.show()
print(settles_sentence(long, say))
"""),
        ]
    if key == "adam":
        return [
            _md(say("Both averages start at zero; dividing by 1 − βᵗ undoes that. The correction matters for about "
                    "1/(1 − β) steps: a few for β1 = 0.9, thousands for β2 = 0.999.",
                    "两个平均都从零开始；除以 1 − βᵗ 抵消了这一点。修正大约在 1/(1 − β) 步内起作用：β1 = 0.9 时只有几步，"
                    "β2 = 0.999 时则有几千步。")),
            _code("""
from descentlab.plotting.theory import draw_bias_correction

fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
draw_bias_correction(ax, [0.9, 0.999], say=say)
plt.show()
"""),
        ]
    return []


def _no_data(say: Lang, data: Data) -> list[Cell]:
    return [_md(say(f"**No airfoil data.** These notebooks were built without the airfoil file ({data.problem}), so "
                    "this section's airfoil cells are left out. Build them again with `descentlab notebooks --data FILE` "
                    "(or with the file in descentlab's cache).",
                    f"**没有翼型噪声数据。** 生成这些笔记本时没有找到翼型噪声数据文件（{data.problem}），所以本节与该数据有关的"
                    "单元格被略去。请用 `descentlab notebooks --data FILE` 重新生成（或把文件放进 descentlab 的缓存）。"))]


def airfoil(key: str, say: Lang, data: Data) -> list[Cell]:
    """The notes' airfoil runs of the section (both implementations), and the rule as a torch optimizer."""
    if key == "schedules":
        return _schedule_cells(say, data)
    heading = _md(say("## Linear regression on the airfoil data",
                      "## 翼型噪声数据上的线性回归"))
    if data.path is None:
        return [heading, *_no_data(say, data)]
    runs = [r for r in NOTES_AIRFOIL if r.algorithm == key]
    optim = OPTIM_CLASSES[key]
    first = next(r for r in runs if r.impl == "own")
    return [
        heading,
        _md(say(f"The notes trained a linear regression on the airfoil data with this section's optimizer: 2 epochs, "
                f"minibatches of 10, the loss on all rows every 100 examples. Each run below is {SEEDS} seeds as one "
                "batch; `own` is descentlab's rule, `torch` the torch.optim class. The notes' number is one random "
                "draw, so it should lie among the seeds, not equal their mean.",
                f"笔记用本节的优化算法在翼型噪声数据上训练了线性回归：2 个迭代周期，小批量大小 10，每 100 个样本在全部数据上"
                f"计算一次损失。下面每组实验是作为一个批次运行的 {SEEDS} 个种子；`own` 是 descentlab 的规则，`torch` 是 "
                "torch.optim 的类。笔记的数字只是一次随机抽样，所以它应落在各种子之间，而不必等于它们的均值。")),
        _code(f"""
from descentlab.airfoil import load_airfoil, train
from descentlab.notes.reference import NOTES_AIRFOIL
from descentlab.plotting.training import plot_losses

data = load_airfoil(DATA)
notes = [r for r in NOTES_AIRFOIL if r.algorithm == {key!r}]
runs = [train(r.algorithm, r.hyperparameters, data=data, impl=r.impl, seeds=range({SEEDS})) for r in notes]
for r, trained in zip(notes, runs):
    print(f"{{r.label():<36}} loss: {{trained.summary.min:f}} to {{trained.summary.max:f}} over {{len(trained.seeds)}} seeds "
          f"(notes: {{r.final_loss:f}}), {{trained.sec_per_epoch:f}} sec per epoch")
fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
plot_losses(ax, runs, say=say)
plt.show()
"""),
        _md(say(f"The same rule drives any torch model: `descentlab.optim.{optim}` is a `torch.optim.Optimizer`. Here "
                "it trains a `torch.nn.Linear` on the same rows, with the notes' minibatches.",
                f"同一条规则可以驱动任何 torch 模型：`descentlab.optim.{optim}` 是一个 `torch.optim.Optimizer`。这里用它"
                "在同样的数据上、按笔记的小批量训练一个 `torch.nn.Linear`。")),
        _code(f"""
from descentlab.optim import {optim}

torch.manual_seed(0)
model = torch.nn.Linear(5, 1)
optimizer = {optim}(model.parameters(), **{first.hyperparameters!r})
loss_of = lambda: ((model(data.features).squeeze(1) - data.labels) ** 2).mean() / 2
for epoch in range(2):
    order = torch.randperm(data.rows)
    for start in range(0, data.rows, 10):
        rows = order[start:start + 10]
        optimizer.zero_grad()
        ((model(data.features[rows]).squeeze(1) - data.labels[rows]) ** 2).mean().div(2).backward()
        optimizer.step()
    with torch.no_grad():
        print(f"epoch {{epoch + 1}}: loss {{loss_of().item():f}} (least-squares optimum {{data.optimum_loss:f}})")
"""),
    ]


def _schedule_cells(say: Lang, data: Data) -> list[Cell]:
    cells = [
        _md(say("The rate of each step of two epochs (300 steps) at base rate 0.02, for every schedule of the table.",
                "在基础学习率 0.02 下，表中每个调度在两个迭代周期（300 步）里每一步的学习率。")),
        _code("""
from descentlab.chapter.schedule_section import PLANS
from descentlab.chapter.schedule_words import schedule_title
from descentlab.plotting.schedules import draw_lr_schedules
from descentlab.schedules import lr_sequence, schedule

plans = {name: schedule(name, parameters) for name, parameters in PLANS.items()}
fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
draw_lr_schedules(ax, [schedule_title(name, say) for name in plans], [lr_sequence(plan, 0.02, 300) for plan in plans.values()], say)
plt.show()
"""),
        _md(say("## Schedules on the airfoil data", "## 翼型噪声数据上的学习率调度")),
    ]
    if data.path is None:
        return cells + _no_data(say, data)
    return cells + [
        _md(say(f"Momentum (η = 0.02, β = 0.9) with each schedule, {SEEDS} seeds each; the sentence after the figure "
                "is computed from these runs.",
                f"动量法（η = 0.02，β = 0.9）配合每个调度，各 {SEEDS} 个种子；图后的句子由这些实验的结果算出。")),
        _code(f"""
from descentlab.airfoil import load_airfoil
from descentlab.chapter.schedule_section import schedule_section
from descentlab.chapter.schedule_words import schedule_conclusion, schedule_label
from descentlab.plotting.schedules import draw_final_gaps

data = load_airfoil(DATA)
section = schedule_section(data, seeds=range({SEEDS}))
fig, ax = plt.subplots(figsize=(6.4, 3.4), layout="constrained")
draw_final_gaps(ax, [schedule_label(r.plan, say) for r in section.runs], [r.run.gap for r in section.runs], say)
plt.show()
print(schedule_conclusion(section, say))
"""),
    ]


def _number(key: str) -> int:
    return int(key.rsplit("-", 1)[1])


def exercises(key: str, say: Lang, data: Data) -> list[Cell]:
    """The section's exercises in d2l's order: experiments run and concluded, proofs sketched."""
    cells = [_md(say("## Exercises", "## 练习"))]
    if key == "schedules":
        return cells + _schedule_exercises(say)
    experimental = [k for k, _ in experiments(data=object()) if k.startswith(key + "-")]  # every key, data or not
    proofs = dict(PROOFS)
    sketched = sketches(say)
    name = SECTIONS[key][1] if say.code == "zh" else SECTIONS[key][0]
    for exercise in sorted([*experimental, *(k for k in proofs if k.startswith(key + "-"))], key=_number):
        number = _number(exercise)
        if exercise in proofs:
            question = proofs[exercise][1] if say.code == "zh" else proofs[exercise][0]
            cells.append(_md(say(f"### {name} {number}\n\n{question}\n\n*Sketch.* {sketched[exercise]}",
                                 f"### {name} 练习 {number}\n\n{question}\n\n*思路。* {sketched[exercise]}")))
            continue
        cells.append(_md(say(f"### {name} {number}", f"### {name} 练习 {number}")))
        if exercise == "momentum-4" and data.path is None:
            cells += _no_data(say, data)
            continue
        given = "load_airfoil(DATA), " if exercise == "momentum-4" else ""
        load = "from descentlab.airfoil import load_airfoil\n" if exercise == "momentum-4" else ""
        cells.append(_code(f"""
{load}from IPython.display import Markdown, display
from descentlab.chapter.exercise_words import conclusion
from descentlab.chapter.exercises import run_exercises
from descentlab.plotting.exercises import draw_exercise

(exercise,) = run_exercises({given}only=[{exercise!r}])
display(Markdown(exercise.text(exercise.question, say)))
fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained")
draw_exercise(ax, exercise, say)
plt.show()
print(conclusion(exercise, say))
"""))
    return cells


def _schedule_exercises(say: Lang) -> list[Cell]:
    return [
        _md(say("### 1\n\nOn the notes' quadratic, gradient descent at η = 0.6 diverges. Does a warm-up that starts "
                "at a tenth of the rate, or a cosine decay, keep it stable? Run it and read the last point.",
                "### 1\n\n在笔记的二次函数上，η = 0.6 的梯度下降会发散。从十分之一学习率开始的预热，或余弦衰减，能让它保持"
                "稳定吗？运行它并看最后一个点。")),
        _code("""
from descentlab.lab import OBJECTIVES, run

f = OBJECTIVES["notes"]
for name, parameters in [("constant", {}), ("warmup", {"warmup": 10, "warmup_start": 0.1}),
                         ("cosine", {"warmup": 0, "final_lr": 0.0})]:
    path = run("sgd", f, {"lr": 0.6}, steps=20, schedule=schedule(name, parameters))
    print(f"{name:<9} {path.notes_line()}")
"""),
        _md(say("### 2\n\nHow much of the cosine schedule's advantage on the airfoil data is left when the base rate "
                "is five times smaller? Compare the median gaps of the constant and cosine rates at η = 0.004.",
                "### 2\n\n基础学习率小五倍时，余弦调度在翼型噪声数据上的优势还剩多少？比较 η = 0.004 时常数学习率与余弦"
                "调度的差距中位数。")),
        _code("""
import statistics

if DATA is None:
    print("needs the airfoil data: build the notebooks with --data FILE")
else:
    from descentlab.airfoil import load_airfoil, train

    data = load_airfoil(DATA)
    for name in ("constant", "cosine"):
        trained = train("momentum", {"lr": 0.004, "momentum": 0.9}, data=data, seeds=range(5), schedule=plans[name])
        print(f"{name:<9} median gap to the optimum {statistics.median(trained.gap):.2e}")
"""),
    ]


def cells(key: str, say: Lang = EN, data: Data = Data(None, "not looked for")) -> list[Cell]:
    """Every cell of the section's notebook, in order."""
    title = _md(say(f"# {_title(key, say)}\n\nA notebook of descentlab's chapter (`descentlab notebooks`). "
                    "Run it top to bottom; every number it shows is computed by descentlab.",
                    f"# {_title(key, say)}\n\ndescentlab 的章节笔记本（`descentlab notebooks`）。从上到下运行；其中的每个"
                    "数字都由 descentlab 计算。"))
    body: list[Cell] = [title, _md(_intro(key, say)), *setup(say, data)]
    if key != "schedules":
        body += plane(key, say) + theory(key, say)
    return body + airfoil(key, say, data) + exercises(key, say, data)


def sections() -> Sequence[str]:
    return ORDER


__all__ = ["Cell", "Data", "ORDER", "SEEDS", "cells", "filename", "sections"]
