"""The JSON-RPC face of hermesd: one short handler per ``hermes/*`` method.

Handlers validate params, call a plain module (``chat``, ``catalog``,
``config``, ``doctor``, ``sessions``) and shape the reply; none of the logic
lives here. Heavy imports (the HTTP stack) happen only after ``initialized``.
The connection's I/O lives here too: a reader thread for stdin, and an
:class:`Outbox` that never lets a slow editor block the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import os
import select
import sys
import threading
from collections import deque
from typing import Any, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    JsonRPCResponseMessage,
    LanguageServerProtocol,
    default_converter,
    lsp_method,
)

from hermesd import PROTOCOL_VERSION, __version__

# The chat engine, config, sessions and the provider registry are imported on
# first use (by the warm-up thread, usually): nothing of them is needed to
# answer ``initialize``, and spawn-to-initialize is what an editor waits for.

log = logging.getLogger(__name__)

METHODS = (
    "hermes/listProviders",
    "hermes/listModels",
    "hermes/getConfig",
    "hermes/setConfig",
    "hermes/newSession",
    "hermes/chat",
    "hermes/cancel",
    "hermes/previewRequest",
    "hermes/listSessions",
    "hermes/getSession",
    "hermes/doctor",
)
UNAUTHORISED = -32001
CONFIG_UNREADABLE = -32002


# -- writing to the editor -----------------------------------------------------
#
# pygls writes each message to stdout synchronously, so an editor that reads
# slowly blocks the event loop, and with it every upstream read. An outbox
# never blocks the loop: what is sent during one loop turn leaves in one
# write while the pipe has room, and otherwise queues for a writer thread
# (stdio) or a drain task (TCP). While the client is behind, further pieces
# of a chat merge into that chat's queued delta, so a lagging editor costs
# one pending message per chat, not one per chunk; ``seq`` stays gapless and
# the concatenated text stays exact.

_HEADER = b"Content-Length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n"
_encode = json.encoder.encode_basestring_ascii  # a JSON string literal, ASCII only (C)


def frame(message: dict[str, Any], default: Callable[[Any], Any] | None = None) -> bytes:
    """One LSP frame: header plus the JSON body (ASCII, so lengths are exact)."""
    body = json.dumps(message, default=default, separators=(",", ":")).encode("ascii")
    return _HEADER % len(body) + body


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
        return _HEADER % len(body) + body

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
        with self._lock:
            if not self.closed:
                self._queue.append(data)
                self._wake()

    def delta(self, stream: DeltaStream, text: str, reasoning: str) -> None:
        """Send a piece of a chat's reply, merged into its pending delta if one waits."""
        with self._lock:
            if self.closed:
                return
            stream.add(text, reasoning)
            if stream.queued:
                return  # merged into this chat's delta that still waits for a lagging client
            if self._busy:  # the client is behind: hold a slot that later pieces merge into
                stream.queued = True
                self._queue.append(stream)
                self._kick_drainer()
            else:  # keeping up: every piece is its own delta, written at the end of this loop turn
                self._queue.append(stream.frame())
                stream.sent()
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
        with self._lock:
            self.closed = True
        self._writer.close()


class Daemon:
    """State shared by every connection: sessions, running chats, clients to notify."""

    def __init__(self) -> None:
        self.clients: set[LanguageServer] = set()
        self._listing: tuple[tuple, RawResult] | None = None

    @functools.cached_property
    def store(self) -> Any:
        from hermesd.sessions import SessionStore

        return SessionStore()

    @functools.cached_property
    def engine(self) -> Any:
        from hermesd.chat import ChatEngine

        return ChatEngine(self.store)

    async def providers_listing(self) -> "RawResult":
        """hermes/listProviders' result, rebuilt only when its inputs changed.

        It depends on the registry, config.yaml (the current model) and .env
        (which keys are set); the environment itself does not change under a
        running daemon. Serialised once: with hundreds of plugins, building
        and encoding the rows took far longer than the 5 ms a picker can wait.
        """
        key = _listing_key()
        cached = self._listing
        if cached is not None and cached[0] == key:
            return cached[1]
        from hermesd import listing

        result = await asyncio.to_thread(listing.providers_result)
        raw = RawResult(json.dumps(result, separators=(",", ":")).encode("ascii"))
        self._listing = (key, raw)
        return raw

    def broadcast(self, method: str, params: dict[str, Any]) -> None:
        for client in list(self.clients):
            try:
                client.protocol.notify(method, params)
            except Exception:  # noqa: BLE001 - a gone client must not stop the others
                log.debug("dropping notification to a closed client", exc_info=True)

    def reload_plugins_if_changed(self) -> bool:
        """Pick up plugins added, edited or removed since the last discovery."""
        import providers

        if not providers.plugins_changed():
            return False
        providers.reload()
        self.broadcast("hermes/providersChanged", {"reason": "plugins-changed"})
        return True


