"""Search spaces over every hyperparameter, and the optimizers they belong to.

An optimizer is named by a registry name (``adam``) or by the import path of a
``torch.optim.Optimizer`` class (``torch.optim.NAdam``,
``pytorch_optimizer.Lion``).  A registry algorithm's space comes from its spec
table, by one rule for every algorithm:

- a required learning rate: log-uniform on ``LR_RANGE``;
- a positive hyperparameter with a default ``d`` (ε, AdaDelta's lr multiplier):
  log-uniform on ``[d / 1000, d * 100]``;
- a decay rate β (momentum, γ, ρ, both Adam βs): ``1 − β`` log-uniform on
  ``DECAY_RANGE``, unless its default is 0 (RMSProp's momentum: a variant);
- everything else (flags, variants, weight decay, learning-rate decay,
  initial accumulators) stays at its default, for every optimizer alike.

A class given by import path takes its space from a JSON or TOML file
(``--space``; the bundled ``torch_spaces.json`` covers common torch.optim
classes): ``{"torch.optim.NAdam": {"search": {"lr": {"low": 1e-5, "high": 3,
"scale": "log"}, "betas[0]": {"low": 1e-4, "high": 0.5, "scale": "log1m"}},
"fixed": {"weight_decay": 0}}}``.  ``scale`` is ``log``, ``log1m`` (``1 − x``
log-uniform between ``low`` and ``high``) or ``linear``; ``name[i]`` is the
``i``-th element of a tuple argument.

Trials are points of a scrambled Sobol sequence (``torch.quasirandom.SobolEngine``)
seeded from the protocol's seed and the optimizer's name, so a benchmark is
reproducible from its seed.
"""

from __future__ import annotations

import importlib
import inspect
import json
import math
import re
import stat
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..algorithms import REGISTRY, AlgorithmSpec
from ..algorithms.spec import decay_pair, decay_rate, nonnegative, real_number

LR_RANGE = (1e-5, 3.0)
DECAY_RANGE = (1e-4, 0.5)  # of 1 - β: β from 0.5 to 0.9999
DEFAULT_SPREAD = (1e-3, 1e2)  # a positive default d is searched on [d * 1e-3, d * 1e2]
SCALES = ("log", "log1m", "linear")
BUNDLED = "torch_spaces.json"


class SpaceError(ValueError):
    """A bad optimizer name or search-space file: one-line message."""


