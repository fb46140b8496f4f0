"""AdaDelta: RMSProp whose learning rate is itself a running RMS of past steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from .spec import MAXIMIZE, WEIGHT_DECAY, AlgorithmSpec, Hyperparameter, State
from .spec import decay_rate, effective_gradient, new_step_counter, nonnegative

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
"""


def adadelta_init(x: Tensor, hp: Mapping[str, Any]) -> State:
    return {"step": new_step_counter(x), "s": torch.zeros_like(x), "delta": torch.zeros_like(x)}


def adadelta_update(
    x: Tensor, g: Tensor, state: State, *,
    lr: Any, rho: Any, eps: Any, weight_decay: Any, maximize: bool,
) -> tuple[Tensor, State]:
    g = effective_gradient(x, g, weight_decay=weight_decay, maximize=maximize)
    s = rho * state["s"] + (1 - rho) * g * g  # s <- rho s + (1 - rho) g^2
    step = g * ((state["delta"] + eps).sqrt() / (s + eps).sqrt())  # g' = g sqrt((delta + eps) / (s + eps))
    delta = rho * state["delta"] + (1 - rho) * step * step  # delta <- rho delta + (1 - rho) g'^2
    return x - lr * step, {"step": state["step"] + 1, "s": s, "delta": delta}


ADADELTA = AlgorithmSpec(
    name="adadelta", title="AdaDelta", init=adadelta_init, update=adadelta_update,
    hyperparameters=(
        Hyperparameter("rho", 0.9, decay_rate, "decay of both running averages"),
        Hyperparameter("eps", 1e-5, nonnegative, "added inside both roots"),
        Hyperparameter("lr", 1.0, nonnegative, "multiplier of the step (only to match torch; the notes have none)"),
        WEIGHT_DECAY,
        MAXIMIZE,
    ),
    state_keys=("step", "s", "delta"),
    doc=ADADELTA_DOC,
)
