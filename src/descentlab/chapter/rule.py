"""The airfoil verdict's rule: is the notes' one printed loss a plausible draw from our seeds?

The notes printed one random draw per run; we run ``n`` seeds of the same
procedure.  A value passes when it lies inside the **prediction interval for
one more seed** at the per-row level :data:`LEVEL`, computed on the cube root of
the gap to the least-squares optimum::

    z_i = cbrt(loss_i - optimum)          for our n seeds
    m, s = mean(z), stdev(z)               (sample standard deviation)
    pass  <=>  |cbrt(notes - optimum) - m| <= t * s * sqrt(1 + 1/n)

with ``t`` the ``(1 + LEVEL) / 2`` quantile of Student's t with ``n - 1``
degrees of freedom.  If the ``z`` are normal, a new draw falls outside with
probability exactly ``1 - LEVEL``, whatever ``n`` (a min-max range misses a new
draw with probability ``2 / (n + 1)``).

The table judges :data:`ROWS` runs at once, and a correct reproduction must show
all of them agreeing at least :data:`FAMILY_LEVEL` (99%) of the time, whatever
``n``.  The per-row level is Šidák's, ``LEVEL = NOMINAL_FAMILY_LEVEL ** (1 / ROWS)``:
the twelve runs are trained independently and the notes' values are independent
draws, so under normality all rows pass with probability ``LEVEL ** ROWS``.  The
cube root leaves the ``z`` slightly right-skewed (skewness 0.1-0.5 over 6000
seeds), so at such extreme levels a row misses two to three times as often as the
normal model says; the nominal family level is therefore 99.8% (99.983% per row),
which measures at 99.2% or more for every seed count from 5 to 100 (a 99% interval per row would
leave one "differ" in about 12% of correct reproductions, and Šidák's 99% nominal
about 2% at 20 seeds and more).  ``benchmarks/verdict_rule.py`` measures the
whole-table false alarm and the power against wrong conventions per seed count
(docs/measured/verdict.md).

The gap is a quadratic form in the parameters' error (close to a sum of
squares), and the cube root of a sum of squares is close to normal (Wilson and
Hilferty, 1931); the raw losses are right-skewed (skewness 1.2-2.1 over 2000
seeds), so a t-interval on them would miss far more new draws than it states.
Below :data:`MIN_SEEDS` seeds the interval is too wide and its standard
deviation too unreliable to judge: no verdict is given.

Student's t quantile is computed from the exact finite series of its
distribution function for integer degrees of freedom (Abramowitz and Stegun,
26.7.3 and 26.7.4), inverted by bisection.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..lang import EN, Lang
from ..notes.reference import NOTES_AIRFOIL

FAMILY_LEVEL = 0.99
"""A correct reproduction shows every airfoil row agreeing at least this often (measured: docs/measured/verdict.md)."""
NOMINAL_FAMILY_LEVEL = 0.998
"""The family level under normality of the cube-root gap; above :data:`FAMILY_LEVEL` for its slightly heavy tail."""
ROWS = len(NOTES_AIRFOIL)
"""How many rows the table judges at once: the notes' twelve airfoil runs."""
LEVEL = NOMINAL_FAMILY_LEVEL ** (1 / ROWS)
"""The per-row coverage (Šidák): a fresh draw of the same procedure passes one row with this probability."""
PRINTED_ROUNDING = 5e-7
"""Half the last digit of the notes' six printed decimals: a value this far below the optimum may still be a draw."""
MIN_SEEDS = 5
"""Fewer seeds than this: the rule gives no verdict."""


def percent(level: float) -> str:
    """A coverage as the report writes it, to two decimals without trailing zeros: ``99%``, ``99.92%``."""
    text = f"{100 * level:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def rule_text(say: Lang = EN) -> str:
    """The rule in one line, as the report's table states it (the page and the README spell it out)."""
    level, family = percent(LEVEL), percent(FAMILY_LEVEL)
    return say(f"inside the {level} prediction interval (∛ gap; {family} for all {ROWS} rows)",
               f"落在 {level} 预测区间内（∛ 差距；{ROWS} 行全部通过的概率为 {family}）")


