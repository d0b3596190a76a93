"""The command line (same modules as the daemon) and TCP mode's token check."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

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
    assert rows["deepseek"]["configured"] and len(rows) == 33
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
        assert len(good.call("hermes/listProviders", {})["result"]["providers"]) == 33
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

    def call(self, method: str, params: dict) -> dict:
        body = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}).encode()
        self.next_id += 1
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        while True:
            message = self._read()
            if "id" in message:
                return message

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

    def closed_by_server(self) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if not self.sock.recv(65536):
                    return True
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
