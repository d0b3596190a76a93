"""Where hermesd keeps things.

User-owned files (config, ``.env``, user plugins) live in ``$HERMES_HOME`` so
they are shared with the Hermes agent; derived data (catalog caches, logs,
session transcripts) lives in the platform's per-user directories.
Every function reads the environment when called, so tests can redirect it.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

__all__ = ["hermes_home", "config_path", "env_path", "cache_dir", "log_dir", "data_dir", "runtime_dir",
           "RuntimeDirError", "check_private_dir",
           "open_private_dir", "PrivateDir"]


def hermes_home() -> Path:
    """``$HERMES_HOME`` or ``~/.hermes`` (the plugin API's rule); imported when called, so the
    forwarder, which needs only :func:`socket_dir`, does not load the plugin API."""
    from providers.discovery import hermes_home as home

    return home()


def config_path() -> Path:
    """``$HERMES_HOME/config.yaml``, shared with the Hermes agent."""
    return _config_in(hermes_home())


@functools.lru_cache(maxsize=16)
def _config_in(home: Path) -> Path:
    return home / "config.yaml"  # asked for before every request (the config watch) and by every chat


def env_path() -> Path:
    """``$HERMES_HOME/.env``: keys read after the environment, shared with the Hermes agent."""
    return hermes_home() / ".env"


# What platformdirs' per-user directories follow, besides the home directory.
_XDG_VARIABLES = ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "LOCALAPPDATA")


def _platform_dir(kind: str, override_var: str) -> Path:
    xdg = tuple(os.environ.get(name, "") for name in _XDG_VARIABLES)
    return _platform_dir_of(kind, os.environ.get(override_var, "").strip(), os.path.expanduser("~"), xdg)


@functools.lru_cache(maxsize=32)
def _platform_dir_of(kind: str, override: str, user_home: str, xdg: tuple[str, ...]) -> Path:
    """The directory for these environment values, worked out once: a chat asks for the data directory twice."""
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


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (mode 0700 when new) and return it."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def runtime_dir() -> Path:
    """Sockets, lock files and TCP token files: a directory no other user can have created first.

    Found without platformdirs (the forwarder imports the standard library
    only). ``HERMESD_RUNTIME_DIR`` overrides; then ``$XDG_RUNTIME_DIR/hermesd``
    or ``/run/user/<uid>/hermesd`` (Linux: a tmpfs only the user can write);
    else ``run`` in the user's own cache directory (``HERMESD_CACHE_DIR``,
    ``$XDG_CACHE_HOME/hermesd``, ``~/.cache/hermesd``; macOS
    ``~/Library/Caches/hermesd``; Windows ``%LOCALAPPDATA%\\hermesd``). Never
    the shared temporary directory, where anyone can create the name first.
    Relative values are made absolute.
    """
    import sys

    override = os.environ.get("HERMESD_RUNTIME_DIR", "").strip()
    if override:
        return Path(os.path.abspath(os.path.expanduser(override)))
    if sys.platform.startswith("linux"):
        xdg = os.environ.get("XDG_RUNTIME_DIR", "").strip()
        if os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
            return Path(xdg) / "hermesd"
        user_run = f"/run/user/{os.getuid()}"
        if os.path.isdir(user_run):
            return Path(user_run) / "hermesd"
    cache = os.environ.get("HERMESD_CACHE_DIR", "").strip()
    if cache:
        return Path(os.path.abspath(os.path.expanduser(cache))) / "run"
    if sys.platform == "darwin":
        return Path(os.path.expanduser("~/Library/Caches/hermesd/run"))
    if os.name == "nt":
        local = os.environ.get("LOCALAPPDATA", "").strip() or os.path.expanduser("~/AppData/Local")
        return Path(local) / "hermesd" / "run"
    xdg_cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    return Path(xdg_cache if os.path.isabs(xdg_cache) else os.path.expanduser("~/.cache")) / "hermesd" / "run"


class RuntimeDirError(Exception):
    """A runtime directory (token files, sockets) that is not private to this user."""


MAX_SYMLINKS = 40  # what Linux follows in one path


def open_private_dir(path: Path) -> int:
    """A descriptor of ``path`` (created 0700 when missing), reached from ``/`` one component at a time.

    Each directory on the way is opened ``O_NOFOLLOW`` relative to the one
    before and checked through its descriptor, so nothing can be swapped in
    between the check and the use: every parent must belong to root or to
    this user and be writable by no one else unless sticky (``/tmp``), and
    ``path`` itself must be this user's and writable by no one else. A symlink
    on the way is followed only when root or this user owns it (macOS's
    ``/var``, a home moved elsewhere), and its target is checked by the same
    rules; ``path`` itself must be a real directory. Raises
    :class:`RuntimeDirError` naming the directory and the fix. POSIX only.
    """
    import stat

    uid = os.getuid()
    parts = Path(os.path.abspath(path)).parts[1:]
    pending = list(reversed(parts))  # a stack: the next component last
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    where = here = "/"
    links = 0
    try:
        _check_dir(fd, "/", not parts)
        while pending:
            name = pending.pop()
            last = not pending
            here = os.path.join(where, name)
            flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
            try:
                child = os.open(name, flags, dir_fd=fd)
            except FileNotFoundError:
                try:
                    os.mkdir(name, 0o700, dir_fd=fd)
                except FileExistsError:  # another process made it meanwhile: checked below like any other
                    pass
                child = os.open(name, flags, dir_fd=fd)
            except OSError as exc:  # ELOOP or ENOTDIR: a symlink, or not a directory at all
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                if not stat.S_ISLNK(st.st_mode):
                    raise exc
                if last:
                    raise RuntimeDirError(
                        f"the runtime directory {here} is a symbolic link; hermesd uses only a real directory there, "
                        f"since a link can be pointed elsewhere; remove it (`rm {here}`) or set HERMESD_RUNTIME_DIR "
                        "to a directory of your own") from None
                if st.st_uid not in (0, uid):
                    raise RuntimeDirError(
                        f"{here} is a symbolic link belonging to uid {st.st_uid}, not to you (uid {uid}) or root, so its "
                        "owner could point it elsewhere; set HERMESD_RUNTIME_DIR to a directory of your own") from None
                links += 1
                if links > MAX_SYMLINKS:
                    raise RuntimeDirError(f"too many symbolic links on the way to {path}") from None
                target = os.readlink(name, dir_fd=fd)
                pending.extend(reversed(Path(target).parts[1:] if os.path.isabs(target) else Path(target).parts))
                if os.path.isabs(target):
                    os.close(fd)
                    fd, where = os.open("/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC), "/"
                continue
            if name == "..":  # the stack never holds one from abspath; a link's target may
                where = os.path.dirname(where)
            elif name != ".":
                where = here
            os.close(fd)
            fd = child
            _check_dir(fd, where, last)
    except OSError as exc:  # cannot be created, searched, or is not a directory
        os.close(fd)
        raise RuntimeDirError(f"the runtime directory {path} cannot be used: {exc.strerror} ({here}); "
                              "set HERMESD_RUNTIME_DIR to a directory of your own") from None
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_dir(fd: int, where: str, last: bool) -> None:
    """The rules of :func:`open_private_dir` for one directory, read through its descriptor."""
    import stat

    st = os.fstat(fd)
    uid = os.getuid()
    writable = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    if last:
        if st.st_uid != uid:
            raise RuntimeDirError(
                f"the runtime directory {where} belongs to uid {st.st_uid}, not to you (uid {uid}), "
                "so its owner could read or replace the token file or the socket; "
                "set HERMESD_RUNTIME_DIR to a directory of your own")
        if writable:
            raise RuntimeDirError(
                f"the runtime directory {where} is writable by other users, who could replace the token file or the socket; "
                f"run `chmod 700 {where}` or set HERMESD_RUNTIME_DIR to a private directory")
        return
    if st.st_uid not in (0, uid):
        raise RuntimeDirError(
            f"{where}, a parent of the runtime directory, belongs to uid {st.st_uid}, not to you (uid {uid}) or root, "
            "so its owner could replace the runtime directory; set HERMESD_RUNTIME_DIR to a directory of your own")
    if writable and not st.st_mode & stat.S_ISVTX:
        raise RuntimeDirError(
            f"{where}, a parent of the runtime directory, is writable by other users (and not sticky), who could "
            f"replace the runtime directory; run `chmod go-w {where}` or set HERMESD_RUNTIME_DIR to a private directory")


def check_private_dir(path: Path) -> Path:
    """Create ``path`` 0700 and refuse it unless :func:`open_private_dir` accepts it and every parent.

    Whoever owns (or can write to) the directory or a parent of it can read
    or replace the token file or the socket, and so talk to the daemon with
    every key it holds, or pose as the daemon.
    """
    if not hasattr(os, "getuid"):  # Windows: no owner and mode bits to check
        return ensure_private_dir(path)
    os.close(open_private_dir(path))
    return path


class PrivateDir:
    """A directory :func:`open_private_dir` accepted, held open while a socket in it is bound or connected.

    On Linux a socket is reached as ``/proc/self/fd/<fd>/<name>``: through
    the checked descriptor, never through the path again, and short whatever
    the path's length (``sun_path`` holds 104-108 bytes). Elsewhere the path
    itself, refused when it is too long.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd = open_private_dir(path) if hasattr(os, "getuid") else None
        if self.fd is None:
            ensure_private_dir(path)

    def socket_address(self, name: str) -> str:
        """Where to ``bind`` or ``connect`` the socket ``name`` in this directory."""
        if self.fd is not None and os.path.isdir(f"/proc/self/fd/{self.fd}"):
            return f"/proc/self/fd/{self.fd}/{name}"
        full = os.path.join(self.path, name)
        if len(os.fsencode(full)) > 100:
            raise RuntimeDirError(
                f"the socket path {full} is too long for a Unix socket ({len(os.fsencode(full))} bytes; the limit "
                "is 104 to 108); set HERMESD_RUNTIME_DIR to a shorter directory of your own")
        return full

    def close(self) -> None:
        """Release the descriptor (the directory stays)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "PrivateDir":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
