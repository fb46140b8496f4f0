"""The update rules themselves, driven by the registry.

- one hand-computed step (two, in fact) per algorithm, through the pure rule and
  through the optimizer class;
- the library against the notes' own update code (``notes_oracle``), float64,
  200 steps, several shapes;
- the vectorized sweep (a tensor hyperparameter) equals K separate runs;
- convergence on two quadratics and on Rosenbrock, float32;
- the table of bad hyperparameters, with messages.

Every table here is keyed by registry name and checked to cover ``REGISTRY``
exactly, so a new algorithm cannot be added without its tests.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from torch import Tensor

import descentlab
from descentlab import optim as dl_optim
from descentlab.algorithms import REGISTRY, REQUIRED, get
from helpers import relative_difference
from notes_oracle import NOTES_RUNS

NAMES = tuple(REGISTRY)



def test_registry_has_exactly_the_issue_names() -> None:
    assert list(REGISTRY) == ["sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "yogi"]
    assert descentlab.REGISTRY is REGISTRY
    for name, spec in REGISTRY.items():
        assert spec.name == name
        assert get(name) is spec
        assert dl_optim.CLASSES[name].algorithm is spec


@pytest.mark.parametrize(
    "table",
    ["HAND_STEPS", "ALL_PATHS", "NOTES_RUNS", "SWEEPS", "CONVERGENCE", "BAD_BY_ALGORITHM"],
)
def test_every_table_covers_the_registry(table: str) -> None:
    """Each per-algorithm table has an entry for every registered algorithm and nothing else."""
    keys = {"BAD_BY_ALGORITHM": {case[0] for case in BAD_HYPERPARAMETERS}}.get(table)
    if keys is None:
        keys = set(globals()[table])
    assert keys == set(REGISTRY)


def test_defaults_are_the_notes_constants() -> None:
    """SPEC section 1, 'notes' constants' column, typed in by hand."""
    assert REGISTRY["sgd"].defaults == {"weight_decay": 0.0, "decoupled_weight_decay": False, "maximize": False}
    assert REGISTRY["momentum"].defaults["form"] == "velocity"
    assert REGISTRY["momentum"].hyperparameter("momentum").required
    assert REGISTRY["adagrad"].defaults["eps"] == 1e-6
    assert REGISTRY["adagrad"].defaults["eps_in_sqrt"] is True
    assert REGISTRY["rmsprop"].defaults["gamma"] == 0.9
    assert REGISTRY["rmsprop"].defaults["eps"] == 1e-6
    assert REGISTRY["rmsprop"].defaults["eps_in_sqrt"] is True
    assert REGISTRY["adadelta"].defaults == {
        "rho": 0.9, "eps": 1e-5, "lr": 1.0, "signed_lr": False, "weight_decay": 0.0, "decoupled_weight_decay": False,
        "maximize": False,
    }
    assert REGISTRY["adam"].defaults["betas"] == (0.9, 0.999)
    assert REGISTRY["adam"].defaults["eps"] == 1e-6
    for name in ("sgd", "momentum", "adagrad", "rmsprop", "adam"):
        assert REGISTRY[name].hyperparameter("lr").default is REQUIRED


# ---------------------------------------------------------------------------
# 1. Hand-computed steps.  x0 = 1, g1 = 0.5, g2 = 0.25 (independent of x).
# The literals were worked out from SPEC section 1 with a calculator (40-digit
# decimal arithmetic) and are written to 20 significant digits.
# ---------------------------------------------------------------------------

