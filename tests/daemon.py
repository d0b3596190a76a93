"""The one way tests start the real daemon, and the pytest-lsp client they use.

``spawn_daemon`` starts ``python -m hermesd --stdio`` as an editor does and
hands back a :class:`Daemon`: a pytest-lsp client plus the notifications it
received. ``start_tcp`` starts TCP mode and reads its port and token file.
Tests that need frames no LSP library sends use :mod:`tests.lsp_client`.
``conftest.start_daemon`` is this module's spawner behind a fixture that
stops every daemon a test started.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A canary key: scanned for in everything the suite captures (see test_secrets).
CANARY_KEY = "sk-canary-7f3a9c2e1b4d"
SECRETISH = re.compile(r"(_API_KEY|_TOKEN|_KEY|_BASE_URL|_URL)$")
KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT"}
NOTIFICATIONS = ("hermes/chatDelta", "hermes/configChanged", "hermes/providersChanged")
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def private_dirs(root: Path) -> dict[str, str]:
    """``HERMES_HOME`` and the ``HERMESD_*`` directories under ``root``."""
    (root / "hermes-home").mkdir(parents=True, exist_ok=True)
    return {
        "HERMES_HOME": str(root / "hermes-home"),
        "HERMESD_CACHE_DIR": str(root / "cache"),
        "HERMESD_DATA_DIR": str(root / "data"),
        "HERMESD_LOG_DIR": str(root / "logs"),
        "HERMESD_RUNTIME_DIR": str(root / "run"),
    }


def daemon_env(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A daemon environment rooted at ``root``: no real keys, private dirs, no proxy surprises."""
    env = {k: v for k, v in os.environ.items() if not (SECRETISH.search(k) and k not in KEEP)}
    for name in ("HERMES_INFERENCE_PROVIDER", *_PROXIES):
        env.pop(name, None)
    env.update(private_dirs(root), NO_PROXY="127.0.0.1,localhost")
    env.update(extra or {})
    return env


class Daemon:
    """A running ``hermesd --stdio`` and the pytest-lsp client talking to it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.notifications: list[tuple[str, Any]] = []
        self.registrations: list[tuple[str, Any]] = []  # ("register" | "unregister", params) from the daemon
        self.init_result: Any = None
        self._waiters: list[tuple[str, asyncio.Future]] = []

    def _on_registration(self, kind: str, params: Any) -> None:
        self.registrations.append((kind, params))
        self._on_notification(f"client/{kind}Capability", params)

    def registered(self) -> set[str]:
        """The methods the daemon has registered with this client and not unregistered since."""
        methods: dict[str, str] = {}
        for kind, params in self.registrations:
            if kind == "register":
                methods.update({r.id: r.method for r in params.registrations})
            else:
                for r in params.unregisterations:
                    methods.pop(r.id, None)
        return set(methods.values())

    def _on_notification(self, method: str, params: Any) -> None:
        self.notifications.append((method, params))
        for wanted, future in list(self._waiters):
            if wanted == method and not future.done():
                future.set_result(params)

    async def request(self, method: str, params: Any = None, timeout: float = 20.0) -> Any:
        return await asyncio.wait_for(self.client.protocol.send_request_async(method, params or {}), timeout)

    def send(self, method: str, params: Any = None, msg_id: str | None = None) -> asyncio.Future:
        """Start a request without awaiting it (for cancellation tests)."""
        return asyncio.ensure_future(self.client.protocol.send_request_async(method, params or {}, msg_id=msg_id))

    def cancel_request(self, msg_id: str) -> None:
        """LSP's ``$/cancelRequest`` for a request started with :meth:`send`."""
        from lsprotocol import types

        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    async def wait_for(self, method: str, timeout: float = 10.0) -> Any:
        """The next ``method`` notification."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((method, future))
        return await asyncio.wait_for(future, timeout)

    async def wait_until(self, method: str, predicate: Any, timeout: float = 10.0) -> Any:
        """The first ``method`` notification (received so far or later) that ``predicate`` accepts."""
        for seen, params in self.notifications:
            if seen == method and predicate(params):
                return params

        async def next_match() -> Any:
            while True:
                params = await self.wait_for(method, timeout)
                if predicate(params):
                    return params

        return await asyncio.wait_for(next_match(), timeout)

    def deltas(self, session_id: str | None = None) -> list[dict[str, Any]]:
        return [
            p for m, p in self.notifications
            if m == "hermes/chatDelta" and (session_id is None or p.get("sessionId") == session_id)
        ]

    def of(self, method: str) -> list[Any]:
        return [p for m, p in self.notifications if m == method]



def alive(daemon: Daemon) -> bool:
    """True while the daemon's process runs."""
    server = daemon.client._server
    return server is not None and server.returncode is None


def _dict_converter() -> Any:
    """pygls' converter, but messages keep their params as plain dicts."""
    from pygls.protocol import (
        JsonRPCNotification,
        JsonRPCRequestMessage,
        JsonRPCResponseMessage,
        default_converter,
    )

    converter = default_converter()
    for message_type in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(message_type, lambda obj, cls: cls(**obj))
    return converter


