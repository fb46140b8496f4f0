"""descentlab.torch_optim against torch.optim: signatures, defaults, keys, checkpoints both ways, schedulers, refusals.

Every comparison of numbers is ``torch.equal`` in float32 (the default path is bit
for bit torch's for-loop; tests/test_optim_db_float32.py runs torch's whole optim_db).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import pytest
import torch

import descentlab.torch_optim as to

OURS_OPTIONS = ("path", "compensated", "skip_nonfinite")

# one configuration per class that keeps every state entry torch's class can keep
RICH: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
    "Adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
    "AdamW": {"lr": 0.01, "weight_decay": 0.1},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
    "RMSprop": {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1},
    "Adadelta": {"lr": 0.5, "rho": 0.95, "weight_decay": 0.01},
}
STATE_KEYS: dict[str, set[str]] = {
    "SGD": {"momentum_buffer"},
    "Adam": {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
    "AdamW": {"step", "exp_avg", "exp_avg_sq"},
    "Adagrad": {"step", "sum"},
    "RMSprop": {"step", "square_avg", "grad_avg", "momentum_buffer"},
    "Adadelta": {"step", "square_avg", "acc_delta"},
}


pytestmark = pytest.mark.usefixtures("one_thread")  # (conftest.py)


def _params(seed: int = 0) -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(shape, generator=gen)) for shape in ((5,), (3, 4), ())]


def _steps(optimizer: torch.optim.Optimizer, params: list[torch.Tensor], count: int, scheduler: Any = None) -> None:
    for _ in range(count):
        for p in params:
            p.grad = 0.8 * p.detach() + 0.3 * torch.sin(3 * p.detach())
        optimizer.step()
        if scheduler is not None:
            scheduler.step()


def _pair(name: str, kwargs: dict[str, Any]) -> tuple[Any, list, Any, list]:
    """torch's optimizer and ours, each on its own copy of the same parameters, in two groups."""
    ours_p, theirs_p = _params(), _params()
    ours = to.CLASSES[name]([{"params": ours_p[:2]}, {"params": ours_p[2:]}], **copy.deepcopy(kwargs))
    theirs = getattr(torch.optim, name)([{"params": theirs_p[:2]}, {"params": theirs_p[2:]}], **copy.deepcopy(kwargs))
    return ours, ours_p, theirs, theirs_p


def _equal(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x.detach(), y.detach()) for x, y in zip(a, b))


# -- signatures, defaults, keys -----------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_signature_is_torchs_then_our_keyword_only_options(name: str) -> None:
    theirs = list(inspect.signature(getattr(torch.optim, name)).parameters.values())
    ours = list(inspect.signature(to.CLASSES[name]).parameters.values())
    assert [(p.name, p.kind, p.default) for p in ours[: len(theirs)]] == [(p.name, p.kind, p.default) for p in theirs]
    assert [p.name for p in ours[len(theirs):]] == list(OURS_OPTIONS)
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in ours[len(theirs):])


@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_defaults_and_group_keys_are_torchs(name: str) -> None:
    ours = to.CLASSES[name]([torch.zeros(2, requires_grad=True)])
    theirs = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
    assert ours.defaults == theirs.defaults
    assert set(ours.param_groups[0]) == set(theirs.param_groups[0])


def test_positional_arguments_land_where_torchs_do() -> None:
    p = [torch.zeros(2, requires_grad=True)]
    assert to.SGD(p, 0.1, 0.9, 0.1, 0.01, False).defaults == torch.optim.SGD(p, 0.1, 0.9, 0.1, 0.01, False).defaults
    assert to.RMSprop(p, 0.1, 0.5, 1e-6, 0.1, 0.2, True).defaults == \
        torch.optim.RMSprop(p, 0.1, 0.5, 1e-6, 0.1, 0.2, True).defaults
    assert to.Adagrad(p, 0.1, 0.01, 0.1, 0.5, 1e-8).defaults == torch.optim.Adagrad(p, 0.1, 0.01, 0.1, 0.5, 1e-8).defaults