HAND_STEPS: dict[str, list[tuple[str, dict[str, Any], tuple[str, str]]]] = {
    "sgd": [
        # x1 = 1 - 0.1*0.5;  x2 = x1 - 0.1*0.25
        ("lr=0.1", {"lr": 0.1}, ("0.95", "0.925")),
    ],
    "momentum": [
        # m1 = 0.05, x1 = 0.95;  m2 = 0.5*0.05 + 0.025 = 0.05, x2 = 0.9
        ("velocity", {"lr": 0.1, "momentum": 0.5}, ("0.95", "0.9")),
        # m1 = 0.25, x1 = 1 - 0.2*0.25;  m2 = 0.125 + 0.125, x2 = 0.95 - 0.2*0.25
        ("ema", {"lr": 0.1, "momentum": 0.5, "form": "ema"}, ("0.95", "0.9")),
        # torch: buf1 = g1 (no dampening on the first step) = 0.5, x1 = 0.95;
        # buf2 = 0.5*0.5 + (1-0.5)*0.25 = 0.375, x2 = 0.95 - 0.0375
        ("torch-dampening", {"lr": 0.1, "momentum": 0.5, "form": "torch", "dampening": 0.5}, ("0.95", "0.9125")),
        # nesterov: x1 = 1 - (0.5*0.05 + 0.05) = 0.925;  m2 = 0.05, x2 = 0.925 - (0.025 + 0.025)
        ("nesterov", {"lr": 0.1, "momentum": 0.5, "nesterov": True}, ("0.925", "0.875")),
    ],
    "adagrad": [
        # s1 = 0.25, x1 = 1 - 0.05/sqrt(0.250001);  s2 = 0.3125, x2 = x1 - 0.025/sqrt(0.312501)
        ("notes", {"lr": 0.1}, ("0.90000019999940000199", "0.85527891200340775850")),
        # eps = 1e-10 outside the root (torch): x1 = 1 - 0.05/(0.5 + 1e-10)
        ("torch", {"lr": 0.1, "eps": 1e-10, "eps_in_sqrt": False},
         ("0.90000000001999999999", "0.85527864047800420606")),
    ],
    "rmsprop": [
        # s1 = 0.025, x1 = 1 - 0.005/sqrt(0.025001);  s2 = 0.02875, x2 = x1 - 0.0025/sqrt(0.028751)
        ("notes", {"lr": 0.01}, ("0.96837785583487520682", "0.95363391663348976214")),
    ],
    "adadelta": [
        # s1 = 0.025, g'1 = 0.5*sqrt(1e-5/0.02501), x1 = 1 - g'1, D1 = 0.1*g'1^2;
        # s2 = 0.02875, g'2 = 0.25*sqrt((D1 + 1e-5)/0.02876), x2 = x1 - g'2
        ("notes", {}, ("0.99000199940019993002", "0.98341000015099408240")),
    ],
    "adam": [
        # m1 = 0.05, v1 = 0.00025, m^ = 0.5, v^ = 0.25, x1 = 1 - 0.01*0.5/(0.5 + 1e-6);
        # m2 = 0.07, v2 = 0.00031225, x2 = x1 - 0.01*(0.07/0.19)/(sqrt(0.00031225/0.001999) + 1e-6)
        ("notes", {"lr": 0.01}, ("0.99000001999996000007", "0.98067824719781294863")),
    ],
    "yogi": [
        # m1 = 0.05, s1 = 0 + 0.001*0.25*sgn(0.25) = 0.00025, m^ = 0.5, s^ = 0.25, x1 = 1 - 0.01*0.5/(0.5 + 1e-3);
        # m2 = 0.07, s2 = 0.00025 + 0.001*0.0625*sgn(0.0625 - 0.00025) = 0.0003125 (Adam: 0.00031225),
        # x2 = x1 - 0.01*(0.07/0.19)/(sqrt(0.0003125/0.001999) + 1e-3)
        ("d2l", {"lr": 0.01}, ("0.99001996007984031936", "0.98072540085878194404")),
    ],
}

HAND_CASES = [
    pytest.param(name, hp, expected, id=f"{name}-{label}")
    for name, rows in HAND_STEPS.items()
    for label, hp, expected in rows
]
GRADIENTS = (0.5, 0.25)


@pytest.mark.parametrize("name, hp, expected", HAND_CASES)
def test_hand_computed_steps_of_the_pure_rule(name: str, hp: dict[str, Any], expected: tuple[str, str]) -> None:
    spec = REGISTRY[name]
    resolved = spec.resolve(hp)
    x = torch.tensor(1.0, dtype=torch.float64)
    state = spec.init(x, resolved)
    for t, (g, want) in enumerate(zip(GRADIENTS, expected), start=1):
        x_in, x_copy = x, x.clone()
        x, state = spec.update(x, torch.tensor(g, dtype=torch.float64), state, **resolved)
        assert x.item() == pytest.approx(float(want), rel=0, abs=1e-14), f"step {t}"
        assert state["step"].item() == t
        assert torch.equal(x_in, x_copy)  # the rule returned a new tensor and left its input alone


