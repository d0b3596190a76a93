"""The provider profile: a declarative description of one inference backend.

This module is part of the plugin contract shared with the Hermes agent:
``from providers.base import ProviderProfile, OMIT_TEMPERATURE`` must keep
working, and the field names, defaults and hook signatures must not change.
It imports nothing heavy, because the daemon imports it before answering an
editor's ``initialize``.
"""

from __future__ import annotations

import inspect  # already loaded by dataclasses
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["OMIT_TEMPERATURE", "ProviderProfile", "API_MODES", "AUTH_TYPES", "newer_fields", "missing_hooks"]


class _OmitTemperature:
    """Sentinel type: the provider rejects a ``temperature`` field."""

    _instance: "_OmitTemperature | None" = None

    def __new__(cls) -> "_OmitTemperature":
        # One instance per process, so plugins can compare with ``is`` even
        # after the module is re-imported by a reload.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "OMIT_TEMPERATURE"

    def __reduce__(self) -> str:
        return "OMIT_TEMPERATURE"


OMIT_TEMPERATURE: Any = _OmitTemperature()

API_MODES = ("chat_completions", "codex_responses", "anthropic_messages", "bedrock_converse")
AUTH_TYPES = ("api_key", "oauth_device_code", "oauth_external", "copilot", "aws_sdk", "external_process", "vertex")


def is_base_url_var(name: str) -> bool:
    """A credential variable that carries the user's endpoint, not a key."""
    upper = name.upper()
    return upper.endswith("_BASE_URL") or upper.endswith("_URL")


@dataclass
class ProviderProfile:
    """One provider. Construct directly, or subclass and override the hooks.

    Hooks accept ``**context`` and must ignore keys they do not know, so the
    daemon can pass more context later without breaking older plugins.
    """

    name: str
    api_mode: str = "chat_completions"
    aliases: tuple[str, ...] = ()
    display_name: str = ""
    description: str = ""
    signup_url: str = ""
    env_vars: tuple[str, ...] = ()
    base_url: str = ""
    models_url: str = ""
    auth_type: str = "api_key"
    supports_health_check: bool = True
    supports_vision: bool = False
    # False: the provider rejects list-type tool message content (image parts in
    # a tool result); such results go out as their text (hermes-agent 0.19.0).
    supports_vision_tool_messages: bool = True
    fallback_models: tuple[str, ...] = ()
    hostname: str = ""
    default_headers: dict[str, str] = field(default_factory=dict)
    fixed_temperature: Any = None
    default_max_tokens: int | None = None
    default_aux_model: str = ""

    # -- optional, hermesd only: not dataclass fields, so the contract's fields stay as they are and the
    # same plugin loads in Hermes (which never reads them). Set them on a subclass (docs/plugins.md,
    # "Inline completion"): the FIM wire the provider serves (completions, fim, infill, ollama, chat),
    # and where FIM requests go when not base_url (same host only: the key goes nowhere else).
    fim_endpoint = ""
    fim_base_url = ""

    # -- derived, read-only helpers (not part of the dataclass fields) -----

    @property
    def key_env_vars(self) -> tuple[str, ...]:
        """Credential variables that hold a key, in priority order."""
        return tuple(v for v in self.env_vars if not is_base_url_var(v))

    @property
    def base_url_env_var(self) -> str | None:
        """The variable a user sets to point this provider elsewhere."""
        return next((v for v in self.env_vars if is_base_url_var(v)), None)

    # -- hooks ---------------------------------------------------------------

    def prepare_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Provider-specific message rewriting. Must not mutate its input."""
        return messages

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """Fields merged into the request body beyond the standard ones."""
        return {}

    def build_api_kwargs_extras(
        self, *, reasoning_config: dict[str, Any] | None = None, **context: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(extra_body_additions, top_level_kwargs)`` for fields that depend on reasoning."""
        return {}, {}

    def default_vision_model(self) -> str | None:
        """A default vision model id for this provider, or None (hermes-agent 0.19.0's hook)."""
        return None

    def get_max_tokens(self, model: str) -> int | None:
        """Provider-level output cap for ``model``; None leaves it to the server."""
        return self.default_max_tokens

    def get_hostname(self) -> str:
        """Host used to map a URL back to this provider. Never raises."""
        if isinstance(self.hostname, str) and self.hostname:
            return self.hostname.lower()
        if not isinstance(self.base_url, str):
            return ""  # a plugin's wrong type must not break every URL look-up
        try:
            return (urlsplit(self.base_url).hostname or "").lower()
        except ValueError:
            return ""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """Live catalog: the ``id`` of every model, or None on any failure."""
        headers = dict(self.default_headers)
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        return fetch_model_ids(self.catalog_url(base_url), headers=headers, timeout=timeout)

    def api_mode_for_model(self, model: str) -> str | None:
        """The API shape ``model`` is served on, when it differs per model (OpenCode's relays).

        None (the default) means: detect it from the base URL, else use
        :attr:`api_mode`. A forced ``model.api_mode`` in config.yaml wins over both.
        """
        return None

    def catalog_url(self, base_url: str | None = None) -> str:
        """The catalog URL, following a user's base-URL override when there is one."""
        default = self.base_url.rstrip("/")
        base = (base_url or default).rstrip("/")
        if not self.models_url:
            return f"{base}/models"
        if base == default:
            return self.models_url
        # The user moved the endpoint: move the catalog with it.
        if default and self.models_url.startswith(default):
            return base + self.models_url[len(default):]
        return f"{base}/models"