@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_state_keys_are_torchs(name: str) -> None:
    ours, ours_p, theirs, theirs_p = _pair(name, RICH[name])
    _steps(ours, ours_p, 3)
    _steps(theirs, theirs_p, 3)
    assert [set(ours.state[p]) for p in ours_p] == [set(theirs.state[p]) for p in theirs_p] == [STATE_KEYS[name]] * 3
    assert _equal(ours_p, theirs_p)


def test_sgd_without_momentum_keeps_no_state_and_adagrad_makes_its_state_at_once() -> None:
    ours, ours_p, theirs, theirs_p = _pair("SGD", {"lr": 0.1})
    _steps(ours, ours_p, 2)
    _steps(theirs, theirs_p, 2)
    assert ours.state_dict()["state"] == theirs.state_dict()["state"] == {}
    ours, _, theirs, _ = _pair("Adagrad", {"initial_accumulator_value": 0.5})
    mine, torchs = ours.state_dict()["state"], theirs.state_dict()["state"]
    assert mine.keys() == torchs.keys() and all(
        torch.equal(mine[i][k], torchs[i][k]) for i in torchs for k in torchs[i])
    ours.share_memory()
    assert all(ours.state[p]["sum"].is_shared() for group in ours.param_groups for p in group["params"])


# -- checkpoints both ways ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_a_torch_checkpoint_resumes_here_bit_for_bit(name: str) -> None:
    ours, ours_p, theirs, theirs_p = _pair(name, RICH[name])
    _steps(theirs, theirs_p, 4)
    with torch.no_grad():
        for p, q in zip(ours_p, theirs_p):
            p.copy_(q)
    ours.load_state_dict(theirs.state_dict())
    _steps(theirs, theirs_p, 5)
    _steps(ours, ours_p, 5)
    assert _equal(ours_p, theirs_p)


@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_our_checkpoint_resumes_in_torch_bit_for_bit(name: str) -> None:
    ours, ours_p, theirs, theirs_p = _pair(name, RICH[name])
    _steps(ours, ours_p, 4)
    with torch.no_grad():
        for p, q in zip(theirs_p, ours_p):
            p.copy_(q)
    saved = ours.state_dict()
    assert "algorithm" not in saved
    assert all(v.dtype == torch.float32 for entry in saved["state"].values() for k, v in entry.items() if k == "step")
    theirs.load_state_dict(copy.deepcopy(saved))  # (as from a file: torch's load keeps the tensors it is given)
    _steps(theirs, theirs_p, 5)
    _steps(ours, ours_p, 5)
    assert _equal(ours_p, theirs_p)


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad"])
def test_our_checkpoint_loads_into_torchs_fused_kernel(name: str) -> None:
    ours, ours_p, _, theirs_p = _pair(name, RICH[name])
    _steps(ours, ours_p, 3)
    fused = getattr(torch.optim, name)([{"params": theirs_p[:2]}, {"params": theirs_p[2:]}], **RICH[name], fused=True)
    fused.load_state_dict(copy.deepcopy(ours.state_dict()))
    _steps(fused, theirs_p, 2)  # (a few ulp from ours: fused kernels round differently)
    assert all(torch.isfinite(p).all() for p in theirs_p)


@pytest.mark.parametrize("name", sorted(to.CLASSES))
def test_a_state_emptied_by_hand_starts_afresh_as_in_torch(name: str) -> None:
    ours, ours_p, theirs, theirs_p = _pair(name, RICH[name])
    for opt, params in ((ours, ours_p), (theirs, theirs_p)):
        _steps(opt, params, 3)
        opt.state[params[0]] = {}  # (as wrappers that reset torch's state do)
        _steps(opt, params, 3)
    assert _equal(ours_p, theirs_p)
    assert set(ours.state[ours_p[0]]) == set(theirs.state[theirs_p[0]])


