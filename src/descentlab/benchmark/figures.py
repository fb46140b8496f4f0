"""Axes-level figures of a benchmark: each helper draws on the given ``Axes`` and returns what it drew.

Every optimizer keeps one style across the figures of a report (:func:`styles`):
a colour, a marker and a dash pattern, so that lines stay apart where colours
are hard to tell or where two lines fall on each other.  Legends sit below the
axes, never over the data.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from typing import Any

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from .engine import Run
from .problems import Problem
from .protocol import Study
from .summary import Profile

MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
DASHES = ("-", "--", "-.", ":")
LEGEND = {"fontsize": 9, "loc": "upper center", "bbox_to_anchor": (0.5, -0.17), "frameon": False,
          "handlelength": 2.6, "columnspacing": 1.0}
"""A legend below the axes' x label, out of the data."""


def styles(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Each optimizer's colour, marker and dash pattern (the same in every figure of a report)."""
    return {name: {"color": f"C{i % 10}", "marker": MARKERS[i % len(MARKERS)], "linestyle": DASHES[i % len(DASHES)]}
            for i, name in enumerate(names)}


def _log_y(ax: Axes) -> None:
    """A log y axis labelled in plain numbers (0.3, 1, 1e-05); minor ticks get a label where matplotlib's log
    formatter would give one (an axis spanning about a decade or less)."""
    from matplotlib.ticker import LogFormatter

    class Plain(LogFormatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:g}" if super().__call__(x, pos) else ""

    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(Plain())
    ax.yaxis.set_minor_formatter(Plain(labelOnlyBase=False, minor_thresholds=(1, 0.4)))


def _legend(ax: Axes, ncol: int = 3) -> list[Artist]:
    handles, labels = ax.get_legend_handles_labels()
    if not handles:  # (none when every run diverged)
        return []
    return [ax.legend(handles, labels, **{**LEGEND, "ncol": min(ncol, len(handles))})]


def draw_learning_curves(ax: Axes, problem: Problem, studies: Sequence[Study],
                         style: dict[str, dict[str, Any]] | None = None) -> list[Artist]:
    """Validation loss against step of each optimizer's best setting: the median over the fresh seeds, a band from
    the 10% to the 90% quantile (linear interpolation), and the target as a grey dashed line."""
    import numpy as np

    steps = problem.evaluations
    style = style or styles([s.optimizer for s in studies])
    artists: list[Artist] = []
    every = max(1, len(steps) // 6)
    for i, study in enumerate(studies):
        curves = np.array([run.curve for run in study.reruns], dtype=float)
        curves[~np.isfinite(curves)] = np.nan
        if np.isnan(curves).all():
            continue
        with warnings.catch_warnings():  # a step at which every seed has diverged is a gap in the line
            warnings.simplefilter("ignore", RuntimeWarning)
            low, mid, high = np.nanquantile(curves, [0.1, 0.5, 0.9], axis=0)
        s = style[study.optimizer]
        # markers at staggered steps, so that lines on top of each other still show every marker
        artists += ax.plot(steps, mid, label=study.optimizer, linewidth=1.4, markersize=4.5,
                           markevery=(i % every, every), **s)
        artists.append(ax.fill_between(steps, low, high, color=s["color"], alpha=0.15, linewidth=0))
    artists.append(ax.axhline(problem.target, color="0.45", linestyle=(0, (5, 3)), linewidth=1,
                              label=f"target {problem.target:g}"))
    _log_y(ax)
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    return artists + _legend(ax)


def lr_series(trials: Sequence[Run]) -> list[list[Run]]:
    """The trials that carry an ``lr``, grouped by every other hyperparameter, each group sorted by lr.

    Only trials in one group differ in lr alone, so only they may be joined by a line; with every
    hyperparameter searched at once each group usually holds one trial.
    """
    groups: dict[str, list[Run]] = {}
    for t in trials:
        if "lr" in t.hyperparameters:
            rest = {k: v for k, v in t.hyperparameters.items() if k != "lr"}
            groups.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(t)
    return [sorted(g, key=lambda t: t.hyperparameters["lr"]) for g in groups.values()]


def _ok(value: float) -> bool:
    return math.isfinite(value) and value > 0


def zero_trials(studies: Sequence[Study]) -> list[str]:
    """Optimizers with a trial whose final loss is exactly 0 (drawn as a ▼ on the lr figure's bottom edge)."""
    return [s.optimizer for s in studies if any(t.final == 0 and "lr" in t.hyperparameters for t in s.trials)]


def draw_lr_sensitivity(ax: Axes, problem: Problem, studies: Sequence[Study],
                        style: dict[str, dict[str, Any]] | None = None) -> list[Artist]:
    """Final validation loss of every trial (tuning seed) against its lr, log-log, one marker per optimizer.

    A line joins only trials that differ in lr alone (:func:`lr_series`); the chosen trial is ringed; a
    diverged trial is an ``x`` at the top of the axes.  Optimizers without an ``lr`` are left out."""
    style = style or styles([s.optimizer for s in studies])
    finite = [t.final for s in studies for t in s.trials if _ok(t.final)]
    top = max(finite) * 3 if finite else 1.0
    bottom = min(finite) / 3 if finite else 1e-3
    artists: list[Artist] = []
    for study in studies:
        s = style[study.optimizer]
        labelled = False
        for group in lr_series(study.trials):
            ok = [(t.hyperparameters["lr"], t.final) for t in group if _ok(t.final)]
            bad = [t.hyperparameters["lr"] for t in group if not math.isfinite(t.final)]
            zero = [t.hyperparameters["lr"] for t in group if t.final == 0]
            if ok:
                line = "-" if len(ok) > 1 else "none"
                artists += ax.plot([lr for lr, _ in ok], [f for _, f in ok], color=s["color"], marker=s["marker"],
                                   linestyle=line, linewidth=0.9, markersize=5, alpha=0.85,
                                   label=None if labelled else study.optimizer)
                labelled = True
            if bad:
                artists += ax.plot(bad, [top] * len(bad), "x", color=s["color"], markersize=6)
            if zero:
                artists += ax.plot(zero, [bottom] * len(zero), "v", color=s["color"], markersize=6)
        chosen = study.best_trial
        if "lr" in chosen.hyperparameters and math.isfinite(chosen.final):
            y = chosen.final if chosen.final > 0 else bottom
            artists += ax.plot([chosen.hyperparameters["lr"]], [y], "o", markersize=12, markerfacecolor="none",
                               markeredgecolor=s["color"], markeredgewidth=1.3)
    artists.append(ax.axhline(problem.target, color="0.45", linestyle=(0, (5, 3)), linewidth=1))
    ax.set_xscale("log")
    _log_y(ax)
    ax.set_xlabel("lr of the trial")
    ax.set_ylabel("final validation loss, tuning seed")
    return artists + _legend(ax)


def profile_offsets(profile: Profile, step: float = 0.008) -> dict[str, float]:
    """A small vertical shift per optimizer, in the legend's order, centred on 0: where two profiles share a
    level (the same ρ over some range of τ, or the whole line) they are drawn side by side, not on top."""
    names = list(profile.rho)
    shared = any(a != b and any(x == y for x, y in zip(profile.rho[a], profile.rho[b])) for a in names for b in names)
    if not shared:
        return {name: 0.0 for name in names}
    return {name: (i - (len(names) - 1) / 2) * step for i, name in enumerate(names)}


def draw_profile(ax: Axes, profile: Profile, style: dict[str, dict[str, Any]] | None = None) -> list[Artist]:
    """AlgoPerf's performance profile ρ(τ) of every optimizer, with its score in the legend.

    Optimizers with the same profile are shifted apart by :func:`profile_offsets` (the report says so)."""
    import numpy as np

    style = style or styles(list(profile.rho))
    offsets = profile_offsets(profile)
    taus = np.asarray(profile.taus)
    every = max(1, len(taus) // 8)
    artists: list[Artist] = []
    for i, (name, rho) in enumerate(profile.rho.items()):
        artists += ax.step(taus, np.asarray(rho) + offsets[name], where="post", linewidth=1.5, markersize=5,
                           markevery=((i * every) // max(1, len(profile.rho)), every),
                           label=f"{name} ({profile.scores[name]:.3f})", **style[name])
    ax.set_xlim(1, profile.r_max)
    ax.set_ylim(-0.06, 1.06)
    ax.set_xlabel("τ: steps to target ÷ the fastest optimizer's")
    ax.set_ylabel("ρ(τ): share of problems within τ")
    return artists + _legend(ax, ncol=3)


__all__ = ["draw_learning_curves", "draw_lr_sensitivity", "draw_profile", "lr_series", "profile_offsets", "styles", "zero_trials"]
