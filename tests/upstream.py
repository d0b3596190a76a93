"""A fake LLM provider: a real HTTP server on 127.0.0.1 for end-to-end tests.

It speaks the wire formats hermesd's providers talk to (OpenAI Chat Completions,
OpenAI Responses, Anthropic Messages, the ``/models`` list), records every
request byte for byte, and injects faults (error statuses, slow first byte,
stalls, connection resets, malformed SSE, truncated streams, huge deltas).
Standard library only; it binds 127.0.0.1 and never contacts any other host
(it even skips the reverse-DNS lookup ``HTTPServer.server_bind`` would do).

Python use::

    from tests.upstream import Upstream
    with Upstream() as up:
        client = OpenAI(base_url=up.url + "/v1", api_key="k")
        up.reply_text = "Hello"
        up.fail(status=429, headers={"Retry-After": "2"})      # next request -> 429
        up.fault("reset", after_chunks=2)                     # next stream -> TCP RST
        ...
        [req] = up.wait_for_requests(1)
        assert req.json["model"] == "model-a"
        assert up.max_in_flight <= 4   # the most provider requests it answered at once

Endpoints are matched on the *suffix* of the path (query string ignored), so
any prefix works (``/v1/chat/completions``, ``/api/v1/chat/completions``,
``/anthropic/v1/messages`` ...):

* ``POST .../chat/completions`` -- OpenAI Chat Completions (SSE when ``"stream": true``)
* ``POST .../responses``        -- OpenAI Responses API (SSE when ``"stream": true``)
* ``POST .../messages``         -- Anthropic Messages (SSE when ``"stream": true``)
* ``POST .../fim/completions``  -- Mistral's FIM (chat-shaped chunks; SSE when ``"stream": true``)
* ``POST .../completions``      -- OpenAI text completions, FIM's ``prompt`` + ``suffix`` (SSE when ``"stream": true``)
* ``POST .../infill``           -- llama.cpp's server (``content`` events; SSE when ``"stream": true``)
* ``POST .../api/generate``     -- Ollama (one JSON object a line unless ``"stream": false``)
* ``GET  .../models``           -- ``{"object": "list", "data": [{"id": ..., "object": "model"}]}`` (an entry given
  as a dict, such as OpenRouter's with ``pricing`` and ``context_length``, is served as it is)
* anything else                 -- 404 with an OpenAI-style error body (still recorded)

Control endpoints (never recorded, never faulted) so that tests written in
other languages (Node for the VS Code extension, Lua for Neovim) can drive it:

* ``GET  /__requests``    -- JSON list of recorded requests (method, path, headers, json, body, received_at)
* ``GET  /__disconnects`` -- JSON list of ``[path, seconds_since_request_start]``
* ``GET  /__config``      -- current settings
* ``POST /__config``      -- JSON object of settings to change (keys of ``DEFAULTS``); 400 on unknown keys
* ``POST /__fault``       -- ``{"kind": ..., "times": 1, "path_contains": null, ...kind params}``
* ``POST /__reset``       -- same as :meth:`Upstream.reset`

Standalone: ``python tests/upstream.py [--port N]`` prints exactly one line
``READY http://127.0.0.1:PORT`` (flushed) and serves until SIGTERM/SIGINT.

Faults (``up.fault(kind, times=1, path_contains=None, **params)``); a request
consumes at most one fault, the first queued one that matches it.  ``times``
may be ``None`` for "every matching request".  ``status`` and
``delay_first_byte`` match any recorded request; the stream kinds only match
the generation endpoints (chat/completions, responses, messages), so e.g. a
model-list probe cannot eat a fault meant for a chat stream.

* ``status`` (status=500, body=None, headers=None, message=None) -- same as :meth:`Upstream.fail`.
* ``delay_first_byte`` (seconds=1.0) -- sleep before the status line.
* ``stall`` (after_chunks=1, seconds=30.0) -- send n text chunks, sleep with the
  connection open, then carry on normally.
* ``reset`` (after_chunks=1) -- send n text chunks, then abort the TCP
  connection (SO_LINGER 0 + close, so the client sees ECONNRESET / a broken stream).
* ``malformed_sse`` (after_chunks=1) -- send the garbage line ``data {not json``, then continue.
* ``invalid_json_chunk`` (after_chunks=1, close=False) -- send ``data: {"choices": [``
  then continue (or end the stream cleanly if ``close=True``).
* ``truncated`` (after_chunks=None) -- end the HTTP body cleanly after n text
  chunks (default: after all of them) and close the connection: no finish
  chunk / usage / ``[DONE]``, no ``response.completed``, no ``message_stop``.
* ``oversized`` (bytes=1_000_000, after_chunks=0) -- one extra text delta of
  ``bytes`` ``"x"`` characters inserted before text chunk n.
* ``refuse`` -- not a server fault: point the client at :func:`closed_port_url`
  (a port nothing listens on) to get "connection refused".

"Chunks" in ``after_chunks`` are the text deltas (``up.chunk_count`` of them);
role / block-start / reasoning events are not counted.  ``after_chunks=0``
fires right before the first text delta.  On non-streaming requests the stream
faults degrade sensibly: stall = headers then sleep, reset = headers then RST,
truncated = half the body then close, malformed/invalid = an invalid JSON body.

While streaming, the server notices the client going away (EOF/RST seen via
``select`` while sleeping between chunks, or a failed write) and appends
``(path, seconds_since_request_start)`` to ``up.disconnects``.
"""

