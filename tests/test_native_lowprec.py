"""The default step's compiled loop on bfloat16 and float16 parameters (engine/paths/native.py, engine/state/precision.py).

A 16-bit parameter's rule runs on float32 working values (``x`` plus its kept
rounding error, ``g`` widened) with float32 state, and ``x`` is rounded back with
the new rounding error kept.  The loop does that in registers, so these tests hold
it to the other ways of running the same step, bit for bit: the replay of the same
plan with torch's conversions, the rule on the working values (the default path
with the loop off) and the plain rule tensor by tensor; and its C conversions to
torch's own, on every 16-bit pattern.  A nan's sign and payload are left aside for
float16 only: torch's float16 -> float32 conversion gives a nan's bits by the nan's
place in the tensor (``test_torchs_float16_nan_bits_depend_on_the_place``).
"""

from __future__ import annotations

import copy
import ctypes
import subprocess

import pytest
import torch

from descentlab import torch_optim
from descentlab.algorithms import REGISTRY
from descentlab.engine.paths import native
from descentlab.engine.paths.eager import step_in_batches
from descentlab.engine.state.precision import Precision

pytestmark = pytest.mark.skipif(native.compiler() is None, reason="no C compiler here")

LOW = [torch.bfloat16, torch.float16]
RULES = [  # every rule, with the switches that change its plan
    ("sgd", {"lr": 0.1, "weight_decay": 0.01}), ("momentum", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.01}), ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("adadelta", {"weight_decay": 0.1}), ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True}), ("yogi", {"lr": 0.01}),
]
INTS = {torch.bfloat16: torch.int16, torch.float16: torch.int16, torch.float32: torch.int32, torch.float64: torch.int64}


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit for bit; for float16 (and float32 state next to a float16 parameter) any nan equals any nan."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if torch.equal(a.view(INTS[a.dtype]), b.view(INTS[a.dtype])):
        return True
    nans = a.isnan()
    return torch.equal(nans, b.isnan()) and torch.equal(a.view(INTS[a.dtype])[~nans], b.view(INTS[b.dtype])[~nans])


def _problem(dtype: torch.dtype, extremes: bool = False) -> tuple[list, list]:
    generator = torch.Generator().manual_seed(3)
    shapes = ((300, 229), (5,), ())
    params = [torch.randn(s, generator=generator).to(dtype) for s in shapes]
    grads = [[torch.randn(s, generator=generator).to(dtype) for s in shapes] for _ in range(4)]
    if extremes:  # near overflow and underflow, zeros of both signs, infinities and nans, in x and in g
        info = torch.finfo(dtype)
        special = torch.tensor([info.max, -info.max, info.max / 2, info.tiny, info.tiny / 8, -info.tiny / 4,
                                info.smallest_normal * 0.5, 0.0, -0.0, float("inf"), float("nan"), 1.0]).to(dtype)
        x = params[0].view(-1)
        x[:len(special)] = special
        x[-len(special):] = special.flip(0)
        for step, gs in enumerate(grads):
            g = gs[0].view(-1)
            g[100:100 + len(special)] = special.roll(step)
            g[:len(special)] = special.roll(step + 1) * (1 - 2 * (step % 2))
    return params, grads


def _run(name: str, hp: dict, dtype: torch.dtype, way: str, compensated: bool, extremes: bool = False,
         monkeypatch=None) -> tuple[list, list]:
    """``way``: "loop" (the default step), "replay" (the same plan by torch's foreach calls and conversions),
    "working" (the default path with the loop off: the rule on the working values) or "plain"."""
    spec, precision = REGISTRY[name], Precision(compensated=compensated)
    xs, grads = _problem(dtype, extremes)
    states = [precision.init(spec, x, hp) for x in xs]
    cache: dict = {}
    for gs in grads:
        if way == "plain":
            for i, (x, g) in enumerate(zip(xs, gs)):
                states[i].update(precision.step(spec, x, g, states[i], hp))
        elif way == "working":
            with native.switched_off():
                step_in_batches(spec, xs, gs, states, hp, precision, cache, site=0)
        elif way == "replay":
            with monkeypatch.context() as patch:
                patch.setattr(native, "kernel_for", lambda *a, **k: None)
                step_in_batches(spec, xs, gs, states, hp, precision, cache, site=0)
        else:
            step_in_batches(spec, xs, gs, states, hp, precision, cache, site=0)
    return xs, states


@pytest.fixture
def loop_only(monkeypatch):
    """Fails a test whose loop is refused by the check against the replay; records the kernels used."""
    used = []
    real = native.kernel_for

    def kernel_for(*args, **kwargs):
        kernel = real(*args, **kwargs)
        used.append(kernel)
        return kernel

    monkeypatch.setattr(native, "kernel_for", kernel_for)
    monkeypatch.setattr(native, "refuse", lambda plan, kernel, why: pytest.fail(f"the loop was refused: {why}"))
    return used


def _compare(mine: tuple[list, list], theirs: tuple[list, list]) -> None:
    (xs, states), (ys, others) = mine, theirs
    for x, y in zip(xs, ys):
        assert same_bits(x, y)
    for state, other in zip(states, others):
        assert set(state) == set(other)
        for key in other:
            assert same_bits(state[key], other[key]), key


