"""Two-dimensional objectives for the lab, and the theory that explains their trajectories.

An :class:`Objective` is data (name, window, start, minima) plus one batched
function ``f(x)`` of ``x`` with shape ``(..., 2)``.  Gradients and Hessians come
from autograd, never from a hand-typed derivative.

For a quadratic ``f(x) = 1/2 x^T H x`` with eigenvalues ``lmin <= lmax`` of ``H``
and ``kappa = lmax / lmin``, :func:`quadratic_theory` gives the classical
constants: gradient descent is stable for ``lr < 2 / lmax``; heavy-ball momentum
with ``beta`` for ``lr < (2 + 2 beta) / lmax``; the best fixed learning rate is
``2 / (lmin + lmax)`` with contraction ``(kappa - 1) / (kappa + 1)`` per step; the
best momentum pair is ``lr* = (2 / (sqrt(lmax) + sqrt(lmin)))**2``,
``beta* = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))**2`` with contraction
``(sqrt(kappa) - 1) / (sqrt(kappa) + 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from torch import Tensor

Point = tuple[float, float]


@dataclass(frozen=True)
class Objective:
    """A function of two variables with what the lab needs to show it."""

    name: str
    formula: str
    f: Callable[[Tensor], Tensor]  # (..., 2) -> (...)
    window: tuple[Point, Point]  # ((x1_low, x1_high), (x2_low, x2_high))
    start: Point
    minima: tuple[Point, ...]
    grid_step: float = 0.1
    log_levels: bool = False  # contour levels spaced logarithmically (steep valleys)

    def gradient(self, x: Tensor) -> Tensor:
        """∇f at every point of ``x`` (shape ``(..., 2)``), by autograd."""
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.f(leaf).sum(), leaf)
        return grad

    def hessian(self, point: Point | Tensor) -> Tensor:
        """The 2×2 Hessian at one point (float64), by autograd: row i is the gradient of ``∂f/∂x_i``.

        Two plain backward passes through the gradient, not ``torch.func.hessian``,
        whose first call costs about a second (``descentlab objectives`` takes the
        Hessian at fifteen points).
        """
        with torch.enable_grad():
            x = torch.as_tensor(point, dtype=torch.float64).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.f(x), x, create_graph=True)
            rows = []
            for i in range(x.numel()):
                if not grad[i].requires_grad:  # ∂f/∂x_i is constant
                    rows.append(torch.zeros_like(x))
                    continue
                (row,) = torch.autograd.grad(grad[i], x, retain_graph=True, allow_unused=True)
                rows.append(torch.zeros_like(x) if row is None else row)
        return torch.stack(rows).detach()


def _notes_quadratic(x: Tensor) -> Tensor:
    return 0.1 * x[..., 0] ** 2 + 2 * x[..., 1] ** 2


def _rosenbrock(x: Tensor) -> Tensor:
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


def _himmelblau(x: Tensor) -> Tensor:
    return (x[..., 0] ** 2 + x[..., 1] - 11) ** 2 + (x[..., 0] + x[..., 1] ** 2 - 7) ** 2


def _saddle(x: Tensor) -> Tensor:
    # two minima at (±1, 0) separated by a saddle point at the origin
    return (x[..., 0] ** 2 - 1) ** 2 + 2 * x[..., 1] ** 2


NOTES_WINDOW = ((-5.5, 1.0), (-3.0, 1.0))
NOTES_START = (-5.0, -2.0)


def quadratic(kappa: float = 20.0, angle: float = 0.0, lmin: float = 0.2) -> Objective:
    """``f(x) = 1/2 x^T H x`` with eigenvalues ``lmin`` and ``kappa * lmin``, rotated by ``angle`` degrees.

    ``quadratic(20, 0)`` is the notes' ``0.1 x1^2 + 2 x2^2`` (H = diag(0.2, 4)).
    """
    if not (math.isfinite(kappa) and kappa >= 1):
        raise ValueError(f"kappa must be >= 1, got {kappa:g}")
    if not math.isfinite(angle):
        raise ValueError(f"angle must be finite, got {angle:g}")
    theta = math.radians(angle)
    c, s = math.cos(theta), math.sin(theta)
    lmax = kappa * lmin
    # H = R diag(lmin, lmax) R^T with R the rotation by theta, as plain numbers: building it costs no torch work
    # at import (the CLI's start-up), and a constant made inside f is safe under torch.func's transforms
    rows = ((c * c * lmin + s * s * lmax, c * s * (lmin - lmax)), (c * s * (lmin - lmax), s * s * lmin + c * c * lmax))

    (h11, h12), (_, h22) = rows

    def f(x: Tensor) -> Tensor:
        x1, x2 = x[..., 0], x[..., 1]
        # elementwise, not a matmul: a matmul's rounding may depend on how many points are stacked (its kernel
        # and blocking change with the batch), and a batch of runs must get the bits each run would get alone
        return 0.5 * (h11 * x1 * x1 + 2 * h12 * x1 * x2 + h22 * x2 * x2)

    return Objective(
        name="quadratic",
        formula=f"1/2 x^T H x, eigenvalues {lmin:g} and {kappa * lmin:g}, rotated {angle:g} degrees",
        f=f,
        window=NOTES_WINDOW,
        start=NOTES_START,
        minima=((0.0, 0.0),),
    )


OBJECTIVES: dict[str, Objective] = {
    "notes": Objective(
        name="notes",
        formula="0.1 x1^2 + 2 x2^2",
        f=_notes_quadratic,
        window=NOTES_WINDOW,
        start=NOTES_START,
        minima=((0.0, 0.0),),
    ),
    "quadratic": quadratic(),
    "rosenbrock": Objective(
        name="rosenbrock",
        formula="(1 - x1)^2 + 100 (x2 - x1^2)^2",
        f=_rosenbrock,
        window=((-2.0, 2.0), (-1.0, 3.0)),
        start=(-1.5, 2.0),
        minima=((1.0, 1.0),),
        grid_step=0.02,
        log_levels=True,
    ),
    "himmelblau": Objective(
        name="himmelblau",
        formula="(x1^2 + x2 - 11)^2 + (x1 + x2^2 - 7)^2",
        f=_himmelblau,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        start=(0.0, 0.0),
        minima=((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        grid_step=0.05,
        log_levels=True,
    ),
    "saddle": Objective(
        name="saddle",
        formula="(x1^2 - 1)^2 + 2 x2^2",
        f=_saddle,
        window=((-2.0, 2.0), (-1.5, 1.5)),
        start=(0.0, 1.0),
        minima=((-1.0, 0.0), (1.0, 0.0)),
        grid_step=0.02,
    ),
}
"""The lab's objectives by name; ``quadratic`` here has kappa 20 and no rotation."""


