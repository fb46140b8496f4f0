"""The notes' airfoil training loop, re-implemented faithfully: the test oracle and the speed baseline.

This is deliberately *not* how descentlab trains (see :mod:`descentlab.airfoil.train`).
It redoes what the notes ran, step for step, so that tests can compare our
results with the notes' procedure and ``descentlab bench`` can time it:

* ``impl="own"`` (the notes' ``train_ch7``): ``w ~ N(0, 0.01**2)`` drawn with
  numpy's global generator, ``b = 0``; the loss ``(y_hat - y)**2 / 2`` averaged;
  autograd for the gradients; the notes' own optimizer functions below (written
  from the notes' formulas, one Python loop over the parameters, in-place updates,
  fixed constants such as AdaGrad's ``eps = 1e-6`` and Adam's ``t`` kept in the
  hyperparameter dict).
* ``impl="torch"`` (the notes' ``train_pytorch_ch7``): ``nn.Sequential(nn.Linear(5, 1))``
  with its default initialization, ``nn.MSELoss() / 2`` and the torch.optim class.

Both: a ``DataLoader`` over a ``TensorDataset`` with ``shuffle=True``; the loss on
all rows before training and whenever ``(batch_index + 1) * batch_size % 100 == 0``;
``sec_per_epoch`` is the wall time of the last epoch (evaluations included).
Randomness comes from numpy's and torch's global generators, seeded with
``seed`` as a notebook would; their previous states are restored afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

# --- the notes' own optimizer functions (their formulas), one per algorithm -------------
# Each takes the parameter list (gradients in ``p.grad``), the states and the notes'
# hyperparameter dict and updates the parameters in place, as the notes' code does.
# The tests' oracle for the library's rules calls these same functions.  (The notes
# write ``s[:] = ...``; ``s.copy_(...)`` is the same write and also works for 0-dim tensors.)


def notes_sgd(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    for p in params:
        p.data -= hp["lr"] * p.grad.data


def notes_momentum(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    for p, v in zip(params, states):
        v.data = hp["momentum"] * v.data + hp["lr"] * p.grad.data  # v <- beta v + eta g
        p.data -= v.data


def notes_adagrad(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    eps = 1e-6
    for p, s in zip(params, states):
        s.data += p.grad.data**2  # s <- s + g^2
        p.data -= hp["lr"] * p.grad.data / torch.sqrt(s + eps)


def notes_rmsprop(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    gamma, eps = hp["beta"], 1e-6
    for p, s in zip(params, states):
        s.data = gamma * s.data + (1 - gamma) * p.grad.data**2  # s <- gamma s + (1 - gamma) g^2
        p.data -= hp["lr"] * p.grad.data / torch.sqrt(s + eps)


def notes_adadelta(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    rho, eps = hp["rho"], 1e-5
    for p, (s, delta) in zip(params, states):
        s.copy_(rho * s + (1 - rho) * p.grad.data**2)  # s <- rho s + (1 - rho) g^2
        step = p.grad.data * torch.sqrt((delta + eps) / (s + eps))  # g' = g sqrt((delta + eps) / (s + eps))
        p.data -= step
        delta.copy_(rho * delta + (1 - rho) * step * step)  # delta <- rho delta + (1 - rho) g'^2


def notes_adam(params: list[Tensor], states: Any, hp: dict[str, Any]) -> None:
    beta1, beta2, eps = 0.9, 0.999, 1e-6
    for p, (m, v) in zip(params, states):
        m.copy_(beta1 * m + (1 - beta1) * p.grad.data)  # m <- beta1 m + (1 - beta1) g
        v.copy_(beta2 * v + (1 - beta2) * p.grad.data**2)  # v <- beta2 v + (1 - beta2) g^2
        m_hat = m / (1 - beta1 ** hp["t"])
        v_hat = v / (1 - beta2 ** hp["t"])
        p.data -= hp["lr"] * m_hat / (torch.sqrt(v_hat) + eps)
    hp["t"] += 1


def notes_states(params: list[Tensor], copies: int) -> Any:
    """Zero states as the notes' ``init_*_states`` build them: none, one or ``copies`` tensors per parameter."""
    if copies == 0:
        return ()
    if copies == 1:
        return tuple(torch.zeros_like(p) for p in params)
    return tuple(tuple(torch.zeros_like(p) for _ in range(copies)) for p in params)


