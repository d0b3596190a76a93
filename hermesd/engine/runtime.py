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

from hermesd.engine import google_cloud
from hermesd.settings import credentials
from hermesd.settings.config import OPENROUTER_SORTS, Config, api_mode_named
from hermesd.wire.hermes_rules import needs_responses_api
from hermesd.engine.errors import HermesError

KIMI_HOSTS = ("api.kimi.com", "api.moonshot.ai", "api.moonshot.cn")
DEFAULT_URL_SOURCE = "the provider's default"  # Resolved.base_url_source when nothing set the URL


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
    base_url_source: str = ""  # where the URL came from: doctor and listModels say so
    model_note: str = ""  # how the model was chosen when nothing named one (doctor, preview)

    @property
    def is_openrouter(self) -> bool:
        """OpenRouter by name, or any provider whose base URL is OpenRouter's."""
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
    base_url: str | None = None,
    api_key: str | None = None,
    key_env: str | None = None,
) -> Resolved:
    """Resolve a request. ``profile`` pins the profile a running session started with.

    ``base_url``, ``api_key`` and ``key_env`` come from a config entry that
    names its provider (a fallback entry): set *for* that provider.
    A key read for a provider only ever goes to that provider's own URL or to
    a URL set for it (docs/config.md, "Which URL a key goes to").
    """
    configured_provider = (config.get("model.provider") or "").strip()
    configured_url = (config.get("model.base_url") or "").strip().rstrip("/")
    from_env = os.environ.get("HERMES_INFERENCE_PROVIDER", "").strip()
    requested = (provider or "").strip() or configured_provider or ("" if from_env.lower() == "auto" else from_env)

    entry = named_endpoint(config, requested) if requested and providers.get_provider_profile(requested) is None else None
    if entry is not None:
        explicit = {k: v for k, v in (("api_key", api_key), ("key_env", key_env)) if v}
        return _resolve_named(config, requested, {**entry, **explicit}, model, base_url, None)
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
                hint="run `hermesd providers` to see the names, add it under `providers:` in config.yaml, "
                     "or check the plugin list in `hermesd doctor`",
            )
        raise _nothing_configured(config)

    uses_config = configured_provider == "" or _same_provider(configured_provider, profile)
    own = own_entry(config, profile) or {}
    url, source = _base_url(config, profile, base_url or "", own)
    key_var, key = _entry_key(api_key, {"key_env": key_env} if key_env else {})
    if key is None:
        key_var, key = _entry_key(None, {"api_key": config.get("model.api_key")} if source == "model.base_url" else own)
    if key is None:
        key_var, key = credentials.find_key(profile.key_env_vars)
    if profile.auth_type == google_cloud.AUTH_TYPE:
        google_cloud.check(profile.name, url, None if source == DEFAULT_URL_SOURCE else source, key,
                           profile.base_url_env_var)
    chosen_model = (model or "").strip() or ((config.get("model.default") or "").strip() if uses_config else "")
    note = ""
    if not chosen_model:
        chosen_model, note = _unnamed_model(config, profile, url, key)
    return Resolved(
        provider=profile.name,
        profile=profile,
        model=chosen_model,
        base_url=url,
        api_mode=_api_mode(config, profile, chosen_model, url, uses_config, own.get("api_mode") or ""),
        api_key=key,
        key_env_var=key_var,
        key_env_vars=profile.key_env_vars,
        base_url_source=source,
        model_note=note,
    )


def _unnamed_model(config: Config, profile: ProviderProfile, base_url: str, key: str | None) -> tuple[str, str]:
    """Nothing named a model: a keyless server's first served one, else the plugin's fallback."""
    from hermesd.engine.catalog import default_model

    chosen = default_model(profile, base_url, key, config)
    return chosen.model, chosen.note


