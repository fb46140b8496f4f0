"""Turn :class:`~descentlab.chapter.reproduce.ChapterResults` into a report on disk.

``write_report(results, out_dir)`` writes ``index.html``, ``figures/*.svg``,
``results.json`` and ``results.csv``.  Everything is built in a temporary
directory beside ``out_dir`` and moved into place at the end, so an interrupted
run leaves the previous report (or nothing), never half of one.  An existing
``out_dir`` is replaced only if it holds a previous report (or nothing).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..algorithms import REGISTRY
from ..algorithms.spec import format_hyperparameters
from ..files import check_directory, write_directory
from ..lab.objectives import OBJECTIVES
from ..lang import EN, Lang
from .figures import draw_epoch_times, draw_seed_distributions
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
from ..plotting.stability import draw_stability_map
from ..plotting.training import plot_losses
from ..explore import FILENAME as EXPLORER
from ..explore import notes_page, page_hash
from ..notes.reference import LEAST_SQUARES_OPTIMUM, NOTES_TRACES
from .exercise_words import conclusion, title
from .reproduce import STATUSES, ChapterResults, Verdict
from .rule import LEVEL, MIN_SEEDS, RULE
from .schedule_section import ALGORITHM as SCHEDULED_ALGORITHM
from .schedule_section import HYPERPARAMETERS as SCHEDULED_HYPERPARAMETERS
from .schedule_words import schedule_conclusion
from .words import (
    adadelta_explanation,
    adadelta_headline,
    data_note,
    effective_lr_caption,
    effective_lr_words,
    gap_sentence,
    number,
    settles_sentence,
    timing_sentence,
)
from ..lab.trajectory import Trajectory

NOTES = OBJECTIVES["notes"]
REPORT_FILES = ("index.html", "results.json", "results.csv", "figures", EXPLORER)


def _landscapes(panels: list[tuple[str, list[Trajectory]]], columns: int = 2) -> Figure:
    rows = (len(panels) + columns - 1) // columns
    figure = Figure(figsize=(5.6 * columns, 3.9 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).flatten()
    for ax, (title, trajectories) in zip(axes, panels):
        draw_landscape(ax, NOTES, trajectories)
        ax.set_title(title, fontsize=9.5)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return figure


def _pair(left: Callable[[Any], Any], right: Callable[[Any], Any], size: tuple[float, float] = (11.2, 4.0)) -> Figure:
    figure = Figure(figsize=size, layout="constrained")
    a, b = figure.subplots(1, 2)
    left(a)
    right(b)
    return figure


def build_figures(results: ChapterResults) -> dict[str, Figure]:
    """Every figure of the report by file stem."""
    ill, pre, mom, ada, sweep = (results.ill_conditioning, results.preconditioning, results.momentum,
                                 results.adaptive, results.sweep)
    def side(t: Trajectory) -> str:
        return "below" if t.hyperparameters["lr"] < ill.theory.gd_max_lr else "above"

    def momentum_title(t: Trajectory) -> str:
        hp = t.hyperparameters
        gd = next((g for g in (ill.stable, ill.unstable) if g.hyperparameters["lr"] == hp["lr"]), None)
        title = f"momentum, lr {hp['lr']:g}, β {hp['momentum']:g}: ends at f = {t.values[-1]:.2g}"
        return title + (f" (GD at this lr: f = {gd.values[-1]:.3g})" if gd is not None else "")

    figures = {
        "ill_conditioning": _landscapes([(f"gradient descent, lr {t.hyperparameters['lr']:g} ({side(t)} 2/λmax = "
                                          f"{ill.theory.gd_max_lr:g})", [t])
                                         for t in (ill.stable, ill.unstable)]),
        "preconditioning": _pair(lambda ax: draw_landscape(ax, NOTES, [pre.gradient_descent, pre.newton]),
                                 lambda ax: draw_convergence(ax, [pre.gradient_descent, pre.newton])),
        "momentum_traces": _landscapes([(momentum_title(t), [t]) for t in mom.traces]),
        "momentum_theory": _pair(lambda ax: draw_landscape(ax, NOTES, [mom.traces[0], mom.ema]),
                                 lambda ax: draw_ema_weights(ax, mom.betas)),
        "adaptive_traces": _landscapes([(trajectory_label(t), [t])
                                        for t in ada.trajectories], columns=3),
        "adaptive_theory": _pair(lambda ax: draw_effective_lr(ax, ada.long_runs, ada.long_effective_lr),
                                 lambda ax: draw_bias_correction(ax, REGISTRY["adam"].defaults["betas"])),
        "rate_sweep": _pair(lambda ax: draw_gd_rate_sweep(ax, sweep), lambda ax: draw_momentum_rate_map(ax, sweep)),
    }
    if results.airfoil is not None:
        figures.update(_airfoil_figures(results))
    for algorithm in dict.fromkeys(m.algorithm for m in results.stability):
        figures[f"stability_{algorithm}"] = _stability_figure([m for m in results.stability if m.algorithm == algorithm])
    for exercise in results.exercises or []:
        if exercise.experimental:
            figures[exercise_stem(exercise)] = exercise_figure(exercise)
    if results.schedules is not None:
        figures["schedules"] = _schedules_figure(results.schedules)
    return figures


def _schedules_figure(section: Any) -> Figure:
    labels = [r.plan.spec.title for r in section.runs]
    return _pair(lambda ax: draw_lr_schedules(ax, labels, [r.rates for r in section.runs]),
                 lambda ax: draw_final_gaps(ax, labels, [r.run.gap for r in section.runs]))


def _schedules_html(results: ChapterResults) -> str:
    section = results.schedules
    if section is None:
        if results.schedules_error is None:
            return ""
        return (f"<h2>6c. Learning-rate schedules</h2><p class=note><b>Not run:</b> the schedules run on the airfoil "
                f"data: {_e(results.schedules_error)}.</p>")
    seeds = len(section.runs[0].run.seeds)
    rows = "".join(
        f"<tr><td>{_e(r.plan.label())}</td><td class=num>{r.rates[0]:.4g}</td><td class=num>{max(r.rates):.4g}</td>"
        f"<td class=num>{r.rates[-1]:.3g}</td><td class=num>{r.median_gap:.2e}</td><td class=num>{r.spread:.2e}</td></tr>"
        for r in section.runs
    )
    return "\n".join([
        "<h2>6c. Learning-rate schedules</h2>",
        f"<p>d2l 11.11's schedules, each a <code>torch.optim.lr_scheduler</code> scheduler, on the notes' airfoil run "
        f"{_e(SCHEDULED_ALGORITHM)} {_e(format_hyperparameters(SCHEDULED_HYPERPARAMETERS))} (minibatches of 10, "
        f"{section.steps} steps), {seeds} seeds per schedule in one batch. "
        f"<span id=schedule-words>{_e(schedule_conclusion(section))}</span></p>",
        "<table><tr><th>schedule</th><th>first lr</th><th>largest lr</th><th>last lr</th>"
        "<th>median final loss − optimum</th><th>spread over seeds (max − min)</th></tr>" + rows + "</table>",
        _figure("schedules", "Left: the learning rate of each step. Right: final loss − least-squares optimum over "
                f"{seeds} seeds per schedule (box: quartiles, whiskers: min–max; log scale)."),
    ])


def _stability_figure(maps: list[Any]) -> Figure:
    figure = Figure(figsize=(11.2, 3.9), layout="constrained")
    axes = figure.subplots(1, len(maps), squeeze=False)[0]
    meshes = [draw_stability_map(ax, record)[0] for ax, record in zip(axes, maps)]
    figure.colorbar(meshes[0], ax=list(axes), label="contraction per step (≥ 1: none)")  # one scale: 0 to CAP
    return figure


def _stability_html(results: ChapterResults) -> str:
    if not results.stability:
        return ""
    parts = ["<h2>6b. Stability and rate maps of the adaptive methods</h2>",
             "<p>Each map is one batched run per (algorithm, objective): every cell runs the registry's rule "
             f"{results.stability[0].steps} steps from the objective's start; the colour is the measured contraction "
             "of the distance to the minimum per step, and the black line the measured boundary where it stops "
             "contracting (rate 1). Runs that left the finite numbers or passed 1e12: "
             + ", ".join(f"{m.algorithm} on {m.objective} {m.diverged_share:.0%}" for m in results.stability)
             + ". Where the cells oscillate instead of diverging, the adaptive denominator grows with the gradients "
             "and holds the step size back.</p>"]
    for algorithm in dict.fromkeys(m.algorithm for m in results.stability):
        maps = [m for m in results.stability if m.algorithm == algorithm]
        best = [(min(min(row) for row in m.rate), m) for m in maps]
        words = "; ".join(f"best rate on {m.objective} {b:.3g}" for b, m in best)
        parts.append(_figure(f"stability_{algorithm}", f"{REGISTRY[algorithm].title} over ({maps[0].x_name}, "
                             f"{maps[0].y_name}): {words}."))
    return "\n".join(parts)


def exercise_stem(exercise: Any) -> str:
    return "exercise_" + exercise.key.replace("-", "_")


def exercise_figure(exercise: Any, say: Lang = EN) -> Figure:
    """One exercise's figure (the report's and ``descentlab exercises --out``'s)."""
    figure = Figure(figsize=(6.4, 3.8), layout="constrained")
    draw_exercise(figure.add_subplot(), exercise, say)
    return figure


