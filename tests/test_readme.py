"""The README never lies: its Python quick start runs, its set-up prints what it says, and its test command is CI's.

(Every other block of the README and of docs/ runs in tests/test_docs.py.)
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_quick_start_runs_and_trains(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has a Python quick start"
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    loss = float(re.search(r"final loss (\S+)", out).group(1))
    assert loss < 0.9  # random targets: the fit must still get below their variance (~1)


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test-all    # what CI runs (.ci/run)" in README and "make test        #" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test-all$", ci, flags=re.M)
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r'^test: setup\n\t\$\(PYTEST\) -m "not slow"$', makefile, flags=re.M)
    assert re.search(r"^PYTEST  := .*--durations=15", makefile, flags=re.M)  # the slowest tests are printed


def test_make_setup_prints_how_to_run_the_command() -> None:
    """``make setup`` in this environment (already set up: nothing is installed) ends with the README's line."""
    if not (Path(sys.prefix) / ".installed").exists() or shutil.which("make") is None:
        pytest.skip("not running in an environment made by make setup")
    stamp = Path(sys.prefix) / ".installed"  # (-o: never remade here, even if a requirements file is newer)
    done = subprocess.run(["make", "-s", "-C", str(REPO), "-o", str(stamp), "setup", f"VENV={sys.prefix}", "PYTHON=false"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip().splitlines()[-1].replace(sys.prefix, ".venv")
    assert line.startswith("descentlab is installed in .venv: run .venv/bin/descentlab")
    assert line in README


def test_the_speed_table_is_written_from_the_steps_record() -> None:
    """The README's speed table is ``benchmarks/measured.py``'s rendering of docs/measured/steps.json, not typed."""
    spec = importlib.util.spec_from_file_location("measured", REPO / "benchmarks" / "measured.py")
    measured = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(measured)
    record = json.loads((REPO / "docs" / "measured" / "steps.json").read_text(encoding="utf-8"))
    assert README.count(measured.README_BEGIN) == 1 and README.count(measured.README_END) == 1
    assert measured.with_readme_speed(README, record) == README, \
        "the README's speed table was edited or is stale: run benchmarks/measured.py render"
    block = README[README.index(measured.README_BEGIN):README.index(measured.README_END)]
    assert "| adam |" in block and "× torch fused" in block
