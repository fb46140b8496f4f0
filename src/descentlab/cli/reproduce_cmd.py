"""``descentlab reproduce``: the whole chapter into one report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..airfoil.data import ENV_VAR
from ..files import reason
from ..parallel import Helper, call
from ..airfoil.train import MAX_SEED
from .common import CLIError, DownloadProgress, add_lang_option, given_lang, load_data, nonnegative_int, seed_count

EXIT_VERDICT_FAILED = 1
EXIT_AIRFOIL_NOT_RUN = 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="run every experiment of the chapter and write an HTML report",
        description="Run every experiment of the notes and write DIR/index.html with figures, results.json and "
        f"results.csv. Exit code 0: no verdict failed (with fewer than 5 seeds the airfoil runs are not judged); "
        f"{EXIT_VERDICT_FAILED}: a verdict failed; "
        f"{EXIT_AIRFOIL_NOT_RUN}: the airfoil data was not available (the rest of the report is written); "
        "2: a mistake on the command line, such as a --data (or $DESCENTLAB_DATA) file that cannot be read, "
        "or a report that cannot be written (nothing is written).",
    )
    parser.add_argument("--out", default="report", metavar="DIR", help="report directory (default: report)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the airfoil file (default: $DESCENTLAB_DATA, the cache, or a download)")
    parser.add_argument("--seeds", type=seed_count, default=20, help="seeds per airfoil run (default 20)")
    parser.add_argument("--first-seed", type=nonnegative_int, default=0, help="seeds are FIRST_SEED, FIRST_SEED+1, ... (default 0)")
    parser.add_argument("--no-download", action="store_true", help="never download the airfoil data")
    parser.add_argument("--exercises", action="store_true",
                        help="add the exercises and the adaptive methods' stability maps (about 5 s more, most "
                        "of it drawing their 15 figures; `descentlab exercises` runs the exercises alone)")
    parser.add_argument("--schedules", action="store_true",
                        help="add the learning-rate schedules (factor, multi-factor, cosine, warm-up) on the notes' "
                        "momentum airfoil run over the seeds (about 2 s more)")
    add_lang_option(parser, "the report (its explorer page too)")
    parser.set_defaults(handler=run)


class ProgressBar:
    """A one-line progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, stream=sys.stderr, width: int = 28) -> None:
        self.stream, self.width = stream, width
        self.live = stream.isatty()

    def __call__(self, label: str, done: int, total: int) -> None:
        filled = round(self.width * done / total)
        bar = "#" * filled + "." * (self.width - filled)
        line = f"[{bar}] {done}/{total} {label}"
        if self.live:
            self.stream.write("\r\033[K" + line + ("\n" if done == total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


HELPER_IMPORTS = ("descentlab.chapter.report",)
"""What the helper process imports while this one does (see :mod:`descentlab.parallel`)."""


def run(args: argparse.Namespace) -> int:
    from ..chapter.files import check_destination

    out = Path(args.out)
    say = given_lang(args)
    try:
        check_destination(out)
    except ValueError as error:
        raise CLIError(f"--out {out}: {error}") from None
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    if seeds[-1] > MAX_SEED:
        raise CLIError(f"--first-seed {args.first_seed} with --seeds {args.seeds} goes past the largest seed, 2**63 - 1")
    # the helper starts importing on the other core now; nothing below waits for it at an early error
    with Helper.start(preload=HELPER_IMPORTS) as helper:
        explorer = helper.task(call, "descentlab.explore:notes_page", say)  # it does not depend on the results
        # a file the user named (--data or $DESCENTLAB_DATA) must be readable before any work, and is checked once
        data = load_data(args) if args.data is not None or os.environ.get(ENV_VAR) else None
        from ..chapter.report import reproduce_command, start_figures, verdict_counts, verdict_line, write_report
        from ..chapter.reproduce import run_chapter

        # figures handed out as soon as their records exist: the 2D ones while the airfoil runs, two airfoil ones
        # while the notes' loops are timed
        started = {}

        with DownloadProgress() as download:
            results = run_chapter(
                seeds=seeds,
                data=data,
                allow_download=not args.no_download,
                data_progress=download,
                progress=ProgressBar(),
                exercises=args.exercises,
                schedules=args.schedules,
                say=say,
                helper=helper,
                on_plane=lambda plane: started.update(start_figures("plane", plane, say, helper)),
                # the largest figure (the curves), before the 2D figures the helper has not begun
                on_trained=lambda airfoil: started.update(start_figures("trained", airfoil, say, helper, first=True)),
            )
        try:  # staged in a temporary directory: a failure leaves no partial report
            command = reproduce_command(args.out, seeds=args.seeds, first_seed=args.first_seed, language=say.code,
                                        exercises=args.exercises, schedules=args.schedules, data=args.data,
                                        no_download=args.no_download)
            index = write_report(results, out, explorer, say, helper, started, command)
        except ValueError as error:
            raise CLIError(f"--out {out}: {error}") from None
        except OSError as error:  # a full disk, ...: the staging path in the error would only confuse
            raise CLIError(f"--out {out}: cannot write the report ({reason(error)}); no report was written") from None
    counts = verdict_counts(results.verdicts())
    print(say(f"wrote {index}", f"已写入 {index}"))
    print(verdict_line(counts, say))
    if results.airfoil_error:
        sys.stderr.write(f"descentlab reproduce: airfoil section not run: {results.airfoil_error}\n")
        return EXIT_AIRFOIL_NOT_RUN
    return EXIT_VERDICT_FAILED if counts["FAIL"] else 0