@pytest.mark.parametrize(("name", "algorithm", "kwargs"), [
    ("SGD", "momentum", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", "sgd", {"lr": 0.05}),
    ("Adam", "adam", {"lr": 0.01, "amsgrad": True}),
    ("RMSprop", "rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5}),
])
def test_a_descentlab_optim_checkpoint_with_torch_conventions_loads_here(name: str, algorithm: str,
                                                                         kwargs: dict[str, Any]) -> None:
    import descentlab.optim as dl
    from descentlab.engine.torch_names import TORCH_COUNTERPARTS

    ours_of = {theirs: ours for ours, theirs in TORCH_COUNTERPARTS[algorithm].names.items()}
    notes_p, face_p = _params(), _params()
    notes = dl.create(algorithm, notes_p, conventions="torch", **{ours_of[k]: v for k, v in kwargs.items()})
    _steps(notes, notes_p, 3)
    with torch.no_grad():
        for p, q in zip(face_p, notes_p):
            p.copy_(q)
    face = to.CLASSES[name](face_p, **kwargs)
    face.load_state_dict(notes.state_dict())
    _steps(notes, notes_p, 4)
    _steps(face, face_p, 4)
    assert _equal(face_p, notes_p)
    with pytest.raises(ValueError, match="saved by descentlab's 'adagrad'"):
        face.load_state_dict(dl.create("adagrad", _params(), lr=0.1).state_dict())


def test_a_checkpoint_of_an_older_torch_loads_with_the_new_keys_defaulted() -> None:
    ours, ours_p, theirs, theirs_p = _pair("Adam", {"lr": 0.01})
    _steps(theirs, theirs_p, 3)
    saved = copy.deepcopy(theirs.state_dict())
    for group in saved["param_groups"]:
        for key in ("decoupled_weight_decay", "fused", "capturable", "differentiable", "foreach"):
            del group[key]
    for entry in saved["state"].values():
        entry["step"] = float(entry["step"])  # (torch before 1.12)
    with torch.no_grad():
        for p, q in zip(ours_p, theirs_p):
            p.copy_(q)
    ours.load_state_dict(saved)
    assert ours.param_groups[0]["decoupled_weight_decay"] is False and ours.param_groups[0]["fused"] is None
    _steps(theirs, theirs_p, 3)
    _steps(ours, ours_p, 3)
    assert _equal(ours_p, theirs_p)


def test_a_loaded_checkpoint_is_copied_and_counts_in_float64() -> None:
    ours, ours_p, theirs, theirs_p = _pair("Adam", RICH["Adam"])
    _steps(theirs, theirs_p, 2)
    ours.load_state_dict(theirs.state_dict())
    p, q = ours_p[0], theirs_p[0]
    assert ours.state[p]["step"].dtype == torch.float64 and ours.state[p]["step"].item() == 2
    assert ours.state[p]["exp_avg"].data_ptr() != theirs.state[q]["exp_avg"].data_ptr()


# -- schedulers and groups --------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "kwargs"), [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05}),  # momentum 0: OneCycleLR cycles it from 0.95, and the buffer starts then, as torch's
    ("Adam", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
])
def test_one_cycle_with_cycle_momentum_moves_both_alike(name: str, kwargs: dict[str, Any]) -> None:
    ours, ours_p, theirs, theirs_p = _pair(name, kwargs)
    schedulers = [torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=12, cycle_momentum=True)
                  for opt in (ours, theirs)]
    _steps(ours, ours_p, 12, schedulers[0])
    _steps(theirs, theirs_p, 12, schedulers[1])
    key = "betas" if "betas" in ours.defaults else "momentum"
    assert [g[key] for g in ours.param_groups] == [g[key] for g in theirs.param_groups]
    assert _equal(ours_p, theirs_p)


def test_writing_a_group_key_changes_the_rule_as_in_torch() -> None:
    ours, ours_p, theirs, theirs_p = _pair("RMSprop", {"lr": 0.01})
    for opt in (ours, theirs):
        opt.param_groups[1]["alpha"] = 0.5
        opt.param_groups[0]["lr"] = 0.03
    _steps(ours, ours_p, 4)
    _steps(theirs, theirs_p, 4)
    assert _equal(ours_p, theirs_p)


def test_a_tensor_lr_under_a_scheduler() -> None:
    ours, ours_p, theirs, theirs_p = _pair("Adagrad", {"lr": torch.tensor(0.05)})
    schedulers = [torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5) for opt in (ours, theirs)]
    _steps(ours, ours_p, 6, schedulers[0])
    _steps(theirs, theirs_p, 6, schedulers[1])
    assert _equal(ours_p, theirs_p)


