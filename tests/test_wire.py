"""Request building (contract section 4 and the other three API shapes): the
exact URL, headers and JSON body, and the preview with secrets masked."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.protocol import to_wire
from hermesd.wire import ChatOptions, PreparedRequest, mask_headers, wire_messages
from hermesd.wire import anthropic_messages, bedrock_converse, chat_completions, codex_responses
from hermesd.wire.dispatch import build_request
from providers import register_provider
from providers.base import OMIT_TEMPERATURE, ProviderProfile
from tests._unit_helpers import UnitEnv, profile, unit_env, write_plugin  # noqa: F401  (autouse fixture)

KEY = "sk-wire-test-0123456789"


def resolved_for(p: ProviderProfile | None, *, model: str = "m-1", base_url: str | None = None,
                 api_mode: str = "chat_completions", key: str | None = KEY, provider: str | None = None) -> Resolved:
    return Resolved(
        provider=provider if provider is not None else (p.name if p else ""),
        profile=p,
        model=model,
        base_url=base_url if base_url is not None else (p.base_url if p else "http://127.0.0.1:8000/v1"),
        api_mode=api_mode,
        api_key=key,
        key_env_var="X_API_KEY" if key else None,
    )


USER = [{"role": "user", "content": "hi"}]


# -- chat_completions -----------------------------------------------------------


def test_minimal_chat_completions_request() -> None:
    p = ProviderProfile(name="plain", base_url="https://plain.example.com/v1")
    register_provider(p)
    req = chat_completions.build(resolved_for(p), USER, ChatOptions())
    assert isinstance(req, PreparedRequest)
    assert req.url == "https://plain.example.com/v1/chat/completions"
    assert req.method == "POST"
    assert req.headers == {"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"}
    assert req.body == {"model": "m-1", "messages": USER, "stream": True, "stream_options": {"include_usage": True}}  # usage in the last chunk
    assert (req.api_mode, req.provider, req.model) == ("chat_completions", "plain", "m-1")


def test_no_authorization_without_a_key() -> None:
    p = ProviderProfile(name="plain", base_url="https://plain.example.com/v1/")
    req = chat_completions.build(resolved_for(p, key=None), USER, ChatOptions(stream=False))
    assert "Authorization" not in req.headers
    assert req.url == "https://plain.example.com/v1/chat/completions"
    assert req.body["stream"] is False


def test_internal_message_keys_are_stripped_and_the_input_is_untouched() -> None:
    messages = [
        {"role": "system", "content": "be brief", "_meta": {"x": 1}, "timestamp": 123},
        {"role": "user", "content": "hi", "_id": "u1", "at": 1.5, "created_at": "now", "name": "me"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}], "_usage": {}},
        {"role": "tool", "content": "42", "tool_call_id": "c1", "ts": 1},
        "not a message",
    ]
    snapshot = copy.deepcopy(messages)
    req = chat_completions.build(resolved_for(ProviderProfile(name="p", base_url="https://p")), messages, ChatOptions())
    assert req.body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi", "name": "me"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
    ]
    assert messages == snapshot


def test_prepare_messages_gets_stripped_copies_and_cannot_mutate_the_caller() -> None:
    seen: list[Any] = []

    class Mutating(ProviderProfile):
        def prepare_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
            seen.append(copy.deepcopy(messages))
            messages[0]["content"] = "rewritten"  # a badly behaved plugin
            messages.append({"role": "user", "content": "added"})
            return messages

    caller = [{"role": "user", "content": "hi", "_internal": True}]
    snapshot = copy.deepcopy(caller)
    req = chat_completions.build(resolved_for(Mutating(name="mut", base_url="https://m")), caller, ChatOptions())
    assert seen == [[{"role": "user", "content": "hi"}]]
    assert req.body["messages"] == [{"role": "user", "content": "rewritten"}, {"role": "user", "content": "added"}]
    assert caller == snapshot


class Spy(ProviderProfile):
    """Records the context each hook receives and returns overlapping keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: dict[str, Any] = {}

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        self.calls["build_extra_body"] = {"session_id": session_id, **context}
        return {"a": "extra_body", "b": "extra_body", "c": "extra_body", "nested": {"from": "extra_body"}}

    def build_api_kwargs_extras(self, *, reasoning_config: Any = None, **context: Any) -> tuple[dict, dict]:
        self.calls["build_api_kwargs_extras"] = {"reasoning_config": reasoning_config, **context}
        return (
            {"b": "extras", "c": "extras", "nested": {"from": "extras"}},
            {"top_level": 1, "reasoning_effort": "high", "extra_headers": {"X-Conv": "abc", "X-Num": 7},
             "extra_query": {"q": 1}, "timeout": 30},
        )


