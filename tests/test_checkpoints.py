"""torch.optim checkpoints in and out.

A checkpoint taken in one library resumes in the other to 1e-12 relative (float64;
the two evaluate the same rule in a different order of rounding), and a round trip
through the other library's format resumes bit for bit.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import descentlab.optim as dl
from descentlab.engine.state.checkpoints import from_torch, to_torch

# (algorithm, torch class, torch kwargs, our kwargs): the same optimizer on both sides
CASES: list[tuple[str, type[torch.optim.Optimizer], dict[str, Any], dict[str, Any]]] = [
    ("sgd", torch.optim.SGD, {"lr": 0.05}, {"lr": 0.05}),
    ("momentum", torch.optim.SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1},
     {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "form": "torch"}),
    ("adagrad", torch.optim.Adagrad, {"lr": 0.1, "lr_decay": 0.01}, {"lr": 0.1, "lr_decay": 0.01, "conventions": "torch"}),
    ("rmsprop", torch.optim.RMSprop, {"lr": 0.01, "centered": True, "momentum": 0.5},
     {"lr": 0.01, "centered": True, "momentum": 0.5, "conventions": "torch"}),
    ("adadelta", torch.optim.Adadelta, {"lr": 0.5}, {"lr": 0.5, "conventions": "torch"}),
    ("adam", torch.optim.Adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
     {"lr": 0.01, "amsgrad": True, "weight_decay": 0.01, "conventions": "torch"}),
]
IDS = [c[0] for c in CASES]


def params() -> list[torch.nn.Parameter]:
    gen = torch.Generator().manual_seed(3)
    return [torch.nn.Parameter(torch.randn(4, 3, generator=gen, dtype=torch.float64)),
            torch.nn.Parameter(torch.randn(5, generator=gen, dtype=torch.float64))]


def run(optimizer: torch.optim.Optimizer, ps: list[torch.nn.Parameter], steps: range) -> None:
    for t in steps:
        for i, p in enumerate(ps):
            p.grad = torch.sin(p.detach() * (i + 2)) + 0.01 * t
        optimizer.step()


@pytest.mark.parametrize(("algorithm", "cls", "theirs", "ours"), CASES, ids=IDS)
def test_a_torch_checkpoint_resumes_in_descentlab(algorithm: str, cls: Any, theirs: dict, ours: dict) -> None:
    ps = params()
    reference = cls(ps, **theirs)
    run(reference, ps, range(5))
    saved = reference.state_dict()
    before = {k: v.clone() for k, v in saved["state"].get(0, {}).items()}
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    resumed = dl.create(algorithm, qs, **ours)
    resumed.load_state_dict(from_torch(saved, algorithm))
    assert all(torch.equal(v, saved["state"][0][k]) for k, v in before.items())  # the argument is untouched
    run(reference, ps, range(5, 12))
    run(resumed, qs, range(5, 12))
    for p, q in zip(ps, qs):
        torch.testing.assert_close(q, p, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("algorithm", "cls", "theirs", "ours"), CASES, ids=IDS)
def test_a_descentlab_checkpoint_resumes_in_torch(algorithm: str, cls: Any, theirs: dict, ours: dict) -> None:
    ps = params()
    reference = dl.create(algorithm, ps, **ours)
    run(reference, ps, range(5))
    snapshot = reference.state_dict()
    exported = to_torch(snapshot)
    # and back again: ours -> torch -> ours keeps every state tensor and hyperparameter
    # (torch's SGD keeps no step counter: ours comes back as 1 with a momentum buffer, else 0)
    back = from_torch(exported, algorithm)
    for index, state in snapshot["state"].items():
        assert back["state"][index].keys() == state.keys()
        kept = [k for k in state if not (k == "step" and algorithm in ("sgd", "momentum"))]
        assert all(torch.equal(back["state"][index][k], state[k]) for k in kept)
    for group, again in zip(snapshot["param_groups"], back["param_groups"]):
        assert {k: again[k] for k in group} == group
    qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
    resumed = cls(qs, **theirs)
    resumed.load_state_dict(exported)
    run(reference, ps, range(5, 12))
    run(resumed, qs, range(5, 12))
    for p, q in zip(ps, qs):
        torch.testing.assert_close(q, p, rtol=1e-12, atol=0)



@pytest.mark.parametrize(("algorithm", "cls", "theirs", "ours"), CASES, ids=IDS)
def test_a_round_trip_through_the_other_format_resumes_bit_for_bit(algorithm: str, cls: Any, theirs: dict,
                                                                   ours: dict) -> None:
    for make, there_and_back in (
        (lambda ps: cls(ps, **theirs), lambda sd: to_torch(from_torch(sd, algorithm))),
        (lambda ps: dl.create(algorithm, ps, **ours), lambda sd: from_torch(to_torch(sd), algorithm)),
    ):
        ps = params()
        reference = make(ps)
        run(reference, ps, range(5))
        qs = [torch.nn.Parameter(p.detach().clone()) for p in ps]
        resumed = make(qs)
        resumed.load_state_dict(there_and_back(reference.state_dict()))
        run(reference, ps, range(5, 12))
        run(resumed, qs, range(5, 12))
        for p, q in zip(ps, qs):
            assert torch.equal(p, q), (p - q).abs().max()


def test_a_setting_torch_cannot_hold_is_refused_in_one_line() -> None:
    optimizer = dl.RMSProp(params(), lr=0.01)  # the notes' eps inside the root
    with pytest.raises(ValueError, match=r"^torch.optim.RMSprop cannot hold eps_in_sqrt=True; it always behaves as "
                                         r"eps_in_sqrt=False$"):
        to_torch(optimizer.state_dict())
    with pytest.raises(ValueError, match="torch.optim has no counterpart of 'yogi'"):
        to_torch(dl.Yogi(params(), lr=0.1).state_dict())
