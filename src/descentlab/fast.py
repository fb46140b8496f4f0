"""The fast path: the registry's own rule, compiled, applied in place to many tensors at once.

An optimizer step reads and writes every parameter and its state once, so on a
large model it is bound by memory bandwidth.  The plain path calls the rule per
tensor, op by op, with a temporary per op.  Here ``torch.compile`` traces the same
``spec.update`` over a chunk of up to :data:`CHUNK` tensors and Inductor fuses
each tensor's whole update into one loop that reads ``x``, ``g`` and the state
once and writes them back in place: no temporaries, no second copy of the math.

* Shapes are dynamic, so one compiled graph serves every chunk of the same
  length: a model compiles once or twice, whatever its shapes.
* Hyperparameters enter as 0-dim tensors (a zero stays a Python ``0`` so the
  rule can skip its term), so a learning-rate schedule never recompiles.
* Compilation costs seconds on the first step (Inductor's on-disk cache makes
  later processes faster).  :func:`worth_compiling` keeps small parameter sets
  on the plain path, where it would never pay off.
* If compiling fails (no C++ compiler, an unsupported case), that chunk and all
  later ones run the plain rule, and :attr:`CompiledRule.failure` says why.
"""

from __future__ import annotations

import functools
import numbers
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from .algorithms import AlgorithmSpec, State

CHUNK = 64
"""Tensors per compiled call: large enough to amortize the call, small enough to compile quickly."""

AUTO_MIN_ELEMENTS = 1 << 20
"""``fused=None`` takes the fast path for a parameter group of at least this many values."""


@functools.cache
def compiler_available() -> bool:
    """Whether Inductor can build CPU kernels here (it needs a C++ compiler)."""
    return any(shutil.which(name) for name in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if name)


def worth_compiling(params: Sequence[Tensor]) -> bool:
    """``fused=None``'s choice: compile only large parameter sets on CPU or CUDA."""
    if not params or any(p.device.type not in ("cpu", "cuda") for p in params):
        return False
    if any(p.device.type == "cpu" for p in params) and not compiler_available():
        return False
    return sum(p.numel() for p in params) >= AUTO_MIN_ELEMENTS


def _as_graph_input(value: Any) -> Any:
    """A nonzero number becomes a 0-dim float64 tensor (a graph input, not a constant)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, tuple):
            return tuple(_as_graph_input(v) for v in value)
        return value
    return value if value == 0 else torch.tensor(float(value), dtype=torch.float64)


def _apply_in_place(
    spec: AlgorithmSpec,
    xs: list[Tensor],
    gs: list[Tensor],
    states: list[State],
    hp: dict,
    factors: tuple[Tensor, ...] | None = None,
) -> list[Tensor]:
    """Run the rule on every tensor and write ``x`` and the state back in place.

    ``factors`` (when the spec has them) hold the per-step scalars of every
    tensor of the chunk, computed once outside the loops.  0-dim state entries
    (the step counter) are returned instead of written: Inductor in torch 2.13
    silently drops in-place writes to 0-dim CPU inputs, so the caller copies them
    back outside the compiled graph.
    """
    scalars = []
    for index, (x, g, state) in enumerate(zip(xs, gs, states)):
        extra = {} if factors is None else {"factors": tuple(f[index] for f in factors)}
        new_x, new_state = spec.update(x, g, state, **hp, **extra)
        x.copy_(new_x)
        for key, old in state.items():
            if old.dim() == 0:
                scalars.append(new_state.get(key, old))
            elif key in new_state:
                old.copy_(new_state[key])
    return scalars


def _scalar_entries(states: list[State]) -> list[Tensor]:
    """The 0-dim state tensors, in the order in which :func:`_apply_in_place` returns their new values."""
    return [value for state in states for value in state.values() if value.dim() == 0]


class CompiledRule:
    """``spec.update`` compiled for in-place updates of lists of tensors."""

    def __init__(self, spec: AlgorithmSpec) -> None:
        self.spec = spec
        # A code object of its own per algorithm, so each rule has its own compile cache.
        code = _apply_in_place.__code__.replace(co_name=f"fused_{spec.name}_step")
        function = type(_apply_in_place)(code, _apply_in_place.__globals__, code.co_name)
        self._compiled = torch.compile(function, dynamic=True, fullgraph=True)
        self.failure: str | None = None

    def __call__(self, xs: Sequence[Tensor], gs: Sequence[Tensor], states: Sequence[State], hp: Mapping[str, Any]) -> None:
        """Update every ``x`` and its state in place (by the plain rule once compiling has failed)."""
        inputs = {name: _as_graph_input(value) for name, value in hp.items()}
        for start in range(0, len(xs), CHUNK):
            chunk = slice(start, start + CHUNK)
            chunk_states = list(states[chunk])
            factors = None
            if self.spec.factors is not None:  # one vectorized evaluation for the whole chunk
                t = torch.stack([state["step"] for state in chunk_states]) + 1
                factors = self.spec.factors(t, hp)
            scalars = None
            if self.failure is None:
                try:
                    scalars = self._compiled(self.spec, list(xs[chunk]), list(gs[chunk]), chunk_states, inputs, factors)
                except Exception as error:  # compilation failed before anything was written
                    self.failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            if scalars is None:
                scalars = _apply_in_place(self.spec, list(xs[chunk]), list(gs[chunk]), chunk_states, dict(hp), factors)
            torch._foreach_copy_(_scalar_entries(chunk_states), scalars)
