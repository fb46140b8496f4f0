"""The documentation cannot go stale: every code block of the README and of docs/ runs, measured tables come
from their JSON, and no page types a timing of its own.

Blocks: ``python`` blocks of one page run in order in one namespace (one test per page); each ``bash``
block runs as one script (``bash -euo pipefail``) in a scratch folder with this environment's
``descentlab`` first on the PATH.  A comment on the line before a block changes that:

* ``<!-- docs-test: file NAME -->``: the block is saved as NAME in the scratch folder of the page's later blocks;
* ``<!-- docs-test: slow -->``: only in the slow tier (``make test-all``, CI);
* ``<!-- docs-test: needs MODULE -->``: needs a package CI installs (skips elsewhere, fails in CI);
* ``<!-- docs-test: skip "why" tests/FILE.py::TEST -->``: not run here; the named test must exist.

Other languages (``text``, ``toml`` without ``file``) are output or data, not run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(p for p in DOCS.glob("*.md"))]
FENCE = re.compile(r"^```(\S*)\n(.*?)^```\s*$", re.S | re.M)
DIRECTIVE = re.compile(r"<!-- docs-test: (.*?) -->\s*\n$")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str
    directive: str  # the words of a docs-test comment just before the block, or ""

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO)}:{self.line}"

    def words(self) -> list[str]:
        return shlex.split(self.directive)


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        directive = DIRECTIVE.search(before[-300:])
        found.append(Block(page, before.count("\n") + 1, match.group(1), match.group(2),
                           directive.group(1) if directive else ""))
    return found


ALL = [block for page in PAGES for block in blocks(page)]


def _marks(block: Block) -> list:
    words = block.words()
    marks = []
    if "slow" in words:
        marks.append(pytest.mark.slow)
    return marks


def _needs(block: Block) -> None:
    words = block.words()
    if "needs" in words:
        module = words[words.index("needs") + 1]
        if importlib.util.find_spec(module) is None:
            if os.environ.get("CI"):
                pytest.fail(f"CI must install {module} for {block.id} (requirements-ci.txt)")
            pytest.skip(f"{block.id} needs {module}")


def _scratch(tmp_path: Path, block: Block) -> Path:
    """The page's scratch folder: the files its blocks before this one declare, and .venv (this environment)."""
    for earlier in blocks(block.page):
        if earlier.line >= block.line:
            break
        words = earlier.words()
        if words[:1] == ["file"]:
            (tmp_path / words[1]).write_text(earlier.code, encoding="utf-8")
    if (Path(sys.prefix) / "bin" / "activate").exists():
        (tmp_path / ".venv").symlink_to(sys.prefix)
    return tmp_path


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["MPLBACKEND"] = "Agg"
    data = Path(env.get("DESCENTLAB_DATA", REPO.parent / "shared" / "data" / "airfoil_self_noise.dat"))
    if data.is_file():
        env["DESCENTLAB_DATA"] = str(data)
    return env


def _runnable(language: str) -> list[Block]:
    return [b for b in ALL if b.language == language and b.words()[:1] not in (["skip"], ["file"])]


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id, marks=_marks(b)) for b in _runnable("bash")])
def test_bash_block_runs(block: Block, tmp_path: Path) -> None:
    _needs(block)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.code], cwd=_scratch(tmp_path, block),
                          env=_environment(), capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{block.id} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


PYTHON_PAGES = sorted({b.page for b in _runnable("python")})


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=[str(p.relative_to(REPO)) for p in PYTHON_PAGES])
def test_python_blocks_run_in_order(page: Path, tmp_path: Path, monkeypatch) -> None:
    """A page's Python blocks, one namespace, in a scratch folder (so files they write go there)."""
    page_blocks = [b for b in _runnable("python") if b.page == page]
    monkeypatch.chdir(_scratch(tmp_path, page_blocks[0]))
    namespace = {"__name__": "docs"}
    for block in page_blocks:
        _needs(block)
        exec(compile(block.code, block.id, "exec"), namespace)  # noqa: S102 - the documentation's own code


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in ALL if b.words()[:1] == ["skip"]])
def test_a_skipped_block_names_the_test_that_shows_it(block: Block) -> None:
    words = block.words()
    assert len(words) == 3, f"{block.id}: write <!-- docs-test: skip \"why\" tests/FILE.py::TEST -->"
    where, _, test = words[2].partition("::")
    source = REPO / where
    assert source.is_file(), f"{block.id}: {where} does not exist"
    if test:
        assert re.search(rf"^def {re.escape(test)}\(", source.read_text(), flags=re.M), f"{block.id}: no test {test} in {where}"


def test_every_directive_is_known() -> None:
    for block in ALL:
        words = block.words()
        if not words:
            continue
        assert words[0] in ("file", "slow", "skip", "needs"), f"{block.id}: unknown directive {block.directive!r}"
        if words[0] == "file":
            assert len(words) == 2, f"{block.id}: file takes one name"


# ----- measured tables --------------------------------------------------------------------------------------

def _measured_module():
    spec = importlib.util.spec_from_file_location("measured", REPO / "benchmarks" / "measured.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_measured_table_is_its_json_rendered() -> None:
    measured = _measured_module()
    records = sorted((DOCS / "measured").glob("*.json"))
    assert records, "docs/measured holds the measured tables"
    for path in records:
        record = json.loads(path.read_text(encoding="utf-8"))
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record["date"]) and record["machine"]["processor"]
        assert record["name"] == path.stem and record["name"] in measured.MEASUREMENTS
        table = path.with_suffix(".md").read_text(encoding="utf-8")
        assert table == measured.render(record), f"{path.with_suffix('.md').name} was edited or is stale: " \
                                                 "run benchmarks/measured.py render"


def test_every_included_table_exists() -> None:
    for page in PAGES:
        for name in re.findall(r'--8<-- "measured/(\w+)\.md"', page.read_text(encoding="utf-8")):
            assert (DOCS / "measured" / f"{name}.json").is_file(), f"{page.name} includes measured/{name}.md"


TIMING = re.compile(r"\b\d+(?:[.,]\d+)?(?:\s?[–-]\s?\d+(?:[.,]\d+)?)?\s?(?:ms|s|sec|seconds?|min|minutes?|hours?)\b")


def _prose(text: str) -> str:
    text = FENCE.sub("", text)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_no_page_types_a_timing(page: Path) -> None:
    """Timings come from docs/measured (written by a script from a dated run), never typed into prose."""
    typed = [m.group(0) for m in TIMING.finditer(_prose(page.read_text(encoding="utf-8")))]
    assert not typed, f"{page.name} states timings no script wrote: {typed}"


def test_the_timing_check_catches_a_typed_timing() -> None:
    assert TIMING.findall(_prose("reproduce took 7.2 s (6.7–9.2 s); a step 4.5 ms; 3 min 14 s")) == \
        ["7.2 s", "6.7–9.2 s", "4.5 ms", "3 min", "14 s"]
    assert not TIMING.findall(_prose("20 seeds, 2 epochs, 10 steps, `--seconds 12`, 5 samples"))


def test_the_readme_is_one_page() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"the README has {lines} lines; move the detail into docs/"
