"""Adam: momentum on the gradient plus RMSProp's scaling, both bias-corrected."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, REQUIRED, AlgorithmSpec, Hyperparameter, State
from .spec import decay_pair, decayed, flag, is_zero, new_step_counter, nonnegative, one_of

if TYPE_CHECKING:
    from torch import Tensor

ADAM_DOC = r"""Adam (Kingma & Ba, 2015); AdamW with ``decoupled_weight_decay=True``.

    m  <- beta1 * m + (1 - beta1) * g
    v  <- beta2 * v + (1 - beta2) * g * g
    m^ = m / (1 - beta1**t)                      (bias correction: the EMA weights sum to 1 - beta**t)
    v^ = v / (1 - beta2**t)
    x <- x - lr * m^ / (sqrt(v^ + eps_root) + eps)

eps sits outside the root, as in the notes' code and torch; ``eps_root`` (0 unless
given; optax's) inside it, on ``v^``.  The notes use ``eps = 1e-6`` (their text
says 1e-8; torch.optim.Adam uses 1e-8).  AMSGrad (``amsgrad=True``) uses a running
maximum in place of ``v^``, taken where ``amsgrad_max`` says:

    before_correction (torch, Keras):  v_max <- max(v_max, v);   v^ = v_max / (1 - beta2**t)
    after_correction  (optax):         v_max <- max(v_max, v / (1 - beta2**t));   v^ = v_max

Weight decay is an L2 term ``g <- g + weight_decay * x`` or, decoupled (AdamW, Keras),
``x <- x * (1 - lr * weight_decay)`` before the step.  ``Adam(lr, eps=1e-8)`` is
``torch.optim.Adam(lr)`` exactly, also with ``amsgrad`` and ``maximize``;
``Adam(lr, eps=1e-8, weight_decay=w, decoupled_weight_decay=True)`` is
``torch.optim.AdamW(lr, weight_decay=w)``.  ``eps_mode="epsilon_hat"`` adds eps to
``sqrt(v)`` and folds both corrections into the step size (the paper's "more
efficient" ordering, used by Keras and TF1): ``x <- x - lr_t * m / (sqrt(v) + eps)``
with ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)``.
"""


def adam_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    state = {"step": new_step_counter(x), "m": torch.zeros_like(x), "v": torch.zeros_like(x)}
    if hp["amsgrad"]:
        state["v_max"] = torch.zeros_like(x)
    return state


def adam_factors(counters: Mapping[str, Tensor], hp: Mapping[str, Any]) -> tuple[Tensor, Tensor, Tensor]:
    """The step's scalars, functions of the step counter alone (any shape), with ``t = step + 1``:
    ``lr / (1 - beta1^t)``, ``sqrt(1 - beta2^t)`` and ``1 - beta2^t``."""
    t = counters["step"] + 1
    beta1, beta2 = hp["betas"]
    correction2 = 1 - beta2**t
    # lr * reciprocal rather than lr / ...: Python's `number / tensor` is computed that way,
    # so a scalar lr and a swept tensor lr stay bit-identical
    return hp["lr"] * (1 - beta1**t).reciprocal(), correction2.sqrt(), correction2


def adam_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, betas: tuple[Any, Any], eps: Any, eps_root: Any, amsgrad: bool, amsgrad_max: str,
    weight_decay: Any, decoupled_weight_decay: bool, maximize: bool, eps_mode: str,
    factors: tuple[Tensor, ...] | None = None,
) -> tuple[Tensor, State]:
    beta1, beta2 = betas
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    t = state["step"] + 1
    new = {"step": t}
    m = new["m"] = beta1 * state["m"] + (1 - beta1) * g  # m <- beta1 m + (1 - beta1) g
    v = new["v"] = beta2 * state["v"] + (1 - beta2) * g * g  # v <- beta2 v + (1 - beta2) g^2
    step_size, root, correction2 = adam_factors(state, {"lr": lr, "betas": betas}) if factors is None else factors
    # the float64 factors are cast to x's dtype so that they never promote a 0-dim x
    m_hat_scale = step_size.to(x.dtype)  # lr / (1 - beta1^t)
    if amsgrad and amsgrad_max == "after_correction":
        v_hat = new["v_max"] = torch.maximum(state["v_max"], v / correction2.to(x.dtype))  # max(v_max, v^)
        return x - m_hat_scale * m / (_root(v_hat, eps_root) + eps), new
    if amsgrad:
        v = new["v_max"] = torch.maximum(state["v_max"], v)  # v_max <- max(v_max, v)
    if eps_mode == "epsilon_hat":  # Kingma & Ba's end of section 2: lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
        return x - (m_hat_scale * root.to(x.dtype)) * m / (v.sqrt() + eps), new
    if is_zero(eps_root):
        v_hat_root = v.sqrt() / root.to(x.dtype)  # sqrt(v / (1 - beta2^t)), as torch rounds it
    else:
        v_hat_root = _root(v / correction2.to(x.dtype), eps_root)
    return x - m_hat_scale * m / (v_hat_root + eps), new


def _root(v_hat: Tensor, eps_root: Any) -> Tensor:
    """``sqrt(v^ + eps_root)``."""
    return v_hat.sqrt() if is_zero(eps_root) else (v_hat + eps_root).sqrt()


def _adam_consistency(hp: Mapping[str, Any]) -> None:
    if hp["eps_mode"] == "epsilon_hat":
        if not is_zero(hp["eps_root"]):
            raise ValueError("eps_root is only used with eps_mode='algorithm1' (epsilon hat has no eps inside the root)")
        if hp["amsgrad"] and hp["amsgrad_max"] == "after_correction":
            raise ValueError("amsgrad_max='after_correction' needs eps_mode='algorithm1' "
                             "(epsilon hat never forms the corrected v^)")


ADAM = AlgorithmSpec(
    name="adam", title="Adam", init=adam_init, update=adam_update,
    hyperparameters=(
        Hyperparameter("lr", REQUIRED, nonnegative, "learning rate eta"),
        Hyperparameter("betas", (0.9, 0.999), decay_pair, "decays (beta1, beta2) of m and v"),
        Hyperparameter("eps", 1e-6, nonnegative, "added to sqrt(v^)"),
        Hyperparameter("amsgrad", False, flag, "use the running maximum of v (AMSGrad)"),
        Hyperparameter("weight_decay", 0.0, nonnegative, "L2 penalty, or decoupled decay with decoupled_weight_decay"),
        DECOUPLED_WEIGHT_DECAY,
        Hyperparameter("eps_mode", "algorithm1", one_of("algorithm1", "epsilon_hat"),
                       "eps added to sqrt(v^) (algorithm1) or to sqrt(v) with lr_t = lr sqrt(1-beta2^t)/(1-beta1^t)"),
        Hyperparameter("eps_root", 0.0, nonnegative, "added to v^ inside the root (optax's eps_root)"),
        Hyperparameter("amsgrad_max", "before_correction", one_of("before_correction", "after_correction"),
                       "AMSGrad's maximum of v (torch, Keras) or of v^ (optax)"),
        MAXIMIZE,
    ),
    state_keys=("step", "m", "v", "v_max"),
    doc=ADAM_DOC,
    consistency=_adam_consistency,
    factors=adam_factors,
)
