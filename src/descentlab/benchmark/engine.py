"""Engines: run a batch of (setting, seed) members of one problem and one optimizer, and return their records.

- :func:`run_batched` — a registry algorithm: every member's parameters stacked
  into tensors of shape ``(B, ...)``, one autograd pass for the summed loss
  (members never mix, so each gets its own gradient), and the registry's own
  update rule applied to the stacked tensors with each member's hyperparameters
  as a ``(B, 1, ...)`` tensor.  Seed ``k`` of a batch is the run with seed ``k``.
- :func:`run_loop` — one member with a ``torch.optim.Optimizer`` class, the
  usual ``zero_grad`` / ``backward`` / ``step`` loop (any class, ours or
  third-party).
- :class:`LocalEngine` and :class:`RayEngine` map a list of :class:`Task` to
  their records, here one after the other or on a Ray cluster.  A task names
  its problem (and budget and data path) instead of carrying tensors, so a Ray
  worker rebuilds the same problem; both engines cut the same tasks, so their
  records are the same numbers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

from ..algorithms import REGISTRY, AlgorithmSpec
from .problems import Budget, Problem, build

if TYPE_CHECKING:
    from torch import Tensor


@dataclass(frozen=True)
class Run:
    """One member's record: its setting and seed, and the validation loss at each of ``problem.evaluations``."""

    hyperparameters: dict[str, Any]
    seed: int
    curve: tuple[float, ...]

    @property
    def final(self) -> float:
        """The validation loss at the end of the budget; ``inf`` for a run that left the finite numbers."""
        last = self.curve[-1]
        return last if math.isfinite(last) else math.inf

    @property
    def diverged(self) -> bool:
        return not math.isfinite(self.curve[-1])

    def steps_to(self, target: float, evaluations: Sequence[int]) -> float:
        """The first evaluated step whose validation loss is <= ``target``; ``inf`` if none is."""
        return next((float(step) for step, value in zip(evaluations, self.curve) if value <= target), math.inf)


