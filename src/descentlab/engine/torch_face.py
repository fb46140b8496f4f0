"""torch.optim's names on the one adapter: the base of :mod:`descentlab.torch_optim`'s classes.

:class:`RuleOptimizer` keeps a rule's own names: its hyperparameters are the keys
of the param groups and its state keys are those of ``self.state[p]``.  A
torch.optim class stores other names (``alpha`` for our ``gamma``, ``exp_avg`` for
our ``m``), and schedulers, wrappers and checkpoints read and write them.
:class:`TorchFace` stores torch's names and translates at the rule's door, once
per group and step, by :class:`StoredNames` (built from the one table,
:mod:`descentlab.engine.torch_names`):

* a group's value under torch's key is what the rule gets under its own name
  (``group["alpha"]`` is ``gamma``; a scheduler writing ``group["betas"]`` changes
  Adam's betas); a hyperparameter torch's class has no key for is fixed
  (``eps_in_sqrt=False``) or the rule's default;
* the rule's state entries are the very tensors of ``self.state[p]`` under torch's
  keys (``m`` is ``state["exp_avg"]``, updated in place), so nothing is copied;
  an entry torch's class does not keep (SGD keeps no ``step``) is kept beside
  ``self.state`` and rebuilt from what torch keeps when a checkpoint is loaded.

The rule itself is the registry's, unchanged; only names move.
"""

from __future__ import annotations

import inspect
import numbers
import operator
from collections.abc import Iterable, Mapping
from itertools import chain
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from ..algorithms import AlgorithmSpec
from ..algorithms import get as get_algorithm
from .adapter import RuleOptimizer
from .state.checkpoints import to_torch
from .state.precision import COMPENSATION
from .state.realview import init_state
from .torch_names import TORCH_STATE_KEYS, torch_counterpart

PATHS: dict[str, bool | None] = {"default": None, "compiled": True, "plain": False}
"""descentlab's ``path=`` option -> the adapter's ``fused`` (torch's ``fused`` keyword means something else)."""


@dataclass(frozen=True)
class StoredNames:
    """How a torch.optim class stores one rule's names.

    ``hyperparameters``: the rule's name -> the group's key (``gamma`` -> ``alpha``);
    ``constants``: every other hyperparameter of the rule, with the value torch's
    class always has (``eps_in_sqrt=False``, ``form="torch"``) or the rule's default;
    ``state``: the rule's state key -> torch's key (``m`` -> ``exp_avg``);
    ``hidden``: the rule's state keys torch's class does not keep.
    """

    hyperparameters: Mapping[str, str]
    constants: Mapping[str, Any]
    state: Mapping[str, str]
    hidden: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, algorithm: str, hidden: Iterable[str] = ()) -> StoredNames:
        """torch's names for ``algorithm`` (:data:`~descentlab.engine.torch_names.TORCH_COUNTERPARTS`)."""
        spec = get_algorithm(algorithm)
        counterpart = torch_counterpart(algorithm)
        constants = {h.name: counterpart.fixed.get(h.name, h.default)
                     for h in spec.hyperparameters if h.name not in counterpart.names}
        state = {ours: theirs for theirs, ours in TORCH_STATE_KEYS[algorithm].items()}
        state = {key: state.get(key, key) for key in spec.state_keys}  # ("step" is "step")
        return cls(dict(counterpart.names), constants, state, frozenset(hidden))

    def read(self, group: Mapping[str, Any]) -> dict[str, Any]:
        """The rule's keyword arguments from a group."""
        return {**self.constants, **{name: group[key] for name, key in self.hyperparameters.items()}}

    def stored_key(self, key: str) -> str:
        return self.state.get(key, key)


