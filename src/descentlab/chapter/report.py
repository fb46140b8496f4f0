"""Turn :class:`~descentlab.chapter.reproduce.ChapterResults` into a report on disk.

``write_report(results, out_dir)`` writes ``index.html``, ``figures/*.svg``,
``results.json`` and ``results.csv``.  Everything is built in a temporary
directory beside ``out_dir`` and moved into place at the end, so an interrupted
run leaves the previous report (or nothing), never half of one.  An existing
``out_dir`` is replaced only if it holds a previous report (or nothing).
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import math
import shlex
from collections.abc import Callable, Collection, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..algorithms import REGISTRY
from ..algorithms.spec import format_hyperparameters
from ..files import write_directory
from .files import EXPLORER, REPORT_FILES, check_destination
from ..lang import EN, Lang, lang
from ..parallel import NO_HELPER, Helper, Task, collect
from ..plotting.fonts import figure_fonts
from ..plotting.layout import TITLED, Margins, colorbar_axes, fixed_grid
from ..lab.objectives import OBJECTIVES
from .figures import OWN_COLOR, TORCH_COLOR, draw_epoch_times, draw_seed_distributions
from ..plotting.landscape import draw_landscape, trajectory_label
from ..plotting.theory import (
    draw_bias_correction,
    draw_convergence,
    draw_effective_lr,
    draw_ema_weights,
    draw_gd_rate_sweep,
    draw_momentum_rate_map,
)
from ..plotting.exercises import draw_exercise
from ..plotting.schedules import draw_final_gaps, draw_lr_schedules
from ..plotting.stability import decades, draw_stability_map, stability_colorbar, stability_scale
from ..plotting.training import plot_losses
from ..explore import notes_page, page_hash
from ..notes.reference import LEAST_SQUARES_OPTIMUM, NOTES_TRACES
from .exercise_words import conclusion, figure_caption, title
from .reproduce import STATUSES, ChapterResults, PlaneResults, Verdict, section_label
from .rule import FAMILY_LEVEL, LEVEL, MIN_SEEDS, percent, rule_text
from .schedule_section import ALGORITHM as SCHEDULED_ALGORITHM
from .schedule_section import HYPERPARAMETERS as SCHEDULED_HYPERPARAMETERS
from .schedule_words import coincidence_words, schedule_conclusion, schedule_label, schedule_title
from .words import (
    adadelta_explanation,
    adadelta_headline,
    data_note,
    effective_lr_caption,
    effective_lr_words,
    gap_sentence,
    number,
    rule_explanation,
    settles_sentence,
    timing_sentence,
)
from ..lab.trajectory import Trajectory

NOTES = OBJECTIVES["notes"]

# the margins of each kind of figure (see descentlab.plotting.layout), in inches
AIRFOIL_CURVES = Margins(top=0.7, across=0.87, down=1.12)  # each panel's legend between its title and its axes
EXERCISE = Margins(left=0.85, top=0.27)
RUN_NAMES_BELOW = Margins(left=0.77, bottom=1.41)  # the run names, turned by 60°
DISTRIBUTIONS = Margins(left=0.9, bottom=1.41, top=0.32)  # and the legend in one row above
SCHEDULES = Margins(left=0.87, bottom=0.68)
STABILITY = Margins(left=0.75, right=1.08, top=0.27, across=0.88)  # and a colorbar at the right
TWO_LINE_TITLES = Margins(top=0.47)  # the momentum traces' titles


def _landscapes(panels: list[tuple[str, list[Trajectory]]], say: Lang, columns: int = 2,
                margins: Margins = TITLED) -> Figure:
    rows = (len(panels) + columns - 1) // columns
    figure, axes = fixed_grid((5.6 * columns, 3.9 * rows), rows, columns, margins)
    for ax, (title, trajectories) in zip(axes, panels):
        draw_landscape(ax, NOTES, trajectories, say=say)
        ax.set_title(title, fontsize=9.5)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return figure


def _pair(left: Callable[[Any], Any], right: Callable[[Any], Any], margins: Margins = Margins()) -> Figure:
    figure, (a, b) = fixed_grid((11.2, 4.0), 1, 2, margins)
    left(a)
    right(b)
    return figure


Builders = dict[str, Callable[[], Figure]]
"""A set of figures by file stem, each built when called."""


def build_figures(results: ChapterResults, say: Lang = EN) -> dict[str, Figure]:
    """Every figure of the report by file stem, its words in ``say``'s language."""
    return {stem: build() for stem, build in (_plane_builders(results, say) | _later_builders(results, say)).items()}


def _plane_builders(plane: PlaneResults, say: Lang) -> Builders:
    """The figures of the 2D sections: they exist before the airfoil runs do (see :func:`start_figures`)."""
    ill, pre, mom, ada, sweep = (plane.ill_conditioning, plane.preconditioning, plane.momentum,
                                 plane.adaptive, plane.sweep)
    bound = f"{ill.theory.gd_max_lr:g}"

    def gd_title(t: Trajectory) -> str:
        lr = f"{t.hyperparameters['lr']:g}"
        if t.hyperparameters["lr"] < ill.theory.gd_max_lr:
            return say(f"gradient descent, lr {lr} (below 2/λmax = {bound})", f"梯度下降，学习率 {lr}（低于 2/λmax = {bound}）")
        return say(f"gradient descent, lr {lr} (above 2/λmax = {bound})", f"梯度下降，学习率 {lr}（高于 2/λmax = {bound}）")

    def momentum_title(t: Trajectory) -> str:
        hp = t.hyperparameters
        lr, beta, f = f"{hp['lr']:g}", f"{hp['momentum']:g}", f"{t.values[-1]:.2g}"
        title = say(f"momentum, lr {lr}, β {beta}: ends at f = {f}", f"动量法，学习率 {lr}，β {beta}：最终 f = {f}")
        gd = next((g for g in (ill.stable, ill.unstable) if g.hyperparameters["lr"] == hp["lr"]), None)
        if gd is None:
            return title
        gd_f = f"{gd.values[-1]:.3g}"
        return title + say(f"\n(GD at this lr: f = {gd_f})", f"\n（同一学习率下的梯度下降：f = {gd_f}）")

    label = functools.partial(trajectory_label, say=say)
    return {
        "ill_conditioning": lambda: _landscapes([(gd_title(t), [t]) for t in (ill.stable, ill.unstable)], say),
        "preconditioning": lambda: _pair(
            lambda ax: draw_landscape(ax, NOTES, [pre.gradient_descent, pre.newton], say=say),
            lambda ax: draw_convergence(ax, [pre.gradient_descent, pre.newton], say=say)),
        "momentum_traces": lambda: _landscapes([(momentum_title(t), [t]) for t in mom.traces], say,
                                               margins=TWO_LINE_TITLES),
        "momentum_theory": lambda: _pair(lambda ax: draw_landscape(ax, NOTES, [mom.traces[0], mom.ema], say=say),
                                         lambda ax: draw_ema_weights(ax, mom.betas, say=say)),
        "adaptive_traces": lambda: _landscapes([(label(t), [t]) for t in ada.trajectories], say, columns=3),
        "adaptive_theory": lambda: _pair(
            lambda ax: draw_effective_lr(ax, ada.long_runs, ada.long_effective_lr, say=say),
            lambda ax: draw_bias_correction(ax, REGISTRY["adam"].defaults["betas"], say=say)),
        "rate_sweep": lambda: _pair(lambda ax: draw_gd_rate_sweep(ax, sweep, say=say),
                                    lambda ax: draw_momentum_rate_map(ax, sweep, say=say)),
    }


def _later_builders(results: ChapterResults, say: Lang) -> Builders:
    """The figures after the 2D sections: the airfoil runs, the stability maps, the exercises, the schedules."""
    builders: Builders = {}
    if results.airfoil is not None:
        builders |= _airfoil_builders(results.airfoil, say)
    for algorithm in dict.fromkeys(m.algorithm for m in results.stability):
        maps = [m for m in results.stability if m.algorithm == algorithm]
        builders[f"stability_{algorithm}"] = functools.partial(_stability_figure, maps, say,
                                                               stability_scale(results.stability))
    for exercise in results.exercises or []:
        if exercise.experimental:
            builders[exercise_stem(exercise)] = functools.partial(exercise_figure, exercise, say)
    if results.schedules is not None:
        builders["schedules"] = functools.partial(_schedules_figure, results.schedules, say)
    return builders




def _schedules_figure(section: Any, say: Lang) -> Figure:
    labels = [schedule_title(r.plan.name, say) for r in section.runs]
    return _pair(lambda ax: draw_lr_schedules(ax, labels, [r.rates for r in section.runs], say=say),
                 lambda ax: draw_final_gaps(ax, labels, [r.run.gap for r in section.runs], say=say), SCHEDULES)


