"""A lean LSP client for driving a language server as an editor would.

pygls' client structures every message through cattrs; at 20,000 messages a
second that would measure the client, not the daemon. This one parses frames
straight out of the pipe, stamps each read with ``time.monotonic()`` and hands
notifications to a callback. It can also stop reading for a while, to play an
editor that lags.
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


class LspClient:
    """One spawned server process and the JSON-RPC conversation with it."""

    def __init__(self, proc: asyncio.subprocess.Process, spawned_at: float) -> None:
        self.proc = proc
        self.spawned_at = spawned_at
        self.on_notification: NotificationHandler | None = None
        self._ids = itertools.count(1)
        self._pending: dict[Any, asyncio.Future] = {}
        self._reading = asyncio.Event()
        self._reading.set()
        self._reader = asyncio.ensure_future(self._read_loop())
        self.stderr = b""

    @classmethod
    async def spawn(cls, argv: list[str], env: dict[str, str], cwd: str | None = None) -> "LspClient":
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            limit=1 << 20,
        )
        return cls(proc, started)

    # -- sending ---------------------------------------------------------

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))

    def send(self, method: str, params: Any = None) -> tuple[int, asyncio.Future]:
        """Start a request; returns its id and a future for its result."""
        msg_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params if params is not None else {}})
        return msg_id, future

    async def request(self, method: str, params: Any = None, timeout: float = 60.0) -> Any:
        _, future = self.send(method, params)
        return await asyncio.wait_for(future, timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self._write({"jsonrpc": "2.0", "method": method, "params": params if params is not None else {}})

    async def initialize(self, options: dict[str, Any] | None = None) -> Any:
        """``initialize`` then ``initialized``, as every editor starts."""
        result = await self.request(
            "initialize",
            {"processId": os.getpid(), "rootUri": None, "capabilities": {}, "initializationOptions": options or {}},
        )
        self.notify("initialized", {})
        return result

    # -- reading ---------------------------------------------------------

    def _stdout_transport(self) -> Any:
        return self.proc._transport.get_pipe_transport(1)  # type: ignore[attr-defined]

    def pause_reading(self) -> None:
        """Stop reading the pipe: it fills, and the server's writes can no longer complete."""
        self._reading.clear()
        self._stdout_transport().pause_reading()

    def resume_reading(self) -> None:
        self._stdout_transport().resume_reading()
        self._reading.set()

    async def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        buf = b""
        try:
            while True:
                if not self._reading.is_set():
                    await self._reading.wait()
                data = await stdout.read(1 << 16)
                if not data:
                    break
                now = time.monotonic()
                buf += data
                pos = 0
                while True:
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
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("server closed its output"))

    def _dispatch(self, message: dict[str, Any], now: float) -> None:
        if "id" in message and "method" not in message:
            future = self._pending.pop(message["id"], None)
            if future is not None and not future.done():
                if "error" in message:
                    future.set_exception(RpcError(message["error"]))
                else:
                    future.set_result(message.get("result"))
        elif "id" in message:  # a request from the server: answer it plainly
            self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
        elif self.on_notification is not None:
            self.on_notification(message.get("method", ""), message.get("params"), now)

    # -- ending ----------------------------------------------------------

    async def close(self, timeout: float = 5.0) -> None:
        """``shutdown`` + ``exit``; kill the process if it does not leave in time."""
        try:
            if self.proc.returncode is None:
                await self.request("shutdown", None, timeout=timeout)
                self.notify("exit")
            await asyncio.wait_for(self.proc.wait(), timeout)
        except (asyncio.TimeoutError, ConnectionError, RpcError, BrokenPipeError):
            self.kill()
            await self.proc.wait()
        self._reader.cancel()

    def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()

    def pid(self) -> int:
        return self.proc.pid


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MiB (Linux ``/proc``)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