@pytest.mark.parametrize("name, hp, expected", HAND_CASES)
def test_hand_computed_steps_of_the_optimizer_class(name: str, hp: dict[str, Any], expected: tuple[str, str]) -> None:
    p = torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64))
    opt = dl_optim.create(name, [p], **hp)
    for g, want in zip(GRADIENTS, expected):
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        assert p.item() == pytest.approx(float(want), rel=0, abs=1e-14)


# Per algorithm: arguments that go through every step-dependent path (bias correction,
# lr_decay, torch's first-step dampening) as well as weight decay and maximize.
ALL_PATHS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
    "momentum": {"lr": 0.1, "momentum": 0.9, "form": "torch", "dampening": 0.3, "weight_decay": 0.1},
    "adagrad": {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1},
    "rmsprop": {"lr": 0.01, "centered": True, "momentum": 0.5, "eps_in_sqrt": False, "weight_decay": 0.1},
    "adadelta": {"lr": 0.5, "weight_decay": 0.1, "maximize": True},
    "adam": {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True},
    "yogi": {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1, "maximize": True},
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64], ids=str)
@pytest.mark.parametrize("name", NAMES)
def test_rule_keeps_the_parameter_dtype_whatever_the_shape(name: str, dtype: torch.dtype) -> None:
    """x and every state tensor but ``step`` keep x's dtype, also for a 0-dim x (where a float64
    0-dim step-derived factor would otherwise win type promotion); a 0-dim x follows exactly the
    arithmetic of a one-element vector."""
    spec = REGISTRY[name]
    hp = spec.resolve(ALL_PATHS[name])
    gen = torch.Generator().manual_seed(6)
    x0 = torch.randn((), generator=gen).to(dtype)
    grads = [torch.randn((), generator=gen).to(dtype) for _ in range(4)]
    runs = {}
    for shape in ((), (1,)):
        x = x0.reshape(shape)
        state = spec.init(x, hp)
        for g in grads:
            x, state = spec.update(x, g.reshape(shape), state, **hp)
            assert x.dtype == dtype and x.shape == shape
            for key, value in state.items():
                assert value.dtype == (torch.float64 if key == "step" else dtype), key
        runs[shape] = x
    assert torch.equal(runs[()].reshape(1), runs[(1,)])
    assert not torch.equal(runs[()], x0)


@pytest.mark.parametrize("name", NAMES)
def test_rule_is_pure(name: str) -> None:
    """update(x, g, state) returns new tensors and leaves x, g and the state untouched."""
    spec = REGISTRY[name]
    hp = spec.resolve({**CONVERGENCE[name]["rosenbrock"][0], "weight_decay": 0.1})
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    state = spec.init(x, hp)
    for _ in range(2):  # a non-trivial state
        x, state = spec.update(x, torch.randn(3, 4, generator=gen, dtype=torch.float64), state, **hp)
    g = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    copies = (x.clone(), g.clone(), {k: v.clone() for k, v in state.items()})
    x_new, state_new = spec.update(x, g, state, **hp)
    assert torch.equal(x, copies[0]) and torch.equal(g, copies[1])
    assert state.keys() == copies[2].keys()
    for key, value in state.items():
        assert torch.equal(value, copies[2][key]), key
    assert not torch.equal(x_new, x)
    assert state_new["step"].item() == state["step"].item() + 1


# ---------------------------------------------------------------------------
# 2. The notes' own code (tests/notes_oracle.py) in float64, 200 steps.
# ---------------------------------------------------------------------------

ORACLE_SHAPES = ((), (7,), (4, 5), (2, 3, 2, 2))
ORACLE_STEPS = 200


def _noisy_quadratic_gradients(shapes: tuple[tuple[int, ...], ...], steps: int, seed: int):
    """Start points and a gradient function g_t(x) = a * x + n_t with fresh noise n_t every step."""
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    curvature = [0.2 + 1.8 * torch.rand(s, generator=gen, dtype=torch.float64) for s in shapes]
    noise = [[torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes] for _ in range(steps)]

    def gradients(t: int, xs: list[Tensor]) -> list[Tensor]:
        return [a * x.detach() + n for a, x, n in zip(curvature, xs, noise[t])]

    return start, gradients


