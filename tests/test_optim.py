"""The ``torch.optim.Optimizer`` classes, driven by the registry.

- equal to torch.optim (float64, 200 steps, several shapes, two parameter groups
  with different hyperparameters, with and without weight decay, maximize);
- the same under StepLR and CosineAnnealingLR;
- state_dict round trips resume bit for bit, float32 and float64;
- the behaviour of a real PyTorch optimizer (grad None, zero_grad, closures,
  p.grad and the caller's objects untouched, dtypes, sparse gradients, create,
  signatures, positional lr, per-group hyperparameters, add_param_group).
"""

from __future__ import annotations

import copy
import inspect
import io
import re
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import torch
from torch import Tensor

from descentlab import optim as dl
from descentlab.algorithms import REGISTRY
from descentlab.engine.torch_names import TORCH_COUNTERPARTS
from helpers import RICH, NoisyQuadratic, grouped, relative_difference

NAMES = tuple(REGISTRY)
STEPS = 200


# A valid, minimal set of arguments per algorithm (the required ones).
BASIC: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.9},
    "adagrad": {"lr": 0.1},
    "rmsprop": {"lr": 0.01},
    "adadelta": {},
    "adam": {"lr": 0.01},
    "yogi": {"lr": 0.01},
}

def test_tables_cover_the_registry() -> None:
    assert set(BASIC) == set(REGISTRY)
    assert set(RICH) == set(REGISTRY)
    # every algorithm torch.optim has; Yogi is the one it lacks (torch_counterpart says so)
    assert set(REGISTRY) - set(TORCH_COUNTERPARTS) == {"yogi"}
    assert {case.name for case in TORCH_CASES} == set(TORCH_COUNTERPARTS)
    assert {case.name for case in SCHEDULED_CASES} == set(TORCH_COUNTERPARTS)
    assert set(dl.CLASSES) == set(REGISTRY)


# ---------------------------------------------------------------------------
# Equivalence with torch.optim.
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchCase:
    """Our class and torch's, with the per-group arguments of each (group 0 also goes to the constructor)."""

    id: str
    name: str
    ours: tuple[dict[str, Any], dict[str, Any]]
    torch_class: type[torch.optim.Optimizer]
    theirs: tuple[dict[str, Any], dict[str, Any]]
    weight_decay: tuple[float, float] = (0.0, 0.0)
    maximize: bool = False

    def with_options(self, weight_decay: tuple[float, float], maximize: bool) -> "TorchCase":
        tag = ("-wd" if any(weight_decay) else "") + ("-max" if maximize else "")
        return TorchCase(self.id + tag, self.name, self.ours, self.torch_class, self.theirs, weight_decay, maximize)

    def group_arguments(self) -> tuple[tuple[dict[str, Any], ...], tuple[dict[str, Any], ...]]:
        extra = [{"weight_decay": wd, "maximize": self.maximize} for wd in self.weight_decay]
        ours = tuple({**o, **e} for o, e in zip(self.ours, extra))
        theirs = tuple({**t, **e} for t, e in zip(self.theirs, extra))
        return ours, theirs


def _same(ours: dict[str, Any], theirs: dict[str, Any] | None = None):
    return ours, (dict(ours) if theirs is None else theirs)


def _case(id: str, name: str, torch_class: type, g0: tuple, g1: tuple) -> TorchCase:
    return TorchCase(id, name, (g0[0], g1[0]), torch_class, (g0[1], g1[1]))


