"""POST a prepared request over the pooled httpx client and read its server-sent events.

The bytes on the wire are the :class:`~hermesd.wire.PreparedRequest`'s own
URL, headers and JSON body; nothing is added but the transport defaults
(``Accept``, httpx's ``User-Agent``, ``Content-Length``). A failed status
becomes a :class:`~hermesd.engine.errors.HermesError` with the provider's words and
``Retry-After``; anything else the caller classifies with
:func:`~hermesd.transports.errors.from_exception`.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator

from hermesd.transports import NetworkSettings
from hermesd.transports.clients import httpx_client, replace_httpx_client
from hermesd.transports.errors import from_http_response
from hermesd.transports.gates import slot

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

    from hermesd.engine.runtime import Resolved
    from hermesd.wire import PreparedRequest

# An error reply's body is read up to this much: enough for any provider's
# message, and a misbehaving endpoint cannot make hermesd buffer without end.
MAX_ERROR_BODY = 1024 * 1024
# After the last event, how long the rest of the body (the chunked terminator)
# may take to arrive before the connection is closed instead of reused.
DRAIN_SECONDS = 0.1  # what the openai SDK allows its own drain


@asynccontextmanager
async def post_sse(
    prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings, *, accept: str = "*/*"
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """Send ``prepared`` and yield its events; leaving the block closes the response.

    Leaving normally (after the stream's last event) reads the rest of the
    body, so the connection goes back to the pool and the next chat skips the
    TCP and TLS handshakes. Leaving early (a cancel, an error) closes the
    connection, so the upstream sees the client go away.
    """
    from httpx_sse import EventSource

    async with post_streaming(prepared, resolved, net, accept=accept) as response:
        events = EventSource(response).aiter_sse()
        yield events
        await drain(events)


@asynccontextmanager
async def post_streaming(
    prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings, *, accept: str = "*/*"
) -> AsyncIterator[Any]:
    """Send ``prepared`` and yield the successful httpx response, its body unread; leaving closes it.

    Redirects are followed within the endpoint's origin only, as every
    hermesd request does (:func:`providers.base.same_origin`): the key
    headers never go to another host. A redirect elsewhere is reported with
    its status.

    At most ``net.max_concurrent`` requests to one endpoint are in flight
    (:mod:`hermesd.transports.gates`); the others wait here, in order. The
    slot picks the client (and its one connection) the request goes through.
    """
    import httpx

    from providers.base import MAX_REDIRECTS, same_origin

    async with slot(resolved.base_url, net.max_concurrent) as number:  # a queued chat waits here, before the pool
        client = httpx_client(resolved.base_url, net, number)
        headers = httpx.Headers({"Accept": accept})
        headers.update(prepared.headers)  # case-insensitive: a profile's own Accept wins
        request = client.build_request(prepared.method, prepared.url, headers=headers, content=prepared.content())
        try:
            response = await client.send(request, stream=True)
        except httpx.PoolTimeout:  # nothing was sent: the slot's pool still counts a response a cancel cut short
            client = replace_httpx_client(resolved.base_url, net, number)
            response = await client.send(request, stream=True)
        for _ in range(MAX_REDIRECTS):
            target = response.next_request
            if target is None or not same_origin(prepared.url, target.url):
                break
            await response.aclose()
            response = await client.send(target, stream=True)
        try:
            if not response.is_success:
                raise from_http_response(response.status_code, response.headers, await _read_capped(response), resolved)
            yield response
        finally:
            await response.aclose()


async def drain(events: AsyncIterator[Any]) -> None:
    """Read what is left of a finished stream (briefly), so its connection goes back to the pool.

    Bounded by anyio's ``move_on_after``, the cancellation httpcore is written
    for: its deadline waits while httpcore hands the connection back (a
    shielded close). ``asyncio.timeout`` cancelled the task outright, and when
    that landed in the close, the pool counted the finished response as in use
    for good: with a pool of one (:mod:`hermesd.transports.gates`) every later
    request on that slot waited for a connection (B10: one chat in 10,000).
    """
    import anyio  # loaded with httpcore's pool already

    async def rest() -> None:
        async for _ in events:
            pass

    try:
        with anyio.move_on_after(DRAIN_SECONDS):
            await rest()
    except Exception:  # noqa: BLE001 - the reply is complete; reuse is only an optimisation
        pass


async def _read_capped(response: Any) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) >= MAX_ERROR_BODY:
            break
    return bytes(body[:MAX_ERROR_BODY])