from __future__ import annotations

import argparse
import copy
import io
import itertools
import json as _json
import select
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

__all__ = ["Upstream", "Recorded", "DEFAULTS", "FAULT_KINDS", "closed_port", "closed_port_url"]

HOST = "127.0.0.1"

DEFAULTS: dict[str, Any] = {
    "reply_text": "Hello from upstream",
    "chunk_count": 5,
    "chunk_delay": 0.0,
    "routed_model": None,
    "models": ["model-a", "model-b"],
    "reasoning_text": None,
    "finish_reason": "stop",
    # chat/completions delta key for reasoning_text ("reasoning" = OpenRouter,
    # "reasoning_content" = DeepSeek/vLLM style).
    "reasoning_field": "reasoning",
    # OpenRouter's usage accounting in the last chat/completions chunk: ``usage.cost`` (USD; None: left out, as
    # servers without accounting do) and the prompt's cached tokens (``prompt_tokens_details``; None: left out).
    "usage_cost": 0.00042,
    "cached_tokens": None,
}

STREAM_FAULTS = frozenset({"stall", "reset", "malformed_sse", "invalid_json_chunk", "truncated", "oversized"})
FAULT_KINDS = frozenset({"status", "delay_first_byte"}) | STREAM_FAULTS

_SLEEP_STEP = 0.02

_OPENAI_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    413: ("invalid_request_error", "request_too_large"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", "overloaded"),
    504: ("server_error", None),
}
_ANTHROPIC_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}


def _dumps(obj: Any) -> bytes:
    return _json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released) -- for "connection refused" tests."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def closed_port_url() -> str:
    """``http://127.0.0.1:PORT`` for a port nothing listens on: the "refuse" fault."""
    return f"http://{HOST}:{closed_port()}"


@dataclass
class Recorded:
    """One request as the provider received it."""

    method: str
    path: str  # including the query string
    headers: dict[str, str]  # lower-case keys; repeated headers joined with ", "
    body: bytes
    json: Any  # parsed body, or None when empty / not JSON
    received_at: float  # time.monotonic()
    client_port: int = 0  # the client's TCP port: equal ports, one reused connection

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "json": self.json,
            "body": self.body.decode("utf-8", "replace"),
            "received_at": self.received_at,
        }


@dataclass
class _Fault:
    kind: str
    times: int | None
    path_contains: str | None
    params: dict[str, Any]


class _Disconnected(Exception):
    """The client went away (or the server is shutting down) mid-response."""


