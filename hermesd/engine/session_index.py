"""A small SQLite index of saved sessions, so listing never parses transcripts.

One row per session file: title, provider/model, message count, times,
what its replies used and cost, and how many bytes of the file the row
reflects; beside it, the same usage per session, day, provider and model
(``hermes/usageReport`` and the spending caps add those up). Every writer (the daemon, the
CLI, another daemon) brings a session's row up to date after appending to it
by reading only the bytes added since; rows are ordered by ``updated_at``
so the first page of ``hermes/listSessions`` costs the same with 100 or
10,000 sessions. Files the index has not seen (an older hermesd, a file
copied in or deleted by hand) are caught by the directory's mtime: when it
differs from the one recorded, the next listing stats every file and reads
what changed. The index is a cache: it can be deleted at any time, and a
broken one is rebuilt from the transcripts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger(__name__)

# In its own directory: SQLite's journal files come and go there, not beside the transcripts
# (whose directory mtime tells the index that a file appeared or went).
INDEX_PATH = (".index", "sessions.sqlite3")
TITLE_CHARS = 60
DEFAULT_PAGE = 50
MAX_PAGE = 500
# Characters in a listSessions query: a title is cut at 60, so more never matches; escaped, the LIKE pattern stays
# far under SQLite's 50,000-byte limit (SQLITE_MAX_LIKE_PATTERN_LENGTH) whatever the characters.
MAX_QUERY = 1000

# Bumped when a table changes: an older index is dropped and rebuilt from the transcripts (it is a cache).
SCHEMA_VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    updated_at REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL DEFAULT 0,
    title TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    parent_id TEXT,
    message_count INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    replies INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    estimated_replies INTEGER NOT NULL DEFAULT 0,
    unknown_replies INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sessions_by_time ON sessions (updated_at DESC, id DESC);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER);
CREATE TABLE IF NOT EXISTS usage (
    session_id TEXT NOT NULL,
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    replies INTEGER NOT NULL DEFAULT 0,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    estimated_replies INTEGER NOT NULL DEFAULT 0,
    unknown_replies INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, day, provider, model)
);
CREATE INDEX IF NOT EXISTS usage_by_day ON usage (day);
"""
_TOTALS = ("replies", "input_tokens", "output_tokens", "cost_usd", "estimated_replies", "unknown_replies")
_COLUMNS = ("id", "updated_at", "created_at", "title", "provider", "model", "parent_id", "message_count", "size",
            *_TOTALS)


def derive_title(content: Any) -> str:
    """The first user message, whitespace collapsed, cut at 60 characters."""
    text = " ".join(content.split()) if isinstance(content, str) else ""
    return text[:TITLE_CHARS] + ("…" if len(text) > TITLE_CHARS else "") if text else ""


