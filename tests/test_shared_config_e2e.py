"""One ~/.hermes/config.yaml for the Hermes agent and hermesd, through the real daemon and CLI.

Hermes' keys read with Hermes' meaning (the reference fixture when present,
hand-made configs otherwise), ``${VAR}`` templates, round-trip writes, keys
that go only where they belong, masking, and hostile config files.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._unit_helpers import hermes_reference
from tests.conftest import CANARY_KEY, write_config
from tests.upstream import Upstream

REFERENCE = hermes_reference()
needs_reference = pytest.mark.skipif(
    REFERENCE is None, reason="the Hermes reference snapshot (../shared/hermes-reference) is not here"
)


def fixture_config(home: Path) -> Path:
    assert REFERENCE is not None
    path = home / "config.yaml"
    shutil.copyfile(REFERENCE / "config.example.yaml", path)
    return path


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], check=False, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


# -- issue 15: Hermes' keys, with Hermes' meaning -----------------------------------------


@needs_reference
async def test_preview_for_openrouter_carries_provider_routing_and_reasoning_as_hermes_builds_them(
        start_daemon, isolated_home):
    fixture_config(isolated_home)
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY})
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    body = preview["body"]
    # provider_routing: {sort: price, ignore: [deepinfra]}
    assert body["provider"] == {"sort": "price", "ignore": ["deepinfra"]}
    # Hermes' supports_reasoning gate is false for openrouter/pareto-code: no reasoning, as Hermes sends.
    assert "reasoning" not in body
    assert preview["url"] == "https://openrouter.ai/api/v1/chat/completions"
    # agent.reasoning_effort: high, for a model Hermes sends reasoning to (Claude 4.5: thinking is optional).
    preview = await daemon.request("hermes/previewRequest", {"message": "hi", "model": "anthropic/claude-sonnet-4.5"})
    assert preview["body"]["reasoning"] == {"enabled": True, "effort": "high"}
    assert preview["body"]["provider"] == {"sort": "price", "ignore": ["deepinfra"]}
    # A Claude without a "thinking off" (bare claude-sonnet-4 counts, as in Hermes 0.19.0): the effort is verbosity.
    preview = await daemon.request("hermes/previewRequest", {"message": "hi", "model": "anthropic/claude-sonnet-4"})
    assert "reasoning" not in preview["body"] and preview["body"]["verbosity"] == "high"
    assert CANARY_KEY not in json.dumps(preview)


async def test_provider_routing_is_built_as_hermes_does(start_daemon, isolated_home):
    write_config(isolated_home, {
        "model": "anthropic/claude-sonnet-4.5",  # a plain string is the model id
        "provider": "openrouter",  # root level, as older Hermes configs have it
        "provider_routing": {"only": ["anthropic"], "order": [], "sort": "throughput",
                             "require_parameters": False, "data_collection": "deny"},
        "agent": {"reasoning_effort": "low"},
    })
    daemon = await start_daemon()
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["provider"] == "openrouter" and preview["body"]["model"] == "anthropic/claude-sonnet-4.5"
    assert preview["body"]["provider"] == {"only": ["anthropic"], "sort": "throughput", "data_collection": "deny"}
    assert preview["body"]["reasoning"] == {"enabled": True, "effort": "low"}


@needs_reference
def test_config_set_changes_exactly_one_line_of_a_hermes_written_file(isolated_home):
    path = fixture_config(isolated_home)
    before = path.read_text(encoding="utf-8").splitlines()
    comments = [line for line in before if line.lstrip().startswith("#")]
    assert len(comments) == 21
    done = cli("config", "set", "model.default", "anthropic/claude-sonnet-4")
    assert done.returncode == 0, done.stderr
    after = path.read_text(encoding="utf-8").splitlines()
    assert len(after) == len(before)
    changed = [(a, b) for a, b in zip(before, after) if a != b]
    assert changed == [("  default: openrouter/pareto-code", "  default: anthropic/claude-sonnet-4")]
    # An alias writes the Hermes key, in place.
    assert cli("config", "set", "model.reasoning_effort", "low").returncode == 0
    again = path.read_text(encoding="utf-8").splitlines()
    assert [(a, b) for a, b in zip(after, again) if a != b] == [("  reasoning_effort: high", "  reasoning_effort: low")]
    # A key the file does not have yet goes inside its section, above the closing comment block.
    assert cli("config", "set", "openrouter.provider_preferences", '{"sort": "price", "ignore": ["deepinfra"], '
                                                                  '"data_collection": "deny"}').returncode == 0
    final = path.read_text(encoding="utf-8")
    assert [line for line in final.splitlines() if line.lstrip().startswith("#")] == comments
    assert "  - deepinfra\n  data_collection: deny\n\n# ── Fallback Model" in final
    assert oct(path.stat().st_mode & 0o777) == "0o600"


async def test_templates_expand_at_read_and_are_never_written_back_expanded(start_daemon, upstream, isolated_home):
    path = isolated_home / "config.yaml"
    path.write_text(
        "# my endpoint\n"
        "model:\n"
        "  provider: custom\n"
        "  default: local-model\n"
        "  base_url: \"${MY_ENDPOINT}/v1\"   # from the environment\n"
        "  api_key: ${MISSING_VAR}\n",
        encoding="utf-8",
    )
    daemon = await start_daemon(env={"MY_ENDPOINT": upstream.url, "CUSTOM_API_KEY": CANARY_KEY})
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "end_turn", result
    [request] = upstream.requests
    assert request.path == "/v1/chat/completions"  # ${MY_ENDPOINT} reached the URL
    shown = await daemon.request("hermes/getConfig")
    assert shown["config"]["model"]["base_url"] == "${MY_ENDPOINT}/v1"  # the template, not the URL
    assert upstream.url not in json.dumps(shown)
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["url"] == "${MY_ENDPOINT}/v1/chat/completions"
    await daemon.request("hermes/setConfig", {"key": "model.default", "value": "other-model"})
    text = path.read_text(encoding="utf-8")
    assert 'base_url: "${MY_ENDPOINT}/v1"   # from the environment\n' in text and "api_key: ${MISSING_VAR}\n" in text
    assert text.startswith("# my endpoint\n") and upstream.url not in text
    report = await daemon.request("hermes/doctor", {"probe": False})
    unresolved = [c for c in report["checks"] if "${MISSING_VAR}" in c["summary"]]
    assert unresolved and unresolved[0]["status"] == "warn"
    done = cli("config", "get", "model.base_url", env={"MY_ENDPOINT": upstream.url})
    assert done.stdout.strip() == "${MY_ENDPOINT}/v1"


# -- issue 11 item 1: a key goes only to its provider's URL ---------------------------------


@pytest.mark.parametrize("order", ["provider-then-url", "url-then-provider"])
async def test_switching_from_custom_to_openrouter_never_sends_the_openrouter_key_to_the_custom_url(
        start_daemon, isolated_home, order):
    with Upstream() as custom, Upstream() as openrouter:
        daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY, "CUSTOM_API_KEY": "sk-custom-0000"})
        writes = [("model.provider", "custom"), ("model.base_url", f"{custom.url}/v1")]
        for key, value in writes if order == "provider-then-url" else writes[::-1]:
            await daemon.request("hermes/setConfig", {"key": key, "value": value})
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "local"})
        assert (await daemon.request("hermes/chat", {"message": "one"}))["stopReason"] == "end_turn"
        await daemon.request("hermes/setConfig", {"key": "providers.openrouter.base_url",
                                                  "value": f"{openrouter.url}/api/v1"})
        # What an editor's picker does: choose the provider, then a model.
        await daemon.request("hermes/setConfig", {"key": "model.provider", "value": "openrouter"})
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "anthropic/claude-sonnet-4"})
        result = await daemon.request("hermes/chat", {"message": "two"})
        assert result["stopReason"] == "end_turn", result
        models = await daemon.request("hermes/listModels", {"provider": "openrouter", "refresh": True})
        await daemon.request("hermes/doctor", {"providers": ["openrouter"]})
        # Back to custom: its URL was kept for it.
        await daemon.request("hermes/setConfig", {"key": "model.provider", "value": "custom"})
        assert (await daemon.request("hermes/chat", {"message": "three", "model": "local"}))["stopReason"] == "end_turn"
        assert models["source"] in ("live", "cache", "curated")
        assert all(CANARY_KEY not in json.dumps(r.to_dict()) for r in custom.requests)
        assert [r.path for r in custom.requests] == ["/v1/chat/completions", "/v1/chat/completions"]
        to_openrouter = [r for r in openrouter.requests if r.method == "POST"]
        assert len(to_openrouter) == 1 and to_openrouter[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
        assert any(r.method == "GET" for r in openrouter.requests)  # listModels and doctor probed the chat's URL


def test_doctor_names_the_url_a_chat_would_use(isolated_home):
    with Upstream() as up:
        write_config(isolated_home, {"model": {"provider": "custom", "base_url": "http://127.0.0.1:9/v1"},
                                     "providers": {"openrouter": {"base_url": f"{up.url}/api/v1"}}})
        done = cli("doctor", "openrouter", "--json", env={"OPENROUTER_API_KEY": CANARY_KEY})
        [check] = [c for c in json.loads(done.stdout)["checks"] if c["id"] == "provider:openrouter"]
        assert f"{up.url}/api/v1" in check["summary"] and "providers.openrouter.base_url" in check["summary"]
        assert up.requests and up.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
        assert CANARY_KEY not in done.stdout + done.stderr


# -- issue 11 item 4: masking -----------------------------------------------------------


async def test_secrets_are_masked_however_they_are_nested(start_daemon, isolated_home):
    (isolated_home / "config.yaml").write_text(
        "model: {provider: custom, base_url: 'http://127.0.0.1:9/v1', default: m}\n"
        "custom_providers:\n"
        "  - name: mine\n"
        "    base_url: http://127.0.0.1:9/v1\n"
        f"    api_key: {CANARY_KEY}-1\n"
        f"    headers: {{Authorization: Bearer {CANARY_KEY}-2, X-Trace: visible}}\n"
        f"api_keys: [{CANARY_KEY}-3, {{nested: {CANARY_KEY}-4}}]\n"
        f"mirror: https://bob:{CANARY_KEY}-5@mirror.example/v1\n",
        encoding="utf-8",
    )
    daemon = await start_daemon()
    shown = await daemon.request("hermes/getConfig")
    text = json.dumps(shown)
    assert CANARY_KEY not in text
    assert shown["config"]["custom_providers"][0]["headers"] == {"Authorization": "***", "X-Trace": "visible"}
    assert shown["config"]["mirror"] == "https://bob:***@mirror.example/v1"
    done = cli("config", "get", "--json")
    assert CANARY_KEY not in done.stdout and "https://bob:***@mirror.example/v1" in done.stdout


async def test_a_base_url_with_a_password_is_refused(start_daemon, isolated_home):
    daemon = await start_daemon()
    with pytest.raises(Exception) as info:
        await daemon.request("hermes/setConfig", {"key": "model.base_url",
                                                  "value": f"https://user:{CANARY_KEY}@host.example/v1"})
    assert "must not hold a user name or password" in str(info.value) and CANARY_KEY not in str(info.value)
    assert not (isolated_home / "config.yaml").exists()
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "m"},
                                 "providers": {"openrouter": {"base_url": f"https://u:{CANARY_KEY}@evil.example/v1"}}})
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["error"]["kind"] == "config_error" and "https://u:***@evil.example/v1" in result["error"]["message"]
    assert CANARY_KEY not in json.dumps(result)
    preview = cli("chat", "--preview", "hi")
    assert preview.returncode != 0 and CANARY_KEY not in preview.stdout + preview.stderr


# -- issue 11 item 5: hostile config -------------------------------------------------------

BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8)
)  # 10^9 values once expanded, in ~400 bytes


async def test_an_alias_bomb_is_refused_quickly_and_the_daemon_keeps_serving(start_daemon, isolated_home):
    assert len(BOMB) < 500
    (isolated_home / "config.yaml").write_text(BOMB, encoding="utf-8")
    daemon = await start_daemon()
    shown, report = await asyncio.gather(daemon.request("hermes/getConfig", timeout=10),
                                         daemon.request("hermes/doctor", {"probe": False}, timeout=10))
    [error] = shown["errors"]
    assert str(isolated_home / "config.yaml") in error["message"] and "billion laughs" in error["message"]
    assert report["checks"][0]["status"] == "fail"
    with pytest.raises(Exception) as info:
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "x"})
    assert "billion laughs" in str(info.value)
    assert (isolated_home / "config.yaml").read_text(encoding="utf-8") == BOMB
    assert (await daemon.request("hermes/listProviders"))["providers"]


@pytest.mark.parametrize("kind", ["dangling-symlink", "directory", "unreadable"])
async def test_a_config_that_cannot_be_read_is_a_clear_config_error(start_daemon, isolated_home, kind):
    path = isolated_home / "config.yaml"
    if kind == "dangling-symlink":
        path.symlink_to(isolated_home / "dotfiles" / "hermes.yaml")
        phrase = "does not exist"
    elif kind == "directory":
        path.mkdir()
        phrase = "is a directory"
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads any file: an unreadable file cannot be made here")
        path.write_text("model: {provider: openrouter}\n")
        path.chmod(0)
        phrase = "permission denied"
    daemon = await start_daemon()
    shown = await daemon.request("hermes/getConfig")
    assert any(str(path) in e["message"] and phrase in e["message"] for e in shown["errors"]), shown["errors"]
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["error"]["kind"] == "config_error" and str(path) in result["error"]["message"]
    with pytest.raises(Exception) as info:
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "x"})
    assert str(path) in str(info.value)


def test_alias_bomb_is_refused_by_the_reader_and_the_writer(isolated_home):
    from hermesd.settings import config

    path = isolated_home / "config.yaml"
    path.write_text(BOMB, encoding="utf-8")
    cfg = config.load(path)  # unbounded, expanding the aliases would never finish
    assert cfg.parse_error is not None and "billion laughs" in str(cfg.parse_error)
    with pytest.raises(config.ConfigUnreadable):
        config.set_value("model.default", "x", path=path)
    assert path.read_text(encoding="utf-8") == BOMB
