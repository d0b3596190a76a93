"""Anthropic Messages API requests (Anthropic, MiniMax and other /anthropic endpoints)."""

from __future__ import annotations

from typing import Any

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, text_of, wire_messages
from hermesd.wire.anthropic_models import max_output, thinking
from hermesd.wire.hooks import max_tokens, temperature

ANTHROPIC_VERSION = "2023-06-01"
# Hermes 0.19.0's betas on every Messages request (GA on Claude 4.6+, still needed by older models
# and compatible endpoints), except MiniMax's, which fails tool use with fine-grained streaming.
BETAS = ("interleaved-thinking-2025-05-14", "fine-grained-tool-streaming-2025-05-14")


def messages_url(base_url: str) -> str:
    """The Messages endpoint: ``/messages`` on a base URL that ends in ``/v1``, else ``/v1/messages``."""
    base = base_url.rstrip("/")
    return join_url(base, "messages" if base.endswith("/v1") else "v1/messages")


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Messages API request: system prompt apart, turns alternating, ``max_tokens`` always set.

    ``max_tokens`` is the model's ceiling unless the request or profile sets
    one (:mod:`hermesd.wire.anthropic_models`, as Hermes 0.19.0); a reasoning
    effort becomes adaptive thinking on Claude 4.6+ or a budget on older models
    (``max_tokens`` raised above it), with no caller temperature.
    """
    profile = resolved.profile
    system, conversation = split_system(wire_messages(messages))
    body: dict[str, Any] = {
        "model": resolved.model,
        "max_tokens": max_tokens(profile, options, resolved.model) or max_output(resolved.model),
    }
    if system:
        body["system"] = system
    body["messages"] = _alternating(conversation)
    fields, least = thinking(resolved.model, options.reasoning_config)
    if fields:
        body.update(fields)
        body["max_tokens"] = max(body["max_tokens"], least)
    else:
        temp = temperature(profile, options.temperature)
        if temp is not None:
            body["temperature"] = temp
    body.update(options.extra_body)
    body["stream"] = options.stream
    headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
    betas = [b for b in BETAS if not ("minimax" in resolved.base_url.lower() and "fine-grained" in b)]
    headers["anthropic-beta"] = ",".join(betas)
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
