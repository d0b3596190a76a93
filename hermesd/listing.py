"""Shapes of the listing replies (providers, models, config), shared by server and CLI."""

from __future__ import annotations

from typing import Any

import providers
from providers.base import ProviderProfile

from hermesd import catalog, credentials
from hermesd import config as config_mod
from hermesd.errors import HermesError
from hermesd.runtime import resolve

AWS_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK")


def key_status(profile: ProviderProfile) -> str | None:
    """The variable that holds a usable credential for ``profile``, if any."""
    var, _ = credentials.find_key(profile.key_env_vars)
    if var is None and profile.auth_type == "aws_sdk":
        var = next((v for v in AWS_CREDENTIAL_VARS if credentials.is_usable(credentials.lookup(v))), None)
    return var


def provider_row(profile: ProviderProfile) -> dict[str, Any]:
    origin = providers.provider_origin(profile.name)
    var = key_status(profile)
    row: dict[str, Any] = {
        "name": profile.name,
        "displayName": profile.display_name or profile.name,
        "description": profile.description,
        "aliases": list(profile.aliases),
        "apiMode": profile.api_mode,
        "authType": profile.auth_type,
        "baseUrl": profile.base_url,
        "signupUrl": profile.signup_url,
        "keyEnvVars": list(profile.key_env_vars),
        "configured": var is not None,
        "source": origin.source if origin else "runtime",
    }
    if var:
        row["keyEnvVar"] = var
    if origin and origin.overrides is not None:
        row["overrides"] = {"source": origin.overrides.source, "path": origin.overrides.path}
    return row


def plugin_error_row(error: providers.PluginError) -> dict[str, Any]:
    """A load failure for editors; a plugin's exception text may quote a key, so it is scrubbed."""
    row: dict[str, Any] = {"plugin": error.plugin, "path": error.path, "message": credentials.redact(error.message)}
    if error.line is not None:
        row["line"] = error.line
    if error.entry_point:
        row["entryPoint"] = error.entry_point
    return row


def providers_result() -> dict[str, Any]:
    cfg = config_mod.load()
    return {
        "providers": [provider_row(p) for p in providers.list_providers()],
        "pluginErrors": [plugin_error_row(e) for e in providers.plugin_errors()],
        "current": {"provider": cfg.get("model.provider") or "", "model": cfg.get("model.default") or ""},
    }


def models_result(name: str, refresh: bool) -> dict[str, Any]:
    profile = providers.get_provider_profile(name)
    if profile is None:
        raise HermesError("config_error", f"unknown provider {name!r}", hint="run hermes/listProviders to see the names")
    cfg = config_mod.load()
    try:
        resolved = resolve(cfg, provider=profile.name, model="-")
        base_url, api_key = resolved.base_url, resolved.api_key
    except HermesError:
        base_url, api_key = profile.base_url, None
    return catalog.list_models(
        profile,
        base_url=base_url,
        api_key=api_key,
        refresh=refresh,
        ttl_seconds=cfg.get("catalog.ttl_seconds"),
        min_coding_score=cfg.get("openrouter.min_coding_score"),
    )


def config_result(cfg: config_mod.Config) -> dict[str, Any]:
    errors = []
    if cfg.parse_error is not None:
        error: dict[str, Any] = {"message": str(cfg.parse_error)}
        if cfg.parse_error.line:
            error["line"] = cfg.parse_error.line
        errors.append(error)
    errors += [{"message": p} for p in cfg.problems]
    return {
        "path": str(cfg.path),
        "config": config_mod.masked(cfg.values),
        "defaults": config_mod.defaults(),
        "errors": errors,
    }
