"""What every subcommand shares: one-line errors, hyperparameter options, output files, the data.

Hyperparameter options are generated from the registry's tables, so every
algorithm's keyword arguments are options with the same names (``--lr``,
``--gamma``, ``--betas B1 B2``, ``--eps-in-sqrt/--no-eps-in-sqrt``, ...).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from ..algorithms import REGISTRY, AlgorithmSpec, Hyperparameter, Setting
from ..algorithms.spec import OneOf, decay_pair, flag
from ..airfoil.data import AIRFOIL_SHA1, Airfoil, DataError, load_airfoil
from ..files import check_writable
from ..lang import LANGUAGES, Lang, lang
from ..airfoil.train import MAX_SEEDS
from ..schedules import SCHEDULES, Schedule, schedule


class CLIError(Exception):
    """A user mistake: ``main`` prints the message on one line and exits with 2."""


def check_names(given: Iterable[str], known: Iterable[str], what: str) -> None:
    """Raise :class:`CLIError` naming the first of ``given`` that is not in ``known`` (and what to choose from)."""
    choices = list(known)
    unknown = [name for name in given if name not in choices]
    if unknown:
        raise CLIError(f"unknown {what} {unknown[0]!r}; choose from: {', '.join(choices)}")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _all_hyperparameters() -> dict[str, Hyperparameter]:
    """Each hyperparameter name of the registry once (the first spec's row)."""
    rows: dict[str, Hyperparameter] = {}
    for spec in REGISTRY.values():
        for h in spec.hyperparameters:
            rows.setdefault(h.name, h)
    return rows


def add_hyperparameter_options(parser: argparse.ArgumentParser) -> None:
    """Add one option per hyperparameter name of the registry (all default to 'not given')."""
    group = parser.add_argument_group("hyperparameters (the optimizer's keyword arguments)")
    for name, h in _all_hyperparameters().items():
        users = ", ".join(s.name for s in REGISTRY.values() if name in s.names)
        help_text = f"{h.doc} [{users}]"
        if h.check is flag:
            group.add_argument(option_name(name), dest=name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif h.check is decay_pair:
            group.add_argument(option_name(name), dest=name, type=float, nargs=2, metavar=("B1", "B2"), default=None, help=help_text)
        elif isinstance(h.check, OneOf):
            group.add_argument(option_name(name), dest=name, choices=h.check.choices, default=None, help=help_text)
        else:
            group.add_argument(option_name(name), dest=name, type=float, default=None, metavar="X", help=help_text)


def given_hyperparameters(
    args: argparse.Namespace, spec: AlgorithmSpec, fixed: Mapping[str, Any] | None = None
) -> Setting:
    """The hyperparameter options given on the command line, validated once against ``spec``.

    ``fixed`` holds settings the optimizer that will run always uses (torch's
    class for ``--impl torch``); they take part in the check but are not
    returned.  An option the algorithm does not take, or a value out of range,
    is a :class:`CLIError` naming the option.
    """
    given = {name: getattr(args, name) for name in _all_hyperparameters() if getattr(args, name, None) is not None}
    for name in given:
        if name not in spec.names:
            takes = " ".join(option_name(n) for n in spec.names)
            raise CLIError(f"{spec.name} does not take {option_name(name)}; it takes: {takes}")
    if "betas" in given:
        given["betas"] = tuple(given["betas"])
    try:
        return spec.setting(given, fixed)
    except (ValueError, TypeError) as error:
        raise CLIError(f"{spec.name}: {_as_option(error)}") from None


def add_lang_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--lang en|zh``: the language ``what`` is written in."""
    parser.add_argument("--lang", default="en", choices=LANGUAGES,
                        help=f"the language of {what}: en (English, the default) or zh (Chinese, the notes' language)")


def given_lang(args: argparse.Namespace, figures: bool = True) -> Lang:
    """The :class:`~descentlab.lang.Lang` of ``--lang``; for Chinese figures, a CJK font must be installed."""
    say = lang(args.lang)
    if figures and say.code == "zh":
        from ..plotting.fonts import MissingFont, cjk_family

        try:
            cjk_family()
        except MissingFont as error:
            raise CLIError(f"--lang zh: {error}") from None
    return say


def add_schedule_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schedule", default=None, metavar="NAME[:key=value,...]",
        help=f"a learning-rate schedule, one of {', '.join(SCHEDULES)} (milestones as 100/200), e.g. "
        "cosine:warmup=5,final_lr=0.001; default: a constant lr")


def given_schedule(args: argparse.Namespace) -> Schedule | None:
    """``--schedule cosine:warmup=5`` validated (a :class:`CLIError` naming the option), or ``None``."""
    text = args.schedule
    if text is None:
        return None
    name, _, rest = text.partition(":")
    spec = SCHEDULES.get(name)
    if spec is None:
        raise CLIError(f"--schedule must be one of {', '.join(SCHEDULES)}, got {name!r}")
    defaults = spec.defaults
    given: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in defaults:
            known = ", ".join(defaults) or "none"
            raise CLIError(f"--schedule {text}: expected key=value with a key from: {known}, got {item!r}")
        try:
            default = defaults[key]
            if isinstance(default, tuple):
                given[key] = tuple(int(v) for v in value.split("/"))
            else:
                given[key] = int(value) if isinstance(default, int) else float(value)
        except ValueError:
            raise CLIError(f"--schedule {text}: {key}={value!r} is not a valid value for {key}") from None
    try:
        return schedule(name, given)
    except (TypeError, ValueError) as error:
        raise CLIError(f"--schedule {text}: {error}") from None


def _as_option(error: Exception) -> str:
    """Rephrase 'missing required hyperparameter 'lr'' as an option for the CLI."""
    text = str(error)
    marker = "missing required hyperparameter "
    if marker in text:
        name = text.split(marker, 1)[1].strip("'")
        return f"{option_name(name)} is required"
    return text


SUPPORTED_FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


def figure_path(value: str) -> Path:
    """Check an ``--out`` figure path before any work is done."""
    path = Path(value)
    if path.suffix.lower() not in SUPPORTED_FIGURE_SUFFIXES:
        raise CLIError(f"--out {value}: use a file name ending in {', '.join(SUPPORTED_FIGURE_SUFFIXES)}")
    try:
        return check_writable(path)
    except ValueError as error:
        raise CLIError(f"--out {value}: {error}") from None


def _whole_number(value: str, minimum: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {value!r}") from None
    if number < minimum:
        raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {number}")
    return number


def positive_int(value: str) -> int:
    """An argparse type: an integer >= 1."""
    return _whole_number(value, 1)


def nonnegative_int(value: str) -> int:
    """An argparse type: an integer >= 0."""
    return _whole_number(value, 0)


def seed_count(value: str) -> int:
    """An argparse type: how many seeds run together, 1 to ``MAX_SEEDS``."""
    number = positive_int(value)
    if number > MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds run together, got {number}")
    return number


def _capped(first, limit: int, too_large: str):
    """An argparse type: ``first``'s integer, refused above ``limit`` with ``too_large`` (``{number}`` filled)."""
    def parse(value: str) -> int:
        number = first(value)
        if number > limit:
            raise argparse.ArgumentTypeError(too_large.format(number=number))
        return number
    return parse


def at_most(limit: int, what: str):
    """An argparse type: an integer from 1 to ``limit`` (``what``: the plural noun of the message)."""
    return _capped(positive_int, limit, f"at most {limit} {what}, got {{number}}")


def seed_number(limit: int):
    """An argparse type: a seed from 0 to ``limit`` (what the command's random generators take)."""
    return _capped(nonnegative_int, limit, f"a seed is at most {limit}, got {{number}}")


def nonnegative_float(value: str) -> float:
    """An argparse type: a finite number >= 0 (``nan``, ``inf`` and negatives refused)."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value!r}") from None
    if not math.isfinite(number) or number < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {value}")
    return number


def finite_float(low: float, high: float, what: str):
    """An argparse type: a number from ``low`` to ``high`` (``what``: the noun of the message)."""
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if not (math.isfinite(number) and low <= number <= high):
            raise argparse.ArgumentTypeError(f"{what} must be a finite number from {low:g} to {high:g}, got {value}")
        return number
    return parse


class DownloadProgress:
    """Download progress on stderr (stdout stays clean for --json).

    On a terminal the line updates in place; elsewhere (a log, a pipe) only the
    finished download is reported, once.  ``close(ok=False)`` after a failure
    leaves no progress behind, so that the error is the only line.  As a context
    manager it closes itself, with ``ok`` telling whether the block raised.
    """

    def __init__(self) -> None:
        self.line: str | None = None

    def __enter__(self) -> DownloadProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: Any) -> None:
        self.close(ok=kind is None)

    def __call__(self, done: int, total: int | None) -> None:
        of = f" of {total}" if total else ""
        self.line = f"downloading the airfoil data: {done}{of} bytes"
        if sys.stderr.isatty():
            sys.stderr.write("\r" + self.line)
            sys.stderr.flush()

    def close(self, ok: bool = True) -> None:
        if self.line is None:
            return
        if sys.stderr.isatty():
            sys.stderr.write("\n" if ok else "\r\033[K")
        elif ok:
            sys.stderr.write(self.line + "\n")
        self.line = None


class EpochProgress:
    """Training progress on stderr for long runs (stdout stays clean for --json).

    On a terminal, ``epoch 120 of 10000`` updates in place (at most every
    ``refresh`` seconds) and is erased when the run ends; elsewhere (a log, a
    pipe) one line is written every ``every`` seconds.  A run shorter than that
    writes nothing.  ``clock`` (default :attr:`CLOCK`) and ``stream`` are for tests.
    """

    CLOCK: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, stream: Any = None, *, every: float = 10.0, refresh: float = 0.2,
                 clock: Callable[[], float] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self.interval = refresh if self.live else every
        self.clock = clock or self.CLOCK
        self.last = self.clock()
        self.shown = False

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(self, *_: Any) -> None:
        if self.live and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if now - self.last < self.interval or done == total:
            return
        self.last = now
        line = f"training: epoch {done} of {total} ({done / total:.0%})"
        self.stream.write(("\r\033[K" + line) if self.live else line + "\n")
        self.stream.flush()
        self.shown = True


def load_data(args: argparse.Namespace) -> Airfoil:
    """The airfoil data for a command (``args.data``), with download progress on stderr.

    A ``DataError`` becomes a ``CLIError``.  A file that is not byte for byte the
    published one (a local copy, edited or re-saved) is still used, with one
    warning line on stderr: its numbers will not be the notes'.
    """
    with DownloadProgress() as progress:
        try:
            data = load_airfoil(args.data, progress=progress)
        except DataError as error:
            raise CLIError(str(error)) from None
    if not data.published:
        sys.stderr.write(f"descentlab {args.command}: warning: {unpublished_warning(data)}\n")
    return data


def unpublished_warning(data: Airfoil) -> str:
    """``PATH is not the published airfoil file (SHA-1 ... instead of ...); results will differ from the notes'``."""
    return (
        f"{data.path} is not the published airfoil file (SHA-1 {data.sha1[:12]}… instead of {AIRFOIL_SHA1[:12]}…); "
        "results will differ from the notes'"
    )