S = torch.optim
BASE_CASES = [
    _case("sgd", "sgd", S.SGD, _same({"lr": 0.1}), _same({"lr": 0.03})),
    *[
        _case(f"momentum-{form}{'-nesterov' if nesterov else ''}", "momentum", S.SGD,
              ({"lr": 0.05, "momentum": 0.9, "form": form, "nesterov": nesterov},
               {"lr": 0.05, "momentum": 0.9, "nesterov": nesterov}),
              ({"lr": 0.02, "momentum": 0.5, "form": form, "nesterov": nesterov},
               {"lr": 0.02, "momentum": 0.5, "nesterov": nesterov}))
        for form in ("velocity", "torch", "ema")
        for nesterov in (False, True)
    ],
    _case("momentum-torch-dampening", "momentum", S.SGD,
          ({"lr": 0.05, "momentum": 0.9, "form": "torch", "dampening": 0.3},
           {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
          ({"lr": 0.02, "momentum": 0.5, "form": "torch", "dampening": 0.8},
           {"lr": 0.02, "momentum": 0.5, "dampening": 0.8})),
    _case("adagrad", "adagrad", S.Adagrad,
          ({"lr": 0.1, "eps": 1e-10, "eps_in_sqrt": False}, {"lr": 0.1}),
          ({"lr": 0.3, "eps": 1e-10, "eps_in_sqrt": False}, {"lr": 0.3})),
    # torch.optim.Adagrad fills every group's accumulator with the *constructor's*
    # initial_accumulator_value (a per-group value is ignored), so both groups use one value here.
    _case("adagrad-lr_decay-initial", "adagrad", S.Adagrad,
          ({"lr": 0.1, "eps": 1e-10, "eps_in_sqrt": False, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
           {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
          ({"lr": 0.3, "eps": 1e-10, "eps_in_sqrt": False, "lr_decay": 0.1, "initial_accumulator_value": 0.1},
           {"lr": 0.3, "lr_decay": 0.1, "initial_accumulator_value": 0.1})),
    *[
        _case(f"rmsprop{'-centered' if centered else ''}{'-momentum' if momentum else ''}", "rmsprop", S.RMSprop,
              ({"lr": 0.01, "gamma": 0.99, "eps": 1e-8, "eps_in_sqrt": False, "centered": centered,
                "momentum": momentum},
               {"lr": 0.01, "centered": centered, "momentum": momentum}),
              ({"lr": 0.003, "gamma": 0.9, "eps": 1e-8, "eps_in_sqrt": False, "centered": centered,
                "momentum": momentum / 2},
               {"lr": 0.003, "alpha": 0.9, "centered": centered, "momentum": momentum / 2}))
        for centered in (False, True)
        for momentum in (0.0, 0.8)
    ],
    _case("adadelta", "adadelta", S.Adadelta,
          _same({"eps": 1e-6}, {}), _same({"eps": 1e-6, "rho": 0.95}, {"rho": 0.95})),
    _case("adadelta-lr", "adadelta", S.Adadelta,
          _same({"eps": 1e-6, "lr": 0.5}, {"lr": 0.5}), _same({"eps": 1e-6, "lr": 2.0, "rho": 0.8}, {"lr": 2.0, "rho": 0.8})),
    *[
        _case(f"adam{'-amsgrad' if amsgrad else ''}", "adam", S.Adam,
              ({"lr": 0.01, "eps": 1e-8, "amsgrad": amsgrad}, {"lr": 0.01, "amsgrad": amsgrad}),
              ({"lr": 0.03, "eps": 1e-8, "betas": (0.8, 0.99), "amsgrad": amsgrad},
               {"lr": 0.03, "betas": (0.8, 0.99), "amsgrad": amsgrad}))
        for amsgrad in (False, True)
    ],
]
# AdamW: decoupled weight decay is the whole point, so it always has weight decay.
ADAMW_CASES = [
    TorchCase(f"adamw{'-amsgrad' if amsgrad else ''}{'-max' if maximize else ''}", "adam",
              ({"lr": 0.01, "eps": 1e-8, "decoupled_weight_decay": True, "amsgrad": amsgrad},
               {"lr": 0.03, "eps": 1e-8, "decoupled_weight_decay": True, "amsgrad": amsgrad, "betas": (0.8, 0.99)}),
              S.AdamW,
              ({"lr": 0.01, "amsgrad": amsgrad}, {"lr": 0.03, "amsgrad": amsgrad, "betas": (0.8, 0.99)}),
              weight_decay=(0.01, 0.2), maximize=maximize)
    for amsgrad in (False, True)
    for maximize in (False, True)
]
TORCH_CASES = [
    variant
    for case in BASE_CASES
    for variant in (
        case,
        case.with_options((0.01, 0.1), maximize=False),
        case.with_options((0.01, 0.1), maximize=True),
    )
] + ADAMW_CASES


def run_pair(case: TorchCase, schedule: Callable[[torch.optim.Optimizer], Any] | None = None,
             steps: int = STEPS, seed: int = 10) -> list[float]:
    """Run ours and torch's side by side; the relative difference after every step."""
    problem = NoisyQuadratic(seed, steps, sign=-1.0 if case.maximize else 1.0)
    ours_kwargs, theirs_kwargs = case.group_arguments()
    ours_params, theirs_params = problem.parameters(), problem.parameters()
    ours = dl.CLASSES[case.name](grouped(ours_params, ours_kwargs), **ours_kwargs[0])
    theirs = case.torch_class(grouped(theirs_params, theirs_kwargs), **theirs_kwargs[0])
    schedulers = [schedule(ours), schedule(theirs)] if schedule else []
    differences = []
    for t in range(steps):
        problem.set_gradients(t, ours_params)
        problem.set_gradients(t, theirs_params)
        given = [p.grad.clone() for p in ours_params]
        ours.step()
        theirs.step()
        assert all(torch.equal(p.grad, g) for p, g in zip(ours_params, given)), "p.grad was modified"
        for scheduler in schedulers:
            scheduler.step()
        differences.append(relative_difference(ours_params, theirs_params))
    moved = min(relative_difference(q, x) for q, x in zip(theirs_params, problem.start))
    assert moved > 1e-3, "the parameters hardly moved; the comparison would prove little"
    for g0, g1 in zip(*(opt.param_groups for opt in (ours, theirs))):
        assert g0["lr"] == g1["lr"]
    return differences


@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.id)
def test_matches_torch_optim(case: TorchCase) -> None:
    differences = run_pair(case)
    assert max(differences) <= 1e-12, f"worst relative difference {max(differences):.3g}"


def test_the_torch_comparison_can_fail() -> None:
    """Guard: with the notes' eps (inside the root) AdaGrad is measurably not torch's Adagrad."""
    case = _case("adagrad-notes", "adagrad", S.Adagrad, ({"lr": 0.1}, {"lr": 0.1}), ({"lr": 0.3}, {"lr": 0.3}))
    assert max(run_pair(case, steps=20)) > 1e-9


def test_ema_form_equals_velocity_form() -> None:
    """Two groups, weight decay, Nesterov in one group: the EMA form follows the velocity form."""
    problem = NoisyQuadratic(11, STEPS)
    runs = {}
    for form in ("velocity", "ema"):
        params = problem.parameters()
        groups = grouped(params, ({"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01},
                                  {"lr": 0.02, "momentum": 0.5, "nesterov": True}))
        opt = dl.Momentum(groups, lr=0.05, momentum=0.9, form=form)
        for t in range(STEPS):
            problem.set_gradients(t, params)
            opt.step()
        runs[form] = params
    assert relative_difference(runs["ema"], runs["velocity"]) <= 1e-12
    for q, x in zip(runs["velocity"], problem.start):
        assert relative_difference(q, x) > 1e-3


# ---------------------------------------------------------------------------
# Learning-rate schedulers on both sides.
# ---------------------------------------------------------------------------

SCHEDULES = {
    "StepLR": lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=50, gamma=0.5),
    "CosineAnnealingLR": lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS, eta_min=1e-4),
}


def _find(case_id: str) -> TorchCase:
    return next(c for c in TORCH_CASES if c.id == case_id)


# Momentum in form "torch" (and "ema", which applies the current lr to the whole buffer too).
SCHEDULED_CASES = [
    _find(i)
    for i in (
        "sgd-wd", "momentum-torch-wd", "momentum-torch-nesterov", "momentum-torch-dampening-wd",
        "momentum-ema-wd", "adagrad-lr_decay-initial-wd", "rmsprop-centered-momentum-wd", "adadelta-lr-wd",
        "adam-amsgrad-wd-max", "adamw",
    )
]


@pytest.mark.parametrize("schedule", list(SCHEDULES))
@pytest.mark.parametrize("case", SCHEDULED_CASES, ids=lambda c: c.id)
def test_matches_torch_optim_under_a_scheduler(case: TorchCase, schedule: str) -> None:
    differences = run_pair(case, SCHEDULES[schedule])
    assert max(differences) <= 1e-12, f"worst relative difference {max(differences):.3g}"


def test_velocity_form_differs_from_torch_once_lr_changes() -> None:
    """Documented: the velocity buffer keeps the old learning rates, torch's buffer does not."""
    differences = run_pair(_find("momentum-velocity"), SCHEDULES["StepLR"])
    assert max(differences[:50]) <= 1e-12  # constant lr: the same trajectory
    assert differences[60] > 1e-6  # after the first decay at step 50 they part


# ---------------------------------------------------------------------------
# Checkpoints: 50 steps, save, fresh optimizer, load, 50 more == 100 steps.
# ---------------------------------------------------------------------------

CHECKPOINT_CONFIGS = [
    pytest.param(name, kwargs, id=f"{name}-{label}")
    for name in NAMES
    for label, kwargs in (("basic", BASIC[name]), ("rich", RICH[name]))
]


def _save_and_load(state_dict: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state_dict, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name, kwargs", CHECKPOINT_CONFIGS)
def test_checkpoint_resumes_bit_for_bit(name: str, kwargs: dict[str, Any], dtype: torch.dtype) -> None:
    problem = NoisyQuadratic(12, 100, sign=-1.0 if kwargs.get("maximize") else 1.0)
    lr = kwargs.get("lr", 1.0)

    def build(params: list[Tensor], lr_factor: float = 1.0) -> dl.RuleOptimizer:
        first_group = {**kwargs, "lr": lr * lr_factor}
        second_group = {**kwargs, "lr": 0.5 * lr * lr_factor}
        return dl.CLASSES[name](grouped(params, (first_group, second_group)), **first_group)

    straight = problem.parameters(dtype)
    opt = build(straight)
    for t in range(100):
        problem.set_gradients(t, straight)
        opt.step()

    first = problem.parameters(dtype)
    opt1 = build(first)
    for t in range(50):
        problem.set_gradients(t, first)
        opt1.step()
    saved = _save_and_load(opt1.state_dict())
    assert saved["algorithm"] == name
    resumed = [torch.nn.Parameter(p.detach().clone()) for p in first]
    opt2 = build(resumed, lr_factor=3.0)  # built with other learning rates: the loaded groups must win
    opt2.load_state_dict(saved)
    for t in range(50, 100):
        problem.set_gradients(t, resumed)
        opt2.step()

    for p, q, x in zip(resumed, straight, problem.start):
        assert p.dtype == dtype
        assert torch.equal(p.detach(), q.detach())
        assert not torch.equal(q.detach(), x.to(dtype))
    for p, q in zip(resumed, straight):
        mine, reference = opt2.state[p], opt.state[q]
        assert mine.keys() == reference.keys()
        for key in reference:
            assert torch.equal(mine[key], reference[key]), key
            assert mine[key].dtype == (torch.float64 if key == "step" else dtype), key
    assert [g["lr"] for g in opt2.param_groups] == [lr, 0.5 * lr]


@pytest.mark.parametrize("name", NAMES)
def test_a_state_dict_without_the_algorithm_tag_still_loads(name: str) -> None:
    """A plain torch-format state dict (no "algorithm" key) of the same algorithm is accepted."""
    p, q = (torch.nn.Parameter(torch.tensor([1.0, 2.0])) for _ in range(2))
    opt = dl.create(name, [p], **RICH[name])
    p.grad = torch.tensor([0.5, -0.5])
    opt.step()
    untagged = {k: v for k, v in opt.state_dict().items() if k != "algorithm"}
    other = dl.create(name, [q], **BASIC[name])
    other.load_state_dict(untagged)
    assert other.param_groups[0]["maximize"] is RICH[name]["maximize"]
    assert torch.equal(other.state[q]["step"], opt.state[p]["step"])


@pytest.mark.parametrize(
    "saved_by, loaded_by",
    [pytest.param(a, b, id=f"{a}-into-{b}") for a in NAMES for b in NAMES if a != b],
)
def test_loading_another_algorithms_state_is_a_value_error(saved_by: str, loaded_by: str) -> None:
    source = torch.nn.Parameter(torch.ones(3))
    opt = dl.create(saved_by, [source], **BASIC[saved_by])
    source.grad = torch.ones(3)
    opt.step()
    target = torch.nn.Parameter(torch.ones(3))
    other = dl.create(loaded_by, [target], **BASIC[loaded_by])
    before = copy.deepcopy(other.state_dict())
    with pytest.raises(ValueError, match="different"):
        other.load_state_dict(opt.state_dict())
    after = other.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"] == before["state"] == {}


# ---------------------------------------------------------------------------
# Behaving like a real PyTorch optimizer.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_parameters_without_gradient_are_skipped(name: str) -> None:
    with_grad = torch.nn.Parameter(torch.ones(3))
    without = torch.nn.Parameter(torch.full((2,), 2.0))
    opt = dl.create(name, [with_grad, without], **BASIC[name])
    with_grad.grad = torch.full((3,), 0.5)
    for _ in range(3):
        opt.step()
    assert without.grad is None
    assert torch.equal(without.detach(), torch.full((2,), 2.0))
    assert without not in opt.state or not opt.state[without]
    assert not torch.equal(with_grad.detach(), torch.ones(3))
    assert opt.state[with_grad]["step"].item() == 3


@pytest.mark.parametrize("name", NAMES)
def test_zero_grad(name: str) -> None:
    p = torch.nn.Parameter(torch.ones(3))
    opt = dl.create(name, [p], **BASIC[name])
    (p * p).sum().backward()
    opt.step()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and torch.equal(p.grad, torch.zeros(3))
    (p * p).sum().backward()
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("name", NAMES)
def test_step_with_a_closure_returns_its_loss(name: str) -> None:
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = dl.create(name, [p], **BASIC[name])
    calls = []

    def closure() -> Tensor:
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()  # needs grad mode, which step() must re-enable
        calls.append(loss.item())
        return loss

    loss = opt.step(closure)
    assert calls == [5.0]
    assert isinstance(loss, Tensor) and loss.item() == 5.0
    assert not torch.equal(p.detach(), torch.tensor([1.0, -2.0]))
    assert opt.step() is None


@pytest.mark.parametrize("name", NAMES)
def test_the_callers_gradient_and_arguments_are_not_modified(name: str) -> None:
    kwargs = {k: (list(v) if isinstance(v, tuple) else v) for k, v in RICH[name].items()}  # betas as a list
    kwargs_copy = copy.deepcopy(kwargs)
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))
    q = torch.nn.Parameter(torch.tensor([0.5], dtype=torch.float64))
    group = {"params": [q], "lr": 0.5 * kwargs.get("lr", 1.0)}
    group_copy = {"params": [q], "lr": group["lr"]}
    opt = dl.create(name, [{"params": [p]}, group], **kwargs)
    gen = torch.Generator().manual_seed(13)
    for _ in range(3):
        p.grad = torch.randn(3, generator=gen, dtype=torch.float64)
        q.grad = torch.randn(1, generator=gen, dtype=torch.float64)
        grads = (p.grad.clone(), q.grad.clone())
        grad_objects = (p.grad, q.grad)
        opt.step()
        assert p.grad is grad_objects[0] and q.grad is grad_objects[1]
        assert torch.equal(p.grad, grads[0]) and torch.equal(q.grad, grads[1])
    assert kwargs == kwargs_copy
    assert group.keys() == group_copy.keys() and group["lr"] == group_copy["lr"]
    assert group["params"] == [q] and isinstance(group["params"], list)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_dtypes(name: str, dtype: torch.dtype) -> None:
    """Every path of every algorithm keeps the parameter's dtype, for a matrix and for a 0-dim parameter."""
    gen = torch.Generator().manual_seed(14)
    starts = [torch.randn(4, 3, generator=gen).to(dtype), torch.randn((), generator=gen).to(dtype)]
    params = [torch.nn.Parameter(x.clone()) for x in starts]
    opt = dl.create(name, params, **RICH[name])
    for _ in range(5):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen).to(dtype)
        opt.step()
    for p, start in zip(params, starts):
        assert p.dtype == dtype
        assert torch.isfinite(p.detach()).all()
        assert not torch.equal(p.detach(), start)
        for key, value in opt.state[p].items():
            # low precision: the rule's state is float32, the kept rounding error is in the parameter's dtype
            state_dtype = torch.float32 if dtype == torch.bfloat16 and key != "compensation" else dtype
            assert value.dtype == (torch.float64 if key == "step" else state_dtype), key


@pytest.mark.parametrize("name", NAMES)
def test_sparse_gradients_are_a_runtime_error(name: str) -> None:
    p = torch.nn.Parameter(torch.ones(5))
    opt = dl.create(name, [p], **BASIC[name])
    p.grad = torch.sparse_coo_tensor(torch.tensor([[1, 3]]), torch.tensor([0.5, -0.5]), (5,), check_invariants=True)
    with pytest.raises(RuntimeError, match="sparse gradients"):
        opt.step()
    assert torch.equal(p.detach(), torch.ones(5))


def test_sparse_gradients_from_an_embedding() -> None:
    embedding = torch.nn.Embedding(10, 3, sparse=True)
    opt = dl.Adam(embedding.parameters(), lr=0.01)
    embedding(torch.tensor([1, 2])).sum().backward()
    with pytest.raises(RuntimeError, match=r"Adam does not support sparse gradients.*sparse=False"):
        opt.step()


def test_create_builds_every_class_by_name() -> None:
    p = torch.nn.Parameter(torch.ones(2))
    opt = dl.create("adam", [p], lr=0.01)
    assert type(opt) is dl.Adam and opt.defaults["lr"] == 0.01 and opt.defaults["eps"] == 1e-6
    for name in NAMES:
        assert type(dl.create(name, [p], **BASIC[name])) is dl.CLASSES[name]


@pytest.mark.parametrize("bad_name", ["nope", "Adam", "", None])
def test_create_with_an_unknown_name_lists_the_names(bad_name: Any) -> None:
    with pytest.raises(ValueError, match=r"unknown algorithm .*" + re.escape(", ".join(REGISTRY))):
        dl.create(bad_name, [torch.nn.Parameter(torch.ones(2))], lr=0.1)


@pytest.mark.parametrize("name", NAMES)
def test_signature_shows_the_registry_table(name: str) -> None:
    spec = REGISTRY[name]
    signature = inspect.signature(dl.CLASSES[name])
    parameters = list(signature.parameters.values())
    assert [p.name for p in parameters] == ["params", *spec.names, "fused", "skip_nonfinite", "compensated", "conventions"]
    options = parameters[-4:]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in options)
    assert [p.default for p in options] == [None, False, True, None]
    for parameter, hyperparameter in zip(parameters[1:], spec.hyperparameters):
        expected = inspect.Parameter.empty if hyperparameter.required else hyperparameter.default
        assert parameter.default == expected, parameter.name
    assert dl.CLASSES[name].__doc__  # the math is in the docstring