def test_extra_body_merge_precedence_and_top_level_kwargs() -> None:
    spy = Spy(name="spy", base_url="https://spy.example.com/v1", default_headers={"User-Agent": "Spy/1"})
    register_provider(spy)
    options = ChatOptions(extra_body={"c": "caller", "d": "caller"})
    req = chat_completions.build(resolved_for(spy), USER, options)
    body = req.body
    assert body["a"] == "extra_body"
    assert body["b"] == "extras"
    assert body["c"] == "caller"
    assert body["d"] == "caller"
    assert body["nested"] == {"from": "extras"}  # a shallow merge: the later dict replaces
    assert body["top_level"] == 1 and body["reasoning_effort"] == "high"
    for not_body in ("extra_headers", "extra_query", "timeout", "extra_body"):
        assert not_body not in body
    assert req.headers["X-Conv"] == "abc" and req.headers["X-Num"] == "7"
    assert req.headers["User-Agent"] == "Spy/1"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert list(body)[:2] == ["model", "messages"]
    assert list(body)[-2:] == ["stream", "stream_options"]


def test_hooks_receive_the_documented_context() -> None:
    spy = Spy(name="spy", base_url="https://spy.example.com/v1")
    register_provider(spy)
    reasoning = {"enabled": True, "effort": "low"}
    options = ChatOptions(
        reasoning_config=reasoning,
        provider_preferences={"order": ["x"]},
        min_coding_score=0.4,
        session_id="s-123",
        ollama_num_ctx=4096,
        supports_reasoning=True,
    )
    chat_completions.build(resolved_for(spy, model="the-model"), USER, options)
    extra = spy.calls["build_extra_body"]
    assert extra["session_id"] == "s-123"
    assert extra["model"] == "the-model"
    assert extra["base_url"] == "https://spy.example.com/v1"
    assert extra["provider_preferences"] == {"order": ["x"]}
    assert extra["reasoning_config"] == reasoning
    assert extra["openrouter_min_coding_score"] == 0.4
    kwargs = spy.calls["build_api_kwargs_extras"]
    assert kwargs["reasoning_config"] == reasoning
    assert kwargs["model"] == "the-model"
    assert kwargs["base_url"] == "https://spy.example.com/v1"
    assert kwargs["supports_reasoning"] is True
    assert kwargs["session_id"] == "s-123"
    assert kwargs["ollama_num_ctx"] == 4096


def test_empty_extra_body_adds_nothing() -> None:
    p = ProviderProfile(name="plain", base_url="https://plain.example.com/v1")
    req = chat_completions.build(resolved_for(p), USER, ChatOptions(extra_body={}))
    assert set(req.body) == {"model", "messages", "stream", "stream_options"}


def test_caller_extra_body_without_a_profile() -> None:
    req = chat_completions.build(resolved_for(None), USER, ChatOptions(extra_body={"top_k": 5}, temperature=0.2, max_tokens=9))
    assert req.body == {"model": "m-1", "messages": USER, "temperature": 0.2, "max_tokens": 9, "top_k": 5, "stream": True,
                        "stream_options": {"include_usage": True}}
    assert req.url == "http://127.0.0.1:8000/v1/chat/completions"
    assert req.provider == ""


