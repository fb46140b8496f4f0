"""Learning-rate schedules: torch's schedulers, d2l's formulas, the lab and the airfoil runs."""

from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from descentlab.airfoil.train import train
from descentlab.lab.objectives import OBJECTIVES
from descentlab.lab.trajectory import run, run_batch
from descentlab.optim import CLASSES
from descentlab.schedules import SCHEDULES, lr_sequence, schedule

STEPS = 40


def _torch_rates(make, lr: float, steps: int) -> list[float]:
    """Step a torch scheduler built here by hand, the way a user's loop does."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


TORCH_BUILT = {
    "constant": lambda o: lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0),
    "factor": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),  # min_lr 0: plain exponential decay
    "multi_factor": lambda o: lr_scheduler.MultiStepLR(o, milestones=[5, 17], gamma=0.3),
    "cosine": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=6),
            lr_scheduler.CosineAnnealingLR(o, T_max=STEPS - 6, eta_min=0.01)], milestones=[6]),
    "warmup": lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=6),
}
PARAMETERS = {
    "constant": {}, "factor": {"factor": 0.9, "min_lr": 0.0}, "multi_factor": {"milestones": (5, 17), "factor": 0.3},
    "cosine": {"warmup": 6, "warmup_start": 0.2, "final_lr": 0.01}, "warmup": {"warmup": 6, "warmup_start": 0.2},
}


def _d2l(name: str, lr: float, t: int) -> float:
    """d2l 11.11's formulas, written out: the rate of step t (t = 0 is the first)."""
    p = PARAMETERS[name]
    if name == "constant":
        return lr
    if name == "factor":
        return max(p["min_lr"], lr * p["factor"] ** t)
    if name == "multi_factor":
        return lr * p["factor"] ** sum(t >= m for m in p["milestones"])
    w, start = p["warmup"], p["warmup_start"] * lr
    if t < w:
        return start + (lr - start) * t / w
    if name == "warmup":
        return lr
    return p["final_lr"] + (lr - p["final_lr"]) * (1 + math.cos(math.pi * (t - w) / (STEPS - w))) / 2


def test_the_table_covers_d2l_schedules():
    assert set(SCHEDULES) == {"constant", "factor", "multi_factor", "cosine", "warmup"}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_sequence_is_torchs_scheduler_and_d2ls_formula(name):
    ours = lr_sequence(schedule(name, PARAMETERS[name]), 0.5, STEPS)
    assert len(ours) == STEPS
    assert ours == pytest.approx(_torch_rates(TORCH_BUILT[name], 0.5, STEPS), rel=1e-12, abs=1e-15)
    assert ours == pytest.approx([_d2l(name, 0.5, t) for t in range(STEPS)], rel=1e-9, abs=1e-12)


def test_factor_stops_at_its_floor():
    rates = lr_sequence(schedule("factor", factor=0.5, min_lr=0.01), 1.0, 20)
    assert min(rates) == pytest.approx(0.01)
    assert rates[:3] == pytest.approx((1.0, 0.5, 0.25))


def test_cosine_without_warmup_starts_at_lr_and_ends_near_final():
    rates = lr_sequence(schedule("cosine", warmup=0, final_lr=0.1), 1.0, 101)
    assert rates[0] == 1.0
    assert rates[-1] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi * 100 / 101)) / 2)


@pytest.mark.parametrize("name, parameters, message", [
    ("linear", {}, "schedule must be one of constant, factor, multi_factor, cosine, warmup, got 'linear'"),
    ("factor", {"factor": 0}, "factor must be in (0, 1], got 0"),
    ("factor", {"factor": 1.5}, "factor must be in (0, 1], got 1.5"),
    ("factor", {"min_lr": -1}, "min_lr must be >= 0, got -1"),
    ("multi_factor", {"milestones": (20, 10)}, "milestones must be increasing, got (20, 10)"),
    ("multi_factor", {"milestones": ()}, "milestones must be a non-empty list of steps, got ()"),
    ("cosine", {"warmup": -2}, "warmup must be >= 0, got -2"),
    ("cosine", {"warmup": 2.5}, "warmup must be an integer, got 2.5"),
    ("warmup", {"warmup_start": 0}, "warmup_start must be in (0, 1], got 0"),
    ("warmup", {"final_lr": 0.1}, "warmup has no parameter 'final_lr' (its parameters: warmup, warmup_start)"),
])
def test_bad_parameters_are_refused_with_their_name(name, parameters, message):
    with pytest.raises(ValueError) as error:
        schedule(name, parameters)
    assert str(error.value) == message


def test_a_callers_dict_is_not_changed():
    given = {"milestones": [3, 9]}
    plan = schedule("multi_factor", given)
    assert given == {"milestones": [3, 9]}
    assert plan.parameters == {"milestones": (3, 9), "factor": 0.5}


