"""descentlab: gradient-descent optimizers from scratch, a 2D lab and the airfoil experiment.

The update rules live in :mod:`descentlab.algorithms` (one pure function each,
one registry); :mod:`descentlab.optim` wraps them as ``torch.optim.Optimizer``
classes.
"""

from __future__ import annotations

from . import _moved
from .algorithms import REGISTRY

__version__ = "0.1.0"

_moved.install()

__all__ = ["REGISTRY", "__version__"]