def test_adam_signature_text() -> None:
    text = str(inspect.signature(dl.Adam))
    assert text.startswith("(params, lr, *, betas=(0.9, 0.999), eps=1e-06, amsgrad=False, weight_decay=0.0,")
    assert "decoupled_weight_decay=False" in text and "maximize=False" in text


def test_positional_learning_rate() -> None:
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = dl.SGD([p], 0.1)
    assert opt.defaults["lr"] == 0.1
    p.grad = torch.tensor([0.5], dtype=torch.float64)
    opt.step()
    assert p.item() == 0.95
    m = dl.Momentum([torch.nn.Parameter(torch.ones(1))], 0.1, momentum=0.9, form="ema")
    assert (m.defaults["lr"], m.defaults["momentum"], m.defaults["form"]) == (0.1, 0.9, "ema")
    with pytest.raises(TypeError, match="multiple values"):
        dl.SGD([p], 0.1, lr=0.2)


@pytest.mark.parametrize("name", NAMES)
def test_per_group_hyperparameters_are_honoured(name: str) -> None:
    """Three groups from the same start: lr 0 stays put, the others move by different amounts."""
    start = torch.tensor([1.0, -1.0], dtype=torch.float64)
    params = [torch.nn.Parameter(start.clone()) for _ in range(3)]
    lr = RICH[name].get("lr", 1.0)
    groups = [{"params": [params[0]], "lr": 0.0}, {"params": [params[1]]}, {"params": [params[2]], "lr": lr / 4}]
    opt = dl.create(name, groups, **RICH[name])
    assert [g["lr"] for g in opt.param_groups] == [0.0, lr, lr / 4]
    for _ in range(3):
        for p in params:
            p.grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
        opt.step()
    assert torch.equal(params[0].detach(), start)
    far, near = ((params[i].detach() - start).abs().sum().item() for i in (1, 2))
    assert far > near > 0


