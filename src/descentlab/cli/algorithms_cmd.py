"""``descentlab algorithms``: the registry, with every hyperparameter and its default."""

from __future__ import annotations

import argparse

from ..algorithms import REGISTRY
from .common import option_name


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("algorithms", help="list the algorithms and their hyperparameters")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    for spec in REGISTRY.values():
        print(f"{spec.name:<9} {spec.title}")
        for h in spec.hyperparameters:
            default = "required" if h.required else f"default {h.default!r}"
            print(f"    {option_name(h.name):<28} {default:<22} {h.doc}")
    return 0
