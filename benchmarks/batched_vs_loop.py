"""Batched registry runs against the same runs one by one with the torch.optim loop (a measurement, not a test).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/batched_vs_loop.py [--problem breast_cancer] [--runs 160]

Adam with eps=1e-8 (torch.optim.Adam's convention) on one problem of the default
suite: RUNS settings from the benchmark's search space × one seed each, as one
batched computation, then each with torch.optim.Adam in the usual loop.  Prints
both wall times (best of --repeat), the ratio, and the largest difference of the
validation curves.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from descentlab.benchmark.engine import cached_problem, run_batched, run_loop
from descentlab.benchmark.problems import DEFAULT_BUDGETS
from descentlab.benchmark.spaces import resolve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", default="breast_cancer")
    parser.add_argument("--runs", type=int, default=160)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print one JSON record instead of the lines")
    args = parser.parse_args()
    problem = cached_problem(args.problem, DEFAULT_BUDGETS[args.problem], None)
    settings = [{**hp, "eps": 1e-8} for hp in resolve("adam").space.sample(args.runs, 0)]
    for hp in settings:
        hp.pop("amsgrad", None)
    seeds = [i % 10 for i in range(args.runs)]
    run_batched(problem, "adam", settings[:2], seeds[:2])  # warm-up
    batched_s = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        batch = run_batched(problem, "adam", settings, seeds)
        batched_s.append(time.perf_counter() - t)
    t = time.perf_counter()
    loops = [run_loop(problem, lambda ps, hp=hp: torch.optim.Adam(ps, **hp), hp, seed) for hp, seed in zip(settings, seeds)]
    loop_s = time.perf_counter() - t
    diff = max(abs(a - b) / max(abs(b), 1e-300) for x, y in zip(batch, loops) for a, b in zip(x.curve, y.curve)
               if a == a and b == b)
    same_nan = all((a != a) == (b != b) for x, y in zip(batch, loops) for a, b in zip(x.curve, y.curve))
    if args.json:
        print(json.dumps({"problem": args.problem, "runs": args.runs, "steps": problem.steps,
                          "batch_size": problem.batch_size, "torch_version": torch.__version__,
                          "torch_threads": torch.get_num_threads(), "batched_s": min(batched_s), "loop_s": loop_s,
                          "largest_relative_curve_difference": diff, "same_diverged_runs": same_nan}))
        return
    print(f"{args.problem}: {args.runs} Adam runs of {problem.steps} steps (batch {problem.batch_size}), "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    print(f"  batched (registry rule on (B, ...) tensors): {min(batched_s):.3f} s")
    print(f"  one by one, torch.optim.Adam loop:           {loop_s:.3f} s")
    print(f"  speed-up {loop_s / min(batched_s):.0f}x; largest relative curve difference {diff:.1e}; "
          f"same diverged runs: {same_nan}")


if __name__ == "__main__":
    main()