MAX_BOUND = 1e6
"""A searched value's magnitude at most (a learning rate, a decay, an epsilon: far inside this)."""
MIN_LOG_BOUND = 1e-30
"""A log scale's low at least (an epsilon of 1e-16 is well inside)."""


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: ``name`` (``betas[1]`` for a tuple element), its range and scale."""

    name: str
    low: float
    high: float
    scale: str

    def __post_init__(self) -> None:
        where = f"search dimension {self.name!r}"
        if self.scale not in SCALES:
            raise SpaceError(f"{where}: scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        for bound in (self.low, self.high):
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
                raise SpaceError(f"{where}: low and high must be finite numbers, got {bound!r}")
            if abs(bound) > MAX_BOUND:
                raise SpaceError(f"{where}: low and high must lie within ±{MAX_BOUND:g} (what the sampler and the "
                                 f"report's plots represent), got {bound!r}")
        if not self.low < self.high:
            raise SpaceError(f"{where}: low must be < high, got {self.low!r} and {self.high!r}")
        if self.scale != "linear" and self.low <= 0:
            raise SpaceError(f"{where}: a {self.scale} scale needs low > 0, got {self.low!r}")
        if self.scale != "linear" and self.low < MIN_LOG_BOUND:
            raise SpaceError(f"{where}: a {self.scale} scale needs low >= {MIN_LOG_BOUND:g} (what the sampler and "
                             f"the report's plots represent), got {self.low!r}")
        if self.scale == "log1m" and self.high > 1:
            raise SpaceError(f"{where}: log1m bounds 1 - x, so high must be <= 1, got {self.high!r}")

    def value(self, u: float) -> float:
        """The point at ``u`` in [0, 1)."""
        if self.scale == "linear":
            return self.low + u * (self.high - self.low)
        x = math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return 1 - x if self.scale == "log1m" else x

    def describe(self) -> str:
        if self.scale == "log1m":
            return f"1−{self.name} ∈ [{self.low:g}, {self.high:g}] (log)"
        return f"{self.name} ∈ [{self.low:g}, {self.high:g}] ({self.scale})"


_ELEMENT = re.compile(r"^([A-Za-z_]\w*)\[(\d+)\]$")


@dataclass(frozen=True)
class Space:
    """The searched dimensions and the fixed keyword arguments of one optimizer."""

    dimensions: tuple[Dimension, ...]
    fixed: dict[str, Any] = field(default_factory=dict)

    def sample(self, trials: int, seed: int) -> list[dict[str, Any]]:
        """``trials`` settings (keyword arguments), the first points of a scrambled Sobol sequence."""
        import torch

        if not self.dimensions:
            return [dict(self.fixed) for _ in range(trials)]
        engine = torch.quasirandom.SobolEngine(len(self.dimensions), scramble=True, seed=seed)
        points = engine.draw(trials, dtype=torch.float64).tolist()
        return [self.assemble(point) for point in points]

    def assemble(self, point: list[float]) -> dict[str, Any]:
        """The keyword arguments at one point of the unit cube (tuple elements put together)."""
        kwargs: dict[str, Any] = dict(self.fixed)
        parts: dict[str, dict[int, float]] = {}
        for dim, u in zip(self.dimensions, point):
            match = _ELEMENT.match(dim.name)
            if match:
                parts.setdefault(match[1], {})[int(match[2])] = dim.value(u)
            else:
                kwargs[dim.name] = dim.value(u)
        for name, elements in parts.items():
            base = list(kwargs.get(name, ()))
            width = max(len(base), max(elements) + 1)
            base += [None] * (width - len(base))
            for i, v in elements.items():
                base[i] = v
            if any(v is None for v in base):
                raise SpaceError(f"{name}: give every element of the tuple (search or fixed), got {base}")
            kwargs[name] = tuple(base)
        return kwargs

    def describe(self) -> str:
        searched = "; ".join(d.describe() for d in self.dimensions) or "nothing searched"
        return searched + (f"; fixed {', '.join(f'{k}={v}' for k, v in self.fixed.items())}" if self.fixed else "")


def registry_space(spec: AlgorithmSpec) -> Space:
    """The space of a registry algorithm, by the module docstring's rule."""
    dims: list[Dimension] = []
    for h in spec.hyperparameters:
        if h.check is nonnegative and h.name == "lr" and h.required:
            dims.append(Dimension("lr", *LR_RANGE, "log"))
        elif h.check in (nonnegative, real_number) and not h.required and h.default > 0:
            dims.append(Dimension(h.name, h.default * DEFAULT_SPREAD[0], h.default * DEFAULT_SPREAD[1], "log"))
        elif h.check is decay_rate and (h.required or h.default > 0):
            dims.append(Dimension(h.name, *DECAY_RANGE, "log1m"))
        elif h.check is decay_pair:
            dims += [Dimension(f"{h.name}[{i}]", *DECAY_RANGE, "log1m") for i in range(2)]
    return Space(tuple(dims))


def sobol_seed(seed: int, optimizer: str) -> int:
    """The Sobol scrambling seed of one optimizer under the protocol's ``seed`` (stable across runs and machines)."""
    return (seed * 1_000_003 + zlib.crc32(optimizer.encode())) % 2**31


# ----- optimizers named by import path --------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerRef:
    """What a benchmark runs: a registry algorithm (batched) or a torch.optim class by import path (one run at a time)."""

    name: str
    space: Space

    @property
    def batched(self) -> bool:
        return self.name in REGISTRY

    @property
    def title(self) -> str:
        return REGISTRY[self.name].title if self.batched else self.name


