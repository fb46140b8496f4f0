"""The in-place plan as one C loop: every value of a step read once and written once.

The default path traces the registry rule into a plan of in-place foreach calls
(:mod:`descentlab.engine.paths.inplace`).  Each call is a pass over memory: Adam's
plan makes seven, where one would do, since an optimizer step is bound by memory
traffic.  This module writes the same plan as C: one function whose loop runs
the plan's calls on each element in registers, in the plan's order, and writes the
results back once.

* **Same numbers as the replay.**  Every call of the plan becomes the expression
  that rounds as torch's CPU kernel of that call does (checked by testing torch,
  in ``tests/test_native.py``): ``add_(b, alpha=c)`` is one fused multiply-add
  ``fma(b, c, a)``; ``addcmul_(b, e, value=c)`` is ``fma(c * b, e, a)``;
  ``addcdiv_(b, d, value=c)`` is ``a + (c * b) / d``; ``lerp_(e, w)`` is
  ``fma(w, e - a, a)`` for ``|w| < 0.5`` and ``fma(-(e - a), 1 - w, e)`` otherwise;
  scalars are cast to the parameter's dtype first, as torch casts them.  The C is
  compiled with ``-ffp-contract=off`` and without ``-ffast-math``, so the compiler
  adds no rounding of its own.  Before a kernel is used, it runs beside the replay
  on a probe (the step's own leading values and random ones) and must agree bit
  for bit; otherwise the replay is used and the log says why.  So the default path
  gives the same bits whichever runs, and the torch-compatible classes keep their
  bit-identity with torch.optim's default.
* **No value baked in.**  The generated source depends only on the plan's
  shape: hyperparameters, step-derived scalars (Adam's ``lr / (1 - beta1^t)``)
  and the plan's constants are arguments, so a learning rate changed every step
  reuses the same kernel.
* **Compiled once per machine.**  The source is compiled by the system C compiler
  (``cc``, or ``$CC``) with ``-O3 -march=native`` into a shared library kept in
  the user's cache (``$DESCENTLAB_CACHE``, else ``$XDG_CACHE_HOME/descentlab/kernels``,
  else ``~/.cache/descentlab/kernels``), named by a hash of the source, the flags,
  the compiler (path, size, time) and the CPU's flags, and written atomically (a
  concurrent process writing the same kernel renames the same bytes).  The first
  build of a kernel is said once on the log; later processes load the file.
* **Threads.**  A step over many values is split into equal contiguous ranges,
  one per thread (``torch.get_num_threads()``), run by the threads of the
  OpenMP runtime torch has loaded (:data:`SPLIT_C`): torch's own workers, so a
  step starts no thread and competes with none (torch's workers wait spinning
  for a while after each parallel op, so POSIX threads started per call beside
  them ran a step at about half speed).  A compiler without OpenMP builds POSIX
  threads.
  Every element is independent, so the result is the same for any split: the
  step is deterministic, also when several Python threads step their own
  optimizers at once (ctypes releases the GIL during the call).
* **16-bit parameters** (bfloat16, float16): the rule computes in float32 with
  float32 state (:mod:`descentlab.engine.state.precision`), so the loop runs the
  float32 plan, widens ``x``, ``g`` and the kept rounding error (``"compensation"``)
  on load and rounds ``x`` and the new rounding error on store, as torch's
  conversions round (:func:`_low_helpers`): no float32 copy of a parameter is made.
* **A nan's bits.** The loop gives a nan where the replay does, but not always
  the same nan: torch's own vectorized ops give a nan's sign and payload by its
  place in the tensor (``torch.maximum`` gives ``0xffffffff`` on whole vectors and
  the nan it was given in the last few values; the float16 -> float32 conversion
  keeps a nan's payload on whole vectors only).  So the check against the replay
  (:func:`agrees_with_replay`) holds the loop to the replay's bits where either is
  a number, and to a nan where the other is one.
* **Where it does not run**: no C compiler (the log says so once), a device other
  than the CPU, dtypes other than float32/float64/bfloat16/float16, tensors that are not
  contiguous, or a plan with an op it does not write (``pow``): the replay runs.
  ``DESCENTLAB_NATIVE=0`` turns it off.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import numbers
import os
import re
import shutil
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ...files import atomic_path, default_cache_dir
from .inplace import Plan, _One, _PerTensor
from .mkl import torch_root

if TYPE_CHECKING:
    from torch import Tensor

_log = logging.getLogger("descentlab")

_CTYPES = {torch.float32: "float", torch.float64: "double"}
_LOW = {torch.bfloat16: "bf16", torch.float16: "fp16"}
"""Parameters stored in 16 bits: the plan runs in float32 (:mod:`descentlab.engine.state.precision`), the loop widens
``x``, ``g`` and the compensation on load and rounds them on store, as torch's conversions do."""
COMPENSATION = "compensation"
_FLAGS = ("-O3", "-march=native", "-ffp-contract=off", "-fno-math-errno", "-fPIC", "-shared", "-pthread",
          "-fvisibility=hidden")
_OPENMP = "-fopenmp"
"""Tried first (the threads of :data:`SPLIT_C`); a compiler without OpenMP builds the POSIX-thread split instead."""
THREADED_VALUES = 1 << 18
"""A step over fewer values than this runs in the calling thread: below it, handing half the values to another thread
saved nothing on a 2-core machine (SGD and Adam over one tensor of 2^12 to 2^20 values, one thread against two in
turns: even up to 2^17, two faster from 2^18 on).  POSIX threads started per call, as the kernels once ran, only paid
from about 2^20."""


class NativeUnsupported(Exception):
    """The plan has an op the C writer does not write."""


_OFF = threading.local()


