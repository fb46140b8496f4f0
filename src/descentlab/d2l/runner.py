"""Run a notes file's code cells as the course did, and judge what they print against what the notes printed.

:func:`run_notes` executes every code cell in one namespace:

* ``import d2lzh1981`` gets :mod:`descentlab.d2l` (put in ``sys.modules`` for the
  run, the previous entry restored afterwards, ``sys.path`` too);
* the course's data path (:data:`~descentlab.d2l.COURSE_DATA_PATH`) in a cell's
  code is the verified airfoil file;
* what the cells take for granted from the course's set-up (``np``, ``torch``,
  ``math`` ...: :data:`PRELUDE`) is there from the start; IPython line magics
  (``%matplotlib inline``) are skipped and named;
* figures are drawn with matplotlib's Agg backend and kept as PNG bytes, never
  shown; numpy's, torch's and Python's generators are seeded once with ``seed``
  before the first cell (the notes' runs were unseeded draws) and restored after;
* a cell that does not parse is run with its :func:`~descentlab.d2l.repair.one_character_repair`,
  which the record names.

Each printed line is then put beside the line the notes printed and judged by the
report's rule (:mod:`descentlab.chapter.rule`): a 2D line (``epoch 20, x1 %f, x2 %f``)
must have the same digits; an airfoil line (``loss: %f, %f sec per epoch``) must
have its loss — the notes' and the one that ran — inside the 99% prediction
interval of ``seeds`` seeded runs of the same optimizer and hyperparameters
(:func:`descentlab.airfoil.train.train`).  Which optimizer ran is read from the
call: a torch.optim class (or :mod:`descentlab.torch_optim`'s) by its name, a
:mod:`descentlab.optim` class by its algorithm, and one of the notes' own functions
by stepping it beside each of the notes' functions with the same hyperparameter
keys (:func:`identify_function`).  Nothing here prints.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import copy
import io
import math
import random
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch
from torch import nn

from .. import d2l
from ..airfoil.data import Airfoil
from ..airfoil.train import TrainingRun, train
from ..chapter.rule import PredictionInterval, prediction_interval, rule_text
from ..engine.torch_names import TORCH_COUNTERPARTS
from ..notes.loop import OwnCall, notes_states, own_calls
from ..notes.reference import airfoil_label
from .cells import Cell, read_notes, shown_output
from .repair import Repair, one_character_repair, syntax_error

COURSE_MODULE = "d2lzh1981"
PRELUDE: dict[str, str] = {
    "math": "import math",
    "time": "import time",
    "sys": "import sys",
    "np": "import numpy as np",
    "torch": "import torch",
    "nn": "from torch import nn",
    "plt": "from matplotlib import pyplot as plt",
}
"""The names the course's notebooks had from their set-up (the course module's imports), as the statements that bind them."""

TRACE_LINE = re.compile(r"^epoch \d+, x1 \S+, x2 \S+$")
LOSS_LINE = re.compile(r"^loss: (\S+), \S+ sec per epoch$")
SAME_DIGITS = "same digits"
STATUSES = ("pass", "FAIL", "not judged")


def line_kind(line: str) -> str:
    """``"2d"`` for ``epoch 20, x1 %f, x2 %f``, ``"airfoil"`` for ``loss: %f, %f sec per epoch``, else ``"other"``."""
    if TRACE_LINE.match(line.strip()):
        return "2d"
    if LOSS_LINE.match(line.strip()):
        return "airfoil"
    return "other"


@dataclass(frozen=True)
class LineCheck:
    """One printed line: the notes', the one that ran, the rule and the verdict (None: not judged)."""

    kind: str
    notes: str | None
    ran: str | None
    rule: str
    passed: bool | None
    detail: str = ""  # the interval, or why the line was not judged

    @property
    def status(self) -> str:
        return {True: "pass", False: "FAIL", None: "not judged"}[self.passed]


