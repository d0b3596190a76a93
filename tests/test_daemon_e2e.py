"""The real daemon over stdio against the recording upstream: what reaches the wire."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from hermesd import PROTOCOL_VERSION
from tests._unit_helpers import write_distribution
from tests.conftest import CANARY_KEY, write_config



def _openrouter_env(up) -> dict[str, str]:
    return {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{up.url}/api/v1"}


async def test_initialize_reports_server_info_and_protocol(start_daemon):
    daemon = await start_daemon()
    result = daemon.init_result
    assert result.server_info.name == "hermesd"
    assert result.server_info.version
    hermes = result.capabilities.experimental["hermes"]
    assert hermes["protocolVersion"] == PROTOCOL_VERSION and int(PROTOCOL_VERSION) == 2
    assert "hermes/chat" in hermes["methods"]
    # hermesd never needs the editor's files.
    sync = result.capabilities.text_document_sync
    assert sync is None or getattr(sync, "value", sync) == 0 or getattr(sync, "change", None) in (None, 0)


async def test_list_providers_reports_configured_without_values(start_daemon):
    daemon = await start_daemon(env={"DEEPSEEK_API_KEY": CANARY_KEY})
    result = await daemon.request("hermes/listProviders")
    rows = {row["name"]: row for row in result["providers"]}
    assert len(rows) == 38
    assert rows["deepseek"]["configured"] is True
    assert rows["deepseek"]["keyEnvVar"] == "DEEPSEEK_API_KEY"
    assert rows["openrouter"]["configured"] is False
    assert rows["openrouter"]["aliases"] == ["or"]
    assert rows["anthropic"]["apiMode"] == "anthropic_messages"
    assert all(row["source"] == "bundled" for row in rows.values())
    assert result["pluginErrors"] == []
    assert CANARY_KEY not in json.dumps(result)


async def test_chat_completions_streams_and_sends_exact_body(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openrouter/pareto-code"}})
    upstream.reply_text = "Hello from the upstream, streamed in pieces."
    upstream.chunk_count = 6
    upstream.chunk_delay = 0.03  # pieces that arrive together would leave as one delta
    upstream.routed_model = "qwen/qwen3-coder"
    daemon = await start_daemon(env=_openrouter_env(upstream))

    result = await asyncio.wait_for(daemon.send("hermes/chat", {"message": "write a haiku"}, msg_id="req-7"), 20)

    assert result["text"] == upstream.reply_text
    assert result["stopReason"] == "end_turn"
    assert result["provider"] == "openrouter"
    assert result["model"] == "openrouter/pareto-code"
    assert result["routedModel"] == "qwen/qwen3-coder"
    assert result["usage"]["outputTokens"] > 0
    deltas = daemon.deltas(result["sessionId"])
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    assert {d["requestId"] for d in deltas} == {"req-7"}
    assert "".join(d.get("text", "") for d in deltas) == upstream.reply_text
    assert len(deltas) >= 6

    [request] = upstream.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.headers["content-type"] == "application/json"
    assert request.json == {
        "model": "openrouter/pareto-code",
        "messages": [{"role": "user", "content": "write a haiku"}],
        "session_id": result["sessionId"],  # OpenRouter groups a conversation's requests by it (Hermes 0.19.0)
        "plugins": [{"id": "pareto-router", "min_coding_score": 0.65}],
        "stream": True,
        "stream_options": {"include_usage": True},  # the usage in the last chunk (Hermes 0.19.0)
    }


async def test_session_history_is_sent_on_the_next_turn(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
    upstream.reply_text = "first answer"
    daemon = await start_daemon(env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    session = await daemon.request("hermes/newSession", {"system": "be brief"})
    assert session["provider"] == "deepseek" and session["model"] == "deepseek-chat"
    await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "one"})
    upstream.reply_text = "second answer"
    await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "two"})
    second = upstream.requests[-1].json
    assert second["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "one"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "two"},
    ]
    saved = await daemon.request("hermes/getSession", {"sessionId": session["sessionId"]})
    assert [m["content"] for m in saved["messages"]] == ["one", "first answer", "two", "second answer"]
    listed = await daemon.request("hermes/listSessions")
    assert listed["sessions"][0]["sessionId"] == session["sessionId"]


async def test_anthropic_messages_wire_format(start_daemon, upstream, isolated_home):
    upstream.reply_text = "Claude says hi"
    daemon = await start_daemon(env={"ANTHROPIC_API_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": upstream.url})
    result = await daemon.request(
        "hermes/chat",
        {"provider": "claude", "model": "claude-sonnet-4-6", "system": "terse", "message": "hi", "maxTokens": 300},
    )
    assert result["text"] == "Claude says hi"
    assert result["provider"] == "anthropic"
    [request] = upstream.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == CANARY_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    assert request.json == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 300,
        "system": "terse",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
    }


async def test_minimax_uses_anthropic_messages_at_its_anthropic_url(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "minimax", "default": "MiniMax-M2", "base_url": f"{upstream.url}/anthropic"}})
    daemon = await start_daemon(env={"MINIMAX_API_KEY": CANARY_KEY})
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "end_turn", result
    [request] = upstream.requests
    assert request.path == "/anthropic/v1/messages"
    assert request.headers["x-api-key"] == CANARY_KEY
    assert request.json["max_tokens"] > 0


async def test_codex_responses_wire_format_for_xai(start_daemon, upstream, isolated_home):
    upstream.reply_text = "grok reply"
    daemon = await start_daemon(env={"XAI_API_KEY": CANARY_KEY, "XAI_BASE_URL": f"{upstream.url}/v1"})
    result = await daemon.request("hermes/chat", {"provider": "grok", "model": "grok-4", "system": "sys", "message": "hi"})
    assert result["text"] == "grok reply", result
    assert result["provider"] == "xai"
    [request] = upstream.requests
    assert request.path == "/v1/responses"
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.json == {
        "model": "grok-4",
        "instructions": "sys",
        "input": [{"role": "user", "content": "hi"}],
        "store": False,
        "stream": True,
    }


async def test_an_openai_sdk_hermesd_cannot_use_is_named_not_called_a_hermesd_bug(start_daemon, upstream, isolated_home,
                                                                                   tmp_path):
    """openai 3.63.0 refused hermesd's httpx.Timeout with a TypeError the user saw as "a hermesd bug"."""
    site = tmp_path / "site"
    (site / "openai").mkdir(parents=True)
    (site / "openai" / "__init__.py").write_text(
        "class Timeout:\n    def __init__(self, *a, **k): pass\n"
        "class AsyncOpenAI:\n    def __init__(self, **kwargs):\n"
        "        raise TypeError('Invalid timeout: expected a number, None, a tuple or httpx9.Timeout')\n")
    write_distribution(site, "openai", "9.1.0")
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH")) if p)
    daemon = await start_daemon(env={"XAI_API_KEY": CANARY_KEY, "XAI_BASE_URL": f"{upstream.url}/v1", "PYTHONPATH": path})
    result = await daemon.request("hermes/chat", {"provider": "xai", "model": "grok-4", "message": "hi"})
    error = result["error"]
    assert error["kind"] == "config_error", error
    assert error["message"].startswith("hermesd cannot use the installed openai 9.1.0 (TypeError: Invalid timeout"), error
    assert "hermesd bug" not in error["message"] + error["hint"]
    assert "pip install 'openai" in error["hint"] and "hermesd doctor" in error["hint"]
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("provider", "env", "model", "expect"),
    [
        ("nvidia", {"NVIDIA_API_KEY": CANARY_KEY}, "meta/llama-3.3-70b-instruct", {"max_tokens": 16384}),
        ("kimi-coding", {"KIMI_API_KEY": CANARY_KEY}, "kimi-k2", {"max_tokens": 32000}),
        ("gmi", {"GMI_API_KEY": CANARY_KEY}, "deepseek-ai/DeepSeek-V3", {}),
    ],
)
async def test_bundled_providers_pointed_at_the_upstream(start_daemon, upstream, isolated_home, provider, env, model, expect):
    """Several bundled plugins, redirected by config, send their quirks on the wire."""
    write_config(isolated_home, {"model": {"provider": provider, "default": model, "base_url": f"{upstream.url}/v1"}})
    daemon = await start_daemon(env=env)
    result = await daemon.request("hermes/chat", {"message": "hi", "temperature": 0.3})
    assert result["stopReason"] == "end_turn", result
    [request] = upstream.requests
    assert request.path == "/v1/chat/completions"
    body = request.json
    for key, value in expect.items():
        assert body[key] == value
    if provider == "kimi-coding":
        assert "temperature" not in body  # OMIT_TEMPERATURE
    else:
        assert body["temperature"] == 0.3
    if provider == "gmi":
        assert "hermes" in request.headers["user-agent"].lower()


