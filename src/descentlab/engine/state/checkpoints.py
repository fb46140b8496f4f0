"""torch.optim checkpoints in and out: a ``torch.optim`` state dict as a descentlab one, and back.

``from_torch(state_dict, "adam")`` turns what ``torch.optim.Adam.state_dict()``
returned into what :class:`descentlab.optim.Adam` loads (``exp_avg`` -> ``m``,
``exp_avg_sq`` -> ``v``, ..., :data:`~descentlab.engine.torch_names.TORCH_STATE_KEYS`;
hyperparameter names by :data:`~descentlab.engine.torch_names.TORCH_COUNTERPARTS`),
and :func:`to_torch` does the reverse.  Neither changes its argument: the tensors
are copied.  A setting torch's class cannot hold (``eps_in_sqrt=True`` for
RMSprop, ``eps_mode="epsilon_hat"``) is refused in one line.

torch's SGD keeps no step counter; a momentum buffer means at least one step was
taken, which is all the torch form of our rule needs (its first step is undamped),
so ``step`` is 1 then.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import torch

from ...algorithms import get as get_algorithm
from ..torch_names import TORCH_STATE_KEYS, torch_counterpart
from .precision import COMPENSATION


def _copied(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def from_torch(state_dict: Mapping[str, Any], algorithm: str) -> dict[str, Any]:
    """A descentlab state dict of ``algorithm`` holding what ``state_dict`` (torch.optim's) holds."""
    spec = get_algorithm(algorithm)
    counterpart = torch_counterpart(algorithm)
    ours_of = {theirs: ours for ours, theirs in counterpart.names.items()}
    groups = []
    for group in state_dict["param_groups"]:
        mine = {ours: _copied(group[theirs]) for theirs, ours in ours_of.items() if theirs in group}
        mine.update({name: value for name, value in counterpart.fixed.items() if name in spec.names})
        mine = {**spec.defaults, **mine, "params": list(group["params"])}
        groups.append(mine)
    keys = TORCH_STATE_KEYS[algorithm]
    state: dict[Any, dict[str, Any]] = {}
    for index, saved in state_dict["state"].items():
        unknown = set(saved) - set(keys) - {"step"}
        if unknown:
            raise ValueError(f"a torch {counterpart.class_name} state holds {', '.join(sorted(unknown))}, "
                             f"which descentlab's {spec.name} cannot take")
        entry = {keys[name]: _copied(value) for name, value in saved.items() if name in keys}
        step = saved.get("step", 1.0 if entry else 0.0)
        entry["step"] = torch.as_tensor(step, dtype=torch.float64).detach().clone().reshape(())
        state[index] = entry
    return {"state": state, "param_groups": groups, "algorithm": spec.name}


def to_torch(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """The torch.optim state dict of the class behind ``state_dict["algorithm"]`` (a descentlab state dict)."""
    algorithm = state_dict["algorithm"]
    spec = get_algorithm(algorithm)
    counterpart = torch_counterpart(algorithm)
    fresh = counterpart.optimizer([torch.zeros(1)], **_torch_required(algorithm)).defaults
    groups = []
    for group in state_dict["param_groups"]:
        for name in spec.names:
            if name in counterpart.names:
                continue
            expected = counterpart.fixed.get(name, spec.defaults.get(name))
            if group[name] != expected:
                raise ValueError(f"{counterpart.title} cannot hold {name}={group[name]!r}; "
                                 f"it always behaves as {name}={expected!r}")
        theirs = {counterpart.names[name]: _copied(group[name]) for name in spec.names if name in counterpart.names}
        groups.append({**fresh, **theirs, "params": list(group["params"])})
    torch_of = {ours: theirs for theirs, ours in TORCH_STATE_KEYS[algorithm].items()}
    _warn_if_compensation_dropped(state_dict, counterpart.title)
    state: dict[Any, dict[str, Any]] = {}
    for index, saved in state_dict["state"].items():
        entry = {torch_of[name]: _copied(value) for name, value in saved.items() if name in torch_of}
        if algorithm != "momentum" and algorithm != "sgd":  # torch's SGD keeps no step
            entry["step"] = saved["step"].detach().clone().to(torch.float32)
        state[index] = entry
    return {"state": state, "param_groups": groups}


def _warn_if_compensation_dropped(state_dict: Mapping[str, Any], title: str) -> None:
    """torch.optim keeps no rounding error: say so when the state dict holds a nonzero one (bfloat16/float16 runs)."""
    errors = [saved[COMPENSATION] for saved in state_dict["state"].values()
              if isinstance(saved.get(COMPENSATION), torch.Tensor) and saved[COMPENSATION].device.type != "meta"]
    largest = max((e.abs().max().item() for e in errors if e.numel()), default=0.0)
    if largest > 0:
        warnings.warn(f"to_torch: {title} keeps no rounding error; the kept \"compensation\" of "
                      f"{len(errors)} low-precision parameter(s) (up to {largest:.3g}) is dropped", RuntimeWarning,
                      stacklevel=3)


def _torch_required(algorithm: str) -> dict[str, Any]:
    """The arguments torch's class needs to be built at all (SGD: none since torch 2.x, momentum for momentum)."""
    return {"momentum": 0.9} if algorithm == "momentum" else {}


__all__ = ["from_torch", "to_torch"]
