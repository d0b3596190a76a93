"""Writing to the editor without ever blocking the event loop.

pygls writes each message to stdout synchronously, so an editor that reads
slowly blocks the event loop, and with it every upstream read. An outbox
never blocks the loop: what is sent during one loop turn leaves in one write
while the pipe has room, and otherwise queues for a writer thread (stdio) or a
drain task (TCP). Pieces of a chat that arrive before its delta is written
(in the same loop turn, or while the client is behind) merge into that
delta, so a lagging editor costs one pending message per chat, not one per
chunk; ``seq`` stays gapless and the concatenated text stays exact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import select
import threading
from collections import deque
from typing import Any

from hermesd.framing import frame_body

log = logging.getLogger(__name__)

_encode = json.encoder.encode_basestring_ascii  # a JSON string literal, ASCII only (C)


class DeltaStream:
    """The ``hermes/chatDelta`` notifications of one chat request.

    Pieces that arrive while the previous delta is still unwritten are held
    here and leave as one delta; ``seq`` counts deltas actually sent.
    """

    def __init__(self, session_id: str, request_id: Any) -> None:
        self.session_id = session_id
        self.request_id = request_id
        self.seq = 0
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.queued = False  # a slot for this stream waits in the outbox queue
        # Everything but seq and the pieces is the same in every delta: encode it once.
        self._head = (
            '{"jsonrpc":"2.0","method":"hermes/chatDelta","params":{"sessionId":%s,"requestId":%s,"seq":'
            % (json.dumps(session_id), json.dumps(request_id))
        )

    def add(self, text: str, reasoning: str) -> None:
        """Hold a piece until the next delta leaves (empty pieces are not kept)."""
        if text:
            self.text.append(text)
        if reasoning:
            self.reasoning.append(reasoning)

    def frame(self) -> bytes:
        """The next delta's frame, holding every pending piece (caller holds the outbox lock)."""
        parts = [self._head, str(self.seq)]
        if self.text:
            parts += [',"text":', _encode("".join(self.text))]
        if self.reasoning:
            parts += [',"reasoning":', _encode("".join(self.reasoning))]
        parts.append("}}")
        body = "".join(parts).encode("ascii")
        return frame_body(body)

    def params(self) -> dict[str, Any]:
        """The next delta's params, holding every pending piece (for a transport that encodes itself)."""
        params: dict[str, Any] = {"sessionId": self.session_id, "requestId": self.request_id, "seq": self.seq}
        if self.text:
            params["text"] = "".join(self.text)
        if self.reasoning:
            params["reasoning"] = "".join(self.reasoning)
        return params

    def sent(self) -> None:
        """The frame just built was handed to the client: start the next delta."""
        self.seq += 1
        self.text, self.reasoning, self.queued = [], [], False