@pytest.mark.parametrize(
    "fixed,requested,expected",
    [
        (None, None, "absent"),
        (None, 0.3, 0.3),
        (None, 0.0, 0.0),
        (OMIT_TEMPERATURE, None, "absent"),
        (OMIT_TEMPERATURE, 0.7, "absent"),
        (0.6, None, 0.6),
        (0.6, 0.2, 0.6),
        (1, 0.2, 1),
        (0.0, 1.0, 0.0),
    ],
)
@pytest.mark.parametrize("mode", ["chat_completions", "codex_responses", "anthropic_messages"])
def test_fixed_temperature(fixed: Any, requested: float | None, expected: Any, mode: str) -> None:
    p = ProviderProfile(name="temp", base_url="https://t.example.com/v1", fixed_temperature=fixed)
    req = build_request(resolved_for(p, api_mode=mode), USER, ChatOptions(temperature=requested))
    if expected == "absent":
        assert "temperature" not in req.body
    else:
        assert req.body["temperature"] == expected and type(req.body["temperature"]) is type(expected)


def test_fixed_temperature_in_bedrock_inference_config() -> None:
    p = ProviderProfile(name="temp", base_url="https://t.example.com", fixed_temperature=OMIT_TEMPERATURE)
    req = bedrock_converse.build(resolved_for(p, api_mode="bedrock_converse"), USER, ChatOptions(temperature=0.5))
    assert "temperature" not in req.body.get("inferenceConfig", {})
    p.fixed_temperature = 0.25
    req = bedrock_converse.build(resolved_for(p, api_mode="bedrock_converse"), USER, ChatOptions(temperature=0.5))
    assert req.body["inferenceConfig"]["temperature"] == 0.25


class PerModelCap(ProviderProfile):
    def get_max_tokens(self, model: str) -> int | None:
        return 500 if model.startswith("big") else None


@pytest.mark.parametrize("mode,field", [("chat_completions", "max_tokens"), ("codex_responses", "max_output_tokens")])
def test_max_tokens_request_then_profile(mode: str, field: str) -> None:
    p = PerModelCap(name="cap", base_url="https://cap.example.com/v1", default_max_tokens=999)
    build = lambda model, asked: build_request(resolved_for(p, model=model, api_mode=mode), USER, ChatOptions(max_tokens=asked))  # noqa: E731
    assert build("big-1", 100).body[field] == 100
    assert build("big-1", None).body[field] == 500
    assert field not in build("small-1", None).body
    assert build("small-1", 7).body[field] == 7


def test_default_max_tokens_through_the_default_hook() -> None:
    p = ProviderProfile(name="nv", base_url="https://nv.example.com/v1", default_max_tokens=16384)
    req = chat_completions.build(resolved_for(p), USER, ChatOptions())
    assert req.body["max_tokens"] == 16384


def test_default_headers_are_sent() -> None:
    req = chat_completions.build(resolved_for(profile("gmi")), USER, ChatOptions())
    assert req.headers["User-Agent"] == "HermesAgent/0.13.0"


# -- hooks that misbehave ---------------------------------------------------------


class Faulty(ProviderProfile):
    mode: str = ""

    def prepare_messages(self, messages: list[dict[str, Any]]) -> Any:
        if self.mode == "prepare-raises":
            raise KeyError("role")
        if self.mode == "prepare-dict":
            return {"messages": messages}
        if self.mode == "prepare-none":
            return None
        return messages

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> Any:
        if self.mode == "extra-raises":
            raise ValueError("bad extra body")
        if self.mode == "extra-list":
            return [("a", 1)]
        if self.mode == "extra-none":
            return None
        return {}

    def build_api_kwargs_extras(self, *, reasoning_config: Any = None, **context: Any) -> Any:
        if self.mode == "extras-raises":
            raise RuntimeError("bad extras")
        if self.mode == "extras-dict":
            return {}
        if self.mode == "extras-list":
            return [{}, {}]
        if self.mode == "extras-none-part":
            return ({}, None)
        if self.mode == "extras-three":
            return ({}, {}, {})
        if self.mode == "extras-one":
            return ({},)
        return {}, {}

    def get_max_tokens(self, model: str) -> Any:
        if self.mode == "max-raises":
            raise TypeError("bad cap")
        if self.mode == "max-string":
            return "100"
        return None


