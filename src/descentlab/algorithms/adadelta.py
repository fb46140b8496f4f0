"""AdaDelta: RMSProp whose learning rate is itself a running RMS of past steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import DECOUPLED_WEIGHT_DECAY, MAXIMIZE, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_rate, decayed, flag, new_step_counter, nonnegative, real_number

if TYPE_CHECKING:
    from torch import Tensor

ADADELTA_DOC = r"""AdaDelta (Zeiler, 2012).

    s     <- rho * s + (1 - rho) * g * g
    g'     = g * sqrt((delta + eps) / (s + eps))
    x     <- x - lr * g'                    (lr = 1: the notes' AdaDelta has no learning rate)
    delta <- rho * delta + (1 - rho) * g' * g'

The ratio of two running RMS values gives the step the units of ``x``.  The notes
use ``eps = 1e-5``; torch.optim.Adadelta uses ``1e-6``.  That alone moves the
notes' airfoil result from 0.2435 to 0.2678: early steps are about
``sqrt(eps)``-sized, and a smaller ``eps`` starts slower.
``AdaDelta(eps=1e-6, lr=lr)`` is ``torch.optim.Adadelta(lr=lr)`` exactly.

``lr`` is a multiplier, and with ``signed_lr=True`` it may be negative: optax's
``adadelta()`` with its default ``learning_rate=None`` skips the ``-lr`` scaling,
so it adds ``g'`` and steps *up* the gradient; that is ``lr=-1, signed_lr=True``
(the ``optax`` preset).  ``decoupled_weight_decay=True`` decays
``x <- x (1 - lr * weight_decay)`` before the step (Keras's ``weight_decay``).
"""


def adadelta_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    return {"step": new_step_counter(x), "s": torch.zeros_like(x), "delta": torch.zeros_like(x)}


def adadelta_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, signed_lr: bool, rho: Any, eps: Any, weight_decay: Any, decoupled_weight_decay: bool, maximize: bool,
) -> tuple[Tensor, State]:
    x, g = decayed(x, g, lr=lr, weight_decay=weight_decay, decoupled=decoupled_weight_decay, maximize=maximize)
    s = rho * state["s"] + (1 - rho) * g * g  # s <- rho s + (1 - rho) g^2
    step = g * ((state["delta"] + eps).sqrt() / (s + eps).sqrt())  # g' = g sqrt((delta + eps) / (s + eps))
    delta = rho * state["delta"] + (1 - rho) * step * step  # delta <- rho delta + (1 - rho) g'^2
    return x - lr * step, {"step": state["step"] + 1, "s": s, "delta": delta}


def _adadelta_consistency(hp: Mapping[str, Any]) -> None:
    lr = float(hp["lr"])
    if lr < 0 and not hp["signed_lr"]:
        raise ValueError(f"lr must be >= 0, got {lr:g} (a negative lr steps up the gradient: pass signed_lr=True "
                         "to mean it, as optax.adadelta's default learning_rate=None does)")


ADADELTA = AlgorithmSpec(
    name="adadelta", title="AdaDelta", init=adadelta_init, update=adadelta_update,
    hyperparameters=(
        Hyperparameter("rho", 0.9, decay_rate, "decay of both running averages"),
        Hyperparameter("eps", 1e-5, nonnegative, "added inside both roots"),
        Hyperparameter("lr", 1.0, real_number, "multiplier of the step (only to match torch; the notes have none); "
                                               ">= 0 unless signed_lr"),
        Hyperparameter("signed_lr", False, flag, "allow a negative lr (optax's default adadelta is lr=-1: it ascends)"),
        WEIGHT_DECAY,
        DECOUPLED_WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "s", "delta"),
    doc=ADADELTA_DOC,
    consistency=_adadelta_consistency,
)
