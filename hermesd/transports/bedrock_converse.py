"""AWS Bedrock Converse through botocore (optional extra: ``hermesd-lsp[bedrock]``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator
from urllib.parse import urlsplit

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.transports import Delta, Event, Finish, NetworkSettings, normal_stop_reason, usage_dict, with_cached
from hermesd.wire import PreparedRequest

_DONE = object()


async def stream(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings) -> AsyncIterator[Event]:
    """The Converse stream as Delta items, then one Finish; a config_error names the extra when botocore is missing.

    botocore blocks, so a thread reads the stream and hands events over a
    queue; leaving the iterator tells it to close the stream.
    """
    try:
        import botocore.session  # noqa: F401
    except ImportError:
        raise HermesError(
            "config_error",
            "the bedrock provider needs botocore, which is not installed",
            hint="pip install 'botocore>=1.34.116' in hermesd's environment (its bedrock extra)",
            provider=resolved.provider,
        ) from None
    queue: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    thread = threading.Thread(target=_pump, args=(prepared, resolved, net, queue, loop, stop), daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _pump(prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings, queue: Any, loop: Any, stop: Any) -> None:
    import botocore.config
    import botocore.session

    put = lambda item: loop.call_soon_threadsafe(queue.put_nowait, item)  # noqa: E731
    try:
        host = urlsplit(resolved.base_url).hostname or ""
        region = host.split(".")[1] if host.startswith("bedrock-runtime.") else "us-east-1"
        client = botocore.session.get_session().create_client(
            "bedrock-runtime",
            region_name=region,
            endpoint_url=resolved.base_url,
            config=botocore.config.Config(read_timeout=net.timeout, connect_timeout=net.connect_timeout, retries={"max_attempts": 0}),
        )
        reply = client.converse_stream(modelId=resolved.model, **prepared.body)
        finish = Finish(routed_model=resolved.model)
        for event in reply["stream"]:
            if stop.is_set():
                reply["stream"].close()
                break
            if "contentBlockDelta" in event:
                text = event["contentBlockDelta"].get("delta", {}).get("text")
                if text:
                    put(Delta(text=text))
            elif "messageStop" in event:
                finish.stop_reason = normal_stop_reason(event["messageStop"].get("stopReason"))
            elif "metadata" in event:
                usage = event["metadata"].get("usage", {})
                read, write = usage.get("cacheReadInputTokens"), usage.get("cacheWriteInputTokens")
                finish.usage = usage_dict(with_cached(usage.get("inputTokens"), read, write), usage.get("outputTokens"),
                                          cache_read=read, cache_write=write)
        put(finish)
    except Exception as exc:  # noqa: BLE001 - classified, never leaked raw
        put(_classify(exc, resolved))
    finally:
        put(_DONE)


def _classify(exc: Exception, resolved: Resolved) -> HermesError:
    """botocore's errors in hermesd's vocabulary: HTTP status first, then the exception type."""
    from hermesd.engine.errors import from_status
    from hermesd.transports.errors import from_exception

    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = response.get("Error", {}).get("Message") or str(exc)
        if isinstance(status, int) and status >= 400:
            return from_status(status, {"message": message}, provider=resolved.provider, model=resolved.model,
                               key_env_var="AWS_ACCESS_KEY_ID", key_env_vars=("AWS_ACCESS_KEY_ID",))
    if "Credential" in type(exc).__name__:
        return HermesError("auth", f"bedrock: no usable AWS credentials ({type(exc).__name__})",
                           hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE", provider=resolved.provider)
    return from_exception(exc, resolved, started=False)