def get_objective(name: str, *, kappa: float | None = None, angle: float | None = None) -> Objective:
    """The objective called ``name``; ``kappa``/``angle`` build a member of the quadratic family."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; choose one of: {', '.join(OBJECTIVES)}")
    if kappa is not None or angle is not None:
        if name != "quadratic":
            raise ValueError(f"kappa and angle apply to the objective 'quadratic' only, not {name!r}")
        return quadratic(20.0 if kappa is None else kappa, 0.0 if angle is None else angle)
    return OBJECTIVES[name]


@dataclass(frozen=True)
class Curvature:
    """The Hessian at a point and what its eigenvalues say."""

    point: Point
    hessian: tuple[tuple[float, float], tuple[float, float]]
    eigenvalues: tuple[float, float]  # ascending

    @property
    def condition_number(self) -> float:
        """``lmax / lmin`` (inf when ``lmin <= 0``: not a strict minimum there)."""
        low, high = self.eigenvalues
        return high / low if low > 0 else math.inf


def curvature(objective: Objective, point: Point | None = None) -> Curvature:
    """Hessian, eigenvalues and condition number at ``point`` (default: the first minimum)."""
    point = objective.minima[0] if point is None else point
    h = objective.hessian(point)
    eigenvalues = torch.linalg.eigvalsh((h + h.T) / 2)
    return Curvature(
        point=(float(point[0]), float(point[1])),
        hessian=((float(h[0, 0]), float(h[0, 1])), (float(h[1, 0]), float(h[1, 1]))),
        eigenvalues=(float(eigenvalues[0]), float(eigenvalues[1])),
    )


@dataclass(frozen=True)
class QuadraticTheory:
    """Step-size limits and optimal constants for ``1/2 x^T H x`` (eigenvalues ``lmin``, ``lmax``)."""

    lmin: float
    lmax: float

    @property
    def kappa(self) -> float:
        return self.lmax / self.lmin

    @property
    def gd_max_lr(self) -> float:
        """Gradient descent converges iff ``0 < lr < 2 / lmax``."""
        return 2 / self.lmax

    def momentum_max_lr(self, beta: float) -> float:
        """Heavy-ball momentum with ``beta`` converges iff ``0 < lr < (2 + 2 beta) / lmax``."""
        return (2 + 2 * beta) / self.lmax

    @property
    def gd_best_lr(self) -> float:
        return 2 / (self.lmin + self.lmax)

    @property
    def gd_best_rate(self) -> float:
        """Error contraction per step at the best fixed learning rate."""
        return (self.kappa - 1) / (self.kappa + 1)

    @property
    def momentum_best_lr(self) -> float:
        return (2 / (math.sqrt(self.lmax) + math.sqrt(self.lmin))) ** 2

    @property
    def momentum_best_beta(self) -> float:
        root = math.sqrt(self.kappa)
        return ((root - 1) / (root + 1)) ** 2

    @property
    def momentum_best_rate(self) -> float:
        root = math.sqrt(self.kappa)
        return (root - 1) / (root + 1)


def quadratic_theory(objective: Objective) -> QuadraticTheory | None:
    """The theory of a quadratic objective (``None`` when ``f`` is not a convex quadratic).

    The Hessian is taken at the minimum and at two other points of the window; a
    quadratic has the same one everywhere.
    """
    (low1, high1), (low2, high2) = objective.window
    probes = [objective.minima[0], (low1, low2), (high1, high2)]
    hessians = [objective.hessian(p) for p in probes]
    if not all(torch.allclose(h, hessians[0], rtol=1e-9, atol=1e-12) for h in hessians[1:]):
        return None
    c = curvature(objective)
    if c.eigenvalues[0] <= 0:
        return None
    return QuadraticTheory(lmin=c.eigenvalues[0], lmax=c.eigenvalues[1])
