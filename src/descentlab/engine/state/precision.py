"""Low-precision parameters: the rule computes in float32, and small steps are not rounded away.

For a float16 or bfloat16 parameter every path (plain, eager, compiled) does the
same thing:

* the state is float32 (``init`` sees a float32 copy of ``x``), and the rule runs
  on ``x`` and ``g`` upcast to float32, so the result never depends on which
  path ran or on the model's size;
* with ``compensated=True`` (the default) the rounding error of the last write,
  ``e = x32_new - float(round(x32_new))``, is kept in the state as
  ``"compensation"`` (in the parameter's dtype) and added back before the next
  step: ``x32 = float(x) + float(e)``.  An update below half an ulp of ``x`` then
  accumulates in ``e`` until it moves ``x``, instead of being lost every step
  (bfloat16 has 8 significant bits: at 1.0, any step below 0.0039 is lost).

Every function works on tensors and on :class:`descentlab.engine.paths.eager.TensorList`
alike (it only uses ``float()``, ``+``, ``-`` and ``copy_``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import Tensor

LOW_PRECISION = (torch.float16, torch.bfloat16)
COMPENSATION = "compensation"
"""The state entry holding the rounding error of a low-precision parameter."""


class Precision:
    """The working-value policy of one optimizer (``compensated``: keep the rounding error of low-precision writes)."""

    def __init__(self, compensated: bool = True) -> None:
        self.compensated = compensated

    @staticmethod
    def is_low(dtype: torch.dtype) -> bool:
        return dtype in LOW_PRECISION

    def work_dtype(self, x: Any) -> torch.dtype:
        """The dtype the rule computes in for a parameter like ``x``."""
        return torch.float32 if self.is_low(x.dtype) else x.dtype

    def init(self, spec: Any, p: Tensor, hp: dict[str, Any]) -> dict[str, Tensor]:
        """A fresh state for ``p``: the rule's, in the working dtype, plus the compensation entry where it applies."""
        if not self.is_low(p.dtype):
            return spec.init(p, hp)
        state = spec.init(p.detach().float(), hp)
        if self.compensated:
            state[COMPENSATION] = torch.zeros_like(p)
        return state

    def working(self, x: Any, g: Any, state: dict[str, Any]) -> tuple[Any, Any]:
        """``(x, g)`` as the rule sees them: upcast, with the kept rounding error added back."""
        if not self.is_low(x.dtype):
            return x, g
        x32 = x.float()
        if COMPENSATION in state:
            x32 = x32 + state[COMPENSATION].float()
        return x32, g.float()

    def step(self, spec: Any, x: Any, g: Any, state: dict[str, Any], hp: dict[str, Any]) -> dict[str, Any]:
        """``spec.update`` on the working values, ``x`` written in place; returns the rule's new state.

        The one sequence every path runs (plain, eager, compiled): upcast, the rule, the rounded write.
        """
        wx, wg = self.working(x, g, state)
        new_x, new_state = spec.update(wx, wg, state, **hp)
        self.store(x, new_x, state)
        return new_state

    def store(self, x: Any, new_x: Any, state: dict[str, Any]) -> None:
        """Write the rule's ``new_x`` into the parameter ``x`` (rounded), keeping the rounding error."""
        x.copy_(new_x)
        if self.is_low(x.dtype) and COMPENSATION in state:
            state[COMPENSATION].copy_(new_x - x.float())


__all__ = ["COMPENSATION", "LOW_PRECISION", "Precision"]
