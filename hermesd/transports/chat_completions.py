"""OpenAI Chat Completions over httpx, read as plain JSON events.

The prepared request goes out as is (URL, headers, body bytes) and httpx-sse
parses the events; ``json.loads`` reads each chunk. No SDK: its import cost
~0.4 s on every cold start, and its typed chunks ~150 µs apiece in pydantic
(docs/performance.md, B4 and C2).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any, AsyncIterator

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict
from hermesd.transports.errors import from_exception, reported_mid_reply, truncated
from hermesd.transports.sse import post_sse
from hermesd.wire import PreparedRequest


# Endpoints that refused ``stream_options`` (HTTP 400 naming it): for the daemon's life they get requests without
# it, as Hermes 0.19.0 falls back; their replies then carry no usage, and the reply's cost reads unknown.
_REFUSE_STREAM_OPTIONS: set[str] = set()


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    """Send the prepared Chat Completions request and yield its deltas, then one Finish; failures as HermesError.

    A server that rejects ``stream_options`` (older vLLM, some proxies) gets the request again without it.
    """
    if "stream_options" in prepared.body and resolved.base_url in _REFUSE_STREAM_OPTIONS:
        prepared = _without_stream_options(prepared)
    try:
        async for event in _stream(prepared, resolved, net):
            yield event
        return
    except HermesError as exc:
        if not ("stream_options" in prepared.body and exc.status == 400 and "stream_options" in exc.message):
            raise
    _REFUSE_STREAM_OPTIONS.add(resolved.base_url)
    async for event in _stream(_without_stream_options(prepared), resolved, net):
        yield event


def _without_stream_options(prepared: PreparedRequest) -> PreparedRequest:
    return replace(prepared, body={k: v for k, v in prepared.body.items() if k != "stream_options"})


async def _stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    started = False
    try:
        # The Accept the openai SDK sent, so endpoints see no change.
        async with post_sse(prepared, resolved, net, accept="application/json") as events:
            finish = Finish()
            seen_finish = False
            async for sse in events:
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
                    finish.usage = chat_usage(usage)
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


def chat_usage(usage: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions ``usage`` object (OpenRouter's ``cost`` and details included) as the protocol's counts."""
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return usage_dict(
        usage.get("prompt_tokens"), usage.get("completion_tokens"),
        reasoning=completion.get("reasoning_tokens") if isinstance(completion, dict) else None,
        cache_read=prompt.get("cached_tokens") if isinstance(prompt, dict) else None,
        cache_write=prompt.get("cache_write_tokens") if isinstance(prompt, dict) else None,
        cost=usage.get("cost"),
    )


def _reasoning_of(delta: dict[str, Any]) -> str:
    """Reasoning text: OpenRouter's ``reasoning``, DeepSeek's ``reasoning_content``."""
    for name in ("reasoning", "reasoning_content"):
        value = delta.get(name)
        if isinstance(value, str) and value:
            return value
    return ""

