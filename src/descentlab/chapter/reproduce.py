"""Run the whole chapter: every section's records, the verdicts, and how long each took.

:func:`run_chapter` computes; it reports progress only through the callback it is
given, and never prints.  Without the airfoil data it still runs everything else
and records why the airfoil section did not run.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy
import torch

from .. import __version__
from ..lang import EN, Lang
from . import sections as chapter
from ..algorithms.spec import format_hyperparameters
from ..airfoil.data import Airfoil, DataError, load_airfoil
from ..lab.stability import StabilityMap, stability_maps
from ..lab.theory import RateSweep, rate_sweep
from ..notes.reference import NOTES_AIRFOIL, AirfoilResult
from ..parallel import NO_HELPER, Helper
from .exercises import Exercise, run_exercises
from .schedule_section import ScheduleSection, schedule_section
from .rule import MIN_SEEDS, percent, rule_text

Progress = Callable[[str, int, int], None]
"""``progress(label, done, total)``: called before each section and once at the end."""


STATUSES = ("pass", "FAIL", "not run", "too few seeds")
"""Every verdict's status: agrees, differs, the section did not run, or too few seeds to judge."""


@dataclass(frozen=True)
class Verdict:
    """One number the notes printed, ours beside it, and whether they agree."""

    section: str
    run: str
    notes: str
    ours: str
    rule: str
    passed: bool | None  # None: no verdict, see ``unjudged``
    unjudged: str = "not run"  # the status when passed is None: "not run" or "too few seeds"

    @property
    def status(self) -> str:
        return {True: "pass", False: "FAIL", None: self.unjudged}[self.passed]


@dataclass(frozen=True)
class PlaneResults:
    """The 2D sections, the first fields of :class:`ChapterResults`: what exists before the airfoil runs."""

    traces: list[chapter.TraceCheck]
    ill_conditioning: chapter.IllConditioning
    preconditioning: chapter.Preconditioning
    momentum: chapter.MomentumSection
    adaptive: chapter.AdaptiveSection
    sweep: RateSweep


@dataclass(frozen=True)
class ChapterResults(PlaneResults):
    """Every section's records, the seeds and the timings: what the report shows."""

    airfoil: chapter.AirfoilSection | None
    airfoil_error: str | None  # why the airfoil section did not run
    seeds: tuple[int, ...]
    seconds: dict[str, float]  # wall time of each section
    environment: dict[str, Any] = field(default_factory=dict)
    stability: list[StabilityMap] = field(default_factory=list)
    exercises: list[Exercise] | None = None  # None: not run (``run_chapter(exercises=True)`` runs them)
    schedules: ScheduleSection | None = None  # None: not asked for (``run_chapter(schedules=True)``), or no data
    schedules_error: str | None = None  # asked for, but not run: why

    def verdicts(self, say: Lang = EN) -> list[Verdict]:
        """One row per number the notes printed; the text columns in ``say``'s language."""
        rows = [
            Verdict(
                section=say("2D quadratic", "二维二次函数"),
                run=f"{c.reference.algorithm} {format_hyperparameters(c.reference.hyperparameters)}",
                notes=c.reference.printed,
                ours=c.ours,
                rule=say("same digits", "每一位数字相同"),
                passed=c.matches,
            )
            for c in self.traces
        ]
        if self.airfoil is None:
            return rows + [_airfoil_verdict(reference, None, say) for reference in NOTES_AIRFOIL]
        return rows + [_airfoil_verdict(check.reference, check, say) for check in self.airfoil.checks]


def _airfoil_verdict(reference: AirfoilResult, check: chapter.AirfoilCheck | None, say: Lang) -> Verdict:
    """The notes' printed loss against the prediction interval of our seeds (see :mod:`descentlab.chapter.rule`)."""
    notes = f"{reference.final_loss:.6f}"
    section, run, rule = say("airfoil", "翼型噪声数据"), reference.label(), rule_text(say)
    if check is None:
        return Verdict(section, run, notes, "—", rule, None)
    s, seeds, interval = check.run.summary, len(check.run.seeds), check.interval
    ours = f"{s.mean:.6f} ± {s.std:.6f}"
    if check.run.diverged:
        diverged = sum(step is not None for step in check.run.diverged_at)
        return Verdict(section, run, notes, say(f"{diverged} of {seeds} seeds diverged",
                                                f"{seeds} 个种子中有 {diverged} 个发散"), rule, False)
    if interval is None:
        return Verdict(section, run, notes, say(f"{ours} ({seeds} seeds)", f"{ours}（{seeds} 个种子）"),
                       say(f"needs at least {MIN_SEEDS} seeds, got {seeds}", f"至少需要 {MIN_SEEDS} 个种子，只有 {seeds} 个"),
                       None, "too few seeds")
    level, low, high = percent(interval.level), f"{interval.low:.6f}", f"{interval.high:.6f}"
    ours += say(f"; {level} interval [{low}, {high}]", f"；{level} 区间 [{low}, {high}]")
    return Verdict(section, run, notes, ours, f"{rule}, n = {seeds}", check.passed)


