"""The airfoil verdict's rule: a correct reproduction shows all twelve rows agreeing at least 99% of the time,
whatever the seed count, and wrong conventions are still caught.

The simulation treats "the notes' value" as what it is, one more draw of the same
procedure: for each of the notes' twelve runs it trains a pool of seeds as one
batch, then repeatedly takes n of them as "ours" and another as "the notes'",
and counts how often the verdict passes.  Any n + 1 distinct seeds are n + 1
independent draws, so the count estimates the rule's true pass rate without
bias (trials share seeds, which only widens its spread).  ``train`` stands in
for the notes' loop: tests/test_train.py checks that the two agree in
distribution.  Everything is seeded, so the outcome is deterministic.
"""

from __future__ import annotations

import math
import random

import pytest

from descentlab.airfoil import Airfoil, train
from descentlab.chapter.rule import (
    FAMILY_LEVEL,
    LEVEL,
    MIN_SEEDS,
    NOMINAL_FAMILY_LEVEL,
    ROWS,
    percent,
    prediction_interval,
    rule_text,
    student_t_coverage,
    student_t_multiplier,
)
from descentlab.notes.reference import NOTES_AIRFOIL

POOL = 1200  # seeds per run, trained as one batch
TRIALS = 1500  # per run and seed count
SEED_COUNTS = (5, 10, 20)



@pytest.fixture(scope="module")
def pools(airfoil: Airfoil) -> dict[str, tuple[float, ...]]:
    """Final losses of POOL seeds of each of the notes' twelve runs."""
    return {r.label(): train(r.algorithm, r.hyperparameters, data=airfoil, impl=r.impl, seeds=range(POOL)).final_loss
            for r in NOTES_AIRFOIL}


def _pass_rate(ours: tuple[float, ...], theirs: tuple[float, ...], optimum: float, n: int, trials: int,
               generator: random.Random, *, same_pool: bool) -> float:
    """How often one value drawn from ``theirs`` passes the rule built from n values drawn from ``ours``."""
    passed = 0
    for _ in range(trials):
        if same_pool:
            *sample, new = generator.sample(ours, n + 1)
        else:
            sample, new = generator.sample(ours, n), generator.choice(theirs)
        passed += prediction_interval(sample, optimum).contains(new)
    return passed / trials


# --- Student's t -----------------------------------------------------------------------------


@pytest.mark.parametrize(("df", "t975", "t995"), [
    (1, 12.7062, 63.6567), (2, 4.3027, 9.9248), (3, 3.1824, 5.8409), (4, 2.7764, 4.6041), (5, 2.5706, 4.0321),
    (9, 2.2622, 3.2498), (19, 2.0930, 2.8609), (29, 2.0452, 2.7564), (99, 1.9842, 2.6264), (1000, 1.9623, 2.5808),
])
def test_student_t_multiplier_matches_the_tables(df: int, t975: float, t995: float) -> None:
    assert student_t_multiplier(0.95, df) == pytest.approx(t975, abs=1e-4)
    assert student_t_multiplier(0.99, df) == pytest.approx(t995, abs=1e-4)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 12, 19])
def test_student_t_coverage_is_the_integral_of_the_density(df: int) -> None:
    """P(|T| <= t) against a midpoint-rule integral of Student's density, to 1e-6."""
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    density = lambda x: math.exp(log_c - (df + 1) / 2 * math.log1p(x * x / df))  # noqa: E731
    for t in (0.3, 1.0, 2.5, 6.0):
        steps = 20000
        integral = 2 * sum(density((k + 0.5) * t / steps) for k in range(steps)) * t / steps
        assert student_t_coverage(t, df) == pytest.approx(integral, abs=1e-6)


def test_bad_degrees_of_freedom() -> None:
    for df in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="degrees of freedom"):
            student_t_coverage(1.0, df)
    with pytest.raises(ValueError, match="level"):
        student_t_multiplier(1.0, 4)


# --- the interval ----------------------------------------------------------------------------


