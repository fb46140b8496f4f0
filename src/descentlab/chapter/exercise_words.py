"""The exercises' sentences, each computed from one :class:`~descentlab.chapter.exercises.Exercise`'s numbers.

One function per exercise, each sentence written in English and in Chinese side
by side (``say(english, chinese)``, see :mod:`descentlab.lang`) and filled with
the same numbers.  ``conclusion(exercise, say)`` dispatches by key; a
proof-only exercise gets its sketch (fixed text: a derivation, not a result).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ..lang import EN, Lang
from ..plotting.series import coinciding, drawn_points
from .exercises import (ADADELTA_RHOS, ADADELTA_SCALES, ADAM_LRS, AIRFOIL_MOMENTUM, MOMENTUM_BETAS, NOTES, Exercise,
                        start_text)

DIFFERENT = 1.5
"""Two final values "differ" when one is more than this factor larger than the other."""


SAME_PATH = 1e-9
"""Two paths are "the same" when no coordinate differs by more than this, relative."""


def _g(value: float, say: Lang) -> str:
    return say("diverged", "发散") if not math.isfinite(value) else f"{value:.3g}"


def _ratio(a: float, b: float) -> float:
    return math.inf if b == 0 else a / b


def _point(x1: float, x2: float) -> str:
    """``(−5, −2)``: a start as the sentences print it."""
    return start_text((x1, x2))


def momentum_grid_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    best_beta = min(MOMENTUM_BETAS, key=lambda b: n[f"best_f[{b:g}]"])
    within = [b for b in MOMENTUM_BETAS if n[f"largest_stable_lr[{b:g}]"] <= n[f"bound[{b:g}]"]]
    gd_lr = n["largest_stable_lr[0]"]
    grew = [b for b in MOMENTUM_BETAS if b > 0 and n[f"largest_stable_lr[{b:g}]"] > gd_lr]
    best_lr, best_f = n[f"best_lr[{best_beta:g}]"], _g(n[f"best_f[{best_beta:g}]"], say)
    gd_best_lr, gd_best_f = n["best_lr[0]"], _g(n["best_f[0]"], say)
    momentum_values = len(MOMENTUM_BETAS) - 1
    f, start = e.formulas["f"], _point(n["start_x1"], n["start_x2"])
    parts = [
        say(f"On f = {f} from {start}, after {n['steps']:g} steps the best pair is β = {best_beta:g} with "
            f"η = {best_lr:g} (f = {best_f}); without momentum the best is η = {gd_best_lr:g} (f = {gd_best_f}).",
            f"在 f = {f} 上从 {start} 出发，{n['steps']:g} 步之后，最好的组合是 β = {best_beta:g}、η = {best_lr:g}"
            f"（f = {best_f}）；不用动量时最好的是 η = {gd_best_lr:g}（f = {gd_best_f}）。"),
        say(f"The largest η of the grid that still lowers f grows with β for {len(grew)} of the {momentum_values} "
            f"momentum values, and it stays below the bound (2+2β)/λmax for {len(within)} of {len(MOMENTUM_BETAS)} β.",
            f"网格中仍能使 f 下降的最大 η 随 β 增大：{momentum_values} 个动量取值中有 {len(grew)} 个超过了"
            f"不用动量时的值；而且在 {len(MOMENTUM_BETAS)} 个 β 中，有 {len(within)} 个的这个 η 低于上界 (2+2β)/λmax。"),
    ]
    last = MOMENTUM_BETAS[-1]
    if best_beta != last:
        last_f = _g(n[f"best_f[{last:g}]"], say)
        worse = (say("worse", "更差") if n[f"best_f[{last:g}]"] > n[f"best_f[{best_beta:g}]"] else
                 say("no better", "也不更好"))
        parts.append(say(
            f"A large β is not free: at β = {last:g} the best f is {last_f}, {worse} than at β = {best_beta:g}: the "
            f"velocity oscillates longer than {n['steps']:g} steps.",
            f"β 大并非没有代价：β = {last:g} 时最好的 f 为 {last_f}，比 β = {best_beta:g} 时{worse}：速度变量的振荡"
            f"持续超过 {n['steps']:g} 步。"))
    return say.sentences(*parts)


def many_eigenvalues_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    better = n["momentum_f"] < n["gd_f"]
    ratio = _ratio(n["gd_f"], n["momentum_f"])
    less = say("less", "更小") if better else say("more", "反而更大")
    f = e.formulas["f"]
    parts = [
        say(f"On f(x) = {f} from every xᵢ = 1: {n['dimensions']:g} eigenvalues from {n['lmax']:g} down to "
            f"{n['lmin']:.3g}. With η = {n['lr']:g}, after {n['steps']:g} steps gradient descent leaves "
            f"f = {n['gd_f']:.3g} and momentum (β = {n['beta']:g}) f = {n['momentum_f']:.3g}, {ratio:.3g} times {less}.",
            f"在 f(x) = {f} 上从所有 xᵢ = 1 出发：{n['dimensions']:g} 个特征值从 {n['lmax']:g} 降到 {n['lmin']:.3g}。"
            f"η = {n['lr']:g}：{n['steps']:g} 步之后，梯度下降剩下 f = {n['gd_f']:.3g}，动量法（β = {n['beta']:g}）剩下 "
            f"f = {n['momentum_f']:.3g}，{less}：梯度下降的 f 是它的 {ratio:.3g} 倍。"),
        say(f"The coordinate with the smallest λ is still at {n['gd_slowest']:.3g} under GD (it shrinks by 1 − ηλ per "
            f"step) and at {n['momentum_slowest']:.3g} under momentum; the steepest coordinate is at "
            f"{n['gd_fastest']:.2g} and {n['momentum_fastest']:.2g}.",
            f"λ 最小的那个坐标，梯度下降之后仍在 {n['gd_slowest']:.3g}（每步只乘以 1 − ηλ），动量法之后在 "
            f"{n['momentum_slowest']:.3g}；最陡的坐标分别在 {n['gd_fastest']:.2g} 和 {n['momentum_fastest']:.2g}。"),
    ]
    if n["momentum_slowest"] < n["gd_slowest"] and n["momentum_fastest"] > n["gd_fastest"]:
        parts.append(say("Momentum trades a little error on the fast directions for much faster progress on the slow "
                         "ones.", "动量法用快方向上的少许误差，换来了慢方向上快得多的进展。"))
    elif better:
        parts.append(say("Momentum helps on this spectrum.", "在这组特征值上动量法有帮助。"))
    else:
        parts.append(say("Momentum does not help on this spectrum.", "在这组特征值上动量法没有帮助。"))
    return say.sentences(*parts)


def minibatch_momentum_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    tags = [f"{lr:g}/{b:g}" for lr, b in AIRFOIL_MOMENTUM]
    best = min(tags, key=lambda t: n[f"mean[{t}]"])
    worst = max(tags, key=lambda t: n[f"mean[{t}]"])
    same_eff = [t for t in tags if math.isclose(n[f"effective[{t}]"], n[f"effective[{tags[0]}]"], rel_tol=1e-9)
                and t != tags[0]]
    best_mean, worst_mean, worst_std = n[f"mean[{best}]"], n[f"mean[{worst}]"], n[f"std[{worst}]"]
    gap = best_mean - n["optimum"]
    loss, optimum = e.formulas["loss"], f"{n['optimum']:.6f}"
    parts = [say(f"The loss is {loss}, least-squares optimum {optimum}.",
                 f"损失为 {loss}，最小二乘最优值为 {optimum}。"),
             say(f"Over {n['seeds']:g} seeds, the lowest mean final loss is η/β = {best} ({best_mean:.6f}, "
                 f"{gap:+.4f} above the optimum) and the highest {worst} ({worst_mean:.6f} ± {worst_std:.4f}).",
                 f"在 {n['seeds']:g} 个随机种子上，平均最终损失最低的是 η/β = {best}（{best_mean:.6f}，与最优值相差 "
                 f"{gap:+.4f}），最高的是 {worst}（{worst_mean:.6f} ± {worst_std:.4f}）。")]
    largest = max(tags, key=lambda t: n[f"effective[{t}]"])
    smallest = min(n[f"effective[{t}]"] for t in tags)
    if largest == worst and math.isclose(n[f"effective[{best}]"], smallest, rel_tol=1e-9):
        step = n[f"effective[{largest}]"]
        parts.append(say(f"What matters is the effective step η/(1−β): the largest, {step:g}, ends highest, in the noise "
                         f"floor of the minibatch gradients, and the best run has the smallest, {smallest:g}.",
                         f"起作用的是有效步长 η/(1−β)：最大的 {step:g} 最终损失最高，停在小批量随机梯度的噪声水平上；"
                         f"最好的一组有效步长最小，为 {smallest:g}。"))
    else:
        parts.append(say("The effective step η/(1−β) alone does not order the runs here.",
                         "这里单凭有效步长 η/(1−β) 排不出这些结果的先后。"))
    first = tags[0]
    for t in same_eff:
        mean, std, first_mean, first_std = n[f"mean[{t}]"], n[f"std[{t}]"], n[f"mean[{first}]"], n[f"std[{first}]"]
        parts.append(say(f"{t} has the same η/(1−β) as {first} and ends at {mean:.6f} against {first_mean:.6f}, with "
                         f"standard deviation {std:.4f} against {first_std:.4f}.",
                         f"{t} 与 {first} 的 η/(1−β) 相同，最终损失为 {mean:.6f}，对比 {first_mean:.6f}；"
                         f"标准差为 {std:.4f}，对比 {first_std:.4f}。"))
    return say.sentences(*parts)


def rotated_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    ratio = _ratio(n["rotated_f"], n["aligned_f"])
    differs = ratio > DIFFERENT or ratio < 1 / DIFFERENT
    name = {"adagrad": "AdaGrad", "rmsprop": "RMSProp"}[e.section]
    aligned, rotated = _g(n["aligned_f"], say), _g(n["rotated_f"], say)
    flat, turned = e.formulas["aligned"], e.formulas["rotated"]
    low, high, rotated_low, rotated_high = n["lmin"], n["lmax"], n["rotated_lmin"], n["rotated_lmax"]
    start = _point(n["start_x1"], n["start_x2"])
    same = math.isclose(low, rotated_low, rel_tol=1e-9) and math.isclose(high, rotated_high, rel_tol=1e-9)
    parts = [
        say(f"f = {turned} and f = {flat} have the same Hessian eigenvalues, {low:.3g} and {high:.3g}; only the axes "
            "differ.",
            f"f = {turned} 与 f = {flat} 的 Hessian 特征值相同，都是 {low:.3g} 和 {high:.3g}，只是主轴方向不同。")
        if same else
        say(f"f = {turned} has Hessian eigenvalues {rotated_low:.3g} and {rotated_high:.3g}, f = {flat} {low:.3g} and "
            f"{high:.3g}: not the same problem turned.",
            f"f = {turned} 的 Hessian 特征值为 {rotated_low:.3g} 和 {rotated_high:.3g}，f = {flat} 的为 {low:.3g} 和 "
            f"{high:.3g}：并不是同一个问题转了方向。"),
        say(f"From {start} (f = {n['aligned_start_f']:.3g} on the axis-aligned one, {n['rotated_start_f']:.3g} on the "
            f"rotated one), after {n['steps']:g} steps at η = {n['lr']:g}, {name} reaches f = {aligned} (distance {n['aligned_distance']:.3g} from the minimum) "
            f"on the axis-aligned one and f = {rotated} (distance {n['rotated_distance']:.3g}) on the rotated one, "
            f"{ratio:.3g} times as much.",
            f"从 {start} 出发（与坐标轴对齐的问题上 f = {n['aligned_start_f']:.3g}，旋转后的问题上 "
            f"f = {n['rotated_start_f']:.3g}），η = {n['lr']:g} 下运行 "
            f"{n['steps']:g} 步后，{name}算法在与坐标轴对齐的问题上到达 f = {aligned}（与最小值点相距 "
            f"{n['aligned_distance']:.3g}），在旋转后的问题上到达 f = {rotated}（相距 {n['rotated_distance']:.3g}），"
            f"是前者的 {ratio:.3g} 倍。"),
        say("Its per-coordinate scaling is a diagonal preconditioner: it fits the curvature only when the curvature's "
            "axes are the coordinates, so the rotation costs it.",
            "它按坐标分别缩放学习率，相当于一个对角预条件：只有当曲率的主轴恰好是坐标轴时才合适，所以旋转让它吃了亏。")
        if differs else
        say("On this run the rotation makes little difference.", "这次运行中旋转几乎没有影响。"),
    ]
    return say.sentences(*parts)


def adagrad_decay_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    f_ada, f99, f9 = n["f[adagrad]"], n["f[rmsprop0.99]"], n["f[rmsprop0.9]"]
    labels = (say("AdaGrad", "AdaGrad算法"), say("RMSProp γ = 0.99", "γ = 0.99 的RMSProp算法"),
              say("RMSProp γ = 0.9", "γ = 0.9 的RMSProp算法"))
    best = labels[min(range(3), key=lambda i: (f_ada, f99, f9)[i])]
    f, start = e.formulas["f"], _point(NOTES.start[0], NOTES.start[1])
    parts = [
        say("Replacing AdaGrad's growing sum by a leaky average (RMSProp) stops the decay: its effective learning rate "
            "η/√s recovers as the gradients shrink.",
            "把AdaGrad算法中只增不减的累加和换成指数加权移动平均（即RMSProp算法），学习率就不再一直衰减："
            "梯度变小时，有效学习率 η/√s 会回升。"),
        say(f"On f = {f} from {start}, at η = {n['lr']:g} over {n['steps']:g} steps AdaGrad ends at f = {f_ada:.3g} "
            f"(x1 = {n['x1[adagrad]']:.3g}), RMSProp with γ = 0.99 at f = {f99:.3g} and with γ = 0.9 at f = {f9:.3g}; "
            f"the lowest is {best}.",
            f"在 f = {f} 上从 {start} 出发，η = {n['lr']:g}、{n['steps']:g} 步后，AdaGrad算法停在 f = {f_ada:.3g}"
            f"（x1 = {n['x1[adagrad]']:.3g}），γ = 0.99 的RMSProp算法停在 f = {f99:.3g}，γ = 0.9 的停在 f = {f9:.3g}；"
            f"最低的是 {best}。"),
        say("A short memory (γ = 0.9) ends higher than γ = 0.99: it keeps η/√s large near the minimum and hops around "
            "it.",
            "记忆较短的 γ = 0.9 比 γ = 0.99 停得更高：它在最小值点附近仍保持较大的 η/√s，在最优解周围来回跳动。")
        if f9 > f99 else
        say("The shorter memory (γ = 0.9) does at least as well here.", "这里记忆较短的 γ = 0.9 表现至少一样好。"),
    ]
    return say.sentences(*parts)


def rmsprop_gamma_one_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    diverged = not math.isfinite(n["gamma1_f"]) or n["gamma1_f"] > n["start_f"]
    same = say(", the same path", "，即同一条路径") if n["max_gd_relative"] <= SAME_PATH else ""
    one, usual = _g(n["gamma1_f"], say), _g(n["gamma09_f"], say)
    f, start = e.formulas["f"], _point(n["start_x1"], n["start_x2"])
    parts = [
        say(f"With γ = 1 the average s ← 1·s + 0·g² never leaves its start: its largest entry after {n['steps']:g} "
            f"steps is {n['s_max']:g}.",
            f"γ = 1 时，平均值 s ← 1·s + 0·g² 永远停在初值：{n['steps']:g} 步后它最大的元素是 {n['s_max']:g}。"),
        say(f"Every step is then g/√(0 + ε) times η, gradient descent with η/√ε = {n['effective_lr']:g}: the two paths "
            f"differ by at most {n['max_gd_relative']:.2g} relative{same}.",
            f"于是每一步都是 η 乘以 g/√(0 + ε)，也就是学习率为 η/√ε = {n['effective_lr']:g} 的梯度下降：两条路径的"
            f"相对差至多为 {n['max_gd_relative']:.2g}{same}。"),
    ]
    if diverged and n["effective_lr"] > n["gd_bound"]:
        parts.append(say(f"That is above GD's limit 2/λmax = {n['gd_bound']:g} on f = {f}, so from {start} f goes from "
                         f"{n['start_f']:g} to {one}, where γ = 0.9 reaches {usual}.",
                         f"这超过了梯度下降在 f = {f} 上的上限 2/λmax = {n['gd_bound']:g}，所以从 {start} 出发，f 从 "
                         f"{n['start_f']:g} 变为 {one}，而 γ = 0.9 时为 {usual}。"))
    else:
        parts.append(say(f"On f = {f} from {start}, f ends at {one} against {usual} for γ = 0.9.",
                         f"在 f = {f} 上从 {start} 出发，最终 f = {one}，γ = 0.9 时为 {usual}。"))
    return say.sentences(*parts)


def adadelta_rho_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    finals = {r: n[f"f[{r:g}]"] for r in ADADELTA_RHOS}
    best = min(finals, key=finals.get)
    worst = max(finals, key=finals.get)
    monotone = all(finals[a] >= finals[b] for a, b in zip(ADADELTA_RHOS, ADADELTA_RHOS[1:]))
    each = say.join(say(f"ρ = {r:g}: f = {_g(f, say)}", f"ρ = {r:g} 时 f = {_g(f, say)}") for r, f in finals.items())
    formula, start = e.formulas["f"], _point(NOTES.start[0], NOTES.start[1])
    parts = [
        say(f"On f = {formula} from {start}, after {n['steps']:g} steps: {each}.",
            f"在 f = {formula} 上从 {start} 出发，{n['steps']:g} 步后：{each}。"),
        say(f"The best is ρ = {best:g}, the worst ρ = {worst:g}.", f"最好的是 ρ = {best:g}，最差的是 ρ = {worst:g}。"),
        say("A longer memory is better at every step of the grid here.", "这里在网格的每一档上，记忆越长越好。")
        if monotone else
        say("The effect of ρ is not monotone: a longer memory keeps the two averages in step, a shorter one lets the "
            "step size follow the latest gradients.",
            "ρ 的影响并不单调：记忆长，两个平均值步调一致；记忆短，步长会跟着最近的梯度变化。"),
    ]
    return say.sentences(*parts)


def adadelta_scale_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    left = {s: n[f"remaining[{s:g}]"] for s in ADADELTA_SCALES}
    small, large = ADADELTA_SCALES[0], ADADELTA_SCALES[-1]
    broken = left[large] > 0.5 and left[small] < 0.5
    each = say.join(say(f"{left[s]:.3g} for a start {s:g} times as far", f"起点距离为原来的 {s:g} 倍时为 {left[s]:.3g}")
                    for s in ADADELTA_SCALES)
    problems = say.join(say(f"f = {e.formulas[f'{s:g}']} from {_point(n[f'start_x1[{s:g}]'], n[f'start_x2[{s:g}]'])}",
                            f"从 {_point(n[f'start_x1[{s:g}]'], n[f'start_x2[{s:g}]'])} 出发的 f = {e.formulas[f'{s:g}']}")
                        for s in ADADELTA_SCALES)
    parts = [
        say(f"One problem in three units: {problems}.", f"同一个问题的三种单位：{problems}。"),
        say("Changing the units of x changes nothing for the problem, but AdaDelta's first steps have length about √ε "
            "whatever the gradient.",
            "换一种 x 的单位，问题本身并没有变，但AdaDelta算法最初几步的步长约为 √ε，与梯度大小无关。"),
        say(f"After {n['steps']:g} steps the share of the distance still to go is {each}.",
            f"{n['steps']:g} 步后，还剩下的距离比例：{each}。"),
        say("So it is not learning-rate free: ε sets the step length, and a problem posed in large units breaks it.",
            "所以它并非真的不需要学习率：步长由 ε 决定，用大单位表述的问题就能让它失效。")
        if broken else
        say("On these scales AdaDelta copes.", "在这些尺度上AdaDelta算法还能应付。"),
    ]
    return say.sentences(*parts)


def adam_lr_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    names = {"notes": say("notes’ quadratic", "笔记中的二次函数"), "rosenbrock": say("Rosenbrock function", "Rosenbrock函数")}
    parts = []
    for objective, name in names.items():
        finals = {lr: n[f"{objective}[{lr:g}]"] for lr in ADAM_LRS}
        best = min(finals, key=finals.get)
        best_f, first_f = _g(finals[best], say), _g(finals[ADAM_LRS[0]], say)
        f, start = e.formulas[objective], _point(n[f"start_x1[{objective}]"], n[f"start_x2[{objective}]"])
        parts.append(say(f"on the {name} f = {f} from {start} the best η after {n['steps']:g} steps is {best:g} "
                         f"(f = {best_f}; η = {ADAM_LRS[0]:g} leaves f = {first_f})",
                         f"在{name} f = {f} 上从 {start} 出发，{n['steps']:g} 步后最好的 η 是 {best:g}（f = {best_f}；"
                         f"η = {ADAM_LRS[0]:g} 时 f = {first_f}）"))
    joined = say("; ", "；").join(parts)
    opening = joined[:1].upper() + joined[1:]  # "On the ..."; the Chinese has no case
    diverged = [lr for lr in ADAM_LRS if not math.isfinite(n[f"notes[{lr:g}]"])]
    rates = len(ADAM_LRS)
    tail = (say(f"{len(diverged)} of the {rates} rates diverged.", f"{rates} 个学习率中有 {len(diverged)} 个发散。")
            if diverged else say(f"none of the {rates} rates diverged.", f"{rates} 个学习率都没有发散。"))
    return say.sentences(
        say(f"{opening}.", f"{opening}。"),
        say(f"Adam's step is about η per coordinate whatever the gradient's size, so a small η crawls and a large one "
            f"does not blow up: {tail}",
            f"Adam算法每个坐标的步长约为 η，与梯度大小无关，所以 η 小时进展缓慢，η 大时也不会爆炸：{tail}"))


def adam_yogi_words(e: Exercise, say: Lang = EN) -> str:
    n = e.numbers
    adam_worse = n["adam_gap"] > n["start_f"] - n["f_star"]
    yogi_better = n["yogi_gap"] < n["start_f"] - n["f_star"]
    parts = [
        say(f"Gradients C + μx on every third step and −1 + μx otherwise (C = {n['C']:g}, μ = {n['mu']:g}) average to "
            f"F(x) = (C−2)/3·x + μ/2·x² = {e.formulas['F']}, minimum at x* = {n['x_star']:.4g}.",
            f"每三个时间步中有一步梯度为 C + μx，其余为 −1 + μx（C = {n['C']:g}，μ = {n['mu']:g}），平均起来是 "
            f"F(x) = (C−2)/3·x + μ/2·x² = {e.formulas['F']}，最优解 x* = {n['x_star']:.4g}。"),
        say(f"With β1 = 0, β2 = {n['beta2']:g} and η = {n['lr']:g}, after {n['steps']:g} steps Adam is at "
            f"x = {n['adam_x']:.4g} with F − F* = {n['adam_gap']:.4g}, and Yogi at x = {n['yogi_x']:.4g} with "
            f"F − F* = {n['yogi_gap']:.4g} (the start has {n['start_f'] - n['f_star']:.4g}).",
            f"取 β1 = 0、β2 = {n['beta2']:g}、η = {n['lr']:g}，{n['steps']:g} 步后Adam算法位于 x = {n['adam_x']:.4g}，"
            f"F − F* = {n['adam_gap']:.4g}；Yogi 位于 x = {n['yogi_x']:.4g}，F − F* = {n['yogi_gap']:.4g}"
            f"（起点处为 {n['start_f'] - n['f_star']:.4g}）。"),
        say("Adam's loss rose: its s follows the latest g², so each step has length about η and the two small "
            "gradients outvote the large one; Yogi's s grows by (1−β2)g² while g² > s and so remembers the large "
            "gradient, and its loss fell.",
            "Adam算法的损失上升了：它的 s 紧跟最近的 g²，于是每步长度约为 η，两个小梯度压过了那一个大梯度；Yogi 的 s "
            "在 g² > s 时按 (1−β2)g² 增长，因而记住了大梯度，损失下降了。")
        if adam_worse and yogi_better else
        say("On this run the two do not part as the construction intends.", "这次运行中两者并没有像构造预期的那样分开。"),
    ]
    return say.sentences(*parts)


def sketches(say: Lang = EN) -> dict[str, str]:
    """The proof-only exercises' sketches, by key."""
    return {
        "momentum-3": say("Setting the gradient Qx + c to zero gives x* = −Q⁻¹c (Q positive definite), and "
                          "substituting, h(x*) = b − ½ cᵀQ⁻¹c.",
                          "令梯度 Qx + c 为零，得最优解 x* = −Q⁻¹c（Q 正定），代回得最小值 h(x*) = b − ½ cᵀQ⁻¹c。"),
        "adagrad-1": say("‖Uc − Uδ‖² = (c − δ)ᵀUᵀU(c − δ) = ‖c − δ‖² since UᵀU = I; a rotation keeps every distance, "
                         "so a perturbation has the same size in the new variables.",
                         "由 UᵀU = I，‖Uc − Uδ‖² = (c − δ)ᵀUᵀU(c − δ) = ‖c − δ‖²；旋转保持所有距离，所以扰动在新变量下"
                         "大小不变。"),
        "adagrad-3": say("Take an eigenvector v of M with |v_j| maximal; row j of Mv = λv gives (λ − M_jj)v_j = "
                         "Σ_{k≠j} M_jk v_k, and dividing by |v_j| bounds |λ − M_jj| by Σ_{k≠j} |M_jk|.",
                         "取 M 的特征向量 v，设 |v_j| 是其中最大的分量；Mv = λv 的第 j 行给出 (λ − M_jj)v_j = "
                         "Σ_{k≠j} M_jk v_k，两边除以 |v_j| 即得 |λ − M_jj| ≤ Σ_{k≠j} |M_jk|。"),
        "adagrad-4": say("After the diagonal preconditioning the diagonal entries are all 1, so every eigenvalue lies "
                         "within Σ_{k≠j} |M_jk|/√(M_jj M_kk) of 1: it helps when the off-diagonal part is small — on a "
                         "rotated problem it is not (see the AdaGrad rotation experiment).",
                         "对角预条件之后对角元全为 1，所以每个特征值与 1 的距离不超过 Σ_{k≠j} |M_jk|/√(M_jj M_kk)："
                         "非对角部分小时它有帮助——旋转后的问题上并非如此（见AdaGrad算法的旋转实验）。"),
        "adagrad-5": say("Needs Fashion-MNIST and a LeNet, outside this package's data; not run here.",
                         "需要 Fashion-MNIST 和 LeNet，超出本包的数据范围，这里不运行。"),
        "rmsprop-3": say("Needs Fashion-MNIST, outside this package's data; the airfoil regression of the report is the "
                         "real problem run here.",
                         "需要 Fashion-MNIST，超出本包的数据范围；报告中的 airfoil 线性回归就是这里运行的真实问题。"),
        "rmsprop-4": say("γ sets the memory 1/(1−γ); a γ that grows over training makes RMSProp tend to AdaGrad. The "
                         "stability map over (η, γ) measures its sensitivity.",
                         "γ 决定记忆长度 1/(1−γ)；让 γ 在训练中逐渐增大，RMSProp算法就趋向AdaGrad算法。(η, γ) 上的"
                         "稳定性图测量了它对 γ 的敏感程度。"),
        "adadelta-2": say("Fold g′ into the update: x ← x − √(Δ + ε)/√(s + ε) ⊙ g and Δ ← ρΔ + (1−ρ)(that step)²: one "
                          "temporary fewer.",
                          "把 g′ 并入更新：x ← x − √(Δ + ε)/√(s + ε) ⊙ g，Δ ← ρΔ + (1−ρ)(这一步)²：少一个临时变量。"),
        "adadelta-4": say("All three scale per coordinate by a root of past g²; AdaGrad's sum only grows (the step "
                          "decays), RMSProp's and AdaDelta's averages forget; AdaDelta also replaces η by the RMS of its "
                          "past steps (see the ρ and units experiments).",
                          "三者都按坐标用过去 g² 的平方根缩放；AdaGrad算法的累加和只增不减（步长随之衰减），RMSProp算法和"
                          "AdaDelta算法的平均值会遗忘；AdaDelta算法还用过去步长的均方根代替了 η（见 ρ 与单位的实验）。"),
        "adam-2": say("Start the averages at the first values instead of 0 (m₁ = g₁, s₁ = g₁²), or use weights "
                      "(1−β)/(1−βᵗ) in the update; then the averages are unbiased from the start.",
                      "让平均值从第一个值开始而不是从 0 开始（m₁ = g₁，s₁ = g₁²），或在更新中使用权重 (1−β)/(1−βᵗ)；"
                      "这样平均值从一开始就没有偏差。"),
        "adam-3": say("Near the minimum the stochastic gradient's noise does not shrink, and Adam's step stays about η "
                      "per coordinate, so only a decreasing η lets the iterates settle.",
                      "在最小值点附近，随机梯度的噪声并不减小，而Adam算法每个坐标的步长始终约为 η，所以只有逐渐减小 η，"
                      "迭代才能稳定下来。"),
    }


