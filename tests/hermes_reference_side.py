"""Hermes' side of the conformance matrix: run inside a venv holding hermes-agent (0.13.0, 0.18.2, 0.19.0).

Reads ``{"cases": [...]}`` on stdin and prints, for each case, the request
Hermes' own code builds: the keyword arguments come from
``ChatCompletionsTransport.build_kwargs`` with the profile Hermes' registry
returns (the snapshot's plugins, installed by the caller as user plugins
under ``$HERMES_HOME``), ``supports_reasoning`` from
``AIAgent._supports_reasoning_extra_body`` and the max-tokens spelling from
``AIAgent._max_tokens_param``, assembled as ``AIAgent._build_api_kwargs``
does. The OpenAI SDK then turns them into the HTTP request (captured by an
in-memory transport, nothing leaves the process), with the profile's
``default_headers`` on the client as Hermes' client construction puts them.

A case may carry ``plugin`` (tests/test_thirdparty_plugins.py): a third-party
package on ``PYTHONPATH`` that Hermes is to load first, the way a Hermes
release running it does: its module imported and its ``register`` called
(with ``None`` for a context when it takes one; Hermes' own context has no
provider registration). Or ``profile``: the declarative fields of a plugin no
Hermes release on the registry can import, registered as a plain profile.

From 0.18 on (:func:`build_newer`) the request is assembled as the newer
agent does: its api_mode upgrade (GPT-5.x through the Responses API, except
on nous, custom and Azure), the client headers its construction picks by host
(OpenRouter's attribution and response-cache headers from ``build_or_headers``
with the case's ``openrouter`` config section, Claude's fine-grained tool
streaming beta there, otherwise the profile's ``default_headers``),
``stream_options`` on its streaming chat call, the Anthropic-output table as
the last-resort cap for any Claude model, and for ``anthropic_messages`` the
adapter's kwargs with the beta header its client construction sets.

This file never imports hermesd: it is Hermes, measured.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def build(case: dict[str, Any]) -> dict[str, Any]:
    from hermes_cli import __version__

    if tuple(int(p) for p in __version__.split(".")[:2]) >= (0, 18):
        return build_newer(case)
    import httpx
    import openai
    from agent.transports.chat_completions import ChatCompletionsTransport
    from hermes_constants import parse_reasoning_effort
    from providers import get_provider_profile
    from run_agent import AIAgent

    if case.get("plugin") or case.get("profile"):
        load_third_party(case)
    profile = get_provider_profile(case["provider"])
    if profile is None:
        raise SystemExit(f"Hermes has no profile {case['provider']!r}")
    agent = AIAgent.__new__(AIAgent)  # only the attributes the gate and helpers read
    agent.base_url = case["base_url"]
    agent.model = case["model"]
    agent.provider = profile.name
    reasoning_config = parse_reasoning_effort(case.get("effort") or "")
    anthropic_max = None
    if (agent._is_openrouter_url() or "nousresearch" in agent._base_url_lower) and "claude" in agent.model.lower():
        from agent.anthropic_adapter import _get_anthropic_max_output

        anthropic_max = _get_anthropic_max_output(agent.model)
    kwargs = ChatCompletionsTransport().build_kwargs(
        model=case["model"],
        messages=case["messages"],
        tools=None,
        base_url=case["base_url"],
        max_tokens=case.get("max_tokens"),
        max_tokens_param_fn=agent._max_tokens_param,
        reasoning_config=reasoning_config,
        session_id=case.get("session_id"),
        provider_profile=profile,
        ollama_num_ctx=case.get("ollama_num_ctx"),
        provider_preferences=case.get("provider_preferences") or None,
        openrouter_min_coding_score=case.get("min_coding_score"),
        anthropic_max_output=anthropic_max,
        supports_reasoning=agent._supports_reasoning_extra_body(),
    )
    captured: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(400, json={"error": {"message": "captured"}})

    client = openai.OpenAI(
        api_key=case["api_key"],
        base_url=case["base_url"],
        default_headers=dict(profile.default_headers or {}) or None,
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(capture)),
    )
    try:
        client.chat.completions.create(**kwargs)
    except openai.BadRequestError:
        pass
    [request] = captured
    provider_defined = {"authorization", *(k.lower() for k in profile.default_headers or {}),
                        *(k.lower() for k in kwargs.get("extra_headers") or {})}
    return {
        "url": str(request.url),
        "body": json.loads(request.content),
        "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() in provider_defined},
        "supports_reasoning": agent._supports_reasoning_extra_body(),
        # Hermes loads user plugins as _hermes_user_provider_<dir>: the snapshot's, not the wheel's own.
        "user_plugin": f"_hermes_user_provider_{profile.name.replace('-', '_')}" in sys.modules,
    }


def build_newer(case: dict[str, Any]) -> dict[str, Any]:
    """The request hermes-agent >= 0.18 sends for ``case`` (see the module's docstring)."""
    import httpx
    import openai
    from agent.auxiliary_client import build_or_headers
    from hermes_constants import parse_reasoning_effort
    from providers import get_provider_profile
    from run_agent import AIAgent
    from utils import base_url_host_matches

    if case.get("plugin") or case.get("profile"):
        load_third_party(case)
    profile = get_provider_profile(case["provider"])
    if profile is None:
        raise SystemExit(f"Hermes has no profile {case['provider']!r}")
    agent = AIAgent.__new__(AIAgent)
    agent.base_url = case["base_url"]
    agent.model = case["model"]
    agent.provider = profile.name
    agent.reasoning_config = parse_reasoning_effort(case.get("effort") or "")
    api_mode = case.get("api_mode") or getattr(profile, "api_mode", None) or "chat_completions"
    if api_mode == "chat_completions" and not agent._is_azure_openai_url() and (
            agent._is_direct_openai_url()
            or agent._provider_model_requires_responses_api(agent.model, provider=agent.provider)):
        api_mode = "codex_responses"
    messages = case["messages"]
    if api_mode == "anthropic_messages":
        return _anthropic(case, agent, messages)

    # The client's headers, chosen by host as the agent's client construction chooses them.
    base = case["base_url"]
    if base_url_host_matches(base, "openrouter.ai"):
        headers = build_or_headers(case.get("openrouter_config", {"response_cache": True, "response_cache_ttl": 300}))
    elif base_url_host_matches(base, "githubcopilot.com"):
        from hermes_cli.models import copilot_default_headers

        headers = copilot_default_headers()
    else:
        headers = dict(profile.default_headers or {})
    if base_url_host_matches(base, "openrouter.ai") and "claude" in agent.model.lower():
        headers["x-anthropic-beta"] = "fine-grained-tool-streaming-2025-05-14"
    captured: list[httpx.Request] = []

    def capture(request: httpx.Request) -> httpx.Response:
        captured.append(request)
        return httpx.Response(400, json={"error": {"message": "captured"}})

    client = openai.OpenAI(api_key=case["api_key"], base_url=base, default_headers=headers or None, max_retries=0,
                           http_client=httpx.Client(transport=httpx.MockTransport(capture)))
    if api_mode == "codex_responses":
        from agent.transports.codex import ResponsesApiTransport as Codex

        kwargs = Codex().build_kwargs(
            model=agent.model, messages=messages, tools=None, reasoning_config=agent.reasoning_config,
            session_id=case.get("session_id"), max_tokens=case.get("max_tokens"), provider=agent.provider,
            base_url=base, is_xai_responses=agent.provider in {"xai", "xai-oauth"})
        kwargs.pop("timeout", None)
        call = lambda: client.responses.create(**kwargs, stream=True)  # noqa: E731
    else:
        from agent.anthropic_adapter import _ANTHROPIC_OUTPUT_LIMITS, _get_anthropic_max_output
        from agent.gemini_native_adapter import is_native_gemini_base_url
        from agent.transports.chat_completions import ChatCompletionsTransport

        norm = agent.model.lower().replace(".", "-")
        anthropic_max = _get_anthropic_max_output(agent.model) if any(k in norm for k in _ANTHROPIC_OUTPUT_LIMITS) else None
        kwargs = ChatCompletionsTransport().build_kwargs(
            model=agent.model, messages=messages, tools=None, base_url=base, max_tokens=case.get("max_tokens"),
            max_tokens_param_fn=agent._max_tokens_param, reasoning_config=agent.reasoning_config,
            session_id=case.get("session_id"), provider_profile=profile, ollama_num_ctx=case.get("ollama_num_ctx"),
            provider_preferences=case.get("provider_preferences") or None,
            openrouter_min_coding_score=case.get("min_coding_score"), anthropic_max_output=anthropic_max,
            supports_reasoning=agent._supports_reasoning_extra_body(),
        )
        kwargs.pop("timeout", None)
        kwargs["stream"] = True
        if not is_native_gemini_base_url(base):
            kwargs["stream_options"] = {"include_usage": True}
        call = lambda: client.chat.completions.create(**kwargs)  # noqa: E731
    try:
        call()
    except openai.BadRequestError:
        pass
    [request] = captured
    provider_defined = {"authorization", *(k.lower() for k in headers), *(k.lower() for k in kwargs.get("extra_headers") or {})}
    body = json.loads(request.content)
    body.pop("stream", None)
    return {
        "url": str(request.url),
        "api_mode": api_mode,
        "body": body,
        "headers": {k.lower(): v for k, v in request.headers.items() if k.lower() in provider_defined},
        "supports_reasoning": agent._supports_reasoning_extra_body(),
        "user_plugin": f"_hermes_user_provider_{profile.name.replace('-', '_')}" in sys.modules,
    }


def _anthropic(case: dict[str, Any], agent: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The Messages request: the adapter's kwargs; the beta header and key as its client construction sets them."""
    import re

    from agent.anthropic_adapter import _common_betas_for_base_url
    from agent.transports.anthropic import AnthropicTransport

    base = re.sub(r"/v1/?$", "", case["base_url"].rstrip("/"))
    kwargs = AnthropicTransport().build_kwargs(
        model=agent.model, messages=messages, tools=None, max_tokens=case.get("max_tokens"),
        reasoning_config=agent.reasoning_config, base_url=base)
    system, rest = kwargs.get("system"), kwargs.get("messages")
    if system is None and rest is None:
        raise SystemExit("Hermes' Anthropic transport built no messages")
    body = {k: v for k, v in kwargs.items() if k not in ("extra_headers", "extra_body", "timeout")}
    body.update(kwargs.get("extra_body") or {})
    headers = {"x-api-key": case["api_key"], "anthropic-version": "2023-06-01",
               "anthropic-beta": ",".join(_common_betas_for_base_url(base))}
    headers.update({k.lower(): v for k, v in (kwargs.get("extra_headers") or {}).items()})
    return {"url": base + "/v1/messages", "api_mode": "anthropic_messages", "body": body, "headers": headers,
            "supports_reasoning": False, "user_plugin": True}


def load_third_party(case: dict[str, Any]) -> None:
    import importlib
    import inspect

    from providers import list_providers, register_provider
    from providers.base import ProviderProfile

    list_providers()  # Hermes' own discovery first, so it cannot replace the plugin's profile afterwards
    if case.get("profile"):
        register_provider(ProviderProfile(**case["profile"]))
        return
    module_name, _, attr = case["plugin"].partition(":")
    target = getattr(importlib.import_module(module_name), attr or "register", None)
    if callable(target):
        takes = any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in inspect.signature(target).parameters.values())
        target(None) if takes else target()


def main() -> None:
    cases = json.load(sys.stdin)["cases"]
    json.dump({"results": [build(case) for case in cases]}, sys.stdout)


if __name__ == "__main__":
    main()
