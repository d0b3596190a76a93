"""AWS Bedrock Converse requests. Signing happens in the transport (botocore)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, split_system, wire_messages
from hermesd.wire.anthropic_messages import _alternating
from hermesd.wire.hooks import max_tokens, temperature


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Converse request (``converse-stream`` when streaming); the Authorization header only says botocore signs it."""
    profile = resolved.profile
    system, conversation = split_system(wire_messages(messages))
    body: dict[str, Any] = {
        "messages": [
            {"role": m["role"], "content": [{"text": m["content"]}]} for m in _alternating(conversation)
        ]
    }
    if system:
        body["system"] = [{"text": system}]
    inference: dict[str, Any] = {}
    cap = max_tokens(profile, options, resolved.model)
    if cap is not None:
        inference["maxTokens"] = cap
    temp = temperature(profile, options.temperature)
    if temp is not None:
        inference["temperature"] = temp
    if inference:
        body["inferenceConfig"] = inference
    body.update(options.extra_body)
    suffix = "converse-stream" if options.stream else "converse"
    return PreparedRequest(
        url=join_url(resolved.base_url, f"model/{quote(resolved.model, safe='')}/{suffix}"),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": "AWS4-HMAC-SHA256 (signed by the AWS SDK)"},
        body=body,
        api_mode="bedrock_converse",
        provider=resolved.provider,
        model=resolved.model,
    )