SKETCHES: dict[str, str] = sketches(EN)
"""The sketches in English, by key."""


WORDS: dict[str, Callable[[Exercise, Lang], str]] = {
    "momentum-1": momentum_grid_words,
    "momentum-2": many_eigenvalues_words,
    "momentum-4": minibatch_momentum_words,
    "adagrad-2": rotated_words,
    "adagrad-6": adagrad_decay_words,
    "rmsprop-1": rmsprop_gamma_one_words,
    "rmsprop-2": rotated_words,
    "adadelta-1": adadelta_rho_words,
    "adadelta-3": adadelta_scale_words,
    "adam-1": adam_lr_words,
    "adam-4": adam_yogi_words,
}


def conclusion(exercise: Exercise, say: Lang = EN) -> str:
    """The exercise's conclusion from its numbers, or the sketch of a proof-only one."""
    if not exercise.experimental:
        return say.sentences(say("Not experimental.", "不是实验题。"), sketches(say)[exercise.key])
    return WORDS[exercise.key](exercise, say)


def _at(exercise: Exercise, x: float, say: Lang) -> str:
    """Where on the x axis: ``at step 20``, ``at η = 0.4``."""
    value = f"{x:g}"
    if "η" in exercise.x_label:
        return say(f"at η = {value}", f"η = {value} 处")
    return say(f"at step {value}", f"第 {value} 步")


