"""Anthropic Messages API requests (Anthropic, MiniMax and other /anthropic endpoints)."""

from __future__ import annotations

from typing import Any

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, text_of, wire_messages
from hermesd.wire.hooks import max_tokens, temperature

ANTHROPIC_VERSION = "2023-06-01"
# The Messages API requires max_tokens; used when neither request nor profile sets one.
DEFAULT_MAX_TOKENS = 8192
# max and ultra (Hermes 0.19.0's efforts above xhigh) get the largest budget.
THINKING_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32000, "max": 32000, "ultra": 32000}


def messages_url(base_url: str) -> str:
    """The Messages endpoint: ``/messages`` on a base URL that ends in ``/v1``, else ``/v1/messages``."""
    base = base_url.rstrip("/")
    return join_url(base, "messages" if base.endswith("/v1") else "v1/messages")


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Messages API request: system prompt apart, turns alternating, ``max_tokens`` always set.

    A reasoning effort becomes a thinking budget (``max_tokens`` raised above
    it, no temperature, which thinking does not take).
    """
    profile = resolved.profile
    system, conversation = split_system(wire_messages(messages))
    body: dict[str, Any] = {
        "model": resolved.model,
        "max_tokens": max_tokens(profile, options, resolved.model) or DEFAULT_MAX_TOKENS,
    }
    if system:
        body["system"] = system
    body["messages"] = _alternating(conversation)
    reasoning = options.reasoning_config
    budget = THINKING_BUDGETS.get((reasoning or {}).get("effort", "")) if reasoning and reasoning.get("enabled") else None
    if budget:
        body["thinking"] = {"type": "enabled", "budget_tokens": budget}
        body["max_tokens"] = max(body["max_tokens"], budget + 4096)
    else:
        temp = temperature(profile, options.temperature)
        if temp is not None:
            body["temperature"] = temp
    body.update(options.extra_body)
    body["stream"] = options.stream
    headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    if resolved.api_key:
        headers["x-api-key"] = resolved.api_key
    if profile is not None:
        headers.update(profile.default_headers or {})
    return PreparedRequest(
        url=messages_url(resolved.base_url),
        method="POST",
        headers=headers,
        body=body,
        api_mode="anthropic_messages",
        provider=resolved.provider,
        model=resolved.model,
    )


def _alternating(conversation: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge consecutive same-role turns: the Messages API wants user/assistant alternation."""
    merged: list[dict[str, Any]] = []
    for message in conversation:
        role = "assistant" if message.get("role") == "assistant" else "user"
        text = text_of(message.get("content"))
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n\n" + text
        else:
            merged.append({"role": role, "content": text})
    return merged
