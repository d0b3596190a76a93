"""Conversations, kept in memory and appended to disk as turns complete.

Each session is one JSON-lines file (mode 0600) in the data directory: a
``meta`` record, then ``message`` and ``summary`` records. Appends are
fsynced, so a crash or kill loses at most the turn in flight; a torn last
line from a crash mid-write is skipped on load. An append that fails (disk
full, a short write) is cut back off the file, so no torn record is left,
and its records wait in memory to go out, in order, with the next append.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hermesd.engine.errors import HermesError, storage_error
from hermesd.paths import data_dir, ensure_private_dir
from hermesd.protocol import GetSessionResult, ListSessionsResult, ParamsError, SessionMessage, SessionSummary, parse
from hermesd.engine.session_index import SessionIndex, derive_title

if TYPE_CHECKING:
    from providers.base import ProviderProfile

SESSION_ID_PREFIX = "s-"
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
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    # The profile this session started with; a plugin reload does not change it.
    profile: "ProviderProfile | None" = field(default=None, repr=False)
    # Records a failed append could not write; they go first in the next one.
    unsaved: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def title(self) -> str:
        """The first user message, shortened; ``(empty)`` before there is one."""
        first = next((m.get("content") for m in self.messages if m.get("role") == "user"), "")
        return derive_title(first) or "(empty)"

    def summary_row(self) -> SessionSummary:
        """This session as a ``hermes/listSessions`` row (the index's rows have the same shape)."""
        return _row(self.id, self.title, self.provider, self.model, self.updated_at, len(self.messages), self.parent_id)

    def to_protocol(self) -> GetSessionResult:
        """hermes/getSession's result for this session."""
        return GetSessionResult(
            session_id=self.id,
            provider=self.provider,
            model=self.model,
            messages=[_message(m) for m in self.messages],
            system=self.system or None,
            parent_session_id=self.parent_id or None,
            summary=self.summary or None,
        )


def _message(saved: dict[str, Any]) -> SessionMessage:
    """A message as the session file keeps it, as hermes/getSession sends it.

    The file's message keys are the protocol's wire names (``stopReason``,
    ``answeredBy``), but the file is not the protocol: what it holds that
    the types do not fit (a file edited by hand) leaves just role and text.
    """
    try:
        return parse(SessionMessage, saved)
    except ParamsError:
        content = saved.get("content")
        return SessionMessage(role=str(saved.get("role") or ""), content=content if isinstance(content, str) else "")


def index_row(row: dict[str, Any]) -> SessionSummary:
    """An index row as ``hermes/listSessions`` shows it (the same shape as ``Session.summary_row``)."""
    return _row(row["id"], row["title"] or "(empty)", row["provider"], row["model"], row["updated_at"],
                row["message_count"], row.get("parent_id"))


def _row(session_id: str, title: str, provider: str, model: str, updated_at: float, count: int,
         parent_id: str | None) -> SessionSummary:
    """A listSessions row: the facts, and the two lines an editor shows as they are."""
    return SessionSummary(
        session_id=session_id,
        title=title,
        provider=provider,
        model=model,
        updated_at=_iso(updated_at),
        message_count=count,
        description=" · ".join(part for part in (provider, model) if part),
        detail=f"{age_label(updated_at)} · {count} message{'' if count == 1 else 's'}",
        parent_session_id=parent_id or None,
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
        return self._root or data_dir() / "sessions"

    @property
    def index(self) -> SessionIndex:
        """The listing index of :attr:`root`, opened again when the root changed (tests move it)."""
        if self._index is None or self._index.root != self.root:
            self._index = SessionIndex(self.root)
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

    def add_messages(self, session: Session, *messages: dict[str, Any]) -> HermesError | None:
        """Add a turn; the error says it could not be saved (it is kept in memory and retried)."""
        session.messages.extend(messages)
        session.updated_at = time.time()
        return self._append(session, *({"type": "message", **m} for m in messages))

    def replace_with_summary(self, session: Session, summary: str, kept: int) -> None:
        """Older turns become ``summary``; the ``kept`` most recent messages stay."""
        session.summary = summary
        session.messages = session.messages[-kept:] if kept else []
        session.updated_at = time.time()
        self._append(session, {"type": "summary", "text": summary, "kept": kept})

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
        }

    def _path(self, session_id: str) -> Path:
        return self.root / f"{session_id}.jsonl"

    def _append(self, session: Session, *records: dict[str, Any], create: bool = False) -> HermesError | None:
        """Write ``records`` (after any left unsaved) whole, or not at all: None, or why not."""
        now = time.time()
        pending = session.unsaved + [{**r, "at": now} for r in records]
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in pending).encode("utf-8")
        dir_before = self.index.dir_mtime() if create else None
        try:
            ensure_private_dir(self.root)
            fd = os.open(self._path(session.id), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            session.unsaved = pending
            return storage_error(exc, "the conversation")
        size = None
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a crash tore the last line: start ours on a fresh one
            _write_all(fd, data)
            os.fsync(fd)
        except OSError as exc:  # ENOSPC, EDQUOT, EIO: cut off whatever part of it landed
            if size is not None:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
            session.unsaved = pending
            return storage_error(exc, "the conversation")
        finally:
            os.close(fd)
        session.unsaved = []
        self.index.refresh(session.id, dir_before=dir_before)
        return None

    def _load(self, session_id: str) -> Session | None:
        try:
            text = self._path(session_id).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
        session: Session | None = None
        for line in text.splitlines():
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
                    created_at=record.get("created_at") or at or time.time(),
                )
            elif session is not None and kind == "message":
                session.messages.append(record)
            elif session is not None and kind == "summary":
                session.summary = record.get("text", "")
                kept = int(record.get("kept") or 0)
                session.messages = session.messages[-kept:] if kept else []
            if session is not None and isinstance(at, (int, float)):
                session.updated_at = at
        return session


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte; a short write is continued, and a disk that stays full raises ENOSPC."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]
