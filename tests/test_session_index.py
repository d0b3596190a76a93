"""The session index: paging, filtering, and staying right when others write sessions."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hermesd.engine import session_index, sessions
from hermesd.protocol import ListSessionsParams, parse, to_wire
from hermesd.engine.sessions import SessionStore, Settings
from tests._unit_helpers import unit_env  # noqa: F401  (autouse fixture)


def _make(store: SessionStore, text: str, provider: str = "deepseek", at: float | None = None) -> str:
    session = store.create(provider=provider, model="m", settings=Settings())
    store.add_messages(session, {"role": "user", "content": text}, {"role": "assistant", "content": "ok"})
    if at is not None:  # a stable order without sleeping: rewrite the times the index reads
        path = store.root / f"{session.id}.jsonl"
        records = [json.loads(line) for line in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**r, "at": at}) + "\n" for r in records))
    return session.id


def test_pages_newest_first_with_a_cursor_and_a_filter(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    ids = [_make(store, f"question {i}" + (" about rust" if i % 3 == 0 else ""), at=1000.0 + i) for i in range(7)]
    first = store.page(limit=3)
    assert [r.session_id for r in first.sessions] == ids[::-1][:3]
    assert to_wire(first.sessions[0]) == {
        "sessionId": ids[6], "title": "question 6 about rust", "provider": "deepseek", "model": "m",
        "updatedAt": "1970-01-01T00:16:46Z", "messageCount": 2,
        "description": "deepseek · m", "detail": "1970-01-01 · 2 messages",
        # Its reply was saved without usage (as before hermesd counted it): counted, its cost unknown.
        "usage": {"replies": 1, "inputTokens": 0, "outputTokens": 0, "costUsd": 0.0, "estimatedReplies": 0,
                  "unknownReplies": 1, "label": "1 reply · 0 in / 0 out · cost unknown", "costText": "cost unknown"},
    }
    second = store.page(limit=3, cursor=first.next_cursor)
    third = store.page(limit=3, cursor=second.next_cursor)
    assert [r.session_id for r in second.sessions + third.sessions] == ids[::-1][3:]
    assert "nextCursor" not in to_wire(third)
    rust = store.page(limit=50, query="RUST")
    assert [r.session_id for r in rust.sessions] == [ids[6], ids[3], ids[0]]
    assert store.page(limit=50, query="100%").sessions == []  # % is a character, not a wildcard


def test_another_writer_is_seen_without_rescanning(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    mine, theirs = SessionStore(root), SessionStore(root)  # this daemon, and the CLI or another daemon
    a = _make(mine, "mine")
    assert [r.session_id for r in mine.page(limit=10).sessions] == [a]
    b = _make(theirs, "theirs")
    rows = mine.page(limit=10).sessions
    assert [r.session_id for r in rows] == [b, a]
    # They continue an old conversation: it moves up, with its new count.
    session = theirs.get(a)
    theirs.add_messages(session, {"role": "user", "content": "more"})
    rows = mine.page(limit=10).sessions
    assert [(r.session_id, r.message_count) for r in rows] == [(a, 3), (b, 2)]


def test_files_written_without_the_index_and_deleted_by_hand(tmp_path: Path) -> None:
    elsewhere = SessionStore(tmp_path / "elsewhere")
    copied = _make(elsewhere, "copied in", at=5000.0)
    store = SessionStore(tmp_path / "sessions")
    kept = _make(store, "kept", at=4000.0)
    gone = _make(store, "gone", at=3000.0)
    assert len(store.page(limit=10).sessions) == 2
    shutil.copy(elsewhere.root / f"{copied}.jsonl", store.root)
    (store.root / f"{gone}.jsonl").unlink()
    assert [r.session_id for r in store.page(limit=10).sessions] == [copied, kept]
    # The index is a cache: deleted, it is rebuilt; broken, it is replaced.
    store.index.close()
    shutil.rmtree(store.root / ".index")
    assert [r.title for r in SessionStore(store.root).page(limit=10).sessions] == ["copied in", "kept"]
    fresh = SessionStore(store.root)
    fresh.index.close()
    store.root.joinpath(*session_index.INDEX_PATH).write_bytes(b"not a database")
    assert [r.title for r in fresh.page(limit=10).sessions] == ["copied in", "kept"]


def test_a_line_being_written_is_read_once_complete(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    sid = _make(store, "start")
    path = store.root / f"{sid}.jsonl"
    line = json.dumps({"type": "message", "role": "user", "content": "late", "at": 9e9}) + "\n"
    with open(path, "a") as handle:  # another process is half-way through its write
        handle.write(line[:20])
    assert store.page(limit=5).sessions[0].message_count == 2
    with open(path, "a") as handle:
        handle.write(line[20:])
    row = store.page(limit=5).sessions[0]
    assert row.message_count == 3 and row.updated_at.startswith("2255")


def test_summaries_and_titles(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.create(provider="p", model="m", settings=Settings())
    assert store.page(limit=5).sessions[0].title == "(empty)"
    store.add_messages(session, *({"role": r, "content": "  a   question\nwith  spaces  " if r == "user" else "x"}
                                  for r in ("user", "assistant", "user", "assistant")))
    store.replace_with_summary(session, "short", 2)
    row = SessionStore(store.root).page(limit=5).sessions[0]
    assert row.title == "a question with spaces" and row.message_count == 2


def test_the_index_file_is_private(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    _make(store, "x")
    assert os.stat(store.root.joinpath(*session_index.INDEX_PATH)).st_mode & 0o077 == 0


@pytest.mark.parametrize("params, message", [
    ({"limit": 0}, "`limit` must be an integer from 1 to 500"),
    ({"limit": True}, "`limit` must be an integer"),
    ({"cursor": "nonsense"}, "`cursor` must be the `nextCursor`"),
    ({"cursor": 3}, "`cursor` must be a string"),
    ({"query": ["a"]}, "`query` must be a string"),
    ({"query": "\ud800"}, "`query` must be a string of valid Unicode"),
])
def test_bad_paging_params_are_named(params: dict, message: str) -> None:
    """As the handler checks them: the protocol's types first, then the paging rules."""
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        typed = parse(ListSessionsParams, params)
        session_index.page_params(limit=typed.limit, cursor=typed.cursor, query=typed.query)


