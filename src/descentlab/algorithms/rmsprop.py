"""RMSProp: AdaGrad with a leaky (exponentially averaged) sum of squares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import MAXIMIZE, REQUIRED, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_rate, effective_gradient, flag, is_zero, new_step_counter, nonnegative

if TYPE_CHECKING:
    from torch import Tensor

RMSPROP_DOC = r"""RMSProp (Tieleman & Hinton, 2012).

    s <- gamma * s + (1 - gamma) * g * g
    r  = s                                  (centered: r = s - a * a, a <- gamma * a + (1 - gamma) * g)
    u  = g / sqrt(r + eps)                  eps_in_sqrt=True  (the notes: gamma = 0.9, eps = 1e-6)
    u  = g / (sqrt(r) + eps)                eps_in_sqrt=False (torch.optim.RMSprop)
    x <- x - lr * u                         (momentum > 0: b <- momentum * b + u;  x <- x - lr * b)

``s`` averages about the last ``1 / (1 - gamma)`` squared gradients, so the step
size adapts without AdaGrad's stall.  The notes call ``gamma`` "beta"; torch calls
it ``alpha`` and defaults it to 0.99.  ``RMSProp(lr, gamma=alpha, eps=1e-8,
eps_in_sqrt=False, ...)`` is ``torch.optim.RMSprop(lr, alpha=alpha, ...)`` exactly,
with ``centered``, ``momentum``, ``weight_decay`` and ``maximize``.
"""


def rmsprop_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    state = {"step": new_step_counter(x), "s": torch.zeros_like(x)}
    if hp["centered"]:
        state["a"] = torch.zeros_like(x)
    if not is_zero(hp["momentum"]):
        state["b"] = torch.zeros_like(x)
    return state


def rmsprop_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, gamma: Any, eps: Any, eps_in_sqrt: bool,
    centered: bool, momentum: Any, weight_decay: Any, maximize: bool,
) -> tuple[Tensor, State]:
    g = effective_gradient(x, g, weight_decay=weight_decay, maximize=maximize)
    new = {"step": state["step"] + 1}
    s = new["s"] = gamma * state["s"] + (1 - gamma) * g * g  # s <- gamma s + (1 - gamma) g^2
    r = s
    if centered:
        a = new["a"] = gamma * state["a"] + (1 - gamma) * g  # a <- gamma a + (1 - gamma) g
        r = s - a * a
    u = g / ((r + eps).sqrt() if eps_in_sqrt else r.sqrt() + eps)
    if not is_zero(momentum):
        b = state["b"] if "b" in state else torch.zeros_like(u)
        u = new["b"] = momentum * b + u  # b <- momentum b + u
    return x - lr * u, new


RMSPROP = AlgorithmSpec(
    name="rmsprop", title="RMSProp", init=rmsprop_init, update=rmsprop_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("gamma", 0.9, decay_rate, "decay of the average of g^2 (torch's alpha, the notes' beta)"),
        Hyperparameter("eps", 1e-6, nonnegative, "added to the average (inside the root) or to its root"),
        Hyperparameter("eps_in_sqrt", True, flag, "eps inside the square root (notes) or outside (torch)"),
        Hyperparameter("centered", False, flag, "divide by the variance estimate s - a^2 instead of s"),
        Hyperparameter("momentum", 0.0, decay_rate, "momentum applied to the scaled gradient"),
        WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "s", "a", "b"),
    doc=RMSPROP_DOC,
)