def _split(text: str, n: Any) -> list[str]:
    n = max(1, int(n or 1))
    size = len(text)
    return [text[i * size // n : (i + 1) * size // n] for i in range(n)]


def _words(obj: Any) -> int:
    if isinstance(obj, str):
        return len(obj.split())
    if isinstance(obj, dict):
        return sum(_words(v) for k, v in obj.items() if k not in ("type", "role", "id", "cache_control"))
    if isinstance(obj, list):
        return sum(_words(v) for v in obj)
    return 0


def _prompt_tokens(body: Any) -> int:
    if not isinstance(body, dict):
        return 1
    return max(1, sum(_words(body.get(k)) for k in ("messages", "input", "system", "instructions", "prompt",
                                                          "suffix", "input_prefix", "input_suffix")))


def _error_format(path: str) -> str:
    path = path.rstrip("/")
    if path.endswith("/converse-stream"):
        return "bedrock"
    return "anthropic" if path.endswith("/messages") else "openai"


def _error_body(fmt: str, status: int, message: str | None = None) -> dict[str, Any]:
    message = message or f"upstream fake error {status}"
    if fmt == "bedrock":
        return {"message": message}
    if fmt == "anthropic":
        etype = _ANTHROPIC_ERRORS.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": etype, "message": message}}
    etype, code = _OPENAI_ERRORS.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": etype, "param": None, "code": code}}


class _Ctx:
    """Everything a response builder needs, frozen at request time."""

    def __init__(self, up: "Upstream", req: Recorded, n: int, fault: _Fault | None) -> None:
        body = req.json if isinstance(req.json, dict) else {}
        self.created = int(time.time())
        self.model = up.routed_model or body.get("model") or "unknown"
        self.finish_reason = up.finish_reason or "stop"
        self.reasoning_field = up.reasoning_field or "reasoning"
        self.pieces = _split(str(up.reply_text or ""), up.chunk_count)
        if fault is not None and fault.kind == "oversized":
            at = max(0, min(int(fault.params.get("after_chunks", 0) or 0), len(self.pieces)))
            self.pieces.insert(at, "x" * int(fault.params.get("bytes", 1_000_000)))
        self.text = "".join(self.pieces)
        rt = up.reasoning_text
        self.reasoning_pieces = _split(str(rt), up.chunk_count) if rt else []
        self.reasoning = str(rt) if rt else None
        self.prompt_tokens = _prompt_tokens(body)
        self.reasoning_tokens = len(self.reasoning.split()) if self.reasoning else 0
        self.completion_tokens = max(1, len(self.text.split())) + self.reasoning_tokens
        self.total_tokens = self.prompt_tokens + self.completion_tokens
        self.usage_cost = up.usage_cost
        self.cached_tokens = min(up.cached_tokens, self.prompt_tokens) if up.cached_tokens is not None else None
        self.n = n
        self.id = f"chatcmpl-upstream{n}"
        self.resp_id = f"resp_upstream{n:08d}"
        self.msg_id = f"msg_upstream{n:08d}"
        self.rs_id = f"rs_upstream{n:08d}"


# --------------------------------------------------------------------------- builders
# Stream builders return [(kind, sse_bytes)]; kind is "chunk" (a text delta,
# counted by after_chunks), "rchunk" (a reasoning delta) or "meta".


def _chat_usage(c: _Ctx) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
        "total_tokens": c.total_tokens,
    }
    if c.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": c.reasoning_tokens}
    if c.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": c.cached_tokens, "cache_write_tokens": 0}
    if c.usage_cost is not None:
        usage["cost"] = c.usage_cost
    return usage


def _chat_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    base = {"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model}

    def ev(choices: list[Any], **extra: Any) -> bytes:
        return b"data: " + _dumps({**base, "choices": choices, **extra}) + b"\n\n"

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[Any]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    items = [("meta", ev(choice({"role": "assistant"})))]
    items += [("rchunk", ev(choice({c.reasoning_field: p}))) for p in c.reasoning_pieces]
    items += [("chunk", ev(choice({"content": p}))) for p in c.pieces]
    items.append(("meta", ev(choice({}, c.finish_reason))))
    items.append(("meta", ev([], usage=_chat_usage(c))))
    items.append(("meta", b"data: [DONE]\n\n"))
    return items


def _chat_json(c: _Ctx) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": c.text, "refusal": None}
    if c.reasoning is not None:
        message[c.reasoning_field] = c.reasoning
    return {
        "id": c.id,
        "object": "chat.completion",
        "created": c.created,
        "model": c.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": c.finish_reason}],
        "usage": _chat_usage(c),
    }


def _responses_usage(c: _Ctx) -> dict[str, Any]:
    return {
        "input_tokens": c.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": c.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": c.reasoning_tokens},
        "total_tokens": c.total_tokens,
    }


def _responses_object(c: _Ctx, status: str, output: list[Any], usage: Any) -> dict[str, Any]:
    incomplete = {"reason": "max_output_tokens"} if status == "incomplete" else None
    return {
        "id": c.resp_id,
        "object": "response",
        "created_at": c.created,
        "status": status,
        "model": c.model,
        "output": output,
        "usage": usage,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": None,
        "metadata": {},
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "temperature": 1.0,
        "top_p": 1.0,
        "text": {"format": {"type": "text"}},
    }


def _responses_output(c: _Ctx) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if c.reasoning is not None:
        out.append({"id": c.rs_id, "type": "reasoning", "summary": [{"type": "summary_text", "text": c.reasoning}]})
    out.append(
        {
            "id": c.msg_id,
            "type": "message",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": c.text, "annotations": [], "logprobs": []}],
        }
    )
    return out


def _responses_final_status(c: _Ctx) -> str:
    return "incomplete" if c.finish_reason == "length" else "completed"


def _responses_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    seq = itertools.count()

    def ev(etype: str, **fields: Any) -> bytes:
        data = {"type": etype, "sequence_number": next(seq), **fields}
        return b"event: " + etype.encode() + b"\ndata: " + _dumps(data) + b"\n\n"

    items = [
        ("meta", ev("response.created", response=_responses_object(c, "in_progress", [], None))),
        ("meta", ev("response.in_progress", response=_responses_object(c, "in_progress", [], None))),
    ]
    oi = 0
    if c.reasoning is not None:
        ids = {"item_id": c.rs_id, "output_index": 0, "summary_index": 0}
        items.append(
            ("meta", ev("response.output_item.added", output_index=0, item={"id": c.rs_id, "type": "reasoning", "summary": []}))
        )
        items.append(("meta", ev("response.reasoning_summary_part.added", **ids, part={"type": "summary_text", "text": ""})))
        items += [("rchunk", ev("response.reasoning_summary_text.delta", **ids, delta=p)) for p in c.reasoning_pieces]
        items.append(("meta", ev("response.reasoning_summary_text.done", **ids, text=c.reasoning)))
        items.append(
            ("meta", ev("response.reasoning_summary_part.done", **ids, part={"type": "summary_text", "text": c.reasoning}))
        )
        items.append(("meta", ev("response.output_item.done", output_index=0, item=_responses_output(c)[0])))
        oi = 1
    msg_added = {"id": c.msg_id, "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    ids = {"item_id": c.msg_id, "output_index": oi, "content_index": 0}
    empty_part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    full_part = {"type": "output_text", "text": c.text, "annotations": [], "logprobs": []}
    items.append(("meta", ev("response.output_item.added", output_index=oi, item=msg_added)))
    items.append(("meta", ev("response.content_part.added", **ids, part=empty_part)))
    items += [("chunk", ev("response.output_text.delta", **ids, delta=p, logprobs=[])) for p in c.pieces]
    items.append(("meta", ev("response.output_text.done", **ids, text=c.text, logprobs=[])))
    items.append(("meta", ev("response.content_part.done", **ids, part=full_part)))
    items.append(("meta", ev("response.output_item.done", output_index=oi, item=_responses_output(c)[-1])))
    status = _responses_final_status(c)
    final = _responses_object(c, status, _responses_output(c), _responses_usage(c))
    items.append(("meta", ev(f"response.{status}", response=final)))
    return items


def _responses_json(c: _Ctx) -> dict[str, Any]:
    return _responses_object(c, _responses_final_status(c), _responses_output(c), _responses_usage(c))


def _anthropic_stop(c: _Ctx) -> str:
    return _ANTHROPIC_STOP.get(c.finish_reason, c.finish_reason)


def _anthropic_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    def ev(etype: str, **fields: Any) -> bytes:
        return b"event: " + etype.encode() + b"\ndata: " + _dumps({"type": etype, **fields}) + b"\n\n"

    message = {
        "id": c.msg_id,
        "type": "message",
        "role": "assistant",
        "model": c.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": c.prompt_tokens, "output_tokens": 1},
    }
    items = [("meta", ev("message_start", message=message))]
    idx = 0
    if c.reasoning is not None:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        items.append(("meta", ev("content_block_start", index=0, content_block=block)))
        items.append(("meta", ev("ping")))
        items += [
            ("rchunk", ev("content_block_delta", index=0, delta={"type": "thinking_delta", "thinking": p}))
            for p in c.reasoning_pieces
        ]
        sig = {"type": "signature_delta", "signature": "upstream-signature"}
        items.append(("meta", ev("content_block_delta", index=0, delta=sig)))
        items.append(("meta", ev("content_block_stop", index=0)))
        idx = 1
    items.append(("meta", ev("content_block_start", index=idx, content_block={"type": "text", "text": ""})))
    if idx == 0:
        items.append(("meta", ev("ping")))
    items += [
        ("chunk", ev("content_block_delta", index=idx, delta={"type": "text_delta", "text": p})) for p in c.pieces
    ]
    items.append(("meta", ev("content_block_stop", index=idx)))
    delta = {"stop_reason": _anthropic_stop(c), "stop_sequence": None}
    items.append(("meta", ev("message_delta", delta=delta, usage={"output_tokens": c.completion_tokens})))
    items.append(("meta", ev("message_stop")))
    return items


def _anthropic_json(c: _Ctx) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if c.reasoning is not None:
        content.append({"type": "thinking", "thinking": c.reasoning, "signature": "upstream-signature"})
    content.append({"type": "text", "text": c.text})
    return {
        "id": c.msg_id,
        "type": "message",
        "role": "assistant",
        "model": c.model,
        "content": content,
        "stop_reason": _anthropic_stop(c),
        "stop_sequence": None,
        "usage": {"input_tokens": c.prompt_tokens, "output_tokens": c.completion_tokens},
    }


def _eventstream_message(event_type: str, payload: dict[str, Any]) -> bytes:
    """One AWS event-stream frame (what Bedrock's converse-stream sends), CRCs included."""
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")):
        raw_name, raw_value = name.encode(), value.encode()
        headers += bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value
    body = _dumps(payload)
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", zlib.crc32(message))


def _bedrock_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    stop = "max_tokens" if c.finish_reason == "length" else "end_turn"
    items = [("meta", _eventstream_message("messageStart", {"role": "assistant"}))]
    items += [
        ("chunk", _eventstream_message("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}))
        for p in c.pieces
    ]
    items.append(("meta", _eventstream_message("contentBlockStop", {"contentBlockIndex": 0})))
    items.append(("meta", _eventstream_message("messageStop", {"stopReason": stop})))
    usage = {"inputTokens": c.prompt_tokens, "outputTokens": c.completion_tokens, "totalTokens": c.total_tokens}
    items.append(("meta", _eventstream_message("metadata", {"usage": usage, "metrics": {"latencyMs": 1}})))
    return items


def _bedrock_json(c: _Ctx) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": c.text}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": c.prompt_tokens, "outputTokens": c.completion_tokens, "totalTokens": c.total_tokens},
        "metrics": {"latencyMs": 1},
    }


def _text_completion_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    base = {"id": f"cmpl-upstream{c.n}", "object": "text_completion", "created": c.created, "model": c.model}

    def ev(text: str, finish: str | None = None) -> bytes:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
        return b"data: " + _dumps({**base, "choices": [choice]}) + b"\n\n"

    items = [("chunk", ev(p)) for p in c.pieces]
    items.append(("meta", ev("", c.finish_reason)))
    items.append(("meta", b"data: " + _dumps({**base, "choices": [], "usage": _chat_usage(c)}) + b"\n\n"))
    items.append(("meta", b"data: [DONE]\n\n"))
    return items


def _text_completion_json(c: _Ctx) -> dict[str, Any]:
    return {"id": f"cmpl-upstream{c.n}", "object": "text_completion", "created": c.created, "model": c.model,
            "choices": [{"index": 0, "text": c.text, "logprobs": None, "finish_reason": c.finish_reason}],
            "usage": _chat_usage(c)}


def _infill_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    items = [("chunk", b"data: " + _dumps({"content": p, "stop": False}) + b"\n\n") for p in c.pieces]
    items.append(("meta", b"data: " + _dumps({"content": "", "stop": True, "stop_type": "eos"}) + b"\n\n"))
    return items


def _infill_json(c: _Ctx) -> dict[str, Any]:
    return {"content": c.text, "stop": True, "stop_type": "eos", "tokens_predicted": c.completion_tokens}


def _ollama_stream(c: _Ctx) -> list[tuple[str, bytes]]:
    def line(**fields: Any) -> bytes:
        return _dumps({"model": c.model, "created_at": "2026-01-01T00:00:00Z", **fields}) + b"\n"

    items = [("chunk", line(response=p, done=False)) for p in c.pieces]
    items.append(("meta", line(response="", done=True, done_reason=c.finish_reason, prompt_eval_count=c.prompt_tokens,
                               eval_count=c.completion_tokens)))
    return items


def _ollama_json(c: _Ctx) -> dict[str, Any]:
    return {"model": c.model, "created_at": "2026-01-01T00:00:00Z", "response": c.text, "done": True,
            "done_reason": c.finish_reason, "prompt_eval_count": c.prompt_tokens, "eval_count": c.completion_tokens}


_ROUTES = {
    # suffix: (format, stream builder, json builder, invalid-json event line prefix)
    "/chat/completions": ("openai", _chat_stream, _chat_json, b""),
    "/fim/completions": ("openai", _chat_stream, _chat_json, b""),  # Mistral's FIM answers in chat's shape
    "/completions": ("openai", _text_completion_stream, _text_completion_json, b""),  # after the two above
    "/infill": ("openai", _infill_stream, _infill_json, b""),  # llama.cpp's server
    "/api/generate": ("ollama", _ollama_stream, _ollama_json, b""),  # Ollama: one JSON object a line
    "/converse-stream": ("bedrock", _bedrock_stream, _bedrock_json, b""),
    "/responses": ("openai", _responses_stream, _responses_json, b"event: response.output_text.delta\n"),
    "/messages": ("anthropic", _anthropic_stream, _anthropic_json, b"event: content_block_delta\n"),
}


# --------------------------------------------------------------------------- HTTP


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    upstream: "Upstream"

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn() (reverse DNS); skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, _Disconnected)):
            return  # client went away / socket closed under us: not interesting
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "upstream-fake/1.0"
    sys_version = ""
    server: _Server

    # ----------------------------------------------------------- plumbing
    def setup(self) -> None:
        super().setup()
        try:  # stream events go out as written, no Nagle / delayed-ACK stalls
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.server.upstream._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.upstream._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
        pass

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    @property
    def up(self) -> "Upstream":
        return self.server.upstream

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(65537)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # ----------------------------------------------------------- liveness
    def _alive(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` for the socket to become readable; False if the peer closed it."""
        if self.up._stopping.is_set():
            return False
        try:
            readable, _, _ = select.select([self.connection], [], [], timeout)
        except (OSError, ValueError):
            return False
        if not readable:
            return True
        try:
            data = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            data = b""
        if not data:
            self._note_disconnect()
            return False
        # The client sent more bytes (pipelining); it is still there.
        if timeout:
            time.sleep(timeout)
        return True

    def _sleep(self, seconds: float) -> None:
        """Sleep in small steps, raising _Disconnected as soon as the client goes away."""
        deadline = time.monotonic() + max(0.0, float(seconds))
        while True:
            remaining = deadline - time.monotonic()
            if not self._alive(min(max(remaining, 0.0), _SLEEP_STEP)):
                raise _Disconnected()
            if remaining <= 0:
                return

    def _note_disconnect(self) -> None:
        self.close_connection = True
        if self._disconnected or self.up._stopping.is_set():
            return
        self._disconnected = True
        self.up._add_disconnect(self._path, time.monotonic() - self._t0)

    def _write(self, data: bytes) -> None:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except (OSError, ValueError):
            self._note_disconnect()
            raise _Disconnected() from None

    def _write_chunk(self, payload: bytes) -> None:
        if payload:
            self._write(b"%x\r\n" % len(payload) + payload + b"\r\n")

    def _end_chunks(self) -> None:
        self._write(b"0\r\n\r\n")

    def _abort(self) -> None:
        """Reset the TCP connection: SO_LINGER 0 then close, so the peer gets an RST."""
        self.close_connection = True
        sock = self.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        for f in (self.wfile, self.rfile):
            try:
                f.close()
            except (OSError, ValueError):
                pass
        try:
            sock.close()  # the real close happens once rfile's reference is gone too
        except OSError:
            pass
        # http.server flushes wfile after the handler returns, and finish() flushes and closes it:
        # on the closed file that printed a ValueError traceback into the test output.
        self.wfile = io.BytesIO()

    # ----------------------------------------------------------- responses
    def _send_head(self, status: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("x-request-id", f"req_upstream{self._n}")
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()

    def _send_bytes(self, status: int, body: bytes, ctype: str = "application/json", headers: dict | None = None) -> None:
        hdrs = {"Content-Type": ctype, "Content-Length": str(len(body))}
        hdrs.update(headers or {})
        self._send_head(status, hdrs)
        if self.command != "HEAD":
            self._write(body)

    def _send_json(self, status: int, obj: Any, headers: dict | None = None) -> None:
        self._send_bytes(status, _dumps(obj), headers=headers)

    # ----------------------------------------------------------- dispatch
    def _dispatch(self) -> None:
        self._t0 = time.monotonic()
        self._disconnected = False
        self._n = 0
        self._path = self.path
        try:
            body = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        route = self.path.split("?", 1)[0]
        try:
            if route.startswith("/__"):
                self._control(route, body)
            else:
                self.up._flight(+1)
                try:
                    self._provider(route, body)
                finally:
                    self.up._flight(-1)
                self.up._add_answered(self._path)
        except _Disconnected:
            self.close_connection = True

    def _control(self, route: str, body: bytes) -> None:
        up = self.up
        try:
            data = _json.loads(body) if body.strip() else {}
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON", "type": "invalid_request_error"}})
            return
        try:
            if route == "/__requests" and self.command == "GET":
                self._send_json(200, [r.to_dict() for r in up.requests])
            elif route == "/__disconnects" and self.command == "GET":
                self._send_json(200, [list(d) for d in up.disconnects])
            elif route == "/__config" and self.command == "GET":
                self._send_json(200, up.config())
            elif route == "/__config" and self.command == "POST":
                if not isinstance(data, dict):
                    raise ValueError("config must be a JSON object")
                up.configure(**data)
                self._send_json(200, up.config())
            elif route == "/__fault" and self.command == "POST":
                if not isinstance(data, dict) or "kind" not in data:
                    raise ValueError('fault must be a JSON object with "kind"')
                data = dict(data)
                kind = data.pop("kind")
                up.fault(kind, **data)
                self._send_json(200, {"ok": True})
            elif route == "/__reset" and self.command == "POST":
                up.reset()
                self._send_json(200, {"ok": True})
            else:
                self._send_json(404, _error_body("openai", 404, f"no control endpoint {self.command} {route}"))
        except (ValueError, TypeError) as exc:
            self._send_json(400, {"error": {"message": str(exc), "type": "invalid_request_error"}})

    def _provider(self, route: str, body: bytes) -> None:
        up = self.up
        headers: dict[str, str] = {}
        for k, v in self.headers.items():
            k = k.lower()
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        try:
            parsed = _json.loads(body) if body.strip() else None
        except ValueError:
            parsed = None
        rec = Recorded(self.command, self.path, headers, body, parsed, self._t0, self.client_address[1])
        self._n = up._record(rec)

        stripped = route.rstrip("/")
        gen = None
        if self.command == "POST":
            gen = next((v for suffix, v in _ROUTES.items() if stripped.endswith(suffix)), None)
        is_models = self.command == "GET" and stripped.endswith("/models")
        fault = up._take_fault(self.path, generation=gen is not None)

        if fault is not None and fault.kind == "delay_first_byte":
            self._sleep(float(fault.params.get("seconds", 1.0)))
            fault = None
        if fault is not None and fault.kind == "status":
            self._send_error_fault(fault, _error_format(route))
            return

        if is_models:
            data = []
            for m in up.models or []:
                entry = {"id": m, "object": "model", "created": 0, "owned_by": "upstream"}
                if isinstance(m, dict):
                    entry = {"object": "model", "created": 0, "owned_by": "upstream", **m}
                data.append(entry)
            self._send_json(200, {"object": "list", "data": data})
            return
        if gen is None:
            self._send_json(404, _error_body("openai", 404, f"upstream fake: no route for {self.command} {route}"))
            return

        fmt, stream_builder, json_builder, bad_prefix = gen
        if body.strip() and not isinstance(parsed, dict):
            self._send_json(400, _error_body(fmt, 400, "request body is not a JSON object"))
            return
        ctx = _Ctx(up, rec, self._n, fault)
        if fault is not None and fault.kind == "oversized":
            fault = None  # already applied to ctx.pieces
        if fmt == "bedrock":
            self._stream(stream_builder(ctx), fault, bad_prefix, float(up.chunk_delay or 0.0),
                         content_type="application/vnd.amazon.eventstream")
        elif fmt == "ollama" and (not isinstance(parsed, dict) or parsed.get("stream") is not False):  # streams by default
            self._stream(stream_builder(ctx), fault, bad_prefix, float(up.chunk_delay or 0.0),
                         content_type="application/x-ndjson")
        elif isinstance(parsed, dict) and parsed.get("stream") is True:
            self._stream(stream_builder(ctx), fault, bad_prefix, float(up.chunk_delay or 0.0))
        else:
            self._non_stream(_dumps(json_builder(ctx)), fault)

    def _send_error_fault(self, fault: _Fault, fmt: str) -> None:
        p = fault.params
        status = int(p.get("status", 500))
        body = p.get("body")
        if body is None:
            raw = _dumps(_error_body(fmt, status, p.get("message")))
        elif isinstance(body, (bytes, bytearray)):
            raw = bytes(body)
        elif isinstance(body, str):
            raw = body.encode("utf-8")
        else:
            raw = _dumps(body)
        self._send_bytes(status, raw, headers=dict(p.get("headers") or {}))

    def _non_stream(self, body: bytes, fault: _Fault | None) -> None:
        kind = fault.kind if fault else None
        if kind in ("malformed_sse", "invalid_json_chunk"):
            body = b'{"choices": ['
        if kind not in ("stall", "reset", "truncated"):
            self._send_bytes(200, body)
            return
        self._send_head(200, {"Content-Type": "application/json", "Content-Length": str(len(body))})
        if kind == "stall":
            self._sleep(float(fault.params.get("seconds", 30.0)))
            self._write(body)
        elif kind == "reset":
            time.sleep(0.05)
            self._abort()
        else:  # truncated
            self._write(body[: len(body) // 2])
            self.close_connection = True

    def _stream(self, items: list[tuple[str, bytes]], fault: _Fault | None, bad_prefix: bytes, delay: float,
                content_type: str = "text/event-stream; charset=utf-8") -> None:
        pos = -1
        if fault is not None:
            chunk_idx = [i for i, (k, _) in enumerate(items) if k == "chunk"]
            default = None if fault.kind == "truncated" else 1
            n = fault.params.get("after_chunks", default)
            n = len(chunk_idx) if n is None else int(n)
            if n <= 0:
                pos = chunk_idx[0]
            elif n >= len(chunk_idx):
                pos = chunk_idx[-1] + 1
            else:
                pos = chunk_idx[n - 1] + 1
        self._send_head(
            200,
            {
                "Content-Type": content_type,
                "Cache-Control": "no-cache",
                "Transfer-Encoding": "chunked",
            },
        )
        first_delta = True
        for i, (kind, payload) in enumerate(items):
            if i == pos and fault is not None:
                if not self._stream_fault(fault, bad_prefix):
                    return
            if kind != "meta":
                if not first_delta and delay > 0:
                    self._sleep(delay)
                first_delta = False
            elif not self._alive(0.0):
                raise _Disconnected()
            self._write_chunk(payload)
        self._end_chunks()

    def _stream_fault(self, fault: _Fault, bad_prefix: bytes) -> bool:
        """Apply a positional stream fault; False means the response is over."""
        kind = fault.kind
        if kind == "stall":
            self._sleep(float(fault.params.get("seconds", 30.0)))
            return True
        if kind == "reset":
            time.sleep(0.05)  # let the chunks already sent reach the client first
            self._abort()
            return False
        if kind == "malformed_sse":
            self._write_chunk(b"data {not json\n\n")
            return True
        if kind == "invalid_json_chunk":
            self._write_chunk(bad_prefix + b'data: {"choices": [\n\n')
            if fault.params.get("close"):
                self._end_chunks()
                self.close_connection = True
                return False
            return True
        if kind == "truncated":
            self._end_chunks()
            self.close_connection = True
            return False
        return True


# --------------------------------------------------------------------------- API


class Upstream:
    """A fake LLM provider on ``http://127.0.0.1:PORT``; see the module docstring."""

    reply_text: str
    chunk_count: int
    chunk_delay: float
    routed_model: str | None
    models: list[Any]
    reasoning_text: str | None
    finish_reason: str
    reasoning_field: str
    usage_cost: float | None
    cached_tokens: int | None

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Condition()
        self._requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._disconnects: list[tuple[str, float]] = []
        self._answered: list[str] = []  # paths of responses written whole
        self._conns: set[socket.socket] = set()
        self._counter = 0
        self._in_flight = 0  # generation and model requests being answered right now
        self.max_in_flight = 0  # the most ever answered at once (since start or reset)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = int(port)
        self._set_defaults()

    # ----------------------------------------------------------- lifecycle
    def start(self) -> "Upstream":
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((HOST, self._port), _Handler)
        server.upstream = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="upstream-fake", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Upstream":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("Upstream is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    # ----------------------------------------------------------- settings
    def _set_defaults(self) -> None:
        for key, value in DEFAULTS.items():
            setattr(self, key, copy.deepcopy(value))

    def config(self) -> dict[str, Any]:
        return {key: copy.deepcopy(getattr(self, key)) for key in DEFAULTS}

    def configure(self, **settings: Any) -> None:
        """Set several settings at once (what ``POST /__config`` does); unknown keys raise ValueError."""
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
        if "chunk_count" in settings and int(settings["chunk_count"]) < 1:
            raise ValueError("chunk_count must be >= 1")
        for key, value in settings.items():
            setattr(self, key, value)

    def reset(self) -> None:
        """Forget recorded requests, disconnects and queued faults; settings back to DEFAULTS."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()
            self._disconnects.clear()
            self._answered.clear()
            self.max_in_flight = self._in_flight
            self._set_defaults()

    # ----------------------------------------------------------- faults
    def fail(
        self,
        status: int = 500,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int | None = 1,
        path_contains: str | None = None,
        message: str | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status``.

        ``body``: dict/list (sent as JSON), str or bytes (sent raw), or None for
        the provider's own error shape (Anthropic for ``.../messages``, OpenAI
        otherwise) with ``message``.
        """
        self.fault("status", times=times, path_contains=path_contains, status=status, body=body, headers=headers, message=message)

    def fault(self, kind: str, times: int | None = 1, path_contains: str | None = None, **params: Any) -> None:
        """Queue a fault for the next ``times`` matching requests (``None`` = all of them)."""
        if kind == "refuse":
            raise ValueError('"refuse" is not a server fault: point the client at closed_port_url() instead')
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(sorted(FAULT_KINDS))}")
        if times is not None and int(times) < 1:
            raise ValueError("times must be >= 1 or None")
        if kind == "status":
            params["status"] = int(params.get("status", 500))
        for key in ("after_chunks", "bytes"):
            if params.get(key) is not None:
                params[key] = int(params[key])
        with self._lock:
            self._faults.append(_Fault(kind, None if times is None else int(times), path_contains, params))

    def _take_fault(self, path: str, generation: bool) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.path_contains and f.path_contains not in path:
                    continue
                if f.kind in STREAM_FAULTS and not generation:
                    continue
                if f.times is not None:
                    f.times -= 1
                    if f.times <= 0:
                        self._faults.remove(f)
                return f
        return None

    # ----------------------------------------------------------- recording
    def _record(self, rec: Recorded) -> int:
        with self._lock:
            self._requests.append(rec)
            self._counter += 1
            self._lock.notify_all()
            return self._counter

    def _flight(self, step: int) -> None:
        with self._lock:
            self._in_flight += step
            self.max_in_flight = max(self.max_in_flight, self._in_flight)

    def _add_disconnect(self, path: str, seconds: float) -> None:
        with self._lock:
            self._disconnects.append((path, seconds))
            self._lock.notify_all()

    def _add_answered(self, path: str) -> None:
        with self._lock:
            self._answered.append(path)
            self._lock.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    @property
    def last(self) -> Recorded | None:
        with self._lock:
            return self._requests[-1] if self._requests else None

    @property
    def answered(self) -> list[str]:
        with self._lock:
            return list(self._answered)

    @property
    def disconnects(self) -> list[tuple[str, float]]:
        with self._lock:
            return list(self._disconnects)

    def _wait(self, what: str, get: Any, n: int, timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                items = get()
                if len(items) >= n:
                    return list(items)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {n} {what} within {timeout}s, got {len(items)}: {items!r}")
                self._lock.wait(remaining)

    def wait_for_requests(self, n: int = 1, timeout: float = 5.0, path_contains: str | None = None) -> list[Recorded]:
        """Block until at least ``n`` (matching) requests were recorded; TimeoutError otherwise."""

        def get() -> list[Recorded]:
            return [r for r in self._requests if not path_contains or path_contains in r.path]

        return self._wait("requests", get, n, timeout)

    def wait_for_answers(self, n: int = 1, timeout: float = 5.0, path_contains: str | None = None) -> list[str]:
        """Block until at least ``n`` (matching) responses were written whole; TimeoutError otherwise.

        For ordering: once the upstream has answered, what the client does
        next (retry, back off, fail over) depends only on the client.
        """

        def get() -> list[str]:
            return [p for p in self._answered if not path_contains or path_contains in p]

        return self._wait("answers", get, n, timeout)

    def wait_for_disconnects(self, n: int = 1, timeout: float = 5.0) -> list[tuple[str, float]]:
        """Block until at least ``n`` client disconnects were seen; TimeoutError otherwise."""
        return self._wait("disconnects", lambda: self._disconnects, n, timeout)


# --------------------------------------------------------------------------- standalone


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake LLM provider on 127.0.0.1 for end-to-end tests.")
    parser.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(list(argv) if argv is not None else None)

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    up = Upstream(port=args.port).start()
    try:
        sys.stdout.write(f"READY {up.url}\n")
        sys.stdout.flush()
        while not stop.wait(0.2):
            pass
    finally:
        up.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