FAULTS = [
    ("prepare-raises", "prepare_messages"),
    ("prepare-dict", "prepare_messages"),
    ("prepare-none", "prepare_messages"),
    ("extra-raises", "build_extra_body"),
    ("extra-list", "build_extra_body"),
    ("extra-none", "build_extra_body"),
    ("extras-raises", "build_api_kwargs_extras"),
    ("extras-dict", "build_api_kwargs_extras"),
    ("extras-list", "build_api_kwargs_extras"),
    ("extras-none-part", "build_api_kwargs_extras"),
    ("extras-three", "build_api_kwargs_extras"),
    ("extras-one", "build_api_kwargs_extras"),
    ("max-raises", "get_max_tokens"),
    ("max-string", "get_max_tokens"),
]


@pytest.mark.parametrize("mode,hook", FAULTS, ids=[m for m, _ in FAULTS])
def test_a_misbehaving_hook_is_a_plugin_error_naming_the_plugin(mode: str, hook: str) -> None:
    p = Faulty(name="faulty-plugin", base_url="https://faulty.example.com/v1")
    p.mode = mode
    register_provider(p)
    with pytest.raises(HermesError) as info:
        chat_completions.build(resolved_for(p), USER, ChatOptions())
    err = info.value
    assert err.kind == "plugin_error"
    assert "'faulty-plugin'" in err.message and hook in err.message
    assert err.provider == "faulty-plugin"
    assert err.hint


@pytest.mark.parametrize("mode", ["codex_responses", "anthropic_messages", "bedrock_converse"])
def test_a_misbehaving_max_tokens_hook_in_other_builders(mode: str) -> None:
    p = Faulty(name="faulty-plugin", base_url="https://faulty.example.com/v1")
    p.mode = "max-string"
    with pytest.raises(HermesError) as info:
        build_request(resolved_for(p, api_mode=mode), USER, ChatOptions())
    assert info.value.kind == "plugin_error" and "get_max_tokens" in info.value.message


def test_plugin_error_hint_names_the_plugin_file(unit_env: UnitEnv) -> None:
    import providers

    plugin_dir = write_plugin(
        unit_env.user_plugins,
        "faulty-file",
        """
        from providers import register_provider
        from providers.base import ProviderProfile

        class Faulty(ProviderProfile):
            def build_extra_body(self, *, session_id=None, **context):
                raise ValueError("bad extra body")

        register_provider(Faulty(name="faulty-file", base_url="https://faulty.example.com/v1"))
        """,
    )
    providers.reload()
    p = profile("faulty-file")
    with pytest.raises(HermesError) as info:
        chat_completions.build(resolved_for(p), USER, ChatOptions())
    assert info.value.kind == "plugin_error"
    assert "ValueError: bad extra body" in info.value.message
    assert str(plugin_dir / "__init__.py") in info.value.hint


# -- codex_responses --------------------------------------------------------------

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "developer", "content": [{"type": "text", "text": "Use Python."}]},
    {"role": "user", "content": "first"},
    {"role": "user", "content": [{"type": "text", "text": "second "}, {"type": "text", "text": "part"}]},
    {"role": "assistant", "content": "answer"},
    {"role": "assistant", "content": "more"},
    {"role": "user", "content": "third", "_meta": 1},
]


