"""Inline completion's HTTP: send a prepared FIM request and yield the text as it streams in.

One reader per wire (a server that ignores ``"stream": true`` and answers
with one JSON body is read as well): OpenAI ``/v1/completions`` (``choices[].text``),
Mistral's FIM (chat-shaped chunks), llama.cpp's ``/infill`` (``content``),
Ollama's ``/api/generate`` (one JSON object a line), and a chat model through
the chat transports. The caller stops reading as soon as it has enough;
leaving early (or being cancelled by a newer keystroke) closes the
connection at once, so the upstream stops generating.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.transports import Delta, NetworkSettings, open_stream
from hermesd.transports.errors import from_exception, reported_mid_reply
from hermesd.transports.sse import drain, post_streaming
from hermesd.wire import PreparedRequest


async def stream_text(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[str]:
    """The completion's text, piece by piece; failures as HermesError."""
    endpoint = prepared.api_mode.removeprefix("completion/")
    if prepared.api_mode in ("chat_completions", "codex_responses", "anthropic_messages", "bedrock_converse"):
        async for event in open_stream(prepared, resolved, net):
            if isinstance(event, Delta) and event.text:
                yield event.text
        return
    started = False
    try:
        if endpoint == "ollama":
            async with post_streaming(prepared, resolved, net, accept="application/x-ndjson") as response:
                lines = response.aiter_lines()
                async for line in lines:
                    if not line.strip():
                        continue
                    chunk = _object(line)
                    text = chunk.get("response") or ""
                    if text:
                        started = True
                        yield text
                    if chunk.get("done"):
                        await drain(lines)  # the chunked terminator: the connection is reused
                        return
            return
        async with post_streaming(prepared, resolved, net, accept="text/event-stream") as response:
            if "json" in response.headers.get("content-type", ""):  # a server that ignored "stream": one answer
                text = piece(_object((await response.aread()).decode()))
                if text:
                    yield text
                return
            from httpx_sse import EventSource

            events = EventSource(response).aiter_sse()
            async for sse in events:
                if not sse.data:
                    continue
                if sse.data == "[DONE]":
                    await drain(events)  # the chunked terminator: the connection is reused
                    return
                chunk = _object(sse.data)
                if chunk.get("error"):
                    error = chunk["error"]
                    raise reported_mid_reply(resolved, error.get("message") if isinstance(error, dict) else str(error))
                text = piece(chunk)
                if text:
                    started = True
                    yield text
                if chunk.get("stop") is True:  # llama.cpp's last /infill event
                    await drain(events)
                    return
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified, never leaked raw
        raise from_exception(exc, resolved, started=started) from exc


def _object(data: str) -> dict[str, Any]:
    chunk = json.loads(data)
    if not isinstance(chunk, dict):
        raise ValueError(f"a stream event that is not an object: {data[:80]!r}")
    return chunk


def piece(chunk: dict[str, Any]) -> str:
    """The text of one event: ``choices[0].text`` (completions), ``choices[0].delta.content`` (Mistral FIM),
    ``content`` (llama.cpp /infill)."""
    if isinstance(chunk.get("content"), str):
        return chunk["content"]
    for choice in chunk.get("choices") or ():
        if isinstance(choice.get("text"), str):
            return choice["text"]
        delta = choice.get("delta") or choice.get("message") or {}
        if isinstance(delta.get("content"), str):
            return delta["content"]
    return ""
