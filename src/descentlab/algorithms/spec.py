"""The contract every algorithm follows, and the one table-driven validator.

An algorithm is an :class:`AlgorithmSpec`: a table of hyperparameters (name,
default, allowed range), a pure ``init(x, hp) -> state`` and a pure
``update(x, g, state, **hp) -> (x_new, state_new)``.  ``x``, ``g`` and the state
tensors may carry any leading batch dimensions; a numeric hyperparameter may be a
Python number or a tensor that broadcasts against ``x`` (this is how a sweep over
K settings runs as one batch).  The update never modifies its inputs.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import Tensor

State = dict[str, "Tensor"]
InitFn = Callable[["Tensor", Mapping[str, Any]], State]
UpdateFn = Callable[..., "tuple[Tensor, State]"]

REQUIRED: Any = type("Required", (), {"__repr__": lambda self: "REQUIRED"})()
"""Default of a hyperparameter the caller must give (the learning rate, usually)."""


def _describe(value: Any) -> str:
    return repr(value) if not isinstance(value, float) else f"{value:g}"


def _real(name: str, value: Any) -> float:
    """``value`` as a float, checked finite: a real number, or a 0-dim floating tensor (as torch.optim takes ``lr``)."""
    if isinstance(value, torch.Tensor):
        if value.dim() != 0 or not value.is_floating_point():
            raise ValueError(f"{name} must be a real number or a 0-dim floating-point tensor, got a tensor of shape "
                             f"{tuple(value.shape)} and dtype {value.dtype}")
        number = float(value.item())
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    else:
        number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {_describe(number)}")
    return number


def _kept(value: Any, number: float) -> Any:
    """A tensor stays the caller's tensor (a scheduler may change it in place); a number becomes a float."""
    return value if isinstance(value, torch.Tensor) else number


def real_number(name: str, value: Any) -> Any:
    """Any finite real number, negative included (or a 0-dim tensor holding one): a multiplier of either sign."""
    return _kept(value, _real(name, value))


def nonnegative(name: str, value: Any) -> Any:
    """A finite real number >= 0 (learning rates, eps, weight decay), or a 0-dim tensor holding one."""
    number = _real(name, value)
    if number < 0:
        raise ValueError(f"{name} must be >= 0, got {_describe(number)}")
    return _kept(value, number)


def decay_rate(name: str, value: Any) -> Any:
    """A decay rate of an exponential moving average: a real number in [0, 1) (or a 0-dim tensor holding one)."""
    number = _real(name, value)
    if not 0 <= number < 1:
        raise ValueError(f"{name} must be in [0, 1), got {_describe(number)}")
    return _kept(value, number)


def unit_interval(name: str, value: Any) -> Any:
    """A real number in [0, 1] (or a 0-dim tensor holding one)."""
    number = _real(name, value)
    if not 0 <= number <= 1:
        raise ValueError(f"{name} must be in [0, 1], got {_describe(number)}")
    return _kept(value, number)


def flag(name: str, value: Any) -> bool:
    """True or False (not 0/1 or a string)."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


def decay_pair(name: str, value: Any) -> tuple[float, float]:
    """Two decay rates, each in [0, 1)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{name} must be a pair of numbers in [0, 1), got {value!r}")
    return (decay_rate(f"{name}[0]", value[0]), decay_rate(f"{name}[1]", value[1]))


@dataclass(frozen=True)
class OneOf:
    """A check that accepts one of a few strings."""

    choices: tuple[str, ...]

    def __call__(self, name: str, value: Any) -> str:
        if value not in self.choices:
            allowed = ", ".join(repr(c) for c in self.choices)
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        return value


def one_of(*choices: str) -> OneOf:
    """The check for a hyperparameter that takes one of ``choices``."""
    return OneOf(choices)