def enabled() -> bool:
    """Whether the native kernels may be used (``DESCENTLAB_NATIVE=0`` turns them off, as :func:`switched_off`)."""
    if getattr(_OFF, "depth", 0):
        return False
    return os.environ.get("DESCENTLAB_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


@contextlib.contextmanager
def switched_off() -> Iterator[None]:
    """Within the block (in this thread), the default path replays its plan: no compiled loop."""
    _OFF.depth = getattr(_OFF, "depth", 0) + 1
    try:
        yield
    finally:
        _OFF.depth -= 1


# ------------------------------------------------------------------------------------------------
# the C source of a plan
# ------------------------------------------------------------------------------------------------

class Source:
    """A plan written as C: the text, the buffers it reads or writes (in the kernel's order) and its constants.

    ``buffers``: the plan's parameter-shaped names (``"x"``, ``"g"``, state keys) the
    loop touches; ``written``: those it stores; ``per_tensor``: how many per-tensor
    scalars (the plan's ``advance`` gives them); ``constants``: the numbers of the
    plan's calls, passed to the kernel (never part of the text).

    A square root is where torch's rounding is not IEEE's: torch computes a float32
    ``sqrt`` with MKL's vector routine, which is 1 ulp below the correctly rounded
    root for about 0.6% of values here (and float64's, rarely).  With ``torch_roots`` (torch's bits):

    * float32 on a processor with AVX-512 (F and VL): the root is :data:`ROOT_C`'s
      ``dl_root``, MKL's arithmetic written out (an estimate ``y`` of ``1/sqrt(x)``
      by ``rsqrt14``, ``s = x y``, then ``s + (x - s s) (y / 2)``; values below
      2^-64 scaled by 2^64 first, zero, infinity, NaN and negatives as MKL gives
      them), inline in the one loop on whole vectors (``vectorized``).  It
      equals torch's ``sqrt`` on all 2^32 float32 bit patterns on this machine's
      processor (``tests/test_native.py``, slow tier), and each process checks it on
      a sample before using it (:func:`emulated_root_agrees`).
    * otherwise the plan runs in blocks of :data:`BLOCK` values, in stages: each
      stage's loop leaves the values the next needs in small arrays (in the L1 cache),
      and the kernel is given MKL's routine (``vsSqrt``, the one torch calls) to take
      the roots between them (about 25% slower than one loop).

    Without ``torch_roots``, the root is IEEE's ``sqrt`` in the one loop.
    """

    def __init__(self, plan: Plan, dtype: torch.dtype, torch_roots: bool = True, compensated: bool = False,
                 emulate: bool = True) -> None:
        # a 16-bit parameter (``dtype`` bfloat16/float16): the plan is float32's, x and g are widened on load and
        # x rounded on store (with its rounding error kept in the compensation buffer when ``compensated``)
        self.low = _LOW.get(dtype)
        if dtype not in _CTYPES and self.low is None:
            raise NativeUnsupported(f"dtype {dtype}")
        self.ctype = real = _CTYPES.get(dtype, "float")
        suffix = "f" if real == "float" else ""
        self.constants: list[float] = []
        self.per_tensor = len(plan.scalars)
        self.buffers: list[str] = []
        self.written: list[str] = []
        emulate = emulate and torch_roots and real == "float" and emulated_root_possible()
        self.emulated_root = False  # the root is ROOT_C's dl_root
        self.ieee_roots = False  # the root is C's sqrt
        vector_safe = True  # every expression also reads right with the loop's values as whole vectors (see _vectors)
        vector_forms: dict[str, str] = {}  # a variable -> its expression on whole vectors, where not _vectors's
        names: dict[str, str] = {}  # a location -> the C variable holding its current value
        # statements: (stage, variable, expression, the variables it reads); a load's expression is "LOAD j"
        statements: list[tuple[int, str, str, set[str]]] = []
        stage = 0
        roots: list[tuple[int, str, str]] = []  # (stage it ends, input variable, output variable)

        def buffer(name: str) -> int:
            if name not in self.buffers:
                self.buffers.append(name)
            return self.buffers.index(name)

        if self.low and compensated:
            buffer(COMPENSATION)  # (buffer 0: read with x, written with x)

        def read(location: str) -> str:
            if location not in names:
                if location.startswith("~"):
                    raise NativeUnsupported(f"temporary {location} read before it is written")
                index = buffer(location)
                names[location] = f"b{index}"
                statements.append((stage, f"b{index}", f"LOAD {index}", set()))
            return names[location]

        def scalar(value: Any) -> str:
            if isinstance(value, _PerTensor):
                return f"s{value.index}"
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise NativeUnsupported(f"a coefficient {value!r}")
            self.constants.append(float(value))
            return f"k{len(self.constants) - 1}"

        def operand(value: Any) -> str:
            if isinstance(value, str):
                return read(value)
            if isinstance(value, _One):
                return f"(({real})1)"
            return scalar(value)

        fma = f"fma{suffix}"
        for instruction in plan.program:
            call = getattr(instruction, "call", None)
            if call is None:
                raise NativeUnsupported("an instruction without a description")
            name, target, source, args, alpha = call
            first = read(target if source is None else source)
            values = [operand(a) for a in args]
            variable = f"r{len(statements)}"
            if name == "copy":
                expression = first
            elif name == "add" and alpha is not None:
                expression = f"{fma}({values[0]}, {scalar(alpha)}, {first})"  # torch's add(b, alpha=c): one rounding
            elif name in ("add", "sub", "mul", "div") and alpha is None and len(values) == 1:
                expression = f"{first} {'+-*/'[('add', 'sub', 'mul', 'div').index(name)]} {values[0]}"
            elif name == "addcmul" and alpha is None:
                expression = f"{fma}({values[2]} * {values[0]}, {values[1]}, {first})"
            elif name == "addcdiv" and alpha is None:
                expression = f"{first} + ({values[2]} * {values[0]}) / {values[1]}"
            elif name == "lerp" and alpha is None:
                end, weight = values
                vector_safe &= weight[0] in "ks"  # (the condition on a weight that varies by value is not)
                expression = (f"(fabs{suffix}({weight}) < ({real})0.5 ? {fma}({weight}, {end} - {first}, {first})"
                              f" : {fma}(-({end} - {first}), ({real})1 - {weight}, {end}))")
            elif name == "sqrt" and not values and not torch_roots:
                expression = f"sqrt{suffix}({first})"  # IEEE's root
                self.ieee_roots = True
            elif name == "sqrt" and not values and emulate:
                expression = f"dl_root({first})"  # torch's (MKL's) root, written out
                self.emulated_root = True
            elif name == "sqrt" and not values:
                expression = "ROOT"
                roots.append((stage, first, variable))
                stage += 1
            elif name == "reciprocal" and not values:
                expression = f"({real})1 / {first}"
            elif name == "neg" and not values:
                expression = f"-{first}"
            elif name == "abs" and not values:
                expression = f"fabs{suffix}({first})"
                vector_forms[variable] = f"_mm512_abs_ps(DL_V({first}))"
            elif name == "sign" and not values:
                expression = f"({real})(({first} > 0) - ({first} < 0))"
                vector_forms[variable] = f"dl_sign_v(DL_V({first}))"
            elif name in ("maximum", "minimum") and alpha is None and len(values) == 1:
                other, compare = values[0], ">" if name == "maximum" else "<"
                expression = (f"(({first} != {first}) || ({other} != {other}) ? {first} + {other}"
                              f" : ({first} {compare} {other} ? {first} : {other}))")
                vector_forms[variable] = f"dl_{name}_v(DL_V({first}), DL_V({other}))"
            else:
                raise NativeUnsupported(f"{name} is not written in C")
            uses = set(re.findall(r"\b[br][0-9]+\b", expression))
            statements.append((stage, variable, expression, uses))
            names[target] = variable
            if not target.startswith("~") and target not in self.written:
                buffer(target)
                self.written.append(target)
        self.stages = stage + 1
        # the loop on whole 16-value vectors, the tail value by value (see _vectors), for every float32 plan it can
        # write: it fetches ahead (PREFETCH_VALUES), the root written out is inline (called per vector through the
        # vector-function ABI, it left the loop's values spilled around each call), and 16-bit parameters convert
        # on whole vectors (GCC vectorizes no float16 conversion)
        self.vectorized = real == "float" and vector_safe and self.stages == 1 and vector_loop_possible()
        self.roots = any(getattr(i, "call", ("",))[0] == "sqrt" for i in plan.program)
        stores = [(names[key], self.buffers.index(key)) for key in self.written]
        self.text = _low_helpers(self.low, self.vectorized) + self._text(real, statements, roots, stores, vector_forms)

    def _text(self, real: str, statements: list, roots: list, stores: list, vector_forms: dict[str, str]) -> str:
        loads = {variable: int(expression.split()[1]) for _, variable, expression, _ in statements
                 if expression.startswith("LOAD")}
        computed = [(s, v, e, uses) for s, v, e, uses in statements if not e.startswith("LOAD")]
        defined = {v: s for s, v, _, _ in computed}
        outputs = {output for _, _, output in roots}
        sources = {source for _, source, _ in roots}
        last = self.stages - 1
        needed: list[set[str]] = [set() for _ in range(self.stages)]
        for s, v, e, uses in computed:
            if e != "ROOT":
                needed[s] |= uses
        for s, source, _ in roots:
            needed[s].add(source)
        # a result is stored as soon as it is computed, unless a later stage still reads the buffer's old value;
        # a later stage then reads it back from the buffer (in the cache), not from an array
        store_at = {}
        for v, j in stores:
            early = defined.get(v, 0)
            later_reads = any(loads.get(u) == j for t in range(early + 1, self.stages) for u in needed[t])
            store_at[v, j] = early if not later_reads and v not in outputs and not self._narrow(j) else last
        home = {v: j for (v, j), stage in store_at.items() if stage < last}
        for v, j in stores:
            if store_at[v, j] == last:
                needed[last].add(v)
        arrays = {v for v in defined if v not in home and any(v in needed[t] for t in range(defined[v] + 1, self.stages))}
        arrays |= sources | outputs
        loops = []
        for stage in range(self.stages):
            own = [(v, e) for s, v, e, _ in computed if s == stage and e != "ROOT"]
            names = {v for v, _ in own}
            body = []
            for v in sorted(needed[stage] - names, key=lambda v: (v[0], int(v[1:]))):
                if v in loads:
                    body.append(f"{real} {v} = {self._load(loads[v])};")
                elif v in home:
                    body.append(f"{real} {v} = p{home[v]}[i];")
                else:
                    body.append(f"{real} {v} = a{v}[i];")
            body += [f"{real} {v} = {e};" for v, e in own]
            body += [f"a{v}[i] = {v};" for v in sorted((names | (needed[stage] & sources)) & arrays - outputs,
                                                      key=lambda v: (v[0], int(v[1:])))]
            body += [self._store(j, v) for (v, j), at in store_at.items() if at == stage]
            loops.append(body)
        arrays = sorted(arrays, key=lambda v: (v[0], int(v[1:])))
        root_calls = []
        for s, source, output in roots:
            root_calls.append(f"if (root) root((int)m, a{source}, a{output}); "
                              f"else for (long i = 0; i < m; ++i) a{output}[i] = sqrt{'f' if real == 'float' else ''}(a{source}[i]);")
        if self.stages == 1:
            inner = "for (; i < n; ++i) {\n            " + "\n            ".join(loops[0]) + "\n        }"
            if self.vectorized:
                read = {j for v, j in loads.items() if v in needed[0]}
                if COMPENSATION in self.buffers:  # read with x (see _load)
                    read.add(self.buffers.index(COMPENSATION))
                vector = ([f"_mm_prefetch((const char *)(p{j} + i + {PREFETCH_VALUES}), _MM_HINT_T0);"
                           for j in sorted(read)]
                          + [f"__m512 {v} = {self._load(j, vector=True)};" for v, j in loads.items() if v in needed[0]]
                          + [f"__m512 {v} = {vector_forms.get(v) or _vectors(e)};" for s, v, e, _ in computed]
                          + [self._store(j, v, vector=True) for (v, j) in store_at])
                inner = "for (; i + 16 <= n; i += 16) {\n            " + "\n            ".join(vector) + "\n        }\n        " + inner
            blocked = f"long m = n; (void)m; (void)root;\n        long i = 0;\n        {inner}"
        else:
            parts = [f"{real} " + ", ".join(f"a{v}[{BLOCK}]" for v in arrays) + ";"]
            parts.append(f"for (long base = 0; base < n; base += {BLOCK}) {{")
            parts.append(f"    long m = n - base < {BLOCK} ? n - base : {BLOCK};")
            parts += [f"    {self._type(j)} *p{j} = q{j} + base;" for j in range(len(self.buffers))]
            for stage, body in enumerate(loops):
                parts.append("    for (long i = 0; i < m; ++i) {")
                parts += [f"        {line}" for line in body]
                parts.append("    }")
                if stage < len(roots):
                    parts.append(f"    {root_calls[stage]}")
            parts.append("}")
            blocked = "\n        ".join(parts)
        pointers = ", ".join(f"{self._type(j)} *{'q' if self.stages > 1 else 'p'}{j}" for j in range(len(self.buffers)))
        return _C_TEMPLATE.format(
            real=real,
            split=SPLIT_C,
            prelude=(ROOT_C if self.emulated_root else "") + (VECTOR_C if self.vectorized else ""),
            pointers=pointers,
            unpack_pointers="\n".join(f"        {self._type(j)} *p{j} = ({self._type(j)} *)ptrs[t * {len(self.buffers)} + {j}] + lo;"
                                      for j in range(len(self.buffers))),
            pass_pointers=", ".join(f"p{j}" for j in range(len(self.buffers))),
            scalar_parameters="".join(f", {real} s{j}" for j in range(self.per_tensor)),
            unpack_scalars="\n".join(f"        {real} s{j} = ({real})pt[t * {max(self.per_tensor, 1)} + {j}];"
                                     for j in range(self.per_tensor)),
            pass_scalars="".join(f", s{j}" for j in range(self.per_tensor)),
            constant_parameters="".join(f", {real} k{j}" for j in range(len(self.constants))),
            unpack_constants="\n".join(f"    {real} k{j} = ({real})w->cs[{j}];" for j in range(len(self.constants))),
            pass_constants="".join(f", k{j}" for j in range(len(self.constants))),
            body=blocked,
        )

    # -- 16-bit parameters: which buffers are narrow, their loads and stores ----------------------------------------
    def _narrow(self, j: int) -> bool:
        """Whether buffer ``j`` is stored in 16 bits (a low-precision parameter's x, g and compensation)."""
        return bool(self.low) and self.buffers[j] in ("x", "g", COMPENSATION)

    def _type(self, j: int) -> str:
        return "unsigned short" if self._narrow(j) else self.ctype

    def _load(self, j: int, vector: bool = False) -> str:
        """The working value of buffer ``j`` at ``i``: x plus its kept rounding error, widened (the sum in float32);
        ``vector``: of the 16 values from ``i``."""
        if not self._narrow(j):
            return f"_mm512_loadu_ps(p{j} + i)" if vector else f"p{j}[i]"
        wide = "dl_wide_v(dl_load_h(p{} + i))" if vector else "dl_wide(p{}[i])"
        if self.buffers[j] == "x" and COMPENSATION in self.buffers:
            return f"{wide.format(j)} + {wide.format(self.buffers.index(COMPENSATION))}"
        return wide.format(j)

    def _store(self, j: int, v: str, vector: bool = False) -> str:
        """``v`` written to buffer ``j``: rounded to 16 bits, the rounding error kept (rounded too) when compensated;
        ``vector``: the 16 values from ``i``."""
        if not self._narrow(j):
            return f"_mm512_storeu_ps(p{j} + i, {v});" if vector else f"p{j}[i] = {v};"
        compensated = self.buffers[j] == "x" and COMPENSATION in self.buffers
        c = self.buffers.index(COMPENSATION) if compensated else None
        if vector and compensated:
            return (f"{{ __m256i h = dl_narrow_v({v}); dl_store_h(p{j} + i, h); "
                    f"dl_store_h(p{c} + i, dl_narrow_v({v} - dl_wide_v(h))); }}")
        if vector:
            return f"dl_store_h(p{j} + i, dl_narrow_v({v}));"
        if compensated:
            return f"{{ unsigned short h = dl_narrow({v}); p{j}[i] = h; p{c}[i] = dl_narrow({v} - dl_wide(h)); }}"
        return f"p{j}[i] = dl_narrow({v});"


_VECTOR_CALLS = (("fmaf(", "dl_fma_v("), ("dl_root(", "dl_root_v("), ("sqrtf(", "_mm512_sqrt_ps("))


def vector_loop_possible() -> bool:
    """Whether a loop on whole vectors (:data:`VECTOR_C`) can be compiled here: a processor with AVX-512 F and VL."""
    return {"avx512f", "avx512vl"} <= set(_cpu_flags().split())


def _vectors(expression: str) -> str:
    """A float32 expression of the loop on 16 values at once: GCC's vector arithmetic reads ``+ - * /`` lane by lane
    (a number with a vector is the number in every lane), and :data:`VECTOR_C` and :data:`ROOT_C` have the vector
    forms of ``fmaf`` and the roots.  Each lane rounds as the scalar loop does."""
    for scalar, vector in _VECTOR_CALLS:
        expression = expression.replace(scalar, vector)
    return expression


VECTOR_C = r"""
#include <immintrin.h>
/* a loop on whole vectors (Source._vectors): fmaf of vectors or numbers (a number in every lane) */
#define DL_V(a) _Generic((a), float: _mm512_set1_ps, default: dl_same_v)(a)
static inline __attribute__((always_inline)) __m512 dl_same_v(__m512 a) { return a; }
#define dl_fma_v(a, b, c) _mm512_fmadd_ps(DL_V(a), DL_V(b), DL_V(c))
/* the scalar loop's sign, maximum and minimum lane by lane: sign 1, -1, or +0 (zeros and nan); maximum and minimum
   a + b where either is a nan, else a where a > b (a < b), else b */
static inline __attribute__((always_inline)) __m512 dl_sign_v(__m512 a)
{
    __m512 plus = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(1.0f));
    return _mm512_mask_mov_ps(plus, _mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_LT_OQ), _mm512_set1_ps(-1.0f));
}
#define DL_PICK_V(a, b, compare)                                                                              \
    _mm512_mask_mov_ps(_mm512_mask_mov_ps(b, _mm512_cmp_ps_mask(a, b, compare), a),                         \
                       _mm512_cmp_ps_mask(a, b, _CMP_UNORD_Q), _mm512_add_ps(a, b))
static inline __attribute__((always_inline)) __m512 dl_maximum_v(__m512 a, __m512 b) { return DL_PICK_V(a, b, _CMP_GT_OQ); }
static inline __attribute__((always_inline)) __m512 dl_minimum_v(__m512 a, __m512 b) { return DL_PICK_V(a, b, _CMP_LT_OQ); }
static inline __attribute__((always_inline)) __m256i dl_load_h(const unsigned short *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}
static inline __attribute__((always_inline)) void dl_store_h(unsigned short *p, __m256i h)
{
    _mm256_storeu_si256((__m256i *)p, h);
}
"""
"""C of a loop on whole 16-value vectors (see :class:`Source`), put before a kernel written so."""


def _low_helpers(low: str | None, vector: bool = False) -> str:
    """C conversions of a 16-bit format to and from float, rounding as torch's CPU conversions do (tested against
    torch in ``tests/test_native.py``): bfloat16 is the high half of a float32, rounded to nearest even, and every
    nan becomes ``0xffff`` (torch's vectorized conversion); float16 rounds as the processor's conversion (F16C, which
    torch uses on whole vectors), a nan made quiet with its sign and leading payload bits, written with integer
    operations so that GCC can vectorize a loop of them (GCC 12 does not vectorize ``_Float16`` conversions).
    ``vector``: also ``dl_wide_v`` and ``dl_narrow_v`` on 16 values, the same roundings: bfloat16's with AVX-512's
    integer operations, float16's the processor's own conversions (``vcvtph2ps``, ``vcvtps2ph``)."""
    if low is None:
        return ""
    if vector:
        return _low_helpers(low) + _VECTOR_LOW[low]
    if low == "bf16":
        return """\
#include <string.h>
static inline float dl_wide(unsigned short h) { unsigned int u = (unsigned int)h << 16; float f; memcpy(&f, &u, 4); return f; }
static inline unsigned short dl_narrow(float f)
{
    unsigned int u; memcpy(&u, &f, 4);
    unsigned short r = (unsigned short)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
    return f != f ? (unsigned short)0xffff : r;
}
"""
    return """\
#include <string.h>
/* (each case computed, then one chosen by masks: no branch, so the loop vectorizes) */
static inline float dl_wide(unsigned short h)
{
    unsigned int e = h & 0x7fffu, sign = (unsigned int)(h & 0x8000u) << 16;
    unsigned int normal = (e << 13) + 0x38000000u;  /* the exponent's bias 15 -> 127 */
    unsigned int special = (e << 13) | 0x7f800000u | ((e > 0x7c00u) << 22);  /* inf; a nan made quiet */
    float small = (float)(int)e * 0x1p-24f;  /* a subnormal or zero: its integer times 2^-24, exact */
    unsigned int s; memcpy(&s, &small, 4);
    unsigned int is_small = 0u - (e < 0x400u), is_special = 0u - (e >= 0x7c00u);
    unsigned int u = sign | (s & is_small) | (special & is_special) | (normal & ~(is_small | is_special));
    float f; memcpy(&f, &u, 4); return f;
}
static inline unsigned short dl_narrow(float f)
{
    unsigned int u; memcpy(&u, &f, 4);
    unsigned int a = u & 0x7fffffffu, sign = (u >> 16) & 0x8000u;
    unsigned int normal = ((a - 0x38000000u) + 0xfffu + ((a >> 13) & 1u)) >> 13;  /* nearest even; a carry moves the exponent */
    normal = normal < 0x7c00u ? normal : 0x7c00u;  /* beyond the largest: infinity */
    /* below 2^-14: the subnormal's integer |f| * 2^24 (exact), rounded to nearest even by adding 2^23 */
    float magnitude, t; memcpy(&magnitude, &a, 4);
    t = magnitude * 0x1p24f + 0x1p23f;
    unsigned int small; memcpy(&small, &t, 4);
    small -= 0x4b000000u;
    unsigned int nan = 0x7e00u | ((a >> 13) & 0x3ffu);  /* quiet, with the payload's leading bits */
    unsigned int is_nan = 0u - (a > 0x7f800000u), is_small = 0u - (a < 0x38800000u);
    unsigned int r = (nan & is_nan) | (small & is_small & ~is_nan) | (normal & ~(is_small | is_nan));
    return (unsigned short)(sign | r);
}
"""

_VECTOR_LOW = {"bf16": """\
#include <immintrin.h>
static inline __attribute__((always_inline)) __m512 dl_wide_v(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
static inline __attribute__((always_inline)) __m256i dl_narrow_v(__m512 f)
{
    __m512i u = _mm512_castps_si512(f);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), odd), 16);
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(f, f, _CMP_UNORD_Q), _mm512_set1_epi32(0xffff));
    return _mm512_cvtepi32_epi16(r);
}
""", "fp16": """\
#include <immintrin.h>
static inline __attribute__((always_inline)) __m512 dl_wide_v(__m256i h) { return _mm512_cvtph_ps(h); }
static inline __attribute__((always_inline)) __m256i dl_narrow_v(__m512 f)
{
    return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}
"""}

PREFETCH_VALUES = 512
"""How far ahead of the loop on whole vectors each buffer it reads is fetched into the cache (``_mm_prefetch``; a fetch
past a tensor's end is harmless: it never faults).  With the root written out, the loop has enough instructions that a
core keeps too few of its loads in flight: AdaGrad on one 16M tensor, one thread, ran at 0.94x torch's fused step
without and 1.10x with (2048 values ahead gave the same)."""

BLOCK = 512
"""Values per block of a plan with square roots (its stages' arrays stay in the L1 cache)."""


ROOT_C = r"""
#include <immintrin.h>
/* torch's float32 sqrt (MKL's vsSqrt on AVX-512), lane by lane: y ~ 1/sqrt(x) (rsqrt14), s = x y,
   r = s + (x - s s) (y / 2); x below 2^-64 is scaled by 2^64 and r by 2^-32; 0, +inf and NaN give
   C's root, a negative x a positive NaN.  GCC's vector-function ABI lets the loop call it on whole vectors. */
#define DL_ROOT_BODY(LANES, V, M, P)                                                                  \
    const M all = (M)((1u << LANES) - 1);                                                             \
    M ok = _mm##P##_cmp_ps_mask(x, _mm##P##_set1_ps(0x1p-64f), _CMP_GE_OQ)                           \
         & _mm##P##_cmp_ps_mask(x, _mm##P##_set1_ps(0x1.fffffep127f), _CMP_LE_OQ);                    \
    V xs = x;                                                                                         \
    M small = 0;                                                                                      \
    if (ok != all) {                                                                                  \
        small = _mm##P##_cmp_ps_mask(x, _mm##P##_set1_ps(0x1p-64f), _CMP_LT_OQ)                      \
              & _mm##P##_cmp_ps_mask(x, _mm##P##_setzero_ps(), _CMP_GT_OQ);                           \
        xs = _mm##P##_mask_mul_ps(x, small, x, _mm##P##_set1_ps(0x1p64f));                            \
    }                                                                                                 \
    V y = _mm##P##_rsqrt14_ps(xs);                                                                    \
    V s = _mm##P##_mul_ps(xs, y);                                                                     \
    V r = _mm##P##_fmadd_ps(_mm##P##_fnmadd_ps(s, s, xs), _mm##P##_mul_ps(y, _mm##P##_set1_ps(0.5f)), s); \
    if (ok != all) {                                                                                  \
        r = _mm##P##_mask_mul_ps(r, small, r, _mm##P##_set1_ps(0x1p-32f));                            \
        V ieee = _mm##P##_mask_mov_ps(_mm##P##_sqrt_ps(x),                                            \
                                      _mm##P##_cmp_ps_mask(x, _mm##P##_setzero_ps(), _CMP_LT_OQ),     \
                                      _mm##P##_set1_ps(__builtin_nanf("")));                          \
        r = _mm##P##_mask_mov_ps(r, (M)(all & ~(ok | small)), ieee);                                  \
    }                                                                                                 \
    return r;

__attribute__((simd("notinbranch"), const, nothrow)) float dl_root(float x);
static inline __attribute__((always_inline)) __m512 dl_root_v(__m512 x) { DL_ROOT_BODY(16, __m512, __mmask16, 512) }
__m512 dl_root_e(__m512 x) __asm__("_ZGVeN16v_dl_root");
__m512 dl_root_e(__m512 x) { return dl_root_v(x); }
__m256 dl_root_d(__m256 x) __asm__("_ZGVdN8v_dl_root");
__m256 dl_root_d(__m256 x) { DL_ROOT_BODY(8, __m256, __mmask8, 256) }
__m256 dl_root_c(__m256 x) __asm__("_ZGVcN8v_dl_root");
__m256 dl_root_c(__m256 x) { return dl_root_d(x); }
__m128 dl_root_b(__m128 x) __asm__("_ZGVbN4v_dl_root");
__m128 dl_root_b(__m128 x) { DL_ROOT_BODY(4, __m128, __mmask8, ) }
float dl_root_s(float x) __asm__("dl_root");
float dl_root_s(float x) { return _mm_cvtss_f32(dl_root_b(_mm_set1_ps(x))); }

__attribute__((visibility("default"))) void descentlab_roots(long n, const float *x, float *r)
{
    for (long i = 0; i < n; ++i) r[i] = dl_root(x[i]);
}
"""
"""C of torch's float32 root for AVX-512 processors (see :class:`Source`), put before a kernel that uses it."""


SPLIT_C = r"""
/* dl_split runs run(parts + k size) for k = 0 .. threads - 1, each on a thread of its own.  Built with OpenMP, the
   threads are the OpenMP runtime's that torch has already loaded (libgomp.so.1 is found by its name): no thread is
   started per call, and none competes with torch's, whose workers wait spinning for a while after each parallel op
   (POSIX threads started per call beside them ran a step at about half speed).  POSIX threads run it without
   OpenMP, and when posix is set: in a child forked from a process that ran OpenMP, whose pool of threads did not come
   along (OpenMP would wait for them forever, as torch's own parallel ops do there). */
#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif

__attribute__((visibility("default"))) int descentlab_openmp(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

/* where range k of threads equal contiguous ranges of total values starts: a multiple of 64 values (whole cache
   lines), total for k = threads */
static long dl_cut(long total, long k, long threads)
{
    return k == 0 ? 0 : k == threads ? total : (long)(((__int128)total * k / threads) & ~63L);
}

static void dl_split(long threads, int posix, void *(*run)(void *), char *parts, long size)
{
    if (threads <= 1) {
        run(parts);
        return;
    }
#ifdef _OPENMP
    if (!posix) {
        #pragma omp parallel num_threads(threads)
        {
            long team = omp_get_num_threads();  /* fewer than asked when nested: each runs every team-th range */
            for (long k = omp_get_thread_num(); k < threads; k += team) run(parts + k * size);
        }
        return;
    }
#else
    (void)posix;
#endif
    pthread_t ids[64];
    long made = 0;
    for (long k = 1; k < threads; ++k) {
        if (pthread_create(&ids[k], 0, run, parts + k * size) != 0) break;
        made = k;
    }
    run(parts);
    for (long k = made + 1; k < threads; ++k) run(parts + k * size);  /* a thread that could not start: here */
    for (long k = 1; k <= made; ++k) pthread_join(ids[k], 0);
}
"""
"""C that splits a call over threads, the kernels' and the bench's triad (:mod:`descentlab.bench.triad`); compiled with
:data:`_OPENMP` where the compiler has it."""


_C_TEMPLATE = """\
/* generated by descentlab.engine.paths.native from a traced update rule: one pass over every value */
#include <math.h>
{split}
{prelude}
typedef void (*root_fn)(int, const {real} *, {real} *);

static void loop(long n, root_fn root, {pointers}{scalar_parameters}{constant_parameters})
{{
        {body}
}}

struct work {{ long count; const long *sizes; void *const *ptrs; const double *pt; const double *cs; root_fn root; long lo, hi; }};

/* values lo..hi of the tensors laid end to end */
static void *range(void *arg)
{{
    const struct work *w = (const struct work *)arg;
{unpack_constants}
    long start = 0;
    for (long t = 0; t < w->count && start < w->hi; start += w->sizes[t], ++t) {{
        long end = start + w->sizes[t];
        if (end <= w->lo) continue;
        long lo = w->lo > start ? w->lo - start : 0;
        long hi = (w->hi < end ? w->hi : end) - start;
        const double *pt = w->pt;
        void *const *ptrs = w->ptrs;
{unpack_pointers}
{unpack_scalars}
        loop(hi - lo, w->root, {pass_pointers}{pass_scalars}{pass_constants});
    }}
    return 0;
}}

__attribute__((visibility("default")))
int descentlab_step(long count, const long *sizes, void *const *ptrs, const double *pt, const double *cs, long threads,
                    void *root)
{{
    long total = 0;
    for (long t = 0; t < count; ++t) total += sizes[t];
    int posix = threads < 0;  /* POSIX threads rather than OpenMP's (a forked child) */
    if (posix) threads = -threads;
    if (threads < 1) threads = 1;
    if (threads > 64) threads = 64;
    struct work parts[64];
    for (long k = 0; k < threads; ++k) {{
        struct work one = {{count, sizes, ptrs, pt, cs, (root_fn)root, dl_cut(total, k, threads),
                            dl_cut(total, k + 1, threads)}};
        parts[k] = one;
    }}
    dl_split(threads, posix, range, (char *)parts, sizeof parts[0]);
    return 0;
}}
"""


# ------------------------------------------------------------------------------------------------
# compiling and loading
# ------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    """Where compiled kernels are kept: ``$DESCENTLAB_CACHE``, else ``kernels`` in descentlab's cache
    (:func:`descentlab.files.default_cache_dir`: ``$XDG_CACHE_HOME/descentlab``, ``~/.cache/descentlab``, or a
    temporary folder when the home directory does not exist)."""
    own = os.environ.get("DESCENTLAB_CACHE")
    if own:
        return Path(own)
    return default_cache_dir() / "kernels"


def compiler() -> str | None:
    """The C compiler's path (``$CC``, else ``cc``, ``gcc``, ``clang``), or ``None``."""
    for name in (os.environ.get("CC", ""), "cc", "gcc", "clang"):
        if name:
            found = shutil.which(name)
            if found:
                return found
    return None


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return f"{platform.machine()} {platform.processor()}"


_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}  # the library's name -> its function
_SAID: set[str] = set()