async def spawn_daemon(env: dict[str, str], *, stderr_path: Path | None = None, args: tuple[str, ...] = (),
                       initialization_options: dict | None = None, shared: bool = False,
                       capabilities: Any = None) -> Daemon:
    """The real ``hermesd --stdio``, initialised, with a pytest-lsp client.

    ``stderr_path``: append the daemon's stderr to this file (for secret scans)
    instead of forwarding it to the test's stderr. ``args``: extra command-line
    options (``--log-level DEBUG``). ``shared``: the forwarder to the shared
    daemon (in the test's own runtime dir) instead of ``HERMESD_SHARED=0``
    (``--no-shared``), so a test owns its daemon process unless it asks otherwise.
    ``capabilities``: the client's (default: VS Code's, as pytest-lsp records them).
    Registrations the daemon sends (``client/registerCapability``) are answered and kept.
    """
    env = {k: v for k, v in env.items() if k != "HERMESD_SHARED"} if shared else {**env, "HERMESD_SHARED": "0"}
    from lsprotocol import types
    from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
    from pytest_lsp.client import register_lsp_features

    holder: dict[str, Daemon] = {}

    def factory() -> LanguageClient:
        client = LanguageClient(converter_factory=_dict_converter)
        register_lsp_features(client)
        for method in NOTIFICATIONS:
            client.feature(method)(lambda params, m=method: holder["d"]._on_notification(m, params))
        for kind in ("register", "unregister"):
            client.feature(f"client/{kind}Capability")(lambda params, k=kind: holder["d"]._on_registration(k, params))
        return client

    command = [sys.executable, "-m", "hermesd", *args, "--stdio"]
    if stderr_path is not None:
        command = ["/bin/sh", "-c", 'log="$1"; shift; exec "$0" -m hermesd "$@" --stdio 2>>"$log"',
                   sys.executable, str(stderr_path), *args]
    client = await ClientServerConfig(server_command=command, client_factory=factory, server_env=env).start()
    daemon = Daemon(client)
    holder["d"] = daemon
    daemon.init_result = await asyncio.wait_for(
        client.initialize_session(
            types.InitializeParams(
                capabilities=capabilities or client_capabilities("visual-studio-code"),
                initialization_options=initialization_options,
            )
        ),
        30,
    )
    return daemon


async def stop_daemon(daemon: Daemon) -> None:
    """``shutdown`` + ``exit`` when it still runs; otherwise just release the client."""
    client = daemon.client
    try:
        if alive(daemon):
            await asyncio.wait_for(client.shutdown_session(), 10)
        else:
            await asyncio.wait_for(client.stop(), 10)
    except Exception:  # noqa: BLE001 - already gone, or the test killed it
        if alive(daemon):
            client._server.kill()
        await asyncio.wait_for(client.stop(), 10)


@dataclass
class TcpDaemon:
    """``hermesd --tcp --port 0``: its process, port and token file."""

    proc: subprocess.Popen
    port: int
    token_file: Path

    @property
    def token(self) -> str:
        return self.token_file.read_text()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def start_tcp(env: dict[str, str], args: tuple[str, ...] = (), **popen: Any) -> TcpDaemon:
    """Start TCP mode and read the port and token file from its first stderr line (``popen``: e.g. preexec_fn)."""
    proc = subprocess.Popen([sys.executable, "-m", "hermesd", "--tcp", "--port", "0", *args],
                            env=env, stderr=subprocess.PIPE, text=True, **popen)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+); token file: (\S+)", line)
    if not match:
        proc.kill()
        raise AssertionError(f"hermesd --tcp did not start: {line!r}")
    return TcpDaemon(proc, int(match.group(1)), Path(match.group(2)))


def shared_daemon_pids(run_dir: Path) -> dict[Path, int]:
    """The shared daemons running in ``run_dir``: each lock file still held, and the pid it holds."""
    import fcntl

    running = {}
    for lock in sorted(run_dir.glob("hermesd-*.lock")) if run_dir.is_dir() else ():
        fd = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            running[lock] = int(lock.read_text() or 0)
        finally:
            os.close(fd)
    return running


def wait_shared_daemon_gone(lock: Path, timeout: float = 15.0) -> bool:
    """Until the shared daemon holding ``lock`` has exited: not only the lock released (a stopping daemon
    gives up its address first, then finishes: answers, recovery files) but the process gone. It is not
    our child, so there is nothing to wait() on: we poll its pid (read from the lock) instead."""
    import fcntl
    import time

    try:
        pid = int(lock.read_text() or 0)
    except (OSError, ValueError):
        pid = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fd = os.open(lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            released = True
        except OSError:
            released = False
        finally:
            os.close(fd)
        if released and not _running(pid):
            return True
        time.sleep(0.02)
    return False


def _running(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie, exited but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (macOS): signal 0 says whether it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state not in ("Z", "X")


def stop_shared_daemons(run_dir: Path) -> None:
    """SIGTERM (then SIGKILL) every shared daemon whose lock is in ``run_dir``: no test leaves one behind."""
    import signal

    for lock, pid in shared_daemon_pids(run_dir).items():
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            if wait_shared_daemon_gone(lock, 10.0):
                break
