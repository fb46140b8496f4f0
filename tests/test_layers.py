"""The package's layers: every import points down (or stays inside its own subsystem).

Read from the source with ``ast``, so imports inside functions count too.  A new
module or subpackage must be given a layer here, or the test fails.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "descentlab"

LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"algorithms", "files", "schedules", "_moved", "lang", "parallel", "guard"}),  # the rules and their
    # registry; atomic writes; learning-rate schedules; the two languages; work shared with a helper process; the
    # command's signal handlers and standard streams
    frozenset({"__init__", "engine"}),  # the optimizer engine: the adapter, its paths, state and checkpoints, torch names
    frozenset({"optim", "torch_optim"}),  # its public faces: the notes' classes and torch.optim's
    frozenset({"lab", "airfoil", "notes"}),  # the 2D lab; the airfoil experiment; the notes' own numbers and loop
    frozenset({"plotting", "bench", "explore", "diff"}),  # Axes-level figures of lab and airfoil records; benchmarks;
    # the explorer page; two optimizers in lockstep (on the airfoil problem too)
    frozenset({"chapter"}),  # the chapter's sections, verdicts and report
    frozenset({"benchmark", "notebooks", "d2l"}),  # the fair optimizer comparison: problems, spaces, engines,
    # protocol, scoring, report; the chapter as Jupyter notebooks (built from the chapter's words, run in a kernel);
    # the course's d2lzh1981 helpers and the runner of the notes' cells (judged by the chapter's rule)
    frozenset({"cli"}),  # argument parsing only
    frozenset({"__main__"}),  # python -m descentlab
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def _unit(module: str) -> str:
    """``descentlab.lab.trajectory`` -> ``lab``; the package itself -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path) -> str:
    parts = ["descentlab", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` for every descentlab module that ``path`` imports, relative imports resolved."""
    name = _module_name(path)
    return _imports_in(path.read_text(), name if path.name == "__init__.py" else name.rsplit(".", 1)[0])


def _imports_in(source: str, package: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "descentlab"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "descentlab":
                continue
            if node.module is None:  # from . import a, b: each name may be a submodule
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_subsystem_has_a_layer() -> None:
    units = {_unit(_module_name(path)) for path in MODULES}
    assert units - set(RANK) == set(), "give the new module a layer in LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path: Path) -> None:
    importer = _unit(_module_name(path))
    wrong = []
    for line, module in _imports(path):
        unit = _unit(module)
        if unit not in RANK:  # `from .. import __version__` reads the package itself
            unit = "__init__"
        if unit != importer and RANK[unit] >= RANK[importer]:
            wrong.append(f"line {line}: {module} ({unit}, layer {RANK[unit]}) from layer {RANK[importer]}")
    assert not wrong, f"{path.name} imports sideways or up: {wrong}"


def test_the_checker_resolves_every_import_form() -> None:
    """The test above can fail: relative, nested and in-function imports are all seen."""
    source = (
        "from ..chapter.report import write_report\n"
        "from . import objectives\n"
        "import descentlab.cli\n"
        "def f():\n    from ...descentlab.plotting import theory\n"
    )
    found = [module for _, module in _imports_in(source, "descentlab.lab")]
    assert found[:3] == ["descentlab.chapter.report", "descentlab.lab.objectives", "descentlab.cli"]
    assert [RANK[_unit(m)] > RANK["lab"] for m in found[:1] + found[2:3]] == [True, True]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("descentlab.objectives", "descentlab.lab.objectives"),
        ("descentlab.trajectory", "descentlab.lab.trajectory"),
        ("descentlab.data", "descentlab.airfoil.data"),
        ("descentlab.train", "descentlab.airfoil.train"),
    ],
)
def test_old_module_paths_are_the_new_modules(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        moved = importlib.import_module(old)
    assert moved is importlib.import_module(new)
    assert moved.__spec__.name == new  # the alias does not rename the real module
