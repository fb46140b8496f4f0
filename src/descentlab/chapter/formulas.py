"""Functions held as data: the formula an exercise prints and the function it runs come from the same coefficients.

A :class:`SumOfSquares` is ``Σ c (a·x1 + b·x2)²``: its :meth:`~SumOfSquares.text`
(``0.1 (x1 + x2)² + 2 (x1 − x2)²``), its Hessian and eigenvalues, and the
:class:`~descentlab.lab.objectives.Objective` the runs use are all computed from
its terms, so a stated function cannot differ from the one that was run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..lab.objectives import NOTES_START, NOTES_WINDOW, Objective

if TYPE_CHECKING:
    from torch import Tensor


def coefficient_text(value: float) -> str:
    """A coefficient as the formulas print it: ``0.1``, ``2``, ``1e-05``."""
    return f"{value:g}"


def _linear_text(a: float, b: float) -> tuple[str, bool]:
    """``x1 + x2``, ``x1/100``, ``0.5 x1 − 2 x2``, and whether it needs brackets before a square."""
    parts = []
    for weight, name in ((a, "x1"), (b, "x2")):
        if weight == 0:
            continue
        size = abs(weight)
        inverse = 1 / size
        if size == 1:
            term = name
        elif size < 1 and math.isclose(inverse, round(inverse), rel_tol=1e-12):
            term = f"{name}/{round(inverse)}"
        else:
            term = f"{coefficient_text(size)} {name}"
        sign = "−" if weight < 0 else "+"
        parts.append((sign, term))
    if not parts:
        return "0", False
    text = ("−" if parts[0][0] == "−" else "") + parts[0][1]
    for sign, term in parts[1:]:
        text += f" {sign} {term}"
    return text, text not in ("x1", "x2")


@dataclass(frozen=True)
class Square:
    """``coefficient · (a·x1 + b·x2)²`` with ``weights = (a, b)``."""

    coefficient: float
    weights: tuple[float, float]

    def text(self) -> str:
        inner, bracket = _linear_text(*self.weights)
        squared = f"({inner})²" if bracket else f"{inner}²"
        return squared if self.coefficient == 1 else f"{coefficient_text(self.coefficient)} {squared}"


@dataclass(frozen=True)
class SumOfSquares:
    """``Σ c (a·x1 + b·x2)²``: a quadratic of two variables, its text and its function from one set of terms."""

    terms: tuple[Square, ...]

    @classmethod
    def of(cls, *terms: tuple[float, tuple[float, float]]) -> SumOfSquares:
        """``SumOfSquares.of((0.1, (1, 1)), (2, (1, -1)))`` is ``0.1 (x1 + x2)² + 2 (x1 − x2)²``."""
        return cls(tuple(Square(c, (float(a), float(b))) for c, (a, b) in terms))

    def text(self) -> str:
        return " + ".join(term.text() for term in self.terms)

    def hessian(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """``Σ 2c·w·wᵀ``."""
        h11 = sum(2 * t.coefficient * t.weights[0] ** 2 for t in self.terms)
        h12 = sum(2 * t.coefficient * t.weights[0] * t.weights[1] for t in self.terms)
        h22 = sum(2 * t.coefficient * t.weights[1] ** 2 for t in self.terms)
        return (h11, h12), (h12, h22)

    def eigenvalues(self) -> tuple[float, float]:
        """The Hessian's eigenvalues, smallest first."""
        (h11, h12), (_, h22) = self.hessian()
        mean, half = (h11 + h22) / 2, math.hypot((h11 - h22) / 2, h12)
        return mean - half, mean + half

    def f(self, x: Tensor) -> Tensor:
        x1, x2 = x[..., 0], x[..., 1]
        total = None
        for t in self.terms:
            a, b = t.weights
            inner = x1 if b == 0 and a == 1 else x2 if a == 0 and b == 1 else a * x1 + b * x2
            term = t.coefficient * inner ** 2
            total = term if total is None else total + term
        return total

    def value(self, point: tuple[float, float]) -> float:
        """``f`` at one point, in plain floats."""
        x1, x2 = point
        return sum(t.coefficient * (t.weights[0] * x1 + t.weights[1] * x2) ** 2 for t in self.terms)

    def objective(self, name: str = "quadratic", start: tuple[float, float] = NOTES_START) -> Objective:
        """The lab's objective of this function (the notes' window, minimum at the origin)."""
        return Objective(name=name, formula=self.text(), f=self.f, window=NOTES_WINDOW, start=start,
                         minima=((0.0, 0.0),))


NOTES_FORM = SumOfSquares.of((0.1, (1, 0)), (2, (0, 1)))
"""The notes' ``0.1 x1² + 2 x2²``."""


__all__ = ["NOTES_FORM", "Square", "SumOfSquares", "coefficient_text"]
