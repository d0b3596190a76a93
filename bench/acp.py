"""Bench row A1: ``hermesd acp`` (the Agent Client Protocol relay) beside ``hermesd --stdio`` on one shared daemon.

Two figures, each beside its baseline in the same run:

* first chunk of a reply: ``session/prompt`` → first ``agent_message_chunk`` through ``hermesd acp``, and
  ``hermes/chat`` → first ``hermes/chatDelta`` through ``hermesd --stdio``, both connected to the same warm
  shared daemon and upstream, each on a fresh session made beforehand, taken in turns; p95 of both.
* a new ``hermesd acp`` process with the daemon running (the SDK already loaded in it): spawn → ``initialize``
  → ``session/new`` reply (with its model options), beside a bare pygls server's spawn → ``initialize`` reply
  (C1s's baseline).

The ACP side is driven by :class:`LineClient`, a lean newline-delimited JSON-RPC client stamping each read
with ``time.monotonic()``, as :mod:`tests.lsp_client` does for LSP (the SDK's client parses every message
into pydantic models, which would measure the client).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

from bench.harness import REPO, Daemon, Home, model, percentile, median
from bench.report import Row
from bench.shared import _bare_initialize, _ms, _run_dir
from tests.daemon import stop_shared_daemons

ACP = [sys.executable, "-m", "hermesd", "acp"]
TAG = "a1"


class LineClient:
    """Newline-delimited JSON-RPC over a spawned agent's stdio; notifications go to ``on_notification``."""

    def __init__(self, proc: asyncio.subprocess.Process, spawned_at: float) -> None:
        self.proc = proc
        self.spawned_at = spawned_at
        self.on_notification: Any = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def spawn(cls, env: dict[str, str]) -> "LineClient":
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(*ACP, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL, env=env, cwd=str(REPO),
                                                    limit=1 << 20)
        return cls(proc, started)

    def send(self, method: str, params: dict[str, Any]) -> asyncio.Future:
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}).encode()
                              + b"\n")
        return future

    async def request(self, method: str, params: dict[str, Any], timeout: float = 60.0) -> Any:
        return await asyncio.wait_for(self.send(method, params), timeout)

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            now = time.monotonic()
            message = json.loads(line)
            if "method" in message:
                if self.on_notification is not None:
                    self.on_notification(message["method"], message.get("params"), now)
                continue
            future = self._pending.pop(message.get("id"), None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RuntimeError(message["error"].get("message")))
                else:
                    future.set_result(message.get("result"))

    async def initialize(self) -> Any:
        return await self.request("initialize", {"protocolVersion": 1, "clientCapabilities": {}})

    async def new_session(self) -> str:
        return (await self.request("session/new", {"cwd": str(REPO), "mcpServers": []}))["sessionId"]

    async def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()  # the agent exits when its stdin closes
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self._reader.cancel()


async def _acp_first_chunk(client: LineClient) -> float:
    """A fresh session, then ``session/prompt``: seconds to its first ``agent_message_chunk``."""
    session_id = await client.new_session()
    first: asyncio.Future = asyncio.get_running_loop().create_future()

    def on_notification(method: str, params: Any, now: float) -> None:
        if (method == "session/update" and not first.done()
                and params["update"].get("sessionUpdate") == "agent_message_chunk"):
            first.set_result(now)

    client.on_notification = on_notification
    sent = time.monotonic()
    result = await client.request("session/prompt", {"sessionId": session_id,
                                                      "prompt": [{"type": "text", "text": "hi"}]})
    assert result["stopReason"] == "end_turn", result
    return await first - sent


async def _lsp_first_delta(editor: Daemon) -> float:
    """A fresh session, then ``hermes/chat``: seconds to its first ``hermes/chatDelta``."""
    session_id = await editor.new_session(TAG)
    stream, done = editor.chat({"sessionId": session_id, "message": "hi"})
    result = await asyncio.wait_for(done, 60)
    assert result["stopReason"] == "end_turn", result
    return stream.times[0] - stream.sent_at


async def _spawn_to_session(env: dict[str, str]) -> float:
    """A new ``hermesd acp``: spawn → ``initialize`` → ``session/new`` reply (seconds)."""
    client = await LineClient.spawn(env)
    try:
        await client.initialize()
        await client.new_session()
        return time.monotonic() - client.spawned_at
    finally:
        await client.close()


async def a1(ctx: Any) -> list[Row]:
    reps = ctx.size(60, 2)
    home = Home(ctx.root, "a1")
    # Both paths chat with the same scenario: ACP sessions take the configured model, hermes/newSession names it.
    (home.home / "config.yaml").write_text(f"model:\n  provider: deepseek\n  default: '{model(TAG)}'\n", encoding="utf-8")
    env = home.env(ctx.upstream.url)
    editor = await Daemon.spawn(env, shared=True)
    agent: LineClient | None = None
    try:
        await editor.client.initialize()
        agent = await LineClient.spawn(env)
        await agent.initialize()
        for _ in range(3):  # warm both paths: the SDK imported, the HTTP client and model list cached
            await _lsp_first_delta(editor)
            await _acp_first_chunk(agent)
        acp_times, lsp_times = [], []
        for i in range(reps):
            if i % 2:
                acp_times.append(await _acp_first_chunk(agent))
                lsp_times.append(await _lsp_first_delta(editor))
            else:
                lsp_times.append(await _lsp_first_delta(editor))
                acp_times.append(await _acp_first_chunk(agent))
        spawns, bare = [], []
        for i in range(ctx.size(9, 1)):
            bare.append(await _bare_initialize(Home(ctx.root, f"a1-bare-{i}")))
            spawns.append(await _spawn_to_session(env))
    finally:
        if agent is not None:
            await agent.close()
        await editor.close()
        await asyncio.to_thread(stop_shared_daemons, _run_dir(env))
    acp95, lsp95 = percentile(acp_times, 95), percentile(lsp_times, 95)
    ratio = median(spawns) / median(bare)
    return [
        Row("A1", f"first chunk through `hermesd acp` (session/prompt → agent_message_chunk), p95 of {reps} "
            f"(median {_ms(median(acp_times))})", _ms(acp95),
            f"`hermesd --stdio` on the same shared daemon (hermes/chat → chatDelta), p95 {_ms(lsp95)} "
            f"(median {_ms(median(lsp_times))})", f"{(acp95 - lsp95) * 1000:+.1f} ms", "≤ +5 ms p95",
            acp95 - lsp95 <= 0.005),
        Row("A1", "daemon running, SDK loaded: a new `hermesd acp` spawn → initialize → session/new reply "
            "(with the picker's model options)", _ms(median(spawns)),
            f"bare pygls server spawn → initialize reply {_ms(median(bare))}", f"{ratio:.2f}×", "≤ 0.3×",
            ratio <= 0.3),
    ]
