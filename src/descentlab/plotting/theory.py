"""Figures of the theory behind the paths: EMA weights, bias correction, effective learning
rates, convergence against step count, and measured rates against the closed forms."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lab.theory import RateSweep, bias_correction, ema_weights
from ..lab.trajectory import Trajectory
from ..lang import EN, Lang
from .landscape import PATH_COLORS, trajectory_label


def draw_ema_weights(ax: Axes, betas: Sequence[float], count: int = 60, say: Lang = EN) -> list[Artist]:
    """Bars of ``(1 - beta) beta^i`` for each beta, with the ``1 / (1 - beta)`` window marked."""
    artists: list[Artist] = []
    for index, beta in enumerate(betas):
        color = PATH_COLORS[index % len(PATH_COLORS)]
        weights = ema_weights(beta, count)
        artists += ax.plot(range(count), weights, "-o", markersize=2.5, color=color, label=f"β = {beta:g}")
        window = 1 / (1 - beta)
        artists.append(ax.axvline(window, color=color, linestyle="--", linewidth=1))
        artists.append(ax.annotate(f"1/(1−β) = {window:g}", xy=(window, (1 - beta) * math.exp(-1)),
                                   xytext=(4, 6), textcoords="offset points", color=color, fontsize=8))
    ax.set_xlabel(say("steps back i", "往前的步数 i"))
    ax.set_ylabel(say("weight (1−β) β^i", "权重 (1−β) β^i"))
    artists.append(ax.legend(fontsize=8))
    return artists


def draw_bias_correction(ax: Axes, betas: Sequence[float], steps: int = 3000, say: Lang = EN) -> list[Artist]:
    """``1 - beta^t``: the total weight of an EMA that starts at zero; Adam divides by it."""
    artists: list[Artist] = []
    for index, (beta, values) in enumerate(bias_correction(betas, steps).items()):
        artists += ax.plot(range(1, steps + 1), values, color=PATH_COLORS[index], label=f"1 − {beta:g}^t")
    ax.set_xscale("log")
    ax.set_xlabel(say("step t", "时间步 t"))
    ax.set_ylabel("1 − β^t")
    ax.set_ylim(0, 1.05)
    artists.append(ax.legend(fontsize=8))
    return artists


def draw_effective_lr(
    ax: Axes, trajectories: Sequence[Trajectory], rates: Sequence[Sequence[tuple[float, float]]], say: Lang = EN
) -> list[Artist]:
    """Per-coordinate effective learning rate per step (solid: x1, dashed: x2), log scale."""
    artists: list[Artist] = []
    for index, (trajectory, series) in enumerate(zip(trajectories, rates)):
        color = PATH_COLORS[index % len(PATH_COLORS)]
        steps = range(1, len(series) + 1)
        x1, x2 = zip(*series)
        artists += ax.plot(steps, x1, "-", color=color, label=f"{trajectory_label(trajectory, say)}: x1")
        artists += ax.plot(steps, x2, "--", color=color, label=f"{trajectory_label(trajectory, say)}: x2")
    ax.set_yscale("log")
    ax.set_xlabel(say("step t", "时间步 t"))
    ax.set_ylabel(say("effective lr  −Δx / g", "有效学习率  −Δx / g"))
    artists.append(ax.legend(fontsize=7))
    return artists


def draw_convergence(ax: Axes, trajectories: Sequence[Trajectory], say: Lang = EN) -> list[Artist]:
    """``f(x_t)`` against t on a log scale.  A log scale has no 0: a path whose f reaches exactly 0 (Newton's step
    on a quadratic) is drawn down to its last positive value, then as downward triangles on the axis' bottom edge
    at every step where f is 0, with a note saying so."""
    artists: list[Artist] = []
    positive = [v for t in trajectories for v in t.values if v > 0 and math.isfinite(v)]
    floor = min(positive) / 1e3 if positive else 1e-3
    for index, trajectory in enumerate(trajectories):
        color = PATH_COLORS[index % len(PATH_COLORS)]
        values = trajectory.values
        steps = range(len(values))
        shown = [v if v > 0 else math.nan for v in values]
        zeros = [t for t, v in zip(steps, values) if v == 0]
        artists += ax.plot(steps, shown, "-o", markersize=3, color=color, label=trajectory_label(trajectory, say))
        if zeros and zeros[0] > 0 and values[zeros[0] - 1] > 0:  # the drop to 0, down to the edge
            artists += ax.plot([zeros[0] - 1, zeros[0]], [values[zeros[0] - 1], floor], "-", color=color)
        if zeros:
            artists += ax.plot(zeros, [floor] * len(zeros), "v", markersize=7, color=color, clip_on=False)
            first, last = zeros[0], zeros[-1]
            artists.append(ax.annotate(
                say(f"f = 0 exactly at steps {first}–{last}\n(a log scale has no 0: ▼ on the axis)",
                    f"第 {first}–{last} 步 f 恰好为 0\n（对数坐标没有 0：▼ 画在坐标轴上）"),
                xy=(first, floor), xytext=(12, 14), textcoords="offset points", color=color, fontsize=8,
                arrowprops={"arrowstyle": "-", "color": color, "linewidth": 0.8}))
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xlabel(say("step t", "时间步 t"))
    ax.set_ylabel("f(x_t)")
    artists.append(ax.legend(fontsize=8))
    return artists


def draw_gd_rate_sweep(ax: Axes, sweep: RateSweep, say: Lang = EN) -> list[Artist]:
    """Measured contraction per step of GD against ``max|1 - lr λ|``, with the bound and the best lr."""
    theory = sweep.theory
    measured = [m if math.isfinite(m) else np.nan for m in sweep.gd_measured]
    steps, best = sweep.steps, f"{theory.gd_best_lr:.4g}"
    artists: list[Artist] = []
    artists += ax.plot(sweep.gd_lr, sweep.gd_predicted, "-", color="black", linewidth=1,
                       label=say("theory max|1 − lr·λ|", "理论值 max|1 − lr·λ|"))
    artists += ax.plot(sweep.gd_lr, measured, "o", markersize=3.5, color=PATH_COLORS[0],
                       label=say(f"measured ({steps} steps)", f"实测（{steps} 步）"))
    artists.append(ax.axvline(theory.gd_max_lr, color="#d62728", linestyle="--", label=f"2/λmax = {theory.gd_max_lr:g}"))
    artists.append(ax.axvline(theory.gd_best_lr, color="#2ca02c", linestyle=":",
                              label=say(f"best 2/(λmin+λmax) = {best}", f"最佳 2/(λmin+λmax) = {best}")))
    artists.append(ax.axhline(1.0, color="grey", linewidth=0.8))
    ax.set_xlabel(say("learning rate", "学习率"))
    ax.set_ylabel(say("contraction of |x| per step", "每步 |x| 的收缩率"))
    ax.set_ylim(0.4, 1.5)
    artists.append(ax.legend(fontsize=7.5, loc="upper left"))
    return artists


def draw_momentum_rate_map(ax: Axes, sweep: RateSweep, say: Lang = EN) -> list[Artist]:
    """Measured contraction over (lr, beta), the stability boundary ``(2+2β)/λmax`` and the optimum."""
    theory = sweep.theory
    grid = np.array(sweep.momentum_measured, dtype=float)
    grid[~np.isfinite(grid)] = np.nan
    mesh = ax.pcolormesh(sweep.momentum_lr, sweep.momentum_beta, np.clip(grid, 0.5, 1.2), cmap="viridis_r", shading="nearest")
    betas = np.linspace(0, max(sweep.momentum_beta), 50)
    best_lr, best_beta = f"{theory.momentum_best_lr:.3g}", f"{theory.momentum_best_beta:.3g}"
    artists: list[Artist] = [mesh]
    artists += ax.plot([theory.momentum_max_lr(b) for b in betas], betas, color="#d62728", linestyle="--",
                       label=say("stability bound lr = (2+2β)/λmax", "稳定边界 lr = (2+2β)/λmax"))
    artists += ax.plot([theory.momentum_best_lr], [theory.momentum_best_beta], "*", markersize=14, color="white",
                       markeredgecolor="black",
                       label=say(f"optimum lr* = {best_lr}, β* = {best_beta}", f"最优 lr* = {best_lr}，β* = {best_beta}"))
    ax.set_xlim(min(sweep.momentum_lr), max(sweep.momentum_lr))
    ax.set_xlabel(say("learning rate", "学习率"))
    ax.set_ylabel(say("momentum β", "动量超参数 β"))
    artists.append(ax.figure.colorbar(mesh, ax=ax, label=say("contraction per step (white: diverged)",
                                                             "每步的收缩率（白色：发散）")))
    artists.append(ax.legend(fontsize=7.5, loc="upper right"))
    return artists
