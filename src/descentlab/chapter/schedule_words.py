"""What the schedules section's numbers show, in sentences computed from them."""

from __future__ import annotations

import math

from ..lang import EN, Lang
from ..schedules import Schedule
from .schedule_section import ScheduleSection, decaying, ranking

SAME = 0.1
"""Two schedules "end alike" when their median gaps differ by less than this share."""


def schedule_title(name: str, say: Lang = EN) -> str:
    """A schedule's name as the report writes it: ``cosine with warm-up``, ``余弦（含预热）``."""
    return {
        "constant": say("constant", "常数"),
        "factor": say("factor", "因子衰减"),
        "multi_factor": say("multi-factor", "多因子衰减"),
        "cosine": say("cosine with warm-up", "余弦（含预热）"),
        "warmup": say("warm-up", "预热"),
    }[name]


def schedule_label(plan: Schedule, say: Lang = EN) -> str:
    """``cosine with warm-up (warmup 10, warmup_start 0.1, final_lr 0)`` in the report's language."""
    given = plan.label()[len(plan.spec.title):]
    return schedule_title(plan.name, say) + given


SHARED = 5
"""Two schedules' lines "coincide" over a stretch of at least this many steps with equal rates."""


def shared_stretches(a: tuple[float, ...], b: tuple[float, ...]) -> list[tuple[int, int]]:
    """The stretches of steps (counted from 1, both ends included) of at least :data:`SHARED` steps where ``a`` and
    ``b`` give the same rate (to rounding, 1e-9 relative): where one line lies on the other."""
    stretches, start = [], None
    for step, (x, y) in enumerate(zip(a, b), start=1):
        same = math.isclose(x, y, rel_tol=1e-9, abs_tol=0.0)
        if same and start is None:
            start = step
        elif not same and start is not None:
            stretches.append((start, step - 1))
            start = None
    if start is not None:
        stretches.append((start, min(len(a), len(b))))
    return [(s, e) for s, e in stretches if e - s + 1 >= SHARED]


def coincidence_words(section: ScheduleSection, say: Lang = EN) -> str:
    """Which schedules' lines lie on each other, and over which steps (from the rates drawn)."""
    parts = []
    runs = section.runs
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            for start, end in shared_stretches(a.rates, b.rates):
                first, second = schedule_title(a.plan.name, say), schedule_title(b.plan.name, say)
                parts.append(say(f"{second} lies on {first} from step {start} to {end}",
                                 f"{second} 在第 {start} 到 {end} 步与{first}重合"))
    if not parts:
        return ""
    return say("; ", "；").join(parts) + say(" (line styles and staggered markers tell them apart).",
                                            "（用不同线型和错开的标记区分）。")


def schedule_conclusion(section: ScheduleSection, say: Lang = EN) -> str:
    constant = section.by_name("constant")
    annealing = decaying(section)
    seeds, steps, gap, spread = len(constant.run.seeds), section.steps, constant.median_gap, constant.spread
    parts = [say(f"Over {seeds} seeds and {steps} steps, the constant rate ends a median {gap:.2e} above the optimum, "
                 f"its seeds spread over {spread:.2e}.",
                 f"在 {seeds} 个种子、{steps} 步上，常数学习率最终比最优值高出中位数 {gap:.2e}，各种子散布在 {spread:.2e} "
                 "的范围内。")]
    closer = [r for r in annealing if r.median_gap < constant.median_gap]
    if annealing and len(closer) == len(annealing):
        ratios = sorted(constant.median_gap / r.median_gap for r in annealing)
        names = say.join(schedule_title(r.plan.name, say) for r in annealing)
        low, high = ratios[0], ratios[-1]
        least, most = min(r.spread for r in annealing), max(r.spread for r in annealing)
        parts.append(say(f"Every schedule that lowers the rate by the end ({names}) ends closer: median gaps {low:.0f}× "
                         f"to {high:.0f}× smaller, spreads {least:.1e} to {most:.1e}.",
                         f"凡是到结束时降低了学习率的调度（{names}）都更接近最优值：差距的中位数小 {low:.0f}× 到 "
                         f"{high:.0f}×，散布范围 {least:.1e} 到 {most:.1e}。"))
    else:
        worse = say.join(schedule_title(r.plan.name, say) for r in annealing if r not in closer)
        parts.append(say(f"Not every annealing schedule ends closer than the constant rate: {worse} does not.",
                         f"并非每个退火调度都比常数学习率更接近最优值：{worse}没有。"))
    best = ranking(section)[0]
    best_label, best_gap = schedule_label(best.plan, say), best.median_gap
    parts.append(say(f"The closest here is {best_label} (median gap {best_gap:.2e}).",
                     f"这里最接近的是{best_label}（差距中位数 {best_gap:.2e}）。"))
    warmup = section.by_name("warmup")
    change = abs(warmup.median_gap - constant.median_gap) / constant.median_gap
    if change < SAME:
        parts.append(say(f"Warm-up alone ends like the constant rate (their median gaps differ by a share of "
                         f"{change:.1e}): what minibatch noise leaves at the end depends on the last rates, not the "
                         "first.",
                         f"只做预热的结果与常数学习率相同（两者差距中位数的相对差为 {change:.1e}）：小批量噪声最后留下"
                         "多少误差，取决于最后的学习率，而不是最初的。"))
    else:
        parts.append(say(f"Warm-up alone moves the median gap by {change:.0%} from the constant rate's.",
                         f"只做预热使差距中位数与常数学习率相比变化了 {change:.0%}。"))
    return say.sentences(*parts)


__all__ = ["SAME", "SHARED", "coincidence_words", "schedule_conclusion", "shared_stretches", "schedule_label", "schedule_title"]
