"""One client connection's JSON-RPC: pygls adapted to hermesd, around the handlers of :mod:`hermesd.serve.handlers`.

The adaptation: the TCP token check before anything else, hermesd's
capabilities in ``initialize``, each request's params parsed into the type
:data:`hermesd.protocol.METHODS` names and each typed result sent as JSON,
hermesd's exceptions as JSON-RPC errors and -32603 replies without
tracebacks, and the result fast path (:meth:`HermesProtocol._send_response`).
What connections share lives in :class:`hermesd.serve.daemon.Daemon`; frames come
from a transport (:mod:`hermesd.serve.stdio`, :mod:`hermesd.serve.tcp`,
:mod:`hermesd.serve.shared`) and leave through :mod:`hermesd.serve.outbox`. Nothing
heavy is imported before ``initialize`` is answered (see
:mod:`hermesd.serve.warm_up`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from typing import TYPE_CHECKING, Any, Callable

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
from hermesd.framing import RawResult, frame, frame_body, parse_error
from hermesd.serve import completion
from hermesd.serve.outbox import Outbox

if TYPE_CHECKING:
    from hermesd.serve.daemon import Daemon

# hermesd.protocol (the message types, error codes), the chat
# engine, config and the provider registry are imported on first use: none
# of them is needed to answer ``initialize``, and spawn-to-initialize is what
# an editor waits for.

log = logging.getLogger(__name__)


class HermesProtocol(LanguageServerProtocol):
    """Adds hermesd's capabilities and the TCP token check to ``initialize``."""

    _server: "HermesServer"

    def handle_message(self, message: Any) -> None:
        """Over TCP, nothing but ``initialize`` reaches pygls before the token is checked.

        A stranger's other requests are refused; its notifications (``exit``,
        ``$/cancelRequest``) and responses are dropped unread.
        """
        if self._server.authenticated:
            super().handle_message(message)
            return
        method, msg_id = getattr(message, "method", None), getattr(message, "id", None)
        if method == types.INITIALIZE and msg_id is not None:
            super().handle_message(message)
        elif method is not None and msg_id is not None:
            from hermesd.protocol import UNAUTHORISED

            error = JsonRpcException("not authenticated: initialize with the token first", UNAUTHORISED)
            self._send_response(msg_id, error=error.to_response_error())

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        """Check the token (TCP), then answer with hermesd's capabilities and methods."""
        server = self._server
        if not server.authenticated:  # TCP before the token (a shared-socket peer was checked already)
            import hmac  # TCP only: stdio never needs it

            from hermesd.protocol import UNAUTHORISED

            options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
            given = options.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given, server.token):
                asyncio.get_running_loop().call_later(0.05, server.drop_connection)
                raise JsonRpcException("missing or wrong token: pass the token file's contents in initializationOptions.token", UNAUTHORISED)
            server.authenticated = True
            server.daemon.clients.add(server)
        result = yield from super().lsp_initialize(params)
        from hermesd.serve.handlers import HANDLERS

        result.capabilities.experimental = {"hermes": {"protocolVersion": PROTOCOL_VERSION, "methods": list(HANDLERS)}}
        completion.initialize(params, result.capabilities, server.completion)
        return result

    def _send_response(self, msg_id: Any, result: Any = None, error: Any = None) -> None:
        """Results serialised straight to JSON, not walked through cattrs first.

        The one seam where hermesd overrides pygls' private members
        (``_send_response``, ``_result_types``, ``_serialize_message``):
        pygls has no public hook for how a result is encoded. cattrs visits
        every value of a result typed ``Any``: for a listProviders reply with
        hundreds of providers that tripled its cost (bench B5), and a cached
        :class:`~hermesd.framing.RawResult` is sent without encoding at all.
        lsprotocol objects (the initialize result) still go through pygls'
        converter, via ``default``. A pygls upgrade that renames these
        members breaks here, and only here.
        """
        if error is not None and getattr(error, "code", None) == -32603:  # protocol.INTERNAL_ERROR
            error = _without_traceback(msg_id, error)
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
                data = frame_body(payload)
        except (TypeError, ValueError):
            log.exception("cannot serialise the result of request %s", msg_id)
            super()._send_response(msg_id, result, error)
            return
        self.writer.write(data)

    @lsp_method(types.EXIT)
    def lsp_exit(self, *args: Any) -> Any:
        """Over stdio the editor's exit ends the process; over TCP only this connection."""
        if self._server.token is None:  # stdio: the editor owns our lifetime
            yield from super().lsp_exit(*args)
        else:  # TCP: one client leaving does not stop the daemon
            self._server.drop_connection()


