"""The report's sentences about measured numbers, computed from the records they describe.

Every function here takes records and returns plain text (the report escapes
it): what the gap to the optimum is, what the AdaDelta decomposition shows, what
the effective learning rates do, how the timings compare, and whether the data
is the published file.  Nothing here is fixed text about a result.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ..airfoil.data import AIRFOIL_SHA1
from ..airfoil.train import INITS
from ..lab.trajectory import Trajectory
from ..plotting.landscape import trajectory_label
from .describe import SeriesShape, series_shape, shape_words
from .sections import AdaDeltaDecomposition, AirfoilCheck, AirfoilSection

FAR = 0.005
"""A run whose mean final loss is more than this above the optimum is named as ending far from it."""
SHARE = 0.8
"""One difference "explains" the AdaDelta gap when it alone gives at least this share of it."""
CODE_NOISE = 1e-5
"""Our rule and torch's class "make no difference" when no seed's final loss differs by more than this."""
EDGE = 0.01
"""An effective learning rate within this relative distance of 2/λ is "at the edge of stability"."""


def data_note(section: AirfoilSection) -> str | None:
    """None for the published file; else what differs, in one sentence."""
    if section.data_published:
        return None
    return (f"Not the published data: {section.data_path} has SHA-1 {section.data_sha1}, not {AIRFOIL_SHA1} (the file "
            "the notes used). The notes' numbers come from the published file, so a difference below may be the "
            "data's doing, not the optimizers'.")


def gap_sentence(checks: Sequence[AirfoilCheck], optimum: float) -> str:
    """Where the runs end relative to the optimum, from every seed of every run."""
    finite = [c for c in checks if not c.run.diverged]
    diverged = [c.reference.label() for c in checks if c.run.diverged]
    parts = []
    if finite:
        gaps = [g for c in finite for g in c.run.gap]
        low, high = min(gaps), max(gaps)
        where = "above it" if low >= 0 else "from it (a negative gap is below the optimum, which no run can reach)"
        runs = "every run" if not diverged else "every run that did not diverge"
        parts.append(f"Every seed of {runs} ends between {low:+.4f} and {high:+.4f} {where}")
        far = [c for c in finite if c.run.mean_gap > FAR]
        named = "; ".join(f"{c.reference.label()} ({c.run.mean_gap:+.4f})" for c in far)
        if not far:
            parts.append(f"every run's mean lies within {FAR:g} of it")
        elif len(far) == len(finite):
            parts.append(f"no run's mean lies within {FAR:g} of it: {named}")
        else:
            parts.append(f"the mean lies within {FAR:g} of it for {len(finite) - len(far)} of the {len(checks)} runs, "
                         f"and further above for {named}")
    sentence = "; ".join(parts) + "." if parts else ""
    if diverged:
        sentence += f" Diverged (a seed's loss left the finite numbers): {', '.join(diverged)}."
    return sentence.strip()


def number(value: float) -> str:
    """``1e-6``, ``0.9``: a hyperparameter as a person writes it."""
    return f"{value:g}".replace("e-0", "e-").replace("e+0", "e+")


def _share(part: float, whole: float) -> float:
    return part / whole if whole else math.nan


def adadelta_case(d: AdaDeltaDecomposition) -> str:
    """Which difference explains the gap: "eps", "init" (each alone at least SHARE of it, the other little),
    "additive" (the two alone add up to it, within 1 - SHARE) or "together" (it appears only when both change)."""
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    if eps >= SHARE and abs(init) < 1 - SHARE:
        return "eps"
    if init >= SHARE and abs(eps) < 1 - SHARE:
        return "init"
    if abs(eps + init - 1) <= 1 - SHARE:
        return "additive"
    return "together"


def adadelta_headline(d: AdaDeltaDecomposition) -> str:
    """The AdaDelta panel's title: which of the two differences explains the gap, by the numbers."""
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    return "AdaDelta: " + {
        "eps": "eps alone explains the gap",
        "init": "the initialization alone explains the gap",
        "additive": f"eps ({eps:.0%}) and the initialization ({init:.0%}) add up",
        "together": "eps and initialization together, neither alone",
    }[adadelta_case(d)]


