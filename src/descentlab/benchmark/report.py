"""Write a benchmark to a directory: ``index.html``, ``figures/*.svg``, ``results.json``, ``trials.csv``.

The directory is built beside ``out_dir`` and moved into place as a whole
(:func:`descentlab.files.write_directory`); an ``out_dir`` holding other files
is refused.  The protocol is in every output: the page (as text, step by step),
every figure's metadata (the SVG's description, not drawn on the plot), the JSON
(``"protocol"``) and the first line of the CSV (a ``#`` comment).

Every sentence the page says about the results (the notes under a table, the
captions, the profile's remarks) is computed from the records it describes.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..algorithms.spec import format_hyperparameters
from ..files import check_directory, write_directory
from .figures import (
    draw_learning_curves,
    draw_lr_sensitivity,
    draw_profile,
    lr_series,
    profile_offsets,
    styles,
    zero_trials,
)
from .problems import Problem
from .protocol import Benchmark
from .summary import TUNE_K, Profile, Row, coinciding, performance_profile, rows

REPORT_FILES = ("index.html", "results.json", "trials.csv", "figures")


def _number(value: float, digits: int = 4) -> str:
    if math.isnan(value):
        return "–"
    return "∞" if math.isinf(value) else f"{value:.{digits}g}"


def budget_text(bm: Benchmark, problem_name: str) -> str:
    p = next(p for p in bm.problems if p.name == problem_name)
    return f"budget {p.steps} steps × batch {p.batch_size}, target validation loss {p.target:g}"


FIGURE_SIZE = (5.0, 4.2)  # inches: two side by side on a desktop, one a screen wide on a phone
PROFILE_SIZE = (5.2, 4.4)


def _problem(bm: Benchmark, name: str) -> Problem:
    return next(p for p in bm.problems if p.name == name)


def _figure(size: tuple[float, float]) -> tuple[Figure, Any]:
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.subplots()


def figure_names(bm: Benchmark) -> list[str]:
    """The stems of ``figures/*.svg``: the profile, then two per problem."""
    return ["profile"] + [f"{p.name}-{kind}" for p in bm.problems for kind in ("curves", "lr")]


def build_figures(bm: Benchmark, profile: Profile) -> dict[str, Figure]:
    """Every figure of the report by stem; the protocol is page text, not drawn on them."""
    style = styles([o.name for o in bm.optimizers])
    figures: dict[str, Figure] = {}
    fig, ax = _figure(PROFILE_SIZE)
    draw_profile(ax, profile, style)
    figures["profile"] = fig
    for p in bm.problems:
        studies = [bm.study(p.name, o.name) for o in bm.optimizers]
        fig, ax = _figure(FIGURE_SIZE)
        draw_learning_curves(ax, p, studies, style)
        figures[f"{p.name}-curves"] = fig
        fig, ax = _figure(FIGURE_SIZE)
        draw_lr_sensitivity(ax, p, studies, style)
        figures[f"{p.name}-lr"] = fig
    return figures


# ----- the tables ----------------------------------------------------------------------------------------------

COLUMNS = ("optimizer", "final loss", "ended ≤ target", "first step ≤ target", f"best of {TUNE_K} trials",
           "trials at target", "trials diverged", "chosen setting")


def column_notes(bm: Benchmark, p: Problem) -> tuple[str, ...]:
    """What each column of ``p``'s table holds, with this benchmark's numbers (shown under each heading)."""
    n, trials, target = bm.protocol.seeds, bm.protocol.trials, f"{p.target:g}"
    k = min(TUNE_K, trials)
    seeds = "the fresh seed" if n == 1 else f"the {n} fresh seeds"
    return (
        "",
        f"on {seeds}: median [lowest – highest]" if n > 1 else f"on {seeds}",
        f"fresh seeds whose last loss is ≤ {target}",
        f"median over seeds of the first evaluated step with loss ≤ {target} (seeds that got there at any step)",
        f"expected lowest final loss of {k} of the {trials} trials drawn at random (a small tuning budget)",
        f"share of the {trials} trials ≤ {target} at some step",
        f"share of the {trials} trials whose loss overflowed to ∞ or NaN",
        "the trial with the lowest final loss on the tuning seed",
    )


def row_cells(r: Row) -> tuple[str, ...]:
    if r.seeds > 1:
        final = f"{_number(r.final_median)} [{_number(r.final_low)} – {_number(r.final_high)}]"
    else:
        final = _number(r.final_median)
    steps = "–" if math.isinf(r.steps) else f"{r.steps:.0f}"
    return (r.optimizer, final, f"{r.ended_below}/{r.seeds}", f"{steps} ({r.reached}/{r.seeds})",
            _number(r.best_of_k), f"{r.at_target:.0%}", f"{r.diverged:.0%}", format_hyperparameters(_rounded(r.best)))


def _short(value: float) -> float:
    """Three significant digits, more where three would round a fraction to a whole number (β 0.9999, not 1)."""
    digits = 3
    while digits < 17 and value != round(value) and float(f"{value:.{digits}g}") == round(value):
        digits += 1
    return float(f"{value:.{digits}g}")


def _rounded(hp: dict[str, Any]) -> dict[str, Any]:
    def short(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(short(x) for x in v)
        return _short(v) if isinstance(v, float) else v
    return {k: short(v) for k, v in hp.items()}


def _count(k: int, n: int, noun: str) -> str:
    """"2 of 3 fresh seeds", "all 3 fresh seeds", "the fresh seed"."""
    if n == 1:
        return f"the {noun.removesuffix('s')}"
    return f"all {n} {noun}" if k == n else f"{k} of {n} {noun}"


def row_notes(r: Row, target: float) -> list[str]:
    """Sentences on what a row's numbers alone would hide: fresh seeds that diverged or ended far from the
    tuning seed's result (more than twice it and above the target), and seeds that reached the target and
    ended above it."""
    notes = []
    if r.seeds_diverged:
        notes.append(f"{r.optimizer}: {_count(r.seeds_diverged, r.seeds, 'fresh seeds')} diverged (the loss overflowed), "
                     f"though the chosen trial ended at {_number(r.tuning_final)} on the tuning seed.")
    elif math.isfinite(r.tuning_final):
        line = max(2 * r.tuning_final, target)
        far = [v for v in r.finals if v > line]
        if far:
            notes.append(
                f"{r.optimizer}: the chosen setting ended at {_number(r.tuning_final)} on the tuning seed, but "
                f"{_count(len(far), r.seeds, 'fresh seeds')} ended above {_number(line, 3)}, at "
                + ", ".join(_number(v) for v in sorted(far))
                + ": picked on one seed, the setting does not carry over to every other. "
                "None diverged: a large final loss is still a finite one.")
    rose = r.reached - r.ended_below
    if rose > 0:
        first = (f"first at step {r.steps:.0f} in the median" if math.isfinite(r.steps)
                 else "fewer than half of them, so no median step")
        ended = ("and ended above it again" if rose == r.reached
                 else f"and {rose} of them ended above it again")
        notes.append(f"{r.optimizer}: {_count(r.reached, r.seeds, 'fresh seeds')} reached the target {target:g} "
                     f"({first}) {ended}: the loss rose after reaching it.")
    return notes


def problem_rows(bm: Benchmark, all_rows: list[Row] | None = None) -> dict[str, list[Row]]:
    all_rows = all_rows if all_rows is not None else rows(bm)
    return {p.name: [r for r in all_rows if r.problem == p.name] for p in bm.problems}


def profile_notes(profile: Profile) -> list[str]:
    """Which optimizers draw the same profile line (and so are shifted apart in the figure)."""
    notes = []
    offsets = profile_offsets(profile)
    for group in coinciding(profile):
        names = ", ".join(group[:-1]) + " and " + group[-1]
        ratios_ = sorted(profile.ratios[group[0]].values())
        if all(math.isinf(r) for r in ratios_):
            who = "neither reaches" if len(group) == 2 else "none of them reaches"
            why = f"{who} any target within r_max = {profile.r_max:g} times the fastest, so each is ρ = 0"
        else:
            shown = ", ".join("–" if math.isinf(r) else f"{r:.3g}" for r in ratios_)
            why = f"their sorted ratios are the same ({shown}), and ρ depends on nothing else"
        notes.append(f"{names} draw the same line: {why}.")
    shift = max(abs(v) for v in offsets.values()) if offsets else 0.0
    if shift:
        notes.append(f"Where lines share a level, they would hide each other: in the figure each line is shifted up or "
                     f"down by at most {shift:.3g} (in the legend's order, first lowest), and markers sit at staggered "
                     "places along each line. The table above gives the exact values.")
    return notes


def _ratio_cell(steps: float, ratio: float, r_max: float) -> str:
    if math.isinf(steps):
        return "not reached"
    return f"{steps:.0f} (×{ratio:.3g})" if math.isfinite(ratio) else f"{steps:.0f} (>{r_max:g}×)"


def lr_caption(bm: Benchmark, p: Problem) -> str:
    """What the lr-sensitivity figure draws, from the trials it draws."""
    joined, points, without = [], [], []
    for o in bm.optimizers:
        groups = lr_series(bm.study(p.name, o.name).trials)
        if not groups:
            without.append(o.name)
        elif any(len(g) > 1 for g in groups):
            joined.append(o.name)
        else:
            points.append(o.name)
    parts = [f"Final validation loss of each of the {bm.protocol.trials} trials on the tuning seed against its lr; "
             "ring: the chosen trial; ×: diverged, drawn at the top; dashed: the target."]
    if joined:
        parts.append(f"Lines join trials that differ in lr alone ({', '.join(joined)}).")
    if points:
        parts.append(f"The trials of {', '.join(points)} differ in several hyperparameters at once, so they are "
                     "points, not a curve: a trend across them is not the effect of lr alone.")
    zero = zero_trials([bm.study(p.name, o.name) for o in bm.optimizers])
    if zero:
        parts.append(f"▼ on the bottom edge: a trial whose loss reached exactly 0 in float64 ({', '.join(zero)}).")
    if without:
        parts.append(f"Left out (no lr): {', '.join(without)}.")
    return " ".join(parts)


def curves_caption(bm: Benchmark, p: Problem) -> str:
    n = bm.protocol.seeds
    band = "" if n < 2 else f", and a band from the 10% to the 90% quantile over the {n} seeds"
    gone = [o.name for o in bm.optimizers if any(run.diverged for run in bm.study(p.name, o.name).reruns)]
    gap = f" Runs that diverged ({', '.join(gone)}) leave the line where they overflowed." if gone else ""
    return (f"Validation loss against step of each optimizer's chosen setting: the median over the fresh seeds{band}; "
            f"dashed: the target {p.target:g}.{gap}")


def table_lines(bm: Benchmark, profile: Profile | None = None) -> list[str]:
    """The report's tables as plain text: one block per problem with its notes, then the profile scores."""
    profile = profile or performance_profile(bm)
    by_problem = problem_rows(bm)
    lines = [bm.protocol.text(), ""]
    for p in bm.problems:
        lines.append(f"{p.name}: {p.title}; {p.sizes}; {budget_text(bm, p.name)}")
        cells = [COLUMNS[:-1]] + [row_cells(r)[:-1] for r in by_problem[p.name]]
        widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
        lines += ["  " + "  ".join(c[i].ljust(widths[i]) for i in range(len(c))).rstrip() for c in cells]
        lines += ["  note: " + note for r in by_problem[p.name] for note in row_notes(r, p.target)]
        lines.append("")
    ranked = sorted(profile.scores.items(), key=lambda kv: -kv[1])
    lines.append(f"performance-profile score (AlgoPerf, r_max = {profile.r_max:g}, {len(bm.problems)} problems): "
                 + ", ".join(f"{name} {value:.3f}" for name, value in ranked))
    lines += ["  note: " + note for note in profile_notes(profile)]
    return lines


# ----- the page ------------------------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;max-width:74rem;margin:0 auto;padding:1rem}
h1{font-size:1.7rem;margin:.5rem 0}
h2{font-size:1.3rem;margin:2.2rem 0 .5rem;padding-top:1rem;border-top:1px solid #ddd}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
p,li{max-width:52rem}
code{font-size:.9em;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}
table{border-collapse:collapse;font-size:.85rem}
th[scope=row]{position:sticky;left:0;background:#fff}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
thead th{background:#f4f4f4}
th small{display:block;font-weight:normal;color:#555;min-width:8em;max-width:15em;font-size:.78rem;line-height:1.3}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.s{min-width:12em;font-size:.8rem}
td.s span{white-space:nowrap}
.figs{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:1.5rem;margin:1rem 0}
.one{max-width:40rem}
figure{margin:0}
img{display:block;width:100%;height:auto}
figcaption{font-size:.85rem;color:#444;margin-top:.3rem}
ul.notes li{margin:.2rem 0}
.meta{color:#555}
@media (max-width:900px){.figs{grid-template-columns:minmax(0,1fr)}table{width:max-content}}
@media (max-width:480px){body{padding:.6rem}h1{font-size:1.4rem}}
""".strip()


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _table(header: tuple[str, ...], notes: tuple[str, ...], body: list[tuple[str, ...]], numeric: set[int],
           setting: int | None = None) -> str:
    head = "".join(f"<th scope='col'>{_e(h)}" + (f"<small>{_e(n)}</small>" if n else "") + "</th>"
                   for h, n in zip(header, notes))
    def cell(i: int, c: str) -> str:
        if i == 0:
            return f"<th scope='row'>{_e(c)}</th>"
        if i == setting:  # one hyperparameter per piece that never breaks (e.g. inside 1e-05)
            pieces = re.split(r", (?=[A-Za-z_]\w*=)", c)
            return "<td class='s'>" + ", ".join(f"<span>{_e(x)}</span>" for x in pieces) + "</td>"
        cls = " class='n'" if i in numeric else ""
        return f"<td{cls}>{_e(c)}</td>"
    body_ = "".join("<tr>" + "".join(cell(i, c) for i, c in enumerate(r)) + "</tr>" for r in body)
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body_}</tbody></table></div>"


def _figure_html(stem: str, alt: str, caption: str) -> str:
    return (f"<figure><img src='figures/{stem}.svg' alt='{_e(alt)}'>"
            f"<figcaption>{_e(caption)}</figcaption></figure>")


def _protocol_html(bm: Benchmark) -> str:
    pr = bm.protocol
    fresh = f"{pr.fresh_seeds[0]}–{pr.fresh_seeds[-1]}" if pr.seeds > 1 else f"{pr.fresh_seeds[0]}"
    k = min(TUNE_K, pr.trials)
    problems = "".join(
        f"<li><b>{_e(p.name)}</b>: {_e(p.title)}. {_e(p.why[:1].upper() + p.why[1:])}. {_e(p.sizes)}"
        + ("" if p.kappa is None else f"; κ = {_e(_number(p.kappa, 3))}")
        + f"; {_e(budget_text(bm, p.name))}.</li>" for p in bm.problems)
    spaces = "".join(f"<li><code>{_e(n)}</code>: {_e(t)}</li>" for n, t in bm.space_text.items())
    return f"""<h2 id='protocol'>Protocol</h2>
<p>The same for every problem and every optimizer (seed {pr.seed}):</p>
<ol>
<li><b>Tuning.</b> {pr.trials} settings per optimizer from a scrambled Sobol sequence over all its searched
hyperparameters at once (lr, ε and 1 − β on log scales), each run once for the problem's budget with tuning seed
{pr.tuning_seed}: the same start and minibatch order for every trial of every optimizer.</li>
<li><b>Selection.</b> The chosen setting is the trial with the lowest validation loss at the end of the budget (a run
whose loss overflowed counts as +∞).</li>
<li><b>Re-run.</b> The chosen setting runs again on {pr.seeds} fresh seed{'s' if pr.seeds > 1 else ''} ({fresh}),
the same for every optimizer; these runs are the reported performance.</li>
</ol>
<p>No gradient clipping, no learning-rate schedule, no weight decay for anyone. The tuning budget counts too:
“best of {k} trials” is what an optimizer's tuning would have found with only {k} of its {pr.trials} trials, drawn at
random (the exact expectation over every such draw), a measure of how easy it is to tune.</p>
<h3>Problems</h3>
<ul>{problems}</ul>
<h3>Search spaces</h3>
<ul>{spaces}</ul>"""


def _reading_html(bm: Benchmark) -> str:
    every = sorted({p.eval_every for p in bm.problems})
    when = f"every {every[0]} steps" if len(every) == 1 else "every few steps (see each problem)"
    return f"""<h2 id='reading'>Reading the tables</h2>
<p>The validation loss is evaluated {_e(when)} and at the end. A run <b>reaches the target</b> at the first
evaluation at or below it; it can rise above it afterwards, so “first step ≤ target” (did it ever get there, and when)
and “ended ≤ target” (is it there at the end) are two columns. A run <b>diverges</b> when its loss overflows to ∞ or
NaN; a run that ends at a large but finite loss has not diverged. Under each table, notes name the rows where the
fresh seeds tell a different story from the tuning seed. Each column's heading says what it holds.</p>"""


def _profile_html(bm: Benchmark, profile: Profile, by_problem: dict[str, list[Row]]) -> str:
    names = [p.name for p in bm.problems]
    steps = {(r.optimizer, r.problem): r.steps for rs in by_problem.values() for r in rs}
    ranked = sorted(profile.scores.items(), key=lambda kv: -kv[1])
    body = [(o, f"{score:.3f}", *(_ratio_cell(steps[(o, n)], profile.ratios[o][n], profile.r_max) for n in names))
            for o, score in ranked]
    notes = ("", f"area under ρ from 1 to {profile.r_max:g}, ÷ {profile.r_max - 1:g}",
             *(["median steps to target (× the fastest)"] * len(names)))
    table = _table(("optimizer", "score", *names), notes, body, set(range(1, len(names) + 2)))
    remarks = "".join(f"<li>{_e(n)}</li>" for n in profile_notes(profile))
    best = ranked[0]
    alt = (f"Performance profiles of {len(ranked)} optimizers over {len(names)} problems; the highest score is "
           f"{best[0]}'s, {best[1]:.3f}.")
    caption = "ρ(τ) against τ for each optimizer; the legend gives each one's score."
    return f"""<h2 id='profile'>Performance profile</h2>
<p>AlgoPerf's measure of speed across problems. On each problem, an optimizer's time is the median over the fresh
seeds of its first step at the target, and its ratio is that time divided by the fastest optimizer's (1 for the
fastest; a ratio above r_max = {profile.r_max:g}, or a target not reached by half the seeds, counts as not solved).
ρ(τ) is the share of the {len(names)} problems an optimizer solves within τ times the fastest; the score is the area
under ρ from 1 to {profile.r_max:g}, divided by {profile.r_max - 1:g}: 1 is fastest everywhere, 0 is no problem
solved within r_max.</p>
{table}
{f"<ul class='notes'>{remarks}</ul>" if remarks else ""}
<div class='one'>{_figure_html("profile", alt, caption)}</div>"""


def _problem_html(bm: Benchmark, p: Problem, prows: list[Row]) -> str:
    kappa = "" if p.kappa is None else f"; κ = {_number(p.kappa, 3)}"
    notes = [n for r in prows for n in row_notes(r, p.target)]
    table = _table(COLUMNS, column_notes(bm, p), [row_cells(r) for r in prows], {1, 2, 3, 4, 5, 6}, setting=7)
    finite = [r for r in prows if math.isfinite(r.final_median)]
    lowest = min(finite, key=lambda r: r.final_median) if finite else None
    alt_curves = (f"Validation loss against step on {p.name} for {len(prows)} optimizers"
                  + (f"; the lowest median final loss is {lowest.optimizer}'s, {_number(lowest.final_median)}."
                     if lowest else "; every run diverged."))
    alt_lr = f"Final loss of every trial against its lr on {p.name}, one marker per optimizer."
    notes_html = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return f"""<h2 id='{_e(p.name)}'>{_e(p.title)}</h2>
<p>{_e(p.why[:1].upper() + p.why[1:])}. {_e(p.sizes)}{_e(kappa)}; {_e(budget_text(bm, p.name))}.</p>
{table}
{f"<ul class='notes'>{notes_html}</ul>" if notes else ""}
<div class='figs'>{_figure_html(f"{p.name}-curves", alt_curves, curves_caption(bm, p))}
{_figure_html(f"{p.name}-lr", alt_lr, lr_caption(bm, p))}</div>"""


def render_html(bm: Benchmark, profile: Profile) -> str:
    by_problem = problem_rows(bm)
    contents = "".join(f"<li><a href='#{_e(p.name)}'>{_e(p.name)}</a></li>" for p in bm.problems)
    return f"""<!doctype html>
<html lang='en'><head><meta charset='utf-8'>
<meta name='viewport' content='width=device-width, initial-scale=1'>
<title>descentlab benchmark</title>
<style>{CSS}</style></head><body>
<h1>descentlab benchmark</h1>
<p class='meta'>{len(bm.optimizers)} optimizers on {len(bm.problems)} problems, {bm.protocol.trials} trials and
{bm.protocol.seeds} fresh seed{'s' if bm.protocol.seeds > 1 else ''} each; {_e(bm.engine)} engine, {bm.seconds:.1f} s.
Every run is in <a href='trials.csv'>trials.csv</a> and <a href='results.json'>results.json</a>.</p>
<p>Contents: <a href='#protocol'>protocol</a>, <a href='#reading'>reading the tables</a>,
<a href='#profile'>performance profile</a>, and one section per problem:</p>
<ul>{contents}</ul>
{_protocol_html(bm)}
{_reading_html(bm)}
{_profile_html(bm, profile, by_problem)}
{"".join(_problem_html(bm, p, by_problem[p.name]) for p in bm.problems)}
</body></html>
"""


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _run_json(run: Any, p: Any) -> dict[str, Any]:
    return {"hyperparameters": run.hyperparameters, "seed": run.seed, "final": _finite(run.final),
            "steps_to_target": _finite(run.steps_to(p.target, p.evaluations)),
            "curve": [_finite(v) for v in run.curve]}


def results_json(bm: Benchmark, profile: Profile) -> dict[str, Any]:
    problems = {p.name: p for p in bm.problems}
    all_rows = rows(bm)
    by_problem = problem_rows(bm, all_rows)
    return {
        "protocol": bm.protocol.text(),
        "seed": bm.protocol.seed, "trials": bm.protocol.trials, "seeds": bm.protocol.seeds,
        "engine": bm.engine, "seconds": bm.seconds,
        "spaces": bm.space_text,
        "problems": {p.name: {"title": p.title, "steps": p.steps, "batch_size": p.batch_size, "target": p.target,
                              "evaluations": list(p.evaluations), "sizes": p.sizes, "kappa": p.kappa}
                     for p in bm.problems},
        "columns": {p.name: dict(zip(COLUMNS[1:], column_notes(bm, p)[1:])) for p in bm.problems},
        "rows": [{k: _finite(v) if isinstance(v, float) else [_finite(x) for x in v] if k == "finals" else v
                  for k, v in r.__dict__.items()} for r in all_rows],
        "notes": {p.name: [n for r in by_problem[p.name] for n in row_notes(r, p.target)] for p in bm.problems},
        "profile_notes": profile_notes(profile),
        "profile": {"r_max": profile.r_max, "scores": profile.scores,
                    "ratios": {s: {p: _finite(v) for p, v in row_.items()} for s, row_ in profile.ratios.items()}},
        "studies": [{"problem": s.problem, "optimizer": s.optimizer, "best": s.best,
                     "trials": [_run_json(t, problems[s.problem]) for t in s.trials],
                     "reruns": [_run_json(t, problems[s.problem]) for t in s.reruns]} for s in bm.studies.values()],
    }


def trials_csv(bm: Benchmark) -> str:
    """Every run (trials and re-runs), one row each."""
    buffer = io.StringIO()
    buffer.write(f"# {bm.protocol.text()}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["problem", "optimizer", "phase", "index", "seed", "chosen", "final_validation_loss",
                     "steps_to_target", "hyperparameters"])
    problems = {p.name: p for p in bm.problems}
    for s in bm.studies.values():
        p = problems[s.problem]
        for phase, runs in (("trial", s.trials), ("rerun", s.reruns)):
            for i, run in enumerate(runs):
                steps = run.steps_to(p.target, p.evaluations)
                writer.writerow([s.problem, s.optimizer, phase, i, run.seed, int(phase == "trial" and i == s.best),
                                 repr(run.final), "" if math.isinf(steps) else int(steps),
                                 json.dumps(run.hyperparameters)])
    return buffer.getvalue()


def check_destination(out_dir: Path) -> None:
    """``ValueError`` unless ``out_dir`` is new, empty or a previous benchmark report."""
    check_directory(Path(out_dir), REPORT_FILES)


def write_benchmark(bm: Benchmark, out_dir: str | Path, profile: Profile | None = None) -> Path:
    """Write the report into ``out_dir`` as a whole; returns the path of ``index.html``."""
    profile = profile or performance_profile(bm)

    def fill(staging: Path) -> None:
        (staging / "figures").mkdir()
        for stem, figure in build_figures(bm, profile).items():  # the protocol in each file, not on the plot
            figure.savefig(staging / "figures" / f"{stem}.svg",
                           metadata={"Title": f"descentlab benchmark: {stem}", "Description": bm.protocol.text()})
        (staging / "index.html").write_text(render_html(bm, profile), encoding="utf-8")
        (staging / "results.json").write_text(json.dumps(results_json(bm, profile), indent=1), encoding="utf-8")
        (staging / "trials.csv").write_text(trials_csv(bm), encoding="utf-8")

    return write_directory(out_dir, REPORT_FILES, fill) / "index.html"


__all__ = ["COLUMNS", "REPORT_FILES", "build_figures", "check_destination", "column_notes", "figure_names",
           "lr_caption", "profile_notes", "render_html", "results_json", "row_cells", "row_notes", "table_lines",
           "trials_csv", "write_benchmark"]