def _say_once(key: str, message: str, *args: Any, level: int = logging.INFO) -> None:
    if key not in _SAID:
        _SAID.add(key)
        _log.log(level, message, *args)


def build(text: str) -> Any:
    """The ``descentlab_step`` function of ``text``, compiled once per machine (``None`` if it cannot be)."""
    cc = compiler()
    if cc is None:
        _say_once("no compiler", "descentlab: no C compiler found (cc, gcc, clang or $CC): the default optimizer "
                  "step replays its plan with torch's foreach calls (slower on large tensors)", level=logging.WARNING)
        return None
    try:
        stat = os.stat(os.path.realpath(cc))
    except OSError:
        stat = None
    identity = f"{text}\n{_FLAGS} {_OPENMP}\n{os.path.realpath(cc)} {stat and stat.st_size} {stat and stat.st_mtime_ns}\n{_cpu_flags()}"
    name = f"step-{hashlib.sha256(identity.encode()).hexdigest()[:24]}.so"
    with _LOCK:
        if name in _LOADED:
            return _LOADED[name]
        directory = cache_dir()
        library = directory / name
        function = None
        try:
            if not library.is_file():
                function = _compile(cc, text, directory, library)
            if library.is_file():
                function = _load(library)
        except (OSError, ValueError, RuntimeError) as error:
            _say_once(f"failed {name}", "descentlab: could not build a native optimizer kernel (%s): the default step "
                      "replays its plan with torch's foreach calls", str(error).splitlines()[0] if str(error) else
                      type(error).__name__, level=logging.WARNING)
            function = None
        _LOADED[name] = function
        return function


