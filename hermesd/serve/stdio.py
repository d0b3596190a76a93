"""The stdio transport: one editor, frames read on a thread of our own, stdout kept for the protocol.

The server (:mod:`hermesd.serve.server`) knows nothing of where frames come from:
this module hands it each frame's body (``handle_frame``) and gives it a
:class:`~hermesd.serve.outbox.PipeOutbox` to write through. TCP (:mod:`hermesd.serve.tcp`)
does the same over sockets.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

from hermesd.framing import FrameError, read_frame
from hermesd.serve.outbox import PipeOutbox

log = logging.getLogger(__name__)


def serve(server: Any, stdin: Any = None, stdout: Any = None) -> None:
    """Serve ``server`` (a :class:`~hermesd.serve.server.HermesServer`) over stdio until end of input.

    ``stdin``/``stdout`` default to the process's own (fd 0 and a private
    copy of fd 1; see :func:`claim_stdout`).
    """
    server._stop_event = threading.Event()  # pygls' stop flag, checked by the reader
    outbox = PipeOutbox(stdout.fileno() if stdout is not None else claim_stdout())
    server.use_outbox(outbox)
    try:
        asyncio.run(_serve_frames(server, stdin if stdin is not None else own_stdin()))
    except BrokenPipeError:
        log.error("the editor closed the connection; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        outbox.close()
        server.shutdown()


async def _serve_frames(server: Any, stdin: Any) -> None:
    """Hand each message from ``stdin`` to the server, until end of input.

    pygls' reader makes three thread-pool round trips per message (header,
    blank line, body); a thread of our own that reads whole frames makes
    one hop, which is time off every request's latency.
    """
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    stop = server._stop_event
    stopping: list[asyncio.Task] = []

    def finish() -> None:
        if not ended.done():
            ended.set_result(None)

    def on_signal(name: str) -> None:
        """SIGTERM/SIGINT: running chats end gracefully and are answered (Daemon.stop), then we exit."""
        if not stopping:
            stopping.append(loop.create_task(server.daemon.stop(name)))
            stopping[0].add_done_callback(lambda _task: finish())

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows; or not the main thread (embedding)
            pass

    def read() -> None:
        try:
            while stop is None or not stop.is_set():
                try:
                    body = read_frame(stdin)
                except FrameError as exc:
                    loop.call_soon_threadsafe(server.frame_error, str(exc))
                    continue
                if body is None:
                    break
                loop.call_soon_threadsafe(server.handle_frame, body)
        except (OSError, ValueError):
            log.info("stdin closed")
        finally:
            try:
                loop.call_soon_threadsafe(finish)
            except RuntimeError:  # the loop is gone already
                pass

    threading.Thread(target=read, name="hermesd-reader", daemon=True).start()
    await ended
    if not stopping:  # end of input: the editor went, nobody waits for its chats; they are recorded as cancelled
        await server.daemon.stop("the editor closed the connection", grace=0.0)


def own_stdin() -> Any:
    """A reader of fd 0 that is not ``sys.stdin``.

    The reader thread blocks in it; were it ``sys.stdin.buffer``, interpreter
    shutdown would try to take that object's lock from under the thread and
    abort (SIGABRT) on every clean ``exit``.
    """
    return open(os.dup(sys.stdin.fileno()), "rb", buffering=1 << 16)  # lives as long as the process


def claim_stdout() -> int:
    """Keep fd 1 for the protocol alone; anything else printing goes to stderr.

    A plugin's stray ``print()`` would otherwise land between LSP frames, and a
    strict client (VS Code's) drops the connection on the first unframed byte.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return protocol_fd