def test_interval_needs_enough_finite_seeds() -> None:
    assert prediction_interval([0.25] * (MIN_SEEDS - 1), 0.24) is None
    assert prediction_interval([0.25, 0.26, math.nan, 0.25, 0.27], 0.24) is None
    interval = prediction_interval([0.250, 0.252, 0.249, 0.255, 0.251], 0.24)
    assert interval is not None and interval.seeds == 5 and interval.level == LEVEL


def test_interval_bounds_are_where_contains_changes() -> None:
    interval = prediction_interval([0.2445, 0.2431, 0.2462, 0.2439, 0.2502, 0.2428, 0.2450], 0.241688)
    assert interval.low < interval.high
    width = interval.high - interval.low
    assert interval.contains(interval.low + 1e-9 * width) and interval.contains(interval.high - 1e-9 * width)
    assert not interval.contains(interval.low - 1e-6 * width) and not interval.contains(interval.high + 1e-6 * width)
    assert not interval.contains(interval.optimum - 0.001)  # below the optimum: no run ends there


# --- the simulation --------------------------------------------------------------------------


def test_the_per_row_level_is_sidaks_for_the_whole_table() -> None:
    assert ROWS == len(NOTES_AIRFOIL) == 12
    assert LEVEL ** ROWS == pytest.approx(NOMINAL_FAMILY_LEVEL, abs=1e-15)
    assert FAMILY_LEVEL <= NOMINAL_FAMILY_LEVEL < 1 and LEVEL > 0.999
    assert percent(LEVEL) == "99.98%" and percent(FAMILY_LEVEL) == "99%"
    assert rule_text() == "inside the 99.98% prediction interval (∛ gap; 99% for all 12 rows)"


@pytest.mark.slow  # (make test-all, CI)
def test_a_correct_reproduction_shows_all_twelve_rows_agreeing_at_least_99_percent_whatever_the_seed_count(
    pools: dict[str, tuple[float, ...]], airfoil: Airfoil
) -> None:
    """Issue 31: with 99% per row, twelve rows showed a "differ" about 11% of the time (1 - 0.99**12)."""
    generator = random.Random(20261207)
    tables = 2 * TRIALS
    for n in SEED_COUNTS:
        agree = 0
        for _ in range(tables):
            agree += all(_pass_rate(pool, pool, airfoil.optimum_loss, n, 1, generator, same_pool=True) == 1.0
                         for pool in pools.values())
        assert agree / tables >= FAMILY_LEVEL, (n, agree / tables)


@pytest.mark.slow  # (make test-all, CI)
def test_every_row_passes_a_fresh_draw_at_least_99_5_percent_whatever_the_seed_count(
    pools: dict[str, tuple[float, ...]], airfoil: Airfoil
) -> None:
    generator = random.Random(20240611)
    for n in SEED_COUNTS:
        rates = {label: _pass_rate(pool, pool, airfoil.optimum_loss, n, TRIALS, generator, same_pool=True)
                 for label, pool in pools.items()}
        assert min(rates.values()) >= 0.995, (n, rates)


@pytest.mark.slow  # (make test-all, CI)
def test_the_old_min_max_rule_depended_on_the_seed_count(pools: dict[str, tuple[float, ...]]) -> None:
    """What issue 16 measured, for contrast: a new draw inside [min, max] of n seeds has probability (n-1)/(n+1)."""
    generator = random.Random(7)
    pool = pools[NOTES_AIRFOIL[0].label()]
    for n in SEED_COUNTS:
        inside = 0
        for _ in range(4000):
            *sample, new = generator.sample(pool, n + 1)
            inside += min(sample) <= new <= max(sample)
        assert inside / 4000 == pytest.approx((n - 1) / (n + 1), abs=0.025)


WRONG = [  # (the notes' convention, a wrong one, least failure rate at n = 5, 10, 20; measured 0.12, 0.73, 0.95)
    # the price of the family-wise level: with 5 seeds the interval is wide (t = 16 with 4 degrees of freedom)
    pytest.param(("adadelta", {"rho": 0.9}), ("adadelta", {"rho": 0.9, "eps": 1e-6}), (0.08, 0.65, 0.92),
                 id="adadelta-with-torch-eps"),
    pytest.param(("momentum", {"lr": 0.004, "momentum": 0.9}), ("momentum", {"lr": 0.0004, "momentum": 0.9}),
                 (0.99, 0.99, 0.99), id="ema-momentum-without-1/(1-beta)"),
    pytest.param(("adam", {"lr": 0.01}), ("adam", {"lr": 0.001}), (0.99, 0.99, 0.99), id="adam-lr-divided-by-10"),
]