@dataclass(frozen=True)
class CellRun:
    """One code cell as it ran."""

    label: str
    printed: tuple[str, ...]
    checks: tuple[LineCheck, ...]
    figures: tuple[bytes, ...]  # PNG, in the order the cell drew them
    notes_images: int  # the figures the notes show after the cell
    magics: tuple[str, ...] = ()  # IPython magics skipped
    provided: tuple[str, ...] = ()  # names the cell used from PRELUDE
    repair: Repair | None = None
    repair_text: str = ""  # Repair.describe(the cell's source)
    error: str | None = None  # the exception's last line, with the cell's line
    skipped: str | None = None  # why the cell was not run
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.error is not None or any(check.passed is False for check in self.checks)


@dataclass(frozen=True)
class NotesReport:
    """Every code cell of a notes file, run and judged."""

    path: str
    cells: tuple[CellRun, ...]
    seed: int
    seeds: int
    data_path: str | None
    data_error: str | None  # why the airfoil data was not available (cells reading it then fail)

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for cell in self.cells:
            for check in cell.checks:
                counts[check.status] += 1
        return counts

    @property
    def errors(self) -> int:
        return sum(cell.error is not None for cell in self.cells)

    @property
    def failed(self) -> bool:
        return any(cell.failed for cell in self.cells)


# --- running the cells -------------------------------------------------------------------------


class _CoursePath(ast.NodeTransformer):
    """Every string constant naming the course's data file becomes the verified file's path."""

    def __init__(self, data_path: str) -> None:
        self.data_path = data_path

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if node.value == d2l.COURSE_DATA_PATH:
            return ast.copy_location(ast.Constant(self.data_path), node)
        return node


def _without_magics(source: str) -> tuple[str, tuple[str, ...]]:
    """The source with IPython line magics (``%...``, ``!...``) made ``pass``, and the magics skipped."""
    lines, magics = [], []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")) and not stripped.startswith("%%"):
            magics.append(stripped)
            line = line[: len(line) - len(stripped)] + "pass"
        lines.append(line)
    return "\n".join(lines) + "\n", tuple(magics)


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return names


def _loaded_names(tree: ast.AST) -> set[str]:
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


@contextlib.contextmanager
def _course(seed: int) -> Iterator[None]:
    """The course's world for a run: ``d2lzh1981`` importable, Agg figures, seeded generators; all undone after."""
    from matplotlib import pyplot as plt

    saved_module = sys.modules.get(COURSE_MODULE)
    saved_path, saved_backend = list(sys.path), matplotlib.get_backend()
    saved_random, saved_numpy = random.getstate(), np.random.get_state()
    sys.modules[COURSE_MODULE] = d2l
    try:
        with torch.random.fork_rng(devices=[]), matplotlib.rc_context(), warnings.catch_warnings():
            plt.switch_backend("Agg")
            random.seed(seed)
            np.random.seed(seed)
            torch.manual_seed(seed)
            yield
    finally:
        plt.close("all")
        if saved_module is None:
            sys.modules.pop(COURSE_MODULE, None)
        else:
            sys.modules[COURSE_MODULE] = saved_module
        sys.path[:] = saved_path
        random.setstate(saved_random)
        np.random.set_state(saved_numpy)
        with contextlib.suppress(Exception):  # an interactive backend may not start here; Agg figures stay usable
            plt.switch_backend(saved_backend)


def _figures() -> tuple[bytes, ...]:
    """Every open pyplot figure as PNG bytes, in the order made; then closed."""
    from matplotlib import pyplot as plt

    images = []
    for number in plt.get_fignums():
        figure = plt.figure(number)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight")
        images.append(buffer.getvalue())
        plt.close(figure)
    return tuple(images)


def _error_line(error: BaseException, filename: str) -> str:
    where = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.filename == filename]
    at = f" (line {where[-1]})" if where else ""
    text = traceback.format_exception_only(type(error), error)[-1].strip()
    return f"{text}{at}"


@dataclass
class _Executed:
    cell: Cell
    printed: tuple[str, ...] = ()
    runs: list[Any] = field(default_factory=list)
    figures: tuple[bytes, ...] = ()
    magics: tuple[str, ...] = ()
    provided: tuple[str, ...] = ()
    repair: Repair | None = None
    repair_text: str = ""
    error: str | None = None
    skipped: str | None = None
    seconds: float = 0.0