def _without_traceback(msg_id: Any, error: types.ResponseError) -> types.ResponseError:
    """A -32603 reply as the client sees it: a short message and an error id; the traceback goes to the log.

    pygls puts the exception text and traceback in the reply; they name files
    and can carry whatever the exception held. The id ties the reply to the log entry.
    """
    import secrets

    error_id = "E-" + secrets.token_hex(4)
    trace = "".join(error.data.get("traceback") or []) if isinstance(error.data, dict) else ""
    log.error("internal error %s answering request %r: %s%s", error_id, msg_id, error.message,
              "\nTraceback (most recent call last):\n" + trace if trace else "")
    kind = (error.message or "").split(":", 1)[0].strip()
    what = f" ({kind})" if kind.isidentifier() else ""
    return types.ResponseError(
        code=-32603, data={"errorId": error_id},  # protocol.INTERNAL_ERROR
        message=f"internal error{what}, error id {error_id}: a hermesd bug; the log has the details (search it for {error_id})")


@functools.cache  # one for every connection: cattrs generates its code per converter (~14 ms a connection)
def _converter() -> Any:
    """pygls' converter, but custom params stay plain dicts.

    By default pygls turns them into namedtuples, renaming keys that are not
    identifiers, which would corrupt config values and message content.
    """
    converter = default_converter()
    for message_type in (JsonRPCRequestMessage, JsonRPCNotification, JsonRPCResponseMessage):
        converter.register_structure_hook(message_type, lambda obj, cls: cls(**obj))
    return converter