def _listing_key() -> tuple:
    """What hermes/listProviders' result depends on, cheaply (two stats)."""
    import providers
    from hermesd.paths import config_path, env_path

    stats: list[Any] = [providers.registry_generation()]
    for path in (config_path(), env_path()):
        try:
            st = os.stat(path)
            stats.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            stats.append(None)
    return tuple(stats)


class HermesProtocol(LanguageServerProtocol):
    """Adds hermesd's capabilities and the TCP token check to ``initialize``."""

    _server: "HermesServer"

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        server = self._server
        if server.token is not None:
            import hmac  # TCP only: stdio never needs it

            options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
            given = options.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given, server.token):
                asyncio.get_running_loop().call_later(0.05, server.drop_connection)
                raise JsonRpcException("missing or wrong token: pass the token file's contents in initializationOptions.token", UNAUTHORISED)
            server.authenticated = True
        result = yield from super().lsp_initialize(params)
        result.capabilities.experimental = {"hermes": {"protocolVersion": PROTOCOL_VERSION, "methods": list(METHODS)}}
        return result

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """Results serialised straight to JSON, not walked through cattrs first.

        cattrs visits every value of a result typed ``Any``: for a
        listProviders reply with hundreds of providers that tripled its cost.
        lsprotocol objects (the initialize result) still go through pygls'
        converter, via ``default``.
        """
        if error is not None or self.writer is None:
            super()._send_response(msg_id, result, error)
            return
        self._result_types.pop(msg_id, None)
        body = result.data if isinstance(result, RawResult) else None
        try:
            if body is None:
                data = frame({"jsonrpc": "2.0", "id": msg_id, "result": result}, default=self._serialize_message)
            else:
                head = json.dumps({"jsonrpc": "2.0", "id": msg_id}, separators=(",", ":")).encode()
                payload = head[:-1] + b',"result":' + body + b"}"
                data = _HEADER % len(payload) + payload
        except (TypeError, ValueError):
            log.exception("cannot serialise the result of request %s", msg_id)
            super()._send_response(msg_id, result, error)
            return
        self.writer.write(data)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        if self._server.token is None:  # stdio: the editor owns our lifetime
            yield from super().lsp_exit(*args)
        else:  # TCP: one client leaving does not stop the daemon
            self._server.drop_connection()


def _converter() -> Any:
    """pygls' converter, but custom params stay plain dicts.

    By default pygls turns them into namedtuples, renaming keys that are not
    identifiers, which would corrupt config values and message content.
    """
    converter = default_converter()
    for message_type in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(message_type, lambda obj, cls: cls(**obj))
    return converter


