"""Words computed from numbers, so that a caption cannot drift from the plot beside it.

:func:`series_shape` cuts a series (an effective learning rate per step, say)
into its monotone stretches, and :func:`shape_words` says them:
``rises from 1.26 to 52.9 (step 83), then falls to 10 (step 200)``.  The
report builds its captions from these instead of fixed text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..lang import EN, Lang

SETTLED = 0.01
"""A series has settled once every later value is within this relative distance of its last value."""
RELATIVE_NOISE = 1e-9
"""Changes smaller than this (relative) are rounding, not a rise or a fall."""
MOST_STRETCHES = 4
"""More monotone stretches than this are summarised by their range instead of listed."""


@dataclass(frozen=True)
class Stretch:
    """A monotone part of a series: it ``rises`` or ``falls`` until ``step`` (counted from 1), where it is ``value``."""

    direction: str  # "rises" or "falls"
    step: int
    value: float


@dataclass(frozen=True)
class SeriesShape:
    """What a series does; steps count from 1, values that are not finite are left out."""

    first: float
    last: float
    steps: int  # the last finite step
    stretches: tuple[Stretch, ...]  # empty: constant
    peak: float
    peak_step: int
    low: float
    low_step: int
    settled_step: int  # from this step on, within SETTLED of the last value

    @property
    def settled(self) -> bool:
        """Whether the series ends (nearly) constant: settled before the last tenth of its steps."""
        return self.settled_step <= 0.9 * self.steps

    @property
    def monotone(self) -> str | None:
        """``"rises"`` or ``"falls"`` if the series never turns; None if it turns."""
        return self.stretches[0].direction if len(self.stretches) == 1 else None


def series_shape(values: Sequence[float]) -> SeriesShape:
    """The shape of ``values`` (at least one finite value)."""
    points = [(step, v) for step, v in enumerate(values, start=1) if math.isfinite(v)]
    if not points:
        raise ValueError("a series needs at least one finite value")
    stretches: list[Stretch] = []
    previous = points[0][1]
    for step, value in points[1:]:
        change = value - previous
        if abs(change) > RELATIVE_NOISE * max(abs(value), abs(previous)):
            direction = "rises" if change > 0 else "falls"
            if stretches and stretches[-1].direction == direction:
                stretches[-1] = Stretch(direction, step, value)
            else:
                stretches.append(Stretch(direction, step, value))
        elif stretches:  # a rounding-sized change extends the current stretch
            stretches[-1] = Stretch(stretches[-1].direction, step, value)
        previous = value
    peak_step, peak = max(points, key=lambda p: p[1])
    low_step, low = min(points, key=lambda p: p[1])
    last = points[-1][1]
    settled_step = points[-1][0]
    for step, v in reversed(points):
        if abs(v - last) > SETTLED * abs(last):
            break
        settled_step = step
    return SeriesShape(first=points[0][1], last=last, steps=points[-1][0], stretches=tuple(stretches), peak=peak,
                       peak_step=peak_step, low=low, low_step=low_step, settled_step=settled_step)


def shape_words(shape: SeriesShape, digits: int = 3, end_note: str = "", say: Lang = EN) -> str:
    """The shape in words, every number to ``digits`` significant digits.

    ``falls from 0.4 to 0.105 (step 200), never rising``; ``falls from 1.26 to 0.964 (step 4), rises to 52.9
    (step 83), then falls to 10 (step 200)``; ``end_note`` follows the last value; a settled end adds
    ``; within 1% of it from step 166``.
    """
    f = lambda v: f"{v:.{digits}g}"  # noqa: E731
    first = f(shape.first)
    if not shape.stretches:
        words = say(f"stays at {first}", f"保持在 {first}")
    elif len(shape.stretches) == 1:
        only = shape.stretches[0]
        value, step = f(only.value), only.step
        if only.direction == "rises":
            words = say(f"rises from {first} to {value} (step {step}), never falling",
                        f"从 {first} 升到 {value}（第 {step} 步），从未下降")
        else:
            words = say(f"falls from {first} to {value} (step {step}), never rising",
                        f"从 {first} 降到 {value}（第 {step} 步），从未上升")
    elif len(shape.stretches) <= MOST_STRETCHES:
        parts = []
        for index, s in enumerate(shape.stretches):
            value, step = f(s.value), s.step
            start = say(f"from {first} ", f"从 {first} ") if index == 0 else ""
            if s.direction == "rises":
                parts.append(say(f"rises {start}to {value} (step {step})", f"{start}升到 {value}（第 {step} 步）"))
            else:
                parts.append(say(f"falls {start}to {value} (step {step})", f"{start}降到 {value}（第 {step} 步）"))
        words = say(", ", "，").join(parts[:-1]) + say(", then ", "，然后") + parts[-1]
    else:
        turns, low, low_step, peak, peak_step, last = (len(shape.stretches) - 1, f(shape.low), shape.low_step,
                                                       f(shape.peak), shape.peak_step, f(shape.last))
        words = say(f"starts at {first}, turns {turns} times between {low} (step {low_step}) and {peak} "
                    f"(step {peak_step}) and ends at {last}",
                    f"从 {first} 开始，在 {low}（第 {low_step} 步）与 {peak}（第 {peak_step} 步）之间转向 {turns} 次，"
                    f"最终为 {last}")
    if end_note:
        words += f" {end_note}"
    if shape.settled and shape.stretches:
        within, step = f"{SETTLED:.0%}", shape.settled_step
        words += say(f"; within {within} of it from step {step}", f"；从第 {step} 步起与它相差不超过 {within}")
    return words


__all__ = ["MOST_STRETCHES", "RELATIVE_NOISE", "SETTLED", "SeriesShape", "Stretch", "series_shape", "shape_words"]
