"""The explorer as one self-contained HTML page, and as an object that shows itself in Jupyter.

The page is ``page.html`` filled by :class:`string.Template` (stdlib: the three
files it fills in are our own, so escaping rules of a full template engine are
not needed; JSON is made script-safe by :func:`descentlab.explore.encode.dumps`),
with ``page.css``, ``page.js`` and the data inlined: it needs no network and
works from ``file://``.  Jupyter gets the very same page in an ``<iframe
srcdoc>``.
"""

from __future__ import annotations

import functools
import html
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from string import Template
from typing import Any
from urllib.parse import quote

from ..files import write_text
from ..lang import EN, LANGUAGES, Lang
from ..lang import lang as _language
from .data import NOTES_PROBLEM, NOTES_STEPS, ExploreData, axes, build
from .encode import dumps, script_safe
from .strings import HTML_KEYS, page_strings

FILENAME = "explore.html"
"""The name ``descentlab reproduce`` gives the page beside the report."""


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def render(data: ExploreData, say: Lang = EN) -> str:
    """The page's HTML for ``data``, every text in ``say``'s language (the numbers are the same in each)."""
    strings = page_strings(data, say)
    static = {key: value if key in HTML_KEYS else html.escape(value)
              for key, value in strings.items() if isinstance(value, str)}
    return Template(_asset("page.html")).substitute(
        static,
        style=_asset("page.css"),
        script=_asset("page.js"),
        data=dumps(data),
        strings=script_safe(json.dumps(strings, ensure_ascii=False, separators=(",", ":"))),
    )


@dataclass(frozen=True)
class Explorer:
    """The page and the data it holds; shows itself in Jupyter (``_repr_html_``)."""

    data: ExploreData
    html: str

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON the page embeds, decoded (as the page's script reads it)."""
        return embedded_data(self.html)

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the page to ``path`` atomically; returns the path."""
        write_text(path, self.html)
        return str(path)

    def _repr_html_(self) -> str:
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" style="width:100%;height:1500px;border:0" '
            'title="descentlab explore" sandbox="allow-scripts"></iframe>'
        )


def explore(objectives: Sequence[str] | None = None, algorithms: Sequence[str] | None = None,
            lang: str = "en") -> Explorer:
    """Compute every grid (all registry algorithms on the lab's objectives, or those named) and build the page.

    ``lang`` is the page's language: ``"en"`` (default) or ``"zh"`` (Chinese); another is a ``ValueError``.
    """
    say = _language(lang)  # before minutes of work
    data = build(objectives, algorithms)
    return Explorer(data, render(data, say))


@functools.lru_cache(maxsize=1)
def _notes_data() -> ExploreData:
    return build(objectives=("notes",))


@functools.lru_cache(maxsize=len(LANGUAGES))
def notes_page(say: Lang = EN) -> str:
    """The page written beside the report: every algorithm on the notes' quadratic only, in ``say``'s language.

    2.0 MB, built in about 1.4 s, where every objective of the lab takes 4.7 s; the grids are
    computed once per process and shared by both languages (``descentlab explore`` writes the
    page with every objective).
    """
    return render(_notes_data(), say)


def embedded_data(page: str, element: str = "explore-data") -> dict[str, Any]:
    """The data a page embeds, read back from its HTML (``element="explore-strings"``: its texts)."""
    start_tag = f'<script type="application/json" id="{element}">'
    start = page.index(start_tag) + len(start_tag)
    end = page.index("</script>", start)
    return json.loads(page[start:end])


def page_hash(
    runs: Sequence[tuple[str, Mapping[str, Any]]], *, problem: str = NOTES_PROBLEM, steps: int = NOTES_STEPS
) -> str:
    """The URL fragment that opens the page on ``runs`` (up to three (algorithm, hyperparameters)); others off.

    Hyperparameters not given keep the page's defaults; a value not on the grid
    snaps to the nearest grid point.
    """
    from ..algorithms import get

    if not 1 <= len(runs) <= 3:
        raise ValueError(f"the page shows one to three optimizers, got {len(runs)}")
    parts = [f"p={quote(problem)}", f"T={steps}", "focus=1"]
    for slot, (algorithm, given) in enumerate(runs, start=1):
        spec = get(algorithm)
        values = []
        for axis in axes(spec):
            if axis.name in given:
                value = given[axis.name] if axis.part is None else given[axis.name][axis.part]
                values.append(f"{axis.name if axis.part is None else f'{axis.name}.{axis.part}'}={float(value)!r}")
        parts.append(f"o{slot}={algorithm}:{','.join(values)}")
    parts += [f"o{slot}=off" for slot in range(len(runs) + 1, 4)]
    return "#" + "&".join(parts)


__all__ = ["FILENAME", "Explorer", "embedded_data", "explore", "page_hash", "render"]