def _execute(cells: Sequence[Cell], data_path: str | None, seed: int) -> list[_Executed]:
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    done: list[_Executed] = []
    bound: set[str] = set()
    with _course(seed), d2l.session(data_path) as runs:
        for statement in PRELUDE.values():
            exec(statement, namespace)  # noqa: S102 - the course's own set-up
        for cell in cells:
            record = _Executed(cell)
            done.append(record)
            if cell.source.lstrip().startswith("%%"):
                record.skipped = f"a cell magic ({cell.source.lstrip().split()[0]}) is IPython's, not Python"
                continue
            source, record.magics = _without_magics(cell.source)
            if syntax_error(source) is not None:
                repair = one_character_repair(source)
                if repair is None:
                    error = syntax_error(source)
                    record.error = f"SyntaxError: {error.msg} (line {error.lineno}); no one-character repair parses"
                    continue
                record.repair, record.repair_text = repair, repair.describe(source)
                source = repair.source
            tree = ast.parse(source)
            record.provided = tuple(sorted((_loaded_names(tree) & PRELUDE.keys()) - bound - _bound_names(tree)))
            bound |= _bound_names(tree)
            if data_path is not None:
                tree = ast.fix_missing_locations(_CoursePath(data_path).visit(tree))
            record.printed, record.error, record.seconds = _exec_cell(tree, namespace, f"<{cell.label}>")
            record.runs = list(runs)
            runs.clear()
            record.figures = _figures()
    return done


def _exec_cell(tree: ast.Module, namespace: dict[str, Any], filename: str) -> tuple[tuple[str, ...], str | None, float]:
    """Run a cell as IPython would (its last expression's value displayed); its printed lines, error and time."""
    body, last = tree.body, None
    if body and isinstance(body[-1], ast.Expr):
        body, last = body[:-1], ast.Expression(body[-1].value)
    out, error = io.StringIO(), None
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), \
                _no_input():
            exec(compile(ast.Module(body, type_ignores=[]), filename, "exec"), namespace)  # noqa: S102
            if last is not None:
                value = eval(compile(last, filename, "eval"), namespace)
                if value is not None:
                    print(repr(value))
    except Exception as problem:  # noqa: BLE001 - a cell's error is its record, as in a notebook
        error = _error_line(problem, filename)
    seconds = time.perf_counter() - started
    return tuple(out.getvalue().splitlines()), error, seconds


@contextlib.contextmanager
def _no_input() -> Iterator[None]:
    saved = sys.stdin
    sys.stdin = io.StringIO()
    try:
        yield
    finally:
        sys.stdin = saved


# --- which optimizer ran, and the interval of its seeded runs --------------------------------


@dataclass(frozen=True)
class Reference:
    """The seeded runs that judge an airfoil line: ``train(algorithm, hyperparameters, impl=, init=)``."""

    algorithm: str
    impl: str
    init: str
    hyperparameters: dict[str, Any]

    @property
    def key(self) -> tuple:
        return self.algorithm, self.impl, self.init, tuple(sorted((k, repr(v)) for k, v in self.hyperparameters.items()))

    def label(self) -> str:
        """``own adam lr=0.01`` as the report names its runs; ``, nn.Linear's start`` when the rule is ours but the start torch's."""
        start = ", nn.Linear's start" if self.init != self.impl else ""
        return airfoil_label(self.impl, self.algorithm, self.hyperparameters) + start


def identify_function(function: Callable[..., Any], states: Any, hyperparameters: dict[str, Any],
                      inputs: int, steps: int = 3) -> str | None:
    """Which of the notes' own functions ``function`` is: the one with its hyperparameter keys that steps the same.

    Both run ``steps`` steps from the same random parameters, gradients and copies of
    the states; they match if the parameters agree to float32 rounding.
    """
    candidates = [(name, call) for name, call in own_calls().items()
                  if set(call.keys.values()) | set(call.extra) == set(hyperparameters)]
    matches = [name for name, call in candidates if _steps_alike(function, states, hyperparameters, call, inputs, steps)]
    return matches[0] if len(matches) == 1 else None


