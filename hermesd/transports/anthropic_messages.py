"""Anthropic Messages API over httpx, reading its server-sent events."""

from __future__ import annotations

import json
from typing import AsyncIterator

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict, with_cached
from hermesd.transports.errors import from_exception, reported_mid_reply, truncated
from hermesd.transports.sse import post_sse
from hermesd.wire import PreparedRequest


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    """The reply of Anthropic's Messages API as Delta items (text and thinking), then one Finish.

    A stream that ends before ``message_stop`` raises (truncated), as does an
    ``error`` event mid-reply (rate_limited when the API is overloaded).
    """
    started = False
    finish = Finish()
    try:
        async with post_sse(prepared, resolved, net) as events:
            async for sse in events:
                if not sse.data:
                    continue
                data = json.loads(sse.data)
                kind = data.get("type") or sse.event
                if kind == "message_start":
                    message = data.get("message") or {}
                    finish.routed_model = message.get("model")
                    usage = message.get("usage") or {}
                    read, write = usage.get("cache_read_input_tokens"), usage.get("cache_creation_input_tokens")
                    finish.usage = usage_dict(with_cached(usage.get("input_tokens"), read, write), None,
                                              cache_read=read, cache_write=write)
                elif kind == "content_block_delta":
                    delta = data.get("delta") or {}
                    if delta.get("type") == "text_delta" and delta.get("text"):
                        started = True
                        yield Delta(text=delta["text"])
                    elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                        started = True
                        yield Delta(reasoning=delta["thinking"])
                elif kind == "message_delta":
                    finish.stop_reason = normal_stop_reason((data.get("delta") or {}).get("stop_reason"))
                    output = (data.get("usage") or {}).get("output_tokens")
                    finish.usage = {**finish.usage, **usage_dict(None, output)}
                elif kind == "message_stop":
                    yield finish
                    return
                elif kind == "error":
                    error = data.get("error") or {}
                    kind = "rate_limited" if error.get("type") == "overloaded_error" else "bad_response"
                    raise reported_mid_reply(resolved, error.get("message"), kind)
        raise truncated(resolved)
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise from_exception(exc, resolved, started=started) from exc
