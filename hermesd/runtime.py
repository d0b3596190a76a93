"""Turning "which provider, which model" into an endpoint, a key and an API shape.

Precedence is documented in docs/providers.md and mirrors the Hermes agent,
with one deliberate improvement: the profile's own ``api_mode`` is honoured
before falling back to chat_completions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import providers
from providers.base import ProviderProfile
from providers.pareto import is_openrouter_url

from hermesd import credentials
from hermesd.config import Config
from hermesd.errors import HermesError

KIMI_HOSTS = ("api.kimi.com", "api.moonshot.ai", "api.moonshot.cn")
# Keys tried for an endpoint that no profile describes.
NO_PROFILE_KEY_VARS = ("HERMES_API_KEY", "OPENAI_API_KEY")


@dataclass
class Resolved:
    """Everything a transport needs to reach one provider for one model."""

    provider: str  # canonical name, or "" when no profile describes the endpoint
    profile: ProviderProfile | None
    model: str
    base_url: str
    api_mode: str
    api_key: str | None
    key_env_var: str | None
    key_env_vars: tuple[str, ...] = ()
    model_note: str = ""  # how the model was chosen when nothing named one (doctor, preview)

    @property
    def is_openrouter(self) -> bool:
        return self.provider == "openrouter" or is_openrouter_url(self.base_url)


def host_table() -> dict[str, str]:
    """Hostname -> provider name, from every profile (first registered wins)."""
    table: dict[str, str] = {}
    for profile in providers.list_providers():
        host = profile.get_hostname()
        if host and host not in table:
            table[host] = profile.name
    return table


def provider_for_url(url: str) -> str | None:
    """Reverse-map an endpoint URL to the provider that serves it."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return None
    return host_table().get(host) if host else None


def detect_api_mode(base_url: str) -> str | None:
    """API shape implied by the URL alone, or None when it says nothing."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    path = parts.path.rstrip("/").lower()
    host = (parts.hostname or "").lower()
    if path.endswith("/anthropic") or path.endswith("/anthropic/v1"):
        return "anthropic_messages"
    if host in ("api.openai.com", "api.x.ai"):
        return "codex_responses"
    if host in KIMI_HOSTS and "/coding" in path:
        return "chat_completions"
    return None


def resolve(
    config: Config,
    *,
    provider: str | None = None,
    model: str | None = None,
    profile: ProviderProfile | None = None,
) -> Resolved:
    """Resolve a request. ``profile`` pins the profile a running session started with."""
    configured_provider = (config.get("model.provider") or "").strip()
    configured_url = (config.get("model.base_url") or "").strip().rstrip("/")
    from_env = os.environ.get("HERMES_INFERENCE_PROVIDER", "").strip()
    requested = (provider or "").strip() or configured_provider or ("" if from_env.lower() == "auto" else from_env)

    if profile is None and requested:
        profile = providers.get_provider_profile(requested)
    if profile is None and not requested and configured_url:
        detected = provider_for_url(configured_url)
        profile = providers.get_provider_profile(detected) if detected else None

    if profile is None:
        if configured_url and (not requested or requested == configured_provider):
            return _resolve_without_profile(config, configured_url, model)
        if requested:
            raise HermesError(
                "config_error",
                f"unknown provider {requested!r}",
                hint="run `hermesd providers` to see the names, or check the plugin list in `hermesd doctor`",
            )
        raise _nothing_configured(config)

    uses_config = configured_provider == "" or _same_provider(configured_provider, profile)
    base_url = _base_url(profile, configured_url if uses_config and configured_provider else "")
    chosen_model = (model or "").strip() or ((config.get("model.default") or "").strip() if uses_config else "")
    key_var, key = credentials.find_key(profile.key_env_vars)
    note = ""
    if not chosen_model:
        chosen_model, note = _unnamed_model(config, profile, base_url, key)
    return Resolved(
        provider=profile.name,
        profile=profile,
        model=chosen_model,
        base_url=base_url,
        api_mode=_api_mode(config, profile, chosen_model, base_url, uses_config),
        api_key=key,
        key_env_var=key_var,
        key_env_vars=profile.key_env_vars,
        model_note=note,
    )


def _unnamed_model(config: Config, profile: ProviderProfile, base_url: str, key: str | None) -> tuple[str, str]:
    """Nothing named a model: a keyless server's first served one, else the plugin's fallback."""
    from hermesd.local import default_model

    chosen = default_model(profile, base_url, key, config)
    return chosen.model, chosen.note


def _nothing_configured(config: Config) -> HermesError:
    """No provider: either none was set, or config.yaml cannot be read (then `config set` is refused too)."""
    broken = config.parse_error
    if broken is not None:
        where = f"line {broken.line} of {broken.path}" if broken.line else str(broken.path)
        return HermesError(
            "config_error",
            f"config.yaml cannot be read ({broken.detail}), so no provider is configured",
            hint=f"fix {where} in an editor (hermesd will not overwrite a file it cannot read); "
                 "`hermesd doctor` shows the problem",
        )
    return HermesError(
        "config_error",
        "no provider configured",
        hint="pick a model in your editor, or run `hermesd setup local` or `hermesd config set model.provider NAME`",
    )


def _same_provider(name: str, profile: ProviderProfile) -> bool:
    found = providers.get_provider_profile(name)
    return found is not None and found.name == profile.name


def _base_url(profile: ProviderProfile, configured_url: str) -> str:
    """Config (for the configured provider), then ``*_BASE_URL``, then the profile."""
    if configured_url:
        return configured_url.rstrip("/")
    var = profile.base_url_env_var
    override = credentials.lookup(var) if var else None
    if override and override.strip():
        return override.strip().rstrip("/")
    return (profile.base_url or "").rstrip("/")


def _api_mode(config: Config, profile: ProviderProfile, model: str, base_url: str, uses_config: bool) -> str:
    explicit = (config.get("model.api_mode") or "").strip() if uses_config else ""
    if explicit:
        return explicit
    if model:
        try:
            chosen = profile.api_mode_for_model(model)
        except (Exception, SystemExit):  # noqa: BLE001 - a plugin hook must not break resolution
            chosen = None
        if chosen:
            return chosen
    return detect_api_mode(base_url) or profile.api_mode or "chat_completions"


def _resolve_without_profile(config: Config, base_url: str, model: str | None) -> Resolved:
    """An endpoint defined only in config (or whose plugin is gone or broken)."""
    key_vars = (("OPENROUTER_API_KEY",) if is_openrouter_url(base_url) else ()) + NO_PROFILE_KEY_VARS
    key_var, key = credentials.find_key(key_vars)
    api_mode = (config.get("model.api_mode") or "").strip() or detect_api_mode(base_url) or "chat_completions"
    return Resolved(
        provider="",
        profile=None,
        model=(model or "").strip() or (config.get("model.default") or "").strip(),
        base_url=base_url,
        api_mode=api_mode,
        api_key=key,
        key_env_var=key_var,
        key_env_vars=key_vars,
    )


def reasoning_config(effort: str) -> dict[str, Any] | None:
    """Hermes' reasoning config from ``model.reasoning_effort`` (None: provider default)."""
    if not effort:
        return None
    if effort == "none":
        return {"enabled": False}
    return {"enabled": True, "effort": effort}
