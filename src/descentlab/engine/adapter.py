"""The one ``torch.optim.Optimizer`` adapter behind every named class.

:class:`RuleOptimizer` validates the hyperparameters from the algorithm's table,
keeps the per-parameter state in ``self.state[p]`` (a flat dict of tensors, so
``state_dict``/``load_state_dict`` work as in torch) and, for each parameter with a
gradient, calls the algorithm's pure update through one of the paths of
:mod:`descentlab.engine.paths` and writes the result back.  The named classes of
:mod:`descentlab.optim` only say which algorithm they run.
"""

from __future__ import annotations

import functools
import inspect
import logging
import operator
import warnings
from collections.abc import Callable, Iterable
from itertools import repeat
from typing import Any, ClassVar

import torch

from ..algorithms import REGISTRY, AlgorithmSpec
from ..algorithms.conventions import apply as apply_conventions
from .paths.eager import step_in_batches
from .paths.fast import CompiledRule
from .state.checkpoints import from_torch
from .state.precision import COMPENSATION, Precision
from .state.realview import init_state, real_views, write_back
from .torch_names import TORCH_COUNTERPARTS

_log = logging.getLogger("descentlab")

OPTIONS: dict[str, Any] = {"fused": None, "skip_nonfinite": False, "compensated": True, "conventions": None}
"""The adapter's own keyword-only options (not hyperparameters of the rule), with their defaults."""


class RuleOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` that runs one registry rule.

    Subclasses set ``algorithm``; the constructor's signature (and so its
    positional order) is the algorithm's hyperparameter table, plus keyword-only
    options of the adapter:

    * ``fused``: which path evaluates the rule.  ``None`` (default) the eager path
      of :mod:`descentlab.engine.paths.eager` (the rule traced once into in-place
      calls with torch.optim's fused multiply-adds, a few ulp from the plain rule,
      run as one C loop compiled once per machine and cached on disk,
      :mod:`descentlab.engine.paths.native`, or replayed as foreach calls); ``True`` the compiled in-place path of
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
    torch_roots: ClassVar[bool] = True
    """Whether the default path's compiled loop takes torch's square root (torch's bits, as the replay's: the
    notes' classes with torch's hyperparameters are torch.optim bit for bit) rather than IEEE's (faster by about a
    quarter for a float32 rule with a root, a root 1 ulp off at times; :mod:`descentlab.engine.paths.native`)."""
    positional: ClassVar[tuple[str, ...] | None] = None
    """The hyperparameters that may be given by position: ``None`` every one, in the table's order; else those of
    the table's leading rows named here (``("lr",)``: only ``lr``, and only where the table starts with it)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "algorithm", None) is None:  # an intermediate base (one policy for several classes)
            return
        by_position = cls.positional_names()
        parameters = [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        parameters += [
            inspect.Parameter(
                h.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD if h.name in by_position else inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if h.required else h.default,
            )
            for h in cls.algorithm.hyperparameters
        ]
        parameters += [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default) for name, default in OPTIONS.items()]
        cls.__signature__ = inspect.Signature(parameters)
        if cls.__doc__ is None:
            cls.__doc__ = cls.algorithm.doc

    @classmethod
    def positional_names(cls) -> tuple[str, ...]:
        """The hyperparameters this class takes by position, in order (after ``params``)."""
        names = cls.algorithm.names
        if cls.positional is None:
            return names
        count = next((i for i, name in enumerate(names) if name not in cls.positional), len(names))
        return names[:count]

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

    _KEPT: ClassVar[tuple[str, ...]] = ("fused", "skip_nonfinite", "precision", "skipped_steps")
    """The adapter's own attributes that a copy or a pickle keeps (torch's ``__getstate__`` keeps only its three)."""

    def __getstate__(self) -> dict[str, Any]:
        """torch's state plus the adapter's options; the compiled rule and the kept replays are caches, rebuilt."""
        return {**super().__getstate__(), **{name: self.__dict__[name] for name in self._KEPT if name in self.__dict__}}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Restore a copy or a pickle (and torch's ``load_state_dict``, which passes only state and groups)."""
        super().__setstate__(state)
        self.__dict__.setdefault("_compiled", None)
        self.__dict__.setdefault("_replays", {})

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
        if not all(states):
            for p, state in zip(params, states):
                if not state:
                    state.update(init_state(lambda x: self.precision.init(rule, x, hp), p))
        return states

    def _written(self, rule: AlgorithmSpec, params: list[torch.Tensor], states: list[dict[str, Any]]) -> None:
        """After a group's step: ``states`` (from :meth:`_states`) hold the new state; here they are ``self.state``'s own."""

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; its own hyperparameters are validated like the constructor's."""
        super().add_param_group({**param_group, **self._checked_values(param_group)})

    def _checked_values(self, group: dict[str, Any]) -> dict[str, Any]:
        """A group's hyperparameters checked (and normalized) from the rule's table, as the constructor checks
        them; a face that stores other names overrides it."""
        own = {k: v for k, v in group.items() if k in self.algorithm.names}
        checked = self.algorithm.check(own)
        if own:
            self.algorithm.consistency({**self.defaults, **checked})
        return checked

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus ``"algorithm"``: the registry name of the rule that wrote it."""
        return {**super().state_dict(), "algorithm": self.algorithm.name}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state saved by the same algorithm; a different one is a ``ValueError``.

        As torch does, the load-state-dict pre-hooks run first (each may return a
        new state dict), then the saved groups are validated as the constructor
        validates its arguments, the state is placed (always copied), and the
        post-hooks run.  Per-parameter entries the rule does not own (a wrapper's
        buffers, such as timm Lookahead's) are kept as they are.  For float16 and
        bfloat16 parameters the rounding error (``"compensation"``) is kept, started
        at zero when the checkpoint has none, or dropped with a warning when this
        optimizer does not compensate (:meth:`_settle_compensation`).
        """
        state_dict = dict(state_dict)  # shallow, as torch's (the caller's dict is never changed)
        for pre_hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            returned = pre_hook(self, state_dict)
            if returned is not None:
                state_dict = returned
        state_dict = self._translated(state_dict)
        self._check_saved_by(state_dict)
        state_dict = {**state_dict, "param_groups": self._checked_groups(state_dict["param_groups"])}
        self._check_state_shapes(state_dict)
        hooks = self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks
        self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = {}, {}
        try:  # torch's load without its hooks: they run here, once, around our placing of the state
            super().load_state_dict(state_dict)
        finally:
            self._optimizer_load_state_dict_pre_hooks, self._optimizer_load_state_dict_post_hooks = hooks
        # torch's load aliases the source's tensors and casts all state to the parameter's dtype: place them anew
        params = [p for group in self.param_groups for p in group["params"]]
        saved_ids = [i for group in state_dict["param_groups"] for i in group["params"]]
        for index, p in zip(saved_ids, params):
            if index in state_dict["state"]:
                self.state[p] = {key: self._placed(p, key, v) for key, v in state_dict["state"][index].items()}
                self._settle_compensation(p, self.state[p])
        for post_hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            post_hook(self)

    def _translated(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """A loaded state dict in this class's own names (after the pre-hooks; a face that reads others overrides it).

        A torch.optim state dict (no ``"algorithm"``, groups without the rule's
        names) is translated by :func:`~descentlab.engine.state.checkpoints.from_torch`,
        so ``Adam(params, conventions="torch").load_state_dict(torch_adam.state_dict())``
        works as it is.
        """
        counterpart = TORCH_COUNTERPARTS.get(self.algorithm.name)
        groups = state_dict.get("param_groups", [])
        if "algorithm" in state_dict or counterpart is None or not groups:
            return state_dict
        ours, theirs = set(self.algorithm.names), set(counterpart.names.values())
        if any(ours <= set(group) or not theirs <= set(group) for group in groups):
            return state_dict  # ours (untagged, as older versions saved it), or neither: the checks below say why
        return {**from_torch(state_dict, self.algorithm.name), **{k: v for k, v in state_dict.items()
                                                                   if k not in ("state", "param_groups")}}

    def _check_saved_by(self, state_dict: dict[str, Any]) -> None:
        """Refuse a state dict saved by another algorithm: its ``"algorithm"``, its groups' keys, its state's keys."""
        where = f"{type(self).__name__}.load_state_dict"
        saved_by = state_dict.get("algorithm", self.algorithm.name)
        if saved_by != self.algorithm.name:
            raise ValueError(f"{where}: the state was saved by a different optimizer "
                             f"({saved_by!r}, not {self.algorithm.name!r})")
        expected_keys = self._group_keys()
        for group in state_dict.get("param_groups", []):
            missing = expected_keys - set(group)
            if missing:
                raise ValueError(f"{where}: the saved parameter groups lack {', '.join(sorted(missing))}; "
                                 "was the state saved by a different optimizer?")
        # an entry another registry rule keeps and this one does not ("v" in a Momentum state) means another
        # algorithm wrote it; any other unknown entry is a wrapper's (timm Lookahead's "lookahead_slow_buff"): kept
        others = self._other_algorithms_state_keys() - self._state_keys()
        for saved in state_dict.get("state", {}).values():
            theirs = others.intersection(saved)
            if theirs:
                raise ValueError(f"{where}: the saved state holds {', '.join(sorted(theirs))}, which "
                                 f"{self.algorithm.name} never keeps; was it saved by a different optimizer?")

    def _checked_groups(self, groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The saved groups with their hyperparameters validated (and normalized) as the constructor does."""
        checked_groups = []
        for index, group in enumerate(groups):
            try:
                checked = self._checked_values(group)
            except (TypeError, ValueError) as error:
                where = f"{type(self).__name__}.load_state_dict"
                raise type(error)(f"{where}: saved parameter group {index}: {error}") from None
            checked_groups.append({**group, **checked})
        return checked_groups

    def _settle_compensation(self, p: torch.Tensor, state: dict[str, Any]) -> None:
        """After a load: a low-precision parameter of a compensating optimizer gets a ``"compensation"`` (zero when
        the checkpoint had none: ``compensated=False``, or from torch); one that is not compensated here loses it,
        with a warning if it held a rounding error."""
        if not state:
            return
        keep = Precision.is_low(p.dtype) and self.precision.compensated
        if keep and COMPENSATION not in state:
            state[COMPENSATION] = torch.zeros_like(p)
        elif not keep and COMPENSATION in state:
            error = state.pop(COMPENSATION)
            if isinstance(error, torch.Tensor) and error.device.type != "meta" and bool(error.ne(0).any()):
                why = "compensated=False" if Precision.is_low(p.dtype) else f"the parameter is now {p.dtype}"
                warnings.warn(
                    f"{type(self).__name__}.load_state_dict: the saved rounding error (\"compensation\", up to "
                    f"{error.abs().max().item():.3g}) of a parameter of shape {tuple(p.shape)} is dropped ({why})",
                    RuntimeWarning, stacklevel=3,
                )

    def _group_keys(self) -> set[str]:
        """The hyperparameter keys every saved group must hold."""
        return set(self.algorithm.names)

    def _state_keys(self) -> set[str]:
        """The per-parameter state entries this optimizer's rule and precision write (others are a wrapper's)."""
        return {*self.algorithm.state_keys, COMPENSATION}

    def _other_algorithms_state_keys(self) -> set[str]:
        """Every algorithm's state entries, as this class names them: one that this algorithm does not keep, in a
        saved state, means another algorithm saved it."""
        return {key for spec in REGISTRY.values() for key in spec.state_keys}

    def _check_state_shapes(self, state_dict: dict[str, Any]) -> None:
        """Refuse saved state tensors whose shape is not their parameter's (they would broadcast silently)."""
        params = [p for group in self.param_groups for p in group["params"]]
        saved_ids = [i for group in state_dict.get("param_groups", []) for i in group.get("params", [])]
        if len(saved_ids) != len(params):
            return  # torch's own load_state_dict refuses groups of other sizes, with its message
        param_of = dict(zip(saved_ids, params))
        owned = self._state_keys()
        for index, saved in state_dict.get("state", {}).items():
            p = param_of.get(index)
            for key, value in saved.items():
                if (p is not None and key != "step" and key in owned and isinstance(value, torch.Tensor)
                        and value.shape != p.shape):
                    raise ValueError(
                        f"{type(self).__name__}.load_state_dict: the saved {key!r} of parameter {index} has shape "
                        f"{tuple(value.shape)}, but the parameter has shape {tuple(p.shape)}; "
                        "was the state saved for a different model?"
                    )

    def _placed(self, param: torch.Tensor, key: str, value: Any) -> Any:
        """How ``load_state_dict`` places a saved state entry: always a copy (never the source's storage).

        The step counter keeps its dtype (an old checkpoint's Python number becomes
        a float64 0-dim tensor, as a fresh state's); the rule's other floating
        entries take the parameter's dtype, except that a float16/bfloat16
        parameter's state stays float32 (its ``"compensation"`` entry takes the
        parameter's dtype).  Entries the rule does not own keep their dtype.
        """
        if key == "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return torch.tensor(float(value), dtype=torch.float64, device=param.device)
        if not isinstance(value, torch.Tensor):
            return value
        if (key == "step" or key not in self._state_keys() or not (value.is_floating_point() or value.is_complex())
                or not (param.is_floating_point() or param.is_complex())):
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
        # (each pass below is one C-level map over the parameters: on hundreds of small tensors the Python work
        # of a step is what its time is made of)
        for group in self.param_groups:
            params = list(group["params"])
            grads = list(map(_GRAD, params))
            if not all(map(operator.is_not, grads, repeat(None))):
                params = [p for p, grad in zip(params, grads) if grad is not None]
                grads = [grad for grad in grads if grad is not None]
            if any(map(_IS_SPARSE, grads)):
                raise RuntimeError(
                    f"{type(self).__name__} does not support sparse gradients; "
                    "use dense gradients (e.g. nn.Embedding(sparse=False))"
                )
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
            probe = next((key for key in rule.state_keys if key != "step"), None)  # an entry shaped like p
            dtypes = list(map(_DTYPE, params))
            complex_params = any(dtype.is_complex for dtype in set(dtypes))
            if probe is not None:
                stored = list(map(operator.methodcaller("get", probe), states))
                if not (all(map(operator.is_not, stored, repeat(None))) and list(map(_DTYPE, stored)) == dtypes):
                    for p, state, entry, dtype in zip(params, states, stored, dtypes):
                        if entry is not None and entry.dtype != dtype:
                            if _state_dtype(state, rule.state_keys) not in (None, precision.work_dtype(p)):
                                raise self._changed_dtype(p, state)
            if complex_params:  # as torch: the rule on view_as_real of x, g and the state
                views = real_views(params, grads, states)
                self._step_group(group_index, rule, *views, hp)
                write_back(params, states, views[2])
            else:
                self._step_group(group_index, rule, params, grads, states, hp)
            self._written(rule, params, states)
        return loss

    def _step_group(
        self, group_index: int, rule: AlgorithmSpec, params: list[torch.Tensor], grads: list[torch.Tensor],
        states: list[dict[str, Any]], hp: dict[str, Any],
    ) -> None:
        """One group's tensors (with their states made) through the chosen path."""
        precision = self.precision
        if self.fused is False or _traced():
            # (inside a caller's torch.compile the plain rule is compiled with the rest)
            self._plain_step(rule, params, grads, states, hp)
        elif self.fused is True:
            self._fast_step(params, grads, states, hp, group_index, rule)
        else:
            buckets = _buckets(params)
            if len(buckets) == 1 and not _plain_only(next(iter(buckets))):  # the usual case: no lists to pick
                ((kind, _),) = buckets.items()
                step_in_batches(rule, params, grads, states, hp, precision, self._replays, (group_index, kind),
                                torch_roots=self.torch_roots)
                return
            for kind, indices in buckets.items():
                step = functools.partial(self._plain_step, rule) if _plain_only(kind) else functools.partial(
                    step_in_batches, rule, precision=precision, cache=self._replays, site=(group_index, kind),
                    torch_roots=self.torch_roots)
                step([params[i] for i in indices], [grads[i] for i in indices], [states[i] for i in indices], hp)

    def _plain_step(
        self, rule: AlgorithmSpec, params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict[str, Any]],
        hp: dict[str, Any],
    ) -> None:
        """The rule tensor by tensor (``fused=False``; meta tensors on every path)."""
        for p, grad, state in zip(params, grads, states):
            state.update(self.precision.step(rule, p, grad, state, hp))

    def _changed_dtype(self, p: torch.Tensor, state: dict[str, Any]) -> TypeError:
        """The error for a parameter whose dtype changed after its state was made (``model.double()`` mid-run)."""
        index = next(i for i, q in enumerate(q for group in self.param_groups for q in group["params"]) if q is p)
        return TypeError(
            f"{type(self).__name__}.step: parameter {index} is now {p.dtype} but its state is "
            f"{_state_dtype(state, self.algorithm.state_keys)} "
            "(the model's dtype changed after steps were taken); build a new optimizer, or call "
            "opt.load_state_dict(opt.state_dict()) to cast the state to the parameters' dtypes"
        )

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
            if _plain_only(kind):
                self._plain_step(rule, [params[i] for i in indices], [grads[i] for i in indices],
                                 [states[i] for i in indices], hp)
                continue
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


def _traced() -> bool:
    """Whether this step is being traced (by a caller's ``torch.compile`` or ``torch.export``), in this thread.

    Not ``torch.compiler.is_compiling()``: in torch 2.13 that reads one flag of the whole process, true while
    *any* thread compiles, so a step taken in another thread at that moment would leave its path for the plain
    rule (a few ulp off, and torch.optim's bits lost).  Dynamo traces ``is_dynamo_compiling()`` as ``True`` and
    it is ``False`` when run; only an export (rare next to training threads) still reads the process's flag.
    """
    return torch.compiler.is_dynamo_compiling() or torch.compiler.is_exporting()


_GRAD = operator.attrgetter("grad")
_IS_SPARSE = operator.attrgetter("is_sparse")
_DTYPE = operator.attrgetter("dtype")
_DEVICE = operator.attrgetter("device")


def _buckets(params: list[torch.Tensor]) -> dict[tuple[torch.device, torch.dtype], list[int]]:
    """The indices of ``params`` by device and dtype: each bucket is evaluated together."""
    devices, dtypes = list(map(_DEVICE, params)), list(map(_DTYPE, params))
    if devices.count(devices[0]) == len(devices) and dtypes.count(dtypes[0]) == len(dtypes):
        return {(devices[0], dtypes[0]): list(range(len(params)))}  # the usual case: one bucket
    buckets: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for index, p in enumerate(params):
        buckets.setdefault((p.device, p.dtype), []).append(index)
    return buckets


def _plain_only(kind: tuple[torch.device, torch.dtype]) -> bool:
    """Whether a bucket's tensors take the plain rule on every path: meta tensors (no data to replay or compile)."""
    return kind[0].type == "meta"


def _state_dtype(state: dict[str, Any], keys: tuple[str, ...]) -> torch.dtype | None:
    """The dtype of the first floating entry with elements among the rule's ``keys`` (``None``: none).

    (0-dim entries are left out: the step counter, and on the compiled path a 0-dim parameter's entries, which
    share the counters' float64 block.)
    """
    for key, value in state.items():
        if key in keys and isinstance(value, torch.Tensor) and value.dim() > 0 and (
                value.is_floating_point() or value.is_complex()):
            return value.dtype
    return None


def _all_finite(tensors: list[torch.Tensor]) -> bool:
    """Whether every value of every tensor is finite: one max-abs per device, one sync.

    Empty tensors (nothing to check; ``_foreach_norm`` refuses them) and meta
    tensors (no values) count as finite.
    """
    tensors = [t for t in tensors if t.numel() > 0 and t.device.type != "meta"]
    if not tensors:
        return True
    worst = [norm.float() for norm in torch._foreach_norm(tensors, float("inf"))]
    return bool(torch.stack([w.to(worst[0].device) for w in worst]).isfinite().all())


__all__ = ["OPTIONS", "RuleOptimizer"]
