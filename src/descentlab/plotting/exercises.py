"""The exercises' figures: one Axes per exercise, drawn from its record's series."""

from __future__ import annotations

import math
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lang import EN, Lang


def draw_exercise(ax: Axes, exercise: Any, say: Lang = EN) -> list[Artist]:
    """Every series of ``exercise`` (an :class:`~descentlab.chapter.exercises.Exercise`) against its ``x``; a
    non-finite value (a diverged run) is left out of its line, and the y axis is logarithmic when asked for.
    Labels, legend and title are in ``say``'s language."""
    artists: list[Artist] = []
    markers = "o" if len(exercise.x) <= 12 else None
    for label, values in exercise.series.items():
        points = [(x, y) for x, y in zip(exercise.x, values) if math.isfinite(y) and (y > 0 or not exercise.log_y)]
        if not points:
            continue
        xs, ys = zip(*points)
        artists += ax.plot(xs, ys, marker=markers, markersize=4, linewidth=1.3, label=exercise.text(label, say))
    if exercise.log_y:
        ax.set_yscale("log")
    if exercise.x_label == "learning rate η":
        ax.set_xscale("log")
    ax.set_xlabel(exercise.text(exercise.x_label, say))
    ax.set_ylabel(exercise.text(exercise.y_label, say))
    section = exercise.text(exercise.section, say)
    ax.set_title(say(f"{section} exercise {exercise.number}", f"{section} 练习 {exercise.number}"), fontsize=10)
    artists.append(ax.legend(fontsize=7))
    return artists


__all__ = ["draw_exercise"]
