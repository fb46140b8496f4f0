"""Stability maps: how far each run got towards the minimum over two hyperparameters, and where it stops contracting.

The colour of a cell is ``q = log10(|x_T − x*| / |x_0 − x*|)``, the decades of distance the
run of ``T`` steps gained (``T·log10`` of its contraction per step): blue where it shrank, white
where it barely moved, red where it grew, black where it diverged.  Measured values crowd near
``q = 0`` (most cells shrink by less than a decade) while a few reach ``q = −196``, so the colours
follow ``sign(q)·log10(1 + |q|/0.1)``: a tenth of a decade and a hundred decades both read.  One
scale, fitted to every map drawn together (:func:`stability_scale`), so that one colour means the
same thing in every map of the report.  The black contour is the measured boundary ``q = 0``
(contraction per step 1), labelled on the map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..lang import EN, Lang

SOFT = 0.1
"""Decades below which the colour scale is linear (see the module docstring)."""
DIVERGED_COLOR = "black"
CMAP = "RdBu_r"


def decades(record: Any) -> np.ndarray:
    """``[row][column]`` decades gained, ``log10(rate**steps)``: ``+inf`` where the run diverged, ``-inf`` at an exact hit."""
    rate = np.array(record.rate, dtype=float)
    with np.errstate(divide="ignore"):
        return record.steps * np.log10(rate)


def _forward(q: np.ndarray | float) -> np.ndarray:
    q = np.asarray(q, dtype=float)
    return np.sign(q) * np.log10(1 + np.abs(q) / SOFT)


def stability_scale(records: Sequence[Any]) -> tuple[float, float]:
    """The range of decades of ``records`` together (finite cells): the colour scale they share."""
    values = np.concatenate([decades(r).ravel() for r in records])
    finite = values[np.isfinite(values)]
    low = float(min(finite.min(), -SOFT)) if finite.size else -1.0
    high = float(max(finite.max(), SOFT)) if finite.size else 1.0
    return low, high


def _norm(scale: tuple[float, float]) -> TwoSlopeNorm:
    low, high = scale
    return TwoSlopeNorm(vcenter=0.0, vmin=float(_forward(low)), vmax=float(_forward(high)))


def draw_stability_map(ax: Axes, record: Any, say: Lang = EN, scale: tuple[float, float] | None = None) -> list[Artist]:
    """``record`` (a :class:`~descentlab.lab.stability.StabilityMap`): the decades gained as colours on ``scale``
    (default: this map's own range, :func:`stability_scale`), diverged cells black, the measured boundary (rate = 1)
    as a labelled black contour and, for AdaGrad's ε axis on a quadratic, the closed form ``lr = 2√ε/λmax``
    (gradient descent's limit once ε dominates ``s``) as a dashed line."""
    q = decades(record)
    scale = stability_scale([record]) if scale is None else scale
    shown = np.where(np.isposinf(q), np.nan, np.clip(q, scale[0], scale[1]))
    xs, ys = np.array(record.x_values), np.array(record.y_values)
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(_forward(shown)), shading="nearest", cmap=CMAP, norm=_norm(scale))
    artists: list[Artist] = [mesh]
    diverged = np.isposinf(q)
    if diverged.any():
        artists.append(ax.pcolormesh(xs, ys, np.ma.masked_where(~diverged, np.ones_like(q)), shading="nearest",
                                     cmap="gray", vmin=0, vmax=2))
    finite = np.where(np.isfinite(q), q, np.where(np.isposinf(q), scale[1], scale[0]))
    if (finite >= 0).any() and (finite < 0).any():
        contour = ax.contour(xs, ys, finite, levels=[0.0], colors="black", linewidths=1.2)
        artists.append(contour)
        artists += ax.clabel(contour, fmt={0.0: say("rate 1", "速率 1")}, fontsize=7, inline=True)
    if record.algorithm == "adagrad" and record.gd_limit is not None:
        eps = np.array(record.y_values)
        artists += ax.plot(record.gd_limit * np.sqrt(eps), eps, "--", color="#222222", linewidth=1.2,
                           label=say("closed form for ε ≫ g²: lr = 2√ε/λmax", "ε ≫ g² 时的闭式解：lr = 2√ε/λmax"))
        artists.append(ax.legend(fontsize=7, loc="lower right", framealpha=0.9))
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


def _tick_label(q: float) -> str:
    if q == 0:
        return "1"
    if abs(q) >= 1 and float(q).is_integer():
        return f"$10^{{{q:g}}}$"
    return f"{10 ** q:.2g}"


def stability_colorbar(figure: Figure, mesh: Any, cax: Axes, scale: tuple[float, float], steps: int,
                       say: Lang = EN) -> Any:
    """The shared colour scale's bar, its ticks as distance ratios (``10⁻¹⁰⁰`` … ``1`` … ``10``)."""
    low, high = scale
    ticks = [q for q in (-1000, -100, -10, -1, 0.0, 1, 10, 100) if low <= q <= high]
    bar = figure.colorbar(mesh, cax=cax)
    bar.set_ticks([float(_forward(q)) for q in ticks], labels=[_tick_label(q) for q in ticks])
    bar.set_label(say(f"|x_T − x*| / |x_0 − x*| after {steps} steps", f"{steps} 步后的 |x_T − x*| / |x_0 − x*|"),
                  fontsize=8.5)
    return bar


__all__ = ["CMAP", "SOFT", "decades", "draw_stability_map", "stability_colorbar", "stability_scale"]
