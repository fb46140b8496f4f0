"""``descentlab benchmark``: a fair optimizer comparison under one declared protocol, written as a report."""

from __future__ import annotations

import argparse
import sys

from .common import CLIError, at_most, check_names, load_data, seed_number

QUICK_PROBLEMS = ("breast_cancer", "wine", "rosenbrock")
QUICK_WITHOUT_SKLEARN = ("quadratic_deep", "rosenbrock", "beale")  # --quick on a base install: no optional package
DEFAULT_TRIALS, DEFAULT_SEEDS = 32, 10
MAX_SEED = 2**32 - 1  # 1000 * seed + 1000 stays within torch's seeds, and Sobol's scrambling takes it
MAX_TRIALS, MAX_SEEDS = 1000, 1000  # every trial and seed of a study is one member of one batched computation
QUICK_TRIALS, QUICK_SEEDS = 6, 3


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "benchmark",
        help="compare optimizers fairly: every hyperparameter tuned under one budget, fresh seeds, performance profiles",
        description="For every problem and optimizer: the same budget; N scrambled-Sobol trials over all searched "
        "hyperparameters (lr, eps and 1-beta on log scales); the best by validation loss re-run on fresh seeds. "
        "Writes DIR/index.html (a table per problem, learning curves, lr sensitivity, AlgoPerf's performance "
        "profile), results.json and trials.csv, and prints the tables. The default suite takes a few minutes on "
        "2 cores; --quick takes seconds. Registry optimizers run batched (all trials x seeds at once); a "
        "torch.optim class given by import path runs one trial at a time, with a search space from --space "
        "(JSON or TOML: {\"torch.optim.NAdam\": {\"search\": {\"lr\": {\"low\": 1e-5, \"high\": 3, \"scale\": "
        "\"log\"}, \"betas[0]\": {...}}, \"fixed\": {...}}}; scales log, log1m (1-x on a log scale), linear) or "
        "the bundled spaces of common torch.optim classes.",
    )
    parser.add_argument("--quick", action="store_true",
                        help=f"a first look in seconds: {', '.join(QUICK_PROBLEMS)}, a quarter of the steps, "
                        f"{QUICK_TRIALS} trials, {QUICK_SEEDS} seeds")
    parser.add_argument("--problems", nargs="+", default=None, metavar="NAME", help="problems to run (default: all)")
    parser.add_argument("--optimizer", nargs="+", default=None, metavar="NAME",
                        help="registry names and/or import paths such as torch.optim.NAdam (default: the registry)")
    parser.add_argument("--space", default=None, metavar="FILE", help="search spaces (JSON or TOML) for --optimizer")
    parser.add_argument("--trials", type=at_most(MAX_TRIALS, "trials"), default=None,
                        help=f"trials per optimizer and problem, 1 to {MAX_TRIALS} (default {DEFAULT_TRIALS}; "
                        f"--quick {QUICK_TRIALS})")
    parser.add_argument("--seeds", type=at_most(MAX_SEEDS, "seeds"), default=None,
                        help=f"fresh seeds for the best setting, 1 to {MAX_SEEDS} (default {DEFAULT_SEEDS}; "
                        f"--quick {QUICK_SEEDS})")
    parser.add_argument("--seed", type=seed_number(MAX_SEED), default=0,
                        help=f"the protocol's seed, 0 to {MAX_SEED} (default 0)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this process; ray: Ray tasks (optional extra descentlab[ray])")
    parser.add_argument("--address", default=None, metavar="ADDR",
                        help="Ray cluster address for --engine ray (default: start a local Ray)")
    parser.add_argument("--out", default="benchmark-report", metavar="DIR", help="report directory (default: benchmark-report)")
    parser.add_argument("--data", default=None, metavar="PATH", help="the airfoil file (default: $DESCENTLAB_DATA, the cache, or a download)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..algorithms import REGISTRY
    from ..files import reason
    from ..benchmark.engine import EngineError, LocalEngine, RayEngine, cached_problem
    from ..benchmark.problems import BUILDERS, DEFAULT_BUDGETS, ProblemError, missing_package, quick
    from ..benchmark.protocol import Protocol, run_benchmark
    from ..benchmark.report import check_destination, table_lines, write_benchmark
    from ..benchmark.spaces import SpaceError, resolve

    if args.address is not None and args.engine != "ray":
        raise CLIError("--address is for --engine ray")
    names = args.problems or (QUICK_PROBLEMS if args.quick else tuple(BUILDERS))
    check_names(names, BUILDERS, "problem")
    names = tuple(dict.fromkeys(names))
    skipped = [name for name in names if missing_package(name)]
    if skipped and args.problems is not None:
        raise CLIError(f"problem {skipped[0]!r} needs scikit-learn: pip install 'descentlab[benchmark]'")
    if skipped:  # the default sets: leave out what needs an optional package this install lacks
        names = QUICK_WITHOUT_SKLEARN if args.quick else tuple(name for name in names if name not in skipped)
        print(f"note: skipped {', '.join(skipped)}: they need scikit-learn (pip install 'descentlab[benchmark]')",
              file=sys.stderr)
    try:
        optimizers = [resolve(name, args.space) for name in dict.fromkeys(args.optimizer or REGISTRY)]
    except SpaceError as error:
        raise CLIError(str(error)) from None
    protocol = Protocol(trials=args.trials or (QUICK_TRIALS if args.quick else DEFAULT_TRIALS),
                        seeds=args.seeds or (QUICK_SEEDS if args.quick else DEFAULT_SEEDS), seed=args.seed)
    out = Path(args.out)
    try:
        check_destination(out)
    except ValueError as error:
        raise CLIError(f"--out {args.out}: {error}") from None
    # a --data the user named is checked even when no airfoil problem runs: a mistake is refused, never ignored
    data = str(load_data(args).path) if "airfoil" in names or args.data is not None else None
    problems = []
    for name in names:
        budget = quick(DEFAULT_BUDGETS[name]) if args.quick else DEFAULT_BUDGETS[name]
        try:
            problems.append((cached_problem(name, budget, data), budget, data))
        except ProblemError as error:
            raise CLIError(str(error)) from None
    try:
        engine = RayEngine(args.address) if args.engine == "ray" else LocalEngine()
    except EngineError as error:
        raise CLIError(str(error)) from None
    try:
        bm = run_benchmark(problems, optimizers, protocol, engine)
    except (TypeError, ValueError) as error:  # a fixed argument that a torch.optim class refuses
        raise CLIError(f"an optimizer refused its settings: {str(error).splitlines()[0]}") from None
    try:
        index = write_benchmark(bm, out)
    except OSError as error:  # a full disk, ...: the staging path in the error would only confuse
        raise CLIError(f"--out {out}: cannot write the report ({reason(error)}); no report was written") from None
    print("\n".join(table_lines(bm)))
    print(f"\n{len(bm.studies)} studies in {bm.seconds:.1f} s ({bm.engine} engine); wrote {index}")
    sys.stdout.flush()
    return 0
