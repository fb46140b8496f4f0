"""The course's ``d2lzh1981`` helpers that the notes call, written for descentlab.

The notes are a hosted Jupyter course: their cells ``import d2lzh1981 as d2l`` and
call five of its helpers.  This module is those helpers, written from the notes'
descriptions and the procedure of the project's specification (no code of the
course's module), so that the cells run as written::

    import descentlab.d2l as d2l

    def gd_2d(x1, x2, s1, s2):
        return x1 - 0.4 * 0.2 * x1, x2 - 0.4 * 4 * x2, 0, 0

    d2l.show_trace_2d(lambda x1, x2: 0.1 * x1**2 + 2 * x2**2, d2l.train_2d(gd_2d))
    # epoch 20, x1 -0.943467, x2 -0.000073

* :func:`train_2d` runs a 2D ``trainer(x1, x2, s1, s2) -> (x1, x2, s1, s2)`` for 20
  steps from ``(-5, -2)`` (states 0, Python floats) and prints
  ``epoch 20, x1 %f, x2 %f``; :func:`show_trace_2d` draws the points (orange,
  ``-o``) over the contours of ``f`` on ``[-5.5, 1) x [-3, 1)``.
* :func:`train_ch7` trains the airfoil regression with one of the notes' own
  optimizer functions ``fn(params, states, hyperparams)``, :func:`train_pytorch_ch7`
  with an optimizer class (``torch.optim``'s, or descentlab's: the notes'
  hyperparameter dicts are translated for :mod:`descentlab.optim`'s classes).  Both
  run the notes' loop (:mod:`descentlab.notes.loop`: 2 epochs, batches of 10,
  reshuffled, the loss on all rows every 100 examples), print
  ``loss: %f, %f sec per epoch`` (final loss, wall time of the last epoch) and plot
  the loss against the epoch.  Randomness comes from numpy's and torch's global
  generators, unseeded, as in the course.
* :func:`get_data_ch7` is the verified airfoil file (:mod:`descentlab.airfoil.data`:
  downloaded once, checked, cached), standardized, its first 1500 rows.

Printing and pyplot figures are these functions' contract (the course's API); the
work is done by record-returning functions (:func:`trace_2d`, :func:`fit_ch7`,
:func:`fit_pytorch_ch7`) and the drawing by Axes-level ones (:func:`draw_trace_2d`,
:func:`draw_loss_curve`).  :func:`session` records every run made inside it (what
``descentlab run-notes`` judges).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib import pyplot as plt
from matplotlib.artist import Artist
from matplotlib.axes import Axes

from ..airfoil.data import load_airfoil
from ..engine.torch_names import TORCH_COUNTERPARTS
from ..notes.loop import own_calls, own_loop, torch_loop
from ..optim import CLASSES

COURSE_DATA_PATH = "/home/kesci/input/airfoil4755/airfoil_self_noise.dat"
"""Where the course's platform kept the airfoil file (the notes read it from there)."""
FIGSIZE = (3.5, 2.5)
"""The course's figure size, in inches."""
START_2D = (-5.0, -2.0)
STEPS_2D = 20
GRID_2D = ((-5.5, 1.0), (-3.0, 1.0), 0.1)
"""The contour grid of :func:`show_trace_2d`: ``x1`` range, ``x2`` range (half-open), step."""
TRACE_COLOR, CONTOUR_COLOR = "#ff7f0e", "#1f77b4"


# --- the 2D experiments ---------------------------------------------------------------------


@dataclass(frozen=True)
class Trace2D:
    """One run of a 2D trainer: the points from the start, and the line the course printed."""

    trainer: str
    points: tuple[tuple[Any, Any], ...]

    @property
    def line(self) -> str:
        x1, x2 = self.points[-1]
        return "epoch %d, x1 %f, x2 %f" % (len(self.points) - 1, x1, x2)  # noqa: UP031 - the course's own %-format


def trace_2d(trainer: Callable[..., Sequence[Any]], steps: int = STEPS_2D,
             start: tuple[float, float] = START_2D) -> Trace2D:
    """Run ``trainer(x1, x2, s1, s2) -> (x1, x2, s1, s2)`` ``steps`` times from ``start`` (states 0); nothing printed."""
    x1, x2 = start
    s1 = s2 = 0
    points = [(x1, x2)]
    for _ in range(steps):
        x1, x2, s1, s2 = trainer(x1, x2, s1, s2)
        points.append((x1, x2))
    return Trace2D(getattr(trainer, "__name__", repr(trainer)), tuple(points))


def train_2d(trainer: Callable[..., Sequence[Any]]) -> list[tuple[Any, Any]]:
    """The course's ``train_2d``: 20 steps from (-5, -2), prints ``epoch 20, x1 %f, x2 %f``, returns the points."""
    trace = trace_2d(trainer)
    print(trace.line)
    _record(trace)
    return list(trace.points)