@dataclass(frozen=True)
class Hyperparameter:
    """One row of an algorithm's hyperparameter table."""

    name: str
    default: Any
    check: Callable[[str, Any], Any]
    doc: str

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class AlgorithmSpec:
    """Everything the library knows about one algorithm, in one place."""

    name: str
    title: str
    init: InitFn
    update: UpdateFn
    hyperparameters: tuple[Hyperparameter, ...]
    state_keys: tuple[str, ...]  # every name ``init``/``update`` may put in a state
    doc: str
    consistency: Callable[[Mapping[str, Any]], None] = field(default=lambda hp: None)
    factors: Callable[[Mapping[str, Tensor], Mapping[str, Any]], tuple[Tensor, ...]] | None = None
    """Optional: the update's per-step scalars as a function of the state's 0-dim
    entries (the step counter; here of any shape, one value per tensor) and the
    hyperparameters; ``update`` then also accepts them, precomputed, as
    ``factors=``.  The fast path computes them once per chunk of tensors instead
    of inside every element's loop."""

    def __post_init__(self) -> None:
        names = [h.name for h in self.hyperparameters]
        if len(set(names)) != len(names):
            raise AssertionError(f"{self.name}: repeated hyperparameter in {names}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    @property
    def defaults(self) -> dict[str, Any]:
        return {h.name: h.default for h in self.hyperparameters if not h.required}

    def hyperparameter(self, name: str) -> Hyperparameter:
        for h in self.hyperparameters:
            if h.name == name:
                return h
        raise KeyError(name)

    def check_names(self, given: Mapping[str, Any]) -> None:
        """``TypeError`` for the first name in ``given`` that the algorithm does not take."""
        unknown = [k for k in given if k not in self.names]
        if unknown:
            raise TypeError(
                f"{self.name} got unexpected hyperparameter {unknown[0]!r}; "
                f"it takes: {', '.join(self.names)}"
            )

    def check(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate the hyperparameters in ``given`` (a subset is fine).

        Returns a new dict of the normalised values. Raises ``TypeError`` for a
        name the algorithm does not take and ``ValueError`` for a value outside
        its range.
        """
        self.check_names(given)
        return {h.name: h.check(h.name, given[h.name]) for h in self.hyperparameters if h.name in given}

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The complete, validated hyperparameters: ``given`` over the defaults."""
        checked = self.check(given)
        missing = [h.name for h in self.hyperparameters if h.required and h.name not in checked]
        if missing:
            raise TypeError(f"{self.name} missing required hyperparameter {missing[0]!r}")
        resolved = {**self.defaults, **checked}
        self.consistency(resolved)
        return resolved

    def setting(self, given: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> Setting:
        """Validate ``given`` once and keep both what was given and the complete set.

        ``fixed`` holds values the caller's optimizer always uses (torch's class
        for a torch run: ``eps_in_sqrt=False``); they take part in the checks and
        in :attr:`Setting.hyperparameters` but are not "given".
        """
        fixed = dict(fixed or {})
        resolved = self.resolve({**given, **fixed})
        return Setting(self, {name: resolved[name] for name in given if name not in fixed}, resolved, fixed)


@dataclass(frozen=True)
class Setting:
    """One algorithm with validated hyperparameters: made by :meth:`AlgorithmSpec.setting`.

    Code that receives a ``Setting`` does not validate again: a command checks its
    options once and passes the setting down.
    """

    spec: AlgorithmSpec
    given: dict[str, Any]  # the names given, normalized (``fixed`` excluded)
    hyperparameters: dict[str, Any]  # complete: given over fixed over the defaults
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def algorithm(self) -> str:
        return self.spec.name


def new_step_counter(x: Tensor) -> Tensor:
    """The step counter ``t`` of a fresh state: a float64 zero on ``x``'s device.

    float64 keeps bias corrections such as ``1 - beta**t`` exact to double
    precision whatever the parameter dtype.
    """
    return torch.zeros((), dtype=torch.float64, device=x.device)


def is_zero(value: Any) -> bool:
    """True for a plain number equal to 0 (a tensor always counts as non-zero)."""
    return isinstance(value, numbers.Number) and value == 0


def effective_gradient(x: Tensor, g: Tensor, *, weight_decay: Any, maximize: bool) -> Tensor:
    """``g <- -g`` when maximizing, then ``g <- g + weight_decay * x`` (L2 penalty)."""
    if maximize:
        g = -g
    if not is_zero(weight_decay):
        g = g + weight_decay * x
    return g


def decayed(
    x: Tensor, g: Tensor, *, lr: Any, weight_decay: Any, decoupled: bool, maximize: bool,
) -> tuple[Tensor, Tensor]:
    """Weight decay and sign before the rule: ``(x, g)`` to feed it.

    L2 (``decoupled=False``): ``g <- g + weight_decay * x``.  Decoupled (AdamW,
    and every Keras optimizer's ``weight_decay``): ``x <- x * (1 - lr * weight_decay)``
    before the step, the gradient untouched.  ``g <- -g`` first when maximizing.
    """
    if not decoupled:
        return x, effective_gradient(x, g, weight_decay=weight_decay, maximize=maximize)
    g = effective_gradient(x, g, weight_decay=0, maximize=maximize)
    if not is_zero(weight_decay):
        x = x * (1 - lr * weight_decay)  # x <- x (1 - lr wd)
    return x, g


def format_hyperparameters(hp: Mapping[str, Any]) -> str:
    """``lr=0.4, momentum=0.5``: a setting in one short line, for legends, titles and tables."""

    def show(value: Any) -> str:
        if isinstance(value, (tuple, list)):
            return "(" + ", ".join(show(v) for v in value) + ")"
        return f"{value:g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{k}={show(v)}" for k, v in hp.items())


WEIGHT_DECAY = Hyperparameter(
    "weight_decay", 0.0, nonnegative,
    "L2 penalty g <- g + weight_decay * x (or decoupled, where the algorithm has decoupled_weight_decay)",
)
DECOUPLED_WEIGHT_DECAY = Hyperparameter(
    "decoupled_weight_decay", False, flag,
    "weight decay as x <- x (1 - lr weight_decay) before the step (AdamW, Keras) instead of the L2 term",
)
MAXIMIZE = Hyperparameter("maximize", False, flag, "ascend instead of descend: g <- -g")
