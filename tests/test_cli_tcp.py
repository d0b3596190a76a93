"""The command line (same modules as the daemon) and TCP mode's token check."""

from __future__ import annotations

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
from typing import Any

import pytest

from tests._unit_helpers import canary_hits
from tests.conftest import CANARY_KEY, write_config


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60)


def test_providers_and_models_commands(upstream):
    env = {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"}
    upstream.models = ["deepseek-chat"]
    listing = run_cli("providers", "--json", env=env)
    assert listing.returncode == 0
    rows = {r["name"]: r for r in json.loads(listing.stdout)["providers"]}
    assert rows["deepseek"]["configured"] and len(rows) == 28
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


def test_tcp_requires_the_token_and_survives_bad_clients(tmp_path):
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "hermesd", "--tcp", "--port", "0"],
                            env={**os.environ, "HERMESD_RUNTIME_DIR": str(run_dir)},
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+); token file: (\S+)", line)
        assert match, line
        port, token_file = int(match.group(1)), Path(match.group(2))
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text()
        assert _listening_on_loopback_only(port)

        bad = _Conn(port)
        reply = bad.call("initialize", {"capabilities": {}, "processId": None, "initializationOptions": {"token": "wrong"}})
        assert reply["error"]["code"] == -32001
        assert bad.closed_by_server()

        sneaky = _Conn(port)  # skips initialize altogether
        assert sneaky.call("hermes/listProviders", {})["error"]["code"] == -32001

        good = _Conn(port)
        init = good.call("initialize", {"capabilities": {}, "processId": None, "initializationOptions": {"token": token}})
        assert init["result"]["capabilities"]["experimental"]["hermes"]["protocolVersion"] == 1
        assert len(good.call("hermes/listProviders", {})["result"]["providers"]) == 28
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)


def _listening_on_loopback_only(port: int) -> bool:
    rows = [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]
    listening = [r[1] for r in rows if r[3] == "0A" and int(r[1].split(":")[1], 16) == port]
    return listening == ["0100007F:%04X" % port]


