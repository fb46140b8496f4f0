"""Every text the explorer's page shows, in one language: built here with ``say(english, chinese)``.

:func:`page_strings` returns the table; :func:`~descentlab.explore.page.render`
puts the static ones into ``page.html`` (escaped) and embeds the whole table as
JSON, where ``page.js`` only looks texts up and fills their ``{name}``
placeholders with numbers it already shows (no formula is written in the page).
Both versions of a text hold the same placeholders (the tests check).
"""

from __future__ import annotations

import html
from typing import Any

from ..lang import EN, Lang
from .data import LABELS, ExploreData, Landscape, Problem
from .encode import quantization

HTML_KEYS: frozenset[str] = frozenset({"intro"})
"""Texts that are HTML already (their variable parts escaped here); every other one is plain text."""


def _titles(data: ExploreData, say: Lang) -> dict[str, str]:
    """The algorithms' names as the page shows them; a registry title not named here is shown as it is."""
    named = {"sgd": say("SGD", "梯度下降"), "momentum": say("Momentum", "动量法")}
    return {name: named.get(name, title) for name, title in data.titles.items()}


def _objective_name(land: Landscape, say: Lang) -> str:
    named = {
        "notes": say("notes", "笔记中的二次函数"),
        "quadratic": say("quadratic", "二次函数"),
        "rosenbrock": say("rosenbrock", "Rosenbrock函数"),
        "himmelblau": say("himmelblau", "Himmelblau函数"),
        "saddle": say("saddle", "鞍点函数"),
    }
    return named.get(land.objective, land.objective)


def _landscape_option(land: Landscape, problem: Problem, say: Lang) -> str:
    """The objective menu's entry: the objective's name and formula (a member of the quadratic family: its κ, angle)."""
    name = _objective_name(land, say)
    if problem.kappa is None:
        return say(f"{name}: {land.formula}", f"{name}：{land.formula}")
    kappa, angle, lmin, lmax = problem.kappa, problem.angle, land.theory["lmin"], land.theory["lmax"]
    return say(f"{name} κ={kappa:g}, {angle:g}°: 1/2 x^T H x, eigenvalues {lmin:g} and {lmax:g}, rotated {angle:g} degrees",
               f"{name} κ={kappa:g}，{angle:g}°：½ xᵀHx，特征值 {lmin:g} 与 {lmax:g}，旋转 {angle:g}°")


def _axis_labels(say: Lang) -> dict[str, str]:
    """Slider labels shown differently in a language (others as :data:`~descentlab.explore.data.LABELS` has them)."""
    return {"lr": say("lr", "η")}


def _symbol(name: str, say: Lang) -> str:
    label = LABELS.get(name, name)
    label = label if isinstance(label, str) else name
    return _axis_labels(say).get(label, label)


def _notes_option(run: dict[str, Any], titles: dict[str, str], say: Lang) -> str:
    """The notes'-runs menu's entry: the algorithm and the notes' hyperparameters, with the symbols of the sliders."""
    setting = ", ".join(f"{_symbol(k, say)}={v:g}" if isinstance(v, (int, float)) else f"{_symbol(k, say)}={v}"
                        for k, v in run["hyperparameters"].items())
    title = titles[run["algorithm"]]
    return say(f"{title}, {setting}", f"{title}，{setting}")