def _exercises_html(results: ChapterResults) -> str:
    if results.exercises is None:
        return ("<h2>7. Exercises</h2><p>Not run in this report: <code>descentlab reproduce --exercises</code> adds them, "
                "<code>descentlab exercises</code> runs them alone.</p>")
    parts = ["<h2>7. Exercises</h2>",
             "<p>The exercises at the end of d2l's momentum, AdaGrad, RMSProp, AdaDelta and Adam sections. Each "
             "experimental one is answered by a run of the registry's rules; its conclusion is computed from the "
             "numbers shown. The others are listed as not experimental, with a sketch.</p>"]
    for exercise in results.exercises:
        if exercise.experimental:
            parts.append(f"<h3>{_e(title(exercise))}</h3><p>{_e(conclusion(exercise))}</p>")
            parts.append(_figure(exercise_stem(exercise), f"{exercise.section} exercise {exercise.number}."))
    proofs = [e for e in results.exercises if not e.experimental]
    if proofs:
        parts.append("<h3>Not experimental</h3><ul>" + "".join(
            f"<li><b>{_e(title(e))}</b> {_e(conclusion(e))}</li>" for e in proofs) + "</ul>")
    return "\n".join(parts)


def _loss_limits(runs: list[Any], optimum: float) -> tuple[float, float]:
    """From just below the optimum to a little above the largest final loss: the ends of the curves, not their starts."""
    top = max(max(r.final_loss) for r in runs)
    return optimum - 0.005, top + max(0.25 * (top - optimum), 0.005)


