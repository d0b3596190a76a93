"""config.yaml changed outside the daemon (the CLI, a hand edit) reaches connected editors as hermes/configChanged."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from tests.conftest import write_config


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env=dict(os.environ), capture_output=True,
                          text=True, timeout=60, check=True)


async def test_a_change_made_with_the_cli_reaches_a_connected_client(start_daemon, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openrouter/pareto-code"}})
    daemon = await start_daemon()
    await daemon.request("hermes/getConfig")
    await asyncio.to_thread(cli, "config", "set", "model.default", "qwen/qwen3-coder")
    changed = await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "model.default", timeout=15)
    assert changed == {"key": "model.default", "value": "qwen/qwen3-coder", "label": "qwen/qwen3-coder"}
    await asyncio.to_thread(cli, "config", "set", "openrouter.min_coding_score", "none")
    changed = await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "openrouter.min_coding_score", timeout=15)
    assert changed["value"] is None
    # Only what changed is reported.
    assert {key for key, _ in [(p["key"], p) for p in daemon.of("hermes/configChanged")]} == {
        "model.default", "openrouter.min_coding_score"}


async def test_a_hand_edit_is_noticed_before_the_next_request(start_daemon, isolated_home):
    path = write_config(isolated_home, {"model": {"provider": "openrouter", "default": "a"}})
    daemon = await start_daemon()
    await daemon.request("hermes/getConfig")
    path.write_text("model:\n  provider: anthropic\n  default: claude-x\n")
    changed = await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "model.provider", timeout=15)
    assert changed["value"] == "anthropic"
    provider_changes = [p for p in daemon.of("hermes/configChanged") if p["key"] == "model.default"]
    assert provider_changes == [{"key": "model.default", "value": "claude-x", "label": "claude-x"}]


async def test_the_daemons_own_write_is_reported_once(start_daemon, isolated_home):
    daemon = await start_daemon()
    await daemon.request("hermes/setConfig", {"key": "network.max_retries", "value": 4})
    # A later external change is reported; the own write is not reported a second time with it.
    await asyncio.to_thread(cli, "config", "set", "network.timeout", "30")
    await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "network.timeout", timeout=15)
    await daemon.request("hermes/getConfig")
    assert [p for p in daemon.of("hermes/configChanged") if p["key"] == "network.max_retries"] == [
        {"key": "network.max_retries", "value": 4}]


async def test_an_unparseable_file_reports_nothing(start_daemon, isolated_home):
    path = write_config(isolated_home, {"model": {"provider": "openrouter", "default": "a"}})
    daemon = await start_daemon()
    await daemon.request("hermes/getConfig")
    path.write_text("model: [unclosed\n")
    await daemon.request("hermes/getConfig")  # the check before it saw the new stat
    path.write_text("model:\n  provider: openrouter\n  default: b\n")
    changed = await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "model.default", timeout=15)
    assert changed["value"] == "b"
    assert [p["key"] for p in daemon.of("hermes/configChanged")] == ["model.default"]
