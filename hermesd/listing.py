"""Shapes of the listing replies (providers, models, config), shared by server and CLI."""

from __future__ import annotations

from typing import Any

import providers
from providers.base import ProviderProfile

from hermesd import catalog, credentials, local, suggest
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


def keyless_url(profile: ProviderProfile, cfg: config_mod.Config) -> str | None:
    """The base URL of a provider usable without a key (custom, a local server), else None."""
    if profile.auth_type != "api_key":
        return None
    # Resolving costs ~0.1 ms a profile; skip it when no URL this profile could use is local.
    var = profile.base_url_env_var
    candidates = (profile.base_url, credentials.lookup(var) if var else None, cfg.get("model.base_url"))
    if profile.name not in local.KEYLESS_PROFILES and not any(isinstance(u, str) and local.is_local_url(u) for u in candidates):
        return None
    try:
        base_url = resolve(cfg, provider=profile.name, model="-").base_url
    except HermesError:
        return None
    return base_url if local.key_optional(profile, base_url) else None


def provider_row(profile: ProviderProfile, cfg: config_mod.Config | None = None) -> dict[str, Any]:
    origin = providers.provider_origin(profile.name)
    var = key_status(profile)
    url = None if var is not None or cfg is None else keyless_url(profile, cfg)
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
        "configured": var is not None or url is not None,
        "source": origin.source if origin else "runtime",
    }
    if var:
        row["keyEnvVar"] = var
    if url:
        row["keyless"] = True  # configured by its base URL alone; no key is needed or sent
        row["baseUrl"] = url
    if origin and origin.overrides is not None:
        row["overrides"] = {"source": origin.overrides.source, "path": origin.overrides.path}
    return row


LABEL_MAX = 40
_WEIGHT_FILES = (".gguf", ".bin", ".safetensors", ".ggml", ".onnx")


def model_label(model: str) -> str:
    """What a status bar shows for ``model``: a path's file name, a long id's last
    segment, at most LABEL_MAX characters. Editors show the full id beside it
    (a tooltip); the rule lives here so every editor shortens alike."""
    label = model.strip()
    looks_like_path = label.startswith(("/", "~", "./", "../")) or "\\" in label or label.lower().endswith(_WEIGHT_FILES)
    if looks_like_path or len(label) > LABEL_MAX:
        label = label.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or label
    if len(label) > LABEL_MAX:
        head = (LABEL_MAX - 1) * 2 // 3
        label = label[:head] + "…" + label[-(LABEL_MAX - 1 - head):]
    return label


def current_model(cfg: config_mod.Config) -> dict[str, Any]:
    """The configured provider and model, and the model's short label."""
    model = cfg.get("model.default") or ""
    return {"provider": cfg.get("model.provider") or "", "model": model, "label": model_label(model)}


def plugin_error_row(error: providers.PluginError) -> dict[str, Any]:
    """A load failure for editors; a plugin's exception text may quote a key, so it is scrubbed."""
    row: dict[str, Any] = {"plugin": error.plugin, "path": error.path, "message": credentials.redact(error.message)}
    if error.line is not None:
        row["line"] = error.line
    return row


def providers_result() -> dict[str, Any]:
    cfg = config_mod.load()
    return {
        "providers": [provider_row(p, cfg) for p in providers.list_providers()],
        "pluginErrors": [plugin_error_row(e) for e in providers.plugin_errors()],
        "current": current_model(cfg),
    }


def models_result(name: str, refresh: bool) -> dict[str, Any]:
    profile = providers.get_provider_profile(name)
    if profile is None:
        raise HermesError("config_error", f"unknown provider {name!r}{suggest.did_you_mean(name, suggest.provider_names())}",
                          hint="run `hermesd providers` to see the names")
    cfg = config_mod.load()
    try:
        resolved = resolve(cfg, provider=profile.name, model="-")
        base_url, api_key = resolved.base_url, resolved.api_key
    except HermesError:
        base_url, api_key = profile.base_url, None
    return catalog.list_with_config(profile, cfg, base_url=base_url, api_key=api_key, refresh=refresh)


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
        "config": config_mod.masked(cfg.shown),
        "defaults": config_mod.defaults(),
        "errors": errors,
        "current": current_model(cfg),
    }