@pytest.mark.parametrize("compensated", [True, False], ids=["compensated", "rounded"])
@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name, hp", RULES, ids=lambda v: v if isinstance(v, str) else "-".join(map(str, v))[:30])
def test_the_16_bit_loop_is_every_other_way_bit_for_bit(name, hp, dtype, compensated, loop_only, monkeypatch) -> None:
    """The loop (x, g, compensation in 16 bits, state in float32) equals the replay of its plan, the rule on the
    working values and the plain rule, parameters and state, compensation included."""
    hp = REGISTRY[name].resolve(hp)
    loop = _run(name, hp, dtype, "loop", compensated)
    assert any(kernel is not None and kernel.checked and kernel.source.low for kernel in loop_only), "no loop ran"
    assert all(x.dtype == dtype for x in loop[0])
    for way in ("replay", "working", "plain"):
        _compare(loop, _run(name, hp, dtype, way, compensated, monkeypatch=monkeypatch))


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("name, hp", [r for r in RULES if r[0] in ("adam", "adagrad", "rmsprop", "sgd")][:4],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_values_near_overflow_and_underflow_infinities_and_nans(name, hp, dtype, loop_only) -> None:
    """The largest and smallest numbers of the format, subnormals, signed zeros, infinities and nans in x and in g:
    the loop rounds them as torch's conversions do (bfloat16's nans bit for bit too)."""
    hp = REGISTRY[name].resolve(hp)
    loop = _run(name, hp, dtype, "loop", True, extremes=True)
    assert any(kernel is not None and kernel.checked for kernel in loop_only)
    plain = _run(name, hp, dtype, "plain", True, extremes=True)
    _compare(loop, plain)
    big = torch.finfo(dtype).max / 4
    assert loop[0][0].isnan().any() and (loop[0][0].abs() > big).any()  # (the extremes reached the output)
    if dtype == torch.bfloat16:
        assert all(torch.equal(x.view(torch.int16), y.view(torch.int16)) for x, y in zip(loop[0], plain[0]))


CLASSES = [(torch_optim.Adam, {"lr": 0.01}), (torch_optim.AdamW, {"lr": 0.01, "amsgrad": True}),
           (torch_optim.Adagrad, {"lr": 0.1}), (torch_optim.RMSprop, {"lr": 0.01, "centered": True}),
           (torch_optim.Adadelta, {}), (torch_optim.SGD, {"lr": 0.1, "momentum": 0.9, "nesterov": True})]


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("cls, kwargs", CLASSES, ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_torch_optim_classes_on_16_bits_default_path_is_their_plain_path(cls, kwargs, dtype, loop_only) -> None:
    """descentlab.torch_optim on bfloat16/float16 parameters: the default path (the loop) gives the bits of
    ``path="plain"``, both with and without compensation (float32 state; torch.optim keeps 16-bit state, so its
    numbers are not ours to equal)."""
    for compensated in (True, False):
        params, grads = _problem(dtype)
        runs = []
        for path in ("default", "plain"):
            mine = [p.clone().requires_grad_() for p in params]
            opt = cls(mine, **kwargs, path=path, compensated=compensated)
            for gs in grads:
                for p, g in zip(mine, gs):
                    p.grad = g.clone()
                opt.step()
            runs.append((mine, opt))
        (a, opt_a), (b, opt_b) = runs
        assert all(same_bits(p.detach(), q.detach()) for p, q in zip(a, b)), (cls.__name__, compensated)
        for p, q in zip(a, b):
            for key, value in opt_b.state[q].items():
                assert same_bits(opt_a.state[p][key], value), key
    assert any(kernel is not None and kernel.checked and kernel.source.low for kernel in loop_only)


def test_a_16_bit_checkpoint_resumes_bit_for_bit_on_the_loop(loop_only) -> None:
    params, grads = _problem(torch.bfloat16)
    straight = [p.clone().requires_grad_() for p in params]
    opt = torch_optim.Adam(straight, lr=0.01)
    for gs in grads[:2]:
        for p, g in zip(straight, gs):
            p.grad = g.clone()
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    resumed = [p.detach().clone().requires_grad_() for p in straight]
    for gs in grads[2:]:
        for p, g in zip(straight, gs):
            p.grad = g.clone()
        opt.step()
    again = torch_optim.Adam(resumed, lr=0.01)
    again.load_state_dict(saved)
    for gs in grads[2:]:
        for p, g in zip(resumed, gs):
            p.grad = g.clone()
        again.step()
    assert all(torch.equal(p.view(torch.int16), q.view(torch.int16)) for p, q in zip(straight, resumed))


def test_the_16_bit_loop_makes_no_temporaries(loop_only) -> None:
    """The replay makes float32 copies of x and g (and Adam a temporary); the loop allocates nothing that size."""
    from descentlab.bench.steps import allocated_during_step

    p = torch.randn(1 << 20).to(torch.bfloat16).requires_grad_()
    p.grad = torch.randn_like(p)
    opt = torch_optim.Adam([p], lr=0.01)
    opt.step()
    assert allocated_during_step(opt) < p.numel() * p.element_size() / 4


# -- the conversions themselves ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def conversions(tmp_path_factory):
    """The loop's C conversions of each format, compiled alone with the loop's flags: wide(n, in, out), narrow(n, in,
    out), value by value, and wide_v and narrow_v on whole vectors of 16 (where the processor has AVX-512)."""
    cc = native.compiler()
    vector = native.vector_loop_possible()
    built = {}
    for dtype, low in ((torch.bfloat16, "bf16"), (torch.float16, "fp16")):
        folder = tmp_path_factory.mktemp(low)
        source = folder / "c.c"
        source.write_text(native._low_helpers(low, vector) + """
__attribute__((visibility("default"))) void wide(long n, const unsigned short *in, float *out) { for (long i = 0; i < n; ++i) out[i] = dl_wide(in[i]); }
__attribute__((visibility("default"))) void narrow(long n, const float *in, unsigned short *out) { for (long i = 0; i < n; ++i) out[i] = dl_narrow(in[i]); }
""" + ("""
__attribute__((visibility("default"))) void wide_v(long n, const unsigned short *in, float *out)
{ for (long i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, dl_wide_v(_mm256_loadu_si256((const __m256i *)(in + i)))); }
__attribute__((visibility("default"))) void narrow_v(long n, const float *in, unsigned short *out)
{ for (long i = 0; i + 16 <= n; i += 16) _mm256_storeu_si256((__m256i *)(out + i), dl_narrow_v(_mm512_loadu_ps(in + i))); }
""" if vector else ""))
        library = folder / "c.so"
        subprocess.run([cc, *native._FLAGS, "-o", str(library), str(source)], check=True, capture_output=True)
        built[dtype] = ctypes.CDLL(str(library))
    return built


@pytest.mark.parametrize("dtype", LOW, ids=str)
@pytest.mark.parametrize("vector", [False, True], ids=["value by value", "whole vectors"])
def test_the_loops_conversions_are_torchs(dtype, vector, conversions) -> None:
    """Widening: every 16-bit pattern; rounding: float32 values around every 16-bit number (ties, the values just
    beside them), random bit patterns (nans with payloads, subnormals, the overflow threshold) and the specials;
    the conversions of the loop value by value and of its whole vectors alike."""
    if vector and not native.vector_loop_possible():
        pytest.skip("no AVX-512 F/VL here")
    library = conversions[dtype]
    to_wide, to_narrow = (library.wide_v, library.narrow_v) if vector else (library.wide, library.narrow)
    patterns = torch.arange(-(1 << 15), 1 << 15, dtype=torch.int32).to(torch.int16)  # 65536: whole vectors of 16
    wide = torch.empty(patterns.numel(), dtype=torch.float32)
    to_wide(patterns.numel(), ctypes.c_void_p(patterns.data_ptr()), ctypes.c_void_p(wide.data_ptr()))
    assert same_bits(wide, patterns.view(dtype).float())
    # every pattern's bits, nans included (torch's float16 conversion keeps a nan's bits in whole vectors of 16)
    assert torch.equal(wide.view(torch.int32), patterns.view(dtype).float().view(torch.int32))
    numbers = patterns.view(dtype).float()
    finite = numbers[numbers.isfinite()]
    ulp = torch.finfo(dtype).eps * finite.abs().clamp_min(torch.finfo(dtype).tiny)
    generator = torch.Generator().manual_seed(5)
    random_bits = torch.randint(-(1 << 31), 1 << 31, (1 << 20,), generator=generator, dtype=torch.int64)
    values = torch.cat([finite, finite + ulp / 2, finite - ulp / 2, finite.nextafter(finite + 1),
                        random_bits.to(torch.int32).view(torch.float32),
                        torch.tensor([65504.0, 65519.99, 65520.0, 3.4e38, -3.4e38, float("inf"), float("nan"), 1e-45])])
    values = values[: values.numel() // 16 * 16].contiguous()
    out = torch.empty(values.numel(), dtype=torch.int16)
    to_narrow(values.numel(), ctypes.c_void_p(values.data_ptr()), ctypes.c_void_p(out.data_ptr()))
    expected = values.to(dtype)
    assert same_bits(out.view(dtype), expected)
    if dtype == torch.bfloat16:
        assert torch.equal(out, expected.view(torch.int16))  # every nan is 0xffff, as torch's
    else:
        numbers_only = ~values.isnan()
        assert torch.equal(out[numbers_only], expected.view(torch.int16)[numbers_only])


def test_torchs_float16_nan_bits_depend_on_the_place() -> None:
    """Why float16 nans are compared as nans: torch widens a float16 nan with its sign and payload in whole vectors
    of 16 values and to 0x7fffffff in the last few values of a tensor, so no elementwise loop can equal its bits
    (if torch changes this, float16 can be held to bits as bfloat16 is)."""
    negative_nan = torch.full((21,), 0xFE09, dtype=torch.int32).to(torch.int16).view(torch.float16)
    bits = negative_nan.float().view(torch.int32)
    assert bits[0].item() != bits[-1].item() and torch.isnan(negative_nan.float()).all()
