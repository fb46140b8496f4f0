"""What a figure draws of a series, without drawing it: the points it shows and which lines lie on each other.

No matplotlib here: the exercises' captions (:mod:`descentlab.chapter.exercise_words`) are
computed from the same two functions as their figures (:mod:`descentlab.plotting.exercises`).
"""

from __future__ import annotations

import math
from typing import Any

SAME = 1e-9
"""Two drawn values coincide when they differ by less than this, relative."""


def drawn_points(exercise: Any) -> dict[str, list[tuple[float, float]]]:
    """Each series' points as drawn: finite values, and only positive ones on a log y axis (diverged runs leave
    their line; a series with nothing to draw is left out)."""
    drawn = {}
    for label, values in exercise.series.items():
        points = [(x, y) for x, y in zip(exercise.x, values) if math.isfinite(y) and (y > 0 or not exercise.log_y)]
        if points:
            drawn[label] = points
    return drawn


def _same(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> bool:
    return len(a) == len(b) and all(xa == xb and abs(ya - yb) <= SAME * max(abs(ya), abs(yb))
                                    for (xa, ya), (xb, yb) in zip(a, b))


def coinciding(drawn: dict[str, list[tuple[float, float]]]) -> dict[str, str]:
    """``{label: earlier label}`` for each series that lies on an earlier one at every drawn point."""
    hidden: dict[str, str] = {}
    labels = list(drawn)
    for index, label in enumerate(labels):
        for earlier in labels[:index]:
            if earlier not in hidden and _same(drawn[label], drawn[earlier]):
                hidden[label] = earlier
                break
    return hidden


__all__ = ["SAME", "coinciding", "drawn_points"]