@pytest.mark.parametrize(("right", "wrong", "least"), WRONG)
def test_a_wrong_convention_fails(airfoil: Airfoil, right: tuple, wrong: tuple, least: tuple) -> None:
    """Our seeds under a wrong convention; the notes' value a fresh draw of the right one: the verdict fails."""
    theirs = train(*right, data=airfoil, seeds=range(10_000, 10_400)).final_loss
    ours = train(*wrong, data=airfoil, seeds=range(POOL)).final_loss
    generator = random.Random(3)
    for n, at_least in zip(SEED_COUNTS, least):
        failed = 1 - _pass_rate(ours, theirs, airfoil.optimum_loss, n, 1000, generator, same_pool=False)
        assert failed >= at_least, (n, failed)


def test_the_notes_own_adadelta_value_fails_against_torch_eps(airfoil: Airfoil) -> None:
    notes = next(r for r in NOTES_AIRFOIL if r.algorithm == "adadelta" and r.impl == "own")
    for n in (10, 20):
        ours = train("adadelta", {"rho": 0.9, "eps": 1e-6}, data=airfoil, seeds=range(n))
        assert not prediction_interval(ours.final_loss, airfoil.optimum_loss).contains(notes.final_loss)
        right = train("adadelta", {"rho": 0.9}, data=airfoil, seeds=range(n))
        assert prediction_interval(right.final_loss, airfoil.optimum_loss).contains(notes.final_loss)


def test_one_draw_cannot_tell_adam_lr_doubled(airfoil: Airfoil) -> None:
    """The limit of any rule on one printed value: Adam at lr 0.02 spreads over the values lr 0.01 gives.

    The README says so; this keeps it true (a fresh lr-0.01 draw passes against lr-0.02 seeds about as often
    as against lr-0.01 seeds).
    """
    theirs = train("adam", {"lr": 0.01}, data=airfoil, seeds=range(10_000, 10_400)).final_loss
    ours = train("adam", {"lr": 0.02}, data=airfoil, seeds=range(POOL)).final_loss
    assert _pass_rate(ours, theirs, airfoil.optimum_loss, 20, 1000, random.Random(5), same_pool=False) > 0.95


@pytest.mark.parametrize("seeds", [5, 10, 20])
def test_the_notes_twelve_values_agree_with_the_default_seeds(airfoil: Airfoil, seeds: int) -> None:
    """Issue 31: with seeds 0-4, own Adam lr 0.01 (the notes' 0.242722) fell below the 99% interval [0.243211, ...]."""
    outside = []
    for r in NOTES_AIRFOIL:
        run = train(r.algorithm, r.hyperparameters, data=airfoil, impl=r.impl, seeds=range(seeds))
        interval = prediction_interval(run.final_loss, airfoil.optimum_loss)
        if not interval.contains(r.final_loss):
            outside.append((r.label(), r.final_loss, interval.low, interval.high))
    assert not outside, outside


@pytest.mark.slow  # (make test-all, CI): the whole chapter
def test_reproduce_with_5_seeds_exits_0(airfoil_path, tmp_path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "descentlab", "reproduce", "--seeds", "5", "--data", str(airfoil_path),
                           "--out", str(tmp_path / "report")], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "verdicts: 19 match, 0 differ, 0 not run" in done.stdout, done.stdout


def test_the_report_states_the_per_row_and_the_whole_table_level_in_both_languages() -> None:
    from descentlab.chapter.words import rule_explanation
    from descentlab.lang import EN, ZH

    for say in (EN, ZH):
        text = rule_explanation(say)
        assert "99.98%" in text and "99.8%" in text and "1/12" in text  # the per-row level, Šidák's for the nominal
        assert "99%" in text and "12" in text and "benchmarks/verdict_rule.py" in text  # the whole table's, measured
        assert "\n" not in text
