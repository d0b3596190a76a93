"""The per-endpoint queue in front of the HTTP pool (network.max_concurrent_requests, issue 38).

End to end: the real daemon over stdio, the recording upstream counting how
many requests it answers at once and on which connections; and the gate's
slots on their own.
"""

from __future__ import annotations

import asyncio

import pytest

from hermesd.transports.gates import Gate
from tests.conftest import CANARY_KEY, write_config


def _setup(home, upstream, limit: int) -> dict[str, str]:
    write_config(home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"},
                        "network": {"max_concurrent_requests": limit}})
    return {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"}


def _asked(upstream) -> list[str]:
    """The user message of every chat request the upstream received, in order."""
    return [r.json["messages"][-1]["content"] for r in upstream.requests if r.path.endswith("/chat/completions")]


async def test_chats_beyond_the_limit_wait_and_all_finish(start_daemon, upstream, isolated_home):
    upstream.reply_text = "one two three four five six"
    upstream.chunk_count = 6
    upstream.chunk_delay = 0.05  # each stream stays open ~0.25 s, so chats overlap
    daemon = await start_daemon(env=_setup(isolated_home, upstream, 3))
    results = await asyncio.wait_for(asyncio.gather(*(
        daemon.request("hermes/chat", {"message": f"chat {i}"}, timeout=60) for i in range(12))), 60)
    assert [r["stopReason"] for r in results] == ["end_turn"] * 12
    assert all(r["text"] == upstream.reply_text for r in results)
    assert sorted(_asked(upstream)) == sorted(f"chat {i}" for i in range(12))
    assert upstream.max_in_flight == 3  # bounded, and the bound was used
    ports = {r.client_port for r in upstream.requests if r.path.endswith("/chat/completions")}
    assert len(ports) == 3, ports  # each slot's one connection carried its chats: none opened beyond the limit


async def test_each_slot_has_one_holder_and_the_lowest_free_slot_is_taken_first():
    gate = Gate(3)
    assert [await gate.acquire() for _ in range(3)] == [0, 1, 2]
    waiting = asyncio.ensure_future(gate.acquire())
    await asyncio.sleep(0)
    assert not waiting.done()  # the limit is held
    gate.release(1)
    assert await waiting == 1  # the freed slot, handed to the first waiter
    gate.release(2)
    gate.release(0)
    assert await gate.acquire() == 0  # the lowest free slot: a quiet daemon reuses one warm connection
    assert await gate.acquire() == 2
    gate.resize(5)
    assert [await gate.acquire() for _ in range(2)] == [3, 4]  # new slots only when none is free
    assert gate.in_flight == 5


async def test_a_queued_chat_cancelled_never_reaches_the_upstream(start_daemon, upstream, isolated_home):
    from pygls.exceptions import JsonRpcException

    upstream.reply_text = " ".join(f"w{i}" for i in range(200))
    upstream.chunk_count = 200
    upstream.chunk_delay = 0.05
    daemon = await start_daemon(env=_setup(isolated_home, upstream, 1))
    first, queued, last = [(await daemon.request("hermes/newSession"))["sessionId"] for _ in range(3)]
    running = daemon.send("hermes/chat", {"sessionId": first, "message": "first"}, msg_id="chat-first")
    await daemon.wait_until("hermes/chatDelta", lambda delta: delta["seq"] >= 1)  # holds the only slot
    waiting = daemon.send("hermes/chat", {"sessionId": queued, "message": "queued"}, msg_id="chat-queued")
    behind = daemon.send("hermes/chat", {"sessionId": last, "message": "last"}, msg_id="chat-last")
    await asyncio.sleep(0.3)
    assert _asked(upstream) == ["first"]  # the other two wait in the daemon, not at the upstream

    daemon.cancel_request("chat-queued")  # LSP's $/cancelRequest
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(waiting, 10)
    assert info.value.code == -32800
    saved = await daemon.request("hermes/getSession", {"sessionId": queued})
    assert saved["messages"][-1]["stopReason"] == "cancelled" and saved["messages"][-1]["content"] == ""

    cancelled = await daemon.request("hermes/cancel", {"sessionId": first})  # frees the slot for "last"
    assert cancelled["cancelled"] is True
    assert (await asyncio.wait_for(running, 10))["stopReason"] == "cancelled"
    upstream.chunk_delay = 0
    done = await asyncio.wait_for(behind, 20)
    assert done["stopReason"] == "end_turn" and done["text"] == upstream.reply_text
    assert _asked(upstream) == ["first", "last"]  # the cancelled one was never sent
    assert upstream.max_in_flight == 1