class Outbox:
    """Frames on their way to one client, in order; chat deltas merge while they wait.

    Everything sent during one turn of the event loop leaves in one write at
    the end of it (one system call, not one per delta). What the client cannot
    take without blocking is left to a drainer (a thread, or a task) that owns
    the queue until it is empty; meanwhile ("busy") a chat's new pieces merge
    into its queued delta. Thread-safe: worker threads send too. Subclasses
    provide ``_write_some`` (non-blocking) and ``_kick_drainer``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._lock = threading.Lock()
        self._queue: deque[bytes | DeltaStream] = deque()
        self._busy = False  # the drainer owns the queue until it has emptied it
        self._flush_scheduled = False
        self._loop = loop
        self.closed = False

    # pygls' writer interface: every response and notification comes through here.
    def write(self, data: bytes) -> None:
        """Queue a whole frame from pygls and wake the writer; never blocks, dropped once closed."""
        with self._lock:
            if not self.closed:
                self._queue.append(data)
                self._wake()

    def delta(self, stream: DeltaStream, text: str, reasoning: str) -> None:
        """Send a piece of a chat's reply, merged into its pending delta if one waits.

        Pieces of one chat that arrive before the next write (several events
        in one read from the upstream, or a client behind) leave as one
        delta, in the place of the first: one encode and one message instead
        of one per piece, with everything sent after it still after it.
        """
        with self._lock:
            if self.closed:
                return
            stream.add(text, reasoning)
            if stream.queued:
                return  # merged into this chat's delta that still waits
            stream.queued = True
            self._queue.append(stream)
            self._wake()

    def _wake(self) -> None:
        """Get the queue written: by the drainer if it is at work, else at the end of this loop turn."""
        if self._busy:
            self._kick_drainer()
            return
        if self._flush_scheduled:
            return
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            self._loop = loop
            assert loop is not None
            loop.call_soon(self._flush)
        except RuntimeError:  # a worker thread
            loop = self._loop
            if loop is None or loop.is_closed():
                self._busy = True
                self._kick_drainer()
                return
            loop.call_soon_threadsafe(self._flush)
        self._flush_scheduled = True

    def _flush(self) -> None:
        with self._lock:
            self._flush_scheduled = False
            if self._busy or self.closed or not self._queue:
                return
            rest = self._write_some(self._take_all())
            if rest:  # the client is behind: the drainer waits for it; deltas merge meanwhile
                self._queue.appendleft(rest)
                self._busy = True
                self._kick_drainer()

    def _take_all(self) -> bytes:
        """Everything queued, as bytes (caller holds the lock)."""
        parts = []
        for item in self._queue:
            if isinstance(item, DeltaStream):
                parts.append(item.frame())
                item.sent()
            else:
                parts.append(item)
        self._queue.clear()
        return b"".join(parts)

    async def settle(self, timeout: float) -> None:
        """Wait, at most ``timeout`` seconds, until everything queued is out (the daemon is about to stop)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while (self._queue or self._busy or self._flush_scheduled or self._unsent()) and not self.closed \
                and loop.time() < end:
            await asyncio.sleep(0.01)

    def _unsent(self) -> int:
        """Bytes handed on but not yet written (a transport's buffer)."""
        return 0

    def _write_some(self, data: bytes) -> bytes:
        """Write what can go without blocking; return the rest."""
        raise NotImplementedError

    def _kick_drainer(self) -> None:
        raise NotImplementedError


class PipeOutbox(Outbox):
    """Writes to a file descriptor (stdout); a thread does the writes that could block."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._wake_drainer = threading.Condition(self._lock)
        self._poll: Any = None
        if hasattr(select, "poll"):
            self._poll = select.poll()
            self._poll.register(fd, select.POLLOUT)
        self._thread = threading.Thread(target=self._run, name="hermesd-writer", daemon=True)
        self._thread.start()

    def _write_some(self, data: bytes) -> bytes:
        if self._poll is None:
            return data
        view = memoryview(data)
        # A pipe that polls writable takes up to PIPE_BUF bytes without blocking.
        while view and self._poll.poll(0):
            view = view[os.write(self._fd, view[: select.PIPE_BUF]):]
        return bytes(view)

    def _kick_drainer(self) -> None:
        self._wake_drainer.notify()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self.closed:
                    self._busy = False
                    self._wake_drainer.wait()
                if not self._queue:
                    self._busy = False
                    return
                self._busy = True
                data = self._take_all()
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError:
                log.info("the editor closed its end of stdout")
                with self._lock:
                    self.closed, self._busy = True, False
                    self._queue.clear()
                return

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (for at most ``timeout`` s), then refuse more."""
        with self._lock:
            self.closed = True
            self._wake_drainer.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)


class StreamOutbox(Outbox):
    """Writes to an asyncio stream (TCP); a task waits for the socket to drain."""

    LIMIT = 64 * 1024  # bytes the transport may hold before we queue and merge instead

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        super().__init__(asyncio.get_running_loop())
        self._writer = writer

    def _write_some(self, data: bytes) -> bytes:
        transport = self._writer.transport
        if transport.is_closing():
            return b""
        if transport.get_write_buffer_size() > self.LIMIT:
            return data
        self._writer.write(data)
        return b""

    def _unsent(self) -> int:
        return self._writer.transport.get_write_buffer_size()

    def _kick_drainer(self) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._start_drain)

    def _start_drain(self) -> None:
        task = getattr(self, "_drain_task", None)
        if task is None or task.done():
            self._drain_task = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        try:
            while True:
                await self._writer.drain()
                with self._lock:
                    if not self._queue or self.closed:
                        self._busy = False
                        return
                    data = self._take_all()
                self._writer.write(data)
        except (ConnectionError, RuntimeError):
            with self._lock:
                self.closed, self._busy = True, False
                self._queue.clear()

    def close(self) -> None:
        """Stop sending (queued frames are dropped) and close the socket."""
        with self._lock:
            self.closed = True
        self._writer.close()
