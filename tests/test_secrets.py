"""The canary key never leaves its two homes (the environment and ``.env``).

One daemon, logging at DEBUG with its stderr captured to a file, runs a
representative set of operations, several of them built to leak: an upstream
that echoes the key back in its error, plugins that put the key in an import
error, a hook error and a log line. Afterwards every file under the test's
directories, the daemon's stderr, every reply and the test's own captured
output are scanned for the key. Files hermesd creates must be 0600.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CANARY_KEY, write_config
from tests.daemon import daemon_env, spawn_daemon, stop_daemon
from tests.upstream import Upstream

ECHO = f"Incorrect API key provided: {CANARY_KEY}. You can find your API key at https://example.invalid/keys."

LEAKY_IMPORT = """import os
key = os.environ.get("DEEPSEEK_API_KEY", "")
raise RuntimeError("cannot start with key " + key)
"""
LEAKY_HOOK = """import logging, os
from providers import register_provider
from providers.base import ProviderProfile
log = logging.getLogger("leaky_plugin")
class Leaky(ProviderProfile):
    def build_extra_body(self, **context):
        key = os.environ["DEEPSEEK_API_KEY"]
        log.warning("about to fail with %s", key)
        raise ValueError(f"the key {key} looks wrong")
register_provider(Leaky(name="leaky-hook", base_url="{base}", env_vars=("DEEPSEEK_API_KEY",)))
"""


def _scan(path: Path) -> list[str]:
    """Files under ``path`` whose bytes contain the canary (in any common encoding)."""
    needles = (CANARY_KEY.encode(), json.dumps(CANARY_KEY).encode()[1:-1], CANARY_KEY.encode("utf-16-le"))
    hits = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
        data = file.read_bytes()
        if any(n in data for n in needles):
            hits.append(str(file))
    return hits


@pytest.mark.asyncio
async def test_the_canary_key_never_leaks(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "secrets"
    home = root / "hermes-home"
    home.mkdir(parents=True)
    stderr_file = tmp_path / "daemon-stderr.txt"
    replies: list[Any] = []
    with Upstream() as up:
        base = f"{up.url}/v1"
        (home / ".env").write_text(f'ANTHROPIC_API_KEY="{CANARY_KEY}"\nXAI_API_KEY={CANARY_KEY}\n', encoding="utf-8")
        (home / ".env").chmod(0o600)
        plugins = home / "plugins" / "model-providers"
        (plugins / "leaky-import").mkdir(parents=True)
        (plugins / "leaky-import" / "__init__.py").write_text(LEAKY_IMPORT, encoding="utf-8")
        (plugins / "leaky-hook").mkdir()
        (plugins / "leaky-hook" / "__init__.py").write_text(LEAKY_HOOK.replace("{base}", base), encoding="utf-8")
        write_config(home, {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
        env = daemon_env(root, {
            "DEEPSEEK_API_KEY": CANARY_KEY,
            "DEEPSEEK_BASE_URL": base,
            "ANTHROPIC_BASE_URL": up.url,
            "XAI_BASE_URL": base,
        })
        daemon = await spawn_daemon(env, stderr_path=stderr_file, args=("--log-level", "DEBUG"))
        try:
            async def call(method: str, params: Any = None) -> Any:
                try:
                    reply = await daemon.request(method, params or {})
                except Exception as exc:  # noqa: BLE001 - an error reply is scanned like a result
                    reply = {"exception": repr(exc), "message": getattr(exc, "message", "")}
                replies.append(reply)
                return reply

            # Chats that work: the key comes from the environment, then from .env.
            ok = await call("hermes/chat", {"message": "hello"})
            assert ok["stopReason"] == "end_turn", ok
            assert up.requests[-1].headers["authorization"] == f"Bearer {CANARY_KEY}"  # it did reach the wire
            claude = await call("hermes/chat", {"provider": "anthropic", "model": "claude-sonnet-4-6", "message": "hi"})
            assert claude["stopReason"] == "end_turn", claude
            assert up.requests[-1].headers["x-api-key"] == CANARY_KEY

            # Upstreams that echo the key back in their error bodies.
            for provider, model in (("deepseek", "deepseek-chat"), ("anthropic", "claude-sonnet-4-6"), ("xai", "grok-4")):
                up.fail(status=401, message=ECHO)
                denied = await call("hermes/chat", {"provider": provider, "model": model, "message": "hi"})
                assert denied["error"]["kind"] == "auth", denied
                assert "Incorrect API key provided" in denied["error"]["message"]  # the provider's words, scrubbed
            up.fail(status=400, body=ECHO)  # a plain-text body this time
            await call("hermes/chat", {"message": "hi"})
            up.fail(status=500, body={"error": {"message": ECHO}}, times=3)
            await call("hermes/chat", {"message": "retry me"})

            # Plugins that put the key in an import error, a hook error and a log line.
            listing = await daemon.request("hermes/listProviders")
            assert any(e["plugin"] == "leaky-import" for e in listing["pluginErrors"])
            replies.append(listing)
            hook = await call("hermes/chat", {"provider": "leaky-hook", "model": "m", "message": "hi"})
            assert hook["error"]["kind"] == "plugin_error" and "looks wrong" in hook["error"]["message"]
            await call("hermes/previewRequest", {"provider": "leaky-hook", "model": "m", "message": "hi"})

            # Everything an editor can read.
            for provider in ("deepseek", "anthropic", "xai"):
                await call("hermes/previewRequest", {"provider": provider, "model": "m", "message": "hi"})
            await call("hermes/getConfig")
            await call("hermes/setConfig", {"key": "model.temperature", "value": 0.5})
            up.fail(status=401, message=ECHO, times=None, path_contains="/models")
            await call("hermes/doctor", {"providers": ["deepseek", "anthropic", "xai"]})
            await call("hermes/listModels", {"provider": "deepseek", "refresh": True})
            sessions = await call("hermes/listSessions")
            for row in sessions["sessions"]:
                await call("hermes/getSession", {"sessionId": row["sessionId"]})
        finally:
            await stop_daemon(daemon)

    # The operations above did run, and left files behind to scan.
    logs = list((root / "logs").glob("hermesd.log*"))
    session_files = list((root / "data" / "sessions").glob("*.jsonl"))
    assert logs and session_files and (home / "config.yaml").exists()
    assert "leaky" in "".join(p.read_text(encoding="utf-8") for p in logs)  # the plugin's log line was written

    leaks = [f for f in _scan(tmp_path) if Path(f) != home / ".env"]
    assert leaks == [], f"the canary key leaked into {leaks}"
    assert CANARY_KEY not in json.dumps(replies)
    captured = capfd.readouterr()
    assert CANARY_KEY not in captured.out + captured.err

    # What hermesd creates is private to the user.
    for file in [home / "config.yaml", home / "config.yaml.bak", *logs, *session_files]:
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    for directory in (root / "logs", root / "data" / "sessions"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


@pytest.mark.asyncio
async def test_plugin_load_errors_are_redacted_in_list_providers(tmp_path: Path) -> None:
    root = tmp_path / "secrets"
    plugin = root / "hermes-home" / "plugins" / "model-providers" / "leaky-import"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(LEAKY_IMPORT, encoding="utf-8")
    daemon = await spawn_daemon(daemon_env(root, {"DEEPSEEK_API_KEY": CANARY_KEY}))
    try:
        listing = await daemon.request("hermes/listProviders")
        doctor = await daemon.request("hermes/doctor", {"probe": False})
    finally:
        await stop_daemon(daemon)
    [error] = listing["pluginErrors"]
    assert "cannot start with key" in error["message"]
    assert CANARY_KEY not in json.dumps(doctor)  # doctor already redacts the same message
    assert CANARY_KEY not in error["message"]
