"""Fallback providers (Hermes' ``fallback_providers`` / ``fallback_model``) against the real daemon.

Two or three recording upstreams stand in for different providers: the
session's own provider fails before its first token, and the chain moves on
with each entry's own profile, URL and key. Keys are checked byte for byte:
one provider's key never reaches another provider's server.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from hermesd.engine.fallback import Entry, read_chain
from tests.conftest import CANARY_KEY, write_config
from tests.upstream import Upstream, closed_port_url

KEY_A = CANARY_KEY  # the primary's (OpenRouter) key
KEY_B = "sk-fallback-b-5e8d1c0a9f"  # the fallback's (DeepSeek / Anthropic) key
MESSAGE = [{"role": "user", "content": "hi"}]


@pytest.fixture
def second() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture
def third() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


def _setup(home: Path, first_url: str, entries: Any, *, retries: int = 0, key: str = "fallback_providers") -> dict[str, str]:
    write_config(home, {
        "model": {"provider": "openrouter", "default": "openai/gpt-4.1"},
        "network": {"max_retries": retries},
        key: entries,
    })
    return {"OPENROUTER_API_KEY": KEY_A, "OPENROUTER_BASE_URL": f"{first_url}/api/v1", "DEEPSEEK_API_KEY": KEY_B}


def _deepseek(up: Upstream) -> dict[str, str]:
    return {"provider": "deepseek", "model": "deepseek-chat", "base_url": f"{up.url}/v1"}


def _carries(request: Any, key: str) -> bool:
    """The key anywhere in what the server received: path, any header, the body bytes."""
    return key in request.path or any(key in v for v in request.headers.values()) or key.encode() in request.body


def _assert_primary_request(first: Upstream, n: int = 1) -> None:
    requests = first.requests
    assert len(requests) == n
    for request in requests:
        assert request.path == "/api/v1/chat/completions"
        assert request.headers["authorization"] == f"Bearer {KEY_A}"
        assert not _carries(request, KEY_B)


def _assert_deepseek_request(second: Upstream) -> None:
    [request] = second.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY_B}"
    assert request.json == {"model": "deepseek-chat", "messages": MESSAGE, "stream": True,
                            "stream_options": {"include_usage": True}}
    assert json.loads(request.body) == request.json
    assert not _carries(request, KEY_A)


@pytest.mark.parametrize("status", [503, 429, 529, 402])
async def test_chain_answers_from_the_second_entry(start_daemon, upstream, second, isolated_home, status):
    upstream.fail(status=status)
    second.reply_text = "the fallback answers"
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [_deepseek(second)]))

    result = await daemon.request("hermes/chat", {"message": "hi"})

    assert result["text"] == "the fallback answers"
    assert result["stopReason"] == "end_turn"
    assert "error" not in result
    assert result["provider"] == "openrouter" and result["model"] == "openai/gpt-4.1"  # the session's own target
    assert result["answeredBy"] == {"provider": "deepseek", "model": "deepseek-chat"}
    [left] = result["fallbacks"]
    assert left["provider"] == "openrouter" and left["model"] == "openai/gpt-4.1"
    assert left["error"]["status"] == status
    assert left["error"]["kind"] == {503: "network", 529: "network", 429: "rate_limited", 402: "quota"}[status]
    _assert_primary_request(upstream)
    _assert_deepseek_request(second)
    deltas = daemon.deltas(result["sessionId"])
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    assert "".join(d.get("text", "") for d in deltas) == "the fallback answers"
    saved = await daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert saved["messages"][-1]["answeredBy"] == {"provider": "deepseek", "model": "deepseek-chat"}
    assert saved["provider"] == "openrouter"  # the next turn tries the session's own provider first again

    upstream.reply_text = "the primary is back"
    again = await daemon.request("hermes/chat", {"sessionId": result["sessionId"], "message": "and now?"})
    assert again["text"] == "the primary is back"
    assert again["answeredBy"] == {"provider": "openrouter", "model": "openai/gpt-4.1"}
    assert "fallbacks" not in again
    assert len(second.requests) == 1


async def test_primary_retries_first_then_the_chain(start_daemon, upstream, second, isolated_home):
    upstream.fail(status=503, times=2)
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [_deepseek(second)], retries=1))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["text"] == second.reply_text
    _assert_primary_request(upstream, n=2)  # the first try and its one retry
    _assert_deepseek_request(second)


async def test_connection_refused_fails_over(start_daemon, second, isolated_home):
    daemon = await start_daemon(env=_setup(isolated_home, closed_port_url(), [_deepseek(second)]))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["text"] == second.reply_text
    assert result["fallbacks"][0]["error"]["kind"] == "network"
    _assert_deepseek_request(second)


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_refused_request_does_not_fail_over(start_daemon, upstream, second, isolated_home, status):
    upstream.fail(status=status)
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [_deepseek(second)]))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "error"
    assert result["error"]["status"] == status
    assert result["answeredBy"] == {"provider": "openrouter", "model": "openai/gpt-4.1"}
    assert "fallbacks" not in result
    assert second.requests == []


async def test_failure_mid_stream_keeps_the_partial_text_and_does_not_fail_over(start_daemon, upstream, second, isolated_home):
    upstream.reply_text = "one two three four five six"
    upstream.chunk_count = 6
    upstream.fault("reset", after_chunks=2)
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [_deepseek(second)]))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "error"
    assert result["error"]["kind"] == "network"
    assert result["text"] and upstream.reply_text.startswith(result["text"]) and result["text"] != upstream.reply_text
    assert "".join(d.get("text", "") for d in daemon.deltas(result["sessionId"])) == result["text"]
    assert "fallbacks" not in result
    assert second.requests == []


async def test_each_entry_uses_its_own_profile_and_key(start_daemon, upstream, second, isolated_home):
    """An Anthropic fallback behind an OpenRouter primary: Anthropic's wire format and header, its own key only."""
    upstream.fail(status=503)
    second.reply_text = "claude here"
    entries = [{"provider": "anthropic", "model": "claude-sonnet-4-6", "base_url": second.url}]
    env = {**_setup(isolated_home, upstream.url, entries), "ANTHROPIC_API_KEY": KEY_B}
    daemon = await start_daemon(env=env)
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["text"] == "claude here"
    assert result["answeredBy"] == {"provider": "anthropic", "model": "claude-sonnet-4-6"}
    [request] = second.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == KEY_B
    assert "authorization" not in request.headers
    assert request.json["model"] == "claude-sonnet-4-6"
    assert request.json["messages"] == MESSAGE
    assert not _carries(request, KEY_A)
    _assert_primary_request(upstream)


