"""Let torchvision import beside the CPU build of torch, for the real-client tests only.

PyPI's torchvision wheel is built against CUDA torch: its C++ extension (``torchvision._C``)
does not load beside ``torch==2.13.0+cpu``, so none of the ``torchvision::`` operators exist.
torchvision guards most of its registrations with ``extension._has_ops()``, but two
``torch.library.register_fake("torchvision::nms" | "torchvision::qnms")`` calls in
``torchvision/_meta_registrations.py`` are unguarded and raise
``RuntimeError: operator torchvision::nms does not exist`` -- so ``import torchvision`` fails,
and with it every library that imports torchvision when it is installed: timm (a hard
dependency: ``timm.layers`` imports ``torchvision.ops.misc``), PyTorch Lightning (through
torchmetrics) and the Hugging Face ``Trainer``.

:func:`import_torchvision` imports torchvision once with those fake-kernel registrations
skipped for ``torchvision::`` operators that do not exist, then puts ``torch.library`` back
as it was.  Nothing the client tests run calls a ``torchvision::`` operator (they train
tiny linear models); torchvision's Python modules (``ops.misc.FrozenBatchNorm2d``,
transforms) work as usual, and a call to a missing operator still fails loudly.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from types import ModuleType
from typing import Any

import torch
import torch.library

_PREFIX = "torchvision::"


def _lenient(register_fake: Callable[..., Any]) -> Callable[..., Any]:
    """``register_fake`` that does nothing for a ``torchvision::`` operator that does not exist."""

    def register(op: Any, fn: Callable[..., Any] | None = None, /, **kwargs: Any) -> Any:
        if not (isinstance(op, str) and op.startswith(_PREFIX)) or _exists(op):
            return register_fake(op, fn, **kwargs) if fn is not None else register_fake(op, **kwargs)
        return fn if fn is not None else (lambda f: f)

    return register


def _exists(qualname: str) -> bool:
    """Whether the operator ``namespace::name`` is registered with the dispatcher."""
    name = qualname[len(_PREFIX):].split(".")[0]
    return hasattr(torch.ops.torchvision, name)


def import_torchvision() -> ModuleType | None:
    """Import torchvision (None when it is not installed) so that the clients importing it work."""
    if importlib.util.find_spec("torchvision") is None:
        return None
    original = torch.library.register_fake
    torch.library.register_fake = _lenient(original)
    try:
        import torchvision
    finally:
        torch.library.register_fake = original
    return torchvision