def _nothing_configured(config: Config) -> HermesError:
    """No provider: either none was set, or config.yaml cannot be read (then `config set` is refused too)."""
    broken = config.parse_error
    if broken is not None:
        where = f"line {broken.line} of {broken.path}" if broken.line else str(broken.path)
        return HermesError(
            "config_error",
            f"{broken.path} cannot be read ({broken.detail}), so no provider is configured",
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


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def model_base_url_applies(config: Config, profile: ProviderProfile) -> bool:
    """Whether ``model.base_url`` belongs to ``profile`` (so its key may go there).

    ``model.base_url`` is the URL of ``model.provider`` (the Hermes agent writes
    the two together). With no ``model.provider``, it belongs to the provider
    whose host it is, else to ``custom``. When ``model.provider`` changes,
    :func:`hermesd.settings.config.set_value` moves the URL to
    ``providers.<old provider>.base_url``, so it never follows the switch.
    """
    url = (config.get("model.base_url") or "").strip()
    if not url:
        return False
    configured = (config.get("model.provider") or "").strip()
    if configured:
        return _same_provider(configured, profile)
    owner = provider_for_url(url)
    return owner == profile.name if owner is not None else profile.name == "custom"


def _base_url(config: Config, profile: ProviderProfile, explicit: str, own: dict[str, Any]) -> tuple[str, str]:
    """The URL a key for ``profile`` may go to, and where it was set.

    The calling entry's own URL (a fallback entry), ``model.base_url`` when it
    belongs to this provider, ``providers.<name>.base_url``, ``*_BASE_URL``,
    then the profile's default.
    """
    candidates = [(explicit, "the fallback entry")]
    if model_base_url_applies(config, profile):
        candidates.append((config.get("model.base_url") or "", "model.base_url"))
    candidates.append((own.get("base_url") or "", f"providers.{own.get('_key')}.base_url"))
    var = profile.base_url_env_var
    if var:
        candidates.append((credentials.lookup(var) or "", var))
    for url, source in candidates:
        if url and url.strip():
            return _checked_url(url, source, profile.name), source
    return (profile.base_url or "").rstrip("/"), DEFAULT_URL_SOURCE


def _checked_url(url: str, source: str, provider: str) -> str:
    from hermesd.settings.masking import has_userinfo, mask_url

    url = url.strip().rstrip("/")
    if has_userinfo(url):
        raise HermesError(
            "config_error",
            f"the base URL for {provider or 'this endpoint'} from {source} holds a user name or password ({mask_url(url)})",
            hint="remove it from the URL and put the key in the provider's API key variable",
            provider=provider or None,
        )
    return url


def _entry_key(api_key: str | None, entry: dict[str, Any]) -> tuple[str | None, str | None]:
    """An inline ``api_key`` or the variable ``key_env`` names, from a config entry."""
    if api_key and credentials.is_usable(api_key):
        return "api_key in config.yaml", api_key.strip()
    inline = entry.get("api_key")
    if isinstance(inline, str) and credentials.is_usable(inline):
        return "api_key in config.yaml", inline.strip()
    var = entry.get("key_env")
    if isinstance(var, str) and var.strip():
        value = credentials.lookup(var.strip())
        if credentials.is_usable(value):
            return var.strip(), value.strip()  # type: ignore[union-attr]
    return None, None


def _normalise_name(name: str) -> str:
    name = name.strip().lower()
    return name[len("custom:"):] if name.startswith("custom:") else name.replace(" ", "-")


def endpoint_entries(config: Config) -> list[dict[str, Any]]:
    """``providers:`` (Hermes' keyed shape) and ``custom_providers:`` (its list shape), normalised.

    Each entry: ``_key`` (its name), ``base_url`` (from base_url, url or
    api), and ``api_key``, ``key_env``, ``model``, ``api_mode`` when given.
    """
    out: list[dict[str, Any]] = []
    keyed = config.get("providers")
    listed = config.get("custom_providers")
    items = list(keyed.items()) if isinstance(keyed, dict) else []
    items += [(e.get("name"), e) for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
    for key, raw in items:
        if not isinstance(raw, dict) or not isinstance(key, str) or not key.strip():
            continue
        entry: dict[str, Any] = {"_key": key.strip(), "name": str(raw.get("name") or key).strip()}
        for field_name, spellings in (("base_url", ("base_url", "baseUrl", "url", "api")),
                                      ("api_key", ("api_key", "apiKey")),
                                      ("key_env", ("key_env", "keyEnv", "api_key_env", "apiKeyEnv")),
                                      ("model", ("model", "default_model", "defaultModel")),
                                      ("api_mode", ("api_mode", "apiMode", "transport"))):
            value = next((raw[s] for s in spellings if isinstance(raw.get(s), str) and raw[s].strip()), None)
            if value is not None:
                entry[field_name] = value.strip()
        out.append(entry)
    return out


def named_endpoint(config: Config, name: str) -> dict[str, Any] | None:
    """The ``providers:``/``custom_providers:`` entry called ``name`` that has a URL, if any."""
    wanted = _normalise_name(name)
    for entry in endpoint_entries(config):
        if wanted in (_normalise_name(entry["_key"]), _normalise_name(entry["name"])) and entry.get("base_url"):
            return entry
    return None


def own_entry(config: Config, profile: ProviderProfile) -> dict[str, Any] | None:
    """``providers.<name>`` for a provider a plugin defines: its URL and key, set for it."""
    names = {_normalise_name(n) for n in (profile.name, *profile.aliases)}
    return next((e for e in endpoint_entries(config) if _normalise_name(e["_key"]) in names), None)


def _resolve_named(config: Config, name: str, entry: dict[str, Any], model: str | None,
                   base_url: str | None, api_key: str | None) -> Resolved:
    """An endpoint the user named in ``providers:``/``custom_providers:``: the custom profile's behaviour."""
    profile = providers.get_provider_profile("custom")
    url = _checked_url(base_url or entry["base_url"], f"providers.{entry['_key']}", name)
    key_var, key = _entry_key(api_key, entry)
    if key is None:
        key_var, key = credentials.find_key(_host_gated_vars(url))
    configured = _normalise_name(config.get("model.provider") or "") == _normalise_name(name)
    chosen_model = (model or "").strip() or ((config.get("model.default") or "").strip() if configured else "") \
        or entry.get("model", "")
    mode = api_mode_named(entry.get("api_mode") or ((config.get("model.api_mode") or "") if configured else ""))
    return Resolved(
        provider=name,
        profile=profile,
        model=chosen_model,
        base_url=url,
        api_mode=mode or detect_api_mode(url) or "chat_completions",
        api_key=key,
        key_env_var=key_var,
        key_env_vars=tuple(v for v in (entry.get("key_env"),) if v) + _host_gated_vars(url),
        base_url_source=f"providers.{entry['_key']}",
    )


def _host_gated_vars(url: str) -> tuple[str, ...]:
    """Keys an endpoint no profile describes may receive: each only on its own host (as Hermes does)."""
    host = _host(url)
    out: tuple[str, ...] = ()
    if is_openrouter_url(url):
        out += ("OPENROUTER_API_KEY",)
    if host == "openai.com" or host.endswith((".openai.com", ".openai.azure.com")):
        out += ("OPENAI_API_KEY",)
    return out


def _api_mode(config: Config, profile: ProviderProfile, model: str, base_url: str, uses_config: bool,
              entry_mode: str = "") -> str:
    explicit = api_mode_named(entry_mode or ((config.get("model.api_mode") or "") if uses_config else ""))
    if explicit:
        return explicit
    if model:
        try:
            chosen = profile.api_mode_for_model(model)
        except (Exception, SystemExit):  # noqa: BLE001 - a plugin hook must not break resolution
            chosen = None
        if chosen:
            return chosen
    mode = detect_api_mode(base_url) or profile.api_mode or "chat_completions"
    if mode == "chat_completions" and needs_responses_api(profile.name, base_url, model):
        return "codex_responses"  # GPT-5.x, as Hermes 0.19.0 routes it
    return mode


def _resolve_without_profile(config: Config, base_url: str, model: str | None) -> Resolved:
    """An endpoint defined only by ``model.base_url`` (or whose plugin is gone or broken).

    Its key: ``model.api_key`` (Hermes' spelling); a provider's key only on
    that provider's own host (``OPENROUTER_API_KEY`` on openrouter.ai,
    ``OPENAI_API_KEY`` on openai.com and Azure OpenAI: Hermes' rule); then
    ``HERMES_API_KEY``, hermesd's variable for exactly this endpoint.
    """
    base_url = _checked_url(base_url, "model.base_url", "")
    key_var, key = _entry_key(None, {"api_key": config.get("model.api_key")})
    key_vars = _host_gated_vars(base_url) + ("HERMES_API_KEY",)
    if key is None:
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
        base_url_source="model.base_url",
    )


ROUTING_LISTS = ("only", "ignore", "order")


def openrouter_provider(routing: Any) -> dict[str, Any]:
    """OpenRouter's ``provider`` object from ``provider_routing``, built as the Hermes agent builds it.

    ``only``, ``ignore``, ``order`` and ``sort`` when set, ``require_parameters:
    true`` when true, ``data_collection`` when set. Other keys (``allow_fallbacks``,
    ``quantizations``, ...) are OpenRouter fields Hermes does not send; hermesd
    passes them through as written (docs/config.md).
    """
    if not isinstance(routing, dict):
        return {}
    out: dict[str, Any] = {}
    for name in ROUTING_LISTS:
        if routing.get(name):
            out[name] = routing[name]
    sort = routing.get("sort")
    if isinstance(sort, str) and sort.strip().lower() in OPENROUTER_SORTS:
        out["sort"] = sort.strip().lower()  # another value is dropped (and reported by config), as Hermes 0.19.0
    if routing.get("require_parameters") is True:
        out["require_parameters"] = True
    if routing.get("data_collection"):
        out["data_collection"] = routing["data_collection"]
    for name, value in routing.items():
        if name not in (*ROUTING_LISTS, "sort", "require_parameters", "data_collection"):
            out[str(name)] = value
    return out


def reasoning_config(effort: str) -> dict[str, Any] | None:
    """Hermes' reasoning config from ``model.reasoning_effort`` (None: provider default)."""
    if not effort:
        return None
    if effort == "none":
        return {"enabled": False}
    return {"enabled": True, "effort": effort}