async def test_chain_walks_past_dead_and_keyless_entries(start_daemon, upstream, second, third, isolated_home):
    """Entries: one unreachable, an unknown provider and one whose provider has no key (both skipped, nothing
    sent), then a custom endpoint with a key variable named in the entry."""
    upstream.fail(status=503)
    third.reply_text = "third time lucky"
    entries = [
        {"provider": "deepseek", "model": "deepseek-chat", "base_url": closed_port_url() + "/v1"},
        {"provider": "no-such-provider", "model": "m", "base_url": f"{second.url}/v1"},  # skipped: unknown
        {"provider": "zai", "model": "glm-4.6", "base_url": f"{second.url}/v1"},  # ZAI_API_KEY is not set
        {"provider": "custom", "model": "qwen3:8b", "base_url": f"{third.url}/v1", "key_env": "LOCAL_LLM_KEY"},
    ]
    env = {**_setup(isolated_home, upstream.url, entries), "LOCAL_LLM_KEY": "sk-local-c-77aa"}
    daemon = await start_daemon(env=env)
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["text"] == "third time lucky"
    assert result["answeredBy"] == {"provider": "custom", "model": "qwen3:8b"}
    assert [(f["provider"], f["error"]["kind"]) for f in result["fallbacks"]] == [("openrouter", "network"), ("deepseek", "network")]
    assert second.requests == []
    [request] = third.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-local-c-77aa"
    assert request.json["model"] == "qwen3:8b" and request.json["messages"] == MESSAGE
    assert not _carries(request, KEY_A) and not _carries(request, KEY_B)


