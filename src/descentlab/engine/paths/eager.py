"""The default path: the registry's rule on lists of cache-sized pieces, replayed in place or one foreach call per op.

First choice (:mod:`descentlab.engine.paths.inplace`): the rule, traced once per setting, is
replayed as in-place foreach calls (``m.lerp_``, ``v.addcmul_``, ``x.addcdiv_``):
by default the fused calls torch.optim's loops make (a few ulp from the plain
rule, the same passes over memory), with ``exact=True`` calls that round as the
rule's expression does (bit for bit).  The step counters of a group live in one
block (:mod:`descentlab.engine.paths.counters`) and a group's lists of views are kept between
steps (:class:`Replay`).  Parameters in low precision replay the plan of their
float32 working values (on the CPU, where the native loop may run: :func:`run_low`);
elsewhere they, and rules with an op the replay lacks, take the general route below.

The plain path calls ``spec.update`` per tensor, so a step pays one Python call
per op per tensor (slow for many small tensors) and one parameter-sized
temporary per op (slow for large tensors: every temporary is fresh memory).
Here the same function runs on :class:`TensorList` values: a list of tensors
whose arithmetic is one ``torch._foreach_*`` call over the whole list.

* The parameters are cut into pieces of at most :data:`PIECE` values (views of
  contiguous tensors; small tensors stay whole) and the pieces are taken in
  batches of about :data:`BATCH` values, so every temporary of a batch stays in
  the core's cache and the allocator reuses the same small blocks: a step's
  extra memory is a few batch-sized buffers, whatever the model's size.
* Every rule is elementwise, so a piece of ``x`` with the same pieces of ``g``
  and of the state gives the same numbers as the whole tensor.  The 0-dim state
  entries (the step counter) are shared by the pieces of a tensor and written
  back once, after the whole group.
* An op without a foreach form (``torch.maximum``, a comparison, ``.to``) runs
  item by item through ``__torch_function__``: any rule works, the common ops
  are fast.
* A spec's ``factors`` (Adam's per-step scalars) are evaluated once per group on
  the stacked step counters, as the compiled path does.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ...algorithms import AlgorithmSpec, State
from ..state.precision import COMPENSATION, Precision
from . import native
from .counters import CounterBlock
from .inplace import Plan, _One, plan_for, run_plan, varying_numbers

if TYPE_CHECKING:
    from torch import Tensor

PIECE = 1 << 18
"""Values per piece: a larger contiguous tensor is cut into views of this size."""
BATCH = 1 << 18
"""Values per batch of pieces: a batch's temporaries (a few MiB) stay in the cache instead of streaming to memory."""

REPLAY_PIECE = 1 << 22
"""Values per piece of the in-place replay: a larger contiguous tensor is cut into views of this size (only for a
plan with temporaries, whose size it bounds).  Large, because every call on every piece is one parallel region:
on 2 threads shared with other jobs each region can wait for a descheduled thread, and one 16M tensor cut into
2^20-value pieces made RMSProp's step 144 regions (0.5-0.65 s against 0.08 s for torch's 5); 2^22 (4 pieces)
kept it at torch's time under the same load, and 1-thread CPU time 10-20% above 2^19-value pieces."""
REPLAY_BATCH = 1 << 20
"""Values per batch of the in-place replay: tensors and pieces are taken together until a batch holds this many."""

Operand = Any  # a TensorList, a tensor, or a Python number