def adadelta_explanation(d: AdaDeltaDecomposition) -> str:
    """The decomposition in sentences: each difference alone, both, the interaction, and the code's share."""
    runs = len(d.cell("own", "own", d.notes_eps).run.seeds)
    eps, init = _share(d.eps_alone, d.both), _share(d.init_alone, d.both)
    start_own = statistics.fmean(r[0] for r in d.cell("own", "own", d.notes_eps).run.losses)
    start_torch = statistics.fmean(r[0] for r in d.cell("own", "torch", d.notes_eps).run.losses)
    text = (
        f"One difference at a time, over the same {runs} seeds (mean final loss): the notes' own setting "
        f"{d.baseline:.4f}; torch's ε alone {d.baseline + d.eps_alone:.4f} ({d.eps_alone:+.4f}); torch's initialization "
        f"alone {d.baseline + d.init_alone:.4f} ({d.init_alone:+.4f}); both {d.baseline + d.both:.4f} ({d.both:+.4f}). "
    )
    text += {
        "eps": f"ε alone gives {eps:.0%} of the gap, the initialization alone {init:.0%}. ",
        "init": f"The initialization alone gives {init:.0%} of the gap, ε alone {eps:.0%}. ",
        "additive": f"The two add up: ε alone gives {eps:.0%} of the gap, the initialization alone {init:.0%}. ",
        "together": (f"So neither explains it alone: ε alone gives {eps:.0%} of the gap, the initialization alone "
                     f"{init:.0%}, and the remaining {1 - eps - init:.0%} appears only when both change. "),
    }[adadelta_case(d)]
    if d.code_difference <= CODE_NOISE:
        text += (f"The code makes no difference: our rule and torch.optim.Adadelta with the same ε and start end within "
                 f"{d.code_difference:.1e} of each other on every seed (float32 rounding). ")
    else:
        text += (f"Our rule and torch.optim.Adadelta with the same ε and start differ by up to {d.code_difference:.1e} "
                 "in a seed's final loss. ")
    text += (f"AdaDelta's first step is about √(ε/(1−ρ)) per coordinate whatever the gradient: "
             f"{math.sqrt(d.notes_eps / d.torch_eps):.1f} times shorter with ε = {number(d.torch_eps)}, and its steps "
             f"grow only as they accumulate. nn.Linear's start ({INITS['torch']}) has mean loss {start_torch:.3f} at "
             f"epoch 0, the notes' start {start_own:.3f}")
    interaction = d.both - d.eps_alone - d.init_alone
    if start_torch > start_own and interaction > 0:
        text += ": from farther away, the slow start costs more."
    else:
        text += "."
    return text


def effective_lr_words(trajectories: Sequence[Trajectory], rates: Sequence[Sequence[tuple[float, float]]],
                       curvatures: Sequence[float]) -> list[tuple[str, list[tuple[str, SeriesShape, str]]]]:
    """Per run: its label and, per coordinate, its name, shape and words (with 2/λ when the rate ends there).

    ``curvatures`` are the objective's curvatures along x1 and x2 (a diagonal Hessian).
    """
    described = []
    for trajectory, series in zip(trajectories, rates):
        coordinates = []
        for index, curvature in enumerate(curvatures):
            shape = series_shape([step[index] for step in series])
            edge = 2 / curvature
            note = (f"= 2/λ{index + 1}, the edge of stability (x{index + 1} flips sign every step)"
                    if abs(shape.last - edge) <= EDGE * edge else "")
            words = shape_words(shape, end_note=note)
            coordinates.append((f"x{index + 1}", shape, words))
        described.append((trajectory_label(trajectory), coordinates))
    return described


def effective_lr_caption(described: list[tuple[str, list[tuple[str, SeriesShape, str]]]], steps: int) -> str:
    runs = "; ".join(f"{label}: " + ", ".join(f"{name} {words}" for name, _, words in coordinates)
                     for label, coordinates in described)
    return f"Left: per-coordinate effective learning rate −Δx/g over {steps} steps (log scale). {runs}."


def settles_sentence(trajectory: Trajectory) -> str:
    """Whether a long run stays at its best value: ``f is 1.1e-05 at step 20 and 0.084 after 200 steps``."""
    values = trajectory.values
    best = min(range(len(values)), key=lambda i: values[i])
    final = values[-1]
    if final <= 10 * values[best] or final < 1e-12:
        return f"f falls to {final:.2g} after {len(values) - 1} steps"
    return (f"the path does not stay near the minimum: f reaches {values[best]:.2g} at step {best} and is back up to "
            f"{final:.2g} after {len(values) - 1} steps, at ({trajectory.final[0]:.3g}, {trajectory.final[1]:.3g})")


def timing_sentence(checks: Sequence[AirfoilCheck]) -> str:
    """What the epoch-times figure shows, with the measured ranges; says which numbers come from elsewhere."""
    notes = [c.reference.sec_per_epoch for c in checks]
    ours = [c.run.sec_per_epoch for c in checks]
    seeds = len(checks[0].run.seeds)
    text = (f"The notes printed {min(notes):.3f}–{max(notes):.3f} s per epoch: measured on their machine, with their "
            "versions, not comparable with anything measured here. ")
    if all(c.notes_loop is not None for c in checks):
        loop = [c.notes_loop.epoch_times[-1] for c in checks]
        ratios = sorted(a / b for a, b in zip(loop, ours))
        text += (f"On this machine, in this run, the notes' own loop (one seed, one epoch per row: not a median) took "
                 f"{min(loop):.4f}–{max(loop):.4f} s per epoch and descentlab {min(ours):.4f}–{max(ours):.4f} s for "
                 f"all {seeds} seeds at once: {ratios[0]:.1f}×–{ratios[-1]:.1f}× less time (median "
                 f"{statistics.median(ratios):.1f}×) for {seeds} times the seeds. "
                 "descentlab bench airfoil gives medians over repeated runs.")
    else:
        text += f"descentlab took {min(ours):.4f}–{max(ours):.4f} s per epoch here, all {seeds} seeds at once."
    return text


__all__ = [
    "EDGE",
    "FAR",
    "SHARE",
    "adadelta_case",
    "adadelta_explanation",
    "adadelta_headline",
    "data_note",
    "effective_lr_caption",
    "effective_lr_words",
    "gap_sentence",
    "number",
    "settles_sentence",
    "timing_sentence",
]
