"""OpenAI Chat Completions over the official SDK, streaming."""

from __future__ import annotations

from typing import Any, AsyncIterator

from hermesd.errors import HermesError
from hermesd.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict
from hermesd.transports.clients import openai_client, sdk_headers
from hermesd.transports.errors import from_exception
from hermesd.wire import PreparedRequest


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    client = openai_client(resolved.base_url, resolved.api_key, net)
    body = dict(prepared.body)
    model, messages = body.pop("model"), body.pop("messages")
    body.pop("stream", None)
    started = False
    response = None
    try:
        # Everything beyond model/messages rides in extra_body, so the JSON the
        # upstream receives is exactly the prepared body, whatever the SDK knows.
        response = await client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            extra_body=body,
            extra_headers=sdk_headers(prepared.headers, resolved.api_key),
        )
        finish = Finish()
        seen_finish = False
        async for chunk in response:
            if getattr(chunk, "model", None):
                finish.routed_model = chunk.model
            usage = getattr(chunk, "usage", None)
            if usage is not None:
                finish.usage = usage_dict(usage.prompt_tokens, usage.completion_tokens)
            for choice in chunk.choices or ():
                delta = choice.delta
                text = getattr(delta, "content", None) or ""
                reasoning = _reasoning_of(delta)
                if text or reasoning:
                    started = True
                    yield Delta(text=text, reasoning=reasoning)
                if choice.finish_reason:
                    seen_finish = True
                    finish.stop_reason = normal_stop_reason(choice.finish_reason)
        if not seen_finish:
            raise HermesError(
                "bad_response",
                f"{resolved.provider or resolved.base_url} ended the stream before it finished",
                hint="the partial reply is kept; send again to retry",
                provider=resolved.provider,
            )
        yield finish
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001 - classified, never leaked raw
        raise from_exception(exc, resolved, started=started) from exc
    finally:
        if response is not None:
            await response.close()


def _reasoning_of(delta: Any) -> str:
    """Reasoning text: OpenRouter's ``reasoning``, DeepSeek's ``reasoning_content``."""
    for name in ("reasoning", "reasoning_content"):
        value = getattr(delta, name, None)
        if value is None and getattr(delta, "model_extra", None):
            value = delta.model_extra.get(name)
        if isinstance(value, str) and value:
            return value
    return ""
