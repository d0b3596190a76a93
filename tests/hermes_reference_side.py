"""Hermes' side of the conformance matrix: run inside a venv holding hermes-agent==0.13.0.

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

This file never imports hermesd: it is Hermes, measured.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def build(case: dict[str, Any]) -> dict[str, Any]:
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
