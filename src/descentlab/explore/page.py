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
import re
import uuid
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
    return _filled(data, say, style=_asset("page.css"), script=_asset("page.js"), embedded=dumps(data),
                   strings=strings_json(data, say))


def strings_json(data: ExploreData, say: Lang = EN) -> str:
    """Every text the page's script shows, as the script-safe JSON the page embeds."""
    return script_safe(json.dumps(page_strings(data, say), ensure_ascii=False, separators=(",", ":")))


def _filled(data: ExploreData, say: Lang, *, embedded: str, **parts: str) -> str:
    strings = page_strings(data, say)
    static = {key: value if key in HTML_KEYS else html.escape(value)
              for key, value in strings.items() if isinstance(value, str)}
    return Template(_asset("page.html")).substitute(static, data=embedded, **parts)


def body_html(data: ExploreData, say: Lang = EN) -> str:
    """The page's ``<body>`` without its scripts: what a Jupyter widget puts in its shadow root."""
    page = _filled(data, say, style="", script="", embedded="", strings="")
    body = re.search(r"<body[^>]*>(.*)</body>", page, re.S)
    assert body is not None, "page.html has a <body>"
    return re.sub(r"<script\b[^>]*>.*?</script>", "", body.group(1), flags=re.S).strip()


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
        return framed(self.html)


FRAME_HEIGHT = 2400
"""The frame's height in px until the page inside reports its own (a viewer that runs no script keeps this one)."""

_REPORT_HEIGHT = """<script>
(() => {
  const send = () => parent.postMessage({ descentlabExploreHeight: Math.ceil(document.documentElement.getBoundingClientRect().height) }, "*");
  new ResizeObserver(send).observe(document.body);
})();
</script>
"""


def framed(page: str) -> str:
    """The page in an ``<iframe srcdoc>`` as tall as the page: the notebook's fallback (nbconvert HTML, ``_repr_html_``).

    The frame is sandboxed (scripts only, no access to the notebook); the page posts
    its height to the notebook, whose small script sets the frame's height to it, so
    the page shows whole, with no scrollbar of its own.
    """
    name = f"descentlab-explore-{uuid.uuid4().hex[:12]}"
    inside = page.replace("</body>", _REPORT_HEIGHT + "</body>", 1)
    return (
        f'<iframe id="{name}" srcdoc="{html.escape(inside, quote=True)}" '
        f'style="width:100%;height:{FRAME_HEIGHT}px;border:0;display:block" title="descentlab explore" '
        'sandbox="allow-scripts"></iframe>\n'
        f'<script>(() => {{ const frame = document.getElementById("{name}"); '
        'window.addEventListener("message", (event) => { const height = event.data && event.data.descentlabExploreHeight; '
        'if (event.source === frame.contentWindow && height > 0) frame.style.height = height + "px"; }); })();</script>'
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


__all__ = ["FILENAME", "Explorer", "body_html", "embedded_data", "explore", "framed", "page_hash", "render", "strings_json"]
