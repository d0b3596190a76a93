"""No lost turns (issue 28): write-ahead turns, a graceful stop, nothing unsaved dropped on exit,
one writer per session.

The daemon is the shared one, reached through real forwarders (two editors),
and the upstream is tests/upstream.py streaming slowly; sessions are read
back from disk, by this release and by the previous one's reader.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from hermesd.client import forwarder
from hermesd.engine.chat import WRITE_AHEAD_SECONDS
from hermesd.engine.sessions import INTERRUPTED_NOTICE, Session, SessionStore, Settings
from tests.conftest import CANARY_KEY, write_config
from tests.daemon import shared_daemon_pids, wait_shared_daemon_gone
from tests.test_hardening import needs_root
from tests.test_shared_daemon import run_dir, shared_env, wait_for_exit
from tests.upstream import Upstream

PREVIOUS_RELEASE = "c6d0bd9"  # its sessions.py is at hermesd/sessions.py (before the layer folders)
CHUNK_DELAY = 0.02  # the slow stream: 50 chunks a second
WORD = 6  # characters a chunk carries ("w123 ")


def _configure(home: Path, **daemon: Any) -> None:
    config: dict[str, Any] = {"model": {"provider": "deepseek", "default": "deepseek-chat"}}
    if daemon:
        config["daemon"] = daemon
    write_config(home, config)


def _env(up: Upstream, **extra: str) -> dict[str, str]:
    return shared_env(DEEPSEEK_API_KEY=CANARY_KEY, DEEPSEEK_BASE_URL=f"{up.url}/v1", **extra)


def _slow(up: Upstream, chunks: int) -> str:
    up.reply_text = "".join(f"w{i:03d} " for i in range(chunks))
    up.chunk_count, up.chunk_delay = chunks, CHUNK_DELAY
    return up.reply_text


def _seen(client: Any, session_id: str) -> str:
    """The reply text an editor has shown so far (its chatDelta notifications, in order)."""
    deltas = sorted(client.deltas(session_id), key=lambda d: d["seq"])
    return "".join(d.get("text") or "" for d in deltas)


async def _streaming(client: Any, session_id: str, chars: int = 1) -> None:
    """Until ``client`` has shown at least ``chars`` characters of this session's reply."""
    deadline = time.monotonic() + 20
    while len(_seen(client, session_id)) < chars:
        assert time.monotonic() < deadline, "the reply did not stream"
        await asyncio.sleep(0.02)


def _saved(session_id: str) -> Session:
    """The session as this release reads it from disk (a fresh store: nothing from memory)."""
    session = SessionStore().get(session_id)
    assert session is not None
    return session


def _the_daemon() -> tuple[Path, int]:
    [(lock, pid)] = shared_daemon_pids(run_dir()).items()
    return lock, pid


# -- (1) write-ahead: kill -9 mid-stream -------------------------------------------------------------