class TensorList:
    """A list of tensors that computes like one tensor: ``a * b + 1`` is a few foreach calls over all items."""

    __slots__ = ("items",)

    def __init__(self, items: Sequence[Tensor]) -> None:
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Tensor]:
        return iter(self.items)

    @property
    def dtype(self) -> torch.dtype:
        return self.items[0].dtype

    @property
    def device(self) -> torch.device:
        return self.items[0].device

    def dim(self) -> int:
        return self.items[0].dim()

    # -- arithmetic: one foreach call where torch has one, item by item otherwise --------------
    def _binary(self, other: Operand, foreach: Callable[..., list[Tensor]], plain: Callable[[Any, Any], Any]) -> TensorList:
        if isinstance(other, TensorList):
            return TensorList(foreach(self.items, other.items))
        if isinstance(other, numbers.Number) or (isinstance(other, torch.Tensor) and other.dim() == 0 and other.device == self.device):
            return TensorList(foreach(self.items, other))
        return TensorList([plain(a, other) for a in self.items])

    def __add__(self, other: Operand) -> TensorList:
        return self._binary(other, torch._foreach_add, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other: Operand) -> TensorList:
        return self._binary(other, torch._foreach_sub, lambda a, b: a - b)

    def __rsub__(self, other: Operand) -> TensorList:
        return (-self) + other  # b - a == (-a) + b exactly: negation is exact, one rounding either way

    def __mul__(self, other: Operand) -> TensorList:
        return self._binary(other, torch._foreach_mul, lambda a, b: a * b)

    __rmul__ = __mul__

    def __truediv__(self, other: Operand) -> TensorList:
        return self._binary(other, torch._foreach_div, lambda a, b: a / b)

    def __rtruediv__(self, other: Operand) -> TensorList:
        return TensorList([other / a for a in self.items])  # not reciprocal * other: that rounds twice

    def __neg__(self) -> TensorList:
        return TensorList(torch._foreach_neg(self.items))

    def __pow__(self, other: Operand) -> TensorList:
        return self._binary(other, torch._foreach_pow, lambda a, b: a**b)

    def __rpow__(self, other: Operand) -> TensorList:
        return TensorList([other**a for a in self.items])

    def sqrt(self) -> TensorList:
        return TensorList(torch._foreach_sqrt(self.items))

    def reciprocal(self) -> TensorList:
        return TensorList(torch._foreach_reciprocal(self.items))

    def abs(self) -> TensorList:
        return TensorList(torch._foreach_abs(self.items))

    def sign(self) -> TensorList:
        return TensorList(torch._foreach_sign(self.items))

    def to(self, *args: Any, **kwargs: Any) -> TensorList:
        dtype = args[0] if args and isinstance(args[0], torch.dtype) else kwargs.get("dtype")
        if dtype is not None and len(args) + len(kwargs) == 1 and all(t.dtype == dtype for t in self.items):
            return self  # as Tensor.to: no copy when nothing changes
        return TensorList([t.to(*args, **kwargs) for t in self.items])

    def float(self) -> TensorList:
        return self.to(torch.float32)

    def copy_(self, other: TensorList) -> TensorList:
        torch._foreach_copy_(self.items, other.items)
        return self

    def __getattr__(self, name: str) -> Callable[..., Any]:
        """Any other tensor method, item by item (``t.clamp(0)``, ``t.exp()``)."""
        method = getattr(torch.Tensor, name)
        return lambda *args, **kwargs: _gather([method(t, *_item(args, i), **_item(kwargs, i)) for i, t in enumerate(self.items)])

    @classmethod
    def __torch_function__(cls, func: Callable[..., Any], types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        """A torch function of TensorLists (``torch.maximum(a, b)``, ``torch.zeros_like(u)``), item by item."""
        kwargs = kwargs or {}
        count = next(len(a) for a in (*args, *kwargs.values()) if isinstance(a, TensorList))
        return _gather([func(*_item(args, i), **_item(kwargs, i)) for i in range(count)])

    # comparisons (a rule may build a mask from the step counter), item by item
    def __gt__(self, other: Operand) -> TensorList:
        return TensorList([a > b for a, b in zip(self.items, _spread(other, len(self)))])

    def __lt__(self, other: Operand) -> TensorList:
        return TensorList([a < b for a, b in zip(self.items, _spread(other, len(self)))])


def _spread(value: Operand, count: int) -> list[Any]:
    return value.items if isinstance(value, TensorList) else [value] * count


def _item(values: Any, index: int) -> Any:
    """The ``index``-th item of every TensorList in ``values`` (a tuple, list or dict of arguments)."""
    if isinstance(values, TensorList):
        return values.items[index]
    if isinstance(values, dict):
        return {k: _item(v, index) for k, v in values.items()}
    if isinstance(values, (tuple, list)):
        return type(values)(_item(v, index) for v in values)
    return values


def _gather(results: list[Any]) -> Any:
    return TensorList(results) if results and all(isinstance(r, torch.Tensor) for r in results) else results


def _pieces(x: Tensor, piece: int = PIECE) -> list[slice]:
    """How ``x`` (flattened) is cut: one slice for a small or non-contiguous tensor, else slices of ``piece`` values."""
    n = x.numel()
    if n <= piece or not x.is_contiguous():
        return [slice(None)]
    return [slice(start, min(start + piece, n)) for start in range(0, n, piece)]


def _view(t: Tensor, part: slice) -> Tensor:
    return t if part == slice(None) else t.view(-1)[part]


def step_in_batches(
    spec: AlgorithmSpec,
    xs: Sequence[Tensor],
    gs: Sequence[Tensor],
    states: Sequence[State],
    hp: dict[str, Any],
    precision: Precision | None = None,
    cache: dict[Hashable, Replay | None] | None = None,
    site: Hashable = None,
    exact: bool = False,
    torch_roots: bool = True,
) -> None:
    """One step of ``spec`` over every tensor: ``x`` and its state updated in place, batch by batch.

    ``precision`` (from the optimizer) turns stored values into working values and
    back, the same way on every path (for low-precision parameters: float32
    arithmetic and compensated rounding); without it ``x`` and ``g`` are used as
    they are.  All of ``xs`` share one device and dtype.  ``cache`` (the caller's,
    kept between steps) holds one :class:`Replay` per ``site`` (a parameter group,
    say): reused while the parameters and their state entries stay the same tensors.
    ``exact=True`` replays the rule with its own roundings (bit for bit the plain
    rule); the default takes fused multiply-adds where torch.optim's loops do
    (:mod:`descentlab.engine.paths.inplace`), a few ulp from the plain rule.
    """
    precision = precision or Precision()
    varying = varying_numbers(cache.setdefault(("numbers", site), {}), hp) if cache is not None else frozenset()
    plan = _plan(spec, xs, states, hp, precision, exact, varying)
    if plan is not None:
        replay = cache.get(site) if cache is not None else None
        if replay is None or not replay.holds(plan, xs, states):
            replay = Replay(plan, xs, states) if _replayable(plan, xs, states) else None
            if cache is not None:
                cache[site] = replay
        if replay is not None:
            replay.step(plan, gs, hp, torch_roots)
            return
    # the 0-dim entries of every state (the step counter): shared by a tensor's pieces, written back at the end
    counter_keys = [key for key in states[0] if all(key in s and s[key].dim() == 0 for s in states)] if states else []
    factors = None
    if spec.factors is not None and counter_keys:
        work_dtype = precision.work_dtype(xs[0])
        stacked = {key: torch.stack([s[key] for s in states]) for key in counter_keys}
        factors = [f.to(work_dtype).unbind() for f in spec.factors(stacked, hp)]  # the rule's casts are then no-ops
    out = _Written()
    for batch in _batches(xs):
        _run(spec, batch, xs, gs, states, hp, factors, counter_keys, out, precision)
    for (index, key), value in out.counters.items():
        if key in states[index]:
            states[index][key].copy_(value)
        else:
            states[index][key] = value
    for (index, key), value in out.extras.items():
        states[index][key] = value


def _batches(xs: Sequence[Tensor]) -> Iterator[list[tuple[int, slice]]]:
    """The pieces of ``xs`` as (tensor index, slice), in batches of about :data:`BATCH` values."""
    batch: list[tuple[int, slice]] = []
    size = 0
    for index, x in enumerate(xs):
        for part in _pieces(x):
            batch.append((index, part))
            size += x.numel() if part == slice(None) else part.stop - part.start
            if size >= BATCH:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


def _plan(spec: AlgorithmSpec, xs: Sequence[Tensor], states: Sequence[State], hp: dict[str, Any],
          precision: Precision, exact: bool, varying: frozenset[str] = frozenset()) -> Plan | None:
    """The rule's in-place plan (:mod:`descentlab.engine.paths.inplace`) for these tensors, else ``None``.

    The plan is traced on the first tensor with dimensions (a 0-dim parameter's
    state entries are 0-dim too, not counters).  When every tensor is 0-dim, the
    rule's fresh state of a 1-element tensor says which entries are counters, and
    the plan is traced on 1-element views (the replay runs on the 0-dim tensors).  Numbers named in ``varying``
    (a scheduler's) are read at every step, if the rule allows (else they are part of the plan's key).
    """
    if not states:
        return None
    if precision.is_low(xs[0].dtype):
        # a 16-bit parameter: the plan of its float32 working values, run by the native loop (which widens and
        # rounds as Precision does); where that loop cannot run, the rule runs on the working values as before
        if xs[0].device.type != "cpu" or not native.enabled() or all(x.dim() == 0 for x in xs):
            return None
        exact, work = True, torch.float32  # (the rule's own roundings: the same bits as the plain path's)
    else:
        work = None
    if varying:
        plan = _traced(spec, xs, states, hp, exact, varying, work)
        if plan is not None:
            # used only if it makes the very calls the plan of these numbers makes (a number read at every step can
            # change which call fuses, e.g. a square's coefficient: then each value is traced, as before)
            same = plan.__dict__.get("_same_calls")
            if same is None:
                fixed = _traced(spec, xs, states, hp, exact, frozenset(), work)
                same = plan.__dict__["_same_calls"] = fixed is not None and _calls(plan) == _calls(fixed)
            if same:
                return plan
    return _traced(spec, xs, states, hp, exact, frozenset(), work)


def _calls(plan: Plan) -> tuple:
    """A plan's calls with their scalars (numbers or per-tensor values) left out."""
    def kind(value: Any) -> Any:
        if isinstance(value, str) or value is None:
            return value
        return "one" if isinstance(value, _One) else "scalar"

    return tuple((name, target, source, tuple(map(kind, args)), kind(alpha))
                 for name, target, source, args, alpha in (instruction.call for instruction in plan.program))


def _traced(spec: AlgorithmSpec, xs: Sequence[Tensor], states: Sequence[State], hp: dict[str, Any], exact: bool,
            varying: frozenset[str], work: torch.dtype | None = None) -> Plan | None:
    """The plan traced on a tensor like ``xs``'s first with dimensions (``work``: in that dtype, a 16-bit
    parameter's working dtype)."""
    model = next((i for i, x in enumerate(xs) if x.dim() > 0), None)
    if model is not None:
        like = xs[model] if work is None else torch.empty(1, dtype=work, device=xs[model].device)
        return plan_for(spec, hp, like, states[model], fma=not exact, varying=varying)
    if work is not None:
        return None
    x = xs[0].reshape(1)
    example = spec.init(x, hp)
    if example.keys() != states[0].keys():
        return None
    state = {key: value.reshape(1) if example[key].dim() > 0 else value for key, value in states[0].items()}
    return plan_for(spec, hp, x, state, fma=not exact, varying=varying)


def _replayable(plan: Plan, xs: Sequence[Tensor], states: Sequence[State]) -> bool:
    """Whether every state has the same entries and the plan's counters are 0-dim in all of them, of one dtype and
    device (so that they share one block)."""
    keys = states[0].keys()
    if any(s.keys() != keys for s in states):
        return False
    if not plan.counter_keys:
        return True
    first = states[0][plan.counter_keys[0]]
    return all(state[key].dim() == 0 and state[key].dtype == first.dtype and state[key].device == first.device
               for state in states for key in plan.counter_keys)


class Replay:
    """A group's in-place replay, kept between steps: its counter block and every batch's lists of views.

    The step counters of all tensors live in one :class:`CounterBlock` (so a step
    does one counter update per group, not one per tensor; ``state["step"]`` stays
    a 0-dim tensor, a view of the block), and the pieces of :data:`REPLAY_PIECE`
    values, their batches and per-batch lists are built once.  :meth:`holds` says
    whether the parameters and every state entry are still the very tensors
    they were built from (checked by identity, as the compiled path does) and a
    plan reads and writes the same entries; the plan itself (which depends on the
    hyperparameters' values) is the caller's at every step.
    """

    def __init__(self, plan: Plan, xs: Sequence[Tensor], states: Sequence[State]) -> None:
        self.counter_keys = tuple(plan.counter_keys)
        self.full_keys = tuple(plan.full_keys)
        self.block = CounterBlock(states, self.counter_keys)
        self.columns = {key: self.block.column(key) for key in self.counter_keys}
        self.xs = list(xs)
        self.dtype = xs[0].dtype
        keys = [key for key in self.full_keys if key not in ("x", "g")]
        # a 16-bit parameter: the plan runs on float32 working values (Precision's), and its rounding error is kept
        self.low = Precision.is_low(self.dtype)
        if self.low and COMPENSATION in states[0]:
            keys.append(COMPENSATION)
        # a plan without temporaries gains nothing from cutting a tensor (no temporary to keep in the cache): its
        # tensors stay whole, as in torch's loops; batches still bound what the calls of a batch share in the cache
        # (a 16-bit parameter's replay makes float32 copies of x and g: always cut)
        self.pieced = plan.temporaries > 0 or self.low
        piece = REPLAY_PIECE if self.pieced else None
        self.parts = [_pieces(x, piece) if piece else [slice(None)] for x in xs]
        self.cut = any(parts != [slice(None)] for parts in self.parts)
        lists: dict[str, list[Tensor]] = {name: [] for name in ("x", *keys)}
        owner, sizes = [], []
        for index, (x, parts) in enumerate(zip(xs, self.parts)):
            for name, tensors in lists.items():
                t = x if name == "x" else states[index][name]
                tensors.extend([t] if parts == [slice(None)] else [_view(t, part) for part in parts])
            owner.extend([index] * len(parts))
            sizes.extend([x.numel()] if parts == [slice(None)] else [part.stop - part.start for part in parts])
        # the native kernel (paths/native.py) takes whole contiguous CPU tensors of float32/float64
        self.whole = {"x": self.xs, **{key: [state[key] for state in states] for key in keys}}
        self.native = (xs[0].device.type == "cpu"
                       and self.dtype in (torch.float32, torch.float64, torch.bfloat16, torch.float16)
                       and all(t.is_contiguous() and t.numel() == x.numel()
                               for tensors in self.whole.values() for t, x in zip(tensors, xs)))
        self.tables = native.Tables()  # the native kernel's tables of addresses, kept between steps
        self.batches: list[tuple[int, int, dict[str, list[Tensor]], list[int]]] = []
        start = size = 0
        for end, piece_size in enumerate(sizes, start=1):
            size += piece_size
            if size >= REPLAY_BATCH or end == len(sizes):
                self.batches.append((start, end, {name: t[start:end] for name, t in lists.items()}, owner[start:end]))
                start, size = end, 0

    def holds(self, plan: Plan, xs: Sequence[Tensor], states: Sequence[State]) -> bool:
        """Whether ``plan`` can run on this replay of these very tensors (and their state entries)."""
        return (tuple(plan.counter_keys) == self.counter_keys and tuple(plan.full_keys) == self.full_keys
                and (plan.temporaries > 0 or self.low) == self.pieced
                and len(xs) == len(self.xs) and all(map(operator.is_, xs, self.xs)) and xs[0].dtype == self.dtype
                and self.block.holds(states))

    def step(self, plan: Plan, gs: Sequence[Tensor], hp: dict[str, Any], torch_roots: bool = True) -> None:
        """One step by ``plan``: the counters once for all tensors, then the foreach calls batch by batch."""
        scalars = plan.advance(self.columns, hp)
        if self.native and self._native_step(plan, gs, scalars, torch_roots):
            return
        if self.cut:
            g = [piece for grad, parts in zip(gs, self.parts)
                 for piece in ([grad] if parts == [slice(None)] else [grad.reshape(-1)[part] for part in parts])]
        else:
            g = list(gs)
        run = run_low if self.low else run_plan
        for start, end, lists, owner in self.batches:
            env = {**lists, "g": g[start:end]}
            run(plan, env, [v if not isinstance(v, list) else [v[i] for i in owner] for v in scalars])


    def _native_step(self, plan: Plan, gs: Sequence[Tensor], scalars: list, torch_roots: bool) -> bool:
        """The step by the plan's native kernel (:mod:`descentlab.engine.paths.native`), if it has one that runs here."""
        kernel = native.kernel_for(plan, self.dtype, torch_roots=torch_roots or not plan.fma,
                                   compensated=COMPENSATION in self.whole)
        if kernel is None:
            return False
        if not (all(map(torch.Tensor.is_contiguous, gs)) and all(map(torch.Tensor.is_contiguous, self.xs))):
            return False  # (a non-contiguous gradient, or a parameter given new data by ``p.data = ...``)
        tensors = {**self.whole, "g": list(gs)}
        if not kernel.checked:
            if not native.agrees_with_replay(kernel, plan, run_low if self.low else run_plan, tensors, scalars):
                native.refuse(plan, kernel, f"its {self.dtype} results differ from the replay's on this machine")
                return False
            kernel.checked = True
        kernel(tensors, scalars, len(self.xs), tables=self.tables)
        return True


def run_low(plan: Plan, env: dict[str, list], scalars: list) -> None:
    """:func:`run_plan` for 16-bit parameters, as :class:`Precision` steps them: the plan on float32 working values
    (``x`` plus its kept rounding error, ``g`` widened), then ``x`` rounded back and the new rounding error kept."""
    xs, kept = env["x"], env.get(COMPENSATION)
    x32 = [x.float() for x in xs]
    if kept is not None:
        torch._foreach_add_(x32, [c.float() for c in kept])
    work = {name: value for name, value in env.items() if name != COMPENSATION}
    work.update(x=x32, g=[g.float() for g in env["g"]])
    run_plan(plan, work, scalars)
    torch._foreach_copy_(xs, work["x"])
    if kept is not None:
        torch._foreach_copy_(kept, torch._foreach_sub(work["x"], [x.float() for x in xs]))


class _Written:
    """What a step writes only after all batches: 0-dim entries (shared by a tensor's pieces) and new entries."""

    def __init__(self) -> None:
        self.counters: dict[tuple[int, str], Tensor] = {}
        self.extras: dict[tuple[int, str], Tensor] = {}


def _run(
    spec: AlgorithmSpec,
    batch: list[tuple[int, slice]],
    xs: Sequence[Tensor],
    gs: Sequence[Tensor],
    states: Sequence[State],
    hp: dict[str, Any],
    factors: list[tuple[Tensor, ...]] | None,
    counter_keys: list[str],
    out: _Written,
    precision: Precision,
) -> None:
    """The rule on one batch of pieces, written back into the pieces' views."""
    keys = [key for key in states[batch[0][0]] if key not in counter_keys]
    if any([k for k in states[i] if k not in counter_keys] != keys for i, _ in batch):
        for item in batch:  # states of different kinds: one piece at a time
            _run(spec, [item], xs, gs, states, hp, factors, counter_keys, out, precision)
        return
    x = TensorList([_view(xs[i], part) for i, part in batch])
    g = TensorList([_view(gs[i], part) for i, part in batch])
    state = {key: TensorList([_view(states[i][key], part) for i, part in batch]) for key in keys}
    for key in counter_keys:
        state[key] = TensorList([states[i][key] for i, _ in batch])
    extra = {} if factors is None else {"factors": tuple(TensorList([f[i] for i, _ in batch]) for f in factors)}
    new_state = precision.step(spec, x, g, state, {**hp, **extra})
    for key, value in new_state.items():
        if key in counter_keys:
            for (i, _), item in zip(batch, value.items):
                out.counters[(i, key)] = item
        elif key in state:
            torch._foreach_copy_(state[key].items, value.items)
        else:  # a new entry (e.g. a momentum buffer switched on mid-run): assemble the whole tensor
            for (i, part), item in zip(batch, value.items):
                whole = out.extras.setdefault((i, key), torch.empty_like(xs[i], dtype=item.dtype))
                _view(whole, part).copy_(item.reshape(-1) if part != slice(None) else item)


__all__ = ["BATCH", "PIECE", "REPLAY_PIECE", "Replay", "TensorList", "step_in_batches"]
