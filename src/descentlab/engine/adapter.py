"""The one ``torch.optim.Optimizer`` adapter behind every named class.

:class:`RuleOptimizer` validates the hyperparameters from the algorithm's table,
keeps the per-parameter state in ``self.state[p]`` (a flat dict of tensors, so
``state_dict``/``load_state_dict`` work as in torch) and, for each parameter with a
gradient, calls the algorithm's pure update through one of the paths of
:mod:`descentlab.engine.paths` and writes the result back.  The named classes of
:mod:`descentlab.optim` only say which algorithm they run.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import torch

from ..algorithms import AlgorithmSpec
from ..algorithms.conventions import apply as apply_conventions
from .paths.eager import step_in_batches
from .paths.fast import CompiledRule
from .state.precision import COMPENSATION, Precision

_log = logging.getLogger("descentlab")

OPTIONS: dict[str, Any] = {"fused": None, "skip_nonfinite": False, "compensated": True, "conventions": None}
"""The adapter's own keyword-only options (not hyperparameters of the rule), with their defaults."""


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that runs one registry rule.

    Subclasses set ``algorithm``; the constructor's signature (and so its
    positional order) is the algorithm's hyperparameter table, plus keyword-only
    options of the adapter:

    * ``fused``: which path evaluates the rule.  ``None`` (default) the eager path
      of :mod:`descentlab.engine.paths.eager` (the rule traced once and replayed as in-place
      foreach calls with torch.optim's fused multiply-adds, a few ulp from the
      plain rule; it never compiles); ``True`` the compiled in-place path of
      :mod:`descentlab.engine.paths.fast` (the same rule fused by ``torch.compile``; the first
      step compiles, seconds); ``False`` the rule tensor by tensor (the
      reference).  All three agree to a few ulp (float64: 1e-12 relative).
    * ``skip_nonfinite``: ``True`` skips a step whose gradients hold a nan or an
      infinity, leaving parameters and state untouched, and counts it in
      :attr:`skipped_steps`; ``False`` (default) lets it through, as torch does.
    * ``compensated``: for float16/bfloat16 parameters (whose state is always
      float32), keep the rounding error of each write so that small steps add up
      (see :mod:`descentlab.engine.state.precision`); ``False`` rounds as torch does.
    * ``conventions``: a preset of :mod:`descentlab.algorithms.conventions`
      (``"torch"``, ``"optax"``, ``"keras"``, ...): that library's defaults;
      hyperparameters given explicitly override it.

    Groups and states hold the rule's own names here.  :meth:`_rule`,
    :meth:`_hyperparameters`, :meth:`_states` and :meth:`_written` are where a step
    reads them; a face that stores other names overrides those four
    (:class:`descentlab.engine.torch_face.TorchFace`: torch.optim's).
    """

    algorithm: ClassVar[AlgorithmSpec]
    __signature__: ClassVar[inspect.Signature]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not hasattr(cls, "algorithm"):
            return  # a base of other faces (descentlab.engine.torch_face.TorchFace), not an optimizer
        parameters = [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        parameters += [
            inspect.Parameter(
                h.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default=inspect.Parameter.empty if h.required else h.default,
            )
            for h in cls.algorithm.hyperparameters
        ]
        parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default) for name, default in OPTIONS.items()]
        cls.__signature__ = inspect.Signature(parameters)
        if cls.__doc__ is None:
            cls.__doc__ = cls.algorithm.doc

    def __init__(self, params: Iterable[Any], *args: Any, **kwargs: Any) -> None:
        try:
            # with conventions, the preset may supply a required hyperparameter (Keras's lr)
            bind = self.__signature__.bind_partial if kwargs.get("conventions") is not None else self.__signature__.bind
            bound = bind(params, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}: {error}") from None
        hyperparameters = {k: v for k, v in bound.arguments.items() if k != "params" and k not in OPTIONS}
        options = {name: bound.arguments.get(name, default) for name, default in OPTIONS.items()}
        if options["fused"] not in (None, True, False):
            raise ValueError(f"fused must be None, True or False, got {options['fused']!r}")
        for name in ("skip_nonfinite", "compensated"):
            if not isinstance(options[name], bool):
                raise ValueError(f"{name} must be True or False, got {options[name]!r}")
        hyperparameters = apply_conventions(options["conventions"], self.algorithm.name, hyperparameters)
        defaults = self.algorithm.resolve(hyperparameters)
        super().__init__(params, defaults)
        self._set_options(options["fused"], options["skip_nonfinite"], options["compensated"])

    def _set_options(self, fused: bool | None, skip_nonfinite: bool, compensated: bool) -> None:
        """The adapter's own state, after ``torch.optim.Optimizer.__init__`` (shared with other faces' constructors)."""
        self.fused: bool | None = fused
        self.skip_nonfinite: bool = skip_nonfinite
        self.precision = Precision(compensated=compensated)
        self.skipped_steps = 0
        """Steps skipped because a gradient was not finite (``skip_nonfinite=True``)."""
        self._compiled: CompiledRule | None = None
        self._replays: dict[Any, Any] = {}  # the default path's kept replays, one per group and bucket

    # -- how a group and a state are read: the names the rule uses are stored as they are here; a face that
    # -- stores them under other names (descentlab.torch_optim: torch.optim's) overrides these four
    def _rule(self, group: dict[str, Any]) -> AlgorithmSpec:
        """The rule a group runs."""
        return self.algorithm

    def _hyperparameters(self, rule: AlgorithmSpec, group: dict[str, Any]) -> dict[str, Any]:
        """The rule's keyword arguments, read from a group."""
        return {name: group[name] for name in rule.names}

    def _states(self, rule: AlgorithmSpec, params: list[torch.Tensor], hp: dict[str, Any]) -> list[dict[str, Any]]:
        """The rule's state of each parameter (a new one on the first step), as dicts the paths update in place."""
        states = list(map(self.state.__getitem__, params))  # (self.state is a defaultdict: a new one is {})
        for p, state in zip(params, states):
            if not state:
                state.update(self.precision.init(rule, p, hp))
        return states

    def _written(self, rule: AlgorithmSpec, params: list[torch.Tensor], states: list[dict[str, Any]]) -> None:
        """After a group's step: ``states`` (from :meth:`_states`) hold the new state; here they are ``self.state``'s own."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its own hyperparameters are validated like the constructor's."""
        own = {k: v for k, v in param_group.items() if k in self.algorithm.names}
        checked = self.algorithm.check(own)
        if own:
            self.algorithm.consistency({**self.defaults, **checked})
        super().add_param_group({**param_group, **checked})

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus ``"algorithm"``: the registry name of the rule that wrote it."""
        return {**super().state_dict(), "algorithm": self.algorithm.name}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by the same algorithm; a different one is a ``ValueError``."""
        saved_by = state_dict.get("algorithm", self.algorithm.name)
        if saved_by != self.algorithm.name:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state was saved by a different optimizer "
                f"({saved_by!r}, not {self.algorithm.name!r})"
            )
        expected_keys = self._group_keys()
        for group in state_dict.get("param_groups", []):
            missing = expected_keys - set(group)
            if missing:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the saved parameter groups lack "
                    f"{', '.join(sorted(missing))}; was the state saved by a different optimizer?"
                )
        allowed = self._state_keys()
        for saved in state_dict.get("state", {}).values():
            foreign = set(saved) - allowed
            if foreign:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the saved state holds {', '.join(sorted(foreign))}, "
                    f"which {self.algorithm.name} never keeps; was it saved by a different optimizer?"
                )
        self._check_state_shapes(state_dict)
        super().load_state_dict(state_dict)
        # torch's load aliases the source's tensors and casts all state to the parameter's dtype: place them anew
        params = [p for group in self.param_groups for p in group["params"]]
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        for index, p in zip(saved_ids, params):
            if index in state_dict["state"]:
                self.state[p] = {key: self._placed(p, key, v) for key, v in state_dict["state"][index].items()}

    def _group_keys(self) -> set[str]:
        """The hyperparameter keys every saved group must hold."""
        return set(self.algorithm.names)

    def _state_keys(self) -> set[str]:
        """The keys a saved per-parameter state may hold."""
        return {*self.algorithm.state_keys, COMPENSATION}

    def _check_state_shapes(self, state_dict: dict[str, Any]) -> None:
        """Refuse saved state tensors whose shape is not their parameter's (they would broadcast silently)."""
        params = [p for group in self.param_groups for p in group["params"]]
        saved_ids = [i for group in state_dict.get("param_groups", []) for i in group.get("params", [])]
        if len(saved_ids) != len(params):
            return  # torch's own load_state_dict refuses groups of other sizes, with its message
        param_of = dict(zip(saved_ids, params))
        for index, saved in state_dict.get("state", {}).items():
            p = param_of.get(index)
            for key, value in saved.items():
                if p is not None and key != "step" and isinstance(value, torch.Tensor) and value.shape != p.shape:
                    raise ValueError(
                        f"{type(self).__name__}.load_state_dict: the saved {key!r} of parameter {index} has shape "
                        f"{tuple(value.shape)}, but the parameter has shape {tuple(p.shape)}; "
                        "was the state saved for a different model?"
                    )

    @staticmethod
    def _placed(param: torch.Tensor, key: str, value: Any) -> Any:
        """How ``load_state_dict`` places a saved state entry: always a copy (never the source's storage).

        The step counter keeps its dtype; the other floating entries take the
        parameter's dtype, except that a float16/bfloat16 parameter's state stays
        float32 (its ``"compensation"`` entry takes the parameter's dtype).
        """
        if not isinstance(value, torch.Tensor):
            return value
        if key == "step" or not value.is_floating_point() or not param.is_floating_point():
            return value.to(device=param.device, copy=True)
        low = Precision.is_low(param.dtype) and key != COMPENSATION
        return value.to(device=param.device, dtype=torch.float32 if low else param.dtype, copy=True)

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns ``closure()``."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        groups = []  # (group, its parameters with a gradient, their gradients)
        for group in self.param_groups:
            params, grads = [], []
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError(
                        f"{type(self).__name__} does not support sparse gradients; "
                        "use dense gradients (e.g. nn.Embedding(sparse=False))"
                    )
                params.append(p)
                grads.append(grad)
            groups.append((group, params, grads))
        if self.skip_nonfinite and not _all_finite([g for _, _, grads in groups for g in grads]):
            self.skipped_steps += 1
            return loss
        precision = self.precision
        for group_index, (group, params, grads) in enumerate(groups):
            if not params:
                continue
            rule = self._rule(group)
            hp = self._hyperparameters(rule, group)
            states = self._states(rule, params, hp)
            if self.fused is False or torch.compiler.is_compiling():
                # (inside a caller's torch.compile the plain rule is compiled with the rest)
                for p, grad, state in zip(params, grads, states):
                    state.update(precision.step(rule, p, grad, state, hp))
            elif self.fused is True:
                self._fast_step(params, grads, states, hp, group_index, rule)
            else:
                buckets = _buckets(params)
                if len(buckets) == 1:  # the usual case: no lists to pick
                    ((kind, _),) = buckets.items()
                    step_in_batches(rule, params, grads, states, hp, precision, self._replays, (group_index, kind))
                else:
                    for kind, indices in buckets.items():
                        step_in_batches(rule, [params[i] for i in indices], [grads[i] for i in indices],
                                        [states[i] for i in indices], hp, precision, self._replays, (group_index, kind))
            self._written(rule, params, states)
        return loss

    def _fast_step(
        self,
        params: list[torch.Tensor],
        grads: list[torch.Tensor],
        states: list[dict[str, torch.Tensor]],
        hp: dict[str, Any],
        group_index: int,
        rule: AlgorithmSpec | None = None,
    ) -> None:
        """The compiled rule over all of a group's tensors, in one bucket per device and dtype."""
        rule = rule or self.algorithm
        if self._compiled is None or self._compiled.spec is not rule:  # (a face whose groups run two rules)
            _log.info(
                "%s(fused=True): compiling the rule with torch.compile on the first step (a one-time cost of "
                "seconds; fused=None, the default, never compiles)", type(self).__name__,
            )
            self._compiled = CompiledRule(rule, self.precision)
        already_failed = self._compiled.failure is not None
        for kind, indices in _buckets(params).items():
            self._compiled(
                [params[i] for i in indices],
                [grads[i] for i in indices],
                [states[i] for i in indices],
                hp,
                site=(group_index, kind),
            )
        if self._compiled.failure is not None and not already_failed:
            warnings.warn(
                f"{type(self).__name__}: the fast (compiled) path is unavailable here "
                f"({self._compiled.failure}); using the plain path",
                RuntimeWarning,
                stacklevel=3,
            )


def _buckets(params: list[torch.Tensor]) -> dict[tuple[torch.device, torch.dtype], list[int]]:
    """The indices of ``params`` by device and dtype: each bucket is evaluated together."""
    buckets: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for index, p in enumerate(params):
        buckets.setdefault((p.device, p.dtype), []).append(index)
    return buckets


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every value of every tensor is finite: one max-abs per device, one sync."""
    if not tensors:
        return True
    worst = [norm.float() for norm in torch._foreach_norm(tensors, float("inf"))]
    return bool(torch.stack([w.to(worst[0].device) for w in worst]).isfinite().all())


__all__ = ["OPTIONS", "RuleOptimizer"]