class RawResult:
    """A result already serialised to JSON (a cached reply), sent as is."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


class HermesServer(LanguageServer):
    def __init__(self, daemon: Daemon, token: str | None = None) -> None:
        super().__init__(
            "hermesd",
            __version__,
            protocol_cls=HermesProtocol,
            converter_factory=_converter,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
        )
        self.daemon = daemon
        self.token = token
        self.authenticated = token is None
        self.drop_connection: Callable[[], None] = lambda: None
        self.outbox: Outbox | None = None

    def use_outbox(self, outbox: Outbox) -> None:
        """Send everything through ``outbox`` (see :class:`Outbox`)."""
        self.outbox = outbox
        self.protocol.set_writer(outbox)  # type: ignore[arg-type]

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """pygls' stdio loop, reading on one thread and writing through a :class:`PipeOutbox`."""
        self._stop_event = threading.Event()
        outbox = PipeOutbox((stdout or sys.stdout.buffer).fileno())
        self.use_outbox(outbox)
        try:
            asyncio.run(self._serve_frames(stdin or sys.stdin.buffer))
        except BrokenPipeError:
            log.error("the editor closed the connection; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            outbox.close()
            self.shutdown()

    async def _serve_frames(self, stdin: Any) -> None:
        """Hand each message from ``stdin`` to pygls, until end of input.

        pygls' reader makes three thread-pool round trips per message (header,
        blank line, body); a thread of our own that reads whole frames makes
        one hop, which is time off every request's latency.
        """
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        stop = self._stop_event

        def handle(body: bytes) -> None:
            try:
                self.protocol.handle_message(json.loads(body, object_hook=self.protocol.structure_message))
            except Exception as exc:  # noqa: BLE001 - one bad message must not end the session
                log.exception("unable to handle a message")
                self.report_server_error(exc, JsonRpcException)

        def finish() -> None:
            if not ended.done():
                ended.set_result(None)

        def read() -> None:
            try:
                while stop is None or not stop.is_set():
                    body = _read_frame(stdin)
                    if body is None:
                        break
                    loop.call_soon_threadsafe(handle, body)
            except (OSError, ValueError):
                log.info("stdin closed")
            finally:
                try:
                    loop.call_soon_threadsafe(finish)
                except RuntimeError:  # the loop is gone already
                    pass

        threading.Thread(target=read, name="hermesd-reader", daemon=True).start()
        await ended


def _read_frame(stdin: Any) -> bytes | None:
    """The body of the next LSP frame, or None at end of input."""
    length = -1
    while True:
        line = stdin.readline()
        if not line:
            return None
        if not line.strip():
            if length >= 0:
                break
            continue
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = stdin.read(length)
    return body if len(body) == length else None


def create_server(daemon: Daemon | None = None, token: str | None = None) -> HermesServer:
    daemon = daemon or Daemon()
    server = HermesServer(daemon, token)
    daemon.clients.add(server)
    _register(server)
    return server


def _params(params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if not isinstance(params, dict):
        raise JsonRpcInvalidParams("params must be an object")
    return params


def _invalid(message: str) -> JsonRpcInvalidParams:
    return JsonRpcInvalidParams(message)


def _rpc_error(exc: Exception) -> JsonRpcException | None:
    """Our exceptions as JSON-RPC errors; None for anything else (a bug: -32603)."""
    from hermesd import config as config_mod
    from hermesd.chat import ParamsError
    from hermesd.errors import HermesError

    if isinstance(exc, (ParamsError, config_mod.ConfigError)):
        return _invalid(str(exc))
    if isinstance(exc, config_mod.ConfigUnreadable):
        return JsonRpcException(str(exc), CONFIG_UNREADABLE)
    if isinstance(exc, HermesError):
        return _invalid(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
    return None


def _register(server: HermesServer) -> None:
    daemon = server.daemon

    def method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a hermes/* handler; map our exceptions onto JSON-RPC errors."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            async def handler(ls: HermesServer, params: Any) -> Any:
                if not ls.authenticated:
                    raise JsonRpcException("not authenticated: initialize with the token first", UNAUTHORISED)
                try:
                    return await func(ls, _params(params))
                except Exception as exc:
                    mapped = _rpc_error(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc

            handler.__name__ = handler.__qualname__ = func.__name__
            server.feature(name)(handler)
            return func

        return decorate

    @server.feature(types.INITIALIZED)
    def initialized(ls: HermesServer, params: Any) -> None:
        """Warm the HTTP stack and the registry in the background."""
        start_warm_up()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HermesServer, params: Any) -> None:
        if "engine" in vars(daemon):  # no chat ever ran: nothing to cancel, nothing to import
            daemon.engine.cancel_all()

    @method("hermes/listProviders")
    async def list_providers(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Every provider, whether a key is set for it, and plugins that failed to load."""
        if params.get("refresh") is True:
            await asyncio.to_thread(daemon.reload_plugins_if_changed)
        return await daemon.providers_listing()

    @method("hermes/listModels")
    async def list_models(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """The picker's models for one provider: live, cached or curated."""
        name = params.get("provider")
        if not isinstance(name, str) or not name.strip():
            raise _invalid("`provider` (a provider name or alias) is required")
        from hermesd import listing

        return await asyncio.to_thread(listing.models_result, name, params.get("refresh") is True)

    @method("hermes/getConfig")
    async def get_config(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """The effective configuration, secrets masked."""
        from hermesd import config as config_mod
        from hermesd import listing

        return listing.config_result(config_mod.load())

    @method("hermes/setConfig")
    async def set_config(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Validate and write one key atomically, then tell every client."""
        key = params.get("key")
        if not isinstance(key, str) or not key:
            raise _invalid("`key` (a dotted config key such as model.default) is required")
        reset = params.get("reset") is True
        if "value" not in params and not reset:
            raise _invalid("`value` is required (null is a value; pass reset: true to remove the key)")
        from hermesd import config as config_mod

        value = await asyncio.to_thread(config_mod.set_value, key, params.get("value"), reset=reset)
        daemon.broadcast("hermes/configChanged", {"key": key, "value": value})
        return {"key": key, "value": value}

    @method("hermes/newSession")
    async def new_session(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """A new conversation; first picks up plugins changed since the last one."""
        await asyncio.to_thread(daemon.reload_plugins_if_changed)
        session = daemon.engine.new_session(
            provider=_str_param(params, "provider"),
            model=_str_param(params, "model"),
            parent_id=_str_param(params, "parentSessionId"),
            system=_str_param(params, "system"),
        )
        return {"sessionId": session.id, "provider": session.provider, "model": session.model}

    @method("hermes/chat")
    async def chat(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Stream a reply as hermes/chatDelta notifications; return the whole turn."""
        if params.get("sessionId") is None:
            await asyncio.to_thread(daemon.reload_plugins_if_changed)
        request_id = ls.protocol.msg_id
        outbox = ls.outbox
        if outbox is None:  # no transport of ours (embedding, tests): pygls sends each delta
            notify = ls.protocol.notify
            return await daemon.engine.chat(params, request_id=request_id, on_delta=lambda d: notify("hermes/chatDelta", d))
        streams: list[DeltaStream] = []

        def on_delta(delta: dict[str, Any]) -> None:
            if not streams:
                streams.append(DeltaStream(delta["sessionId"], request_id))
            outbox.delta(streams[0], delta.get("text") or "", delta.get("reasoning") or "")

        return await daemon.engine.chat(params, request_id=request_id, on_delta=on_delta)

    @method("hermes/cancel")
    async def cancel(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Stop a session's running chat now; its partial text is kept."""
        session_id = params.get("sessionId")
        if not isinstance(session_id, str):
            raise _invalid("`sessionId` (a string) is required")
        return {"cancelled": daemon.engine.cancel(session_id)}

    @method("hermes/previewRequest")
    async def preview(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Exactly what hermes/chat would send, with secrets masked; sends nothing."""
        return await asyncio.to_thread(daemon.engine.preview, params)

    @method("hermes/listSessions")
    async def list_sessions(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Saved conversations, newest first."""
        sessions = await asyncio.to_thread(daemon.store.list)
        return {"sessions": [s.summary_row() for s in sessions]}

    @method("hermes/getSession")
    async def get_session(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """One conversation with its history, to reopen it."""
        session_id = params.get("sessionId")
        if not isinstance(session_id, str):
            raise _invalid("`sessionId` (a string) is required")
        session = await asyncio.to_thread(daemon.store.get, session_id)
        if session is None:
            raise _invalid(f"unknown session {session_id!r}")
        return session.to_protocol()

    @method("hermes/doctor")
    async def doctor(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Config, plugins, keys and catalog probes, with $/progress while probing."""
        from hermesd import doctor as doctor_mod

        only = params.get("providers")
        if only is not None and (not isinstance(only, list) or not all(isinstance(p, str) for p in only)):
            raise _invalid("`providers` must be a list of provider names")
        token = params.get("workDoneToken")
        report = _progress_reporter(ls, token) if isinstance(token, (str, int)) else None
        checks = await doctor_mod.run(only=only, probe=params.get("probe", True) is not False, progress=report)
        if report is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
        return {"checks": [c.to_dict() for c in checks]}


def _str_param(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(f"`{name}` must be a string")
    return value or None


def _progress_reporter(ls: HermesServer, token: str | int) -> Callable[[int, int, str], None]:
    ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="Hermes doctor", percentage=0))

    def report(done: int, total: int, name: str) -> None:
        ls.work_done_progress.report(
            token, types.WorkDoneProgressReport(message=f"probed {name}", percentage=int(done * 100 / max(total, 1)))
        )

    return report


_warm_lock = threading.Lock()
_warm_started = False


def start_warm_up() -> None:
    """Run :func:`_warm_up` in a background thread, once per process."""
    global _warm_started
    with _warm_lock:
        if _warm_started:
            return
        _warm_started = True
    threading.Thread(target=_warm_up, name="hermesd-warm-up", daemon=True).start()


def _warm_up() -> None:
    """Import what the first chat needs and discover plugins, off the reply path."""
    try:
        import httpx  # noqa: F401
        import httpx_sse  # noqa: F401
        import openai  # noqa: F401
        import yaml  # noqa: F401

        import hermesd.chat  # noqa: F401
        import hermesd.listing  # noqa: F401
        import hermesd.transports.chat_completions  # noqa: F401
        import providers
        from hermesd import config as config_mod

        # Nearly everything allocated so far lives as long as the daemon: keep
        # the cyclic collector from walking it again at every full collection
        # (tens of ms each, with the SDK loaded, in the middle of a stream).
        _warm_sdk_client()
        gc.freeze()
        config_mod.load()
        providers.list_providers()
        gc.freeze()
    except Exception:  # noqa: BLE001 - warm-up is an optimisation only
        log.debug("warm-up failed", exc_info=True)


def _warm_sdk_client() -> None:
    """Build and drop one SDK client, sending nothing.

    The first client imports its connection pool (and what that pulls in)
    and the first ``client.chat.completions`` loads the resource modules:
    a quarter of a second the first chat would otherwise wait for.
    """
    from openai import AsyncOpenAI

    client = AsyncOpenAI(api_key="hermesd-warm-up", base_url="http://127.0.0.1:9/v1", max_retries=0)
    client.chat.completions.with_streaming_response  # noqa: B018 - loaded lazily on first access
