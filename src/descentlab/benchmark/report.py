"""Write a benchmark to a directory: ``index.html``, ``figures/*.svg``, ``results.json``, ``trials.csv``.

The directory is built beside ``out_dir`` and moved into place as a whole
(:func:`descentlab.files.write_directory`); an ``out_dir`` holding other files
is refused.  The protocol's text is in every output: the page, every figure,
the JSON (``"protocol"``) and the first line of the CSV (a ``#`` comment).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from ..algorithms.spec import format_hyperparameters
from ..files import check_directory, write_directory
from .figures import draw_learning_curves, draw_lr_sensitivity, draw_profile
from .protocol import Benchmark
from .summary import TUNE_K, Profile, Row, performance_profile, rows

REPORT_FILES = ("index.html", "results.json", "trials.csv", "figures")


def _number(value: float, digits: int = 4) -> str:
    if math.isnan(value):
        return "–"
    return "∞" if math.isinf(value) else f"{value:.{digits}g}"


def budget_text(bm: Benchmark, problem_name: str) -> str:
    p = next(p for p in bm.problems if p.name == problem_name)
    return f"budget {p.steps} steps × batch {p.batch_size}, target validation loss {p.target:g}"


def _caption(fig: Figure, bm: Benchmark, extra: str) -> None:
    fig.text(0.01, 0.005, f"{extra}\n{bm.protocol.text()}", fontsize=5.5, va="bottom", ha="left", wrap=True)


def build_figures(bm: Benchmark, profile: Profile) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    for p in bm.problems:
        studies = [bm.study(p.name, o.name) for o in bm.optimizers]
        fig = Figure(figsize=(11, 4.6))
        left, right = fig.subplots(1, 2)
        draw_learning_curves(left, p, studies)
        draw_lr_sensitivity(right, p, studies)
        left.set_title(f"{p.title}: best setting, median and 10–90% band over {bm.protocol.seeds} seeds", fontsize=8)
        right.set_title(f"lr sensitivity: every trial's final loss ({bm.protocol.trials} trials)", fontsize=8)
        fig.subplots_adjust(bottom=0.24, top=0.92, wspace=0.25)
        _caption(fig, bm, budget_text(bm, p.name))
        figures[p.name] = fig
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    draw_profile(ax, profile)
    ax.set_title(f"performance profile over {len(bm.problems)} problems (AlgoPerf, r_max = {profile.r_max:g})", fontsize=9)
    fig.subplots_adjust(bottom=0.25)
    budgets = "; ".join(f"{p.name} {p.steps}×{p.batch_size}" for p in bm.problems)
    _caption(fig, bm, f"budgets (steps × batch): {budgets}")
    figures["profile"] = fig
    return figures


COLUMNS = ("optimizer", "final loss (mean ± sd)", "steps to target", f"best of {TUNE_K} trials", "trials at target",
           "trials diverged", "best setting")


def row_cells(r: Row) -> tuple[str, ...]:
    steps = "–" if math.isinf(r.steps) else f"{r.steps:.0f}"
    return (r.optimizer, f"{_number(r.final_mean)} ± {_number(r.final_sd, 2)}", f"{steps} ({r.reached}/{r.seeds})",
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


def table_lines(bm: Benchmark, profile: Profile | None = None) -> list[str]:
    """The report's tables as plain text: one block per problem, then the profile scores."""
    profile = profile or performance_profile(bm)
    all_rows = rows(bm)
    lines = [bm.protocol.text(), ""]
    for p in bm.problems:
        lines.append(f"{p.name}: {p.title}; {p.sizes}; {budget_text(bm, p.name)}")
        cells = [COLUMNS[:-1]] + [row_cells(r)[:-1] for r in all_rows if r.problem == p.name]
        widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
        lines += ["  " + "  ".join(c[i].ljust(widths[i]) for i in range(len(c))) for c in cells]
        lines.append("")
    ranked = sorted(profile.scores.items(), key=lambda kv: -kv[1])
    lines.append(f"performance-profile score (AlgoPerf, r_max = {profile.r_max:g}, {len(bm.problems)} problems): "
                 + ", ".join(f"{name} {value:.3f}" for name, value in ranked))
    return lines