NOTES_CASES = [pytest.param(name, run, id=run.id) for name, runs in NOTES_RUNS.items() for run in runs]


@pytest.mark.parametrize("name, run", NOTES_CASES)
def test_matches_the_notes_code(name: str, run: Any) -> None:
    """The optimizer class with the registry defaults follows the notes' trajectory step by step."""
    start, gradients = _noisy_quadratic_gradients(ORACLE_SHAPES, ORACLE_STEPS, seed=2)
    notes_params = [x.clone() for x in start]
    notes_states = run.init_states(notes_params)
    ours = [torch.nn.Parameter(x.clone()) for x in start]
    opt = dl_optim.create(name, ours, **run.library_kwargs)
    worst = 0.0
    for t in range(ORACLE_STEPS):
        notes_grads = gradients(t, notes_params)
        run.update(notes_params, notes_grads, notes_states, dict(run.hyperparameters))
        for p, g in zip(ours, gradients(t, ours)):
            p.grad = g
        opt.step()
        worst = max(worst, relative_difference(ours, notes_params))
    # four of the seven runs agree bit for bit; the others differ by ~3e-16 (operation order)
    assert worst <= 1e-14
    moved = min(relative_difference(q, x) for q, x in zip(notes_params, start))
    assert moved > 1e-3  # the trajectories went somewhere


def test_the_oracle_notices_a_wrong_constant() -> None:
    """Guard for the test above: a different eps in the library is caught by the oracle comparison."""
    run = NOTES_RUNS["adam"][0]
    start, gradients = _noisy_quadratic_gradients(((7,),), 20, seed=3)
    notes_params = [start[0].clone()]
    notes_states = run.init_states(notes_params)
    p = torch.nn.Parameter(start[0].clone())
    opt = dl_optim.Adam([p], lr=run.hyperparameters["lr"], eps=1e-8)  # torch's eps, not the notes'
    for t in range(20):
        run.update(notes_params, gradients(t, notes_params), notes_states, dict(run.hyperparameters))
        p.grad = gradients(t, [p])[0]
        opt.step()
    assert relative_difference(p.detach(), notes_params[0]) > 1e-9


# ---------------------------------------------------------------------------
# 3. The vectorized sweep: x of shape (K, 2), a hyperparameter of shape (K, 1).
# ---------------------------------------------------------------------------

SWEEP_K = 4
SWEEP_STEPS = 50

# Per algorithm: (fixed hyperparameters, swept hyperparameters with K values each).
SWEEPS: dict[str, list[tuple[dict[str, Any], dict[str, list[Any]]]]] = {
    "sgd": [({"weight_decay": 0.05}, {"lr": [0.01, 0.05, 0.1, 0.3]})],
    "momentum": [
        ({}, {"lr": [0.01, 0.05, 0.1, 0.3], "momentum": [0.0, 0.5, 0.9, 0.95]}),
        ({"form": "ema"}, {"lr": [0.01, 0.05, 0.1, 0.3], "momentum": [0.1, 0.5, 0.9, 0.95]}),
        ({"form": "torch", "weight_decay": 0.01}, {"lr": [0.01, 0.05, 0.1, 0.3], "dampening": [0.0, 0.1, 0.5, 0.9]}),
        ({"nesterov": True}, {"lr": [0.01, 0.05, 0.1, 0.3], "momentum": [0.0, 0.5, 0.9, 0.95]}),
    ],
    "adagrad": [
        ({}, {"lr": [0.01, 0.05, 0.1, 0.3], "eps": [1e-10, 1e-6, 1e-3, 1e-1]}),
        ({"eps_in_sqrt": False, "lr_decay": 0.01}, {"lr": [0.01, 0.05, 0.1, 0.3]}),
    ],
    "rmsprop": [
        ({}, {"lr": [0.01, 0.05, 0.1, 0.3], "gamma": [0.0, 0.5, 0.9, 0.99]}),
        ({"centered": True, "eps_in_sqrt": False}, {"lr": [0.01, 0.05, 0.1, 0.3], "momentum": [0.1, 0.5, 0.9, 0.95]}),
    ],
    "adadelta": [({}, {"lr": [0.5, 1.0, 2.0, 3.0], "rho": [0.0, 0.5, 0.9, 0.99]})],
    "adam": [
        ({}, {"lr": [0.01, 0.05, 0.1, 0.3], "betas": [(0.0, 0.9), (0.5, 0.99), (0.9, 0.999), (0.95, 0.9999)]}),
        ({"amsgrad": True, "decoupled_weight_decay": True},
         {"lr": [0.01, 0.05, 0.1, 0.3], "weight_decay": [0.0, 0.01, 0.1, 1.0]}),
    ],
    "yogi": [({}, {"lr": [0.01, 0.05, 0.1, 0.3], "betas": [(0.0, 0.9), (0.5, 0.99), (0.9, 0.999), (0.95, 0.9999)]})],
}

