"""OpenAI Responses API requests (xAI, OpenAI, ChatGPT Codex)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, text_of, wire_messages
from hermesd.wire.hooks import max_tokens, temperature


def effort(resolved: Resolved, asked: str) -> str:
    """The Responses API's spelling of an effort, clamped as Hermes 0.19.0 clamps it.

    ``minimal`` is ``low`` everywhere; ``ultra`` (Codex's product tier) is ``max``
    on GPT-5.6; xAI tops out at ``high``.
    """
    if asked == "minimal":
        return "low"
    if resolved.provider in ("xai", "xai-oauth") or urlsplit(resolved.base_url).hostname == "api.x.ai":
        return "high" if asked in ("xhigh", "max", "ultra") else asked
    return "max" if asked == "ultra" and "gpt-5.6" in resolved.model.lower() else asked


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Responses API request: system text as ``instructions``; ``store: false``, so the reply is not kept upstream."""
    profile = resolved.profile
    instructions, conversation = split_system(wire_messages(messages))
    body: dict[str, Any] = {"model": resolved.model}
    if instructions:
        body["instructions"] = instructions
    body["input"] = [
        {"role": m.get("role", "user"), "content": text_of(m.get("content"))} for m in conversation
    ]
    temp = temperature(profile, options.temperature)
    if temp is not None:
        body["temperature"] = temp
    cap = max_tokens(profile, options, resolved.model)
    if cap is not None:
        body["max_output_tokens"] = cap
    reasoning = options.reasoning_config
    if reasoning and reasoning.get("enabled") is not False and reasoning.get("effort"):
        body["reasoning"] = {"effort": effort(resolved, reasoning["effort"]), "summary": "auto"}
    body["store"] = False
    body.update(options.extra_body)
    body["stream"] = options.stream
    headers = {"Content-Type": "application/json"}
    if resolved.api_key:
        headers["Authorization"] = f"Bearer {resolved.api_key}"
    if profile is not None:
        headers.update(profile.default_headers or {})
    return PreparedRequest(
        url=join_url(resolved.base_url, "responses"),
        method="POST",
        headers=headers,
        body=body,
        api_mode="codex_responses",
        provider=resolved.provider,
        model=resolved.model,
    )