def _steps_alike(function: Callable[..., Any], states: Any, hyperparameters: dict[str, Any], call: OwnCall,
                 inputs: int, steps: int) -> bool:
    generator = torch.Generator().manual_seed(20)
    start = [torch.randn(inputs, 1, generator=generator), torch.randn(1, generator=generator)]
    theirs = [nn.Parameter(t.clone()) for t in start]
    notes = [nn.Parameter(t.clone()) for t in start]
    their_states, notes_states_ = copy.deepcopy(states), notes_states(notes, call.state_copies)
    their_hp, notes_hp = dict(hyperparameters), dict(hyperparameters)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for _ in range(steps):
                grads = [torch.randn(t.shape, generator=generator) for t in start]
                for p, q, g in zip(theirs, notes, grads):
                    p.grad, q.grad = g.clone(), g.clone()
                function(theirs, their_states, their_hp)
                call.function(notes, notes_states_, notes_hp)
    except Exception:  # noqa: BLE001 - a function that cannot take the notes' arguments is not theirs
        return False
    return all(torch.allclose(p.data, q.data, rtol=1e-5, atol=1e-7) for p, q in zip(theirs, notes))


def reference_of(run: d2l.Ch7Run) -> Reference | str:
    """The seeded runs that judge ``run``, or why there are none."""
    hp = run.hyperparameters
    if run.kind == "function":
        algorithm = identify_function(run.optimizer, run.states, hp, int(run.features.shape[1]))
        if algorithm is None:
            name = getattr(run.optimizer, "__name__", "the function")
            return f"{name} steps as none of the notes' own functions with keys {sorted(hp)}"
        call = own_calls()[algorithm]
        renamed = {notes: ours for ours, notes in call.keys.items()}
        return Reference(algorithm, "own", "own", {renamed[k]: v for k, v in hp.items() if k not in call.extra})
    cls = run.optimizer
    if d2l.is_descentlab_class(cls):
        return Reference(cls.algorithm.name, "own", "torch", dict(run.ran_with))
    name = getattr(cls, "__name__", "")
    if getattr(torch.optim, name, None) is cls or getattr(cls, "__module__", "") == "descentlab.torch_optim":
        rows = [(len(row.names), algorithm, row) for algorithm, row in TORCH_COUNTERPARTS.items()
                if row.class_name == name and set(hp) <= set(row.names.values())]
        if rows:
            _, algorithm, row = min(rows, key=lambda r: r[0])
            ours = {theirs: mine for mine, theirs in row.names.items()}
            return Reference(algorithm, "torch", "torch", {ours[k]: v for k, v in hp.items()})
    return f"no seeded runs for {getattr(cls, '__module__', '')}.{name} with {sorted(hp)}"


@dataclass
class _Intervals:
    data: Airfoil | None
    seeds: tuple[int, ...]
    made: dict[tuple, TrainingRun | str] = field(default_factory=dict)

    def of(self, reference: Reference) -> TrainingRun | str:
        if reference.key not in self.made:
            try:
                self.made[reference.key] = train(reference.algorithm, reference.hyperparameters, data=self.data,
                                                 impl=reference.impl, init=reference.init, seeds=self.seeds)
            except ValueError as error:
                self.made[reference.key] = f"cannot run {reference.label()}: {error}"
        return self.made[reference.key]


def _airfoil_check(notes: str | None, ran: str | None, run: Any, intervals: _Intervals) -> LineCheck:
    rule = rule_text()
    if not isinstance(run, d2l.Ch7Run):
        return LineCheck("airfoil", notes, ran, rule, None if ran else False, "no run of train_ch7 printed it")
    if intervals.data is None:
        return LineCheck("airfoil", notes, ran, rule, None, "no airfoil data for the seeded runs")
    if not (torch.equal(run.features, intervals.data.features) and torch.equal(run.labels, intervals.data.labels)):
        return LineCheck("airfoil", notes, ran, rule, None, "the cell trained on other data than the airfoil file's")
    reference = reference_of(run)
    if isinstance(reference, str):
        return LineCheck("airfoil", notes, ran, rule, None, reference)
    seeded = intervals.of(reference)
    if isinstance(seeded, str):
        return LineCheck("airfoil", notes, ran, rule, None, seeded)
    interval = prediction_interval(seeded.final_loss, seeded.optimum_loss)
    if interval is None:
        return LineCheck("airfoil", notes, ran, rule, None if not seeded.diverged else False,
                         f"no interval from {len(seeded.seeds)} seeds of {reference.label()}")
    losses = [_loss(line) for line in (notes, ran) if line is not None]
    passed = all(loss is not None and interval.contains(loss) for loss in losses)
    return LineCheck("airfoil", notes, ran, rule, passed, _interval_text(interval, reference))


