"""The JSON-RPC face of hermesd: one short handler per ``hermes/*`` method.

Handlers validate params, call a plain module (``chat``, ``catalog``,
``config``, ``doctor``, ``sessions``) and shape the reply; none of the logic
lives here. Heavy imports (the HTTP stack) happen only after ``initialized``.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import threading
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

import providers
from hermesd import PROTOCOL_VERSION, __version__
from hermesd import config as config_mod
from hermesd.chat import ChatEngine, ParamsError
from hermesd.errors import HermesError
from hermesd.sessions import SessionStore

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


class Daemon:
    """State shared by every connection: sessions, running chats, clients to notify."""

    def __init__(self) -> None:
        self.store = SessionStore()
        self.engine = ChatEngine(self.store)
        self.clients: set[LanguageServer] = set()

    def broadcast(self, method: str, params: dict[str, Any]) -> None:
        for client in list(self.clients):
            try:
                client.protocol.notify(method, params)
            except Exception:  # noqa: BLE001 - a gone client must not stop the others
                log.debug("dropping notification to a closed client", exc_info=True)

    def reload_plugins_if_changed(self) -> bool:
        """Pick up plugins added, edited or removed since the last discovery."""
        if not providers.plugins_changed():
            return False
        providers.reload()
        self.broadcast("hermes/providersChanged", {"reason": "plugins-changed"})
        return True


class HermesProtocol(LanguageServerProtocol):
    """Adds hermesd's capabilities and the TCP token check to ``initialize``."""

    _server: "HermesServer"

    @lsp_method(types.INITIALIZE)
    def lsp_initialize(self, params: types.InitializeParams) -> Any:
        server = self._server
        if server.token is not None:
            options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
            given = options.get("token")
            if not isinstance(given, str) or not hmac.compare_digest(given, server.token):
                asyncio.get_running_loop().call_later(0.05, server.drop_connection)
                raise JsonRpcException("missing or wrong token: pass the token file's contents in initializationOptions.token", UNAUTHORISED)
            server.authenticated = True
        result = yield from super().lsp_initialize(params)
        result.capabilities.experimental = {"hermes": {"protocolVersion": PROTOCOL_VERSION, "methods": list(METHODS)}}
        return result

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


def _register(server: HermesServer) -> None:
    daemon = server.daemon
    engine = daemon.engine

    def method(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a hermes/* handler; map our exceptions onto JSON-RPC errors."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            async def handler(ls: HermesServer, params: Any) -> Any:
                if not ls.authenticated:
                    raise JsonRpcException("not authenticated: initialize with the token first", UNAUTHORISED)
                try:
                    return await func(ls, _params(params))
                except ParamsError as exc:
                    raise _invalid(str(exc)) from exc
                except config_mod.ConfigError as exc:
                    raise _invalid(str(exc)) from exc
                except config_mod.ConfigUnreadable as exc:
                    raise JsonRpcException(str(exc), CONFIG_UNREADABLE) from exc
                except HermesError as exc:
                    raise _invalid(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from exc

            handler.__name__ = handler.__qualname__ = func.__name__
            server.feature(name)(handler)
            return func

        return decorate

    @server.feature(types.INITIALIZED)
    def initialized(ls: HermesServer, params: Any) -> None:
        """Warm the HTTP stack and the registry in the background."""
        threading.Thread(target=_warm_up, name="hermesd-warm-up", daemon=True).start()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: HermesServer, params: Any) -> None:
        engine.cancel_all()

    @method("hermes/listProviders")
    async def list_providers(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Every provider, whether a key is set for it, and plugins that failed to load."""
        if params.get("refresh") is True:
            daemon.reload_plugins_if_changed()
        from hermesd import listing

        return await asyncio.to_thread(listing.providers_result)

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
        value = await asyncio.to_thread(config_mod.set_value, key, params.get("value"), reset=reset)
        daemon.broadcast("hermes/configChanged", {"key": key, "value": value})
        return {"key": key, "value": value}

    @method("hermes/newSession")
    async def new_session(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """A new conversation; first picks up plugins changed since the last one."""
        await asyncio.to_thread(daemon.reload_plugins_if_changed)
        session = engine.new_session(
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
        notify = ls.protocol.notify
        return await engine.chat(params, request_id=request_id, on_delta=lambda d: notify("hermes/chatDelta", d))

    @method("hermes/cancel")
    async def cancel(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Stop a session's running chat now; its partial text is kept."""
        session_id = params.get("sessionId")
        if not isinstance(session_id, str):
            raise _invalid("`sessionId` (a string) is required")
        return {"cancelled": engine.cancel(session_id)}

    @method("hermes/previewRequest")
    async def preview(ls: HermesServer, params: dict[str, Any]) -> dict[str, Any]:
        """Exactly what hermes/chat would send, with secrets masked; sends nothing."""
        return await asyncio.to_thread(engine.preview, params)

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


def _warm_up() -> None:
    """Import what the first chat needs and discover plugins, off the reply path."""
    try:
        import httpx  # noqa: F401
        import httpx_sse  # noqa: F401
        import openai  # noqa: F401
        import yaml  # noqa: F401

        config_mod.load()
        providers.list_providers()
    except Exception:  # noqa: BLE001 - warm-up is an optimisation only
        log.debug("warm-up failed", exc_info=True)
