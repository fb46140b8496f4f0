"""The documentation's measured tables: each one run of a benchmark, saved as dated JSON, rendered by this script.

    .venv/bin/python benchmarks/measured.py run NAME [NAME ...]   # measure now: docs/measured/NAME.json, then .md
    .venv/bin/python benchmarks/measured.py render                # rewrite every docs/measured/NAME.md from its JSON
                                                                  # (and the README's speed table from steps.json)

Every table of timings or measured results in the docs is a file ``docs/measured/NAME.md``
included by a page; it is written here from ``NAME.json``, which holds the command that
measured it, the date, the machine and the command's own JSON record.  Nobody edits the
``.md`` files: ``tests/test_docs.py`` renders each JSON again and fails if its table differs,
and fails if a page states a timing outside these files.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MEASURED = REPO / "docs" / "measured"
DATA = Path(os.environ.get("DESCENTLAB_DATA", REPO.parent / "shared" / "data" / "airfoil_self_noise.dat"))


def _descentlab(*words: str) -> list[str]:
    return [str(Path(sys.executable).parent / "descentlab"), *words]


def _script(name: str, *words: str) -> list[str]:
    return [sys.executable, str(REPO / "benchmarks" / name), *words]


# ----- rendering: one function per measurement, from its record to Markdown lines -----------------------------


def _number(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "∞" if value is not None and value > 0 else "—"
    return f"{value:.{digits}g}"


def _airfoil(result: dict[str, Any]) -> list[str]:
    lines = [f"| run | notes' loop, ms per epoch | descentlab, ms per epoch | ratio | {result['seeds']} seeds: "
             "notes' loop one by one, ms | descentlab as one batch, ms | ratio |",
             "|---|---|---|---|---|---|---|"]
    for row in result["rows"]:
        settings = ", ".join(f"{k} {v}" for k, v in row["hyperparameters"].items())
        lines.append(f"| {row['impl']} {row['algorithm']} ({settings}) | {1000 * row['notes_sec_per_epoch']:.1f} | "
                     f"{1000 * row['train_sec_per_epoch']:.1f} | {row['epoch_speedup']:.1f}× | "
                     f"{1000 * row['notes_sequential_sec']:.0f} | {1000 * row['train_batch_sec']:.1f} | "
                     f"{row['batch_speedup']:.0f}× |")
    lines.append("")
    lines.append(f"Medians of {result['repeats']} single-seed runs per side and of {result['batch_repeats']} batch "
                 f"runs; torch {result['torch_version']}, {result['torch_threads']} threads.")
    return lines


LAYOUT_TITLES = {"flat16m": "one 16M tensor", "resnet18": "ResNet-18 (62 tensors)",
                 "gpt2": "GPT-2 small (148 tensors, 124M values)", "many": "2000 × 1000", "small300": "300 small tensors"}


def _share(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def _triad(result: dict[str, Any]) -> str:
    """What the run's bandwidth ceiling was: the triad's GB/s, how it ran, and the in-place loop beside it."""
    values = f"{result['triad_values'] // 2**20}M float32 values"
    if not result.get("triad_method"):  # a record from before the triad said how it ran
        return f"a triad c = a + 2b on {values} measured in the same run (how is not recorded): " \
               f"{result['triad_gb_per_s']:.3g} GB/s"
    return (f"the STREAM triad c = a + 2b on {values} ({result['triad_method']}; "
            f"{result.get('triad_bytes_per_value') or '—'} bytes per value as STREAM counts them, the write-allocate "
            f"read of c not counted), the better of its measurements at the run's start and end: "
            f"{result['triad_gb_per_s']:.3g} GB/s; the same loop in place (a = a + 2b, an SGD step): "
            f"{_number(result.get('triad_in_place_gb_per_s'))} GB/s")


STEPS_ORDER = ["ours default", "ours notes", "ours replay", "ours plain", "ours fast", "torch default", "torch foreach",
               "torch fused"]
"""The columns' order (a record lists the paths of each algorithm in turn, and not every algorithm has all)."""


