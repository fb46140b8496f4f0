"""The registry rule replayed in place: traced once, its elementwise ops mapped onto torch's in-place foreach kernels.

The eager path (:mod:`descentlab.engine.paths.eager`) evaluates the pure rule on lists of
tensors, so every ``a * b + c`` of the rule is a new list of temporaries and the
results are copied back into the parameters and the state.  torch.optim's own
loops need fewer passes over memory because they are written by hand with fused
in-place kernels (``m.mul_(beta).add_(g, alpha=lr)``, ``v.addcmul_(g, g, value=c)``,
``x.addcdiv_(m, d, value=-step)``).  This module derives such a program from the
rule itself, so no formula is written twice:

1. **Trace**: ``spec.update`` runs once on :class:`Sym` values that record every
   op.  Hyperparameters are plain numbers, so the rule's Python branches are
   taken as for a real step; a trace is kept per (rule, hyperparameters, dtype,
   state layout).  A rule that needs a traced value's truth (``if t > 1``) or an
   op outside the supported set raises :class:`Unsupported`, and the caller
   evaluates the rule as before.
2. **Plan**: ops on the 0-dim state entries (the step counter and what is
   derived from it, such as Adam's ``lr / (1 - beta1^t)``) are evaluated on all
   tensors' counters stacked.  Each parameter-shaped result (the new ``x`` and
   each new state entry) is computed in place into its own buffer, starting from
   the operand that already lives there: ``beta * m + c * g`` into ``m`` is
   ``m.mul_(beta)`` then ``m.addcmul_(g, 1, value=c)``.  Intermediates used twice
   get one temporary, and results are ordered so that no buffer is overwritten
   while its old value is still to be read.
3. **Replay**: the plan is a short list of ``torch._foreach_*`` calls, run on
   each batch of pieces.

Two kinds of plan (``fma``):

* **exact** (``fma=False``): every call rounds exactly as the rule's expression
  does (no fused multiply-add where the rule rounds twice), so the replay equals
  the plain rule bit for bit.
* **fused** (``fma=True``, the default path's): the calls torch.optim's own loops
  make, derived from the same trace: ``a + c * b`` is ``add_(b, alpha=c)``, a
  square added with a positive coefficient (``v + c * g * g``) is ``addcmul_``,
  ``a ± c * b / d`` is ``addcdiv_`` and ``beta * m + (1 - beta) * g`` into ``m`` is
  ``lerp_``.  They round once where the rule rounds twice, so the result is a few
  ulp from the plain rule, with the passes over memory of torch's loops (Adam 7
  calls instead of 11, AdaGrad 4 instead of 6).  A sum of a value and a product
  fuses the product (``g + wd * x`` is ``g.add(x, alpha=wd)``), and centered
  RMSProp's ``s - a * a`` is ``addcmul_(a, a, value=-1)``, as torch's loops compute
  them: in float32 the result is bit for bit torch.optim's for-loop and foreach.

Tensor hyperparameters (a 0-dim ``lr``, as torch.optim takes it) are traced as
scalar leaves whose value is read at every step, so one plan serves every value.
"""

from __future__ import annotations

import ctypes
import functools
import numbers
import operator
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import torch

from .mkl import double_roots

if TYPE_CHECKING:
    from torch import Tensor

AlgorithmSpec = Any  # descentlab.algorithms.AlgorithmSpec (a lower layer cannot import it: it sits beside it)
State = dict  # a tensor's state: str -> Tensor


class Unsupported(Exception):
    """The rule cannot be replayed in place (the caller evaluates it directly)."""


# ------------------------------------------------------------------------------------------------
# 1. trace
# ------------------------------------------------------------------------------------------------

_EVAL: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "neg": operator.neg,
    "gt": operator.gt, "lt": operator.lt, "ge": operator.ge, "le": operator.le,
    "sqrt": torch.sqrt, "reciprocal": torch.reciprocal, "abs": torch.abs, "sign": torch.sign,
    "maximum": torch.maximum, "minimum": torch.minimum,
    "to": lambda t, dtype: t.to(dtype),
}
_TORCH_FUNCTIONS = {torch.sqrt: "sqrt", torch.reciprocal: "reciprocal", torch.abs: "abs", torch.sign: "sign",
                    torch.maximum: "maximum", torch.minimum: "minimum", torch.neg: "neg"}


