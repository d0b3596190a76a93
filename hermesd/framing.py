"""LSP framing: a JSON-RPC message as ``Content-Length`` header plus body, and back.

Standard library only: the forwarder's relay, the CLI's shared-daemon client
and the daemon's readers all use it, and the CLI's path to its first byte
must not import asyncio or pygls for it. The daemon's own pygls connection
parses frames through :mod:`hermesd.serve.stdio` and :mod:`hermesd.serve.tcp`, which
use :class:`Headers` so that a hostile header is refused the same way
everywhere.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

_HEADER = b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"


class RawResult:
    """A result already serialised to JSON (a cached reply): the connection sends it as is, unencoded."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def frame(message: dict[str, Any], default: Callable[[Any], Any] | None = None) -> bytes:
    """One LSP frame: header plus the JSON body (ASCII, so lengths are exact)."""
    return frame_body(json.dumps(message, default=default, separators=(",", ":")).encode("ascii"))


def frame_body(body: bytes) -> bytes:
    """The LSP header for an already encoded JSON body, and the body."""
    return _HEADER % len(body) + body


MAX_FRAME_BYTES = 64 * 1024 * 1024  # a frame's body; ~64 chat messages at their 1 MiB limit
MAX_HEADER_LINE = 8 * 1024  # longer "header lines" are read in pieces, never whole


class FrameError(ValueError):
    """A header block that names no usable body length; the frame is dropped, the reader resyncs."""


class Headers:
    """The header block of one frame, fed line by line (shared by the stdio and TCP readers).

    A bad ``Content-Length`` (not a number, negative, over ``limit``) raises
    :class:`FrameError` before any body is read: nothing is allocated for
    it, and the reader resynchronises on the next ``Content-Length`` line,
    even one glued to the dropped body's bytes.
    """

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self.limit = limit
        self.length = -1

    def feed(self, line: bytes) -> int | None:
        """The body's length once the block is complete; None while more lines are needed."""
        if not line.strip():
            return self.length if self.length >= 0 else None
        start = line.lower().rfind(b"content-length:")
        if start < 0:
            return None  # another header (Content-Type), or the bytes of a dropped body
        value = line[start + len(b"content-length:"):].strip()
        self.length = -1
        if not value.isdigit():
            raise FrameError(f"bad Content-Length header {value[:40].decode('latin-1')!r}: not a non-negative integer; frame dropped")
        if len(value) > 12 or int(value) > self.limit:
            raise FrameError(f"Content-Length {value[:20].decode('latin-1')} is over the {self.limit}-byte frame limit; frame dropped")
        self.length = int(value)
        return None


HEADER_END = b"\r\n\r\n"
_USUAL_HEADER = re.compile(rb"Content-Length: (\d+)\r\n(?:Content-Type: [^\r\n]*\r\n)?\r\n")
MAX_HEADER_BLOCK = 64 * 1024  # bytes without a blank line after which the forwarder stops waiting for one


def whole_frames(data: bytes | bytearray, limit: int = MAX_FRAME_BYTES) -> tuple[list[tuple[int, int]], int]:
    """The (start, end) of each whole frame's body in ``data``, and how many bytes those frames take.

    For a relay that must cut a stream only between frames (the forwarder):
    headers are parsed, bodies only sliced. A header block :class:`Headers`
    refuses is consumed with no body span (the receiver answers it, as it
    would without the relay); so is a header block that never ends.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    size = len(data)
    while True:
        usual = _USUAL_HEADER.match(data, pos)  # what every LSP writer sends: one regex match, no Headers object
        if usual is not None and len(usual[1]) <= 12 and (length := int(usual[1])) <= limit:
            body = usual.end()
            if size < body + length:
                return spans, pos
            spans.append((body, body + length))
            pos = body + length
            continue
        end = data.find(HEADER_END, pos)
        if end < 0:
            if len(data) - pos > MAX_HEADER_BLOCK:
                pos = len(data)
            return spans, pos
        headers, length = Headers(limit), None
        try:
            for line in bytes(data[pos:end]).split(b"\r\n"):
                headers.feed(line + b"\r\n")
            length = headers.feed(b"\r\n")
        except FrameError:
            pass
        body = end + len(HEADER_END)
        if length is None:
            pos = body
            continue
        if len(data) < body + length:
            return spans, pos
        spans.append((body, body + length))
        pos = body + length


def line(message: dict[str, Any]) -> bytes:
    """One newline-delimited JSON message (the Agent Client Protocol's framing over stdio)."""
    return json.dumps(message, separators=(",", ":")).encode("ascii") + b"\n"


def line_body(body: bytes) -> bytes:
    """An already encoded JSON body as one line."""
    return body + b"\n"


def whole_lines(data: bytes | bytearray, limit: int = MAX_FRAME_BYTES) -> tuple[list[tuple[int, int]], int]:
    """:func:`whole_frames` for newline-delimited JSON: the (start, end) of each whole line, its newline
    included (a blank line gives no span), and how many bytes they take. A line longer than ``limit`` is
    cut where it passes it: the receiver refuses the pieces (-32700), and no buffer grows for ever."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while True:
        end = data.find(b"\n", pos)
        if end < 0 or end - pos > limit:
            if len(data) - pos <= limit:
                return spans, pos
            spans.append((pos, pos + limit))
            pos += limit
            continue
        if data[pos:end].strip():
            spans.append((pos, end + 1))
        pos = end + 1


def read_frame(stdin: Any, limit: int = MAX_FRAME_BYTES) -> bytes | None:
    """The body of the next LSP frame, or None at end of input; :class:`FrameError` for a bad header."""
    headers = Headers(limit)
    while True:
        line = stdin.readline(MAX_HEADER_LINE)
        if not line:
            return None
        length = headers.feed(line)
        if length is not None:
            break
    body = stdin.read(length)
    return body if len(body) == length else None


def parse_error(message: str) -> bytes:
    """A JSON-RPC parse error (-32700) for a frame whose id is unknown."""
    return frame({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": message}})
