"""The notes' optimizers as ``torch.optim.Optimizer`` classes (descentlab's conventions).

Each class only names the registry rule it runs; :class:`RuleOptimizer` (in
:mod:`descentlab.engine.adapter`) does the rest.  The defaults are the notes'
constants; ``conventions="torch"`` (or ``"optax"``, ``"keras"`` ...) takes another
library's.  For torch.optim's own names, signatures and state keys use
:mod:`descentlab.torch_optim`.

Example: replace ``torch.optim.Adam`` in any training loop::

    opt = descentlab.optim.Adam(model.parameters(), lr=0.01)
    for xb, yb in loader:
        opt.zero_grad()
        loss_fn(model(xb), yb).backward()
        opt.step()
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .algorithms import REGISTRY
from .algorithms import get as get_algorithm
from .engine.adapter import RuleOptimizer


class SGD(RuleOptimizer):
    algorithm = REGISTRY["sgd"]


class Momentum(RuleOptimizer):
    algorithm = REGISTRY["momentum"]


class AdaGrad(RuleOptimizer):
    algorithm = REGISTRY["adagrad"]


class RMSProp(RuleOptimizer):
    algorithm = REGISTRY["rmsprop"]


class AdaDelta(RuleOptimizer):
    algorithm = REGISTRY["adadelta"]


class Adam(RuleOptimizer):
    algorithm = REGISTRY["adam"]


class Yogi(RuleOptimizer):
    algorithm = REGISTRY["yogi"]


CLASSES: dict[str, type[RuleOptimizer]] = {
    cls.algorithm.name: cls for cls in (SGD, Momentum, AdaGrad, RMSProp, AdaDelta, Adam, Yogi)
}


def create(name: str, params: Iterable[Any], **hyperparameters: Any) -> RuleOptimizer:
    """Build the optimizer registered as ``name``: ``create("adam", model.parameters(), lr=0.01)``;
    ``create("adam", params, conventions="keras")`` takes Keras's defaults."""
    get_algorithm(name)
    return CLASSES[name](params, **hyperparameters)


__all__ = ["SGD", "AdaDelta", "AdaGrad", "Adam", "Momentum", "RMSProp", "RuleOptimizer", "Yogi", "CLASSES", "create"]
