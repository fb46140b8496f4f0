"""descentlab: gradient-descent optimizers from scratch, a 2D lab and the airfoil experiment.

The update rules live in :mod:`descentlab.algorithms` (one pure function each,
one registry); :mod:`descentlab.optim` wraps them as ``torch.optim.Optimizer``
classes.
"""

from __future__ import annotations

from . import guard as _guard

if _guard.is_the_command():  # first of all, before any heavy import: Ctrl-C exits 130 in one line, ...
    _guard.install()

from typing import Any  # noqa: E402 - after the signal handlers, as every import below

from . import _moved  # noqa: E402

__version__ = "0.1.0"

_moved.install()


def __getattr__(name: str) -> Any:
    """``descentlab.REGISTRY``, imported on first use: ``import descentlab.cli`` must not import torch yet."""
    if name == "REGISTRY":
        from .algorithms import REGISTRY

        return REGISTRY
    raise AttributeError(f"module 'descentlab' has no attribute {name!r}")

__all__ = ["REGISTRY", "__version__"]