SWEEP_CASES = [
    pytest.param(name, fixed, swept, id=f"{name}-{i}-{'+'.join(swept)}")
    for name, rows in SWEEPS.items()
    for i, (fixed, swept) in enumerate(rows)
]


def _as_column(values: list[Any]) -> Any:
    if isinstance(values[0], tuple):  # betas: a pair of columns
        return tuple(torch.tensor([[v[i]] for v in values], dtype=torch.float64) for i in range(len(values[0])))
    return torch.tensor([[v] for v in values], dtype=torch.float64)


@pytest.mark.parametrize("name, fixed, swept", SWEEP_CASES)
def test_sweep_equals_separate_runs(name: str, fixed: dict[str, Any], swept: dict[str, list[Any]]) -> None:
    spec = REGISTRY[name]
    required = {"lr": 0.1, "momentum": 0.5}
    base = {k: v for k, v in required.items() if k in spec.names and spec.hyperparameter(k).required}
    rows = [spec.resolve({**base, **fixed, **{k: v[i] for k, v in swept.items()}}) for i in range(SWEEP_K)]
    batched_hp = {**rows[0], **{k: _as_column(v) for k, v in swept.items()}}

    gen = torch.Generator().manual_seed(4)
    x0 = torch.randn(SWEEP_K, 2, generator=gen, dtype=torch.float64)
    curvature = torch.tensor([0.5, 3.0], dtype=torch.float64)
    noise = torch.randn(SWEEP_STEPS, SWEEP_K, 2, generator=gen, dtype=torch.float64)

    x = x0.clone()
    state = spec.init(x, batched_hp)
    for t in range(SWEEP_STEPS):
        x, state = spec.update(x, curvature * x + noise[t], state, **batched_hp)
    assert x.shape == (SWEEP_K, 2)

    finals = []
    for k, hp in enumerate(rows):
        xk = x0[k].clone()
        state_k = spec.init(xk, hp)
        for t in range(SWEEP_STEPS):
            xk, state_k = spec.update(xk, curvature * xk + noise[t, k], state_k, **hp)
        finals.append(xk)
        assert torch.equal(x[k], xk), f"row {k}: {x[k].tolist()} != {xk.tolist()}"
        for key, value in state_k.items():
            if key != "step":
                assert torch.equal(state[key][k], value), f"row {k}, state {key}"
    # the swept values matter: the K runs differ from one another
    assert len({tuple(f.tolist()) for f in finals}) == SWEEP_K


# ---------------------------------------------------------------------------
# 4. Convergence in float32 from fixed starts (gradients from autograd).
# ---------------------------------------------------------------------------


def ill_conditioned(x: Tensor) -> Tensor:
    """SPEC section 2: f = 0.1 x1^2 + 2 x2^2, minimum at 0, start (-5, -2)."""
    return 0.1 * x[0] ** 2 + 2 * x[1] ** 2


def _random_quadratic() -> tuple[Tensor, Tensor]:
    gen = torch.Generator().manual_seed(5)
    q, _ = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))
    eigenvalues = torch.linspace(1.0, 3.0, 5, dtype=torch.float64)  # condition number 3
    a = q @ torch.diag(eigenvalues) @ q.T
    a = (a + a.T) / 2
    c = torch.randn(5, generator=gen, dtype=torch.float64)
    return a.float(), c.float()


