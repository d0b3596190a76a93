"""Where a code block from a reply goes when the user chooses "Apply…" (``hermes/planApply``).

The editor sends the block and the target document (its path and current
text, and the range the conversation carried, if any); this module says
what the document would become, and how it decided:

- ``range``: the block replaces that range;
- ``diff``: the block is a unified diff for this file, applied hunk by hunk;
- ``file``: the block is the whole file, rewritten;
- ``needsRange``: none of these holds (a fragment, and no range): the user
  picks the range and the editor asks again. Replacing a whole file with a
  fragment is never proposed.

Pure functions: nothing is written. The editor shows the result as a diff
and writes it only when the user accepts.
"""

from __future__ import annotations

import bisect
import os
import re
import time
from collections import Counter
from typing import Callable

from hermesd.protocol import LspRange, PlanApplyParams, PlanApplyResult

MAX_BYTES = 4 * 1024 * 1024
# Beyond these the request is refused (-32602 naming the limit): real diffs and files stay far below them, and
# every step below is linear in them, so a request at the limits answers well within DEADLINE_SECONDS.
MAX_LINES = 200_000  # in the block, and in the file
MAX_HUNKS = 2_000
# A plan that has not finished by then is abandoned with -32602 (checked between hunks and while searching).
DEADLINE_SECONDS = 1.0
# A block counts as the whole file when it keeps at least this share of the file's lines.
WHOLE_FILE_SIMILARITY = 0.6
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class ApplyError(ValueError):
    """The block cannot be applied (JSON-RPC -32602); the message says why and what to do."""


class Cancelled(Exception):
    """The client cancelled the request (``$/cancelRequest``): the plan stopped between two steps."""


class Budget:
    """The plan's deadline and its cancellation, checked cooperatively (:meth:`check`) between steps."""

    def __init__(self, seconds: float = DEADLINE_SECONDS, cancelled: Callable[[], bool] = lambda: False) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.cancelled = cancelled

    def check(self) -> None:
        if self.cancelled():
            raise Cancelled()
        if time.monotonic() > self.ends:
            raise ApplyError(f"planning this block took over {self.seconds:g} s, the limit: "
                             "apply a smaller diff, or select the lines it replaces")


def plan(params: PlanApplyParams, budget: Budget | None = None) -> PlanApplyResult:
    """``hermes/planApply``: what the document would become, and by which rule."""
    budget = budget or Budget()
    code, path, text = params.code, params.path, params.text
    for name, value in (("code", code), ("path", path), ("text", text)):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApplyError(f"`{name}` is not valid Unicode text (it contains a lone surrogate)") from None
    if len(code.encode()) + len(text.encode()) > MAX_BYTES:
        raise ApplyError(f"`code` and `text` together exceed {MAX_BYTES // (1024 * 1024)} MiB, the limit")
    for name, value in (("code", code), ("text", text)):
        lines = len(value.splitlines())
        if lines > MAX_LINES:
            raise ApplyError(f"`{name}` has {lines} lines; the limit is {MAX_LINES} lines")
    if is_diff(code, params.language or ""):
        return PlanApplyResult(mode="diff", path=path, text=apply_diff(code, text, path, budget))
    if params.range is not None:
        return PlanApplyResult(mode="range", path=path, text=replace_range(text, params.range, code))
    if is_whole_file(code, text):
        return PlanApplyResult(mode="file", path=path,
                               text=code if code.endswith("\n") or not text.endswith("\n") else code + "\n")
    return PlanApplyResult(mode="needsRange", path=path,
                           reason="the block is a fragment of the file: select the lines it should replace, then apply again")


def is_diff(code: str, language: str = "") -> bool:
    """Whether ``code`` is a unified diff: hunks, and ``---``/``+++`` headers or a diff/patch language tag."""
    lines = code.splitlines()
    has_hunk = any(_HUNK.match(line) for line in lines)
    has_headers = any(line.startswith("--- ") for line in lines) and any(line.startswith("+++ ") for line in lines)
    return has_hunk and (has_headers or language.lower() in ("diff", "patch"))


def is_whole_file(code: str, text: str) -> bool:
    """The block rewrites the whole file (not a fragment of it): it keeps most of the file's lines.

    Counted with repeats, in any order (a linear count: a block that moves a function is still the whole
    file; an ordered measure such as difflib's is quadratic on large files).
    """
    old, new = text.splitlines(), code.splitlines()
    if not any(line.strip() for line in old):
        return True  # an empty file: any block is all of it
    if len(new) < len(old) * WHOLE_FILE_SIMILARITY:
        return False
    kept = sum((Counter(old) & Counter(new)).values())
    return kept >= len(old) * WHOLE_FILE_SIMILARITY


