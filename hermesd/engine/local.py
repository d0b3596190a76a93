"""Endpoints the user runs: which need no key, and which model they default to.

A provider's key is optional when the user names the endpoint (the ``custom``
profile: Ollama, LM Studio, llama.cpp, vLLM...) or when its base URL is on
this machine or a private network. The address alone decides (no DNS, no
probe), so listing providers stays instant and offline. Such a provider
counts as configured once it has a base URL, and with no ``model.default`` a
chat uses the first model the server says it serves, never a paid catalog's
arbitrary first row.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from providers.base import ProviderProfile


# Profiles whose endpoint is the user's own: any URL they name may be keyless.
KEYLESS_PROFILES = frozenset({"custom"})
LOCAL_HOSTNAMES = frozenset({"localhost", "host.docker.internal"})
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa")


@functools.lru_cache(maxsize=256)
def is_local_url(url: str | None) -> bool:
    """True for loopback, private, link-local and ``*.local`` hosts, read from the URL alone.

    Remembered per URL: a chat asks it about five times (readiness, pricing, errors) and an inline
    completion once a keystroke, and parsing the URL and the address costs ~5 µs a time.
    """
    try:
        host = (urlsplit(url or "").hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    if not host:
        return False
    if host in LOCAL_HOSTNAMES or host.endswith(LOCAL_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_link_local


def start_hint(base_url: str) -> str:
    """What to do when a server the user runs does not answer: one wording for doctor and chat."""
    return f"start the model server at {base_url}, or point hermesd at the running one: `hermesd setup local URL`"


def key_optional(profile: ProviderProfile | None, base_url: str | None) -> bool:
    """Whether ``profile`` at ``base_url`` may be used without a key."""
    if profile is not None and profile.auth_type != "api_key":
        return False
    if profile is not None and profile.name in KEYLESS_PROFILES:
        return bool(base_url)
    return is_local_url(base_url)


def serves_own_models(profile: ProviderProfile, base_url: str | None) -> bool:
    """A server whose catalog is what the user loaded, so its first model is a fair default.

    A paid service's catalog (OpenRouter, even behind a local proxy) is not:
    its first row is arbitrary and may be costly. A plugin whose own default
    URL is public describes such a service.
    """
    home = profile.base_url if isinstance(profile.base_url, str) else ""
    return key_optional(profile, base_url) and (not home or is_local_url(home))


