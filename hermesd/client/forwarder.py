"""``hermesd --stdio``: a frame relay to the user's shared daemon, starting it (again) when none runs.

The gopls ``-remote=auto`` model. Editors (and ``hermesd chat``) share one
daemon per user and environment: the forwarder finds its endpoint, says
hello (one JSON line each way, see docs/protocol.md), then relays whole LSP
frames both ways (:mod:`hermesd.client.relay`, which also finds or starts a
new daemon when this one goes). It imports the standard library only, so a
new editor window costs a Python start and a connect, not pygls and an HTTP
stack.

Clients that would make the daemon behave differently never share one: the
endpoint's name is a hash of everything that decides what the daemon does
(:func:`env_key`). A daemon whose version differs from the forwarder's
retires: it gives up its socket at once, so a new daemon takes the name,
and exits once its own connections have closed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

from hermesd import __version__
from hermesd.framing import frame

HANDSHAKE_VERSION = 1
HELLO_LIMIT = 4096  # bytes: a hello line is well under 200
START_TIMEOUT = 15.0  # seconds a starting daemon has to answer

# What the daemon's behaviour depends on, besides config files under HERMES_HOME: where requests go, with
# whose credentials, through which proxy and CA (docs/protocol.md, "Which daemon").
_EXACT = frozenset({
    "HOME", "PYTHONPATH", "PYTHONHOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
})
_PREFIXES = ("HERMES_", "HERMESD_", "AWS_", "GOOGLE_", "GEMINI_", "AZURE_")
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL", "AUTH")  # what hermesd redacts, and AUTH
_SUFFIX = re.compile(r"_(BASE_URL|API_BASE|URL|ENDPOINT|PROXY|CA_BUNDLE)$")
# Per-login plumbing whose names hold a secret word; no provider reads them, and they differ in every ssh login.
_NOT_CREDENTIALS = frozenset({"SSH_AUTH_SOCK", "XAUTHORITY", "HERMESD_SHARED"})  # HERMESD_SHARED: whether to share at all
_PATH_VALUED = re.compile(r"(_HOME|_DIR|_FILE|_BUNDLE|_CREDENTIALS|PATH)$")  # made absolute before hashing and use
# config.yaml's ${VAR} templates, and the variables its entries name as their key (fallback, custom providers)
_CONFIG_NAMES = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)|(?:^|[\s{,])[\"']?(?:api_?)?key_?env[\"']?\s*:\s*[\"']?"
                           r"([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE | re.IGNORECASE)


class ForwardError(Exception):
    """No shared daemon could be reached or started; the message says why."""


def key_names(environ: dict[str, str] | os._Environ = os.environ) -> list[str]:
    """The variables whose names and values decide which daemon a client may share."""
    def counts(name: str) -> bool:
        upper = name.upper()
        return (upper in _EXACT or upper.startswith(_PREFIXES) or bool(_SUFFIX.search(upper))
                or any(word in upper for word in _SECRET_WORDS))

    names = {n for n in environ if counts(n)}
    return sorted((names | set(_config_names(environ))) - _NOT_CREDENTIALS)


def _config_names(environ: Any) -> list[str]:
    """A textual scan of config.yaml (no YAML parser here): every ``${VAR}`` and every ``key_env: VAR``."""
    home = absolute("HERMES_HOME", environ.get("HERMES_HOME") or "") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".hermes")
    try:
        text = Path(home, "config.yaml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    return [template or key_env for template, key_env in _CONFIG_NAMES.findall(text)]


def absolute(name: str, value: str) -> str:
    """``value`` with a relative path made absolute against this directory when ``name`` holds a path (or a
    ``PATH``-style list): the daemon serves every client, whatever directory each started in."""
    if not value or not _PATH_VALUED.search(name.upper()):
        return value
    parts = value.split(os.pathsep) if name.upper().endswith("PATH") else [value]
    return os.pathsep.join(os.path.abspath(os.path.expanduser(p)) if p and "://" not in p else p for p in parts)


def env_key(environ: dict[str, str] | os._Environ = os.environ, prefix: str = sys.prefix) -> str:
    """A short hash of the interpreter and of :func:`key_names` (names and values): values are never stored."""
    digest = hashlib.sha256()
    for part in (prefix, *(f"{name}={absolute(name, environ.get(name, ''))}" for name in key_names(environ))):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    return digest.hexdigest()[:16]


# -- endpoints -------------------------------------------------------------


class Endpoint:
    """Where one shared daemon listens, and the files beside it.

    ``base`` is ``<socket dir>/hermesd-<key>``: ``.lock`` (held by the
    daemon for its whole life, holding its pid) and ``.log`` (its stderr)
    sit beside the listening address.
    """

    kind = ""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.lock = base.with_name(base.name + ".lock")
        self.log = base.with_name(base.name + ".log")

    @property
    def address(self) -> Path:
        """Where the daemon listens (a socket path, or the file naming its port)."""
        raise NotImplementedError

    def connect(self) -> socket.socket | None:
        """A connected socket, or None when no daemon listens."""
        raise NotImplementedError

    def hello(self) -> dict[str, Any]:
        """The handshake's first line: protocol and hermesd versions, so a daemon of another version retires."""
        return {"hermesd": HANDSHAKE_VERSION, "version": __version__, "pid": os.getpid()}


