"""Hermes' request rules outside the plugins (hermesd.wire.hermes_rules), through the pure builder.

The same rules are compared with Hermes' own transport in test_hermes_conformance.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from hermesd.wire import ChatOptions, chat_completions
from hermesd.wire.hermes_rules import developer_role, supports_reasoning
from tests._unit_helpers import UnitEnv, profile, unit_env  # noqa: F401  (autouse fixture)
from tests.test_wire import resolved_for

OR_URL = "https://openrouter.ai/api/v1"
SYSTEM_FIRST = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]


@pytest.mark.parametrize("base_url, model, expected", [
    ("https://inference-api.nousresearch.com/v1", "anything", True),
    ("https://ai-gateway.vercel.sh/v1", "moonshotai/kimi-k2", True),
    ("https://api.githubcopilot.com", "gpt-5.4", True),
    ("https://api.githubcopilot.com", "claude-sonnet-4.6", False),
    ("https://models.github.ai/inference", "openai/o3-mini", True),
    (OR_URL, "openai/gpt-5", True),
    (OR_URL, "Anthropic/claude-sonnet-4.6", True),
    (OR_URL, "google/gemini-2.5-pro", True),
    (OR_URL, "google/gemini-3-pro-preview", False),  # only the 2.x family is listed
    (OR_URL, "meta-llama/llama-4", False),
    (OR_URL, "openrouter/pareto-code", False),
    ("http://127.0.0.1:9/openrouter/api/v1", "deepseek/deepseek-v3", True),  # Hermes tests the URL text
    ("https://api.deepseek.com/v1", "deepseek-reasoner", False),
    ("https://evil.example/nousresearch.com/v1", "x", False),  # a host match, not a substring
    ("", "openai/gpt-5", False),
])
def test_the_supports_reasoning_gate(base_url: str, model: str, expected: bool) -> None:
    assert supports_reasoning(base_url, model) is expected


@pytest.mark.parametrize("model, role", [
    ("openai/gpt-5", "developer"), ("gpt-5.4-mini", "developer"), ("GPT-5", "developer"),
    ("gpt-5.1-codex", "developer"), ("codex-mini-latest", "developer"),
    ("gpt-4.1", "system"), ("anthropic/claude-sonnet-4.6", "system"),
])
def test_developer_role_for_gpt5_and_codex(model: str, role: str) -> None:
    for p in (profile("openrouter"), profile("custom"), None):
        body = chat_completions.build(resolved_for(p, model=model, base_url=OR_URL), SYSTEM_FIRST, ChatOptions()).body
        assert [m["role"] for m in body["messages"]] == [role, "user"]
    assert SYSTEM_FIRST[0]["role"] == "system"  # the input is not modified


def test_only_a_leading_system_message_changes() -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "system", "content": "late"}]
    assert developer_role(messages, "gpt-5") is messages


def test_default_reasoning_through_the_profile_when_the_gate_allows() -> None:
    p = profile("openrouter")
    body = chat_completions.build(resolved_for(p, model="openai/gpt-5", base_url=OR_URL), SYSTEM_FIRST,
                                  ChatOptions()).body
    assert body["reasoning"] == {"enabled": True, "effort": "medium"}
    configured = chat_completions.build(resolved_for(p, model="openai/gpt-5", base_url=OR_URL), SYSTEM_FIRST,
                                        ChatOptions(reasoning_config={"enabled": True, "effort": "high"})).body
    assert configured["reasoning"] == {"enabled": True, "effort": "high"}
    closed = chat_completions.build(resolved_for(p, model="meta-llama/llama-4", base_url=OR_URL), SYSTEM_FIRST,
                                    ChatOptions(reasoning_config={"enabled": True, "effort": "high"})).body
    assert "reasoning" not in closed  # the gate is closed: a configured effort is not sent either, as in Hermes


def test_an_explicit_supports_reasoning_overrides_the_gate() -> None:
    p = profile("openrouter")
    body = chat_completions.build(resolved_for(p, model="meta-llama/llama-4", base_url=OR_URL), SYSTEM_FIRST,
                                  ChatOptions(supports_reasoning=True)).body
    assert body["reasoning"] == {"enabled": True, "effort": "medium"}


@pytest.mark.parametrize("base_url, expected", [
    (OR_URL, {"provider": {"order": ["x"]}, "reasoning": {"enabled": True, "effort": "medium"},
              "plugins": [{"id": "pareto-router", "min_coding_score": 0.5}]}),
    ("http://127.0.0.1:9/v1", {}),
])
def test_the_no_profile_path_adds_openrouters_fields_only_on_its_url(base_url: str, expected: dict[str, Any]) -> None:
    options = ChatOptions(provider_preferences={"order": ["x"]}, min_coding_score=0.5, supports_reasoning=True)
    body = chat_completions.build(resolved_for(None, model="openrouter/pareto-code", base_url=base_url),
                                  SYSTEM_FIRST, options).body
    assert {k: body[k] for k in ("provider", "reasoning", "plugins") if k in body} == expected


def test_openrouter_cache_headers_environment_over_config() -> None:
    """Hermes 0.19.0's precedence: HERMES_OPENROUTER_CACHE(_TTL) over openrouter.response_cache(_ttl); off by default here."""
    from hermesd.wire.hermes_rules import openrouter_cache_headers as headers

    assert headers(False, 300) == {} and headers(None, 300) == {}
    assert headers(True, 300) == {"X-OpenRouter-Cache": "true", "X-OpenRouter-Cache-TTL": "300"}
    assert headers(True, 0) == {"X-OpenRouter-Cache": "true"}  # out of range: no TTL header
    assert headers(False, 300, "yes") == {"X-OpenRouter-Cache": "true", "X-OpenRouter-Cache-TTL": "300"}
    assert headers(True, 300, "off") == {}
    assert headers(True, 300, "1", "900") == {"X-OpenRouter-Cache": "true", "X-OpenRouter-Cache-TTL": "900"}
    assert headers(True, 300, "", "90000") == {"X-OpenRouter-Cache": "true"}  # env TTL out of range: none