# -- torch's implementation flags, our options, refusals -------------------------------------------------

@pytest.mark.parametrize("flags", [{"foreach": False}, {"foreach": True}, {"fused": True}])
def test_foreach_and_fused_are_accepted_and_run_the_default_path(flags: dict[str, Any]) -> None:
    a, a_p, _, _ = _pair("Adam", {"lr": 0.01})
    b_p = _params()
    b = to.Adam([{"params": b_p[:2]}, {"params": b_p[2:]}], lr=0.01, **flags)
    _steps(a, a_p, 3)
    _steps(b, b_p, 3)
    assert _equal(a_p, b_p)
    assert all(g[next(iter(flags))] == next(iter(flags.values())) for g in b.param_groups)


def test_plain_path_is_the_rule_and_close_to_the_default() -> None:
    a_p, b_p = _params(), _params()
    a, b = to.RMSprop(a_p, lr=0.01, centered=True), to.RMSprop(b_p, lr=0.01, centered=True, path="plain")
    _steps(a, a_p, 5)
    _steps(b, b_p, 5)
    assert all(torch.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(a_p, b_p))


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("Adam", {"differentiable": True}, "differentiable=True is not supported"),
    ("Adam", {"capturable": True}, "capturable=True .* is not supported"),
    ("RMSprop", {"capturable": True}, "capturable=True"),
    ("SGD", {"fused": True, "foreach": True}, "cannot be `True` together"),
    ("SGD", {"nesterov": True}, "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", {"momentum": 0.9, "nesterov": True, "dampening": 0.1}, "Nesterov momentum requires"),
    ("RMSprop", {"alpha": 1.5}, "alpha must be in \\[0, 1\\), got 1.5"),
    ("Adam", {"betas": (0.9, 1.0)}, "betas\\[1\\] must be in \\[0, 1\\)"),
    ("Adam", {"path": "fast"}, "path must be one of 'default', 'compiled', 'plain'"),
    ("Adagrad", {"lr": -1.0}, "lr must be >= 0"),
])
def test_refusals_are_one_line(name: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        to.CLASSES[name]([torch.zeros(2, requires_grad=True)], **kwargs)
    assert "\n" not in str(error.value)


def test_unknown_keywords_and_a_bad_added_group_are_refused() -> None:
    with pytest.raises(TypeError):
        to.Adam([torch.zeros(2, requires_grad=True)], gamma=0.9)
    opt = to.RMSprop([torch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="alpha must be in"):
        opt.add_param_group({"params": [torch.zeros(2, requires_grad=True)], "alpha": 2.0})
    assert len(opt.param_groups) == 1


def test_a_group_dict_given_is_not_changed() -> None:
    group = {"params": [torch.zeros(2, requires_grad=True)], "lr": 1}
    to.SGD([group])
    assert set(group) == {"params", "lr"} and group["lr"] == 1


@pytest.mark.slow  # (torch.compile: seconds for the first step)
def test_the_compiled_path_runs_torchs_names() -> None:
    ours, ours_p, theirs, theirs_p = _pair("Adam", RICH["Adam"])
    compiled_p = _params()
    compiled = to.Adam([{"params": compiled_p[:2]}, {"params": compiled_p[2:]}], **RICH["Adam"], path="compiled")
    _steps(compiled, compiled_p, 5)
    _steps(theirs, theirs_p, 5)
    assert all(torch.allclose(x, y, rtol=1e-5, atol=1e-6) for x, y in zip(compiled_p, theirs_p))
    assert set(compiled.state[compiled_p[0]]) == STATE_KEYS["Adam"]


def test_low_precision_parameters_keep_float32_state_under_torchs_keys() -> None:
    p = torch.nn.Parameter(torch.ones(4, dtype=torch.bfloat16))
    opt = to.SGD([p], lr=1e-3, momentum=0.9)
    for _ in range(3):
        p.grad = torch.ones_like(p)
        opt.step()
    assert opt.state[p]["momentum_buffer"].dtype == torch.float32
    assert set(opt.state[p]) == {"momentum_buffer", "compensation"}  # (compensated=False: no compensation entry)