def _steps(result: dict[str, Any]) -> list[str]:
    rows = result["rows"]
    paths = sorted(dict.fromkeys(r["path"] for r in rows),
                   key=lambda path: STEPS_ORDER.index(path) if path in STEPS_ORDER else len(STEPS_ORDER))
    layouts = list(dict.fromkeys(r["layout"] for r in rows))
    lines = []
    for layout in layouts:
        lines += [f"**{LAYOUT_TITLES.get(layout, layout)}**: median ms per step (GB/s; share of the triad / of the in-place loop)", "",
                  "| algorithm | " + " | ".join(paths) + " | ours default against torch default / foreach / fused "
                  "(× faster) | ours default's first step in a new process, cold / warm cache (s) |",
                  "|---|" + "---|" * (len(paths) + 2)]
        for algorithm in dict.fromkeys(r["algorithm"] for r in rows if r["layout"] == layout):
            cells = {r["path"]: r for r in rows if r["layout"] == layout and r["algorithm"] == algorithm}
            out = [algorithm]
            for path in paths:
                r = cells.get(path)
                out.append("—" if r is None else
                           f"{r['median_ms']:.3g} ({r['gb_per_s']:.3g}; {r['triad_share']:.0%} / {_share(r.get('in_place_share'))})")
            ours = cells.get("ours default")
            ratios = [ours.get(f"speedup_vs_torch_{kind}") if ours else None for kind in ("default", "foreach", "fused")]
            out.append(" / ".join("—" if r is None else f"{r:.2f}" for r in ratios))
            cold, warm = (ours.get("fresh_first_step_cold_s"), ours.get("fresh_first_step_warm_s")) if ours else (None, None)
            out.append(f"{cold:.2f} / {warm:.2f}" if cold is not None and warm is not None else "—")
            lines.append("| " + " | ".join(out) + " |")
        lines.append("")
    peak = result.get("peak_rss_mib")
    lines.append(f"{result['dtype']}, torch {result['torch_version']}, {result['torch_threads']} threads, medians of "
                 f"{result['repeats']} steps after a warm-up; the shares are of {_triad(result)}. '—': no such path for "
                 "the rule (torch.optim has no fused RMSprop or Adadelta and no Yogi; \"ours notes\" only where the "
                 "notes' convention computes differently) or not recorded. Paths take turns in rounds, so the ratios "
                 "compare steps timed under the same load. Peak resident memory of the run: "
                 f"{_number(peak / 1024 if peak is not None else None)} GiB.")
    still = result.get("stood_still") or []
    if still:
        lines += ["", "Not timed, because its step left the parameters as they were (under a tenth as many values "
                  "changed as by the plain rule's step): "
                  + "; ".join(f"{path} ({algorithm} on {LAYOUT_TITLES.get(layout, layout)})"
                              for algorithm, layout, path in still) + "."]
    return lines


README_LAYOUT = "resnet18"
README_BEGIN = "<!-- speed table: written by benchmarks/measured.py from docs/measured/steps.json; do not edit -->"
README_END = "<!-- end of the speed table -->"


def readme_speed(record: dict[str, Any]) -> list[str]:
    """The README's speed table from the steps record: on one layout (:data:`README_LAYOUT`, else the record's
    first), our default step per algorithm, its GB/s and share of the triad, and how many times faster it is than
    torch's default, foreach and fused steps ('—' where torch has no such path or the record no such field)."""
    result = record["result"]
    rows = result["rows"]
    layouts = list(dict.fromkeys(r["layout"] for r in rows))
    layout = README_LAYOUT if README_LAYOUT in layouts else layouts[0]
    ours = {r["algorithm"]: r for r in rows if r["layout"] == layout and r["path"] == "ours default"}

    def times(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}×"

    lines = [f"Our default step on {LAYOUT_TITLES.get(layout, layout)}, float32, measured {record['date']} "
             f"(`benchmarks/measured.py` from [`docs/measured/steps.json`](docs/measured/steps.json); "
             "every layout and path in [speed](docs/speed.md)):", "",
             "| rule | GB/s (share of the in-place loop) | × torch default | × torch foreach | × torch fused |",
             "|---|---|---|---|---|"]
    for algorithm, row in ours.items():
        lines.append(f"| {algorithm} | {row['gb_per_s']:.3g} ({_share(row.get('in_place_share'))}) | "
                     f"{times(row.get('speedup_vs_torch_default'))} | {times(row.get('speedup_vs_torch_foreach'))} | "
                     f"{times(row.get('speedup_vs_torch_fused'))} |")
    lines += ["", f"× n: torch's step takes n times as long as ours ('—': torch has no such path). The in-place loop "
              f"(a = a + 2b, what an SGD step moves, the machine's limit for a step): "
              f"{_number(result.get('triad_in_place_gb_per_s'))} GB/s ({result.get('triad_method') or '—'}, "
              f"{result['torch_threads']} threads, load {record['machine']['load_average']})."]
    return lines


