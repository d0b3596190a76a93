"""The fallback chain: other providers tried, in order, when the session's own is unavailable.

Read from the Hermes agent's keys: ``fallback_providers`` (a list of
``{provider, model, base_url?, api_mode?, api_key? | key_env?}``), else its
legacy ``fallback_model`` (one such mapping, or a list). Like Hermes, the
chain moves on only when an attempt failed before its first token with an
error worth trying elsewhere (rate limited, overloaded, unreachable, out of
credit), never on a request the provider refused (400, 401, 404).

Each entry resolves like ``hermes/chat {provider, model}`` would, then takes
its own ``base_url``/``api_mode``/key: a key only ever goes to its own
provider's base URL or to the URL the user wrote next to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from hermesd.engine.errors import HermesError

if TYPE_CHECKING:
    from hermesd.settings.config import Config
    from hermesd.engine.runtime import Resolved

API_MODES = ("chat_completions", "codex_responses", "anthropic_messages", "bedrock_converse")
# Kinds worth trying on another provider: the request was fine, this provider could not serve it now.
FAILOVER_KINDS = frozenset({"rate_limited", "network", "quota"})
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Entry:
    """One configured fallback, validated; ``where`` names it in messages (``fallback_providers[0]``)."""

    where: str
    provider: str
    model: str
    base_url: str = ""
    api_mode: str = ""
    api_key: str = field(default="", repr=False)  # written in the config file (Hermes allows it); never shown
    key_env: str = ""

    @property
    def label(self) -> str:
        """``provider/model``, for log lines and messages."""
        return f"{self.provider}/{self.model}"


def read_chain(tree: Mapping[str, Any]) -> tuple[list[Entry], list[str]]:
    """The chain from a config tree, and one message per entry that had to be skipped (pure)."""
    problems: list[str] = []
    providers_list = tree.get("fallback_providers")
    legacy = tree.get("fallback_model")
    if providers_list is not None and not isinstance(providers_list, list):
        problems.append(f"fallback_providers must be a list of {{provider, model}} mappings "
                        f"(got {type(providers_list).__name__}); it is ignored")
        providers_list = None
    if providers_list:
        if legacy:
            problems.append("fallback_model is ignored because fallback_providers is set (as in the Hermes agent)")
        source, items = "fallback_providers", providers_list
    elif isinstance(legacy, dict):
        source, items = "fallback_model", [legacy] if legacy else []
    elif isinstance(legacy, list):
        source, items = "fallback_model", legacy
    else:
        if legacy is not None:
            problems.append(f"fallback_model must be a mapping with provider and model (got {type(legacy).__name__}); "
                            "it is ignored")
        return [], problems
    entries = []
    for i, item in enumerate(items):
        where = f"{source}[{i}]" if source == "fallback_providers" or isinstance(legacy, list) else source
        entry = _entry(where, item, problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _entry(where: str, item: Any, problems: list[str]) -> Entry | None:
    if not isinstance(item, dict):
        problems.append(f"{where} must be a mapping with provider and model (got {type(item).__name__}); skipped")
        return None
    fields: dict[str, str] = {}
    for name in ("provider", "model", "base_url", "api_mode", "api_key", "key_env", "api_key_env"):
        value = item.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            problems.append(f"{where}.{name} must be a string (got {type(value).__name__}); skipped")
            return None
        fields[name] = value.strip()
    missing = [name for name in ("provider", "model") if not fields.get(name)]
    if missing:
        problems.append(f"{where} has no {' and no '.join(missing)}; skipped (each entry needs provider and model)")
        return None
    base_url = fields.get("base_url", "").rstrip("/")
    if base_url and not base_url.startswith(("http://", "https://")):
        problems.append(f"{where}.base_url must be an http:// or https:// URL; skipped")
        return None
    api_mode = fields.get("api_mode", "")
    api_mode = "codex_responses" if api_mode == "responses" else api_mode
    if api_mode and api_mode not in API_MODES:
        problems.append(f"{where}.api_mode must be one of {', '.join(API_MODES)}; skipped")
        return None
    key_env = fields.get("key_env") or fields.get("api_key_env", "")
    if key_env and not _ENV_NAME.fullmatch(key_env):
        problems.append(f"{where}.key_env must be an environment variable name such as MY_API_KEY; skipped")
        return None
    return Entry(where, fields["provider"], fields["model"], base_url, api_mode, fields.get("api_key", ""), key_env)


def fails_over(exc: HermesError) -> bool:
    """True when the next entry should be tried (the caller checks that no token arrived yet)."""
    return exc.kind in FAILOVER_KINDS


def resolve_entry(config: Config, entry: Entry) -> Resolved:
    """The runtime for one entry: resolved as set *for* its provider (URL, key), then its own model and API shape.

    ``runtime.resolve`` applies the entry's URL and key, so they pass the same
    checks as any configured URL (a URL with a password in it is refused).
    """
    from hermesd.engine.runtime import detect_api_mode, resolve

    resolved = resolve(config, provider=entry.provider, model=entry.model, base_url=entry.base_url or None,
                       api_key=entry.api_key or None, key_env=entry.key_env or None)
    api_mode = entry.api_mode or (detect_api_mode(entry.base_url) if entry.base_url else None)
    return replace(resolved, model=entry.model, **({"api_mode": api_mode} if api_mode else {}))


def unusable(resolved: Resolved) -> str | None:
    """Why trying this target can only fail (no URL, or a hosted key-based provider without a key), or None."""
    profile = resolved.profile
    if not resolved.base_url:
        return "no base URL (add base_url to the entry)"
    if (profile is not None and profile.auth_type == "api_key" and profile.base_url
            and resolved.key_env_vars and not resolved.api_key):
        return f"no key set ({' or '.join(resolved.key_env_vars)})"
    return None


def targets(config: Config, primary: Resolved) -> Iterator[tuple[Entry | None, Resolved]]:
    """The primary, then each usable entry, resolved only when reached (no cost while the primary answers).

    Entries that cannot be resolved, have no key, or repeat an earlier target are skipped with a log line.
    """
    import logging

    log = logging.getLogger(__name__)
    yield None, primary
    seen = {(primary.provider, primary.model, primary.base_url)}
    entries, _ = read_chain(_tree(config))
    for entry in entries:
        try:
            resolved = resolve_entry(config, entry)
        except HermesError as exc:
            log.warning("fallback %s (%s) skipped: %s", entry.where, entry.label, exc.message)
            continue
        reason = unusable(resolved)
        if reason:
            log.warning("fallback %s (%s) skipped: %s", entry.where, entry.label, reason)
            continue
        identity = (resolved.provider, resolved.model, resolved.base_url)
        if identity in seen:
            log.warning("fallback %s (%s) skipped: same provider, model and URL as an earlier attempt",
                        entry.where, entry.label)
            continue
        seen.add(identity)
        yield entry, resolved


def _tree(config: Config) -> dict[str, Any]:
    """The two root keys as settings/config.py exposes them (values carry unknown sections through)."""
    return {"fallback_providers": config.get("fallback_providers"), "fallback_model": config.get("fallback_model")}


def describe(config: Config) -> list[tuple[str, str, str | None]]:
    """Doctor's view of the chain: ``(status, summary, hint)`` per entry and per problem, never a key."""
    entries, problems = read_chain(_tree(config))
    rows: list[tuple[str, str, str | None]] = []
    for n, entry in enumerate(entries, 1):
        head = f"fallback {n}: {entry.label}"
        try:
            resolved = resolve_entry(config, entry)
        except HermesError as exc:
            rows.append(("warn", f"{head}: {exc.message}; skipped", f"fix {entry.where}" + (f"; {exc.hint}" if exc.hint else "")))
            continue
        reason = unusable(resolved)
        if reason:
            rows.append(("warn", f"{head}: {reason}; skipped", f"fix {entry.where}, or set the key variable"))
            continue
        note = ""
        if entry.key_env and not entry.api_key and resolved.key_env_var != entry.key_env:
            note = f"; {entry.key_env} is not set, so the provider's own key variable is used"
        summary = f"{head} at {resolved.base_url} ({resolved.api_mode}); {_key_text(entry, resolved)}{note}"
        rows.append(("ok", summary, None))
    rows += [("warn", problem, "see fallback_providers in docs/config.md") for problem in problems]
    return rows


def _key_text(entry: Entry, resolved: Resolved) -> str:
    if entry.api_key:
        return "key written in config.yaml"
    if resolved.key_env_var:
        return f"key in {resolved.key_env_var}"
    profile = resolved.profile
    if profile is not None and profile.auth_type != "api_key":
        return f"signs in through {profile.auth_type}"
    if resolved.key_env_vars:
        return f"no key set ({' or '.join(resolved.key_env_vars)})"
    return "no key"
