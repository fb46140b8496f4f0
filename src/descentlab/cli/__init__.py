"""The command line: ``descentlab SUBCOMMAND ...``; parsing only, the work is in the library.

Each subcommand lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``handler(args) -> int``.  User mistakes raise
:class:`~descentlab.cli.common.CLIError`, files that cannot be written
:class:`~descentlab.files.WriteError`; ``main`` turns them (and any other
``OSError``) into one line on stderr and exit code 2, so no command needs a
try/except of its own.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import os
import sys
import types
from collections.abc import Sequence
from typing import Any


class _Deferred(types.ModuleType):
    """Stands in for a module until one of its attributes is used, then loads it and becomes its copy.

    ``import torch`` binds this stand-in; the first ``torch.anything`` imports the
    real module (which takes its own place in ``sys.modules``) and copies its
    namespace here, so later lookups are plain attribute reads.  Names the real
    module gains afterwards (submodules imported later) are forwarded.
    The standard library's ``LazyLoader`` cannot do this on Python 3.11: the
    import statement itself reads the module's ``__spec__``, which loads it.
    """

    def __getattr__(self, attr: str) -> Any:
        real = sys.modules.get(self.__name__)
        if real is self or real is None:
            del sys.modules[self.__name__]
            real = importlib.import_module(self.__name__)
            self.__dict__.update({k: v for k, v in vars(real).items() if k not in ("__spec__", "__loader__")})
        return getattr(real, attr)


def _import_lazily(*names: str) -> None:
    """Make ``import NAME`` cheap until the module is used (see :class:`_Deferred`).

    ``descentlab --help`` and every subcommand's ``--help`` then never load torch,
    NumPy or matplotlib (about 2 s together); a command that computes loads them
    on its first use.  A module that is imported already stays as it is.
    """
    for name in names:
        if name not in sys.modules and importlib.util.find_spec(name) is not None:
            stand_in = _Deferred(name)
            stand_in.__spec__ = importlib.util.find_spec(name)
            sys.modules[name] = stand_in


_import_lazily("torch", "numpy", "matplotlib")
# every command draws on matplotlib Figures and writes files, never a window: the file backend is set here, so
# that an invalid MPLBACKEND (matplotlib refuses it on import) or a GUI one cannot fail a command
os.environ["MPLBACKEND"] = "agg"

from .. import __version__  # noqa: E402 - after the lazy imports above, as every import below
from .. import guard as _guard  # noqa: E402
from ..files import WriteError, reason  # noqa: E402
from . import algorithms_cmd, lab_cmd  # noqa: E402
from . import bench_cmd, reproduce_cmd, train_cmd  # noqa: E402
from . import diff_cmd, exercises_cmd, explore_cmd  # noqa: E402
from . import benchmark_cmd  # noqa: E402
from . import notebooks_cmd  # noqa: E402
from . import run_notes_cmd  # noqa: E402
from .common import CLIError, Parser  # noqa: E402

SUBCOMMANDS = (
    algorithms_cmd, lab_cmd, train_cmd, bench_cmd, reproduce_cmd, exercises_cmd, explore_cmd, benchmark_cmd, diff_cmd,
    notebooks_cmd, run_notes_cmd,
)


def build_parser() -> Parser:
    parser = Parser(prog="descentlab", description="Gradient-descent optimizers, from scratch and measured.")
    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 2 a user mistake or a file that cannot be written).

    Every failure a user can cause or meet ends here as one line on stderr:
    :class:`CLIError` (a mistake on the command line), :class:`WriteError` (a
    file descentlab writes: full disk, no such directory, ``/proc``, ...) and any
    other ``OSError`` (standard output on a full disk, ...).  Output is flushed
    inside, so a failing standard output is reported here, not at exit.
    """
    parser = build_parser()
    args = None
    try:
        args = parser.parse_args(argv)
        code = int(args.handler(args))
        sys.stdout.flush()
        return code
    except (CLIError, WriteError) as error:
        return _fail(args, str(error))
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else 2
    except BrokenPipeError:  # e.g. `descentlab algorithms | head`
        _discard_stdout()
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("descentlab: interrupted\n")
        return 130
    except OSError as error:  # not a file of ours (those are WriteErrors): standard output on a full disk, ...
        _discard_stdout()  # a failed command leaves no partial output, and the flush at exit cannot fail again
        where = f"{error.filename}: " if error.filename else ""
        return _fail(args, f"{where}{reason(error)}")


def script() -> None:
    """The ``descentlab`` command: :func:`main`'s exit code, and a quick exit.

    At exit Python collects every object a last time; after torch (and Dynamo) are
    imported that pass alone took 0.7-1.2 s here, on every command.  ``gc.freeze()``
    leaves the objects that exist now out of it (nothing is left half-done: every
    file is written and closed, and exit handlers still run).  Only the command
    does this; :func:`main` called in a long-lived process (the tests) does not.
    The signal handlers and forgiving streams of :mod:`descentlab.guard` are set
    up (if importing the package has not done it already).
    """
    _guard.install()
    code = main()
    gc.freeze()
    sys.exit(code)


def _fail(args: argparse.Namespace | None, message: str) -> int:
    command = getattr(args, "command", "") or ""
    sys.stderr.write(f"descentlab {command}: error: {message}\n".replace("  ", " "))
    return 2


def _discard_stdout() -> None:
    """Send what is still buffered for standard output nowhere, so the flush at exit cannot fail again."""
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the recipe of Python's documentation (signal module, SIGPIPE)
            os.close(devnull)
            return
        except (OSError, ValueError):
            pass
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - a replaced stream (tests): silence it
