"""``hermesd --tcp``: 127.0.0.1 only, one LSP connection per client, token required.

The token is random per start and written to a 0600 file; a client proves it
can read that file by sending its contents in ``initializationOptions.token``.
Unlike pygls' own TCP mode, a client that disconnects (or fails the token
check) does not stop the daemon, and clients share sessions and config.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sys
import threading
from pathlib import Path

from hermesd.paths import ensure_private_dir, runtime_dir

log = logging.getLogger(__name__)
HOST = "127.0.0.1"


def write_token(port: int) -> tuple[str, Path]:
    token = secrets.token_urlsafe(32)
    path = ensure_private_dir(runtime_dir()) / f"hermesd-{port}.token"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    os.chmod(path, 0o600)
    return token, path


def serve(port: int) -> int:
    return asyncio.run(_serve(port))


async def _serve(port: int) -> int:
    from pygls.io_ import run_async

    from hermesd.outbox import StreamOutbox
    from hermesd.server import Daemon, create_server

    daemon = Daemon()
    state: dict[str, str] = {}

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = create_server(daemon, token=state["token"])
        server.use_outbox(StreamOutbox(writer))
        server.drop_connection = writer.close
        try:
            await run_async(
                stop_event=threading.Event(),
                reader=reader,
                protocol=server.protocol,
                logger=log,
                error_handler=server.report_server_error,
            )
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            daemon.clients.discard(server)
            writer.close()

    tcp = await asyncio.start_server(on_connect, HOST, port)
    bound = tcp.sockets[0].getsockname()[1]
    token, path = write_token(bound)
    state["token"] = token
    print(f"hermesd listening on {HOST}:{bound}; token file: {path}", file=sys.stderr, flush=True)
    try:
        async with tcp:
            await tcp.serve_forever()
    finally:
        path.unlink(missing_ok=True)
    return 0
