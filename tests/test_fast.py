"""The fast path: the registry rule compiled and applied in place must equal the plain path.

Compiling costs seconds per graph, so these tests use few, small tensors; the
speed itself is measured by ``descentlab bench steps``, never asserted here.
"""

from __future__ import annotations

import copy
import gc
import warnings
import weakref

import pytest
import torch

import descentlab.engine.paths.fast as fast
import descentlab.optim as dl
from descentlab.algorithms import REGISTRY

pytestmark = pytest.mark.skipif(not fast.compiler_available(), reason="torch.compile needs a C++ compiler here")

# one configuration per algorithm that exercises its options (all numbers nonzero)
RICH = {
    "sgd": {"lr": 0.05, "weight_decay": 0.01},
    "momentum": {"lr": 0.05, "momentum": 0.9, "form": "torch", "dampening": 0.1, "weight_decay": 0.01},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.01},
    "rmsprop": {"lr": 0.01, "gamma": 0.95, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
    "adadelta": {"rho": 0.95, "lr": 0.5, "weight_decay": 0.01},
    "adam": {"lr": 0.01, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.01, "decoupled_weight_decay": True},
    "yogi": {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.01},
}
SHAPES = [(17, 5), (6,), (2, 3, 4)]


def test_every_algorithm_has_a_configuration() -> None:
    assert set(RICH) == set(REGISTRY)


def _train_pair(name: str, dtype: torch.dtype, shapes=SHAPES, steps: int = 25, schedule: bool = True):
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(s, generator=generator, dtype=dtype) for s in shapes]
    grads = [[torch.randn(s, generator=generator, dtype=dtype) for s in shapes] for _ in range(steps)]
    runs = []
    for fused in (False, True):
        params = [x.clone().requires_grad_() for x in start]
        opt = dl.create(name, params, fused=fused, **RICH[name])
        scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5) if schedule else None
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad = g.clone()
            opt.step()
            if scheduler is not None:
                scheduler.step()
        runs.append((params, opt))
    return runs


@pytest.mark.parametrize("name", list(RICH))
def test_fast_equals_plain_in_float64_under_a_schedule(name: str) -> None:
    """With a 0-dim parameter among them: Dynamo takes a 0-dim float64 input for a Python float and would drop the
    writes to it (the parameter and its state never moved), so the compiled step passes it as a 1-element view."""
    (plain, plain_opt), (quick, quick_opt) = _train_pair(name, torch.float64, shapes=[*SHAPES, ()])
    assert quick_opt._compiled is not None and quick_opt._compiled.failure is None
    for p, q in zip(plain, quick):
        scale = p.detach().abs().max()
        assert ((p - q).abs().max() / scale).item() <= 1e-12
    for p, q in zip(plain, quick):
        for key, value in plain_opt.state[p].items():
            torch.testing.assert_close(quick_opt.state[q][key], value, rtol=1e-12, atol=1e-15)


def test_fast_equals_plain_in_float32_within_a_few_ulp() -> None:
    (plain, _), (quick, _) = _train_pair("adam", torch.float32)
    for p, q in zip(plain, quick):
        torch.testing.assert_close(q, p, rtol=4 * 2**-23 * 25, atol=1e-7)


def test_more_tensors_than_a_chunk(monkeypatch) -> None:
    monkeypatch.setattr(fast, "CHUNK", 4)  # 6 tensors: a chunk of 4, then one of 2
    shapes = [(3,), (5,), (2, 2), (7,), (1,), (4, 3)]
    (plain, _), (quick, _) = _train_pair("rmsprop", torch.float64, shapes=shapes, steps=5, schedule=False)
    for p, q in zip(plain, quick):
        torch.testing.assert_close(q, p, rtol=1e-12, atol=1e-15)


def test_small_parameter_sets_stay_on_the_plain_path_by_default() -> None:
    p = torch.nn.Parameter(torch.ones(10))
    opt = dl.Adam([p], lr=0.1)
    p.grad = torch.ones(10)
    opt.step()
    assert opt.fused is None and opt._compiled is None


