"""Objectives: gradients and Hessians by autograd; the theory against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from descentlab.lab.objectives import OBJECTIVES, curvature, get_objective, quadratic, quadratic_theory
from descentlab.lab.trajectory import run


def test_notes_quadratic_gradient_and_hessian_match_the_notes() -> None:
    notes = OBJECTIVES["notes"]
    x = torch.tensor([[-5.0, -2.0], [1.5, 0.25]], dtype=torch.float64)
    expected = torch.stack([0.2 * x[:, 0], 4 * x[:, 1]], dim=-1)  # the notes' (0.2 x1, 4 x2)
    torch.testing.assert_close(notes.gradient(x), expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(notes.hessian((3.0, -1.0)), torch.diag(torch.tensor([0.2, 4.0], dtype=torch.float64)))


def test_notes_quadratic_theory_is_kappa_20_and_lr_bound_half() -> None:
    theory = quadratic_theory(OBJECTIVES["notes"])
    assert theory is not None
    assert theory.kappa == pytest.approx(20.0, rel=1e-12)
    assert theory.gd_max_lr == pytest.approx(0.5, rel=1e-12)
    assert theory.momentum_max_lr(0.5) == pytest.approx(0.75, rel=1e-12)


@pytest.mark.parametrize("kappa,angle", [(20.0, 0.0), (100.0, 30.0), (4.0, 75.0), (1.0, 10.0)])
def test_quadratic_family_theory_matches_closed_forms(kappa: float, angle: float) -> None:
    objective = quadratic(kappa, angle, lmin=0.2)
    theory = quadratic_theory(objective)
    assert theory is not None
    lmin, lmax = 0.2, 0.2 * kappa
    assert theory.lmin == pytest.approx(lmin, rel=1e-9)
    assert theory.lmax == pytest.approx(lmax, rel=1e-9)
    assert theory.kappa == pytest.approx(kappa, rel=1e-9)
    assert theory.gd_max_lr == pytest.approx(2 / lmax, rel=1e-9)
    assert theory.momentum_max_lr(0.9) == pytest.approx(3.8 / lmax, rel=1e-9)
    assert theory.gd_best_lr == pytest.approx(2 / (lmin + lmax), rel=1e-9)
    assert theory.gd_best_rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-9, abs=1e-12)
    root = math.sqrt(kappa)
    assert theory.momentum_best_lr == pytest.approx(4 / (math.sqrt(lmax) + math.sqrt(lmin)) ** 2, rel=1e-9)
    assert theory.momentum_best_beta == pytest.approx(((root - 1) / (root + 1)) ** 2, rel=1e-9, abs=1e-12)
    assert theory.momentum_best_rate == pytest.approx((root - 1) / (root + 1), rel=1e-9, abs=1e-12)


def test_rotation_keeps_the_spectrum_but_couples_the_coordinates() -> None:
    h = quadratic(20.0, 30.0).hessian((0.0, 0.0))
    assert abs(float(h[0, 1])) > 0.1
    assert torch.linalg.eigvalsh(h).tolist() == pytest.approx([0.2, 4.0], rel=1e-9)


@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "saddle"])
def test_non_quadratic_objectives_have_no_quadratic_theory_and_zero_gradient_at_minima(name: str) -> None:
    objective = OBJECTIVES[name]
    assert quadratic_theory(objective) is None
    minima = torch.tensor(objective.minima, dtype=torch.float64)
    assert objective.gradient(minima).abs().max() < 1e-4
    for point in objective.minima:  # a strict minimum: positive-definite Hessian
        assert curvature(objective, point).eigenvalues[0] > 0


def test_saddle_point_has_a_negative_eigenvalue() -> None:
    c = curvature(OBJECTIVES["saddle"], (0.0, 0.0))
    assert c.eigenvalues[0] < 0 < c.eigenvalues[1]
    assert c.condition_number == math.inf


def test_rosenbrock_condition_number_at_its_minimum() -> None:
    # H = [[802, -400], [-400, 200]] at (1, 1)
    c = curvature(OBJECTIVES["rosenbrock"])
    trace, det = 1002.0, 802.0 * 200.0 - 400.0**2
    lmax = (trace + math.sqrt(trace**2 - 4 * det)) / 2
    assert c.eigenvalues[1] == pytest.approx(lmax, rel=1e-12)
    assert c.condition_number == pytest.approx(lmax / (det / lmax), rel=1e-9)


@pytest.mark.parametrize("factor,diverges", [(1.02, True), (0.98, False)])
def test_gradient_descent_diverges_just_above_two_over_lmax(factor: float, diverges: bool) -> None:
    objective = quadratic(20.0, 30.0)
    theory = quadratic_theory(objective)
    trajectory = run("sgd", objective, {"lr": factor * theory.gd_max_lr}, steps=3000)
    assert trajectory.diverged is diverges
    if not diverges:
        assert max(abs(c) for c in trajectory.final) < 1e-6


@pytest.mark.parametrize("beta", [0.5, 0.9])
@pytest.mark.parametrize("factor,diverges", [(1.02, True), (0.98, False)])
def test_momentum_diverges_just_above_its_bound(beta: float, factor: float, diverges: bool) -> None:
    objective = OBJECTIVES["notes"]
    theory = quadratic_theory(objective)
    lr = factor * theory.momentum_max_lr(beta)
    trajectory = run("momentum", objective, {"lr": lr, "momentum": beta}, steps=6000)
    assert trajectory.diverged is diverges
    if not diverges:
        assert max(abs(c) for c in trajectory.final) < 1e-6


def test_best_constants_converge_at_the_predicted_rate() -> None:
    objective = quadratic(50.0, 20.0)
    theory = quadratic_theory(objective)
    steps = 60
    gd = run("sgd", objective, {"lr": theory.gd_best_lr}, steps=steps)
    heavy = run("momentum", objective, {"lr": theory.momentum_best_lr, "momentum": theory.momentum_best_beta}, steps=steps)
    start = math.hypot(*objective.start)
    # the error contracts at least as fast as the predicted rate (heavy ball: up to a factor ~ steps)
    assert math.hypot(*gd.final) <= start * theory.gd_best_rate**steps * 1.0001
    assert math.hypot(*heavy.final) <= start * steps * theory.momentum_best_rate**steps
    assert math.hypot(*heavy.final) < math.hypot(*gd.final) * 1e-3


def test_unknown_objective_and_misplaced_kappa_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown objective 'nope'; choose one of: notes"):
        get_objective("nope")
    with pytest.raises(ValueError, match="kappa and angle apply to the objective 'quadratic' only"):
        get_objective("rosenbrock", kappa=10)
    with pytest.raises(ValueError, match="kappa must be >= 1, got 0.5"):
        get_objective("quadratic", kappa=0.5)