def test_codex_responses_body() -> None:
    xai = profile("xai")
    r = resolved_for(xai, model="grok-4", api_mode="codex_responses")
    req = codex_responses.build(r, CONVERSATION, ChatOptions(max_tokens=256, temperature=0.1))
    assert req.url == "https://api.x.ai/v1/responses"
    assert req.headers["Authorization"] == f"Bearer {KEY}"
    assert req.api_mode == "codex_responses"
    body = req.body
    assert body["model"] == "grok-4"
    assert body["instructions"] == "You are terse.\n\nUse Python."
    assert body["input"] == [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second part"},
        {"role": "assistant", "content": "answer"},
        {"role": "assistant", "content": "more"},
        {"role": "user", "content": "third"},
    ]
    assert body["max_output_tokens"] == 256
    assert "max_tokens" not in body
    assert body["temperature"] == 0.1
    assert body["store"] is False
    assert body["stream"] is True


def test_codex_responses_without_system_and_with_reasoning() -> None:
    r = resolved_for(profile("openai-codex"), model="gpt-5.4", api_mode="codex_responses", key=None)
    req = codex_responses.build(r, USER, ChatOptions(reasoning_config={"enabled": True, "effort": "high"}))
    assert "instructions" not in req.body
    assert req.body["reasoning"] == {"effort": "high", "summary": "auto"}
    assert "Authorization" not in req.headers
    assert req.url == "https://chatgpt.com/backend-api/codex/responses"
    off = codex_responses.build(r, USER, ChatOptions(reasoning_config={"enabled": False, "effort": "high"}))
    assert "reasoning" not in off.body



@pytest.mark.parametrize("provider, model, asked, sent", [
    ("openai-codex", "gpt-5.4", "max", "max"),        # Hermes 0.19.0's efforts go out as asked
    ("openai-codex", "gpt-5.4", "ultra", "ultra"),
    ("openai-codex", "gpt-5.6-codex", "ultra", "max"),  # Codex's ultra tier is max on the wire
    ("openai-codex", "gpt-5.4", "minimal", "low"),
    ("xai", "grok-4.3", "max", "high"),                # xAI's Responses API stops at high
    ("xai", "grok-4.3", "xhigh", "high"),
    ("xai", "grok-4.3", "low", "low"),
])
def test_codex_responses_efforts_as_hermes_sends_them(provider: str, model: str, asked: str, sent: str) -> None:
    r = resolved_for(profile(provider), model=model, api_mode="codex_responses")
    req = codex_responses.build(r, USER, ChatOptions(reasoning_config={"enabled": True, "effort": asked}))
    assert req.body["reasoning"] == {"effort": sent, "summary": "auto"}


# -- anthropic_messages -----------------------------------------------------------


def test_anthropic_messages_body_and_headers() -> None:
    anthropic = profile("anthropic")
    r = resolved_for(anthropic, model="claude-sonnet-4-6", api_mode="anthropic_messages")
    req = anthropic_messages.build(r, CONVERSATION, ChatOptions(temperature=0.4))
    assert req.url == "https://api.anthropic.com/v1/messages"
    assert req.headers["x-api-key"] == KEY
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert "Authorization" not in req.headers
    body = req.body
    assert body["system"] == "You are terse.\n\nUse Python."
    assert body["messages"] == [
        {"role": "user", "content": "first\n\nsecond part"},
        {"role": "assistant", "content": "answer\n\nmore"},
        {"role": "user", "content": "third"},
    ]
    assert all(m["role"] != "system" for m in body["messages"])
    assert isinstance(body["max_tokens"], int) and body["max_tokens"] > 0
    assert body["temperature"] == 0.4
    assert body["stream"] is True


