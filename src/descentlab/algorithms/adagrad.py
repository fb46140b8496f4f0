"""AdaGrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, REQUIRED, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decayed, flag, is_zero, new_step_counter, nonnegative

if TYPE_CHECKING:
    from torch import Tensor

ADAGRAD_DOC = r"""AdaGrad (Duchi et al., 2011).

    s <- s + g * g                                   (s starts at initial_accumulator_value)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    x <- x - lr_t * g / sqrt(s + eps)                eps_in_sqrt=True  (the notes, eps = 1e-6)
    x <- x - lr_t * g / (sqrt(s) + eps)              eps_in_sqrt=False (torch.optim.Adagrad)

``s`` only grows, so every coordinate's step ``lr / sqrt(s)`` only shrinks: fast
early progress, then a stall.  ``AdaGrad(lr, eps=1e-10, eps_in_sqrt=False)`` is
``torch.optim.Adagrad(lr)`` exactly (also with ``lr_decay``,
``initial_accumulator_value``, ``weight_decay``, ``maximize``).
``decoupled_weight_decay=True`` decays ``x <- x (1 - lr * weight_decay)`` before the
step (Keras's ``weight_decay``; ``lr``, not ``lr_t``).
"""


def adagrad_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    return {
        "step": new_step_counter(x),
        "s": torch.zeros_like(x) + hp["initial_accumulator_value"],
    }


def adagrad_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, eps: Any, eps_in_sqrt: bool, lr_decay: Any,
    initial_accumulator_value: Any, weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
) -> tuple[Tensor, State]:
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    t = state["step"] + 1
    # lr_t = lr / (1 + (t - 1) lr_decay), as lr * reciprocal: Python's `number / tensor` is computed that way,
    # so writing it out keeps a scalar lr and a swept tensor lr bit-identical; cast to x's dtype so the
    # float64 step counter never promotes a 0-dim x
    lr_t = lr if is_zero(lr_decay) else (lr * (1 + (t - 1) * lr_decay).reciprocal()).to(x.dtype)
    s = state["s"] + g * g  # s <- s + g^2
    denominator = (s + eps).sqrt() if eps_in_sqrt else s.sqrt() + eps
    return x - lr_t * g / denominator, {"step": t, "s": s}


ADAGRAD = AlgorithmSpec(
    name="adagrad", title="AdaGrad", init=adagrad_init, update=adagrad_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("eps", 1e-6, nonnegative, "added to s (inside the root) or to sqrt(s)"),
        Hyperparameter("eps_in_sqrt", True, flag, "eps inside the square root (notes) or outside (torch)"),
        Hyperparameter("lr_decay", 0.0, nonnegative, "lr_t = lr / (1 + (t - 1) * lr_decay)"),
        Hyperparameter("initial_accumulator_value", 0.0, nonnegative, "starting value of s"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "s"),
    doc=ADAGRAD_DOC,
)
