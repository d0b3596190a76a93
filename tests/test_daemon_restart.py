"""Editors survive a daemon restart: one forwarder (``hermesd --stdio``) carried across daemons (issue 29).

The client here is :class:`tests.lsp_client.LspClient`, which keeps every
message it reads, so a test can check that nothing was answered twice.
Each test has its own runtime dir (conftest), so the daemons are its own.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from hermesd.client.relay import DAEMON_RESTARTED
from hermesd.protocol import ERROR_CODES
from tests.conftest import CANARY_KEY, write_config
from tests.daemon import shared_daemon_pids
from tests.lsp_client import LspClient

CHAT_RESTARTED = "the daemon restarted; your message was saved in the session; Retry to send it again"


def shared_env(**extra: str) -> dict[str, str]:
    """This test's environment for a forwarder to the shared daemon (conftest sets HERMESD_SHARED=0)."""
    return {**{k: v for k, v in os.environ.items() if k != "HERMESD_SHARED"}, **extra}


def run_dir() -> Path:
    return Path(os.environ["HERMESD_RUNTIME_DIR"])


def the_daemon() -> int:
    [pid] = shared_daemon_pids(run_dir()).values()
    return pid


def kill_and_wait(pid: int, timeout: float = 15.0) -> None:
    """SIGKILL ``pid`` and wait until it is gone (it is not our child: the forwarder double-forked it)."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"daemon {pid} survived SIGKILL")


async def forwarder(env: dict[str, str], stderr: object = asyncio.subprocess.DEVNULL) -> LspClient:
    client = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], env, stderr=stderr, strict=True)
    assert (await client.initialize())["serverInfo"]["name"] == "hermesd"
    return client


def responses(client: LspClient) -> list[object]:
    return [m.get("id") for m in client.messages if "method" not in m and "id" in m]


def test_the_error_code_is_the_protocols():
    assert ERROR_CODES["daemonRestarted"] == DAEMON_RESTARTED == -32005


@pytest.mark.asyncio
async def test_ten_daemon_kills_under_one_forwarder_and_every_following_request_is_answered(isolated_home):
    client = await forwarder(shared_env())
    try:
        seen = [the_daemon()]
        for n in range(10):
            await asyncio.to_thread(kill_and_wait, seen[-1])
            result = await client.request("hermes/setConfig", {"key": "model.default", "value": f"model-{n}"}, timeout=30)
            assert result is not None
            assert (await client.request("hermes/getConfig"))["config"]["model"]["default"] == f"model-{n}"
            seen.append(the_daemon())
        assert len(set(seen)) == 11, seen  # a new daemon each time, under the one forwarder
        assert client.proc is not None and client.proc.returncode is None
        ids = responses(client)
        assert len(ids) == len(set(ids)) == 21  # initialize once, then 20 requests: none answered twice
        assert not [m for m in client.messages if "replay" in str(m.get("id"))]
        log = (Path(os.environ["HERMESD_LOG_DIR"]) / "hermesd.log").read_text()
        assert log.count(f"hello from pid {client.proc.pid}") == 11  # each daemon checked this forwarder's hello
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_two_editors_whose_daemon_dies_end_up_on_one_new_daemon(isolated_home):
    a, b = await forwarder(shared_env()), await forwarder(shared_env())
    try:
        killed = the_daemon()
        await asyncio.to_thread(kill_and_wait, killed)
        await a.request("hermes/setConfig", {"key": "model.default", "value": "after"}, timeout=30)
        assert (await b.request("hermes/getConfig", timeout=30))["config"]["model"]["default"] == "after"
        assert the_daemon() != killed  # one daemon (the_daemon asserts it), started by whichever forwarder won
    finally:
        await a.close()
        await b.close()


@pytest.mark.asyncio
async def test_a_chat_in_flight_when_the_daemon_dies_gets_one_retryable_error_and_the_next_chat_is_answered(
        isolated_home, upstream):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    env = shared_env(OPENROUTER_API_KEY=CANARY_KEY, OPENROUTER_BASE_URL=f"{upstream.url}/api/v1")
    upstream.reply_text = " ".join(f"word{i}" for i in range(40))
    upstream.chunk_count = 40
    upstream.chunk_delay = 0.25  # 10 s: the kill comes long before the end
    client = await forwarder(env)
    try:
        chat_id, chat = client.send("hermes/chat", {"message": "first"})
        await client.wait_for(lambda m: m.get("method") == "hermes/chatDelta")
        await asyncio.to_thread(kill_and_wait, the_daemon())
        reply = await client.wait_for(lambda m: m.get("id") == chat_id and "method" not in m, timeout=30)
        assert reply["error"] == {"code": -32005, "message": CHAT_RESTARTED,
                                  "data": {"kind": "daemonRestarted", "retryable": True, "method": "hermes/chat"}}
        chat.exception()  # the client's future failed with that error (retrieved, so asyncio does not warn)

        upstream.reply_text, upstream.chunk_count, upstream.chunk_delay = "after the restart", 1, 0.0
        result = await client.request("hermes/chat", {"message": "second"}, timeout=30)
        assert result["text"] == "after the restart"
        assert [r.json["messages"][-1]["content"] for r in upstream.requests] == ["first", "second"]
        ids = responses(client)
        assert ids.count(chat_id) == 1 and len(ids) == len(set(ids))
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_the_forwarder_exits_1_with_one_stderr_line_when_no_daemon_can_be_started(isolated_home, tmp_path):
    err_path = tmp_path / "forwarder.err"
    with err_path.open("wb") as err:
        client = await forwarder(shared_env(), stderr=err)
    pending_id, pending = client.send("hermes/doctor", {})  # may be answered before the kill; either way once
    run_dir().chmod(0o777)  # issue 26's checks now refuse the directory: no daemon may be reached or started there
    try:
        await asyncio.to_thread(kill_and_wait, the_daemon())
        assert await asyncio.wait_for(client.proc.wait(), 30) == 1
    finally:
        run_dir().chmod(0o700)
    [line] = err_path.read_text().splitlines()
    assert line.startswith("hermesd: the shared daemon stopped and could not be restarted: 3 tries; the last: ")
    assert f"the runtime directory {run_dir()} is writable by other users" in line or "writable" in line, line
    assert responses(client).count(pending_id) == 1
    if pending.done() and pending.exception() is not None:
        assert pending.exception().code == DAEMON_RESTARTED
    assert not list(run_dir().glob("hermesd-*.sock")) or shared_daemon_pids(run_dir()) == {}


# -- the relay alone, with scripted daemons on socket pairs ----------------------------------------

import json as _json  # noqa: E402
import socket  # noqa: E402
import threading  # noqa: E402

from hermesd.client.relay import Relay  # noqa: E402
from hermesd.framing import frame, whole_frames  # noqa: E402


class Pipe:
    """One end of a byte stream, read frame by frame (the relay's stdout, or a scripted daemon's socket)."""

    def __init__(self, read: "callable") -> None:
        self.read = read
        self.buf = bytearray()

    def next(self) -> dict:
        while True:
            spans, used = whole_frames(self.buf)
            if spans:
                start, end = spans[0]
                message = _json.loads(bytes(self.buf[start:end]))
                del self.buf[:end]
                return message
            data = self.read()
            assert data, "closed"
            self.buf += data


@pytest.fixture
def relay_parts():
    """The relay between a client (pipes) and two scripted daemons (socket pairs); it runs on a thread."""
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    first, first_daemon = socket.socketpair()
    second, second_daemon = socket.socketpair()
    for sock in (first_daemon, second_daemon):
        sock.settimeout(10)
    reconnects: list[object] = [second]
    result: list[int] = []

    def reconnect():
        nxt = reconnects.pop(0)
        if isinstance(nxt, BaseException):
            raise nxt
        return nxt, b""

    relay = Relay(first, b"", reconnect, (OSError,), timeout=10, stdin_fd=stdin_r, stdout_fd=stdout_w)
    thread = threading.Thread(target=lambda: result.append(relay.run()), daemon=True)
    thread.start()
    client = Pipe(lambda: os.read(stdout_r, 65536))
    parts = {"send": lambda m: os.write(stdin_w, frame(m)), "client": client, "relay": relay, "result": result,
             "thread": thread, "reconnects": reconnects,
             "first": (first_daemon, Pipe(lambda: first_daemon.recv(65536))),
             "second": (second_daemon, Pipe(lambda: second_daemon.recv(65536)))}
    yield parts
    os.close(stdin_w)
    deadline = time.monotonic() + 10
    while thread.is_alive() and not relay.ending and time.monotonic() < deadline:  # it has read the end of stdin
        time.sleep(0.01)
    for sock in (first_daemon, second_daemon):
        sock.close()  # as a daemon closes once its client has half-closed: the relay ends (it waited 10 s before)
    thread.join(10)
    for fd in (stdin_r, stdout_r, stdout_w):
        os.close(fd)


def test_the_relay_fails_pending_requests_once_and_replays_the_handshake_swallowing_its_answer(relay_parts):
    send, client = relay_parts["send"], relay_parts["client"]
    first, first_in = relay_parts["first"]
    second, second_in = relay_parts["second"]
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"processId": 1, "capabilities": {}}}
    send(init)
    assert first_in.next() == init
    first.sendall(frame({"jsonrpc": "2.0", "id": 0, "result": {"serverInfo": {"name": "hermesd"}}}))
    assert client.next()["id"] == 0
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send({"jsonrpc": "2.0", "id": [1], "method": "odd/id"})  # not an id the relay can track: passed on, ignored
    send({"jsonrpc": "2.0", "id": 1, "method": "hermes/getConfig", "params": {}})
    send({"jsonrpc": "2.0", "id": "c-2", "method": "hermes/chat", "params": {"message": "hi"}})
    assert [first_in.next().get("method") for _ in range(4)] == ["initialized", "odd/id", "hermes/getConfig",
                                                                 "hermes/chat"]
    first.sendall(frame({"jsonrpc": "2.0", "id": 1, "result": {"config": {}}}))  # answered before the drop
    first.sendall(frame({"jsonrpc": "2.0", "method": "hermes/chatDelta", "params": {"requestId": "c-2", "text": "h"}})
                  + b"Content-Length: 500\r\n\r\n{\"partial")  # a frame cut by the crash never reaches the client
    first.close()

    assert client.next()["id"] == 1
    assert client.next()["method"] == "hermes/chatDelta"
    assert client.next() == {"jsonrpc": "2.0", "id": "c-2", "error": {
        "code": -32005, "message": CHAT_RESTARTED,
        "data": {"kind": "daemonRestarted", "retryable": True, "method": "hermes/chat"}}}
    replayed = second_in.next()
    assert replayed == {**init, "id": "hermesd-forwarder-replay-1"}
    second.sendall(frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"type": 3, "message": "x"}})
                   + frame({"jsonrpc": "2.0", "id": replayed["id"], "result": {"serverInfo": {"name": "hermesd"}}}))
    assert second_in.next() == {"jsonrpc": "2.0", "method": "initialized", "params": {}}
    assert client.next()["method"] == "window/logMessage"  # what the daemon said first still reaches the client

    send({"jsonrpc": "2.0", "id": 3, "method": "hermes/getConfig", "params": {}})
    assert second_in.next()["id"] == 3
    second.sendall(frame({"jsonrpc": "2.0", "id": 3, "result": {"config": {}}}))
    assert client.next() == {"jsonrpc": "2.0", "id": 3, "result": {"config": {}}}  # the replay's answer was swallowed
    assert relay_parts["relay"].inflight == {} and relay_parts["relay"].restarts == 1


def test_the_relay_gives_up_after_three_tries_with_one_line(relay_parts, capsys):
    relay_parts["reconnects"][:] = [OSError("no daemon 1"), OSError("no daemon 2"), OSError("no daemon 3")]
    first, _ = relay_parts["first"]
    first.close()
    relay_parts["thread"].join(10)
    assert relay_parts["result"] == [1]
    assert capsys.readouterr().err == ("hermesd: the shared daemon stopped and could not be restarted: 3 tries; "
                                       "the last: no daemon 3\n")
