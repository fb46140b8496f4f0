"""Yogi: Adam with an additive, sign-controlled update of the second moment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .adam import adam_factors
from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, REQUIRED, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_pair, decayed, is_zero, new_step_counter, nonnegative

if TYPE_CHECKING:
    from torch import Tensor

YOGI_DOC = r"""Yogi (Zaheer, Reddi, Sachan, Kale & Kumar, 2018), in the form of d2l 11.10.3.

    m  <- beta1 * m + (1 - beta1) * g
    s  <- s + (1 - beta2) * g * g * sgn(g * g - s)     (Adam: s <- s + (1 - beta2) * (g * g - s))
    m^ = m / (1 - beta1**t)                            (bias correction, as Adam's)
    s^ = s / (1 - beta2**t)
    x <- x - lr * m^ / (sqrt(s^) + eps)

Adam moves ``s`` towards ``g^2`` by a share ``1 - beta2`` of the *gap*, so one
small gradient after large ones can shrink ``s`` fast and the step blows up;
Yogi moves it by ``(1 - beta2) g^2`` in the gap's direction whatever the gap's
size, so ``s`` forgets slowly.  Both start from ``m = s = 0`` (d2l's
``init_adam_states``; the first step is Adam's exactly).  ``eps = 1e-3`` is
d2l's PyTorch value, outside the root.  ``weight_decay`` adds the L2 term
``g <- g + weight_decay * x`` (decoupled, ``x <- x (1 - lr * weight_decay)`` before the
step, with ``decoupled_weight_decay=True``).  torch.optim has no Yogi.
"""


def yogi_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    m, s = torch.zeros_like(x), torch.zeros_like(x)
    if not is_zero(hp["initial_accumulator_value"]):  # optax.yogi starts both m and s at 1e-6
        m, s = m + hp["initial_accumulator_value"], s + hp["initial_accumulator_value"]
    return {"step": new_step_counter(x), "m": m, "s": s}


def yogi_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, betas: tuple[Any, Any], eps: Any, initial_accumulator_value: Any,
    weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
    factors: tuple[Tensor, ...] | None = None,
) -> tuple[Tensor, State]:
    beta1, beta2 = betas
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    new = {"step": state["step"] + 1}
    m = new["m"] = beta1 * state["m"] + (1 - beta1) * g  # m <- beta1 m + (1 - beta1) g
    g2 = g * g
    s = new["s"] = state["s"] + (1 - beta2) * g2 * torch.sign(g2 - state["s"])  # s <- s + (1 - beta2) g^2 sgn(g^2 - s)
    step_size, root, _ = adam_factors(state, {"lr": lr, "betas": betas}) if factors is None else factors
    m_hat_scale = step_size.to(x.dtype)  # lr / (1 - beta1^t)
    s_hat_root = s.sqrt() / root.to(x.dtype)  # sqrt(s / (1 - beta2^t))
    return x - m_hat_scale * m / (s_hat_root + eps), new


YOGI = AlgorithmSpec(
    name="yogi", title="Yogi", init=yogi_init, update=yogi_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("betas", (0.9, 0.999), decay_pair, "decays (beta1, beta2) of m and s"),
        Hyperparameter("eps", 1e-3, nonnegative, "added to sqrt(s^) (d2l's Yogi: 1e-3)"),
        Hyperparameter("initial_accumulator_value", 0.0, nonnegative, "starting value of both m and s (d2l: 0; optax: 1e-6)"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "m", "s"),
    doc=YOGI_DOC,
    factors=adam_factors,
)
