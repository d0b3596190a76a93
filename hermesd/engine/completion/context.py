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


# File extensions -> LSP language ids, for `hermesd complete` (editors send their own).
LANGUAGES = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescriptreact",
             ".jsx": "javascriptreact", ".go": "go", ".rs": "rust", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp",
             ".hpp": "cpp", ".java": "java", ".kt": "kotlin", ".rb": "ruby", ".php": "php", ".lua": "lua", ".sh": "shellscript",
             ".cs": "csharp", ".swift": "swift", ".md": "markdown", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
             ".toml": "toml", ".html": "html", ".css": "css", ".sql": "sql"}


def language_of(path: str) -> str:
    """The LSP language id a file's extension suggests ("" when unknown)."""
    import os

    return LANGUAGES.get(os.path.splitext(path)[1].lower(), "")


def offset_of(text: str, line: int, column: int) -> int:
    """The str index of 1-based ``line`` and ``column`` (in characters), as editors and compilers print them.

    Raises ValueError naming what is out of range.
    """
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        raise ValueError(f"line {line} is outside the file (1 to {len(lines)})")
    if not 1 <= column <= len(lines[line - 1]) + 1:
        raise ValueError(f"column {column} is outside line {line} (1 to {len(lines[line - 1]) + 1})")
    return sum(len(x) + 1 for x in lines[:line - 1]) + column - 1
