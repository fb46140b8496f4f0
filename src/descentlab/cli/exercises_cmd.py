"""``descentlab exercises [N]``: the d2l sections' exercises answered by experiment, each with its conclusion."""

from __future__ import annotations

import argparse
import os

from .common import add_lang_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "exercises",
        help="answer the exercises of the momentum ... Adam sections by experiment",
        description="Run the experimental exercises of d2l's momentum, AdaGrad, RMSProp, AdaDelta and Adam sections "
        "and print each one's numbers-derived conclusion; the proof-only ones are listed with a sketch. "
        "N picks one: its number in the list (1, 2, ...) or its key (adam-4).",
    )
    parser.add_argument("exercise", nargs="?", default=None, metavar="N",
                        help="one exercise: its position among the experimental ones, or its key such as adam-4")
    parser.add_argument("--data", default=None, metavar="PATH",
                        help="the airfoil file for momentum-4 (default: $DESCENTLAB_DATA; without either, that "
                        "exercise is left out)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="with N: write its figure (.svg, .png or .pdf)")
    add_lang_option(parser, "the conclusions and the figure")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from ..airfoil.data import ENV_VAR
    from ..chapter.exercise_words import conclusion, title
    from ..chapter.exercises import experiments, run_exercises
    from ..files import check_writable, write_with
    from .common import CLIError, given_lang, load_data

    say = given_lang(args, figures=args.out is not None)  # a Chinese figure needs a CJK font: found before the run
    keys = [key for key, _ in experiments(data=None)]
    keys.insert(2, "momentum-4")  # the airfoil exercise's place, with or without data
    only = None
    if args.exercise is not None:
        chosen = args.exercise
        if chosen.isdigit() and 1 <= int(chosen) <= len(keys):
            chosen = keys[int(chosen) - 1]
        if chosen not in keys:
            raise CLIError(f"unknown exercise {args.exercise!r}; choose 1..{len(keys)} or one of: {', '.join(keys)}")
        only = [chosen]
    if args.out is not None:
        if only is None:
            raise CLIError("--out needs one exercise N: one figure per file")
        if os.path.splitext(args.out)[1].lower() not in (".svg", ".png", ".pdf"):
            raise CLIError(f"--out: use a file name ending in .svg, .png or .pdf, got {args.out}")
        check_writable(args.out)
    wants_data = only is None or only == ["momentum-4"]
    data = None
    if args.data is not None or (wants_data and os.environ.get(ENV_VAR)):  # a named --data is always checked
        data = load_data(args)
    if only == ["momentum-4"] and data is None:
        raise CLIError("momentum-4 trains on the airfoil data: give --data PATH or set $" + ENV_VAR)
    answered = run_exercises(data, only)
    if args.out is not None:  # written before anything is printed: a failed write leaves stdout empty
        from ..chapter.report import exercise_figure
        from ..plotting.fonts import figure_fonts

        with figure_fonts(say):  # Chinese labels are drawn with a CJK font
            figure = exercise_figure(answered[0], say)
            write_with(args.out, lambda tmp: figure.savefig(tmp, format=os.path.splitext(args.out)[1][1:].lower()))
    for exercise in answered:
        print(f"{title(exercise, say)}\n  {conclusion(exercise, say)}")
    if args.out is not None:
        print(say(f"wrote {args.out}", f"已写入 {args.out}"))
    if only is None and data is None:
        sys.stderr.write(say("descentlab exercises: momentum-4 left out (it needs the airfoil data: --data PATH)\n",
                             "descentlab exercises：未运行 momentum-4（它需要 airfoil 数据：--data PATH）\n"))
    return 0