async def test_legacy_fallback_model_with_a_key_in_the_file(start_daemon, upstream, second, isolated_home):
    upstream.fail(status=429)
    literal = "sk-written-in-config-31d9"
    entry = {"provider": "custom", "model": "llama3.1:8b", "base_url": f"{second.url}/v1", "api_key": literal}
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, entry, key="fallback_model"))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["answeredBy"] == {"provider": "custom", "model": "llama3.1:8b"}
    [request] = second.requests
    assert request.headers["authorization"] == f"Bearer {literal}"
    assert not _carries(request, KEY_A)
    assert not any(_carries(r, literal) for r in upstream.requests)


async def test_every_entry_failing_returns_the_last_error(start_daemon, upstream, second, isolated_home):
    upstream.fail(status=503)
    second.fail(status=429)
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [_deepseek(second)]))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "error"
    assert result["error"]["kind"] == "rate_limited" and result["error"]["provider"] == "deepseek"
    assert result["answeredBy"] == {"provider": "deepseek", "model": "deepseek-chat"}
    assert [f["error"]["status"] for f in result["fallbacks"]] == [503]


async def test_cancel_stops_the_chain(start_daemon, upstream, second, third, isolated_home):
    upstream.fail(status=503)
    second.fault("delay_first_byte", seconds=30)
    entries = [_deepseek(second), {"provider": "custom", "model": "qwen3:8b", "base_url": f"{third.url}/v1"}]
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, entries))
    session = await daemon.request("hermes/newSession")
    pending = daemon.send("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
    await asyncio.to_thread(second.wait_for_requests, 1, 10)  # the chain reached the first fallback
    assert await daemon.request("hermes/cancel", {"sessionId": session["sessionId"]}) == {"cancelled": True}
    result = await asyncio.wait_for(pending, 10)
    assert result["stopReason"] == "cancelled"
    assert result["text"] == ""
    assert result["answeredBy"] == {"provider": "deepseek", "model": "deepseek-chat"}
    assert third.requests == []
    assert len(upstream.requests) == 1 and len(second.requests) == 1


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_cli_chat_says_which_model_answered(upstream, second, isolated_home):
    upstream.fail(status=503)
    second.reply_text = "from the fallback"
    proc = _cli("chat", "hi", env=_setup(isolated_home, upstream.url, [_deepseek(second)]))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from the fallback\n"
    assert "answered by deepseek/deepseek-chat (fallback; openrouter/openai/gpt-4.1: network 503)" in proc.stderr
    assert KEY_A not in proc.stderr + proc.stdout and KEY_B not in proc.stderr + proc.stdout


def test_cli_chat_says_nothing_extra_when_the_primary_answers(upstream, second, isolated_home):
    proc = _cli("chat", "hi", env=_setup(isolated_home, upstream.url, [_deepseek(second)]))
    assert proc.returncode == 0, proc.stderr
    assert "answered by" not in proc.stderr
    assert second.requests == []


def test_doctor_lists_the_chain_without_key_values(isolated_home):
    literal = "sk-written-in-config-31d9"
    entries = [
        {"provider": "deepseek", "model": "deepseek-chat"},
        {"provider": "zai", "model": "glm-4.6"},
        {"provider": "custom", "model": "qwen3:8b", "base_url": "http://127.0.0.1:9/v1", "api_key": literal},
        {"provider": "anthropic"},
        "openrouter",
        {"provider": "no-such-provider", "model": "m"},
        {"provider": "custom", "model": "m"},
        {"provider": "custom", "model": "m2", "base_url": "http://user:pw-secret@127.0.0.1:9/v1"},
    ]
    proc = _cli("doctor", "--no-probe", "--json", env=_setup(isolated_home, "http://127.0.0.1:9", entries))
    rows = [c for c in json.loads(proc.stdout)["checks"] if c["id"] == "fallback"]
    summaries = [r["summary"] for r in rows]
    assert summaries[0] == ("fallback 1: deepseek/deepseek-chat at https://api.deepseek.com/v1 (chat_completions); "
                            "key in DEEPSEEK_API_KEY")
    assert rows[0]["status"] == "ok"
    assert rows[1]["status"] == "warn" and summaries[1] == ("fallback 2: zai/glm-4.6: no key set (GLM_API_KEY or ZAI_API_KEY or Z_AI_API_KEY); skipped")
    assert summaries[2] == ("fallback 3: custom/qwen3:8b at http://127.0.0.1:9/v1 (chat_completions); "
                            "key written in config.yaml")
    assert "fallback_providers[3] has no model; skipped (each entry needs provider and model)" in summaries
    assert "fallback_providers[4] must be a mapping with provider and model (got str); skipped" in summaries
    assert rows[3]["status"] == "warn" and summaries[3].startswith("fallback 4: no-such-provider/m: unknown provider")
    assert summaries[4] == "fallback 5: custom/m: no base URL (add base_url to the entry); skipped"
    # An entry's URL passes the same checks as any configured URL: a password in it is refused, and masked.
    assert rows[5]["status"] == "warn" and summaries[5] == (
        "fallback 6: custom/m2: the base URL for custom from the fallback entry holds a user name or password "
        "(http://user:***@127.0.0.1:9/v1); skipped")
    for secret in (KEY_A, KEY_B, literal, "pw-secret"):
        assert secret not in proc.stdout + proc.stderr


def test_doctor_shows_nothing_without_a_chain(isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter"}})
    proc = _cli("doctor", "--no-probe", "--json", env={})
    assert not [c for c in json.loads(proc.stdout)["checks"] if c["id"] == "fallback"]


# -- reading the chain (pure) ------------------------------------------------------


def test_read_chain_prefers_fallback_providers_like_hermes():
    entries, problems = read_chain({
        "fallback_providers": [{"provider": "deepseek", "model": "deepseek-chat", "api_key_env": "DS_KEY"}],
        "fallback_model": {"provider": "openrouter", "model": "x"},
    })
    assert entries == [Entry("fallback_providers[0]", "deepseek", "deepseek-chat", key_env="DS_KEY")]
    assert problems == ["fallback_model is ignored because fallback_providers is set (as in the Hermes agent)"]


def test_read_chain_legacy_forms_and_bad_values():
    assert read_chain({"fallback_model": {"provider": "zai", "model": "glm"}}) == (
        [Entry("fallback_model", "zai", "glm")], [])
    assert read_chain({"fallback_providers": [], "fallback_model": [{"provider": "zai", "model": "glm"}]})[0] == [
        Entry("fallback_model[0]", "zai", "glm")]
    assert read_chain({"fallback_model": {}}) == ([], [])
    assert read_chain({}) == ([], [])
    _, problems = read_chain({"fallback_providers": {"provider": "zai"}})
    assert problems == ["fallback_providers must be a list of {provider, model} mappings (got dict); it is ignored"]
    _, problems = read_chain({"fallback_providers": [
        {"provider": "zai", "model": "glm", "base_url": "ftp://x"},
        {"provider": "zai", "model": "glm", "api_mode": "grpc"},
        {"provider": "zai", "model": 5},
        {"provider": "zai", "model": "glm", "key_env": "not a name"},
    ]})
    assert problems == [
        "fallback_providers[0].base_url must be an http:// or https:// URL; skipped",
        ("fallback_providers[1].api_mode must be one of chat_completions, codex_responses, anthropic_messages, "
         "bedrock_converse; skipped"),
        "fallback_providers[2].model must be a string (got int); skipped",
        "fallback_providers[3].key_env must be an environment variable name such as MY_API_KEY; skipped",
    ]


async def test_a_key_written_in_the_file_is_scrubbed_from_its_errors(start_daemon, upstream, second, isolated_home, tmp_path):
    literal = "sk-written-in-config-31d9"
    upstream.fail(status=503)
    second.fail(status=503, message=f"bad gateway for key {literal}")  # an upstream that echoes the key
    entry = {"provider": "custom", "model": "llama3.1:8b", "base_url": f"{second.url}/v1", "api_key": literal}
    daemon = await start_daemon(env=_setup(isolated_home, upstream.url, [entry]))
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["error"]["kind"] == "network"
    assert "bad gateway for key ***" in result["error"]["message"]
    saved = await daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    config = await daemon.request("hermes/getConfig")
    assert literal not in json.dumps([result, saved, config])
    assert [r.headers["authorization"] for r in second.requests] == [f"Bearer {literal}"]
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "logs").rglob("*") if p.is_file())
    assert "failed before answering" in logs and literal not in logs


