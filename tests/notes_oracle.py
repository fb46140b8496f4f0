"""The notes' update code as a test oracle for the library's rules.

The notes' own functions live once, in :mod:`descentlab.notes_loop` (written from
SPEC section 1 in the notes' style: in-place loops over the parameters, constants
such as AdaGrad's eps fixed inside, Adam's ``t`` kept in the hyperparameter dict);
they share no code with the registry's rules.  Here each is wrapped as
``init_states(params)`` and ``update(params, grads, state, hp)``.  The
hyperparameters the notes pass in are typed in from SPEC (never read from the
library), so a wrong default in the registry shows up as a mismatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from descentlab.notes import loop as notes

# The notes' constants (SPEC section 1) that their functions take from the caller.
NOTES_RMSPROP_GAMMA = 0.9  # the notes' "beta"
NOTES_ADADELTA_RHO = 0.9


class NotesState:
    """The per-parameter state tensors of a notes function, and the keys it keeps in its
    hyperparameter dict between calls (Adam's step counter ``t``)."""

    def __init__(self, tensors: Any, persistent: dict[str, Any]) -> None:
        self.tensors = tensors
        self.persistent = persistent


def _notes_function(function: Callable[..., None], copies: int, persistent: dict[str, Any] | None = None):
    """``(init_states, update)`` around one of the notes' functions, which read gradients from ``p.grad``."""

    def init_states(params: list[Tensor]) -> NotesState:
        return NotesState(notes.notes_states(params, copies), dict(persistent or {}))

    def update(params: list[Tensor], grads: list[Tensor], state: NotesState, hp: dict[str, Any]) -> None:
        for x, g in zip(params, grads):
            x.grad = g
        merged = {**hp, **state.persistent}
        function(params, state.tensors, merged)
        state.persistent = {key: merged[key] for key in state.persistent}

    return init_states, update


def _momentum_ema(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    """The notes' second momentum form (given only as formulas, no code):
    m <- beta m + (1 - beta) g;  x <- x - alpha m,  alpha = eta / (1 - beta)"""
    beta = hp["momentum"]
    alpha = hp["lr"] / (1 - beta)
    for x, m in zip(params, states):
        m.copy_(beta * m + (1 - beta) * x.grad)
        x -= alpha * m


def _d2l_yogi(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    """d2l 11.10.3's Yogi, written from its formulas (the notes have no Yogi), with d2l's constants:
    m <- beta1 m + (1 - beta1) g;  s <- s + (1 - beta2) g^2 sgn(g^2 - s);  bias-corrected as Adam."""
    beta1, beta2, eps = 0.9, 0.999, 1e-3
    for p, (m, s) in zip(params, states):
        g = p.grad.data
        m.copy_(beta1 * m + (1 - beta1) * g)
        s.copy_(s + (1 - beta2) * torch.sign(g**2 - s) * g**2)
        m_hat = m / (1 - beta1 ** hp["t"])
        s_hat = s / (1 - beta2 ** hp["t"])
        p.data -= hp["lr"] * m_hat / (torch.sqrt(s_hat) + eps)
    hp["t"] += 1


SGD = _notes_function(notes.notes_sgd, 0)
MOMENTUM = _notes_function(notes.notes_momentum, 1)
MOMENTUM_EMA = _notes_function(_momentum_ema, 1)
ADAGRAD = _notes_function(notes.notes_adagrad, 1)
RMSPROP = _notes_function(notes.notes_rmsprop, 1)
ADADELTA = _notes_function(notes.notes_adadelta, 2)
ADAM = _notes_function(notes.notes_adam, 2, {"t": 1})  # the notes call it with {'lr': 0.01, 't': 1}
YOGI = _notes_function(_d2l_yogi, 2, {"t": 1})


@dataclass(frozen=True)
class NotesRun:
    """One configuration of the notes' code and the library arguments that must reproduce it."""

    id: str
    update: Callable[[list[Tensor], list[Tensor], list[Any], dict[str, Any]], None]
    init_states: Callable[[list[Tensor]], list[Any]]
    hyperparameters: dict[str, Any]  # what the notes' function reads
    library_kwargs: dict[str, Any]  # given to descentlab (only what the notes' defaults do not fix)


# Per registry name: the notes' runs (hyperparameters from the notes' experiments).
NOTES_RUNS: dict[str, list[NotesRun]] = {
    "sgd": [NotesRun("sgd", SGD[1], SGD[0], {"lr": 0.4}, {"lr": 0.4})],
    "momentum": [
        NotesRun("momentum-velocity", MOMENTUM[1], MOMENTUM[0],
                 {"lr": 0.02, "momentum": 0.5}, {"lr": 0.02, "momentum": 0.5}),
        NotesRun("momentum-ema", MOMENTUM_EMA[1], MOMENTUM_EMA[0],
                 {"lr": 0.004, "momentum": 0.9}, {"lr": 0.004, "momentum": 0.9, "form": "ema"}),
    ],
    "adagrad": [NotesRun("adagrad", ADAGRAD[1], ADAGRAD[0], {"lr": 0.1}, {"lr": 0.1})],
    "rmsprop": [NotesRun("rmsprop", RMSPROP[1], RMSPROP[0], {"lr": 0.01, "beta": NOTES_RMSPROP_GAMMA}, {"lr": 0.01})],
    "adadelta": [NotesRun("adadelta", ADADELTA[1], ADADELTA[0], {"rho": NOTES_ADADELTA_RHO}, {})],
    "adam": [NotesRun("adam", ADAM[1], ADAM[0], {"lr": 0.01}, {"lr": 0.01})],
    "yogi": [NotesRun("yogi", YOGI[1], YOGI[0], {"lr": 0.01}, {"lr": 0.01})],
}