def day_of(at: float) -> str:
    """The local calendar day of a timestamp (YYYY-MM-DD): the day a spending cap counts it in."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


def _add_usage(row: dict[str, Any], key: tuple[str, str, str], added: list[float]) -> None:
    """One reply's usage onto the session's totals and onto ``row["usage"]``, the buckets this fold added to."""
    for name, value in zip(_TOTALS, added):
        row[name] = (row.get(name) or 0) + value
    bucket = row.setdefault("usage", {}).setdefault(key, [0] * len(_TOTALS))
    for i, value in enumerate(added):
        bucket[i] += value


def fold(row: dict[str, Any], lines: Iterable[bytes]) -> dict[str, Any]:
    """``row`` advanced over transcript lines (pure: the same rules as loading a session, and
    :func:`hermesd.engine.usage.count_reply` for what a reply used)."""
    from hermesd.engine.usage import count_reply

    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # torn by a crash mid-write
        if not isinstance(record, dict):
            continue
        kind, at = record.get("type"), record.get("at")
        if kind == "meta":
            row.update(provider=record.get("provider") or "", model=record.get("model") or "",
                       parent_id=record.get("parent_id"))
            row["created_at"] = row.get("created_at") or record.get("created_at") or at or 0
        elif kind == "message":
            row["message_count"] = row.get("message_count", 0) + 1
            if not row.get("title") and record.get("role") == "user":
                row["title"] = derive_title(record.get("content"))
            if record.get("role") == "assistant" and (record.get("usage") or record.get("content")):
                answered = record.get("answeredBy") if isinstance(record.get("answeredBy"), dict) else {}
                key = (day_of(at if isinstance(at, (int, float)) else 0),
                       str(answered.get("provider") or row.get("provider") or ""),
                       str(record.get("routedModel") or answered.get("model") or record.get("model") or row.get("model") or ""))
                _add_usage(row, key, count_reply(record.get("usage")))
        elif kind == "summary":
            kept = int(record.get("kept") or 0)
            row["message_count"] = min(row.get("message_count", 0), kept) if kept else 0
            if isinstance(record.get("usage"), dict):  # what the summary itself cost
                key = (day_of(at if isinstance(at, (int, float)) else 0), str(record.get("provider") or row.get("provider") or ""),
                       str(record.get("model") or ""))
                _add_usage(row, key, count_reply(record["usage"]))
        else:
            continue
        if isinstance(at, (int, float)):
            row["updated_at"] = at
    return row


class SessionIndex:
    """The index of one sessions directory; every method is safe to call from any thread."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._db: Any = None

    # -- connection ------------------------------------------------------

    def _conn(self) -> Any:
        if self._db is None:
            import sqlite3

            path = self.root.joinpath(*INDEX_PATH)
            try:
                from hermesd.paths import ensure_private_dir

                ensure_private_dir(path.parent)
            except OSError:
                pass  # opening fails below, and the index lives in memory
            try:
                self._db = self._open(sqlite3, str(path))
            except sqlite3.DatabaseError as exc:  # not a database, or corrupt: it is only a cache
                log.warning("session index %s unusable (%s); rebuilding it", path, exc)
                with contextlib.suppress(OSError):
                    path.unlink()
                try:
                    self._db = self._open(sqlite3, str(path))
                except (sqlite3.Error, OSError):
                    self._db = self._open(sqlite3, ":memory:")
            except OSError:  # read-only or full disk: still list, from memory
                self._db = self._open(sqlite3, ":memory:")
        return self._db

    @staticmethod
    def _open(sqlite3: Any, where: str) -> Any:
        if where != ":memory:":
            fd = os.open(where, os.O_RDWR | os.O_CREAT, 0o600)  # private, like the transcripts
            os.close(fd)
        db = sqlite3.connect(where, timeout=5, check_same_thread=False, isolation_level=None)
        # Every finished turn updates a row. In the default rollback mode each such commit creates,
        # fsyncs and deletes a journal (~0.5 ms, mostly system time, per chat); a write-ahead log with
        # NORMAL sync appends instead and stays consistent across a crash (it may forget the last
        # rows, which the transcripts restore: the index is a cache). Where WAL is refused, the default.
        with contextlib.suppress(sqlite3.Error):
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            db.executescript("DROP TABLE IF EXISTS sessions; DROP TABLE IF EXISTS state; DROP TABLE IF EXISTS usage;")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.executescript(_SCHEMA)
        return db

    def close(self) -> None:
        """Close the database; the next use opens it again."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- writing ---------------------------------------------------------

    def refresh(self, session_id: str, *, dir_before: int | None = None,
                fed: tuple[int, bytes] | None = None) -> list[float] | None:
        """Bring one session's row up to date with its file (call after appending to it); its usage
        sums as :meth:`session_totals` gives them (None when the index cannot say), so the caller
        needs no second transaction for them.

        ``dir_before`` is the directory's mtime before this writer created the
        file: if the index had seen that state, it now records the new one, so
        creating a session does not force the next listing to rescan.
        ``fed``: the bytes this writer appended and where they start; when the
        row ends there, they are folded in without reading the file again.
        """
        import sqlite3

        try:
            with self._lock:
                db = self._conn()
                sums = self._refresh(db, session_id, fed)
                if dir_before is not None:
                    db.execute("UPDATE state SET value = ? WHERE key = 'dir_mtime' AND value = ?",
                               (_mtime(self.root), dir_before))
                return sums
        except (sqlite3.Error, OSError) as exc:
            log.warning("session index not updated for %s: %s (the next listing rescans)", session_id, exc)
            self._forget_dir_state()
            return None

    def dir_mtime(self) -> int | None:
        """The sessions directory's mtime (ns), or None; a writer takes it before creating a file (:meth:`refresh`)."""
        try:
            return _mtime(self.root)
        except OSError:
            return None

    def _forget_dir_state(self) -> None:
        with contextlib.suppress(Exception), self._lock:
            self._conn().execute("DELETE FROM state WHERE key = 'dir_mtime'")

    def _refresh(self, db: Any, session_id: str, fed: tuple[int, bytes] | None = None) -> list[float] | None:
        """One row brought up to date, in a write transaction: the usage rows add what the new bytes say, so two
        processes reading the same bytes at once must not both add them (the second sees the first's row).
        Returns the row's usage sums (None: the file is gone)."""
        if db.in_transaction:
            return self._refresh_now(db, session_id, fed)
        db.execute("BEGIN IMMEDIATE")
        try:
            sums = self._refresh_now(db, session_id, fed)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return sums

    def _refresh_now(self, db: Any, session_id: str, fed: tuple[int, bytes] | None = None) -> list[float] | None:
        found = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        row = dict(zip(_COLUMNS, found)) if found else {"id": session_id}
        if fed is not None and fed[0] == row.get("size", 0):
            start, data = fed  # the writer's own bytes, right after what the row has read: the file is not read
        else:
            try:
                with open(self.root / f"{session_id}.jsonl", "rb") as handle:
                    end = os.fstat(handle.fileno()).st_size
                    start = row.get("size", 0)
                    if start == end and found:
                        return [row[c] for c in _TOTALS]
                    if start > end:  # the file shrank (rewritten): read it again from the top
                        row, start = {"id": session_id}, 0
                        db.execute("DELETE FROM usage WHERE session_id = ?", (session_id,))
                    handle.seek(start)
                    data = handle.read(end - start)
            except FileNotFoundError:
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                db.execute("DELETE FROM usage WHERE session_id = ?", (session_id,))
                return None
        complete = data.rfind(b"\n") + 1  # a line still being written is read next time
        row = fold(row, data[:complete].splitlines())
        row["size"] = start + complete
        values = [row.get(c) for c in _COLUMNS]
        defaults = {"updated_at": 0, "created_at": 0, "title": "", "provider": "", "model": "", "message_count": 0,
                    **dict.fromkeys(_TOTALS, 0)}
        values = [defaults.get(c, v) if v is None else v for c, v in zip(_COLUMNS, values)]
        db.execute(f"INSERT OR REPLACE INTO sessions ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                   values)
        sums = ", ".join(f"{c} = {c} + excluded.{c}" for c in _TOTALS)
        for (day, provider, model), added in row.get("usage", {}).items():
            db.execute(f"INSERT INTO usage (session_id, day, provider, model, {', '.join(_TOTALS)}) "
                       f"VALUES (?, ?, ?, ?, {', '.join('?' * len(_TOTALS))}) "
                       f"ON CONFLICT (session_id, day, provider, model) DO UPDATE SET {sums}",
                       (session_id, day, provider, model, *added))
        return values[-len(_TOTALS):]

    def _reconcile(self, db: Any) -> None:
        """Catch up with files written without the index: stat every file, read what changed."""
        try:
            before = _mtime(self.root)
            entries = {e.name[: -len(".jsonl")]: e.stat().st_size for e in os.scandir(self.root)
                       if e.name.endswith(".jsonl") and e.name.startswith("s-")}
        except FileNotFoundError:
            db.execute("DELETE FROM sessions")
            return
        known = dict(db.execute("SELECT id, size FROM sessions").fetchall())
        db.execute("BEGIN IMMEDIATE")  # a writer's lock before any row is read again (see _refresh)
        try:
            for session_id in known.keys() - entries.keys():
                db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
                db.execute("DELETE FROM usage WHERE session_id = ?", (session_id,))
            for session_id, size in entries.items():
                if known.get(session_id) != size:
                    self._refresh(db, session_id)
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES ('dir_mtime', ?)", (before,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    # -- reading ---------------------------------------------------------

    def page(self, *, limit: int = DEFAULT_PAGE, cursor: str | None = None,
             query: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """Rows newest first, ``limit`` at a time, optionally filtered; and the next page's cursor."""
        with self._lock:
            db = self._caught_up()
            where, args = [], []  # type: list[str], list[Any]
            if query:
                pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                where.append("(title LIKE ? ESCAPE '\\' OR provider LIKE ? ESCAPE '\\' OR model LIKE ? ESCAPE '\\')")
                args += [pattern] * 3
            if cursor:
                at, _, after = cursor.partition(":")
                where.append("(updated_at < ? OR (updated_at = ? AND id < ?))")
                args += [float(at), float(at), after]
            sql = f"SELECT {', '.join(_COLUMNS)} FROM sessions"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
            found = [dict(zip(_COLUMNS, r)) for r in db.execute(sql, (*args, limit + 1)).fetchall()]
            # The rows shown are checked against their files (a cheap stat each).
            for i, row in enumerate(found[:limit]):
                try:
                    size = os.stat(self.root / f"{row['id']}.jsonl").st_size
                except OSError:
                    continue
                if size != row["size"]:
                    self._refresh(db, row["id"])
                    again = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sessions WHERE id = ?", (row["id"],)).fetchone()
                    if again:
                        found[i] = dict(zip(_COLUMNS, again))
        more = len(found) > limit
        rows = found[:limit]
        next_cursor = f"{rows[-1]['updated_at']!r}:{rows[-1]['id']}" if more and rows else None
        return rows, next_cursor

    def session_totals(self, session_id: str) -> list[float] | None:
        """One session's usage sums (``replies, input_tokens, output_tokens, cost_usd, estimated_replies,
        unknown_replies``), its row brought up to date first; None when the index cannot say."""
        import sqlite3

        try:
            with self._lock:
                return self._refresh(self._conn(), session_id)
        except (sqlite3.Error, OSError) as exc:
            log.warning("session index: no usage totals for %s: %s", session_id, exc)
            return None

    def usage(self, *, since_day: str, by: str) -> list[tuple[str, list[float]]]:
        """Usage sums per ``by`` (day, provider or model) over the days from ``since_day`` on, every file caught up."""
        column = {"day": "day", "provider": "provider", "model": "model"}[by]
        sums = ", ".join(f"SUM({c})" for c in _TOTALS)
        with self._lock:
            db = self._caught_up()
            found = db.execute(f"SELECT {column}, {sums} FROM usage WHERE day >= ? GROUP BY {column}",
                               (since_day,)).fetchall()
        return [(key, list(values)) for key, *values in found]

    def _caught_up(self) -> Any:
        """The database, caught up with files written without the index (a failure only logged: it is a cache).
        Call with the lock held."""
        import sqlite3

        db = self._conn()
        try:
            self._catch_up(db)
        except (sqlite3.Error, OSError) as exc:
            log.warning("session index could not catch up: %s", exc)
        return db

    def _catch_up(self, db: Any) -> None:
        seen = db.execute("SELECT value FROM state WHERE key = 'dir_mtime'").fetchone()
        try:
            now = _mtime(self.root)
        except FileNotFoundError:
            now = None
        if seen is None or seen[0] != now:
            self._reconcile(db)


def _mtime(path: Path) -> int:
    return os.stat(path).st_mtime_ns


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, sent as a JSON escape
        return False
    return True


def page_params(*, limit: int | None, cursor: str | None, query: str | None) -> dict[str, Any]:
    """``hermes/listSessions`` paging checked: ``limit`` (1-500, default 50), ``cursor``, ``query``."""
    limit = DEFAULT_PAGE if limit is None else limit
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"`limit` must be an integer from 1 to {MAX_PAGE}")
    if query is not None and not _is_text(query):
        raise ValueError("`query` must be a string of valid Unicode (matched against title, provider and model)")
    if query is not None and len(query) > MAX_QUERY:
        raise ValueError(f"`query` is {len(query)} characters; the limit is {MAX_QUERY} "
                         "(it is matched against titles, providers and models, which are shorter)")
    return {"limit": limit, "cursor": parse_cursor(cursor), "query": (query or "").strip() or None}


def parse_cursor(cursor: Any) -> str | None:
    """A cursor from ``nextCursor``, checked; ValueError names what is wrong."""
    if cursor is None:
        return None
    if isinstance(cursor, str):
        at, sep, after = cursor.partition(":")
        try:
            float(at)
        except ValueError:
            pass
        else:
            if sep and re.fullmatch(r"s-[A-Za-z0-9_-]{1,64}", after):
                return cursor
    raise ValueError("`cursor` must be the `nextCursor` string of the previous hermes/listSessions page")
