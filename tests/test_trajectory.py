"""Trajectories: the notes' seven printed lines, batching, divergence, Newton."""

from __future__ import annotations

import math

import pytest
import torch

from descentlab.algorithms import REGISTRY
from descentlab.lab.objectives import OBJECTIVES, quadratic
from descentlab.notes.reference import NOTES_TRACES
from descentlab.lab.trajectory import DIVERGENCE_BOUND, newton, run, run_batch, run_batches, run_many

NOTES = OBJECTIVES["notes"]


@pytest.mark.parametrize("reference", NOTES_TRACES, ids=lambda r: f"{r.algorithm}-{r.hyperparameters}")
def test_the_notes_printed_lines_digit_for_digit(reference) -> None:
    trajectory = run(reference.algorithm, NOTES, reference.hyperparameters, steps=20)
    assert trajectory.notes_line() == reference.printed


# A sweep of K settings for each algorithm: one batch must equal K separate runs exactly.
SWEEPS = {
    "sgd": [{"lr": 0.1}, {"lr": 0.3}, {"lr": 0.45}],
    "momentum": [{"lr": 0.4, "momentum": 0.5}, {"lr": 0.6, "momentum": 0.5}, {"lr": 0.2, "momentum": 0.9}],
    "adagrad": [{"lr": 0.4}, {"lr": 2.0}, {"lr": 1.0, "eps": 1e-3}],
    "rmsprop": [{"lr": 0.4, "gamma": 0.9}, {"lr": 0.1, "gamma": 0.5}, {"lr": 0.3}],
    "adadelta": [{"rho": 0.9}, {"rho": 0.5, "eps": 1e-3}, {"rho": 0.99}],
    "adam": [{"lr": 0.5}, {"lr": 0.1, "betas": (0.8, 0.99)}, {"lr": 0.3, "betas": (0.9, 0.9)}],
    "yogi": [{"lr": 0.5}, {"lr": 0.1, "betas": (0.8, 0.99)}, {"lr": 0.3, "eps": 1e-6}],
}


def test_every_registry_algorithm_has_a_sweep() -> None:
    assert set(SWEEPS) == set(REGISTRY)


@pytest.mark.parametrize("algorithm", list(SWEEPS))
def test_batch_of_settings_equals_separate_runs(algorithm: str) -> None:
    objective = quadratic(20.0, 30.0)
    batch = run_batch(algorithm, objective, SWEEPS[algorithm], steps=50)
    for setting, batched in zip(SWEEPS[algorithm], batch):
        alone = run(algorithm, objective, setting, steps=50)
        assert batched.hyperparameters == setting
        # same rule, same order of operations; only `python float ** tensor` against
        # `tensor ** tensor` may round the last bit differently
        torch.testing.assert_close(
            torch.tensor(batched.points), torch.tensor(alone.points), rtol=1e-14, atol=1e-15
        )


@pytest.mark.parametrize("objective", [NOTES, quadratic(100.0, 30.0), OBJECTIVES["rosenbrock"]], ids=lambda o: o.name)
@pytest.mark.parametrize("schedule", [None, "cosine"])
def test_batches_in_step_equal_each_batch_alone(objective, schedule) -> None:
    # sgd at lr 0.9 and 1 (above 2/λmax = 0.5) diverges on the notes' quadratic within 30 steps while the others
    # go on: its batch stops stepping (and being observed) at its last row's divergence, as it would alone
    batches = [("sgd", [{"lr": 1.0}, {"lr": 0.9}]), *((name, SWEEPS[name]) for name in ("adam", "momentum", "adadelta"))]
    seen: dict[int, list] = {index: [] for index in range(len(batches))}
    together = run_batches(objective, batches, steps=40, schedule=schedule,
                           observe=lambda index, gradient, state: seen[index].append(gradient.clone()))
    for index, ((algorithm, settings), batch) in enumerate(zip(batches, together)):
        alone_seen: list = []
        alone = run_batch(algorithm, objective, settings, steps=40, schedule=schedule,
                          observe=lambda gradient, state: alone_seen.append(gradient.clone()))
        assert batch == alone  # every point, value and divergence, bit for bit
        assert len(seen[index]) == len(alone_seen) and all(torch.equal(a, b) for a, b in zip(seen[index], alone_seen))
    if objective is NOTES and schedule is None:
        assert all(t.diverged for t in together[0]) and len(seen[0]) < len(seen[1]) == 40


