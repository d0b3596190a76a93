"""Model lists for the editors' pickers: live, cached on disk, or curated.

A live fetch is cached per provider and endpoint for ``catalog.ttl_seconds``.
When it fails, a stale cache beats the plugin's ``fallback_models``, and the
listing says which one the editor got and why. OpenRouter's routers are
always listed first, whatever the catalog says about them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.base import ProviderProfile
from providers.pareto import PARETO_MODEL, describe_pareto

from hermesd.engine import local
from hermesd.paths import cache_dir, ensure_private_dir
from hermesd.protocol import ListModelsResult, ModelInfo

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 8.0


def curated_entries(profile: ProviderProfile, min_coding_score: Any) -> list[ModelInfo]:
    """Entries listed whatever the catalog says (OpenRouter's routers)."""
    if profile.name != "openrouter":
        return []
    return [ModelInfo(id=PARETO_MODEL, group="routers", label="Pareto Code (router)",
                      description=describe_pareto(min_coding_score))]


def _cache_file(profile: ProviderProfile, base_url: str) -> Path:
    digest = hashlib.sha256(base_url.encode()).hexdigest()[:12]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in profile.name)
    return cache_dir() / "catalogs" / f"{safe}-{digest}.json"


def _read_cache(path: Path) -> tuple[float, list[str]] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        fetched_at, models = float(data["fetchedAt"]), data["models"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        return None
    return fetched_at, models


def _write_cache(path: Path, models: list[str], fetched_at: float) -> None:
    ensure_private_dir(path.parent)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fetchedAt": fetched_at, "models": models}), encoding="utf-8")
    os.replace(tmp, path)


def call_fetch_models(profile: ProviderProfile, *, api_key: str | None, base_url: str, timeout: float) -> Any:
    """Call a plugin's ``fetch_models``; older plugins do not take ``base_url``.

    Tried with ``base_url`` first; a TypeError about that argument means an
    older signature (possibly hidden behind a decorator), so call again without it.
    """
    try:
        return profile.fetch_models(api_key=api_key, base_url=base_url, timeout=timeout)
    except TypeError as exc:
        if "base_url" not in str(exc):
            raise
    return profile.fetch_models(api_key=api_key, timeout=timeout)


def list_models(
    profile: ProviderProfile,
    *,
    base_url: str,
    api_key: str | None,
    refresh: bool,
    ttl_seconds: int,
    min_coding_score: Any,
) -> ListModelsResult:
    """The ``hermes/listModels`` result. Blocking: call it from a worker thread."""
    path = _cache_file(profile, base_url)
    cached = _read_cache(path)
    result = ListModelsResult(provider=profile.name, models=[], source="fallback")
    models: list[str] | None = None
    if cached and not refresh and time.time() - cached[0] < ttl_seconds:
        result.source, result.fetched_at = "cache", _iso(cached[0])
        models = cached[1]
    else:
        error = None
        try:
            fetched = call_fetch_models(profile, api_key=api_key, base_url=base_url, timeout=FETCH_TIMEOUT)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's fetch may raise anything, even exit
            fetched, error = None, f"the plugin's fetch_models raised {type(exc).__name__}: {exc}"
        if isinstance(fetched, (list, tuple)) and all(isinstance(m, str) for m in fetched):
            now = time.time()
            models = list(fetched)
            _write_cache(path, models, now)
            result.source, result.fetched_at = "live", _iso(now)
        else:
            result.error = error or (
                "this provider has no model catalog" if _has_no_catalog(profile) else "the live model list could not be fetched"
            )
            down = fetched is None and error is None and _own_server(profile, base_url)
            if down:  # its plugin's fallback list names models this server may never have served
                result.error = unreachable(base_url)
            if cached:
                result.source, result.fetched_at = "cache", _iso(cached[0])
                models = cached[1]
            else:
                models = [] if down else list(profile.fallback_models)
    curated = curated_entries(profile, min_coding_score)
    curated_ids = {c.id for c in curated}
    result.models = curated + [ModelInfo(id=m, group="models") for m in dict.fromkeys(models) if m not in curated_ids]
    return result


def list_with_config(profile: ProviderProfile, cfg: Any, *, base_url: str, api_key: str | None,
                     refresh: bool = False) -> ListModelsResult:
    """:func:`list_models` with the cache lifetime and Pareto floor from config."""
    return list_models(
        profile,
        base_url=base_url,
        api_key=api_key,
        refresh=refresh,
        ttl_seconds=cfg.get("catalog.ttl_seconds"),
        min_coding_score=cfg.get("openrouter.min_coding_score"),
    )


_UNREACHABLE = "server not reachable at "


def unreachable(base_url: str) -> str:
    """The picker's row, and listModels' error, for a server the user runs that did not answer."""
    return f"{_UNREACHABLE}{base_url}: start it, or run `hermesd setup local`"


def is_unreachable(result: ListModelsResult) -> bool:
    """Whether ``result`` is a user's own server that did not answer (:func:`unreachable`)."""
    return bool(result.error and result.error.startswith(_UNREACHABLE))


def _own_server(profile: ProviderProfile, base_url: str) -> bool:
    """A server the user runs, asked with the standard ``GET /models`` (``custom``'s, or a plugin's that does not
    replace it): a plugin's own fetch_models keeps its fallback list."""
    standard = profile.name in local.KEYLESS_PROFILES or type(profile).fetch_models is ProviderProfile.fetch_models
    return standard and local.serves_own_models(profile, base_url)


def _has_no_catalog(profile: ProviderProfile) -> bool:
    return profile.api_mode == "bedrock_converse"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


@dataclass(frozen=True)
class DefaultModel:
    """The model a chat uses when nothing names one, and why (for doctor and the preview)."""

    model: str
    source: str  # "served" | "fallback" | "" (the plugin's first fallback, as for any provider)
    note: str = ""


def default_model(profile: ProviderProfile, base_url: str, api_key: str | None, cfg: Any) -> DefaultModel:
    """With no ``model.default``: a keyless endpoint's first served model, else the plugin's fallback.

    The catalog comes through the same cache the pickers use; when it cannot
    be fetched the fallback is used with a warning, since the server may not
    have that model.
    """
    fallback = profile.fallback_models[0] if profile.fallback_models else ""
    if not local.serves_own_models(profile, base_url):
        return DefaultModel(fallback, "")
    listing = list_with_config(profile, cfg, base_url=base_url, api_key=api_key)
    served = [m.id for m in listing.models if m.group == "models"]  # not a curated router
    if listing.source in ("live", "cache") and served:
        return DefaultModel(served[0], "served", f"no model.default: using {served[0]}, the first model {base_url} serves")
    note = (
        f"no model.default and {base_url}/models could not be fetched: using the plugin's fallback "
        f"{fallback or '(none)'}, which the server may not have"
    )
    log.warning("%s", note)
    return DefaultModel(fallback, "fallback", note)