def _compile(cc: str, text: str, directory: Path, library: Path) -> None:
    import subprocess
    import time

    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with atomic_path(library.with_suffix(".c")) as source:
        source.write_text(text, encoding="utf-8")
    with atomic_path(library) as out:
        for openmp in ((_OPENMP,), ()):
            done = subprocess.run([cc, *_FLAGS, *openmp, "-o", str(out), str(library.with_suffix(".c")), "-lm"],
                                  capture_output=True, text=True, timeout=120, check=False)
            if done.returncode == 0:
                break
        if done.returncode != 0:
            raise RuntimeError(f"{os.path.basename(cc)} exited with {done.returncode}: {done.stderr.strip()[:300]}")
    _say_once(f"built {library.name}", "descentlab: compiled a native optimizer kernel with %s in %.2f s "
              "(once per machine; kept in %s)", os.path.basename(cc), time.perf_counter() - started, directory)


def _load(library: Path) -> Any:
    loaded = ctypes.CDLL(str(library))
    function = loaded.descentlab_step
    function.library = loaded  # (its other function, where the kernel has the written root: descentlab_roots)
    function.openmp = hasattr(loaded, "descentlab_openmp") and bool(loaded.descentlab_openmp())
    if hasattr(loaded, "descentlab_roots"):
        loaded.descentlab_roots.restype = None
        loaded.descentlab_roots.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_long, ctypes.c_void_p]
    return function


