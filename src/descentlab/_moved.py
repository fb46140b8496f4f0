"""The modules that moved into subpackages stay importable under their old names.

``import descentlab.trajectory`` gives the very module ``descentlab.lab.trajectory``
(the same object, so attributes set on one are seen through the other), with a
``DeprecationWarning`` naming the new place.  Only the user-facing modules of the
flat layout are kept here.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

MOVED = {
    "descentlab.objectives": "descentlab.lab.objectives",
    "descentlab.trajectory": "descentlab.lab.trajectory",
    "descentlab.data": "descentlab.airfoil.data",
    "descentlab.train": "descentlab.airfoil.train",
    # the optimizer engine's modules, loose at the top before they became descentlab.engine
    "descentlab.eager": "descentlab.engine.paths.eager",
    "descentlab.inplace": "descentlab.engine.paths.inplace",
    "descentlab.fast": "descentlab.engine.paths.fast",
    "descentlab.counters": "descentlab.engine.paths.counters",
    "descentlab.precision": "descentlab.engine.state.precision",
    "descentlab.checkpoints": "descentlab.engine.state.checkpoints",
    "descentlab.torch_counterparts": "descentlab.engine.torch_names",
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec] = {}

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        return importlib.machinery.ModuleSpec(name, self) if name in MOVED else None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(f"{spec.name} moved to {MOVED[spec.name]}; import it from there", DeprecationWarning, stacklevel=2)
        target = importlib.import_module(MOVED[spec.name])
        self._specs[target.__name__] = target.__spec__
        return target

    def exec_module(self, module: ModuleType) -> None:
        """The target has run already; give it back its own spec (the import machinery set the alias's)."""
        module.__spec__ = self._specs.pop(module.__name__)


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())
