"""The update rules, each written once as a pure function, and their registry.

``REGISTRY`` maps each algorithm's name to its :class:`AlgorithmSpec`; the
optimizer classes, the 2D lab, the training experiment, the CLI and the tests all
read it.  Rules are pure: ``spec.update(x, g, state, **hp)`` returns the new
parameters and a new state and touches none of its arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .adadelta import ADADELTA
from .adagrad import ADAGRAD
from .adam import ADAM
from .rmsprop import RMSPROP
from .sgd import MOMENTUM, SGD
from .yogi import YOGI
from .spec import REQUIRED, AlgorithmSpec, Hyperparameter, Setting, State

REGISTRY: dict[str, AlgorithmSpec] = {
    "sgd": SGD,
    "momentum": MOMENTUM,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "adadelta": ADADELTA,
    "adam": ADAM,
    "yogi": YOGI,
}


def get(name: str) -> AlgorithmSpec:
    """The spec registered under ``name``; ``ValueError`` listing the names otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown algorithm {name!r}; choose one of: {', '.join(REGISTRY)}") from None


def setting(name: str, given: Mapping[str, Any] | Setting) -> Setting:
    """``given`` validated for the algorithm ``name``; a :class:`Setting` of that algorithm passes through unchecked."""
    spec = get(name)
    if isinstance(given, Setting):
        if given.spec is not spec:
            raise ValueError(f"a setting of {given.algorithm} cannot run as {spec.name}")
        return given
    if not isinstance(given, Mapping):
        raise TypeError(f"hyperparameters must be a mapping of names to values, got {given!r}")
    return spec.setting(given)


__all__ = ["REGISTRY", "REQUIRED", "AlgorithmSpec", "Hyperparameter", "Setting", "State", "get", "setting"]
