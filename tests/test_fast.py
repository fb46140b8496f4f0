"""The fast path: the registry rule compiled and applied in place must equal the plain path.

Compiling costs seconds per graph, so these tests use few, small tensors; the
speed itself is measured by ``descentlab bench steps``, never asserted here.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import descentlab.fast as fast
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
    (plain, plain_opt), (quick, quick_opt) = _train_pair(name, torch.float64)
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
    from descentlab.bench_steps import allocated_during_step

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