def _interval_text(interval: PredictionInterval, reference: Reference) -> str:
    return f"[{interval.low:.6f}, {interval.high:.6f}] from {interval.seeds} seeds of {reference.label()}"


def _loss(line: str) -> float | None:
    match = LOSS_LINE.match(line.strip())
    if not match:
        return None
    try:
        value = float(match.group(1))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _checks(executed: _Executed, intervals: _Intervals) -> tuple[LineCheck, ...]:
    ran = list(executed.printed)
    notes = list(shown_output(executed.cell, ran))
    if not notes and executed.cell.shown and all(line_kind(line) != "other" for line in executed.cell.shown):
        notes = list(executed.cell.shown)  # the cell failed, but what follows it is what the course printed
    losses = iter([run for run in executed.runs if isinstance(run, d2l.Ch7Run)])
    checks = []
    for index in range(max(len(notes), len(ran))):
        theirs = notes[index] if index < len(notes) else None
        ours = ran[index] if index < len(ran) else None
        kind = line_kind(ours if ours is not None else theirs or "")
        if kind == "2d":
            passed = None if theirs is None else theirs.strip() == (ours or "").strip()
            checks.append(LineCheck(kind, theirs, ours, SAME_DIGITS, passed,
                                    "" if theirs is not None else "the notes show no line to compare"))
        elif kind == "airfoil":
            run = next(losses, None) if ours is not None else None
            checks.append(_airfoil_check(theirs, ours, run, intervals))
        elif theirs is not None or ours is not None:
            checks.append(LineCheck(kind, theirs, ours, "shown", None))
    return tuple(checks)


def run_notes(path: str | Path, *, data: Airfoil | None = None, data_error: str | None = None, seed: int = 0,
              seeds: int = 20, cells: Sequence[Cell] | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> NotesReport:
    """Run every code cell of the notes at ``path`` (see the module's docstring) and judge what they print.

    ``data`` is the verified airfoil file (None: not available, ``data_error`` says why);
    ``seed`` seeds the generators before the first cell; ``seeds`` seeded runs make each
    airfoil line's interval.  :class:`~descentlab.d2l.cells.NotesError` for a file that is not notes.
    ``progress(label, done, total)`` is called before each stage.
    """
    cells = list(cells) if cells is not None else read_notes(path)
    report = progress or (lambda label, done, total: None)
    report("running the cells", 0, 2)
    executed = _execute(cells, str(data.path) if data is not None else None, seed)
    report("seeded runs for the airfoil lines", 1, 2)
    intervals = _Intervals(data, tuple(range(seeds)))
    runs = tuple(
        CellRun(label=e.cell.label, printed=e.printed, checks=_checks(e, intervals), figures=e.figures,
                notes_images=e.cell.images, magics=e.magics, provided=e.provided, repair=e.repair,
                repair_text=e.repair_text, error=e.error, skipped=e.skipped, seconds=e.seconds)
        for e in executed
    )
    report("done", 2, 2)
    return NotesReport(str(path), runs, seed, seeds, str(data.path) if data is not None else None, data_error)


def needs_data(cells: Sequence[Cell]) -> bool:
    """Whether a cell reads the airfoil data (the course's path, or ``get_data_ch7``)."""
    return any(d2l.COURSE_DATA_PATH in cell.source or "get_data_ch7" in cell.source for cell in cells)


__all__ = [
    "COURSE_MODULE",
    "PRELUDE",
    "CellRun",
    "LineCheck",
    "NotesReport",
    "Reference",
    "identify_function",
    "line_kind",
    "needs_data",
    "reference_of",
    "run_notes",
]
