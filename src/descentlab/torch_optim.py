"""Drop-in replacements for ``torch.optim``: the same classes, signatures, defaults, group keys and state keys.

``descentlab.torch_optim.Adam(model.parameters(), lr=1e-3)`` is
``torch.optim.Adam(model.parameters(), lr=1e-3)``: the same positional order and
defaults, the same ``param_groups`` keys (a scheduler writing ``group["lr"]``,
``group["momentum"]`` or ``group["betas"]`` changes the step), the same
per-parameter state keys (``exp_avg``, ``momentum_buffer``, ``square_avg``, ...),
and state dicts that load into torch.optim's class and back, resuming bit for
bit (a state dict of :mod:`descentlab.optim`'s class with ``conventions="torch"``
loads too, translated).  Each class runs the registry's rule (:mod:`descentlab.algorithms`, each
written once); only the names are torch's (:mod:`descentlab.engine.torch_face`).

In float32 on the CPU the default path is bit for bit torch.optim's for-loop and
foreach implementations on every configuration of torch's own ``optim_db``
(``tests/test_optim_db_float32.py``); torch's fused CPU kernels differ from both
by a few ulp, and so do we.

torch's implementation keywords:

* ``foreach``: accepted, any value, and stored in the groups: the default path
  already runs the rule as in-place foreach calls, and torch's for-loop and
  foreach give the same numbers (so ``foreach=False`` changes nothing but speed).
* ``fused``: accepted; ``fused=True`` runs the default path as well (descentlab
  has no hand-fused kernel; its numbers are torch's for-loop's, a few ulp from
  torch's fused kernel).  ``path="compiled"`` compiles the rule instead.
* ``differentiable=True``: refused in one line (our step runs under ``no_grad``).
* ``capturable=True``: refused in one line (the step reads its step counters on
  the host, so it cannot be captured in a CUDA graph).  A loaded checkpoint's
  ``capturable`` is kept as it is, and changes nothing here.

descentlab's own options, keyword-only, after torch's:

* ``path``: ``"default"`` (the rule traced once and replayed as in-place foreach
  calls; never compiles), ``"compiled"`` (``torch.compile``; the first step takes
  seconds), ``"plain"`` (the rule tensor by tensor, the reference).  Named
  ``path`` because ``fused`` is torch's keyword.
* ``compensated``: for float16/bfloat16 parameters, whose state is float32, keep
  the rounding error of each write (default ``True``; ``False`` rounds as torch).
* ``skip_nonfinite``: skip a step whose gradients hold a nan or infinity.

Two things differ from torch.optim on purpose: a hyperparameter out of range is
refused from the rule's table (``alpha=1.5`` for RMSprop, which torch accepts),
and the step counter in ``self.state[p]["step"]`` is float64 (torch's is float32;
``state_dict()`` saves it as float32, as torch does).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from .algorithms import REGISTRY, AlgorithmSpec
from .engine.torch_face import TorchFace, is_zero_number

Params = Iterable[Any]


class SGD(TorchFace):
    """``torch.optim.SGD``: gradient descent, with momentum, dampening, Nesterov, L2 weight decay.

    ``momentum=0`` runs the ``sgd`` rule and keeps no state; otherwise the
    ``momentum`` rule in torch's form (``form="torch"``) with its buffer in
    ``state["momentum_buffer"]`` (the rule's step counter, which torch's SGD does not
    keep, is kept beside the state; after loading a checkpoint a buffer means a
    step was taken, as torch reads it).
    """

    algorithm = REGISTRY["momentum"]
    also_runs = ("sgd",)
    torch_class = "SGD"
    hidden = ("step",)

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1e-3, momentum: float = 0, dampening: float = 0,
        weight_decay: float | torch.Tensor = 0, nesterov: bool = False, *, maximize: bool = False,
        foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())

    def _rule(self, group: dict[str, Any]) -> AlgorithmSpec:
        return REGISTRY["sgd"] if is_zero_number(group["momentum"]) else self.algorithm

    def _check_group(self, group: Mapping[str, Any]) -> None:
        if group["nesterov"] and (is_zero_number(group["momentum"]) or not is_zero_number(group["dampening"])):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super()._check_group(group)

    def _needs_init(self, rule: AlgorithmSpec, stored: Mapping[str, Any], hidden: Mapping[str, Any] | None) -> bool:
        # momentum switched on (by a scheduler, or a loaded group): the buffer starts now, undamped, as torch's
        return (rule is self.algorithm and "momentum_buffer" not in stored) or super()._needs_init(rule, stored, hidden)

    def _restored(self, rule: AlgorithmSpec, p: torch.Tensor, stored: Mapping[str, Any]) -> dict[str, Any]:
        taken = 1.0 if "momentum_buffer" in stored else 0.0  # all the torch form needs: is this the first step
        return {"step": torch.tensor(taken, dtype=torch.float64, device=p.device)}


class Adam(TorchFace):
    """``torch.optim.Adam``: the ``adam`` rule; ``amsgrad``, L2 or decoupled (``decoupled_weight_decay``) decay."""

    algorithm = REGISTRY["adam"]
    torch_class = "Adam"

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None, maximize: bool = False,
        capturable: bool = False, differentiable: bool = False, fused: bool | None = None,
        decoupled_weight_decay: bool = False,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())


class AdamW(TorchFace):
    """``torch.optim.AdamW``: the ``adam`` rule with decoupled weight decay (``x <- x (1 - lr wd)`` first)."""

    algorithm = REGISTRY["adam"]
    torch_class = "AdamW"
    group_constants = {"decoupled_weight_decay": True}

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (0.9, 0.999), eps: float = 1e-8,
        weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False, foreach: bool | None = None,
        capturable: bool = False, differentiable: bool = False, fused: bool | None = None,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())


class Adagrad(TorchFace):
    """``torch.optim.Adagrad``: the ``adagrad`` rule with eps outside the root.

    As torch's, the state (``sum`` at ``initial_accumulator_value``, ``step``) is
    made in the constructor, so a state dict saved before the first step loads into
    torch's class and steps there.
    """

    algorithm = REGISTRY["adagrad"]
    torch_class = "Adagrad"

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
        initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
        maximize: bool = False, differentiable: bool = False, fused: bool | None = None,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())
        for group in self.param_groups:
            hp = self._hyperparameters(self.algorithm, group)
            self._written(self.algorithm, group["params"], self._states(self.algorithm, group["params"], hp))

    def share_memory(self) -> None:
        """Move every ``sum`` to shared memory (torch's ``Adagrad.share_memory``, for Hogwild-style training)."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()


class RMSprop(TorchFace):
    """``torch.optim.RMSprop``: the ``rmsprop`` rule with eps outside the root; ``alpha`` is the rule's ``gamma``."""

    algorithm = REGISTRY["rmsprop"]
    torch_class = "RMSprop"

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
        weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
        foreach: bool | None = None, maximize: bool = False, differentiable: bool = False, *,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())


class Adadelta(TorchFace):
    """``torch.optim.Adadelta``: the ``adadelta`` rule; ``lr`` multiplies the step."""

    algorithm = REGISTRY["adadelta"]
    torch_class = "Adadelta"

    def __init__(
        self, params: Params, lr: float | torch.Tensor = 1.0, rho: float = 0.9, eps: float = 1e-6,
        weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False, maximize: bool = False,
        differentiable: bool = False,
        path: str = "default", compensated: bool = True, skip_nonfinite: bool = False,
    ) -> None:
        self._setup(locals())


CLASSES: dict[str, type[TorchFace]] = {cls.__name__: cls for cls in (SGD, Adam, AdamW, Adagrad, RMSprop, Adadelta)}
"""Each class by torch.optim's name."""

__all__ = ["CLASSES", "SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "RMSprop"]
