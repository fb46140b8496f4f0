"""Every configuration of torch's own optimizer test database has a descentlab counterpart that matches it.

``torch.testing._internal.common_optimizers.optim_db`` lists, per torch.optim class,
the constructor arguments torch's own tests run (``optim_inputs_func``).  For each
class we have (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW), every configuration it
generates for CPU, CUDA and MPS (float64 and float16; the device-only ones carry
``capturable``, tensor betas, tensor lr) is translated into our hyperparameters by
the one table :data:`~descentlab.engine.torch_names.TORCH_COUNTERPARTS` over the
``torch`` preset, and both run STEPS float64 steps on two parameter groups (four
tensors, one of them 0-dim).  Parameters and the mapped state must agree to
TOLERANCE, with torch's for-loop, its foreach and (where it has one) its fused CPU
implementation, against our default path and our plain rule.

A floating tensor hyperparameter (optim_db's ``lr=torch.tensor(0.001)``, tensor betas)
is float32 as optim_db builds it; both sides get it as a float64 tensor, the test's
dtype.  With the float32 tensor torch itself rounds per-step scalars in float32, and
differently in each implementation: Adam's for-loop rounds ``lr / (1 - beta1^t)``
(2.1e-9 from ours and from its own fused kernel after 100 steps), AdamW's fused
kernel computes ``1 - lr * weight_decay`` in double where its loop rounds it (2.0e-6
apart); with a float64 tensor all agree with ours within 3e-16.  torch refuses
``foreach=True`` with a tensor lr (without CUDA's capturable), so those runs are left out.

A keyword the translation does not know fails the test (it must be added to the
translation or to NOT_EXPRESSED with its reason), and so does a torch.optim class
that appears in optim_db without being listed in OURS or NOT_OURS.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import torch

import descentlab.optim as dl
from descentlab.algorithms import REGISTRY
from descentlab.algorithms.conventions import preset
from descentlab.engine.torch_names import TORCH_COUNTERPARTS, TORCH_STATE_KEYS

common_optimizers = pytest.importorskip(
    "torch.testing._internal.common_optimizers", reason="torch's optim_db needs expecttest (requirements-dev.txt)")

STEPS = 100
TOLERANCE = 1e-12
SHAPES = ((3,), (4, 5), (), (2, 3, 2))  # groups: the first two tensors, then the last two

OURS: dict[str, str] = {"SGD": "sgd", "Adagrad": "adagrad", "RMSprop": "rmsprop", "Adadelta": "adadelta",
                        "Adam": "adam", "AdamW": "adam"}
NOT_OURS: dict[str, str] = {
    "ASGD": "descentlab has no averaged SGD",
    "Adafactor": "descentlab has no Adafactor",
    "Adamax": "descentlab has no Adamax (Adam's infinity-norm variant)",
    "LBFGS": "descentlab has no quasi-Newton method (LBFGS needs a closure and a line search)",
    "Muon": "descentlab has no orthogonalized (Muon) update",
    "NAdam": "descentlab has no Nesterov Adam",
    "RAdam": "descentlab has no rectified Adam",
    "Rprop": "descentlab has no sign-based Rprop",
    "SparseAdam": "descentlab's optimizers refuse sparse gradients",
}
NOT_EXPRESSED: dict[str, str] = {
    # keyword -> why our counterpart runs without it
    "capturable": "CUDA-graph capture, an implementation flag (same numbers); torch refuses it on CPU, so both "
                  "sides run the configuration's other keywords without it",
    "foreach": "an implementation flag; every configuration runs torch with foreach=False and foreach=True",
    "fused": "an implementation flag; every configuration runs torch's fused CPU kernel where the class has one",
    "differentiable": "autograd through the step: descentlab's step runs under no_grad, so it is not expressible",
}
SHAPE_ONLY = ("betas",)
"""Keywords optim_db may give as 1-element tensors of shape (1, 1, 1) or (1, 1): our table takes a number or a
0-dim tensor, so the counterpart holds the same value as a 0-dim tensor (torch broadcasts it the same way)."""

DEVICES_AND_DTYPES = [("cpu", torch.float64), ("cpu", torch.float16), ("cuda", torch.float64),
                      ("cuda", torch.float16), ("mps", torch.float64)]


def _infos() -> dict[str, Any]:
    return {info.optim_cls.__name__: info for info in common_optimizers.optim_db}


def configurations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(class name, description, kwargs) of every distinct configuration optim_db generates for our classes."""
    seen = set()
    for name, info in _infos().items():
        if name not in OURS:
            continue
        for device, dtype in DEVICES_AND_DTYPES:
            for given in info.optim_inputs_func(device=device, dtype=dtype):
                assert given.params is None, f"{name} {given.desc!r}: optim_db now gives its own params; translate them"
                key = (name, given.desc, repr(given.kwargs))
                if key not in seen:
                    seen.add(key)
                    yield name, given.desc, dict(given.kwargs)


