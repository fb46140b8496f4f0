"""The default path replays each rule in place (descentlab.engine.paths.inplace): it must take that route and equal the rule,
bit for bit in its exact mode, a few ulp apart with the fused multiply-adds it takes by default."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from descentlab.algorithms import REGISTRY
from descentlab.algorithms.spec import AlgorithmSpec, Hyperparameter, new_step_counter, nonnegative
import descentlab.optim as dl
import descentlab.engine.paths.eager as eager
from descentlab.engine.paths.eager import step_in_batches
from descentlab.engine.paths.inplace import Plan, Unsupported, plan_for
from helpers import relative_difference

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


def _plain_and_replayed(spec: AlgorithmSpec, hp: dict, shapes: list, dtype: torch.dtype, steps: int = 12,
                        exact: bool = True) -> tuple:
    gen = torch.Generator().manual_seed(3)
    start = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
    grads = [[torch.randn(s, generator=gen, dtype=dtype) for s in shapes] for _ in range(steps)]
    plain, replayed = [x.clone() for x in start], [x.clone() for x in start]
    plain_states, replayed_states = [spec.init(x, hp) for x in plain], [spec.init(x, hp) for x in replayed]
    for step in grads:
        step_in_batches(spec, replayed, step, replayed_states, hp, exact=exact)
        for i, (x, g) in enumerate(zip(plain, step)):
            plain[i], plain_states[i] = spec.update(x, g, plain_states[i], **hp)
    return plain, plain_states, replayed, replayed_states


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize(("name", "given"), CASES, ids=[f"{n}-{i}" for n, s in SETTINGS.items() for i in range(len(s))])
def test_the_replay_is_the_rule_bit_for_bit(name: str, given: dict, dtype: torch.dtype, monkeypatch) -> None:
    """Including a tensor larger than a piece (cut into views) and a 0-dim one.  The pieces and batches are made
    small (in the ratio of the real ones, 4:1) so that a piece and a batch boundary fall inside a small tensor."""
    monkeypatch.setattr(eager, "REPLAY_PIECE", 1 << 12)
    monkeypatch.setattr(eager, "REPLAY_BATCH", 1 << 10)
    spec = REGISTRY[name]
    hp = dict(spec.setting(given).hyperparameters)
    shapes = [(3, 4), (eager.REPLAY_PIECE + 1000,), (), (7,)]
    assert plan_for(spec, hp, torch.zeros(1, dtype=dtype), spec.init(torch.zeros(1, dtype=dtype), hp)) is not None
    plain, plain_states, replayed, replayed_states = _plain_and_replayed(spec, hp, shapes, dtype)
    for x, y in zip(replayed, plain):
        assert torch.equal(x, y)
    for s, t in zip(replayed_states, plain_states):
        assert s.keys() == t.keys()
        for key in s:
            assert torch.equal(s[key], t[key]), key


# Worst norm-wise relative difference between the default (fused multiply-add) replay and the plain rule.
FEW_ULP = {torch.float64: 1e-12, torch.float32: 1e-5}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize(("name", "given"), CASES, ids=[f"{n}-{i}" for n, s in SETTINGS.items() for i in range(len(s))])
def test_the_default_replay_is_the_rule_within_a_few_ulp(name: str, given: dict, dtype: torch.dtype) -> None:
    spec = REGISTRY[name]
    hp = dict(spec.setting(given).hyperparameters)
    plain, plain_states, replayed, replayed_states = _plain_and_replayed(spec, hp, [(3, 4), (300,), (), (7,)], dtype,
                                                                         exact=False)
    assert relative_difference(replayed, plain) <= FEW_ULP[dtype]
    for s, t in zip(replayed_states, plain_states):
        assert s.keys() == t.keys()
        for key in s:
            assert relative_difference(s[key], t[key]) <= FEW_ULP[dtype], key


def _calls(plan: Plan) -> list[str]:
    return [instruction.__closure__[[c for c in instruction.__code__.co_freevars].index("function")].cell_contents.__name__
            if "function" in instruction.__code__.co_freevars else "_foreach_copy_" for instruction in plan.program]


@pytest.mark.parametrize(("name", "given", "calls"), [
    ("sgd", {"lr": 0.1}, 1),  # x.add_(g, alpha=-lr)
    ("adagrad", {"lr": 0.1, "eps_in_sqrt": False}, 4),  # s.addcmul_(g, g); d = s.sqrt(); d.add_(eps); x.addcdiv_(g, d)
    ("rmsprop", {"lr": 0.1, "eps_in_sqrt": False}, 5),  # s.mul_; s.addcmul_; d = s.sqrt(); d.add_; x.addcdiv_
    ("adam", {"lr": 0.1}, 7),  # m.lerp_; v.mul_; v.addcmul_; d = v.sqrt(); d.div_; d.add_; x.addcdiv_
    ("adadelta", {}, 11),
])
def test_the_default_replay_makes_as_many_passes_as_torchs_loops(name: str, given: dict, calls: int) -> None:
    """Counted from torch 2.13's single-tensor loops."""
    spec = REGISTRY[name]
    hp = dict(spec.setting(given).hyperparameters)
    plan = plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp), fma=True)
    assert len(plan.program) == calls, _calls(plan)
    exact = plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp), fma=False)
    assert len(exact.program) >= calls


