"""AlgoPerf's performance profiles and score, computed exactly from their rules.

The rules (Dahl et al. 2023, "Benchmarking Neural Network Training Algorithms", §4.5):

1. ``t[s][p]`` is the time optimizer ``s`` needs to reach problem ``p``'s target —
   here the median over the fresh seeds of the steps to target — and ``inf``
   when it does not reach it within the budget.
2. The performance ratio is ``r[s][p] = t[s][p] / min over s' of t[s'][p]``; the
   best optimizer on a problem has ratio 1.  A ratio above ``r_max`` counts as
   ``inf``.  On a problem that no optimizer solves, every ratio is ``inf``
   (the problem still counts in the denominator below, for all alike).
3. The profile ``ρ_s(τ) = |{p : r[s][p] <= τ}| / |P|`` for ``τ >= 1``: the
   fraction of problems that ``s`` solves within a factor ``τ`` of the fastest.
4. The score ``B_s = ∫_1^{r_max} ρ_s(τ) dτ / (r_max − 1)``, in [0, 1]: 1 means
   fastest on every problem, 0 that no problem was solved within ``r_max``.
   ``ρ_s`` is a step function, so the integral is the exact sum
   ``Σ_p (r_max − r[s][p]) / |P|`` over the problems with ``r[s][p] <= r_max``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

R_MAX = 4.0


def ratios(times: Mapping[str, Mapping[str, float]], r_max: float = R_MAX) -> dict[str, dict[str, float]]:
    """``r[s][p]`` from ``times[s][p]`` (rules 1-2); every optimizer must have a time for every problem."""
    if r_max <= 1:
        raise ValueError(f"r_max must be > 1, got {r_max:g}")
    optimizers = list(times)
    problems = list(times[optimizers[0]]) if optimizers else []
    for s in optimizers:
        if set(times[s]) != set(problems):
            raise ValueError(f"{s} has times for {sorted(times[s])}, expected {sorted(problems)}")
        for p, t in times[s].items():
            if math.isnan(t) or t < 0:
                raise ValueError(f"time of {s} on {p} must be >= 0 or inf, got {t!r}")
    out: dict[str, dict[str, float]] = {s: {} for s in optimizers}
    for p in problems:
        fastest = min(times[s][p] for s in optimizers)
        for s in optimizers:
            t = times[s][p]
            if not math.isfinite(fastest) or not math.isfinite(t):
                r = math.inf
            elif fastest == 0:
                r = 1.0 if t == 0 else math.inf
            else:
                r = t / fastest
            out[s][p] = r if r <= r_max else math.inf
    return out


def profile(ratio_row: Mapping[str, float], taus: Sequence[float]) -> list[float]:
    """``ρ_s(τ)`` at each ``τ`` (rule 3) from one optimizer's ratios."""
    n = len(ratio_row)
    return [sum(r <= tau for r in ratio_row.values()) / n for tau in taus]


def score(ratio_row: Mapping[str, float], r_max: float = R_MAX) -> float:
    """``B_s`` (rule 4), the exact integral of the step function."""
    n = len(ratio_row)
    return sum(r_max - max(r, 1.0) for r in ratio_row.values() if r <= r_max) / (n * (r_max - 1))


def scores(times: Mapping[str, Mapping[str, float]], r_max: float = R_MAX) -> dict[str, float]:
    """Every optimizer's score."""
    return {s: score(row, r_max) for s, row in ratios(times, r_max).items()}


__all__ = ["R_MAX", "profile", "ratios", "score", "scores"]
