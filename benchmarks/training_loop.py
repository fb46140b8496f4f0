"""The optimizer step inside a real training loop: zero_grad, forward, backward, step (a measurement, not a test).

    .venv/bin/python benchmarks/training_loop.py [--algorithms Adam SGD] [--rounds 25] [--small] [--json]

``bench steps`` times steps back to back; a training loop runs the step right
after backward, while torch's OpenMP workers still wait spinning for more work.
A step that starts threads of its own beside them shares the cores with them
(the kernels once did, and stepped at about half speed here).  This times the
step where users run it: an MLP of 1024-4096-4096-10 (21M parameters), batch
64, for each algorithm torch.optim's fused and default step and ours
(``descentlab.torch_optim``), the three models taking turns within each round.
Prints the median step and the median whole iteration (ms), and the step's
ratio against torch's fused step.

``--small``: where a step's own work is small and its Python overhead shows: an
MLP of 64-128-10 (9.6k parameters), batch 32, whose learning rate ``LambdaLR``
sets after every step (``lr = 1e-4 / (1 + epoch)``, a new float each time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from descentlab import torch_optim

PATHS = ("torch fused", "torch default", "ours")


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(1024, 4096), torch.nn.ReLU(), torch.nn.Linear(4096, 4096),
                               torch.nn.ReLU(), torch.nn.Linear(4096, 10))


def _small_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


MODELS = {"large": (_model, 64, "An MLP 1024-4096-4096-10 (21M parameters), batch 64"),
          "small": (_small_model, 32, "An MLP 64-128-10 (9.6k parameters), batch 32, its lr set by LambdaLR after "
                                      "every step")}


def _optimizer(path: str, algorithm: str, params) -> torch.optim.Optimizer:
    if path == "ours":
        return getattr(torch_optim, algorithm)(params, lr=1e-4)
    return getattr(torch.optim, algorithm)(params, lr=1e-4, fused=path == "torch fused" or None)


def measure(algorithm: str, rounds: int, warm_up: int = 3, model=_model, batch: int = 64,
            scheduled: bool = False) -> dict[str, dict[str, float]]:
    """Median step and iteration seconds of each path of :data:`PATHS`, taking turns for ``rounds`` rounds
    (``scheduled``: ``LambdaLR`` sets a new lr after every step, outside the timed step)."""
    first = model()
    inputs = torch.randn(batch, first[0].in_features)
    labels = torch.randint(0, first[-1].out_features, (batch,))
    runs = {}
    for path in PATHS:
        m = model()
        opt = _optimizer(path, algorithm, m.parameters())
        schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 1 / (1 + epoch)) if scheduled else None
        runs[path] = (m, opt, schedule)
    steps: dict[str, list[float]] = {path: [] for path in PATHS}
    iterations: dict[str, list[float]] = {path: [] for path in PATHS}
    for r in range(warm_up + rounds):
        for path, (m, opt, schedule) in runs.items():
            start = time.perf_counter()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(inputs), labels).backward()
            stepping = time.perf_counter()
            opt.step()
            end = time.perf_counter()
            if r >= warm_up:
                steps[path].append(end - stepping)
                iterations[path].append(end - start)
            if schedule is not None:
                schedule.step()
    return {path: {"step_s": statistics.median(steps[path]), "iteration_s": statistics.median(iterations[path])}
            for path in PATHS}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--algorithms", nargs="+", default=["Adam", "SGD", "Adagrad"],
                        help="torch.optim class names that have fused=True")
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--small", action="store_true", help="a small MLP whose lr LambdaLR sets after every step")
    parser.add_argument("--json", action="store_true", help="print one JSON record instead of the table")
    args = parser.parse_args(argv)
    model, batch, described = MODELS["small" if args.small else "large"]
    record = {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads(), "model": described,
              "results": {name: measure(name, args.rounds, model=model, batch=batch, scheduled=args.small)
                          for name in args.algorithms}}
    if args.json:
        print(json.dumps(record))
        return
    print(f"{described}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"medians of {args.rounds} rounds (ms)")
    for name, paths in record["results"].items():
        fused = paths["torch fused"]["step_s"]
        for path, times in paths.items():
            print(f"  {name:8s} {path:13s} step {times['step_s'] * 1e3:7.2f}  iteration {times['iteration_s'] * 1e3:7.2f}"
                  f"  step against torch fused {fused / times['step_s']:.2f}x")


if __name__ == "__main__":
    main()