def environment() -> dict[str, Any]:
    return {
        "descentlab": __version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "matplotlib": matplotlib.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
    }


def section_label(key: str, seeds: int, say: Lang = EN) -> str:
    """A section of :func:`run_chapter` (a key of ``ChapterResults.seconds``) as progress and the report name it."""
    return {
        "traces": say("2D: the notes' seven runs", "二维：笔记的七个实验"),
        "ill_conditioning": say("2D: ill-conditioning", "二维：病态条件"),
        "preconditioning": say("2D: preconditioning", "二维：预处理"),
        "momentum": say("2D: momentum", "二维：动量法"),
        "adaptive": say("2D: adaptive methods", "二维：自适应方法"),
        "sweep": say("2D: learning-rate theory sweep", "二维：学习率理论扫描"),
        "airfoil": say(f"airfoil: twelve runs x {seeds} seeds", f"翼型噪声数据：十二组实验 × {seeds} 个种子"),
        "stability": say("2D: stability maps of the adaptive methods", "二维：自适应方法的稳定性图"),
        "exercises": say("exercises", "练习"),
        "schedules": say(f"airfoil: learning-rate schedules x {seeds} seeds", f"翼型噪声数据：学习率调度 × {seeds} 个种子"),
        "done": say("done", "完成"),
    }[key]


def run_chapter(
    *,
    seeds: Sequence[int] = tuple(range(20)),
    data_path: str | None = None,
    data: Airfoil | None = None,
    allow_download: bool = True,
    progress: Progress | None = None,
    data_progress: Callable[[int, int | None], None] | None = None,
    exercises: bool = False,
    schedules: bool = False,
    say: Lang = EN,
    helper: Helper = NO_HELPER,
    on_plane: Callable[[PlaneResults], None] | None = None,
    on_trained: Callable[[chapter.AirfoilSection], None] | None = None,
) -> ChapterResults:
    """Every experiment of the chapter; the airfoil section is skipped (with the reason) if no data.

    ``data`` (already loaded) takes precedence over finding the file from ``data_path``.  ``progress``
    gets each section's :func:`section_label` in ``say``'s language; ``seconds`` is keyed by section.
    ``helper`` takes part of the work (see :mod:`descentlab.parallel`); the records are the same without.
    ``on_plane`` is given the 2D sections as soon as they are done (the CLI starts drawing their figures),
    ``on_trained`` the airfoil section once its runs are trained (see :func:`~descentlab.chapter.sections.airfoil_section`).
    """
    seeds = tuple(seeds)
    records: dict[str, Any] = {}
    sections: list[tuple[str, Callable[[], Any]]] = [  # ChapterResults field (= section key), computation
        ("traces", chapter.check_traces),
        # the sections below draw the very trajectories the first one checked
        ("ill_conditioning", lambda: chapter.ill_conditioning(records["traces"])),
        ("preconditioning", lambda: chapter.preconditioning(records["traces"])),
        ("momentum", lambda: chapter.momentum_section(records["traces"])),
        ("adaptive", lambda: chapter.adaptive_section(records["traces"])),
        ("sweep", rate_sweep),
    ]
    total = len(sections) + 1 + 2 * int(exercises) + int(schedules)
    progressed = progress or (lambda label, done, total: None)

    def report(key: str, done: int, total: int) -> None:
        progressed(section_label(key, len(seeds), say), done, total)

    seconds: dict[str, float] = {}
    for index, (label, compute) in enumerate(sections):
        report(label, index, total)
        started = time.perf_counter()
        records[label] = compute()
        seconds[label] = time.perf_counter() - started
    if on_plane is not None:
        on_plane(PlaneResults(**records))
    label = "airfoil"
    report(label, len(sections), total)
    started = time.perf_counter()
    airfoil, error = None, None
    try:
        if data is None:
            data = load_airfoil(data_path, allow_download=allow_download, progress=data_progress)
        airfoil = chapter.airfoil_section(data, seeds, helper=helper, on_trained=on_trained)
    except DataError as problem:
        error = str(problem)
    seconds[label] = time.perf_counter() - started
    answered, maps = None, []
    if exercises:
        label = "stability"
        report(label, len(sections) + 1, total)
        started = time.perf_counter()
        maps = stability_maps()
        seconds[label] = time.perf_counter() - started
        label = "exercises"
        report(label, len(sections) + 2, total)
        started = time.perf_counter()
        answered = run_exercises(data)  # the airfoil exercise only when the data loaded
        seconds[label] = time.perf_counter() - started
    scheduled, scheduled_error = None, None
    if schedules:
        label = "schedules"
        report(label, total - 1, total)
        started = time.perf_counter()
        if airfoil is not None:
            scheduled = schedule_section(data, seeds)
        else:
            scheduled_error = error
        seconds[label] = time.perf_counter() - started
    report("done", total, total)
    return ChapterResults(
        **records,
        airfoil=airfoil,
        airfoil_error=error,
        seeds=seeds,
        seconds=seconds,
        environment=environment(),
        exercises=answered,
        stability=maps,
        schedules=scheduled,
        schedules_error=scheduled_error,
    )
