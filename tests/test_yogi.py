"""Yogi beyond the registry's tables: the sign of s's update, and the refusal of a torch run."""

from __future__ import annotations

import pytest
import torch

from descentlab.algorithms import REGISTRY
from descentlab.cli import main
from descentlab.engine.torch_names import torch_counterpart, torch_refusals

YOGI, ADAM = REGISTRY["yogi"], REGISTRY["adam"]


def test_s_falls_by_a_share_of_g_squared_not_of_the_gap() -> None:
    """One step from s = 0.04 with g = 0.1 (g^2 = 0.01 < s): Yogi's s = 0.04 - 0.001*0.01 = 0.03999;
    Adam's v = 0.04 + 0.001*(0.01 - 0.04) = 0.03997.  x moves by lr m^ / (sqrt(s^) + eps), by hand."""
    x = torch.tensor([1.0], dtype=torch.float64)
    g = torch.tensor([0.1], dtype=torch.float64)
    state = {"step": torch.tensor(1.0, dtype=torch.float64), "m": torch.tensor([0.02], dtype=torch.float64),
             "s": torch.tensor([0.04], dtype=torch.float64)}
    hp = YOGI.resolve({"lr": 0.01})
    x_new, new = YOGI.update(x, g, state, **hp)
    assert new["s"].item() == pytest.approx(0.03999, rel=1e-14)
    adam_state = {"step": state["step"], "m": state["m"], "v": state["s"]}
    assert ADAM.update(x, g, adam_state, **ADAM.resolve({"lr": 0.01}))[1]["v"].item() == pytest.approx(0.03997, rel=1e-14)
    m = 0.9 * 0.02 + 0.1 * 0.1  # 0.028, t = 2
    expected = 1 - 0.01 * (m / (1 - 0.9**2)) / ((0.03999 / (1 - 0.999**2)) ** 0.5 + 1e-3)
    assert x_new.item() == pytest.approx(expected, rel=1e-14)


def test_torch_has_no_yogi_and_says_so() -> None:
    with pytest.raises(ValueError, match=r"torch.optim has no counterpart of 'yogi'"):
        torch_counterpart("yogi")
    with pytest.raises(ValueError, match=r"torch.optim has no counterpart of 'yogi'"):
        torch_refusals("yogi", ["lr"])


def test_train_with_impl_torch_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], airfoil_path) -> None:
    assert main(["train", "yogi", "--lr", "0.01", "--impl", "torch", "--data", str(airfoil_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "torch.optim has no counterpart of 'yogi'" in err
