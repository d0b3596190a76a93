"""OpenAI Chat Completions requests, assembled through the profile's hooks.

Order (the plugin contract, section 4): strip internal fields, the profile's
``prepare_messages``, model + messages, temperature per ``fixed_temperature``,
max_tokens, ``build_api_kwargs_extras`` (top-level part), then the extra body:
``build_extra_body``, the extras' body part, the caller's additions, each a
shallow merge over the previous. Hermes' rules outside the plugins
(:mod:`hermesd.wire.hermes_rules`) decide ``supports_reasoning`` and the
``developer`` role; with no profile, the daemon adds OpenRouter's fields
(preferences, reasoning, the Pareto entry) on an openrouter.ai URL. With a
profile, those are the profile's alone, as in Hermes.
"""

from __future__ import annotations

from typing import Any

from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, wire_messages
from hermesd.wire.anthropic_models import has_output_limit, max_output
from hermesd.wire.hermes_rules import client_headers, developer_role, no_profile_extra_body, supports_reasoning
from hermesd.wire.hooks import call_hook, max_tokens, plugin_error, temperature
from hermesd.wire.tool_content import text_tool_results


def is_native_gemini_url(base_url: str) -> bool:
    """Google's native Gemini REST root (not its OpenAI-compatible ``/openai``), which refuses ``stream_options``."""
    url = (base_url or "").strip().rstrip("/").lower()
    return "generativelanguage.googleapis.com" in url and not url.endswith("/openai")


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """A Chat Completions request shaped by the profile's hooks, or with no profile by Hermes' rules for the URL."""
    profile = resolved.profile
    model = resolved.model
    prepared = wire_messages(messages)
    if profile is not None and getattr(profile, "supports_vision_tool_messages", True) is False:
        prepared = text_tool_results(prepared)
    if profile is not None:
        prepared = call_hook(profile, "prepare_messages", list, profile.prepare_messages, prepared)
    prepared = developer_role(prepared, model)
    supports = options.supports_reasoning
    if supports is None:
        supports = supports_reasoning(resolved.base_url, model)

    body: dict[str, Any] = {"model": model, "messages": prepared}
    temp = temperature(profile, options.temperature)
    if temp is not None:
        body["temperature"] = temp
    cap = max_tokens(profile, options, model)
    if cap is None and has_output_limit(model):
        cap = max_output(model)
    if cap is not None:
        body["max_tokens"] = cap

    headers = {"Content-Type": "application/json"}
    if resolved.api_key:
        headers["Authorization"] = f"Bearer {resolved.api_key}"
    extra: dict[str, Any] = {}
    headers.update(client_headers(resolved.base_url, model, profile, options.openrouter_headers))
    if profile is not None:
        extras = call_hook(
            profile,
            "build_api_kwargs_extras",
            tuple,
            lambda: profile.build_api_kwargs_extras(
                reasoning_config=options.reasoning_config,
                model=model,
                base_url=resolved.base_url,
                supports_reasoning=supports,
                session_id=options.session_id,
                ollama_num_ctx=options.ollama_num_ctx,
            ),
        )
        if len(extras) != 2 or not all(isinstance(part, dict) for part in extras):
            raise plugin_error(profile, "build_api_kwargs_extras", "must return (dict, dict)")
        extra_additions, top_level = extras[0], dict(extras[1])
        headers.update({str(k): str(v) for k, v in (top_level.pop("extra_headers", None) or {}).items()})
        top_level.pop("extra_query", None)
        top_level.pop("timeout", None)
        body.update(top_level)
        extra = call_hook(
            profile,
            "build_extra_body",
            dict,
            lambda: profile.build_extra_body(
                session_id=options.session_id,
                model=model,
                base_url=resolved.base_url,
                provider_preferences=options.provider_preferences or None,
                reasoning_config=options.reasoning_config,
                openrouter_min_coding_score=options.min_coding_score,
                api_mode=resolved.api_mode,
            ),
        )
        extra = {**extra, **extra_additions}
    else:
        extra = no_profile_extra_body(
            resolved.base_url,
            model,
            reasoning_config=options.reasoning_config,
            supports=supports,
            provider_preferences=options.provider_preferences,
            min_coding_score=options.min_coding_score,
        )
    extra = {**extra, **options.extra_body}
    body.update(extra)
    body["stream"] = options.stream
    if options.stream and not is_native_gemini_url(resolved.base_url):
        body["stream_options"] = {"include_usage": True}
    return PreparedRequest(
        url=join_url(resolved.base_url, "chat/completions"),
        method="POST",
        headers=headers,
        body=body,
        api_mode="chat_completions",
        provider=resolved.provider,
        model=model,
    )

