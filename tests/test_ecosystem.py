"""descentlab's optimizers inside the rest of the PyTorch ecosystem.

- every ``torch.optim.lr_scheduler`` scheduler drives our classes exactly as it
  drives the torch.optim counterpart (float64, relative difference <= 1e-12 after
  every step, the same learning rates and momenta), including OneCycleLR's and
  CyclicLR's momentum / beta1 cycling and ReduceLROnPlateau (StepLR and
  CosineAnnealingLR on every registry configuration are in test_optim.py);
- a training step that contains ``optimizer.step()``, compiled with
  ``torch.compile`` (Inductor), gives the eager result;
- model + optimizer checkpoints resume bit for bit in bfloat16, float32 and
  float64; state dicts that do not fit the optimizer are refused with a clear error;
- non-finite gradients propagate exactly as in torch.optim (documented in the README),
  and ``descentlab train`` reports the step where the loss stopped being finite.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import math
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.optim import lr_scheduler as sched

import descentlab.optim as dl
from descentlab.algorithms import REGISTRY
from descentlab.engine.torch_names import TORCH_COUNTERPARTS
from descentlab.cli import main
from descentlab.cli.train_cmd import report_lines
from descentlab.airfoil.data import load_airfoil
from descentlab.airfoil.train import train
from helpers import RICH, NoisyQuadratic, grouped, relative_difference

NAMES = tuple(REGISTRY)

# ---------------------------------------------------------------------------
# Schedulers.
# ---------------------------------------------------------------------------

SCHEDULED_STEPS = 100


@dataclass(frozen=True)
class Counterpart:
    """Our class with the arguments that make it compute what the torch.optim class computes."""

    name: str
    ours: dict[str, Any]
    torch_class: type[torch.optim.Optimizer]
    theirs: dict[str, Any]


COUNTERPARTS = [
    Counterpart("sgd", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
    Counterpart("momentum", {"lr": 0.05, "momentum": 0.9, "form": "torch"}, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
    Counterpart("adagrad", {"lr": 0.1, "eps": 1e-10, "eps_in_sqrt": False}, torch.optim.Adagrad, {"lr": 0.1}),
    Counterpart("rmsprop", {"lr": 0.01, "gamma": 0.99, "eps": 1e-8, "eps_in_sqrt": False}, torch.optim.RMSprop, {"lr": 0.01}),
    Counterpart("adadelta", {"eps": 1e-6}, torch.optim.Adadelta, {}),
    Counterpart("adam", {"lr": 0.01, "eps": 1e-8}, torch.optim.Adam, {"lr": 0.01}),
]


def cycles_momentum(opt: torch.optim.Optimizer) -> bool:
    """OneCycleLR/CyclicLR cycle ``momentum`` or ``betas[0]`` when our class has one.

    (torch.optim.SGD always has a ``momentum`` entry, 0 by default, and cycling it would
    turn plain SGD into momentum SGD; our SGD has none, so both sides leave it off.)
    """
    return "momentum" in opt.defaults or "betas" in opt.defaults


def _initial_lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [group["lr"] for group in opt.param_groups]


Factory = Callable[[torch.optim.Optimizer, bool], Any]
N = SCHEDULED_STEPS
SCHEDULERS: dict[str, Factory] = {
    "MultiStepLR": lambda opt, cyc: sched.MultiStepLR(opt, milestones=[20, 50, 80], gamma=0.3),
    "OneCycleLR": lambda opt, cyc: sched.OneCycleLR(opt, max_lr=[4 * lr for lr in _initial_lrs(opt)], total_steps=N,
                                                   cycle_momentum=cyc),
    "OneCycleLR-linear": lambda opt, cyc: sched.OneCycleLR(opt, max_lr=_initial_lrs(opt), total_steps=N, pct_start=0.4,
                                                          anneal_strategy="linear", three_phase=True, cycle_momentum=cyc),
    "ReduceLROnPlateau": lambda opt, cyc: sched.ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=2, threshold=0.1),
    "LinearLR": lambda opt, cyc: sched.LinearLR(opt, start_factor=0.1, total_iters=30),
    "SequentialLR": lambda opt, cyc: sched.SequentialLR(
        opt, [sched.LinearLR(opt, start_factor=0.2, total_iters=20), sched.CosineAnnealingLR(opt, T_max=N - 20)], milestones=[20]
    ),
    "CyclicLR": lambda opt, cyc: sched.CyclicLR(opt, base_lr=[lr / 10 for lr in _initial_lrs(opt)], max_lr=_initial_lrs(opt),
                                               step_size_up=15, mode="triangular2", cycle_momentum=cyc),
    "ExponentialLR": lambda opt, cyc: sched.ExponentialLR(opt, gamma=0.97),
    "PolynomialLR": lambda opt, cyc: sched.PolynomialLR(opt, total_iters=N, power=2.0),
    "CosineAnnealingWarmRestarts": lambda opt, cyc: sched.CosineAnnealingWarmRestarts(opt, T_0=15, T_mult=2, eta_min=1e-4),
    "ConstantLR": lambda opt, cyc: sched.ConstantLR(opt, factor=0.25, total_iters=40),
    "LambdaLR": lambda opt, cyc: sched.LambdaLR(opt, lambda t: 1 / (1 + 0.05 * t)),
    "MultiplicativeLR": lambda opt, cyc: sched.MultiplicativeLR(opt, lambda t: 0.98),
    "ChainedScheduler": lambda opt, cyc: sched.ChainedScheduler(
        [sched.ConstantLR(opt, factor=0.5, total_iters=10), sched.ExponentialLR(opt, gamma=0.98)]
    ),
}
CYCLING = ("OneCycleLR", "OneCycleLR-linear", "CyclicLR")


def _momenta(opt: torch.optim.Optimizer) -> list[Any]:
    return [group.get("momentum", group.get("betas")) for group in opt.param_groups]


def _run_scheduled(case: Counterpart, schedule: str) -> dict[str, Any]:
    problem = NoisyQuadratic(20, SCHEDULED_STEPS)
    ours_params, theirs_params = problem.parameters(), problem.parameters()
    second = {"lr": 0.5 * case.ours.get("lr", 1.0)}
    ours = dl.create(case.name, grouped(ours_params, ({}, second)), **case.ours)
    theirs = case.torch_class(grouped(theirs_params, ({}, second)), **case.theirs)
    cycle = cycles_momentum(ours)
    ours_scheduler, theirs_scheduler = (SCHEDULERS[schedule](opt, cycle) for opt in (ours, theirs))
    lrs, momenta, differences = set(), [], []
    for t in range(SCHEDULED_STEPS):
        problem.set_gradients(t, ours_params)
        problem.set_gradients(t, theirs_params)
        ours.step()
        theirs.step()
        if isinstance(ours_scheduler, sched.ReduceLROnPlateau):
            # the monitored quantity, computed once (from torch's side) and given to both
            metric = sum(float((p.detach() ** 2).sum()) for p in theirs_params)
            ours_scheduler.step(metric)
            theirs_scheduler.step(metric)
        else:
            ours_scheduler.step()
            theirs_scheduler.step()
        assert _initial_lrs(ours) == _initial_lrs(theirs), f"step {t}: the learning rates differ"
        if cycle:
            assert _momenta(ours) == _momenta(theirs), f"step {t}: the momenta differ"
        lrs.add(tuple(_initial_lrs(ours)))
        momenta.append(_momenta(ours))
        differences.append(relative_difference(ours_params, theirs_params))
    moved = min(relative_difference(q, x) for q, x in zip(theirs_params, problem.start))
    return {"differences": differences, "lrs": lrs, "momenta": momenta, "moved": moved, "cycle": cycle}


def test_scheduler_table_covers_the_registry() -> None:
    assert set(REGISTRY) - set(TORCH_COUNTERPARTS) == {"yogi"}  # torch.optim has no Yogi
    assert {c.name for c in COUNTERPARTS} == set(TORCH_COUNTERPARTS)


@pytest.mark.parametrize("schedule", list(SCHEDULERS))
@pytest.mark.parametrize("case", COUNTERPARTS, ids=lambda c: c.name)
def test_schedulers_drive_ours_as_they_drive_torch_optim(case: Counterpart, schedule: str) -> None:
    run = _run_scheduled(case, schedule)
    assert max(run["differences"]) <= 1e-12, f"worst relative difference {max(run['differences']):.3g}"
    assert run["moved"] > 1e-3, "the parameters hardly moved; the comparison would prove little"
    assert len(run["lrs"]) > 1, "the scheduler never changed the learning rate"
    if schedule in CYCLING and run["cycle"]:
        assert len({repr(m) for m in run["momenta"]}) > 2, "the momentum / beta1 never cycled"


def test_one_cycle_cycles_momentum_and_beta1_of_ours() -> None:
    """Which of our classes OneCycleLR can cycle: those with a momentum or betas entry."""
    cycled = {c.name for c in COUNTERPARTS if _run_scheduled(c, "OneCycleLR")["cycle"]}
    assert cycled == {"momentum", "rmsprop", "adam"}
    with pytest.raises(ValueError, match="momentum"):  # our plain SGD has no momentum to cycle
        sched.OneCycleLR(dl.SGD([nn.Parameter(torch.ones(2))], lr=0.1), max_lr=0.1, total_steps=10)


# ---------------------------------------------------------------------------
# torch.compile.
# ---------------------------------------------------------------------------

COMPILER = next((shutil.which(c) for c in ("c++", "g++", "clang++") if shutil.which(c)), None)
# Compiling costs seconds (measured on two cores with an empty Inductor cache: 16 s for the first
# algorithm, Inductor's start-up included, 5 s for the second; about 8 s and 5 s with a warm
# cache), so two algorithms with different state: Adam (m, v, a float64 step in the bias
# corrections) and AdaGrad with lr_decay (the step counter inside the learning rate).
COMPILED = {"adam": {"lr": 0.01, "amsgrad": True}, "adagrad": {"lr": 0.1, "lr_decay": 0.01}}


def _model(dtype: torch.dtype = torch.float64, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).to(dtype)


def _batches(n: int, dtype: torch.dtype = torch.float64) -> list[tuple[Tensor, Tensor]]:
    gen = torch.Generator().manual_seed(3)
    return [(torch.randn(16, 4, generator=gen).to(dtype), torch.randn(16, 1, generator=gen).to(dtype)) for _ in range(n)]


def _training_step(model: nn.Module, opt: torch.optim.Optimizer) -> Callable[[Tensor, Tensor], Tensor]:
    def step(X: Tensor, y: Tensor) -> Tensor:
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        opt.step()
        return loss.detach()

    return step


@pytest.mark.skipif(COMPILER is None, reason="torch.compile's CPU backend (Inductor) needs a C++ compiler (c++, g++ or clang++); none is installed")
@pytest.mark.parametrize("name", list(COMPILED))
def test_a_compiled_training_step_equals_eager(name: str) -> None:
    import torch._dynamo

    torch._dynamo.reset()
    inductor = torch._dynamo.lookup_backend("inductor")
    graphs: list[torch.fx.GraphModule] = []

    def recording_inductor(gm: torch.fx.GraphModule, example_inputs: list[Tensor]) -> Any:
        graphs.append(gm)
        return inductor(gm, example_inputs)

    data = _batches(6)
    eager_model, compiled_model = _model(), _model()
    eager = _training_step(eager_model, dl.create(name, eager_model.parameters(), **COMPILED[name]))
    compiled_opt = dl.create(name, compiled_model.parameters(), **COMPILED[name])
    compiled = torch.compile(_training_step(compiled_model, compiled_opt), backend=recording_inductor)
    started = time.perf_counter()
    eager_losses = [eager(X, y) for X, y in data]
    compiled_losses = [compiled(X, y) for X, y in data]
    ours = [p.detach() for p in compiled_model.parameters()]
    reference = [p.detach() for p in eager_model.parameters()]
    print(f"{name}: eager + compiled run {time.perf_counter() - started:.1f} s, "  # shown with -s
          f"relative difference {relative_difference(ours, reference):.2g}")

    update_ops = " ".join(str(gm.graph) for gm in graphs)
    assert "sqrt" in update_ops, "optimizer.step() was not compiled (no graph holds the update's sqrt)"
    assert relative_difference(ours, reference) <= 1e-12
    assert relative_difference(torch.stack(compiled_losses), torch.stack(eager_losses)) <= 1e-12
    assert relative_difference(reference, [p.detach() for p in _model().parameters()]) > 1e-3  # training moved them
    assert compiled_opt.state[compiled_model[0].weight]["step"].item() == len(data)


# ---------------------------------------------------------------------------
# Checkpoints of model and optimizer, and state dicts that do not fit.
# ---------------------------------------------------------------------------

CHECKPOINTED = {name: {**RICH[name], "maximize": False} for name in NAMES}  # descend: the model's loss stays finite


def _round_trip(obj: Any) -> Any:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_model_and_optimizer_checkpoint_resumes_bit_for_bit(name: str, dtype: torch.dtype) -> None:
    data = _batches(20, dtype)
    kwargs = CHECKPOINTED[name]

    straight = _model(dtype)
    straight_opt = dl.create(name, straight.parameters(), **kwargs)
    step = _training_step(straight, straight_opt)
    for X, y in data:
        step(X, y)

    first = _model(dtype)
    first_opt = dl.create(name, first.parameters(), **kwargs)
    step = _training_step(first, first_opt)
    for X, y in data[:10]:
        step(X, y)
    checkpoint = _round_trip({"model": first.state_dict(), "optimizer": first_opt.state_dict()})

    resumed = _model(dtype, seed=1)  # another initialization and another lr: the checkpoint must win
    resumed_opt = dl.create(name, resumed.parameters(), **{**kwargs, "lr": 3 * kwargs.get("lr", 1.0)})
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    step = _training_step(resumed, resumed_opt)
    for X, y in data[10:]:
        step(X, y)

    for p, q, x in zip(resumed.parameters(), straight.parameters(), _model(dtype).parameters()):
        assert p.dtype == dtype
        assert torch.equal(p.detach(), q.detach())
        assert not torch.equal(q.detach(), x.detach())
        mine, reference = resumed_opt.state[p], straight_opt.state[q]
        assert mine.keys() == reference.keys() and mine
        for key in reference:
            assert torch.equal(mine[key], reference[key]), key
            state_dtype = torch.float32 if dtype == torch.bfloat16 and key != "compensation" else dtype  # float32 state
            assert mine[key].dtype == (torch.float64 if key == "step" else state_dtype), key
    assert resumed_opt.param_groups[0]["lr"] == kwargs.get("lr", 1.0)


def _stepped(name: str, shapes: list[list[tuple[int, ...]]]) -> dl.RuleOptimizer:
    """An optimizer over fresh parameters of ``shapes`` (one list per group), after one step."""
    groups = [{"params": [nn.Parameter(torch.ones(s)) for s in group]} for group in shapes]
    opt = dl.create(name, groups, **CHECKPOINTED[name])
    for group in opt.param_groups:
        for p in group["params"]:
            p.grad = torch.full_like(p, 0.5)
    opt.step()
    return opt


MISFITS = {
    # saved with these groups -> loaded into an optimizer with those
    "fewer-groups": ([[(3,)], [(2,)]], [[(3,), (2,)]], r"different number of parameter groups"),
    "more-groups": ([[(3,), (2,)]], [[(3,)], [(2,)]], r"different number of parameter groups"),
    "group-sizes": ([[(3,)], [(2,), (2,)]], [[(3,), (2,)], [(2,)]], r"doesn't match the size of optimizer's group"),
    "other-shapes": ([[(3,)], [(4, 2)]], [[(3,)], [(2, 4)]], r"parameter 1 has shape \(4, 2\), but the parameter has shape \(2, 4\)"),
    "broadcastable": ([[(1,)]], [[(5,)]], r"has shape \(1,\), but the parameter has shape \(5,\)"),
}


@pytest.mark.parametrize("misfit", list(MISFITS))
@pytest.mark.parametrize("name", NAMES)
def test_a_state_dict_that_does_not_fit_is_refused_and_nothing_changes(name: str, misfit: str) -> None:
    saved_shapes, target_shapes, message = MISFITS[misfit]
    saved = _round_trip(_stepped(name, saved_shapes).state_dict())
    target = _stepped(name, target_shapes)
    before = copy.deepcopy(target.state_dict())
    if "shape" in message and set(REGISTRY[name].state_keys) == {"step"}:
        target.load_state_dict(saved)  # only step counters: no tensor that could take a wrong shape
        return
    with pytest.raises(ValueError, match=message):
        target.load_state_dict(saved)
    after = target.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys()
    for index, state in before["state"].items():
        assert all(torch.equal(after["state"][index][k], v) for k, v in state.items())


# ---------------------------------------------------------------------------
# Non-finite gradients propagate, as in torch.optim.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", COUNTERPARTS, ids=lambda c: c.name)
def test_non_finite_gradients_propagate_as_in_torch(case: Counterpart) -> None:
    """nan and +-inf in a gradient reach the parameter and the state exactly where torch's do.

    Neither side filters them: a training loop that wants to skip such a step must
    check the gradients itself (as ``torch.amp.GradScaler`` does).
    """
    start = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0], dtype=torch.float64)
    gradients = [
        torch.tensor([0.5, -0.25, 1.0, 2.0, -1.0], dtype=torch.float64),
        torch.tensor([0.5, float("nan"), float("inf"), float("-inf"), -1.0], dtype=torch.float64),
        torch.tensor([0.25, 0.5, -1.0, 1.0, 0.5], dtype=torch.float64),
    ]
    ours_p, theirs_p = nn.Parameter(start.clone()), nn.Parameter(start.clone())
    ours = dl.create(case.name, [ours_p], **case.ours)
    theirs = case.torch_class([theirs_p], **case.theirs)
    for g in gradients:
        ours_p.grad, theirs_p.grad = g.clone(), g.clone()
        ours.step()
        theirs.step()
        torch.testing.assert_close(ours_p.detach(), theirs_p.detach(), rtol=1e-12, atol=0, equal_nan=True)
    assert torch.isfinite(ours_p.detach()[[0, 4]]).all()  # untouched coordinates stay finite
    assert not torch.isfinite(ours_p.detach()[1:4]).any()  # the others never recover


def _strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_train_reports_the_step_where_the_loss_left_the_finite_numbers(capsys, airfoil_path) -> None:
    assert main(["train", "sgd", "--lr", "1e6", "--data", str(airfoil_path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    first = out.splitlines()[0]
    match = re.fullmatch(r"diverged: the loss is not finite at step (\d+) \(finite at step (\d+)\); seed 0", first)
    assert match and 0 <= int(match[2]) < int(match[1]), first
    assert "nan" not in out and "inf" not in out

    assert main(["train", "sgd", "--lr", "1e6", "--seeds", "3", "--json", "--data", str(airfoil_path)]) == 0
    record = _strict_json(capsys.readouterr().out)
    assert record["diverged_at"] == [int(match[1])] * 3
    for losses in record["losses"]:
        index = losses.index(None)  # the first loss that was not finite
        assert all(isinstance(v, float) for v in losses[:index]) and index > 0


def test_the_training_record_marks_diverged_seeds(airfoil_path) -> None:
    data = load_airfoil(airfoil_path)
    calm = train("sgd", {"lr": 0.05}, data=data, seeds=[0, 1])
    assert calm.diverged_at == (None, None) and not calm.diverged
    wild = train("adam", {"lr": 1e300}, data=data, seeds=[4, 5])
    assert wild.diverged and all(step in wild.evaluation_steps[1:] for step in wild.diverged_at)
    for losses, step in zip(wild.losses, wild.diverged_at):
        index = wild.evaluation_steps.index(step)
        assert all(math.isfinite(v) for v in losses[:index]) and not math.isfinite(losses[index])
    assert math.isnan(wild.summary.mean) and math.isnan(wild.summary.std)
    # one seed of three: the line names it, the first step and the last finite evaluation
    mixed = dataclasses.replace(calm, seeds=(0, 1, 2), diverged_at=(None, 40, 70))
    assert report_lines(mixed)[0] == "diverged: the loss is not finite at step 40 (finite at step 30); 2 of 3 seeds (1, 2)"
