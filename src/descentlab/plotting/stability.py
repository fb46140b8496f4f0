"""Stability maps: measured contraction per step over two hyperparameters, the measured boundary, a closed form."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lang import EN, Lang

CAP = 1.2
"""Rates above this (and diverged runs) are drawn as this value."""


def draw_stability_map(ax: Axes, record: Any, say: Lang = EN) -> list[Artist]:
    """``record`` (a :class:`~descentlab.lab.stability.StabilityMap`): the rate as colours, the measured boundary
    (rate = 1: no contraction) as a black contour and, for AdaGrad's ε axis on a quadratic, the closed form
    ``lr = 2√ε/λmax`` (gradient descent's limit once ε dominates ``s``) as a dashed line."""
    rate = np.array([[min(r, CAP) if math.isfinite(r) else CAP for r in row] for row in record.rate])
    xs, ys = np.array(record.x_values), np.array(record.y_values)
    mesh = ax.pcolormesh(xs, ys, rate, shading="nearest", cmap="viridis", vmin=0.0, vmax=CAP)
    artists: list[Artist] = [mesh]
    if (rate >= 1).any() and (rate < 1).any():
        artists.append(ax.contour(xs, ys, rate, levels=[1.0], colors="black", linewidths=1.2))
    if record.algorithm == "adagrad" and record.gd_limit is not None:
        eps = np.array(record.y_values)
        artists += ax.plot(record.gd_limit * np.sqrt(eps), eps, "--", color="white",
                           label=say("closed form for ε ≫ g²: lr = 2√ε/λmax", "ε ≫ g² 时的闭式解：lr = 2√ε/λmax"))
        artists.append(ax.legend(fontsize=7, loc="lower right"))
    if min(xs) > 0 and max(xs) / min(xs) > 50:
        ax.set_xscale("log")
    if min(ys) > 0 and max(ys) / min(ys) > 50:
        ax.set_yscale("log")
    ax.set_xlim(min(xs), max(xs))
    ax.set_ylim(min(ys), max(ys))
    ax.set_xlabel(record.x_name)
    ax.set_ylabel(record.y_name)
    algorithm, objective, steps = record.algorithm, record.objective, record.steps
    ax.set_title(say(f"{algorithm} on {objective}, {steps} steps", f"{algorithm} 在 {objective} 上，{steps} 步"), fontsize=9.5)
    return artists


__all__ = ["draw_stability_map"]
