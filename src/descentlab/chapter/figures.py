"""Figures of the notes' twelve airfoil runs: seed distributions against the notes' values, and time per epoch."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..lang import EN, Lang
from .rule import LEVEL, percent
from .sections import AirfoilCheck

OWN_COLOR = "#1f77b4"
TORCH_COLOR = "#ff7f0e"
NOTES_COLOR = "#d62728"
NOTES_LOOP_COLOR = "0.45"
INTERVAL_COLOR = "0.25"


def check_label(check: AirfoilCheck) -> str:
    return check.reference.label(separator="\n")


def draw_seed_distributions(ax: Axes, checks: Sequence[AirfoilCheck], optimum: float, say: Lang = EN) -> list[Artist]:
    """A box of final losses over seeds per run (whiskers: min to max), the notes' value as a red diamond, and
    beside each box the verdict's prediction interval as a black bar (none below the rule's minimum of seeds)."""
    data = [check.run.final_loss for check in checks]
    positions = list(range(1, len(checks) + 1))
    boxes = ax.boxplot(data, positions=positions, whis=(0, 100), widths=0.5, patch_artist=True,
                       medianprops={"color": "black"})
    for patch, check in zip(boxes["boxes"], checks):
        patch.set_facecolor(OWN_COLOR if check.reference.impl == "own" else TORCH_COLOR)
        patch.set_alpha(0.55)
    artists: list[Artist] = [*boxes["boxes"]]
    level, best = percent(LEVEL), f"{optimum:.6f}"
    judged = [(p, c.interval) for p, c in zip(positions, checks) if c.interval is not None]
    if judged:
        artists.append(ax.vlines([p + 0.36 for p, _ in judged], [i.low for _, i in judged], [i.high for _, i in judged],
                                 color=INTERVAL_COLOR, linewidth=2.5,
                                 label=say(f"{level} prediction interval (the verdict's rule)", f"{level} 预测区间（判定规则）")))
    artists += ax.plot(positions, [c.reference.final_loss for c in checks], "D", color=NOTES_COLOR, markersize=6,
                       label=say("the notes' printed value", "笔记打印的值"))
    artists.append(ax.axhline(optimum, color="0.3", linestyle="--", linewidth=1,
                              label=say(f"least-squares optimum {best}", f"最小二乘最优值 {best}")))
    ax.set_xticks(positions, [check_label(c) for c in checks], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(say("final loss (2 epochs)", "最终损失（2 个迭代周期）"))
    artists.append(ax.legend(fontsize=8, loc="upper left"))
    return artists


def draw_epoch_times(ax: Axes, checks: Sequence[AirfoilCheck], say: Lang = EN) -> list[Artist]:
    """Seconds per epoch: what the notes printed (their machine), the notes' loop here (if it ran), and ours."""
    positions = list(range(1, len(checks) + 1))
    looped = all(c.notes_loop is not None for c in checks)
    bars = 3 if looped else 2
    width = 0.8 / bars
    offsets = [(i - (bars - 1) / 2) * width for i in range(bars)]
    artists: list[Artist] = [
        ax.bar([p + offsets[0] for p in positions], [c.reference.sec_per_epoch for c in checks], width,
               color=NOTES_COLOR, alpha=0.7, label=say("printed in the notes (their machine, one seed)", "笔记打印的（作者的机器，一个种子）"))
    ]
    if looped:
        artists.append(ax.bar([p + offsets[1] for p in positions], [c.notes_loop.epoch_times[-1] for c in checks], width,
                              color=NOTES_LOOP_COLOR, alpha=0.8, label=say("the notes' loop on this machine (one seed)", "笔记的训练循环在本机（一个种子）")))
    seeds = len(checks[0].run.seeds)
    artists.append(ax.bar([p + offsets[-1] for p in positions], [c.run.sec_per_epoch for c in checks], width,
                          color=OWN_COLOR, alpha=0.8,
                          label=say(f"descentlab on this machine ({seeds} seeds at once)",
                                    f"descentlab 在本机（同时 {seeds} 个种子）")))
    ax.set_xticks(positions, [check_label(c) for c in checks], rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(say("seconds per epoch (last epoch)", "每个迭代周期的秒数（最后一个）"))
    artists.append(ax.legend(fontsize=8))
    return artists
