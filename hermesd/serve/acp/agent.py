"""Each ACP method of one connection, mapped onto the daemon's engine and sessions.

Sessions are hermesd's own (the ACP ``sessionId`` is the hermesd session id):
a conversation started here is in every editor's history, ``session/load``
replays any saved one, and a daemon restarted under the relay serves the same
ids from disk. A connection holds only what its client said in ``initialize``
and its prompts in flight.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from acp import schema
from acp.exceptions import RequestError

from hermesd import __version__, protocol
from hermesd.serve.acp import prompt as translate

if TYPE_CHECKING:
    from hermesd.engine.sessions import Session
    from hermesd.serve.daemon import Daemon

PROTOCOL_VERSION = 1
LIST_PAGE = 50


class HermesAgent:
    """The ``acp.Agent`` of one connection (the SDK routes each request to the method of its name)."""

    def __init__(self, daemon: Daemon, writer: asyncio.StreamWriter) -> None:
        self.daemon = daemon
        self.writer = writer  # the reply's pieces are written here directly (see prompt)
        self.client: Any = None  # the SDK's connection: session_update, read_text_file
        self.reads_files = False  # the client advertised fs.readTextFile
        self.prompts: dict[str, asyncio.Task] = {}  # session id -> its session/prompt in flight
        self.cancelled: set[str] = set()  # cancelled before the chat started

    def on_connect(self, conn: Any) -> None:
        self.client = conn

    def cancel_all(self) -> None:
        """The client is gone: nobody reads its replies (each keeps its partial text)."""
        for session_id in list(self.prompts):
            self.daemon.engine.cancel(session_id)

    # -- set-up ---------------------------------------------------------

    async def initialize(self, protocol_version: int, client_capabilities: schema.ClientCapabilities | None = None,
                         client_info: schema.Implementation | None = None, **_: Any) -> schema.InitializeResponse:
        fs = client_capabilities.fs if client_capabilities else None
        self.reads_files = bool(fs and fs.read_text_file)
        return schema.InitializeResponse(
            protocol_version=PROTOCOL_VERSION,
            agent_capabilities=schema.AgentCapabilities(
                load_session=True,
                prompt_capabilities=schema.PromptCapabilities(embedded_context=True, image=False, audio=False),
                session_capabilities=schema.SessionCapabilities(list=schema.SessionListCapabilities()),
            ),
            auth_methods=[],  # keys live in hermesd's own store (hermesd setup); a non-empty list makes clients ask
            agent_info=schema.Implementation(name="hermesd", title="Hermes", version=__version__),
        )

    async def authenticate(self, method_id: str, **_: Any) -> None:
        raise translate.error(f"hermesd offers no authentication method ({method_id!r}): keys are set with "
                              "`hermesd setup` or in $HERMES_HOME/.env", "no_auth")

    # -- sessions -------------------------------------------------------

    async def new_session(self, cwd: str, mcp_servers: Any = None, **_: Any) -> schema.NewSessionResponse:
        await self.daemon.check_plugins()
        session = await self._call(self.daemon.engine.new_session)
        return schema.NewSessionResponse(session_id=session.id, config_options=await self._options(session))

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **_: Any) -> schema.LoadSessionResponse:
        session = await self._session(session_id)
        for update in translate.reply_updates(session.messages):
            await self.client.session_update(session_id=session.id, update=update)
        return schema.LoadSessionResponse(config_options=await self._options(session))

    async def list_sessions(self, cwd: str | None = None, cursor: str | None = None,
                            **_: Any) -> schema.ListSessionsResponse:
        from hermesd.engine import session_index

        try:
            paging = session_index.page_params(limit=LIST_PAGE, cursor=cursor, query=None)
        except ValueError as exc:
            raise translate.error(str(exc), "bad_cursor") from exc
        page = await asyncio.to_thread(self.daemon.store.page, **paging)
        # hermesd's conversations belong to no directory: every one is listed for the directory asked about.
        where = cwd or "/"
        return schema.ListSessionsResponse(
            sessions=[schema.SessionInfo(session_id=row.session_id, cwd=where, title=row.title, updated_at=row.updated_at)
                      for row in page.sessions],
            next_cursor=page.next_cursor)

    async def set_config_option(self, config_id: str, session_id: str, value: str | bool,
                                **_: Any) -> schema.SetSessionConfigOptionResponse:
        from hermesd.engine import listing

        if config_id not in (translate.MODEL_OPTION, translate.SCORE_OPTION):
            raise translate.error(f"unknown config option {config_id!r}: hermesd offers {translate.MODEL_OPTION!r} "
                                  f"(and {translate.SCORE_OPTION!r} with Pareto Code)", "unknown_option")
        if not isinstance(value, str):
            raise translate.error(f"the {config_id} option takes one of its values, not a boolean", "unknown_value")
        session = await self._session(session_id)
        if self.daemon.engine.is_running(session.id):
            raise translate.error("a reply is streaming in this conversation: stop it or let it finish, then choose "
                                  "again", "busy")
        if config_id == translate.MODEL_OPTION:  # the session's own choice, as hermes/selectModel with its sessionId
            provider, model = translate.split_model(value)
            score: Any = protocol.UNSET
        elif session.model == listing.PARETO_MODEL:
            provider, model, score = session.provider, session.model, value
        else:
            raise translate.error(f"{translate.SCORE_OPTION} applies to Pareto Code only; this conversation uses "
                                  f"{session.model}", "unknown_option")
        await self._call(listing.select, provider, model, score, "session", self.daemon.store, session)
        return schema.SetSessionConfigOptionResponse(config_options=await self._options(session))

    # -- prompts --------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **_: Any) -> schema.PromptResponse:
        task = asyncio.current_task()
        assert task is not None
        if session_id in self.prompts:
            raise translate.error(f"session {session_id} is already answering; cancel it or wait", "busy")
        self.prompts[session_id] = task
        self.cancelled.discard(session_id)

        def on_delta(_session: str, text: str, reasoning: str) -> None:
            # The hot path: each piece is one line written now, in order, built without the SDK's models and
            # send queue (a task and a queue hop per piece); translate.chunk_line matches the SDK's encoding.
            if self.writer.is_closing():
                return
            if reasoning:
                self.writer.write(translate.chunk_line(session_id, "agent_thought_chunk", reasoning))
            if text:
                self.writer.write(translate.chunk_line(session_id, "agent_message_chunk", text))

        try:
            message, attachments = await self._content(session_id, prompt)
            if session_id in self.cancelled:
                return schema.PromptResponse(stop_reason="cancelled")
            params = protocol.ChatParams(session_id=session_id, message=message, attachments=attachments or None)
            result = await self._call_async(self.daemon.engine.chat(params, on_delta=on_delta))
        except asyncio.CancelledError:
            if session_id not in self.cancelled:  # the client gone, or the daemon stopping
                raise
            return schema.PromptResponse(stop_reason="cancelled")  # cancelled before the chat was running
        finally:
            self.prompts.pop(session_id, None)
            self.cancelled.discard(session_id)
        return await self._finish(session_id, result)

    async def cancel(self, session_id: str, **_: Any) -> None:
        """Stop the session's reply now: the upstream request is closed at once, the partial text kept, and the
        prompt answered ``stopReason: cancelled``. A prompt not yet chatting (reading a linked file) stops there."""
        task = self.prompts.get(session_id)
        if task is None:
            return
        self.cancelled.add(session_id)
        if not self.daemon.engine.cancel(session_id):
            task.cancel()

    async def _finish(self, session_id: str, result: protocol.ChatResult) -> schema.PromptResponse:
        usage = None
        used = result.usage
        if used is not None and (used.input_tokens is not None or used.output_tokens is not None):
            used_in, used_out = used.input_tokens or 0, used.output_tokens or 0
            usage = schema.Usage(input_tokens=used_in, output_tokens=used_out, total_tokens=used_in + used_out,
                                 thought_tokens=used.reasoning_tokens, cached_read_tokens=used.cache_read_tokens,
                                 cached_write_tokens=used.cache_write_tokens)
            in_context = used.context_tokens or used_in + used_out
            # size: the model's window from its catalog when known, else the budget past which hermesd
            # summarises older turns (context.budget_tokens): the context hermesd keeps.
            size = used.context_length
            if size is None:
                session = await asyncio.to_thread(self.daemon.store.get, session_id)
                size = session.settings.budget_tokens if session is not None else in_context
            totals = result.session_usage
            cost = (schema.Cost(amount=totals.cost_usd, currency="USD")
                    if totals is not None and totals.replies > totals.unknown_replies else None)  # ACP: the session's
            await self.client.session_update(session_id=session_id, update=schema.UsageUpdate(
                session_update="usage_update", used=in_context, size=max(size, in_context), cost=cost))
        if result.notice:
            await self.client.session_update(session_id=session_id, update=schema.AgentMessageChunk(
                session_update="agent_message_chunk", content=translate.text_block(f"\n\n({result.notice})")))
        if result.error is not None and result.stop_reason == "error":
            error = result.error
            text = f"{error.message}; {error.hint}" if error.hint else error.message
            raise translate.error(text, error.kind, code=-32603, status=error.status, provider=error.provider)
        stop = result.stop_reason if result.stop_reason in ("end_turn", "max_tokens", "cancelled") else "end_turn"
        return schema.PromptResponse(stop_reason=stop, usage=usage)

    async def _content(self, session_id: str, blocks: list[Any]) -> tuple[str, list[protocol.Attachment]]:
        """The prompt's blocks as the message and its attachments (a resource link's file read through the
        client when it offers fs/read_text_file)."""
        pieces: list[str] = []
        attachments: list[protocol.Attachment] = []
        for block in blocks:
            if isinstance(block, schema.TextContentBlock):
                pieces.append(block.text)
            elif isinstance(block, schema.EmbeddedResourceContentBlock):
                resource = block.resource
                if not isinstance(resource, schema.TextResourceContents):
                    raise translate.error(f"{resource.uri} is binary (a blob resource): hermesd attaches text only",
                                          "unsupported_content")
                attachments.append(translate.attachment(resource.uri, resource.text))
                pieces.append(translate.mention(resource.uri))
            elif isinstance(block, schema.ResourceContentBlock):
                path = translate.path_of(block.uri)
                if self.reads_files and path is not None:
                    try:
                        read = await self.client.read_text_file(session_id=session_id, path=path)
                    except RequestError as exc:
                        raise translate.error(f"the editor could not read {path}: {exc}", "unreadable") from exc
                    attachments.append(translate.attachment(block.uri, read.content))
                    pieces.append(translate.mention(block.uri, block.name))
                else:  # the model sees the link only
                    pieces.append(f"[{block.name}]({block.uri})")
            else:
                raise translate.refused(block)
        return translate.join(pieces), attachments

    # -- helpers --------------------------------------------------------

    async def _options(self, session: Session) -> list[Any]:
        from hermesd.engine import listing

        picker = await asyncio.to_thread(listing.picker_result)
        options: list[Any] = [translate.model_option(picker, session.provider, session.model)]
        if session.model == listing.PARETO_MODEL:
            floor = session.settings.min_coding_score
            options.append(translate.score_option(floor, listing.describe_pareto(floor)))
        return options

    async def _session(self, session_id: str) -> Session:
        session = await asyncio.to_thread(self.daemon.store.get, session_id)
        if session is None:
            raise translate.error(f"unknown session {session_id!r}: session/list shows the saved ones", "unknown_session",
                                  code=-32002)
        return session

    async def _call(self, func: Any, *args: Any) -> Any:
        """``func`` off the event loop, hermesd's refusals as errors a client shows."""
        return await self._call_async(asyncio.to_thread(func, *args))

    async def _call_async(self, work: Any) -> Any:
        from hermesd.engine.attachments import AttachmentError, NeedsConfirmation
        from hermesd.engine.errors import HermesError
        from hermesd.settings import config as config_mod

        try:
            return await work
        except NeedsConfirmation as exc:
            found = "; ".join(f"{f['path']} ({f['reason']})" for f in exc.found)
            raise translate.error(f"not sent: {found} may hold secrets, and attachments are saved with the "
                                  "conversation. Paste only the part you mean to share", "needs_confirmation",
                                  attachments=exc.found) from exc
        except (protocol.ParamsError, AttachmentError, config_mod.ConfigError) as exc:
            extra = getattr(exc, "data", None)  # a refused model choice's signupUrl
            more = {k: v for k, v in extra.items() if k not in ("error", "kind", "code")} if isinstance(extra, dict) else {}
            raise translate.error(str(exc), "invalid", **more) from exc
        except config_mod.ConfigUnreadable as exc:
            raise translate.error(str(exc), "config_unreadable", code=-32603) from exc
        except HermesError as exc:
            raise translate.error(f"{exc.message}; {exc.hint}" if exc.hint else exc.message, exc.kind) from exc