def import_optimizer(path: str) -> type:
    """The ``torch.optim.Optimizer`` subclass at ``path`` (``module.Class``); ``SpaceError`` otherwise."""
    import torch

    module_name, _, attr = path.rpartition(".")
    if not module_name or not attr:
        raise SpaceError(f"unknown optimizer {path!r}: give a registry name ({', '.join(REGISTRY)}) "
                         "or an import path such as torch.optim.NAdam")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise SpaceError(f"cannot import {path!r}: {error}") from None
    try:
        cls = getattr(module, attr)
    except AttributeError:
        raise SpaceError(f"cannot import {path!r}: module {module_name} has no attribute {attr!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise SpaceError(f"{path} is not a torch.optim.Optimizer class (it is {type(cls).__name__} {cls!r})"[:200])
    return cls


def _parse_space(owner: str, entry: Any, defaults: Mapping[str, Any]) -> Space:
    """The space of ``entry`` for ``owner``, whose arguments and their defaults are ``defaults``: a tuple argument
    searched element by element (``betas[0]``) takes its other elements from ``fixed``, else from its default."""
    where = f"search space of {owner}"
    takes = list(defaults)
    if not isinstance(entry, Mapping) or set(entry) - {"search", "fixed"}:
        raise SpaceError(f"{where}: expected a table with 'search' and optionally 'fixed', got {entry!r}"[:200])
    search, fixed = entry.get("search", {}), entry.get("fixed", {})
    if not isinstance(search, Mapping) or not isinstance(fixed, Mapping):
        raise SpaceError(f"{where}: 'search' and 'fixed' must be tables")
    dims = []
    for name, bounds in search.items():
        base = _ELEMENT.match(name)[1] if _ELEMENT.match(name) else name
        if base not in takes:
            raise SpaceError(f"{where}: {base!r} is not an argument of {owner} (it takes {', '.join(takes)})")
        if not isinstance(bounds, Mapping) or set(bounds) != {"low", "high", "scale"}:
            raise SpaceError(f"{where}: {name!r} needs exactly low, high and scale, got {bounds!r}"[:200])
        try:
            dims.append(Dimension(name, bounds["low"], bounds["high"], bounds["scale"]))
        except SpaceError as error:
            raise SpaceError(f"{where}: {error}") from None
    for name in fixed:
        if name not in takes:
            raise SpaceError(f"{where}: {name!r} is not an argument of {owner} (it takes {', '.join(takes)})")
    fixed = dict(fixed)
    for dim in dims:
        element = _ELEMENT.match(dim.name)
        if element and element[1] not in fixed and isinstance(defaults.get(element[1]), (tuple, list)):
            fixed[element[1]] = tuple(defaults[element[1]])
    space = Space(tuple(dims), fixed)
    space.assemble([0.5] * len(dims))  # a tuple with a missing element fails here, before any run
    return space


MAX_SPACE_BYTES = 1 << 20
"""A search-space file is a few tables: a larger one is refused before it is read."""


def read_space_file(path: str | Path) -> dict[str, Any]:
    """The tables of a JSON (``.json``) or TOML (``.toml``) search-space file; ``SpaceError`` for a bad one.

    Only a regular file of at most :data:`MAX_SPACE_BYTES` is read (a FIFO would block, ``/dev/zero`` never ends).
    """
    path = Path(path)
    if path.suffix.lower() not in (".json", ".toml"):
        raise SpaceError(f"search-space file {path}: use a .json or .toml file")
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise SpaceError(f"search-space file {path} is not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_SPACE_BYTES + 1)
        if len(data) > MAX_SPACE_BYTES:
            raise SpaceError(f"search-space file {path} is larger than {MAX_SPACE_BYTES} bytes")
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpaceError(f"cannot read search-space file {path}: {getattr(error, 'strerror', None) or error}") from None
    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            tables = tomllib.loads(text)
        else:
            tables = json.loads(text)
    except (ValueError, ImportError) as error:
        if isinstance(error, SpaceError):
            raise
        raise SpaceError(f"search-space file {path} is not valid {path.suffix[1:].upper()}: {error}".splitlines()[0]) from None
    if not isinstance(tables, dict):
        raise SpaceError(f"search-space file {path}: expected a table of optimizers, got {type(tables).__name__}")
    return tables


def bundled_spaces() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath(BUNDLED).read_text(encoding="utf-8"))


def resolve(name: str, space_file: str | Path | None = None) -> OptimizerRef:
    """The optimizer named ``name`` with its space: from the registry, or from ``space_file`` / the bundled file.

    A space in ``space_file`` overrides the bundled one, also for a registry algorithm.
    """
    tables = read_space_file(space_file) if space_file is not None else {}
    if name in REGISTRY and name not in tables:
        return OptimizerRef(name, registry_space(REGISTRY[name]))
    if name in REGISTRY:
        spec = REGISTRY[name]
        return OptimizerRef(name, _parse_space(name, tables[name], {h.name: h.default for h in spec.hyperparameters}))
    cls = import_optimizer(name)
    tables = {**bundled_spaces(), **tables}
    if name not in tables:
        raise SpaceError(f"no search space for {name}: give one with --space FILE "
                         f"(a JSON or TOML table named {name!r}; see descentlab benchmark --help)")
    defaults = {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items() if n not in ("self", "params")}
    return OptimizerRef(name, _parse_space(name, tables[name], defaults))


__all__ = ["DECAY_RANGE", "LR_RANGE", "Dimension", "OptimizerRef", "Space", "SpaceError", "bundled_spaces",
           "import_optimizer", "read_space_file", "registry_space", "resolve", "sobol_seed"]
