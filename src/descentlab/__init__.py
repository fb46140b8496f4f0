"""descentlab: gradient-descent optimizers from scratch, a 2D lab and the airfoil experiment.

The update rules live in :mod:`descentlab.algorithms` (one pure function each,
one registry); :mod:`descentlab.optim` wraps them as ``torch.optim.Optimizer``
classes.
"""

from __future__ import annotations

from typing import Any

from . import _moved

__version__ = "0.1.0"

_moved.install()


def __getattr__(name: str) -> Any:
    """``descentlab.REGISTRY``, imported on first use: ``import descentlab.cli`` must not import torch yet."""
    if name == "REGISTRY":
        from .algorithms import REGISTRY

        return REGISTRY
    raise AttributeError(f"module 'descentlab' has no attribute {name!r}")

__all__ = ["REGISTRY", "__version__"]
