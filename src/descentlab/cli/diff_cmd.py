"""``descentlab diff A B``: run two optimizers in lockstep and report where and why they part."""

from __future__ import annotations

import argparse

from .common import at_most, nonnegative_float

MAX_STEPS = 100_000  # descentlab.diff.MAX_STEPS (not imported here: building the parser does not import torch)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "diff",
        help="run two optimizers in lockstep on identical parameters and gradients; report the first difference",
        description="A and B are NAME[:key=value,...]: a registry name (adam:conventions=keras) or a "
        "torch.optim.Optimizer import path (torch.optim.RMSprop:alpha=0.9). Exit 0 if equal to --rtol, 1 if not. "
        "Both errors are measured per tensor against its scale, the largest |b| it has held so far: 'max rel' is "
        "max|a-b| / scale and 'max ulp' is max|a-b| in units of the float64 spacing at the scale, so an entry near "
        "zero (a bias that stays near 0, a decaying average) does not count millions of ULPs. "
        "Example: descentlab diff adam:conventions=keras torch.optim.Adam --steps 20",
    )
    parser.add_argument("a", metavar="A")
    parser.add_argument("b", metavar="B")
    parser.add_argument("--steps", type=at_most(MAX_STEPS, "steps"), default=20,
                        help=f"steps to run, 1 to {MAX_STEPS} (default: 20)")
    parser.add_argument("--problem", choices=("quadratic", "airfoil", "random"), default="quadratic",
                        help="where the gradients come from: quadratic (diag(0.5..4) x), airfoil (the notes' linear "
                        "regression, minibatches of 10) or random (seeded normal) (default: quadratic)")
    parser.add_argument("--data", metavar="PATH",
                        help="the airfoil file for --problem airfoil (default: $DESCENTLAB_DATA, the cache, else download)")
    parser.add_argument("--rtol", type=nonnegative_float, default=1e-12,
                        help="tolerance of max|a-b| / scale per tensor, a finite number >= 0 (see above; default: 1e-12)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json

    from ..diff import diff, parse
    from .common import CLIError, load_data

    if args.data is not None and args.problem != "airfoil":
        raise CLIError("--data is only used with --problem airfoil")
    try:
        parse(args.a), parse(args.b)  # (a bad name is refused before any data is read or downloaded)
        data = load_data(args) if args.problem == "airfoil" else None
        result = diff(args.a, args.b, steps=args.steps, problem=args.problem, rtol=args.rtol, data=data)
    except ValueError as error:
        raise CLIError(str(error)) from None
    if args.json:
        print(json.dumps(result.as_dict(), indent=1))
        return 0 if result.equal else 1
    if result.equal:
        print(f"equal: {args.a} and {args.b} agree to {args.rtol:g} over {result.steps} steps ({result.problem})")
    else:
        print(f"different: first at step {result.first_step} ({result.problem})")
        if result.explanation:
            print(f"explanation: {result.explanation}")
    print(f"{'tensor':<18} {'max rel':>10} {'max ulp':>10} first step")
    for t in result.tensors:
        print(f"{t.name:<18} {t.max_rel:>10.3g} {t.max_ulp:>10.3g} {t.first_step if t.first_step else '-'}")
    return 0 if result.equal else 1