RULE = rule_text()


def student_t_coverage(t: float, df: int) -> float:
    """``P(|T| <= t)`` for Student's t with ``df`` (an integer >= 1) degrees of freedom."""
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"degrees of freedom must be an integer >= 1, got {df!r}")
    if t <= 0:
        return 0.0
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:  # A&S 26.7.3: sin(theta) * (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...), df/2 terms
        term, total = 1.0, 1.0
        for k in range(1, df // 2):
            term *= cos2 * (2 * k - 1) / (2 * k)
            total += term
        return min(1.0, sin * total)
    # A&S 26.7.4: (2/pi) (theta + sin(theta) cos(theta) (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)), (df-1)/2 terms
    if df == 1:
        return 2 * theta / math.pi
    term, total = 1.0, 1.0
    for k in range(1, (df - 1) // 2):
        term *= cos2 * (2 * k) / (2 * k + 1)
        total += term
    return min(1.0, 2 / math.pi * (theta + sin * math.sqrt(cos2) * total))


@functools.lru_cache(maxsize=256)
def student_t_multiplier(level: float, df: int) -> float:
    """The ``t`` with ``P(|T| <= t) = level``: the two-sided multiplier (the ``(1 + level)/2`` quantile)."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = 0.0, 1.0
    while student_t_coverage(high, df) < level:
        low, high = high, 2 * high
    for _ in range(200):  # bisection to the last bit
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if student_t_coverage(middle, df) < level:
            low = middle
        else:
            high = middle
    return high


def _cbrt(x: float) -> float:
    """The real cube root (negative for negative ``x``: a loss below the optimum stays below it)."""
    return math.copysign(abs(x) ** (1 / 3), x)


@dataclass(frozen=True)
class PredictionInterval:
    """Where one more seed's final loss falls with probability ``level`` (see the module docstring)."""

    seeds: int
    level: float
    optimum: float
    center: float  # m: mean of cbrt(loss - optimum)
    spread: float  # s: its sample standard deviation
    multiplier: float  # t
    low: float  # the interval in loss units: optimum + (m - t s sqrt(1 + 1/n))**3
    high: float

    @property
    def half_width(self) -> float:
        """``t * s * sqrt(1 + 1/n)``, on the cube-root scale."""
        return self.multiplier * self.spread * math.sqrt(1 + 1 / self.seeds)

    def contains(self, loss: float) -> bool:
        """Inside the interval, and not below the optimum (no run ends there) beyond the printed rounding."""
        if loss < self.optimum - PRINTED_ROUNDING:
            return False
        return abs(_cbrt(loss - self.optimum) - self.center) <= self.half_width


def prediction_interval(losses: Sequence[float], optimum: float, level: float = LEVEL) -> PredictionInterval | None:
    """The rule's interval from our seeds' final losses; ``None`` for fewer than :data:`MIN_SEEDS` or a non-finite loss."""
    losses = list(losses)
    if len(losses) < MIN_SEEDS or not all(math.isfinite(v) for v in losses) or not math.isfinite(optimum):
        return None
    z = [_cbrt(v - optimum) for v in losses]
    n = len(z)
    center = math.fsum(z) / n
    spread = math.sqrt(math.fsum((v - center) ** 2 for v in z) / (n - 1))  # statistics.stdev, without its fractions
    multiplier = student_t_multiplier(level, n - 1)
    half = multiplier * spread * math.sqrt(1 + 1 / n)
    return PredictionInterval(
        seeds=n,
        level=level,
        optimum=optimum,
        center=center,
        spread=spread,
        multiplier=multiplier,
        low=max(optimum + (center - half) ** 3, optimum - PRINTED_ROUNDING),  # a wide interval stops at the optimum
        high=optimum + (center + half) ** 3,
    )


__all__ = [
    "FAMILY_LEVEL",
    "LEVEL",
    "NOMINAL_FAMILY_LEVEL",
    "ROWS",
    "percent",
    "rule_text",
    "MIN_SEEDS",
    "RULE",
    "PredictionInterval",
    "prediction_interval",
    "student_t_coverage",
    "student_t_multiplier",
]