async def test_cancel_closes_upstream_and_keeps_partial_text(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    upstream.reply_text = " ".join(f"word{i}" for i in range(200))
    upstream.chunk_count = 200
    upstream.chunk_delay = 0.05
    daemon = await start_daemon(env=_openrouter_env(upstream))
    session = await daemon.request("hermes/newSession")
    pending = daemon.send("hermes/chat", {"sessionId": session["sessionId"], "message": "long please"})
    await daemon.wait_until("hermes/chatDelta", lambda delta: delta["seq"] >= 3)  # a few words in
    cancelled = await daemon.request("hermes/cancel", {"sessionId": session["sessionId"]})
    assert cancelled == {"cancelled": True}
    result = await asyncio.wait_for(pending, 10)
    assert result["stopReason"] == "cancelled"
    assert result["text"] and len(result["text"]) < len(upstream.reply_text)
    assert upstream.reply_text.startswith(result["text"])
    disconnects = upstream.wait_for_disconnects(1, timeout=5)
    assert disconnects
    saved = await daemon.request("hermes/getSession", {"sessionId": session["sessionId"]})
    assert saved["messages"][-1]["content"] == result["text"]
    assert saved["messages"][-1]["stopReason"] == "cancelled"
    # The daemon keeps serving.
    upstream.chunk_delay = 0
    upstream.reply_text = "still here"
    again = await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "again"})
    assert again["text"] == "still here"


