"""``descentlab run-notes`` and ``descentlab.d2l``: the notes' own cells run as written and judged.

The seed document's every code cell (slow: its twelve airfoil cells train for real),
its seven 2D cells alone (fast), a notebook built here in both forms (.ipynb and text),
the one-character repair, the course's helpers with descentlab's classes, bad input.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import descentlab.optim as dl
import descentlab.torch_optim
from descentlab import d2l
from descentlab.cli import main
from descentlab.d2l.cells import notebook_cells, read_notes, shape, text_cells
from descentlab.d2l.repair import one_character_repair
from descentlab.d2l.runner import identify_function, run_notes
from descentlab.notes.loop import notes_momentum, notes_states, notes_train
from descentlab.notes.reference import NOTES_AIRFOIL, NOTES_TRACES

SEED_NOTES = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_9ac89c70a19e8323.txt"

F_2D = "def f_2d(x1, x2):\n    return 0.1 * x1 ** 2 + 2 * x2 ** 2\n"
GD_2D = "def gd_2d(x1, x2, s1, s2):\n    return (x1 - eta * 0.2 * x1, x2 - eta * 4 * x2, 0, 0)\n"
FIRST_CELL = "%matplotlib inline\nimport sys\nsys.path.append('/home/kesci/input')\nimport d2lzh1981 as d2l\neta = 0.4\n" + F_2D + GD_2D + \
    "d2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))\n"


@pytest.fixture(scope="module")
def seed_notes() -> Path:
    if not SEED_NOTES.is_file():
        pytest.skip(f"the user's notes are not at {SEED_NOTES}")
    return SEED_NOTES


def notebook(path: Path, cells: list[tuple[str, list[str], bool]]) -> Path:
    """A small nbformat 4 notebook: each cell is (source, its printed lines, whether it showed a figure)."""
    body = [{"cell_type": "markdown", "metadata": {}, "source": ["# 优化算法进阶\n", "notes in prose"]}]
    for count, (source, printed, figure) in enumerate(cells, 1):
        outputs: list[dict] = []
        if printed:
            outputs.append({"output_type": "stream", "name": "stdout", "text": [line + "\n" for line in printed]})
        if figure:
            outputs.append({"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=",
                                                                                       "text/plain": ["<Figure>"]}})
        body.append({"cell_type": "code", "execution_count": count, "metadata": {}, "outputs": outputs,
                     "source": source.splitlines(keepends=True)})
    path.write_text(json.dumps({"cells": body, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return path


def lines_of(output: str, tag: str) -> list[str]:
    return [line.split(None, 1)[1] for line in output.splitlines() if line.startswith(f"  {tag} ")]


# --- the seed document -------------------------------------------------------------------------


@pytest.mark.slow
def test_every_code_cell_of_the_notes_runs_and_agrees(seed_notes, airfoil_path, tmp_path, capsys) -> None:
    out = tmp_path / "figures"
    code = main(["run-notes", str(seed_notes), "--data", str(airfoil_path), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    notes, ran = lines_of(printed, "notes    "), lines_of(printed, "ran      ")
    traces = [(n, r) for n, r in zip(notes, ran) if n.startswith("epoch")]
    losses = [(n, r) for n, r in zip(notes, ran) if n.startswith("loss")]
    # the seven 2D lines: the notes' digits, exactly
    assert [n for n, _ in traces] == [r for _, r in traces] == [t.printed for t in NOTES_TRACES]
    # the twelve airfoil lines: the notes' losses, and what ran, inside the interval of the same run's 20 seeds
    assert [float(n.split()[1].rstrip(",")) for n, _ in losses] == [r.final_loss for r in NOTES_AIRFOIL]
    verdicts = [line for line in printed.splitlines() if "prediction interval" in line]
    assert len(verdicts) == 12 and all(line.split()[0] == "pass" for line in verdicts)
    for (_, ran_line), verdict, reference in zip(losses, verdicts, NOTES_AIRFOIL):
        low, high = map(float, re.search(r"\[([\d.]+), ([\d.]+)\] from 20 seeds", verdict).groups())
        assert low <= float(ran_line.split()[1].rstrip(",")) <= high
        assert verdict.endswith(reference.label())  # the run behind the interval is the one the cell made
    # the two RMSProp cells that never close their parenthesis: named, with the character that repaired them
    repaired = [line for line in printed.splitlines() if line.startswith("  repaired")]
    assert len(repaired) == 2 and all("')' inserted after 'labels' (line 2" in line for line in repaired)
    assert "lines: 19 pass, 0 FAIL, 0 not judged; cells: 24, 2 repaired, 0 raised; 19 figures" in printed
    assert len(list(out.glob("*.png"))) == 19 and (out / "in07.png").read_bytes().startswith(b"\x89PNG")


def test_the_notes_2d_cells_print_the_notes_digits(seed_notes) -> None:
    cells = [cell for cell in read_notes(seed_notes) if "train_2d" in cell.source]
    assert [cell.label for cell in cells] == ["In [1]", "In [2]", "In [3]", "In [4]", "In [11]", "In [12]", "In [16]"]
    report = run_notes(seed_notes, cells=cells)
    checks = [check for cell in report.cells for check in cell.checks]
    assert [c.ran for c in checks] == [c.notes for c in checks] == [t.printed for t in NOTES_TRACES]
    assert all(c.status == "pass" and c.rule == "same digits" for c in checks)
    assert [len(cell.figures) for cell in report.cells] == [1] * 7
    assert report.cells[0].magics == ("%matplotlib inline",) and not report.failed


def test_the_text_export_reads_code_output_and_figures(seed_notes) -> None:
    cells = read_notes(seed_notes)
    assert len(cells) == 24
    first = cells[0]
    assert first.source.startswith("%matplotlib inline\nimport sys\n") and "    return 0.1 * x1" in first.source
    assert first.shown == ("epoch 20, x1 -0.943467, x2 -0.000073",) and first.images == 1
    prose = next(cell for cell in cells if cell.label == "In [6]")
    assert prose.images == 0 and shape(prose.shown[0]) != shape("loss: 0.1, 0.2 sec per epoch")


# --- the .ipynb form and the text form of one small notebook --------------------------------------


def test_a_notebook_runs_its_cells_in_one_namespace(tmp_path, capsys) -> None:
    path = notebook(tmp_path / "course.ipynb", [
        (FIRST_CELL, ["epoch 20, x1 -0.943467, x2 -0.000073"], True),
        ("eta = 0.6\nd2l.show_trace_2d(f_2d, d2l.train_2d(gd_2d))\n", ["epoch 20, x1 -0.387814, x2 -1673.365109"], True),
        ("x = np.arange(3)\nx * 2\n", ["array([0, 2, 4])"], False),  # np from the course's set-up; a displayed value
    ])
    out = tmp_path / "figs"
    path_before, numpy_before = list(sys.path), np.random.get_state()[1].copy()
    assert main(["run-notes", str(path), "--out", str(out)]) == 0
    assert sys.path == path_before and (np.random.get_state()[1] == numpy_before).all()  # the run's world is undone
    printed = capsys.readouterr().out
    assert "In [1]   skipped %matplotlib inline" in printed and "In [3]   uses np (import numpy as np)" in printed
    assert printed.count("  pass      same digits") == 2
    assert "  ran       array([0, 2, 4])" in printed
    assert sorted(p.name for p in out.iterdir()) == ["in01.png", "in02.png"]
    assert "d2lzh1981" not in sys.modules  # the course's name was lent for the run only


def test_a_line_that_differs_from_the_notes_fails(tmp_path, capsys) -> None:
    path = notebook(tmp_path / "wrong.ipynb", [(FIRST_CELL, ["epoch 20, x1 -0.943468, x2 -0.000073"], True)])
    assert main(["run-notes", str(path), "--out", str(tmp_path / "f")]) == 1
    printed = capsys.readouterr().out
    assert "  FAIL      same digits" in printed and "lines: 0 pass, 1 FAIL" in printed


def test_the_text_form_of_the_same_cells_agrees(tmp_path) -> None:
    indented = "".join("    " + line + "\n" if line else "\n" for line in FIRST_CELL.splitlines())
    text = f"**Momentum**\n\nIn [1]:\n\n{indented}\nepoch 20, x1 -0.943467, x2 -0.000073\n\n![img](a.png)\n\n" \
           "下面我们试着将学习率调得稍大一点。\n\nIn [2]:\n\n```python\neta = 0.6\nd2l.train_2d(gd_2d)\nprint('done')\n```\n\n" \
           "Then prose that is not output.\n"
    path = tmp_path / "notes.md"
    path.write_text(text, encoding="utf-8")
    cells = text_cells(text)
    assert [c.label for c in cells] == ["In [1]", "In [2]"] and [c.images for c in cells] == [1, 0]
    report = run_notes(path, cells=cells)
    first, second = report.cells
    assert [c.status for c in first.checks] == ["pass"]
    # In [2]: the paragraph after it is prose (another shape), so the notes show nothing for its lines
    assert [(c.notes, c.ran) for c in second.checks] == [(None, "epoch 20, x1 -0.387814, x2 -1673.365109"), (None, "done")]
    assert second.checks[0].status == "not judged"


def test_notebook_outputs_are_taken_as_printed() -> None:
    cells = notebook_cells(json.dumps({"nbformat": 4, "cells": [
        {"cell_type": "code", "execution_count": None, "source": "1 + 1", "outputs": [
            {"output_type": "execute_result", "data": {"text/plain": "2"}}]},
        {"cell_type": "raw", "source": "ignored"}]}))
    assert [(c.label, c.source, c.shown, c.exact) for c in cells] == [("cell 1", "1 + 1", ("2",), True)]


# --- the one-character repair ------------------------------------------------------------------


@pytest.mark.parametrize(("source", "repaired", "said"), [
    ("d2l.train_ch7(rmsprop, init_rmsprop_states(), {'lr': 0.01, 'beta': 0.9},\n          features, labels\n",
     "d2l.train_ch7(rmsprop, init_rmsprop_states(), {'lr': 0.01, 'beta': 0.9},\n          features, labels)\n",
     "')' inserted after 'labels' (line 2, column 27)"),
    ("def f(x)\n    return x\n", "def f(x):\n    return x\n", "':' inserted after 'f(x)' (line 1, column 9)"),
    ("print((1)))\n", "print((1))\n", "')' deleted after 'print((1' (line 1, column 9)"),
    ("x = [1 2]\n", "x = [1, 2]\n", "',' inserted after '[1' (line 1, column 7)"),
    ("s = {'a': 1\nt = 2\n", "s = {'a': 1}\nt = 2\n", "'}' inserted after '1' (line 1, column 12)"),
])
def test_a_cell_that_does_not_parse_gets_its_one_character_repair(source, repaired, said) -> None:
    repair = one_character_repair(source)
    assert repair is not None and repair.source == repaired and repair.describe(source) == said


def test_no_repair_for_a_cell_that_parses_or_needs_more_than_one_character() -> None:
    assert one_character_repair("x = 1\n") is None
    assert one_character_repair("x = = = 1\n") is None


def test_a_repaired_cell_runs_and_is_named_and_an_unrepairable_one_fails(tmp_path, capsys) -> None:
    path = notebook(tmp_path / "typo.ipynb", [
        (FIRST_CELL.replace("d2l.train_2d(gd_2d))", "d2l.train_2d(gd_2d)"), ["epoch 20, x1 -0.943467, x2 -0.000073"], True),
        ("y = = = 1\n", [], False),
        ("print(undefined_name)\n", [], False),
    ])
    assert main(["run-notes", str(path), "--out", str(tmp_path / "f")]) == 1
    printed = capsys.readouterr().out
    assert "  repaired  the notes' cell does not parse ('(' was never closed (line 10)); ran it with ')' inserted " \
           "after 'd2l.train_2d(gd_2d)' (line 10, column 44)" in printed
    assert "  pass      same digits" in printed
    assert "  FAIL      raised SyntaxError: invalid syntax (line 1); no one-character repair parses" in printed
    assert "  FAIL      raised NameError: name 'undefined_name' is not defined (line 1)" in printed
    assert "cells: 3, 1 repaired, 2 raised" in printed


# --- descentlab.d2l -------------------------------------------------------------------------------


def test_train_2d_prints_the_course_line_and_returns_the_points(capsys) -> None:
    points = d2l.train_2d(lambda x1, x2, s1, s2: (x1 - 0.4 * 0.2 * x1, x2 - 0.4 * 4 * x2, 0, 0))
    assert capsys.readouterr().out == NOTES_TRACES[0].printed + "\n"
    assert len(points) == 21 and points[0] == (-5.0, -2.0)


def test_train_ch7_is_the_notes_loop_and_draws_the_loss(airfoil, capsys) -> None:
    import matplotlib.pyplot as plt

    np.random.seed(3)
    torch.manual_seed(3)
    states = notes_states([torch.zeros(5, 1), torch.zeros(1)], 1)
    hp = {"lr": 0.02, "momentum": 0.5}
    with d2l.session() as runs:
        d2l.train_ch7(notes_momentum, states, hp, airfoil.features, airfoil.labels)
    line = capsys.readouterr().out
    expected = notes_train("momentum", hp, airfoil.features, airfoil.labels, seed=3)
    assert runs[0].losses == expected.losses and len(runs[0].losses) == 31
    assert re.fullmatch(r"loss: \d\.\d{6}, \d+\.\d{6} sec per epoch\n", line)
    assert line.startswith(f"loss: {expected.final_loss:f}, ")
    figure = plt.gcf()
    assert figure.axes[0].get_xlabel() == "epoch" and len(figure.axes[0].lines[0].get_xdata()) == 31
    plt.close("all")


@pytest.mark.parametrize(("cls", "hp", "ran_with"), [
    (dl.Momentum, {"lr": 0.004, "momentum": 0.9}, {"lr": 0.004, "momentum": 0.9}),
    (dl.AdaGrad, {"lr": 0.1}, {"lr": 0.1}),
    (dl.RMSProp, {"lr": 0.01, "alpha": 0.9}, {"lr": 0.01, "gamma": 0.9}),  # torch's name, as the notes' torch cell
    (dl.RMSProp, {"lr": 0.01, "beta": 0.9}, {"lr": 0.01, "gamma": 0.9}),  # the notes' own name
    (dl.AdaDelta, {"rho": 0.9}, {"rho": 0.9}),
    (dl.Adam, {"lr": 0.01}, {"lr": 0.01}),
    (dl.Adam, {"lr": 0.01, "t": 1}, {"lr": 0.01}),  # the notes' own step counter, at its start
    (descentlab.torch_optim.RMSprop, {"lr": 0.01, "alpha": 0.9}, {"lr": 0.01, "alpha": 0.9}),  # torch's names, as given
])
def test_descentlab_classes_take_the_notes_dicts(airfoil, capsys, cls, hp, ran_with) -> None:
    torch.manual_seed(0)
    run = d2l.fit_pytorch_ch7(cls, hp, airfoil.features[:300], airfoil.labels[:300])  # 300 rows: 60 steps
    assert run.ran_with == ran_with and run.hyperparameters == hp
    assert len(run.losses) == 7 and run.losses[-1] < run.losses[0] / 2  # it trained


def test_descentlab_momentum_runs_as_torch_sgd_with_the_same_dict(airfoil) -> None:
    hp = {"lr": 0.004, "momentum": 0.9}
    torch.manual_seed(1)
    theirs = d2l.fit_pytorch_ch7(torch.optim.SGD, hp, airfoil.features, airfoil.labels)
    torch.manual_seed(1)
    ours = d2l.fit_pytorch_ch7(dl.Momentum, hp, airfoil.features, airfoil.labels)
    assert ours.losses == pytest.approx(theirs.losses, rel=1e-5)


def test_a_dict_the_class_cannot_take_is_refused_with_the_class_to_use(airfoil) -> None:
    with pytest.raises(TypeError, match="belongs to descentlab.optim.Momentum"):
        d2l.fit_pytorch_ch7(dl.SGD, {"lr": 0.004, "momentum": 0.9}, airfoil.features, airfoil.labels)
    with pytest.raises(ValueError, match="'t' starts at 1"):
        d2l.fit_pytorch_ch7(dl.Adam, {"lr": 0.01, "t": 5}, airfoil.features, airfoil.labels)


def test_the_notes_own_function_is_identified_by_how_it_steps() -> None:
    states = notes_states([torch.zeros(5, 1), torch.zeros(1)], 1)

    def flipped(params, states, hp):  # the notes' momentum with a sign error
        for p, v in zip(params, states):
            v.data = hp["momentum"] * v.data - hp["lr"] * p.grad.data
            p.data -= v.data

    assert identify_function(notes_momentum, states, {"lr": 0.1, "momentum": 0.5}, 5) == "momentum"
    assert identify_function(flipped, states, {"lr": 0.1, "momentum": 0.5}, 5) is None


def test_get_data_ch7_is_the_verified_file(airfoil, airfoil_path) -> None:
    features, labels = d2l.get_data_ch7(airfoil_path)
    assert torch.equal(features, airfoil.features) and torch.equal(labels, airfoil.labels)
    with d2l.session(airfoil_path):
        assert torch.equal(d2l.get_data_ch7()[1], airfoil.labels)


def test_an_airfoil_cell_through_a_notebook_with_few_seeds(tmp_path, airfoil_path, capsys) -> None:
    """The course's data path is the verified file; standard output that cannot encode the rule still gets it."""
    cell = ("import d2lzh1981 as d2l\n"
            "data = np.genfromtxt('/home/kesci/input/airfoil4755/airfoil_self_noise.dat', delimiter='\\t')\n"
            "data = (data - data.mean(axis=0)) / data.std(axis=0)\n"
            "features = torch.tensor(data[:1500, :-1], dtype=torch.float32)\n"
            "labels = torch.tensor(data[:1500, -1], dtype=torch.float32)\n"
            "d2l.train_pytorch_ch7(torch.optim.Adam, {'lr': 0.01}, features, labels)\n")
    path = notebook(tmp_path / "adam.ipynb", [(cell, ["loss: 0.242389, 0.073228 sec per epoch"], True)])
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # a terminal that cannot show the rule's cube root
    saved, sys.stdout = sys.stdout, stream
    try:
        code = main(["run-notes", str(path), "--data", str(airfoil_path), "--seeds", "5", "--out", str(tmp_path / "f")])
    finally:
        sys.stdout = saved
    stream.seek(0)
    printed = stream.buffer.getvalue().decode("ascii")
    assert code == 0, printed
    assert "  pass      inside the 99% prediction interval (cbrt gap): [" in printed
    assert "from 5 seeds of torch adam lr=0.01" in printed


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("make", "message"), [
    (lambda tmp: tmp / "missing.ipynb", "cannot read"),
    (lambda tmp: tmp, "is a directory"),
    (lambda tmp: _write(tmp / "binary.txt", bytes(range(256))), "is not UTF-8 text"),
    (lambda tmp: _write(tmp / "broken.ipynb", b"{\"cells\": ["), "is not valid JSON"),
    (lambda tmp: _write(tmp / "old.ipynb", b'{"nbformat": 3, "worksheets": []}'), "nbformat 3"),
    (lambda tmp: _write(tmp / "prose.md", b"just prose, no cells\n"), "has no code cells"),
])
def test_bad_notes_are_one_line_and_exit_2(tmp_path, capsys, make, message) -> None:
    path = make(tmp_path)
    assert main(["run-notes", str(path), "--out", str(tmp_path / "never")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and message in captured.err
    assert "Traceback" not in captured.err and not (tmp_path / "never").exists()


def test_a_bad_out_or_data_is_refused_before_any_cell_runs(tmp_path, capsys) -> None:
    path = notebook(tmp_path / "n.ipynb", [("print('ran')\nopen('/home/kesci/input/airfoil4755/airfoil_self_noise.dat')\n",
                                            [], False)])
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("mine")
    assert main(["run-notes", str(path), "--out", str(tmp_path / "thesis")]) == 2
    assert "holds files that are not" in capsys.readouterr().err
    assert main(["run-notes", str(path), "--data", str(tmp_path / "none.dat"), "--out", str(tmp_path / "o")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "none.dat" in captured.err


def test_a_full_disk_while_writing_the_figures_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, capsys) -> None:
    import errno
    import os

    write_bytes = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        write_bytes(self, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    path = notebook(tmp_path / "n.ipynb", [(FIRST_CELL, ["epoch 20, x1 -0.943467, x2 -0.000073"], True)])
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setattr(Path, "write_bytes", full)
    assert main(["run-notes", str(path), "--out", str(work / "figures")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "(No space left on device)" in captured.err
    assert "Errno" not in captured.err and list(work.iterdir()) == []


def test_without_the_airfoil_data_the_2d_cells_still_run_and_the_exit_code_is_3(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    reading = "data = np.genfromtxt('/home/kesci/input/airfoil4755/airfoil_self_noise.dat', delimiter='\\t')\n"
    path = notebook(tmp_path / "n.ipynb", [(FIRST_CELL, ["epoch 20, x1 -0.943467, x2 -0.000073"], True),
                                           (reading, [], False)])
    assert main(["run-notes", str(path), "--no-download", "--out", str(tmp_path / "f")]) == 3
    captured = capsys.readouterr()
    assert "  pass      same digits" in captured.out and "raised FileNotFoundError" in captured.out
    assert captured.err.startswith("descentlab run-notes: the airfoil data was not available: ")
    assert captured.err.count("\n") == 1


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
