"""Shared fixtures: an isolated home for every test, the recording upstream,
and the real daemon spawned over stdio with pytest-lsp.

Every test runs with its own ``HERMES_HOME``, cache, data and log
directories, and with the developer's real API keys removed from the
environment, so nothing a test does can touch (or leak) real credentials.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import pytest
import pytest_asyncio
import yaml

from hermesd.cli import install_hermes_surface
from tests.upstream import Upstream

# What the daemon's entry (hermesd.cli.main) does before discovery: the Hermes
# internals real Hermes plugins import exist in this process too.
install_hermes_surface()

# A canary key: scanned for in everything the suite captures (see test_secrets).
CANARY_KEY = "sk-canary-7f3a9c2e1b4d"
_SECRETISH = re.compile(r"(_API_KEY|_TOKEN|_KEY|_BASE_URL|_URL)$")
_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT"}


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HERMES_HOME and platform dirs; no real keys or base URLs."""
    home = tmp_path / "hermes-home"
    home.mkdir()
    for name in list(os.environ):
        if _SECRETISH.search(name) and name not in _KEEP:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("HERMES_INFERENCE_PROVIDER", raising=False)
    monkeypatch.setenv("HERMES_HOME", str(home))
    for var, sub in (
        ("HERMESD_CACHE_DIR", "cache"),
        ("HERMESD_DATA_DIR", "data"),
        ("HERMESD_LOG_DIR", "logs"),
        ("HERMESD_RUNTIME_DIR", "run"),
    ):
        monkeypatch.setenv(var, str(tmp_path / sub))
    return home


@pytest.fixture
def upstream() -> Any:
    with Upstream() as up:
        yield up


def write_config(home: Path, config: dict[str, Any]) -> Path:
    path = home / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


class Daemon:
    """A running ``hermesd --stdio`` and a client talking to it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.notifications: list[tuple[str, Any]] = []
        self._waiters: list[tuple[str, asyncio.Future]] = []

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
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((method, future))
        return await asyncio.wait_for(future, timeout)

    def deltas(self, session_id: str | None = None) -> list[dict[str, Any]]:
        return [
            p for m, p in self.notifications
            if m == "hermes/chatDelta" and (session_id is None or p.get("sessionId") == session_id)
        ]

    def of(self, method: str) -> list[Any]:
        return [p for m, p in self.notifications if m == method]


def _dict_converter() -> Any:
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


@pytest_asyncio.fixture
async def start_daemon(isolated_home: Path) -> AsyncIterator[Callable[..., Any]]:
    """Factory: ``await start_daemon(env={...})`` spawns the real daemon over stdio."""
    from lsprotocol import types
    from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
    from pytest_lsp.client import register_lsp_features

    started: list[Any] = []

    async def start(env: dict[str, str] | None = None, initialization_options: dict | None = None) -> Daemon:
        holder: dict[str, Daemon] = {}

        def factory() -> LanguageClient:
            client = LanguageClient(converter_factory=_dict_converter)
            register_lsp_features(client)
            for method in ("hermes/chatDelta", "hermes/configChanged", "hermes/providersChanged"):
                client.feature(method)(lambda params, m=method: holder["d"]._on_notification(m, params))
            return client

        server_env = {**os.environ, **(env or {})}
        config = ClientServerConfig(
            server_command=[sys.executable, "-m", "hermesd", "--stdio"],
            client_factory=factory,
            server_env=server_env,
        )
        client = await config.start()
        daemon = Daemon(client)
        holder["d"] = daemon
        daemon.init_result = await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"),
                    initialization_options=initialization_options,
                )
            ),
            30,
        )
        started.append(client)
        return daemon

    yield start
    for client in started:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        except Exception:  # noqa: BLE001 - the test may have killed it
            await client.stop()
