"""The chat engine: a typed chat request in, its reply streamed out piece by piece and returned as a typed result.

:class:`ChatEngine` takes :class:`~hermesd.protocol.ChatParams` and returns
:class:`~hermesd.protocol.ChatResult` (the protocol's types, from the bottom
layer); it never sees JSON, camelCase or request ids. The handlers and the
CLI both call it. A chat checks what the types cannot (sizes, roles,
Unicode), resolves its target, summarises old turns when the session
outgrows its context budget, builds the request (a pure function), streams
it with bounded retries before the first token and along the fallback
chain. The turn is written ahead: the user's message before the request
goes upstream, the reply about once a second as it streams, and the whole
reply, partial or not, when it ends (however it ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from hermesd.engine import attachments as attachments_mod
from hermesd.settings import config as config_mod
from hermesd.engine import disk_thread, fallback, readiness, spending
from hermesd.engine.pricing import PriceBooks
from hermesd.engine.usage import context_text, footer, reply_usage
from hermesd.settings.credentials import redact
from hermesd.engine.errors import HermesError
from hermesd.engine.labels import short_label
from hermesd.protocol import (
    ChatMessage,
    ChatParams,
    ChatResult,
    FallbackAttempt,
    FallbackPreview,
    ParamsError,
    PreviewResult,
    Target,
    Usage,
    to_wire,
)
from hermesd.engine.runtime import Resolved, openrouter_provider, reasoning_config, resolve
from hermesd.engine.sessions import Session, SessionStore, Settings
from hermesd.transports import Delta, Finish, NetworkSettings, open_stream
from hermesd.wire import ChatOptions, PreparedRequest, text_of
from hermesd.wire.dispatch import build_request
from hermesd.wire.hermes_rules import openrouter_cache_headers

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1024 * 1024
MAX_MESSAGES = 10_000
# Content parts are shallow objects; deeper nesting is refused before it reaches a JSON encoder.
MAX_CONTENT_DEPTH = 8
# One reply's text and reasoning together; beyond it the stream is cut (bad_response, partial kept).
MAX_REPLY_BYTES = 16 * 1024 * 1024
# A Retry-After longer than this is reported (rate_limited, retryAfter) instead of waited out.
MAX_RETRY_WAIT = 30.0
# How often a streaming reply is written ahead to its session file (at most one fsync per interval).
WRITE_AHEAD_SECONDS = 1.0
SUMMARY_PROMPT = (
    "Summarise the conversation below for your own later use. Keep every fact, decision, "
    "code identifier and open question; drop pleasantries. Reply with the summary only."
)

# (session id, text, reasoning) of each piece as it arrives. The transport
# numbers the pieces it sends (hermes/chatDelta's seq): the engine does not.
DeltaCallback = Callable[[str, str, str], None]


@dataclass
class ChatRequest:
    """A chat's params once checked, in the engine's working form (messages and attachments as saved)."""

    session_id: str | None = None
    message: str | None = None
    messages: list[dict[str, Any]] | None = None
    provider: str | None = None
    model: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # The user's message is already the session's last (written ahead): the transcript does not add it again.
    written_ahead: bool = False

    @classmethod
    def of(cls, params: ChatParams) -> "ChatRequest":
        """``params`` checked for what their types do not say; :class:`ParamsError` names the field."""
        req = cls(
            session_id=_opt_str("sessionId", params.session_id),
            provider=_opt_str("provider", params.provider),
            model=_opt_str("model", params.model),
            system=_opt_str("system", params.system),
        )
        if params.message is None and params.messages is None:
            raise ParamsError("`message` (a string) or `messages` (a list) is required")
        if params.message is not None:
            if not params.message.strip():
                raise ParamsError("`message` must not be empty")
            _require_unicode("message", params.message)
            req.message = params.message
        if params.messages is not None:
            req.messages = _check_messages(params.messages)
        try:
            # Kept in the form the session file saves (and renders from).
            req.attachments = attachments_mod.parse(params.attachments)
        except attachments_mod.AttachmentError as exc:
            raise ParamsError(str(exc)) from exc
        if req.attachments and req.message is None:
            raise ParamsError("`attachments` go with `message` (the turn they belong to)")
        _require_unicode("attachments", req.attachments)
        size = len((req.message or "").encode()) + len((req.system or "").encode())
        size += sum(len(text_of(m["content"]).encode()) for m in req.messages or [])
        size += attachments_mod.size(req.attachments)
        if size > MAX_MESSAGE_BYTES:
            raise ParamsError(
                f"the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (1 MiB) "
                "for `message`, `messages`, `system` and `attachments` together"
            )
        if params.temperature is not None:
            if not 0 <= params.temperature <= 2:
                raise ParamsError("`temperature` must be a number from 0 to 2")
            req.temperature = params.temperature
        if params.max_tokens is not None:
            if params.max_tokens < 1:
                raise ParamsError("`maxTokens` must be a positive integer")
            req.max_tokens = params.max_tokens
        return req


def _opt_str(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    _require_unicode(name, value)
    return value.strip() or None


def _require_unicode(name: str, value: Any) -> None:
    """Lone surrogates arrive through JSON escapes but can be neither saved nor sent."""
    if not config_mod.is_valid_unicode(value):
        raise ParamsError(f"`{name}` is not valid Unicode text (it contains a lone surrogate such as \\ud800)")


def _check_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    if not messages:
        raise ParamsError("`messages` must be a non-empty list of {role, content}")
    if len(messages) > MAX_MESSAGES:
        raise ParamsError(f"`messages` has {len(messages)} items; the limit is {MAX_MESSAGES}")
    checked = []
    for i, m in enumerate(messages):
        if not isinstance(m.content, (str, list)):  # the role's values are the protocol's (ChatRole)
            raise ParamsError(f"`messages[{i}].content` must be a string or a list of content parts")
        content = m.content
        if isinstance(content, list) and (
            not all(isinstance(part, dict) for part in content) or config_mod.deeper_than(content, MAX_CONTENT_DEPTH)
        ):
            raise ParamsError(
                f"`messages[{i}].content` must be a string or a list of parts such as {{type: text, text: string}}"
                f" (nested at most {MAX_CONTENT_DEPTH} levels)"
            )
        _require_unicode(f"messages[{i}].content", content)
        checked.append({"role": m.role, "content": content})
    return checked


def settings_from_config(cfg: config_mod.Config) -> Settings:
    """Read once per session: later config edits affect new sessions only."""
    return Settings(
        min_coding_score=cfg.get("openrouter.min_coding_score"),
        provider_preferences=openrouter_provider(cfg.get("provider_routing")),
        reasoning_effort=cfg.get("agent.reasoning_effort") or "",
        temperature=cfg.get("model.temperature"),
        max_tokens=cfg.get("model.max_tokens"),
        ollama_num_ctx=cfg.get("ollama.num_ctx"),
        openrouter_headers=openrouter_cache_headers(
            cfg.get("openrouter.response_cache"), cfg.get("openrouter.response_cache_ttl"),
            os.environ.get("HERMES_OPENROUTER_CACHE", ""), os.environ.get("HERMES_OPENROUTER_CACHE_TTL", "")),
        aux_provider=cfg.get("auxiliary.compression.provider") or "",
        aux_model=cfg.get("auxiliary.compression.model") or "",
        budget_tokens=cfg.get("context.budget_tokens"),
        keep_recent_messages=cfg.get("context.keep_recent_messages"),
    )


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    """A cheap, provider-neutral estimate (~4 characters a token)."""
    return sum(len(text_of(m.get("content"))) + 16 for m in messages) // 4


@dataclass
class Run:
    """One chat in flight: the text so far survives however it ends."""

    cfg: config_mod.Config  # the config the chat runs with (read with its session, before it starts)
    task: asyncio.Task | None = None
    cancel_requested: bool = False
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    finish: Finish | None = None
    saved: int = 0  # pieces of ``text`` written ahead to the session file
    session: Session | None = None  # set once its user message is written ahead
    writing: asyncio.Future | None = None  # a write-ahead of the reply so far, in progress
    ended: bool = False  # its reply is being recorded: no more write-aheads
    notice: str | None = None  # why the daemon cancelled it (stopping)
    target: Resolved | None = None  # the target being asked (the session's, or a fallback)


class ChatEngine:
    """Chats, previews and new sessions over one session store; at most one chat runs per session."""

    def __init__(self, store: SessionStore, load_config: Callable[[], config_mod.Config] = config_mod.load) -> None:
        self.store = store
        self.load_config = load_config
        self._runs: dict[str, Run] = {}
        self._ticker: asyncio.Future | None = None  # the write-ahead timer of every running chat
        self.stopping: str | None = None  # set once the daemon is stopping: why (new chats are refused)
        self.prices = PriceBooks()  # catalog prices and context lengths, per endpoint

    # -- sessions --------------------------------------------------------

    def new_session(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        parent_id: str | None = None,
        system: str | None = None,
        cfg: config_mod.Config | None = None,
    ) -> Session:
        """A session for ``provider``/``model`` (or the configured ones), or a child of ``parent_id``; settings frozen now
        (from ``cfg``, the config already read, if given)."""
        for name, value in (("provider", provider), ("model", model), ("parentSessionId", parent_id), ("system", system)):
            _require_unicode(name, value)
        if system is not None and len(system.encode()) > MAX_MESSAGE_BYTES:
            raise ParamsError(f"`system` is {len(system.encode())} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (1 MiB)")
        cfg = cfg if cfg is not None else self.load_config()
        parent = None
        if parent_id is not None:
            parent = self.store.get(parent_id)
            if parent is None:
                raise ParamsError(f"unknown parent session {parent_id!r}")
        if parent is not None and not provider:
            provider = parent.provider or None
            model = model or parent.model or None
        settings = Settings.from_dict(parent.settings.to_dict()) if parent else settings_from_config(cfg)
        try:
            with _exit_guard(provider):
                resolved = resolve(cfg, provider=provider, model=model)
            target = (resolved.provider, resolved.model, resolved.profile)
        except HermesError as exc:
            if provider:  # the editor asked for a provider that does not exist
                raise ParamsError(f"{exc.message}; {exc.hint}") from exc
            target = ("", model or "", None)  # nothing configured yet: the chat will say so
        return self.store.create(
            provider=target[0],
            model=target[1],
            settings=settings,
            system=system if system is not None else (parent.system if parent else ""),
            parent_id=parent.id if parent else None,
            profile=target[2],
        )

    def _session_for(self, req: ChatRequest) -> tuple[Session, config_mod.Config]:
        """The chat's session (found, or made) and the config it runs with: one trip off the event loop for both."""
        cfg = self.load_config()
        if req.session_id is None:
            return self.new_session(provider=req.provider, model=req.model, system=req.system, cfg=cfg), cfg
        session = self.store.get(req.session_id)
        if session is None:
            raise ParamsError(f"unknown session {req.session_id!r}; start one with hermes/newSession")
        wants_provider = req.provider and req.provider != session.provider
        wants_model = req.model and req.model != session.model
        if wants_provider or wants_model:
            try:
                with _exit_guard(req.provider or session.provider):
                    resolved = resolve(cfg, provider=req.provider or session.provider or None, model=req.model or session.model,
                                       profile=None if wants_provider else session.profile)
            except HermesError as exc:
                raise ParamsError(f"{exc.message}; {exc.hint}") from exc
            self.store.update_target(session, resolved.provider, resolved.model, resolved.profile)
        return session, cfg

    # -- building -------------------------------------------------------

    def _resolve(self, session: Session, cfg: config_mod.Config) -> Resolved:
        resolved = resolve(
            cfg,
            provider=session.provider or None,
            model=session.model or None,
            profile=session.profile,
        )
        if not resolved.model:
            raise HermesError(
                "config_error",
                f"no model chosen for {resolved.provider or 'this endpoint'}",
                hint="pick a model in your editor, or run `hermesd config set model.default MODEL`",
                provider=resolved.provider,
            )
        return resolved

    def _options(self, session: Session, req: ChatRequest | None) -> ChatOptions:
        s = session.settings
        reasoning = reasoning_config(s.reasoning_effort)
        return ChatOptions(
            temperature=req.temperature if req and req.temperature is not None else s.temperature,
            max_tokens=req.max_tokens if req and req.max_tokens is not None else s.max_tokens,
            reasoning_config=reasoning,
            provider_preferences=s.provider_preferences or None,
            min_coding_score=s.min_coding_score,
            session_id=session.id,
            ollama_num_ctx=s.ollama_num_ctx,
            openrouter_headers=dict(s.openrouter_headers),
        )

    def _transcript(self, session: Session, req: ChatRequest) -> list[dict[str, Any]]:
        if req.messages is not None:
            sent = list(req.messages)
            if req.message:
                sent.append({"role": "user", "content": attachments_mod.render(req.message, req.attachments)})
            return sent
        out: list[dict[str, Any]] = []
        system = req.system or session.system
        if system:
            out.append({"role": "system", "content": system})
        if session.summary:
            out.append({"role": "system", "content": "Summary of the earlier conversation:\n" + session.summary})
        out.extend({"role": m["role"], "content": _sent_content(m)} for m in session.messages)
        if not req.written_ahead:
            out.append({"role": "user", "content": attachments_mod.render(req.message or "", req.attachments)})
        return out

    def preview(self, params: ChatParams) -> PreviewResult:
        """``hermes/previewRequest``: what :meth:`chat` would send, sending nothing."""
        req = ChatRequest.of(params)
        attachments_mod.confirm(req.attachments)  # secrets-ish files wait for the user's yes
        session = self.store.get(req.session_id) if req.session_id is not None else None
        with _exit_guard(req.provider or (session.provider if session else None)):
            return self._preview(req)

    def _preview(self, req: ChatRequest) -> PreviewResult:
        cfg = self.load_config()
        note = ""
        if req.session_id is not None:
            session = self.store.get(req.session_id)
            if session is None:
                raise ParamsError(f"unknown session {req.session_id!r}")
        else:
            resolved = resolve(cfg, provider=req.provider, model=req.model)
            note = resolved.model_note
            session = Session(id="s-preview", provider=resolved.provider, model=resolved.model,
                              settings=settings_from_config(cfg), system=req.system or "", profile=resolved.profile)
        if req.provider or req.model:
            resolved = resolve(cfg, provider=req.provider or session.provider or None,
                               model=req.model or session.model or None)
            note = resolved.model_note
            session = Session(id=session.id, provider=resolved.provider, model=resolved.model,
                              settings=session.settings, system=session.system, messages=session.messages,
                              summary=session.summary, profile=resolved.profile)
        resolved = self._resolve(session, cfg)
        transcript, options = self._transcript(session, req), self._options(session, req)
        preview = _shown(build_request(resolved, transcript, options))
        preview.model_note = note or None  # the model came from the server's list or the fallback: say so
        chain = []
        # What the chat would send next if this one failed before its first token (entries it would skip, skipped).
        for entry, target in fallback.targets(cfg, resolved):
            if entry is None:
                continue
            try:
                with _exit_guard(target.provider):
                    chain.append(FallbackPreview(where=entry.where, request=_shown(build_request(target, transcript, options))))
            except HermesError as exc:
                log.warning("fallback %s (%s) skipped: %s", entry.where, entry.label, exc.message)
        preview.fallbacks = chain or None
        return preview

    # -- running ---------------------------------------------------------

    def is_running(self, session_id: str) -> bool:
        """Whether a chat of ``session_id`` runs now (its reply is still to be recorded)."""
        run = self._runs.get(session_id)
        return run is not None and not (run.task is not None and run.task.done())

    def cancel(self, session_id: str) -> bool:
        """Stop ``session_id``'s running chat (its partial text is kept); False when none runs."""
        run = self._runs.get(session_id)
        if run is None or not self.is_running(session_id):
            return False
        run.cancel_requested = True
        if run.task is not None:  # else it is cancelled as it starts
            run.task.cancel()
        return True

    def cancel_all(self) -> None:
        """Stop every running chat (shutdown)."""
        for session_id in list(self._runs):
            self.cancel(session_id)

    async def stop(self, grace: float, notice: str) -> None:
        """The daemon is stopping: refuse new chats, let running ones finish for ``grace`` seconds, then
        cancel the rest; each is recorded with its partial text and answered (cancelled, ``notice``)."""
        loop = asyncio.get_running_loop()
        self.stopping = notice
        deadline = loop.time() + grace
        while self._runs and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for session_id, run in list(self._runs.items()):
            run.notice = notice
            self.cancel(session_id)
        deadline = loop.time() + 10.0  # recording is a write each; a hung disk must not keep the daemon forever
        while self._runs and loop.time() < deadline:
            await asyncio.sleep(0.02)

    async def chat(self, params: ChatParams, *, on_delta: DeltaCallback | None = None) -> ChatResult:
        """Run one chat to its end; upstream failures are results (``error``), not exceptions.

        :class:`ParamsError` and :class:`~hermesd.engine.attachments.NeedsConfirmation`
        are raised before anything is sent (:class:`~hermesd.engine.sessions.SessionBusy`
        when another hermesd chats in the session); a cancel (:meth:`cancel`)
        ends it with ``stopReason: cancelled`` and the partial text.
        """
        req = ChatRequest.of(params)
        if self.stopping is not None:
            raise ParamsError(f"{self.stopping}: it takes no new chats; send this again once it has restarted")
        if req.attachments:  # asks git about ignored files: off the event loop
            await asyncio.to_thread(attachments_mod.confirm, req.attachments)
        # Session files are fsynced: keep that off the event loop other streams share.
        session, cfg = await disk_thread.run(self._session_for, req)
        if session.id in self._runs:
            raise ParamsError(f"session {session.id} is already answering; cancel it or wait")
        run = Run(cfg=cfg)
        self._runs[session.id] = run
        try:
            # On the loop, not a thread: a cancel in between must not leave the lock taken and unowned.
            self.store.claim(session)
            return await self._chat(session, req, run, on_delta)
        finally:
            self._runs.pop(session.id, None)
            self.store.release(session)

    async def _chat(self, session: Session, req: ChatRequest, run: Run, on_delta: DeltaCallback | None) -> ChatResult:
        result = ChatResult(session_id=session.id, text="", stop_reason="end_turn", provider=session.provider, model=session.model)
        user_message = {"role": "user", "content": req.message if req.message is not None else text_of(req.messages[-1]["content"])}
        if req.attachments:
            user_message["attachments"] = attachments_mod.saved(req.attachments)
        # Written ahead, before anything goes upstream (a failure is held, retried, and reported at the end).
        # On the loop: one write to the page cache through the file the claim holds open (no fsync, no index),
        # as cheap as a delta to the editor; a hop to the disk thread cost more than the write (B6).
        self.store.begin_turn(session, user_message)
        req.written_ahead = True
        run.session = session
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.ensure_future(self._tick())
        error: HermesError | None = None
        run.task = asyncio.ensure_future(self._run(session, req, run, on_delta, result))
        if run.cancel_requested:  # cancelled (the daemon stopping) before it started
            run.task.cancel()
        try:
            await asyncio.shield(run.task)
        except asyncio.CancelledError:
            if not (run.task.done() and run.cancel_requested):
                # $/cancelRequest, the client gone, or the event loop shutting down (which may cancel the
                # run first): stop the upstream, keep the text, re-raise.
                run.task.cancel()
                await asyncio.gather(run.task, return_exceptions=True)
                await self._end(session, run, result, "cancelled", None)
                raise
        except HermesError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - never let one chat take the daemon down
            log.exception("chat failed")
            error = HermesError("bad_response", f"unexpected failure: {type(exc).__name__}: {exc}",
                                hint="this is a hermesd bug; the log has details")
        if run.cancel_requested and run.task.cancelled():
            stop = "cancelled"
        elif error is not None:
            stop = "error"
        else:
            stop = run.finish.stop_reason if run.finish else "end_turn"
        await self._end(session, run, result, stop, error)
        return result

    async def _tick(self) -> None:
        """Every running chat's reply so far onto its session file about once a second (the chunks'
        own path makes no system call); a kill loses at most the last interval's text.

        One timer for all chats: a timer per chat woke each of them every
        second, so 10,000 chats queued for their endpoint cost 10,000 wake-ups
        a second between them (B10); a queued chat has no text and costs a
        length check here.
        """
        while self._runs:
            await asyncio.sleep(WRITE_AHEAD_SECONDS)
            for run in list(self._runs.values()):
                if run.session is not None and run.writing is None and not run.ended and len(run.text) > run.saved:
                    run.writing = asyncio.ensure_future(self._write_ahead(run.session, run))

    async def _write_ahead(self, session: Session, run: Run) -> None:
        count = len(run.text)
        text = "".join(run.text[run.saved:count])
        try:
            if await disk_thread.run(self.store.add_partial, session, text) is None:
                run.saved = count  # else the next interval tries again with more
        except Exception:  # noqa: BLE001 - the reply is recorded whole at its end anyway
            log.exception("writing a reply ahead failed")
        finally:
            run.writing = None

    async def _end(self, session: Session, run: Run, result: ChatResult, stop: str, error: HermesError | None) -> None:
        run.ended = True
        if run.writing is not None:  # a write-ahead in progress lands before the reply
            await asyncio.gather(run.writing, return_exceptions=True)
        fetch = self._catalog_to_fetch(run)  # from the pool: a fetch on the disk thread would hold every chat's disk work
        if fetch is not None:
            await asyncio.to_thread(lambda: self.prices.book(**fetch))
        await disk_thread.run(self._record, session, run, result, stop, error)

    def _record(self, session: Session, run: Run, result: ChatResult, stop: str, error: HermesError | None) -> None:
        """The turn's reply into ``result`` and onto the session (its file keeps the same facts)."""
        text, reasoning = "".join(run.text), "".join(run.reasoning)
        result.text, result.stop_reason = text, stop  # type: ignore[assignment] - stop is a StopReason
        result.provider, result.model = session.provider, session.model
        assistant: dict[str, Any] = {"role": "assistant", "content": text, "model": session.model, "stopReason": stop}
        result.reasoning = reasoning or None
        if run.finish is not None:
            routed = run.finish.routed_model
            if routed and routed != session.model:
                result.routed_model = assistant["routedModel"] = routed
        if run.finish is not None or text:  # a reply the upstream may have charged for (a cut one: cost unknown)
            usage = self.usage_of(run.target, run.finish, session, run.cfg, fetch=False)
            assistant["usage"] = to_wire(usage)
            answered = result.answered_by.model if result.fallbacks and result.answered_by else session.model
            usage.footer = footer(usage, answered, result.routed_model)
            usage.context = context_text(usage) or None
            result.usage = usage
        if result.fallbacks and result.answered_by is not None:
            assistant["answeredBy"] = to_wire(result.answered_by)
        if error is not None:
            result.error = error.to_protocol()
            assistant["error"] = error.to_dict()
        if run.notice is not None and stop == "cancelled":
            result.notice = assistant["notice"] = run.notice
        unsaved = self.store.add_messages(session, assistant)
        if unsaved is not None and result.error is None:  # the reply stands; the user learns it is not on disk
            result.error = unsaved.to_protocol()
        if result.usage is not None:
            result.session_usage = self.store.totals_written(session)

    def usage_of(self, target: Resolved | None, finish: Finish | None, session: Session,
                 cfg: config_mod.Config | None, *, fetch: bool = True) -> Usage:
        """What a reply of ``target`` used and cost: reported, estimated from its catalog's prices (a local
        server's cost nothing), or unknown. Blocking (the catalog may be fetched): call it from a thread.
        Not ``fetch``: priced from the book already held, however old (see :meth:`_catalog_to_fetch`)."""
        raw = finish.usage if finish is not None else {}
        summarize_at = session.settings.budget_tokens
        if target is None:
            return reply_usage(raw, price=None, summarize_at=summarize_at)
        is_local = _is_local(target)
        if not raw and not is_local:  # no counts (a server that reports none): nothing to price
            return reply_usage(raw, price=None, summarize_at=summarize_at)
        price, label = None, ""
        where = _prices_from(target, cfg, is_local)
        if where is not None:
            if "cost" in raw or not fetch:  # reported: a book already held gives the context length; nobody is asked
                book = self.prices.held(**where)
            else:
                book = self.prices.book(**_book_args(target, cfg, where))
            if book is not None:
                price, label = book.get((finish.routed_model if finish else None) or target.model), book.label
        usage = reply_usage(raw, price=price, price_label=label, local=is_local, summarize_at=summarize_at)
        if usage.context_length is None and is_local:
            usage.context_length = session.settings.ollama_num_ctx
        return usage

    def _catalog_to_fetch(self, run: Run) -> dict[str, Any] | None:
        """:meth:`PriceBooks.book`'s arguments when pricing ``run``'s reply may ask the network (its catalog's
        book is not held fresh in memory), else None. That fetch is made from the pool before the reply is
        recorded, so the disk thread never waits on it."""
        target, raw = run.target, run.finish.usage if run.finish is not None else {}
        if target is None or not raw or "cost" in raw:
            return None
        where = _prices_from(target, run.cfg, _is_local(target))
        if where is None or self.prices.fresh(where["url"], run.cfg.get("catalog.ttl_seconds")):
            return None
        return _book_args(target, run.cfg, where)

    async def _run(self, session: Session, req: ChatRequest, run: Run,
                   on_delta: DeltaCallback | None, result: ChatResult) -> None:
        # Inside the task: a SystemExit escaping a task would stop the event loop, and the daemon.
        with _exit_guard(session.provider):
            await self._stream(session, req, run, on_delta, result)

    async def _stream(self, session: Session, req: ChatRequest, run: Run,
                      on_delta: DeltaCallback | None, result: ChatResult) -> None:
        cfg = run.cfg  # read with the session, off the event loop (a large or hostile file must not stall other chats)
        result.config_warnings = list(cfg.problems) or None  # a value ignored silently would surprise
        resolved = self._resolve(session, cfg)
        result.provider, result.model = resolved.provider, resolved.model
        result.model_label = short_label(resolved.model)
        refused = readiness.refusal(resolved)
        if refused is not None:  # no credential: nothing leaves the machine unauthenticated
            raise refused
        if spending.capped(cfg):  # over a spending cap: refused before anything is sent
            refused = await asyncio.to_thread(spending.refusal, cfg, self.store.index)
            if refused is not None:
                raise refused
        if req.messages is None:
            await self._maybe_summarise(session, req, resolved, cfg)
        transcript, options = self._transcript(session, req), self._options(session, req)
        net = NetworkSettings.of(cfg)
        retries = cfg.get("network.max_retries")
        failed: HermesError | None = None
        # The session's own target, then the fallback chain; the chain moves on only before the first token.
        for entry, target in fallback.targets(cfg, resolved):
            try:
                with _exit_guard(target.provider):
                    prepared = build_request(target, transcript, options)
            except HermesError as exc:
                if entry is None:
                    raise
                log.warning("fallback %s (%s) skipped: %s", entry.where, entry.label, exc.message)
                continue
            if failed is not None and result.answered_by is not None:
                tried = result.answered_by
                log.warning("%s failed before answering (%s: %s); trying %s (%s/%s)", _label(tried),
                            failed.kind, failed.message, entry.where if entry else "", target.provider, target.model)
                result.fallbacks = [*(result.fallbacks or []),
                                    FallbackAttempt(provider=tried.provider, model=tried.model, error=failed.to_protocol())]
            result.answered_by = Target(provider=target.provider, model=target.model)
            run.target = target
            try:
                await self._attempt(prepared, target, net, retries, session, run, on_delta)
                return
            except HermesError as exc:
                if target.api_key:  # a key written in config.yaml is not in the redactor's list
                    exc.message = redact(exc.message, [target.api_key])
                if run.text or run.reasoning or not fallback.fails_over(exc):
                    raise
                failed = exc
        raise failed  # type: ignore[misc] - the primary came first: it returned, raised, or set ``failed``

    async def _attempt(self, prepared: PreparedRequest, resolved: Resolved, net: NetworkSettings, retries: int,
                       session: Session, run: Run, on_delta: DeltaCallback | None) -> None:
        """One target, with bounded retries before its first token."""
        size = 0
        for attempt in range(retries + 1):
            try:
                # aclosing: an error raised here (the size limit) still closes the upstream connection now.
                async with contextlib.aclosing(open_stream(prepared, resolved, net)) as events:
                    async for event in events:
                        if not isinstance(event, Delta):
                            run.finish = event
                            continue
                        size += len(event.text.encode()) + len(event.reasoning.encode())
                        if size > MAX_REPLY_BYTES:
                            raise _reply_too_large(resolved)
                        if event.text:
                            run.text.append(event.text)
                        if event.reasoning:
                            run.reasoning.append(event.reasoning)
                        if on_delta is not None:
                            on_delta(session.id, event.text, event.reasoning)
                return
            except HermesError as exc:
                if run.text or run.reasoning or not exc.retryable or attempt >= retries:
                    raise
                if exc.retry_after is not None and exc.retry_after > MAX_RETRY_WAIT:
                    raise  # minutes away: tell the user when to come back rather than hang the chat
                await asyncio.sleep(_backoff(attempt, exc.retry_after))

    async def _maybe_summarise(self, session: Session, req: ChatRequest, resolved: Resolved, cfg: config_mod.Config) -> None:
        """Replace older turns with a summary once the session outgrows its budget."""
        s = session.settings
        keep = max(2, s.keep_recent_messages)
        if len(session.messages) <= keep or estimate_tokens(self._transcript(session, req)) <= s.budget_tokens:
            return
        older = session.messages[:-keep]
        transcript = "\n\n".join(f"{m['role']}: {text_of(_sent_content(m))}" for m in older)
        if session.summary:
            transcript = f"(earlier summary) {session.summary}\n\n{transcript}"
        try:
            aux = self._aux_target(session, resolved, cfg)
            options = self._options(session, None)
            options.temperature = None
            prepared = build_request(
                aux,
                [{"role": "system", "content": SUMMARY_PROMPT}, {"role": "user", "content": transcript}],
                options,
            )
            net = NetworkSettings.of(cfg)
            parts, finish = [], None
            async for event in open_stream(prepared, aux, net):
                if isinstance(event, Delta):
                    parts.append(event.text)
                else:
                    finish = event
        except HermesError as exc:
            log.warning("summary failed, keeping the full history: %s", exc.message)
            return
        summary = "".join(parts).strip()
        if summary:
            usage = await asyncio.to_thread(self.usage_of, aux, finish, session, cfg)  # the summary's cost counts too
            self.store.replace_with_summary(session, summary, keep, usage=to_wire(usage), provider=aux.provider,
                                            model=(finish.routed_model if finish else None) or aux.model)

    def _aux_target(self, session: Session, resolved: Resolved, cfg: config_mod.Config) -> Resolved:
        """The auxiliary model: configured, else the profile's cheap model, else the main one."""
        s = session.settings
        if s.aux_provider and s.aux_provider != resolved.provider:
            aux = resolve(cfg, provider=s.aux_provider, model=s.aux_model or None)
            return aux if s.aux_model else _with_model(aux, aux.profile.default_aux_model if aux.profile else "")
        model = s.aux_model or (resolved.profile.default_aux_model if resolved.profile else "") or resolved.model
        return _with_model(resolved, model)