def test_rows_say_how_old_a_conversation_is_in_the_words_editors_show() -> None:
    """The daemon words the age once; both pickers show its ``detail`` as it is."""
    now = 1_796_040_000.0  # 2026-11-30T12:00:00Z
    cases = [(30, "just now"), (300, "5 min ago"), (3 * 3600, "3 h ago"), (26 * 3600, "yesterday"),
             (10 * 86400, "10 days ago"), (700 * 86400, "2024-12-30"), (-60, "just now")]
    assert [sessions.age_label(now - ago, now) for ago, _ in cases] == [words for _, words in cases]


def test_a_row_carries_its_display_lines(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "sessions")
    session_id = _make(store, "fast fib")
    row = store.page(limit=5).sessions[0]
    assert row.session_id == session_id
    assert row.description == "deepseek · m"
    assert row.detail == "just now · 2 messages"
    bare = sessions.index_row({"id": "s-x", "title": "", "provider": "", "model": "", "updated_at": 0.0, "message_count": 1})
    assert bare.title == "(empty)" and bare.description == "" and bare.detail.endswith(" · 1 message")


def test_usage_totals_follow_every_writer_and_survive_a_rebuild(tmp_path: Path) -> None:
    """Per-session totals and per-day rows come from the transcripts: another writer's replies, a summary's
    cost, a deleted file and a rebuilt index all give the same sums."""
    from hermesd.engine.session_index import day_of

    root = tmp_path / "sessions"
    mine, theirs = SessionStore(root), SessionStore(root)
    session = mine.create(provider="openrouter", model="openrouter/pareto-code", settings=Settings())
    reply = {"role": "assistant", "content": "a", "model": "openrouter/pareto-code", "routedModel": "x/y",
             "usage": {"inputTokens": 10, "outputTokens": 5, "costUsd": 0.25, "costSource": "reported"}}
    mine.add_messages(session, {"role": "user", "content": "q"}, reply)
    other = theirs.get(session.id)
    theirs.add_messages(other, {"role": "user", "content": "q2"},
                        {**reply, "usage": {"inputTokens": 1, "outputTokens": 1, "costUsd": 0.5, "costSource": "estimated"}})
    theirs.replace_with_summary(other, "sum", 2, usage={"inputTokens": 7, "outputTokens": 2, "costSource": "unknown"},
                                provider="openrouter", model="cheap/aux")
    expected = [3, 18, 8, 0.75, 1, 1]
    assert mine.index.session_totals(session.id) == expected
    today = day_of(__import__("time").time())
    by_model = dict(mine.index.usage(since_day=today, by="model"))
    assert by_model == {"x/y": [2, 11, 6, 0.75, 1, 0], "cheap/aux": [1, 7, 2, 0.0, 0, 1]}
    mine.index.close()
    shutil.rmtree(root / ".index")
    rebuilt = SessionStore(root)
    assert rebuilt.index.usage(since_day=today, by="provider") == [("openrouter", expected)]
    (root / f"{session.id}.jsonl").unlink()
    assert rebuilt.index.usage(since_day=today, by="day") == []


