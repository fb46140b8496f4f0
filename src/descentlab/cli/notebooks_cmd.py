"""``descentlab notebooks --out DIR``: the chapter as Jupyter notebooks, one per section, executed."""

from __future__ import annotations

import argparse

from .common import add_lang_option


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "notebooks",
        help="write the chapter as executed Jupyter notebooks, one per section",
        description="Write the chapter as Jupyter notebooks (momentum, AdaGrad, RMSProp, AdaDelta, Adam and Yogi, "
        "schedules), each run top to bottom in a fresh kernel so the outputs are in the files, each ending with the "
        "section's exercises. The airfoil cells use the file found as for the other commands (--data, "
        "$DESCENTLAB_DATA, the cache, else a download); without it the notebooks say so in place of those cells. "
        "Needs the jupyter extra: pip install 'descentlab[jupyter]'. Example: descentlab notebooks --out notebooks",
    )
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="the directory to write (new, empty, or one written by this command before)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the airfoil file (default: as for train)")
    parser.add_argument("--section", nargs="+", default=None, metavar="NAME",
                        help="only these sections (momentum adagrad rmsprop adadelta adam schedules)")
    parser.add_argument("--no-execute", action="store_true", help="write the notebooks without running them")
    add_lang_option(parser, "the notebooks' text and figures")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from ..airfoil.data import DataError, load_airfoil
    from ..files import check_directory
    from ..notebooks import MissingJupyter, check_installed, names, write_notebooks
    from ..notebooks.content import ORDER, Data
    from .common import CLIError, DownloadProgress, check_names, given_lang

    check_names(args.section or (), ORDER, "section")
    try:
        check_installed()
    except MissingJupyter as error:
        raise CLIError(str(error)) from None
    say = given_lang(args, figures=not args.no_execute)
    try:
        check_directory(Path(args.out), set(names()) | {".ipynb_checkpoints"})
    except ValueError as error:
        raise CLIError(str(error)) from None
    try:
        with DownloadProgress() as progress:
            data = Data(str(Path(load_airfoil(args.data, progress=progress).path).resolve()))  # read: a bad file fails here
    except DataError as error:
        if args.data is not None:  # a file the user named must be right
            raise CLIError(str(error)) from None
        data = Data(None, str(error))
        sys.stderr.write(say(f"descentlab notebooks: no airfoil data ({error}); the notebooks say so in place of "
                             "the airfoil cells\n",
                             f"descentlab notebooks：没有翼型噪声数据（{error}）；笔记本中以说明代替相关单元格\n"))

    def done(name: str) -> None:
        if args.no_execute:
            print(say(f"wrote {name}", f"已写入 {name}"), flush=True)
        else:
            print(say(f"ran and wrote {name}", f"已运行并写入 {name}"), flush=True)

    from nbclient.exceptions import CellExecutionError

    try:
        written = write_notebooks(args.out, say, data, sections=args.section or ORDER, run=not args.no_execute,
                                  progress=done)
    except CellExecutionError as error:  # names the cell and its error; the previous directory is left as it was
        last = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise CLIError(say(f"a notebook cell failed: {last}", f"笔记本的一个单元格出错：{last}")) from None
    print(say(f"wrote {len(written)} notebooks to {args.out}", f"已把 {len(written)} 个笔记本写入 {args.out}"))
    return 0