async def test_cancel_request_closes_upstream_and_keeps_partial_text(start_daemon, upstream, isolated_home):
    from pygls.exceptions import JsonRpcException

    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    upstream.reply_text = " ".join(f"w{i}" for i in range(200))
    upstream.chunk_count = 200
    upstream.chunk_delay = 0.05
    daemon = await start_daemon(env=_openrouter_env(upstream))
    session = await daemon.request("hermes/newSession")
    pending = daemon.send("hermes/chat", {"sessionId": session["sessionId"], "message": "long"}, msg_id="chat-1")
    await daemon.wait_until("hermes/chatDelta", lambda delta: delta["seq"] >= 3)  # a few words in
    daemon.cancel_request("chat-1")
    with pytest.raises(JsonRpcException) as info:
        await asyncio.wait_for(pending, 10)
    assert info.value.code == -32800
    assert upstream.wait_for_disconnects(1, timeout=5)
    saved = await daemon.request("hermes/getSession", {"sessionId": session["sessionId"]})
    partial = saved["messages"][-1]
    assert partial["stopReason"] == "cancelled"
    assert partial["content"] and upstream.reply_text.startswith(partial["content"])


async def test_preview_shows_exact_request_with_secrets_masked(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openrouter/pareto-code"}})
    daemon = await start_daemon(env=_openrouter_env(upstream))
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["url"] == f"{upstream.url}/api/v1/chat/completions"
    assert preview["method"] == "POST"
    assert preview["headers"]["Authorization"] == "Bearer ***"
    assert preview["body"]["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.65}]
    assert CANARY_KEY not in json.dumps(preview)
    assert upstream.requests == []  # nothing sent
    # What preview shows is what chat sends (in one session: OpenRouter's body names it).
    session = await daemon.request("hermes/newSession", {})
    preview = await daemon.request("hermes/previewRequest", {"sessionId": session["sessionId"], "message": "hi"})
    await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
    assert upstream.requests[0].json == preview["body"]
    assert preview["body"]["session_id"] == session["sessionId"]


async def test_config_round_trip_broadcast_and_refusal(start_daemon, isolated_home):
    daemon = await start_daemon()
    result = await daemon.request("hermes/setConfig", {"key": "model.default", "value": "openrouter/pareto-code"})
    assert result == {"key": "model.default", "value": "openrouter/pareto-code"}
    changed = daemon.of("hermes/configChanged") or [await daemon.wait_for("hermes/configChanged")]
    assert changed[0] == {"key": "model.default", "value": "openrouter/pareto-code", "label": "openrouter/pareto-code"}
    config = await daemon.request("hermes/getConfig")
    assert config["config"]["model"]["default"] == "openrouter/pareto-code"
    assert config["defaults"]["openrouter"]["min_coding_score"] == 0.65
    assert config["path"] == str(isolated_home / "config.yaml")

    before = (isolated_home / "config.yaml").read_bytes()
    from pygls.exceptions import JsonRpcException

    for bad in (1.5, "abc", True, [], None if False else -1):
        with pytest.raises(JsonRpcException) as info:
            await daemon.request("hermes/setConfig", {"key": "openrouter.min_coding_score", "value": bad})
        assert info.value.code == -32602
        assert "openrouter.min_coding_score must be a number from 0.0 to 1.0" in info.value.message
    assert (isolated_home / "config.yaml").read_bytes() == before
    with pytest.raises(JsonRpcException) as info:
        await daemon.request("hermes/setConfig", {"key": "nope.key", "value": 1})
    assert info.value.code == -32602 and "unknown config key" in info.value.message


async def test_unparseable_config_starts_on_defaults_and_refuses_writes(start_daemon, isolated_home):
    from pygls.exceptions import JsonRpcException

    path = isolated_home / "config.yaml"
    path.write_text("model:\n  default: [unclosed\n", encoding="utf-8")
    before = path.read_bytes()
    daemon = await start_daemon()
    config = await daemon.request("hermes/getConfig")
    assert config["errors"] and config["errors"][0]["line"]
    assert config["config"]["openrouter"]["min_coding_score"] == 0.65
    with pytest.raises(JsonRpcException) as info:
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "x"})
    assert info.value.code == -32002
    assert path.read_bytes() == before
    doctor = await daemon.request("hermes/doctor", {"probe": False})
    config_check = next(c for c in doctor["checks"] if c["id"] == "config")
    assert config_check["status"] == "fail" and str(path) in config_check["summary"]