@pytest.mark.asyncio
async def test_kill_9_mid_stream_keeps_both_user_messages_and_all_but_the_last_second_of_each_reply(
        start_daemon: Any, upstream: Upstream, isolated_home: Path) -> None:
    _configure(isolated_home)
    env = _env(upstream)
    editors = [await start_daemon(env=env, shared=True) for _ in range(2)]
    lock, pid = _the_daemon()
    sessions = [(await e.request("hermes/newSession"))["sessionId"] for e in editors]
    _slow(upstream, 1000)  # 20 s: the kill comes long before the end
    pending = [e.send("hermes/chat", {"sessionId": sid, "message": f"question {n}"})
               for n, (e, sid) in enumerate(zip(editors, sessions))]
    for e, sid in zip(editors, sessions):
        await _streaming(e, sid, 2 * WORD * 50)  # two seconds of reply shown
    os.kill(pid, signal.SIGKILL)
    assert await asyncio.to_thread(wait_shared_daemon_gone, lock)
    shown = [_seen(e, sid) for e, sid in zip(editors, sessions)]
    for future in pending:
        with pytest.raises(Exception):
            await asyncio.wait_for(future, 10)

    # The bound: one write-ahead interval of text, doubled for a machine under load.
    bound = 2 * WRITE_AHEAD_SECONDS * WORD / CHUNK_DELAY
    for n, (sid, text) in enumerate(zip(sessions, shown)):
        session = _saved(sid)
        user, reply = session.messages
        assert user == {"role": "user", "content": f"question {n}"}
        assert reply["stopReason"] == "interrupted" and reply["role"] == "assistant"
        assert reply["content"] and text.startswith(reply["content"])
        assert len(text) - len(reply["content"]) <= bound, (len(text), len(reply["content"]))

    # A new daemon shows the turn as interrupted, and continuing sends it upstream.
    upstream.reply_text, upstream.chunk_count, upstream.chunk_delay = "continued", 2, 0.0
    again = await start_daemon(env=env, shared=True)
    reopened = await again.request("hermes/getSession", {"sessionId": sessions[0]})
    reply = reopened["messages"][1]
    assert (reply["stopReason"], reply["notice"], reply["retryable"]) == ("interrupted", INTERRUPTED_NOTICE, True)
    result = await again.request("hermes/chat", {"sessionId": sessions[0], "message": "go on"})
    assert result["stopReason"] == "end_turn"
    partial = _saved(sessions[0]).messages[1]["content"]
    assert upstream.requests[-1].json["messages"] == [
        {"role": "user", "content": "question 0"},
        {"role": "assistant", "content": partial},
        {"role": "user", "content": "go on"},
    ]
    # Once the conversation went on, the interrupted reply keeps its notice but is no longer offered for Retry.
    went_on = (await again.request("hermes/getSession", {"sessionId": sessions[0]}))["messages"]
    assert went_on[1]["notice"] == INTERRUPTED_NOTICE and "retryable" not in went_on[1]
    # The interrupted reply is now a message of its own in the file: the previous release reads it too.
    previous = previous_release_reader()(sessions[0])
    assert [(m["role"], m.get("stopReason")) for m in previous.messages] == [
        ("user", None), ("assistant", "interrupted"), ("user", None), ("assistant", "end_turn")]


# -- (2) a graceful stop: SIGTERM mid-stream --------------------------------------------------------------

@pytest.mark.asyncio
async def test_sigterm_lets_a_chat_finish_within_the_grace_and_answers_the_other_cancelled_with_its_text_saved(
        start_daemon: Any, upstream: Upstream, isolated_home: Path) -> None:
    with Upstream() as quick:
        write_config(isolated_home, {"model": {"provider": "deepseek", "default": "deepseek-chat"},
                                     "daemon": {"stop_grace": 3}})
        env = _env(upstream, OPENROUTER_API_KEY=CANARY_KEY, OPENROUTER_BASE_URL=f"{quick.url}/api/v1")
        slow_editor, quick_editor = [await start_daemon(env=env, shared=True) for _ in range(2)]
        lock, pid = _the_daemon()
        slow_sid = (await slow_editor.request("hermes/newSession"))["sessionId"]
        quick_sid = (await quick_editor.request(
            "hermes/newSession", {"provider": "openrouter", "model": "openai/gpt-4.1"}))["sessionId"]
        _slow(upstream, 1000)  # 20 s: longer than the grace
        whole = _slow(quick, 75)  # 1.5 s: ends within the grace
        slow = slow_editor.send("hermes/chat", {"sessionId": slow_sid, "message": "long one"})
        await _streaming(slow_editor, slow_sid, WORD * 25)
        fast = quick_editor.send("hermes/chat", {"sessionId": quick_sid, "message": "short one"})
        await _streaming(quick_editor, quick_sid)
        os.kill(pid, signal.SIGTERM)
        await asyncio.sleep(0.3)
        with pytest.raises(Exception, match="hermesd is stopping"):  # no new chats meanwhile
            await quick_editor.request("hermes/chat", {"message": "too late"})

        cancelled, finished = await asyncio.wait_for(asyncio.gather(slow, fast), 30)
        assert await asyncio.to_thread(wait_shared_daemon_gone, lock)

    assert (finished["stopReason"], finished["text"]) == ("end_turn", whole)
    assert "notice" not in finished
    assert cancelled["stopReason"] == "cancelled" and cancelled["notice"] == "hermesd is stopping (SIGTERM)"
    assert cancelled["text"] == _seen(slow_editor, slow_sid) and len(cancelled["text"]) > WORD * 25
    user, reply = _saved(slow_sid).messages
    assert user["content"] == "long one"
    assert (reply["content"], reply["stopReason"], reply["notice"]) == (
        cancelled["text"], "cancelled", "hermesd is stopping (SIGTERM)")
    assert [m["content"] for m in _saved(quick_sid).messages] == ["short one", whole]
    assert [s.id for s in _saved_sessions() if s.messages and s.messages[0]["content"] == "too late"] == []


