"""Every ``hermes/*`` handler: a few lines each, from typed params to a plain module and back.

Module-level functions taking the connection (``conn``: a
:class:`~hermesd.serve.daemon.Connection`, in practice the
:class:`~hermesd.serve.server.HermesServer`, whose ``daemon`` holds the
shared state) and the request's params, already parsed into the type that
:data:`hermesd.protocol.METHODS` names for the method. They return the
protocol object that names as the result, or a cached
:class:`~hermesd.framing.RawResult`. :mod:`hermesd.serve.server` registers them
(:data:`HANDLERS`) behind one wrapper that checks config.yaml for outside
changes, parses the params and maps hermesd's exceptions onto JSON-RPC
errors. The modules they call are imported on first use: this module is
loaded before ``initialize`` and must stay light.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Awaitable, Callable

from lsprotocol import types
from pygls.exceptions import JsonRpcException

if TYPE_CHECKING:
    from hermesd import protocol
    from hermesd.framing import RawResult
    from hermesd.serve.daemon import Connection

Handler = Callable[["Connection", Any], Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}


def handler(name: str) -> Callable[[Handler], Handler]:
    """Make ``func`` the handler of ``name`` (registered by the server)."""

    def register(func: Handler) -> Handler:
        HANDLERS[name] = func
        return func

    return register


@handler("hermes/listProviders")
async def list_providers(conn: Connection, params: protocol.ListProvidersParams) -> RawResult:
    """Every provider, whether a key is set for it, and plugins that failed to load."""
    await _plugins_now(conn, params.refresh is True)
    return await conn.daemon.providers_listing()


@handler("hermes/listModels")
async def list_models(conn: Connection, params: protocol.ListModelsParams) -> protocol.ListModelsResult:
    """The picker's models for one provider: live, cached or curated."""
    from hermesd.engine import listing

    await _plugins_now(conn, params.refresh is True)
    return await asyncio.to_thread(listing.models_result, params.provider, params.refresh is True)


@handler("hermes/getConfig")
async def get_config(conn: Connection, params: protocol.NoParams) -> protocol.GetConfigResult:
    """The effective configuration, secrets masked."""
    from hermesd.settings import config as config_mod
    from hermesd.engine import listing

    # Off the event loop: reading a large or hostile file must not stall other chats.
    return await asyncio.to_thread(lambda: listing.config_result(config_mod.load()))


@handler("hermes/setConfig")
async def set_config(conn: Connection, params: protocol.SetConfigParams) -> protocol.SetConfigResult:
    """Validate and write one key atomically, then tell every client."""
    from hermesd import protocol
    from hermesd.engine import listing

    reset = params.reset is True
    if params.value is protocol.UNSET and not reset:
        raise protocol.ParamsError("`value` is required (null is a value; pass reset: true to remove the key)")
    value = None if params.value is protocol.UNSET else params.value
    try:
        written = await asyncio.to_thread(listing.set_config_value, params.key, value, reset=reset)
    except OSError as exc:  # disk full, read-only: the atomic write left the old file as it was
        raise _storage_failed(exc) from exc
    conn.daemon.config_written([(params.key, written)])
    return protocol.SetConfigResult(key=params.key, value=written)


@handler("hermes/listPicker")
async def list_picker(conn: Connection, params: protocol.ListPickerParams) -> protocol.ListPickerResult:
    """The cross-provider model picker, display-ready: clients render it as it is."""
    from hermesd.engine import listing

    await _plugins_now(conn, params.refresh is True)
    return await asyncio.to_thread(listing.picker_result, params.refresh is True)