CONFIGURATIONS = list(configurations())


def _zero_dim(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dim() > 0:
        return value.reshape(())
    if isinstance(value, tuple):
        return tuple(_zero_dim(v) for v in value)
    return value


def counterpart(class_name: str, kwargs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our algorithm and hyperparameters for torch's ``class_name(**kwargs)``: the torch preset, then each keyword
    mapped by TORCH_COUNTERPARTS; AdamW is Adam with decoupled decay and AdamW's own default weight decay."""
    algorithm = OURS[class_name]
    if algorithm == "sgd" and kwargs.get("momentum", 0) != 0:
        algorithm = "momentum"
    ours_of = {theirs: ours for ours, theirs in TORCH_COUNTERPARTS[algorithm].names.items()}
    unknown = [k for k in kwargs if k not in ours_of and k not in NOT_EXPRESSED]
    assert not unknown, f"{class_name}: optim_db uses {unknown}, which this test does not translate; " \
                        "map it in TORCH_COUNTERPARTS or list it in NOT_EXPRESSED with the reason"
    given = {ours_of[k]: _in_float64(_zero_dim(v) if k in SHAPE_ONLY else v) for k, v in kwargs.items() if k in ours_of}
    if algorithm == "sgd":
        given.pop("momentum", None)
    if class_name == "AdamW":
        default = inspect.signature(torch.optim.AdamW).parameters["weight_decay"].default
        given = {"decoupled_weight_decay": True, "weight_decay": default, **given}
    return algorithm, {**preset("torch", algorithm), **given}


def _start() -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
    gen = torch.Generator().manual_seed(7)
    x0 = [torch.randn(shape, generator=gen, dtype=torch.float64) for shape in SHAPES]
    noise = [[0.2 * torch.randn(shape, generator=gen, dtype=torch.float64) for shape in SHAPES] for _ in range(STEPS)]
    return x0, noise


def _run(make: Any) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    """STEPS steps of ``make(groups)`` on the gradient field 0.8 x + 0.3 sin(3x) + noise, two groups."""
    x0, noise = _start()
    params = [torch.nn.Parameter(x.clone()) for x in x0]
    optimizer = make([{"params": params[:2]}, {"params": params[2:]}])
    for t in range(STEPS):
        for p, n in zip(params, noise[t]):
            p.grad = 0.8 * p.detach() + 0.3 * torch.sin(3 * p.detach()) + n
        optimizer.step()
    return [p.detach().clone() for p in params], optimizer


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    """Normwise relative difference: max |a - b| over max |b|."""
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-300))


def _torch_kwargs(kwargs: dict[str, Any], impl: str) -> dict[str, Any]:
    plain = {k: _in_float64(v) for k, v in kwargs.items() if k not in NOT_EXPRESSED}
    return {**plain, "foreach": impl == "foreach"} if impl != "fused" else {**plain, "fused": True}


