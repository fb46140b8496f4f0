"""The report's sentences about measured numbers, computed from the records they describe.

Every function here takes records and returns plain text (the report escapes
it): what the gap to the optimum is, what the AdaDelta decomposition shows, what
the effective learning rates do, how the timings compare, and whether the data
is the published file.  Nothing here is fixed text about a result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ..airfoil.data import AIRFOIL_SHA1
from ..airfoil.train import INITS
from ..lang import EN, Lang
from ..lab.trajectory import Trajectory
from ..plotting.landscape import trajectory_label
from .describe import SeriesShape, series_shape, shape_words
from .rule import FAMILY_LEVEL, LEVEL, MIN_SEEDS, NOMINAL_FAMILY_LEVEL, ROWS, percent
from .sections import AdaDeltaDecomposition, AirfoilCheck, AirfoilSection

FAR = 0.005
"""A run whose mean final loss is more than this above the optimum is named as ending far from it."""
SHARE = 0.8
"""One difference "explains" the AdaDelta gap when it alone gives at least this share of it."""
CODE_NOISE = 1e-5
"""Our rule and torch's class "make no difference" when no seed's final loss differs by more than this."""
EDGE = 0.01
"""An effective learning rate within this relative distance of 2/λ is "at the edge of stability"."""


def data_note(section: AirfoilSection, say: Lang = EN) -> str | None:
    """None for the published file; else what differs, in one sentence."""
    if section.data_published:
        return None
    path, sha1 = section.data_path, section.data_sha1
    return say(f"Not the published data: {path} has SHA-1 {sha1}, not {AIRFOIL_SHA1} (the file the notes used). The "
               "notes' numbers come from the published file, so a difference below may be the data's doing, not the "
               "optimizers'.",
               f"这不是公开发布的数据：{path} 的 SHA-1 是 {sha1}，而不是笔记所用文件的 {AIRFOIL_SHA1}。笔记中的数字来自"
               "公开发布的文件，所以下面的差异可能出自数据，而不是优化算法。")


def rule_explanation(say: Lang = EN) -> str:
    """How the airfoil rows are judged: the per-row interval, its level, and the level of the whole table."""
    level, family, nominal, rows = percent(LEVEL), percent(FAMILY_LEVEL), percent(NOMINAL_FAMILY_LEVEL), ROWS
    quantile, miss, few = f"{100 * (1 + LEVEL) / 2:.4f}%", f"{100 * (1 - LEVEL):.3f}%", MIN_SEEDS
    return say(
        "Deterministic numbers (the 2D runs) must match to every printed digit. Each airfoil run is one random draw in "
        f"the notes; it agrees when it lies inside the {level} prediction interval for one more of our seeds, taken on "
        "the cube root of the gap to the least-squares optimum: z = ∛(loss − optimum), pass when "
        "|z_notes − m| ≤ t·s·√(1+1/n), with m and s the mean and standard deviation of our n seeds' z and t the "
        f"{quantile} quantile of Student's t with n − 1 degrees of freedom. The table judges {rows} rows at once, so "
        f"the level of each row is set for the whole table (Šidák: {nominal} to the power 1/{rows}): under a normal z a "
        f"fresh seed of the same procedure falls outside one row's interval {miss} of the time whatever n, and a "
        f"correct reproduction shows all {rows} rows agreeing at least {family} of the time with {few} seeds or more "
        f"(measured by simulation from 5 to 100 seeds: benchmarks/verdict_rule.py; the nominal {nominal} allows for the "
        "cube root's slight right skew). The price of judging every row at once is a wider interval: with few seeds a wrong convention "
        "is caught less often (the documentation gives the measured rates per seed count).",
        "确定性的数字（二维实验）必须与打印出的每一位都相同。笔记中每个翼型噪声实验只是一次随机抽样；它落在"
        f"我们的种子再多取一个时的 {level} 预测区间内即算一致，区间取在与最小二乘最优值之差的立方根上："
        "z = ∛(loss − optimum)，当 |z_notes − m| ≤ t·s·√(1+1/n) 时通过，其中 m 和 s 是我们 n 个种子的 z 的均值和"
        f"标准差，t 是自由度为 n − 1 的 Student t 分布的 {quantile} 分位数。表格同时判定 {rows} 行，所以每一行的"
        f"水平按整张表设定（Šidák：{nominal} 的 1/{rows} 次方）：若 z 服从正态分布，同一过程再取一个新种子，无论 n 多大，"
        f"落在某一行区间外的概率为 {miss}；一次正确的复现只要用 {few} 个或更多种子，{rows} 行全部一致的概率至少为 {family}"
        f"（由 5 到 100 个种子的模拟测得：benchmarks/verdict_rule.py；名义水平取 {nominal} 是为了容纳立方根后仍略微右偏的分布）。"
        "同时判定所有行的代价是区间更宽：种子较少时，错误的约定被发现的概率较低（文档给出了按种子数测得的比率）。")


def gap_sentence(checks: Sequence[AirfoilCheck], optimum: float, say: Lang = EN) -> str:
    """Where the runs end relative to the optimum, from every seed of every run."""
    finite = [c for c in checks if not c.run.diverged]
    diverged = say.join(c.reference.label() for c in checks if c.run.diverged)
    parts = []
    if finite:
        gaps = [g for c in finite for g in c.run.gap]
        low, high = min(gaps), max(gaps)
        runs = say("every run", "每组实验") if not diverged else say("every run that did not diverge", "每组未发散的实验")
        if low >= 0:
            parts.append(say(f"Every seed of {runs} ends between {low:+.4f} and {high:+.4f} above it",
                             f"{runs}的每个种子最终都比最优值高 {low:+.4f} 到 {high:+.4f}"))
        else:
            parts.append(say(f"Every seed of {runs} ends between {low:+.4f} and {high:+.4f} from it (a negative gap is "
                             "below the optimum, which no run can reach)",
                             f"{runs}的每个种子最终与最优值相差 {low:+.4f} 到 {high:+.4f}（负值表示低于最优值，"
                             "而任何实验都不可能到达那里）"))
        far = [c for c in finite if c.run.mean_gap > FAR]
        named = "; ".join(f"{c.reference.label()} ({c.run.mean_gap:+.4f})" for c in far)
        within, count, total = len(finite) - len(far), len(checks), f"{FAR:g}"
        if not far:
            parts.append(say(f"every run's mean lies within {total} of it", f"每组实验的均值都在最优值的 {total} 以内"))
        elif len(far) == len(finite):
            parts.append(say(f"no run's mean lies within {total} of it: {named}",
                             f"没有一组实验的均值在最优值的 {total} 以内：{named}"))
        else:
            parts.append(say(f"the mean lies within {total} of it for {within} of the {count} runs, and further above "
                             f"for {named}",
                             f"{count} 组实验中有 {within} 组的均值在最优值的 {total} 以内，其余的高出更多：{named}"))
    sentence = say("; ", "；").join(parts) + say(".", "。") if parts else ""
    if diverged:
        sentence = say.sentences(sentence, say(f"Diverged (a seed's loss left the finite numbers): {diverged}.",
                                               f"发散（某个种子的损失不再是有限数）：{diverged}。"))
    return sentence.strip()


def number(value: float) -> str:
    """``1e-6``, ``0.9``: a hyperparameter as a person writes it."""
    return f"{value:g}".replace("e-0", "e-").replace("e+0", "e+")


def _share(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def adadelta_case(d: AdaDeltaDecomposition) -> str:
    """Which difference explains the gap: "eps", "init" (each alone at least SHARE of it, the other little),
    "additive" (the two alone add up to it, within 1 - SHARE) or "together" (it appears only when both change)."""
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    if eps >= SHARE and abs(init) < 1 - SHARE:
        return "eps"
    if init >= SHARE and abs(eps) < 1 - SHARE:
        return "init"
    if abs(eps + init - 1) <= 1 - SHARE:
        return "additive"
    return "together"


def adadelta_headline(d: AdaDeltaDecomposition, say: Lang = EN) -> str:
    """The AdaDelta panel's title: which of the two differences explains the gap, by the numbers."""
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    case = adadelta_case(d)
    if case == "eps":
        words = say("eps alone explains the gap", "差距仅由 eps 造成")
    elif case == "init":
        words = say("the initialization alone explains the gap", "差距仅由初始化造成")
    elif case == "additive":
        words = say(f"eps ({eps:.0%}) and the initialization ({init:.0%}) add up",
                    f"eps（{eps:.0%}）与初始化（{init:.0%}）的作用相加")
    else:
        words = say("eps and initialization together, neither alone", "eps 与初始化共同造成，单独任何一个都不够")
    return say("AdaDelta: ", "AdaDelta算法：") + words


