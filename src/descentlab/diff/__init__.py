"""Run two optimizers in lockstep and find where (and why) they part.

``diff("adam:conventions=keras", "torch.optim.Adam", steps=20)`` builds both on
identical float64 parameters, feeds both the same gradient at every step (taken
at A's parameters, so both see one sequence), and compares after each step the
parameters and the state, torch's names mapped to ours
(:data:`~descentlab.engine.torch_names.TORCH_STATE_KEYS`).  It returns a
:class:`DiffResult` (the first differing step, per tensor the largest relative
and ULP error, and a one-line explanation when the two settings differ by a
known convention).  It never prints.

Both errors are measured against the tensor's scale, so that an entry near zero
does not dominate: the scale is the largest ``|b|`` the tensor has held at any step
so far (a bias that stays near 0, or an average of gradients that decays towards
0, is measured against the size it had).  The relative error is
``max |a - b| / scale`` and the ULP error is ``max |a - b|`` in units of the
spacing of float64 numbers at ``scale`` (one ULP is about 2.2e-16 times the scale).

Problems: ``quadratic`` (g = diag(0.5 .. 4) x), ``random`` (seeded normal
gradients, independent of x) and ``airfoil``: the notes' linear regression
(w in R^5, b) on the standardized airfoil rows, minibatches of 10 in a seeded
order, gradients of mean((X w + b - y)^2) / 2 from autograd.

An optimizer is ``NAME[:key=value,...]``: a registry name (``adam``,
``rmsprop:conventions=optax``) or an import path of a ``torch.optim.Optimizer``
class (``torch.optim.RMSprop:alpha=0.9``).  Values are Python literals
(``betas=(0.9,0.99)``) or bare strings (``conventions=keras``).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..airfoil.data import Airfoil, load_airfoil
from ..algorithms import REGISTRY
from ..optim import RuleOptimizer, create
from ..engine.torch_names import TORCH_COUNTERPARTS, TORCH_STATE_KEYS

PROBLEMS = ("quadratic", "airfoil", "random")
MAX_STEPS = 100_000
"""The most steps one comparison runs (each step compares every tensor of both optimizers)."""
NOT_ELEMENTWISE = {
    "LBFGS": "it needs a closure that re-evaluates the loss, and its step depends on the whole history of "
             "parameters and gradients, not entry by entry",
    "SparseAdam": "it takes only sparse gradients (from nn.Embedding(sparse=True)); diff feeds dense ones",
}
"""torch.optim classes diff refuses by name: their step is not an elementwise rule on a given gradient."""
SHAPES = ((4, 3), (5,))
AIRFOIL_BATCH = 10

# what a difference in one of our hyperparameters means, in one line
EXPLANATIONS: dict[str, str] = {
    "eps_in_sqrt": "eps placement: inside the square root against outside it",
    "eps_mode": "epsilon hat: eps added to sqrt(v), with the bias corrections folded into the step size, "
                "against eps added to sqrt(v^)",
    "form": "momentum form: torch's buffer is g at the first step (no dampening), the others accumulate lr g or "
            "(1 - momentum) g",
    "dampening": "first-step dampening: torch does not dampen the first step",
    "initial_accumulator_value": "initial accumulator: the sum of squares starts at a different value",
    "eps": "eps values differ",
    "gamma": "decay of the squared-gradient average differs (torch's alpha)",
    "rho": "decay rate rho differs",
    "betas": "decays (beta1, beta2) differ",
    "signed_lr": "the lr multiplier's sign: a negative lr (optax.adadelta's default learning_rate=None) steps up "
                 "the gradient",
    "lr": "learning rates differ",
    "weight_decay": "weight decay differs",
    "decoupled_weight_decay": "weight decay is L2 on one side and decoupled on the other",
    "eps_root": "eps inside the root (eps_root, on v^) differs",
    "amsgrad_max": "AMSGrad's maximum taken before the bias correction (of v) against after it (of v^)",
    "bias_correction": "bias correction of the squared-gradient average on one side only",
    "momentum_form": "momentum applied before the lr (torch) against after it (velocity form: optax, Keras)",
    "nesterov": "Nesterov's look-ahead on one side only",
}


@dataclass(frozen=True)
class Side:
    """One optimizer of the comparison, as parsed."""

    text: str
    build: Any  # params -> optimizer
    algorithm: str | None  # the registry name whose names its state and hyperparameters use
    is_torch: bool


@dataclass(frozen=True)
class TensorDiff:
    """The largest differences of one tensor (a parameter or a state entry) over the run."""

    name: str
    max_rel: float
    max_ulp: float
    first_step: int | None


@dataclass
class DiffResult:
    """What :func:`diff` found."""

    a: str
    b: str
    steps: int
    problem: str
    first_step: int | None  # 1-based; None: equal to the tolerance throughout
    tensors: list[TensorDiff] = field(default_factory=list)
    explanation: str | None = None

    @property
    def equal(self) -> bool:
        return self.first_step is None

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "steps": self.steps, "problem": self.problem, "equal": self.equal,
                "first_differing_step": self.first_step, "explanation": self.explanation,
                "tensors": [t.__dict__ for t in self.tensors]}


def _value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse(text: str) -> Side:
    """``NAME[:k=v,...]`` as a :class:`Side`; ``ValueError`` in one line for anything else."""
    name, _, rest = text.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, _split(rest)):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{text!r}: expected key=value after ':', got {item!r}")
        kwargs[key.strip()] = _value(value.strip())
    if name in REGISTRY:
        return Side(text, lambda params: create(name, params, **kwargs), name, False)
    if "." not in name:
        raise ValueError(f"unknown optimizer {name!r}: give a registry name ({', '.join(REGISTRY)}) "
                         "or an import path such as torch.optim.Adam")
    module_name, _, class_name = name.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ValueError(f"cannot import {name!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"{name!r} is not a torch.optim.Optimizer class")
    if issubclass(cls, RuleOptimizer):
        return Side(text, lambda params: cls(params, **kwargs), cls.algorithm.name, False)
    _check_elementwise(cls, name)
    algorithm = next((a for a, c in TORCH_COUNTERPARTS.items() if c.class_name == cls.__name__
                      and (a != "sgd" or not kwargs.get("momentum"))), None)
    return Side(text, lambda params: cls(params, **kwargs), algorithm, True)


def _check_elementwise(cls: type, name: str) -> None:
    """Refuse (``ValueError``, one line) an optimizer diff cannot drive: one that needs a closure or sparse gradients."""
    why = NOT_ELEMENTWISE.get(cls.__name__) if cls.__module__.startswith("torch.optim") else None
    if why is None:
        try:
            closure = inspect.signature(cls.step).parameters.get("closure")
        except (TypeError, ValueError):
            closure = None
        if closure is not None and closure.default is inspect.Parameter.empty:
            why = "its step() requires a closure that re-evaluates the loss"
    if why is not None:
        raise ValueError(f"{name} cannot be compared: diff feeds both optimizers the same dense gradient and steps "
                         f"them without a closure, and {why}")


def _split(rest: str) -> list[str]:
    """``k=v`` items separated by commas outside parentheses."""
    items, depth, current = [], 0, ""
    for ch in rest:
        depth += (ch in "([") - (ch in ")]")
        if ch == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += ch
    return [*items, current]


def _our_state(side: Side, state: dict[str, Any]) -> dict[str, torch.Tensor]:
    """A parameter's state under our names (torch's renamed), the step counter left out."""
    names = {}
    if side.is_torch:
        cls_name = TORCH_COUNTERPARTS[side.algorithm].class_name if side.algorithm else None
        for algorithm, counterpart in TORCH_COUNTERPARTS.items():
            if counterpart.class_name == cls_name:
                names.update(TORCH_STATE_KEYS[algorithm])
    return {names.get(k, k): v for k, v in state.items() if k != "step" and isinstance(v, torch.Tensor)}


def _our_hyperparameters(side: Side, optimizer: torch.optim.Optimizer) -> dict[str, Any] | None:
    """The optimizer's settings in our terms (torch's mapped back), or None if they cannot be."""
    if side.algorithm is None:
        return None
    if not side.is_torch:
        return dict(optimizer.defaults)
    counterpart = TORCH_COUNTERPARTS[side.algorithm]
    mapped = {ours: optimizer.defaults[theirs] for ours, theirs in counterpart.names.items()
              if theirs in optimizer.defaults}
    return {**REGISTRY[side.algorithm].defaults, **counterpart.fixed, **mapped}


def _explain(a: Side, b: Side, oa: torch.optim.Optimizer, ob: torch.optim.Optimizer) -> str | None:
    ha, hb = _our_hyperparameters(a, oa), _our_hyperparameters(b, ob)
    if ha is None or hb is None:
        return None
    if a.algorithm != b.algorithm and {a.algorithm, b.algorithm} != {"sgd", "momentum"}:
        return f"different algorithms: {a.algorithm} against {b.algorithm}"
    differing = [k for k in EXPLANATIONS if k in ha and k in hb and _differ(ha[k], hb[k])
                 and not (_inert(k, ha) and _inert(k, hb))]
    if not differing:
        return None
    k = differing[0]
    return f"{EXPLANATIONS[k]} ({k}={ha[k]!r} against {hb[k]!r})"


# a switch that does nothing in a setting (decoupling a zero weight decay, AMSGrad's variant without AMSGrad)
_INERT_UNLESS: dict[str, Any] = {
    "decoupled_weight_decay": lambda hp: _is_zero(hp.get("weight_decay", 0)),
    "amsgrad_max": lambda hp: not hp.get("amsgrad", False),
    "momentum_form": lambda hp: _is_zero(hp.get("momentum", 0)),
    "nesterov": lambda hp: _is_zero(hp.get("momentum", 0)),
    "signed_lr": lambda hp: float(hp.get("lr", 0)) >= 0,
}


def _inert(key: str, hp: dict[str, Any]) -> bool:
    return key in _INERT_UNLESS and _INERT_UNLESS[key](hp)


def _is_zero(value: Any) -> bool:
    return float(torch.as_tensor(value)) == 0


def _differ(x: Any, y: Any) -> bool:
    if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
        return float(torch.as_tensor(x)) != float(torch.as_tensor(y))
    return x != y


class _Gradients:
    """The gradient of every parameter at step t (1-based), given A's parameters ``xs``."""

    def __init__(self, problem: str, data: Airfoil | None) -> None:
        self.problem = problem
        if problem == "airfoil":
            assert data is not None
            self.X, self.y = data.features.double(), data.labels.double()
            gen = torch.Generator().manual_seed(0)
            self.order = torch.randperm(data.rows, generator=gen)

    def __call__(self, xs: list[torch.Tensor], t: int) -> list[torch.Tensor]:
        if self.problem == "quadratic":
            return [torch.linspace(0.5, 4.0, x.numel(), dtype=x.dtype).reshape(x.shape) * x for x in xs]
        if self.problem == "random":
            return [torch.randn(x.shape, generator=torch.Generator().manual_seed(1000 * t + i), dtype=x.dtype)
                    for i, x in enumerate(xs)]
        batches = len(self.order) // AIRFOIL_BATCH  # a new pass every 150 steps, the same order
        rows = self.order[((t - 1) % batches) * AIRFOIL_BATCH:][:AIRFOIL_BATCH]
        w, b = (x.detach().requires_grad_() for x in xs)
        loss = ((self.X[rows] @ w + b - self.y[rows]) ** 2).mean() / 2
        return list(torch.autograd.grad(loss, [w, b]))