def draw_trace_2d(ax: Axes, f: Callable[[np.ndarray, np.ndarray], Any], results: Sequence[Sequence[float]]) -> list[Artist]:
    """The points (orange, ``-o``) over the contours of ``f`` on :data:`GRID_2D`; returns the artists."""
    (low1, high1), (low2, high2), step = GRID_2D
    x1, x2 = np.meshgrid(np.arange(low1, high1, step), np.arange(low2, high2, step))
    xs, ys = zip(*[(float(a), float(b)) for a, b in results])
    artists: list[Artist] = list(ax.plot(xs, ys, "-o", color=TRACE_COLOR))
    artists.append(ax.contour(x1, x2, f(x1, x2), colors=CONTOUR_COLOR))
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    return artists


def show_trace_2d(f: Callable[[np.ndarray, np.ndarray], Any], results: Sequence[Sequence[float]]) -> None:
    """The course's ``show_trace_2d``: a new pyplot figure of :data:`FIGSIZE` with :func:`draw_trace_2d`."""
    figure = plt.figure(figsize=FIGSIZE)
    draw_trace_2d(figure.add_subplot(), f, results)


def set_figsize(figsize: tuple[float, float] = FIGSIZE) -> None:
    """The course's ``set_figsize``: the size of the pyplot figures the cells make themselves (``rcParams``).

    The helpers here size their own figures and do not depend on it.
    """
    plt.rcParams["figure.figsize"] = figsize


# --- the airfoil experiment -----------------------------------------------------------------


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The notes' model, ``X w + b``."""
    return torch.mm(X, w) + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The notes' loss per example, ``(y_hat - y)**2 / 2`` (``y`` reshaped like ``y_hat``)."""
    return (y_hat - y.view(y_hat.shape)) ** 2 / 2