def test_a_difference_of_squares_is_fused_as_torch_does() -> None:
    """Centered RMSProp's s - a a is one addcmul_(a, a, value=-1), as torch.optim.RMSprop's loops compute it."""
    spec = REGISTRY["rmsprop"]
    hp = dict(spec.setting({"lr": 0.1, "centered": True}).hyperparameters)
    plan = plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp), fma=True)
    fused = [c for c in _calls(plan) if c.startswith("_foreach_addcmul")]
    assert len(fused) == 2  # s <- gamma s + (1 - gamma) g g, and r = s - a a


def test_a_scaled_term_is_the_fused_addend() -> None:
    """g + wd x is g.add(x, alpha=wd) (one rounding, torch's), not round(wd x) + g."""
    spec = REGISTRY["sgd"]
    hp = dict(spec.setting({"lr": 0.1, "weight_decay": 0.5}).hyperparameters)
    plan = plan_for(spec, hp, torch.zeros(1), spec.init(torch.zeros(1), hp), fma=True)
    assert not any(c.startswith("_foreach_mul") for c in _calls(plan)), _calls(plan)


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


def test_a_tensor_hyperparameter_is_read_at_every_step_not_baked_into_a_plan() -> None:
    spec = REGISTRY["adam"]
    given = {"lr": 0.1, "betas": (0.8, 0.99)}
    hp = dict(spec.setting(given).hyperparameters)
    as_tensors = {**hp, "lr": torch.tensor(0.1, dtype=torch.float64), "betas": (torch.tensor(0.8, dtype=torch.float64), 0.99)}
    x = torch.zeros(1)
    plan = plan_for(spec, as_tensors, x, spec.init(x, hp))
    assert plan is not None and plan.hp_leaves == {"lr": ("lr", None), "betas[0]": ("betas", 0)}
    assert plan_for(spec, {**as_tensors, "lr": torch.tensor(0.5, dtype=torch.float64)}, x, spec.init(x, hp)) is plan
    for exact in (True, False):
        _, _, by_number, number_states = _plain_and_replayed(spec, hp, [(3, 4), (5,)], torch.float32, exact=exact)
        _, _, by_tensor, tensor_states = _plain_and_replayed(spec, as_tensors, [(3, 4), (5,)], torch.float32, exact=exact)
        assert all(torch.equal(a, b) for a, b in zip(by_tensor, by_number))
        assert all(torch.equal(s[k], t[k]) for s, t in zip(tensor_states, number_states) for k in s)