def with_readme_speed(readme: str, record: dict[str, Any]) -> str:
    """``readme`` with the block between :data:`README_BEGIN` and :data:`README_END` written from ``record``."""
    begin, end = readme.index(README_BEGIN), readme.index(README_END)
    return readme[:begin] + "\n".join([README_BEGIN, *readme_speed(record), README_END]) + readme[end + len(README_END):]


def _training(result: dict[str, Any]) -> list[str]:
    lines = ["| algorithm | path | step (ms) | whole iteration (ms) | step against torch fused (× faster) |",
             "|---|---|---|---|---|"]
    for algorithm, paths in result["results"].items():
        fused = paths["torch fused"]["step_s"]
        for path, times in paths.items():
            lines.append(f"| {algorithm} | {path} | {times['step_s'] * 1e3:.3g} | {times['iteration_s'] * 1e3:.3g} | "
                         f"{fused / times['step_s']:.2f} |")
    model = result.get("model", "An MLP 1024-4096-4096-10 (21M parameters), batch 64")
    return lines + ["", f"{model}, torch {result['torch_version']}, "
                        f"{result['torch_threads']} thread(s); each iteration is zero_grad, forward, backward and "
                        "the step, the three models taking turns in every round; medians."]


def _batched(result: dict[str, Any]) -> list[str]:
    return [
        "| | wall time | |",
        "|---|---|---|",
        f"| {result['runs']} Adam settings as one batch (the registry's rule on stacked tensors) | "
        f"{result['batched_s']:.3g} s | |",
        f"| the same runs one by one with `torch.optim.Adam` | {result['loop_s']:.3g} s | "
        f"{result['loop_s'] / result['batched_s']:.0f}× slower |",
        "",
        f"{result['problem']}, {result['steps']} steps of batch {result['batch_size']}, torch "
        f"{result['torch_version']}, {result['torch_threads']} thread(s); the curves agree to "
        f"{result['largest_relative_curve_difference']:.1e} relative; same diverged runs: "
        f"{'yes' if result['same_diverged_runs'] else 'no'}.",
    ]


def _reproduce(result: dict[str, Any]) -> list[str]:
    walls = result["walls_s"]
    lines = [f"`{' '.join(result['command'])}` in fresh processes, {len(walls)} runs: median "
             f"**{result['median_s']:.2f} s** (min {min(walls):.2f}, max {max(walls):.2f}).", "",
             "| section (results.json) | median seconds | share of the median wall time |", "|---|---|---|"]
    for key, seconds in result["sections_median_s"].items():
        lines.append(f"| {key} | {seconds:.2f} | {seconds / result['median_s']:.0%} |")
    return lines


def _verdict(result: dict[str, Any]) -> list[str]:
    rows = result["false_alarm"]
    counts = [r["seeds"] for r in rows]
    lines = [f"A correct reproduction (the notes' value one more seed of the same run), {rows[0]['trials']} simulated "
             f"tables per seed count from pools of {result['pool']} seeds per run; per-row level "
             f"{100 * result['level']:.3f}% (Šidák over {result['rows']} rows for a nominal "
             f"{100 * result['nominal_family_level']:g}%):", "",
             "| seeds per run | " + " | ".join(str(n) for n in counts) + " |", "|---|" + "---|" * len(counts),
             "| all twelve rows agree | " + " | ".join(f"{100 * r['all_agree']:.2f}%" for r in rows) + " |",
             "| false alarm (some row differs) | " + " | ".join(f"{100 * r['false_alarm']:.2f}%" for r in rows) + " |",
             "| the former rule (99% per row): false alarm | "
             + " | ".join(f"{100 * r['old_rule_false_alarm']:.1f}%" for r in rows) + " |", "",
             f"A wrong convention (our seeds from it, the notes' value a fresh draw of the right one), "
             f"{result['power'][0]['trials']} trials each: how often its row says \"differ\" (power)", "",
             "| wrong convention | " + " | ".join(str(n) for n in counts) + " |", "|---|" + "---|" * len(counts)]
    for wrong in dict.fromkeys(p["wrong"] for p in result["power"]):
        cells = {p["seeds"]: p for p in result["power"] if p["wrong"] == wrong}
        lines.append(f"| {wrong} | " + " | ".join(
            f"{100 * cells[n]['caught']:.1f}% ({100 * cells[n]['caught_old_rule']:.1f}%)" for n in counts) + " |")
    lines += ["", "In brackets: the former rule (99% per row). Written by `benchmarks/verdict_rule.py`."]
    return lines