def test_run_many_keeps_order_and_groups_flags() -> None:
    runs = [
        ("momentum", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
        ("sgd", {"lr": 0.4}),
        ("momentum", {"lr": 0.1, "momentum": 0.9}),
    ]
    trajectories = run_many(runs, NOTES, steps=30)
    assert [(t.algorithm, t.hyperparameters) for t in trajectories] == runs
    assert trajectories[0].points != trajectories[2].points  # nesterov changes the path
    assert trajectories[0].points == run("momentum", NOTES, runs[0][1], steps=30).points


def test_batch_refuses_settings_that_differ_in_a_flag() -> None:
    with pytest.raises(ValueError, match="nesterov must be the same for all settings"):
        run_batch("momentum", NOTES, [{"lr": 0.1, "momentum": 0.5}, {"lr": 0.1, "momentum": 0.5, "nesterov": True}])


def test_divergence_is_reported_with_its_step_and_no_nan_points() -> None:
    trajectory = run("sgd", NOTES, {"lr": 0.6}, steps=500)
    assert trajectory.diverged
    # |x2| grows by 1.4 per step from 2: it passes 1e12 at the first t with 2 * 1.4**t > 1e12
    expected = math.ceil(math.log(DIVERGENCE_BOUND / 2) / math.log(1.4))
    assert trajectory.diverged_at in (expected, expected + 1)
    assert len(trajectory.points) == trajectory.diverged_at
    assert all(math.isfinite(c) and abs(c) <= DIVERGENCE_BOUND for p in trajectory.points for c in p)
    assert trajectory.notes_line().startswith(f"epoch {trajectory.diverged_at}, diverged")


def test_overflow_to_nan_is_divergence_not_a_crash() -> None:
    trajectory = run("adagrad", OBJECTIVES["rosenbrock"], {"lr": 1e200}, steps=10)
    assert trajectory.diverged
    assert all(math.isfinite(c) for p in trajectory.points for c in p)


def test_newton_step_reaches_the_minimum_of_a_quadratic_in_one_step() -> None:
    for objective in (NOTES, quadratic(1000.0, 40.0)):
        trajectory = newton(objective, steps=1)
        assert max(abs(c) for c in trajectory.points[1]) < 1e-12


def test_paths_start_at_the_start_and_values_are_f_of_points() -> None:
    trajectory = run("adam", OBJECTIVES["himmelblau"], {"lr": 0.1}, steps=25, start=(1.0, -1.0))
    assert trajectory.points[0] == (1.0, -1.0)
    assert len(trajectory.points) == 26
    x = torch.tensor(trajectory.points, dtype=torch.float64)
    assert list(trajectory.values) == OBJECTIVES["himmelblau"].f(x).tolist()


@pytest.mark.parametrize("bad,message", [({"lr": -0.1}, "lr must be >= 0"), ({"lr": 0.1, "gamma": 0.5}, "unexpected hyperparameter 'gamma'")])
def test_bad_settings_raise_before_running(bad, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        run("sgd", NOTES, bad)
    with pytest.raises(ValueError, match="steps must be >= 1, got 0"):
        run("sgd", NOTES, {"lr": 0.1}, steps=0)


def test_effective_learning_rate_is_read_off_the_path() -> None:
    from descentlab.lab.trajectory import effective_learning_rates

    gd = effective_learning_rates(run("sgd", NOTES, {"lr": 0.4}), NOTES)
    assert all(a == pytest.approx(0.4, rel=1e-12) and b == pytest.approx(0.4, rel=1e-12) for a, b in gd)
    adagrad = effective_learning_rates(run("adagrad", NOTES, {"lr": 0.4}, steps=50), NOTES)
    g1, g2 = 0.2 * -5.0, 4 * -2.0  # the first gradient at (-5, -2)
    assert adagrad[0] == pytest.approx((0.4 / math.sqrt(g1**2 + 1e-6), 0.4 / math.sqrt(g2**2 + 1e-6)), rel=1e-9)
    assert all(later[i] < earlier[i] for earlier, later in zip(adagrad, adagrad[1:]) for i in (0, 1))  # only shrinks


def test_a_contracting_run_from_far_out_is_not_divergence() -> None:
    """Issue 16: a start beyond DIVERGENCE_BOUND does not make a converging run 'diverged at step 1'."""
    from descentlab.lab.trajectory import divergence_bound

    far = run("sgd", NOTES, {"lr": 0.1}, start=(1e300, 1e300))
    assert not far.diverged and len(far.points) == 21
    assert all(math.isfinite(c) for p in far.points for c in p)
    assert abs(far.final[0]) < 1e300 and abs(far.final[1]) < 1e300  # it contracted
    assert far.notes_line() == "epoch 20, x1 6.676080e+299, x2 3.656158e+295"  # %e where %f would print 300 digits
    growing = run("sgd", NOTES, {"lr": 0.6}, start=(1e300, 1e300), steps=100)
    assert growing.diverged  # 1.4 per step: past the bound or to infinity well within 100 steps
    assert divergence_bound((-5.0, -2.0)) == DIVERGENCE_BOUND  # the notes' start: as it always was
    assert divergence_bound((3e7, 0.0)) == pytest.approx(3e13)
    assert newton(NOTES, start=(1e300, -1e300), steps=2).diverged_at is None


def test_the_cli_does_not_call_a_run_from_far_out_diverged(capsys) -> None:
    from descentlab.cli import main

    assert main(["trace", "sgd", "--lr", "0.1", "--start", "1e300", "1e300"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "diverged" not in first and first.startswith("epoch 20, x1 6.676080e+299")
