"""Axes-level figures of a benchmark: each helper draws on the given ``Axes`` and returns what it drew."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from .problems import Problem
from .protocol import Study
from .summary import Profile


def _colors(names: Sequence[str]) -> dict[str, str]:
    return {name: f"C{i % 10}" for i, name in enumerate(names)}


def draw_learning_curves(ax: Axes, problem: Problem, studies: Sequence[Study]) -> list[Artist]:
    """Validation loss against step of each optimizer's best setting: the median over the fresh seeds, a band from
    the 10% to the 90% quantile (linear interpolation), and the target as a dashed line."""
    import numpy as np

    steps = problem.evaluations
    colors = _colors([s.optimizer for s in studies])
    artists: list[Artist] = []
    for study in studies:
        curves = np.array([run.curve for run in study.reruns], dtype=float)
        curves[~np.isfinite(curves)] = np.nan
        if np.isnan(curves).all():
            continue
        with warnings.catch_warnings():  # a step at which every seed has diverged is a gap in the line
            warnings.simplefilter("ignore", RuntimeWarning)
            low, mid, high = np.nanquantile(curves, [0.1, 0.5, 0.9], axis=0)
        artists += ax.plot(steps, mid, color=colors[study.optimizer], label=study.optimizer, linewidth=1.4)
        artists.append(ax.fill_between(steps, low, high, color=colors[study.optimizer], alpha=0.2, linewidth=0))
    artists.append(ax.axhline(problem.target, color="0.3", linestyle="--", linewidth=1, label=f"target {problem.target:g}"))
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.set_title(problem.title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:  # (none when every trial diverged)
        artists.append(ax.legend(fontsize=7, ncol=2))
    return artists


def draw_lr_sensitivity(ax: Axes, problem: Problem, studies: Sequence[Study]) -> list[Artist]:
    """Final validation loss of every trial against its lr (log-log), one colour per optimizer; a diverged trial is an
    ``x`` at the top of the axes.  Optimizers without an ``lr`` are left out."""
    colors = _colors([s.optimizer for s in studies])
    finite = [t.final for s in studies for t in s.trials if math.isfinite(t.final) and t.final > 0]
    top = max(finite) * 3 if finite else 1.0
    artists: list[Artist] = []
    for study in studies:
        trials = [t for t in study.trials if "lr" in t.hyperparameters]
        if not trials:
            continue
        ok = sorted((t.hyperparameters["lr"], t.final) for t in trials if math.isfinite(t.final) and t.final > 0)
        bad = [t.hyperparameters["lr"] for t in trials if not (math.isfinite(t.final) and t.final > 0)]
        if ok:
            artists += ax.plot([lr for lr, _ in ok], [f for _, f in ok], "o-", color=colors[study.optimizer],
                               markersize=3, linewidth=0.8, label=study.optimizer)
        if bad:
            artists += ax.plot(bad, [top] * len(bad), "x", color=colors[study.optimizer], markersize=4)
    artists.append(ax.axhline(problem.target, color="0.3", linestyle="--", linewidth=1))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("lr of the trial")
    ax.set_ylabel("final validation loss (x: diverged)")
    ax.set_title(problem.title, fontsize=9)
    if ax.get_legend_handles_labels()[0]:  # (none when every trial diverged)
        artists.append(ax.legend(fontsize=7, ncol=2))
    return artists


def draw_profile(ax: Axes, profile: Profile) -> list[Artist]:
    """AlgoPerf's performance profile ρ(τ) of every optimizer, with its score in the legend."""
    colors = _colors(list(profile.rho))
    artists: list[Artist] = []
    for name, rho in profile.rho.items():
        artists += ax.step(profile.taus, rho, where="post", color=colors[name],
                           label=f"{name} (score {profile.scores[name]:.3f})")
    ax.set_xlim(1, profile.r_max)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("τ (steps to target ÷ the fastest optimizer's)")
    ax.set_ylabel("ρ(τ): share of problems solved within τ")
    artists.append(ax.legend(fontsize=7, loc="lower right"))
    return artists


__all__ = ["draw_learning_curves", "draw_lr_sensitivity", "draw_profile"]
