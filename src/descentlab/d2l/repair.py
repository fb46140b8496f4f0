"""The smallest repair of a cell that does not parse: one character inserted or deleted.

A cell of the notes may have been typed wrong (their RMSProp cells never close a
parenthesis).  :func:`one_character_repair` tries every single-character edit
that can fix Python's syntax — inserting one of ``)]}:,"'`` anywhere, or deleting
one bracket or punctuation mark — and keeps those after which the cell parses.
Edits giving the same program (the same syntax tree) are one repair; of the
different repairs, the one whose edit comes last wins (a bracket left open is
closed where the cell ends, so that everything written stays inside it), shown at
its earliest position in that program (right after the last token written; after a run of
the same character, inserting it before or after being the same text).
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

INSERTIONS = ")]}:,\"'"
DELETIONS = "()[]{}:,;."
MAX_REPAIR_CHARS = 20_000
"""Cells longer than this are not searched (each candidate is one parse of the cell)."""


@dataclass(frozen=True)
class Repair:
    """One character inserted into or deleted from a cell's source, at ``offset``."""

    action: str  # "inserted" or "deleted"
    char: str
    offset: int
    line: int  # 1-based
    column: int  # 1-based
    error: str  # the SyntaxError it repairs: "'(' was never closed (line 1)"
    source: str  # the repaired source

    def describe(self, original: str) -> str:
        """``')' inserted after 'labels' (line 2, column 27)``."""
        before = original[:self.offset].rstrip().split()
        word = before[-1] if before else ""
        anchor = f" after {(word if len(word) <= 30 else '…' + word[-30:])!r}" if word else ""
        return f"{self.char!r} {self.action}{anchor} (line {self.line}, column {self.column})"


def syntax_error(source: str) -> SyntaxError | None:
    """The error compiling ``source`` as a cell, or None if it parses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            ast.parse(source)
    except SyntaxError as error:
        return error
    return None


def _parses(source: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            return ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def one_character_repair(source: str) -> Repair | None:
    """The one-character edit after which ``source`` parses (see the module's docstring), or None."""
    error = syntax_error(source)
    if error is None or len(source) > MAX_REPAIR_CHARS:
        return None
    found: dict[str, list[tuple[int, str, str, str]]] = {}  # program -> (offset, action, char, source)
    for offset in range(len(source) + 1):
        edits = [("inserted", char, source[:offset] + char + source[offset:]) for char in INSERTIONS]
        if offset < len(source) and source[offset] in DELETIONS:
            edits.append(("deleted", source[offset], source[:offset] + source[offset + 1:]))
        for action, char, edited in edits:
            tree = _parses(edited)
            if tree is not None:
                found.setdefault(ast.dump(tree), []).append((offset, action, char, edited))
    if not found:
        return None
    program = max(found.values(), key=lambda edits: max(edit[0] for edit in edits))
    offset, action, char, edited = min(program)
    while action == "inserted" and offset < len(source) and source[offset] == char:
        offset += 1  # the same text: say it after the run of equal characters (after "gd_2d)", not before its ")")
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    where = f" (line {error.lineno})" if error.lineno else ""
    return Repair(action, char, offset, line, column, f"{error.msg}{where}", edited)


__all__ = ["DELETIONS", "INSERTIONS", "MAX_REPAIR_CHARS", "Repair", "one_character_repair", "syntax_error"]
