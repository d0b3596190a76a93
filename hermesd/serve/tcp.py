"""``hermesd --tcp``: 127.0.0.1 only, one LSP connection per client, token required.

The token is random per start and written to a 0600 file in a runtime
directory that must be the user's own; a client proves it can read that file
by sending its contents in ``initializationOptions.token``. Unlike pygls'
own TCP mode, a client that disconnects (or fails the token check) does not
stop the daemon, and clients share sessions and config.

A connection without the token gets nothing: no method but ``initialize``,
no notifications, frames of at most 64 KiB, and it is closed unless a
valid ``initialize`` arrives within :data:`INIT_TIMEOUT` seconds. At most
:data:`MAX_CONNECTIONS` connections are served at once; running out of file
descriptors is logged once per :data:`EMFILE_LOG_INTERVAL`, never per attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hermesd.framing import MAX_FRAME_BYTES, FrameError, Headers
from hermesd.paths import RuntimeDirError, check_private_dir, runtime_dir

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
MAX_CONNECTIONS = 64
INIT_TIMEOUT = 5.0  # seconds a new connection has to send a valid initialize
PREAUTH_FRAME_BYTES = 64 * 1024  # an initialize is a few hundred bytes
EMFILE_LOG_INTERVAL = 60.0


def private_runtime_dir() -> Path:
    """The runtime directory, refused when another user owns it or a parent of it, or may write to either
    (:func:`hermesd.paths.check_private_dir`)."""
    return check_private_dir(runtime_dir())


def write_token(port: int) -> tuple[str, Path]:
    """A fresh token in a new 0600 file named for ``port``; an old file there is removed, never written through."""
    token = secrets.token_urlsafe(32)
    path = private_runtime_dir() / f"hermesd-{port}.token"
    path.unlink(missing_ok=True)  # a fresh file: never write through a link left in its place
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token, path


def serve(port: int) -> int:
    """``hermesd --tcp``: serve until SIGTERM or SIGINT; 1 (reason on stderr) when the runtime dir is refused."""
    try:
        private_runtime_dir()
    except RuntimeDirError as exc:
        print(f"hermesd: {exc}", file=sys.stderr, flush=True)
        return 1
    return asyncio.run(_serve(port))


async def _serve(port: int) -> int:
    # Imported now, not at the first log line or connection: out of descriptors, no module can be opened.
    import pygls.progress  # noqa: F401 - what a server imports when created

    import hermesd.settings.credentials  # noqa: F401 - the log filter's
    from hermesd.serve.daemon import Daemon
    from hermesd.serve.server import create_server

    loop = asyncio.get_running_loop()
    emfile = _OncePerInterval()
    loop.set_exception_handler(emfile.exception_handler)
    daemon = Daemon()
    state: dict[str, str] = {}
    live: set[Any] = set()
    refused_at = [float("-inf")]

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(live) >= MAX_CONNECTIONS:
            if time.monotonic() - refused_at[0] >= EMFILE_LOG_INTERVAL:
                refused_at[0] = time.monotonic()
                log.warning("%d connections are open (the limit): refusing new ones until one closes", MAX_CONNECTIONS)
            writer.close()
            return
        try:
            server = create_server(daemon, token=state["token"])
        except OSError as exc:  # out of descriptors between accept() and here
            emfile.report(exc)
            writer.close()
            return
        live.add(server)
        try:
            await _serve_connection(server, reader, writer)
        finally:
            live.discard(server)
            daemon.clients.discard(server)
            writer.close()

    tcp = await asyncio.start_server(on_connect, HOST, port)
    bound = tcp.sockets[0].getsockname()[1]
    token, path = write_token(bound)
    state["token"] = token
    stop = asyncio.Event()
    why: list[str] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            # The finally below removes the token file; then running chats end gracefully.
            loop.add_signal_handler(sig, lambda name=sig.name: (why.append(name), stop.set()))
        except (NotImplementedError, RuntimeError):  # Windows' event loop has no signal handlers
            pass
    print(f"hermesd listening on {HOST}:{bound}; token file: {path}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        path.unlink(missing_ok=True)
        tcp.close()
    await daemon.stop(why[0] if why else "stopped")
    return 0


async def _serve_connection(server: Any, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    from hermesd.serve.outbox import StreamOutbox

    server.use_outbox(StreamOutbox(writer))
    server.drop_connection = writer.close

    def close_if_stranger() -> None:
        if not server.authenticated:
            log.debug("closing a connection that sent no valid initialize within %g s", INIT_TIMEOUT)
            writer.close()

    timer = asyncio.get_running_loop().call_later(INIT_TIMEOUT, close_if_stranger)
    try:
        await _read_frames(server, reader)
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        pass  # the daemon is stopping; a cancelled connection task would make asyncio log a traceback (3.11)
    finally:
        timer.cancel()


async def _read_frames(server: Any, reader: asyncio.StreamReader) -> None:
    """Frames to ``server`` until end of input; before the token, one bad frame closes the connection."""
    while True:
        headers = Headers(MAX_FRAME_BYTES if server.authenticated else PREAUTH_FRAME_BYTES)
        length = None
        try:
            while length is None:
                line = await reader.readline()
                if not line:
                    return
                length = headers.feed(line)
        except ValueError as exc:  # a FrameError, or a header line over the reader's 64 KiB limit
            if not server.authenticated:
                log.debug("closing an unauthenticated connection: %s", exc)
                return
            server.frame_error(str(exc) if isinstance(exc, FrameError) else "a header line over 64 KiB; frame dropped")
            continue
        server.handle_frame(await reader.readexactly(length))


class _OncePerInterval:
    """Out of file descriptors, asyncio retries accept() every second and logs a
    traceback each time: one warning per interval instead, so the log keeps its real entries."""

    def __init__(self) -> None:
        self.last = float("-inf")

    def report(self, exc: BaseException | None) -> None:
        if time.monotonic() - self.last >= EMFILE_LOG_INTERVAL:
            self.last = time.monotonic()
            log.warning("cannot accept connections: %s; retrying every second (next report in %g s at the earliest)",
                        exc, EMFILE_LOG_INTERVAL)
        else:
            log.debug("still cannot accept connections: %s", exc)

    def exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith("socket.accept() out of system resource"):
            self.report(context.get("exception"))
        else:
            loop.default_exception_handler(context)
