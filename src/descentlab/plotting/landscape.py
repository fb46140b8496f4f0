"""Figures of the 2D lab: contours of an objective and the paths optimizers take on it.

``draw_*`` helpers draw on a given ``Axes`` and return what they drew;
:func:`landscape_figure` assembles the notes' picture (contours in blue, the path
as orange ``-o``) for one or several trajectories, with the theory in the title.
"""

from __future__ import annotations

import math

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.contour import QuadContourSet
from matplotlib.figure import Figure

from ..algorithms import REGISTRY
from ..algorithms.spec import format_hyperparameters
from ..lab.objectives import Objective, quadratic_theory
from ..lab.trajectory import Trajectory
from ..lang import EN, Lang

NOTES_ORANGE = "#ff7f0e"
CONTOUR_BLUE = "#1f77b4"
Window = tuple[tuple[float, float], tuple[float, float]]
PATH_COLORS = (NOTES_ORANGE, "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")


def draw_contours(
    ax: Axes, objective: Objective, *, window: Window | None = None, levels: int = 12, color: str = CONTOUR_BLUE
) -> QuadContourSet:
    """Contour lines of ``objective`` over ``window`` (default: its own) on its grid (the notes': step 0.1)."""
    (low1, high1), (low2, high2) = objective.window if window is None else window
    x1, x2 = np.meshgrid(
        np.arange(low1, high1, objective.grid_step), np.arange(low2, high2, objective.grid_step)
    )
    grid = torch.from_numpy(np.stack([x1, x2], axis=-1))
    z = objective.f(grid).numpy()
    if objective.log_levels:
        low = max(float(z.min()), 1e-3)
        contour_levels = np.geomspace(low, float(z.max()), levels)
    else:
        contour_levels = levels
    return ax.contour(x1, x2, z, levels=contour_levels, colors=color, linewidths=0.8)


def draw_minima(ax: Axes, objective: Objective) -> list[Artist]:
    """A star at each minimum of ``objective``."""
    x1, x2 = zip(*objective.minima)
    return ax.plot(x1, x2, linestyle="none", marker="*", markersize=12, color="black", label="_minimum")


def algorithm_title(name: str, say: Lang = EN) -> str:
    """``Momentum``, ``动量法``: a registry algorithm's title in the language (Newton and unknown names capitalized)."""
    if name == "sgd":
        return say("SGD", "梯度下降")
    if name == "momentum":
        return say("Momentum", "动量法")
    if name == "newton":
        return say("Newton", "牛顿法")
    spec = REGISTRY.get(name)
    return spec.title if spec else name.capitalize()


def trajectory_label(trajectory: Trajectory, say: Lang = EN) -> str:
    """``Momentum (lr=0.4, momentum=0.5)``; Newton and unknown names are shown as they are."""
    title = algorithm_title(trajectory.algorithm, say)
    hp = format_hyperparameters(trajectory.hyperparameters)
    return f"{title} ({hp})" if hp else title