def page_strings(data: ExploreData, say: Lang = EN) -> dict[str, Any]:
    """The page's texts in ``say``'s language, by key (``titles``, ``landscapes``, ``notes_runs``: per item)."""
    from .. import __version__

    titles = _titles(data, say)
    version, algorithms = html.escape(__version__), html.escape(say.join(titles.values()))
    first = {}
    for problem in data.problems:
        first.setdefault(problem.key.split("@")[0], problem)
    return {
        "lang": say.code,
        "titles": titles,
        "landscapes": {key: _landscape_option(land, first[key], say) for key, land in data.landscapes.items()},
        "notes_runs": [_notes_option(run, titles, say) for run in data.notes],
        "axis_labels": _axis_labels(say),
        # the page's frame (static HTML)
        "intro": say(f"Every path, loss, effective learning rate and state on this page was computed by descentlab's own "
                     f"registry rules (<code>descentlab.lab.run_batch</code>, float64) over a grid of settings and "
                     f"embedded here; the page only looks the numbers up, so sliders snap to the computed values. Built "
                     f"by descentlab {version} with {algorithms}.",
                     f"本页的每条迭代轨迹、损失、有效学习率和状态，都由 descentlab 自己注册表中的更新规则"
                     f"（<code>descentlab.lab.run_batch</code>，float64）在一组超参数网格上算出后嵌入；页面只查表，"
                     f"所以滑块只停在算过的取值上。由 descentlab {version} 生成，包含{algorithms}。"),
        "decoding": say("Decoding the embedded data…", "正在解码嵌入的数据…"),
        "quantization_label": say("Quantization:", "量化："),
        "quantization": quantization(say),
        "controls": say("controls", "控件"),
        "readout": say("read-out", "读数"),
        "problem": say("problem", "问题"),
        "objective": say("objective", "目标函数"),
        "start": say("start", "起点"),
        "steps": say("steps", "步数"),
        "notes_runs_label": say("the notes' runs", "笔记中的运行"),
        "caption_paths": say("Contours of f with the paths (★ minima, ● starts: click one, or press Enter here, to start "
                             "there).",
                             "f 的等高线与迭代轨迹（★ 最小值点，● 起点：点击一个起点，或在此按回车键，即从那里出发）。"),
        "caption_paths_diverged": say("✕ marks a run's last point before it diverged (at the step written).",
                                      "✕ 标出运行发散前的最后位置（标注的是发散的时间步）。"),
        "caption_loss": say("f(x_t) against step t (log scale).", "f(x_t) 随时间步 t 的变化（对数坐标）。"),
        "caption_rates": say("Per-coordinate effective learning rate −Δx/g (solid x1, dashed x2; the 2–98% range is shown).",
                             "每个坐标的有效学习率 −Δx/g（实线 x1，虚线 x2；只显示 2–98% 的范围）。"),
        "rates_velocity": say("{titles}: the step follows a running average of past gradients, not the current g, so "
                              "−Δx/g turns negative and spikes wherever g passes through 0; it is a learning rate only "
                              "for rules whose step is a multiple of the current gradient.",
                              "{titles}：每一步沿过去梯度的滑动平均方向，而不是当前的 g，所以 g 经过 0 时 −Δx/g 会变为负值"
                              "并出现尖峰；只有当一步是当前梯度的倍数时，它才是学习率。"),
        "caption_theory": say("Theory of the objective (descentlab.lab.theory).", "目标函数的理论值（descentlab.lab.theory）。"),
        # drawn by the script: {name} is filled with a number or a name the page shows
        "decode_failed": say("could not decode the embedded data: {error}", "无法解码嵌入的数据：{error}"),
        "optimizer_n": say("optimizer {n}", "优化器 {n}"),
        "off": say("off", "关闭"),
        "map_and_state": say("map & state", "速率图与状态"),
        "log": say("{label} (log)", "{label}（对数）"),
        "diverged_mark": say("diverged at step {step}", "第 {step} 步发散"),
        "step_axis": say("step t", "时间步 t"),
        "state_caption": say("{title}'s state ({keys}); solid x1, dashed x2", "{title}的状态（{keys}）；实线 x1，虚线 x2"),
        "no_state": say("{title} keeps no state but its step counter", "{title}除了步数计数外没有状态"),
        "alt_path": say("{title} after {steps} steps at ({x1}, {x2}), f = {f}", "{title} {steps} 步后位于 ({x1}, {x2})，f = {f}"),
        "alt_diverged": say("{title} diverged at step {step}", "{title}在第 {step} 步发散"),
        "alt_loss": say("{title}: f from {first} to {last} in {steps} steps", "{title}：{steps} 步内 f 从 {first} 变为 {last}"),
        "alt_rates": say("{title} at step {steps}: x1 {x1}, x2 {x2}", "{title}在第 {steps} 步：x1 {x1}，x2 {x2}"),
        "alt_state": say("At step {steps}: {values}.", "第 {steps} 步：{values}。"),
        "map_caption": say("{title} over the grid, T = {steps} steps. Colour: the rate per step (f_T/f_0)^(1/2T) on one "
                           "scale for every algorithm, objective and T, spaced by log(1 − rate) (dark: fast; yellow: "
                           "0.999 or slower, stalled).",
                           "{title}在超参数网格上的表现，T = {steps} 步。颜色：每步收敛率 (f_T/f_0)^(1/2T)，所有算法、"
                           "目标函数和步数共用一个色标，按 1 − 收敛率 的对数分布（深色：快；黄色：0.999 或更慢，即停滞）。"),
        "map_caption_grew": say("Dark red: f grew.", "深红：f 上升。"),
        "map_caption_diverged": say("Grey: diverged.", "灰色：发散。"),
        "map_caption_diverged_steps": say("Grey: diverged (at the step written where it fits).",
                                          "灰色：发散（放得下时写出发散的时间步）。"),
        "map_caption_gd_bound": say("White dashes: gradient descent's stability bound 2/λmax.",
                                    "白色虚线：梯度下降的稳定性边界 2/λmax。"),
        "map_caption_momentum_bound": say("White dashes: momentum's stability bound (2+2β)/λmax.",
                                          "白色虚线：动量法的稳定性边界 (2+2β)/λmax。"),
        "map_caption_optimum": say("✚: the optimal (α*, β*).", "✚：最优的 (α*, β*)。"),
        "map_selected": say("Selected (outlined): {selected}. Click a cell, or use the arrow keys here, to select it.",
                            "选中的格（带边框）：{selected}。点击格子，或在此使用方向键，即可选中。"),
        "map_diverged": say("diverged at step {step}", "第 {step} 步发散"),
        "map_fell": say("f fell by 10^{decades}, rate {rate}", "f 下降到原来的 10^-{decades}，收敛率 {rate}"),
        "map_grew": say("f grew by 10^{decades}, rate {rate}", "f 上升到原来的 10^{decades} 倍，收敛率 {rate}"),
        "map_zero": say("f reached 0, rate {rate}", "f 降到 0，收敛率 {rate}"),
        "map_bar": say("rate per step", "每步收敛率"),
        "map_bar_grew": say("grew", "上升"),
        "map_bar_diverged": say("diverged", "发散"),
        "theory_kappa": say("κ = λmax/λmin", "条件数 κ = λmax/λmin"),
        "theory_eigenvalues": say("λmin, λmax", "λmin、λmax"),
        "theory_gd_stable": say("GD stable for lr <", "梯度下降稳定需 η <"),
        "theory_gd_bound": say("2/λmax = {value}", "2/λmax = {value}"),
        "theory_gd_best": say("best GD lr, rate", "梯度下降的最佳学习率、收敛率"),
        "theory_momentum_best": say("momentum optimum α*, β*", "动量法的最优 α*、β*"),
        "theory_momentum_best_value": say("{lr}, {beta} (rate {rate})", "{lr}、{beta}（收敛率 {rate}）"),
        "theory_momentum_stable": say("momentum stable for lr < (2+2β)/λmax, β = {beta}",
                                      "动量法稳定需 η < (2+2β)/λmax，β = {beta}"),
        "theory_not_quadratic": say("not a convex quadratic; κ at the minimum", "不是凸二次函数；最小值点处的 κ"),
        "theory_hessian": say("Hessian eigenvalues there", "该点 Hessian 矩阵的特征值"),
        "readout_diverged": say("diverged at step {step} (|x| > 1e12 or not finite)", "第 {step} 步发散（|x| > 1e12 或非有限值）"),
        "notes_printed": say("notes printed:", "笔记打印的结果："),
        "same_digits": say("✓ same digits", "✓ 数字相同"),
        "differs": say("✗ differs", "✗ 不同"),
        "head_optimizer": say("optimizer", "优化器"),
        "head_setting": say("setting", "超参数"),
        "head_end": say("x after the steps (float64 at {steps} steps)", "迭代后的 x（{steps} 步时为 float64）"),
        "head_f": say("f(x_T)", "f(x_T)"),
        "head_state": say("state at T", "T 步时的状态"),
    }


__all__ = ["HTML_KEYS", "page_strings"]