class TorchFace(RuleOptimizer):
    """:class:`RuleOptimizer` with a torch.optim class's names, signature, group keys and state keys.

    A subclass sets ``algorithm`` (the rule whose table validates the
    hyperparameters), ``torch_class`` (the name in ``torch.optim``) and writes
    ``__init__`` with torch's signature, calling :meth:`_setup` with its arguments.
    """

    torch_class: ClassVar[str]
    group_constants: ClassVar[dict[str, Any]] = {}
    """Group keys torch's class sets without an argument (AdamW: ``decoupled_weight_decay=True``)."""
    hidden: ClassVar[tuple[str, ...]] = ()
    """The rule's state keys torch's class does not keep (SGD: ``step``)."""
    _KEPT: ClassVar[tuple[str, ...]] = (*RuleOptimizer._KEPT, "_hidden_state")
    """A copy or a pickle also keeps the entries torch's class does not keep (SGD's step counters)."""
    also_runs: ClassVar[tuple[str, ...]] = ()
    """Registry rules besides ``algorithm`` that a group may run (SGD without momentum: ``sgd``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super(RuleOptimizer, cls).__init_subclass__(**kwargs)  # (not RuleOptimizer's: the signature is __init__'s)
        signature = inspect.signature(cls.__init__)
        cls.__signature__ = signature.replace(parameters=list(signature.parameters.values())[1:])

    # -- construction ----------------------------------------------------------------------------
    def _setup(self, arguments: dict[str, Any]) -> None:
        """The constructor: ``arguments`` are ``__init__``'s (torch's keywords, then ``path``, ``compensated``,
        ``skip_nonfinite``)."""
        arguments = {k: v for k, v in arguments.items() if k not in ("self", "__class__")}
        params = arguments.pop("params")
        path, compensated, skip_nonfinite = (arguments.pop(k) for k in ("path", "compensated", "skip_nonfinite"))
        name = type(self).__name__
        if path not in PATHS:
            raise ValueError(f"{name}: path must be one of {', '.join(map(repr, PATHS))}, got {path!r}")
        for option, value in (("compensated", compensated), ("skip_nonfinite", skip_nonfinite)):
            if not isinstance(value, bool):
                raise ValueError(f"{name}: {option} must be True or False, got {value!r}")
        self._names_of: dict[str, StoredNames] = {}
        torch.optim.Optimizer.__init__(self, params, {**arguments, **self.group_constants})
        self._set_options(PATHS[path], skip_nonfinite, compensated)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch's keys); its values are validated from the rule's table, under torch's names."""
        checked = self._checked_values({**self.defaults, **param_group})
        torch.optim.Optimizer.add_param_group(self, {**param_group, **{k: checked[k] for k in param_group if k in checked}})

    def _checked_values(self, group: Mapping[str, Any]) -> dict[str, Any]:
        """A whole group's values (torch's keys, every one present) checked from the rule's table, with torch's
        implementation flags: the checked (normalized) ones."""
        self._check_flags(group)
        names = self._names(self.algorithm)
        checked = {}
        for h in self.algorithm.hyperparameters:
            key = names.hyperparameters.get(h.name)
            if key is not None and key in group:
                checked[key] = h.check(key, group[key])
        self._check_group({**group, **checked})
        return checked

    def _check_flags(self, group: Mapping[str, Any]) -> None:
        """torch's implementation keywords: each accepted with its meaning here, or refused in one line."""
        name = type(self).__name__
        for flag in ("foreach", "fused"):
            if flag in group and group[flag] not in (None, True, False):
                raise ValueError(f"{name}: {flag} must be None, True or False, got {group[flag]!r}")
        if group.get("fused") and group.get("foreach"):
            raise ValueError(f"{name}: `fused` and `foreach` cannot be `True` together (as torch.optim)")
        if group.get("differentiable"):
            raise ValueError(f"{name}: differentiable=True is not supported: descentlab's step runs under "
                             f"torch.no_grad() (for autograd through the step use torch.optim.{self.torch_class})")
        if group.get("capturable"):
            raise ValueError(f"{name}: capturable=True (CUDA graph capture) is not supported: the step reads its "
                             "step counters on the host; the numbers are the same without it")

    def _check_group(self, group: Mapping[str, Any]) -> None:
        """A whole group's consistency, in the rule it runs."""
        names = self._names(self.algorithm)
        self.algorithm.consistency(names.read(group))

    # -- names -----------------------------------------------------------------------------------
    def _names(self, rule: AlgorithmSpec) -> StoredNames:
        names = self.__dict__.setdefault("_names_of", {})
        if rule.name not in names:
            names[rule.name] = StoredNames.of(rule.name, self.hidden)
        return names[rule.name]

    def _hyperparameters(self, rule: AlgorithmSpec, group: dict[str, Any]) -> dict[str, Any]:
        return self._names(rule).read(group)

    def _hidden_states(self) -> dict[torch.Tensor, dict[str, Any]]:
        """The entries torch's class does not keep, per parameter (rebuilt by :meth:`_restored` when missing)."""
        return self.__dict__.setdefault("_hidden_state", {})

    def _needs_init(self, rule: AlgorithmSpec, stored: Mapping[str, Any], hidden: Mapping[str, Any] | None) -> bool:
        """Whether a parameter's state is started afresh: its first step, or its state was emptied by hand
        (``opt.state[p] = {}``, as wrappers reset torch's); a state that is all hidden (SGD's) is started once."""
        return not stored and not hidden

    def _restored(self, rule: AlgorithmSpec, p: torch.Tensor, stored: Mapping[str, Any]) -> dict[str, Any]:
        """The hidden entries of a state that has none (loaded from a checkpoint, or written by hand)."""
        return {}

    def _states(self, rule: AlgorithmSpec, params: list[torch.Tensor], hp: dict[str, Any]) -> list[dict[str, Any]]:
        names = self._names(rule)
        hidden_states = self._hidden_states()
        layout = [(key, key in names.hidden, names.stored_key(key)) for key in rule.state_keys]
        needs_init = self._needs_init
        states = []
        # (self.state.get, not self.state[p]: torch's SGD without momentum keeps no entry at all)
        for p, stored, hidden in zip(params, map(self.state.get, params), map(hidden_states.get, params)):
            if stored is None:
                stored = {}
            if needs_init(rule, stored, hidden):
                fresh = init_state(lambda x: self.precision.init(rule, x, hp), p)
                hidden = hidden_states[p] = {k: v for k, v in fresh.items() if k in names.hidden}
                kept = {names.stored_key(k): v for k, v in fresh.items() if k not in names.hidden}
                if kept:
                    stored = self.state[p]
                    stored.update(kept)
            elif hidden is None:
                hidden = hidden_states[p] = self._restored(rule, p, stored)
            state = {}
            for key, is_hidden, stored_key in layout:
                if is_hidden:
                    if key in hidden:
                        state[key] = hidden[key]
                elif stored_key in stored:
                    state[key] = stored[stored_key]
            if COMPENSATION in stored:
                state[COMPENSATION] = stored[COMPENSATION]
            states.append(state)
        # what the states hold now: a step that leaves every entry the very tensor it was (updated in place, the
        # default path's usual step) has nothing to write back (:meth:`_written`)
        self.__dict__["_handed"] = (params, states, list(chain.from_iterable(map(_ITEMS, states))))
        return states

    def _written(self, rule: AlgorithmSpec, params: list[torch.Tensor], states: list[dict[str, Any]]) -> None:
        handed = self.__dict__.pop("_handed", None)
        if handed is not None and handed[0] is params and handed[1] is states:
            now = list(chain.from_iterable(map(_ITEMS, states)))
            if len(now) == len(handed[2]) and all(map(_same_item, now, handed[2])):
                return
        names = self._names(rule)
        hidden_states = self._hidden_states()
        for p, state in zip(params, states):
            hidden = hidden_states[p]
            for key, value in state.items():
                if key in names.hidden:
                    hidden[key] = value
                else:
                    self.state[p][names.stored_key(key)] = value

    # -- checkpoints -----------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """torch.optim's state dict: torch's keys, and ``step`` as float32 (torch's dtype; ours counts in float64)."""
        saved = super().state_dict()
        saved.pop("algorithm", None)
        saved["state"] = {index: {key: value.to(torch.float32) if key == "step" and isinstance(value, torch.Tensor)
                                  else value for key, value in entry.items()}
                          for index, entry in saved["state"].items()}
        return saved

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load torch.optim's state dict of the same class, or one of :mod:`descentlab.optim`'s (the rule's names,
        translated by :func:`~descentlab.engine.state.checkpoints.to_torch`); the step counters become float64."""
        super().load_state_dict(state_dict)
        self._hidden_states().clear()  # rebuilt from the loaded state at the next step

    def _translated(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        if "algorithm" in state_dict:
            saved_by = state_dict["algorithm"]
            if saved_by not in (self.algorithm.name, *self.also_runs):
                raise ValueError(f"{type(self).__name__}.load_state_dict: the state was saved by descentlab's "
                                 f"{saved_by!r}, not {self.algorithm.name!r}")
            return to_torch(state_dict)
        # a group saved by an older torch lacks the newer keys (decoupled_weight_decay, fused, ...): as torch's
        # own __setstate__ does, they take the class's defaults
        defaults = self._signature_defaults()
        return {**state_dict, "param_groups": [{**defaults, **group} for group in state_dict["param_groups"]]}

    def _signature_defaults(self) -> dict[str, Any]:
        """torch's keywords with their defaults (the class's signature, without ours), and the class's constants."""
        parameters = list(inspect.signature(type(self)).parameters.values())[1:]
        ours = ("path", "compensated", "skip_nonfinite")
        return {p.name: p.default for p in parameters if p.name not in ours} | self.group_constants

    def _placed(self, param: torch.Tensor, key: str, value: Any) -> Any:
        if key == "step" and isinstance(value, torch.Tensor):
            # our counter is float64 (torch keeps float32, and computes its corrections from it in double)
            return value.to(device=param.device, dtype=torch.float64, copy=True)
        return super()._placed(param, key, value)  # (a Python-number step, as torch before 1.12 saved it: float64)

    def _group_keys(self) -> set[str]:
        return set(self._names(self.algorithm).hyperparameters.values())

    def _state_keys(self) -> set[str]:
        names = self._names(self.algorithm)
        return {names.stored_key(k) for k in self.algorithm.state_keys if k not in names.hidden} | {COMPENSATION}

    def _other_algorithms_state_keys(self) -> set[str]:
        return {key for keys in TORCH_STATE_KEYS.values() for key in keys}


_ITEMS = operator.methodcaller("items")


def _same_item(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    """Whether two (key, value) items name the same key and the very same value."""
    return a[0] == b[0] and a[1] is b[1]


def is_zero_number(value: Any) -> bool:
    """A plain number equal to 0 (torch's ``momentum != 0`` test on a group's value)."""
    return isinstance(value, numbers.Number) and value == 0


__all__ = ["PATHS", "StoredNames", "TorchFace", "is_zero_number"]