def _saved_sessions() -> list[Session]:
    store = SessionStore()
    return [s for s in (store.get(p.stem) for p in store.root.glob("s-*.jsonl")) if s is not None]


# -- (3) unsaved turns: no idle exit while held; a recovery file on a forced exit ----------------------------

@pytest.fixture
def remountable(tmp_path: Path) -> Any:
    """The sessions directory on a tmpfs of its own, to be made read-only and writable again (needs root).

    The session index (SQLite, kept open for writing) gets a tmpfs of its
    own inside it: a file system with a file open for writing cannot be
    made read-only.
    """
    sessions = tmp_path / "data" / "sessions"
    mounted = []
    for path in (sessions, sessions / ".index"):
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700", "tmpfs", str(path)], check=True)
        mounted.append(path)

    def remount(mode: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{mode}", str(sessions)], check=True)

    yield remount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


async def _a_turn_the_disk_refused(start_daemon: Any, upstream: Upstream, home: Path, remount: Any,
                                   **daemon: Any) -> tuple[Any, str]:
    _configure(home, **daemon)
    editor = await start_daemon(env=_env(upstream), shared=True)
    upstream.reply_text = "saved first"
    sid = (await editor.request("hermes/chat", {"message": "first"}))["sessionId"]
    remount("ro")
    upstream.reply_text = "held in memory"
    held = await editor.request("hermes/chat", {"sessionId": sid, "message": "second"})
    assert held["text"] == "held in memory" and held["error"]["kind"] == "storage"
    assert "Read-only file system" in held["error"]["message"]
    return editor, sid


@needs_root
@pytest.mark.asyncio
async def test_a_daemon_holding_unsaved_turns_does_not_exit_on_idle_until_they_are_written(
        start_daemon: Any, upstream: Upstream, isolated_home: Path, remountable: Any) -> None:
    editor, sid = await _a_turn_the_disk_refused(start_daemon, upstream, isolated_home, remountable, idle_timeout=1)
    lock, pid = _the_daemon()
    await editor.client.shutdown_session()
    assert not await asyncio.to_thread(wait_shared_daemon_gone, lock, 4.0)  # idle 4 s, timeout 1 s: still here
    log = (Path(os.environ["HERMESD_LOG_DIR"]) / "hermesd.log").read_text()
    assert "not exiting on idle: some turns are still unsaved" in log
    assert f"session {sid}: 2 record(s) still unsaved" in log
    remountable("rw")
    assert await asyncio.to_thread(wait_shared_daemon_gone, lock, 15.0)
    assert [m["content"] for m in _saved(sid).messages] == ["first", "saved first", "second", "held in memory"]


@needs_root
@pytest.mark.asyncio
async def test_a_stop_writes_unsaved_turns_to_a_recovery_file_the_next_start_replays(
        start_daemon: Any, upstream: Upstream, isolated_home: Path, remountable: Any) -> None:
    editor, sid = await _a_turn_the_disk_refused(start_daemon, upstream, isolated_home, remountable)
    lock, pid = _the_daemon()
    os.kill(pid, signal.SIGTERM)
    assert await asyncio.to_thread(wait_shared_daemon_gone, lock)
    [held] = (Path(os.environ["HERMESD_DATA_DIR"]) / "recovery").glob("recovery-*.jsonl")  # beside sessions/
    assert [json.loads(line)["record"].get("content") for line in held.read_text().splitlines()] == [
        "second", "held in memory"]
    remountable("rw")
    again = await start_daemon(env=_env(upstream), shared=True)
    reopened = await again.request("hermes/getSession", {"sessionId": sid})
    assert [m["content"] for m in reopened["messages"]] == ["first", "saved first", "second", "held in memory"]
    assert not held.exists()
    assert [m["content"] for m in _saved(sid).messages] == ["first", "saved first", "second", "held in memory"]


# -- (4) one writer per session: retirement mid-stream ---------------------------------------------------------

@pytest.mark.asyncio
async def test_a_successor_daemon_cannot_chat_in_a_session_the_retiring_one_streams_and_then_sees_its_turn(
        start_daemon: Any, upstream: Upstream, isolated_home: Path) -> None:
    _configure(isolated_home)
    env = _env(upstream)
    old_editor = await start_daemon(env=env, shared=True)
    _, old_pid = _the_daemon()
    sid = (await old_editor.request("hermes/newSession"))["sessionId"]
    whole = _slow(upstream, 500)  # 10 s
    streaming = old_editor.send("hermes/chat", {"sessionId": sid, "message": "from the old daemon"})
    await _streaming(old_editor, sid)

    sock = forwarder.endpoint(env).connect()  # a client of another version says hello: the daemon retires
    assert sock is not None
    with sock:
        sock.sendall(json.dumps({"hermesd": 1, "version": "0.0.1-other", "pid": os.getpid()}).encode() + b"\n")
        assert json.loads(sock.makefile("rb").readline())["retiring"] is True
    new_editor = await start_daemon(env=env, shared=True)
    assert _the_daemon()[1] != old_pid
    assert not streaming.done()
    with pytest.raises(Exception, match=f"session {sid} is busy in another hermesd process"):
        await new_editor.request("hermes/chat", {"sessionId": sid, "message": "from the new daemon"})

    assert (await asyncio.wait_for(streaming, 30))["text"] == whole
    await old_editor.client.shutdown_session()
    await asyncio.to_thread(wait_for_exit, old_pid)
    upstream.reply_text, upstream.chunk_count, upstream.chunk_delay = "new reply", 2, 0.0
    result = await new_editor.request("hermes/chat", {"sessionId": sid, "message": "from the new daemon"})
    assert result["stopReason"] == "end_turn"
    assert upstream.requests[-1].json["messages"] == [
        {"role": "user", "content": "from the old daemon"},
        {"role": "assistant", "content": whole},
        {"role": "user", "content": "from the new daemon"},
    ]
    assert [m["content"] for m in _saved(sid).messages] == [
        "from the old daemon", whole, "from the new daemon", "new reply"]


# -- the previous release reads the new files ---------------------------------------------------------------

def previous_release_reader() -> Any:
    """``SessionStore._load`` exactly as the previous release has it (from git), over this store's root.

    Its source comes from ``git show``, not a copy; it runs with this
    release's ``Session`` and ``Settings`` (their constructors take the
    same arguments, and the test fails if that changes).
    """
    root = Path(__file__).resolve().parent.parent
    try:
        source = subprocess.run(["git", "show", f"{PREVIOUS_RELEASE}:hermesd/sessions.py"], cwd=root,
                                capture_output=True, text=True, check=True, timeout=30).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the previous release's source is not in this checkout's history: {exc}")
    store = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "SessionStore")
    load = next(n for n in store.body if isinstance(n, ast.FunctionDef) and n.name == "_load")
    namespace: dict[str, Any] = {"json": json, "time": time, "Session": Session, "Settings": Settings,
                                 "Path": Path}
    exec(compile("from __future__ import annotations\n" + textwrap.dedent(ast.get_source_segment(source, load)),
                 f"{PREVIOUS_RELEASE}:hermesd/sessions.py", "exec"), namespace)
    current = SessionStore()
    return lambda session_id: namespace["_load"](current, session_id)