RANDOM_A, RANDOM_C = _random_quadratic()


def well_conditioned(x: Tensor) -> Tensor:
    """f = (x - c)^T A (x - c) / 2 with A's eigenvalues in [1, 3]; minimum at c, start 0."""
    d = x - RANDOM_C
    return 0.5 * d @ RANDOM_A @ d


def rosenbrock(x: Tensor) -> Tensor:
    """f = (1 - x1)^2 + 100 (x2 - x1^2)^2, minimum at (1, 1), start (0, 0)."""
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


PROBLEMS = {
    "ill_conditioned": (ill_conditioned, (-5.0, -2.0), torch.zeros(2), 1e-3),
    "well_conditioned": (well_conditioned, (0.0,) * 5, RANDOM_C, 1e-3),
    "rosenbrock": (rosenbrock, (0.0, 0.0), torch.ones(2), 1e-2),
}

# Per algorithm and problem: (hyperparameters, steps).
CONVERGENCE: dict[str, dict[str, tuple[dict[str, Any], int]]] = {
    "sgd": {
        "ill_conditioned": ({"lr": 0.4}, 150),
        "well_conditioned": ({"lr": 0.4}, 100),
        "rosenbrock": ({"lr": 1.9e-3}, 7000),
    },
    "momentum": {
        "ill_conditioned": ({"lr": 0.4, "momentum": 0.5}, 100),
        "well_conditioned": ({"lr": 0.1, "momentum": 0.5}, 100),
        "rosenbrock": ({"lr": 1e-3, "momentum": 0.9}, 2000),
    },
    "adagrad": {
        "ill_conditioned": ({"lr": 2.0}, 100),
        "well_conditioned": ({"lr": 1.0}, 300),
        "rosenbrock": ({"lr": 0.1}, 5400),
    },
    "rmsprop": {
        "ill_conditioned": ({"lr": 0.01, "gamma": 0.99}, 1000),
        "well_conditioned": ({"lr": 3e-3, "gamma": 0.999}, 1500),
        "rosenbrock": ({"lr": 1e-3, "gamma": 0.999}, 4800),
    },
    "adadelta": {
        "ill_conditioned": ({"eps": 1e-4, "lr": 0.3}, 1000),
        "well_conditioned": ({"lr": 0.3}, 1000),
        "rosenbrock": ({"rho": 0.95, "eps": 1e-6, "lr": 0.05}, 7000),
    },
    "adam": {
        "ill_conditioned": ({"lr": 0.1}, 500),
        "well_conditioned": ({"lr": 0.1}, 500),
        "rosenbrock": ({"lr": 0.01}, 2500),
    },
    "yogi": {
        "ill_conditioned": ({"lr": 0.1}, 500),
        "well_conditioned": ({"lr": 0.1}, 500),
        "rosenbrock": ({"lr": 0.01}, 2500),
    },
}

CONVERGENCE_CASES = [
    pytest.param(name, problem, id=f"{name}-{problem}") for name in CONVERGENCE for problem in CONVERGENCE[name]
]


@pytest.mark.parametrize("name, problem", CONVERGENCE_CASES)
def test_converges_to_the_known_minimum(name: str, problem: str) -> None:
    assert set(CONVERGENCE[name]) == set(PROBLEMS)
    f, start, minimum, tolerance = PROBLEMS[problem]
    hp, steps = CONVERGENCE[name][problem]
    x = torch.nn.Parameter(torch.tensor(start, dtype=torch.float32))
    opt = dl_optim.create(name, [x], **hp)
    first_distance = (x.detach() - minimum).abs().max().item()
    for _ in range(steps):
        opt.zero_grad()
        f(x).backward()
        opt.step()
    assert x.dtype == torch.float32
    distance = (x.detach() - minimum).abs().max().item()
    assert distance < tolerance, f"{name} on {problem}: |x - x*| = {distance:.3g} after {steps} steps"
    assert distance < first_distance / 10


# ---------------------------------------------------------------------------
# 5. Bad hyperparameters: (algorithm, arguments, error, message regex).
# ---------------------------------------------------------------------------