def _schedules_html(results: ChapterResults, say: Lang) -> str:
    section = results.schedules
    heading = say("<h2>6c. Learning-rate schedules</h2>", "<h2>6c. 学习率调度</h2>")
    if section is None:
        if results.schedules_error is None:
            return ""
        error = _e(results.schedules_error)
        return heading + say(f"<p class=note><b>Not run:</b> the schedules run on the airfoil data: {error}.</p>",
                             f"<p class=note><b>未运行：</b>学习率调度的实验使用翼型噪声数据：{error}。</p>")
    seeds, steps = len(section.runs[0].run.seeds), section.steps
    rows = "".join(
        f"<tr><td>{_e(schedule_label(r.plan, say))}</td><td class=num>{r.rates[0]:.4g}</td>"
        f"<td class=num>{max(r.rates):.4g}</td><td class=num>{r.rates[-1]:.3g}</td><td class=num>{r.median_gap:.2e}</td>"
        f"<td class=num>{r.spread:.2e}</td></tr>"
        for r in section.runs
    )
    run = f"{_e(SCHEDULED_ALGORITHM)} {_e(format_hyperparameters(SCHEDULED_HYPERPARAMETERS))}"
    words = _e(schedule_conclusion(section, say))
    shared = coincidence_words(section, say)
    return "\n".join([
        heading,
        say(f"<p>d2l 11.11's schedules, each a <code>torch.optim.lr_scheduler</code> scheduler, on the notes' airfoil run "
            f"{run} (minibatches of 10, {steps} steps), {seeds} seeds per schedule in one batch. "
            f"<span id=schedule-words>{words}</span></p>",
            f"<p>d2l 11.11 节的各种学习率调度（每种都是一个 <code>torch.optim.lr_scheduler</code> 调度器），用在笔记的"
            f"翼型噪声实验 {run} 上（小批量大小 10，{steps} 步），每种调度 {seeds} 个种子，在一个批次中一起运行。"
            f"<span id=schedule-words>{words}</span></p>"),
        say("<div class=scroll><table><tr><th>schedule</th><th>first lr</th><th>largest lr</th><th>last lr</th>"
            "<th>median final loss − optimum</th><th>spread over seeds (max − min)</th></tr>",
            "<div class=scroll><table><tr><th>调度</th><th>最初的学习率</th><th>最大的学习率</th><th>最后的学习率</th>"
            "<th>最终损失 − 最优值（中位数）</th><th>各种子的散布（最大 − 最小）</th></tr>") + rows + "</table></div>",
        _figure("schedules", say.sentences(
            say(f"Left: the learning rate of each step; {shared}", f"左：每一步的学习率；{shared}")
            if shared else say("Left: the learning rate of each step.", "左：每一步的学习率。"),
            say(f"Right: final loss − least-squares optimum over {seeds} seeds per schedule (box: quartiles, whiskers: "
                "min–max; log scale).",
                f"右：每种调度 {seeds} 个种子的最终损失 − 最小二乘最优值（箱体：四分位数，须线：最小–最大；对数坐标）。")),
            say=say),
    ])


def _stability_figure(maps: list[Any], say: Lang, scale: tuple[float, float]) -> Figure:
    """A figure per algorithm, every map of the report on one colour ``scale`` (:func:`stability_scale`)."""
    figure, axes = fixed_grid((11.2, 3.9), 1, len(maps), STABILITY)
    meshes = [draw_stability_map(ax, record, say=say, scale=scale)[0] for ax, record in zip(axes, maps)]
    stability_colorbar(figure, meshes[0], colorbar_axes(figure, axes), scale, maps[0].steps, say)
    return figure


def _stability_html(results: ChapterResults, say: Lang) -> str:
    if not results.stability:
        return ""
    steps = results.stability[0].steps
    gained = [q for m in results.stability for row in decades(m) for q in row if math.isfinite(q)]
    low_ratio, high_ratio = f"{10 ** min(gained):.2g}", f"{10 ** max(gained):.2g}"
    shares = say.join(say(f"{m.algorithm} on {m.objective} {m.diverged_share:.0%}",
                          f"{m.algorithm} 在 {m.objective} 上 {m.diverged_share:.0%}") for m in results.stability)
    parts = [say("<h2>6b. Stability and rate maps of the adaptive methods</h2>", "<h2>6b. 自适应方法的稳定性与收敛速率图</h2>"),
             say(f"<p>Each map is one batched run per (algorithm, objective): every cell runs the registry's rule {steps} "
                 f"steps from the objective's start. The colour is how far it got: the distance to the minimum after "
                 f"{steps} steps over the distance at the start, from {low_ratio} to {high_ratio} in these maps, on one "
                 "scale for all of them (blue: it shrank, white: it barely moved, red: it grew, black: it diverged; the "
                 "scale is logarithmic in the decades gained, so a tenth of a decade and a hundred both show). The black "
                 f"line labelled “rate 1” is the measured boundary where the runs stop contracting. Runs that left the "
                 f"finite numbers or passed 1e12: {shares}. Where the cells oscillate instead of diverging, the adaptive "
                 "denominator grows with the gradients and holds the step size back.</p>",
                 f"<p>每张图对每个（算法，目标函数）只做一次批量运行：每个格子从目标函数的初始点出发，按注册表里的更新规则"
                 f"迭代 {steps} 步。颜色表示走了多远：{steps} 步后到最小值的距离除以起点处的距离，这些图中从 {low_ratio} 到 "
                 f"{high_ratio}，所有图共用一个色标（蓝：缩小，白：几乎没动，红：变大，黑：发散；色标按缩小的数量级取对数，"
                 "所以十分之一个数量级和一百个数量级都看得出）。标有“速率 1”的黑线是测得的边界，即不再收缩的地方。"
                 f"离开有限数范围或超过 1e12 的运行：{shares}。格子振荡而不发散的地方，是自适应的分母随梯度一起变大，"
                 "压住了步长。</p>")]
    for algorithm in dict.fromkeys(m.algorithm for m in results.stability):
        maps = [m for m in results.stability if m.algorithm == algorithm]
        words = say("; ", "；").join(say(f"best rate on {m.objective} {b:.3g}", f"在 {m.objective} 上的最佳速率 {b:.3g}")
                                     for b, m in ((min(min(row) for row in m.rate), m) for m in maps))
        name, x_name, y_name = REGISTRY[algorithm].title, maps[0].x_name, maps[0].y_name
        parts.append(_figure(f"stability_{algorithm}", say(f"{name} over ({x_name}, {y_name}): {words}.",
                                                           f"{name} 在 ({x_name}, {y_name}) 上：{words}。"), say=say))
    return "\n".join(parts)


def exercise_stem(exercise: Any) -> str:
    return "exercise_" + exercise.key.replace("-", "_")


def exercise_figure(exercise: Any, say: Lang = EN) -> Figure:
    """One exercise's figure (the report's and ``descentlab exercises --out``'s)."""
    figure, (ax,) = fixed_grid((6.4, 3.8), margins=EXERCISE)
    draw_exercise(ax, exercise, say=say)
    return figure


def _exercises_html(results: ChapterResults, say: Lang) -> str:
    heading = say("<h2>7. Exercises</h2>", "<h2>7. 练习</h2>")
    if results.exercises is None:
        return heading + say("<p>Not run in this report: <code>descentlab reproduce --exercises</code> adds them, "
                             "<code>descentlab exercises</code> runs them alone.</p>",
                             "<p>本报告没有运行练习：<code>descentlab reproduce --exercises</code> 会加上它们，"
                             "<code>descentlab exercises</code> 单独运行它们。</p>")
    parts = [heading,
             say("<p>The exercises at the end of d2l's momentum, AdaGrad, RMSProp, AdaDelta and Adam sections. Each "
                 "experimental one is answered by a run of the registry's rules; its conclusion is computed from the "
                 "numbers shown. The others are listed as not experimental, with a sketch.</p>",
                 "<p>d2l 中动量法、AdaGrad算法、RMSProp算法、AdaDelta算法和Adam算法各节末尾的练习。能用实验回答的，"
                 "都用注册表里的更新规则跑一次来回答，结论由所示的数字算出；其余的列为非实验题，并附上思路。</p>")]
    for exercise in results.exercises:
        if exercise.experimental:
            parts.append(f"<h3>{_e(title(exercise, say))}</h3><p>{_e(conclusion(exercise, say))}</p>")
            parts.append(_figure(exercise_stem(exercise), figure_caption(exercise, say), say=say))
    proofs = [e for e in results.exercises if not e.experimental]
    if proofs:
        parts.append(say("<h3>Not experimental</h3>", "<h3>非实验题</h3>") + "<ul>" + "".join(
            f"<li><b>{_e(title(e, say))}</b> {_e(conclusion(e, say))}</li>" for e in proofs) + "</ul>")
    return "\n".join(parts)