@pytest.mark.parametrize("algorithm, hp", [
    ("sgd", {"lr": 0.4}), ("momentum", {"lr": 0.4, "momentum": 0.5}), ("adagrad", {"lr": 2.0}),
    ("rmsprop", {"lr": 0.4, "gamma": 0.9}), ("adam", {"lr": 0.5}), ("yogi", {"lr": 0.5}),
])
@pytest.mark.parametrize("name", ["factor", "multi_factor", "cosine", "warmup"])
def test_a_scheduled_lab_run_equals_the_optimizer_class_with_torchs_scheduler(algorithm, hp, name):
    objective, steps = OBJECTIVES["notes"], STEPS
    plan = schedule(name, PARAMETERS[name] | ({"milestones": (5, 17)} if name == "multi_factor" else {}))
    ours = run(algorithm, objective, hp, steps=steps, schedule=plan)
    x = torch.tensor(objective.start, dtype=torch.float64, requires_grad=True)
    optimizer = CLASSES[algorithm]([x], **hp)
    scheduler = TORCH_BUILT[name](optimizer)
    points = [tuple(x.tolist())]
    for _ in range(steps):
        optimizer.zero_grad()
        objective.f(x).backward()
        optimizer.step()
        scheduler.step()
        points.append(tuple(x.tolist()))
    assert ours.schedule == plan.label()
    assert [c for p in ours.points for c in p] == pytest.approx([c for p in points for c in p], rel=1e-12, abs=1e-12)
    unscheduled = run(algorithm, objective, hp, steps=steps)
    assert ours.points[-1] != unscheduled.points[-1]  # the schedule changed the run


def test_a_batch_schedules_each_settings_own_lr():
    objective = OBJECTIVES["notes"]
    settings = [{"lr": 0.1}, {"lr": 0.4}]
    batch = run_batch("sgd", objective, settings, steps=25, schedule="cosine")
    alone = [run("sgd", objective, s, steps=25, schedule="cosine") for s in settings]
    assert [t.points for t in batch] == [t.points for t in alone]


def test_an_algorithm_without_lr_cannot_be_scheduled_in_the_lab():
    with pytest.raises(ValueError, match="must be > 0"):
        run("adadelta", OBJECTIVES["notes"], {"lr": 0.0, "rho": 0.9}, schedule="factor")


@pytest.mark.parametrize("name", ["factor", "cosine"])
def test_scheduled_airfoil_runs_agree_between_our_rule_and_torch(airfoil, name):
    hp = {"lr": 0.02, "momentum": 0.9}
    kwargs = dict(data=airfoil, seeds=range(4), dtype=torch.float64, schedule=name)
    theirs = train("momentum", hp, impl="torch", init="own", **kwargs)
    same_form = train("momentum", hp | {"form": "torch"}, impl="own", **kwargs)
    velocity = train("momentum", hp, impl="own", **kwargs)  # the notes' m <- beta m + lr g
    constant = train("momentum", hp | {"form": "torch"}, data=airfoil, seeds=range(4), dtype=torch.float64)
    assert same_form.final_loss == pytest.approx(theirs.final_loss, rel=1e-9)
    assert same_form.final_loss != pytest.approx(constant.final_loss, rel=1e-6)
    # once lr changes, the velocity form keeps the old rates in m and torch's form does not: they part
    assert velocity.final_loss != pytest.approx(theirs.final_loss, rel=1e-6)
    assert theirs.to_dict()["schedule"] == schedule(name).label()


def test_scheduled_airfoil_adam_agrees_with_torch(airfoil):
    kwargs = dict(data=airfoil, seeds=range(3), dtype=torch.float64, schedule=schedule("multi_factor", milestones=(50, 150)))
    own = train("adam", {"lr": 0.01}, impl="own", **kwargs)
    theirs = train("adam", {"lr": 0.01}, impl="torch", init="own", **kwargs)
    constant = train("adam", {"lr": 0.01}, data=airfoil, seeds=range(3), dtype=torch.float64)
    # torch adds eps to the bias-corrected root, which leaves ~1e-7 even at a constant lr
    assert own.final_loss == pytest.approx(theirs.final_loss, rel=1e-6)
    assert own.final_loss != pytest.approx(constant.final_loss, rel=1e-4)


def test_trace_with_a_schedule_prints_the_scheduled_run(capsys):
    from descentlab.cli import main

    assert main(["trace", "momentum", "--lr", "0.4", "--momentum", "0.5", "--schedule", "cosine:warmup=2,final_lr=0.01"]) == 0
    expected = run("momentum", OBJECTIVES["notes"], {"lr": 0.4, "momentum": 0.5}, steps=20,
                   schedule=schedule("cosine", warmup=2, final_lr=0.01))
    assert capsys.readouterr().out.splitlines()[0] == expected.notes_line()


@pytest.mark.parametrize("option, message", [
    ("linear", "--schedule must be one of constant, factor, multi_factor, cosine, warmup, got 'linear'"),
    ("factor:factor=2", "--schedule factor:factor=2: factor must be in (0, 1], got 2.0"),
    ("multi_factor:milestones=5/x", "--schedule multi_factor:milestones=5/x: milestones='5/x' is not a valid value"),
    ("warmup:final_lr=1", "--schedule warmup:final_lr=1: expected key=value with a key from: warmup, warmup_start"),
])
def test_a_bad_schedule_option_is_one_line_and_exit_2(capsys, option, message):
    from descentlab.cli import main

    assert main(["trace", "sgd", "--lr", "0.4", "--schedule", option]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_train_with_a_schedule_names_it(capsys, airfoil_path):
    from descentlab.cli import main

    assert main(["train", "adam", "--lr", "0.01", "--seeds", "2", "--data", str(airfoil_path), "--schedule",
                 "multi_factor:milestones=100/200"]) == 0
    out = capsys.readouterr().out
    assert "learning-rate schedule: multi-factor (milestones (100, 200), factor 0.5)" in out


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_a_schedule_pickles_by_name_and_gives_the_same_rates(name):
    # the report's helper process is sent records that hold schedules (the table's functions are lambdas)
    import pickle

    plan = schedule(name)
    again = pickle.loads(pickle.dumps(plan))
    assert again == plan and lr_sequence(again, 0.1, 40) == lr_sequence(plan, 0.1, 40)
