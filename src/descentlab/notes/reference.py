"""Every number the notes printed, as data (their 2D runs and their airfoil runs).

These are the values we compare against, never values we report as ours: the
2D lab and the training experiment recompute each one, and the report puts the
two side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..algorithms.spec import format_hyperparameters


@dataclass(frozen=True)
class TraceResult:
    """One 2D run of the notes: ``epoch 20, x1 %f, x2 %f`` after 20 steps from (-5, -2)."""

    algorithm: str
    hyperparameters: dict[str, Any]
    printed: str


@dataclass(frozen=True)
class AirfoilResult:
    """One airfoil run of the notes: the final loss it printed (one random draw)."""

    algorithm: str
    impl: str  # "own" (the notes' functions) or "torch" (the torch.optim class)
    hyperparameters: dict[str, Any]
    final_loss: float
    sec_per_epoch: float

    def label(self, separator: str = " ") -> str:
        return airfoil_label(self.impl, self.algorithm, self.hyperparameters, separator)


def airfoil_label(impl: str, algorithm: str, hyperparameters: dict[str, Any], separator: str = " ") -> str:
    """``own momentum lr=0.02, momentum=0.5``: an airfoil run's name in tables, figures and the CLI."""
    return f"{impl} {algorithm}{separator}{format_hyperparameters(hyperparameters)}"


NOTES_TRACES: tuple[TraceResult, ...] = (
    TraceResult("sgd", {"lr": 0.4}, "epoch 20, x1 -0.943467, x2 -0.000073"),
    TraceResult("sgd", {"lr": 0.6}, "epoch 20, x1 -0.387814, x2 -1673.365109"),
    TraceResult("momentum", {"lr": 0.4, "momentum": 0.5}, "epoch 20, x1 -0.062843, x2 0.001202"),
    TraceResult("momentum", {"lr": 0.6, "momentum": 0.5}, "epoch 20, x1 0.007188, x2 0.002553"),
    TraceResult("adagrad", {"lr": 0.4}, "epoch 20, x1 -2.382563, x2 -0.158591"),
    TraceResult("adagrad", {"lr": 2.0}, "epoch 20, x1 -0.002295, x2 -0.000000"),
    TraceResult("rmsprop", {"lr": 0.4, "gamma": 0.9}, "epoch 20, x1 -0.010599, x2 0.000000"),
)

NOTES_AIRFOIL: tuple[AirfoilResult, ...] = (
    AirfoilResult("momentum", "own", {"lr": 0.02, "momentum": 0.5}, 0.243297, 0.057950),
    AirfoilResult("momentum", "own", {"lr": 0.02, "momentum": 0.9}, 0.260418, 0.059441),
    AirfoilResult("momentum", "own", {"lr": 0.004, "momentum": 0.9}, 0.243650, 0.063532),
    AirfoilResult("momentum", "torch", {"lr": 0.004, "momentum": 0.9}, 0.243692, 0.048604),
    AirfoilResult("adagrad", "own", {"lr": 0.1}, 0.242258, 0.061548),
    AirfoilResult("adagrad", "torch", {"lr": 0.1}, 0.243800, 0.060953),
    AirfoilResult("rmsprop", "own", {"lr": 0.01, "gamma": 0.9}, 0.243334, 0.063004),
    AirfoilResult("rmsprop", "torch", {"lr": 0.01, "gamma": 0.9}, 0.244934, 0.062977),
    AirfoilResult("adadelta", "own", {"rho": 0.9}, 0.243485, 0.084914),
    AirfoilResult("adadelta", "torch", {"rho": 0.9}, 0.267756, 0.061329),
    AirfoilResult("adam", "own", {"lr": 0.01}, 0.242722, 0.089254),
    AirfoilResult("adam", "torch", {"lr": 0.01}, 0.242389, 0.073228),
)

LEAST_SQUARES_OPTIMUM = 0.241688
"""The least-squares optimum of the airfoil loss on the first 1500 rows (to 6 digits)."""
