"""Every sentence written in two languages holds the same numbers in both.

The check reads the source: each ``say(english, chinese)`` call whose two
arguments are f-strings must have the same replacement fields (expression,
conversion and format spec) in both, and the Chinese one must hold Chinese.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from descentlab.lang import EN, LANGUAGES, ZH, lang

SOURCE = Path(__file__).resolve().parents[1] / "src" / "descentlab"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _fields(node: ast.expr) -> Counter:
    """The replacement fields of an f-string (or none for a plain string), as source text."""
    if isinstance(node, ast.Constant):
        return Counter()
    assert isinstance(node, ast.JoinedStr), ast.unparse(node)
    found: Counter = Counter()
    for value in node.values:
        if isinstance(value, ast.FormattedValue):
            spec = "" if value.format_spec is None else ast.unparse(value.format_spec)
            found[(ast.unparse(value.value), value.conversion, spec)] += 1
    return found


def _say_calls() -> list[tuple[str, int, ast.Call]]:
    calls = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "say"
                    and len(node.args) == 2 and not node.keywords):
                calls.append((str(path.relative_to(SOURCE)), node.lineno, node))
    return calls


CALLS = _say_calls()


def test_the_source_has_bilingual_sentences() -> None:
    assert len(CALLS) > 100


@pytest.mark.parametrize("where, line, call", CALLS, ids=[f"{w}:{n}" for w, n, _ in CALLS])
def test_both_languages_hold_the_same_numbers(where: str, line: int, call: ast.Call) -> None:
    english, chinese = call.args
    assert isinstance(english, (ast.Constant, ast.JoinedStr)) and isinstance(chinese, (ast.Constant, ast.JoinedStr)), \
        "both versions are written out as literals"
    en_fields, zh_fields = _fields(english), _fields(chinese)
    assert set(en_fields) == set(zh_fields), (en_fields, zh_fields)
    zh_text = "".join(v.value for v in ([chinese] if isinstance(chinese, ast.Constant) else chinese.values)
                      if isinstance(v, ast.Constant))
    en_text = "".join(v.value for v in ([english] if isinstance(english, ast.Constant) else english.values)
                      if isinstance(v, ast.Constant))
    if re.search(r"[A-Za-z]{4,}", en_text.replace("descentlab", "")):
        assert HAN.search(zh_text) or zh_text == en_text, "an English sentence needs a Chinese one"


def test_a_lang_picks_its_version_and_punctuation() -> None:
    assert EN("rises", "上升") == "rises" and ZH("rises", "上升") == "上升"
    assert EN.join(["a", "b"]) == "a, b" and ZH.join(["a", "b"]) == "a、b"
    assert [lang(code).code for code in LANGUAGES] == ["en", "zh"]
    with pytest.raises(ValueError, match="unknown language 'fr'; choose one of: en, zh"):
        lang("fr")
