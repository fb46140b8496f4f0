"""torch's own CPU square root routines: MKL's ``vsSqrt`` and ``vdSqrt``, found in torch's library.

torch's ``sqrt`` of a float32 or float64 tensor on the CPU is MKL's vector routine,
which is not always IEEE's root (1 ulp below it for about 0.6% of float32 values and
0.75% of float64 values here).  The native kernels (:mod:`descentlab.engine.paths.native`)
call it between stages, and a step's scalars (:meth:`descentlab.engine.paths.inplace.Plan.advance`)
take float64 roots from it, so both keep torch's bits.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Sequence

import torch

_ROOTS: dict[str, int | None] = {}


def torch_root(ctype: str) -> int | None:
    """The address of the vector square root torch's CPU ``sqrt`` calls for ``ctype`` (``"float"``: ``vsSqrt``,
    ``"double"``: ``vdSqrt``, in torch's own library), or ``None`` where torch has none (no MKL)."""
    if ctype not in _ROOTS:
        address = None
        try:
            library = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
            address = ctypes.cast(getattr(library, "vsSqrt" if ctype == "float" else "vdSqrt"), ctypes.c_void_p).value
        except (OSError, AttributeError):
            address = None
        _ROOTS[ctype] = address
    return _ROOTS[ctype]


_DOUBLE_ROOT: list = []


def double_roots(values: Sequence[float]) -> list[float] | None:
    """torch's float64 ``sqrt`` of each of ``values`` (MKL's ``vdSqrt``), or ``None`` where torch has no such routine."""
    if not _DOUBLE_ROOT:
        address = torch_root("double")
        _DOUBLE_ROOT.append(None if address is None else ctypes.CFUNCTYPE(
            None, ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double))(address))
    routine = _DOUBLE_ROOT[0]
    if routine is None:
        return None
    count = len(values)
    given, roots = (ctypes.c_double * count)(*values), (ctypes.c_double * count)()
    routine(count, given, roots)
    return list(roots)
