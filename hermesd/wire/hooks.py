"""Calling a profile's hooks safely, and the settings every API shape shares.

Plugin code may raise anything or return the wrong type; either way the chat
fails with a ``plugin_error`` naming the plugin, never with a traceback.
"""

from __future__ import annotations

from typing import Any, Callable

from providers.base import OMIT_TEMPERATURE, ProviderProfile

from hermesd.engine.errors import HermesError
from hermesd.wire import ChatOptions


def call_hook(profile: ProviderProfile, name: str, expected: Any, call: Callable[..., Any], *args: Any) -> Any:
    """Run a plugin hook; anything it raises or returns wrong becomes a plugin_error."""
    try:
        result = call(*args)
    except HermesError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - plugin code may raise anything, even exit
        raise plugin_error(profile, name, f"raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(result, expected):
        raise plugin_error(profile, name, f"returned {type(result).__name__}")
    return result


def plugin_error(profile: ProviderProfile, hook: str, what: str) -> HermesError:
    """A plugin_error naming the plugin, its hook, what went wrong and the file to fix."""
    import providers

    origin = providers.provider_origin(profile.name)
    where = f" ({origin.path})" if origin and origin.path else ""
    return HermesError(
        "plugin_error",
        f"provider plugin {profile.name!r}: {hook}() {what}",
        hint=f"fix or remove the plugin{where}; other providers keep working",
        provider=profile.name,
    )


def temperature(profile: ProviderProfile | None, requested: float | None) -> float | None:
    """``fixed_temperature``: None keeps the caller's, OMIT_TEMPERATURE drops it, a number wins."""
    fixed = profile.fixed_temperature if profile is not None else None
    if fixed is OMIT_TEMPERATURE:
        return None
    if fixed is not None:
        return fixed
    return requested


def max_tokens(profile: ProviderProfile | None, options: ChatOptions, model: str) -> int | None:
    """The request's cap, else the profile's for this model."""
    if options.max_tokens is not None or profile is None:
        return options.max_tokens
    cap = call_hook(profile, "get_max_tokens", (int, type(None)), profile.get_max_tokens, model)
    if cap is not None and (isinstance(cap, bool) or cap < 1):
        raise plugin_error(profile, "get_max_tokens", f"returned {cap!r}, not a positive whole number or None")
    return cap