def _is_local(target: Resolved) -> bool:
    """A server on this machine or network, whose replies cost nothing."""
    from hermesd.engine import local

    if target.profile:
        return local.serves_own_models(target.profile, target.base_url)
    return local.is_local_url(target.base_url)


def _prices_from(target: Resolved, cfg: config_mod.Config | None, is_local: bool) -> dict[str, str] | None:
    """The catalog whose book prices a reply of ``target`` (the arguments of :class:`PriceBooks`' look-ups),
    or None when no catalog does."""
    if is_local or target.api_mode != "chat_completions" or cfg is None:
        return None
    return {"provider": target.provider or "custom", "url": _catalog_url(target)}


def _book_args(target: Resolved, cfg: config_mod.Config, where: dict[str, str]) -> dict[str, Any]:
    """:meth:`PriceBooks.book`'s arguments for the catalog ``where`` (:func:`_prices_from`)."""
    return {**where, "headers": _catalog_headers(target), "ttl_seconds": cfg.get("catalog.ttl_seconds")}


def _catalog_url(target: Resolved) -> str:
    """Where ``target``'s catalog (its prices, context lengths) is: its plugin's catalog URL, else /models."""
    if target.profile is not None:
        return target.profile.catalog_url(target.base_url)
    return target.base_url.rstrip("/") + "/models"