# ------------------------------------------------------------------------------------------------
# a plan's kernel
# ------------------------------------------------------------------------------------------------

class Kernel:
    """A plan's compiled loop for one dtype: :meth:`__call__` runs a step over whole contiguous tensors."""

    def __init__(self, source: Source, function: Any) -> None:
        self.source = source
        self.function = function
        self.buffers = tuple(source.buffers)
        self.constants = torch.tensor(source.constants or [0.0], dtype=torch.float64)
        self.checked = False
        self.root = torch_root(source.ctype) if source.stages > 1 else None
        self.ieee_roots = source.ieee_roots

    def __call__(self, tensors: dict[str, Sequence[Tensor]], scalars: Sequence[Any], count: int,
                 threads: int | None = None, tables: Tables | None = None) -> None:
        """One step: ``tensors[name][i]`` is tensor ``i``'s buffer ``name`` (contiguous, all of one numel per ``i``);
        ``scalars`` the plan's per-tensor scalars (a number for all, or one per tensor).

        ``tables`` (the caller's, kept between steps; see :class:`Tables`) keeps the tables of addresses, sizes
        and scalars the loop reads: a step whose tensors are where they were (or whose gradients alone are new
        tensors, as after ``zero_grad()``) rewrites only what moved."""
        tables = tables if tables is not None else Tables()
        pointers, sizes, total = tables.addresses(self.buffers, tensors, count)
        if self.source.per_tensor:
            table = tables.scalars(scalars, count)
        else:
            table = _NO_SCALARS
        if threads is None:
            threads = torch.get_num_threads() if total >= THREADED_VALUES else 1
        if _FORK.child:
            threads = -threads  # (the OpenMP pool stayed in the parent: POSIX threads, see SPLIT_C)
        self.function(count, sizes, pointers, table, self.constants.data_ptr(), threads, self.root)


