"""Fonts for figures in Chinese: a CJK family after matplotlib's default, so every glyph is drawn.

matplotlib (3.6 and later) falls back glyph by glyph along ``font.family``:
Latin letters, digits and math symbols keep the default DejaVu Sans, and Chinese
characters come from the first CJK family found.  :func:`figure_fonts` sets that
list for the figures drawn inside it only (``matplotlib.rc_context``), so the
caller's settings are left as they were.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from matplotlib import font_manager, rc_context

from ..lang import EN, Lang

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                "Microsoft YaHei", "PingFang SC", "SimHei")
"""CJK families in order of preference (Noto CJK is what the README's setup and .ci/run install)."""


class MissingFont(RuntimeError):
    """No CJK font is installed, so Chinese figures would show boxes."""


def cjk_family() -> str:
    """The first installed family of :data:`CJK_FAMILIES`; :class:`MissingFont` in one line if none.

    A font installed after matplotlib built its font cache is found among the
    system's font files and added.
    """
    known = {font.name for font in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    for path in font_manager.findSystemFonts():
        if "CJK" in path or "wqy" in path.lower():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError):
                continue
    known = {font.name for font in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in known:
            return family
    raise MissingFont("no CJK font found for Chinese figures: install one (Debian: apt-get install fonts-noto-cjk)")


@contextlib.contextmanager
def figure_fonts(say: Lang = EN) -> Iterator[None]:
    """Inside, figures drawn and saved use a CJK fallback font when ``say`` is Chinese (nothing changes for English)."""
    if say.code != "zh":
        yield
        return
    with rc_context({"font.family": ["DejaVu Sans", cjk_family()]}):
        yield


__all__ = ["CJK_FAMILIES", "MissingFont", "cjk_family", "figure_fonts"]