BAD_HYPERPARAMETERS: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("sgd", {"lr": -1}, ValueError, r"^lr must be >= 0, got -1$"),
    ("sgd", {"lr": float("nan")}, ValueError, r"^lr must be finite, got nan$"),
    ("adam", {"lr": float("inf")}, ValueError, r"^lr must be finite, got inf$"),
    ("adagrad", {"lr": -float("inf")}, ValueError, r"^lr must be finite, got -inf$"),
    ("sgd", {"lr": "0.1"}, ValueError, r"^lr must be a real number, got '0\.1'$"),
    ("sgd", {"lr": True}, ValueError, r"^lr must be a real number, got True$"),
    ("sgd", {"lr": None}, ValueError, r"^lr must be a real number, got None$"),
    ("sgd", {"lr": 0.1, "weight_decay": -0.001}, ValueError, r"^weight_decay must be >= 0, got -0\.001$"),
    ("sgd", {"lr": 0.1, "maximize": 1}, ValueError, r"^maximize must be True or False, got 1$"),
    ("sgd", {"lr": 0.1, "momentum": 0.9}, TypeError, r"unexpected .*'momentum'"),
    ("sgd", {}, TypeError, r"missing .*'lr'"),
    ("momentum", {"lr": 0.1, "momentum": 1}, ValueError, r"^momentum must be in \[0, 1\), got 1$"),
    ("momentum", {"lr": 0.1, "momentum": -0.5}, ValueError, r"^momentum must be in \[0, 1\), got -0\.5$"),
    ("momentum", {"lr": 0.1, "momentum": False}, ValueError, r"^momentum must be a real number, got False$"),
    ("momentum", {"lr": 0.1}, TypeError, r"missing .*'momentum'"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "form": "bogus"}, ValueError,
     r"^form must be one of 'velocity', 'ema', 'torch', got 'bogus'$"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "form": "torch", "nesterov": True, "dampening": 0.1}, ValueError,
     r"^nesterov requires dampening = 0, got 0\.1$"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1}, ValueError,
     r"^dampening is only used with form='torch', got form='velocity'$"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "form": "ema", "dampening": 0.1}, ValueError,
     r"^dampening is only used with form='torch', got form='ema'$"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "form": "torch", "dampening": 1.5}, ValueError,
     r"^dampening must be in \[0, 1\], got 1\.5$"),
    ("momentum", {"lr": 0.1, "momentum": 0.9, "nesterov": "yes"}, ValueError,
     r"^nesterov must be True or False, got 'yes'$"),
    ("adagrad", {"lr": 0.1, "eps": -1}, ValueError, r"^eps must be >= 0, got -1$"),
    ("adagrad", {"lr": 0.1, "eps_in_sqrt": 1}, ValueError, r"^eps_in_sqrt must be True or False, got 1$"),
    ("adagrad", {"lr": 0.1, "lr_decay": -0.1}, ValueError, r"^lr_decay must be >= 0, got -0\.1$"),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": -1}, ValueError,
     r"^initial_accumulator_value must be >= 0, got -1$"),
    ("rmsprop", {"lr": 0.1, "gamma": 1.5}, ValueError, r"^gamma must be in \[0, 1\), got 1\.5$"),
    ("rmsprop", {"lr": 0.1, "gamma": 1}, ValueError, r"^gamma must be in \[0, 1\), got 1$"),
    ("rmsprop", {"lr": 0.1, "eps": float("nan")}, ValueError, r"^eps must be finite, got nan$"),
    ("rmsprop", {"lr": 0.1, "momentum": 1.0}, ValueError, r"^momentum must be in \[0, 1\), got 1$"),
    ("rmsprop", {"lr": 0.1, "alpha": 0.99}, TypeError, r"unexpected .*'alpha'"),
    ("adadelta", {"rho": -0.1}, ValueError, r"^rho must be in \[0, 1\), got -0\.1$"),
    ("adadelta", {"rho": 1.0}, ValueError, r"^rho must be in \[0, 1\), got 1$"),
    ("adadelta", {"lr": -1}, ValueError, r"^lr must be >= 0, got -1 \(a negative lr steps up the gradient: pass signed_lr=True"),
    ("adadelta", {"eps": "small"}, ValueError, r"^eps must be a real number, got 'small'$"),
    ("adam", {"lr": 0.1, "betas": (0.9, 1.0)}, ValueError, r"^betas\[1\] must be in \[0, 1\), got 1$"),
    ("adam", {"lr": 0.1, "betas": (1.0, 0.999)}, ValueError, r"^betas\[0\] must be in \[0, 1\), got 1$"),
    ("adam", {"lr": 0.1, "betas": (-0.1, 0.999)}, ValueError, r"^betas\[0\] must be in \[0, 1\), got -0\.1$"),
    ("adam", {"lr": 0.1, "betas": (0.9,)}, ValueError, r"^betas must be a pair of numbers in \[0, 1\), got \(0\.9,\)$"),
    ("adam", {"lr": 0.1, "betas": (0.9, 0.99, 0.999)}, ValueError, r"^betas must be a pair"),
    ("adam", {"lr": 0.1, "betas": 0.9}, ValueError, r"^betas must be a pair"),
    ("adam", {"lr": 0.1, "betas": "ab"}, ValueError, r"^betas must be a pair"),
    ("adam", {"lr": 0.1, "eps": -1e-8}, ValueError, r"^eps must be >= 0, got -1e-08$"),
    ("adam", {"lr": 0.1, "amsgrad": "no"}, ValueError, r"^amsgrad must be True or False, got 'no'$"),
    ("adam", {"lr": 0.1, "bogus": 1}, TypeError, r"unexpected .*'bogus'"),
    ("adam", {"betas": (0.9, 0.999)}, TypeError, r"missing .*'lr'"),
    ("yogi", {"lr": 0.1, "betas": (0.9, 1.0)}, ValueError, r"^betas\[1\] must be in \[0, 1\), got 1$"),
    ("yogi", {"lr": 0.1, "eps": -1e-3}, ValueError, r"^eps must be >= 0, got -0\.001$"),
    ("yogi", {"lr": 0.1, "amsgrad": True}, TypeError, r"unexpected .*'amsgrad'"),
    ("yogi", {}, TypeError, r"missing .*'lr'"),
]

