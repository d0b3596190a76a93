"""OpenAI Chat Completions, sent by the official SDK, read as plain JSON events.

The SDK builds and sends the request (auth, headers, body exactly as
prepared) and raises its typed errors for a failed status. The reply is read
through ``with_streaming_response`` with httpx-sse parsing the events and
``json.loads`` each chunk: the SDK's typed chunks cost ~150 µs apiece in
pydantic, which capped a stream at ~5,000 chunks/s (docs/performance.md, B4).
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from hermesd.errors import HermesError
from hermesd.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict
from hermesd.transports.clients import openai_client, sdk_headers
from hermesd.transports.errors import from_exception, reported_mid_reply, truncated
from hermesd.wire import PreparedRequest


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    from httpx_sse import EventSource

    client = openai_client(resolved.base_url, resolved.api_key, net)
    body = dict(prepared.body)
    model, messages = body.pop("model"), body.pop("messages")
    body.pop("stream", None)
    started = False
    try:
        # Everything beyond model/messages rides in extra_body, so the JSON the
        # upstream receives is exactly the prepared body, whatever the SDK knows.
        async with client.chat.completions.with_streaming_response.create(
            model=model,
            messages=messages,
            stream=True,
            extra_body=body,
            extra_headers=sdk_headers(prepared.headers, resolved.api_key),
        ) as response:
            finish = Finish()
            seen_finish = False
            async for sse in EventSource(response.http_response).aiter_sse():
                if not sse.data:
                    continue
                if sse.data == "[DONE]":
                    break
                chunk = json.loads(sse.data)
                if not isinstance(chunk, dict):
                    raise ValueError(f"a stream event that is not an object: {sse.data[:80]!r}")
                if chunk.get("error"):
                    error = chunk["error"]
                    raise reported_mid_reply(resolved, error.get("message") if isinstance(error, dict) else str(error))
                if chunk.get("model"):
                    finish.routed_model = chunk["model"]
                usage = chunk.get("usage")
                if isinstance(usage, dict):
                    finish.usage = usage_dict(usage.get("prompt_tokens"), usage.get("completion_tokens"))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    text = delta.get("content") or ""
                    reasoning = _reasoning_of(delta)
                    if text or reasoning:
                        started = True
                        yield Delta(text=text, reasoning=reasoning)
                    if choice.get("finish_reason"):
                        seen_finish = True
                        finish.stop_reason = normal_stop_reason(choice["finish_reason"])
        if not seen_finish:
            raise truncated(resolved)
        yield finish
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified, never leaked raw
        raise from_exception(exc, resolved, started=started) from exc


def _reasoning_of(delta: dict[str, Any]) -> str:
    """Reasoning text: OpenRouter's ``reasoning``, DeepSeek's ``reasoning_content``."""
    for name in ("reasoning", "reasoning_content"):
        value = delta.get(name)
        if isinstance(value, str) and value:
            return value
    return ""