def draw_trajectory(
    ax: Axes, trajectory: Trajectory, *, color: str = NOTES_ORANGE, label: str | None = None, say: Lang = EN
) -> list[Artist]:
    """The path as the notes drew it: ``-o`` through every point visited."""
    x1, x2 = zip(*trajectory.points)
    return list(
        ax.plot(x1, x2, "-o", color=color, markersize=3.5, linewidth=1.2, markevery=max(1, len(x1) // 60),
                label=label or trajectory_label(trajectory, say))
    )


def view_limits(objective: Objective, trajectories: Sequence[Trajectory]) -> Window:
    """The objective's window, grown to take in the points that lie within one window-span of it.

    Points farther out (a diverging path) stay off the plot and are named by :func:`path_note`.
    """
    (low1, high1), (low2, high2) = objective.window
    span1, span2 = high1 - low1, high2 - low2
    near = [
        (a, b)
        for t in trajectories
        for a, b in t.points
        if low1 - span1 <= a <= high1 + span1 and low2 - span2 <= b <= high2 + span2
    ]
    if near:
        a, b = zip(*near)
        pad1, pad2 = 0.03 * span1, 0.03 * span2
        low1, high1 = min(low1, min(a) - pad1), max(high1, max(a) + pad1)
        low2, high2 = min(low2, min(b) - pad2), max(high2, max(b) + pad2)
    return (low1, high1), (low2, high2)


def path_note(trajectory: Trajectory, window: Window, say: Lang = EN) -> str | None:
    """What the plot cannot show: a divergence, or where a path that left the window ended."""
    if trajectory.diverged:
        name, step = trajectory_label(trajectory, say), trajectory.diverged_at
        return say(f"{name}: diverged at step {step}", f"{name}：在第 {step} 步发散")
    (low1, high1), (low2, high2) = window
    outside = [i for i, (a, b) in enumerate(trajectory.points) if not (low1 <= a <= high1 and low2 <= b <= high2)]
    if not outside:
        return None
    a, b = trajectory.points[-1]
    name, step = trajectory_label(trajectory, say), outside[0]
    return say(f"{name}: leaves the plot at step {step}, ends at ({a:.4g}, {b:.4g})",
               f"{name}：在第 {step} 步离开图框，最终位于 ({a:.4g}, {b:.4g})")


def theory_text(objective: Objective, say: Lang = EN) -> str:
    """``kappa = 20, GD stable for lr < 0.5`` for quadratics, else the formula alone."""
    theory = quadratic_theory(objective)
    if theory is None:
        return objective.formula
    formula, kappa, bound = objective.formula, f"{theory.kappa:.4g}", f"{theory.gd_max_lr:.4g}"
    return say(f"{formula}   (κ = {kappa}, GD stable for lr < {bound})", f"{formula}   （κ = {kappa}，学习率 < {bound} 时梯度下降稳定）")


def draw_landscape(ax: Axes, objective: Objective, trajectories: Sequence[Trajectory],
                   say: Lang = EN) -> dict[str, list[Artist]]:
    """Contours, minima and every trajectory (each its own colour), with limits fixed to the window."""
    limits = view_limits(objective, trajectories)
    (low1, high1), (low2, high2) = limits
    drawn: dict[str, list[Artist]] = {"contours": [draw_contours(ax, objective, window=limits)], "minima": draw_minima(ax, objective)}
    notes: list[Artist] = []
    colors = path_colors(len(trajectories))
    for index, trajectory in enumerate(trajectories):
        color = colors[index]
        drawn[f"path{index}"] = draw_trajectory(ax, trajectory, color=color, say=say)
        note = path_note(trajectory, limits, say)
        if note:
            notes.append(
                ax.annotate(note, xy=(0.01, 0.02 + 0.065 * len(notes)), xycoords="axes fraction", color=color,
                            fontsize=7.5, bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": color})
            )
    drawn["notes"] = notes
    ax.set_xlim(low1, high1)
    ax.set_ylim(low2, high2)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if len(trajectories) > len(PATH_COLORS):  # many paths: the legend beside the axes, in columns
        drawn["legend"] = [ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=6.5, framealpha=0.85,
                                     ncols=legend_columns(len(trajectories)))]
    elif len(trajectories) > 1:
        drawn["legend"] = [ax.legend(loc="best", fontsize=7.5, framealpha=0.85)]
    return drawn


LEGEND_ROWS = 25
"""Entries per legend column when the legend goes beside the axes."""


def legend_columns(paths: int) -> int:
    """How many columns the legend of ``paths`` paths takes beside the axes."""
    return max(1, math.ceil(paths / LEGEND_ROWS))


def path_colors(count: int) -> list[str]:
    """One colour per path: the fixed palette, or for more paths than it holds, evenly spaced hues of 'turbo'."""
    if count <= len(PATH_COLORS):
        return list(PATH_COLORS[:count])
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    cmap = colormaps["turbo"]
    return [to_hex(cmap(0.05 + 0.9 * i / (count - 1))) for i in range(count)]


def landscape_figure(
    objective: Objective, trajectories: Sequence[Trajectory], *, title: str | None = None, size: tuple[float, float] = (6.4, 4.4)
) -> Figure:
    """The notes' picture for one or several trajectories, with the theory in the title."""
    if len(trajectories) > len(PATH_COLORS):  # room for the legend's columns beside the axes
        size = (size[0] + 2.2 * legend_columns(len(trajectories)), max(size[1], 0.16 * min(len(trajectories), LEGEND_ROWS)))
    figure = Figure(figsize=size, layout="constrained")
    ax = figure.add_subplot()
    draw_landscape(ax, objective, trajectories)
    if title is None and len(trajectories) == 1:
        title = trajectory_label(trajectories[0])
    ax.set_title((title + "\n" if title else "") + theory_text(objective), fontsize=9)
    return figure
