"""Where hermesd keeps things.

User-owned files (config, ``.env``, user plugins) live in ``$HERMES_HOME`` so
they are shared with the Hermes agent; derived data (catalog caches, logs,
session transcripts) lives in the platform's per-user directories.
Every function reads the environment when called, so tests can redirect it.
"""

from __future__ import annotations

import os
from pathlib import Path

from providers.discovery import hermes_home

__all__ = ["hermes_home", "config_path", "env_path", "cache_dir", "log_dir", "data_dir", "runtime_dir"]


def config_path() -> Path:
    return hermes_home() / "config.yaml"


def env_path() -> Path:
    return hermes_home() / ".env"


def _platform_dir(kind: str, override_var: str) -> Path:
    override = os.environ.get(override_var, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")("hermesd", appauthor=False))


def cache_dir() -> Path:
    """Model catalog caches. ``HERMESD_CACHE_DIR`` overrides."""
    return _platform_dir("cache", "HERMESD_CACHE_DIR")


def log_dir() -> Path:
    """Daemon logs. ``HERMESD_LOG_DIR`` overrides."""
    return _platform_dir("log", "HERMESD_LOG_DIR")


def data_dir() -> Path:
    """Session transcripts. ``HERMESD_DATA_DIR`` overrides."""
    return _platform_dir("data", "HERMESD_DATA_DIR")


def runtime_dir() -> Path:
    """TCP token files: private to the user."""
    override = os.environ.get("HERMESD_RUNTIME_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_runtime_dir("hermesd", appauthor=False))


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700 when new) and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path