def test_client_headers_by_host() -> None:
    from hermesd.wire.hermes_rules import OPENROUTER_ATTRIBUTION, client_headers

    assert client_headers("https://openrouter.ai/api/v1", "openai/gpt-5.4", None, {}) == OPENROUTER_ATTRIBUTION
    claude = client_headers("https://openrouter.ai/api/v1", "anthropic/claude-sonnet-4.6", None, {})
    assert claude["x-anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"
    assert client_headers("https://openrouter.ai.evil.example/api/v1", "x", None, {}) == {}
    assert client_headers("http://127.0.0.1:9/openrouter/api/v1", "x", None, {}) == {}


def test_gpt5_goes_through_the_responses_api_as_hermes_0_19_routes_it() -> None:
    from hermesd.wire.hermes_rules import needs_responses_api as responses

    assert responses("openrouter", "https://openrouter.ai/api/v1", "openai/gpt-5.4")
    assert responses("ai-gateway", "https://ai-gateway.vercel.sh/v1", "openai/gpt-5")
    assert not responses("nous", "https://inference-api.nousresearch.com/v1", "openai/gpt-5.4")
    assert not responses("custom", "http://127.0.0.1:8000/v1", "gpt-5.4")
    assert not responses("azure-foundry", "https://x.openai.azure.com/openai/v1", "gpt-5.4")
    assert responses("copilot", "https://api.githubcopilot.com", "gpt-5.4")
    assert not responses("copilot", "https://api.githubcopilot.com", "gpt-5-mini")
    assert not responses("openrouter", "https://openrouter.ai/api/v1", "openai/gpt-4.1")
    assert responses("custom", "https://api.openai.com/v1", "gpt-4.1")  # every model on OpenAI's own API
