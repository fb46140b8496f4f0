"""Gradient descent and momentum (heavy ball)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, REQUIRED, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_rate, decayed, flag, is_zero, new_step_counter, nonnegative, one_of, unit_interval

if TYPE_CHECKING:
    from torch import Tensor

SGD_DOC = r"""Gradient descent on minibatch gradients.

    g <- g + weight_decay * x        (when weight_decay > 0; g <- -g first when maximize)
    x <- x - lr * g

Identical to ``torch.optim.SGD(lr=lr, weight_decay=weight_decay, maximize=maximize)``
(``momentum=0``).  ``decoupled_weight_decay=True`` decays ``x <- x (1 - lr * weight_decay)``
before the step instead, as ``keras.optimizers.SGD(weight_decay=...)``.
"""


def sgd_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    return {"step": new_step_counter(x)}


def sgd_update(
    x: Tensor, g: Tensor, state: State, *, lr: Any, weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
) -> tuple[Tensor, State]:
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    return x - lr * g, {"step": state["step"] + 1}


SGD = AlgorithmSpec(
    name="sgd", title="SGD", init=sgd_init, update=sgd_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step",),
    doc=SGD_DOC,
)


MOMENTUM_DOC = r"""Momentum: a buffer ``m`` (zero at the start) accumulates gradients.

One rule, three conventions for what ``m`` holds (``form``):

    velocity (the notes):   m <- momentum * m + lr * g                 x <- x - m
    ema      (the notes):   m <- momentum * m + (1 - momentum) * g     x <- x - lr / (1 - momentum) * m
    torch    (torch.optim): m <- momentum * m + (1 - dampening) * g    x <- x - lr * m
                            (at t = 1, or with momentum = 0, m <- g: torch does not dampen then)

With a constant ``lr`` all three give the same trajectory (dampening 0).  They
differ once ``lr`` changes during training: the velocity form keeps the old
learning rates inside ``m``, the others apply the current one to all of ``m``.
``form="torch"`` is ``torch.optim.SGD(momentum=momentum, dampening=dampening)``
exactly, under any learning-rate schedule.

With ``nesterov=True`` the step looks ahead: the ``m`` of the step above is replaced
by ``momentum * m + c * g`` where ``c`` is the gradient's coefficient in ``m``'s update
(``lr``, ``1 - momentum`` or ``1``), i.e. torch's ``g + momentum * buf``.
``decoupled_weight_decay=True`` decays ``x <- x (1 - lr * weight_decay)`` before the
step (Keras's ``weight_decay``) instead of adding the L2 term to ``g``.
"""


def momentum_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    return {"step": new_step_counter(x), "m": torch.zeros_like(x)}


def momentum_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, momentum: Any, form: str, dampening: Any, nesterov: bool,
    weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
) -> tuple[Tensor, State]:
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    t = state["step"] + 1
    if form == "velocity":
        c, scale = lr, 1.0
    elif form == "ema":
        c, scale = 1 - momentum, lr / (1 - momentum)
    else:  # torch
        # (cast to x's dtype: a float64 0-dim factor would otherwise promote a 0-dim x and its buffer)
        # torch dampens only a real buffer: not on the first step, not when momentum is 0
        undamped = is_zero(dampening) or is_zero(momentum)
        c = 1.0 if undamped else (1 - dampening * (t > 1).to(t.dtype)).to(x.dtype)
        scale = lr
    m = momentum * state["m"] + c * g  # m <- momentum * m + c * g
    direction = momentum * m + c * g if nesterov else m
    return x - scale * direction, {"step": t, "m": m}


def _momentum_consistency(hp: Mapping[str, Any]) -> None:
    if hp["dampening"] != 0 and hp["form"] != "torch":
        raise ValueError(f"dampening is only used with form='torch', got form={hp['form']!r}")
    if hp["nesterov"] and hp["dampening"] != 0:
        raise ValueError(f"nesterov requires dampening = 0, got {hp['dampening']:g}")


MOMENTUM = AlgorithmSpec(
    name="momentum", title="Momentum", init=momentum_init, update=momentum_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("momentum", REQUIRED, decay_rate, "momentum beta, in [0, 1)"),
        Hyperparameter("form", "velocity", one_of("velocity", "ema", "torch"), "what the buffer m holds"),
        Hyperparameter("dampening", 0.0, unit_interval, "torch's dampening (form='torch' only)"),
        Hyperparameter("nesterov", False, flag, "Nesterov's look-ahead step"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "m"),
    doc=MOMENTUM_DOC,
    consistency=_momentum_consistency,
)