def _loss_limits(runs: list[Any], optimum: float) -> tuple[float, float]:
    """From just below the optimum to a little above the largest final loss: the ends of the curves, not their starts."""
    top = max(max(r.final_loss) for r in runs)
    return optimum - 0.005, top + max(0.25 * (top - optimum), 0.005)


def _trained_builders(section: Any, say: Lang) -> Builders:
    """The airfoil figures that need only the trained runs (not the notes' loops' times)."""
    return {"airfoil_curves": functools.partial(_airfoil_curves, section, say),
            "airfoil_distributions": functools.partial(_airfoil_distributions, section, say)}


def _airfoil_builders(section: Any, say: Lang) -> Builders:
    return _trained_builders(section, say) | {"airfoil_times": functools.partial(_airfoil_times, section, say)}


MIXED_COLORS = ("#2ca02c", "#9467bd")
"""The AdaDelta panel's two mixed settings (one of torch's differences alone): colours no other panel uses."""
SETTING_STYLES = ("-", "--", ":", "-.")
"""Runs of one implementation in one panel (the notes' three momentum settings) differ by line style."""


def _curve_legend(ax: Any, count: int) -> None:
    """The panel's legend above its axes, the runs only (the dashed optimum is named by the caption): never over a
    curve or a band."""
    handles, labels = ax.get_legend_handles_labels()
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    ax.legend(handles[:count], labels[:count], fontsize=7.5, ncol=2, loc="lower left", bbox_to_anchor=(0.0, 1.01),
              frameon=False, borderaxespad=0.0, handlelength=2.6, columnspacing=1.2)


def _airfoil_curves(section: Any, say: Lang) -> Figure:
    """One panel per algorithm; blue is always our implementation and orange torch.optim (the seed-distribution
    figure's colours), the notes' other settings of one implementation are told apart by line style."""
    by_algorithm: dict[str, list[Any]] = {}
    for check in section.checks:
        by_algorithm.setdefault(check.reference.algorithm, []).append(check)
    curves, axes = fixed_grid((16.8, 8.6), 2, 3, AIRFOIL_CURVES)
    seeds = len(section.checks[0].run.seeds)
    own_name, torch_name = say("own", "自己的实现"), "torch.optim"
    for ax, (algorithm, checks) in zip(axes, by_algorithm.items()):
        settings = list(dict.fromkeys(format_hyperparameters(c.reference.hyperparameters) for c in checks))
        colors, styles, labels = [], [], []
        for c in checks:
            setting = format_hyperparameters(c.reference.hyperparameters)
            colors.append(OWN_COLOR if c.reference.impl == "own" else TORCH_COLOR)
            own_settings = [format_hyperparameters(o.reference.hyperparameters) for o in checks if o.reference.impl == "own"]
            styles.append(SETTING_STYLES[own_settings.index(setting) % len(SETTING_STYLES)] if setting in own_settings
                          else "-")
            name = own_name if c.reference.impl == "own" else torch_name
            labels.append(f"{name}, {setting}" if len(settings) > 1 else name)
        ax.set_prop_cycle(color=colors, linestyle=styles)
        plot_losses(ax, [c.run for c in checks], labels=labels, band_alpha=0.15, say=say)
        title = REGISTRY[algorithm].title if algorithm in REGISTRY else algorithm
        ax.set_title(title if len(settings) > 1 else f"{title}, {settings[0]}", fontsize=10, pad=30)
        ax.set_ylim(*_loss_limits([c.run for c in checks], section.optimum_loss))
        _curve_legend(ax, len(checks))
    d = section.adadelta
    cells = [d.cell("own", init, eps) for init in ("own", "torch") for eps in (d.notes_eps, d.torch_eps)]
    names = {"own": say("notes' start", "笔记的初始化"), "torch": say("nn.Linear start", "nn.Linear 的初始化")}
    axes[5].set_prop_cycle(color=[OWN_COLOR, MIXED_COLORS[0], MIXED_COLORS[1], TORCH_COLOR])
    plot_losses(axes[5], [c.run for c in cells], labels=[f"eps {number(c.eps)}, {names[c.init]}" for c in cells],
                band_alpha=0.15, say=say)
    axes[5].set_title(adadelta_headline(d, say), fontsize=10, pad=30)
    axes[5].set_ylim(*_loss_limits([c.run for c in cells], section.optimum_loss))
    _curve_legend(axes[5], len(cells))
    for ax in axes:
        ax.set_ylabel(say(f"loss (mean of {seeds} seeds)", f"损失（{seeds} 个种子的均值）"))
    return curves


def _airfoil_distributions(section: Any, say: Lang) -> Figure:
    figure, (ax,) = fixed_grid((11.2, 4.6), margins=DISTRIBUTIONS)
    draw_seed_distributions(ax, section.checks, section.optimum_loss, say=say)
    return figure


def _airfoil_times(section: Any, say: Lang) -> Figure:
    figure, (ax,) = fixed_grid((11.2, 4.0), margins=RUN_NAMES_BELOW)
    draw_epoch_times(ax, section.checks, say=say)
    return figure


FIGURE_SETS: dict[str, Callable[[Any, Lang], Builders]] = {
    "plane": _plane_builders, "trained": _trained_builders, "later": _later_builders}
"""The report's sets of figures: ``plane`` from :class:`PlaneResults` (the 2D sections), ``trained`` from an
airfoil section whose runs are trained, ``later`` (every figure past the 2D sections) from :class:`ChapterResults`."""


CSS = """
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5;overflow-wrap:break-word}
h1{margin-bottom:.2rem;line-height:1.2} .sub{color:#666;margin-top:0}
h2{border-bottom:2px solid #eee;padding-bottom:.2rem;margin-top:2.5rem;line-height:1.25} h3{line-height:1.3}
.scroll{overflow-x:auto;max-width:100%;margin:1rem 0} .scroll table{margin:0}
table{border-collapse:collapse;font-size:.88rem;margin:1rem 0}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f6f6} td:first-child,td:last-child{white-space:nowrap} td.num{font-family:ui-monospace,Menlo,monospace;white-space:nowrap}
tr.group th{background:#eef3f8;font-weight:600;white-space:normal} tr.group .rule{font-weight:400;color:#444}
td .rule{display:block;font-weight:400;color:#555;font-size:.8rem;white-space:normal}
.pass{color:#116611;font-weight:600} .FAIL{color:#b00020;font-weight:700} .notrun,.few{color:#8a6d00;font-weight:600}
.badges span{display:inline-block;padding:.2rem .7rem;border-radius:1rem;margin:0 .5rem .3rem 0;font-weight:600}
.b-pass{background:#e3f4e3;color:#116611} .b-fail{background:#fde7ea;color:#b00020} .b-nr{background:#fff4cc;color:#8a6d00}
figure{margin:1rem 0} figure img{display:block;max-width:100%;height:auto;border:1px solid #eee} figcaption{color:#555;font-size:.9rem}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px;overflow-wrap:anywhere}
pre{overflow-x:auto;background:#f4f4f4;padding:.5rem .7rem;border-radius:3px} pre code{padding:0;overflow-wrap:normal}
@media (max-width:600px){body{margin:1rem auto;padding:0 .6rem} h1{font-size:1.5rem} h2{font-size:1.25rem} table{font-size:.8rem}}
"""
CSS_ZH = """
body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC","Microsoft YaHei",sans-serif}
"""
"""The Chinese page prefers a CJK font that has every glyph (.ci/run installs Noto CJK)."""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _status(status: str, say: Lang) -> str:
    """A verdict's status (one of ``STATUSES``) as the page shows it."""
    return {"pass": say("pass", "一致"), "FAIL": say("FAIL", "不一致"), "not run": say("not run", "未运行"),
            "too few seeds": say("too few seeds", "种子太少")}[status]


def _verdict_table(verdicts: list[Verdict], say: Lang) -> str:
    """The verdicts by section: each section's rule once, in its heading row (a row judged by another rule, such
    as a diverged run's, names its own under its verdict); the table scrolls inside its box on a narrow screen."""
    css = {"pass": "pass", "FAIL": "FAIL", "not run": "notrun", "too few seeds": "few"}
    groups: dict[str, list[Verdict]] = {}
    for v in verdicts:
        groups.setdefault(v.section, []).append(v)
    rows = []
    for section, members in groups.items():
        rules = [v.rule for v in members]
        common = max(dict.fromkeys(rules), key=rules.count)
        rule_label = say("— rule: ", "——判定规则：")
        rows.append(f"<tr class=group><th colspan=4>{_e(section)} <span class=rule>{rule_label}{_e(common)}</span>"
                    "</th></tr>")
        for v in members:
            own = f"<span class=rule>{_e(v.rule)}</span>" if v.rule != common else ""
            rows.append(f"<tr><td>{_e(v.run)}</td><td class=num>{_e(v.notes)}</td>"
                        f"<td class=num>{_e(v.ours).replace('; ', '<br>').replace('；', '<br>')}</td>"
                        f"<td class={css[v.status]}>{_e(_status(v.status, say))}{own}</td></tr>")
    return ("<div class=scroll id=verdicts><table>"
            + say("<tr><th>run</th><th>the notes printed</th><th>ours</th><th>verdict</th></tr>",
                  "<tr><th>实验</th><th>笔记打印的结果</th><th>我们的结果</th><th>结论</th></tr>")
            + "".join(rows) + "</table></div>")


