"""The exercises' figures: one Axes per exercise, drawn from its record's series.

:func:`drawn_points` is what the figure shows of each series (its finite points, positive
ones on a log scale) and :func:`coinciding` which series lie on an earlier one at every
point: such a series is drawn dashed with open markers over a wide pale copy of the one it
hides, and its legend entry says so.  The exercise's caption is computed from the same two
functions (:func:`descentlab.chapter.exercise_words.figure_caption`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..lang import EN, Lang
from .series import coinciding, drawn_points

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def draw_exercise(ax: Axes, exercise: Any, say: Lang = EN) -> list[Artist]:
    """Every series of ``exercise`` (an :class:`~descentlab.chapter.exercises.Exercise`) against its ``x``; a
    non-finite value (a diverged run) is left out of its line, and the y axis is logarithmic when asked for.  A
    series that coincides with an earlier one is drawn dashed over it (see the module docstring).
    Labels, legend and title are in ``say``'s language."""
    artists: list[Artist] = []
    drawn = drawn_points(exercise)
    hidden = coinciding(drawn)
    under = set(hidden.values())
    markers = "o" if len(exercise.x) <= 12 else None
    colors = {label: COLORS[index % len(COLORS)] for index, label in enumerate(exercise.series)}
    for label, points in drawn.items():
        xs, ys = zip(*points)
        text = exercise.text(label, say)
        if label in hidden:
            other = exercise.text(hidden[label], say)
            every = max(1, len(xs) // 12)
            artists += ax.plot(xs, ys, linestyle=(0, (4, 3)), linewidth=1.6, color=colors[label], marker="o",
                               markevery=(every // 2, every), markersize=5, markerfacecolor="white",
                               label=say(f"{text} (on top of {other})", f"{text}（与 {other} 重合）"), zorder=3)
        else:
            wide = label in under
            artists += ax.plot(xs, ys, marker=markers, markersize=4, linewidth=5 if wide else 1.3,
                               alpha=0.45 if wide else 1.0, color=colors[label], label=text, zorder=2)
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
