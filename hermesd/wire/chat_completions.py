"""OpenAI Chat Completions requests, assembled through the profile's hooks.

Order (the plugin contract, section 4): strip internal fields, the profile's
``prepare_messages``, model + messages, temperature per ``fixed_temperature``,
max_tokens, ``build_api_kwargs_extras`` (top-level part), then the extra body:
``build_extra_body``, the extras' body part, the caller's additions, each a
shallow merge over the previous. The Pareto rule is applied last on every
OpenRouter endpoint, with or without a profile.
"""

from __future__ import annotations

from typing import Any, Callable

from providers.base import OMIT_TEMPERATURE, ProviderProfile
from providers.pareto import apply_pareto_router

from hermesd.errors import HermesError
from hermesd.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url, wire_messages


def build(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    profile = resolved.profile
    model = resolved.model
    prepared = wire_messages(messages)
    if profile is not None:
        prepared = _hook(profile, "prepare_messages", list, profile.prepare_messages, prepared)

    body: dict[str, Any] = {"model": model, "messages": prepared}
    temperature = _temperature(profile, options.temperature)
    if temperature is not None:
        body["temperature"] = temperature
    max_tokens = options.max_tokens
    if max_tokens is None and profile is not None:
        max_tokens = _hook(profile, "get_max_tokens", (int, type(None)), profile.get_max_tokens, model)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens

    headers = {"Content-Type": "application/json"}
    if resolved.api_key:
        headers["Authorization"] = f"Bearer {resolved.api_key}"
    extra: dict[str, Any] = {}
    if profile is not None:
        headers.update(profile.default_headers or {})
        extra_additions, top_level = _hook(
            profile,
            "build_api_kwargs_extras",
            tuple,
            lambda: profile.build_api_kwargs_extras(
                reasoning_config=options.reasoning_config,
                model=model,
                base_url=resolved.base_url,
                supports_reasoning=options.supports_reasoning,
                session_id=options.session_id,
                ollama_num_ctx=options.ollama_num_ctx,
            ),
        )
        if not (isinstance(extra_additions, dict) and isinstance(top_level, dict)):
            raise _plugin_error(profile, "build_api_kwargs_extras", "must return (dict, dict)")
        top_level = dict(top_level)
        headers.update({str(k): str(v) for k, v in (top_level.pop("extra_headers", None) or {}).items()})
        top_level.pop("extra_query", None)
        top_level.pop("timeout", None)
        body.update(top_level)
        extra = _hook(
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
    extra = {**extra, **options.extra_body}
    if resolved.is_openrouter:
        extra = apply_pareto_router(extra, model, options.min_coding_score)
    body.update(extra)
    body["stream"] = options.stream
    return PreparedRequest(
        url=join_url(resolved.base_url, "chat/completions"),
        method="POST",
        headers=headers,
        body=body,
        api_mode="chat_completions",
        provider=resolved.provider,
        model=model,
    )


def _temperature(profile: ProviderProfile | None, requested: float | None) -> float | None:
    fixed = profile.fixed_temperature if profile is not None else None
    if fixed is OMIT_TEMPERATURE:
        return None
    if fixed is not None:
        return fixed
    return requested


def _hook(profile: ProviderProfile, name: str, expected: Any, call: Callable[..., Any], *args: Any) -> Any:
    """Run a plugin hook; anything it raises or returns wrong becomes a plugin_error."""
    try:
        result = call(*args)
    except HermesError:
        raise
    except Exception as exc:  # noqa: BLE001 - plugin code may raise anything
        raise _plugin_error(profile, name, f"raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, expected):
        raise _plugin_error(profile, name, f"returned {type(result).__name__}")
    return result


def _plugin_error(profile: ProviderProfile, hook: str, what: str) -> HermesError:
    import providers

    origin = providers.provider_origin(profile.name)
    where = f" ({origin.path})" if origin and origin.path else ""
    return HermesError(
        "plugin_error",
        f"provider plugin {profile.name!r}: {hook}() {what}",
        hint=f"fix or remove the plugin{where}; other providers keep working",
        provider=profile.name,
    )
