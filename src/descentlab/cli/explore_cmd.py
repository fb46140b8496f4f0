"""``descentlab explore``: write the explorer, one self-contained HTML page (no network needed)."""

from __future__ import annotations

import argparse

from .common import add_lang_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="write an offline HTML page where sliders move the library's own precomputed paths",
        description="Run every registry algorithm over a grid of settings on the lab's 2D objectives and write one "
        "self-contained HTML page (works from file://, no network) that shows up to three at once: paths on the "
        "contours, f against step, effective learning rates, state, a rate map and the theory. "
        "Example: descentlab explore --out explore.html --objective notes rosenbrock",
    )
    parser.add_argument("--out", default="explore.html", metavar="FILE", help="the page (default: explore.html)")
    parser.add_argument("--objective", nargs="+", default=None, metavar="NAME",
                        help="objectives of the lab to include (default: all; see 'descentlab objectives')")
    add_lang_option(parser, "the page (the numbers are the same)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..explore import explore
    from ..files import check_writable
    from ..lab.objectives import OBJECTIVES
    from .common import check_names, given_lang

    check_names(args.objective or (), OBJECTIVES, "objective")
    check_writable(args.out)  # fail before minutes of work, not after
    say = given_lang(args, figures=False)
    page = explore(args.objective, lang=say.code)
    page.save(args.out)
    size, grids = len(page.html.encode("utf-8")) / 1e6, len(page.data.blocks)
    print(say(f"wrote {args.out} ({size:.1f} MB, {grids} grids)", f"已写入 {args.out}（{size:.1f} MB，{grids} 个网格）"))
    return 0