def figure_caption(exercise: Exercise, say: Lang = EN) -> str:
    """What the exercise's figure draws, computed from the points it draws (:func:`drawn_points`): the axes, and per
    line where it starts, where it ends and its lowest point; the series left out or hidden under another."""
    drawn = drawn_points(exercise)
    hidden = coinciding(drawn)
    y_name, x_name = exercise.text(exercise.y_label, say), exercise.text(exercise.x_label, say)
    scale = say(" (log scale)", "（对数坐标）") if exercise.log_y else ""
    lines = len(drawn)
    parts = [say(f"{y_name}{scale} against {x_name}, {lines} lines.", f"{y_name}{scale}随{x_name}的变化，共 {lines} 条线。")]
    each = []
    for label, points in drawn.items():
        name = exercise.text(label, say)
        (x0, y0), (x1, y1) = points[0], points[-1]
        xl, yl = min(points, key=lambda p: p[1])
        first, last, low = f"{y0:.3g}", f"{y1:.3g}", f"{yl:.3g}"
        a0, a1, al = (_at(exercise, x, say) for x in (x0, x1, xl))
        if (xl, yl) in (points[0], points[-1]):
            each.append(say(f"{name}: {first} {a0} to {last} {a1}", f"{name}：从{a0}的 {first} 到{a1}的 {last}"))
        else:
            each.append(say(f"{name}: {first} {a0} to {last} {a1}, lowest {low} {al}",
                            f"{name}：从{a0}的 {first} 到{a1}的 {last}，最低 {low}（{al}）"))
    parts.append(say("; ", "；").join(each) + say(".", "。"))
    for label, under in hidden.items():
        top, bottom = exercise.text(label, say), exercise.text(under, say)
        parts.append(say(f"{top} lies on {bottom} at every point: drawn dashed with open circles over a wide pale "
                         f"{bottom}.",
                         f"{top} 在每一点上都与 {bottom} 重合：画成虚线加空心圆，叠在加宽变淡的 {bottom} 上。"))
    missing = [exercise.text(label, say) for label, values in exercise.series.items()
               if len(drawn.get(label, ())) < len(values)]
    for name in missing:
        kept = len(drawn.get(next(k for k in exercise.series if exercise.text(k, say) == name), ()))
        total = len(exercise.x)
        parts.append(say(f"{name}: {kept} of {total} points drawn (the others diverged or are not positive).",
                         f"{name}：画出 {total} 个点中的 {kept} 个（其余发散或不为正）。"))
    return say.sentences(*parts)


def title(exercise: Exercise, say: Lang = EN) -> str:
    """``adam 4: Try to construct ...``; in Chinese ``Adam算法 练习 4：试着构造 ...``."""
    section, question = exercise.text(exercise.section, say), exercise.text(exercise.question, say)
    return say(f"{section} {exercise.number}: {question}", f"{section} 练习 {exercise.number}：{question}")


__all__ = ["SKETCHES", "WORDS", "conclusion", "figure_caption", "sketches", "title"]
