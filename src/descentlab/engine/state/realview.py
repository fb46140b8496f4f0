"""Complex parameters as torch.optim treats them: the rule runs on ``torch.view_as_real`` of everything.

A complex tensor of shape ``S`` is viewed as a real one of shape ``(*S, 2)`` (real
and imaginary parts side by side), so every elementwise rule treats the two parts
as two real coordinates: Adam's ``v`` holds ``re(g)^2`` and ``im(g)^2``, not
``g*g`` (complex) and not ``|g|^2``.  This is what torch.optim's loops do
(``view_as_real`` of parameter, gradient and state), and it makes a complex run
equal to the same run on the real view.

The state keeps torch's layout: its parameter-shaped entries are complex tensors
of the parameter's shape (so checkpoints and ``from_torch``/``to_torch`` see what
torch keeps); the rule reads and writes them through real views.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import Tensor

State = dict  # a tensor's state: str -> Tensor


def as_real(t: Tensor) -> Tensor:
    """``view_as_real(t)`` for a complex tensor, ``t`` itself otherwise."""
    return torch.view_as_real(t) if t.is_complex() else t


def _as_complex(value: Tensor) -> Tensor:
    """The complex tensor whose real view is ``value`` (a copy when its strides do not allow a view)."""
    try:
        return torch.view_as_complex(value)
    except RuntimeError:
        return torch.view_as_complex(value.contiguous())


def init_state(init: Any, p: Tensor) -> State:
    """A fresh state for ``p``: ``init(x)`` on the real view of a complex ``p``, its pair-shaped entries as complex."""
    if not p.is_complex():
        return init(p)
    real = torch.view_as_real(p)
    return {key: _as_complex(value) if _pairs_of(value, p) else value for key, value in init(real).items()}


def real_views(params: Sequence[Tensor], grads: Sequence[Tensor], states: Sequence[State]) -> tuple[list, list, list]:
    """The lists a path steps: a complex parameter, its gradient and its state's complex entries as real views.

    Real parameters and their states are passed through as they are (the very
    dicts), so their kept replays and compiled bindings are unaffected.
    """
    xs, gs, views = [], [], []
    for p, g, state in zip(params, grads, states):
        if p.is_complex():
            xs.append(torch.view_as_real(p))
            gs.append(as_real(g))
            views.append({k: as_real(v) if isinstance(v, torch.Tensor) else v for k, v in state.items()})
        else:
            xs.append(p)
            gs.append(g)
            views.append(state)
    return xs, gs, views


def write_back(params: Sequence[Tensor], states: Sequence[State], views: Sequence[State]) -> None:
    """Put what a path wrote into ``views`` (from :func:`real_views`) back into the complex parameters' states.

    An entry still viewing its complex tensor was written in place; a new
    pair-shaped entry is stored as complex; anything else (the step counter, which a
    path may replace by a view of its counter block) is stored as it is.
    """
    for p, state, view in zip(params, states, views):
        if view is state:
            continue
        for key, value in view.items():
            old = state.get(key)
            if isinstance(old, torch.Tensor) and old.is_complex() and _views(value, old):
                continue
            state[key] = _as_complex(value) if _pairs_of(value, p) else value


def _pairs_of(value: Any, p: Tensor) -> bool:
    """Whether ``value`` is shaped like the real view of the complex ``p``."""
    return (isinstance(value, torch.Tensor) and value.is_floating_point() and value.dim() == p.dim() + 1
            and value.shape == (*p.shape, 2))


def _views(value: Any, complex_tensor: Tensor) -> bool:
    """Whether ``value`` is the real view of ``complex_tensor`` (same memory, same layout)."""
    return (isinstance(value, torch.Tensor) and not value.is_complex()
            and value.data_ptr() == complex_tensor.data_ptr() and value.shape == (*complex_tensor.shape, 2))


__all__ = ["as_real", "init_state", "real_views", "write_back"]