def adadelta_explanation(d: AdaDeltaDecomposition, say: Lang = EN) -> str:
    """The decomposition in sentences: each difference alone, both, the interaction, and the code's share."""
    runs = len(d.cell("own", "own", d.notes_eps).run.seeds)
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    start_own = statistics.fmean(r[0] for r in d.cell("own", "own", d.notes_eps).run.losses)
    start_torch = statistics.fmean(r[0] for r in d.cell("own", "torch", d.notes_eps).run.losses)
    baseline, eps_alone, init_alone, both = d.baseline, d.eps_alone, d.init_alone, d.both
    eps_loss, init_loss, both_loss = baseline + eps_alone, baseline + init_alone, baseline + both
    parts = [say(f"One difference at a time, over the same {runs} seeds (mean final loss): the notes' own setting "
                 f"{baseline:.4f}; torch's ε alone {eps_loss:.4f} ({eps_alone:+.4f}); torch's initialization alone "
                 f"{init_loss:.4f} ({init_alone:+.4f}); both {both_loss:.4f} ({both:+.4f}).",
                 f"在同样的 {runs} 个种子上每次只改一处（最终损失的均值）：笔记自己的设置 {baseline:.4f}；只换成 torch 的 ε "
                 f"{eps_loss:.4f}（{eps_alone:+.4f}）；只换成 torch 的初始化 {init_loss:.4f}（{init_alone:+.4f}）；"
                 f"两处都换 {both_loss:.4f}（{both:+.4f}）。")]
    rest = 1 - eps - init
    parts.append({
        "eps": say(f"ε alone gives {eps:.0%} of the gap, the initialization alone {init:.0%}.",
                   f"单换 ε 带来差距的 {eps:.0%}，单换初始化带来 {init:.0%}。"),
        "init": say(f"The initialization alone gives {init:.0%} of the gap, ε alone {eps:.0%}.",
                    f"单换初始化带来差距的 {init:.0%}，单换 ε 带来 {eps:.0%}。"),
        "additive": say(f"The two add up: ε alone gives {eps:.0%} of the gap, the initialization alone {init:.0%}.",
                        f"两者的作用相加：单换 ε 带来差距的 {eps:.0%}，单换初始化带来 {init:.0%}。"),
        "together": say(f"So neither explains it alone: ε alone gives {eps:.0%} of the gap, the initialization alone "
                        f"{init:.0%}, and the remaining {rest:.0%} appears only when both change.",
                        f"所以单独哪一处都解释不了：单换 ε 带来差距的 {eps:.0%}，单换初始化带来 {init:.0%}，"
                        f"其余的 {rest:.0%} 只在两处同时改变时出现。"),
    }[adadelta_case(d)])
    code = d.code_difference
    if code <= CODE_NOISE:
        parts.append(say(f"The code makes no difference: our rule and torch.optim.Adadelta with the same ε and start end "
                         f"within {code:.1e} of each other on every seed (float32 rounding).",
                         f"代码本身不造成差异：在相同的 ε 和初始点下，我们的更新规则与 torch.optim.Adadelta 在每个种子上"
                         f"的结果相差不超过 {code:.1e}（float32 舍入误差）。"))
    else:
        parts.append(say(f"Our rule and torch.optim.Adadelta with the same ε and start differ by up to {code:.1e} in a "
                         "seed's final loss.",
                         f"在相同的 ε 和初始点下，我们的更新规则与 torch.optim.Adadelta 的单个种子最终损失最多相差 "
                         f"{code:.1e}。"))
    shorter, torch_eps, init_name = math.sqrt(d.notes_eps / d.torch_eps), number(d.torch_eps), INITS["torch"]
    first = say(f"AdaDelta's first step is about √(ε/(1−ρ)) per coordinate whatever the gradient: {shorter:.1f} times "
                f"shorter with ε = {torch_eps}, and its steps grow only as they accumulate. nn.Linear's start "
                f"({init_name}) has mean loss {start_torch:.3f} at epoch 0, the notes' start {start_own:.3f}",
                f"无论梯度多大，AdaDelta算法第一步在每个坐标上的长度约为 √(ε/(1−ρ))：ε = {torch_eps} 时短 {shorter:.1f} "
                f"倍，之后步长只能随累积慢慢变大。nn.Linear 的初始化（{init_name}）在第 0 个迭代周期的平均损失为 "
                f"{start_torch:.3f}，笔记的初始化为 {start_own:.3f}")
    interaction = d.both - d.eps_alone - d.init_alone
    if start_torch > start_own and interaction > 0:
        first += say(": from farther away, the slow start costs more.", "：起点更远，缓慢的起步代价也更大。")
    else:
        first += say(".", "。")
    parts.append(first)
    return say.sentences(*parts)


