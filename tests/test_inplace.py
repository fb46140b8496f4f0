"""The default path replays each rule in place (descentlab.inplace): it must take that route, and equal the rule bit for bit."""

from __future__ import annotations

import pytest
import torch

from descentlab.algorithms import REGISTRY
from descentlab.algorithms.spec import AlgorithmSpec, Hyperparameter, new_step_counter, nonnegative
from descentlab.eager import REPLAY_PIECE, step_in_batches
from descentlab.inplace import Plan, Unsupported, plan_for

SETTINGS = {
    "sgd": [{"lr": 0.1}, {"lr": 0.1, "weight_decay": 0.01, "maximize": True},
            {"lr": 0.1, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "momentum": [
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "form": "ema"},
        {"lr": 0.1, "momentum": 0.9, "form": "torch", "dampening": 0.1},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1, "decoupled_weight_decay": True},
    ],
    "adagrad": [{"lr": 0.1}, {"lr": 0.1, "eps_in_sqrt": False, "eps": 1e-10, "lr_decay": 0.01,
                              "initial_accumulator_value": 0.1, "weight_decay": 0.1},
                {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "rmsprop": [{"lr": 0.01}, {"lr": 0.01, "eps_in_sqrt": False, "centered": True, "momentum": 0.9, "weight_decay": 0.1},
                {"lr": 0.01, "centered": True, "bias_correction": True, "eps": 1e-2},
                {"lr": 0.01, "initial_accumulator_value": 1.0, "momentum": 0.9, "momentum_form": "velocity",
                 "nesterov": True},
                {"lr": 0.01, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "adadelta": [{}, {"lr": 0.5, "rho": 0.95, "weight_decay": 0.1, "maximize": True},
                 {"lr": -1.0, "signed_lr": True, "weight_decay": 0.1},
                 {"lr": 0.5, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "adam": [{"lr": 0.01}, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
             {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True},
             {"lr": 0.01, "eps": 1e-7, "eps_mode": "epsilon_hat"},
             {"lr": 0.01, "eps_root": 1e-3},
             {"lr": 0.01, "amsgrad": True, "amsgrad_max": "after_correction", "eps_root": 1e-4},
             {"lr": 0.01, "amsgrad": True, "eps_mode": "epsilon_hat", "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "yogi": [{"lr": 0.01}, {"lr": 0.01, "weight_decay": 0.1}, {"lr": 0.01, "initial_accumulator_value": 1e-6},
             {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}],
}
CASES = [(name, given) for name, settings in SETTINGS.items() for given in settings]


def test_every_algorithm_has_settings_here() -> None:
    assert set(SETTINGS) == set(REGISTRY)


def _plain_and_replayed(spec: AlgorithmSpec, hp: dict, shapes: list, dtype: torch.dtype, steps: int = 12) -> tuple:
    gen = torch.Generator().manual_seed(3)
    start = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
    grads = [[torch.randn(s, generator=gen, dtype=dtype) for s in shapes] for _ in range(steps)]
    plain, replayed = [x.clone() for x in start], [x.clone() for x in start]
    plain_states, replayed_states = [spec.init(x, hp) for x in plain], [spec.init(x, hp) for x in replayed]
    for step in grads:
        step_in_batches(spec, replayed, step, replayed_states, hp)
        for i, (x, g) in enumerate(zip(plain, step)):
            plain[i], plain_states[i] = spec.update(x, g, plain_states[i], **hp)
    return plain, plain_states, replayed, replayed_states


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize(("name", "given"), CASES, ids=[f"{n}-{i}" for n, s in SETTINGS.items() for i in range(len(s))])
def test_the_replay_is_the_rule_bit_for_bit(name: str, given: dict, dtype: torch.dtype) -> None:
    """Including a tensor larger than a piece (cut into views) and a 0-dim one."""
    spec = REGISTRY[name]
    hp = dict(spec.setting(given).hyperparameters)
    shapes = [(3, 4), (REPLAY_PIECE + 1000,), (), (7,)]
    assert plan_for(spec, hp, torch.zeros(1, dtype=dtype), spec.init(torch.zeros(1, dtype=dtype), hp)) is not None
    plain, plain_states, replayed, replayed_states = _plain_and_replayed(spec, hp, shapes, dtype)
    for x, y in zip(replayed, plain):
        assert torch.equal(x, y)
    for s, t in zip(replayed_states, plain_states):
        assert s.keys() == t.keys()
        for key in s:
            assert torch.equal(s[key], t[key]), key


def test_momentum_replays_as_three_in_place_passes() -> None:
    """The point of the replay: m <- beta m + lr g; x <- x - m is three foreach calls, no temporaries."""
    spec = REGISTRY["momentum"]
    hp = dict(spec.setting({"lr": 0.1, "momentum": 0.9}).hyperparameters)
    plan = plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp))
    assert len(plan.program) == 3


def _swap_update(x, g, state, *, lr):
    """a <- a + b, b <- a - b (each reads the other's old value: a cycle), x <- x - lr * (a + b) * g."""
    a, b = state["a"], state["b"]
    new_a, new_b = a + b, a - b
    return x - lr * ((new_a + new_b) * g), {"step": state["step"] + 1, "a": new_a, "b": new_b}


SWAP = AlgorithmSpec(
    name="swap", title="Swap",
    init=lambda x, hp: {"step": new_step_counter(x), "a": torch.ones_like(x), "b": torch.full_like(x, 0.5)},
    update=_swap_update,
    hyperparameters=(Hyperparameter("lr", 0.01, nonnegative, "learning rate"),),
    state_keys=("step", "a", "b"), doc="a test rule",
)


def test_a_cycle_between_state_entries_is_resolved_exactly() -> None:
    hp = {"lr": 0.01}
    plain, plain_states, replayed, replayed_states = _plain_and_replayed(SWAP, hp, [(5,), (2, 3)], torch.float64)
    for x, y in zip(replayed, plain):
        assert torch.equal(x, y)
    for s, t in zip(replayed_states, plain_states):
        assert torch.equal(s["a"], t["a"]) and torch.equal(s["b"], t["b"])


def _clamped_update(x, g, state, *, lr):
    return x - lr * g.clamp(-1, 1), {"step": state["step"] + 1}


CLAMPED = AlgorithmSpec(
    name="clamped", title="Clamped", init=lambda x, hp: {"step": new_step_counter(x)}, update=_clamped_update,
    hyperparameters=(Hyperparameter("lr", 0.01, nonnegative, "learning rate"),), state_keys=("step",), doc="a test rule",
)


def test_an_op_the_replay_lacks_falls_back_to_the_rule() -> None:
    hp = {"lr": 0.5}
    with pytest.raises(Unsupported):
        Plan(CLAMPED, hp, torch.zeros(1), CLAMPED.init(torch.zeros(1), hp))
    assert plan_for(CLAMPED, hp, torch.zeros(1), CLAMPED.init(torch.zeros(1), hp)) is None
    plain, _, replayed, _ = _plain_and_replayed(CLAMPED, hp, [(4,)], torch.float32)
    assert torch.equal(replayed[0], plain[0])


def test_a_tensor_hyperparameter_is_not_baked_into_a_plan() -> None:
    spec = REGISTRY["sgd"]
    hp = dict(spec.setting({"lr": 0.1}).hyperparameters, lr=torch.tensor(0.1))
    assert plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp)) is None