def test_the_previous_release_reads_a_finished_an_open_and_a_sealed_turn(isolated_home: Path) -> None:
    store = SessionStore()
    session = store.create(provider="deepseek", model="deepseek-chat", settings=Settings())
    store.begin_turn(session, {"role": "user", "content": "one"})
    store.add_partial(session, "the first ")
    store.add_partial(session, "reply")
    store.add_messages(session, {"role": "assistant", "content": "the first reply", "model": "deepseek-chat",
                                 "stopReason": "end_turn"})
    store.begin_turn(session, {"role": "user", "content": "two", "attachments": [
        {"kind": "selection", "path": "a.py", "text": "x = 1"}]})
    store.add_partial(session, "cut sh")  # and the daemon dies here
    old = previous_release_reader()
    read = old(session.id)
    # The previous release: the finished turn whole, and the open turn's user message (its reply never came).
    assert [(m["role"], m["content"]) for m in read.messages] == [
        ("user", "one"), ("assistant", "the first reply"), ("user", "two")]
    assert read.messages[2]["attachments"] == [{"kind": "selection", "path": "a.py", "text": "x = 1"}]
    assert read.to_protocol().messages[2].content == "two"  # what its getSession sends
    # This release: the same, and the open turn as interrupted, with what was written ahead.
    now = SessionStore().get(session.id)
    assert now is not None and [(m["role"], m["content"], m.get("stopReason")) for m in now.messages] == [
        ("user", "one", None), ("assistant", "the first reply", "end_turn"), ("user", "two", None),
        ("assistant", "cut sh", "interrupted")]
    assert now.to_protocol().messages[3].notice == INTERRUPTED_NOTICE
    assert now.to_protocol().messages[3].retryable is True  # the editors offer Retry: it re-sends "two"
    assert [m.retryable for m in now.to_protocol().messages[:3]] == [None, None, None]
    # The next turn writes the interrupted reply as a message first: then the previous release sees it too.
    SessionStore().begin_turn(now, {"role": "user", "content": "three"})
    assert [(m["role"], m.get("stopReason")) for m in old(session.id).messages] == [
        ("user", None), ("assistant", "end_turn"), ("user", None), ("assistant", "interrupted"), ("user", None)]
    # The index (unchanged from the previous release) counts what the previous release's reader shows.
    [row] = store.page(limit=10).sessions
    assert row.message_count == 5 and row.title == "one"


