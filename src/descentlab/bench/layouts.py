"""What ``descentlab bench steps`` times: the parameter layouts and each algorithm's setting.

Plain data with no torch work, so that the command line can offer them as choices
without importing torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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


def gpt2_shapes() -> Layout:
    """The 148 parameter shapes of GPT-2 small (Hugging Face's ``GPT2LMHeadModel``, its output layer tied to the token
    embedding): 124,439,808 values.  Convolution-style ``Conv1D`` weights are (in, out)."""
    width, context, vocabulary = 768, 1024, 50257
    block = [(width,), (width,),  # ln_1
             (width, 3 * width), (3 * width,), (width, width), (width,),  # attn: c_attn, c_proj
             (width,), (width,),  # ln_2
             (width, 4 * width), (4 * width,), (4 * width, width), (width,)]  # mlp: c_fc, c_proj
    return ((vocabulary, width), (context, width), *block * 12, (width,), (width,))


LAYOUTS: dict[str, Layout] = {
    "flat16m": ((16 * 2**20,),),
    "resnet18": resnet18_shapes(),
    "gpt2": gpt2_shapes(),
    "many": ((1000,),) * 2000,
    "small300": ((64, 64), (64,)) * 150,  # 300 small tensors, 630k values: a small MLP's worth
}

@dataclass(frozen=True)
class Timed:
    """One algorithm ``bench steps`` times: the registry's rule, its setting, and what it is put against.

    ``settings`` are in our names: torch.optim's defaults (lr 0.01 where it needs one), run by our classes in
    torch's convention (the rule's row of :data:`descentlab.engine.torch_names.TORCH_COUNTERPARTS`, its ``fixed``
    settings added) and translated for torch's class by the same row.  ``torch_class`` is that row's class unless
    given (``None``: torch.optim has none, so no torch path runs); ``implied``: settings of ours that ``torch_class``
    always has and does not take.  ``notes``: the setting in the notes' convention, where it makes the rule
    compute differently (the path "ours notes"); ``None`` where the notes' class runs the same loop as torch's
    convention with other numbers, so the "ours default" row stands for both.
    """

    rule: str
    settings: Mapping[str, Any]
    torch_class: str | None = ""
    implied: tuple[str, ...] = ()
    notes: Mapping[str, Any] | None = field(default=None)


TIMED: dict[str, Timed] = {
    "sgd": Timed("sgd", {"lr": 0.01}),
    "momentum": Timed("momentum", {"lr": 0.01, "momentum": 0.9}, notes={"lr": 0.01, "momentum": 0.9}),  # velocity form
    "adagrad": Timed("adagrad", {"lr": 0.01, "eps": 1e-10}, notes={"lr": 0.01}),  # eps 1e-6 inside the root
    "rmsprop": Timed("rmsprop", {"lr": 0.01, "gamma": 0.99, "eps": 1e-8}, notes={"lr": 0.01, "gamma": 0.99}),  # (ditto)
    "adadelta": Timed("adadelta", {"eps": 1e-6}),
    "adam": Timed("adam", {"lr": 0.01, "eps": 1e-8}),
    "adamw": Timed("adam", {"lr": 0.01, "eps": 1e-8, "weight_decay": 0.01, "decoupled_weight_decay": True},
                   torch_class="AdamW", implied=("decoupled_weight_decay",)),
    "yogi": Timed("yogi", {"lr": 0.01}, torch_class=None),
}
"""What ``bench steps --algorithms`` offers, by name."""

COUNTERPARTS: dict[str, Mapping[str, Any]] = {name: timed.settings for name, timed in TIMED.items()}
"""Each timed algorithm's settings, in our names (see :class:`Timed`)."""

STEP_PATHS = ("ours default", "ours notes", "ours replay", "ours plain", "ours fast", "torch default", "torch foreach",
              "torch fused")
"""The paths ``bench steps`` times ("torch fused" where torch has a fused kernel; "ours notes" where the notes'
convention computes differently from torch's, see :class:`Timed`; "ours replay": the default path with its compiled
loop switched off, the plan replayed as foreach calls)."""