def test_per_group_hyperparameters_match_separate_optimizers() -> None:
    """A group's own betas/eps are used, not the defaults: same result as a separate optimizer."""
    p, q = (torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64)) for _ in range(2))
    together = dl.Adam([{"params": [p]}, {"params": [q], "betas": (0.5, 0.9), "eps": 1e-3}], lr=0.1)
    r = torch.nn.Parameter(torch.tensor([1.0, -1.0], dtype=torch.float64))
    alone = dl.Adam([r], lr=0.1, betas=(0.5, 0.9), eps=1e-3)
    for t in range(5):
        for x in (p, q, r):
            x.grad = torch.tensor([0.5, -0.25 * t], dtype=torch.float64)
        together.step()
        alone.step()
    assert torch.equal(q.detach(), r.detach())
    assert not torch.equal(p.detach(), q.detach())


@pytest.mark.parametrize(
    "name, group, pattern",
    [
        ("sgd", {"lr": -0.1}, r"lr must be >= 0, got -0\.1"),
        ("momentum", {"momentum": 1.0}, r"momentum must be in \[0, 1\), got 1"),
        ("momentum", {"dampening": 0.5}, r"dampening is only used with form='torch'"),
        ("adagrad", {"eps": float("inf")}, r"eps must be finite, got inf"),
        ("rmsprop", {"gamma": 1.5}, r"gamma must be in \[0, 1\), got 1\.5"),
        ("adadelta", {"rho": -0.1}, r"rho must be in \[0, 1\), got -0\.1"),
        ("adam", {"betas": (0.9, 1.0)}, r"betas\[1\] must be in \[0, 1\), got 1"),
        ("adam", {"amsgrad": 1}, r"amsgrad must be True or False, got 1"),
    ],
)
def test_add_param_group_validates(name: str, group: dict[str, Any], pattern: str) -> None:
    opt = dl.create(name, [torch.nn.Parameter(torch.ones(2))], **BASIC[name])
    extra = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(ValueError, match=pattern):
        opt.add_param_group({"params": [extra], **group})
    assert len(opt.param_groups) == 1
    # the same group given to the constructor is refused too
    with pytest.raises(ValueError, match=pattern):
        dl.create(name, [{"params": [extra], **group}], **BASIC[name])