class _Fork:
    child = False  # whether this process was forked after this module was imported


_FORK = _Fork()


def _forked() -> None:
    _FORK.child = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)

_DATA_PTR = torch.Tensor.data_ptr
_NUMEL = torch.Tensor.numel
_NO_SCALAR_TABLE = (ctypes.c_double * 1)()  # (kept alive: the loop is given its address)
_NO_SCALARS = ctypes.addressof(_NO_SCALAR_TABLE)


class Tables:
    """A kernel call's tables (the buffers' addresses tensor by tensor, the sizes, the per-tensor scalars), kept
    between steps by the caller and rewritten only where something moved.

    Every step reads every buffer's address again (``data_ptr``: a parameter given new data by ``p.data = ...``,
    a gradient made anew by each backward pass), so the tables never point at memory a tensor has left; what is
    saved is building them: a column of addresses that did not change is not written, and the sizes are read
    again only when the first buffer (the parameters) moved.
    """

    __slots__ = ("_columns", "_pointers", "_sizes", "_total", "_key", "_scalar_key", "_scalar_table")

    def __init__(self) -> None:
        self._columns: list[list[int]] | None = None
        self._key: tuple | None = None
        self._scalar_key: Any = None

    def addresses(self, buffers: Sequence[str], tensors: dict[str, Sequence[Tensor]], count: int) -> tuple[int, int, int]:
        """The addresses of the pointer table and of the size table, and the number of values, for this step."""
        columns = [list(map(_DATA_PTR, tensors[name])) for name in buffers]
        key = (tuple(buffers), count)
        if self._key != key or self._columns is None:
            width = len(buffers)
            self._pointers = (ctypes.c_void_p * max(count * width, 1))()
            for j, column in enumerate(columns):
                self._pointers[j::width] = column
            self._size_table(tensors[buffers[0]] if buffers else None, count)
            self._key, self._columns = key, columns
        elif columns != self._columns:
            width = len(buffers)
            for j, (column, old) in enumerate(zip(columns, self._columns)):
                if column != old:
                    self._pointers[j::width] = column
            if columns[0] != self._columns[0]:
                self._size_table(tensors[buffers[0]], count)
            self._columns = columns
        return ctypes.addressof(self._pointers), ctypes.addressof(self._sizes), self._total

    def _size_table(self, first: Sequence[Tensor] | None, count: int) -> None:
        sizes = list(map(_NUMEL, first)) if first is not None else [0] * count
        self._sizes = (ctypes.c_long * max(count, 1))(*sizes)
        self._total = sum(sizes)

    def scalars(self, scalars: Sequence[Any], count: int) -> int:
        """The address of the per-tensor scalars' table (``count`` rows of one value per scalar)."""
        per_tensor = any(isinstance(value, list) for value in scalars)
        key = None if per_tensor else (tuple(float(value).hex() for value in scalars), count)  # (-0.0 is not 0.0)
        if key is None or key != self._scalar_key:
            rows = [value if isinstance(value, list) else [value] * count for value in scalars]
            values = [float(v) for row in zip(*rows) for v in row]
            self._scalar_table = (ctypes.c_double * max(len(values), 1))(*values)
            self._scalar_key = key
        return ctypes.addressof(self._scalar_table)


