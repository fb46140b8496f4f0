"""RMSProp: AdaGrad with a leaky (exponentially averaged) sum of squares."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, REQUIRED, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_rate, decayed, flag, is_zero, new_step_counter, nonnegative, one_of

if TYPE_CHECKING:
    from torch import Tensor

RMSPROP_DOC = r"""RMSProp (Tieleman & Hinton, 2012).

    s <- gamma * s + (1 - gamma) * g * g    (s starts at initial_accumulator_value: 0; TF1 starts it at 1)
    r  = s                                  (centered: r = s - a * a, a <- gamma * a + (1 - gamma) * g)
                                            (bias_correction: s, a divided by 1 - gamma**t first, as optax)
    u  = g / sqrt(r + eps)                  eps_in_sqrt=True  (the notes: gamma = 0.9, eps = 1e-6)
    u  = g / (sqrt(r) + eps)                eps_in_sqrt=False (torch.optim.RMSprop)
    x <- x - lr * u                         (momentum = 0)

With ``momentum > 0`` a buffer ``b`` (zero at the start) accumulates the steps, in one
of two forms (``momentum_form``):

    torch:    b <- momentum * b + u;        x <- x - lr * b        (torch.optim.RMSprop)
    velocity: b <- momentum * b + lr * u;   x <- x - b             (optax, Keras, TF1: momentum after lr)

They agree under a constant ``lr`` and differ once it changes.  ``nesterov=True``
(optax's) steps by ``momentum * b + u`` (torch form, times ``lr``) or
``momentum * b + lr * u`` (velocity form) instead of ``b``.

``s`` averages about the last ``1 / (1 - gamma)`` squared gradients, so the step
size adapts without AdaGrad's stall.  The notes call ``gamma`` "beta"; torch calls
it ``alpha`` and defaults it to 0.99.  ``RMSProp(lr, gamma=alpha, eps=1e-8,
eps_in_sqrt=False, ...)`` is ``torch.optim.RMSprop(lr, alpha=alpha, ...)`` exactly,
with ``centered``, ``momentum``, ``weight_decay`` and ``maximize``.
``decoupled_weight_decay=True`` decays ``x <- x (1 - lr * weight_decay)`` before the
step (Keras's ``weight_decay``).
"""


def rmsprop_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    s = torch.zeros_like(x)
    if not is_zero(hp["initial_accumulator_value"]):
        s = s + hp["initial_accumulator_value"]
    state = {"step": new_step_counter(x), "s": s}
    if hp["centered"]:
        state["a"] = torch.zeros_like(x)
    if not is_zero(hp["momentum"]):
        state["b"] = torch.zeros_like(x)
    return state


def rmsprop_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, gamma: Any, eps: Any, eps_in_sqrt: bool, centered: bool, bias_correction: bool,
    initial_accumulator_value: Any, momentum: Any, momentum_form: str, nesterov: bool,
    weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
) -> tuple[Tensor, State]:
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    t = state["step"] + 1
    new = {"step": t}
    s = new["s"] = gamma * state["s"] + (1 - gamma) * g * g  # s <- gamma s + (1 - gamma) g^2
    if centered:
        a = new["a"] = gamma * state["a"] + (1 - gamma) * g  # a <- gamma a + (1 - gamma) g
    if bias_correction:  # (cast to x's dtype: the float64 counter must not promote a 0-dim x)
        correction = (1 - gamma**t).to(x.dtype)  # s^ = s / (1 - gamma^t), a^ likewise
        s = s / correction
        if centered:
            a = a / correction
    r = s - a * a if centered else s
    u = g / ((r + eps).sqrt() if eps_in_sqrt else r.sqrt() + eps)
    if is_zero(momentum):
        return x - lr * u, new
    b = state["b"] if "b" in state else torch.zeros_like(u)
    if momentum_form == "velocity":
        b = new["b"] = momentum * b + lr * u  # b <- momentum b + lr u
        return x - (momentum * b + lr * u if nesterov else b), new
    b = new["b"] = momentum * b + u  # b <- momentum b + u
    return x - lr * (momentum * b + u if nesterov else b), new


def _rmsprop_consistency(hp: Mapping[str, Any]) -> None:
    if hp["nesterov"] and is_zero(hp["momentum"]):
        raise ValueError("nesterov needs momentum > 0, got momentum=0")


RMSPROP = AlgorithmSpec(
    name="rmsprop", title="RMSProp", init=rmsprop_init, update=rmsprop_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("gamma", 0.9, decay_rate, "decay of the average of g^2 (torch's alpha, the notes' beta)"),
        Hyperparameter("eps", 1e-6, nonnegative, "added to the average (inside the root) or to its root"),
        Hyperparameter("eps_in_sqrt", True, flag, "eps inside the square root (notes) or outside (torch)"),
        Hyperparameter("centered", False, flag, "divide by the variance estimate s - a^2 instead of s"),
        Hyperparameter("momentum", 0.0, decay_rate, "momentum applied to the scaled gradient"),
        Hyperparameter("momentum_form", "torch", one_of("torch", "velocity"),
                       "momentum before lr (torch: x <- x - lr b) or after it (velocity: x <- x - b; optax, Keras, TF1)"),
        Hyperparameter("nesterov", False, flag, "Nesterov's look-ahead step on the momentum buffer (optax)"),
        Hyperparameter("bias_correction", False, flag, "divide s (and a) by 1 - gamma^t, as optax's bias_correction"),
        Hyperparameter("initial_accumulator_value", 0.0, nonnegative, "starting value of s (optax's initial_scale; TF1: 1)"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "s", "a", "b"),
    doc=RMSPROP_DOC,
    consistency=_rmsprop_consistency,
)