def _errors(a: torch.Tensor, b: torch.Tensor, scale: torch.Tensor) -> tuple[float, float]:
    """``max |a - b|`` relative to ``scale`` and in ULPs at ``scale`` (the spacing of floats there; at 0 the
    smallest subnormal), so a tiny entry's few-ulp difference does not count as millions."""
    difference = (a - b).abs().max()
    spacing = torch.nextafter(scale, torch.tensor(float("inf"), dtype=scale.dtype)) - scale
    return float(difference / scale.clamp_min(torch.finfo(b.dtype).tiny)), float(difference / spacing)


def diff(a: str, b: str, *, steps: int = 20, problem: str = "quadratic", rtol: float = 1e-12,
         data: Airfoil | str | Path | None = None) -> DiffResult:
    """Compare optimizers ``a`` and ``b`` (see the module docstring) for ``steps`` steps on ``problem``.

    ``data`` is for ``problem="airfoil"``: the loaded data, or the file's path (``None``: found as
    :func:`~descentlab.airfoil.load_airfoil` finds it, downloading into the cache if needed).
    """
    if problem not in PROBLEMS:
        raise ValueError(f"unknown problem {problem!r}; choose one of: {', '.join(PROBLEMS)}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS}, got {steps!r}")
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float)) or not (math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a finite number >= 0, got {rtol!r}")
    side_a, side_b = parse(a), parse(b)
    if problem == "airfoil" and not isinstance(data, Airfoil):
        data = load_airfoil(data)
    gradients = _Gradients(problem, data if isinstance(data, Airfoil) else None)
    gen = torch.Generator().manual_seed(0)
    if problem == "airfoil":  # the notes' start: w ~ N(0, 0.01^2), b = 0
        start = [0.01 * torch.randn(5, generator=gen, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)]
    else:
        start = [torch.randn(shape, generator=gen, dtype=torch.float64) for shape in SHAPES]
    pa = [torch.nn.Parameter(x.clone()) for x in start]
    pb = [torch.nn.Parameter(x.clone()) for x in start]
    try:
        oa, ob = side_a.build(pa), side_b.build(pb)
    except (TypeError, ValueError) as error:
        raise ValueError(str(error).splitlines()[0]) from None
    worst: dict[str, list[Any]] = {}
    scales: dict[str, torch.Tensor] = {}  # the largest |b| of each tensor so far
    first: int | None = None
    for t in range(1, steps + 1):
        for x, y, g in zip(pa, pb, gradients([x.detach() for x in pa], t)):
            x.grad, y.grad = g.clone(), g.clone()
        for side, optimizer in ((side_a, oa), (side_b, ob)):
            try:
                optimizer.step()
            except (RuntimeError, TypeError, ValueError) as error:  # e.g. a closure or sparse gradients required
                first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise ValueError(f"{side.text} cannot be compared: its step() on a dense gradient without a closure "
                                 f"failed at step {t}: {first_line}") from None
        pairs = [(f"param{i}", x.detach(), y.detach()) for i, (x, y) in enumerate(zip(pa, pb))]
        for i, (x, y) in enumerate(zip(pa, pb)):
            sa, sb = _our_state(side_a, oa.state[x]), _our_state(side_b, ob.state[y])
            pairs += [(f"param{i}.{k}", sa[k], sb[k]) for k in sorted(sa.keys() & sb.keys())]
        for name, x, y in pairs:
            scale = scales[name] = torch.maximum(scales.get(name, torch.zeros((), dtype=y.dtype)), y.abs().max())
            rel, ulp = _errors(x, y, scale)
            entry = worst.setdefault(name, [0.0, 0.0, None])
            entry[0], entry[1] = max(entry[0], rel), max(entry[1], ulp)
            if rel > rtol and entry[2] is None:
                entry[2] = t
                first = t if first is None else first
    tensors = [TensorDiff(name, rel, ulp, step) for name, (rel, ulp, step) in worst.items()]
    explanation = _explain(side_a, side_b, oa, ob) if first is not None else None
    return DiffResult(a, b, steps, problem, first, tensors, explanation)


__all__ = ["MAX_STEPS", "NOT_ELEMENTWISE", "PROBLEMS", "DiffResult", "TensorDiff", "diff", "parse"]
