"""The three paths (eager default, plain, compiled) compute the same rule; checkpoints, tensor lr, low precision, skips.

The eager path cuts tensors into pieces and batches: ``PIECE``/``BATCH`` are made
tiny here so that a 4x5 matrix is cut into pieces and one batch spans several
tensors, exactly the bookkeeping a large model exercises.
"""

from __future__ import annotations

import io
import math

import pytest
import torch

import descentlab.engine.paths.eager as eager
import descentlab.engine.paths.fast as fast
import descentlab.optim as dl
from descentlab.algorithms import REGISTRY
from helpers import RICH, NoisyQuadratic, grouped, relative_difference

NAMES = list(REGISTRY)
PATHS = {"eager": None, "plain": False, "compiled": True}
needs_compiler = pytest.mark.skipif(not fast.compiler_available(), reason="torch.compile needs a C++ compiler here")


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(eager, "PIECE", 7)  # the 4x5 matrix and the 2x3x2x2 tensor are cut into pieces
    monkeypatch.setattr(eager, "BATCH", 16)  # a batch spans pieces of several tensors


def _run(name: str, fused: bool | None, dtype: torch.dtype, steps: int = 25, switch: bool = False, **options) -> tuple:
    problem = NoisyQuadratic(seed=3, steps=steps, sign=-1.0 if RICH[name].get("maximize") else 1.0)
    params = problem.parameters(dtype)
    kwargs = dict(RICH[name])
    second = {k: v * 0.5 for k, v in kwargs.items() if k == "lr"}
    opt = dl.create(name, grouped(params, ({}, second)), **kwargs, fused=fused, **options)
    order = [None, False, True]
    for t in range(steps):
        if switch:
            opt.fused = order[t % 3]
        problem.set_gradients(t, params)
        opt.step()
    return params, opt, problem


@pytest.mark.parametrize("path", ["eager", pytest.param("compiled", marks=needs_compiler)])
@pytest.mark.parametrize("name", NAMES)
def test_every_path_is_the_plain_rule_in_float64(name: str, path: str) -> None:
    reference, _, problem = _run(name, False, torch.float64)
    params, opt, _ = _run(name, PATHS[path], torch.float64)
    assert relative_difference(params, reference, problem.start) <= 1e-12
    if path == "compiled":  # compiled indeed (a failed compile falls back to the plain rule, which passes the above)
        assert opt._compiled is not None and opt._compiled.failure is None, opt._compiled.failure


@pytest.mark.parametrize("name", NAMES)
def test_eager_float32_is_within_a_few_ulp_of_plain(name: str) -> None:
    """Norm-wise: the default path's fused multiply-adds round once where the rule rounds twice, and a coordinate
    that has shrunk from about 1 to 1e-3 (the gradient follows x) keeps an error of an ulp of 1, not of 1e-3."""
    reference, ref_opt, problem = _run(name, False, torch.float32)
    params, opt, _ = _run(name, None, torch.float32)
    assert relative_difference(params, reference, problem.start) <= 4 * torch.finfo(torch.float32).eps


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_low_precision_paths_agree_and_keep_float32_state(name: str, dtype: torch.dtype) -> None:
    """Fixed gradients (a gradient that depends on x would feed a 1-ulp difference back; Adam amplifies it)."""
    gen = torch.Generator().manual_seed(8)
    shapes = [(4, 5), (3,), ()]
    start = [torch.randn(s, generator=gen) for s in shapes]
    grads = [[torch.randn(s, generator=gen) for s in shapes] for _ in range(25)]
    runs = {}
    for path in ["eager", "plain", "compiled"] if fast.compiler_available() else ["eager", "plain"]:
        params = [torch.nn.Parameter(x.to(dtype)) for x in start]
        opt = dl.create(name, params, **RICH[name], fused=PATHS[path])
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.to(dtype)
            opt.step()
        runs[path] = params, opt
    reference, ref_opt = runs.pop("plain")
    for path, (params, _) in runs.items():
        for p, q in zip(params, reference):
            assert p.dtype == dtype
            one_ulp = torch.finfo(dtype).eps * q.detach().float().abs().clamp_min(torch.finfo(dtype).tiny)
            assert ((p.detach().float() - q.detach().float()).abs() <= one_ulp).all(), path
    for state in ref_opt.state.values():
        assert all(v.dtype in (torch.float32, torch.float64) for k, v in state.items() if k != "compensation")
        assert state["compensation"].dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_switching_paths_every_step_is_the_plain_rule(name: str) -> None:
    if not fast.compiler_available():
        pytest.skip("torch.compile needs a C++ compiler here")
    reference, _, problem = _run(name, False, torch.float64)
    params, _, _ = _run(name, None, torch.float64, switch=True)
    assert relative_difference(params, reference, problem.start) <= 1e-12


