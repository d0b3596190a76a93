"""Where hermesd keeps things.

User-owned files (config, ``.env``, user plugins) live in ``$HERMES_HOME`` so
they are shared with the Hermes agent; derived data (catalog caches, logs,
session transcripts) lives in the platform's per-user directories.
Every function reads the environment when called, so tests can redirect it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["hermes_home", "config_path", "env_path", "cache_dir", "log_dir", "data_dir", "runtime_dir",
           "socket_dir", "RuntimeDirError", "check_private_dir"]


def hermes_home() -> Path:
    """``$HERMES_HOME`` or ``~/.hermes`` (the plugin API's rule); imported when called, so the
    forwarder, which needs only :func:`socket_dir`, does not load the plugin API."""
    from providers.discovery import hermes_home as home

    return home()


def config_path() -> Path:
    """``$HERMES_HOME/config.yaml``, shared with the Hermes agent."""
    return hermes_home() / "config.yaml"


def env_path() -> Path:
    """``$HERMES_HOME/.env``: keys read after the environment, shared with the Hermes agent."""
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


def socket_dir() -> Path:
    """The shared daemon's socket directory, found without platformdirs (the forwarder imports stdlib only).

    ``HERMESD_RUNTIME_DIR`` overrides; Linux uses ``$XDG_RUNTIME_DIR/hermesd``
    (or ``/run/user/<uid>/hermesd``), macOS its per-user temporary directory
    (``$TMPDIR``, under ``/var/folders``), anything else ``<tmp>/hermesd-<uid>``.
    """
    override = os.environ.get("HERMESD_RUNTIME_DIR", "").strip()
    if override:
        return Path(override).expanduser()
    import sys
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else 0
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_RUNTIME_DIR", "").strip()
        if xdg:
            return Path(xdg) / "hermesd"
        if os.path.isdir(f"/run/user/{uid}"):
            return Path(f"/run/user/{uid}/hermesd")
    if sys.platform == "darwin":
        return Path(tempfile.gettempdir()) / "hermesd"
    return Path(tempfile.gettempdir()) / f"hermesd-{uid}"


class RuntimeDirError(Exception):
    """A runtime directory (token files, sockets) that is not private to this user."""


def check_private_dir(path: Path) -> Path:
    """Create ``path`` 0700 and refuse it when another user owns it or may write to it.

    Whoever owns (or can write to) the directory can read or replace the token
    file or the socket, and so talk to the daemon with every key it holds.
    """
    import stat

    ensure_private_dir(path)
    if not hasattr(os, "getuid"):  # Windows: no owner and mode bits to check
        return path
    st = path.stat()
    if st.st_uid != os.getuid():
        raise RuntimeDirError(
            f"the runtime directory {path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}), "
            "so its owner could read or replace the token file; set HERMESD_RUNTIME_DIR to a directory of your own")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RuntimeDirError(
            f"the runtime directory {path} is writable by other users, who could replace the token file; "
            f"run `chmod 700 {path}` or set HERMESD_RUNTIME_DIR to a private directory")
    return path