def _airfoil_figures(results: ChapterResults) -> dict[str, Figure]:
    section = results.airfoil
    assert section is not None
    by_algorithm: dict[str, list[Any]] = {}
    for check in section.checks:
        by_algorithm.setdefault(check.reference.algorithm, []).append(check)
    curves = Figure(figsize=(16.8, 7.6), layout="constrained")
    axes = curves.subplots(2, 3).flatten()
    for ax, (algorithm, checks) in zip(axes, by_algorithm.items()):
        plot_losses(ax, [c.run for c in checks])
        ax.set_title(algorithm, fontsize=10)
        ax.set_ylim(*_loss_limits([c.run for c in checks], section.optimum_loss))
    d = section.adadelta
    cells = [d.cell("own", init, eps) for init in ("own", "torch") for eps in (d.notes_eps, d.torch_eps)]
    names = {"own": "notes' start", "torch": "nn.Linear start"}
    plot_losses(axes[5], [c.run for c in cells], labels=[f"eps {number(c.eps)}, {names[c.init]}" for c in cells])
    axes[5].set_title(adadelta_headline(d), fontsize=10)
    axes[5].set_ylim(*_loss_limits([c.run for c in cells], section.optimum_loss))
    distributions = Figure(figsize=(11.2, 4.6), layout="constrained")
    draw_seed_distributions(distributions.add_subplot(), section.checks, section.optimum_loss)
    times = Figure(figsize=(11.2, 4.0), layout="constrained")
    draw_epoch_times(times.add_subplot(), section.checks)
    return {"airfoil_curves": curves, "airfoil_distributions": distributions, "airfoil_times": times}


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1180px;margin:2rem auto;padding:0 1rem;color:#222;line-height:1.5}
h1{margin-bottom:.2rem} .sub{color:#666;margin-top:0}
h2{border-bottom:2px solid #eee;padding-bottom:.2rem;margin-top:2.5rem}
table{border-collapse:collapse;font-size:.88rem;margin:1rem 0}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f6f6} td:first-child{white-space:nowrap} td.num{font-family:ui-monospace,Menlo,monospace;white-space:nowrap}
.pass{color:#116611;font-weight:600} .FAIL{color:#b00020;font-weight:700} .notrun,.few{color:#8a6d00;font-weight:600}
.badges span{display:inline-block;padding:.2rem .7rem;border-radius:1rem;margin-right:.5rem;font-weight:600}
.b-pass{background:#e3f4e3;color:#116611} .b-fail{background:#fde7ea;color:#b00020} .b-nr{background:#fff4cc;color:#8a6d00}
figure{margin:1rem 0} figure img{max-width:100%;border:1px solid #eee} figcaption{color:#555;font-size:.9rem}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:.5rem .8rem}
code{background:#f4f4f4;padding:0 .25rem;border-radius:3px}
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _verdict_table(verdicts: list[Verdict]) -> str:
    css = {"pass": "pass", "FAIL": "FAIL", "not run": "notrun", "too few seeds": "few"}
    rows = "".join(
        f"<tr><td>{_e(v.section)}</td><td>{_e(v.run)}</td><td class=num>{_e(v.notes)}</td>"
        f"<td class=num>{_e(v.ours).replace('; ', '<br>')}</td><td>{_e(v.rule)}</td>"
        f"<td class={css[v.status]}>{_e(v.status)}</td></tr>"
        for v in verdicts
    )
    return ("<table><tr><th>section</th><th>run</th><th>the notes printed</th><th>ours</th><th>rule</th>"
            f"<th>verdict</th></tr>{rows}</table>")


def _figure(stem: str, caption: str, explore_runs: tuple[str, ...] = ()) -> str:
    """A figure; with ``explore_runs`` (algorithm names of the notes' runs), a link opening the explorer on those runs."""
    link = ""
    if explore_runs:
        runs = [(t.algorithm, t.hyperparameters) for t in NOTES_TRACES if t.algorithm in explore_runs]
        link = (f' <a class="explore" href="{EXPLORER}{_e(page_hash(runs))}">Open these runs in the explorer</a>'
                " (the notes' quadratic; <code>descentlab explore</code> adds the lab's other objectives).")
    return (f'<figure><img src="figures/{stem}.svg" alt="{_e(caption)}"><figcaption>{_e(caption)}{link}'
            '</figcaption></figure>')


def verdict_counts(verdicts: list[Verdict]) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    for v in verdicts:
        counts[v.status] += 1
    return counts


def verdict_line(counts: dict[str, int]) -> str:
    """``verdicts: 19 match, 0 differ, 0 not run`` (and how many were not judged, and why)."""
    line = f"verdicts: {counts['pass']} match, {counts['FAIL']} differ, {counts['not run']} not run"
    if counts["too few seeds"]:
        line += (f", {counts['too few seeds']} not judged: the airfoil verdicts need at least {MIN_SEEDS} seeds per "
                 f"run (use --seeds {MIN_SEEDS} or more)")
    return line


def render_html(results: ChapterResults) -> str:
    """The report page (figures are referenced as ``figures/<stem>.svg``)."""
    verdicts = results.verdicts()
    counts = verdict_counts(verdicts)
    ill, pre, mom, ada, sweep = (results.ill_conditioning, results.preconditioning, results.momentum,
                                 results.adaptive, results.sweep)
    theory = ill.theory
    lr = ill.unstable.hyperparameters["lr"]
    env = results.environment
    total_seconds = sum(results.seconds.values())
    start = ill.stable.points[0]
    newton_step = pre.newton.points[1]
    newton_words = ("lands on the minimum in one step" if pre.newton.values[1] == 0.0 else
                    f"reaches f = {pre.newton.values[1]:.2g} in one step")
    slow, fast = mom.traces
    gd_fast = next(g for g in (ill.stable, ill.unstable) if g.hyperparameters["lr"] == fast.hyperparameters["lr"])
    beta = fast.hyperparameters["momentum"]
    if gd_fast.values[-1] > gd_fast.values[0] and fast.values[-1] < fast.values[0]:
        momentum_words = (f"That is why η = {fast.hyperparameters['lr']:g} no longer diverges (f = {fast.values[-1]:.2g} "
                          f"after {fast.steps} steps, where gradient descent reached f = {gd_fast.values[-1]:.3g})")
    else:
        momentum_words = (f"At η = {fast.hyperparameters['lr']:g} momentum ends at f = {fast.values[-1]:.3g} and gradient "
                          f"descent at f = {gd_fast.values[-1]:.3g}")
    adagrad_runs = [t for t in ada.trajectories if t.algorithm == "adagrad"]
    long_adagrad, long_rmsprop = ada.long_runs
    described = effective_lr_words(ada.long_runs, ada.long_effective_lr, [ill.hessian[0][0], ill.hessian[1][1]])
    rmsprop_words = "; ".join(f"{name} {words}" for name, _, words in described[1][1])
    windows = ", ".join(f"{1 / (1 - b):g} for β = {b:g}" for b in mom.betas)
    rule_note = (f"Below {MIN_SEEDS} seeds an airfoil row gets no verdict (“too few seeds”): the interval would rest on "
                 "too few values to judge by." if counts["too few seeds"] else "")
    parts = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        f"<title>descentlab: the momentum and adaptive-methods chapter, reproduced</title><style>{CSS}</style></head><body>",
        "<h1>Momentum, AdaGrad, RMSProp, AdaDelta, Adam — reproduced</h1>",
        f"<p class=sub>descentlab {_e(env.get('descentlab'))}, torch {_e(env.get('torch'))}, "
        f"{_e(env.get('threads'))} threads; {len(results.seeds)} seeds per airfoil run; "
        f"experiments ran in {total_seconds:.1f} s (figures not counted) on "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.</p>",
        "<div class=badges>"
        f"<span class=b-pass>{counts['pass']} match</span>"
        f"<span class=b-fail>{counts['FAIL']} differ</span>"
        f"<span class=b-nr>{counts['not run']} not run</span>"
        + (f"<span class=b-nr>{counts['too few seeds']} too few seeds</span>" if counts["too few seeds"] else "")
        + "</div>",
        "<h2>Every number the notes printed, and ours</h2>",
        "<p>Deterministic numbers (the 2D runs) must match to every printed digit. Each airfoil run is one random draw "
        "in the notes; it agrees when it lies inside the "
        f"<b>{LEVEL:.0%} prediction interval for one more of our seeds</b>, taken on the cube root of the gap to the "
        "least-squares optimum: <code>z = ∛(loss − optimum)</code>, pass when <code>|z_notes − m| ≤ t·s·√(1+1/n)</code>, "
        "with m and s the mean and standard deviation of our n seeds' z and t the 99.5% quantile of Student's t with "
        f"n − 1 degrees of freedom. A fresh seed of the same procedure falls outside about {1 - LEVEL:.0%} of the time "
        "whatever n (the README gives the rates measured by tests/test_verdict_rule.py; the cube root of this sum-of-squares gap is close to normal; the raw losses are skewed), so a correct "
        f"reproduction shows “differ” on at least one of the twelve rows about {1 - LEVEL ** 12:.0%} of the time. "
        f"{_e(rule_note)}</p>",
        _verdict_table(verdicts),
        "<h2>1. Ill-conditioning</h2>",
        f"<p><code>f(x) = 0.1·x1² + 2·x2²</code> has Hessian <code>H = diag({ill.hessian[0][0]:g}, {ill.hessian[1][1]:g})</code>: "
        f"condition number κ = λmax/λmin = <b>{theory.kappa:g}</b>. Gradient descent multiplies each coordinate's error by "
        f"<code>1 − η·λ</code> per step, so it converges only for η &lt; 2/λmax = <b>{theory.gd_max_lr:g}</b>. At η = {lr:g} the x2 "
        f"coordinate is multiplied by |1 − {lr:g}·{theory.lmax:g}| = {abs(1 - lr * theory.lmax):g} every step and ends at "
        f"{ill.unstable.final[1]:.1f}, while x1, with the small curvature {theory.lmin:g}, only gets from {start[0]:g} to "
        f"{ill.stable.final[0]:.3f} (η = {ill.stable.hyperparameters['lr']:g}) and {ill.unstable.final[0]:.3f} "
        f"(η = {lr:g}) in {ill.stable.steps} steps. One learning rate cannot suit both directions.</p>",
        _figure("ill_conditioning", f"Gradient descent at η = {ill.stable.hyperparameters['lr']:g} and η = {lr:g} (the notes' "
                f"two pictures), {ill.stable.steps} steps from ({start[0]:g}, {start[1]:g}).", ("sgd",)),
        "<h2>2. Preconditioning</h2>",
        "<p>Scaling the gradient by the inverse Hessian, <code>Δx = H⁻¹g</code>, turns the problem into one whose Hessian "
        f"is the identity: the Newton step {newton_words}, from ({start[0]:g}, {start[1]:g}) to "
        f"({newton_step[0]:.3g}, {newton_step[1]:.3g}), whatever κ. The adaptive methods below "
        "approximate this with a per-coordinate (diagonal) scaling learned from gradients.</p>",
        _figure("preconditioning", f"Left: Newton's step against gradient descent (η = "
                f"{pre.gradient_descent.hyperparameters['lr']:g}). Right: f(x_t), log scale."),
        "<h2>3. Momentum</h2>",
        "<p>Momentum keeps a velocity <code>m ← βm + ηg; x ← x − m</code>. Along x2 the gradients flip sign and cancel in "
        "<code>m</code>; along x1 they agree and add up, so the step there grows towards η/(1−β) times the gradient "
        f"(β = {beta:g}: {1 / (1 - beta):g} times the step). {_e(momentum_words)}: with β = {beta:g} the stable range grows "
        f"to η &lt; (2+2β)/λmax = {theory.momentum_max_lr(beta):g}.</p>",
        _figure("momentum_traces", f"The notes' two momentum runs (η = {slow.hyperparameters['lr']:g} and "
                f"{fast.hyperparameters['lr']:g}, β = {beta:g}).", ("momentum",)),
        f"<p>The EMA form <code>m ← βm + (1−β)g; x ← x − η/(1−β)·m</code> gives the same path: the largest coordinate "
        f"difference over {mom.ema.steps} steps is {mom.max_form_difference:.1e}. An exponential moving average gives the "
        "value i steps back the weight (1−β)βⁱ; since β^(1/(1−β)) ≈ e⁻¹, it is roughly an average of the last 1/(1−β) "
        f"values ({windows}).</p>",
        _figure("momentum_theory", "Left: velocity and EMA forms, one path. Right: EMA weights (1−β)βⁱ with the 1/(1−β) window."),
        "<h2>4. AdaGrad, RMSProp, AdaDelta, Adam</h2>",
        "<p>AdaGrad divides each coordinate's step by the root of its summed squared gradients, so the steep x2 gets a small "
        "step and the flat x1 a large one — but the sum only grows, so its effective learning rate only falls: at "
        f"η = {adagrad_runs[0].hyperparameters['lr']:g} it ends {adagrad_runs[0].steps} steps at "
        f"({adagrad_runs[0].final[0]:.3g}, {adagrad_runs[0].final[1]:.3g}), f = {adagrad_runs[0].values[-1]:.3g}; at "
        f"η = {adagrad_runs[1].hyperparameters['lr']:g} at ({adagrad_runs[1].final[0]:.3g}, {adagrad_runs[1].final[1]:.3g}). "
        f"RMSProp replaces the sum by a moving average (γ = {long_rmsprop.hyperparameters['gamma']:g}), which forgets old "
        "gradients: as the gradients shrink near the minimum its effective learning rate grows again. Over "
        f"{long_rmsprop.steps} steps at η = {long_rmsprop.hyperparameters['lr']:g}: {_e(rmsprop_words)}; "
        f"{_e(settles_sentence(long_rmsprop))}. AdaDelta replaces η by a running RMS of its own past steps; Adam adds "
        "momentum and corrects both averages for their zero start by 1 − βᵗ.</p>",
        _figure("adaptive_traces", "The notes' AdaGrad (η = "
                + ", ".join(f"{t.hyperparameters['lr']:g}" for t in adagrad_runs)
                + ") and RMSProp runs, with " + " and ".join(trajectory_label(t) for t in ada.trajectories if t.algorithm not in ("adagrad", "rmsprop"))
                + " on the same landscape.", ("adagrad", "rmsprop")),
        _figure("adaptive_theory", effective_lr_caption(described, long_adagrad.steps)
                + f" Right: Adam's bias correction 1 − βᵗ for β1 = {REGISTRY['adam'].defaults['betas'][0]:g} and "
                f"β2 = {REGISTRY['adam'].defaults['betas'][1]:g}."),
        "<h2>5. Linear regression on the airfoil data</h2>",
        _airfoil_html(results),
        "<h2>6. Beyond the notes: the best learning rate and momentum</h2>",
        f"<p>For a quadratic the theory gives more than a bound. Gradient descent contracts the error by "
        f"max|1 − η·λ| per step, best at η = 2/(λmin+λmax) = {theory.gd_best_lr:.4g} with rate (κ−1)/(κ+1) = "
        f"{theory.gd_best_rate:.4g}. Momentum's best pair is η* = (2/(√λmax+√λmin))² = {theory.momentum_best_lr:.4g}, "
        f"β* = ((√κ−1)/(√κ+1))² = {theory.momentum_best_beta:.4g} with rate (√κ−1)/(√κ+1) = {theory.momentum_best_rate:.4g}. "
        f"Measured over {sweep.steps} steps, {len(sweep.gd_lr)} learning rates and "
        f"{len(sweep.momentum_lr) * len(sweep.momentum_beta)} (η, β) pairs, each sweep one batched run of the same rules.</p>",
        _figure("rate_sweep", "Left: GD's measured contraction against max|1 − ηλ|. Right: momentum's measured contraction "
                "over (η, β), its stability bound and the optimal pair."),
        _stability_html(results),
        _schedules_html(results),
        _exercises_html(results),
        "<h2>How to reproduce</h2><p><code>make reproduce</code> (or <code>descentlab reproduce --out report</code>). "
        "Section times: " + ", ".join(f"{_e(k)} {v:.2f} s" for k, v in results.seconds.items()) + ".</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _airfoil_html(results: ChapterResults) -> str:
    section = results.airfoil
    if section is None:
        return (f"<p class=note><b>Not run:</b> {_e(results.airfoil_error)}. Run <code>descentlab reproduce --data "
                "PATH/airfoil_self_noise.dat</code> (or set <code>DESCENTLAB_DATA</code>) to include it.</p>")
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
    note = data_note(section)
    adadelta = [c for c in section.checks if c.reference.algorithm == "adadelta"]
    own_notes, torch_notes = (c.reference.final_loss for c in adadelta)
    d = section.adadelta
    return (
        (f"<p class=note id=data-note><b>{_e(note)}</b></p>" if note else "")
        + "<p>The notes standardize the 1503 rows, keep the first 1500, and fit <code>ŷ = Xw + b</code> with loss "
        "mean((ŷ−y)²)/2, minibatches of 10, 2 epochs, and the loss on all rows every 100 examples. Each row below is "
        f"that experiment over {len(results.seeds)} seeds (own initialisation and shuffling each), all seeds in one "
        f"batched run. The least-squares optimum of this loss is <b>{section.optimum_loss:.6f}</b>. "
        f"<span id=gap-sentence>{_e(gap_sentence(section.checks, section.optimum_loss))}</span></p>"
        "<table><tr><th>impl</th><th>algorithm</th><th>hyperparameters</th><th>notes</th><th>our mean</th><th>std</th>"
        "<th>our min – max</th><th>mean − optimum</th><th>s/epoch printed in the notes (their machine)</th>"
        + ("<th>s/epoch, the notes' loop here (1 seed, 1 epoch)</th>" if looped else "")
        + f"<th>s/epoch, ours here ({len(results.seeds)} seeds)</th></tr>"
        f"{rows}</table>"
        + _figure("airfoil_curves", "Loss against epoch, own implementation and torch.optim side by side (mean over seeds, "
                  "band: min–max; dashed: the least-squares optimum; each panel's y axis ends a little above its largest "
                  "final loss, so the first evaluations are off the top). Last panel: our AdaDelta rule with each ε "
                  "and each initialization (torch.optim.Adadelta gives the same curves).")
        + _figure("airfoil_distributions", "Final loss over seeds per run (box: quartiles, whiskers: min–max); red diamond: "
                  f"the notes' single printed value; black bar: the {LEVEL:.0%} prediction interval it is judged by.")
        + "<p><b>The AdaDelta puzzle.</b> The notes' own AdaDelta ended at "
        f"{own_notes:.6f}, their torch.optim.Adadelta run at {torch_notes:.6f}. torch's run differs in two things: "
        f"ε ({number(d.torch_eps)} against the notes' {number(d.notes_eps)}) and the initialization (nn.Linear(5, 1)'s default against "
        f"the notes' N(0, 0.01²)). <span id=adadelta-words>{_e(adadelta_explanation(d))}</span></p>"
        + f"<p id=timing-words>{_e(timing_sentence(section.checks))}</p>"
        + _figure("airfoil_times", "Seconds per epoch (the last of the two): printed in the notes (their machine), "
                  + ("the notes' own loop on this machine (one seed, one epoch), " if looped else "")
                  + f"and descentlab on this machine ({len(results.seeds)} seeds at once).")
    )


def _finite(value: float) -> float | None:
    """JSON has no nan: a non-finite number is written as null."""
    return value if math.isfinite(value) else None


def results_json(results: ChapterResults) -> dict[str, Any]:
    """Every number of the report, JSON-ready."""
    theory = results.ill_conditioning.theory
    section, ada = results.airfoil, results.adaptive
    hessian = results.ill_conditioning.hessian
    described = effective_lr_words(ada.long_runs, ada.long_effective_lr, [hessian[0][0], hessian[1][1]])
    data: dict[str, Any] = {
        "environment": results.environment,
        "seeds": list(results.seeds),
        "seconds": results.seconds,
        "verdicts": [vars(v) | {"status": v.status} for v in results.verdicts()],
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
        "rule": {"text": RULE, "level": LEVEL, "min_seeds": MIN_SEEDS},
        "airfoil": None if section is None else {
            "optimum_loss": section.optimum_loss,
            "data": {"path": section.data_path, "sha1": section.data_sha1, "published": section.data_published,
                     "note": data_note(section)},
            "gap_sentence": gap_sentence(section.checks, section.optimum_loss),
            "runs": [c.run.to_dict() | {"notes_final_loss": c.reference.final_loss, "passed": c.passed,
                                        "prediction_interval": None if c.interval is None else vars(c.interval),
                                        "notes_loop_sec_per_epoch": None if c.notes_loop is None else c.notes_loop.epoch_times[-1],
                                        "notes_printed_sec_per_epoch": c.reference.sec_per_epoch}
                     for c in section.checks],
            "adadelta_decomposition": {
                "headline": adadelta_headline(section.adadelta),
                "notes_eps": section.adadelta.notes_eps, "torch_eps": section.adadelta.torch_eps,
                "baseline": section.adadelta.baseline, "eps_alone": section.adadelta.eps_alone,
                "init_alone": section.adadelta.init_alone, "both": section.adadelta.both,
                "code_difference": section.adadelta.code_difference,
                "cells": [{"impl": c.impl, "init": c.init, "eps": c.eps} | c.run.to_dict()
                          for c in section.adadelta.cells],
            },
            "timing": timing_sentence(section.checks),
        },
        "airfoil_error": results.airfoil_error,
    }
    data["exercises"] = None if results.exercises is None else [
        {"key": e.key, "question": e.question, "experimental": e.experimental,
         "numbers": {k: _finite(v) for k, v in e.numbers.items()}, "conclusion": conclusion(e)}
        for e in results.exercises
    ]
    data["schedules"] = None if results.schedules is None else {
        "algorithm": SCHEDULED_ALGORITHM, "hyperparameters": SCHEDULED_HYPERPARAMETERS, "steps": results.schedules.steps,
        "conclusion": schedule_conclusion(results.schedules),
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
                writer.writerow(["airfoil", name, f"{c.interval.level:.0%} prediction interval", "",
                                 f"{c.interval.low:.6f} – {c.interval.high:.6f}", ""])
        writer.writerow(["airfoil", "least squares", "optimum loss", f"{LEAST_SQUARES_OPTIMUM:.6f}", f"{results.airfoil.optimum_loss:.6f}", ""])
    for label, seconds in results.seconds.items():
        writer.writerow(["timing", label, "seconds", "", f"{seconds:.3f}", ""])
    return buffer.getvalue()


def check_destination(out_dir: Path) -> None:
    """Fail early, with a ``ValueError``, unless ``out_dir`` can receive a report (new, empty, or a previous report)."""
    check_directory(out_dir, REPORT_FILES)


def write_report(results: ChapterResults, out_dir: str | Path, explorer: str | None = None) -> Path:
    """Write the report into ``out_dir`` (atomically, as a whole); returns the path of ``index.html``.

    ``explorer`` is the page written beside it (``notes_page()``, computed here if not given:
    it does not depend on the results, so the CLI builds it in a second process meanwhile).
    """

    def fill(staging: Path) -> None:
        (staging / "figures").mkdir()
        for stem, figure in build_figures(results).items():
            figure.savefig(staging / "figures" / f"{stem}.svg")
        (staging / "index.html").write_text(render_html(results), encoding="utf-8")
        (staging / EXPLORER).write_text(notes_page() if explorer is None else explorer, encoding="utf-8")
        (staging / "results.json").write_text(json.dumps(results_json(results), indent=1, default=str), encoding="utf-8")
        (staging / "results.csv").write_text(results_csv(results), encoding="utf-8")

    return write_directory(out_dir, REPORT_FILES, fill) / "index.html"


__all__ = ["build_figures", "check_destination", "render_html", "results_csv", "results_json", "verdict_counts",
           "verdict_line", "write_report"]