def test_a_tensor_learning_rate_changed_in_place_is_followed() -> None:
    """A scheduler writes into a tensor lr: every step reads it again, as the plain rule does."""
    spec = REGISTRY["momentum"]
    lr = torch.tensor(0.1, dtype=torch.float64)
    hp = dict(spec.setting({"lr": lr, "momentum": 0.9}).hyperparameters)
    x, reference = [torch.linspace(-1, 1, 6)], [torch.linspace(-1, 1, 6)]
    states, reference_states = [spec.init(x[0], hp)], [spec.init(x[0], hp)]
    cache: dict = {}
    for t in range(6):
        lr.fill_(0.1 / (t + 1))
        g = [torch.sin(3 * x[0] + t)]
        step_in_batches(spec, x, g, states, hp, cache=cache, site=0, exact=True)
        reference[0], reference_states[0] = spec.update(reference[0], torch.sin(3 * reference[0] + t),
                                                        reference_states[0], **hp)
    assert torch.equal(x[0], reference[0])


def _model_like(count: int, seed: int) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(size, generator=gen)) for size in [(7,), (3, 5), ()] * (count // 3)]


@pytest.mark.parametrize("name", ["sgd", "adam", "adadelta"])
def test_many_tensors_share_one_counter_block_and_stay_like_the_rule(name: str) -> None:
    """2000 tensors: one block of step counters for the group, yet every state has its own 0-dim step, and the
    run equals the plain path (fused=False) to a few ulp."""
    spec = REGISTRY[name]
    given = {"lr": 0.01} if "lr" in spec.names and spec.hyperparameter("lr").required else {}
    params, reference = _model_like(2001, 0), _model_like(2001, 0)
    opt, plain = dl.create(name, params, **given), dl.create(name, reference, **given, fused=False)
    gen = torch.Generator().manual_seed(1)
    for _ in range(4):
        for p, q in zip(params, reference):
            p.grad = torch.randn(p.shape, generator=gen)
            q.grad = p.grad.clone()
        opt.step()
        plain.step()
    assert relative_difference(params, reference) <= FEW_ULP[torch.float32]
    steps = [opt.state[p]["step"] for p in params]
    assert all(s.dim() == 0 and s.item() == 4 for s in steps)
    assert len({s.untyped_storage().data_ptr() for s in steps}) == 1  # views of one block
    saved = opt.state_dict()
    assert all(state["step"].dim() == 0 and state["step"].dtype == torch.float64 for state in saved["state"].values())


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_a_loaded_checkpoint_steps_on_and_resumes_bit_for_bit(name: str) -> None:
    import io

    spec = REGISTRY[name]
    given = {"lr": 0.01}
    straight, params = _model_like(30, 2), _model_like(30, 2)
    opt, first = dl.create(name, straight, **given), dl.create(name, params, **given)

    def gradients(step: int) -> list[Tensor]:
        gen = torch.Generator().manual_seed(100 + step)
        return [torch.randn(p.shape, generator=gen) for p in straight]

    for t in range(3):
        for p, q, g in zip(straight, params, gradients(t)):
            p.grad, q.grad = g, g.clone()
        opt.step()
        first.step()
    buffer = io.BytesIO()
    torch.save({"params": [p.detach().clone() for p in params], "opt": first.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    assert all(s["step"].dim() == 0 for s in saved["opt"]["state"].values())
    resumed = [torch.nn.Parameter(x) for x in saved["params"]]
    again = dl.create(name, resumed, **given)
    again.load_state_dict(saved["opt"])
    for t in range(3, 6):
        for p, q, g in zip(straight, resumed, gradients(t)):
            p.grad, q.grad = g, g.clone()
        opt.step()
        again.step()
    assert all(torch.equal(p, q) for p, q in zip(resumed, straight))
    assert all(again.state[p]["step"].item() == 6 for p in resumed)
    first.load_state_dict(again.state_dict())  # an optimizer that already has a block takes the loaded counters
    for p, q in zip(params, resumed):
        p.data.copy_(q.detach())
        p.grad = torch.ones_like(p)
    first.step()
    assert all(first.state[p]["step"].item() == 7 for p in params)


@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_tensors_at_different_steps_in_one_group(name: str) -> None:
    """A parameter that gets its first gradient late has a younger counter: its per-step scalars are its own."""
    given = {"lr": 0.01, "momentum": 0.9} if name == "momentum" else {"lr": 0.01}
    runs = {}
    for fused in (None, False):
        params = _model_like(6, 4)
        opt = dl.create(name, params, **given, fused=fused)
        gen = torch.Generator().manual_seed(5)
        for t in range(5):
            for i, p in enumerate(params):
                p.grad = torch.randn(p.shape, generator=gen) if i % 2 == 0 or t >= 3 else None
            opt.step()
        runs[fused] = params
        assert sorted({opt.state[p]["step"].item() for p in params}) == [2.0, 5.0]
    assert relative_difference(runs[None], runs[False]) <= FEW_ULP[torch.float32]


@pytest.mark.parametrize("name, given", CASES)
@pytest.mark.parametrize("varying", [frozenset(), frozenset({"lr"})])
def test_a_few_tensors_scalars_in_python_floats_have_the_torch_ops_bits(name, given, varying) -> None:
    """A step's scalars and new counters for fewer than FLOAT_COUNTERS tensors, in Python floats, equal the float64
    torch ops' bit for bit: every rule and setting, a scheduled lr read at every step, columns of 1 to 7 tensors at
    steps where torch's vector pow and C's pow differ (0.999 ** 32) and far on (t = 1e6 + 1)."""
    import descentlab.engine.paths.inplace as inplace

    spec = REGISTRY[name]
    hp = spec.resolve(given)
    x = torch.zeros(3)
    plan = plan_for(spec, hp, x, spec.init(x, hp), fma=True, varying=varying & set(hp))
    if plan is None or not plan.counter_keys:
        pytest.skip("no counters")
    if inplace._float_order(plan) is None:  # (a float32 cast read by another op: the torch ops run)
        pytest.skip("the scalars take the torch ops")
    for count in (1, 3, 7):
        for steps in ([0.0] * count, [31.0 + i for i in range(count)], [1e6] * count, [float(i * 997) for i in range(count)]):
            results = []
            for floats in (True, False):
                columns = {key: torch.tensor(steps, dtype=torch.float64) for key in plan.counter_keys}
                with pytest.MonkeyPatch.context() as patch:
                    if not floats:
                        patch.setattr(Plan, "_in_floats", lambda self, columns, hp: None)
                    else:
                        patch.setattr(Plan, "advance", _floats_only(Plan.advance))
                    scalars = plan.advance(columns, {**hp, "lr": hp["lr"] * 0.37 if varying else hp["lr"]})
                results.append(([_bits(v) for v in scalars], {k: c.tolist() for k, c in columns.items()}))
            assert results[0] == results[1], (count, steps)


def _floats_only(advance):
    def run(self, columns, hp):
        floats = self._in_floats(columns, hp)
        assert floats is not None, "the Python floats did not run"
        return floats
    return run


def _bits(value) -> object:
    return [float(v).hex() for v in value] if isinstance(value, list) else float(value).hex()


def test_the_usual_rules_take_python_floats_for_a_few_tensors() -> None:
    """torch's Adam, AdaGrad with lr_decay and SGD with a scheduled lr: their scalars never need the torch ops."""
    import descentlab.engine.paths.inplace as inplace

    x = torch.zeros(3)
    for name, given in (("adam", {"lr": 0.01, "eps": 1e-8}), ("adagrad", {"lr": 0.1, "lr_decay": 0.01}),
                        ("sgd", {"lr": 0.1})):
        spec = REGISTRY[name]
        hp = spec.resolve(given)
        plan = plan_for(spec, hp, x, spec.init(x, hp), fma=True, varying=frozenset({"lr"}))
        assert inplace._float_order(plan) is not None, name