@handler("hermes/selectModel")
async def select_model(conn: Connection, params: protocol.SelectModelParams) -> protocol.SelectModelResult:
    """Provider, model (and score) for one conversation (saved in its session), or in one atomic write of
    config.yaml as the default, or both; every client hears each changed key."""
    from hermesd import protocol
    from hermesd.engine import listing

    scope = params.scope or ("session" if params.session_id else "default")
    if scope == "session" and not params.session_id:
        raise protocol.ParamsError('scope "session" needs sessionId, the conversation to switch (or scope "default")')
    session = None
    if params.session_id:
        session = await asyncio.to_thread(conn.daemon.store.get, params.session_id)
        if session is None:
            raise protocol.ParamsError(f"unknown session {params.session_id!r}")
        if conn.daemon.engine.is_running(session.id):
            raise protocol.ParamsError("a reply is streaming in this conversation: stop it or let it finish, then choose the model again")
    try:
        result, changed = await asyncio.to_thread(listing.select, params.provider, params.model, params.min_coding_score,
                                                  scope, conn.daemon.store, session)
    except OSError as exc:
        raise _storage_failed(exc) from exc
    conn.daemon.config_written(changed)
    return result


@handler("hermes/describeConfig")
async def describe_config(conn: Connection, params: protocol.NoParams) -> protocol.DescribeConfigResult:
    """Every config key with its type, default and rule, so editors keep no copy."""
    from hermesd.settings import config as config_mod
    from hermesd import protocol

    return protocol.DescribeConfigResult(keys=[protocol.ConfigKeyInfo(**row) for row in config_mod.describe_all()])


@handler("hermes/newSession")
async def new_session(conn: Connection, params: protocol.NewSessionParams) -> protocol.NewSessionResult:
    """A new conversation; first picks up plugins changed since the last one."""
    from hermesd import protocol

    await conn.daemon.check_plugins()
    session = await asyncio.to_thread(
        conn.daemon.engine.new_session,
        provider=params.provider or None,
        model=params.model or None,
        parent_id=params.parent_session_id or None,
        system=params.system or None,
    )
    return protocol.NewSessionResult(session_id=session.id, provider=session.provider, model=session.model)


@handler("hermes/chat")
async def chat(conn: Connection, params: protocol.ChatParams) -> protocol.ChatResult:
    """Stream a reply as hermes/chatDelta notifications; return the whole turn."""
    from hermesd.serve.outbox import DeltaStream

    if params.session_id is None:
        await conn.daemon.check_plugins()
    request_id = conn.protocol.msg_id
    outbox = conn.outbox
    streams: list[DeltaStream] = []

    def on_delta(session_id: str, text: str, reasoning: str) -> None:
        """Each piece to the client; the stream numbers the deltas it sends (seq), in order."""
        if not streams:
            streams.append(DeltaStream(session_id, request_id))
        stream = streams[0]
        if outbox is not None:
            outbox.delta(stream, text, reasoning)
            return
        # No transport of ours (embedding, tests): pygls sends each piece as its own delta.
        stream.add(text, reasoning)
        conn.protocol.notify("hermes/chatDelta", stream.params())
        stream.sent()

    task = asyncio.current_task()
    assert task is not None
    conn.chats.add(task)
    try:
        return await conn.daemon.engine.chat(params, on_delta=on_delta)
    finally:
        conn.chats.discard(task)


@handler("hermes/cancel")
async def cancel(conn: Connection, params: protocol.CancelParams) -> protocol.CancelResult:
    """Stop a session's running chat now; its partial text is kept."""
    from hermesd import protocol

    return protocol.CancelResult(cancelled=conn.daemon.engine.cancel(params.session_id))


@handler("hermes/previewRequest")
async def preview(conn: Connection, params: protocol.ChatParams) -> protocol.PreviewResult:
    """Exactly what hermes/chat would send, with secrets masked; sends nothing."""
    return await asyncio.to_thread(conn.daemon.engine.preview, params)


@handler("hermes/listSessions")
async def list_sessions(conn: Connection, params: protocol.ListSessionsParams) -> protocol.ListSessionsResult:
    """Saved conversations, newest first, a page at a time from the session index."""
    from hermesd import protocol
    from hermesd.engine import session_index

    try:
        paging = session_index.page_params(limit=params.limit, cursor=params.cursor, query=params.query)
    except ValueError as exc:
        raise protocol.ParamsError(str(exc)) from exc
    return await asyncio.to_thread(conn.daemon.store.page, **paging)


