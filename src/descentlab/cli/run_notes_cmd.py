"""``descentlab run-notes PATH``: every code cell of the notes run as written, and judged against what they printed."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .common import CLIError, nonnegative_int, seed_count

EXIT_VERDICT_FAILED = 1
EXIT_AIRFOIL_NOT_RUN = 3
DEFAULT_OUT = "notes-figures"
_FIGURE_NAME = re.compile(r"^(in|cell)\d+(-\d+)?\.png$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run-notes",
        help="run every code cell of the notes (.ipynb or a text export) and judge what they print",
        description="Run the code cells of a notes file (a course .ipynb, or a text/Markdown export with 'In [n]:' "
        "cells) in one namespace where `import d2lzh1981` is descentlab.d2l and the course's airfoil path is the "
        "verified file; print, per cell, what the notes printed beside what ran, with the report's verdict (the same "
        "digits for the 2D runs, the 99% prediction interval of seeded runs for the airfoil runs); save the figures "
        "as PNG. A cell that does not parse runs with its one-character repair, named. Exit code 0: every judged line "
        f"agrees; {EXIT_VERDICT_FAILED}: a line differs or a cell raised; "
        f"{EXIT_AIRFOIL_NOT_RUN}: the airfoil data was not available; 2: a mistake on the command line (a PATH that "
        "is not notes, a --data file that cannot be read, an --out that cannot be written; nothing is run).",
    )
    parser.add_argument("path", metavar="PATH", help="the notes: a .ipynb notebook or a text export with 'In [n]:' cells")
    parser.add_argument("--data", default=None, metavar="FILE",
                        help="the airfoil file (default: $DESCENTLAB_DATA, the cache, or a download)")
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR",
                        help=f"where the figures go, one PNG per figure named after its cell (default: {DEFAULT_OUT})")
    parser.add_argument("--seed", type=nonnegative_int, default=0,
                        help="seeds numpy, torch and random once before the first cell (default 0; the notes ran unseeded)")
    parser.add_argument("--seeds", type=seed_count, default=20,
                        help="seeded runs behind each airfoil line's prediction interval (default 20, as reproduce)")
    parser.add_argument("--no-download", action="store_true", help="never download the airfoil data")
    parser.set_defaults(handler=run)


class _FigureNames:
    """The names a previous run-notes wrote into --out (``in07.png``, ``in07-2.png``, ``cell3.png``)."""

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and bool(_FIGURE_NAME.match(name))

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def figure_names(label: str, count: int) -> list[str]:
    """``In [7]`` and 2 figures -> ``in07.png``, ``in07-2.png``; ``cell 3`` -> ``cell03.png``."""
    number = re.sub(r"\D", "", label) or "0"
    stem = ("in" if label.startswith("In") else "cell") + f"{int(number):02d}"
    return [f"{stem}.png" if k == 0 else f"{stem}-{k + 1}.png" for k in range(count)]


_PLAIN = str.maketrans({"∛": "cbrt", "±": "+-", "—": "-", "·": "-", "…": "...", "’": "'"})


class _Out:
    """Lines to standard output that degrade instead of failing: characters it cannot encode become ASCII or ``?``."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stdout

    def __call__(self, line: str = "") -> None:
        if self.stream is None:  # no standard output at all (a windowless interpreter): the exit code still tells
            return
        try:
            self.stream.write(line + "\n")
        except UnicodeEncodeError:
            encoding = getattr(self.stream, "encoding", None) or "ascii"
            self.stream.write(line.translate(_PLAIN).encode(encoding, "replace").decode(encoding) + "\n")


def run(args: argparse.Namespace) -> int:
    from ..airfoil.data import ENV_VAR, DataError, load_airfoil
    from ..d2l.cells import NotesError, read_notes
    from ..d2l.runner import PRELUDE, needs_data, run_notes
    from ..files import WriteError, check_directory, reason, write_directory
    from .common import DownloadProgress, load_data

    try:
        cells = read_notes(args.path)
    except NotesError as error:
        raise CLIError(str(error)) from None
    out = Path(args.out)
    try:
        check_directory(out, _FigureNames())
    except (ValueError, WriteError) as error:
        raise CLIError(f"--out {out}: {error}") from None
    data, data_error = None, None
    if needs_data(cells):
        if args.data is not None or os.environ.get(ENV_VAR):
            data = load_data(args)  # a file the user named must be readable: exit 2 otherwise
        else:
            with DownloadProgress() as progress:
                try:
                    data = load_airfoil(None, allow_download=not args.no_download, progress=progress)
                except DataError as error:
                    data_error = str(error)
    report = run_notes(args.path, data=data, data_error=data_error, seed=args.seed, seeds=args.seeds, cells=cells)

    names: list[tuple[str, bytes]] = []
    for cell in report.cells:
        names += zip(figure_names(cell.label, len(cell.figures)), cell.figures)

    def fill(folder: Path) -> None:
        for name, image in names:
            (folder / name).write_bytes(image)

    try:  # staged beside --out and moved into place: a failure leaves no half-written folder, and nothing printed
        write_directory(out, _FigureNames(), fill)
    except ValueError as error:
        raise CLIError(f"--out {out}: {error}") from None
    except OSError as error:
        raise CLIError(f"--out {out}: cannot write the figures ({reason(error)}); nothing was written") from None

    say = _Out()
    where = f"airfoil data {report.data_path}" if report.data_path else (
        "airfoil data: not available" if data_error else "no airfoil data needed")
    say(f"{args.path}: {len(report.cells)} code cells, seed {report.seed}; {where}")
    written = iter(name for name, _ in names)
    for cell in report.cells:
        _print_cell(say, cell, out, written, PRELUDE)
    counts = report.counts()
    repaired = sum(cell.repair is not None for cell in report.cells)
    say(f"lines: {counts['pass']} pass, {counts['FAIL']} FAIL, {counts['not judged']} not judged; "
        f"cells: {len(report.cells)}, {repaired} repaired, {report.errors} raised; {len(names)} figures in {out}")
    sys.stdout.flush()
    if data_error:
        sys.stderr.write(f"descentlab run-notes: the airfoil data was not available: {data_error}\n")
        return EXIT_AIRFOIL_NOT_RUN
    return EXIT_VERDICT_FAILED if report.failed else 0


def _print_cell(say: _Out, cell: Any, out: Path, written: Iterator[str], prelude: dict[str, str]) -> None:
    notes = []
    if cell.magics:
        notes.append("skipped " + ", ".join(cell.magics))
    if cell.provided:
        notes.append("uses " + ", ".join(f"{name} ({prelude[name]})" for name in cell.provided))
    say(f"{cell.label}" + (f"   {'; '.join(notes)}" if notes else ""))
    if cell.repair is not None:
        say(f"  repaired  the notes' cell does not parse ({cell.repair.error}); ran it with {cell.repair_text}")
    if cell.skipped:
        say(f"  skipped   {cell.skipped}")
    for check in cell.checks:
        say(f"  notes     {check.notes if check.notes is not None else '(nothing)'}")
        say(f"  ran       {check.ran if check.ran is not None else '(nothing)'}")
        if check.kind != "other":
            detail = f": {check.detail}" if check.detail else ""
            say(f"  {check.status:<9} {check.rule}{detail}")
    if cell.error is not None:
        say(f"  FAIL      raised {cell.error}")
    for _ in cell.figures:
        say(f"  figure    {out / next(written)}")