async def test_the_primary_url_never_gets_the_fallback_key(start_daemon, upstream, second, isolated_home):
    """Issue 11's case as a chain: a custom primary at A, then OpenRouter (its own URL, B). The OpenRouter
    key reaches only B, the custom key only A."""
    upstream.fail(status=503)
    write_config(isolated_home, {
        "model": {"provider": "custom", "default": "qwen3:8b", "base_url": f"{upstream.url}/v1"},
        "network": {"max_retries": 0},
        "fallback_providers": [{"provider": "openrouter", "model": "openai/gpt-4.1"}],
    })
    env = {"CUSTOM_API_KEY": KEY_B, "OPENROUTER_API_KEY": KEY_A, "OPENROUTER_BASE_URL": f"{second.url}/api/v1"}
    daemon = await start_daemon(env=env)
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["answeredBy"] == {"provider": "openrouter", "model": "openai/gpt-4.1"}
    [primary] = upstream.requests
    assert primary.path == "/v1/chat/completions" and primary.headers["authorization"] == f"Bearer {KEY_B}"
    assert not _carries(primary, KEY_A)
    [request] = second.requests
    assert request.path == "/api/v1/chat/completions" and request.headers["authorization"] == f"Bearer {KEY_A}"
    assert request.json == {"model": "openai/gpt-4.1", "messages": MESSAGE, "session_id": result["sessionId"], "stream": True,
                            "stream_options": {"include_usage": True}}
    assert not _carries(request, KEY_B)