def test_two_writers_refreshing_the_same_bytes_count_them_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each index adds what the new bytes of a transcript say. Two processes catching up at once (two connections
    here, in threads) both read the row before either writes it, when they can: the second must then see the
    first's row, not add the same reply again."""
    import threading

    root = tmp_path / "sessions"
    writer = SessionStore(root)
    session = writer.create(provider="p", model="m", settings=Settings())
    indexes = [SessionStore(root).index for _ in range(2)]
    for index in indexes:
        index.session_totals(session.id)  # each has seen the file as it is now
    reply = {"role": "assistant", "content": "a", "usage": {"inputTokens": 1, "outputTokens": 1, "costUsd": 0.5,
                                                             "costSource": "reported"}}
    monkeypatch.setattr(writer.index, "refresh", lambda *a, **k: None)  # only the two racing indexes read the bytes
    writer.add_messages(session, {"role": "user", "content": "q"}, reply)
    both_read = threading.Barrier(2)
    real_fold = session_index.fold

    def fold(row, lines):  # both reach here with the row as it was, unless one waits for the other's write
        try:
            both_read.wait(timeout=0.5)
        except threading.BrokenBarrierError:
            pass
        return real_fold(row, lines)

    monkeypatch.setattr(session_index, "fold", fold)
    threads = [threading.Thread(target=index.session_totals, args=(session.id,)) for index in indexes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert indexes[0].session_totals(session.id)[:4] == [1, 1, 1, 0.5]
    assert dict(indexes[1].usage(since_day="1970-01-01", by="model")) == {"m": [1, 1, 1, 0.5, 0, 0]}


def test_a_turns_own_bytes_are_folded_unread_and_another_writers_in_between_are_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A chat hands the index the bytes it appended (its turn written ahead, then the reply), so the index
    does not read the file back. Bytes someone else appended in between, unseen by this index, are read from
    the file: the row counts them too, and ends where the file ends."""
    store = SessionStore(tmp_path / "sessions")
    session = store.create(provider="deepseek", model="m", settings=Settings())
    path = store.root / f"{session.id}.jsonl"
    reply = {"role": "assistant", "content": "a1", "usage": {"inputTokens": 3, "outputTokens": 2, "costUsd": 0.5,
                                                              "costSource": "reported"}}
    store.claim(session)
    try:
        store.begin_turn(session, {"role": "user", "content": "q1"})  # written ahead: no index update yet
        with monkeypatch.context() as forbid:
            forbid.setattr(session_index, "open", lambda *a, **k: pytest.fail("the index read the file back"),
                           raising=False)
            store.add_messages(session, reply)
        assert store.totals_written(session).cost_usd == 0.5
        with open(path, "a") as handle:  # an older hermesd, which takes no lock, adds a turn of its own
            handle.write(json.dumps({"type": "message", "role": "user", "content": "theirs", "at": 9e9}) + "\n")
        store.begin_turn(session, {"role": "user", "content": "q2"})
        store.add_messages(session, {**reply, "content": "a2"})
    finally:
        store.release(session)
    [row] = store.page(limit=5).sessions
    assert (row.message_count, row.usage.replies, row.usage.cost_usd) == (5, 2, 1.0)
    assert store.index.page(limit=1)[0][0]["size"] == path.stat().st_size
