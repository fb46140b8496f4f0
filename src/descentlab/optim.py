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

import inspect
from collections.abc import Iterable
from typing import Any

from .algorithms import REGISTRY
from .algorithms import get as get_algorithm
from .engine.adapter import OPTIONS, RuleOptimizer
from .engine.torch_names import TORCH_COUNTERPARTS

TORCH_OPTIONS: dict[str, str] = {
    # torch.optim's implementation switches, and what to do instead here
    "foreach": "fused=None (the default) already runs the rule as torch._foreach_* calls; fused=False runs it "
               "tensor by tensor, fused=True compiles it",
    "capturable": "descentlab has no CUDA-graph capturable mode; leave it out",
    "differentiable": "the step runs under torch.no_grad and cannot be differentiated through; "
                      "use torch.optim's class for that",
}
"""torch.optim keyword arguments that are not hyperparameters: what a user who passes one should do instead."""


class _NotesOptimizer(RuleOptimizer):
    """The notes' classes: only ``lr`` by position, so a torch-style positional call cannot be misread.

    torch.optim's orders differ from the notes' tables (torch's ``Adadelta(params, 0.5)``
    is ``lr``, ours would be ``rho``), so every hyperparameter after ``lr`` is
    keyword-only, and torch's own names get a message naming ours.
    """

    positional = ("lr",)

    def __init__(self, params: Iterable[Any], *args: Any, **kwargs: Any) -> None:
        problem = _misuse(type(self), args, kwargs)
        if problem is not None:
            raise TypeError(problem)
        super().__init__(params, *args, **kwargs)


def _torch_twin(cls: type[RuleOptimizer]) -> str:
    """Where torch.optim's signature for ``cls``'s algorithm lives: ``descentlab.torch_optim.<torch's class>``."""
    counterpart = TORCH_COUNTERPARTS.get(cls.algorithm.name)
    return "descentlab.torch_optim" + (f".{counterpart.class_name}" if counterpart else "")


def _misuse(cls: type[RuleOptimizer], args: tuple, kwargs: dict[str, Any]) -> str | None:
    """A one-line message for a call that follows torch.optim's signature instead of ours, else ``None``."""
    name, spec = cls.__name__, cls.algorithm
    positional = cls.positional_names()
    if len(args) > len(positional):
        takes = f"only {' and '.join(positional)} by position" if positional else "no hyperparameter by position"
        counterpart = TORCH_COUNTERPARTS.get(spec.name)
        read = ""
        if counterpart is not None:
            theirs = [n for n in inspect.signature(counterpart.optimizer).parameters if n != "params"][: len(args)]
            read = f"; {counterpart.title} would read them as {', '.join(theirs)}"
        return (f"{name}: takes {takes}, {len(args)} given{read}: name them "
                f"({name}(params, {', '.join(f'{n}=...' for n in spec.names[: max(len(positional), 1) + 1])}, ...)) "
                f"or use {_torch_twin(cls)} for torch.optim's signature")
    for keyword in kwargs:
        if keyword in spec.names or keyword in OPTIONS:
            continue
        hint = _torch_keyword_hint(cls, keyword)
        if hint is not None:
            return f"{name}: got an unexpected keyword argument {keyword!r}; {hint}"
        return f"{name}: got an unexpected keyword argument {keyword!r}; it takes: {', '.join(spec.names)}"
    given = {*positional[: len(args)], *kwargs}
    missing = [h.name for h in spec.hyperparameters if h.required and h.name not in given]
    if missing and kwargs.get("conventions") is None:
        counterpart = TORCH_COUNTERPARTS.get(spec.name)
        defaults = inspect.signature(counterpart.optimizer).parameters if counterpart else {}
        torch_default = [f"{n}={defaults[n].default!r}" for n in missing
                         if n in defaults and defaults[n].default not in (inspect.Parameter.empty, None)]
        told = (f"; {counterpart.title} defaults to {', '.join(torch_default)} "
                f"({_torch_twin(cls)} takes torch's defaults)" if torch_default else "")
        return (f"{name}: missing a required argument: {missing[0]!r} (the notes give no default): "
                f"{name}(params, {', '.join(f'{n}=...' for n in missing)}){told}")
    return None


def _torch_keyword_hint(cls: type[RuleOptimizer], keyword: str) -> str | None:
    """What to use instead of torch.optim's ``keyword``: our name for it, the class that has it, or an option."""
    algorithm = cls.algorithm.name
    counterpart = TORCH_COUNTERPARTS.get(algorithm)
    if counterpart is not None:
        ours = {theirs: mine for mine, theirs in counterpart.names.items()}
        if keyword in ours:
            return f"use {ours[keyword]}= ({counterpart.title}'s {keyword})"
        for other, row in TORCH_COUNTERPARTS.items():  # a sibling of the same torch class has it (SGD's momentum)
            if other != algorithm and row.class_name == counterpart.class_name and keyword in row.names.values():
                sibling = CLASSES[other].__name__
                return (f"{counterpart.title}'s {keyword} belongs to descentlab.optim.{sibling} here: "
                        f"{sibling}(params, lr=..., {keyword}=...), or use {_torch_twin(cls)}")
    if keyword in TORCH_OPTIONS:
        return TORCH_OPTIONS[keyword]
    return None


class SGD(_NotesOptimizer):
    algorithm = REGISTRY["sgd"]


class Momentum(_NotesOptimizer):
    algorithm = REGISTRY["momentum"]


class AdaGrad(_NotesOptimizer):
    algorithm = REGISTRY["adagrad"]


class RMSProp(_NotesOptimizer):
    algorithm = REGISTRY["rmsprop"]


class AdaDelta(_NotesOptimizer):
    algorithm = REGISTRY["adadelta"]


class Adam(_NotesOptimizer):
    algorithm = REGISTRY["adam"]


class Yogi(_NotesOptimizer):
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