def test_failed_compilation_falls_back_with_one_warning(monkeypatch) -> None:
    def broken_compile(function, **kwargs):
        def raises(*args, **kw):
            raise RuntimeError("no C++ compiler found")

        return raises

    monkeypatch.setattr(fast.torch, "compile", broken_compile)
    params = [torch.nn.Parameter(torch.full((4,), 1.0, dtype=torch.float64)) for _ in range(2)]
    reference = [torch.nn.Parameter(p.detach().clone()) for p in params]
    opt = dl.Adam(params, lr=0.1, fused=True)
    plain = dl.Adam(reference, lr=0.1, fused=False)
    with pytest.warns(RuntimeWarning, match="fast .compiled. path is unavailable here .RuntimeError: no C.. compiler"):
        for p, r in zip(params, reference):
            p.grad = torch.ones(4, dtype=torch.float64)
            r.grad = torch.ones(4, dtype=torch.float64)
        opt.step()
        plain.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()  # no second warning
        plain.step()
    for p, r in zip(params, reference):
        assert torch.equal(p, r)


def test_checkpoint_resumes_bit_for_bit_on_the_fast_path() -> None:
    generator = torch.Generator().manual_seed(1)
    start = torch.randn(40, generator=generator, dtype=torch.float64)
    grads = [torch.randn(40, generator=generator, dtype=torch.float64) for _ in range(20)]
    straight = torch.nn.Parameter(start.clone())
    opt = dl.Adam([straight], lr=0.01, fused=True)
    resumed = torch.nn.Parameter(start.clone())
    first = dl.Adam([resumed], lr=0.01, fused=True)
    for i, g in enumerate(grads):
        straight.grad = g.clone()
        opt.step()
        if i < 10:
            resumed.grad = g.clone()
            first.step()
    saved = first.state_dict()
    second = dl.Adam([resumed], lr=0.01, fused=True)
    second.load_state_dict(saved)
    for g in grads[10:]:
        resumed.grad = g.clone()
        second.step()
    assert torch.equal(resumed, straight)


def test_fused_must_be_a_flag() -> None:
    with pytest.raises(ValueError, match="fused must be None, True or False, got 'yes'"):
        dl.Adam([torch.nn.Parameter(torch.ones(2))], lr=0.1, fused="yes")


@pytest.mark.parametrize("name", ["rmsprop", "adam"])
def test_a_fast_step_allocates_no_temporaries(name: str) -> None:
    """Peak memory of a step is the state alone: the compiled kernels write in place (the plain path does not)."""
    from descentlab.bench.steps import allocated_during_step

    allocated = {}
    for fused in (False, True):
        params = [torch.nn.Parameter(torch.randn(1 << 16)) for _ in range(3)]
        for p in params:
            p.grad = torch.randn_like(p)
        opt = dl.create(name, params, fused=fused, **{k: v for k, v in RICH[name].items() if k != "amsgrad"})
        opt.step()
        opt.step()
        allocated[fused] = allocated_during_step(opt)
    assert allocated[True] < 1 << 12  # a few 0-dim scalars at most
    assert allocated[False] >= 3 * (1 << 16) * 4  # the plain path: at least one temporary per parameter


def test_the_step_counter_stays_a_tensor_updated_in_place() -> None:
    params = [torch.nn.Parameter(torch.ones(5, dtype=torch.float64)) for _ in range(3)]
    opt = dl.Adam(params, lr=0.1, fused=True)
    for p in params:
        p.grad = torch.ones(5, dtype=torch.float64)
    opt.step()
    held = opt.state[params[1]]["step"]
    opt.step()
    opt.step()
    assert held.dim() == 0 and held.item() == 3.0  # a reference taken earlier sees later steps, as in torch
    assert [opt.state[p]["step"].item() for p in params] == [3.0, 3.0, 3.0]