def get_data_ch7(path: str | os.PathLike[str] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The airfoil features and labels the notes train on: standardized, the first 1500 rows, float32.

    ``path`` defaults to the file of the enclosing :func:`session`, else ``$DESCENTLAB_DATA``,
    the cache, or a download (see :func:`descentlab.airfoil.data.find_airfoil`).
    """
    if path is None and _SESSIONS:
        path = _SESSIONS[-1].data
    data = load_airfoil(path)
    return data.features, data.labels


@dataclass(frozen=True, eq=False)
class Ch7Run:
    """One airfoil run of :func:`fit_ch7` (``kind="function"``) or :func:`fit_pytorch_ch7` (``kind="class"``)."""

    kind: str
    optimizer: Any  # the notes' function, or the optimizer class
    hyperparameters: dict[str, Any]  # as given, before the run (the notes' Adam counts its step in the dict)
    ran_with: dict[str, Any]  # what the optimizer was given (descentlab's names for descentlab.optim's classes)
    states: Any  # a copy of the states as given (function runs), else None
    features: torch.Tensor
    labels: torch.Tensor
    losses: tuple[float, ...]  # the loss on all rows before training and every 100 examples
    epoch_times: tuple[float, ...]

    @property
    def final_loss(self) -> float:
        return self.losses[-1]

    @property
    def sec_per_epoch(self) -> float:
        return self.epoch_times[-1]

    @property
    def line(self) -> str:
        return "loss: %f, %f sec per epoch" % (self.final_loss, self.sec_per_epoch)  # noqa: UP031


def fit_ch7(optimizer_fn: Callable[[list[torch.Tensor], Any, dict[str, Any]], None], states: Any,
            hyperparams: dict[str, Any], features: torch.Tensor, labels: torch.Tensor,
            batch_size: int = 10, num_epochs: int = 2) -> Ch7Run:
    """The notes' ``train_ch7`` loop with their function ``optimizer_fn``; the record, nothing printed or drawn.

    ``states`` and ``hyperparams`` are handed to the function as given (it updates them, as in the course).
    """
    given, kept = dict(hyperparams), copy.deepcopy(states)
    losses, times = own_loop(optimizer_fn, states, hyperparams, features, labels,
                             batch_size=batch_size, epochs=num_epochs)
    return Ch7Run("function", optimizer_fn, given, given, kept, features, labels, tuple(losses), tuple(times))


def fit_pytorch_ch7(optimizer_class: Callable[..., torch.optim.Optimizer], hyperparams: Mapping[str, Any],
                    features: torch.Tensor, labels: torch.Tensor,
                    batch_size: int = 10, num_epochs: int = 2) -> Ch7Run:
    """The notes' ``train_pytorch_ch7`` loop with ``optimizer_class(params, **hyperparams)``; the record.

    For a :mod:`descentlab.optim` class the notes' dict is first put in descentlab's
    names (:func:`descentlab_hyperparameters`): ``{'lr': 0.01, 'alpha': 0.9}`` works
    for ``RMSProp`` as for ``torch.optim.RMSprop``.
    """
    given = dict(hyperparams)
    ran_with = descentlab_hyperparameters(optimizer_class, given) if is_descentlab_class(optimizer_class) else given
    losses, times = torch_loop(optimizer_class, ran_with, features, labels, batch_size=batch_size, epochs=num_epochs)
    return Ch7Run("class", optimizer_class, given, ran_with, None, features, labels, tuple(losses), tuple(times))


def draw_loss_curve(ax: Axes, losses: Sequence[float], epochs: float) -> list[Artist]:
    """The loss against the epoch (``x = linspace(0, epochs, len(losses))``), as the course plots it."""
    artists: list[Artist] = list(ax.plot(np.linspace(0, epochs, len(losses)), losses))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    return artists


def train_ch7(optimizer_fn: Callable[[list[torch.Tensor], Any, dict[str, Any]], None], states: Any,
              hyperparams: dict[str, Any], features: torch.Tensor, labels: torch.Tensor,
              batch_size: int = 10, num_epochs: int = 2) -> None:
    """The course's ``train_ch7``: :func:`fit_ch7`, then print ``loss: %f, %f sec per epoch`` and plot the loss."""
    _show(fit_ch7(optimizer_fn, states, hyperparams, features, labels, batch_size, num_epochs), num_epochs)


def train_pytorch_ch7(optimizer_class: Callable[..., torch.optim.Optimizer], hyperparams: Mapping[str, Any],
                      features: torch.Tensor, labels: torch.Tensor,
                      batch_size: int = 10, num_epochs: int = 2) -> None:
    """The course's ``train_pytorch_ch7``: :func:`fit_pytorch_ch7`, then print and plot as :func:`train_ch7`."""
    _show(fit_pytorch_ch7(optimizer_class, hyperparams, features, labels, batch_size, num_epochs), num_epochs)


def _show(run: Ch7Run, epochs: int) -> None:
    print(run.line)
    _record(run)
    draw_loss_curve(plt.figure(figsize=FIGSIZE).add_subplot(), run.losses, epochs)


def is_descentlab_class(cls: Any) -> bool:
    """One of :mod:`descentlab.optim`'s classes (the notes' conventions and names), or a subclass."""
    return isinstance(cls, type) and any(issubclass(cls, ours) for ours in CLASSES.values())


def descentlab_hyperparameters(optimizer_class: type, hyperparams: Mapping[str, Any]) -> dict[str, Any]:
    """A notes' dict in the names of :mod:`descentlab.optim`'s ``optimizer_class``.

    A key the class has stays; the notes' own names (RMSProp's ``beta``) and
    torch.optim's (RMSprop's ``alpha``) become ours (``gamma``); the notes' Adam
    step counter ``t`` is dropped when it is at its start, 1 (the class counts its
    own steps).  Any other key is passed on, and the class's message says what to
    use instead (``momentum`` given to ``SGD`` names ``Momentum``).
    """
    spec = optimizer_class.algorithm
    own = own_calls().get(spec.name)
    counterpart = TORCH_COUNTERPARTS.get(spec.name)
    renamed = {notes: ours for ours, notes in own.keys.items()} if own else {}
    if counterpart is not None:
        renamed = {theirs: ours for ours, theirs in counterpart.names.items()} | renamed
    ours: dict[str, Any] = {}
    for key, value in hyperparams.items():
        if key in spec.names:
            ours[key] = value
        elif own is not None and key in own.extra:
            if value != own.extra[key]:
                raise ValueError(f"{optimizer_class.__name__}: the notes' {key!r} starts at {own.extra[key]!r}, "
                                 f"got {value!r}; the class counts its own steps from 1")
        else:
            ours[renamed.get(key, key)] = value
    return ours


# --- recording --------------------------------------------------------------------------------


@dataclass
class _Session:
    data: Path | None
    runs: list[Trace2D | Ch7Run] = field(default_factory=list)


_SESSIONS: list[_Session] = []


def _record(run: Trace2D | Ch7Run) -> None:
    for open_session in _SESSIONS:
        open_session.runs.append(run)


@contextlib.contextmanager
def session(data: str | os.PathLike[str] | None = None) -> Iterator[list[Trace2D | Ch7Run]]:
    """Record every :func:`train_2d`, :func:`train_ch7` and :func:`train_pytorch_ch7` run inside the block.

    Yields the list the records are appended to, in order; ``data`` is the airfoil
    file :func:`get_data_ch7` reads inside the block.
    """
    opened = _Session(Path(data) if data is not None else None)
    _SESSIONS.append(opened)
    try:
        yield opened.runs
    finally:
        _SESSIONS.remove(opened)


__all__ = [
    "COURSE_DATA_PATH",
    "Ch7Run",
    "Trace2D",
    "descentlab_hyperparameters",
    "draw_loss_curve",
    "draw_trace_2d",
    "fit_ch7",
    "fit_pytorch_ch7",
    "get_data_ch7",
    "is_descentlab_class",
    "linreg",
    "plt",
    "session",
    "set_figsize",
    "show_trace_2d",
    "squared_loss",
    "trace_2d",
    "train_2d",
    "train_ch7",
    "train_pytorch_ch7",
]
