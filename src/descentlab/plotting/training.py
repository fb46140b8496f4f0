"""Loss-against-epoch figures of airfoil training runs (:class:`~descentlab.airfoil.train.TrainingRun`).

``plot_losses(ax, runs)`` draws on a given ``Axes`` and returns the artists;
``loss_figure(runs)`` builds a standalone :class:`matplotlib.figure.Figure`
(no pyplot, nothing saved: the caller decides where it goes).

A run that diverged is drawn up to its last finite loss, with markers (its only
finite point may be the start), on a logarithmic loss axis, and marked with a
dotted vertical line and the text "diverged at step S": never an empty axes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..algorithms.spec import format_hyperparameters
from ..airfoil.train import TrainingRun
from ..lang import EN, Lang


def run_label(run: TrainingRun, say: Lang = EN) -> str:
    """``own adam (lr=0.01), 20 seeds`` — short enough for a legend."""
    hp = format_hyperparameters(run.hyperparameters)
    label = f"{run.impl} {run.algorithm}" + (f" ({hp})" if hp else "")
    if len(run.seeds) > 1:
        seeds = len(run.seeds)
        label += say(f", {seeds} seeds", f"，{seeds} 个种子")
    return label


def plot_losses(
    ax: Axes,
    runs: Sequence[TrainingRun],
    *,
    labels: Sequence[str] | None = None,
    optimum: bool = True,
    band_alpha: float = 0.2,
    say: Lang = EN,
) -> list[Artist]:
    """Each run's loss against epoch; a multi-seed run as its mean with a min-max band.

    With ``optimum=True`` the least-squares optimum of the first run is drawn as a
    dashed horizontal line.  Returns the artists in drawing order.
    """
    if not runs:
        raise ValueError("plot_losses needs at least one run")
    if labels is not None and len(labels) != len(runs):
        raise ValueError(f"got {len(labels)} labels for {len(runs)} runs")
    artists: list[Artist] = []
    for index, run in enumerate(runs):
        x = run.epoch_axis()
        label = labels[index] if labels is not None else run_label(run, say)
        curves = [values if all(map(math.isfinite, values)) else None for values in zip(*run.losses)]  # per point
        mean = [math.nan if values is None else sum(values) / len(values) for values in curves]
        marker = "o" if run.diverged else None  # a diverged run may have a single finite point
        (line,) = ax.plot(x, mean, label=label if not run.diverged else f"{label}, {divergence_text(run, say)}",
                          marker=marker, markersize=3)
        artists.append(line)
        if len(run.seeds) > 1:
            low = [math.nan if values is None else min(values) for values in curves]
            high = [math.nan if values is None else max(values) for values in curves]
            artists.append(ax.fill_between(x, low, high, color=line.get_color(), alpha=band_alpha, linewidth=0))
        if run.diverged:
            artists.extend(_divergence_mark(ax, run, x, line.get_color(), say))
    if any(run.diverged for run in runs):
        ax.set_yscale("log")  # the finite losses before divergence span many orders of magnitude
    if optimum:
        value = runs[0].optimum_loss
        artists.append(
            ax.axhline(value, color="0.3", linestyle="--", linewidth=1,
                       label=say(f"least-squares optimum {value:.6f}", f"最小二乘最优值 {value:.6f}"))
        )
    ax.set_xlabel(say("epoch", "迭代周期"))
    ax.set_ylabel(say("loss", "损失"))
    ax.legend(fontsize="small")
    return artists


def divergence_text(run: TrainingRun, say: Lang = EN) -> str:
    """``diverged at step 100``, or ``2 of 5 seeds diverged, the first at step 100``."""
    steps = [step for step in run.diverged_at if step is not None]
    first, count, seeds = min(steps), len(steps), len(run.seeds)
    if seeds == 1:
        return say(f"diverged at step {first}", f"在第 {first} 步发散")
    return say(f"{count} of {seeds} seeds diverged, the first at step {first}",
               f"{seeds} 个种子中有 {count} 个发散，最早在第 {first} 步")


def _divergence_mark(ax: Axes, run: TrainingRun, x: Sequence[float], color: str, say: Lang) -> list[Artist]:
    """A dotted vertical line at the first non-finite evaluation, and the text saying so."""
    step = min(s for s in run.diverged_at if s is not None)
    at = x[run.evaluation_steps.index(step)]
    line = ax.axvline(at, color=color, linestyle=":", linewidth=1.5)
    text = ax.text(at, 0.97, say(f"diverged at step {step} ", f"在第 {step} 步发散 "), transform=ax.get_xaxis_transform(), color=color,
                   va="top", ha="right", fontsize="small", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    return [line, text]


def loss_figure(
    runs: Sequence[TrainingRun],
    *,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.0),
) -> Figure:
    """A new ``Figure`` with :func:`plot_losses` of ``runs`` on one axes."""
    figure = Figure(figsize=figsize, layout="constrained")
    ax = figure.add_subplot()
    plot_losses(ax, runs)
    if title is None:
        several = any(len(run.seeds) > 1 for run in runs)
        title = "airfoil: loss against epoch" + (" (mean and min-max band over seeds)" if several else "")
    ax.set_title(title, fontsize="medium")
    return figure


__all__ = ["divergence_text", "loss_figure", "plot_losses", "run_label"]
