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
* The 0-dim state entries (step counters) of a chunk live as views in one small
  block that the compiled step reads and writes whole (:class:`descentlab.engine.paths.counters.CounterBlock`), and
  Dynamo's guards already check every input's shape, so the generated code
  skips its own size asserts: a step is one guarded call per chunk.
* Compilation costs seconds on the first step (Inductor's on-disk cache makes
  later processes faster), so this path runs only when asked for
  (``fused=True``); the default is the eager path of :mod:`descentlab.engine.paths.eager`.
* A 0-dim parameter (and its 0-dim state) enters the graph as a 1-element view of
  itself: Dynamo in torch 2.13 takes a 0-dim float64 CPU input for a Python float
  and drops the in-place writes to it (the parameter and its state would never move).
* If compiling fails (no C++ compiler, an unsupported case), that chunk and all
  later ones run the plain rule, and :attr:`CompiledRule.failure` says why.
"""

from __future__ import annotations

import functools
import numbers
import os
import shutil
from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ...algorithms import AlgorithmSpec, State
from ..state.precision import Precision
from .counters import CounterBlock

if TYPE_CHECKING:
    from torch import Tensor

CHUNK = 64
"""Tensors per compiled call: large enough to amortize the call, small enough to compile quickly."""

@functools.cache
def compiler_available() -> bool:
    """Whether Inductor can build CPU kernels here (it needs a C++ compiler)."""
    return any(shutil.which(name) for name in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if name)


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
    counters: Tensor,
    counter_keys: tuple[str, ...],
    hp: dict,
    factors: tuple[Tensor, ...] | None,
    precision: Precision,
) -> None:
    """Run the rule on every tensor and write ``x`` and its state back in place.

    ``states`` hold the state tensors with elements; the 0-dim entries (the step
    counter) of tensor ``i`` are ``counters[i]``, one column per name in
    ``counter_keys``, and are written back as one block.  (Inductor in torch 2.13
    silently drops in-place writes to 0-dim CPU inputs, and one block is one loop
    instead of one tiny loop per tensor.)  ``factors`` (when the spec has them)
    hold the per-step scalars of every tensor, computed once outside the loops.
    """
    new_counters = []
    for index, (x, g, state) in enumerate(zip(xs, gs, states)):
        full = dict(state)
        for column, key in enumerate(counter_keys):
            full[key] = counters[index, column]
        extra = {} if factors is None else {"factors": tuple(f[index] for f in factors)}
        new_state = precision.step(spec, x, g, full, {**hp, **extra})
        for key, old in state.items():
            if key in new_state:
                old.copy_(new_state[key])
        # (.reshape(()): a rule's counter computed from a lifted 0-dim tensor has its (1,) shape)
        new_counters.append(torch.stack([new_state.get(key, full[key]).reshape(()) for key in counter_keys]))
    if counter_keys:
        counters.copy_(torch.stack(new_counters))


def _lifted(tensors: Sequence[Tensor], scalars: Sequence[int]) -> list[Tensor]:
    """``tensors`` with the 0-dim ones at ``scalars`` as 1-element views of themselves (writing one writes it)."""
    tensors = list(tensors)
    for index in scalars:
        tensors[index] = tensors[index].view(1)
    return tensors


class _Binding:
    """A chunk's counter block and its inputs as the graph takes them: every 0-dim tensor as a 1-element view."""

    def __init__(self, xs: Sequence[Tensor], states: Sequence[State], keys: tuple[str, ...]) -> None:
        self.block = CounterBlock(states, keys)
        self.scalars = tuple(index for index, x in enumerate(xs) if x.dim() == 0)  # gs[i] has xs[i]'s shape
        self.states = [{key: value.view(1) if value.dim() == 0 else value for key, value in state.items()}
                       for state in self.block.tensors]


def _counter_keys(states: Sequence[State], owned: Sequence[str]) -> tuple[str, ...] | None:
    """The names of the rule's (``owned``) 0-dim entries, if every state has the same entries (else ``None``).

    Entries the rule does not own (a wrapper's) are passed through untouched, never stacked into the block.
    """
    first = states[0]
    if any(state.keys() != first.keys() for state in states):
        return None
    keys = tuple(key for key, value in first.items() if key in owned and value.dim() == 0)
    if any(state[key].dim() != 0 for state in states for key in keys):
        return None
    return keys


class CompiledRule:
    """``spec.update`` compiled for in-place updates of lists of tensors."""

    def __init__(self, spec: AlgorithmSpec, precision: Precision | None = None) -> None:
        self.spec = spec
        self.precision = precision or Precision()
        # A code object of its own per algorithm, so each rule has its own compile cache.
        code = _apply_in_place.__code__.replace(co_name=f"fused_{spec.name}_step")
        function = type(_apply_in_place)(code, _apply_in_place.__globals__, code.co_name)
        # Dynamo's guards already check every input's size and stride: the generated code need not again.
        # emulate_precision_casts: a low-precision parameter's kept rounding error reads the rounded value back;
        # without it Inductor drops the float32 -> bfloat16 -> float32 round trip and the error is always 0.
        options = {"size_asserts": False, "emulate_precision_casts": True}
        self._compiled = torch.compile(function, dynamic=True, fullgraph=True, options=options)
        self.failure: str | None = None
        self._bindings: dict[Hashable, _Binding] = {}

    def __call__(
        self,
        xs: Sequence[Tensor],
        gs: Sequence[Tensor],
        states: Sequence[State],
        hp: Mapping[str, Any],
        site: Hashable = None,
    ) -> None:
        """Update every ``x`` and its state in place (by the plain rule once compiling has failed).

        ``site`` names where the tensors come from (a parameter group, say): a
        rule remembers one counter block per site and chunk, and replaces
        it, so bindings of states that were dropped are never kept alive.
        """
        inputs = {name: _as_graph_input(value) for name, value in hp.items()}
        for start in range(0, len(xs), CHUNK):
            chunk = slice(start, start + CHUNK)
            self._step_chunk(list(xs[chunk]), list(gs[chunk]), list(states[chunk]), hp, inputs, (site, start))

    def _step_chunk(
        self, xs: list[Tensor], gs: list[Tensor], states: list[State], hp: Mapping[str, Any], inputs: dict, place: Hashable
    ) -> None:
        binding = self._bindings.get(place)
        if binding is None or not binding.block.holds(states):
            keys = _counter_keys(states, self.spec.state_keys)
            if keys is None:  # states edited by hand into different kinds: one tensor at a time
                self._bindings.pop(place, None)
                for index, (x, g, state) in enumerate(zip(xs, gs, states)):
                    self._step_chunk([x], [g], [state], hp, inputs, (place, index))
                return
            binding = self._bindings[place] = _Binding(xs, states, keys)
        counters, keys = binding.block.counters, binding.block.keys
        factors = None
        if self.spec.factors is not None:  # one vectorized evaluation for the whole chunk
            factors = self.spec.factors({key: counters[:, column] for column, key in enumerate(keys)}, hp)
        if self.failure is None:
            try:
                ins = (_lifted(xs, binding.scalars), _lifted(gs, binding.scalars)) if binding.scalars else (xs, gs)
                self._compiled(self.spec, *ins, binding.states, counters, keys, inputs, factors, self.precision)
                return
            except Exception as error:  # compilation failed before anything was written
                self.failure = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        _apply_in_place(self.spec, xs, gs, binding.block.tensors, counters, keys, dict(hp), factors, self.precision)
