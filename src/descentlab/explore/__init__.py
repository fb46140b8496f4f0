"""``descentlab explore``: one offline page where every slider moves the library's own numbers.

:func:`explore` computes every registry algorithm over a grid of settings on the
lab's objectives (:mod:`.data`), embeds the results quantized and deflated
(:mod:`.encode`), and returns an :class:`Explorer`: its ``html`` is one
self-contained page (``save(path)`` writes it), and in Jupyter it shows itself.
:func:`widget` shows the same page's module as a Jupyter widget (:mod:`.jupyter`, anywidget).
"""

from __future__ import annotations

from .data import ExploreData, build
from .encode import QUANTIZATION
from collections.abc import Mapping, Sequence
from typing import Any

from .page import FILENAME, Explorer, embedded_data, explore, notes_page, page_hash, render

_BUILT: dict[tuple[tuple[str, ...] | None, tuple[str, ...] | None], ExploreData] = {}
"""The grids :func:`widget` computed in this process, by (objectives, algorithms)."""


def widget(objectives: Sequence[str] | None = None, algorithms: Sequence[str] | None = None, lang: str = "en", *,
           runs: Sequence[tuple[str, Mapping[str, Any]]] | None = None, explorer: Explorer | None = None,
           fallback: bool | None = None) -> Any:
    """The explorer as a Jupyter widget (anywidget; ``pip install 'descentlab[jupyter]'``), sized to the output cell.

    ``objectives``, ``algorithms`` and ``lang`` are :func:`explore`'s (the grids are
    computed once per process and shared by every widget of them; ``explorer`` reuses
    an :func:`explore` result's).  ``runs``, up to three (algorithm, hyperparameters),
    opens it on those (as :func:`page_hash`); the widget's ``hash`` trait holds what
    it shows.  ``fallback`` is the output's ``text/html`` for viewers without widgets
    (nbconvert's HTML): the offline page in a frame as tall as the page, for the first
    widget of the same data only (``None``, the default), every one (``True``) or none
    (``False``).
    """
    from ..lang import lang as language

    say = language(lang)
    try:
        from .jupyter import widget as make
    except ImportError as error:
        raise ImportError(f"the explorer widget needs anywidget ({error.name} is missing): "
                          "pip install 'descentlab[jupyter]'") from error
    if explorer is not None:
        data = explorer.data
    else:
        key = (None if objectives is None else tuple(objectives), None if algorithms is None else tuple(algorithms))
        data = _BUILT.get(key)
        if data is None:
            data = _BUILT[key] = build(objectives, algorithms)
    return make(data, say, hash=page_hash(runs) if runs else "", fallback=fallback)

__all__ = ["FILENAME", "QUANTIZATION", "ExploreData", "Explorer", "build", "embedded_data", "explore", "notes_page",
           "page_hash", "render", "widget"]
