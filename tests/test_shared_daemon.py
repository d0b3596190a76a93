"""The shared per-user daemon: ``hermesd --stdio`` as a forwarder (docs/protocol.md, "Shared daemon").

Each test has its own runtime dir (conftest), so the daemons it starts are its
own, and conftest stops them when it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from hermesd import __version__
from hermesd.client import forwarder
from hermesd.serve.shared import peer_uid
from tests.conftest import write_config
from tests.daemon import shared_daemon_pids, wait_shared_daemon_gone
from tests.lsp_client import LspClient, frame

HEAVY = ("pygls", "lsprotocol", "openai", "httpx", "httpx_sse", "yaml", "platformdirs")


def shared_env(**extra: str) -> dict[str, str]:
    """This test's environment for a client that uses the shared daemon (conftest sets HERMESD_SHARED=0)."""
    return {**{k: v for k, v in os.environ.items() if k != "HERMESD_SHARED"}, **extra}


def run_dir() -> Path:
    return Path(os.environ["HERMESD_RUNTIME_DIR"])


KEY = "sk-shared-test-4e1d"


@pytest.mark.asyncio
async def test_two_editors_share_one_daemon_and_see_each_others_config_changes(start_daemon):
    a = await start_daemon(shared=True)
    b = await start_daemon(shared=True)
    daemons = shared_daemon_pids(run_dir())
    assert len(daemons) == 1, daemons
    socket_path = next(run_dir().glob("hermesd-*.sock"))
    assert stat.S_IMODE(socket_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(run_dir().stat().st_mode) == 0o700

    await a.request("hermes/setConfig", {"key": "model.default", "value": "from-a"})
    seen_by_b = await b.wait_until("hermes/configChanged", lambda p: p["value"] == "from-a")
    assert (seen_by_b["key"], seen_by_b["value"]) == ("model.default", "from-a")
    await b.request("hermes/setConfig", {"key": "model.default", "value": "from-b"})
    assert await a.wait_until("hermes/configChanged", lambda p: p["value"] == "from-b")

    # One editor leaving (shutdown + exit) ends its connection only.
    await a.client.shutdown_session()
    assert (await b.request("hermes/getConfig"))["config"]["model"]["default"] == "from-b"
    assert shared_daemon_pids(run_dir()) == daemons


@pytest.mark.asyncio
async def test_a_different_key_environment_gets_a_different_daemon(start_daemon):
    a = await start_daemon(env={"OPENROUTER_API_KEY": "sk-one-7f3a"}, shared=True)
    same = await start_daemon(env={"OPENROUTER_API_KEY": "sk-one-7f3a"}, shared=True)
    other = await start_daemon(env={"OPENROUTER_API_KEY": "sk-two-9c2e"}, shared=True)
    proxied = await start_daemon(env={"OPENROUTER_API_KEY": "sk-one-7f3a", "HTTPS_PROXY": "http://127.0.0.1:9"},
                                 shared=True)
    daemons = shared_daemon_pids(run_dir())
    assert len(set(daemons.values())) == 3, daemons
    for client in (a, same, other, proxied):
        assert (await client.request("hermes/getConfig"))["path"]
    # The key's value names nothing on disk: only its hash does.
    for path in run_dir().iterdir():
        assert "sk-one" not in path.name and "sk-two" not in path.name
        if path.suffix in (".lock", ".log"):
            assert b"sk-one" not in path.read_bytes() and b"sk-two" not in path.read_bytes()


def test_the_key_covers_provider_proxy_template_and_interpreter_variables(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("model:\n  api_key: ${MY_TEAM_SECRET_VALUE}\n")
    base = {"HERMES_HOME": str(home), "PATH": "/usr/bin", "TERM": "xterm"}
    key = forwarder.env_key(base)
    assert forwarder.env_key({**base, "TERM": "dumb", "WINDOWID": "7", "VSCODE_PID": "1"}) == key
    for name in ("ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "HERMES_INFERENCE_PROVIDER", "HTTPS_PROXY", "https_proxy",
                 "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "MY_TEAM_SECRET_VALUE", "HERMESD_DATA_DIR", "PYTHONPATH"):
        assert forwarder.env_key({**base, name: "x"}) != key, name
    assert forwarder.env_key(base, prefix="/other/venv") != key


@pytest.mark.asyncio
async def test_the_forwarder_imports_the_standard_library_only(start_daemon, tmp_path):
    await start_daemon(shared=True)  # the daemon runs: this forwarder only connects
    log = tmp_path / "importtime.txt"
    with log.open("w") as err:
        client = await LspClient.spawn([sys.executable, "-X", "importtime", "-m", "hermesd", "--stdio"],
                                       shared_env(), stderr=err)
        result = await client.initialize()
        assert result["serverInfo"]["name"] == "hermesd"
        await client.close()
    imported = {line.split("|")[-1].strip() for line in log.read_text().splitlines() if line.startswith("import time:")}
    assert "hermesd.client.forwarder" in imported
    assert not {name for name in imported if name.split(".")[0] in HEAVY}


@pytest.mark.asyncio
async def test_a_client_of_another_version_retires_the_daemon_without_cutting_its_clients(start_daemon):
    a = await start_daemon(shared=True)
    [(_, old_pid)] = shared_daemon_pids(run_dir()).items()
    ep = forwarder.endpoint()

    sock = ep.connect()
    assert sock is not None
    with sock:
        sock.sendall(json.dumps({"hermesd": 1, "version": "0.0.1-other", "pid": os.getpid()}).encode() + b"\n")
        reply = json.loads(sock.makefile("rb").readline())
    assert reply == {"ok": False, "retiring": True, "version": __version__}
    assert not ep.address.exists()  # given up at once, so a new daemon can take the name

    b = await start_daemon(shared=True)  # a new daemon under the same name
    [(_, new_pid)] = shared_daemon_pids(run_dir()).items()
    assert new_pid != old_pid
    assert (await a.request("hermes/getConfig"))["path"]  # the retiring daemon still serves a
    await a.request("hermes/setConfig", {"key": "model.default", "value": "x"})
    await a.client.shutdown_session()
    await asyncio.to_thread(wait_for_exit, old_pid)
    assert (await b.request("hermes/getConfig"))["config"]["model"]["default"] == "x"


def wait_for_exit(pid: int) -> None:
    import time

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # exited; its parent (the forwarder that started it) has not reaped it
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still runs")


@pytest.mark.asyncio
async def test_the_daemon_exits_after_the_idle_timeout(start_daemon, isolated_home):
    write_config(isolated_home, {"daemon": {"idle_timeout": 1}})
    a = await start_daemon(shared=True)
    [(lock, _)] = shared_daemon_pids(run_dir()).items()
    await a.client.shutdown_session()
    assert await asyncio.to_thread(wait_shared_daemon_gone, lock, 15.0)
    assert not forwarder.endpoint().address.exists()


ROTATING = """
import os, sys
from hermesd.serve.logs import rotate_stderr
rotate_stderr(sys.argv[1], max_bytes=1000, backups=2)
for i in range(100):
    print(f"line {i:03d} " + "x" * 40, file=sys.stderr)
os.write(2, b"written to fd 2 directly\\n")
print("last line", file=sys.stderr)
"""


def test_the_daemons_stderr_is_rotated_past_its_size_limit(tmp_path):
    log = tmp_path / "hermesd-key.log"
    subprocess.run([sys.executable, "-c", ROTATING, str(log)], check=True, timeout=60)
    backups = [log.with_name(f"{log.name}.{n}") for n in (1, 2)]
    assert all(path.is_file() for path in backups) and not log.with_name(f"{log.name}.3").exists()
    assert all(path.stat().st_size <= 1000 and stat.S_IMODE(path.stat().st_mode) == 0o600 for path in (log, *backups))
    text = log.read_text()
    assert text.endswith("written to fd 2 directly\nlast line\n"), text  # fd 2 follows the newest file
    kept = "".join(path.read_text() for path in (*reversed(backups), log)).splitlines()
    numbered = [line for line in kept if line.startswith("line ")]
    assert numbered == [f"line {i:03d} " + "x" * 40 for i in range(100 - len(numbered), 100)]  # whole lines, in order


@pytest.mark.asyncio
async def test_a_shared_daemon_starts_a_new_stderr_file_when_the_old_one_is_too_large(start_daemon):
    from hermesd.serve.logs import STDERR_MAX_BYTES

    log = forwarder.endpoint().log
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    log.write_bytes(b"an earlier daemon's traceback\n" * (STDERR_MAX_BYTES // 30 + 1))
    await start_daemon(shared=True)
    assert log.with_name(log.name + ".1").read_bytes().startswith(b"an earlier daemon's traceback\n")
    assert log.stat().st_size < STDERR_MAX_BYTES


@pytest.mark.asyncio
async def test_hermesd_chat_uses_the_running_daemon(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    env = shared_env(OPENROUTER_API_KEY=KEY, OPENROUTER_BASE_URL=f"{upstream.url}/api/v1")
    upstream.reply_text = "from the shared daemon"
    await start_daemon(env=env, shared=True)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-X", "importtime", "-m", "hermesd", "chat", "hi",
                                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert out.decode() == "from the shared daemon\n"
    [request] = upstream.requests
    assert request.json["messages"][-1]["content"] == "hi"
    imported = {line.split("|")[-1].strip() for line in err.decode().splitlines() if line.startswith("import time:")}
    assert not {name for name in imported if name.split(".")[0] in HEAVY or name == "hermesd.engine.chat"}
    log = (Path(os.environ["HERMESD_LOG_DIR"]) / "hermesd.log").read_text()
    assert f"hello from pid {proc.pid}" in log  # the daemon served it


def test_peer_uid_is_the_connecting_process_user():
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert peer_uid(left) == os.getuid()


def test_loopback_endpoint_needs_the_token(tmp_path):
    """The Windows fallback (untested on Windows itself): 127.0.0.1, with port and token in a 0600 file."""
    ep = forwarder.endpoint_at(tmp_path / "run" / "hermesd-loopback", "tcp")
    ep.base.parent.mkdir(mode=0o700, exist_ok=True)
    sock, rest = forwarder.connect(ep)
    try:
        assert rest == b""
        assert stat.S_IMODE(ep.address.stat().st_mode) == 0o600
        sock.sendall(frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                       "params": {"capabilities": {}}}).encode()))
        data = b""
        while b'"serverInfo"' not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    finally:
        sock.close()
    info = json.loads(ep.address.read_text())
    with socket.create_connection(("127.0.0.1", info["port"])) as stranger:
        stranger.sendall(json.dumps({"hermesd": 1, "version": __version__, "token": "wrong"}).encode() + b"\n")
        assert stranger.recv(100) == b""  # closed, nothing said


@pytest.mark.asyncio
async def test_two_clients_starting_at_once_end_up_on_one_daemon(start_daemon):
    a, b = await asyncio.gather(start_daemon(shared=True), start_daemon(shared=True))
    assert len(shared_daemon_pids(run_dir())) == 1
    await a.request("hermes/setConfig", {"key": "model.default", "value": "raced"})
    assert await b.wait_until("hermes/configChanged", lambda p: p["value"] == "raced")


@pytest.mark.asyncio
async def test_a_killed_daemon_is_replaced_by_the_next_client(start_daemon):
    import signal

    await start_daemon(shared=True)
    [(lock, pid)] = shared_daemon_pids(run_dir()).items()
    os.kill(pid, signal.SIGKILL)
    assert await asyncio.to_thread(wait_shared_daemon_gone, lock)
    assert forwarder.endpoint().address.exists()  # left behind: nobody removed it
    b = await start_daemon(shared=True)
    [(_, new_pid)] = shared_daemon_pids(run_dir()).items()
    assert new_pid != pid
    assert (await b.request("hermes/getConfig"))["path"]


def test_a_runtime_dir_others_may_write_to_makes_the_forwarder_serve_in_process(tmp_path):
    run = tmp_path / "shared-run"
    run.mkdir(mode=0o777)
    run.chmod(0o777)
    proc = subprocess.run([sys.executable, "-m", "hermesd", "--stdio"], input=b"", capture_output=True, timeout=60, check=False,
                          env=shared_env(HERMESD_RUNTIME_DIR=str(run)))
    assert proc.returncode == 0
    err = proc.stderr.decode()
    assert "cannot use the shared daemon" in err and "writable by other users" in err and "in-process" in err
    assert "Traceback" not in err
    assert not list(run.glob("hermesd-*"))


@pytest.mark.asyncio
async def test_initialize_is_answered_while_the_warm_up_thread_is_importing_the_protocol_module(monkeypatch):
    """The shared daemon starts its warm-up thread as it starts listening, so the first client's
    ``initialize`` is often answered while that thread imports hermesd.protocol: the module is in
    sys.modules, without its classes, until the import ends. The reply path looked it up there and
    answered ``internal error (AttributeError)`` under load (issue 25). The state, reproduced in-process."""
    import types as pytypes

    from hermesd.serve.daemon import Daemon
    from hermesd.serve.server import create_server

    server = create_server(Daemon())
    sent: list[bytes] = []

    class Writer:
        write = sent.append

        def close(self) -> None:
            pass

    server.protocol.set_writer(Writer())
    monkeypatch.setitem(sys.modules, "hermesd.protocol", pytypes.ModuleType("hermesd.protocol"))  # mid-import
    server.handle_frame(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}).encode())
    for _ in range(500):
        if sent:
            break
        await asyncio.sleep(0.01)
    [reply] = sent
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert "error" not in body, body
    assert body["result"]["capabilities"]["experimental"]["hermes"]["protocolVersion"] >= 1


@pytest.mark.asyncio
async def test_a_forwarder_that_starts_the_daemon_says_so_before_the_initialize_answer():
    """Starting the shared daemon can take longer than an editor gives a silent server (Neovim's
    ``server.initialize_timeout_ms``, 5 s) on a busy machine: the forwarder says in LSP that hermesd is
    starting, first; one that only connects to a running daemon says nothing (issue 25). --no-shared
    says it starts in its own process."""
    cold = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], shared_env())
    result = await cold.initialize()
    assert result["serverInfo"]["name"] == "hermesd"
    first = cold.messages[0]
    assert first["method"] == "window/logMessage", cold.messages
    assert first["params"] == {"type": 4, "message": f"hermesd {__version__}: starting the shared daemon"}
    warm = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], shared_env())
    await warm.initialize()
    assert [m for m in warm.messages if m.get("method") == "window/logMessage"] == []
    own = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio", "--no-shared"], shared_env())
    await own.initialize()
    assert own.messages[0]["params"] == {"type": 4, "message": f"hermesd {__version__}: starting in this process"}
    for client in (cold, warm, own):
        await client.close()