def _edge_note(index: int, say: Lang) -> str:
    i = index + 1
    return say(f"= 2/λ{i}, the edge of stability (x{i} flips sign every step)",
               f"= 2/λ{i}，即稳定的边界（x{i} 每一步都改变符号）")


def effective_lr_words(trajectories: Sequence[Trajectory], rates: Sequence[Sequence[tuple[float, float]]],
                       curvatures: Sequence[float], say: Lang = EN) -> list[tuple[str, list[tuple[str, SeriesShape, str]]]]:
    """Per run: its label and, per coordinate, its name, shape and words (with 2/λ when the rate ends there).

    ``curvatures`` are the objective's curvatures along x1 and x2 (a diagonal Hessian).
    """
    described = []
    for trajectory, series in zip(trajectories, rates):
        coordinates = []
        for index, curvature in enumerate(curvatures):
            shape = series_shape([step[index] for step in series])
            edge = 2 / curvature
            note = _edge_note(index, say) if abs(shape.last - edge) <= EDGE * edge else ""
            words = shape_words(shape, end_note=note, say=say)
            coordinates.append((f"x{index + 1}", shape, words))
        described.append((trajectory_label(trajectory), coordinates))
    return described


def effective_lr_caption(described: list[tuple[str, list[tuple[str, SeriesShape, str]]]], steps: int,
                         say: Lang = EN) -> str:
    runs = say("; ", "；").join(f"{label}: " + say.join(f"{name} {words}" for name, _, words in coordinates)
                                for label, coordinates in described)
    return say(f"Left: per-coordinate effective learning rate −Δx/g over {steps} steps (log scale). {runs}.",
               f"左：{steps} 步内每个坐标的有效学习率 −Δx/g（对数坐标）。{runs}。")


