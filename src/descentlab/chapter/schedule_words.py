"""What the schedules section's numbers show, in sentences computed from them."""

from __future__ import annotations

from .schedule_section import ScheduleSection, decaying, ranking

SAME = 0.1
"""Two schedules "end alike" when their median gaps differ by less than this share."""


def schedule_conclusion(section: ScheduleSection) -> str:
    constant = section.by_name("constant")
    annealing = decaying(section)
    seeds = len(constant.run.seeds)
    text = (f"Over {seeds} seeds and {section.steps} steps, the constant rate ends a median "
            f"{constant.median_gap:.2e} above the optimum, its seeds spread over {constant.spread:.2e}. ")
    closer = [r for r in annealing if r.median_gap < constant.median_gap]
    if annealing and len(closer) == len(annealing):
        ratios = sorted(constant.median_gap / r.median_gap for r in annealing)
        text += (f"Every schedule that lowers the rate by the end ({', '.join(r.plan.spec.title for r in annealing)}) "
                 f"ends closer: median gaps {ratios[0]:.0f}× to {ratios[-1]:.0f}× smaller, spreads "
                 f"{min(r.spread for r in annealing):.1e} to {max(r.spread for r in annealing):.1e}. ")
    else:
        worse = [r.plan.spec.title for r in annealing if r not in closer]
        text += f"Not every annealing schedule ends closer than the constant rate: {', '.join(worse)} does not. "
    best = ranking(section)[0]
    text += f"The closest here is {best.plan.label()} (median gap {best.median_gap:.2e}). "
    warmup = section.by_name("warmup")
    change = abs(warmup.median_gap - constant.median_gap) / constant.median_gap
    if change < SAME:
        text += (f"Warm-up alone ends like the constant rate (their median gaps differ by a share of {change:.1e}): "
                 "what minibatch noise "
                 "leaves at the end depends on the last rates, not the first.")
    else:
        text += f"Warm-up alone moves the median gap by {change:.0%} from the constant rate's."
    return text


__all__ = ["SAME", "schedule_conclusion"]