def _suite(result: dict[str, Any]) -> list[str]:
    rows = result["rows"]
    optimizers = list(dict.fromkeys(r["optimizer"] for r in rows))
    lines = [f"Mean final validation loss of the chosen setting over {result['seeds']} fresh seeds "
             f"(seed {result['seed']}, {result['trials']} trials; ∞: diverged; bold: the lowest):", "",
             "| problem | " + " | ".join(optimizers) + " |", "|---|" + "---|" * len(optimizers)]
    winners: dict[str, list[str]] = {}
    for problem in dict.fromkeys(r["problem"] for r in rows):
        means = {r["optimizer"]: r["final_mean"] for r in rows if r["problem"] == problem}  # None: not finite
        finite = [v for v in means.values() if v is not None]
        best = min(finite) if finite else None
        cells = []
        for o in optimizers:
            value = means.get(o)
            cell = "∞" if value is None else f"{value:.4g}"
            if value is not None and value == best:
                cell = f"**{cell}**"
                winners.setdefault(o, []).append(problem)
            cells.append(cell)
        lines.append(f"| {problem} | " + " | ".join(cells) + " |")
    scores = sorted(result["profile"]["scores"].items(), key=lambda item: -item[1])
    lines += ["", "Performance-profile scores (steps to target, r_max = " + f"{result['profile']['r_max']:g}): "
              + ", ".join(f"{name} {value:.3f}" for name, value in scores)
              + f". Runs took {result['seconds']:.0f} s ({result['engine']} engine).", "",
              f"In this run {len(winners)} of the {len(optimizers)} optimizers have the lowest final loss on at least "
              "one problem (" + "; ".join(f"{o}: {', '.join(ps)}" for o, ps in winners.items()) + "), and the "
              f"profile's scores span {scores[-1][1]:.3f} to {scores[0][1]:.3f}."]
    return lines


def _suite_result(words: list[str]) -> Callable[[], dict[str, Any]]:
    def measure() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(["env", "OMP_NUM_THREADS=1", *_descentlab("benchmark", *words, "--out", f"{scratch}/report")],
                           check=True, stdout=subprocess.DEVNULL)
            full = json.loads(Path(f"{scratch}/report/results.json").read_text())
        return {key: full[key] for key in ("seed", "trials", "seeds", "engine", "seconds", "rows", "profile")}
    return measure


def _json_of(command: list[str]) -> Callable[[], dict[str, Any]]:
    def measure() -> dict[str, Any]:
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    return measure


STEPS_PATHS = ["ours default", "ours notes", "ours replay", "ours plain", "torch default", "torch foreach", "torch fused"]
LOW_STEPS = ["--layouts", "flat16m", "resnet18", "small300", "--algorithms", "sgd", "momentum", "adagrad", "rmsprop",
             "adam", "--paths", "ours default", "torch default", "torch foreach", "torch fused"]
"""16-bit parameters: the layouts and rules of the table, with the paths to compare (no first step: float32's)."""

