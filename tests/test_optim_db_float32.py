"""descentlab.torch_optim is bit for bit torch.optim in float32, on every CPU configuration of torch's optim_db.

``torch.testing._internal.common_optimizers.optim_db`` lists the constructor
arguments torch's own tests run for each class (``optim_inputs_func(device="cpu")``:
Nesterov, L2 and decoupled weight decay, centered, momentum, AMSGrad, maximize,
``lr_decay``, a tensor ``lr``...).  Each runs STEPS float32 steps, on two param
groups of four tensors (one 0-dim), with torch.optim's for-loop (``foreach=False``),
its foreach implementation and our class on its default path; the parameters and
every state tensor (``state_dict()``, torch's keys) must be ``torch.equal``.

torch's fused CPU kernels (SGD, Adam, AdamW, Adagrad) differ from its own for-loop
by a few ulp (they fuse other operations); against them we assert at most
FUSED_ULP ulp, and count how many elements differ at all (printed with ``-s``).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import descentlab.torch_optim as to

common_optimizers = pytest.importorskip(
    "torch.testing._internal.common_optimizers", reason="torch's optim_db needs expecttest (requirements-dev.txt)")

STEPS = 100
SHAPES = ((3,), (4, 5), (), (2, 3, 2))  # groups: the first two tensors, then the last two
SLOW_SHAPES = ((257,), (64, 129), (), (3, 1000))
FUSED_ULP = 16
"""The most our default path may be from torch's fused CPU kernel after STEPS steps, in ulp of each tensor's largest
magnitude (the same as torch's own for-loop, which we equal bit for bit)."""


def configurations() -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for info in common_optimizers.optim_db:
        name = info.optim_cls.__name__
        if name not in to.CLASSES:
            continue
        for given in info.optim_inputs_func(device="cpu", dtype=torch.float32):
            assert given.params is None, f"{name} {given.desc!r}: optim_db now gives its own params"
            found.append((name, given.desc, dict(given.kwargs)))
    return found


CONFIGURATIONS = configurations()
IDS = [f"{name}-{i}-{desc}".replace(" ", "_") for i, (name, desc, _) in enumerate(CONFIGURATIONS)]


pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


def _run(make: Any, shapes: tuple[tuple[int, ...], ...]) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    """STEPS steps of ``make(groups)`` on the gradient field 0.8 x + 0.3 sin(3x) + noise, two groups, float32."""
    gen = torch.Generator().manual_seed(7)
    params = [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in shapes]
    optimizer = make([{"params": params[:2]}, {"params": params[2:]}])
    for _ in range(STEPS):
        for p in params:
            p.grad = 0.8 * p.detach() + 0.3 * torch.sin(3 * p.detach()) + 0.2 * torch.randn(p.shape, generator=gen)
        optimizer.step()
    return [p.detach().clone() for p in params], optimizer


def _torch(class_name: str, kwargs: dict[str, Any], impl: str) -> Any:
    cls = getattr(torch.optim, class_name)
    flags = {"fused": True} if impl == "fused" else {"foreach": impl == "foreach"}
    return lambda groups: cls(groups, **kwargs, **flags)


def _impls(class_name: str, kwargs: dict[str, Any]) -> list[str]:
    """torch's implementations that take ``kwargs`` (torch refuses foreach=True with a tensor lr on CPU)."""
    accepted = []
    for impl in ("for-loop", "foreach", "fused"):
        try:
            _torch(class_name, kwargs, impl)([torch.zeros(1, requires_grad=True)])
        except (ValueError, RuntimeError, TypeError):
            continue
        accepted.append(impl)
    return accepted


def _state_tensors(optimizer: torch.optim.Optimizer) -> dict[tuple[int, str], torch.Tensor]:
    return {(index, key): value for index, entry in optimizer.state_dict()["state"].items() for key, value in entry.items()}


def _ulp(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference of ``a`` and ``b`` in ulp of ``b``'s largest magnitude (normwise: near zero an
    elementwise ulp count is meaningless, a value of 1e-30 has ulps of 1e-37)."""
    if not a.numel():
        return 0.0
    scale = float(b.abs().max())
    ulp = torch.finfo(torch.float32).eps * scale if scale > 0 else torch.finfo(torch.float32).tiny
    return float((a.double() - b.double()).abs().max()) / ulp


def _compare(class_name: str, kwargs: dict[str, Any], shapes: tuple[tuple[int, ...], ...]) -> dict[str, int]:
    """Runs every implementation against ours; asserts bit identity (loop, foreach) and FUSED_ULP (fused).

    Returns, per implementation, how many elements (parameters and state) differ from ours.
    """
    ours, our_opt = _run(lambda groups: to.CLASSES[class_name](groups, **kwargs), shapes)
    ours_state = _state_tensors(our_opt)
    differing = {}
    impls = _impls(class_name, kwargs)
    assert "for-loop" in impls
    for impl in impls:
        theirs, torch_opt = _run(_torch(class_name, kwargs, impl), shapes)
        theirs_state = _state_tensors(torch_opt)
        assert set(theirs_state) == set(ours_state), f"state keys: torch {sorted(theirs_state)}, ours {sorted(ours_state)}"
        pairs = list(zip(ours, theirs)) + [(ours_state[k].to(v.dtype), v) for k, v in theirs_state.items()]
        differing[impl] = sum(int((a != b).sum()) for a, b in pairs)
        if impl == "fused":
            worst = max(_ulp(a, b) for a, b in pairs)
            assert worst <= FUSED_ULP, f"{class_name} {kwargs} against torch's fused kernel: {worst:.1f} ulp"
        else:
            for (a, b) in pairs:
                assert torch.equal(a, b), f"{class_name} {kwargs} against torch's {impl}: {int((a != b).sum())} differ"
    return differing


@pytest.mark.parametrize(("class_name", "kwargs"), [(c[0], c[2]) for c in CONFIGURATIONS], ids=IDS)
def test_bit_identical_to_torch_loop_and_foreach(class_name: str, kwargs: dict[str, Any]) -> None:
    differing = _compare(class_name, kwargs, SHAPES)
    print(class_name, kwargs, differing)  # (fused: how many elements differ; loop and foreach: 0, asserted)


@pytest.mark.slow
@pytest.mark.parametrize(("class_name", "kwargs"), [(c[0], c[2]) for c in CONFIGURATIONS], ids=IDS)
def test_bit_identical_on_larger_tensors(class_name: str, kwargs: dict[str, Any]) -> None:
    _compare(class_name, kwargs, SLOW_SHAPES)


def test_every_class_has_cpu_configurations() -> None:
    counted = {name: sum(c[0] == name for c in CONFIGURATIONS) for name in to.CLASSES}
    assert all(n >= 5 for n in counted.values()), counted
    described = {c[1] for c in CONFIGURATIONS}
    assert {"nesterov", "centered", "amsgrad", "lr_decay", "Tensor lr", "tensor lr", "dampening"} <= described


@pytest.mark.parametrize(("class_name", "kwargs"), [(c[0], c[2]) for c in CONFIGURATIONS], ids=IDS)
def test_the_notes_classes_with_torch_conventions_are_bit_identical_too(class_name: str, kwargs: dict[str, Any]) -> None:
    """descentlab.optim with conventions="torch" runs the same rule on the same path: the same bits as torch's loop."""
    import descentlab.optim as dl
    from test_optim_db import counterpart

    algorithm, ours = counterpart(class_name, kwargs)
    ours = {k: v.float() if isinstance(v, torch.Tensor) else v for k, v in ours.items()}  # (float32, as torch's)
    mine, _ = _run(lambda groups: dl.create(algorithm, groups, **ours), SHAPES)
    theirs, _ = _run(_torch(class_name, kwargs, "for-loop"), SHAPES)
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
