"""The provider registry: the plugin API shared with the Hermes agent.

Plugins call :func:`register_provider`; everything else looks profiles up
with :func:`get_provider_profile` and :func:`list_providers`. Discovery runs
lazily on the first look-up, and :func:`reload` runs it again from scratch so
a long-lived daemon can see plugins added, edited or removed since. Each
discovery is a generation (:class:`providers.discovery.Generation`): a
profile of an earlier one keeps running its own code, whole, until
:func:`release_generations` finds nothing holds it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import replace

from providers.base import OMIT_TEMPERATURE, ProviderProfile
from providers.discovery import (
    Generation,
    Loader,
    Origin,
    PluginError,
    PluginInfo,
    Registry,
    bundled_dir,
    fingerprint,
    general_user_dir,
    hermes_home,
    legacy_dir,
    user_dir,
)

__all__ = [
    "OMIT_TEMPERATURE",
    "ProviderProfile",
    "register_provider",
    "get_provider_profile",
    "list_providers",
    "reload",
    "plugins_changed",
    "release_generations",
    "registry_generation",
    "plugin_errors",
    "list_plugins",
    "provider_origin",
    "Origin",
    "PluginError",
    "PluginInfo",
    "hermes_home",
]

_lock = threading.RLock()
_registry = Registry()
_loading_origin: Origin | None = None
_discovered = False
_discovering = False  # a plugin's look-up during discovery must not start another
_errors: list[PluginError] = []
_plugins: list[PluginInfo] = []
_fingerprint: tuple | None = None
_generation = 0
# Plugin code by discovery: the current generation last, older ones until released.
_generations: list[Generation] = []


class _LiveTable(MutableMapping):
    """Hermes' private ``_REGISTRY`` / ``_ALIASES`` dicts, as views of the live registry.

    Hermes' own tests (and a few plugins) reach for these names: they read
    them, and reset discovery with ``_REGISTRY.clear(); _ALIASES.clear();
    _discovered = False``. The views follow ``reload()``, which replaces the
    registry, so a reference taken at import time stays current.
    """

    def __init__(self, table: str) -> None:
        self._table = table

    def _data(self) -> dict:
        return getattr(_registry, self._table)

    def __getitem__(self, key: str):
        return self._data()[key]

    def __setitem__(self, key: str, value) -> None:
        if self._table == "profiles":
            if getattr(value, "name", None) != key:
                raise ValueError("_REGISTRY[name] must hold a profile with that name; use register_provider()")
            register_provider(value)
        else:
            self._data()[key] = value

    def __delitem__(self, key: str) -> None:
        with _lock:
            del self._data()[key]
            if self._table == "profiles":
                _registry.origins.pop(key, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._data()))

    def __len__(self) -> int:
        return len(self._data())

    def clear(self) -> None:
        global _generation
        with _lock:
            self._data().clear()
            if self._table == "profiles":
                _registry.origins.clear()
            _generation += 1

    def __repr__(self) -> str:
        return repr(self._data())


_REGISTRY = _LiveTable("profiles")
_ALIASES = _LiveTable("aliases")


def register_provider(profile: ProviderProfile) -> None:
    """Register ``profile`` under its name and aliases; the last writer wins."""
    global _generation
    with _lock:
        base = _loading_origin or Origin("runtime", getattr(profile, "name", "?"), "")
        _registry.register(profile, replace(base, overrides=None))
        _generation += 1


def registry_generation() -> int:
    """A number that changes whenever the registry may have: lets callers cache what they derive from it."""
    return _generation


def get_provider_profile(name: str) -> ProviderProfile | None:
    """The profile for a name or alias (names first), or None."""
    _ensure_discovered()
    with _lock:
        return _registry.lookup(name)


def list_providers() -> list[ProviderProfile]:
    """Every profile once, in registration order."""
    _ensure_discovered()
    with _lock:
        return list(_registry.profiles.values())


def provider_origin(name: str) -> Origin | None:
    """Where the profile named ``name`` came from and what it overrides."""
    _ensure_discovered()
    with _lock:
        profile = _registry.lookup(name)
        return _registry.origins.get(profile.name) if profile else None


def plugin_errors() -> list[PluginError]:
    """Plugins that failed to load in the last discovery (for doctor)."""
    _ensure_discovered()
    return list(_errors)


def list_plugins() -> list[PluginInfo]:
    """Every plugin the last discovery tried, loaded or not."""
    _ensure_discovered()
    return list(_plugins)


def plugins_changed() -> bool:
    """True when the plugin directories differ from the last discovery's."""
    with _lock:
        return not _discovered or fingerprint() != _fingerprint


def reload() -> None:
    """Forget every profile and discover again from the plugin directories."""
    global _registry, _discovered, _generation
    with _lock:
        _registry = Registry()
        _discovered = False
        _generation += 1
        _discover()


def release_generations(in_use: "Iterable[ProviderProfile | None]") -> int:
    """Free the modules of replaced generations that no profile in ``in_use`` comes from; how many were freed.

    The caller (the daemon) passes the profiles its sessions hold. The
    generation replaced last is kept one reload more, for a look-up that was
    running when it was replaced (a preview, a listing).
    """
    modules = {type(p).__module__ for p in in_use if p is not None}
    with _lock:
        stale = [g for g in _generations[:-2] if not g.used_by(modules)]
        for generation in stale:
            generation.free()
            _generations.remove(generation)
    return len(stale)


def _ensure_discovered() -> None:
    if not _discovered:
        with _lock:
            # Re-entered only by a plugin of the running discovery (the lock is
            # held): it sees what is registered so far, as in the Hermes agent.
            if not _discovered and not _discovering:
                _discover()


def _set_origin(origin: Origin | None) -> None:
    global _loading_origin
    _loading_origin = origin


def _discover() -> None:
    """Load every plugin, later sources overriding earlier ones."""
    global _discovering
    _discovering = True
    try:
        _load_all()
    finally:
        _discovering = False


def _load_all() -> None:
    global _discovered, _errors, _plugins, _fingerprint, _generation
    _fingerprint = fingerprint()
    # A new generation: its own module names, so the last one's code stays
    # whole for the sessions still running on it (see release_generations).
    generation = Generation(_generations[-1].number + 1 if _generations else 1)
    _generations.append(generation)
    # Profiles registered in code before discovery (tests, embedding apps)
    # are kept, and plugins may override them like any earlier writer.
    loader = Loader(_registry, _set_origin, generation.prefix)
    loader.load_entry_points()
    loader.load_directory_plugins(bundled_dir(), "bundled")
    loader.load_directory_plugins(user_dir(), "user")
    loader.load_general_user_plugins(general_user_dir())
    loader.load_legacy(legacy_dir())
    _errors, _plugins = loader.errors, loader.plugins
    _generation += 1
    _discovered = True
