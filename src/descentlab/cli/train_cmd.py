"""``descentlab train ALGORITHM``: the notes' airfoil regression, one seed or many at once.

The first line of output is the notes' ``loss: %f, %f sec per epoch`` (with
several seeds: the mean final loss); further lines give the spread over seeds
and the gap to the least-squares optimum.  A run whose loss left the finite
numbers says so, with the step, instead (as ``trace`` does; the exit code is 0).
``--json`` prints the whole record (a non-finite loss as ``null``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..algorithms import REGISTRY
from ..algorithms.spec import format_hyperparameters
from ..files import write_with
from ..airfoil.data import TRAIN_ROWS
from ..airfoil.train import IMPLS, MAX_EPOCHS, MAX_SEED, TrainingRun, train
from ..engine.torch_names import torch_counterpart, torch_refusals
from .common import (
    CLIError,
    at_most,
    seed_number,
    EpochProgress,
    add_hyperparameter_options,
    add_schedule_option,
    figure_path,
    given_hyperparameters,
    given_schedule,
    load_data,
    option_name,
    positive_int,
    seed_count,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the notes' airfoil regression with one algorithm",
        description="Train the notes' linear regression on the airfoil data "
        "with one algorithm, for one seed or many seeds at once.",
    )
    parser.add_argument("algorithm", choices=tuple(REGISTRY), metavar="ALGORITHM", help=f"one of: {', '.join(REGISTRY)}")
    parser.add_argument(
        "--impl",
        choices=IMPLS,
        default="own",
        help="own: descentlab's rule with the notes' defaults; torch: the torch.optim class the notes used",
    )
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=seed_number(MAX_SEED), default=0, metavar="S",
                       help=f"the seed of a single run, 0 to {MAX_SEED} (default 0)")
    seeds.add_argument("--seeds", type=seed_count, metavar="N", help="run seeds 0..N-1 together; report mean, std, min, max")
    parser.add_argument("--epochs", type=positive_int, default=2,
                        help=f"passes over the data, at most {MAX_EPOCHS} (default 2); progress on stderr for long runs")
    parser.add_argument("--batch-size", type=at_most(TRAIN_ROWS, "rows per minibatch (the training rows)"), default=10,
                        help=f"minibatch size, 1 to {TRAIN_ROWS} (default 10)")
    parser.add_argument("--data", metavar="PATH", help="the airfoil file (default: $DESCENTLAB_DATA, the cache, else download)")
    parser.add_argument("--out", metavar="FILE", help="write the loss figure (.png, .svg or .pdf)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    add_hyperparameter_options(parser)
    add_schedule_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    spec = REGISTRY[args.algorithm]
    hyperparameters = _hyperparameters(args)
    plan = given_schedule(args)
    out = figure_path(args.out) if args.out else None
    seeds = range(args.seeds) if args.seeds is not None else [args.seed]
    data = load_data(args)
    try:
        with EpochProgress() as progress:
            record = train(
                spec.name,
                hyperparameters,
                data=data,
                impl=args.impl,
                seeds=seeds,
                epochs=args.epochs,
                batch_size=args.batch_size,
                progress=progress,
                schedule=plan,
            )
    except (ValueError, TypeError) as error:
        raise CLIError(_as_options(str(error))) from None
    if out is not None:
        from ..plotting.training import loss_figure  # matplotlib only when a figure is asked for

        figure = loss_figure([record])
        write_with(out, lambda tmp: figure.savefig(tmp))
    if args.json:
        print(json.dumps(record.to_dict()))
    else:
        print("\n".join(report_lines(record)))
    return 0


def report_lines(record: TrainingRun) -> list[str]:
    """The notes' line first, then the spread over seeds and the gap to the optimum."""
    if record.diverged:
        return [_divergence_line(record), f"least-squares optimum {record.optimum_loss:.6f}",
                f"optimizer: {record.optimizer}({format_hyperparameters(record.settings)})"]
    s = record.summary
    lines = ["loss: %f, %f sec per epoch" % (s.mean, record.sec_per_epoch)]
    if len(record.seeds) > 1:
        first, last = record.seeds[0], record.seeds[-1]
        lines.append(
            f"final loss over {len(record.seeds)} seeds ({first}..{last}): "
            f"mean {s.mean:.6f}, std {s.std:.6f}, min {s.min:.6f}, max {s.max:.6f}"
        )
        lines.append(f"least-squares optimum {record.optimum_loss:.6f}, gap of the mean {record.mean_gap:+.6f}")
    else:
        lines.append(f"least-squares optimum {record.optimum_loss:.6f}, gap {record.mean_gap:+.6f}")
    lines.append(f"optimizer: {record.optimizer}({format_hyperparameters(record.settings)})")
    if record.schedule is not None:
        lines.append(f"learning-rate schedule: {record.schedule}")
    return lines


def _divergence_line(record: TrainingRun) -> str:
    """``diverged: ...`` naming the first step with a non-finite loss, the last finite one and the seeds."""
    bad = [(seed, step) for seed, step in zip(record.seeds, record.diverged_at) if step is not None]
    step = min(s for _, s in bad)
    finite = max(s for s in record.evaluation_steps if s < step)
    seeds = ", ".join(str(seed) for seed, _ in bad[:5]) + (", ..." if len(bad) > 5 else "")
    who = f"seed {seeds}" if len(record.seeds) == 1 else f"{len(bad)} of {len(record.seeds)} seeds ({seeds})"
    return f"diverged: the loss is not finite at step {step} (finite at step {finite}); {who}"


def _hyperparameters(args: argparse.Namespace) -> dict[str, Any]:
    """The hyperparameter options, checked for ``args.impl``; a ``CLIError`` names the option."""
    spec = REGISTRY[args.algorithm]
    if args.impl == "own":
        return given_hyperparameters(args, spec)
    try:
        torch_counterpart(spec.name)
    except ValueError as error:
        raise CLIError(f"--impl torch: {error}") from None
    given_names = [name for name in spec.names if getattr(args, name, None) is not None]
    refusals = torch_refusals(spec.name, given_names)
    if refusals:
        name, reason = refusals[0]
        raise CLIError(f"{option_name(name)} is not available with --impl torch: {reason}")
    # ranges and required options are checked as the torch class will run: with what it always does
    return given_hyperparameters(args, spec, fixed=torch_counterpart(spec.name).fixed)


def _as_options(message: str) -> str:
    return message.replace("batch_size", "--batch-size").replace("epochs must", "--epochs must")
