"""The languages the report, the exercises and the explorer are written in: English (default) and Chinese.

Every sentence is written once per language, side by side where it is built, and
both versions are filled with the same numbers::

    say(f"ends at f = {f:.3g}", f"最终 f = {f:.3g}")

``say`` is a :class:`Lang`; calling it returns the version in its language.  Both
f-strings must hold the same replacement fields (``{f:.3g}`` here), so that the
Chinese text shows every number the English one does: ``tests/test_lang.py``
checks every such call in the source.  A word chosen by a condition is chosen
outside the f-string, by its own ``say`` call, so the fields stay numbers and
names.  Passing ``say`` explicitly (default :data:`EN`) keeps it out of global
state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "zh")


@dataclass(frozen=True)
class Lang:
    """One language: ``say(english, chinese)`` returns the text in it; ``code`` is its BCP 47 tag's language."""

    code: str

    def __call__(self, en: str, zh: str, /) -> str:
        return zh if self.code == "zh" else en

    def join(self, items: Iterable[str]) -> str:
        """A list in the language's punctuation: ``a, b, c`` or ``a、b、c``."""
        return ("、" if self.code == "zh" else ", ").join(items)

    def sentences(self, *parts: str) -> str:
        """Sentences one after another: a space between them in English, none in Chinese."""
        return ("" if self.code == "zh" else " ").join(p for p in parts if p)


EN = Lang("en")
ZH = Lang("zh")


def lang(code: str) -> Lang:
    """The :class:`Lang` for ``code``; ``ValueError`` in one line for another."""
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {code!r}; choose one of: {', '.join(LANGUAGES)}")
    return EN if code == "en" else ZH


__all__ = ["EN", "LANGUAGES", "Lang", "ZH", "lang"]