@pytest.mark.parametrize("path", ["eager", "plain", pytest.param("compiled", marks=needs_compiler)])
@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_resumes_bit_for_bit_on_each_path(name: str, path: str) -> None:
    steps = 12
    straight, _, problem = _run(name, PATHS[path], torch.float32, steps=steps)
    params = problem.parameters(torch.float32)
    kwargs = RICH[name]
    opt = dl.create(name, grouped(params, ({}, {"lr": kwargs["lr"] * 0.5} if "lr" in kwargs else {})), **kwargs, fused=PATHS[path])
    for t in range(steps // 2):
        problem.set_gradients(t, params)
        opt.step()
    buffer = io.BytesIO()
    torch.save({"params": [p.detach().clone() for p in params], "opt": opt.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer)
    resumed = [torch.nn.Parameter(x) for x in saved["params"]]
    again = dl.create(name, grouped(resumed, ({}, {})), **kwargs, fused=PATHS[path])
    again.load_state_dict(saved["opt"])
    for t in range(steps // 2, steps):
        problem.set_gradients(t, resumed)
        again.step()
    assert all(torch.equal(p.detach(), q.detach()) for p, q in zip(resumed, straight))


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", NAMES)
def test_a_loaded_state_shares_no_storage_with_its_source(name: str, path: str) -> None:
    if path == "compiled" and not fast.compiler_available():
        pytest.skip("torch.compile needs a C++ compiler here")
    _, source, problem = _run(name, PATHS[path], torch.float32, steps=3)
    before = {id(p): {k: v.clone() for k, v in s.items()} for p, s in source.state.items()}
    params = problem.parameters(torch.float32)
    copy = dl.create(name, grouped(params, ({}, {})), **RICH[name], fused=PATHS[path])
    copy.load_state_dict(source.state_dict())
    for t in range(3):
        problem.set_gradients(t, params)
        copy.step()
    for p, state in source.state.items():  # stepping the copy left the source's state as it was
        assert all(torch.equal(v, before[id(p)][k]) for k, v in state.items())
    mine = {v.untyped_storage().data_ptr() for s in copy.state.values() for v in s.values()}
    theirs = {v.untyped_storage().data_ptr() for s in source.state.values() for v in s.values()}
    assert not mine & theirs


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_lr_is_the_float_lr_under_a_scheduler(name: str, path: str) -> None:
    if path == "compiled" and not fast.compiler_available():
        pytest.skip("torch.compile needs a C++ compiler here")
    results = []
    for lr in (0.05, torch.tensor(0.05, dtype=torch.float64)):
        p = torch.nn.Parameter(torch.linspace(-1, 1, 9, dtype=torch.float64))
        opt = dl.create(name, [p], **{**RICH[name], "lr": lr}, fused=PATHS[path])
        schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
        for t in range(10):
            p.grad = torch.sin(3 * p.detach() + t)
            opt.step()
            schedule.step()
        results.append(p.detach().clone())
        assert isinstance(opt.param_groups[0]["lr"], torch.Tensor) == isinstance(lr, torch.Tensor)
    assert torch.equal(results[0], results[1])


def test_a_tensor_hyperparameter_is_checked_like_a_number() -> None:
    with pytest.raises(ValueError, match=r"lr must be >= 0, got -1"):
        dl.Adam([torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(-1.0))
    with pytest.raises(ValueError, match=r"lr must be a real number or a 0-dim floating-point tensor"):
        dl.Adam([torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor([0.1, 0.2]))


def test_bfloat16_small_steps_add_up() -> None:
    """SGD lr 1e-3, gradient 1, weights at 1.0: torch's rounding leaves them at 1.0; the compensated update moves them."""
    moved = {}
    for compensated in (True, False):
        p = torch.nn.Parameter(torch.ones(8, dtype=torch.bfloat16))
        opt = dl.SGD([p], lr=1e-3, compensated=compensated)
        for _ in range(100):
            p.grad = torch.ones_like(p)
            opt.step()
        moved[compensated] = p.detach().float()
    assert torch.equal(moved[False], torch.ones(8))  # the defect, kept on request
    assert (moved[True] - 0.9).abs().max() <= 0.004  # within one bfloat16 ulp at 0.9 of the exact 0.9


@pytest.mark.parametrize("name", NAMES)
def test_a_bfloat16_run_tracks_the_float32_run(name: str) -> None:
    """300 steps of a noisy quadratic: the bf16 parameters stay within a few bf16 ulp (relative to the scale) of float32."""
    params32, _, problem = _run(name, None, torch.float32, steps=300)
    params16, _, _ = _run(name, None, torch.bfloat16, steps=300)
    gap = relative_difference([p.float() for p in params16], params32, problem.start)
    assert gap <= 4 * torch.finfo(torch.bfloat16).eps, gap


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_skip_nonfinite_soak(name: str) -> None:
    """10,000 steps with a nan or inf gradient now and then: the skipped steps leave no trace."""
    gen = torch.Generator().manual_seed(5)
    steps = 10_000
    grads = torch.randn(steps, 6, generator=gen, dtype=torch.float64)
    bad = torch.rand(steps, generator=gen) < 0.02
    poison = torch.tensor([math.nan, math.inf, -math.inf], dtype=torch.float64)
    for t in torch.nonzero(bad).flatten().tolist():
        grads[t, t % 6] = poison[t % 3]
    kwargs = {**RICH[name], "maximize": False}
    guarded = torch.nn.Parameter(torch.zeros(6, dtype=torch.float64))
    clean = torch.nn.Parameter(torch.zeros(6, dtype=torch.float64))
    opt = dl.create(name, [guarded], **kwargs, skip_nonfinite=True)
    reference = dl.create(name, [clean], **kwargs)
    for t in range(steps):
        guarded.grad = grads[t] + guarded.detach()
        opt.step()
        if not bad[t]:
            clean.grad = grads[t] + clean.detach()
            reference.step()
    assert opt.skipped_steps == int(bad.sum())
    assert torch.equal(guarded.detach(), clean.detach())
    for key, value in opt.state[guarded].items():
        assert torch.isfinite(value).all() and torch.equal(value, reference.state[clean][key]), key


def test_a_skipped_step_leaves_parameters_and_state_bitwise_unchanged() -> None:
    params = [torch.nn.Parameter(torch.randn(3, 4)), torch.nn.Parameter(torch.randn(5))]
    opt = dl.Adam(params, lr=0.1, skip_nonfinite=True)
    for p in params:
        p.grad = torch.randn_like(p)
    opt.step()
    before = [p.detach().clone() for p in params], {id(p): {k: v.clone() for k, v in s.items()} for p, s in opt.state.items()}
    params[0].grad = torch.randn_like(params[0])
    params[1].grad = torch.tensor([0.0, 1.0, math.nan, 0.0, 0.0])  # one nan in one tensor: the whole step is skipped
    opt.step()
    assert opt.skipped_steps == 1
    assert all(torch.equal(p.detach(), b) for p, b in zip(params, before[0]))
    assert all(torch.equal(v, before[1][id(p)][k]) for p, s in opt.state.items() for k, v in s.items())
    plain = dl.Adam([torch.nn.Parameter(torch.zeros(2))], lr=0.1)  # the default lets it through, as torch does
    plain.param_groups[0]["params"][0].grad = torch.tensor([math.inf, 0.0])
    plain.step()
    assert plain.skipped_steps == 0 and not torch.isfinite(plain.param_groups[0]["params"][0]).all()


def test_the_default_path_never_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model of 2^21 values (which used to compile silently on its first step) steps without torch.compile."""

    def no_compile(*args, **kwargs):
        raise AssertionError("the default path called torch.compile")

    monkeypatch.setattr(torch, "compile", no_compile)
    monkeypatch.setattr(eager, "PIECE", 1 << 18)  # the real sizes, not this module's tiny ones
    monkeypatch.setattr(eager, "BATCH", 1 << 18)
    params = [torch.nn.Parameter(torch.zeros(1 << 21)), torch.nn.Parameter(torch.zeros(300, 3))]
    for name in NAMES:
        opt = dl.create(name, params, **{**RICH[name], "maximize": False})
        for p in params:
            p.grad = torch.ones_like(p)
        opt.step()
        assert opt._compiled is None
