"""The command line (same modules as the daemon) and TCP mode's token check."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from hermesd import PROTOCOL_VERSION

from tests._unit_helpers import canary_hits
from tests.conftest import CANARY_KEY
from tests.daemon import TcpDaemon, start_tcp
from tests.lsp_client import LspClient


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_providers_and_models_commands(upstream):
    env = {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"}
    upstream.models = ["deepseek-chat"]
    listing = run_cli("providers", "--json", env=env)
    assert listing.returncode == 0
    rows = {r["name"]: r for r in json.loads(listing.stdout)["providers"]}
    assert rows["deepseek"]["configured"] and len(rows) == 38
    human = run_cli("providers", env=env)
    assert re.search(r"^\* deepseek .*DEEPSEEK_API_KEY", human.stdout, re.M)
    models = run_cli("models", "deepseek", env=env)
    assert models.returncode == 0 and models.stdout.strip() == "deepseek-chat"
    assert "from live" in models.stderr
    unknown = run_cli("models", "nope")
    assert unknown.returncode == 2 and "unknown provider 'nope'" in unknown.stderr
    for out in (listing, human, models):
        assert CANARY_KEY not in out.stdout + out.stderr


def test_doctor_exit_codes(upstream, isolated_home):
    good = run_cli("doctor", "deepseek", env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    assert good.returncode == 0, good.stdout
    assert re.search(r"\[ok  \] deepseek: DEEPSEEK_API_KEY is set; catalog reachable", good.stdout)
    upstream.fail(status=401, times=None)
    bad = run_cli("doctor", "--json", "deepseek", env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    assert bad.returncode == 1
    check = next(c for c in json.loads(bad.stdout)["checks"] if c["id"] == "provider:deepseek")
    assert check["status"] == "fail" and "DEEPSEEK_API_KEY" in check["hint"]
    assert CANARY_KEY not in good.stdout + bad.stdout


def test_chat_command_reports_errors_with_exit_codes(upstream, isolated_home):
    none = run_cli("chat", "hi")
    assert none.returncode == 3 and "no provider configured" in none.stderr
    upstream.fail(status=401, body={"error": {"message": "nope"}})
    denied = run_cli("chat", "-p", "deepseek", "-m", "deepseek-chat", "hi",
                     env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    assert denied.returncode == 1
    assert "auth:" in denied.stderr and "DEEPSEEK_API_KEY" in denied.stderr
    assert CANARY_KEY not in denied.stderr


async def test_tcp_requires_the_token_and_survives_bad_clients(tmp_path):
    daemon = start_tcp({**os.environ, "HERMESD_RUNTIME_DIR": str(tmp_path / "run")})
    try:
        assert stat.S_IMODE(daemon.token_file.stat().st_mode) == 0o600
        assert _listening_on_loopback_only(daemon.port)

        bad = await LspClient.connect(daemon.port)
        reply = await bad.call("initialize", {"capabilities": {}, "processId": None,
                                              "initializationOptions": {"token": "wrong"}})
        assert reply["error"]["code"] == -32001
        await bad.wait_closed(5)

        sneaky = await LspClient.connect(daemon.port)  # skips initialize altogether
        assert (await sneaky.call("hermes/listProviders", {}))["error"]["code"] == -32001

        good = await LspClient.connect(daemon.port)
        init = await good.initialize({"token": daemon.token})
        assert init["capabilities"]["experimental"]["hermes"]["protocolVersion"] == PROTOCOL_VERSION
        assert len((await good.request("hermes/listProviders", {}))["providers"]) == 38
        assert daemon.proc.poll() is None
        for client in (sneaky, good):
            await client.close()
    finally:
        daemon.stop()


def _listening_on_loopback_only(port: int) -> bool:
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == port]
    return listening == ["0100007F:%04X" % port]


async def test_stdout_carries_only_frames_even_when_a_plugin_prints(isolated_home, upstream):
    """A plugin's print() must go to stderr: one stray byte breaks a strict client's framing."""
    plugin = isolated_home / "plugins" / "model-providers" / "chatty"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "print('chatty plugin loading')\n"
        "class Chatty(ProviderProfile):\n"
        "    def build_extra_body(self, *, session_id=None, **context):\n"
        "        print('building the body')\n"
        "        return {}\n"
        f"register_provider(Chatty(name='chatty', base_url='{upstream.url}/v1', env_vars=('CHATTY_API_KEY',)))\n",
        encoding="utf-8",
    )
    # strict: every byte on stdout must belong to a Content-Length frame, or reading fails.
    client = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"],
                                   {**os.environ, "CHATTY_API_KEY": CANARY_KEY},
                                   stderr=asyncio.subprocess.PIPE, strict=True)
    try:
        await client.initialize()
        result = await client.request("hermes/chat", {"provider": "chatty", "model": "m", "message": "hi"})
        assert result["stopReason"] == "end_turn", result
        await client.request("shutdown", None)
        client.notify("exit")
        assert await asyncio.wait_for(client.proc.wait(), 10) == 0
        await client.wait_closed()
        stderr = (await client.proc.stderr.read()).decode()
        assert "chatty plugin loading" in stderr and "building the body" in stderr
    finally:
        client.kill()


# -- TCP hardening (issue 11): a connection without the token gets nothing -----------------------


@pytest.fixture
def tcp_daemon(tmp_path: Path) -> Iterator[Any]:
    """Factory of TCP daemons; afterwards their stderr, logs and files are scanned for the canary key."""
    started: list[TcpDaemon] = []

    def start(env: dict[str, str] | None = None, **popen: Any) -> TcpDaemon:
        started.append(start_tcp({**os.environ, **(env or {})}, **popen))
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()
        assert CANARY_KEY not in daemon.proc.stderr.read()
    assert canary_hits(tmp_path) == []


async def member(daemon: TcpDaemon) -> LspClient:
    """A connection that sent the token."""
    client = await LspClient.connect(daemon.port)
    await client.initialize({"token": daemon.token})
    return client


async def test_a_stranger_cannot_shut_down_cancel_or_listen_in(tcp_daemon: Any, upstream: Any) -> None:
    """Before: a connection without the token was in the broadcast list and could send exit,
    $/cancelRequest and shutdown (which cancelled every client's chats)."""
    upstream.configure(chunk_count=6, chunk_delay=0.3)
    daemon = tcp_daemon({"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    owner = await member(daemon)
    chat_id, chat = owner.send("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "hi"})
    await owner.wait_for(lambda m: m.get("method") == "hermes/chatDelta")  # the chat is streaming

    stranger = await LspClient.connect(daemon.port)
    stranger.notify("$/cancelRequest", {"id": chat_id})
    assert (await stranger.call("shutdown", None))["error"]["code"] == -32001
    assert (await stranger.call("hermes/cancel", {"sessionId": "s-x"}))["error"]["code"] == -32001
    stranger.notify("exit")

    result = await asyncio.wait_for(chat, 30)
    assert result["stopReason"] == "end_turn", result
    assert (await owner.request("hermes/setConfig", {"key": "model.temperature", "value": 0.5}))["value"] == 0.5
    await owner.wait_for(lambda m: m.get("method") == "hermes/configChanged")
    # The stranger saw its refusals and nothing else: no delta, no configChanged.
    assert (await stranger.call("hermes/getConfig", {}))["error"]["code"] == -32001
    assert [m.get("error", {}).get("code") for m in stranger.messages] == [-32001, -32001, -32001]
    assert daemon.proc.poll() is None


async def test_shutdown_of_one_connection_leaves_the_others_chats_running(tcp_daemon: Any, upstream: Any) -> None:
    upstream.configure(chunk_count=6, chunk_delay=0.3)
    daemon = tcp_daemon({"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    first, second = await member(daemon), await member(daemon)
    _, chat = first.send("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "hi"})
    await first.wait_for(lambda m: m.get("method") == "hermes/chatDelta")
    await second.request("shutdown", None)
    second.notify("exit")
    result = await asyncio.wait_for(chat, 30)
    assert result["stopReason"] == "end_turn" and result["text"] == "Hello from upstream", result


async def test_a_stranger_is_closed_without_initialize_and_its_frames_are_capped(tcp_daemon: Any) -> None:
    daemon = tcp_daemon()
    silent = await LspClient.connect(daemon.port)
    await silent.wait_closed(15)  # INIT_TIMEOUT is 5 s
    big = await LspClient.connect(daemon.port)
    big.send_raw(b"Content-Length: %d\r\n\r\n" % (64 * 1024 + 1))  # over the 64 KiB cap: closed before the body
    await big.wait_closed(15)
    assert big.messages == [] and silent.messages == []

    client = await member(daemon)  # after the token, a bad frame is answered and the connection lives
    client.send_raw(b"Content-Length: nope\r\n\r\n{}")
    error = await client.wait_for(lambda m: "error" in m)
    assert error["error"]["code"] == -32700 and error["id"] is None
    assert await client.request("hermes/getConfig", {}) is not None
    assert daemon.proc.poll() is None


async def test_the_number_of_connections_is_capped(tcp_daemon: Any) -> None:
    from hermesd.serve.tcp import MAX_CONNECTIONS

    daemon = tcp_daemon()
    held = [await member(daemon) for _ in range(MAX_CONNECTIONS)]
    extra = await LspClient.connect(daemon.port)
    await extra.wait_closed(5)
    assert extra.messages == []
    await held.pop().close()
    assert await (await _member_when_a_slot_frees(daemon)).request("hermes/getConfig", {}) is not None


async def _member_when_a_slot_frees(daemon: TcpDaemon) -> LspClient:
    """A fresh authenticated connection, retried while the daemon frees a slot (it closes refused ones at once)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return await member(daemon)
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise


async def test_running_out_of_file_descriptors_logs_one_line_not_a_traceback_per_attempt(
        tcp_daemon: Any, tmp_path: Path) -> None:
    """With 48 descriptors, 60 connections exhaust them; asyncio retries accept() every second."""
    import resource

    daemon = tcp_daemon(args=("--log-level", "DEBUG"),
                        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48)))
    log_file = tmp_path / "logs" / "hermesd.log"
    conns = [socket.create_connection(("127.0.0.1", daemon.port), timeout=10) for _ in range(60)]
    deadline = time.monotonic() + 20
    while log_file.read_text().count("still cannot accept connections") < 2:  # at DEBUG: each retry after the first
        assert time.monotonic() < deadline, log_file.read_text()[-2000:]
        await asyncio.sleep(0.1)
    log = log_file.read_text()
    assert log.count("WARNING hermesd.serve.tcp: cannot accept connections: [Errno 24] Too many open files") == 1
    assert "Traceback" not in log
    for conn in conns:
        conn.close()
    assert await (await _member_when_a_slot_frees(daemon)).request("hermes/getConfig", {}) is not None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_token_file_is_removed_on_a_signal(tcp_daemon: Any, sig: int) -> None:
    daemon = tcp_daemon()
    assert daemon.token_file.exists()
    daemon.proc.send_signal(sig)
    assert daemon.proc.wait(10) == 0
    assert not daemon.token_file.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_runtime_dir_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "shared-run"
    run_dir.mkdir(mode=0o700)
    os.chown(run_dir, 65534, 65534)
    proc = run_cli("--tcp", env={"HERMESD_RUNTIME_DIR": str(run_dir)})
    assert proc.returncode == 1
    assert f"the runtime directory {run_dir} belongs to uid 65534, not to you" in proc.stderr
    assert "HERMESD_RUNTIME_DIR" in proc.stderr and "Traceback" not in proc.stderr
    assert list(run_dir.iterdir()) == []


def test_a_runtime_dir_others_can_write_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "open-run"
    run_dir.mkdir()
    run_dir.chmod(0o777)
    proc = run_cli("--tcp", env={"HERMESD_RUNTIME_DIR": str(run_dir)})
    assert proc.returncode == 1
    assert f"run `chmod 700 {run_dir}`" in proc.stderr and "Traceback" not in proc.stderr
    assert list(run_dir.iterdir()) == []


async def test_an_internal_error_over_tcp_carries_an_error_id_not_a_traceback(tcp_daemon: Any, tmp_path: Path) -> None:
    sessions = tmp_path / "data" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "s-broken.jsonl").write_text(json.dumps({"type": "meta", "id": "s-broken", "settings": 7}) + "\n")
    client = await member(tcp_daemon())
    error = (await client.call("hermes/getSession", {"sessionId": "s-broken"}))["error"]
    assert error["code"] == -32603 and error["data"] == {"errorId": error["data"]["errorId"]}
    assert error["data"]["errorId"] in error["message"] and "Traceback" not in error["message"]
    assert error["data"]["errorId"] in (tmp_path / "logs" / "hermesd.log").read_text()
