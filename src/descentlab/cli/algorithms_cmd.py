"""``descentlab algorithms``: the registry, with every hyperparameter and its default.

``--conventions NAME`` prints, per algorithm, the hyperparameters of that
library's preset (or why there is none).
"""

from __future__ import annotations

import argparse

from ..algorithms import REGISTRY
from ..algorithms.conventions import CONVENTIONS, preset
from .common import option_name


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("algorithms", help="list the algorithms and their hyperparameters")
    parser.add_argument("--conventions", choices=CONVENTIONS, default=None,
                        help="show each algorithm's hyperparameters under this library's defaults")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.conventions is not None:
        return _print_conventions(args.conventions)
    for spec in REGISTRY.values():
        print(f"{spec.name:<9} {spec.title}")
        for h in spec.hyperparameters:
            default = "required" if h.required else f"default {h.default!r}"
            print(f"    {option_name(h.name):<28} {default:<22} {h.doc}")
    return 0


def _print_conventions(convention: str) -> int:
    print(f"conventions {convention}: each algorithm's hyperparameters (the rest keep descentlab's defaults)")
    for spec in REGISTRY.values():
        try:
            values = preset(convention, spec.name)
        except ValueError as error:
            print(f"{spec.name:<9} not available: {str(error).split(': ', 1)[1]}")
            continue
        shown = ", ".join(f"{name}={value!r}" for name, value in values.items()) or "(descentlab's defaults)"
        print(f"{spec.name:<9} {shown}")
    return 0