def test_anthropic_max_tokens_is_always_set() -> None:
    plain = ProviderProfile(name="anth", base_url="https://a.example.com", api_mode="anthropic_messages")
    r = resolved_for(plain, api_mode="anthropic_messages")
    assert anthropic_messages.build(r, USER, ChatOptions()).body["max_tokens"] == 128000  # m-1: the newest ceiling
    assert anthropic_messages.build(r, USER, ChatOptions(max_tokens=321)).body["max_tokens"] == 321
    capped = ProviderProfile(name="anth", base_url="https://a.example.com", default_max_tokens=4000)
    assert anthropic_messages.build(resolved_for(capped, api_mode="anthropic_messages"), USER, ChatOptions()).body["max_tokens"] == 4000
    no_profile = resolved_for(None, base_url="http://127.0.0.1:8000/anthropic", api_mode="anthropic_messages")
    assert anthropic_messages.build(no_profile, USER, ChatOptions()).body["max_tokens"] == 128000
    sonnet = resolved_for(plain, model="claude-sonnet-4-6", api_mode="anthropic_messages")
    assert anthropic_messages.build(sonnet, USER, ChatOptions()).body["max_tokens"] == 64000  # Hermes 0.19.0's table


def test_anthropic_no_system_key_without_a_system_message() -> None:
    r = resolved_for(profile("anthropic"), api_mode="anthropic_messages")
    assert "system" not in anthropic_messages.build(r, USER, ChatOptions()).body


