"""The one hand-written JSON-RPC frame client, for tests and benchmarks.

pytest-lsp (see :mod:`tests.daemon`) is the client for ordinary daemon tests.
This one exists for what an LSP library will not do: send frames no library
builds (a lying ``Content-Length``, invalid JSON), check the framing of every
byte the daemon writes, speak to TCP mode before or without a token, and
measure the daemon rather than the client (pygls structures every message
through cattrs; at 20,000 messages a second that would measure the client).
Every read is stamped with ``time.monotonic()``, and reading can be paused to
play an editor that lags.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from typing import Any, Callable

NotificationHandler = Callable[[str, Any, float], None]


class RpcError(Exception):
    """A JSON-RPC error response."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code = error.get("code")
        self.error = error


class FramingError(AssertionError):
    """The peer wrote bytes that are not a well-formed ``Content-Length`` frame."""


def frame(body: bytes) -> bytes:
    """``body`` behind a ``Content-Length`` header, as LSP frames it."""
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class LspClient:
    """A JSON-RPC conversation over a spawned server's stdio or a TCP socket.

    Replies resolve the futures of :meth:`send`; notifications go to
    :attr:`on_notification` when it is set (a benchmark's thousands of deltas
    are not kept); everything else read is kept in :attr:`messages`, which
    ``wait_for`` searches. Requests from the server are answered with null.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: Any, *, proc: asyncio.subprocess.Process | None = None,
                 started_at: float | None = None, strict: bool = False) -> None:
        self.proc = proc
        self.spawned_at = started_at if started_at is not None else time.monotonic()
        self.on_notification: NotificationHandler | None = None
        self.messages: list[dict[str, Any]] = []
        self.strict = strict
        self._reader_stream = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future] = {}
        self._arrived = asyncio.Event()
        self._waiting = 0
        self._reading = asyncio.Event()
        self._reading.set()
        self.closed = asyncio.get_running_loop().create_future()
        self.failure: Exception | None = None  # what ended the reading, when not the peer closing
        self._reader = asyncio.ensure_future(self._read_loop())

    # -- starting --------------------------------------------------------

    @classmethod
    async def spawn(cls, argv: list[str], env: dict[str, str], cwd: str | None = None, *,
                    stderr: Any = asyncio.subprocess.DEVNULL, strict: bool = False) -> "LspClient":
        """Start ``argv`` and talk to it over its stdin and stdout."""
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=cwd,
            limit=1 << 20,
        )
        assert proc.stdout is not None and proc.stdin is not None
        return cls(proc.stdout, proc.stdin, proc=proc, started_at=started, strict=strict)

    @classmethod
    async def connect(cls, port: int, *, strict: bool = False) -> "LspClient":
        """Open a TCP connection to ``127.0.0.1:port``."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
        return cls(reader, writer, strict=strict)

    # -- sending ---------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        """Bytes exactly as given: a whole frame, a part of one, or garbage."""
        self._writer.write(data)

    def send_message(self, message: dict[str, Any]) -> None:
        """One message, framed."""
        self.send_raw(frame(json.dumps(message).encode()))

    def send(self, method: str, params: Any = None, msg_id: Any = None) -> tuple[Any, asyncio.Future]:
        """Start a request; returns its id and a future for its result."""
        msg_id = next(self._ids) if msg_id is None else msg_id
        future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self.send_message({"jsonrpc": "2.0", "id": msg_id, "method": method,
                           "params": params if params is not None else {}})
        return msg_id, future

    async def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        """The request's result; an error reply raises :class:`RpcError`."""
        _, future = self.send(method, params)
        return await asyncio.wait_for(future, timeout)

    async def call(self, method: str, params: Any = None, timeout: float = 30.0) -> dict[str, Any]:
        """The whole reply message (``result`` or ``error``), for tests of refusals."""
        msg_id, future = self.send(method, params)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except RpcError:
            pass
        return await self.wait_for(lambda m: m.get("id") == msg_id and "method" not in m, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self.send_message({"jsonrpc": "2.0", "method": method, "params": params if params is not None else {}})

    async def initialize(self, options: dict[str, Any] | None = None, *, initialized: bool = True) -> Any:
        """``initialize`` then ``initialized``, as every editor starts."""
        result = await self.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": None, "capabilities": {}, "initializationOptions": options or {}},
        )
        if initialized:
            self.notify("initialized", {})
        return result

    # -- reading ---------------------------------------------------------

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        """The first message read (so far or later) that ``predicate`` accepts."""
        async def first() -> dict[str, Any]:
            seen = 0
            while True:
                for message in self.messages[seen:]:
                    if predicate(message):
                        return message
                seen = len(self.messages)
                if self.closed.done():
                    raise self.failure or ConnectionError("the server closed the connection")
                self._waiting += 1
                try:
                    await self._arrived.wait()
                finally:
                    self._waiting -= 1

        return await asyncio.wait_for(first(), timeout)

    async def wait_closed(self, timeout: float = 10.0) -> None:
        """Until the server closes the connection (or its output); raises what broke the framing."""
        await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        if self.failure is not None:
            raise self.failure

    def _stdout_transport(self) -> Any:
        assert self.proc is not None, "pausing is for spawned servers"
        return self.proc._transport.get_pipe_transport(1)  # type: ignore[attr-defined]

    def pause_reading(self) -> None:
        """Stop reading the pipe: it fills, and the server's writes can no longer complete."""
        self._reading.clear()
        self._stdout_transport().pause_reading()

    def resume_reading(self) -> None:
        self._stdout_transport().resume_reading()
        self._reading.set()

    async def _read_loop(self) -> None:
        buf = b""
        try:
            while True:
                if not self._reading.is_set():
                    await self._reading.wait()
                try:
                    data = await self._reader_stream.read(1 << 16)
                except ConnectionError:
                    break
                if not data:
                    break
                now = time.monotonic()
                buf += data
                pos = 0
                while True:
                    head = buf[pos:pos + 16]
                    if self.strict and head and not b"Content-Length: ".startswith(head):
                        raise FramingError(f"bytes outside a frame: {buf[pos:pos + 120]!r}")
                    end = buf.find(b"\r\n\r\n", pos)
                    if end < 0:
                        break
                    length = -1
                    for line in buf[pos:end].split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value)
                    start = end + 4
                    if length < 0 or len(buf) < start + length:
                        break
                    self._dispatch(json.loads(buf[start:start + length]), now)
                    pos = start + length
                buf = buf[pos:]
        except (FramingError, ValueError) as exc:  # bad bytes from the server: what waiters raise
            self.failure = exc
        finally:
            if not self.closed.done():
                self.closed.set_result(None)
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(self.failure or ConnectionError("server closed its output"))
            self._wake()

    def _wake(self) -> None:
        """Wake every ``wait_for``: each waits on the event current when it last looked."""
        if self._waiting:
            arrived, self._arrived = self._arrived, asyncio.Event()
            arrived.set()

    def _dispatch(self, message: dict[str, Any], now: float) -> None:
        if "method" not in message or self.on_notification is None:
            self.messages.append(message)
        if "id" in message and "method" not in message:
            msg_id = message["id"]
            future = self._pending.pop(msg_id, None) if isinstance(msg_id, (str, int)) else None
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RpcError(message["error"]))
                else:
                    future.set_result(message.get("result"))
        elif "id" in message:  # a request from the server: answer it plainly
            self.send_message({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif self.on_notification is not None:
            self.on_notification(message.get("method", ""), message.get("params"), now)
        self._wake()

    # -- ending ----------------------------------------------------------

    async def close(self, timeout: float = 5.0) -> None:
        """``shutdown`` + ``exit`` (or just the socket); kill the process if it does not leave in time."""
        try:
            if self.proc is None:
                self._writer.close()
            elif self.proc.returncode is None:
                await self.request("shutdown", None, timeout=timeout)
                self.notify("exit")
                await asyncio.wait_for(self.proc.wait(), timeout)
        except (asyncio.TimeoutError, ConnectionError, RpcError, BrokenPipeError):
            self.kill()
            if self.proc is not None:
                await self.proc.wait()
        self._reader.cancel()

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