class HermesServer(LanguageServer):
    """One client's connection to the daemon (``daemon``), with its own outbox and chats in flight."""

    def __init__(self, daemon: Daemon, token: str | None = None) -> None:
        super().__init__(
            "hermesd",
            __version__,
            protocol_cls=HermesProtocol,
            converter_factory=_converter,
            # How pygls' workspace applies changes; what is advertised is serve.completion's to say.
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.daemon = daemon
        self.token = token
        self.authenticated = token is None
        self.drop_connection: Callable[[], None] = lambda: None
        self.outbox: Outbox | None = None
        self.chats: set[asyncio.Task] = set()  # this connection's hermes/chat requests in flight
        self.plugins_checked = False  # its first listing looked for plugin changes (a new window sees them)
        self.completion = completion.State()  # its documents' inline completion (serve.completion)

    def on_config_changed(self, key: str) -> None:
        """A config key changed (from any client, or an edit of config.yaml): completion registers or unregisters."""
        if key.startswith("completion.") and self.authenticated:
            asyncio.ensure_future(completion.sync_registration(self))

    def use_outbox(self, outbox: Outbox) -> None:
        """Send everything through ``outbox`` (see :class:`Outbox`)."""
        self.outbox = outbox
        self.protocol.set_writer(outbox)  # type: ignore[arg-type]

    def handle_frame(self, body: bytes) -> None:
        """Hand one frame's body to pygls; a bad one is reported, never fatal."""
        try:
            self.protocol.handle_message(json.loads(body, object_hook=self.protocol.structure_message))
        except Exception as exc:  # noqa: BLE001 - one bad message must not end the session
            if not self.authenticated:  # TCP, before the token: no second chance, and no reply
                self.drop_connection()
                return
            log.exception("unable to handle a message")
            self.report_server_error(exc, JsonRpcException)

    def frame_error(self, message: str) -> None:
        """A frame dropped for its header: a parse error (its id is unknown), and a log line."""
        log.warning("%s", message)
        if self.outbox is not None:
            self.outbox.write(parse_error(message))


def create_server(daemon: Daemon | None = None, token: str | None = None) -> HermesServer:
    """A connection for ``daemon`` (a new one: stdio's single editor); ``token``: TCP, authenticate first."""
    if daemon is None:
        from hermesd.serve.daemon import Daemon

        daemon = Daemon()
    server = HermesServer(daemon, token)
    if token is None:  # over TCP a client joins the broadcasts once its token is checked
        daemon.clients.add(server)
    _register(server)
    return server


def _rpc_error(exc: Exception) -> JsonRpcException | None:
    """Our exceptions as JSON-RPC errors; None for anything else (a bug: -32603)."""
    from hermesd.settings import config as config_mod
    from hermesd.engine.attachments import NeedsConfirmation
    from hermesd.engine.errors import HermesError
    from hermesd.protocol import CONFIG_UNREADABLE, NEEDS_CONFIRMATION, ParamsError

    if isinstance(exc, NeedsConfirmation):
        return JsonRpcException(str(exc), NEEDS_CONFIRMATION, exc.data())
    if isinstance(exc, (ParamsError, config_mod.ConfigError)):
        return JsonRpcInvalidParams(str(exc), data=getattr(exc, "data", None))  # data: a refused choice's signupUrl
    if isinstance(exc, config_mod.ConfigUnreadable):
        return JsonRpcException(str(exc), CONFIG_UNREADABLE)
    if isinstance(exc, HermesError):
        return JsonRpcInvalidParams(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)
    return None


def _register(server: HermesServer) -> None:
    """The lifecycle hooks, and every :data:`hermesd.serve.handlers.HANDLERS` entry behind one wrapper."""
    from hermesd.serve import handlers

    daemon = server.daemon

    def method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a hermes/* handler: typed params in, a typed result out, our exceptions as JSON-RPC errors."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            async def handler(ls: HermesServer, params: Any) -> Any:
                from hermesd import protocol

                watch = daemon.config_watch
                if not watch.has_baseline:  # the first request: what the editor is about to see is the baseline
                    await asyncio.to_thread(watch.sync)
                watch.check()  # a stat: changes made elsewhere reach the editors before this reply
                try:
                    result = await func(ls, protocol.parse(protocol.METHODS[name].params, params))
                except Exception as exc:
                    mapped = _rpc_error(exc)
                    if mapped is None:
                        raise
                    raise mapped from exc
                return protocol.to_wire(result) if dataclasses.is_dataclass(result) else result

            handler.__name__ = handler.__qualname__ = func.__name__
            server.feature(name)(handler)
            return func

        return decorate

    @server.feature(types.INITIALIZED)
    def initialized(ls: HermesServer, params: Any) -> None:
        """Warm the HTTP stack and the registry in the background; start watching config.yaml."""
        from hermesd.serve.warm_up import start_warm_up

        start_warm_up()
        daemon.config_watch.start()
        asyncio.ensure_future(completion.sync_registration(ls))

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION)
    async def inline_completion(ls: HermesServer, params: types.InlineCompletionParams) -> Any:
        """Ghost text at the cursor (serve.completion)."""
        daemon.config_watch.check()  # a stat: a config.yaml edited elsewhere applies to this keystroke
        return await completion.inline_completion(ls, params)

    @server.command(completion.ACCEPTED_COMMAND)
    def completion_accepted(ls, *args):  # type: ignore[no-untyped-def]  # pygls reads the names: no annotations
        """An inline completion item's command: the editor runs it when the user accepts the suggestion."""
        ls.completion.completions.event(str(args[0]) if args else "", "accepted")

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: HermesServer, params: types.DidCloseTextDocumentParams) -> None:
        completion.did_close(ls, params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HermesServer, params: Any) -> None:
        """Cancel the chats this connection started (all of them over stdio)."""
        if ls.token is not None:  # TCP: only this connection's chats; other clients' keep running
            for task in list(ls.chats):
                task.cancel()
        elif "engine" in vars(daemon):  # no chat ever ran: nothing to cancel, nothing to import
            daemon.engine.cancel_all()

    for name, func in handlers.HANDLERS.items():
        method(name)(func)
