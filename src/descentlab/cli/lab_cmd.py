"""The 2D lab on the command line: ``trace``, ``compare`` and ``objectives``."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..algorithms import REGISTRY, Setting
from ..algorithms import get as get_algorithm
from ..algorithms.spec import OneOf, decay_pair, flag, format_hyperparameters
from ..files import write_with
from ..lab.objectives import OBJECTIVES, curvature, get_objective, quadratic_theory
from ..lab.trajectory import MAX_STEPS, run_many
from .common import (
    CLIError,
    add_hyperparameter_options,
    add_schedule_option,
    figure_path,
    finite_float,
    given_hyperparameters,
    given_schedule,
    positive_int,
)

if TYPE_CHECKING:
    from ..lab.objectives import Objective
    from ..lab.trajectory import Trajectory

MAX_RUNS = 100
"""Runs in one compare figure at most (each its own colour and legend entry)."""
MAX_KAPPA = 1e12
"""The largest condition number: the other eigenvalue stays far inside float64 and its step sizes printable."""


def register(subparsers: argparse._SubParsersAction) -> None:
    trace = subparsers.add_parser(
        "trace",
        help="run one optimizer on a 2D objective (the notes' experiment)",
        description="Run one optimizer on a 2D objective and print the notes' line "
        "'epoch 20, x1 ..., x2 ...'. Example: descentlab trace momentum --lr 0.4 --momentum 0.5",
    )
    trace.add_argument("algorithm", choices=list(REGISTRY), metavar="ALGORITHM", help=", ".join(REGISTRY))
    add_hyperparameter_options(trace)
    add_schedule_option(trace)
    _add_landscape_options(trace)
    trace.add_argument("--json", action="store_true", help="print the trajectory as one JSON object")
    trace.set_defaults(handler=run_trace)

    compare = subparsers.add_parser(
        "compare",
        help="several optimizers on one 2D objective, in one figure",
        description="Each RUN is NAME or NAME:key=value,key=value (betas as B1/B2, flags as true/false). "
        "Example: descentlab compare sgd:lr=0.4 momentum:lr=0.4,momentum=0.5 adagrad:lr=2 --out paths.png",
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help=f"1 to {MAX_RUNS} runs")
    _add_landscape_options(compare)
    compare.set_defaults(handler=run_compare)

    objectives = subparsers.add_parser("objectives", help="list the 2D objectives with their curvature and step-size limits")
    objectives.set_defaults(handler=run_objectives)


def _add_landscape_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("landscape")
    group.add_argument("--objective", default="notes", choices=list(OBJECTIVES), help="default: notes (0.1 x1^2 + 2 x2^2)")
    group.add_argument("--kappa", type=finite_float(1, MAX_KAPPA, "--kappa"), default=None,
                       help=f"condition number of --objective quadratic, 1 to {MAX_KAPPA:g} (default 20)")
    group.add_argument("--angle", type=finite_float(-360, 360, "--angle"), default=None,
                       help="rotation in degrees of --objective quadratic, -360 to 360 (default 0)")
    group.add_argument("--steps", type=_steps, default=20, help=f"number of steps, at most {MAX_STEPS} (default 20)")
    group.add_argument("--start", type=float, nargs=2, metavar=("X1", "X2"), default=None, help="start point (default: the objective's)")
    group.add_argument("--out", default=None, metavar="FILE", help="write the figure here (.png, .svg or .pdf)")


def _steps(value: str) -> int:
    """An argparse type: a number of steps, 1 to ``MAX_STEPS``."""
    number = positive_int(value)
    if number > MAX_STEPS:
        raise argparse.ArgumentTypeError(f"at most {MAX_STEPS} steps (every point is kept), got {number}")
    return number


def _landscape(args: argparse.Namespace) -> tuple[Objective, tuple[float, float] | None]:
    """The objective and start the options name, with ``--out`` checked: everything before the work."""
    try:
        objective = get_objective(args.objective, kappa=args.kappa, angle=args.angle)
    except ValueError as error:
        raise CLIError(str(error)) from None
    if args.start is not None and not all(math.isfinite(c) for c in args.start):
        raise CLIError(f"--start must be two finite numbers, got {args.start[0]:g} {args.start[1]:g}")
    if args.out is not None:
        figure_path(args.out)
    return objective, (tuple(args.start) if args.start is not None else None)


def _theory_lines(objective: Objective, trajectories: list[Trajectory]) -> list[str]:
    theory = quadratic_theory(objective)
    if theory is None:
        return [f"objective {objective.name}: {objective.formula}"]
    lines = [
        f"objective {objective.name}: {objective.formula}; kappa {theory.kappa:g}, "
        f"GD stable for lr < {theory.gd_max_lr:g}, best lr {theory.gd_best_lr:g}"
    ]
    for beta in sorted({t.hyperparameters.get("momentum") for t in trajectories if t.algorithm == "momentum"}):
        lines.append(f"momentum {beta:g}: stable for lr < {theory.momentum_max_lr(beta):g}")
    return lines


def _summary(objective: Objective, trajectory: Trajectory) -> str:
    if trajectory.diverged:
        return f"{trajectory.algorithm}: diverged at step {trajectory.diverged_at}"
    nearest = min(math.dist(trajectory.final, m) for m in objective.minima)
    return f"f(x) = {trajectory.values[-1]:.6g}, distance to the nearest minimum {nearest:.6g}"


def _write_figure(args: argparse.Namespace, objective: Objective, trajectories: list[Trajectory]) -> list[str]:
    """Write the ``--out`` figure (before anything is printed, so a failed write leaves stdout empty)."""
    if args.out is None:
        return []
    from ..plotting.landscape import landscape_figure  # matplotlib: only when a figure is asked for

    figure = landscape_figure(objective, trajectories)
    write_with(args.out, lambda tmp: figure.savefig(tmp, dpi=120))
    return [f"wrote {args.out}"]


def run_trace(args: argparse.Namespace) -> int:
    spec = get_algorithm(args.algorithm)
    hyperparameters = given_hyperparameters(args, spec)
    plan = given_schedule(args)
    objective, start = _landscape(args)
    try:
        (trajectory,) = run_many([(spec.name, hyperparameters)], objective, steps=args.steps, start=start, schedule=plan)
    except ValueError as error:  # an algorithm whose lr cannot be scheduled (AdaDelta with lr 0)
        raise CLIError(f"--schedule: {error}") from None
    wrote = _write_figure(args, objective, [trajectory])
    if args.json:
        lines = [json.dumps(asdict(trajectory))]
    else:
        lines = [trajectory.notes_line(), _summary(objective, trajectory), *_theory_lines(objective, [trajectory])]
    print("\n".join(lines + wrote))
    return 0


def parse_run(text: str) -> tuple[str, Setting]:
    """``momentum:lr=0.4,momentum=0.5`` -> ``("momentum", <the validated lr=0.4, momentum=0.5>)``."""
    name, _, rest = text.partition(":")
    try:
        spec = get_algorithm(name)
    except ValueError as error:
        raise CLIError(f"run {text!r}: {error}") from None
    hyperparameters: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if not eq or key not in spec.names:
            raise CLIError(f"run {text!r}: expected key=value with a key from {', '.join(spec.names)}, got {item!r}")
        hyperparameters[key] = _parse_value(spec.hyperparameter(key).check, key, value.strip(), text)
    try:
        return spec.name, spec.setting(hyperparameters)
    except (TypeError, ValueError) as error:
        raise CLIError(f"run {text!r}: {error}") from None


def _parse_value(check: Any, key: str, value: str, text: str) -> Any:
    try:
        if check is flag:
            if value.lower() not in ("true", "false"):
                raise ValueError
            return value.lower() == "true"
        if check is decay_pair:
            first, second = value.split("/")
            return (float(first), float(second))
        if isinstance(check, OneOf):
            return value
        return float(value)
    except ValueError:
        raise CLIError(f"run {text!r}: {key}={value!r} is not a valid value for {key}") from None


def run_compare(args: argparse.Namespace) -> int:
    if len(args.runs) > MAX_RUNS:
        raise CLIError(f"at most {MAX_RUNS} runs in one figure, got {len(args.runs)}")
    runs = [parse_run(text) for text in args.runs]
    objective, start = _landscape(args)
    trajectories = run_many(runs, objective, steps=args.steps, start=start)
    wrote = _write_figure(args, objective, trajectories)
    lines = [
        f"{t.algorithm}({format_hyperparameters(t.hyperparameters)}): {t.notes_line()}" for t in trajectories
    ]
    print("\n".join(lines + _theory_lines(objective, trajectories) + wrote))
    return 0


def run_objectives(args: argparse.Namespace) -> int:
    print(f"{'name':<11} {'kappa':>9} {'GD lr <':>8}  {'start':<14} formula")
    for objective in OBJECTIVES.values():
        c = curvature(objective)
        theory = quadratic_theory(objective)
        bound = f"{theory.gd_max_lr:g}" if theory else "-"
        start = f"({objective.start[0]:g}, {objective.start[1]:g})"
        print(f"{objective.name:<11} {c.condition_number:>9.4g} {bound:>8}  {start:<14} {objective.formula}")
    print("kappa: condition number of the Hessian at the (first) minimum; 'GD lr <': largest stable learning rate (quadratics)")
    return 0
