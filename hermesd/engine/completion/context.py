"""The hole: the text before and after the cursor, cut to the configured budgets at line boundaries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hole:
    """What the model sees of one document: the prefix up to the cursor, the suffix after it."""

    prefix: str
    suffix: str
    language: str = ""
    path: str = ""  # the file's path (or URI) for the hole-filler prompt and the secret-file rule


def cut(text: str, offset: int, prefix_chars: int, suffix_chars: int, language: str = "", path: str = "") -> Hole:
    """The hole at ``offset`` (a str index): at most ``prefix_chars`` before, ``suffix_chars`` after.

    A cut prefix starts at a line start and a cut suffix ends at a line end
    when one is within the budget, so the model never sees half a first line.
    """
    offset = max(0, min(offset, len(text)))
    start = max(0, offset - prefix_chars)
    if start > 0:
        newline = text.find("\n", start, offset)
        if newline != -1:
            start = newline + 1
    end = min(len(text), offset + suffix_chars)
    if end < len(text):
        newline = text.rfind("\n", offset, end)
        if newline != -1:
            end = newline + 1
    return Hole(text[start:offset], text[offset:end], language, path)
