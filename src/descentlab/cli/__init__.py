"""The command line: ``descentlab SUBCOMMAND ...``; parsing only, the work is in the library.

Each subcommand lives in its own module with ``register(subparsers)``, which adds
its parser and sets ``handler(args) -> int``.  User mistakes raise
:class:`~descentlab.cli.common.CLIError`; ``main`` turns them into one line on
stderr and exit code 2.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from .. import __version__
from . import algorithms_cmd, lab_cmd
from . import bench_cmd, reproduce_cmd, train_cmd
from .common import CLIError, Parser

SUBCOMMANDS = (algorithms_cmd, lab_cmd, train_cmd, bench_cmd, reproduce_cmd)


def build_parser() -> Parser:
    parser = Parser(prog="descentlab", description="Gradient-descent optimizers, from scratch and measured.")
    parser.add_argument("--version", action="version", version=f"descentlab {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    subparsers.required = True
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 2 a user mistake)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.handler(args))
    except CLIError as error:
        sys.stderr.write(f"descentlab {getattr(args, 'command', '')}: error: {error}\n".replace("  ", " "))
        return 2
    except SystemExit as exit_:
        return int(exit_.code or 0) if isinstance(exit_.code, int) else 2
    except BrokenPipeError:  # e.g. `descentlab algorithms | head`
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except KeyboardInterrupt:
        sys.stderr.write("descentlab: interrupted\n")
        return 130