def _figure(stem: str, caption: str, explore_runs: tuple[str, ...] = (), say: Lang = EN) -> str:
    """A figure; with ``explore_runs`` (algorithm names of the notes' runs), a link opening the explorer on those runs."""
    link = ""
    if explore_runs:
        runs = [(t.algorithm, t.hyperparameters) for t in NOTES_TRACES if t.algorithm in explore_runs]
        where = f"{EXPLORER}{_e(page_hash(runs))}"
        link = say(f' <a class="explore" href="{where}">Open these runs in the explorer</a> (the notes\' quadratic; '
                   "<code>descentlab explore</code> adds the lab's other objectives).",
                   f' <a class="explore" href="{where}">在交互页面中打开这些实验</a>（笔记的二次函数；'
                   "<code>descentlab explore</code> 还提供实验室的其他目标函数）。")
    full = say("full size", "原始大小")
    return (f'<figure id="fig-{stem}"><img src="figures/{stem}.svg" alt="{_e(caption)}"><figcaption>'
            f'{_e(caption)}{link} <a class=full href="figures/{stem}.svg">({full})</a></figcaption></figure>')


def verdict_counts(verdicts: list[Verdict]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for v in verdicts:
        counts[v.status] += 1
    return counts


def verdict_line(counts: dict[str, int], say: Lang = EN) -> str:
    """``verdicts: 19 match, 0 differ, 0 not run`` (and how many were not judged, and why)."""
    passed, failed, missing, few = counts["pass"], counts["FAIL"], counts["not run"], counts["too few seeds"]
    line = say(f"verdicts: {passed} match, {failed} differ, {missing} not run",
               f"结论：{passed} 个一致，{failed} 个不一致，{missing} 个未运行")
    if few:
        line += say(f", {few} not judged: the airfoil verdicts need at least {MIN_SEEDS} seeds per run (use --seeds "
                    f"{MIN_SEEDS} or more)",
                    f"，{few} 个未判定：翼型噪声数据的判定每组实验至少需要 {MIN_SEEDS} 个种子（请用 --seeds {MIN_SEEDS} "
                    "或更多）")
    return line


DEFAULT_SEEDS = 20
"""``descentlab reproduce``'s default ``--seeds``."""


def reproduce_command(out: str | Path = "report", *, seeds: int = DEFAULT_SEEDS, first_seed: int = 0,
                      language: str = "en", exercises: bool = False, schedules: bool = False,
                      data: str | None = None, no_download: bool = False) -> str:
    """The ``descentlab reproduce`` command line that writes this report (shell-quoted): ``--out`` and ``--seeds``
    always, every other option only as used."""
    argv = ["descentlab", "reproduce", "--out", str(out), "--seeds", str(seeds)]
    if first_seed:
        argv += ["--first-seed", str(first_seed)]
    if data is not None:
        argv += ["--data", str(data)]
    if no_download:
        argv.append("--no-download")
    if exercises:
        argv.append("--exercises")
    if schedules:
        argv.append("--schedules")
    if language != "en":
        argv += ["--lang", language]
    return shlex.join(argv)


def results_command(results: ChapterResults, out: str | Path = "report", say: Lang = EN) -> str:
    """The command that gives ``results`` (as far as they tell: not a ``--data`` path), writing into ``out``."""
    return reproduce_command(out, seeds=len(results.seeds), first_seed=results.seeds[0] if results.seeds else 0,
                             language=say.code, exercises=results.exercises is not None,
                             schedules=results.schedules is not None or results.schedules_error is not None)


def _how_to_reproduce(results: ChapterResults, say: Lang, command: str) -> str:
    ran = {key: seconds for key, seconds in results.seconds.items()
           if not (key == "airfoil" and results.airfoil is None) and not (key == "schedules" and results.schedules is None)}
    section_times = say.join(f"{_e(section_label(k, len(results.seeds), say))} {v:.2f} s" for k, v in ran.items())
    same = command == reproduce_command()
    make = say("<code>make reproduce</code> runs the same command. ", "<code>make reproduce</code> 运行的是同一条命令。") if same else ""
    return say(f"<h2>How to reproduce</h2><p>This report was written by</p><pre><code id=command>{_e(command)}</code></pre>"
               f"<p>{make}Section times: {section_times}.</p>",
               f"<h2>如何复现</h2><p>本报告由以下命令写出</p><pre><code id=command>{_e(command)}</code></pre>"
               f"<p>{make}各部分用时：{section_times}。</p>")


def render_html(results: ChapterResults, say: Lang = EN, command: str | None = None) -> str:
    """The report page in ``say``'s language (figures are referenced as ``figures/<stem>.svg``); ``command`` is the
    command line that wrote it (by default the one :func:`results_command` gives for ``--out report``)."""
    command = results_command(results, say=say) if command is None else command
    verdicts = results.verdicts(say)
    counts = verdict_counts(verdicts)
    ill, pre, mom, ada, sweep = (results.ill_conditioning, results.preconditioning, results.momentum,
                                 results.adaptive, results.sweep)
    theory = ill.theory
    lr = f"{ill.unstable.hyperparameters['lr']:g}"
    stable_lr = f"{ill.stable.hyperparameters['lr']:g}"
    env = results.environment
    total_seconds = sum(results.seconds.values())
    start = ill.stable.points[0]
    x0 = f"({start[0]:g}, {start[1]:g})"
    newton_step = pre.newton.points[1]
    newton_to = f"({newton_step[0]:.3g}, {newton_step[1]:.3g})"
    newton_f = f"{pre.newton.values[1]:.2g}"
    if pre.newton.values[1] == 0.0:
        newton_words = say(f"the Newton step lands on the minimum in one step, from {x0} to {newton_to}, whatever κ",
                           f"牛顿步一步就落在最小值上，从 {x0} 到 {newton_to}，与 κ 无关")
    else:
        newton_words = say(f"the Newton step reaches f = {newton_f} in one step, from {x0} to {newton_to}, whatever κ",
                           f"牛顿步一步就到达 f = {newton_f}，从 {x0} 到 {newton_to}，与 κ 无关")
    slow, fast = mom.traces
    gd_fast = next(g for g in (ill.stable, ill.unstable) if g.hyperparameters["lr"] == fast.hyperparameters["lr"])
    beta = fast.hyperparameters["momentum"]
    fast_lr, slow_lr, b = f"{fast.hyperparameters['lr']:g}", f"{slow.hyperparameters['lr']:g}", f"{beta:g}"
    fast_f2, fast_f3, gd_f = f"{fast.values[-1]:.2g}", f"{fast.values[-1]:.3g}", f"{gd_fast.values[-1]:.3g}"
    if gd_fast.values[-1] > gd_fast.values[0] and fast.values[-1] < fast.values[0]:
        momentum_words = say(f"That is why η = {fast_lr} no longer diverges (f = {fast_f2} after {fast.steps} steps, "
                             f"where gradient descent reached f = {gd_f})",
                             f"所以 η = {fast_lr} 时不再发散（{fast.steps} 步后 f = {fast_f2}，而梯度下降到了 f = {gd_f}）")
    else:
        momentum_words = say(f"At η = {fast_lr} momentum ends at f = {fast_f3} and gradient descent at f = {gd_f}",
                             f"η = {fast_lr} 时动量法最终 f = {fast_f3}，梯度下降最终 f = {gd_f}")
    adagrad_runs = [t for t in ada.trajectories if t.algorithm == "adagrad"]
    long_adagrad, long_rmsprop = ada.long_runs
    described = effective_lr_words(ada.long_runs, ada.long_effective_lr, [ill.hessian[0][0], ill.hessian[1][1]], say)
    rmsprop_words = _e(say("; ", "；").join(f"{name} {words}" for name, _, words in described[1][1]))
    settles = _e(settles_sentence(long_rmsprop, say))
    windows = say.join(say(f"{1 / (1 - w):g} for β = {w:g}", f"β = {w:g} 时为 {1 / (1 - w):g}") for w in mom.betas)
    few = MIN_SEEDS
    rule_note = (say(f"Below {few} seeds an airfoil row gets no verdict (“too few seeds”): the interval would rest on too "
                     "few values to judge by.",
                     f"种子少于 {few} 个时，翼型噪声数据的行不给结论（“种子太少”）：区间所依据的数值太少，无法判定。")
                 if counts["too few seeds"] else "")
    passed, failed, missing, unjudged = counts["pass"], counts["FAIL"], counts["not run"], counts["too few seeds"]
    version, torch_version, threads = _e(env.get("descentlab")), _e(env.get("torch")), _e(env.get("threads"))
    seeds, seconds, when = len(results.seeds), f"{total_seconds:.1f}", f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
    h1, h2 = f"{ill.hessian[0][0]:g}", f"{ill.hessian[1][1]:g}"
    kappa, gd_max, lmax, lmin = f"{theory.kappa:g}", f"{theory.gd_max_lr:g}", f"{theory.lmax:g}", f"{theory.lmin:g}"
    factor = f"{abs(1 - ill.unstable.hyperparameters['lr'] * theory.lmax):g}"
    x2_end, x1_stable, x1_unstable = (f"{ill.unstable.final[1]:.1f}", f"{ill.stable.final[0]:.3f}",
                                      f"{ill.unstable.final[0]:.3f}")
    x1_start, steps = f"{start[0]:g}", ill.stable.steps
    pre_lr = f"{pre.gradient_descent.hyperparameters['lr']:g}"
    times_window, momentum_bound = f"{1 / (1 - beta):g}", f"{theory.momentum_max_lr(beta):g}"
    ema_steps, form_difference = mom.ema.steps, f"{mom.max_form_difference:.1e}"
    a0, a1 = adagrad_runs[0], adagrad_runs[1]
    a0_lr, a1_lr, a0_end, a1_end, a0_f = (f"{a0.hyperparameters['lr']:g}", f"{a1.hyperparameters['lr']:g}",
                                          f"({a0.final[0]:.3g}, {a0.final[1]:.3g})", f"({a1.final[0]:.3g}, {a1.final[1]:.3g})",
                                          f"{a0.values[-1]:.3g}")
    gamma, rms_steps, rms_lr = (f"{long_rmsprop.hyperparameters['gamma']:g}", long_rmsprop.steps,
                                f"{long_rmsprop.hyperparameters['lr']:g}")
    adagrad_lrs = say.join(f"{t.hyperparameters['lr']:g}" for t in adagrad_runs)
    others = say(" and ", " 和 ").join(trajectory_label(t, say=say) for t in ada.trajectories
                                      if t.algorithm not in ("adagrad", "rmsprop"))
    beta1, beta2 = (f"{REGISTRY['adam'].defaults['betas'][0]:g}", f"{REGISTRY['adam'].defaults['betas'][1]:g}")
    gd_best_lr, gd_best_rate = f"{theory.gd_best_lr:.4g}", f"{theory.gd_best_rate:.4g}"
    m_lr, m_beta, m_rate = (f"{theory.momentum_best_lr:.4g}", f"{theory.momentum_best_beta:.4g}",
                            f"{theory.momentum_best_rate:.4g}")
    sweep_steps, sweep_lrs, sweep_pairs = sweep.steps, len(sweep.gd_lr), len(sweep.momentum_lr) * len(sweep.momentum_beta)
    few_badge = (say(f"<span class=b-nr>{unjudged} too few seeds</span>", f"<span class=b-nr>{unjudged} 个种子太少</span>")
                 if unjudged else "")
    parts = [
        f"<!doctype html><html lang={say.code}><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        say("<title>descentlab: the momentum and adaptive-methods chapter, reproduced</title>",
            "<title>descentlab：动量法与自适应方法一章的复现</title>"),
        f"<style>{CSS}{CSS_ZH if say.code == 'zh' else ''}</style></head><body>",
        say("<h1>Momentum, AdaGrad, RMSProp, AdaDelta, Adam — reproduced</h1>",
            "<h1>动量法、AdaGrad、RMSProp、AdaDelta、Adam——复现</h1>"),
        (say(f"<p class=sub>descentlab {version}, torch {torch_version}, {threads} threads; {seeds} seeds per airfoil run; "
             f"experiments ran in {seconds} s (figures not counted) on {when} UTC.</p>",
             f"<p class=sub>descentlab {version}，torch {torch_version}，{threads} 个线程；翼型噪声数据每组实验 {seeds} 个种子；"
             f"实验用时 {seconds} 秒（不含作图），运行于 {when} UTC。</p>")
         if results.airfoil is not None else
         say(f"<p class=sub>descentlab {version}, torch {torch_version}, {threads} threads; the airfoil section did not "
             f"run (no data); experiments ran in {seconds} s (figures not counted) on {when} UTC.</p>",
             f"<p class=sub>descentlab {version}，torch {torch_version}，{threads} 个线程；翼型噪声数据部分未运行（没有数据）；"
             f"实验用时 {seconds} 秒（不含作图），运行于 {when} UTC。</p>")),
        "<div class=badges>"
        + say(f"<span class=b-pass>{passed} match</span><span class=b-fail>{failed} differ</span>"
              f"<span class=b-nr>{missing} not run</span>",
              f"<span class=b-pass>{passed} 个一致</span><span class=b-fail>{failed} 个不一致</span>"
              f"<span class=b-nr>{missing} 个未运行</span>")
        + few_badge + "</div>",
        say("<h2>Every number the notes printed, and ours</h2>", "<h2>笔记打印的每一个数字，以及我们的结果</h2>"),
        f"<p>{_e(rule_explanation(say))} {_e(rule_note)}</p>",
        _verdict_table(verdicts, say),
        say("<h2>1. Ill-conditioning</h2>", "<h2>1. 病态条件</h2>"),
        say(f"<p><code>f(x) = 0.1·x1² + 2·x2²</code> has Hessian <code>H = diag({h1}, {h2})</code>: condition number "
            f"κ = λmax/λmin = <b>{kappa}</b>. Gradient descent multiplies each coordinate's error by <code>1 − η·λ</code> "
            f"per step, so it converges only for η &lt; 2/λmax = <b>{gd_max}</b>. At η = {lr} the x2 coordinate is "
            f"multiplied by |1 − {lr}·{lmax}| = {factor} every step and ends at {x2_end}, while x1, with the small "
            f"curvature {lmin}, only gets from {x1_start} to {x1_stable} (η = {stable_lr}) and {x1_unstable} (η = {lr}) "
            f"in {steps} steps. One learning rate cannot suit both directions.</p>",
            f"<p><code>f(x) = 0.1·x1² + 2·x2²</code> 的 Hessian 矩阵为 <code>H = diag({h1}, {h2})</code>：条件数 "
            f"κ = λmax/λmin = <b>{kappa}</b>。梯度下降每一步把每个坐标的误差乘以 <code>1 − η·λ</code>，所以只有当 "
            f"η &lt; 2/λmax = <b>{gd_max}</b> 时才收敛。η = {lr} 时，x2 坐标每一步都乘以 |1 − {lr}·{lmax}| = {factor}，"
            f"最终到达 {x2_end}；而曲率只有 {lmin} 的 x1 在 {steps} 步内只从 {x1_start} 走到 {x1_stable}"
            f"（η = {stable_lr}）和 {x1_unstable}（η = {lr}）。一个学习率无法同时适合两个方向。</p>"),
        _figure("ill_conditioning", say(f"Gradient descent at η = {stable_lr} and η = {lr} (the notes' two pictures), "
                                        f"{steps} steps from {x0}.",
                                        f"η = {stable_lr} 和 η = {lr} 时的梯度下降（笔记中的两张图），从 {x0} 出发 "
                                        f"{steps} 步。"), ("sgd",), say),
        say("<h2>2. Preconditioning</h2>", "<h2>2. 预处理</h2>"),
        say("<p>Scaling the gradient by the inverse Hessian, <code>Δx = H⁻¹g</code>, turns the problem into one whose "
            f"Hessian is the identity: {newton_words}. The adaptive methods below approximate this with a "
            "per-coordinate (diagonal) scaling learned from gradients.</p>",
            "<p>用 Hessian 矩阵的逆缩放梯度，<code>Δx = H⁻¹g</code>，就把问题变成 Hessian 为单位矩阵的问题："
            f"{newton_words}。下面的自适应方法用从梯度中学到的逐坐标（对角）缩放来近似这一点。</p>"),
        _figure("preconditioning", say.sentences(
            say(f"Left: Newton's step against gradient descent (η = {pre_lr}). Right: f(x_t), log scale.",
                f"左：牛顿步与梯度下降（η = {pre_lr}）的对比。右：f(x_t)，对数坐标。"), _zero_note(pre.newton, say)), say=say),
        say("<h2>3. Momentum</h2>", "<h2>3. 动量法</h2>"),
        say("<p>Momentum keeps a velocity <code>m ← βm + ηg; x ← x − m</code>. Along x2 the gradients flip sign and "
            "cancel in <code>m</code>; along x1 they agree and add up, so the step there grows towards η/(1−β) times the "
            f"gradient (β = {b}: {times_window} times the step). {_e(momentum_words)}: with β = {b} the stable range "
            f"grows to η &lt; (2+2β)/λmax = {momentum_bound}.</p>",
            "<p>动量法维护一个速度变量 <code>m ← βm + ηg; x ← x − m</code>。沿 x2 方向梯度正负交替，在 <code>m</code> "
            "中相互抵消；沿 x1 方向梯度方向一致、不断累加，所以那里的步长增长到梯度的 η/(1−β) 倍"
            f"（β = {b}：步长的 {times_window} 倍）。{_e(momentum_words)}：β = {b} 时稳定范围扩大到 "
            f"η &lt; (2+2β)/λmax = {momentum_bound}。</p>"),
        _figure("momentum_traces", say(f"The notes' two momentum runs (η = {slow_lr} and {fast_lr}, β = {b}).",
                                       f"笔记中的两次动量法实验（η = {slow_lr} 和 {fast_lr}，β = {b}）。"),
                ("momentum",), say),
        say("<p>The EMA form <code>m ← βm + (1−β)g; x ← x − η/(1−β)·m</code> gives the same path: the largest coordinate "
            f"difference over {ema_steps} steps is {form_difference}. An exponential moving average gives the value i "
            "steps back the weight (1−β)βⁱ; since β^(1/(1−β)) ≈ e⁻¹, it is roughly an average of the last 1/(1−β) "
            f"values ({windows}).</p>",
            "<p>指数加权移动平均形式 <code>m ← βm + (1−β)g; x ← x − η/(1−β)·m</code> 给出同一条轨迹："
            f"{ema_steps} 步内坐标的最大差异为 {form_difference}。指数加权移动平均给 i 步之前的值权重 (1−β)βⁱ；"
            f"由于 β^(1/(1−β)) ≈ e⁻¹，它大致是最近 1/(1−β) 个值的平均（{windows}）。</p>"),
        _figure("momentum_theory", say("Left: velocity and EMA forms, one path. Right: EMA weights (1−β)βⁱ with the "
                                       "1/(1−β) window.",
                                       "左：速度形式与指数加权移动平均形式，同一条轨迹。右：指数加权移动平均的权重 "
                                       "(1−β)βⁱ 及 1/(1−β) 窗口。"), say=say),
        say("<h2>4. AdaGrad, RMSProp, AdaDelta, Adam</h2>", "<h2>4. AdaGrad算法、RMSProp算法、AdaDelta算法、Adam算法</h2>"),
        say("<p>AdaGrad divides each coordinate's step by the root of its summed squared gradients, so the steep x2 gets "
            "a small step and the flat x1 a large one — but the sum only grows, so its effective learning rate only "
            f"falls: at η = {a0_lr} it ends {a0.steps} steps at {a0_end}, f = {a0_f}; at η = {a1_lr} at {a1_end}. "
            f"RMSProp replaces the sum by a moving average (γ = {gamma}), which forgets old gradients: as the gradients "
            f"shrink near the minimum its effective learning rate grows again. Over {rms_steps} steps at η = {rms_lr}: "
            f"{rmsprop_words}; {settles}. AdaDelta replaces η by a running RMS of its own past steps; Adam adds momentum "
            "and corrects both averages for their zero start by 1 − βᵗ.</p>",
            "<p>AdaGrad算法把每个坐标的步长除以该坐标梯度平方累加和的平方根，所以陡峭的 x2 步长小、平坦的 x1 步长大——"
            f"但累加和只增不减，有效学习率也就只降不升：η = {a0_lr} 时 {a0.steps} 步后停在 {a0_end}，f = {a0_f}；"
            f"η = {a1_lr} 时停在 {a1_end}。RMSProp算法用指数加权移动平均（γ = {gamma}）代替累加和，会遗忘旧的梯度："
            f"接近最小值时梯度变小，它的有效学习率又会变大。η = {rms_lr} 时 {rms_steps} 步内：{rmsprop_words}；{settles}。"
            "AdaDelta算法用它自己过去步长的均方根代替 η；Adam算法再加上动量，并用 1 − βᵗ 对两个从零开始的平均做偏差修正。"
            "</p>"),
        _figure("adaptive_traces", say(f"The notes' AdaGrad (η = {adagrad_lrs}) and RMSProp runs, with {others} on the "
                                       "same landscape.",
                                       f"笔记中的 AdaGrad算法（η = {adagrad_lrs}）和 RMSProp算法实验，以及同一地形上的"
                                       f" {others}。"), ("adagrad", "rmsprop"), say),
        _figure("adaptive_theory", say.sentences(
            effective_lr_caption(described, long_adagrad.steps, say),
            say(f"Right: Adam's bias correction 1 − βᵗ for β1 = {beta1} and β2 = {beta2}.",
                f"右：β1 = {beta1}、β2 = {beta2} 时 Adam算法的偏差修正 1 − βᵗ。")), say=say),
        say("<h2>5. Linear regression on the airfoil data</h2>", "<h2>5. 翼型噪声数据上的线性回归</h2>"),
        _airfoil_html(results, say),
        say("<h2>6. Beyond the notes: the best learning rate and momentum</h2>",
            "<h2>6. 笔记之外：最佳的学习率和动量</h2>"),
        say("<p>For a quadratic the theory gives more than a bound. Gradient descent contracts the error by max|1 − η·λ| "
            f"per step, best at η = 2/(λmin+λmax) = {gd_best_lr} with rate (κ−1)/(κ+1) = {gd_best_rate}. Momentum's best "
            f"pair is η* = (2/(√λmax+√λmin))² = {m_lr}, β* = ((√κ−1)/(√κ+1))² = {m_beta} with rate (√κ−1)/(√κ+1) = "
            f"{m_rate}. Measured over {sweep_steps} steps, {sweep_lrs} learning rates and {sweep_pairs} (η, β) pairs, each "
            "sweep one batched run of the same rules.</p>",
            "<p>对二次函数，理论给出的不只是一个界。梯度下降每步把误差缩小为 max|1 − η·λ| 倍，最佳为 "
            f"η = 2/(λmin+λmax) = {gd_best_lr}，速率 (κ−1)/(κ+1) = {gd_best_rate}。动量法的最佳组合为 "
            f"η* = (2/(√λmax+√λmin))² = {m_lr}，β* = ((√κ−1)/(√κ+1))² = {m_beta}，速率 (√κ−1)/(√κ+1) = {m_rate}。"
            f"在 {sweep_steps} 步、{sweep_lrs} 个学习率和 {sweep_pairs} 组 (η, β) 上测量，每次扫描都是同一套更新规则的"
            "一次批量运行。</p>"),
        _figure("rate_sweep", say("Left: GD's measured contraction against max|1 − ηλ|. Right: momentum's measured "
                                  "contraction over (η, β), its stability bound and the optimal pair.",
                                  "左：梯度下降实测的收缩率与 max|1 − ηλ| 的对比。右：动量法在 (η, β) 上实测的收缩率、"
                                  "稳定边界和最佳组合。"), say=say),
        _stability_html(results, say),
        _schedules_html(results, say),
        _exercises_html(results, say),
        _how_to_reproduce(results, say, command),
        "</body></html>",
    ]
    return "\n".join(parts)


