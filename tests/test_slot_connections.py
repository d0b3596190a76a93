"""Each request slot's one connection comes back to its pool, whatever cut a reply short (issue 38).

In process, against the recording upstream: the real httpx client and
httpcore pool of a slot (:mod:`hermesd.transports.gates`), reached through
the transport's own :func:`~hermesd.transports.sse.post_sse`. A pool of one
connection that lost count of it would make every later request of its slot
wait, so both the cause and the repair are checked.
"""

from __future__ import annotations

import asyncio

import pytest

from hermesd.engine.runtime import Resolved
from hermesd.transports import NetworkSettings, clients
from hermesd.transports.sse import DRAIN_SECONDS, post_sse
from hermesd.wire import PreparedRequest


def _prepared(url: str, model: str) -> PreparedRequest:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    return PreparedRequest(url=f"{url}/v1/chat/completions", method="POST", headers={"Authorization": "Bearer k"},
                           body=body, api_mode="chat_completions", provider="custom", model=model)


async def _chat(url: str, net: NetworkSettings, model: str, base_url: str | None = None) -> list[str]:
    """One reply read as the chat transport reads it: up to ``[DONE]``, the rest left to the drain.
    ``base_url``: the endpoint as configured (its slots' clients are keyed by it), ``url``'s ``/v1`` by default."""
    resolved = Resolved(provider="custom", profile=None, model=model, base_url=base_url or f"{url}/v1",
                        api_mode="chat_completions", api_key="k", key_env_var=None)
    data = []
    async with post_sse(_prepared(url, model), resolved, net) as events:
        async for sse in events:
            if sse.data == "[DONE]":
                break
            data.append(sse.data)
    return data


@pytest.fixture
async def net(upstream):
    """Network settings of this test alone (their own clients), whose clients are closed after it."""
    settings = NetworkSettings(timeout=30.0, connect_timeout=5.0, max_concurrent=4)
    yield settings
    where = upstream.url.split("//", 1)[1]  # host:port, with or without credentials before it
    for key in [k for k in clients._httpx if where in k[0]]:
        await clients._httpx.pop(key).aclose()


async def test_the_drains_deadline_waits_while_httpcore_hands_the_connection_back(upstream, net, monkeypatch):
    """A busy loop can make httpcore's hand-back outlast the drain's deadline; it still finishes, and the
    connection carries the next reply. (Under ``asyncio.timeout`` the cancel landed in it, and the pool counted the
    finished response as in use for good.)"""
    from httpcore._async.http11 import AsyncHTTP11Connection

    handing_back = AsyncHTTP11Connection._response_closed

    async def slowly(self: AsyncHTTP11Connection) -> None:
        await asyncio.sleep(DRAIN_SECONDS * 3)
        await handing_back(self)

    monkeypatch.setattr(AsyncHTTP11Connection, "_response_closed", slowly)
    first = clients.httpx_client(f"{upstream.url}/v1", net, 0)
    for model in ("a", "b"):
        assert await asyncio.wait_for(_chat(upstream.url, net, model), 20)
    requests = [r for r in upstream.requests if r.path.endswith("/chat/completions")]
    assert [r.json["model"] for r in requests] == ["a", "b"]
    assert requests[0].client_port == requests[1].client_port  # one connection, handed back and reused
    assert clients.httpx_client(f"{upstream.url}/v1", net, 0) is first  # the slot kept its client


async def test_a_slot_whose_pool_lost_count_of_its_connection_gets_a_new_client(upstream, net, caplog):
    """A response left open (what a cancel inside httpcore's hand-back leaves): the slot's next request waits
    POOL_WAIT_SECONDS, not the whole timeout, and goes out on a new client; the old one is closed. The log says
    which endpoint's slot, its password masked."""
    base_url = upstream.url.replace("//", "//user:s3cret@") + "/v1"  # an endpoint configured with credentials
    stale = clients.httpx_client(base_url, net, 0)
    request = stale.build_request("POST", f"{upstream.url}/v1/chat/completions", json=_prepared(upstream.url, "left").body)
    await stale.send(request, stream=True)  # never read or closed: the pool's one connection stays taken

    assert await asyncio.wait_for(_chat(upstream.url, net, "next", base_url), 20)
    fresh = clients.httpx_client(base_url, net, 0)
    assert fresh is not stale
    await asyncio.sleep(0.1)  # the old client is closed in the background
    assert stale.is_closed  # and the connection the open response held with it
    requests = [r for r in upstream.requests if r.path.endswith("/chat/completions")]
    assert [r.json["model"] for r in requests] == ["left", "next"]
    assert requests[0].client_port != requests[1].client_port
    assert "user:***@127.0.0.1" in caplog.text and "request slot 0 was never handed back" in caplog.text
    assert "s3cret" not in caplog.text
