"""OpenAI Responses API requests (xAI, OpenAI, ChatGPT Codex)."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import urlsplit

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, text_of, wire_messages
from hermesd.wire.hermes_rules import client_headers
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


def prompt_cache_key(instructions: str) -> str | None:
    """Hermes 0.19.0's cache key: content-addressed from the static prefix (no tools are sent), not the session.

    Requests sharing a system prompt land in the same warm prefix bucket;
    the key reveals nothing but a hash of the instructions.
    """
    if not instructions:
        return None
    return "pck_" + hashlib.sha256(f"{instructions}\x00".encode("utf-8", errors="replace")).hexdigest()[:24]


def _is_xai(resolved: Resolved) -> bool:
    return resolved.provider in ("xai", "xai-oauth") or urlsplit(resolved.base_url).hostname == "api.x.ai"


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Responses API request as Hermes 0.19.0 sends it: system text as ``instructions``, ``store: false``
    (the reply is not kept upstream), the reasoning (medium unless configured, with its summary) and its
    encrypted content, which a later turn may replay; a ``prompt_cache_key``."""
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
    body["store"] = False
    key = prompt_cache_key(instructions)
    if key and not _is_xai(resolved):
        body["prompt_cache_key"] = key
    reasoning = options.reasoning_config or {}
    if _is_xai(resolved):  # unchanged from hermesd's earlier rule (issue 23 owns xAI's Responses path)
        if reasoning.get("enabled") is not False and reasoning.get("effort"):
            body["reasoning"] = {"effort": effort(resolved, reasoning["effort"]), "summary": "auto"}
    elif reasoning.get("enabled") is not False:
        body["reasoning"] = {"effort": effort(resolved, reasoning.get("effort") or "medium"), "summary": "auto"}
        body["include"] = ["reasoning.encrypted_content"]
    else:
        body["include"] = []
    body.update(options.extra_body)
    body["stream"] = options.stream
    headers = {"Content-Type": "application/json"}
    if resolved.api_key:
        headers["Authorization"] = f"Bearer {resolved.api_key}"
    headers.update(client_headers(resolved.base_url, resolved.model, profile, options.openrouter_headers))
    return PreparedRequest(
        url=join_url(resolved.base_url, "responses"),
        method="POST",
        headers=headers,
        body=body,
        api_mode="codex_responses",
        provider=resolved.provider,
        model=resolved.model,
    )