def _zero_note(trajectory: Trajectory, say: Lang) -> str:
    """What the log-scale convergence plot cannot draw: the steps where f is exactly 0."""
    zeros = [t for t, v in enumerate(trajectory.values) if v == 0]
    if not zeros:
        return ""
    name, first, last = trajectory_label(trajectory, say), zeros[0], zeros[-1]
    if len(zeros) == last - first + 1 and last == len(trajectory.values) - 1:
        return say(f"{name}'s f is exactly 0 from step {first} to the last, step {last}: a log scale has no 0, so "
                   "those steps are the ▼ on the bottom edge.",
                   f"{name} 的 f 从第 {first} 步到最后一步（第 {last} 步）恰好为 0：对数坐标没有 0，所以这些步画成底边上的 ▼。")
    steps = say.join(str(t) for t in zeros)
    return say(f"{name}'s f is exactly 0 at steps {steps} (▼ on the bottom edge: a log scale has no 0).",
               f"{name} 的 f 在第 {steps} 步恰好为 0（底边上的 ▼：对数坐标没有 0）。")


def _airfoil_html(results: ChapterResults, say: Lang) -> str:
    section = results.airfoil
    if section is None:
        error = _e(results.airfoil_error)
        return say(f"<p class=note><b>Not run:</b> {error}. Run <code>descentlab reproduce --data "
                   "PATH/airfoil_self_noise.dat</code> (or set <code>DESCENTLAB_DATA</code>) to include it.</p>",
                   f"<p class=note><b>未运行：</b>{error}。运行 <code>descentlab reproduce --data "
                   "PATH/airfoil_self_noise.dat</code>（或设置 <code>DESCENTLAB_DATA</code>）即可包含这一部分。</p>")
    looped = all(c.notes_loop is not None for c in section.checks)
    rows = "".join(
        f"<tr><td>{_e(c.reference.impl)}</td><td>{_e(c.reference.algorithm)}</td>"
        f"<td>{_e(format_hyperparameters(c.reference.hyperparameters))}</td>"
        f"<td class=num>{c.reference.final_loss:.6f}</td><td class=num>{c.run.summary.mean:.6f}</td>"
        f"<td class=num>{c.run.summary.std:.6f}</td><td class=num>{c.run.summary.min:.6f} – {c.run.summary.max:.6f}</td>"
        f"<td class=num>{c.run.summary.mean - section.optimum_loss:+.6f}</td>"
        f"<td class=num>{c.reference.sec_per_epoch:.4f}</td>"
        + (f"<td class=num>{c.notes_loop.epoch_times[-1]:.4f}</td>" if looped else "")
        + f"<td class=num>{c.run.sec_per_epoch:.4f}</td></tr>"
        for c in section.checks
    )
    note = data_note(section, say)
    adadelta = [c for c in section.checks if c.reference.algorithm == "adadelta"]
    own_notes, torch_notes = (f"{c.reference.final_loss:.6f}" for c in adadelta)
    d = section.adadelta
    seeds, optimum = len(results.seeds), f"{section.optimum_loss:.6f}"
    gap = _e(gap_sentence(section.checks, section.optimum_loss, say))
    torch_eps, notes_eps, level = number(d.torch_eps), number(d.notes_eps), percent(LEVEL)
    loop_header = (say("<th>s/epoch, the notes' loop here (1 seed, 1 epoch)</th>",
                       "<th>秒/迭代周期，笔记的训练循环在本机（1 个种子，1 个迭代周期）</th>") if looped else "")
    loop_times = (say("the notes' own loop on this machine (one seed, one epoch), ",
                      "笔记自己的训练循环在本机上的用时（一个种子，一个迭代周期），") if looped else "")
    return (
        (f"<p class=note id=data-note><b>{_e(note)}</b></p>" if note else "")
        + say("<p>The notes standardize the 1503 rows, keep the first 1500, and fit <code>ŷ = Xw + b</code> with loss "
              "mean((ŷ−y)²)/2, minibatches of 10, 2 epochs, and the loss on all rows every 100 examples. Each row below "
              f"is that experiment over {seeds} seeds (own initialisation and shuffling each), all seeds in one batched "
              f"run. The least-squares optimum of this loss is <b>{optimum}</b>. <span id=gap-sentence>{gap}</span></p>",
              "<p>笔记把 1503 行数据标准化，保留前 1500 行，用损失 mean((ŷ−y)²)/2 拟合 <code>ŷ = Xw + b</code>，"
              "小批量大小 10，训练 2 个迭代周期，每 100 个样本在全部数据上计算一次损失。下表每一行是这个实验在 "
              f"{seeds} 个种子上的结果（每个种子有自己的初始化和打乱顺序），所有种子在一个批次中一起运行。"
              f"这个损失的最小二乘最优值为 <b>{optimum}</b>。<span id=gap-sentence>{gap}</span></p>")
        + say("<div class=scroll><table><tr><th>impl</th><th>algorithm</th><th>hyperparameters</th><th>notes</th><th>our mean</th>"
              "<th>std</th><th>our min – max</th><th>mean − optimum</th><th>s/epoch printed in the notes (their machine)</th>",
              "<div class=scroll><table><tr><th>实现</th><th>算法</th><th>超参数</th><th>笔记</th><th>我们的均值</th>"
              "<th>标准差</th><th>我们的最小 – 最大</th><th>均值 − 最优值</th><th>笔记打印的秒/迭代周期（作者的机器）</th>")
        + loop_header
        + say(f"<th>s/epoch, ours here ({seeds} seeds)</th></tr>", f"<th>秒/迭代周期，我们在本机（{seeds} 个种子）</th></tr>")
        + f"{rows}</table></div>"
        + _figure("airfoil_curves", say(
            "Loss against epoch, own implementation (blue) and torch.optim (orange) side by side in every panel (mean "
            "over seeds, band: min–max; the notes' three own momentum settings told apart by line style; dashed grey: "
            "the least-squares optimum; each panel's y axis ends a little above its largest final loss, so the first "
            "evaluations are off the top). Last panel: our AdaDelta rule with each ε and each initialization: blue the "
            "notes' pair, orange torch's, green and purple one of torch's differences alone (torch.optim.Adadelta "
            "gives the same curves).",
            "损失随迭代周期的变化，每个子图中自己的实现（蓝色）与 torch.optim（橙色）并排（各种子的均值，阴影：最小–最大；"
            "笔记自己的三组动量设置用线型区分；灰色虚线：最小二乘最优值；每个子图的纵轴止于略高于其最大最终损失处，"
            "所以最初几次评估在图外）。最后一个子图：我们的 AdaDelta算法更新规则在每种 ε 和每种初始化下的结果：蓝色是笔记"
            "的组合，橙色是 torch 的，绿色和紫色各只取 torch 的一处不同（torch.optim.Adadelta 给出相同的曲线）。"), say=say)
        + _figure("airfoil_distributions", say(
            "Final loss − least-squares optimum over seeds per run, on a log scale so that every run's spread shows "
            "(box: quartiles, whiskers: min–max; blue: own, orange: torch.optim); red diamond: the notes' single "
            f"printed value; black bar: the {level} prediction interval it is judged by (▼: it reaches below the "
            "axis, towards the optimum).",
            "每组实验各种子的最终损失 − 最小二乘最优值，用对数坐标，使每组的散布都看得清（箱体：四分位数，须线：最小–最大；"
            "蓝色：自己的实现，橙色：torch.optim）；红色菱形：笔记打印的那一个值；"
            f"黑色竖条：判定所依据的 {level} 预测区间（▼：区间延伸到坐标轴以下，朝向最优值）。"), say=say)
        + say(f"<p><b>The AdaDelta puzzle.</b> The notes' own AdaDelta ended at {own_notes}, their torch.optim.Adadelta "
              f"run at {torch_notes}. torch's run differs in two things: ε ({torch_eps} against the notes' {notes_eps}) "
              "and the initialization (nn.Linear(5, 1)'s default against the notes' N(0, 0.01²)). ",
              f"<p><b>AdaDelta算法之谜。</b>笔记自己的 AdaDelta算法最终为 {own_notes}，而 torch.optim.Adadelta 的结果为 "
              f"{torch_notes}。torch 的实验有两处不同：ε（{torch_eps}，笔记为 {notes_eps}）和初始化"
              "（nn.Linear(5, 1) 的默认初始化，笔记为 N(0, 0.01²)）。")
        + f"<span id=adadelta-words>{_e(adadelta_explanation(d, say))}</span></p>"
        + f"<p id=timing-words>{_e(timing_sentence(section.checks, say))}</p>"
        + _figure("airfoil_times", say(f"Seconds per epoch (the last of the two): printed in the notes (their machine), "
                                       f"{loop_times}and descentlab on this machine ({seeds} seeds at once).",
                                       f"每个迭代周期的秒数（两个中的后一个）：笔记打印的（作者的机器），{loop_times}"
                                       f"以及 descentlab 在本机（同时 {seeds} 个种子）。"), say=say)
    )


