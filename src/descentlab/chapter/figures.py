"""Figures of the notes' twelve airfoil runs: seed distributions against the notes' values, and time per epoch."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.patches import Patch

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
    """Per run, the final loss's gap to the least-squares optimum over seeds as a box (whiskers: min to max), the
    notes' value as a red diamond, and beside each box the verdict's prediction interval as a black bar (none below
    the rule's minimum of seeds), on a log scale of the gap: a run whose seeds spread over ten times the others'
    (torch's AdaDelta) takes its own decade instead of squeezing the rest into a band.  An interval reaching below
    the axis (down to the optimum or under it) ends in an arrow at the bottom, and one reaching far above the seeds
    (a wide interval from few seeds) in an arrow at the top."""
    gaps = [[max(v - optimum, 0.0) for v in check.run.final_loss] for check in checks]
    notes = [check.reference.final_loss - optimum for check in checks]
    positions = list(range(1, len(checks) + 1))
    positive = [v for g in gaps for v in g if v > 0] + [v for v in notes if v > 0]
    judged = [(p, c.interval) for p, c in zip(positions, checks) if c.interval is not None]
    highs = [i.high - optimum for _, i in judged]
    bottom = min(positive) / 4 if positive else 1e-6
    # the axis is the seeds' and the notes': an interval reaching far above them (few seeds give wide ones) is cut at
    # the top and ends in an arrow there, as one reaching below does at the bottom
    top = max(positive) * 4 if positive else max(highs + [1.0])
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    boxes = ax.boxplot([[max(v, bottom) for v in g] for g in gaps], positions=positions, whis=(0, 100), widths=0.5,
                       patch_artist=True, medianprops={"color": "black"})
    for patch, check in zip(boxes["boxes"], checks):
        patch.set_facecolor(OWN_COLOR if check.reference.impl == "own" else TORCH_COLOR)
        patch.set_alpha(0.55)
    artists: list[Artist] = [*boxes["boxes"]]
    level = percent(LEVEL)
    if judged:
        lows = [i.low - optimum for _, i in judged]
        artists.append(ax.vlines([p + 0.36 for p, _ in judged], [max(low, bottom) for low in lows],
                                 [min(high, top) for high in highs], color=INTERVAL_COLOR, linewidth=2.5,
                                 label=say(f"{level} prediction interval (the verdict's rule)", f"{level} 预测区间（判定规则）")))
        clipped = [p + 0.36 for (p, _), low in zip(judged, lows) if low <= bottom]
        if clipped:
            artists += ax.plot(clipped, [bottom] * len(clipped), "v", color=INTERVAL_COLOR, markersize=6, clip_on=False,
                               label=say("interval reaches below the axis", "区间延伸到坐标轴以下"))
        above = [p + 0.36 for (p, _), high in zip(judged, highs) if high > top]
        if above:
            artists += ax.plot(above, [top] * len(above), "^", color=INTERVAL_COLOR, markersize=6, clip_on=False,
                               label=say("interval reaches above the axis", "区间延伸到坐标轴以上"))
    artists += ax.plot(positions, [max(v, bottom) for v in notes], "D", color=NOTES_COLOR, markersize=6,
                       label=say("the notes' printed value", "笔记打印的值"))
    ax.set_xticks(positions, [check_label(c) for c in checks], rotation=60, ha="right", fontsize=7)
    ax.set_xlim(0.4, len(checks) + 0.8)
    best = f"{optimum:.6f}"
    ax.set_ylabel(say(f"final loss − optimum {best}\n(2 epochs, log scale)", f"最终损失 − 最优值 {best}\n（2 个迭代周期，对数坐标）"),
                  fontsize=9)
    ax.grid(axis="y", which="major", color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    handles, labels = ax.get_legend_handles_labels()
    kinds = [Patch(facecolor=OWN_COLOR, alpha=0.55, edgecolor="black", label=say("own (seeds: box)", "自己的实现（各种子：箱体）")),
             Patch(facecolor=TORCH_COLOR, alpha=0.55, edgecolor="black", label=say("torch.optim (seeds: box)", "torch.optim（各种子：箱体）"))]
    artists.append(ax.legend(handles=kinds + handles, labels=[k.get_label() for k in kinds] + labels, fontsize=7.5,
                             loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=5, frameon=False, borderaxespad=0.0,
                             handlelength=1.6, columnspacing=1.0))
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