@pytest.mark.parametrize(
    "base,url",
    [
        ("https://api.anthropic.com", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/v1", "https://api.anthropic.com/v1/messages"),
        ("https://api.anthropic.com/v1/", "https://api.anthropic.com/v1/messages"),
        ("https://api.minimax.io/anthropic", "https://api.minimax.io/anthropic/v1/messages"),
        ("https://api.minimax.io/anthropic/v1", "https://api.minimax.io/anthropic/v1/messages"),
    ],
)
def test_anthropic_messages_url(base: str, url: str) -> None:
    r = resolved_for(profile("anthropic"), base_url=base, api_mode="anthropic_messages")
    assert anthropic_messages.build(r, USER, ChatOptions()).url == url
    assert anthropic_messages.messages_url(base) == url


def test_anthropic_thinking_as_hermes_0_19_sends_it() -> None:
    """Budgeted thinking (Hermes' budgets, temperature 1) below Claude 4.6; adaptive with an effort from 4.6 on."""
    r = resolved_for(profile("anthropic"), api_mode="anthropic_messages")  # m-1: not Claude, budgeted
    req = anthropic_messages.build(r, USER, ChatOptions(temperature=0.5, max_tokens=1000,
                                                         reasoning_config={"enabled": True, "effort": "high"}))
    assert req.body["thinking"] == {"type": "enabled", "budget_tokens": 16000}
    assert req.body["max_tokens"] == 16000 + 4096 and req.body["temperature"] == 1
    for model, effort, sent in [("claude-opus-4-6", "high", "high"), ("claude-opus-4-6", "xhigh", "max"),
                                ("claude-opus-4-7", "xhigh", "xhigh"), ("claude-sonnet-4-6", "ultra", "max"),
                                ("claude-sonnet-4-6", "minimal", "low")]:
        r = resolved_for(profile("anthropic"), model=model, api_mode="anthropic_messages")
        body = anthropic_messages.build(r, USER, ChatOptions(temperature=0.5, reasoning_config={"enabled": True, "effort": effort})).body
        assert (body["thinking"], body["output_config"]) == ({"type": "adaptive", "display": "summarized"}, {"effort": sent})
        assert "temperature" not in body
    haiku = resolved_for(profile("anthropic"), model="claude-haiku-4-5", api_mode="anthropic_messages")
    assert "thinking" not in anthropic_messages.build(haiku, USER, ChatOptions(reasoning_config={"enabled": True, "effort": "high"})).body


def test_anthropic_default_headers_and_no_key() -> None:
    p = ProviderProfile(name="anth", base_url="https://a.example.com", default_headers={"anthropic-beta": "x"})
    req = anthropic_messages.build(resolved_for(p, key=None, api_mode="anthropic_messages"), USER, ChatOptions())
    assert "x-api-key" not in req.headers
    assert req.headers["anthropic-beta"] == "x"
    assert req.headers["anthropic-version"] == "2023-06-01"


# -- bedrock_converse -------------------------------------------------------------


def test_bedrock_converse_body() -> None:
    bedrock = profile("bedrock")
    model = "anthropic.claude-sonnet-4-6-v1:0"
    r = resolved_for(bedrock, model=model, api_mode="bedrock_converse", key=None)
    req = bedrock_converse.build(r, CONVERSATION, ChatOptions(max_tokens=300, temperature=0.2))
    assert req.url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-6-v1%3A0/converse-stream"
    assert req.body == {
        "messages": [
            {"role": "user", "content": [{"text": "first\n\nsecond part"}]},
            {"role": "assistant", "content": [{"text": "answer\n\nmore"}]},
            {"role": "user", "content": [{"text": "third"}]},
        ],
        "system": [{"text": "You are terse.\n\nUse Python."}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2},
    }
    assert req.api_mode == "bedrock_converse"
    unstreamed = bedrock_converse.build(r, USER, ChatOptions(stream=False))
    assert unstreamed.url.endswith("/converse")
    assert "inferenceConfig" not in unstreamed.body and "system" not in unstreamed.body


# -- dispatch and preview ------------------------------------------------------------


@pytest.mark.parametrize(
    "mode,path",
    [("chat_completions", "/chat/completions"), ("codex_responses", "/responses"),
     ("anthropic_messages", "/v1/messages"), ("bedrock_converse", "/converse-stream")],
)
def test_dispatch_picks_the_builder(mode: str, path: str) -> None:
    p = ProviderProfile(name="d", base_url="https://d.example.com")
    req = build_request(resolved_for(p, api_mode=mode), USER, ChatOptions())
    assert req.api_mode == mode and req.url.endswith(path)


def test_dispatch_unknown_mode_is_a_config_error() -> None:
    with pytest.raises(HermesError) as info:
        build_request(resolved_for(None, api_mode="grpc"), USER, ChatOptions())
    assert info.value.kind == "config_error" and "grpc" in info.value.message


@pytest.mark.parametrize("mode", ["chat_completions", "codex_responses", "anthropic_messages"])
def test_preview_masks_secrets(mode: str) -> None:
    p = ProviderProfile(name="pv", base_url="https://pv.example.com/v1", default_headers={"X-Plain": "visible"})
    req = build_request(resolved_for(p, api_mode=mode), USER, ChatOptions())
    preview = to_wire(req.preview())
    assert KEY not in json.dumps(preview)
    assert KEY in json.dumps(req.headers)  # the real request still carries it
    headers = preview["headers"]
    if "Authorization" in headers:
        assert headers["Authorization"] == "Bearer ***"
    if "x-api-key" in headers:
        assert headers["x-api-key"] == "***"
    assert headers["X-Plain"] == "visible"
    assert preview["url"] == req.url and preview["body"] == req.body
    assert preview["apiMode"] == mode and preview["provider"] == "pv" and preview["method"] == "POST"


def test_mask_headers() -> None:
    masked = mask_headers({
        "Authorization": "Bearer sk-1", "X-API-Key": "k", "api-key": "a b", "x-goog-api-key": "g",
        "Proxy-Authorization": "Basic abc", "User-Agent": "ua",
    })
    assert masked == {
        "Authorization": "Bearer ***", "X-API-Key": "***", "api-key": "a ***", "x-goog-api-key": "***",
        "Proxy-Authorization": "Basic ***", "User-Agent": "ua",
    }


def test_wire_messages_keeps_only_wire_fields() -> None:
    assert wire_messages([{"role": "user", "content": "x", "_a": 1, "timestamp": 2, "name": "n"}]) == [
        {"role": "user", "content": "x", "name": "n"}
    ]
