"""The airfoil verdict's error rates, measured: whole-table false alarm and power against wrong conventions.

    .venv/bin/python benchmarks/verdict_rule.py --json     # one JSON line on stdout (benchmarks/measured.py verdict)

"The notes' value" is one more draw of a procedure, so the simulation draws it:
for each of the notes' twelve airfoil runs it trains a pool of seeds as one
batch, then in every trial takes ``n`` distinct seeds of each pool as "ours" and
another as "the notes'", applies the rule of :mod:`descentlab.chapter.rule` to
all twelve rows and counts the trials in which some row says "differ" (the false
alarm of the whole table).  For a wrong convention our ``n`` seeds come from the
wrong procedure and the notes' value from the right one; the share of trials in
which that row says "differ" is the power.  Everything is seeded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from descentlab.airfoil import load_airfoil, train
from descentlab.chapter.rule import FAMILY_LEVEL, LEVEL, NOMINAL_FAMILY_LEVEL, ROWS, student_t_multiplier
from descentlab.notes.reference import NOTES_AIRFOIL

WRONG = {  # name: (the notes' convention, a wrong one) -- tests/test_verdict_rule.py's cases
    "adadelta-with-torch-eps": (("adadelta", {"rho": 0.9}), ("adadelta", {"rho": 0.9, "eps": 1e-6})),
    "ema-momentum-without-1/(1-beta)": (("momentum", {"lr": 0.004, "momentum": 0.9}),
                                        ("momentum", {"lr": 0.0004, "momentum": 0.9})),
    "adam-lr-divided-by-10": (("adam", {"lr": 0.01}), ("adam", {"lr": 0.001})),
    "adam-lr-doubled (one draw cannot tell)": (("adam", {"lr": 0.01}), ("adam", {"lr": 0.02})),
}


def distinct_draws(rng: np.random.Generator, pool: int, trials: int, k: int) -> np.ndarray:
    """``trials`` rows of ``k`` distinct indices below ``pool`` (redrawn until no row repeats one)."""
    index = rng.integers(0, pool, (trials, k))
    while True:
        ordered = np.sort(index, axis=1)
        bad = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not bad.any():
            return index
        index[bad] = rng.integers(0, pool, (int(bad.sum()), k))


def passes(ours: np.ndarray, theirs: np.ndarray, level: float) -> np.ndarray:
    """The rule per trial: ``ours`` (trials, n) and ``theirs`` (trials,) on the cube-root scale."""
    n = ours.shape[1]
    center = ours.mean(axis=1)
    spread = ours.std(axis=1, ddof=1)
    half = student_t_multiplier(level, n - 1) * spread * math.sqrt(1 + 1 / n)
    return np.abs(theirs - center) <= half


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=int, default=4000, help="seeds trained per run (default 4000)")
    parser.add_argument("--trials", type=int, default=40000, help="trials per seed count (default 40000)")
    parser.add_argument("--power-trials", type=int, default=10000, help="trials per wrong convention and seed count")
    parser.add_argument("--seed-counts", type=int, nargs="+", default=[5, 10, 20, 50, 100])
    parser.add_argument("--data", default=os.environ.get("DESCENTLAB_DATA"))
    parser.add_argument("--json", action="store_true", help="print one JSON line (else a short table)")
    args = parser.parse_args()
    started = time.perf_counter()
    data = load_airfoil(args.data)
    optimum = data.optimum_loss
    cube = lambda losses: np.cbrt(np.asarray(losses, dtype=np.float64) - optimum)  # noqa: E731
    pools = [cube(train(r.algorithm, r.hyperparameters, data=data, impl=r.impl, seeds=range(args.pool)).final_loss)
             for r in NOTES_AIRFOIL]
    rng = np.random.default_rng(20261207)
    rows = []
    for n in args.seed_counts:
        family = np.ones(args.trials, dtype=bool)
        old = np.ones(args.trials, dtype=bool)  # the former rule: 99% per row
        per_row = []
        for z in pools:
            draws = distinct_draws(rng, len(z), args.trials, n + 1)
            ours, theirs = z[draws[:, :n]], z[draws[:, n]]
            ok = passes(ours, theirs, LEVEL)
            family &= ok
            old &= passes(ours, theirs, 0.99)
            per_row.append(float(ok.mean()))
        rows.append({"seeds": n, "trials": args.trials, "all_agree": float(family.mean()),
                     "false_alarm": float(1 - family.mean()), "old_rule_false_alarm": float(1 - old.mean()),
                     "least_row_pass": min(per_row), "row_pass": per_row})
    power = []
    for name, (right, wrong) in WRONG.items():
        theirs_pool = cube(train(*right, data=data, seeds=range(100_000, 100_000 + args.pool)).final_loss)
        ours_pool = cube(train(*wrong, data=data, seeds=range(args.pool)).final_loss)
        for n in args.seed_counts:
            ours = ours_pool[distinct_draws(rng, len(ours_pool), args.power_trials, n)]
            theirs = theirs_pool[rng.integers(0, len(theirs_pool), args.power_trials)]
            power.append({"wrong": name, "seeds": n, "trials": args.power_trials,
                          "caught": float(1 - passes(ours, theirs, LEVEL).mean()),
                          "caught_old_rule": float(1 - passes(ours, theirs, 0.99).mean())})
    result = {"level": LEVEL, "family_level": FAMILY_LEVEL,
              "nominal_family_level": NOMINAL_FAMILY_LEVEL, "rows": ROWS, "pool": args.pool,
              "seed_counts": args.seed_counts, "false_alarm": rows, "power": power,
              "seconds": time.perf_counter() - started}
    if args.json:
        print(json.dumps(result))
        return
    for r in rows:
        print(f"n={r['seeds']:3d}: all {ROWS} agree {r['all_agree']:.4f} (false alarm {r['false_alarm']:.4f}; "
              f"99%/row: {r['old_rule_false_alarm']:.4f}); least row {r['least_row_pass']:.5f}")
    for p in power:
        print(f"{p['wrong']:40s} n={p['seeds']:3d}: caught {p['caught']:.4f} (99%/row: {p['caught_old_rule']:.4f})")
    print(f"{result['seconds']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