def emulated_root_possible() -> bool:
    """Whether :data:`ROOT_C` can be compiled here: a processor with AVX-512 F and VL (the compiler targets it)."""
    flags = set(_cpu_flags().split())
    return {"avx512f", "avx512vl"} <= flags and os.environ.get("DESCENTLAB_ROOT", "") != "mkl"


_ROOT_VERDICT: list[bool] = []


def root_sample() -> Tensor:
    """float32 values on which :data:`ROOT_C` is checked against torch's ``sqrt``: every 61st mantissa of the two
    exponents [1, 4) (the root repeats its rounding per factor 4), subnormals, the values about the 2^-64 bound,
    the ends of the range, zeros, infinities, NaNs, negatives, and random bit patterns."""
    def patterns(start: int, end: int, step: int = 1) -> Tensor:
        return torch.arange(start, end, step, dtype=torch.int32)

    bits = [patterns(0x3F800000, 0x40800000, 61), patterns(0, 0x00800000, 997),
            patterns(0x1F800000 - 2**15, 0x1F800000 + 2**15),
            torch.tensor([0, 1, 0x7F7FFFFF, 0x7F800000, 0x7FC00000, 0x7F800001, -2**31, -2**31 + 1, -0x40800000,
                          -0x00800000, -0x00400000], dtype=torch.int32),
            torch.randint(-2**31, 2**31 - 1, (1 << 18,), generator=torch.Generator().manual_seed(0), dtype=torch.int32)]
    return torch.cat(bits).view(torch.float32)


