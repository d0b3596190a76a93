"""What-if: the chat-completions transport without the SDK's typed chunks.

The openai SDK builds a pydantic ``ChatCompletionChunk`` for every SSE event
(``openai._models.construct_type``): about 150 µs a chunk here, which caps a
stream at 5,000-6,000 chunks/s before hermesd does any work. This module is
the change proposed for ``hermesd/transports/chat_completions.py`` (owned by
another engineer): the SDK still builds and sends the request, byte for byte
as today, but the reply is read with ``with_streaming_response`` and each
``data:`` line parsed with ``json.loads``.

The benchmark runs a daemon with :func:`install` applied (``python -m
bench.whatif``) to show what the change buys, beside the real daemon.
"""

from __future__ import annotations

import json
import sys
from typing import Any, AsyncIterator


async def stream(prepared: Any, resolved: Any, net: Any) -> AsyncIterator[Any]:
    """Same events and errors as ``chat_completions.stream``; chunks read as dicts."""
    from hermesd.errors import HermesError
    from hermesd.transports import Delta, Finish, normal_stop_reason, usage_dict
    from hermesd.transports.clients import openai_client, sdk_headers
    from hermesd.transports.errors import from_exception

    client = openai_client(resolved.base_url, resolved.api_key, net)
    body = dict(prepared.body)
    model, messages = body.pop("model"), body.pop("messages")
    body.pop("stream", None)
    started = False
    try:
        async with client.chat.completions.with_streaming_response.create(
            model=model, messages=messages, stream=True, extra_body=body,
            extra_headers=sdk_headers(prepared.headers, resolved.api_key),
        ) as response:
            finish = Finish()
            seen_finish = False
            async for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                chunk = json.loads(data)
                if chunk.get("error"):
                    raise ValueError(f"error event: {chunk['error']}")
                if chunk.get("model"):
                    finish.routed_model = chunk["model"]
                usage = chunk.get("usage")
                if usage:
                    finish.usage = usage_dict(usage.get("prompt_tokens"), usage.get("completion_tokens"))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") or {}
                    text = delta.get("content") or ""
                    reasoning = delta.get("reasoning") or delta.get("reasoning_content") or ""
                    if not isinstance(reasoning, str):
                        reasoning = ""
                    if text or reasoning:
                        started = True
                        yield Delta(text=text, reasoning=reasoning)
                    if choice.get("finish_reason"):
                        seen_finish = True
                        finish.stop_reason = normal_stop_reason(choice["finish_reason"])
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


def install() -> None:
    """Swap the transport in (``open_stream`` imports ``stream`` at each call)."""
    import hermesd.transports.chat_completions as chat_completions

    chat_completions.stream = stream  # type: ignore[assignment]


def main() -> int:
    """``python -m bench.whatif``: ``hermesd --stdio`` with the proposed transport."""
    install()
    from hermesd.cli import main as hermesd_main

    return hermesd_main(sys.argv[1:] or ["--stdio"])


if __name__ == "__main__":
    sys.exit(main())
