"""Conversations, kept in memory and written ahead to disk as turns happen.

Each session is one JSON-lines file (mode 0600) in the data directory: a
``meta`` record, then ``message``, ``partial`` and ``summary`` records.
A turn is written ahead: its user message (marked ``replyPending``) before
the request goes upstream, the reply as ``partial`` records while it
streams (batched by the engine, about once a second), and the whole reply
as a ``message`` when it ends. A turn whose reply never came (the daemon
was killed) reads back as an assistant message with ``stopReason:
interrupted`` holding the partial text. The previous release skips
``partial`` records (an unknown type) and ignores the marker, so both can
read one file during version retirement.

Appends are fsynced; a torn last line from a crash mid-write is skipped on
load. An append that fails (disk full, a short write) is cut back off the
file, so no torn record is left, and its records wait in memory to go out,
in order, with the next append; :meth:`SessionStore.retry_unsaved` retries
them, and :meth:`SessionStore.write_recovery` puts them in a recovery file
the next start replays (:meth:`SessionStore.replay_recovery`).

While a chat runs, its daemon holds an exclusive ``flock`` on the session
file (:meth:`SessionStore.claim`): one writer per session across processes.
The chat's appends go through the file that lock holds open, and each hands
the index the bytes it wrote (:meth:`SessionIndex.refresh`'s ``fed``), so a
turn reads nothing back.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermesd.engine.errors import HermesError, storage_error
from hermesd.engine.labels import model_label, short_label
from hermesd.paths import data_dir, ensure_private_dir
from hermesd.protocol import (GetSessionResult, ListSessionsResult, ParamsError, SessionMessage, SessionSummary, Usage,
                              UsageTotals, parse)
from hermesd.engine.session_index import SessionIndex, derive_title

if TYPE_CHECKING:
    from providers.base import ProviderProfile

log = logging.getLogger(__name__)

SESSION_ID_PREFIX = "s-"
# How a reply that never ended reads back (the daemon was killed mid-stream).
INTERRUPTED = "interrupted"
INTERRUPTED_NOTICE = "interrupted: hermesd stopped before this reply ended; the text shown is what was saved"
RECOVERY_GLOB = "recovery-*.jsonl"
# On a user message written ahead of its reply; the previous release keeps it as an unknown key, unused.
REPLY_PENDING = "replyPending"
# What create() makes (and a little slack); anything else could name a path outside the store.
_SESSION_ID = re.compile(r"s-[A-Za-z0-9_-]{1,64}")


def is_session_id(value: object) -> bool:
    """Whether ``value`` is shaped like the ids :meth:`SessionStore.create` makes (no path outside the store)."""
    return isinstance(value, str) and _SESSION_ID.fullmatch(value) is not None


@dataclass
class Settings:
    """What a session read from config once, at its start (children inherit it)."""

    min_coding_score: Any = None
    provider_preferences: dict[str, Any] = field(default_factory=dict)
    reasoning_effort: str = ""
    temperature: float | None = None
    max_tokens: int | None = None
    ollama_num_ctx: int | None = None
    openrouter_headers: dict[str, str] = field(default_factory=dict)  # the response-cache ones
    aux_provider: str = ""
    aux_model: str = ""
    budget_tokens: int = 32000
    keep_recent_messages: int = 6

    def to_dict(self) -> dict[str, Any]:
        """As saved in the session file's meta record."""
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        """From a meta record; keys this version does not know are dropped, missing ones take defaults."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Session:
    """One conversation: its target, the settings it started with, and its transcript."""

    id: str
    provider: str
    model: str
    settings: Settings
    system: str = ""
    parent_id: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    summary: str = ""
    # The model was chosen for this conversation (hermes/selectModel with its sessionId): it does not follow the default.
    model_chosen: bool = False
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    # The profile this session started with; a plugin reload does not change it.
    profile: "ProviderProfile | None" = field(default=None, repr=False)
    # Records a failed append could not write; they go first in the next one.
    unsaved: list[dict[str, Any]] = field(default_factory=list, repr=False)
    # The file's size as this process last wrote or read it: another size means another process wrote.
    file_size: int | None = field(default=None, repr=False)
    # The reply read back as interrupted, not yet written as a message (the next turn writes it first).
    unsealed: dict[str, Any] | None = field(default=None, repr=False)
    # The flock held while a chat runs (claim/release), and the lock of this session's appends.
    lock_fd: int | None = field(default=None, repr=False)
    write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # lock_fd is open for appending: the chat's appends go through it (taken under write_lock).
    lock_appends: bool = field(default=False, repr=False)
    # Its usage sums as the index held them after this process's last write (None: not known).
    sums: list[float] | None = field(default=None, repr=False)
    # The file was read ending in a torn line: the next append checks where to start.
    torn_end: bool = field(default=False, repr=False)
    # Bytes this process appended since the index last read the file: (offset, bytes), fed to it.
    unindexed: tuple[int, bytes] | None = field(default=None, repr=False)

    @property
    def title(self) -> str:
        """The first user message, shortened; ``(empty)`` before there is one."""
        first = next((m.get("content") for m in self.messages if m.get("role") == "user"), "")
        return derive_title(first) or "(empty)"

    def summary_row(self) -> SessionSummary:
        """This session as a ``hermes/listSessions`` row (the index's rows have the same shape)."""
        return _row(self.id, self.title, self.provider, self.model, self.updated_at, len(self.messages), self.parent_id)

    def to_protocol(self, totals: UsageTotals | None = None) -> GetSessionResult:
        """hermes/getSession's result for this session (``totals``: its usage, from the index)."""
        return GetSessionResult(
            session_id=self.id,
            provider=self.provider,
            model=self.model,
            messages=[_message(m, last=n == len(self.messages) - 1) for n, m in enumerate(self.messages)],
            system=self.system or None,
            parent_session_id=self.parent_id or None,
            summary=self.summary or None,
            model_chosen=self.model_chosen or None,
            model_label=short_label(self.model),
            usage=totals,
        )


def _message(saved: dict[str, Any], *, last: bool = False) -> SessionMessage:
    """A message as the session file keeps it, as hermes/getSession sends it.

    The file's message keys are the protocol's wire names (``stopReason``,
    ``answeredBy``), but the file is not the protocol: what it holds that
    the types do not fit (a file edited by hand) leaves just role and text.
    A reply that ended early because of the daemon carries its ``notice``;
    one that never ended is also ``retryable`` when it is the ``last`` message
    (Retry re-sends its user message; once the conversation went on, it would
    only repeat an old question at the end).
    """
    try:
        message = parse(SessionMessage, saved)
    except ParamsError:
        content = saved.get("content")
        message = SessionMessage(role=str(saved.get("role") or ""), content=content if isinstance(content, str) else "")
    message.model_label = short_label(message.model)
    if saved.get("stopReason") == INTERRUPTED:
        message.notice = message.notice or INTERRUPTED_NOTICE
        message.retryable = last or None
    if message.role == "assistant" and (message.usage is not None or message.content):
        from hermesd.engine.usage import context_text, footer

        usage = message.usage or Usage(cost_source="unknown")  # saved before hermesd counted usage
        usage.footer = footer(usage, message.model, message.routed_model)
        usage.context = context_text(usage) or None
        message.usage = usage
    return message


def interrupted_reply(model: str, text: str = "") -> dict[str, Any]:
    """The assistant message a turn that never ended reads back as."""
    return {"role": "assistant", "content": text, "model": model, "stopReason": INTERRUPTED}


class SessionBusy(ParamsError):
    """Another hermesd process is chatting in this session (it holds the session file's lock)."""


def index_row(row: dict[str, Any]) -> SessionSummary:
    """An index row as ``hermes/listSessions`` shows it (the same shape as ``Session.summary_row``)."""
    from hermesd.engine.usage import totals

    return _row(row["id"], row["title"] or "(empty)", row["provider"], row["model"], row["updated_at"],
                row["message_count"], row.get("parent_id"), totals(row) if row.get("replies") else None)


def _row(session_id: str, title: str, provider: str, model: str, updated_at: float, count: int,
         parent_id: str | None, usage: UsageTotals | None = None) -> SessionSummary:
    """A listSessions row: the facts, and the two lines an editor shows as they are (the cost, when one is known)."""
    from hermesd.engine.usage import money

    spent = f" · {money(usage.cost_usd)}" if usage and usage.unknown_replies < usage.replies else ""
    return SessionSummary(
        session_id=session_id,
        title=title,
        provider=provider,
        model=model,
        updated_at=_iso(updated_at),
        message_count=count,
        description=" · ".join(part for part in (provider, model_label(model) if model else "") if part),
        detail=f"{age_label(updated_at)} · {count} message{'' if count == 1 else 's'}{spent}",
        parent_session_id=parent_id or None,
        usage=usage,
    )


def age_label(updated_at: float, now: float | None = None) -> str:
    """"just now", "5 min ago", "3 h ago", "yesterday", "2 days ago", else the date: how a picker says when."""
    seconds = max(0.0, (time.time() if now is None else now) - updated_at)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 86400 * 30:
        days = int(seconds // 86400)
        return "yesterday" if days == 1 else f"{days} days ago"
    return _iso(updated_at)[:10]


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class SessionStore:
    """All sessions of this daemon; loads older ones from disk on demand."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._index: SessionIndex | None = None

    @property
    def root(self) -> Path:
        """The directory of the session files: the one given, else the data directory's ``sessions``."""
        return self._root or _sessions_in(data_dir())

    @property
    def index(self) -> SessionIndex:
        """The listing index of :attr:`root`, opened again when the root changed (tests move it)."""
        root = self.root
        if self._index is None or self._index.root != root:
            self._index = SessionIndex(root)
        return self._index

    def create(
        self,
        *,
        provider: str,
        model: str,
        settings: Settings,
        system: str = "",
        parent_id: str | None = None,
        profile: "ProviderProfile | None" = None,
    ) -> Session:
        """A new session with a fresh random id, its meta record already on disk."""
        session = Session(
            id=SESSION_ID_PREFIX + secrets.token_hex(8),
            provider=provider,
            model=model,
            settings=settings,
            system=system,
            parent_id=parent_id,
            profile=profile,
        )
        with self._lock:
            self._sessions[session.id] = session
        self._append(session, self._meta(session), create=True)
        return session

    def get(self, session_id: str) -> Session | None:
        """The session, loaded from disk when this daemon has not seen it; None for an unknown or malformed id."""
        if not is_session_id(session_id):
            return None
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            session = self._load(session_id)
            if session is not None:
                with self._lock:
                    session = self._sessions.setdefault(session_id, session)
        return session

    def profiles(self) -> list["ProviderProfile | None"]:
        """The profiles this daemon's sessions hold: their plugin generations must stay loaded."""
        with self._lock:
            return [s.profile for s in self._sessions.values()]

    def update_target(self, session: Session, provider: str, model: str, profile: "ProviderProfile | None") -> None:
        """Switch a session's provider/model (a later chat asked for another)."""
        session.provider, session.model, session.profile = provider, model, profile
        self._append(session, self._meta(session))

    def choose_model(self, session: Session, provider: str, model: str, profile: "ProviderProfile | None",
                     min_coding_score: Any) -> HermesError | None:
        """The model chosen for this conversation (hermes/selectModel with its sessionId), saved in its meta record."""
        session.provider, session.model, session.profile, session.model_chosen = provider, model, profile, True
        session.settings.min_coding_score = min_coding_score
        return self._append(session, self._meta(session))

    def add_messages(self, session: Session, *messages: dict[str, Any]) -> HermesError | None:
        """Add messages (a turn, or a turn's reply); the error says they could not be saved
        (they are kept in memory and retried)."""
        return self._append(session, *self._added(session, messages))

    @staticmethod
    def _added(session: Session, messages: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
        session.messages.extend(messages)
        session.updated_at = time.time()
        return [{"type": "message", **m} for m in messages]

    def begin_turn(self, session: Session, user: dict[str, Any]) -> HermesError | None:
        """Write ahead a turn's user message, marked ``replyPending``: until the reply's message is
        written, the turn reads back as interrupted. A reply read back so is written first."""
        sealed: list[dict[str, Any]] = []
        if session.unsealed is not None:
            sealed, session.unsealed = [{"type": "message", **session.unsealed}], None
        [record] = self._added(session, (user,))
        # Fast (time to the first token): a killed daemon's bytes are in the page cache already, and the
        # turn's next append (a second later, or its end) fsyncs them.
        return self._append(session, *sealed, {**record, REPLY_PENDING: True}, fast=True)

    def add_partial(self, session: Session, text: str) -> HermesError | None:
        """Write ahead more of the reply being streamed (the previous release skips these records).

        A failure keeps nothing in memory for it: the reply's text is the
        engine's until the turn ends, and the final message holds all of it.
        """
        return self._append(session, {"type": "partial", "text": text}, keep=False)

    def replace_with_summary(self, session: Session, summary: str, kept: int, usage: dict[str, Any] | None = None,
                             provider: str = "", model: str = "") -> None:
        """Older turns become ``summary``; the ``kept`` most recent messages stay. ``usage``: what making
        the summary used and cost (on ``provider``/``model``), counted in the session's totals."""
        session.summary = summary
        session.messages = session.messages[-kept:] if kept else []
        session.updated_at = time.time()
        extra = {"usage": usage, "provider": provider, "model": model} if usage is not None else {}
        self._append(session, {"type": "summary", "text": summary, "kept": kept, **extra})

    def totals(self, session_id: str) -> UsageTotals | None:
        """The session's usage totals, from the index (summaries and replies already summarised away included)."""
        return _totals(self.index.session_totals(session_id))

    def totals_written(self, session: Session) -> UsageTotals | None:
        """:meth:`totals` as the index held them after this process's last write to ``session`` (no second
        look at the index: the turn that just ended wrote them)."""
        return _totals(session.sums) if session.sums is not None else self.totals(session.id)

    def discard(self, session_id: str) -> None:
        """Forget a conversation: its file and its history row (a one-shot chat that never reached a model)."""
        if not is_session_id(session_id):
            return
        with self._lock:
            self._sessions.pop(session_id, None)
        with contextlib.suppress(FileNotFoundError):
            self._path(session_id).unlink()
        self.index.refresh(session_id)  # the file is gone: so is its row

    def page(self, *, limit: int, cursor: str | None = None, query: str | None = None) -> ListSessionsResult:
        """One page of ``hermes/listSessions``, newest first, from the index (no transcript is read)."""
        rows, next_cursor = self.index.page(limit=limit, cursor=cursor, query=query)
        return ListSessionsResult(sessions=[index_row(r) for r in rows if is_session_id(r["id"])],
                                  next_cursor=next_cursor or None)

    def list(self) -> list[SessionSummary]:
        """Every saved session's row, newest first (the CLI's listing)."""
        rows: list[SessionSummary] = []
        cursor = None
        while True:
            page = self.page(limit=500, cursor=cursor)
            rows += page.sessions
            cursor = page.next_cursor
            if not cursor:
                return rows

    # -- one writer per session -------------------------------------------

    def claim(self, session: Session) -> None:
        """Take the session for one chat: lock its file against other hermesd processes, and catch up
        with what another process wrote since we read it. :class:`SessionBusy` when one chats in it now.

        The file stays open until :meth:`release`, and the chat's appends go through it.
        """
        try:
            import fcntl
        except ImportError:  # Windows (untested): one writer per process only
            return
        path, appends = self._path(session.id), True
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return  # never saved (the disk refused its meta): no other process can know of it
        except OSError:  # a read-only file or disk: flock needs no write access, and each append says why it failed
            try:
                fd, appends = os.open(path, os.O_RDONLY), False
            except OSError:
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise SessionBusy(
                f"session {session.id} is busy in another hermesd process (a chat is running there); "
                "wait for it to end, or start a new session"
            ) from None
        session.lock_fd, session.lock_appends = fd, appends
        try:
            size = os.fstat(fd).st_size
        except OSError:
            return
        if size != session.file_size and not session.unsaved:  # None: unknown, read it again
            self._reload(session)

    def release(self, session: Session) -> None:
        """The chat ended: let other processes chat in the session.

        Taken under the session's write lock: a reply still being recorded (its chat cancelled while it
        was) writes through this file, and it is closed after that write, never under it.
        """
        with session.write_lock:
            fd, session.lock_fd, session.lock_appends = session.lock_fd, None, False
        if fd is not None:
            os.close(fd)

    def is_busy_elsewhere(self, session_id: str) -> bool:
        """Whether some process holds the session's lock (its open turn is streaming, not interrupted)."""
        try:
            import fcntl
        except ImportError:  # Windows (untested): no lock to ask
            return False
        try:
            fd = os.open(self._path(session_id), os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def _reload(self, session: Session) -> None:
        """``session`` brought up to date with its file, in place (others hold the object)."""
        fresh = self._load(session.id, claimed=session.lock_fd is not None)
        if fresh is None:
            return
        log.info("session %s changed on disk (another hermesd wrote to it): reloaded", session.id)
        for name in ("provider", "model", "model_chosen", "settings", "system", "parent_id", "messages", "summary", "updated_at",
                     "file_size", "torn_end", "unsealed"):
            setattr(session, name, getattr(fresh, name))

    # -- unsaved turns -------------------------------------------------------

    def unsaved_sessions(self) -> list[Session]:
        """Sessions holding records a failed write left in memory."""
        with self._lock:
            return [s for s in self._sessions.values() if s.unsaved]

    def retry_unsaved(self) -> int:
        """Try again to write every held record; how many sessions still hold some (each logged)."""
        left = 0
        for session in self.unsaved_sessions():
            if session.lock_fd is not None:
                continue  # its chat is running: its next write carries them
            count = len(session.unsaved)
            error = self._append(session)
            if error is None:
                log.warning("session %s: %d record(s) held after a failed write are now saved", session.id, count)
            else:
                left += 1
                log.warning("session %s: %d record(s) still unsaved: %s", session.id, count, error.message)
        return left

    def write_recovery(self) -> Path | None:
        """On a forced exit: every held record into a recovery file the next start replays; its path, or None."""
        held = [(s.id, r) for s in self.unsaved_sessions() for r in s.unsaved]
        if not held:
            return None
        data = "".join(json.dumps({"session": sid, "record": r}, ensure_ascii=False) + "\n" for sid, r in held).encode()
        for directory in recovery_dirs(self.root):
            path = directory / f"recovery-{os.getpid()}-{time.time_ns()}.jsonl"
            try:
                ensure_private_dir(directory)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                try:
                    _write_all(fd, data)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                log.warning("recovery file %s not written: %s", path, exc)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            log.warning("%d unsaved record(s) of %d session(s) written to %s; the next start replays them",
                        len(held), len({sid for sid, _ in held}), path)
            return path
        log.error("%d unsaved record(s) LOST: no recovery file could be written (%s)", len(held),
                  ", ".join(str(d) for d in recovery_dirs(self.root)))
        return None

    def replay_recovery(self) -> int:
        """At start: append what recovery files hold to their sessions (in order); how many records went in."""
        replayed = 0
        for directory in recovery_dirs(self.root):
            for path in sorted(directory.glob(RECOVERY_GLOB)) if directory.is_dir() else ():
                replayed += self._replay(path)
        return replayed

    def _replay(self, path: Path) -> int:
        """One recovery file into its sessions; what cannot be written yet stays in it for the next start."""
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            return 0  # another daemon replayed it first
        try:
            try:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except ImportError:  # Windows (untested): two daemons starting at once could both replay it
                pass
            except OSError:
                return 0  # another daemon is replaying it now
            if os.fstat(fd).st_nlink == 0:
                return 0  # replayed and removed while we waited
            with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
            by_session: dict[str, list[dict[str, Any]]] = {}
            for line in lines:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    entry = json.loads(line)
                    if is_session_id(entry["session"]) and isinstance(entry["record"], dict):
                        by_session.setdefault(entry["session"], []).append(entry["record"])
            replayed, left = 0, []
            for session_id, records in by_session.items():
                session = self.get(session_id)
                if session is None:
                    log.warning("recovery file %s: session %s no longer exists; its %d record(s) are dropped",
                                path, session_id, len(records))
                    continue
                session.unsaved = records + session.unsaved  # as they were held, "at" and all
                if self._append(session) is not None:
                    left += [{"session": session_id, "record": r} for r in session.unsaved]
                    session.unsaved = []
                    continue
                self._reload(session)
                replayed += len(records)
            if left:
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                _write_all(fd, "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in left).encode())
                os.fsync(fd)
                log.warning("recovery file %s: %d record(s) still cannot be written; kept for the next start",
                            path, len(left))
            else:
                path.unlink(missing_ok=True)
            log.warning("replayed %d record(s) from %s", replayed, path)
            return replayed
        finally:
            os.close(fd)

    # -- disk ---------------------------------------------------------------

    def _meta(self, session: Session) -> dict[str, Any]:
        return {
            "type": "meta",
            "id": session.id,
            "provider": session.provider,
            "model": session.model,
            "system": session.system,
            "parent_id": session.parent_id,
            "settings": session.settings.to_dict(),
            "created_at": session.created_at,
            **({"model_chosen": True} if session.model_chosen else {}),
        }

    def _path(self, session_id: str) -> Path:
        return self.root / f"{session_id}.jsonl"

    def _append(self, session: Session, *records: dict[str, Any], create: bool = False,
                keep: bool = True, fast: bool = False) -> HermesError | None:
        """Write ``records`` (after any left unsaved) whole, or not at all: None, or why not.

        What fails is held in memory for the next write, unless not ``keep``
        (a partial reply: the final message carries its text anyway).
        ``fast``: no fsync and no index update now (the bytes written survive
        the process; the file's next append fsyncs them, and the next listing
        sees the file's new size). While a chat holds the session
        (:meth:`claim`), the appends go through the file its lock holds open.
        """
        with session.write_lock:  # a write-ahead flush and the turn's end may come from two threads
            session.sums = None  # until the index has read this write
            now = time.time()
            fresh = [{**r, "at": now} for r in records]
            pending = session.unsaved + fresh
            if not pending:
                return None
            data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pending).encode("utf-8")
            dir_before = self.index.dir_mtime() if create else None
            held = pending if keep else session.unsaved
            fd = session.lock_fd if session.lock_appends else None
            if fd is None:
                path = self._path(session.id)
                try:
                    try:
                        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                    except FileNotFoundError:  # the first session, or the directory removed since: made private
                        ensure_private_dir(path.parent)
                        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                except OSError as exc:
                    session.unsaved = held
                    return storage_error(exc, "the conversation")
            size = None
            try:
                size = os.fstat(fd).st_size
                # A crash tore the last line: start ours on a fresh one. Only a size this process did not
                # leave (or a file read torn) can end mid-line: our appends are whole lines.
                if size and (size != session.file_size or session.torn_end) and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                _write_all(fd, data)
                if not fast:
                    os.fsync(fd)
                end = os.lseek(fd, 0, os.SEEK_CUR)  # appended: our bytes end here, wherever others wrote
            except OSError as exc:  # ENOSPC, EDQUOT, EIO: cut off whatever part of it landed
                if size is not None:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                session.unsaved = held
                return storage_error(exc, "the conversation")
            finally:
                if fd != session.lock_fd:
                    os.close(fd)
            # Another size than ours before the write: someone else wrote too; the next claim reloads.
            session.file_size = size + len(data) if create or size == session.file_size else None
            session.unsaved, session.torn_end = [], False
            fed = _followed(session.unindexed, end - len(data), data)
            index_now = not fast and any(r.get("type") != "partial" for r in pending)  # it counts messages, not partials
            session.unindexed = None if index_now else fed
        if index_now:
            session.sums = self.index.refresh(session.id, dir_before=dir_before, fed=fed)
        return None

    def _load(self, session_id: str, *, claimed: bool = False) -> Session | None:
        """The session in its file; ``claimed``: this process holds its lock (an open turn is then interrupted)."""
        try:
            raw = self._path(session_id).read_bytes()
        except OSError:
            return None
        session = parse_records(session_id, raw.decode("utf-8", errors="replace").splitlines())
        if session is None:
            return None
        session.file_size, session.torn_end = len(raw), bool(raw) and not raw.endswith(b"\n")
        if session.unsealed is not None and not claimed and self.is_busy_elsewhere(session_id):
            # Not interrupted: another hermesd is streaming this reply now. Shown when it ends.
            session.messages.pop()
            session.unsealed = None
            session.file_size = None  # the next claim reads it again
        return session


def parse_records(session_id: str, lines: list[str]) -> Session | None:
    """A session from its file's lines (pure): meta, messages, summaries; a reply left open reads as interrupted."""
    session: Session | None = None
    open_turn = False  # a user message written ahead (``replyPending``) whose reply has not ended
    partial: list[str] = []

    def close_open_turn() -> None:
        nonlocal open_turn
        if session is not None and open_turn:
            session.unsealed = interrupted_reply(session.model, "".join(partial))
            session.messages.append(session.unsealed)
        open_turn = False
        partial.clear()

    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line torn by a crash mid-write
        if not isinstance(record, dict):
            continue  # a torn line that happens to parse (``12``, ``"te``): not a record
        kind = record.pop("type", None)
        at = record.pop("at", None)
        if kind == "meta":
            messages = session.messages if session else []
            summary = session.summary if session else ""
            session = Session(
                id=record.get("id", session_id),
                provider=record.get("provider", ""),
                model=record.get("model", ""),
                settings=Settings.from_dict(record.get("settings") or {}),
                system=record.get("system") or "",
                parent_id=record.get("parent_id"),
                messages=messages,
                summary=summary,
                model_chosen=record.get("model_chosen") is True,
                created_at=record.get("created_at") or at or time.time(),
            )
        elif session is not None and kind == "message":
            pending = record.pop(REPLY_PENDING, False) is True
            if record.get("role") == "user":
                close_open_turn()  # its reply never came: interrupted, before this next turn
            partial.clear()
            open_turn, session.unsealed = pending, None
            session.messages.append(record)
        elif session is not None and kind == "partial" and open_turn:
            text = record.get("text")
            if isinstance(text, str):
                partial.append(text)
        elif session is not None and kind == "summary":
            session.summary = record.get("text", "")
            kept = int(record.get("kept") or 0)
            session.messages = session.messages[-kept:] if kept else []
        if session is not None and isinstance(at, (int, float)):
            session.updated_at = at
    close_open_turn()
    return session


def recovery_dirs(root: Path) -> list[Path]:
    """Where recovery files go, in order: beside the sessions directory, else the cache directory."""
    from hermesd.paths import cache_dir

    return [root.parent / "recovery", cache_dir() / "recovery"]


def _totals(sums: list[float] | None) -> UsageTotals | None:
    from hermesd.engine.usage import totals

    return totals(sums) if sums and sums[0] else None


@functools.lru_cache(maxsize=16)
def _sessions_in(data: Path) -> Path:
    return data / "sessions"  # a few times a chat: made once per data directory, as paths.config_path is


def _followed(before: tuple[int, bytes] | None, offset: int, data: bytes) -> tuple[int, bytes]:
    """The bytes not yet indexed, ``data`` (at ``offset``) added: one run when they follow the last, else ``data``'s own."""
    if before is not None and before[0] + len(before[1]) == offset:
        return before[0], before[1] + data
    return offset, data


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte; a short write is continued, and a disk that stays full raises ENOSPC."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]