def _finite(value: float) -> float | None:
    """JSON has no nan: a non-finite number is written as null."""
    return value if math.isfinite(value) else None


def results_json(results: ChapterResults, say: Lang = EN, command: str | None = None) -> dict[str, Any]:
    """Every number of the report, JSON-ready; its sentences in ``say``'s language."""
    theory = results.ill_conditioning.theory
    section, ada = results.airfoil, results.adaptive
    hessian = results.ill_conditioning.hessian
    described = effective_lr_words(ada.long_runs, ada.long_effective_lr, [hessian[0][0], hessian[1][1]], say)
    data: dict[str, Any] = {
        "language": say.code,
        "command": command if command is not None else results_command(results, say=say),
        "environment": results.environment,
        "seeds": list(results.seeds),
        "seconds": results.seconds,
        "verdicts": [vars(v) | {"status": v.status} for v in results.verdicts(say)],
        "traces": [
            {"algorithm": c.reference.algorithm, "hyperparameters": c.reference.hyperparameters,
             "notes": c.reference.printed, "ours": c.ours, "final": list(c.trajectory.final)}
            for c in results.traces
        ],
        "quadratic_theory": {
            "lmin": theory.lmin, "lmax": theory.lmax, "kappa": theory.kappa, "gd_max_lr": theory.gd_max_lr,
            "momentum_max_lr_beta_0.5": theory.momentum_max_lr(0.5), "gd_best_lr": theory.gd_best_lr,
            "gd_best_rate": theory.gd_best_rate, "momentum_best_lr": theory.momentum_best_lr,
            "momentum_best_beta": theory.momentum_best_beta, "momentum_best_rate": theory.momentum_best_rate,
        },
        "momentum_form_max_difference": results.momentum.max_form_difference,
        "newton_after_one_step": list(results.preconditioning.newton.points[1]),
        "adaptive_effective_lr": [
            {"algorithm": t.algorithm, "hyperparameters": t.hyperparameters,
             "x1": [_finite(r[0]) for r in rates], "x2": [_finite(r[1]) for r in rates],
             "words": {name: words for name, _, words in coordinates}}
            for t, rates, (_, coordinates) in zip(ada.long_runs, ada.long_effective_lr, described)
        ],
        "rule": {"text": rule_text(say), "level": LEVEL, "family_level": FAMILY_LEVEL, "min_seeds": MIN_SEEDS},
        "airfoil": None if section is None else {
            "optimum_loss": section.optimum_loss,
            "data": {"path": section.data_path, "sha1": section.data_sha1, "published": section.data_published,
                     "note": data_note(section, say)},
            "gap_sentence": gap_sentence(section.checks, section.optimum_loss, say),
            "runs": [c.run.to_dict() | {"notes_final_loss": c.reference.final_loss, "passed": c.passed,
                                        "prediction_interval": None if c.interval is None else vars(c.interval),
                                        "notes_loop_sec_per_epoch": None if c.notes_loop is None else c.notes_loop.epoch_times[-1],
                                        "notes_printed_sec_per_epoch": c.reference.sec_per_epoch}
                     for c in section.checks],
            "adadelta_decomposition": {
                "headline": adadelta_headline(section.adadelta, say),
                "notes_eps": section.adadelta.notes_eps, "torch_eps": section.adadelta.torch_eps,
                "baseline": section.adadelta.baseline, "eps_alone": section.adadelta.eps_alone,
                "init_alone": section.adadelta.init_alone, "both": section.adadelta.both,
                "code_difference": section.adadelta.code_difference,
                "cells": [{"impl": c.impl, "init": c.init, "eps": c.eps} | c.run.to_dict()
                          for c in section.adadelta.cells],
            },
            "timing": timing_sentence(section.checks, say),
        },
        "airfoil_error": results.airfoil_error,
    }
    data["exercises"] = None if results.exercises is None else [
        {"key": e.key, "question": e.question, "experimental": e.experimental,
         "numbers": {k: _finite(v) for k, v in e.numbers.items()}, "conclusion": conclusion(e, say)}
        for e in results.exercises
    ]
    data["schedules"] = None if results.schedules is None else {
        "algorithm": SCHEDULED_ALGORITHM, "hyperparameters": SCHEDULED_HYPERPARAMETERS, "steps": results.schedules.steps,
        "conclusion": schedule_conclusion(results.schedules, say),
        "runs": [{"schedule": r.plan.name, "parameters": r.plan.parameters, "label": r.plan.label(), "rates": r.rates,
                  "median_gap": r.median_gap, "spread": r.spread, "final_loss": r.run.final_loss}
                 for r in results.schedules.runs],
    }
    return data