def _in_float64(value: Any) -> Any:
    """A floating tensor hyperparameter in the test's dtype, float64 (see the module docstring)."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.to(torch.float64)
    if isinstance(value, tuple):
        return tuple(_in_float64(v) for v in value)
    return value


def _impls(class_name: str, kwargs: dict[str, Any]) -> list[str]:
    """torch's implementations of the class that accept ``kwargs`` (torch refuses foreach=True with a tensor lr
    unless capturable, which needs CUDA)."""
    info = _infos()[class_name]
    accepted = []
    for impl in ["for-loop", "foreach"] + (["fused"] if "fused" in info.supported_impls else []):
        try:
            info.optim_cls([torch.zeros(1, dtype=torch.float64, requires_grad=True)], **_torch_kwargs(kwargs, impl))
        except ValueError:
            continue
        accepted.append(impl)
    return accepted


def _state_rel(torch_opt: torch.optim.Optimizer, our_opt: torch.optim.Optimizer, algorithm: str) -> float:
    """The largest normwise difference of the mapped state tensors (torch's names to ours)."""
    torch_params = [p for group in torch_opt.param_groups for p in group["params"]]
    our_params = [p for group in our_opt.param_groups for p in group["params"]]
    worst = 0.0
    for p, q in zip(torch_params, our_params):
        for theirs_key, ours_key in TORCH_STATE_KEYS[algorithm].items():
            if theirs_key in torch_opt.state[p]:
                worst = max(worst, _rel(our_opt.state[q][ours_key], torch_opt.state[p][theirs_key]))
    return worst


@pytest.mark.slow  # (about 75 configurations x 3-5 runs of STEPS steps: 1-2 minutes on 2 shared cores)
@pytest.mark.parametrize(("class_name", "kwargs"), [
    pytest.param(name, kwargs, id=f"{name}-{i}-{desc}".replace(" ", "_")) for i, (name, desc, kwargs) in enumerate(CONFIGURATIONS)])
def test_optim_db_configuration_has_a_counterpart_that_matches(class_name: str, kwargs: dict[str, Any]) -> None:
    algorithm, ours = counterpart(class_name, kwargs)
    cls = getattr(torch.optim, class_name)
    impls = _impls(class_name, kwargs)
    assert "for-loop" in impls
    x0, _ = _start()
    ours_runs = {fused: _run(lambda groups: dl.create(algorithm, groups, fused=fused, **ours)) for fused in (None, False)}
    for impl in impls:
        theirs, torch_opt = _run(lambda groups: cls(groups, **_torch_kwargs(kwargs, impl)))
        assert max(_rel(x, y) for x, y in zip(theirs, x0)) > 1e-5  # torch's run moved (Adadelta at lr 1e-3 barely)
        # our default path (the in-place replay) against every torch implementation, our plain rule against its loop
        for fused in ((None, False) if impl == "for-loop" else (None,)):
            got, our_opt = ours_runs[fused]
            worst = max(_rel(x, y) for x, y in zip(got, theirs))
            assert worst <= TOLERANCE, f"{algorithm} {ours} (fused={fused}) against torch's {impl}: {worst:.2e}"
            assert _state_rel(torch_opt, our_opt, algorithm) <= TOLERANCE


def test_every_optim_db_class_is_ours_or_listed_with_a_reason() -> None:
    names = set(_infos())
    assert names - set(OURS) - set(NOT_OURS) == set(), "a new torch.optim class in optim_db: add it to OURS or NOT_OURS"
    assert {"SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW"} <= names
    counted = {name: sum(c[0] == name for c in CONFIGURATIONS) for name in OURS}
    assert all(n >= 5 for n in counted.values()), counted
    descriptions = {c[1] for c in CONFIGURATIONS}
    assert {"Tensor lr", "tensor lr", "Tensor lr, Tensor betas, with capturable and amsgrad"} <= descriptions


def test_an_unknown_keyword_fails_the_translation() -> None:
    with pytest.raises(AssertionError, match="optim_db uses \\['bogus'\\], which this test does not translate"):
        counterpart("Adam", {"lr": 0.01, "bogus": True})


@pytest.mark.parametrize("class_name", sorted(OURS))
def test_the_torch_preset_holds_torch_defaults(class_name: str) -> None:
    """What the counterpart leaves to the torch preset is torch's own default (read from its signature)."""
    cls = getattr(torch.optim, class_name)
    signature = inspect.signature(cls).parameters
    for algorithm in (["sgd", "momentum"] if class_name == "SGD" else [OURS[class_name]]):
        spec, names = REGISTRY[algorithm], TORCH_COUNTERPARTS[algorithm].names
        resolved = spec.resolve(counterpart(class_name, {"momentum": 0.9} if algorithm == "momentum" else {})[1])
        for ours, theirs in names.items():
            if theirs not in signature or theirs == "momentum":
                continue  # (AdamW has no decoupled_weight_decay: it is Adam with it on)
            default = signature[theirs].default
            assert default is not inspect.Parameter.empty
            assert resolved[ours] == default, f"{class_name}.{theirs}: torch {default!r}, ours {resolved[ours]!r}"
