"""The explorer as a Jupyter widget (anywidget): the offline page's own ES module, drawn in the output cell.

:func:`widget` returns an :class:`ExploreWidget`.  Its front end is ``page.js``
followed by ``widget.js`` as one ES module: ``widget.js`` calls page.js's
``mount`` on a shadow root inside the output, so the widget is the page, sized
by its content (the cell grows to the explorer's height; nothing scrolls
inside).  The grids are held once by an :class:`ExploreSource` model that every
explorer of the same data in the kernel points to, so a notebook (with its
widget state saved) holds them once, however many explorers it shows.  The
widget's ``hash`` trait is the page's URL hash: set it to open the explorer on
some runs (:func:`descentlab.explore.page_hash`), read it to see what is shown.

Where no widget can run (nbconvert's HTML without widget state, a viewer
without the kernel), the output's ``text/html`` is the offline page in a frame
as tall as the page (:func:`~descentlab.explore.page.framed`); by default only
the first explorer of the same data carries it, the later ones a line pointing
to it, so the page is not stored once per output.

Needs ``anywidget`` (``pip install 'descentlab[jupyter]'``).
"""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from typing import Any

import anywidget
import traitlets
from ipywidgets import widget_serialization

from ..lang import EN, Lang
from .data import ExploreData
from .encode import dumps
from .page import body_html, framed, render
from .strings import page_strings

import json


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def module_source() -> str:
    """The widget's ES module: page.js (which exports ``mount``), then widget.js (anywidget's ``render``)."""
    return _asset("page.js") + "\n" + _asset("widget.js")


def shadow_css(css: str) -> str:
    """page.css for a shadow root: what the page styles on ``body`` goes to the ``.explore-body`` element."""
    css = re.sub(r"html:lang\((\w+)\)\s+body\b", r".explore-body:lang(\1)", css)
    css = re.sub(r"(?<![\w.#-])body\b", ".explore-body", css)
    return ":host { display: block; }\n" + css


class ExploreSource(anywidget.AnyWidget):
    """The grids and texts of one explorer data set in one language: synced once, shared by every explorer of it."""

    _esm = "export default {};"  # never shown: the explorers read it
    data = traitlets.Unicode("").tag(sync=True)
    strings = traitlets.Unicode("").tag(sync=True)
    body = traitlets.Unicode("").tag(sync=True)
    css = traitlets.Unicode("").tag(sync=True)
    lang = traitlets.Unicode("en").tag(sync=True)

    def __init__(self, explore_data: ExploreData, say: Lang = EN) -> None:
        super().__init__(
            data=dumps(explore_data),
            strings=json.dumps(page_strings(explore_data, say), ensure_ascii=False, separators=(",", ":")),
            body=body_html(explore_data, say),
            css=shadow_css(_asset("page.css")),
            lang=say.code,
        )
        self.explore_data = explore_data
        self.say = say
        self.page_shown = False  # whether an output of this kernel carries the offline page already

    @property
    def key(self) -> str:
        return source_key(self.data, self.say)

    def page(self) -> str:
        """The offline page of the same data and language (the fallback's content)."""
        return render(self.explore_data, self.say)


def source_key(data_json: str, say: Lang) -> str:
    return hashlib.sha256(f"{say.code}\n{data_json}".encode()).hexdigest()


_SOURCES: dict[str, ExploreSource] = {}
"""Every source of this kernel by the hash of its data and language: an explorer of the same data reuses it."""


def shared_source(explore_data: ExploreData, say: Lang = EN) -> ExploreSource:
    """The kernel's source for ``explore_data`` in ``say``'s language, made on first use."""
    key = source_key(dumps(explore_data), say)
    found = _SOURCES.get(key)
    if found is None or found.comm is None:  # a closed widget is made anew
        found = _SOURCES[key] = ExploreSource(explore_data, say)
    return found


class ExploreWidget(anywidget.AnyWidget):
    """One explorer in a notebook output: the page's module on a shared :class:`ExploreSource`."""

    _esm = module_source()
    source = traitlets.Instance(ExploreSource).tag(sync=True, **widget_serialization)
    hash = traitlets.Unicode("").tag(sync=True)

    def __init__(self, source: ExploreSource, hash: str = "", fallback: bool | None = None) -> None:
        super().__init__(source=source, hash=hash)
        self.fallback = fallback

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        shown = super()._repr_mimebundle_(**kwargs)
        if shown is None:
            return None
        data, metadata = shown
        source = self.source
        if self.fallback or (self.fallback is None and not source.page_shown):
            data["text/html"] = framed(source.page())
            source.page_shown = True
        elif self.fallback is None:
            data["text/html"] = ("<p><i>descentlab explore: the same data as the explorer shown first in this notebook "
                                 "(the page is stored once, with that output).</i></p>")
        return data, metadata


def widget(explore_data: ExploreData, say: Lang = EN, hash: str = "", fallback: bool | None = None) -> ExploreWidget:
    """An explorer widget on ``explore_data`` (see :func:`descentlab.explore.widget`)."""
    return ExploreWidget(shared_source(explore_data, say), hash=hash, fallback=fallback)


__all__ = ["ExploreSource", "ExploreWidget", "module_source", "shadow_css", "shared_source", "widget"]