async def test_preview_shows_the_chain_the_chat_would_walk(start_daemon, upstream, second, third, isolated_home):
    """previewRequest lists each usable entry's request, in order, masked; the chat then sends exactly those bodies."""
    upstream.fail(status=503)
    third.reply_text = "from the chain"
    dead = closed_port_url()
    entries = [
        {"provider": "deepseek", "model": "deepseek-chat", "base_url": dead + "/v1"},
        {"provider": "no-such-provider", "model": "m", "base_url": f"{second.url}/v1"},  # skipped: unknown
        {"provider": "zai", "model": "glm-4.6", "base_url": f"{second.url}/v1"},  # skipped: ZAI_API_KEY unset
        {"provider": "custom", "model": "qwen3:8b", "base_url": f"{third.url}/v1", "key_env": "LOCAL_LLM_KEY"},
    ]
    env = {**_setup(isolated_home, upstream.url, entries), "LOCAL_LLM_KEY": "sk-local-c-77aa"}
    daemon = await start_daemon(env=env)
    session = await daemon.request("hermes/newSession", {})  # the OpenRouter primary's body names the session
    preview = await daemon.request("hermes/previewRequest", {"sessionId": session["sessionId"], "message": "hi"})
    assert preview["url"] == f"{upstream.url}/api/v1/chat/completions"
    chain = preview["fallbacks"]
    assert [(step["where"], step["request"]["provider"]) for step in chain] == [
        ("fallback_providers[0]", "deepseek"), ("fallback_providers[3]", "custom")]
    assert chain[0]["request"]["url"] == dead + "/v1/chat/completions"
    assert chain[1]["request"]["url"] == f"{third.url}/v1/chat/completions"
    assert chain[1]["request"]["headers"]["Authorization"] == "Bearer ***"
    shown = json.dumps(preview)
    assert KEY_A not in shown and KEY_B not in shown and "sk-local-c-77aa" not in shown
    assert upstream.requests == [] and third.requests == []  # a preview sends nothing

    result = await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
    assert result["answeredBy"] == {"provider": "custom", "model": "qwen3:8b"}
    [request] = third.requests
    assert request.json == chain[1]["request"]["body"]
    [primary] = upstream.requests
    assert primary.json == preview["body"]


async def test_preview_has_no_chain_without_fallbacks(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-4.1"}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": KEY_A, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"})
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert "fallbacks" not in preview and preview["provider"] == "openrouter"
