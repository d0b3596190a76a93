"""OpenAI Responses API requests (xAI, OpenAI, ChatGPT Codex)."""

from __future__ import annotations

from typing import Any

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, text_of, wire_messages
from hermesd.wire.hooks import max_tokens, temperature


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
        body["reasoning"] = {"effort": reasoning["effort"], "summary": "auto"}
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
