"""Adam: momentum on the gradient plus RMSProp's scaling, both bias-corrected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import MAXIMIZE, REQUIRED, AlgorithmSpec, Hyperparameter, State
from .spec import decay_pair, effective_gradient, flag, is_zero, new_step_counter, nonnegative, one_of

if TYPE_CHECKING:
    from torch import Tensor

ADAM_DOC = r"""Adam (Kingma & Ba, 2015); AdamW with ``decoupled_weight_decay=True``.

    m  <- beta1 * m + (1 - beta1) * g
    v  <- beta2 * v + (1 - beta2) * g * g        (amsgrad: v_max <- max(v_max, v), used for v below)
    m^ = m / (1 - beta1**t)                      (bias correction: the EMA weights sum to 1 - beta**t)
    v^ = v / (1 - beta2**t)
    x <- x - lr * m^ / (sqrt(v^) + eps)

eps sits outside the root, as in the notes' code and torch.  The notes use
``eps = 1e-6`` (their text says 1e-8; torch.optim.Adam uses 1e-8).  Weight decay
is an L2 term ``g <- g + weight_decay * x`` or, decoupled (AdamW),
``x <- x * (1 - lr * weight_decay)`` before the step.  ``Adam(lr, eps=1e-8)`` is
``torch.optim.Adam(lr)`` exactly, also with ``amsgrad`` and ``maximize``;
``Adam(lr, eps=1e-8, weight_decay=w, decoupled_weight_decay=True)`` is
``torch.optim.AdamW(lr, weight_decay=w)``.  ``eps_mode="epsilon_hat"`` adds eps to
``sqrt(v)`` and folds both corrections into the step size (the paper's "more
efficient" ordering, used by Keras and TF1): ``x <- x - lr_t * m / (sqrt(v) + eps)``.
"""


def adam_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    state = {"step": new_step_counter(x), "m": torch.zeros_like(x), "v": torch.zeros_like(x)}
    if hp["amsgrad"]:
        state["v_max"] = torch.zeros_like(x)
    return state


def adam_factors(counters: Mapping[str, Tensor], hp: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
    """The step's scalars, functions of the step counter alone (any shape), with ``t = step + 1``:
    ``lr / (1 - beta1^t)`` and ``sqrt(1 - beta2^t)``."""
    t = counters["step"] + 1
    beta1, beta2 = hp["betas"]
    # lr * reciprocal rather than lr / ...: Python's `number / tensor` is computed that way,
    # so a scalar lr and a swept tensor lr stay bit-identical
    return hp["lr"] * (1 - beta1**t).reciprocal(), (1 - beta2**t).sqrt()


def adam_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, betas: tuple[Any, Any], eps: Any, amsgrad: bool,
    weight_decay: Any, decoupled_weight_decay: bool, maximize: bool, eps_mode: str,
    factors: tuple[Tensor, Tensor] | None = None,
) -> tuple[Tensor, State]:
    beta1, beta2 = betas
    if decoupled_weight_decay:
        g = effective_gradient(x, g, weight_decay=0, maximize=maximize)
        if not is_zero(weight_decay):
            x = x * (1 - lr * weight_decay)  # x <- x (1 - lr wd)
    else:
        g = effective_gradient(x, g, weight_decay=weight_decay, maximize=maximize)
    t = state["step"] + 1
    new = {"step": t}
    m = new["m"] = beta1 * state["m"] + (1 - beta1) * g  # m <- beta1 m + (1 - beta1) g
    v = new["v"] = beta2 * state["v"] + (1 - beta2) * g * g  # v <- beta2 v + (1 - beta2) g^2
    if amsgrad:
        v = new["v_max"] = torch.maximum(state["v_max"], v)
    step_size, root = adam_factors(state, {"lr": lr, "betas": betas}) if factors is None else factors
    # the float64 factors are cast to x's dtype so that they never promote a 0-dim x
    m_hat_scale = step_size.to(x.dtype)  # lr / (1 - beta1^t)
    if eps_mode == "epsilon_hat":  # Kingma & Ba's end of section 2: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
        return x - (m_hat_scale * root.to(x.dtype)) * m / (v.sqrt() + eps), new
    v_hat_root = v.sqrt() / root.to(x.dtype)  # sqrt(v / (1 - beta2^t))
    return x - m_hat_scale * m / (v_hat_root + eps), new


ADAM = AlgorithmSpec(
    name="adam", title="Adam", init=adam_init, update=adam_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("betas", (0.9, 0.999), decay_pair, "decays (beta1, beta2) of m and v"),
        Hyperparameter("eps", 1e-6, nonnegative, "added to sqrt(v^)"),
        Hyperparameter("amsgrad", False, flag, "use the running maximum of v (AMSGrad)"),
        Hyperparameter("weight_decay", 0.0, nonnegative, "L2 penalty, or decoupled decay with decoupled_weight_decay"),
        Hyperparameter("decoupled_weight_decay", False, flag, "AdamW: x <- x (1 - lr weight_decay)"),
        Hyperparameter("eps_mode", "algorithm1", one_of("algorithm1", "epsilon_hat"),
                       "eps added to sqrt(v^) (algorithm1) or to sqrt(v) with lr_t = lr sqrt(1-beta2^t)/(1-beta1^t)"),
        MAXIMIZE,
    ),
    state_keys=("step", "m", "v", "v_max"),
    doc=ADAM_DOC,
    factors=adam_factors,
)
