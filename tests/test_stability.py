"""Stability maps: each is one batch of the registry's rule, equal to separate runs, and the report draws them."""

from __future__ import annotations

import math

import pytest

from descentlab.lab import run
from descentlab.lab.objectives import OBJECTIVES
from descentlab.lab.stability import MAPS, stability_map


@pytest.mark.parametrize("algorithm", list(MAPS))
def test_a_map_cell_is_the_single_run(algorithm: str) -> None:
    record = stability_map(algorithm, OBJECTIVES["notes"], steps=60)
    x_name, xs, y_name, ys, _ = MAPS[algorithm]
    i, j = len(ys) // 2, len(xs) - 1
    hp = {x_name: xs[j], y_name: ys[i]}
    if "beta1" in hp:
        hp = {"lr": hp["lr"], "betas": (hp.pop("beta1"), 0.999)}
    t = run(algorithm, OBJECTIVES["notes"], hp, steps=60)
    expected = (math.dist(t.final, (0, 0)) / math.dist(t.points[0], (0, 0))) ** (1 / 60)
    assert record.rate[i][j] == pytest.approx(expected, rel=1e-12)
    assert len(record.rate) == len(ys) and all(len(row) == len(xs) for row in record.rate)


def test_rmsprop_rate_depends_on_lr() -> None:
    record = stability_map("rmsprop", OBJECTIVES["notes"])
    row = record.rate[record.y_values.index(0.9)]
    assert row[0] > 0.99  # the smallest lr (1e-3) hardly moves in 200 steps
    assert min(row) < row[0] - 0.01  # a larger one contracts measurably faster
    assert min(min(r) for r in record.rate) < 0.5  # and some gamma contracts fast


def test_adagrad_large_eps_follows_gd_limit() -> None:
    """With eps >> g^2 AdaGrad is GD at lr/sqrt(eps): stable below 2 sqrt(eps)/lambda_max, measured."""
    record = stability_map("adagrad", OBJECTIVES["notes"])
    eps = record.y_values[-1]  # 10: far above the gradients' squares near the end
    row = record.rate[-1]
    limit = record.gd_limit * math.sqrt(eps)
    below = [r for lr, r in zip(record.x_values, row) if lr < 0.5 * limit]
    assert below and max(below) < 1