MEASUREMENTS: dict[str, tuple[list[str], Callable[[], dict[str, Any]], Callable[[dict[str, Any]], list[str]]]] = {
    # name: (the command as the docs show it, how to run it, how to render its record)
    "airfoil": (["descentlab", "bench", "airfoil", "--json"],
                _json_of(_descentlab("bench", "airfoil", "--json", "--data", str(DATA))), _airfoil),
    "steps": (["descentlab", "bench", "steps", "--json", "--first-step", "--paths", *STEPS_PATHS],
              _json_of(_descentlab("bench", "steps", "--json", "--first-step", "--paths", *STEPS_PATHS)), _steps),
    "training": (["python", "benchmarks/training_loop.py", "--json"],
                 _json_of(_script("training_loop.py", "--json")), _training),
    "training-small": (["python", "benchmarks/training_loop.py", "--small", "--rounds", "400", "--json"],
                       _json_of(_script("training_loop.py", "--small", "--rounds", "400", "--json")), _training),
    **{f"steps-{dtype}": (["descentlab", "bench", "steps", "--json", "--dtype", dtype, *LOW_STEPS],
                          _json_of(_descentlab("bench", "steps", "--json", "--dtype", dtype, *LOW_STEPS)), _steps)
       for dtype in ("bfloat16", "float16")},
    "batched": (["OMP_NUM_THREADS=1", "python", "benchmarks/batched_vs_loop.py", "--json"],
                _json_of(["env", "OMP_NUM_THREADS=1", *_script("batched_vs_loop.py", "--json")]), _batched),
    "reproduce": (["python", "benchmarks/reproduce_wall.py", "--runs", "5", "--json"],
                  _json_of(_script("reproduce_wall.py", "--runs", "5", "--data", str(DATA), "--json")), _reproduce),
    "verdict": (["python", "benchmarks/verdict_rule.py", "--json"],
                _json_of(_script("verdict_rule.py", "--data", str(DATA), "--json")), _verdict),
    "benchmark": (["OMP_NUM_THREADS=1", "descentlab", "benchmark"],
                  _suite_result([]), _suite),
}


def machine() -> dict[str, Any]:
    """What the numbers depend on: processor, cores, memory, Python, torch, and the load when measured."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    memory = next((int(line.split()[1]) // 1024 ** 2 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), None) if Path("/proc/meminfo").exists() else None
    import torch

    return {"processor": model, "cores": os.cpu_count(), "memory_gib": memory, "system": platform.platform(),
            "python": platform.python_version(), "torch": torch.__version__,
            "load_average": round(os.getloadavg()[0], 2)}


def header(record: dict[str, Any]) -> str:
    m = record["machine"]
    return (f"*Measured {record['date']} with `{' '.join(record['command'])}` on {m['processor']} "
            f"({m['cores']} cores, {m['memory_gib']} GiB, load {m['load_average']}; Python {m['python']}, "
            f"torch {m['torch']}). Written by `benchmarks/measured.py` from `docs/measured/{record['name']}.json`; "
            "a shared machine: compare ratios within the table, not with other days.*")


def render(record: dict[str, Any]) -> str:
    """The Markdown of one measured record: the header line, then its table."""
    lines = MEASUREMENTS[record["name"]][2](record["result"])
    return "\n".join([f"<!-- generated by benchmarks/measured.py from {record['name']}.json: do not edit -->",
                      header(record), "", *lines]) + "\n"


def run(name: str) -> None:
    command, measure, _ = MEASUREMENTS[name]
    started = datetime.datetime.now(datetime.timezone.utc)
    record = {"name": name, "command": command, "date": started.strftime("%Y-%m-%d"), "machine": machine(),
              "result": measure()}
    _write(MEASURED / f"{name}.json", json.dumps(record, indent=1) + "\n")
    _write(MEASURED / f"{name}.md", render(record))
    if name == "steps":
        _write_readme(record)


def _write_readme(record: dict[str, Any]) -> None:
    readme = REPO / "README.md"
    _write(readme, with_readme_speed(readme.read_text(encoding="utf-8"), record))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    measure = sub.add_parser("run", help="measure now and write NAME.json and NAME.md")
    measure.add_argument("names", nargs="+", choices=sorted(MEASUREMENTS))
    sub.add_parser("render", help="rewrite every NAME.md from its NAME.json")
    args = parser.parse_args()
    if args.what == "run":
        for name in args.names:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            run(name)
    else:
        for path in sorted(MEASURED.glob("*.json")):
            record = json.loads(path.read_text())
            _write(path.with_suffix(".md"), render(record))
            if record["name"] == "steps":
                _write_readme(record)


if __name__ == "__main__":
    main()
