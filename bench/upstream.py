"""A fast local OpenAI-compatible upstream, built for measuring hermesd.

``tests/upstream.py`` records every request and injects faults, which costs
more per chunk than the daemon under test; it cannot send 20,000 chunks/s.
This server does one thing: stream chat-completion chunks, pre-encoded, at a
known rate, and note when it wrote them and when the client went away.

The scenario rides in the request's ``model`` (the daemon passes it through
unchanged), e.g. ``bench:n=20000:rate=25000:tag=b4-1``:

* ``n``      content chunks (default 5)
* ``rate``   chunks per second; 0 (default) = as fast as the socket takes them
* ``stamp``  1: each chunk's text carries its send time (``i@monotonic;``),
             encoded as it is written; otherwise the text is ``i;`` (zero-padded)
* ``tag``    key under which ``GET /__stats?tag=...`` reports the stream

Stats for a tag: ``{"n", "sent", "received", "first", "last", "done", "closed"}``
with ``time.monotonic()`` values (one clock for every process on Linux), so a
benchmark can compare them with its own readings.

Inline completion (bench rows I1-I4): ``POST .../completions`` answers a FIM
request after a fixed delay (``POST /__fim {"delay": 0.08, "text": ...}``;
streamed as OpenAI text-completion events when the request asks for a
stream), and Tabby's own ``/v1/completions`` (a body with ``segments``) and
``/v1/health``, so ``tabby-agent`` can be measured against the same fake.
``GET /__fim`` lists every FIM request's ``received``, ``done`` and
``closed`` (the client went away before the answer) times; ``POST /__fim``
also forgets them.

Standalone: ``python -m bench.upstream --port 0`` prints ``READY http://127.0.0.1:PORT``
and serves until killed. Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def parse_scenario(model: str) -> dict[str, Any]:
    """``bench:n=5:rate=0`` -> ``{"n": 5, "rate": 0.0, ...}`` with defaults filled in."""
    out: dict[str, Any] = {"n": 5, "rate": 0.0, "stamp": 0, "tag": ""}
    for part in model.split(":")[1:]:
        key, _, value = part.partition("=")
        if key in ("n", "stamp"):
            out[key] = int(value)
        elif key == "rate":
            out[key] = float(value)
        elif key == "tag":
            out[key] = value
    return out


def chunk_text(i: int) -> str:
    """The text of chunk ``i`` when not stamped; concatenations are checkable."""
    return f"{i:06d};"


_MARK = "\x00"


def _event_template(model: str) -> tuple[bytes, bytes]:
    """The bytes of a content event before and after its text (encoded once per stream)."""
    body = {
        "id": "bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {"content": _MARK}, "finish_reason": None}],
    }
    head, tail = json.dumps(body, separators=(",", ":")).split(json.dumps(_MARK)[1:-1])
    return b"data: " + head.encode(), tail.encode() + b"\n\n"


def _event(model: str, text: str) -> bytes:
    head, tail = _event_template(model)
    return head + json.dumps(text)[1:-1].encode() + tail


def _tail(model: str) -> bytes:
    finish = {
        "id": "bench",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
    return b"data: " + json.dumps(finish, separators=(",", ":")).encode() + b"\n\ndata: [DONE]\n\n"


def _frame(payload: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(payload), payload)


class BenchUpstream:
    """The server; ``stats`` maps a scenario tag to what happened to its stream."""

    def __init__(self) -> None:
        self.stats: dict[str, dict[str, Any]] = {}
        self.fim: dict[str, Any] = {"delay": 0.08, "text": "return a + b"}
        self.fim_requests: list[dict[str, Any]] = []
        self._encoded: dict[tuple[str, int], list[bytes]] = {}

    def _events(self, model: str, n: int) -> list[bytes]:
        """Pre-encoded chunk events, cached per (model prefix, n) so encoding is never timed."""
        key = (model, n)
        events = self._encoded.get(key)
        if events is None:
            events = [_event(model, chunk_text(i)) for i in range(n)]
            if len(self._encoded) > 8:
                self._encoded.clear()
            self._encoded[key] = events
        return events

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        leftover = b""
        try:
            while True:
                head = leftover + await reader.readuntil(b"\r\n\r\n")
                leftover = b""
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
                length = int(headers.get("content-length") or 0)
                body = await reader.readexactly(length) if length else b""
                path = urlsplit(target).path
                if method == "POST" and path.endswith("/chat/completions"):
                    leftover = await self._chat(reader, writer, body)
                elif method == "POST" and path.endswith("/completions"):
                    leftover = await self._fim(reader, writer, body)
                elif path == "/__fim":
                    if method == "POST":
                        self.fim.update(json.loads(body or b"{}"))
                        self.fim_requests = []
                    self._json(writer, 200, {**self.fim, "requests": self.fim_requests})
                elif method == "GET" and path == "/v1/health":  # Tabby's
                    self._json(writer, 200, {"model": "bench", "device": "cpu", "arch": "x86_64", "cpu_info": "bench",
                                             "cpu_count": 1, "cuda_devices": [], "version": {"build_date": "",
                                             "build_timestamp": "", "git_sha": "", "git_describe": "v0.30.0"}})
                elif method == "GET" and path == "/__stats":
                    tag = parse_qs(urlsplit(target).query).get("tag", [""])[0]
                    self._json(writer, 200, self.stats.get(tag) or {})
                elif method == "GET" and path.endswith("/models"):
                    self._json(writer, 200, {"object": "list", "data": [{"id": "bench", "object": "model"}]})
                else:
                    self._json(writer, 404, {"error": {"message": f"no route {path}"}})
                await writer.drain()
                if leftover is None:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    def _json(self, writer: asyncio.StreamWriter, status: int, obj: Any) -> None:
        data = json.dumps(obj).encode()
        reason = b"OK" if status == 200 else b"Not Found"
        writer.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                     % (status, reason, len(data), data))

    async def _chat(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> bytes | None:
        """Stream one reply; returns bytes of a next request read early, or None when the client left."""
        received = time.monotonic()
        request = json.loads(body or b"{}")
        model = str(request.get("model") or "bench")
        sc = parse_scenario(model)
        n, rate, stamp = sc["n"], sc["rate"], sc["stamp"]
        stat: dict[str, Any] = {"n": n, "sent": 0, "received": received, "first": None, "last": None,
                                "done": False, "closed": None}
        if sc["tag"]:
            self.stats[sc["tag"]] = stat
        events = None if stamp else self._events(model, n)
        head, tail = _event_template(model)  # stamped texts are plain ASCII: no escaping needed
        # Notice the client going away while we stream (the reply never reads otherwise).
        watcher = asyncio.ensure_future(reader.read(1))
        watcher.add_done_callback(lambda f: _note_close(f, stat))
        loop = asyncio.get_running_loop()
        writer.write(_HEAD)
        sent = 0
        start = loop.time()
        try:
            while sent < n:
                if watcher.done():
                    break
                if rate > 0:
                    due = min(n, int((loop.time() - start) * rate) + 1)
                    if due <= sent:
                        await asyncio.sleep(max(0.0, start + sent / rate - loop.time()))
                        continue
                else:
                    due = min(n, sent + 64)
                if events is None:
                    now = time.monotonic()
                    payload = b"".join(b"%s%d@%.6f;%s" % (head, i, now, tail) for i in range(sent, due))
                else:
                    payload = b"".join(events[sent:due])
                writer.write(_frame(payload))
                now = time.monotonic()
                if stat["first"] is None:
                    stat["first"] = now
                stat["last"] = now
                sent = due
                stat["sent"] = sent
                await writer.drain()
            if not watcher.done():
                writer.write(_frame(_tail(model)) + b"0\r\n\r\n")
                await writer.drain()
                stat["done"] = True
        except ConnectionError:
            pass
        return await _next_request(watcher)


    async def _fim(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, body: bytes) -> bytes | None:
        """One FIM answer after the configured delay, unless the client leaves first (noted as ``closed``)."""
        stat: dict[str, Any] = {"received": time.monotonic(), "done": None, "closed": None}
        self.fim_requests.append(stat)
        request = json.loads(body or b"{}")
        text, delay = str(self.fim["text"]), float(self.fim["delay"])
        watcher = asyncio.ensure_future(reader.read(1))
        watcher.add_done_callback(lambda f: _note_close(f, stat))
        streaming = request.get("stream") is True
        if streaming:
            writer.write(_HEAD)
            await writer.drain()
        try:
            await asyncio.wait_for(asyncio.shield(watcher), delay)
        except asyncio.TimeoutError:
            pass
        if watcher.done():  # the client went away (a superseded request): nothing left to answer
            return None
        if "segments" in request:  # Tabby's API
            self._json(writer, 200, {"id": "cmpl-bench", "choices": [{"index": 0, "text": text}]})
        elif streaming:
            event = {"id": "cmpl-bench", "object": "text_completion", "created": 0, "model": request.get("model", ""),
                     "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": None}]}
            finish = {**event, "choices": [{"index": 0, "text": "", "logprobs": None, "finish_reason": "stop"}]}
            payload = b"".join(b"data: " + json.dumps(e, separators=(",", ":")).encode() + b"\n\n" for e in (event, finish))
            writer.write(_frame(payload + b"data: [DONE]\n\n") + b"0\r\n\r\n")
        else:
            self._json(writer, 200, {"id": "cmpl-bench", "object": "text_completion", "created": 0,
                                     "model": request.get("model", ""),
                                     "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}]})
        await writer.drain()
        stat["done"] = time.monotonic()
        return await _next_request(watcher)


async def _next_request(watcher: "asyncio.Future[bytes]") -> bytes | None:
    """After an answer: the first byte of the next request on this connection (b"" when none has come yet),
    or None when the client went away."""
    if not watcher.done():
        watcher.cancel()
        try:
            await watcher
        except asyncio.CancelledError:
            return b""
    try:
        return watcher.result() or None
    except (ConnectionError, asyncio.CancelledError):
        return None


def _note_close(watcher: "asyncio.Future[bytes]", stat: dict[str, Any]) -> None:
    """Record when the client closed the connection (EOF or reset) mid-stream."""
    if watcher.cancelled():
        return
    if watcher.exception() is not None or not watcher.result():
        stat["closed"] = time.monotonic()


async def serve(port: int, ready: "asyncio.Future[int] | None" = None) -> None:
    up = BenchUpstream()
    server = await asyncio.start_server(up.handle, HOST, port, limit=1 << 20)
    bound = server.sockets[0].getsockname()[1]
    if ready is not None:
        ready.set_result(bound)
    else:
        print(f"READY http://{HOST}:{bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