class UnixEndpoint(Endpoint):
    """Linux and macOS: a 0600 socket in the user's 0700 runtime directory; each side checks the other's uid."""

    kind = "unix"

    @property
    def address(self) -> Path:
        """``<base>.sock``, whatever its length (see :meth:`hermesd.paths.PrivateDir.socket_address`)."""
        return self.base.with_name(self.base.name + ".sock")

    def connect(self) -> socket.socket | None:
        """The running daemon's socket, checked before a byte is sent; None when none listens.

        Every connect (and reconnect) comes through here: the directory is
        checked from ``/`` down and the socket reached through that checked
        descriptor (:class:`hermesd.paths.PrivateDir`), and a listener that is
        not this user is refused (:func:`check_listener`).
        """
        from hermesd.paths import PrivateDir

        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with PrivateDir(self.base.parent) as directory:
                sock.connect(directory.socket_address(self.address.name))
            check_listener(sock, self.address)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            return None
        except BaseException:
            sock.close()
            raise
        return sock


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a Unix socket (None where the platform cannot tell).

    Linux: ``SO_PEERCRED`` (the listener's, taken when it called ``listen``).
    macOS and FreeBSD (untested): ``LOCAL_PEERCRED``, what ``getpeereid`` reads.
    """
    if hasattr(socket, "SO_PEERCRED"):  # struct ucred {pid, uid, gid}
        data = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    elif sys.platform == "darwin" or sys.platform.startswith("freebsd"):  # struct xucred {version, uid, ...}
        data = sock.getsockopt(0, 0x001, 76)  # SOL_LOCAL, LOCAL_PEERCRED
    else:
        return None
    return int.from_bytes(data[4:8], sys.byteorder)


def check_listener(sock: socket.socket, where: Path) -> None:
    """Refuse a listener that is not this user's before a byte is sent to it (it would read the prompts
    and write every reply); also where the platform cannot say who listens."""
    uid = peer_uid(sock)
    if uid == os.getuid():
        return
    if uid is None:
        raise ForwardError(f"this platform ({sys.platform}) cannot tell who listens on {where}, so the shared daemon "
                           "is not used")
    raise ForwardError(f"{where} is held by uid {uid}, not by you (uid {os.getuid()}): another user may be posing as "
                       "your daemon, so nothing was sent to it")


class LoopbackEndpoint(Endpoint):
    """Windows (untested there): 127.0.0.1 on a free port; port and token in a 0600 file the hello proves it read."""

    kind = "tcp"

    @property
    def address(self) -> Path:
        """The 0600 file holding the daemon's port and token."""
        return self.base.with_name(self.base.name + ".json")

    def read(self) -> dict[str, Any] | None:
        """The port file's contents, or None while it is missing or half-written."""
        try:
            info = json.loads(self.address.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return info if isinstance(info, dict) and isinstance(info.get("port"), int) else None

    def connect(self) -> socket.socket | None:
        """A loopback connection to the port the file names, or None when nothing answers there."""
        info = self.read()
        if info is None:
            return None
        try:
            return socket.create_connection(("127.0.0.1", info["port"]), timeout=START_TIMEOUT)
        except OSError:
            return None

    def hello(self) -> dict[str, Any]:
        """The handshake with the file's token: proof this client could read the user's private file."""
        info = self.read() or {}
        return {**super().hello(), "token": info.get("token", "")}


def endpoint(environ: dict[str, str] | os._Environ = os.environ, kind: str | None = None) -> Endpoint:
    """This client's endpoint: its directory is the user's runtime dir, its name the :func:`env_key`."""
    from hermesd.paths import check_private_dir, runtime_dir

    kind = kind or ("unix" if hasattr(socket, "AF_UNIX") and os.name != "nt" else "tcp")
    base = check_private_dir(runtime_dir()) / f"hermesd-{env_key(environ)}"
    return endpoint_at(base, kind)


def endpoint_at(base: Path, kind: str) -> Endpoint:
    """The endpoint named ``base`` (what ``hermesd --daemon BASE KIND`` is given)."""
    return (UnixEndpoint if kind == "unix" else LoopbackEndpoint)(base)


# -- the handshake ---------------------------------------------------------


def handshake(ep: Endpoint, sock: socket.socket, speaks: str | None = None) -> tuple[dict[str, Any], bytes]:
    """Send our hello, read the daemon's reply line; also any bytes that came after it.

    ``speaks``: the protocol this connection will speak instead of hermesd's LSP (``"acp"``)."""
    sock.settimeout(START_TIMEOUT)
    hello = ep.hello() if speaks is None else {**ep.hello(), "speaks": speaks}
    sock.sendall(json.dumps(hello).encode() + b"\n")
    data = b""
    while b"\n" not in data:
        chunk = sock.recv(HELLO_LIMIT)
        if not chunk or len(data) > HELLO_LIMIT:
            raise ForwardError("the shared daemon closed the connection during the handshake (see its log)")
        data += chunk
    line, rest = data.split(b"\n", 1)
    try:
        reply = json.loads(line)
    except ValueError:
        raise ForwardError(f"the shared daemon's handshake reply is not JSON: {line[:80]!r}") from None
    sock.settimeout(None)
    return reply if isinstance(reply, dict) else {}, rest


def connect(ep: Endpoint, *, start: bool = True, starting: Callable[[], None] | None = None,
            speaks: str | None = None) -> tuple[socket.socket, bytes] | None:
    """A socket past the handshake to the daemon at ``ep``, starting (or replacing) it when ``start``.

    None when no daemon runs and ``start`` is false; ``starting`` is called
    just before a daemon is started; ``speaks``: as :func:`handshake`. Two clients starting at once start two
    daemons; the second finds the first's lock and leaves.
    """
    deadline = time.monotonic() + START_TIMEOUT
    started = False
    while True:
        sock = ep.connect()
        if sock is not None:
            try:
                reply, rest = handshake(ep, sock, speaks)
            except (OSError, ForwardError):
                sock.close()
                if time.monotonic() > deadline:
                    raise
                reply, rest = {"busy": True}, b""  # at its connection limit, or stopping: try again
            else:
                if reply.get("ok"):
                    return sock, rest
                sock.close()
                if not reply.get("retiring"):
                    raise ForwardError(f"the shared daemon refused the connection: {reply.get('error', reply)}")
        if not start:
            return None
        if not started:
            started = True
            if starting is not None:
                starting()
            _wait_ready(ep, _spawn(ep), deadline)
        elif time.monotonic() > deadline:
            raise ForwardError(f"the shared daemon did not start within {START_TIMEOUT:g} s; {_log_tail(ep)}")
        else:
            time.sleep(0.01)  # another client's daemon won the lock and is still starting


READY, LOST = b"1", b"0"  # what the daemon writes on the ready pipe: listening / another one holds the lock


def _spawn(ep: Endpoint) -> int:
    """Start ``hermesd --daemon`` for ``ep``, detached; the read end of the pipe it reports on (-1: poll).

    POSIX: a double fork of this process, which has imported nothing but
    the standard library, so the daemon skips a second interpreter start.
    """
    read_fd, write_fd = os.pipe()
    if hasattr(os, "fork"):
        pid = os.fork()
        if pid == 0:
            _become_daemon(ep, read_fd, write_fd)
        os.close(write_fd)
        os.waitpid(pid, 0)  # the first child exits as soon as it has forked the daemon
        return read_fd
    os.close(write_fd)  # Windows (untested): a detached interpreter; the caller polls until it answers
    os.close(read_fd)
    import subprocess

    with open(ep.log, "ab") as log:
        subprocess.Popen([sys.executable, "-m", "hermesd", "--daemon", str(ep.base), ep.kind, "-1"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, close_fds=True,
                         creationflags=0x00000008 | 0x00000200)  # DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP
    return -1


def _become_daemon(ep: Endpoint, read_fd: int, write_fd: int) -> None:
    """In the forked child: a new session, a second fork, stdio away from the editor's pipes; never returns."""
    status = 1
    try:
        os.close(read_fd)
        os.setsid()
        if os.fork() > 0:
            os._exit(0)
        for name in set(key_names(os.environ)) & set(os.environ):  # as hashed: a relative HERMES_HOME would
            os.environ[name] = absolute(name, os.environ[name])  # mean the first client's directory
        os.chdir("/")  # no client's directory is the daemon's (and none is kept busy)
        os.umask(0o077)  # what it creates is private, whatever the first client's umask
        try:
            log = os.open(ep.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        except OSError as exc:  # a symlink there (ELOOP): never appended to, nor whatever it points to
            os.write(2, f"hermesd: the shared daemon's log {ep.log} cannot be opened: {exc.strerror}\n".encode())
            return  # exits 1 (finally)
        null = os.open(os.devnull, os.O_RDWR)
        for fd, target in ((0, null), (1, null), (2, log)):  # the editor's pipes must not stay open here
            os.dup2(target, fd)
        os.close(null)
        os.close(log)
        import gc

        gc.disable()  # start-up imports allocate only what lives on: no collections (the daemon turns it back on)
        import runpy

        # The daemon's entry point by name, as Windows' `python -m hermesd --daemon ...` below,
        # without a second interpreter start: this package never imports the layers above it.
        sys.argv[1:] = ["--daemon", str(ep.base), ep.kind, str(write_fd)]
        try:
            runpy.run_module("hermesd", run_name="__main__")
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else 1
    except BaseException:  # noqa: BLE001 - report in the daemon's log, then leave: never return into the forwarder
        import traceback

        traceback.print_exc()
    finally:
        os._exit(status)


def _wait_ready(ep: Endpoint, read_fd: int, deadline: float) -> None:
    """Until the daemon says it listens, or that another one holds the lock, or dies (end of file), or the deadline."""
    if read_fd < 0:
        return
    import select

    try:
        readable, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
        said = os.read(read_fd, 1) if readable else b"?"
    finally:
        os.close(read_fd)
    if said == b"":
        raise ForwardError(f"the shared daemon exited while starting; {_log_tail(ep)}")


def _log_tail(ep: Endpoint | None) -> str:
    if ep is None:
        return ""
    try:
        with open(os.open(ep.log, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), encoding="utf-8", errors="replace") as log:
            tail = log.read().strip().splitlines()[-3:]
    except OSError:
        return f"its log: {ep.log}"
    return f"its log ({ep.log}) ends: " + " | ".join(tail) if tail else f"its log: {ep.log}"


def say_starting(what: str) -> None:
    """Tell the editor, in LSP, that hermesd is starting a daemon (``what``): seconds on a busy machine.

    A ``window/logMessage`` before the ``initialize`` answer, so an editor that
    stops a server which has said nothing within a few seconds (a program
    called hermesd that is not this one, docs/protocol.md) knows this one is
    hermesd and waits. The waits are bounded here: the shared daemon's start
    (``START_TIMEOUT``, then the editor is served in-process) and that.
    """
    params = {"type": 4, "message": f"hermesd {__version__}: starting {what}"}  # MessageType.Log
    data = frame({"jsonrpc": "2.0", "method": "window/logMessage", "params": params})
    try:
        while data:
            data = data[os.write(1, data):]
    except OSError:  # the editor is gone: the relay finds out next
        pass


def forward() -> int:
    """``hermesd --stdio``: reach (or start) the shared daemon and relay; None of pygls is imported here.

    -1: no shared daemon at first (the caller serves in-process); 1: the daemon went and none could replace it.
    """
    from hermesd.paths import RuntimeDirError

    try:
        ep = endpoint()
        connected = connect(ep, starting=lambda: say_starting("the shared daemon"))
    except (OSError, ForwardError, RuntimeDirError) as exc:
        print(f"hermesd: cannot use the shared daemon ({exc}); serving this editor in-process", file=sys.stderr, flush=True)
        return -1
    assert connected is not None
    from hermesd.client.relay import Relay

    sock, pending = connected

    def reconnect() -> tuple[socket.socket, bytes]:
        again = connect(ep)  # the same checks as the first connect: directory, listener's uid, hello
        assert again is not None
        return again

    return Relay(sock, pending, reconnect, (OSError, ForwardError, RuntimeDirError), timeout=START_TIMEOUT).run()