def results_csv(results: ChapterResults) -> str:
    """The verdict table and the airfoil summaries, one row per number."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["section", "run", "quantity", "notes", "ours", "verdict"])
    for v in results.verdicts():
        writer.writerow([v.section, v.run, "printed result", v.notes, v.ours, v.status])
    if results.airfoil is not None:
        for c in results.airfoil.checks:
            name = c.reference.label()
            for quantity, value in vars(c.run.summary).items():
                writer.writerow(["airfoil", name, f"final loss {quantity}", "", f"{value:.6f}", ""])
            writer.writerow(["airfoil", name, "sec per epoch", f"{c.reference.sec_per_epoch:.6f}", f"{c.run.sec_per_epoch:.6f}", ""])
            if c.notes_loop is not None:
                writer.writerow(["airfoil", name, "sec per epoch, the notes' loop here", "", f"{c.notes_loop.epoch_times[-1]:.6f}", ""])
            if c.interval is not None:
                writer.writerow(["airfoil", name, f"{percent(c.interval.level)} prediction interval", "",
                                 f"{c.interval.low:.6f} – {c.interval.high:.6f}", ""])
        writer.writerow(["airfoil", "least squares", "optimum loss", f"{LEAST_SQUARES_OPTIMUM:.6f}", f"{results.airfoil.optimum_loss:.6f}", ""])
    for key, seconds in results.seconds.items():
        writer.writerow(["timing", section_label(key, len(results.seeds)), "seconds", "", f"{seconds:.3f}", ""])
    return buffer.getvalue()


def drawn_figure(kind: str, record: Any, stem: str, language: str) -> str:
    """Figure ``stem`` of :data:`FIGURE_SETS` ``[kind]``, built from ``record`` in ``language``'s words and fonts
    and drawn as SVG text: one task of :func:`start_figures`, in whichever process runs it."""
    say = lang(language)
    buffer = io.StringIO()
    with figure_fonts(say):
        FIGURE_SETS[kind](record, say)[stem]().savefig(buffer, format="svg")
    return buffer.getvalue()


def start_figures(kind: str, record: Any, say: Lang = EN, helper: Helper = NO_HELPER,
                  skip: Collection[str] = (), first: bool = False) -> dict[str, Task]:
    """Hand ``helper`` the figures of :data:`FIGURE_SETS` ``[kind]`` of ``record`` now (those not in ``skip``),
    one task per figure (by stem) that builds it and gives its SVG text (:func:`drawn_figure`); with ``first``,
    before the tasks already waiting (:meth:`~descentlab.parallel.Helper.first`).

    Building and drawing are most of a figure's cost and run on one core: the helper works
    through the figures while this process goes on, and what it has not begun when
    :func:`write_report` asks is done here.  The worker is given the record, not the figure.
    """
    stems = [stem for stem in FIGURE_SETS[kind](record, say) if stem not in skip]
    if first:  # each goes before the others: the last handed is the worker's next
        handed = {stem: helper.first(drawn_figure, kind, record, stem, say.code) for stem in reversed(stems)}
        return {stem: handed[stem] for stem in stems}
    return {stem: helper.task(drawn_figure, kind, record, stem, say.code) for stem in stems}


def write_report(results: ChapterResults, out_dir: str | Path, explorer: Task | None = None, say: Lang = EN,
                 helper: Helper = NO_HELPER, started: Mapping[str, Task] | None = None,
                 command: str | None = None) -> Path:
    """Write the report into ``out_dir`` (atomically, as a whole) in ``say``'s language; returns ``index.html``'s path.

    ``explorer`` is the page written beside it (``notes_page(say)``, computed here if not given;
    it does not depend on the results, so the CLI hands it to the helper process as a :class:`Task`).
    ``helper`` draws figures meanwhile (see :mod:`descentlab.parallel`); ``started`` are figures
    already handed out (by :func:`start_figures`, by stem); the others are handed out here.
    ``command`` is the command line the page names as the one that wrote it (the CLI gives its own; by
    default :func:`results_command` for ``out_dir``).
    """
    command = results_command(results, out_dir, say) if command is None else command

    def fill(staging: Path) -> None:
        (staging / "figures").mkdir()
        tasks = dict(started or {})
        for kind in ("plane", "later"):
            tasks |= start_figures(kind, results, say, helper, skip=tasks)
        for stem, svg in zip(tasks, collect(list(tasks.values()))):  # the last figures here, as the helper works
            (staging / "figures" / f"{stem}.svg").write_text(svg, encoding="utf-8")
        (staging / "index.html").write_text(render_html(results, say, command), encoding="utf-8")
        (staging / EXPLORER).write_text(notes_page(say) if explorer is None else explorer.result(), encoding="utf-8")
        (staging / "results.json").write_text(json.dumps(results_json(results, say, command), indent=1, default=str),
                                              encoding="utf-8")
        (staging / "results.csv").write_text(results_csv(results), encoding="utf-8")

    return write_directory(out_dir, REPORT_FILES, fill) / "index.html"


__all__ = ["FIGURE_SETS", "build_figures", "check_destination", "drawn_figure", "render_html", "reproduce_command",
           "results_command", "results_csv", "results_json", "start_figures", "verdict_counts", "verdict_line",
           "write_report"]