def _html_table(header: tuple[str, ...], body: list[tuple[str, ...]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows_ = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows_}</tbody></table>"


def render_html(bm: Benchmark, profile: Profile) -> str:
    all_rows = rows(bm)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>descentlab benchmark</title>",
        "<style>body{font-family:sans-serif;max-width:75em;margin:2em auto}table{border-collapse:collapse;font-size:.85em}"
        "td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}img{max-width:100%}</style></head><body>",
        "<h1>descentlab benchmark</h1>",
        f"<p><b>{html.escape(bm.protocol.text())}</b></p>",
        f"<p>Engine: {html.escape(bm.engine)}; {bm.seconds:.1f} s.</p>",
        "<h2>Search spaces</h2><ul>",
        *[f"<li><code>{html.escape(n)}</code>: {html.escape(t)}</li>" for n, t in bm.space_text.items()],
        "</ul>",
        "<h2>Performance profile</h2>",
        _html_table(("optimizer", "score"), [(n, f"{s:.3f}") for n, s in sorted(profile.scores.items(), key=lambda kv: -kv[1])]),
        "<p><img src='figures/profile.svg' alt='performance profile'></p>",
    ]
    for p in bm.problems:
        kappa = "" if p.kappa is None else f", κ = {_number(p.kappa, 3)}"
        parts += [
            f"<h2>{html.escape(p.title)}</h2>",
            f"<p>{html.escape(p.why)}. {html.escape(p.sizes)}{kappa}; {html.escape(budget_text(bm, p.name))}.</p>",
            _html_table(COLUMNS, [row_cells(r) for r in all_rows if r.problem == p.name]),
            f"<p><img src='figures/{p.name}.svg' alt='{html.escape(p.title)}'></p>",
        ]
    parts.append("<p>Every trial is in <a href='trials.csv'>trials.csv</a> and <a href='results.json'>results.json</a>.</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _run_json(run: Any, p: Any) -> dict[str, Any]:
    return {"hyperparameters": run.hyperparameters, "seed": run.seed, "final": _finite(run.final),
            "steps_to_target": _finite(run.steps_to(p.target, p.evaluations)),
            "curve": [_finite(v) for v in run.curve]}


def results_json(bm: Benchmark, profile: Profile) -> dict[str, Any]:
    problems = {p.name: p for p in bm.problems}
    return {
        "protocol": bm.protocol.text(),
        "seed": bm.protocol.seed, "trials": bm.protocol.trials, "seeds": bm.protocol.seeds,
        "engine": bm.engine, "seconds": bm.seconds,
        "spaces": bm.space_text,
        "problems": {p.name: {"title": p.title, "steps": p.steps, "batch_size": p.batch_size, "target": p.target,
                              "evaluations": list(p.evaluations), "sizes": p.sizes, "kappa": p.kappa}
                     for p in bm.problems},
        "rows": [{**r.__dict__, **{k: _finite(getattr(r, k)) for k in ("final_mean", "final_sd", "steps", "best_of_k")}}
                 for r in rows(bm)],
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
        for stem, figure in build_figures(bm, profile).items():
            figure.savefig(staging / "figures" / f"{stem}.svg")
        (staging / "index.html").write_text(render_html(bm, profile), encoding="utf-8")
        (staging / "results.json").write_text(json.dumps(results_json(bm, profile), indent=1), encoding="utf-8")
        (staging / "trials.csv").write_text(trials_csv(bm), encoding="utf-8")

    return write_directory(out_dir, REPORT_FILES, fill) / "index.html"


__all__ = ["REPORT_FILES", "build_figures", "check_destination", "render_html", "results_json", "table_lines",
           "trials_csv", "write_benchmark"]