BAD_CASES = [
    pytest.param(name, kwargs, error, pattern, id=f"{name}-{i}")
    for i, (name, kwargs, error, pattern) in enumerate(BAD_HYPERPARAMETERS)
]


@pytest.mark.parametrize("name, kwargs, error, pattern", BAD_CASES)
def test_bad_hyperparameters_are_rejected_by_the_spec(
    name: str, kwargs: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        REGISTRY[name].resolve(kwargs)


@pytest.mark.parametrize("name, kwargs, error, pattern", BAD_CASES)
def test_bad_hyperparameters_are_rejected_by_the_class(
    name: str, kwargs: dict[str, Any], error: type[Exception], pattern: str
) -> None:
    p = torch.nn.Parameter(torch.ones(3))
    before = p.detach().clone()
    # the class adds its name in front of signature errors, so drop the anchor at the start
    class_pattern = pattern.lstrip("^")
    with pytest.raises(error, match=class_pattern):
        dl_optim.CLASSES[name]([p], **kwargs)
    with pytest.raises(error, match=class_pattern):
        dl_optim.create(name, [p], **kwargs)
    assert torch.equal(p.detach(), before)


def _valid_arguments(name: str) -> dict[str, Any]:
    return dict(CONVERGENCE[name]["rosenbrock"][0]) | ({"momentum": 0.9} if name == "momentum" else {})


@pytest.mark.parametrize(
    "name, hyperparameter",
    [pytest.param(n, h.name, id=f"{n}-{h.name}") for n, s in REGISTRY.items() for h in s.hyperparameters],
)
def test_every_hyperparameter_rejects_a_wrong_type(name: str, hyperparameter: str) -> None:
    """Generated from the registry: every hyperparameter refuses a value of the wrong kind, naming itself."""
    kwargs = {**_valid_arguments(name), hyperparameter: object()}
    with pytest.raises(ValueError, match=rf"^{re.escape(hyperparameter)} must be "):
        REGISTRY[name].resolve(kwargs)
    assert math.isfinite(REGISTRY[name].resolve(_valid_arguments(name))["lr"])  # the base arguments are fine
