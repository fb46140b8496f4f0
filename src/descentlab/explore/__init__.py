"""``descentlab explore``: one offline page where every slider moves the library's own numbers.

:func:`explore` computes every registry algorithm over a grid of settings on the
lab's objectives (:mod:`.data`), embeds the results quantized and deflated
(:mod:`.encode`), and returns an :class:`Explorer`: its ``html`` is one
self-contained page (``save(path)`` writes it), and in Jupyter it shows itself.
"""

from __future__ import annotations

from .data import ExploreData, build
from .encode import QUANTIZATION
from .page import FILENAME, Explorer, embedded_data, explore, notes_page, page_hash, render

__all__ = ["FILENAME", "QUANTIZATION", "ExploreData", "Explorer", "build", "embedded_data", "explore", "notes_page",
           "page_hash", "render"]