def settles_sentence(trajectory: Trajectory, say: Lang = EN) -> str:
    """Whether a long run stays at its best value: ``f is 1.1e-05 at step 20 and 0.084 after 200 steps``."""
    values = trajectory.values
    best = min(range(len(values)), key=lambda i: values[i])
    final, steps, lowest = values[-1], len(values) - 1, values[best]
    if final <= 10 * lowest or final < 1e-12:
        return say(f"f falls to {final:.2g} after {steps} steps", f"{steps} 步后 f 降到 {final:.2g}")
    x1, x2 = trajectory.final
    return say(f"the path does not stay near the minimum: f reaches {lowest:.2g} at step {best} and is back up to "
               f"{final:.2g} after {steps} steps, at ({x1:.3g}, {x2:.3g})",
               f"迭代轨迹没有停留在最小值附近：f 在第 {best} 步达到 {lowest:.2g}，{steps} 步后又回升到 {final:.2g}，"
               f"位于 ({x1:.3g}, {x2:.3g})")


def timing_sentence(checks: Sequence[AirfoilCheck], say: Lang = EN) -> str:
    """What the epoch-times figure shows, with the measured ranges; says which numbers come from elsewhere."""
    notes = [c.reference.sec_per_epoch for c in checks]
    ours = [c.run.sec_per_epoch for c in checks]
    seeds = len(checks[0].run.seeds)
    low, high, ours_low, ours_high = min(notes), max(notes), min(ours), max(ours)
    text = say(f"The notes printed {low:.3f}–{high:.3f} s per epoch: measured on their machine, with their versions, "
               "not comparable with anything measured here.",
               f"笔记打印的是每个迭代周期 {low:.3f}–{high:.3f} 秒：那是在作者的机器上、用作者的软件版本测得的，"
               "不能与这里测得的任何数字相比。")
    if all(c.notes_loop is not None for c in checks):
        loop = [c.notes_loop.epoch_times[-1] for c in checks]
        ratios = sorted(a / b for a, b in zip(loop, ours))
        loop_low, loop_high, fewest, most, middle = min(loop), max(loop), ratios[0], ratios[-1], statistics.median(ratios)
        return say.sentences(text, say(
            f"On this machine, in this run, the notes' own loop (one seed, one epoch per row: not a median) took "
            f"{loop_low:.4f}–{loop_high:.4f} s per epoch and descentlab {ours_low:.4f}–{ours_high:.4f} s for all {seeds} "
            f"seeds at once: {fewest:.1f}×–{most:.1f}× less time (median {middle:.1f}×) for {seeds} times the seeds. "
            "descentlab bench airfoil gives medians over repeated runs.",
            f"在本机的这次运行中，笔记自己的训练循环（每行一个种子、一个迭代周期：不是中位数）每个迭代周期用时 "
            f"{loop_low:.4f}–{loop_high:.4f} 秒，descentlab 同时跑全部 {seeds} 个种子用时 {ours_low:.4f}–{ours_high:.4f} 秒："
            f"时间少 {fewest:.1f}×–{most:.1f}×（中位数 {middle:.1f}×），种子数却是 {seeds} 倍。"
            "descentlab bench airfoil 给出多次重复运行的中位数。"))
    return say.sentences(text, say(f"descentlab took {ours_low:.4f}–{ours_high:.4f} s per epoch here, all {seeds} seeds "
                                   "at once.",
                                   f"descentlab 在这里同时跑全部 {seeds} 个种子，每个迭代周期用时 "
                                   f"{ours_low:.4f}–{ours_high:.4f} 秒。"))


__all__ = [
    "EDGE",
    "FAR",
    "SHARE",
    "adadelta_case",
    "adadelta_explanation",
    "adadelta_headline",
    "data_note",
    "effective_lr_caption",
    "effective_lr_words",
    "gap_sentence",
    "number",
    "settles_sentence",
    "timing_sentence",
]
