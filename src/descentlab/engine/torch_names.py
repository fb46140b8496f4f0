"""The torch.optim class behind each registry algorithm, and how our hyperparameter names map to it.

One table, :data:`TORCH_COUNTERPARTS` (Yogi has no row: torch.optim has no Yogi, and
:func:`torch_counterpart` says so): the airfoil runs with ``impl="torch"``, the
step benchmarks and the parity tests all read it, so a convention is translated
in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TorchCounterpart:
    """The torch.optim class the notes used for one algorithm, and how our names map to it.

    ``names`` maps each of our hyperparameters that the class has to its keyword;
    ``fixed`` says, in our terms, what the class always does (for example
    ``eps_in_sqrt=False``); every other hyperparameter of ours is refused.
    """

    class_name: str
    names: Mapping[str, str]
    fixed: Mapping[str, Any]

    @property
    def optimizer(self) -> type[torch.optim.Optimizer]:
        """The class itself, looked up when used (so that the table costs no import of torch.optim)."""
        return getattr(torch.optim, self.class_name)

    @property
    def title(self) -> str:
        return f"torch.optim.{self.class_name}"


_COMMON = {"weight_decay": "weight_decay", "maximize": "maximize"}

TORCH_COUNTERPARTS: dict[str, TorchCounterpart] = {
    "sgd": TorchCounterpart("SGD", {"lr": "lr", **_COMMON}, {}),
    "momentum": TorchCounterpart(
        "SGD",
        {"lr": "lr", "momentum": "momentum", "dampening": "dampening", "nesterov": "nesterov", **_COMMON},
        {"form": "torch"},
    ),
    "adagrad": TorchCounterpart(
        "Adagrad",
        {"lr": "lr", "eps": "eps", "lr_decay": "lr_decay", "initial_accumulator_value": "initial_accumulator_value", **_COMMON},
        {"eps_in_sqrt": False},
    ),
    "rmsprop": TorchCounterpart(
        "RMSprop",
        {"lr": "lr", "gamma": "alpha", "eps": "eps", "centered": "centered", "momentum": "momentum", **_COMMON},
        {"eps_in_sqrt": False},
    ),
    "adadelta": TorchCounterpart("Adadelta", {"lr": "lr", "rho": "rho", "eps": "eps", **_COMMON}, {}),
    "adam": TorchCounterpart(
        "Adam",
        {
            "lr": "lr",
            "betas": "betas",
            "eps": "eps",
            "amsgrad": "amsgrad",
            "decoupled_weight_decay": "decoupled_weight_decay",
            **_COMMON,
        },
        {},
    ),
}


TORCH_STATE_KEYS: dict[str, dict[str, str]] = {
    # torch.optim's per-parameter state name -> ours (each class also keeps "step", ours too; torch's SGD keeps none)
    "sgd": {},
    "momentum": {"momentum_buffer": "m"},
    "adagrad": {"sum": "s"},
    "rmsprop": {"square_avg": "s", "grad_avg": "a", "momentum_buffer": "b"},
    "adadelta": {"square_avg": "s", "acc_delta": "delta"},
    "adam": {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "v_max"},
}


def torch_counterpart(algorithm: str) -> TorchCounterpart:
    """The torch.optim class behind ``algorithm``; ``ValueError`` for an algorithm torch.optim does not have (Yogi)."""
    try:
        return TORCH_COUNTERPARTS[algorithm]
    except KeyError:
        raise ValueError(f"torch.optim has no counterpart of {algorithm!r}; run it with descentlab's own rule "
                         f"(impl 'own'); torch.optim has: {', '.join(TORCH_COUNTERPARTS)}") from None


def torch_refusals(algorithm: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """``(name, reason)`` for each of ``names`` that ``impl="torch"`` cannot honour."""
    counterpart = torch_counterpart(algorithm)
    refused = []
    for name in names:
        if name in counterpart.names:
            continue
        if name in counterpart.fixed:
            reason = f"{counterpart.title} has no such option; it always behaves as {name}={counterpart.fixed[name]!r}"
        else:
            reason = f"{counterpart.title} has no such option"
        refused.append((name, reason))
    return refused


__all__ = ["TORCH_COUNTERPARTS", "TORCH_STATE_KEYS", "TorchCounterpart", "torch_counterpart", "torch_refusals"]
