"""No data lost: ``kill -9`` in the middle of streamed replies loses no
completed turn, and a new daemon lists, reopens and continues the sessions
with their history.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.conftest import CANARY_KEY, Daemon, write_config
from tests.daemon import daemon_env, spawn_daemon, stop_daemon
from tests.upstream import Upstream

pytestmark = pytest.mark.asyncio


@pytest.fixture
def up() -> Upstream:
    with Upstream() as upstream:
        yield upstream


def _env(root: Path, up: Upstream) -> dict[str, str]:
    write_config(root / "hermes-home", {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
    return daemon_env(root, {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{up.url}/v1"})


async def _kill(daemon: Daemon) -> None:
    server = daemon.client._server
    server.kill()  # SIGKILL: no shutdown, no flush, no finally blocks
    await asyncio.wait_for(server.wait(), 10)
    assert server.returncode == -9
    await stop_daemon(daemon)


async def test_kill_9_mid_reply_keeps_every_completed_turn(tmp_path: Path, up: Upstream) -> None:
    root = tmp_path / "crash"
    (root / "hermes-home").mkdir(parents=True)
    env = _env(root, up)
    first = await spawn_daemon(env)
    sessions: dict[str, list[str]] = {}
    try:
        main = (await first.request("hermes/newSession", {"system": "be brief"}))["sessionId"]
        for n, prompt in enumerate(("one", "two")):
            up.reply_text = f"answer {n}"
            result = await first.request("hermes/chat", {"sessionId": main, "message": prompt})
            assert result["stopReason"] == "end_turn"
        sessions[main] = ["one", "answer 0", "two", "answer 1"]
        for n in range(4):  # more sessions, each with one finished turn
            up.reply_text = f"side answer {n}"
            result = await first.request("hermes/chat", {"message": f"side {n}"})
            sessions[result["sessionId"]] = [f"side {n}", f"side answer {n}"]

        # Every session starts a long streamed reply; the daemon dies mid-stream.
        up.reply_text = " ".join(f"w{i}" for i in range(400))
        up.chunk_count, up.chunk_delay = 400, 0.02
        pending = [first.send("hermes/chat", {"sessionId": sid, "message": "in flight"}) for sid in sessions]
        for sid in sessions:  # every reply is streaming
            await first.wait_until("hermes/chatDelta", lambda delta, sid=sid: delta["sessionId"] == sid)
        await _kill(first)
        for future in pending:
            with pytest.raises(Exception):
                await asyncio.wait_for(future, 10)
    finally:
        if first.client._server is not None and first.client._server.returncode is None:
            await stop_daemon(first)

    # On disk: every completed turn, every line whole.
    for sid, contents in sessions.items():
        lines = (root / "data" / "sessions" / f"{sid}.jsonl").read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines]
        assert [r["content"] for r in records if r["type"] == "message"] == contents

    up.chunk_count, up.chunk_delay = 5, 0.0
    second = await spawn_daemon(env)
    try:
        listed = {row["sessionId"]: row for row in (await second.request("hermes/listSessions"))["sessions"]}
        assert set(listed) == set(sessions)
        for sid, contents in sessions.items():
            assert listed[sid]["messageCount"] == len(contents)
            reopened = await second.request("hermes/getSession", {"sessionId": sid})
            assert [m["content"] for m in reopened["messages"]] == contents
            assert all(m["stopReason"] == "end_turn" for m in reopened["messages"] if m["role"] == "assistant")
        assert (await second.request("hermes/getSession", {"sessionId": main}))["system"] == "be brief"

        # Continuing sends the history upstream.
        up.reply_text = "answer 2"
        result = await second.request("hermes/chat", {"sessionId": main, "message": "three"})
        assert result["stopReason"] == "end_turn" and result["text"] == "answer 2"
        assert up.requests[-1].json["messages"] == [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "answer 0"},
            {"role": "user", "content": "two"},
            {"role": "assistant", "content": "answer 1"},
            {"role": "user", "content": "three"},
        ]
    finally:
        await stop_daemon(second)


async def test_a_line_torn_by_a_crash_is_skipped_and_later_turns_survive(tmp_path: Path, up: Upstream) -> None:
    root = tmp_path / "torn"
    (root / "hermes-home").mkdir(parents=True)
    env = _env(root, up)
    daemon = await spawn_daemon(env)
    try:
        up.reply_text = "kept"
        sid = (await daemon.request("hermes/chat", {"message": "before the crash"}))["sessionId"]
    finally:
        await stop_daemon(daemon)
    path = root / "data" / "sessions" / f"{sid}.jsonl"
    with path.open("a", encoding="utf-8") as handle:  # what a kill in the middle of a write leaves
        handle.write('{"type": "message", "role": "user", "content": "half a lin')

    for turn in ("after the crash", "and again"):
        daemon = await spawn_daemon(env)
        try:
            up.reply_text = f"reply to {turn}"
            result = await daemon.request("hermes/chat", {"sessionId": sid, "message": turn})
            assert result["stopReason"] == "end_turn"
            sent = [m["content"] for m in up.requests[-1].json["messages"]]
            assert "half a lin" not in " ".join(sent)
        finally:
            await stop_daemon(daemon)

    daemon = await spawn_daemon(env)
    try:
        reopened = await daemon.request("hermes/getSession", {"sessionId": sid})
    finally:
        await stop_daemon(daemon)
    assert [m["content"] for m in reopened["messages"]] == [
        "before the crash", "kept", "after the crash", "reply to after the crash", "and again", "reply to and again",
    ]
