"""The page's data as JSON: every block quantized to bfloat16, delta-coded along the steps, deflated, base64.

Quantization (the page states it): paths, f, effective learning rates and
states are float32 rounded to their top 16 bits (bfloat16: 8 exponent bits, 7
stored mantissa bits, 8 significant), a relative error of at most 2^-8 (0.4%); nan, ±inf and
signs are kept.  Each run's 201 values of one channel are delta-coded (mod
2^16), the high and low bytes stored as two planes, and deflated (zlib).  The
end points at :data:`~descentlab.explore.data.PRECISE_STEPS` are kept exactly
(float64), and so are the contour tables' float32 values.  :func:`decode_block`
inverts this in Python, as the page does in JavaScript.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import asdict
from typing import Any

import numpy as np

from ..lang import EN, Lang
from .data import PRECISE_STEPS, STEPS, THEORY_KINDS, Block, ExploreData


def quantization(say: Lang = EN) -> str:
    """What the page's numbers lose, as the page states it."""
    steps = ", ".join(str(s) for s in PRECISE_STEPS)
    return say(f"paths, f(x_t), effective learning rates and states: bfloat16 (float32 rounded to its top 16 bits, "
               f"relative error at most 2^-8 = 0.4%); end points after {steps} steps: float64 (exact); contours: float32",
               f"路径、f(x_t)、有效学习率和状态：bfloat16（float32 只保留最高 16 位，相对误差至多 2^-8 = 0.4%）；"
               f"{steps} 步时的终点：float64（精确）；等高线：float32")


QUANTIZATION = quantization()
RELATIVE_ERROR = 2.0**-8
"""The largest relative error of a bfloat16 value (round to nearest)."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def _unb64(text: str) -> bytes:
    return zlib.decompress(base64.b64decode(text))


def to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> the top 16 bits, rounded to nearest (ties to even); nan stays nan."""
    bits = values.astype(np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    rounded = np.where(np.isnan(values), bits >> 16 | 0x40, rounded)  # a nan never rounds into an infinity
    return rounded.astype(np.uint16)


def from_bfloat16_bits(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def encode_values(values: np.ndarray) -> str:
    """(K, C, T + 1) float32 -> base64 of the deflated byte planes of the delta-coded bfloat16 bits."""
    bits = to_bfloat16_bits(values).astype(np.int64)
    delta = np.diff(bits, axis=-1, prepend=0) & 0xFFFF
    planes = np.stack([(delta >> 8) & 0xFF, delta & 0xFF]).astype(np.uint8)
    return _b64(planes.tobytes())


def decode_values(text: str, shape: tuple[int, ...]) -> np.ndarray:
    """Invert :func:`encode_values`: float32 of ``shape`` (K, C, T + 1)."""
    raw = np.frombuffer(_unb64(text), dtype=np.uint8)
    half = raw.size // 2
    delta = (raw[:half].astype(np.uint32) << 8 | raw[half:]).reshape(shape)
    bits = (np.cumsum(delta, axis=-1) & 0xFFFF).astype(np.uint16)
    return from_bfloat16_bits(bits)


def _block_json(block: Block) -> dict[str, Any]:
    return {
        "channels": list(block.channels),
        "settings": int(block.values.shape[0]),
        "data": encode_values(block.values),
        "precise": _b64(block.precise.astype("<f8").tobytes()),
        "diverged": list(block.diverged_at),
    }


def to_json(data: ExploreData) -> dict[str, Any]:
    """The page's data: one JSON-ready dict."""
    return {
        "version": 1,
        "steps": STEPS,
        "precise_steps": list(PRECISE_STEPS),
        "quantization": QUANTIZATION,
        "algorithms": {
            name: {"title": data.titles[name], "axes": [asdict(a) for a in axes], "theory": THEORY_KINDS.get(name)}
            for name, axes in data.algorithms.items()
        },
        "landscapes": {
            key: {
                "objective": land.objective,
                "label": land.label,
                "formula": land.formula,
                "window": land.window,
                "minima": land.minima,
                "log_levels": land.log_levels,
                "grid_points": int(land.grid.shape[0]),
                "grid": _b64(land.grid.astype("<f4").tobytes()),
                "theory": land.theory,
                "initial_lr": data.initial_lr[key],
            }
            for key, land in data.landscapes.items()
        },
        "problems": [
            {"key": p.key, "landscape": p.key.split("@")[0], "start": p.start, "start_index": p.start_index}
            for p in data.problems
        ],
        "blocks": {f"{alg}|{problem}": _block_json(block) for (alg, problem), block in data.blocks.items()},
        "notes": data.notes,
    }


def dumps(data: ExploreData) -> str:
    """The JSON text, safe inside an HTML ``<script>`` element (no ``</``)."""
    return script_safe(json.dumps(to_json(data), separators=(",", ":"), allow_nan=False, default=_finite))


def script_safe(text: str) -> str:
    """JSON text made safe inside an HTML ``<script>`` element: no ``</`` (``<\\/`` means the same in JSON)."""
    return text.replace("</", "<\\/")


def _finite(value: Any) -> Any:
    raise TypeError(f"not JSON serializable: {value!r}")


def decode_block(payload: dict[str, Any], algorithm: str, problem: str) -> tuple[np.ndarray, np.ndarray]:
    """The (values, precise) arrays of one block of a page's decoded JSON ``payload``, as the page sees them."""
    entry = payload["blocks"][f"{algorithm}|{problem}"]
    k, c = entry["settings"], len(entry["channels"])
    values = decode_values(entry["data"], (k, c, payload["steps"] + 1))
    precise = np.frombuffer(_unb64(entry["precise"]), dtype="<f8").reshape(k, len(payload["precise_steps"]), 2)
    return values, precise


__all__ = [
    "QUANTIZATION", "RELATIVE_ERROR", "decode_block", "decode_values", "dumps", "encode_values", "quantization",
    "script_safe", "to_json",
]