def test_switching_paths_and_editing_the_state_by_hand_are_noticed() -> None:
    """The fast path keeps the counters in a block of its own; a state replaced behind its back must win."""
    generator = torch.Generator().manual_seed(3)
    start = [torch.randn(s, generator=generator, dtype=torch.float64) for s in SHAPES]
    runs = []
    for switching in (False, True):
        params = [torch.nn.Parameter(x.clone()) for x in start]
        opt = dl.Adam(params, lr=0.05, fused=switching)
        for i in range(12):
            if switching:
                opt.fused = i % 3 != 1  # every third step on the plain path, which replaces the state tensors
            if i == 7:
                opt.state[params[0]]["step"] = torch.tensor(100.0, dtype=torch.float64)  # by hand
                opt.state[params[2]]["m"] = torch.zeros_like(params[2])
            for p in params:
                p.grad = torch.sin(p.detach() * (i + 1))
            opt.step()
        runs.append(params)
    for p, q in zip(*runs):
        torch.testing.assert_close(q, p, rtol=1e-12, atol=1e-15)


def test_a_loaded_state_with_float32_counters_continues_on_the_fast_path() -> None:
    """torch.optim keeps float32 step counters; a state saved that way is promoted and runs as on the plain path."""
    generator = torch.Generator().manual_seed(4)
    start = [torch.randn(s, generator=generator, dtype=torch.float64) for s in SHAPES]
    first = [torch.nn.Parameter(x.clone()) for x in start]
    first_opt = dl.Adam(first, lr=0.05, fused=False)
    for i in range(5):
        for p in first:
            p.grad = torch.cos(p.detach() + i)
        first_opt.step()
    saved = first_opt.state_dict()
    for state in saved["state"].values():
        state["step"] = state["step"].float()
    finals = []
    for fused in (False, True):
        params = [torch.nn.Parameter(p.detach().clone()) for p in first]
        opt = dl.Adam(params, lr=0.05, fused=fused)
        opt.load_state_dict(copy.deepcopy(saved))  # torch's load shares tensors with the saved dict
        for i in range(5):
            for p in params:
                p.grad = torch.cos(p.detach() - i)
            opt.step()
        finals.append((params, opt))
    (plain, plain_opt), (quick, quick_opt) = finals
    for p, q in zip(plain, quick):
        torch.testing.assert_close(q, p, rtol=1e-12, atol=1e-15)
        assert quick_opt.state[q]["step"].item() == plain_opt.state[p]["step"].item() == 10.0


def test_states_of_different_kinds_in_one_chunk() -> None:
    """A state given an extra entry by hand splits the chunk instead of failing."""
    rule = fast.CompiledRule(REGISTRY["rmsprop"])
    hp = REGISTRY["rmsprop"].resolve({"lr": 0.01})
    generator = torch.Generator().manual_seed(5)
    xs = [torch.randn(6, generator=generator, dtype=torch.float64) for _ in range(3)]
    gs = [torch.randn(6, generator=generator, dtype=torch.float64) for _ in range(3)]
    states = [REGISTRY["rmsprop"].init(x, hp) for x in xs]
    states[1]["note"] = torch.zeros(6, dtype=torch.float64)  # not a key the rule writes
    expected = [REGISTRY["rmsprop"].update(x, g, state, **hp)[0] for x, g, state in zip(xs, gs, states)]
    rule(xs, gs, states, hp)
    assert rule.failure is None
    for x, e in zip(xs, expected):
        torch.testing.assert_close(x, e, rtol=1e-12, atol=1e-15)
    assert [state["step"].item() for state in states] == [1.0, 1.0, 1.0]


def test_reloading_a_checkpoint_does_not_keep_the_old_state_alive() -> None:
    """The fast path remembers how a chunk's states were bound; a replaced state must be freed, not kept."""
    params = [torch.nn.Parameter(torch.ones(8)) for _ in range(2)]
    opt = dl.Adam(params, lr=0.1, fused=True)
    for p in params:
        p.grad = torch.ones(8)
    opt.step()
    saved = copy.deepcopy(opt.state_dict())
    old = [weakref.ref(opt.state[p]["m"]) for p in params]
    for _ in range(3):
        opt.load_state_dict(copy.deepcopy(saved))
        opt.step()
    gc.collect()
    assert all(ref() is None for ref in old)
