"""The shared per-user daemon behind :mod:`hermesd.client.forwarder`.

One process serves every editor and CLI client of one user and environment
(docs/protocol.md, "Shared daemon"). A connection is admitted when its
peer is this user (``SO_PEERCRED``; on the loopback fallback, the token)
and its hello names our handshake and version; it is then served exactly
like a TCP connection whose token was checked (hermesd.serve.tcp's frame caps,
connection cap and per-connection ``shutdown``/``exit``), and joins the
broadcasts (``hermes/configChanged`` reaches every client).

The daemon holds ``<base>.lock`` for its whole life, exits after
``daemon.idle_timeout`` seconds without connections, and retires when a
client of another version says hello: it gives up its address at once and
exits when its last connection closes.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import secrets
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from hermesd import __version__
from hermesd.client.forwarder import (
    HANDSHAKE_VERSION,
    HELLO_LIMIT,
    LOST,
    READY,
    Endpoint,
    LoopbackEndpoint,
    endpoint_at,
    peer_uid,
)
from hermesd.paths import PrivateDir
from hermesd.serve.tcp import (
    INIT_TIMEOUT,
    MAX_CONNECTIONS,
    _OncePerInterval,
    _serve_connection,
)

log = logging.getLogger(__name__)
DEFAULT_IDLE_TIMEOUT = 300.0
# Idle, but holding turns it could not save: how often the daemon tries again before exiting.
UNSAVED_RETRY = 30.0


def idle_timeout() -> float:
    """``daemon.idle_timeout`` from config.yaml; read at each idle start, so a change applies next time."""
    from hermesd.settings import config

    try:
        value = config.load().get("daemon.idle_timeout")
    except Exception:  # noqa: BLE001 - an unreadable config must not keep the daemon forever
        return DEFAULT_IDLE_TIMEOUT
    return float(value) if isinstance(value, (int, float)) else DEFAULT_IDLE_TIMEOUT


class Lock:
    """``<base>.lock``: held (flock) by the daemon that owns the address; it holds the pid."""

    def __init__(self, ep: Endpoint) -> None:
        self.path = ep.lock
        self.fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting and write our pid in it; False when another daemon holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # Windows: msvcrt's lock (untested here)
            import msvcrt

            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            except OSError:
                os.close(fd)
                return False
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    def release(self) -> None:
        """Let the next daemon take the lock (the file itself stays)."""
        if self.fd is not None:
            os.close(self.fd)  # the lock goes with the descriptor; the file stays (unlinking it would race)
            self.fd = None


class SharedDaemon:
    """The listener, its connections and the lifecycle rules around them."""

    def __init__(self, ep: Endpoint) -> None:
        from hermesd.serve.daemon import Daemon

        self.ep = ep
        self.daemon = Daemon()
        self.secret = secrets.token_urlsafe(32)  # marks connections as "one of many"; no client ever sends it
        self.token = secrets.token_urlsafe(32)  # the loopback fallback's: proven in the hello
        self.live: set[Any] = set()
        self.listener: asyncio.AbstractServer | None = None
        self.lock = Lock(ep)
        self.stop = asyncio.Event()
        self.retiring = False
        self.signalled = ""  # the signal that stops us, if one did
        self.idle: asyncio.TimerHandle | None = None
        self.refusals = _OncePerInterval()
        self.address_id: tuple[int, int] | None = None

    async def start(self) -> bool:
        """Take the lock and listen on the endpoint (0600 from the start); False when another daemon owns it."""
        if not self.lock.acquire():
            return False
        address = self.ep.address
        if isinstance(self.ep, LoopbackEndpoint):
            self.listener = await asyncio.start_server(self.on_connect, "127.0.0.1", 0, limit=HELLO_LIMIT * 16)
            port = self.listener.sockets[0].getsockname()[1]
            _write_private(address, json.dumps({"port": port, "token": self.token, "pid": os.getpid()}))
        else:
            address.unlink(missing_ok=True)  # a socket left by a daemon that was killed; we hold the lock
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o177)  # the socket is created 0600, never wider for an instant
            try:
                with PrivateDir(address.parent) as directory:  # checked again; bound through its descriptor
                    sock.bind(directory.socket_address(address.name))
            except BaseException:
                sock.close()
                raise
            finally:
                os.umask(old)
            self.listener = await asyncio.start_unix_server(self.on_connect, sock=sock, limit=HELLO_LIMIT * 16)
        st = address.stat()
        self.address_id = (st.st_dev, st.st_ino)
        self.arm_idle()
        return True

    def give_up_address(self) -> None:
        """Stop listening and free the address and lock, so the next daemon can take them at once."""
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        try:
            st = self.ep.address.stat()
            if (st.st_dev, st.st_ino) == self.address_id:  # ours, not a successor's
                self.ep.address.unlink()
        except OSError:
            pass
        self.lock.release()

    def arm_idle(self) -> None:
        """With no client left, exit after ``daemon.idle_timeout`` (at once when retiring); a client arriving disarms it."""
        if self.idle is not None:
            self.idle.cancel()
            self.idle = None
        if self.live:
            return
        if self.retiring:
            self.stop.set()
            return
        seconds = idle_timeout()
        log.info("no connections: exiting in %g s unless one arrives", seconds)
        self.idle = asyncio.get_running_loop().call_later(seconds, self.idle_expired, seconds)

    def idle_expired(self, seconds: float) -> None:
        """Exit, unless turns a failed write left in memory are still unsaved: then try again later."""
        if self.daemon.holds_unsaved():
            wait = min(seconds, UNSAVED_RETRY)
            log.warning("not exiting on idle: some turns are still unsaved (see above); trying again in %g s", wait)
            self.idle = asyncio.get_running_loop().call_later(wait, self.idle_expired, seconds)
            return
        self.stop.set()

    def on_signal(self, name: str) -> None:
        """SIGTERM/SIGINT: stop (gracefully: see :meth:`hermesd.serve.daemon.Daemon.stop`)."""
        self.signalled = self.signalled or name
        self.stop.set()

    async def on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One client: check its uid, hello and version, then serve it until it goes."""
        try:
            hello = await self.admit(reader, writer)
        except (OSError, ValueError, asyncio.TimeoutError, asyncio.IncompleteReadError) as exc:
            log.debug("closing a connection whose handshake failed: %s", exc)
            writer.close()
            return
        if hello is None:
            writer.close()
            return
        if hello.get("speaks") == "acp":
            await self.serve_acp(reader, writer)
            return
        from hermesd.serve.server import create_server

        server = create_server(self.daemon, token=self.secret)
        server.authenticated = True  # the peer's uid (or the token) was checked before the first LSP byte
        self.daemon.clients.add(server)
        self.live.add(server)
        self.arm_idle()
        try:
            await _serve_connection(server, reader, writer)
        finally:
            self.live.discard(server)
            self.daemon.clients.discard(server)
            for task in list(server.chats):  # the client is gone: nobody reads its chats
                task.cancel()
            writer.close()
            self.arm_idle()

    async def serve_acp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """An Agent Client Protocol connection (``hermesd acp``): the SDK is imported now, on the first one."""
        from hermesd.serve.acp import serve_connection

        connection = object()  # counts toward the idle timer and the connection cap like an editor
        self.live.add(connection)
        self.arm_idle()
        try:
            await serve_connection(self.daemon, reader, writer)
        except Exception:  # noqa: BLE001 - one client's failure never takes the daemon down
            log.exception("ACP connection failed")
        finally:
            self.live.discard(connection)
            writer.close()
            self.arm_idle()

    async def admit(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> dict[str, Any] | None:
        """The peer check and the hello; the hello when the connection may be served, else None."""
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family == getattr(socket, "AF_UNIX", None):
            uid = peer_uid(sock)
            if uid is not None and uid != os.getuid():
                log.warning("refused a connection from uid %d (this daemon serves uid %d only)", uid, os.getuid())
                return None
        if len(self.live) >= MAX_CONNECTIONS:
            self.refusals.report(OSError(f"{MAX_CONNECTIONS} connections are open (the limit)"))
            return None
        line = await asyncio.wait_for(reader.readline(), INIT_TIMEOUT)
        if len(line) > HELLO_LIMIT or not line.endswith(b"\n"):
            return None
        hello = json.loads(line)
        if not isinstance(hello, dict) or hello.get("hermesd") != HANDSHAKE_VERSION:
            _reply(writer, ok=False, error=f"unknown handshake (this daemon speaks {HANDSHAKE_VERSION})")
            return None
        if isinstance(self.ep, LoopbackEndpoint):
            import hmac

            if not hmac.compare_digest(str(hello.get("token", "")), self.token):
                return None
        if self.retiring:
            _reply(writer, ok=False, retiring=True, version=__version__)
            return None
        if hello.get("version") != __version__:
            log.info("a client of version %s said hello: retiring (this is %s)", hello.get("version"), __version__)
            self.retiring = True
            self.give_up_address()
            _reply(writer, ok=False, retiring=True, version=__version__)
            await writer.drain()
            self.arm_idle()
            return None
        log.info("hello from pid %s", hello.get("pid"))
        if hello.get("speaks", "lsp") not in ("lsp", "acp"):
            _reply(writer, ok=False, error=f"unknown protocol {str(hello.get('speaks'))[:40]!r} (this daemon speaks lsp and acp)")
            return None
        _reply(writer, ok=True, version=__version__, pid=os.getpid())
        return hello


def _collect_after_warm_up() -> None:
    """The cyclic collector back on once the warm-up is done (the forwarder's fork turned it off for the
    start-up imports)."""
    for thread in threading.enumerate():
        if thread.name == "hermesd-warm-up":
            thread.join()
    gc.enable()


def _say(ready_fd: int | None, what: bytes) -> None:
    """Tell the forwarder that started us how the start went (it waits on the pipe)."""
    if ready_fd is not None:
        try:
            os.write(ready_fd, what)
            os.close(ready_fd)
        except OSError:
            pass


def _reply(writer: asyncio.StreamWriter, **fields: Any) -> None:
    writer.write(json.dumps(fields).encode() + b"\n")


def _write_private(path: Path, text: str) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def serve(base: Path, kind: str, ready_fd: int | None = None) -> int:
    """Run the shared daemon named ``base``; exit 0 at once when another holds its lock."""
    ep = endpoint_at(base, kind)
    if os.name == "posix":  # the forwarder forked us with stderr on ep.log (Windows: untested, not rotated)
        from hermesd.serve.logs import rotate_stderr

        try:
            rotate_stderr(ep.log)
        except OSError as exc:
            log.warning("the daemon's stderr (%s) is not rotated: %s", ep.log, exc)
    return asyncio.run(_serve(ep, ready_fd))


async def _serve(ep: Endpoint, ready_fd: int | None) -> int:
    import pygls.progress  # noqa: F401 - what a server imports when created

    import hermesd.settings.credentials  # noqa: F401 - the log filter's

    shared = SharedDaemon(ep)
    if not await shared.start():
        log.info("another daemon holds %s: leaving it the address", ep.lock)
        _say(ready_fd, LOST)
        return 0
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, shared.on_signal, sig.name)
        except (NotImplementedError, RuntimeError):  # Windows' event loop has no signal handlers
            pass
    _say(ready_fd, READY)
    log.info("hermesd %s serving %s (pid %d)", __version__, ep.address, os.getpid())
    # The warm-up now, not at a client's ``initialized`` (the first client is connecting meanwhile). Started from
    # this thread, before the loop serves anyone: it imports the plugin package first (warm_up.start_warm_up).
    from hermesd.serve.warm_up import start_warm_up

    start_warm_up()
    threading.Thread(target=_collect_after_warm_up, name="hermesd-shared-warm-up", daemon=True).start()
    try:
        await shared.stop.wait()
    finally:
        shared.give_up_address()  # no new clients (a new daemon may start meanwhile: sessions are locked)
        if isinstance(ep, LoopbackEndpoint):
            ep.address.unlink(missing_ok=True)
    why = shared.signalled or ("retired" if shared.retiring else "idle")
    await shared.daemon.stop(why)
    log.info("shared daemon exiting (%s)", why)
    return 0