@dataclass(frozen=True)
class OwnCall:
    """How the notes called one of their functions: which keys, renamed from ours."""

    function: Callable[[list[Tensor], Any, dict[str, Any]], None]
    state_copies: int
    keys: Mapping[str, str]  # our hyperparameter name -> the notes' key
    extra: Mapping[str, Any]  # keys the notes added themselves (Adam's step counter)


_OWN: dict[str, OwnCall] = {
    "sgd": OwnCall(notes_sgd, 0, {"lr": "lr"}, {}),
    "momentum": OwnCall(notes_momentum, 1, {"lr": "lr", "momentum": "momentum"}, {}),
    "adagrad": OwnCall(notes_adagrad, 1, {"lr": "lr"}, {}),
    "rmsprop": OwnCall(notes_rmsprop, 1, {"lr": "lr", "gamma": "beta"}, {}),
    "adadelta": OwnCall(notes_adadelta, 2, {"rho": "rho"}, {}),
    "adam": OwnCall(notes_adam, 2, {"lr": "lr"}, {"t": 1}),
}


def own_calls() -> dict[str, OwnCall]:
    """Each of the notes' own optimizer functions by algorithm: how they called it (a copy of the table)."""
    return dict(_OWN)


# The torch.optim classes the notes used, and the one name that differs from ours.  Written out here on
# purpose, not taken from train.TORCH_COUNTERPARTS: this module is the oracle that table is checked against.
_TORCH: dict[str, tuple[type[torch.optim.Optimizer], Mapping[str, str]]] = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {}),
    "adagrad": (torch.optim.Adagrad, {}),
    "rmsprop": (torch.optim.RMSprop, {"gamma": "alpha"}),
    "adadelta": (torch.optim.Adadelta, {}),
    "adam": (torch.optim.Adam, {}),
}


@dataclass(frozen=True)
class NotesRun:
    """What one run of the notes' loop produced (the notes printed ``losses[-1]`` and ``sec_per_epoch``)."""

    algorithm: str
    impl: str
    hyperparameters: dict[str, Any]
    seed: int | None
    losses: tuple[float, ...]
    epoch_times: tuple[float, ...]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]


def notes_train(
    algorithm: str,
    hyperparameters: Mapping[str, Any],
    features: Tensor,
    labels: Tensor,
    *,
    impl: str = "own",
    seed: int | None = None,
    batch_size: int = 10,
    epochs: int = 2,
) -> NotesRun:
    """One run of the notes' loop (``train_ch7`` or ``train_pytorch_ch7``).

    ``hyperparameters`` use descentlab's names (``gamma``, not the notes' ``beta``
    or torch's ``alpha``).  For ``impl="own"`` only the hyperparameters the notes'
    functions read are accepted.
    """
    if impl == "own":
        if algorithm not in _OWN:
            raise ValueError(f"the notes have no own function for {algorithm!r}")
        extra = set(hyperparameters) - set(_OWN[algorithm].keys)
        if extra:
            raise ValueError(f"the notes' {algorithm} function does not read {sorted(extra)}")
        missing = set(_OWN[algorithm].keys) - set(hyperparameters)
        if missing:
            raise ValueError(f"the notes' {algorithm} function needs {sorted(missing)}")
    elif impl == "torch":
        if algorithm not in _TORCH:
            raise ValueError(f"the notes used no torch.optim class for {algorithm!r}")
    else:
        raise ValueError(f"impl must be 'own' or 'torch', got {impl!r}")

    numpy_state = np.random.get_state()
    try:
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                np.random.seed(seed)
                torch.manual_seed(seed)
            runner = _train_own if impl == "own" else _train_torch
            losses, times = runner(algorithm, dict(hyperparameters), features, labels, batch_size, epochs)
    finally:
        np.random.set_state(numpy_state)
    return NotesRun(algorithm, impl, dict(hyperparameters), seed, tuple(losses), tuple(times))


def _loader(features: Tensor, labels: Tensor, batch_size: int) -> torch.utils.data.DataLoader:
    dataset = torch.utils.data.TensorDataset(features, labels)
    return torch.utils.data.DataLoader(dataset, batch_size, shuffle=True)


def _train_own(
    algorithm: str, hp: dict[str, Any], features: Tensor, labels: Tensor, batch_size: int, epochs: int
) -> tuple[list[float], list[float]]:
    call = _OWN[algorithm]
    notes_hp = {call.keys[name]: value for name, value in hp.items()}
    notes_hp.update(call.extra)
    w, b = notes_parameters(features.shape[1])
    return own_loop(call.function, notes_states([w, b], call.state_copies), notes_hp, features, labels,
                    batch_size=batch_size, epochs=epochs, params=(w, b))