def _catalog_headers(target: Resolved) -> dict[str, str]:
    """The catalog request's headers: the plugin's own, and the key for its own endpoint (OpenRouter's catalog is
    public: no key, as its plugin fetches it)."""
    headers = dict(target.profile.default_headers) if target.profile is not None else {}
    if target.api_key and target.provider != "openrouter":
        headers["Authorization"] = f"Bearer {target.api_key}"
    return headers


def _shown(prepared: PreparedRequest) -> PreviewResult:
    """A request as previewRequest shows it: secret headers masked, a ${VAR} from config.yaml as the template."""
    preview = prepared.preview()
    preview.url = redact(preview.url)
    return preview


def _sent_content(message: dict[str, Any]) -> Any:
    """A saved message as it is sent again: its attachments rendered ahead of its text."""
    content = message.get("content", "")
    if message.get("attachments") and isinstance(content, str):
        return attachments_mod.render(content, message["attachments"])
    return content


def _label(target: Target) -> str:
    return "/".join(part for part in (target.provider, target.model) if part)


def _with_model(resolved: Resolved, model: str) -> Resolved:
    from dataclasses import replace

    return replace(resolved, model=model or resolved.model)


@contextlib.contextmanager
def _exit_guard(provider: str | None) -> Iterator[None]:
    """A plugin calling ``sys.exit()`` fails its request (plugin_error) instead of stopping the daemon.

    Only plugin code runs inside these blocks and hermesd never exits from
    them itself, so a SystemExit here is the plugin's.
    """
    try:
        yield
    except SystemExit as exc:
        import providers

        origin = providers.provider_origin(provider) if provider else None
        where = f" ({origin.path})" if origin and origin.path else ""
        label = f"provider plugin {provider!r}" if provider else "a provider plugin"
        raise HermesError(
            "plugin_error",
            f"{label} called exit ({exc.code!r}) while preparing the request",
            hint=f"fix or remove the plugin{where}; other providers keep working",
            provider=provider or None,
        ) from None


def _reply_too_large(resolved: Resolved) -> HermesError:
    return HermesError(
        "bad_response",
        f"{resolved.provider or resolved.base_url} sent a reply over the {MAX_REPLY_BYTES // (1024 * 1024)} MiB limit; "
        "hermesd stopped reading it",
        hint="the partial reply is kept; ask for a shorter answer or lower model.max_tokens",
        provider=resolved.provider,
    )


def _backoff(attempt: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, MAX_RETRY_WAIT)
    return min(0.5 * (2**attempt), 8.0) * (0.75 + random.random() / 2)