def emulated_root_agrees(library: Any) -> bool:
    """Whether ``library``'s ``descentlab_roots`` gives torch's ``sqrt`` bit for bit on :func:`root_sample`
    (once per process; a disagreement is said once on the log and the kernels use MKL's routine between stages)."""
    if not _ROOT_VERDICT:
        x = root_sample()
        out = torch.empty_like(x)
        library.descentlab_roots(x.numel(), x.data_ptr(), out.data_ptr())
        same = torch.equal(out.view(torch.int32), x.sqrt().view(torch.int32))
        _ROOT_VERDICT.append(same)
        if not same:
            _say_once("root", "descentlab: torch's float32 square root is not the one written in the kernels on this "
                      "processor; the kernels call torch's routine between stages (a little slower)",
                      level=logging.INFO)
    return _ROOT_VERDICT[0]


def kernel_for(plan: Plan, dtype: torch.dtype, torch_roots: bool = True, compensated: bool = False) -> Kernel | None:
    """``plan``'s kernel for ``dtype`` (built or loaded on first use), or ``None`` where the replay must run.

    For a bfloat16/float16 ``dtype`` the plan is float32's (the working dtype); ``compensated``: the parameter's
    rounding error is kept in the state's ``"compensation"`` (:mod:`descentlab.engine.state.precision`).

    Kept on the plan (plans are kept by :func:`~descentlab.engine.paths.inplace.plan_for`); plans of one shape
    share the compiled function, whatever their numbers.
    """
    if not enabled():
        return None
    kept = plan.__dict__.setdefault("_native", {})
    key = (dtype, torch_roots) if not compensated else (dtype, torch_roots, True)
    if key in kept:
        return kept[key]
    kernel = None
    try:
        source = Source(plan, dtype, torch_roots, compensated)
    except NativeUnsupported:
        source = None
    if source is not None:
        function = build(source.text)
        if function is not None and source.emulated_root and not emulated_root_agrees(function.library):
            source = Source(plan, dtype, torch_roots, compensated, emulate=False)
            function = build(source.text)
        if function is not None:
            kernel = Kernel(source, function)
    kept[key] = kernel
    return kernel


def refuse(plan: Plan, kernel: Kernel, why: str) -> None:
    """Never use ``kernel`` for ``plan`` again in this process (the replay runs), said once on the log."""
    kept = plan.__dict__.setdefault("_native", {})
    for key, value in list(kept.items()):
        if value is kernel:
            kept[key] = None
    _say_once(f"refused {why}", "descentlab: a native optimizer kernel was not used (%s); the replay runs instead",
              why, level=logging.WARNING)


def agrees_with_replay(kernel: Kernel, plan: Plan, run: Any, tensors: dict[str, list[Tensor]],
                       scalars: list[Any]) -> bool:
    """Whether ``kernel`` gives the replay's bits on a probe: the leading values of the step's first tensor (its
    real state) and random ones, with the step's own scalars.  Nothing of the real tensors is written."""
    first = {name: tensors[name][0].reshape(-1)[:256] for name in tensors}
    generator = torch.Generator().manual_seed(0)
    dtypes = {name: value.dtype for name, value in first.items()}  # (a 16-bit parameter's state is float32)
    probes = [first, {name: (torch.randn(997, generator=generator, dtype=dtypes[name]).abs() + 0.01)
                      if name not in ("x", "g") else torch.randn(997, generator=generator, dtype=dtypes[name])
                      for name in tensors}]
    one = [value[0] if isinstance(value, list) else value for value in scalars]
    reference = _with_ieee_roots(plan) if kernel.ieee_roots else plan
    for probe in probes:
        native = {name: [value.clone()] for name, value in probe.items()}
        replayed = {name: [value.clone()] for name, value in probe.items()}
        run(reference, replayed, one)
        kernel(native, one, 1, threads=1)
        for name in tensors:
            a, b = native[name][0], replayed[name][0]
            if not _same_but_nans(a, b):
                return False
    return True


def _same_but_nans(a: Tensor, b: Tensor) -> bool:
    """Bit for bit where either is a number, and a nan where the other is one (of any sign and payload).

    A step is held to this, not to a nan's bits: torch's own ops give a nan's bits by its place in the tensor (on whole
    vectors of 16 values or in the last few: ``torch.maximum``'s nan is ``0xffffffff`` on vectors and the nan it was
    given elsewhere; the float16 -> float32 conversion keeps a nan's sign and payload on vectors and gives
    ``0x7fffffff`` elsewhere), so no loop can give torch's nan bits."""
    nans = a.isnan()
    return torch.equal(nans, b.isnan()) and torch.equal(a.view(_INTS[a.dtype])[~nans], b.view(_INTS[a.dtype])[~nans])


class _Program:
    __slots__ = ("program",)

    def __init__(self, program: list) -> None:
        self.program = program


def _ieee_sqrt(tensors: list[Tensor]) -> list[Tensor]:
    import numpy

    with numpy.errstate(invalid="ignore"):  # (a negative probe value's root is nan, as torch's)
        return [torch.from_numpy(numpy.sqrt(t.numpy())) for t in tensors]  # (NumPy's root is the processor's: IEEE's)


def _ieee_sqrt_(tensors: list[Tensor]) -> None:
    for t, root in zip(tensors, _ieee_sqrt(tensors)):
        t.copy_(root)


def _with_ieee_roots(plan: Plan) -> _Program:
    """``plan``'s calls with IEEE's square root in place of torch's (the reference of a kernel that takes it)."""
    from . import inplace

    program = []
    for instruction in plan.program:
        name, target, source, args, alpha = instruction.call
        if name == "copy":
            program.append(instruction)
        elif name == "sqrt":
            program.append(_root_call(target, source))
        else:
            program.append(inplace._call(name, target, source, args, alpha))
    return _Program(program)


def _root_call(target: str, source: str | None) -> Any:
    def run(env: dict[str, list], scalars: list) -> None:
        if source is None:
            _ieee_sqrt_(env[target])
        else:
            env[target] = _ieee_sqrt(env[source])
    return run


_INTS = {torch.float32: torch.int32, torch.float64: torch.int64, torch.bfloat16: torch.int16, torch.float16: torch.int16}


__all__ = ["switched_off", "Kernel", "NativeUnsupported", "Source", "THREADED_VALUES", "Tables", "build", "cache_dir", "compiler", "enabled",
           "kernel_for", "refuse"]
