"""The README never lies: its Python quick start runs, and its test command is CI's."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert "make test" in README
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, flags=re.M)