def test_add_param_group_normalises_and_fills_defaults() -> None:
    opt = dl.Adam([torch.nn.Parameter(torch.ones(2))], lr=0.01)
    betas = [0.5, 0.9]
    opt.add_param_group({"params": [torch.nn.Parameter(torch.ones(2))], "betas": betas, "lr": 1})
    group = opt.param_groups[1]
    assert group["betas"] == (0.5, 0.9) and isinstance(group["betas"], tuple)
    assert group["lr"] == 1.0 and group["eps"] == 1e-6
    assert betas == [0.5, 0.9]


def test_optimizer_is_a_torch_optimizer_and_works_with_a_model() -> None:
    """The README's drop-in use: a real training loop on a tiny regression problem."""
    gen = torch.Generator().manual_seed(15)
    torch.manual_seed(15)
    features = torch.randn(64, 3, generator=gen)
    targets = features @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = torch.nn.Linear(3, 1)
    opt = dl.Adam(model.parameters(), lr=0.05)
    assert isinstance(opt, torch.optim.Optimizer)
    first = None
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(features), targets)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 1e-3 < first


@pytest.mark.parametrize("saved_by", [n for n in NAMES if n != "sgd"])
def test_untagged_state_of_a_stateful_algorithm_does_not_load_into_sgd(saved_by: str) -> None:
    """Without the "algorithm" tag, the per-parameter state's names still give the impostor away."""
    source = torch.nn.Parameter(torch.ones(3))
    opt = dl.create(saved_by, [source], **BASIC[saved_by])
    source.grad = torch.ones(3)
    opt.step()
    untagged = {k: v for k, v in opt.state_dict().items() if k != "algorithm"}
    target = torch.nn.Parameter(torch.ones(3))
    with pytest.raises(ValueError, match="which sgd never keeps"):
        dl.create("sgd", [target], lr=0.1).load_state_dict(untagged)


def test_torch_form_with_zero_momentum_ignores_dampening_like_torch() -> None:
    ours = torch.nn.Parameter(torch.tensor([1.0, -2.0], dtype=torch.float64))
    theirs = torch.nn.Parameter(ours.detach().clone())
    a = dl.Momentum([ours], lr=0.1, momentum=0.0, form="torch", dampening=0.7)
    b = torch.optim.SGD([theirs], lr=0.1, momentum=0.0, dampening=0.7)
    for step in range(5):
        ours.grad = torch.tensor([0.5, 0.25 * step], dtype=torch.float64)
        theirs.grad = ours.grad.clone()
        a.step()
        b.step()
    assert torch.equal(ours, theirs)