class _Conn:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.next_id = 1
        self.received: list[dict] = []  # every message, notifications included

    def send(self, method: str, params: Any, notify: bool = False) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if not notify:
            message["id"] = self.next_id
            self.next_id += 1
        body = json.dumps(message).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return message.get("id")

    def call(self, method: str, params: Any) -> dict:
        msg_id = self.send(method, params)
        return self.wait(lambda m: m.get("id") == msg_id and "method" not in m)

    def wait(self, predicate: Any) -> dict:
        while True:
            message = self._read()
            self.received.append(message)
            if predicate(message):
                return message

    def authenticate(self, token: str) -> "_Conn":
        init = self.call("initialize", {"capabilities": {}, "processId": None, "initializationOptions": {"token": token}})
        assert "result" in init, init
        self.send("initialized", {}, notify=True)
        return self

    def _read(self) -> dict:
        while b"\r\n\r\n" not in self.buf:
            self.buf += self._recv()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        while len(self.buf) < length:
            self.buf += self._recv()
        body, self.buf = self.buf[:length], self.buf[length:]
        return json.loads(body)

    def _recv(self) -> bytes:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        return data

    def closed_by_server(self, within: float = 5) -> bool:
        """Whether the daemon closes the connection within ``within`` s; what it sent meanwhile is kept."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
            except socket.timeout:
                continue
            except OSError:
                return True
        return False


def test_stdout_carries_only_frames_even_when_a_plugin_prints(isolated_home, upstream):
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
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}, "processId": None}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {"jsonrpc": "2.0", "id": 2, "method": "hermes/chat", "params": {"provider": "chatty", "model": "m", "message": "hi"}},
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": None},
        {"jsonrpc": "2.0", "method": "exit", "params": None},
    ]
    proc = subprocess.Popen([sys.executable, "-m", "hermesd", "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "CHATTY_API_KEY": CANARY_KEY})
    replies, out = {}, b""
    try:
        for message in messages:
            body = json.dumps(message).encode()
            proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            proc.stdin.flush()
            while "id" in message and message["id"] not in replies:
                out += proc.stdout.read1(65536)
                while True:  # strict framing: the buffer must start with a header, always
                    assert out == b"" or out.startswith(b"Content-Length: "), out[:120]
                    head, sep, rest = out.partition(b"\r\n\r\n")
                    if not sep:
                        break
                    length = int(re.match(rb"Content-Length: (\d+)", head).group(1))
                    if len(rest) < length:
                        break
                    reply, out = json.loads(rest[:length]), rest[length:]
                    if "id" in reply:
                        replies[reply["id"]] = reply
        assert replies[2]["result"]["stopReason"] == "end_turn", replies[2]
        assert proc.wait(10) == 0
        stderr = proc.stderr.read().decode()
        assert "chatty plugin loading" in stderr and "building the body" in stderr
    finally:
        proc.kill()


# -- TCP hardening (issue 11): a connection without the token gets nothing -----------------------


class _TcpDaemon:
    """``hermesd --tcp`` as a process, its port and token."""

    def __init__(self, env: dict[str, str] | None = None, **popen: Any) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "hermesd", "--tcp", "--port", "0"],
                                     env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True, **popen)
        line = self.proc.stderr.readline()
        match = re.search(r"listening on 127\.0\.0\.1:(\d+); token file: (\S+)", line)
        assert match, line + self.proc.stderr.read() if self.proc.poll() is not None else line
        self.port, self.token_file = int(match.group(1)), Path(match.group(2))
        self.token = self.token_file.read_text()

    def connect(self, authenticated: bool = True) -> _Conn:
        conn = _Conn(self.port)
        return conn.authenticate(self.token) if authenticated else conn

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def tcp_daemon(tmp_path: Path) -> Any:
    """Factory of TCP daemons; afterwards their stderr, logs and files are scanned for the canary key."""
    started: list[_TcpDaemon] = []

    def start(env: dict[str, str] | None = None, **popen: Any) -> _TcpDaemon:
        started.append(_TcpDaemon(env, **popen))
        return started[-1]

    yield start
    for daemon in started:
        daemon.stop()
        assert CANARY_KEY not in daemon.proc.stderr.read()
    assert canary_hits(tmp_path) == []


def test_an_internal_error_over_tcp_carries_an_error_id_not_a_traceback(tcp_daemon: Any, tmp_path: Path) -> None:
    sessions = tmp_path / "data" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "s-broken.jsonl").write_text(json.dumps({"type": "meta", "id": "s-broken", "settings": 7}) + "\n")
    member = tcp_daemon().connect()
    error = member.call("hermes/getSession", {"sessionId": "s-broken"})["error"]
    assert error["code"] == -32603 and error["data"] == {"errorId": error["data"]["errorId"]}
    assert error["data"]["errorId"] in error["message"] and "Traceback" not in error["message"]
    assert error["data"]["errorId"] in (tmp_path / "logs" / "hermesd.log").read_text()


def test_a_stranger_cannot_shut_down_cancel_or_listen_in(tcp_daemon: Any, upstream: Any) -> None:
    """Before: a connection without the token was in the broadcast list and could send exit,
    $/cancelRequest and shutdown (which cancelled every client's chats)."""
    upstream.configure(chunk_count=6, chunk_delay=0.3)
    daemon = tcp_daemon({"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    owner = daemon.connect()
    chat_id = owner.send("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "hi"})
    owner.wait(lambda m: m.get("method") == "hermes/chatDelta")  # the chat is streaming

    stranger = daemon.connect(authenticated=False)
    stranger.send("$/cancelRequest", {"id": chat_id}, notify=True)
    assert stranger.call("shutdown", None)["error"]["code"] == -32001
    assert stranger.call("hermes/cancel", {"sessionId": "s-x"})["error"]["code"] == -32001
    stranger.send("exit", None, notify=True)

    result = owner.wait(lambda m: m.get("id") == chat_id)
    assert result["result"]["stopReason"] == "end_turn", result
    assert owner.call("hermes/setConfig", {"key": "model.temperature", "value": 0.5})["result"]["value"] == 0.5
    assert any(m.get("method") == "hermes/configChanged" for m in owner.received)
    # The stranger saw its two refusals and nothing else: no delta, no configChanged.
    assert stranger.call("hermes/getConfig", {})["error"]["code"] == -32001
    assert [m.get("error", {}).get("code") for m in stranger.received] == [-32001, -32001, -32001]
    assert daemon.proc.poll() is None


def test_shutdown_of_one_connection_leaves_the_others_chats_running(tcp_daemon: Any, upstream: Any) -> None:
    upstream.configure(chunk_count=6, chunk_delay=0.3)
    daemon = tcp_daemon({"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    first, second = daemon.connect(), daemon.connect()
    chat_id = first.send("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "hi"})
    first.wait(lambda m: m.get("method") == "hermes/chatDelta")
    assert "error" not in second.call("shutdown", None)
    second.send("exit", None, notify=True)
    result = first.wait(lambda m: m.get("id") == chat_id)
    assert result["result"]["stopReason"] == "end_turn", result
    assert result["result"]["text"] == "Hello from upstream"


def test_a_stranger_is_closed_without_initialize_and_its_frames_are_capped(tcp_daemon: Any) -> None:
    daemon = tcp_daemon()
    silent = daemon.connect(authenticated=False)
    assert silent.closed_by_server(within=15)  # INIT_TIMEOUT is 5 s
    big = daemon.connect(authenticated=False)
    big.sock.sendall(b"Content-Length: %d\r\n\r\n" % (64 * 1024 + 1))  # over the 64 KiB cap: closed before the body
    assert big.closed_by_server(within=15)
    assert big.received == [] and silent.received == []

    member = daemon.connect()  # after the token, a bad frame is answered and the connection lives
    member.sock.sendall(b"Content-Length: nope\r\n\r\n{}")
    error = member.wait(lambda m: "error" in m)
    assert error["error"]["code"] == -32700 and error["id"] is None
    assert "result" in member.call("hermes/getConfig", {})
    assert daemon.proc.poll() is None


def test_the_number_of_connections_is_capped(tcp_daemon: Any) -> None:
    from hermesd.tcp import MAX_CONNECTIONS

    daemon = tcp_daemon()
    held = [daemon.connect() for _ in range(MAX_CONNECTIONS)]
    extra = _Conn(daemon.port)
    assert extra.closed_by_server()
    held.pop().sock.close()
    assert "result" in _wait_for_a_connection(daemon).call("hermes/getConfig", {})


def _wait_for_a_connection(daemon: _TcpDaemon) -> _Conn:
    """A fresh authenticated connection, retried while the daemon frees a slot."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return daemon.connect()
        except (ConnectionError, OSError):
            if time.monotonic() > deadline:
                raise


def test_running_out_of_file_descriptors_logs_one_line_not_a_traceback_per_attempt(
        tcp_daemon: Any, tmp_path: Path) -> None:
    """With 48 descriptors, 60 connections exhaust them; asyncio retries accept() every second."""
    import resource

    daemon = tcp_daemon(preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48)))
    log_file = tmp_path / "logs" / "hermesd.log"
    conns = [socket.create_connection(("127.0.0.1", daemon.port), timeout=10) for _ in range(60)]
    deadline = time.monotonic() + 20
    while "cannot accept connections" not in log_file.read_text():
        assert time.monotonic() < deadline, log_file.read_text()[-2000:]
        time.sleep(0.1)
    time.sleep(3)  # no event marks "asyncio retried accept() again": let it retry at least twice
    log = log_file.read_text()
    assert log.count("cannot accept connections") == 1 and "Too many open files" in log
    assert "Traceback" not in log
    for conn in conns:
        conn.close()
    assert "result" in _wait_for_a_connection(daemon).call("hermes/getConfig", {})


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