def _plugin(home: Path, name: str, base_url: str) -> Path:
    plugin = home / "plugins" / "model-providers" / name
    plugin.mkdir(parents=True, exist_ok=True)
    (plugin / "__init__.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        f"register_provider(ProviderProfile(name={name!r}, env_vars=('MY_API_KEY',), base_url={base_url!r}, "
        "fallback_models=('m1',)))\n",
        encoding="utf-8",
    )
    return plugin


async def test_plugins_reload_on_next_session_not_in_running_one(start_daemon, upstream, isolated_home):
    daemon = await start_daemon(env={"MY_API_KEY": CANARY_KEY})
    names = {p["name"] for p in (await daemon.request("hermes/listProviders"))["providers"]}
    assert "my-provider" not in names

    _plugin(isolated_home, "my-provider", f"{upstream.url}/first/v1")
    names = {p["name"] for p in (await daemon.request("hermes/listProviders"))["providers"]}
    assert "my-provider" not in names  # not before a new session

    first = await daemon.request("hermes/newSession", {"provider": "my-provider", "model": "m1"})
    assert first["provider"] == "my-provider"
    assert daemon.of("hermes/providersChanged")

    # Edit the plugin: the running session keeps the profile it started with.
    _plugin(isolated_home, "my-provider", f"{upstream.url}/second/v1")  # another size: a change whatever the clock
    await daemon.request("hermes/chat", {"sessionId": first["sessionId"], "message": "hi"})
    assert upstream.requests[-1].path == "/first/v1/chat/completions"
    second = await daemon.request("hermes/newSession", {"provider": "my-provider", "model": "m1"})
    await daemon.request("hermes/chat", {"sessionId": second["sessionId"], "message": "hi"})
    assert upstream.requests[-1].path == "/second/v1/chat/completions"

    # Remove it: gone for the next session.
    import shutil

    shutil.rmtree(isolated_home / "plugins" / "model-providers" / "my-provider")
    await daemon.request("hermes/newSession")
    names = {p["name"] for p in (await daemon.request("hermes/listProviders"))["providers"]}
    assert "my-provider" not in names


async def test_broken_plugin_is_reported_and_others_work(start_daemon, upstream, isolated_home):
    broken = isolated_home / "plugins" / "model-providers" / "broken"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("import os\nraise RuntimeError('boom')\n", encoding="utf-8")
    daemon = await start_daemon(env=_openrouter_env(upstream))
    result = await daemon.request("hermes/listProviders")
    [error] = result["pluginErrors"]
    assert error["plugin"] == "broken" and error["line"] == 2 and "boom" in error["message"]
    assert len(result["providers"]) == 38
    chat = await daemon.request("hermes/chat", {"provider": "openrouter", "model": "openai/gpt-4.1", "message": "hi"})
    assert chat["stopReason"] == "end_turn"


async def test_hook_failure_is_a_plugin_error_naming_the_plugin(start_daemon, upstream, isolated_home):
    plugin = isolated_home / "plugins" / "model-providers" / "flaky"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "class Flaky(ProviderProfile):\n"
        "    def build_extra_body(self, *, session_id=None, **context):\n"
        "        raise ValueError('hook exploded')\n"
        f"register_provider(Flaky(name='flaky', base_url='{upstream.url}/v1', env_vars=('FLAKY_API_KEY',)))\n",
        encoding="utf-8",
    )
    daemon = await start_daemon(env={"FLAKY_API_KEY": CANARY_KEY, **_openrouter_env(upstream)})
    result = await daemon.request("hermes/chat", {"provider": "flaky", "model": "x", "message": "hi"})
    assert result["stopReason"] == "error"
    assert result["error"]["kind"] == "plugin_error"
    assert "flaky" in result["error"]["message"] and "hook exploded" in result["error"]["message"]
    assert upstream.requests == []
    ok = await daemon.request("hermes/chat", {"provider": "openrouter", "model": "openai/gpt-4.1", "message": "hi"})
    assert ok["stopReason"] == "end_turn"


async def test_upstream_auth_error_is_normalised(start_daemon, upstream, isolated_home):
    upstream.fail(status=401, body={"error": {"message": "Invalid API key", "type": "auth"}})
    daemon = await start_daemon(env=_openrouter_env(upstream))
    result = await daemon.request("hermes/chat", {"provider": "openrouter", "model": "openai/gpt-4.1", "message": "hi"})
    assert result["stopReason"] == "error"
    assert result["error"]["kind"] == "auth"
    assert "OPENROUTER_API_KEY" in result["error"]["hint"]
    assert CANARY_KEY not in json.dumps(result)


async def test_rate_limit_is_retried_before_the_first_token(start_daemon, upstream, isolated_home):
    upstream.fail(status=429, body={"error": {"message": "slow down"}}, headers={"Retry-After": "0.2"}, times=1)
    upstream.reply_text = "after retry"
    daemon = await start_daemon(env=_openrouter_env(upstream))
    result = await daemon.request("hermes/chat", {"provider": "openrouter", "model": "openai/gpt-4.1", "message": "hi"})
    assert result["text"] == "after retry"
    assert len(upstream.requests) == 2


async def test_doctor_good_bad_and_missing_keys(start_daemon, upstream, isolated_home):
    upstream.fail(status=401, body={"error": {"message": "bad key"}}, times=None, path_contains="/bad/")
    env = {
        "DEEPSEEK_API_KEY": CANARY_KEY,
        "DEEPSEEK_BASE_URL": f"{upstream.url}/good/v1",
        "NVIDIA_API_KEY": CANARY_KEY + "x",
        "NVIDIA_BASE_URL": f"{upstream.url}/bad/v1",
    }
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openrouter/pareto-code"}})
    daemon = await start_daemon(env=env)
    result = await daemon.request(
        "hermes/doctor", {"providers": ["deepseek", "nvidia", "openrouter"], "workDoneToken": "doc-1"}
    )
    checks = {c["id"]: c for c in result["checks"]}
    assert checks["provider:deepseek"]["status"] == "ok"
    assert "DEEPSEEK_API_KEY" in checks["provider:deepseek"]["summary"]
    assert checks["provider:nvidia"]["status"] == "fail"
    assert "NVIDIA_API_KEY" in checks["provider:nvidia"]["hint"]
    assert checks["provider:openrouter"]["status"] == "skip"
    assert "OPENROUTER_API_KEY" in checks["provider:openrouter"]["hint"]
    assert "0.65" in checks["pareto"]["summary"] and "sent with the current model" in checks["pareto"]["summary"]
    probes = [r for r in upstream.requests if r.path.endswith("/models")]
    assert {r.path for r in probes} == {"/good/v1/models", "/bad/v1/models"}
    assert all(r.method == "GET" for r in upstream.requests)  # never a billable completion
    assert CANARY_KEY not in json.dumps(result)
    assert daemon.client.progress_reports.get("doc-1")


async def test_list_models_live_then_cache(start_daemon, upstream, isolated_home):
    upstream.models = ["deepseek-chat", "deepseek-reasoner"]
    daemon = await start_daemon(env={"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"})
    live = await daemon.request("hermes/listModels", {"provider": "deepseek"})
    assert live["source"] == "live" and live["fetchedAt"]
    assert [m["id"] for m in live["models"]] == ["deepseek-chat", "deepseek-reasoner"]
    cached = await daemon.request("hermes/listModels", {"provider": "deepseek"})
    assert cached["source"] == "cache"
    assert len([r for r in upstream.requests if r.path.endswith("/models")]) == 1
    upstream.fail(status=500, times=None)
    stale = await daemon.request("hermes/listModels", {"provider": "deepseek", "refresh": True})
    assert stale["source"] == "cache" and stale["error"]


async def test_bad_params_get_json_rpc_errors_and_daemon_survives(start_daemon):
    from pygls.exceptions import JsonRpcException

    daemon = await start_daemon()
    for method, params in [
        ("hermes/chat", {}),
        ("hermes/chat", {"message": 42}),
        ("hermes/chat", {"message": "hi", "sessionId": "s-doesnotexist"}),
        ("hermes/chat", {"message": "x" * (1024 * 1024 + 1)}),
        ("hermes/listModels", {"provider": "no-such-provider"}),
        ("hermes/getSession", {"sessionId": 7}),
        ("hermes/setConfig", {"key": "model.default"}),
    ]:
        with pytest.raises(JsonRpcException) as info:
            await daemon.request(method, params)
        assert info.value.code == -32602, (method, info.value)
        assert info.value.message
    with pytest.raises(JsonRpcException) as info:
        await daemon.request("hermes/noSuchMethod", {})
    assert info.value.code == -32601
    assert (await daemon.request("hermes/listSessions"))["sessions"] == []


async def test_bedrock_converse_signed_by_botocore(start_daemon, upstream, isolated_home):
    pytest.importorskip("botocore", reason="the bedrock extra is not installed (pip install '.[bedrock]')")
    upstream.reply_text = "from bedrock"
    env = {"BEDROCK_BASE_URL": upstream.url, "AWS_ACCESS_KEY_ID": "AKIDCANARY", "AWS_SECRET_ACCESS_KEY": CANARY_KEY,
           "AWS_DEFAULT_REGION": "us-east-1"}
    daemon = await start_daemon(env=env)
    result = await daemon.request(
        "hermes/chat",
        {"provider": "aws", "model": "anthropic.claude-3-haiku", "system": "sys", "message": "hi", "maxTokens": 100},
    )
    assert result["text"] == "from bedrock", result
    assert result["provider"] == "bedrock" and result["stopReason"] == "end_turn"
    [request] = upstream.requests
    assert request.path == "/model/anthropic.claude-3-haiku/converse-stream"
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDCANARY/")
    assert request.json == {
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "sys"}],
        "inferenceConfig": {"maxTokens": 100},
    }
    upstream.fail(status=403, body={"message": "The security token included in the request is invalid."})
    denied = await daemon.request("hermes/chat", {"sessionId": result["sessionId"], "message": "again"})
    assert denied["stopReason"] == "error" and denied["error"]["kind"] == "auth"
    assert CANARY_KEY not in json.dumps(denied)
