"""Learning-rate schedules: the rate against the step, and the final gap to the optimum over seeds."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lang import EN, Lang


def draw_lr_schedules(ax: Axes, labels: Sequence[str], rates: Sequence[Sequence[float]], say: Lang = EN) -> list[Artist]:
    """One line per schedule: the rate of each step (step 1 first)."""
    artists: list[Artist] = []
    for label, series in zip(labels, rates):
        artists += ax.plot(range(1, len(series) + 1), series, label=label, linewidth=1.4)
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