def replace_range(text: str, span: LspRange, code: str) -> str:
    """``text`` with the LSP range ``span`` (zero-based, UTF-16 characters) replaced by ``code``."""
    try:
        start = _offset(text, span.start.line, span.start.character)
        end = _offset(text, span.end.line, span.end.character)
    except ValueError as exc:
        raise ApplyError("`range` must be {start: {line, character}, end: {line, character}}, zero-based") from exc
    if end < start:
        raise ApplyError("`range` ends before it starts")
    replaced = text[start:end]
    if code.endswith("\n") and not replaced.endswith("\n"):
        code = code[:-1]  # the range stops at a line's end: keep the newline that follows it
    return text[:start] + code + text[end:]


def _offset(text: str, line: int, character: int) -> int:
    if line < 0 or character < 0:
        raise ValueError("negative position")
    lines = text.splitlines(keepends=True)
    if line >= len(lines):
        return len(text)
    offset = sum(len(chunk) for chunk in lines[:line])
    content = lines[line].rstrip("\r\n")
    units = 0
    for i, char in enumerate(content):
        if units >= character:
            return offset + i
        units += 2 if ord(char) > 0xFFFF else 1
    return offset + len(content)


def apply_diff(diff: str, text: str, path: str, budget: Budget | None = None) -> str:
    """``text`` with the unified diff's hunks applied; each hunk must match the file exactly."""
    budget = budget or Budget()
    lines = diff.splitlines()
    target = next((line[4:].strip() for line in lines if line.startswith("+++ ")), "")
    target = target.split("\t")[0]
    if target.startswith(("a/", "b/")):
        target = target[2:]
    if target and target != "/dev/null" and os.path.basename(target) != os.path.basename(path):
        raise ApplyError(f"this diff is for {target}, not {os.path.basename(path)}: open {target} and apply it there")
    hunks = sum(1 for line in lines if line.startswith("@@"))
    if hunks > MAX_HUNKS:
        raise ApplyError(f"the diff has {hunks} hunks; the limit is {MAX_HUNKS}: apply it in parts")
    old = text.splitlines(keepends=True)
    index = LineIndex(old)
    out: list[str] = []
    cursor = 0
    i = 0
    while i < len(lines):
        match = _HUNK.match(lines[i])
        if not match:
            i += 1
            continue
        budget.check()
        i += 1
        before: list[str] = []
        after: list[str] = []
        while i < len(lines) and not _HUNK.match(lines[i]):
            line = lines[i]
            if line.startswith("\\"):
                pass  # "\ No newline at end of file"
            elif line.startswith("-"):
                before.append(line[1:])
            elif line.startswith("+"):
                after.append(line[1:])
            elif line.startswith(" ") or line == "":
                before.append(line[1:])
                after.append(line[1:])
            else:
                break
            i += 1
        at = index.find(before, int(match.group(1)) - 1, cursor, budget)
        if at is None:
            raise ApplyError(f"hunk {match.group(0)} does not match "
                             f"{os.path.basename(path)} as it is now: ask for the whole changed section instead")
        out.extend(old[cursor:at])
        out.extend(line + "\n" for line in after)
        cursor = at + len(before)
    out.extend(old[cursor:])
    result = "".join(out)
    return result[:-1] if text and not text.endswith("\n") and result.endswith("\n") else result


class LineIndex:
    """A file's lines (line ends stripped) and, built once on the first hunk that is not where the diff says,
    where each line occurs: every hunk of a diff is found with them."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = [line.rstrip("\r\n") for line in lines]
        self._where: dict[str, list[int]] | None = None

    @property
    def where(self) -> dict[str, list[int]]:
        if self._where is None:
            self._where = {}
            for i, line in enumerate(self.lines):
                self._where.setdefault(line, []).append(i)
        return self._where

    def find(self, wanted: list[str], hint: int, start: int, budget: Budget) -> int | None:
        """Where ``wanted`` occurs at or after ``start``, nearest to ``hint``.

        Where the diff says first; else only the places where the hunk's rarest line occurs are tried,
        nearest to the hint first. Either way a hunk costs about its own length, not the file's.
        """
        size, total = len(wanted), len(self.lines)
        if size == 0:  # a pure insertion: anywhere from start on
            return min(max(hint, start), total) if start <= total else None
        if start <= hint <= total - size and self.lines[hint:hint + size] == wanted:
            return hint
        if any(line not in self.where for line in wanted):
            return None
        anchor = min(range(size), key=lambda j: len(self.where[wanted[j]]))
        found = self.where[wanted[anchor]]  # ascending; the hunk would start at found[k] - anchor
        low = bisect.bisect_left(found, start + anchor)
        high = bisect.bisect_right(found, total - size + anchor)
        right = min(max(bisect.bisect_left(found, hint + anchor), low), high)
        left = right - 1
        tried = 0
        while left >= low or right < high:
            if right >= high or left >= low and hint + anchor - found[left] <= found[right] - hint - anchor:
                at, left = found[left] - anchor, left - 1
            else:
                at, right = found[right] - anchor, right + 1
            if self.lines[at:at + size] == wanted:
                return at
            tried += 1
            if tried % 1024 == 0:
                budget.check()
        return None