class Sym:
    """A traced value: parameter-shaped (``full``) or a tensor's 0-dim state entry (a counter), with an example.

    The example (a 1-element or 0-dim tensor) is computed along, so dtypes follow
    torch's promotion rules exactly.
    """

    __slots__ = ("op", "args", "full", "example", "leaf")

    def __init__(self, op: str, args: tuple, full: bool, example: Tensor, leaf: str | None = None) -> None:
        self.op, self.args, self.full, self.example, self.leaf = op, args, full, example, leaf

    @property
    def dtype(self) -> torch.dtype:
        return self.example.dtype

    @property
    def device(self) -> torch.device:
        return self.example.device

    def dim(self) -> int:
        return 1 if self.full else 0

    def __bool__(self) -> bool:
        raise Unsupported("the rule branches on a traced value")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise Unsupported(f"Tensor.{name} is not replayed in place")

    __add__ = lambda self, other: _record("add", self, other)  # noqa: E731
    __radd__ = lambda self, other: _record("add", other, self)  # noqa: E731
    __sub__ = lambda self, other: _record("sub", self, other)  # noqa: E731
    __rsub__ = lambda self, other: _record("sub", other, self)  # noqa: E731
    __mul__ = lambda self, other: _record("mul", self, other)  # noqa: E731
    __rmul__ = lambda self, other: _record("mul", other, self)  # noqa: E731
    __truediv__ = lambda self, other: _record("div", self, other)  # noqa: E731
    __rtruediv__ = lambda self, other: _record("div", other, self)  # noqa: E731
    __pow__ = lambda self, other: _record("pow", self, other)  # noqa: E731
    __rpow__ = lambda self, other: _record("pow", other, self)  # noqa: E731
    __neg__ = lambda self: _record("neg", self)  # noqa: E731
    __gt__ = lambda self, other: _record("gt", self, other)  # noqa: E731
    __lt__ = lambda self, other: _record("lt", self, other)  # noqa: E731
    __ge__ = lambda self, other: _record("ge", self, other)  # noqa: E731
    __le__ = lambda self, other: _record("le", self, other)  # noqa: E731
    sqrt = lambda self: _record("sqrt", self)  # noqa: E731
    reciprocal = lambda self: _record("reciprocal", self)  # noqa: E731
    abs = lambda self: _record("abs", self)  # noqa: E731
    sign = lambda self: _record("sign", self)  # noqa: E731
    __hash__ = object.__hash__

    def to(self, *args: Any, **kwargs: Any) -> Sym:
        if len(args) == 1 and not kwargs:
            dtype = args[0]
        else:
            dtype = kwargs["dtype"] if not args and list(kwargs) == ["dtype"] else None
        if not isinstance(dtype, torch.dtype):
            raise Unsupported(f"Tensor.to{args or tuple(kwargs)} is not a dtype cast")
        if dtype == self.dtype:
            return self
        if self.full:
            raise Unsupported("a cast of a parameter-shaped value")
        return _record("to", self, dtype)

    def float(self) -> Sym:
        return self.to(torch.float32)

    @classmethod
    def __torch_function__(cls, func: Callable[..., Any], types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        name = _TORCH_FUNCTIONS.get(func)
        if name is None or kwargs:
            raise Unsupported(f"{getattr(func, '__name__', func)} is not replayed in place")
        return _record(name, *args)


def _record(op: str, *args: Any) -> Sym:
    for a in args:
        if not isinstance(a, (Sym, numbers.Number, torch.dtype)):
            raise Unsupported(f"an operand of type {type(a).__name__}")
    example = _EVAL[op](*[a.example if isinstance(a, Sym) else a for a in args])
    return Sym(op, args, any(isinstance(a, Sym) and a.full for a in args), example)


def _is_scalar(value: Any) -> bool:
    return not (isinstance(value, Sym) and value.full)


# ------------------------------------------------------------------------------------------------
# 2. plan
# ------------------------------------------------------------------------------------------------

Coefficient = tuple  # a product of factors: numbers and counter Syms


class Plan:
    """What one step does: counter ops on stacked counters, then foreach calls per batch of pieces."""

    def __init__(self, spec: AlgorithmSpec, hp: dict[str, Any], x: Tensor, state: State, fma: bool = False,
                 varying: frozenset[str] = frozenset()) -> None:
        self.fma = fma
        self.varying = varying
        leaves = {"x": Sym("leaf", (), True, torch.zeros(1, dtype=x.dtype), "x"),
                  "g": Sym("leaf", (), True, torch.zeros(1, dtype=x.dtype), "g")}
        traced_state = {}
        owned = getattr(spec, "state_keys", None)
        for key, value in state.items():
            if owned is not None and key not in owned:  # a wrapper's entry (timm Lookahead's): never the rule's
                continue
            full = value.dim() > 0
            if full and value.dtype != x.dtype:
                raise Unsupported(f"state {key!r} is {value.dtype}, the parameter {x.dtype}")
            traced_state[key] = leaves[key] = Sym(
                "leaf", (), full, torch.zeros(1 if full else (), dtype=value.dtype), key)
        # a tensor hyperparameter (lr as a 0-dim tensor, as torch.optim takes it) is a scalar leaf: its value is read
        # at every step, so one plan serves every value (a scheduler changing it in place never traces again)
        self.hp_leaves: dict[str, tuple[str, int | None]] = {}
        traced_hp = {name: self._hp_leaf(name, value) for name, value in hp.items()}
        new_x, new_state = spec.update(leaves["x"], leaves["g"], traced_state, **traced_hp)
        if set(new_state) - set(state):
            raise Unsupported("the rule adds a state entry")
        outputs = {"x": new_x, **new_state}
        for key, value in outputs.items():
            if not isinstance(value, Sym) or value.full != leaves[key].full or value.dtype != leaves[key].dtype:
                raise Unsupported(f"the rule's new {key!r} is not like the old one")
        self.counter_keys = [k for k, s in traced_state.items() if not s.full]
        self.counter_outputs = {k: v for k, v in outputs.items() if not v.full and v is not leaves[k]}
        self.full_outputs = {k: v for k, v in outputs.items() if v.full and v is not leaves[k]}
        self.full_keys = [k for k, s in leaves.items() if s.full]
        self.scalars: list[Any] = []  # counter Syms and coefficients whose per-tensor values a step needs
        self._scalar_index: dict[Any, int] = {}
        self._temps = 0
        self.program: list[Callable[[dict[str, list], list], None]] = []
        self._schedule(leaves)

    @property
    def temporaries(self) -> int:
        """How many parameter-shaped temporaries a step makes (per batch of pieces)."""
        return self._temps

    def _hp_leaf(self, name: str, value: Any, index: int | None = None) -> Any:
        if isinstance(value, tuple) and index is None:
            return tuple(self._hp_leaf(name, v, i) for i, v in enumerate(value))
        leaf = f"{name}[{index}]" if index is not None else name
        if isinstance(value, torch.Tensor):
            dtype = value.dtype
        elif (name in self.varying or leaf in self.varying) and _is_real(value):
            dtype = torch.float64  # a number a scheduler changes (a whole one, or one of a tuple): read at every step
        else:
            return value
        self.hp_leaves[leaf] = (name, index)
        return Sym("leaf", (), False, torch.zeros((), dtype=dtype), leaf)

    # -- reading the graph ---------------------------------------------------------------------
    def _uses(self) -> dict[Sym, int]:
        uses: dict[Sym, int] = {}
        seen: set[Sym] = set()

        def walk(node: Sym) -> None:
            if node in seen:
                return
            seen.add(node)
            for a in node.args:
                if isinstance(a, Sym) and a.full:
                    uses[a] = uses.get(a, 0) + 1
                    walk(a)

        for node in self.full_outputs.values():
            uses[node] = uses.get(node, 0) + 1
            walk(node)
        return uses

    def _reads(self, node: Sym, top: bool = True) -> tuple[set[Sym], set[str]]:
        """The slots and leaves that computing ``node`` reads."""
        if not top and node in self._slots:
            return {node}, set()
        if node.leaf is not None:
            return set(), {node.leaf}
        slots, leaves = set(), set()
        for a in node.args:
            if isinstance(a, Sym) and a.full:
                s, l = self._reads(a, False)
                slots |= s
                leaves |= l
        return slots, leaves

    # -- ordering ------------------------------------------------------------------------------
    def _schedule(self, leaves: dict[str, Sym]) -> None:
        uses = self._uses()
        self._slots: set[Sym] = {n for n, k in uses.items() if k > 1 and n.leaf is None} | set(self.full_outputs.values())
        dest: dict[Sym, str] = {}
        for key, node in self.full_outputs.items():
            if node in dest:
                raise Unsupported("one value is two results")
            dest[node] = key
        pending = set(self._slots)
        reads = {n: self._reads(n) for n in pending}
        self._location: dict[Sym, str] = {}
        deferred: list[tuple[str, str]] = []
        order: list[tuple[Sym, str]] = []
        while pending:
            ready = [n for n in pending if not (reads[n][0] & pending - {n})
                     and not (n in dest and any(dest[n] in reads[m][1] for m in pending if m is not n))]
            if ready:
                node = min(ready, key=lambda n: (n not in dest, dest.get(n, "")))  # a deterministic order
                target = dest.get(node) or self._temp()
            else:  # a cycle: one result goes to a temporary, copied into its buffer at the end
                node = min((n for n in pending if n in dest), key=lambda n: dest[n])
                target = self._temp()
                deferred.append((dest.pop(node), target))
            order.append((node, target))
            pending.discard(node)
        for node, target in order:
            self._emit(node, target, top=True)
            self._location[node] = target
        for key, target in deferred:
            self.program.append(_copy(key, target))

    def _temp(self) -> str:
        self._temps += 1
        return f"~{self._temps}"

    # -- emitting foreach calls ----------------------------------------------------------------
    def _coefficient(self, factors: Coefficient) -> Any:
        """A number, or the index of a per-tensor scalar (computed by the step from the stacked counters).

        Either way the factors are multiplied in their order, in Python floats, so a
        tensor hyperparameter gives the same coefficient as the same number would.
        """
        if not any(isinstance(f, Sym) for f in factors):
            return functools.reduce(operator.mul, factors, 1)
        if factors not in self._scalar_index:
            self._scalar_index[factors] = len(self.scalars)
            self.scalars.append(factors)
        return _PerTensor(self._scalar_index[factors])

    def _readable(self, node: Sym, forbidden: str | None) -> str:
        """A location holding ``node``'s value, computing it into a temporary if needed.

        ``forbidden`` is the buffer being written: its old value is copied out first.
        """
        if node.leaf is not None and node.leaf != forbidden:
            return node.leaf
        if node in self._location:
            return self._location[node]
        target = self._temp()
        if node.leaf is not None:
            self.program.append(_call("mul", target, node.leaf, (1,)))  # a copy (x * 1 is x exactly)
        else:
            self._emit(node, target)
        return target

    def _apply(self, target: str, operand: Sym, name: str, args: tuple, alpha: Any = None) -> None:
        """``target <- foreach_<name>(operand, *args)``: one new list when ``target`` is a temporary and
        ``operand`` is already stored, else ``operand`` computed into ``target`` and the op applied in place."""
        if not self._is_buffer(target) and self._stored(operand):
            self.program.append(_call(name, target, self._readable(operand, None), args, alpha))
        else:
            self._emit(operand, target)
            self.program.append(_call(name, target, None, args, alpha))

    def _emit(self, node: Sym, target: str, top: bool = False) -> None:
        """Append the calls that leave ``node``'s value in ``target`` (a buffer key or a new temporary).

        Exact plans round as the rule's expression does, so the result is the plain
        rule's bit for bit: ``a + c * b`` becomes ``addcmul_(a, b, 1, value=c)`` (``c * b``
        rounded, then the sum) and ``a ± b / d`` becomes ``addcdiv_(a, b, d, value=±1)``;
        a product of two tensors is never fused into a sum (``addcmul_`` with two
        tensors is a fused multiply-add on CPU: one rounding where the rule has two).
        Plans with ``fma`` take the fused calls torch.optim's own loops use:
        ``a + c * b`` is ``add_(b, alpha=c)``, ``a + c * b * e`` is ``addcmul_(b, e, value=c)``
        and ``a + c * b / d`` (or ``(c * b) / d``) is ``addcdiv_(b, d, value=c)``.
        """
        if not top and node.leaf == target:
            return
        if not top and self._stored(node):
            source = self._readable(node, None)
            self.program.append(_copy(target, source) if self._is_buffer(target) else _call("mul", target, source, (1,)))
            return
        op, args = node.op, node.args
        if op in ("add", "sub"):
            first, second = args
            sign = 1 if op == "add" else -1
            if _is_scalar(first):  # s + B, s - B
                if sign > 0:
                    self._apply(target, second, "add", (self._coefficient((first,)),))
                    return
                self._emit(second, target)
                self.program.append(_call("neg", target, None, ()))
                self.program.append(_call("add", target, None, (self._coefficient((first,)),)))
                return
            if _is_scalar(second):
                self._apply(target, first, "add", (self._coefficient((sign, second)),))
                return
            if op == "add" and self._swapped(first, second, target):
                first, second = second, first
            lerp = self._lerp(first, second, sign, target)
            if lerp is not None:  # a * T + (1 - a) * B into T's own buffer: T.lerp_(B, 1 - a), one pass
                end, weight = lerp
                self.program.append(_call("lerp", target, None, (self._readable(end, target), weight)))
                return
            kind, operands, factors = self._addend(second, sign)
            where = [self._readable(o, target) for o in operands]  # read before the target is written
            coefficient = self._coefficient(factors)
            if kind == "scaled" and coefficient in (1, -1) and not isinstance(coefficient, _PerTensor):
                kind = "value"
            if kind == "value":
                self._apply(target, first, "add" if coefficient == 1 else "sub", (where[0],))
            elif kind == "scaled" and self.fma:
                self._apply(target, first, "add", (where[0],), alpha=coefficient)  # a fused multiply-add
            elif kind == "scaled":
                self._apply(target, first, "addcmul", (where[0], _ONE, coefficient))  # c * b rounded, then the sum
            elif kind == "product":
                self._apply(target, first, "addcmul", (where[0], where[1], coefficient))
            else:  # a quotient
                self._apply(target, first, "addcdiv", (where[0], where[1], coefficient))
            return
        if op == "neg":
            self._apply(target, args[0], "neg", ())
            return
        if op in ("sqrt", "reciprocal", "abs", "sign"):
            self._apply(target, args[0], op, ())
            return
        if op in ("mul", "div", "maximum", "minimum", "pow"):
            first, second = args
            if op in ("mul", "maximum", "minimum") and (
                _is_scalar(first) or (not _is_scalar(second) and self._score(second, target) > self._score(first, target))
            ):
                first, second = second, first
            if _is_scalar(first):
                raise Unsupported(f"{op} of a scalar by a parameter-shaped value")
            if _is_scalar(second):
                self._apply(target, first, op, (self._coefficient((second,)),))
                return
            other = self._readable(second, target)
            self._apply(target, first, op, (other,))
            return
        raise Unsupported(f"{op} on parameter-shaped values")

    def _swapped(self, first: Sym, second: Sym, target: str) -> bool:
        """Whether ``first + second`` is better computed as ``second + first`` into ``target``.

        The operand that holds the target buffer's old value goes first (it is updated in
        place).  Otherwise an ``fma`` plan keeps a product (``c * b``, ``b * e``, ``b / d``)
        as the addend, fused into the sum, as torch.optim's loops do (``g.add(x, alpha=wd)``,
        ``g.add(buf, alpha=momentum)``: one rounding), rather than rounding it on its own first.
        """
        first_score, second_score = self._score(first, target), self._score(second, target)
        if self.fma and max(first_score, second_score) < 2:
            first_fused, second_fused = self._fusable(first), self._fusable(second)
            if first_fused != second_fused:
                return first_fused
        return second_score > first_score

    def _fusable(self, node: Sym) -> bool:
        """Whether ``node`` as an addend is one fused call's product (not a plain value or ``±1 * b``)."""
        kind, _, factors = self._addend(node, 1)
        if kind == "value":
            return False
        if kind == "scaled" and not any(isinstance(f, Sym) for f in factors):
            return functools.reduce(operator.mul, factors, 1) not in (1, -1)
        return True

    def _addend(self, node: Sym, sign: int) -> tuple[str, tuple[Sym, ...], Coefficient]:
        """What ``target + sign * node`` adds, as one in-place call: ``value`` (``± b``), ``scaled`` (``c * b``),
        ``quotient`` (``c * b / d``; ``c = ±1`` unless ``fma``) or ``product`` (``c * b * e``, ``fma`` only)."""
        if self._stored(node):
            return "value", (node,), (sign,)
        op, args = node.op, node.args
        if op == "neg":
            return self._addend(args[0], -sign)
        if op == "mul" and (_is_scalar(args[0]) or _is_scalar(args[1])):
            scale, inner = (args[0], args[1]) if _is_scalar(args[0]) else (args[1], args[0])
            if self.fma and not self._stored(inner) and inner.op in ("div", "mul") and not _is_scalar(inner.args[1]) \
                    and not _is_scalar(inner.args[0]):
                kind, operands, factors = self._addend(inner, sign)  # c * (b / d), c * (b * e)
                if kind in ("quotient", "product"):
                    return kind, operands, (*factors, scale)
            return "scaled", (inner,), (sign, scale)  # c * b
        if op == "div" and not _is_scalar(args[1]):
            numerator, factors = self._peeled(args[0])
            return "quotient", (numerator, args[1]), (sign, *factors)
        if op == "mul" and self.fma:
            (left, left_factors), (right, right_factors) = self._peeled(args[0]), self._peeled(args[1])
            factors = (sign, *left_factors, *right_factors)
            if left is right and not any(isinstance(f, Sym) for f in factors):
                # a square with a constant coefficient: v + c g g, and centered RMSProp's s - a a, which torch.optim
                # also fuses (square_avg.addcmul(grad_avg, grad_avg, value=-1)); where s and a a nearly cancel, the
                # fused result can be further from the plain rule than a few ulp, as torch's is
                return "product", (left, right), factors
        return "value", (node,), (sign,)

    def _lerp(self, first: Sym, second: Sym, sign: int, target: str) -> tuple[Sym, Any] | None:
        """``(B, 1 - a)`` if ``first + sign * second`` is ``a * T + (1 - a) * B`` with ``T`` the target buffer's old
        value and ``B`` stored (an exponential moving average, as torch's Adam updates ``exp_avg``), in an ``fma``
        plan; else ``None``."""
        if not (self.fma and sign > 0 and self._is_buffer(target)):
            return None
        if first.op != "mul" or second.op != "mul" or self._stored(first) or self._stored(second):
            return None
        a, held = first.args if _is_scalar(first.args[0]) else (first.args[1], first.args[0])
        weight, other = second.args if _is_scalar(second.args[0]) else (second.args[1], second.args[0])
        if held.leaf != target or _is_scalar(held) or _is_scalar(other) or not self._stored(other):
            return None
        if isinstance(a, numbers.Real) and isinstance(weight, numbers.Real) and 0 < weight < 1 and a + weight == 1:
            return other, weight
        if isinstance(weight, Sym) and weight.op == "sub" and weight.args == (1, a):  # a tensor decay: 1 - a, traced
            return other, self._coefficient((weight,))
        return None

    def _peeled(self, node: Sym) -> tuple[Sym, tuple]:
        """``(b, (c,))`` for ``node = c * b`` not stored, in an ``fma`` plan (the scale goes to the fused call); else ``(node, ())``."""
        if self.fma and not self._stored(node) and node.op == "mul" and (_is_scalar(node.args[0]) or _is_scalar(node.args[1])):
            scale, inner = (node.args[0], node.args[1]) if _is_scalar(node.args[0]) else (node.args[1], node.args[0])
            return inner, (scale,)
        return node, ()

    def _stored(self, node: Sym) -> bool:
        """Whether ``node``'s value is already in a buffer or temporary (a leaf or a computed slot)."""
        return node.leaf is not None or node in self._location

    def _score(self, node: Sym, target: str) -> int:
        """How well ``node`` suits being computed straight into ``target``: 2 holds its old value, 1 is an op."""
        if self._is_buffer(target) and (node.leaf == target or (not self._stored(node) and target in self._reads(node)[1])):
            return 2
        return 0 if self._stored(node) else 1

    @staticmethod
    def _is_buffer(target: str) -> bool:
        return not target.startswith("~")

    # -- running ---------------------------------------------------------------------------------
    def advance(self, columns: Mapping[str, Tensor], hp: Mapping[str, Any]) -> list[list[float] | float]:
        """Update every tensor's counters in place; returns the per-tensor scalars of the step (from the old counters).

        ``columns[key]`` holds every tensor's ``key`` counter stacked (a 1-dim view of a
        :class:`descentlab.engine.paths.counters.CounterBlock`), so each counter op of the rule is one
        op for all tensors; ``hp`` gives the tensor hyperparameters' current values.
        A scalar that is the same for every tensor is one number.
        """
        floats = self._in_floats(columns, hp)
        if floats is not None:
            return floats
        values: dict[Sym, Tensor] = {}

        def value(node: Any) -> Any:
            if not isinstance(node, Sym):
                return node
            if node not in values:
                if node.op != "leaf":
                    args = [value(a) for a in node.args]
                    try:
                        values[node] = _EVAL[node.op](*args)
                    except TypeError:  # a torch function of numbers alone (a number hyperparameter read as a leaf)
                        values[node] = _EVAL[node.op](*[torch.tensor(a, dtype=torch.float64) if _is_real(a) else a
                                                        for a in args])
                elif node.leaf in self.hp_leaves:
                    name, index = self.hp_leaves[node.leaf]
                    values[node] = hp[name] if index is None else hp[name][index]
                else:
                    values[node] = columns[node.leaf]
            return values[node]

        scalars = self._products(lambda f: _plain(value(f)))
        new = {key: value(node) for key, node in self.counter_outputs.items()}  # all read before any is written
        for key, column in new.items():
            columns[key].copy_(column)
        return scalars

    def _products(self, value: Callable[[Sym], Any]) -> list[list[float] | float]:
        """The step's per-tensor scalars: each factor list's product, from ``value`` of its traced factors (a list
        per tensor, or one number); one number where every tensor has the same."""
        scalars: list[list[float] | float] = []
        for factors in self.scalars:
            lists = [value(f) if isinstance(f, Sym) else f for f in factors]
            count = max((len(v) for v in lists if isinstance(v, list)), default=1)
            columns_of = [v if isinstance(v, list) else [v] * count for v in lists]
            product = [functools.reduce(operator.mul, column, 1) for column in zip(*columns_of)]
            scalars.append(product[0] if len(set(product)) == 1 else product)
        return scalars

    def _in_floats(self, columns: Mapping[str, Tensor], hp: Mapping[str, Any]) -> list[list[float] | float] | None:
        """:meth:`advance` in Python floats, for few tensors and number hyperparameters; ``None`` where it cannot.

        A step's counter ops are float64 torch ops on a column of a few values, each a few microseconds for a
        handful of arithmetic: here they are Python's float arithmetic, which rounds as those ops do (``+ - * /``
        and ``1 / a`` are IEEE's in both; ``a ** b`` is C's ``pow``, which torch's own loop calls on fewer than
        :data:`FLOAT_COUNTERS` values), the roots MKL's ``vdSqrt`` (the routine torch's float64 ``sqrt`` calls), a
        cast to float32 C's rounding.  The same bits as the torch ops (``tests/test_inplace.py``); a value the
        arithmetic refuses (a division by zero, an overflow) leaves it to them.
        """
        order = self.__dict__.get("_float_order", False)
        if order is False:
            order = self.__dict__["_float_order"] = _float_order(self)
        if order is None:
            return None
        keys = list(self.counter_keys)
        rows = list(zip(*(columns[key].tolist() for key in keys))) if keys else [()]
        if len(rows) >= FLOAT_COUNTERS:
            return None
        numbers = {}
        for leaf, (name, index) in self.hp_leaves.items():
            number = hp[name] if index is None else hp[name][index]
            if not _is_real(number):
                return None  # (a tensor hyperparameter: the torch ops, in its dtype)
            numbers[leaf] = number
        found: dict[tuple, dict[Sym, float]] = {}
        try:
            for row in set(rows):
                found[row] = _evaluate_in_floats(order, {**numbers, **dict(zip(keys, row))})
        except (ArithmeticError, ValueError, TypeError):  # (also a complex power of a negative number)
            return None
        scalars = self._products(lambda node: [found[row][node] for row in rows])
        for key, node in self.counter_outputs.items():  # all read before any is written
            new = [found[row][node] for row in rows]
            if len(set(new)) == 1:
                columns[key].fill_(new[0])
            else:
                columns[key].copy_(torch.tensor(new, dtype=columns[key].dtype))
        return scalars


FLOAT_COUNTERS = 8
"""Counter columns shorter than this have their step's scalars computed in Python floats (:meth:`Plan._in_floats`):
torch's own loop over a column takes its vector routines from two vectors' worth of values on (16 float64 values here,
with AVX-512; 8 is that bound for 256-bit vectors), and its vector ``pow`` is not C's ``pow`` (``0.999 ** 32``
differs in the last bit)."""

_FLOAT_OPS: dict[str, Callable[..., Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv, "neg": operator.neg,
    "pow": operator.pow, "reciprocal": lambda a: 1.0 / a,
}


def _float_order(plan: Plan) -> list[Sym] | None:
    """The leaves and ops the step's scalars and new counters need, each after its arguments, if all of them can be
    computed in Python floats with torch's bits: float64 arithmetic of :data:`_FLOAT_OPS`, roots, and casts to
    float32 that end a scalar (no op reads them: Python's arithmetic is float64's).  ``None`` otherwise."""
    order: list[Sym] = []
    seen: set[int] = set()

    def visit(node: Any, read_by_op: bool) -> bool:
        if not isinstance(node, Sym):
            return _is_real(node)
        if node.op == "to":
            if node.args[1] is not torch.float64 and (node.args[1] is not torch.float32 or read_by_op):
                return False
        elif node.dtype is not torch.float64:
            return False
        if id(node) in seen:
            return True
        seen.add(id(node))
        if node.op != "leaf":
            if node.op not in _FLOAT_OPS and node.op not in ("sqrt", "to"):
                return False
            if not all(visit(a, True) for a in (node.args[:1] if node.op == "to" else node.args)):
                return False
        order.append(node)
        return True

    ends = [f for factors in plan.scalars for f in factors if isinstance(f, Sym)] + list(plan.counter_outputs.values())
    return order if all(visit(node, False) for node in ends) else None


def _evaluate_in_floats(order: list[Sym], leaves: dict[str, Any]) -> dict[Sym, Any]:
    """Every node of ``order`` in Python floats, from the leaves' numbers (see :meth:`Plan._in_floats`)."""
    values: dict[Sym, Any] = {}
    for node in order:
        if node.op == "leaf":
            values[node] = leaves[node.leaf]
            continue
        args = [values[a] if isinstance(a, Sym) else a for a in node.args]
        if node.op == "sqrt":
            roots = double_roots([float(args[0])])
            if roots is None:
                raise TypeError("no float64 root routine")
            values[node] = roots[0]
        elif node.op == "to":
            values[node] = ctypes.c_float(args[0]).value if node.args[1] is torch.float32 else float(args[0])
        else:
            values[node] = float(_FLOAT_OPS[node.op](*args))
    return values


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _plain(value: Any) -> Any:
    """A counter column or a 0-dim tensor as Python numbers (a list or a number); a number as it is."""
    return value.tolist() if isinstance(value, torch.Tensor) else value


class _PerTensor:
    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def _scalar(value: Any, scalars: list) -> Any:
    return scalars[value.index] if isinstance(value, _PerTensor) else value


# each instruction is a function of (lists by name, the batch's per-tensor scalars)
class _One:
    """An operand that stands for a list of 0-dim ones (``addcmul_(a, b, 1, value=c)`` is ``a + c * b``, rounded as written)."""


_ONE = _One()
_ONES: dict[tuple[torch.dtype, torch.device], Tensor] = {}


def _one(like: Tensor) -> Tensor:
    """A 0-dim 1 of ``like``'s dtype and device."""
    key = (like.dtype, like.device)
    if key not in _ONES:
        _ONES[key] = torch.ones((), dtype=like.dtype, device=like.device)
    return _ONES[key]


def _call(name: str, target: str, source: str | None, args: tuple, alpha: Any = None) -> Callable:
    """``env[target] = torch._foreach_<name>(env[source], *args)``, or with no ``source`` the in-place
    ``torch._foreach_<name>_(env[target], *args)``.  An argument is a list's name, ``_ONE`` or a coefficient."""
    function = getattr(torch, f"_foreach_{name}" if source is not None else f"_foreach_{name}_")

    def run(env: dict[str, list], scalars: list) -> None:
        first = env[target if source is None else source]
        values = [env[a] if isinstance(a, str) else [_one(first[0])] * len(first) if a is _ONE else _scalar(a, scalars)
                  for a in args]
        if alpha is None:
            result = function(first, *values)
        else:
            factor = _scalar(alpha, scalars)
            if isinstance(factor, list):  # tensors at different steps: foreach takes one alpha, so one call each
                result = [getattr(torch.Tensor, "add" if source is not None else "add_")(a, b, alpha=c)
                          for a, b, c in zip(first, values[0], factor)]
            else:
                result = function(first, *values, alpha=factor)
        if source is not None:
            env[target] = result
    run.call = (name, target, source, args, alpha)  # what it does, for code made from the plan (paths/native.py)
    return run


def _copy(target: str, source: str) -> Callable:
    def run(env: dict[str, list], scalars: list) -> None:
        torch._foreach_copy_(env[target], env[source])
    run.call = ("copy", target, source, (), None)
    return run


def _key(spec: AlgorithmSpec, hp: dict[str, Any], x: Tensor, state: State, fma: bool,
         varying: frozenset[str] = frozenset()) -> tuple | None:
    """What a plan depends on: the rule, the numbers among the hyperparameters (but those ``varying``), the dtypes
    and the state's layout."""
    items = [(name, "varying" if name in varying else _marker(value, name, varying)) for name, value in sorted(hp.items())]
    layout = tuple((k, v.dim() > 0, v.dtype) for k, v in state.items())
    return (spec.name, id(spec.update), tuple(items), x.dtype, x.device.type, layout, fma)


def _marker(value: Any, name: str = "", varying: frozenset[str] = frozenset()) -> Any:
    """A hyperparameter as a plan depends on it: a number by value, a tensor by dtype only (read at every step),
    an item of a tuple named in ``varying`` (``"betas[0]"``) not at all."""
    if isinstance(value, tuple):
        return tuple("varying" if f"{name}[{i}]" in varying else _marker(v) for i, v in enumerate(value))
    return ("tensor", value.dtype) if isinstance(value, torch.Tensor) else value


_PLANS: dict[tuple, Plan | None] = {}
_MAX_PLANS = 256


def plan_for(spec: AlgorithmSpec, hp: dict[str, Any], x: Tensor, state: State, fma: bool = False,
             varying: frozenset[str] = frozenset()) -> Plan | None:
    """The in-place plan of ``spec`` for a parameter like ``x`` with ``state``, or ``None`` if it has none.

    Plans are kept per key (at most 256, the oldest dropped first).  A number
    hyperparameter is part of the key, so a new value traces the rule again
    (0.08 ms for Momentum, 0.19 ms for Adam here), unless it is named in
    ``varying`` (numbers a scheduler changes, :func:`varying_numbers`): it is then
    traced as a leaf read at every step, as a tensor hyperparameter is, and one plan
    serves every value.  A rule that branches on such a value has no such plan
    (``None``; the caller asks again without ``varying``).
    """
    key = _key(spec, hp, x, state, fma, varying)
    try:
        return _PLANS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable hyperparameter value
        return None
    try:
        plan = Plan(spec, hp, x, state, fma, varying)
    except Unsupported:
        plan = None
    if len(_PLANS) >= _MAX_PLANS:
        del _PLANS[next(iter(_PLANS))]
    _PLANS[key] = plan
    return plan


def varying_numbers(memory: dict, hp: dict[str, Any]) -> frozenset[str]:
    """The number hyperparameters that changed since an earlier step, by ``memory`` (the caller's, kept between
    steps): a scheduler's learning rate.  Of a tuple of numbers, only the items that changed are named, as
    ``"betas[0]"`` (OneCycleLR cycles Adam's first beta, never the second: a rule may fuse an op by a constant
    second beta).  A name stays varying once it has changed; it is left out of a step where its value is 0 (so a
    rule that skips a zero term still skips it)."""
    numbers_now = {name: value for name, value in hp.items() if _is_real(value)
                   or (isinstance(value, tuple) and value and all(map(_is_real, value)))}
    last = memory.get("numbers")
    seen = memory.get("varying", frozenset())
    if last is not None and last != numbers_now:
        changed = set()
        for name, value in numbers_now.items():
            old = last.get(name)
            if old is None or old == value:
                continue
            if isinstance(value, tuple) and isinstance(old, tuple) and len(old) == len(value):
                changed.update(f"{name}[{i}]" for i, (a, b) in enumerate(zip(old, value)) if a != b)
            else:
                changed.add(name)
        if changed - seen:
            seen = memory["varying"] = seen | changed
    memory["numbers"] = numbers_now
    return frozenset(name for name in seen if _nonzero(numbers_now, name))


def _nonzero(numbers_now: dict[str, Any], name: str) -> bool:
    """Whether the varying ``name`` (a hyperparameter, or an item ``"betas[0]"``) is a number now, and not 0."""
    base, _, item = name.partition("[")
    value = numbers_now.get(base)
    if value is None:
        return False
    if item:
        index = int(item[:-1])
        if not isinstance(value, tuple) or index >= len(value):
            return False
        return value[index] != 0
    return all(v != 0 for v in (value if isinstance(value, tuple) else (value,)))


def run_plan(plan: Plan, env: dict[str, list], scalars: list) -> None:
    """One batch: ``env`` maps ``x``, ``g`` and the full state keys to lists of tensors (views), written in place."""
    for instruction in plan.program:
        instruction(env, scalars)


__all__ = ["Plan", "Sym", "Unsupported", "plan_for", "run_plan", "varying_numbers"]
