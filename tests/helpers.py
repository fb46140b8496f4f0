"""Helpers shared by several test modules: a norm-wise relative difference and a noisy test problem."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

# Two parameter groups; together they hold a scalar, a vector, a matrix and a 4-D tensor.
GROUP_SHAPES: tuple[tuple[tuple[int, ...], ...], ...] = (((), (4, 5)), ((3,), (2, 3, 2, 2)))

# Arguments that exercise every path that transforms the gradient or the state.
RICH: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.1, "weight_decay": 0.1, "maximize": True},
    "momentum": {"lr": 0.1, "momentum": 0.9, "form": "torch", "dampening": 0.3, "weight_decay": 0.1, "maximize": True},
    "adagrad": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "weight_decay": 0.1, "maximize": True},
    "rmsprop": {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True},
    "adadelta": {"lr": 0.5, "weight_decay": 0.1, "maximize": True},
    "adam": {"lr": 0.01, "betas": (0.8, 0.99), "amsgrad": True, "weight_decay": 0.1, "decoupled_weight_decay": True,
             "maximize": True},
    "yogi": {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.1, "maximize": True},
}


def _flat(tensors: list[Tensor] | Tensor) -> Tensor:
    return torch.cat([t.detach().reshape(-1) for t in ([tensors] if isinstance(tensors, Tensor) else tensors)])


def relative_difference(
    actual: list[Tensor] | Tensor, expected: list[Tensor] | Tensor, start: list[Tensor] | Tensor | None = None
) -> float:
    """max |actual - expected| / max |expected| (and max |start|, if given), over all the tensors together.

    Norm-wise over the whole parameter set, as for a model's parameters: a single
    coordinate that happens to pass near zero (the scalar parameter does) does not
    turn a 1e-17 absolute difference into a large relative one.  ``start``, where
    the run began, keeps the scale when every parameter has converged towards 0.
    """
    a, e = _flat(actual), _flat(expected)
    scale = max(e.abs().max().item(), 0.0 if start is None else _flat(start).abs().max().item())
    return (a - e).abs().max().item() / (scale if scale > 0 else 1.0)


class NoisyQuadratic:
    """Per parameter, f = s * sum(a x^2 / 2) + n_t . x: gradient s a x + n_t with fresh noise every step.

    ``s = -1`` (concave) for the maximize runs, so ascent stays bounded.
    """

    def __init__(self, seed: int, steps: int, sign: float = 1.0) -> None:
        gen = torch.Generator().manual_seed(seed)
        shapes = [s for group in GROUP_SHAPES for s in group]
        self.start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
        self.curvature = [sign * (0.2 + 1.8 * torch.rand(s, generator=gen, dtype=torch.float64)) for s in shapes]
        self.noise = [[0.5 * torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes] for _ in range(steps)]

    def parameters(self, dtype: torch.dtype = torch.float64) -> list[torch.nn.Parameter]:
        return [torch.nn.Parameter(x.clone().to(dtype)) for x in self.start]

    def set_gradients(self, t: int, params: list[Tensor]) -> None:
        for p, a, n in zip(params, self.curvature, self.noise[t]):
            p.grad = (a.to(p.dtype) * p.detach() + n.to(p.dtype)).clone()


def grouped(params: list[Tensor], group_kwargs: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Split the flat parameter list into GROUP_SHAPES' groups, each with its own hyperparameters."""
    groups, i = [], 0
    for shapes, kwargs in zip(GROUP_SHAPES, group_kwargs):
        groups.append({"params": params[i : i + len(shapes)], **kwargs})
        i += len(shapes)
    return groups
