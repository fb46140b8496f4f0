"""What ``descentlab bench steps`` times: the parameter layouts and each algorithm's setting.

Plain data with no torch work, so that the command line can offer them as choices
without importing torch.
"""

from __future__ import annotations

from typing import Any

Layout = tuple[tuple[int, ...], ...]


def resnet18_shapes() -> Layout:
    """The 62 parameter shapes of torchvision's ResNet-18 (11,689,512 values)."""
    shapes: list[tuple[int, ...]] = [(64, 3, 7, 7), (64,), (64,)]
    width_in = 64
    for stage, width in enumerate((64, 128, 256, 512)):
        for block in range(2):
            first = block == 0
            shapes += [(width, width_in if first else width, 3, 3), (width,), (width,), (width, width, 3, 3), (width,), (width,)]
            if first and stage > 0:
                shapes += [(width, width_in, 1, 1), (width,), (width,)]
        width_in = width
    return (*shapes, (1000, 512), (1000,))


LAYOUTS: dict[str, Layout] = {
    "flat16m": ((16 * 2**20,),),
    "resnet18": resnet18_shapes(),
    "many": ((1000,),) * 2000,
    "small300": ((64, 64), (64,)) * 150,  # 300 small tensors, 630k values: a small MLP's worth
}

COUNTERPARTS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.01, "momentum": 0.9},
    "adagrad": {"lr": 0.01, "eps": 1e-10},
    "rmsprop": {"lr": 0.01, "gamma": 0.99, "eps": 1e-8},
    "adadelta": {"eps": 1e-6},
    "adam": {"lr": 0.01, "eps": 1e-8},
}
"""The settings timed, in our names: torch.optim's defaults (lr 0.01 where it needs one).  Both sides run
the same update through :data:`descentlab.engine.torch_names.TORCH_COUNTERPARTS`, the one table of conventions."""

STEP_PATHS = ("ours default", "ours replay", "ours plain", "ours fast", "torch default", "torch foreach", "torch fused")
"""The paths ``bench steps`` times ("torch fused" where torch has a fused kernel; "ours replay": the default path with
its compiled loop switched off, the plan replayed as foreach calls)."""