def notes_parameters(inputs: int) -> tuple[nn.Parameter, nn.Parameter]:
    """``w ~ N(0, 0.01**2)`` (numpy's global generator, as the notes) of shape ``(inputs, 1)`` and ``b = 0``, float32."""
    w = nn.Parameter(torch.tensor(np.random.normal(0, 0.01, size=(inputs, 1)), dtype=torch.float32))
    b = nn.Parameter(torch.zeros(1, dtype=torch.float32))
    return w, b


def own_loop(
    function: Callable[[list[Tensor], Any, dict[str, Any]], None],
    states: Any,
    hyperparameters: dict[str, Any],
    features: Tensor,
    labels: Tensor,
    *,
    batch_size: int = 10,
    epochs: int = 2,
    params: tuple[nn.Parameter, nn.Parameter] | None = None,
) -> tuple[list[float], list[float]]:
    """The notes' ``train_ch7`` loop with any optimizer function of theirs: ``(losses, epoch_times)``.

    ``function(params, states, hyperparameters)`` updates ``[w, b]`` in place, as the
    notes' functions do; ``states`` and ``hyperparameters`` are the caller's and are
    handed to it as they are (the notes' Adam counts its step in ``hyperparameters``).
    Randomness comes from numpy's and torch's global generators; ``params`` (default:
    :func:`notes_parameters`) is the starting ``(w, b)``.
    """
    w, b = params if params is not None else notes_parameters(features.shape[1])
    param_list = [w, b]

    def squared_loss(X: Tensor, y: Tensor) -> Tensor:
        y_hat = torch.mm(X, w) + b
        return (y_hat - y.view(y_hat.shape)) ** 2 / 2

    losses = [squared_loss(features, labels).mean().item()]
    times: list[float] = []
    loader = _loader(features, labels, batch_size)
    for _ in range(epochs):
        start = time.perf_counter()
        for batch_index, (X, y) in enumerate(loader):
            loss = squared_loss(X, y).mean()
            if w.grad is not None:
                w.grad.data.zero_()
                b.grad.data.zero_()
            loss.backward()
            function(param_list, states, hyperparameters)
            if (batch_index + 1) * batch_size % 100 == 0:
                losses.append(squared_loss(features, labels).mean().item())
        times.append(time.perf_counter() - start)
    return losses, times


def _train_torch(
    algorithm: str, hp: dict[str, Any], features: Tensor, labels: Tensor, batch_size: int, epochs: int
) -> tuple[list[float], list[float]]:
    optimizer_class, renamed = _TORCH[algorithm]
    kwargs = {renamed.get(name, name): value for name, value in hp.items()}
    return torch_loop(optimizer_class, kwargs, features, labels, batch_size=batch_size, epochs=epochs)


def torch_loop(
    optimizer_class: Callable[..., torch.optim.Optimizer],
    hyperparameters: Mapping[str, Any],
    features: Tensor,
    labels: Tensor,
    *,
    batch_size: int = 10,
    epochs: int = 2,
) -> tuple[list[float], list[float]]:
    """The notes' ``train_pytorch_ch7`` loop: ``nn.Linear`` trained by ``optimizer_class(params, **hyperparameters)``.

    Returns ``(losses, epoch_times)``; randomness from torch's global generator.
    """
    net = nn.Sequential(nn.Linear(features.shape[-1], 1))
    mse = nn.MSELoss()
    optimizer = optimizer_class(net.parameters(), **hyperparameters)

    def half_mse(X: Tensor, y: Tensor) -> Tensor:
        return mse(net(X).view(-1), y) / 2

    losses = [half_mse(features, labels).item()]
    times: list[float] = []
    loader = _loader(features, labels, batch_size)
    for _ in range(epochs):
        start = time.perf_counter()
        for batch_index, (X, y) in enumerate(loader):
            loss = half_mse(X, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if (batch_index + 1) * batch_size % 100 == 0:
                losses.append(half_mse(features, labels).item())
        times.append(time.perf_counter() - start)
    return losses, times


__all__ = [
    "NotesRun",
    "OwnCall",
    "notes_adadelta",
    "notes_adagrad",
    "notes_adam",
    "notes_momentum",
    "notes_parameters",
    "notes_rmsprop",
    "notes_sgd",
    "notes_states",
    "notes_train",
    "own_calls",
    "own_loop",
    "torch_loop",
]
