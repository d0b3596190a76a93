"""OpenAI Responses API over the official SDK, streaming."""

from __future__ import annotations

from typing import Any, AsyncIterator

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict
from hermesd.transports import gates
from hermesd.transports.clients import openai_client, sdk_headers
from hermesd.transports.errors import from_exception, incompatible_sdk, reported_mid_reply, truncated
from hermesd.wire import PreparedRequest


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    """The reply of OpenAI's Responses API as Delta items (text and reasoning), then one Finish.

    The prepared body goes as ``extra_body`` (the model as the SDK's own
    argument), so what is sent is what :mod:`hermesd.wire` built.
    """
    try:
        client = openai_client(resolved.base_url, resolved.api_key, net)
        create = client.responses.create  # from openai 1.66
        headers = sdk_headers(prepared.headers, resolved.api_key)
    except (ImportError, TypeError, AttributeError) as exc:  # the installed SDK refuses how hermesd calls it
        raise incompatible_sdk("openai", exc, resolved) from exc
    body = dict(prepared.body)
    model = body.pop("model")
    body.pop("stream", None)
    started = False
    response = None
    gate = gates.gate(resolved.base_url, net.max_concurrent)
    number = await gate.acquire()  # at most max_concurrent in flight to this endpoint; the rest wait in order
    try:
        response = await create(model=model, stream=True, extra_body=body, extra_headers=headers)
        async for event in response:
            kind = getattr(event, "type", "")
            if kind == "response.output_text.delta":
                started = True
                yield Delta(text=event.delta)
            elif kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
                started = True
                yield Delta(reasoning=event.delta)
            elif kind in ("response.completed", "response.incomplete"):
                final = event.response
                usage = getattr(final, "usage", None)
                reason = "completed" if kind == "response.completed" else "incomplete"
                yield Finish(
                    stop_reason=normal_stop_reason(reason),
                    usage=_responses_usage(usage),
                    routed_model=getattr(final, "model", None),
                )
                return
            elif kind in ("response.failed", "error"):
                detail = getattr(getattr(getattr(event, "response", None), "error", None), "message", None)
                raise reported_mid_reply(resolved, detail or getattr(event, "message", kind))
        raise truncated(resolved)
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise from_exception(exc, resolved, started=started) from exc
    finally:
        try:
            if response is not None:
                await response.close()
        finally:
            gate.release(number)


def _responses_usage(usage: Any) -> dict[str, Any]:
    """The Responses API's usage object (the SDK's type) as the protocol's counts."""
    return usage_dict(
        getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None),
        reasoning=getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None),
        cache_read=getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None),
    )