@pytest.mark.asyncio
async def test_a_chat_cancelled_together_with_its_upstream_run_is_still_recorded(
        isolated_home: Path, upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    """What ``asyncio.run``'s shutdown does: cancel the handler's task and the run's task at once, the run
    ending first. The previous release re-raised without recording the turn."""
    from hermesd.engine.chat import ChatEngine
    from hermesd.protocol import ChatParams

    _configure(isolated_home)
    monkeypatch.setenv("DEEPSEEK_API_KEY", CANARY_KEY)
    monkeypatch.setenv("DEEPSEEK_BASE_URL", f"{upstream.url}/v1")
    engine = ChatEngine(SessionStore())
    _slow(upstream, 500)
    seen: list[str] = []
    chat = asyncio.ensure_future(engine.chat(ChatParams(message="cut short"), on_delta=lambda _s, t, _r: seen.append(t)))
    while len(seen) < 5:
        await asyncio.sleep(0.01)
    [(sid, run)] = engine._runs.items()
    run.task.cancel()
    while not run.task.done():
        await asyncio.sleep(0)
    chat.cancel()
    with pytest.raises(asyncio.CancelledError):
        await chat
    user, reply = _saved(sid).messages
    assert user == {"role": "user", "content": "cut short"}
    assert (reply["stopReason"], reply["content"]) == ("cancelled", "".join(seen))