# Keyword arguments from Hermes releases newer than this contract (0.19.0), kept
# on the instance instead of raising TypeError: a plugin that passes
# ``auth_handler=`` still loads, and doctor names what hermesd ignores.
_dataclass_init = ProviderProfile.__init__
_NEWER = "_hermes_newer_fields"


# hermesd's own optional attributes (not dataclass fields): accepted as keyword arguments too.
HERMESD_ATTRIBUTES = ("fim_endpoint", "fim_base_url")


def _init_keeping_newer_fields(self: ProviderProfile, *args: Any, **kwargs: Any) -> None:
    known = ProviderProfile.__dataclass_fields__
    own = {key: kwargs.pop(key) for key in HERMESD_ATTRIBUTES if key in kwargs}
    newer = {key: kwargs.pop(key) for key in list(kwargs) if key not in known}
    _dataclass_init(self, *args, **kwargs)
    for key, value in own.items():
        object.__setattr__(self, key, value)
    object.__setattr__(self, _NEWER, newer)
    for key, value in newer.items():
        if not hasattr(type(self), key):  # never shadow a hook with a value
            object.__setattr__(self, key, value)


_init_keeping_newer_fields.__doc__ = _dataclass_init.__doc__
_init_keeping_newer_fields.__signature__ = inspect.signature(_dataclass_init)  # type: ignore[attr-defined]
ProviderProfile.__init__ = _init_keeping_newer_fields  # type: ignore[method-assign]


def newer_fields(profile: Any) -> dict[str, Any]:
    """The keyword arguments ``profile`` was built with that this contract does not know."""
    return dict(getattr(profile, _NEWER, None) or {})


# Hooks of newer Hermes releases that replace what hermesd does itself, by the
# release that introduced them. A profile defining one cannot work here: its
# requests would go to hermesd's client instead of the plugin's.
NEWER_HOOKS = {"create_client": "0.20.0"}


def missing_hooks(profile: Any) -> dict[str, str]:
    """The hooks ``profile``'s class defines that hermesd lacks, with the Hermes release each needs."""
    return {hook: version for hook, version in NEWER_HOOKS.items()
            if callable(getattr(type(profile), hook, None)) and not hasattr(ProviderProfile, hook)}


MAX_REDIRECTS = 5
_DEFAULT_PORTS = {"http": 80, "https": 443}


def same_origin(a: Any, b: Any) -> bool:
    """Whether two URLs share scheme, host and port: the only redirects a key may follow.

    httpx strips ``Authorization`` on a cross-origin redirect but keeps every
    other header, so ``x-api-key``, ``api-key`` or a plugin's own key header
    would go wherever a redirect points. hermesd follows same-origin
    redirects only, and none at all to another origin.
    """
    try:
        x, y = urlsplit(str(a)), urlsplit(str(b))
        return (x.scheme.lower(), x.hostname, x.port or _DEFAULT_PORTS.get(x.scheme.lower())) == (
            y.scheme.lower(), y.hostname, y.port or _DEFAULT_PORTS.get(y.scheme.lower()))
    except ValueError:
        return False


def fetch_model_ids(url: str, *, headers: dict[str, str], timeout: float) -> list[str] | None:
    """GET a ``/models`` style catalog; accept a bare list or ``{"data": [...]}``.

    Redirects are followed within the catalog's origin only (see :func:`same_origin`).
    """
    if not url.startswith(("http://", "https://")):
        return None
    import httpx  # deferred: ~90 ms, never on the startup path

    try:
        with httpx.Client(timeout=timeout) as client:
            response = client.get(url, headers=headers)
            for _ in range(MAX_REDIRECTS):
                target = response.next_request
                if target is None or not same_origin(url, target.url):
                    break
                response = client.send(target)
        if response.status_code != 200:
            return None
        payload = response.json()
    except (httpx.HTTPError, httpx.InvalidURL, json.JSONDecodeError, ValueError):
        return None
    items = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return None
    ids = [item.get("id") if isinstance(item, dict) else item for item in items]
    return [i for i in ids if isinstance(i, str) and i]
