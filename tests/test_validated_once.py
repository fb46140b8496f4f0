"""Hyperparameters are validated once along a command's path, then passed down as a ``Setting``."""

from __future__ import annotations

from pathlib import Path

import pytest

from descentlab.algorithms import REGISTRY, Setting
from descentlab.algorithms.spec import AlgorithmSpec
from descentlab.airfoil.train import check_hyperparameters
from descentlab.cli import main


@pytest.fixture
def resolve_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    original = AlgorithmSpec.resolve

    def counting(self: AlgorithmSpec, given: dict) -> dict:
        calls.append(self.name)
        return original(self, given)

    monkeypatch.setattr(AlgorithmSpec, "resolve", counting)
    return calls


@pytest.mark.parametrize("impl", ["own", "torch"])
def test_train_validates_once(resolve_calls: list[str], airfoil_path: Path, impl: str, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "rmsprop", "--lr", "0.01", "--gamma", "0.9", "--impl", impl, "--data", str(airfoil_path)]) == 0
    assert resolve_calls == ["rmsprop"]
    assert capsys.readouterr().out.startswith("loss: ")


def test_trace_and_compare_validate_once_per_run(resolve_calls: list[str], capsys: pytest.CaptureFixture) -> None:
    assert main(["trace", "momentum", "--lr", "0.4", "--momentum", "0.5"]) == 0
    assert resolve_calls == ["momentum"]
    resolve_calls.clear()
    assert main(["compare", "sgd:lr=0.4", "adagrad:lr=2", "adam:lr=0.1"]) == 0
    assert resolve_calls == ["sgd", "adagrad", "adam"]
    assert "epoch 20, x1 -0.943467, x2 -0.000073" in capsys.readouterr().out


def test_a_setting_made_for_another_impl_is_refused() -> None:
    own = REGISTRY["rmsprop"].setting({"lr": 0.01})
    assert check_hyperparameters("rmsprop", "own", own) is own
    with pytest.raises(ValueError, match="not made for rmsprop with impl 'torch'"):
        check_hyperparameters("rmsprop", "torch", own)
    with pytest.raises(ValueError, match="not made for adagrad"):
        check_hyperparameters("adagrad", "own", own)
    torch_side = check_hyperparameters("rmsprop", "torch", {"lr": 0.01})
    assert isinstance(torch_side, Setting) and torch_side.fixed == {"eps_in_sqrt": False}
    assert torch_side.given == {"lr": 0.01} and torch_side.hyperparameters["eps_in_sqrt"] is False
