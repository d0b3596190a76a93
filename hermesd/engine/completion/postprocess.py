"""What a model wrote, made fit to show as ghost text: pure functions, no I/O.

A model that is not told where the suffix begins often writes it again (the
closing bracket already after the cursor, the next line of the file); a
multi-line answer runs past the block being written; a chat model wraps its
answer in tags or a code fence. Each rule below is one such habit, and an
answer that is only whitespace is no suggestion at all.
"""

from __future__ import annotations

import re

from hermesd.engine.completion.context import Hole
from hermesd.engine.completion.requests import COMPLETION_CLOSE, COMPLETION_OPEN

_CLOSERS = frozenset(")]}>\"'`;,: ")
_FENCE = re.compile(r"^```[\w+-]*\n(.*?)\n?```\s*$", re.S)


def clean(text: str, hole: Hole, *, multiline: bool, stops: tuple[str, ...] = (), chat: bool = False) -> str | None:
    """The suggestion to show for ``hole``, or None when nothing useful is left."""
    if chat:
        text = from_chat(text)
    text = cut_at_stop(text, stops)
    if _mid_line(hole):
        text = text.split("\n", 1)[0]
    elif not multiline:  # one line: the cursor's, or the next when the model starts with a line break
        lead = len(text) - len(text.lstrip("\n"))
        text = text[:lead] + text[lead:].split("\n", 1)[0]
    if "\n" in text:
        text = block_end(text, hole)
    text = trim_suffix_overlap(text, hole.suffix)
    text = text.rstrip() if "\n" in text else text.rstrip("\n")
    return text if text.strip() else None


def complete_enough(text: str, hole: Hole, *, multiline: bool, stops: tuple[str, ...] = ()) -> bool:
    """Whether more of the stream could not change :func:`clean`'s answer: a stop sequence arrived, the one
    line allowed is finished, or the block being written has ended (the caller then closes the stream)."""
    if any(s and s in text for s in stops):
        return True
    body = text.lstrip("\n") if not _mid_line(hole) else text
    if "\n" not in body:
        return False
    if _mid_line(hole) or not multiline:
        return True
    complete = text[:text.rfind("\n")]  # whole lines only: the last one may still grow
    return len(block_end(complete, hole)) < len(complete)


def from_chat(text: str) -> str:
    """A hole-filler reply without its wrapping: the text between the completion tags, or inside a code fence."""
    start = text.find(COMPLETION_OPEN)
    if start != -1:
        text = text[start + len(COMPLETION_OPEN):]
        end = text.find(COMPLETION_CLOSE)
        return text[:end] if end != -1 else text
    fenced = _FENCE.match(text.strip())
    return fenced.group(1) if fenced else text


def cut_at_stop(text: str, stops: tuple[str, ...]) -> str:
    """The text before the first stop sequence (a server that ignored ``stop`` still never shows one)."""
    positions = [i for i in (text.find(s) for s in stops if s) if i != -1]
    return text[:min(positions)] if positions else text


def _mid_line(hole: Hole) -> bool:
    """The cursor has code after it on its line: only the rest of this line makes sense."""
    return bool(hole.suffix.split("\n", 1)[0].strip())


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def block_end(text: str, hole: Hole) -> str:
    """A multi-line suggestion cut where it leaves the block being written, or where it reaches the suffix's
    first non-blank line (the model started writing what already follows)."""
    cursor_line = hole.prefix.rsplit("\n", 1)[-1]
    base = _indent(cursor_line) if cursor_line.strip() else len(cursor_line)
    next_line = next((line for line in hole.suffix.split("\n")[1:] if line.strip()), None) if "\n" in hole.suffix else None
    lines = text.split("\n")
    kept = [lines[0]]
    for line in lines[1:]:
        if line.strip() and next_line is not None and line.rstrip() == next_line.rstrip():
            break
        if line.strip() and _indent(line) < base:
            break
        kept.append(line)
    return "\n".join(kept)


def trim_suffix_overlap(text: str, suffix: str) -> str:
    """``text`` without its end that the suffix already begins with (``foo(a, b)`` typed before ``)``)."""
    rest_of_line = suffix.split("\n", 1)[0]
    if not rest_of_line.strip():
        return text
    for k in range(min(len(text), len(rest_of_line)), 0, -1):
        overlap = rest_of_line[:k]
        if text.endswith(overlap) and (k == len(rest_of_line) or k >= 4 or _CLOSERS.issuperset(overlap.strip())):
            return text[:-k]
    return text
