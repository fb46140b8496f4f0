"""The notes' update code, re-written from SPEC section 1 as a test oracle.

Plain in-place loops in the style of the notes: each function takes a list of
parameters, their gradients, a list of per-parameter states (tensors changed in
place) and a hyperparameter dict, and updates the parameters in place.  The
constants are typed in from the SPEC table (never read from the library), so a
wrong default in the registry shows up as a mismatch.

Written independently of ``descentlab``: the tests compare the library against
these functions, so they must not share code with it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

# The notes' constants (SPEC section 1, "notes' constants" column).
NOTES_ADAGRAD_EPS = 1e-6
NOTES_RMSPROP_GAMMA = 0.9
NOTES_RMSPROP_EPS = 1e-6
NOTES_ADADELTA_RHO = 0.9
NOTES_ADADELTA_EPS = 1e-5
NOTES_ADAM_BETA1 = 0.9
NOTES_ADAM_BETA2 = 0.999
NOTES_ADAM_EPS = 1e-6


def no_states(params: list[Tensor]) -> list[tuple[Tensor, ...]]:
    return [() for _ in params]


def one_zero_state(params: list[Tensor]) -> list[tuple[Tensor, ...]]:
    return [(torch.zeros_like(p),) for p in params]


def two_zero_states(params: list[Tensor]) -> list[tuple[Tensor, ...]]:
    return [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]


def adam_states(params: list[Tensor]) -> list[tuple[Tensor, ...]]:
    # m, v and the step counter t (a one-element tensor so it can change in place)
    return [(torch.zeros_like(p), torch.zeros_like(p), torch.zeros(1, dtype=torch.int64)) for p in params]


def sgd(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """x <- x - eta g"""
    for x, g in zip(params, grads):
        x -= hp["lr"] * g


def momentum_velocity(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """m <- beta m + eta g;  x <- x - m"""
    for x, g, (m,) in zip(params, grads, states):
        m.copy_(hp["momentum"] * m + hp["lr"] * g)
        x -= m


def momentum_ema(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """m <- beta m + (1 - beta) g;  x <- x - alpha m,  alpha = eta / (1 - beta)"""
    beta = hp["momentum"]
    alpha = hp["lr"] / (1 - beta)
    for x, g, (m,) in zip(params, grads, states):
        m.copy_(beta * m + (1 - beta) * g)
        x -= alpha * m


def adagrad(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """s <- s + g^2;  x <- x - eta g / sqrt(s + eps), eps = 1e-6"""
    for x, g, (s,) in zip(params, grads, states):
        s += g * g
        x -= hp["lr"] * g / torch.sqrt(s + NOTES_ADAGRAD_EPS)


def rmsprop(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """s <- gamma s + (1 - gamma) g^2;  x <- x - eta g / sqrt(s + eps), gamma = 0.9, eps = 1e-6"""
    gamma = NOTES_RMSPROP_GAMMA
    for x, g, (s,) in zip(params, grads, states):
        s.copy_(gamma * s + (1 - gamma) * g * g)
        x -= hp["lr"] * g / torch.sqrt(s + NOTES_RMSPROP_EPS)


def adadelta(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """s <- rho s + (1 - rho) g^2;  g' = g sqrt((D + eps)/(s + eps));  x <- x - g';  D <- rho D + (1 - rho) g'^2"""
    rho, eps = NOTES_ADADELTA_RHO, NOTES_ADADELTA_EPS
    for x, g, (s, delta) in zip(params, grads, states):
        s.copy_(rho * s + (1 - rho) * g * g)
        g_prime = g * torch.sqrt((delta + eps) / (s + eps))
        x -= g_prime
        delta.copy_(rho * delta + (1 - rho) * g_prime * g_prime)


def adam(params: list[Tensor], grads: list[Tensor], states: list[Any], hp: dict[str, Any]) -> None:
    """m, v EMAs of g and g^2; bias-corrected m^, v^;  x <- x - eta m^ / (sqrt(v^) + eps)"""
    beta1, beta2, eps = NOTES_ADAM_BETA1, NOTES_ADAM_BETA2, NOTES_ADAM_EPS
    for x, g, (m, v, t) in zip(params, grads, states):
        t += 1
        step = int(t.item())
        m.copy_(beta1 * m + (1 - beta1) * g)
        v.copy_(beta2 * v + (1 - beta2) * g * g)
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        x -= hp["lr"] * m_hat / (torch.sqrt(v_hat) + eps)


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
    "sgd": [NotesRun("sgd", sgd, no_states, {"lr": 0.4}, {"lr": 0.4})],
    "momentum": [
        NotesRun("momentum-velocity", momentum_velocity, one_zero_state,
                 {"lr": 0.02, "momentum": 0.5}, {"lr": 0.02, "momentum": 0.5}),
        NotesRun("momentum-ema", momentum_ema, one_zero_state,
                 {"lr": 0.004, "momentum": 0.9}, {"lr": 0.004, "momentum": 0.9, "form": "ema"}),
    ],
    "adagrad": [NotesRun("adagrad", adagrad, one_zero_state, {"lr": 0.1}, {"lr": 0.1})],
    "rmsprop": [NotesRun("rmsprop", rmsprop, one_zero_state, {"lr": 0.01}, {"lr": 0.01})],
    "adadelta": [NotesRun("adadelta", adadelta, two_zero_states, {}, {})],
    "adam": [NotesRun("adam", adam, adam_states, {"lr": 0.01}, {"lr": 0.01})],
}
