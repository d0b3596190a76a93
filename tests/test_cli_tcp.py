"""The command line (same modules as the daemon) and TCP mode's token check."""

from __future__ import annotations

import asyncio
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from tests.conftest import CANARY_KEY
from tests.daemon import start_tcp
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
        assert init["capabilities"]["experimental"]["hermes"]["protocolVersion"] == 1
        assert len((await good.request("hermes/listProviders", {}))["providers"]) == 28
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