@handler("hermes/planApply")
async def plan_apply(conn: Connection, params: protocol.PlanApplyParams) -> protocol.PlanApplyResult:
    """What a reply's code block would make of a file (range, diff or whole file); writes nothing.

    In the daemon's own small pool, under a deadline, so large plans never starve chats or getConfig."""
    import threading

    from hermesd import protocol
    from hermesd.engine import apply

    cancelled = threading.Event()  # $/cancelRequest cancels this task; the plan sees it between hunks

    def run() -> protocol.PlanApplyResult:
        return apply.plan(params, apply.Budget(cancelled=cancelled.is_set))  # its deadline starts here, not queued

    try:
        return await asyncio.get_running_loop().run_in_executor(conn.daemon.apply_pool, run)
    except asyncio.CancelledError:
        cancelled.set()
        raise
    except apply.ApplyError as exc:
        raise protocol.ParamsError(str(exc)) from exc


@handler("hermes/getSession")
async def get_session(conn: Connection, params: protocol.GetSessionParams) -> protocol.GetSessionResult:
    """One conversation with its history, to reopen it."""
    from hermesd import protocol

    session = await asyncio.to_thread(conn.daemon.store.get, params.session_id)
    if session is None:
        raise protocol.ParamsError(f"unknown session {params.session_id!r}")
    return session.to_protocol()


@handler("hermes/doctor")
async def doctor(conn: Connection, params: protocol.DoctorParams) -> protocol.DoctorResult:
    """Config, plugins, keys and catalog probes, with $/progress while probing."""
    from hermesd.engine import doctor as doctor_mod

    token = params.work_done_token
    report = _progress_reporter(conn, token) if token is not None else None
    checks = await doctor_mod.run(only=params.providers, probe=params.probe is not False, everything=params.all is True,
                                  progress=report)
    if token is not None:
        conn.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
    return doctor_mod.report(checks)


@handler("hermes/completionEvent")
async def completion_event(conn: Connection, params: protocol.CompletionEventParams) -> protocol.CompletionStats:
    """Count a suggestion shown, accepted or rejected (editors send it as a notification)."""
    completions = conn.completion.completions
    completions.event(params.id, params.event)
    return completions.counters()


@handler("hermes/completionStats")
async def completion_stats(conn: Connection, params: protocol.NoParams) -> protocol.CompletionStats:
    """This connection's inline completion counters."""
    return conn.completion.completions.counters()


async def _plugins_now(conn: Connection, refresh: bool) -> None:
    """A connection's first listing (a new window) and any refresh see the plugins as on disk now.

    Later listings on the connection skip the check (a few ms with hundreds
    of plugins): hermes/providersChanged tells every client when a session
    start or a refresh found a change.
    """
    if refresh or not conn.plugins_checked:
        conn.plugins_checked = True
        await conn.daemon.check_plugins()


def _storage_failed(exc: OSError) -> JsonRpcException:
    """A config write that failed (disk full, read-only); the atomic write left the old file as it was."""
    from hermesd.engine.errors import storage_error
    from hermesd.paths import config_path
    from hermesd.protocol import STORAGE_FAILED

    err = storage_error(exc, "the config", f"{config_path()} was not changed")
    return JsonRpcException(f"{err.message}; {err.hint}", STORAGE_FAILED)


def _progress_reporter(conn: Connection, token: str | int) -> Callable[[int, int, str], None]:
    conn.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="Hermes doctor", percentage=0))

    def report(done: int, total: int, name: str) -> None:
        conn.work_done_progress.report(
            token, types.WorkDoneProgressReport(message=f"probed {name}", percentage=int(done * 100 / max(total, 1)))
        )

    return report