def _stacked_hyperparameters(spec: AlgorithmSpec, settings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Each member's complete hyperparameters, validated, then one value per name: a number shared by all, or a (B,) tensor."""
    resolved = [spec.resolve(hp) for hp in settings]
    stacked: dict[str, Any] = {}
    for name in resolved[0]:
        values = [hp[name] for hp in resolved]
        if isinstance(values[0], tuple):
            stacked[name] = tuple(_one_or_many(name, [v[i] for v in values]) for i in range(len(values[0])))
        else:
            stacked[name] = _one_or_many(name, values)
    return stacked


def _one_or_many(name: str, values: list[Any]) -> Any:
    if all(v == values[0] for v in values):
        return values[0]
    if any(isinstance(v, (bool, str)) for v in values):
        raise ValueError(f"{name} must be the same for every member of a batch, got {sorted(set(map(str, values)))}")
    return torch.tensor(values, dtype=torch.float64)


def _shaped(hp: Mapping[str, Any], x: Tensor) -> dict[str, Any]:
    """``hp`` with every (B,) tensor viewed as (B, 1, ...) to broadcast against ``x`` (and in ``x``'s dtype)."""

    def shape(value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(shape(v) for v in value)
        if isinstance(value, torch.Tensor):
            return value.to(x.dtype).view(-1, *([1] * (x.dim() - 1)))
        return value

    return {name: shape(value) for name, value in hp.items()}


def _starts(problem: Problem, seeds: Sequence[int]) -> tuple[dict[str, Tensor], Tensor]:
    """The members' stacked initial parameters and minibatch orders (one start per distinct seed)."""
    starts = {seed: problem.start(seed) for seed in dict.fromkeys(seeds)}
    names = list(starts[seeds[0]][0])
    params = {name: torch.stack([starts[s][0][name] for s in seeds]) for name in names}
    return params, torch.stack([starts[s][1] for s in seeds])


def _curves(values: list[Tensor]) -> list[tuple[float, ...]]:
    return [tuple(column) for column in torch.stack(values, 1).tolist()]


def _train(problem: Problem, params: dict[str, Tensor], order: Tensor,
           step: Callable[[dict[str, Tensor], Tensor, Tensor], dict[str, Tensor]]) -> list[tuple[float, ...]]:
    """``problem.steps`` steps of ``params <- step(params, X, y)`` on each member's minibatches (``order``, (B, steps,
    batch)), with the validation loss recorded at ``problem.evaluations``; one curve per member."""
    evaluations, values = set(problem.evaluations), []
    for t in range(problem.steps + 1):
        if t in evaluations:
            with torch.no_grad():
                values.append(problem.loss(params, problem.X_val, problem.y_val))
        if t == problem.steps:
            break
        index = order[:, t]  # (B, batch)
        params = step(params, problem.X_train[index], problem.y_train[index])
    return _curves(values)


def run_batched(problem: Problem, algorithm: str, settings: Sequence[Mapping[str, Any]], seeds: Sequence[int]) -> list[Run]:
    """Every (setting, seed) member as one computation with the registry rule ``algorithm``."""
    if len(settings) != len(seeds) or not seeds:
        raise ValueError(f"give one seed per setting, got {len(settings)} settings and {len(seeds)} seeds")
    spec = REGISTRY[algorithm]
    params, order = _starts(problem, seeds)
    hp = _stacked_hyperparameters(spec, settings)
    shaped = {name: _shaped(hp, x) for name, x in params.items()}
    first = spec.resolve(settings[0])  # the variant flags, shared by every member
    state = {name: spec.init(x, first) for name, x in params.items()}

    def step(params: dict[str, Tensor], X: Tensor, y: Tensor) -> dict[str, Tensor]:
        leaves = {name: x.detach().requires_grad_() for name, x in params.items()}
        grads = torch.autograd.grad(problem.loss(leaves, X, y).sum(), list(leaves.values()))
        new = {}
        with torch.no_grad():
            for (name, x), g in zip(leaves.items(), grads):
                new[name], state[name] = spec.update(x.detach(), g, state[name], **shaped[name])
        return new

    curves = _train(problem, params, order, step)
    return [Run(dict(s), seed, curve) for s, seed, curve in zip(settings, seeds, curves)]


def run_loop(problem: Problem, make: Callable[[list[Tensor]], torch.optim.Optimizer], hyperparameters: Mapping[str, Any],
             seed: int) -> Run:
    """One run with a ``torch.optim`` optimizer: ``make(parameters)`` builds it; the textbook loop."""
    start, order = problem.start(seed)
    leaves = {name: x.unsqueeze(0).clone().requires_grad_() for name, x in start.items()}  # a batch of one
    optimizer = make(list(leaves.values()))

    def step(params: dict[str, Tensor], X: Tensor, y: Tensor) -> dict[str, Tensor]:
        optimizer.zero_grad()
        problem.loss(params, X, y).sum().backward()
        optimizer.step()
        return params

    return Run(dict(hyperparameters), seed, _train(problem, leaves, order.unsqueeze(0), step)[0])


def torch_factory(name: str, hyperparameters: Mapping[str, Any]) -> Callable[[list[Tensor]], torch.optim.Optimizer]:
    """A maker of the optimizer ``name`` (a registry name: our class; else an import path) with ``hyperparameters``."""
    from .spaces import import_optimizer

    if name in REGISTRY:
        from ..optim import create

        return lambda params: create(name, params, **hyperparameters)
    cls = import_optimizer(name)
    return lambda params: cls(params, **hyperparameters)


# ----- tasks and engines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """A batch to run: which problem (rebuilt from its name, budget and data path), which optimizer, which members."""

    problem: str
    budget: Budget
    data: str | None
    optimizer: str
    settings: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    loop: bool = False  # run the members one by one with the torch.optim loop (always so for a class by import path)


_PROBLEMS: dict[tuple[str, Budget, str | None], Problem] = {}


def cached_problem(name: str, budget: Budget, data: str | None) -> Problem:
    """The problem ``name`` under ``budget`` (airfoil: from the file ``data``), built once per process."""
    key = (name, budget, data)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = build(name, budget, data)
    return _PROBLEMS[key]


def problem_of(task: Task) -> Problem:
    return cached_problem(task.problem, task.budget, task.data)


def execute(task: Task) -> list[Run]:
    """Run one task in this process."""
    problem = problem_of(task)
    if task.optimizer in REGISTRY and not task.loop:
        return run_batched(problem, task.optimizer, task.settings, task.seeds)
    return [run_loop(problem, torch_factory(task.optimizer, hp), hp, seed) for hp, seed in zip(task.settings, task.seeds)]


def split(problem: str, budget: Budget, data: str | None, optimizer: str, settings: Sequence[dict[str, Any]],
          seeds: Sequence[int], *, chunk: int, loop: bool = False) -> list[Task]:
    """The members cut into tasks of at most ``chunk`` members (the same cut for every engine)."""
    return [Task(problem, budget, data, optimizer, tuple(settings[i:i + chunk]), tuple(seeds[i:i + chunk]), loop)
            for i in range(0, len(settings), chunk)]


class LocalEngine:
    """Runs tasks one after the other in this process."""

    name = "local"

    def map(self, tasks: Sequence[Task]) -> list[list[Run]]:
        return [execute(task) for task in tasks]


class EngineError(RuntimeError):
    """The engine cannot start (Ray missing, cluster unreachable): one-line message."""


#: A ``ray://`` cluster starts one server process per client, and that process
#: sometimes dies as it starts (gRPC's fork handling in Ray's proxy,
#: ray-project/ray#63202). The client then reads this in the error; a new
#: attempt gets a new server, so the engine tries this many times in all.
SERVER_START_FAILED = "Starting Ray client server failed"
CLIENT_SERVER_ATTEMPTS = 3


def _reason(error: Exception) -> str:
    """The error's first line, and the server's own reason when the client only says the server failed.

    A Ray client whose server fails to start says ``Initialization failure from
    server:`` and puts the server's traceback on the lines after it; the last of
    them names what failed and where its log is.
    """
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} {lines[-1]}"


class RayEngine:
    """Sends tasks to a Ray cluster (``address``; ``None`` starts a local one with ``num_cpus``) and gathers their records.

    Each task is one Ray task running :func:`execute` in a worker; the records
    come back in the order of the tasks.
    """

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise EngineError("--engine ray needs Ray: pip install 'descentlab[ray]'") from None
        self._ray = ray
        attempt = 1
        while not ray.is_initialized():
            try:
                ray.init(address=address, num_cpus=None if address else num_cpus, include_dashboard=False,
                         log_to_driver=False, logging_level="ERROR")
            except (ConnectionError, RuntimeError, ValueError) as error:
                if SERVER_START_FAILED in str(error) and attempt < CLIENT_SERVER_ATTEMPTS:
                    attempt += 1  # the cluster starts a new server for the new attempt
                    continue
                hint = ""
                if "timeout" in str(error) and os.environ.get("RAY_AUTH_MODE") != "token":
                    hint = ("; if the cluster uses token authentication (the default of local clusters since Ray 2.59), "
                            "set RAY_AUTH_MODE=token (and RAY_AUTH_TOKEN if this machine has no ~/.ray/auth_token)")
                raise EngineError(f"cannot connect to the Ray cluster at {address}: {_reason(error)}{hint}") from None
        self._remote = ray.remote(execute)

    def map(self, tasks: Sequence[Task]) -> list[list[Run]]:
        return self._ray.get([self._remote.remote(task) for task in tasks])

    def shutdown(self) -> None:
        self._ray.shutdown()


__all__ = ["EngineError", "LocalEngine", "RayEngine", "Run", "Task", "cached_problem", "execute", "problem_of", "run_batched", "run_loop",
           "split", "torch_factory"]
