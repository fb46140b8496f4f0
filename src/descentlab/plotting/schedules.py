"""Learning-rate schedules: the rate against the step, and the final gap to the optimum over seeds."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lang import EN, Lang


STYLES = ("-", (0, (5, 2)), (0, (1.5, 1.5)), (0, (6, 2, 1.5, 2)), (0, (3, 1.5)))
MARKERS = ("o", "s", "^", "D", "v")


def draw_lr_schedules(ax: Axes, labels: Sequence[str], rates: Sequence[Sequence[float]], say: Lang = EN) -> list[Artist]:
    """One line per schedule: the rate of each step (step 1 first)."""
    artists: list[Artist] = []
    for index, (label, series) in enumerate(zip(labels, rates)):
        # schedules share stretches (warm-up then constant is the constant rate after warm-up): a line style and
        # markers at staggered steps per schedule keep each visible where it lies on another
        every = max(1, len(series) // 10)
        artists += ax.plot(range(1, len(series) + 1), series, label=label, linewidth=1.6,
                           linestyle=STYLES[index % len(STYLES)], marker=MARKERS[index % len(MARKERS)], markersize=5,
                           markevery=(index * every // max(1, len(rates)), every), markerfacecolor="white")
    ax.set_xlabel(say("step", "步数"))
    ax.set_ylabel(say("learning rate", "学习率"))
    artists.append(ax.legend(fontsize=7))
    return artists


def draw_final_gaps(ax: Axes, labels: Sequence[str], gaps: Sequence[Sequence[float]], say: Lang = EN) -> list[Artist]:
    """A box per schedule of final loss − optimum over seeds (whiskers: min to max), log scale."""
    positions = list(range(1, len(labels) + 1))
    boxes = ax.boxplot([list(g) for g in gaps], positions=positions, whis=(0, 100), widths=0.5,
                       medianprops={"color": "black"})
    ax.set_yscale("log")
    ax.set_xticks(positions, labels, rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(say("final loss − least-squares optimum", "最终损失 − 最小二乘最优值"))
    return [*boxes["boxes"]]


__all__ = ["draw_final_gaps", "draw_lr_schedules"]
