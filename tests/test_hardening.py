"""Issue 11, round 2: keys stay with their origin, hostile input never stops the daemon.

Every test runs the real daemon (stdio, through ``start_daemon``) against
recording servers on 127.0.0.1. After each test, every file the test left
(home, logs, sessions) and everything it printed is scanned for the canary
key (``_no_canary_anywhere``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests._unit_helpers import canary_hits
from tests.conftest import CANARY_KEY, write_config
from tests.upstream import Upstream

KEY_HEADERS = ("authorization", "x-api-key", "api-key")


@pytest.fixture(autouse=True)
def _no_canary_anywhere(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> Iterator[None]:
    yield
    assert canary_hits(tmp_path) == []
    captured = capfd.readouterr()
    assert CANARY_KEY not in captured.out + captured.err


@pytest.fixture
def elsewhere() -> Iterator[Upstream]:
    """A second recording server: another origin (another loopback port)."""
    with Upstream() as up:
        yield up


def key_headers(up: Upstream) -> list[tuple[str, str]]:
    """(path, header) of every request ``up`` received carrying a key header."""
    return [(r.path, h) for r in up.requests for h in KEY_HEADERS if r.header(h) is not None]


# -- item 1: a redirect never carries a key to another origin ---------------------------------


@pytest.mark.asyncio
async def test_a_catalog_redirect_to_another_origin_carries_no_key(start_daemon: Any, upstream: Upstream,
                                                                   elsewhere: Upstream) -> None:
    """Azure sends its key as ``api-key``, which httpx keeps on a cross-origin redirect: hermesd does not follow it."""
    elsewhere.models = ["stolen"]
    upstream.fail(status=302, headers={"Location": f"{elsewhere.url}/openai/v1/models"}, times=None)
    daemon = await start_daemon(env={"AZURE_FOUNDRY_API_KEY": CANARY_KEY, "AZURE_FOUNDRY_BASE_URL": f"{upstream.url}/openai/v1"})
    result = await daemon.request("hermes/listModels", {"provider": "azure-foundry", "refresh": True})
    assert upstream.requests and upstream.requests[0].header("api-key") == CANARY_KEY  # the key did go to its own URL
    assert key_headers(elsewhere) == []
    assert "stolen" not in [m["id"] for m in result["models"]]


@pytest.mark.asyncio
async def test_a_same_origin_catalog_redirect_is_followed(start_daemon: Any, upstream: Upstream) -> None:
    upstream.models = ["moved-model"]
    upstream.fail(status=301, headers={"Location": "/openai/moved/models"}, times=None, path_contains="/v1/models")
    daemon = await start_daemon(env={"AZURE_FOUNDRY_API_KEY": CANARY_KEY, "AZURE_FOUNDRY_BASE_URL": f"{upstream.url}/openai/v1"})
    result = await daemon.request("hermes/listModels", {"provider": "azure-foundry", "refresh": True})
    assert [m["id"] for m in result["models"]] == ["moved-model"] and result["source"] == "live"
    assert [r.path for r in upstream.requests] == ["/openai/v1/models", "/openai/moved/models"]
    assert all(r.header("api-key") == CANARY_KEY for r in upstream.requests)


@pytest.mark.asyncio
async def test_a_doctor_probe_does_not_follow_a_key_to_another_origin(start_daemon: Any, upstream: Upstream,
                                                                      elsewhere: Upstream) -> None:
    """Anthropic's key is an ``x-api-key`` header: before, the probe followed the redirect with it."""
    upstream.fail(status=307, headers={"Location": f"{elsewhere.url}/v1/models"}, times=None)
    daemon = await start_daemon(env={"ANTHROPIC_API_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": f"{upstream.url}/v1"})
    checks = (await daemon.request("hermes/doctor", {"providers": ["anthropic"]}))["checks"]
    [check] = [c for c in checks if c["id"] == "provider:anthropic"]
    assert upstream.requests[0].header("x-api-key") == CANARY_KEY
    assert key_headers(elsewhere) == [] and elsewhere.requests == []
    assert check["status"] == "warn" and "another origin" in check["summary"]
    assert f"127.0.0.1:{elsewhere.port}" in check["summary"] and "not followed" in check["summary"]


@pytest.mark.asyncio
async def test_a_same_origin_doctor_redirect_is_followed(start_daemon: Any, upstream: Upstream) -> None:
    upstream.fail(status=308, headers={"Location": f"{upstream.url}/moved/models"}, times=None, path_contains="/v1/models")
    daemon = await start_daemon(env={"ANTHROPIC_API_KEY": CANARY_KEY, "ANTHROPIC_BASE_URL": f"{upstream.url}/v1"})
    checks = (await daemon.request("hermes/doctor", {"providers": ["anthropic"]}))["checks"]
    [check] = [c for c in checks if c["id"] == "provider:anthropic"]
    assert check["status"] == "ok", check
    assert [r.path for r in upstream.requests] == ["/v1/models", "/moved/models"]


# -- item 7: no Python traceback reaches a client -----------------------------------------------


@pytest.mark.asyncio
async def test_an_internal_error_reply_carries_an_error_id_not_a_traceback(start_daemon: Any, tmp_path: Path) -> None:
    """A session file whose meta record has a string for ``settings`` makes getSession fail inside hermesd."""
    from pygls.exceptions import JsonRpcException

    sessions = tmp_path / "data" / "sessions"
    sessions.mkdir(parents=True)
    (sessions / "s-broken.jsonl").write_text(json.dumps({"type": "meta", "id": "s-broken", "settings": "oops"}) + "\n")
    daemon = await start_daemon()
    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("hermes/getSession", {"sessionId": "s-broken"})
    error = caught.value
    assert error.code == -32603
    reply = json.dumps({"message": error.message, "data": error.data})
    assert "Traceback" not in reply and "File " not in reply and ".py" not in reply and "line " not in reply
    error_id = error.data["errorId"]
    assert error_id in error.message and "(AttributeError)" in error.message and len(error.message) < 200
    assert "config" in await daemon.request("hermes/getConfig")  # still serving
    log = (tmp_path / "logs" / "hermesd.log").read_text()
    entry = log[log.index(f"internal error {error_id}"):]
    assert "Traceback (most recent call last)" in entry and "sessions.py" in entry


# -- item 6: a full disk never tears a session or a config file ------------------------------------

# A real small file system (tmpfs), which needs root; elsewhere these tests are skipped.
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("mount") is None,
                                reason="mounting a small tmpfs needs root; no fault-injecting stand-in is used here")


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Any]:
    """``mount(path)``: a 1 MiB tmpfs on ``path``; unmounted afterwards.

    Small, so filling it is quick, but roomy enough that freeing the filler
    leaves space for a turn beside the session index's SQLite files (its
    write-ahead log's shared-memory file alone is 32 KiB).
    """
    mounted: list[Path] = []

    def mount(path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(path)], check=True)
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Take every free byte of ``directory``'s file system."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    try:  # whatever page remainder is left: one byte at a time
        with open(filler, "ab", buffering=0) as handle:
            while True:
                handle.write(b"\0")
    except OSError:
        pass
    return filler


@needs_root
@pytest.mark.asyncio
async def test_a_turn_on_a_full_disk_is_reported_not_torn_and_saved_later(
        start_daemon: Any, upstream: Upstream, tmp_path: Path, tiny_fs: Any) -> None:
    sessions = tiny_fs(tmp_path / "data") / "sessions"  # HERMESD_DATA_DIR
    env = {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{upstream.url}/v1"}
    daemon = await start_daemon(env=env)
    first = await daemon.request("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "first"})
    sid = first["sessionId"]
    assert "error" not in first
    filler = fill(tmp_path / "data")

    big = "second " * 2000  # 14 KB: the record crosses a page, so part of it would fit (a short write)
    second = await daemon.request("hermes/chat", {"sessionId": sid, "message": big})
    assert second["text"] == "Hello from upstream" and second["stopReason"] == "end_turn"
    assert second["error"]["kind"] == "storage"
    assert "could not be saved" in second["error"]["message"] and "No space left" in second["error"]["message"]
    assert "free some disk space" in second["error"]["hint"]
    lines = (sessions / f"{sid}.jsonl").read_bytes().splitlines()
    assert all(isinstance(json.loads(line), dict) for line in lines)  # nothing torn
    assert len(lines) == 3  # meta + the first turn

    filler.unlink()
    third = await daemon.request("hermes/chat", {"sessionId": sid, "message": "third"})
    assert "error" not in third
    fresh = await start_daemon(env=env)  # reads the file, not the first daemon's memory
    saved = await fresh.request("hermes/getSession", {"sessionId": sid})
    assert [m["content"] for m in saved["messages"] if m["role"] == "user"] == ["first", big, "third"]


@needs_root
@pytest.mark.asyncio
async def test_set_config_on_a_full_disk_is_a_clear_error_and_the_file_is_intact(
        start_daemon: Any, tmp_path: Path, tiny_fs: Any) -> None:
    home = tiny_fs(tmp_path / "full-home")
    config = write_config(home, {"model": {"provider": "deepseek", "default": "deepseek-chat"}})
    before = config.read_bytes()
    daemon = await start_daemon(env={"HERMES_HOME": str(home)})
    filler = fill(home)
    from pygls.exceptions import JsonRpcException

    with pytest.raises(JsonRpcException) as caught:
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "x" * 20000})
    assert caught.value.code == -32003
    assert "the config could not be saved" in caught.value.message and "No space left" in caught.value.message
    assert f"{config} was not changed" in caught.value.message
    assert config.read_bytes() == before
    assert [p.name for p in home.iterdir() if p.name.endswith(".tmp")] == []
    cli = subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "model.default", "y" * 20000],
                         env={**os.environ, "HERMES_HOME": str(home)}, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "No space left on device" in cli.stderr and "Traceback" not in cli.stderr
    assert config.read_bytes() == before
    filler.unlink()
    assert (await daemon.request("hermes/setConfig", {"key": "model.default", "value": "ok"}))["value"] == "ok"


@needs_root
def test_a_read_only_disk_still_locks_the_session_and_its_turn_is_saved_once_writable(
        tmp_path: Path, tiny_fs: Any) -> None:
    """The claim opens the file for the chat's appends; where the disk refuses writing, it still takes the lock
    (another process must not chat in the session), the append says why it failed, and the turn, held in
    memory, is written by the next append once the disk takes writes again."""
    from hermesd.engine.sessions import Settings, SessionStore

    mount = tiny_fs(tmp_path / "data")
    store = SessionStore(mount / "sessions")
    session = store.create(provider="p", model="m", settings=Settings())
    store.index.close()  # a file system with files open for writing cannot become read-only
    subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
    store.claim(session)
    try:
        assert SessionStore(mount / "sessions").is_busy_elsewhere(session.id)
        error = store.begin_turn(session, {"role": "user", "content": "one"})
        assert error is not None and "Read-only file system" in error.message
    finally:
        store.release(session)
    assert not SessionStore(mount / "sessions").is_busy_elsewhere(session.id)
    subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
    store.claim(session)
    try:
        assert store.add_messages(session, {"role": "assistant", "content": "two"}) is None
    finally:
        store.release(session)
    reloaded = SessionStore(mount / "sessions").get(session.id)
    assert reloaded is not None and [m["content"] for m in reloaded.messages] == ["one", "two"]


def test_a_torn_last_line_that_parses_is_skipped_and_later_turns_load(tmp_path: Path) -> None:
    """A crash can leave ``12`` or ``"te`` as the last line: skipped, and the next append starts a new line."""
    from hermesd.engine.sessions import Settings, SessionStore

    store = SessionStore(tmp_path / "sessions")
    session = store.create(provider="p", model="m", settings=Settings())
    store.add_messages(session, {"role": "user", "content": "one"})
    with open(tmp_path / "sessions" / f"{session.id}.jsonl", "ab") as handle:
        handle.write(b"12")
    store.add_messages(session, {"role": "user", "content": "two"})
    reloaded = SessionStore(tmp_path / "sessions").get(session.id)
    assert reloaded is not None and [m["content"] for m in reloaded.messages] == ["one", "two"]


# -- item 8: user plugins others could have written are not loaded ------------------------------------

PLUGIN = """from providers import register_provider
from providers.base import ProviderProfile
register_provider(ProviderProfile(name="mine", base_url="http://127.0.0.1:9/v1", env_vars=("MINE_API_KEY",)))
"""


def write_user_plugin(home: Path, name: str = "mine") -> Path:
    plugin = home / "plugins" / "model-providers" / name
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(PLUGIN, encoding="utf-8")
    return plugin


@pytest.mark.parametrize("target", ["directory", "file", "plugins-root"])
@pytest.mark.asyncio
async def test_a_user_plugin_writable_by_others_is_refused_with_the_fix(start_daemon: Any, isolated_home: Path,
                                                                       target: str) -> None:
    plugin = write_user_plugin(isolated_home)
    path = {"directory": plugin, "file": plugin / "__init__.py", "plugins-root": isolated_home / "plugins"}[target]
    path.chmod(path.stat().st_mode | 0o022)
    daemon = await start_daemon()
    listing = await daemon.request("hermes/listProviders")
    assert "mine" not in [p["name"] for p in listing["providers"]]
    [error] = listing["pluginErrors"]
    assert error["plugin"] == "mine"
    assert f"{path} is writable by group or others" in error["message"]
    assert f"chmod go-w {path}" in error["message"]
    checks = (await daemon.request("hermes/doctor", {"probe": False}))["checks"]
    [check] = [c for c in checks if c["id"] == "plugin:mine"]
    assert check["status"] == "fail" and f"chmod go-w {path}" in check["summary"]

    path.chmod(path.stat().st_mode & ~0o022)  # the fix is picked up at the next refresh
    listing = await daemon.request("hermes/listProviders", {"refresh": True})
    assert "mine" in [p["name"] for p in listing["providers"]] and listing["pluginErrors"] == []


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
@pytest.mark.asyncio
async def test_a_user_plugin_owned_by_another_user_is_refused(start_daemon: Any, isolated_home: Path) -> None:
    plugin = write_user_plugin(isolated_home)
    os.chown(plugin / "__init__.py", 65534, 65534)
    daemon = await start_daemon()
    listing = await daemon.request("hermes/listProviders")
    assert "mine" not in [p["name"] for p in listing["providers"]]
    [error] = listing["pluginErrors"]
    assert f"{plugin / '__init__.py'} is owned by uid 65534" in error["message"]
    assert f"chown {os.getuid()} {plugin / '__init__.py'}" in error["message"]


@pytest.mark.asyncio
async def test_a_private_user_plugin_loads_and_bundled_ones_are_exempt(start_daemon: Any, isolated_home: Path) -> None:
    write_user_plugin(isolated_home)
    isolated_home.chmod(0o777)  # only warned about: the home itself
    daemon = await start_daemon()
    listing = await daemon.request("hermes/listProviders")
    assert "mine" in [p["name"] for p in listing["providers"]] and listing["pluginErrors"] == []
    assert len(listing["providers"]) == 39  # and the 38 bundled ones (exempt from the rule)
    checks = (await daemon.request("hermes/doctor", {"probe": False}))["checks"]
    [home] = [c for c in checks if c["id"] == "home:permissions"]
    assert home["status"] == "warn" and f"chmod go-w {isolated_home}" == home["hint"]


def test_a_short_write_then_enospc_leaves_no_torn_record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same rule without root: a fault-injecting writer lands half a record, then the disk is full."""
    import hermesd.engine.sessions as sessions_mod
    from hermesd.engine.sessions import SessionStore, Settings

    store = SessionStore(tmp_path / "sessions")
    session = store.create(provider="p", model="m", settings=Settings())
    path = tmp_path / "sessions" / f"{session.id}.jsonl"
    before = path.read_bytes()
    real_write = os.write
    calls: list[int] = []

    def half_then_full(fd: int, data: Any) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[: len(data) // 2]))  # a short write
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(sessions_mod.os, "write", half_then_full)
    error = store.add_messages(session, {"role": "user", "content": "lost?"})
    assert error is not None and error.kind == "storage" and "No space left" in error.message
    assert len(calls) == 2 and path.read_bytes() == before  # the half record was cut off again
    monkeypatch.setattr(sessions_mod.os, "write", real_write)
    assert store.add_messages(session, {"role": "user", "content": "next"}) is None
    reloaded = SessionStore(tmp_path / "sessions").get(session.id)
    assert reloaded is not None and [m["content"] for m in reloaded.messages] == ["lost?", "next"]


# -- issue 26: nobody else can become the shared daemon; each credential environment gets its own -----

from hermesd.client import forwarder  # noqa: E402
from hermesd.paths import RuntimeDirError, check_private_dir, runtime_dir  # noqa: E402
from tests.daemon import shared_daemon_pids, stop_shared_daemons  # noqa: E402

OTHER_USER = "hermesd-redteam"
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="another user's files and listener need root (and useradd)")


@pytest.fixture(scope="module")
def other_uid() -> Iterator[int]:
    """A second Unix user (created here, removed afterwards): the local attacker."""
    import pwd

    try:
        yield pwd.getpwnam(OTHER_USER).pw_uid
        return
    except KeyError:
        pass
    if shutil.which("useradd") is None:
        pytest.skip("useradd is not installed: no second user to play the attacker")
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER], check=True)
    try:
        yield pwd.getpwnam(OTHER_USER).pw_uid
    finally:
        subprocess.run(["userdel", OTHER_USER], check=False)


def shared_env(**extra: str) -> dict[str, str]:
    """This test's environment for a client that uses the shared daemon (conftest sets HERMESD_SHARED=0).

    The checkout comes first on the path: some of these clients start in a project directory, where
    ``python -m hermesd`` would otherwise import whatever copy is installed, not the code under test.
    """
    path = os.pathsep.join(p for p in (str(Path(__file__).resolve().parent.parent), os.environ.get("PYTHONPATH")) if p)
    return {**{k: v for k, v in os.environ.items() if k != "HERMESD_SHARED"}, "PYTHONPATH": path, **extra}


def forward_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``hermesd --stdio`` with nothing on stdin: it connects (or refuses) and, serving in-process, exits."""
    return subprocess.run([sys.executable, "-m", "hermesd", "--stdio"], input="", capture_output=True, text=True,
                          timeout=60, env=env, check=False)


# Binds where the forwarder will connect (as root, in the victim's directory), then becomes the other user
# and listens, so the listener's credentials (SO_PEERCRED) are the other user's; reports what it received.
FAKE_DAEMON = """
import os, socket, sys
directory, name, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
sock = socket.socket(socket.AF_UNIX)
sock.bind(f"/proc/self/fd/{fd}/{name}")
os.setgid(uid); os.setuid(uid)
sock.listen(4)
print("listening", flush=True)
conn, _ = sock.accept()
received = b""
while chunk := conn.recv(65536):
    received += chunk
print(len(received), flush=True)
"""


@as_root
def test_a_listener_of_another_user_is_refused_before_a_byte_is_sent(other_uid: int) -> None:
    env = shared_env(DEEPSEEK_API_KEY=CANARY_KEY)
    ep = forwarder.endpoint(env)
    fake = subprocess.Popen([sys.executable, "-c", FAKE_DAEMON, str(ep.base.parent), ep.address.name, str(other_uid)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None and fake.stdout.readline() == "listening\n"
        proc = forward_once(env)
        received = fake.stdout.readline()  # the forwarder has exited: its connection is closed
    finally:
        fake.kill()
        fake.wait()
    assert received == "0\n"  # not the hello, not a frame
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert (f"cannot use the shared daemon ({ep.address} is held by uid {other_uid}, not by you (uid {os.getuid()}): "
            "another user may be posing as your daemon, so nothing was sent to it); serving this editor in-process"
            in proc.stderr)
    assert shared_daemon_pids(ep.base.parent) == {}


@as_root
def test_hermesd_chat_refuses_another_users_listener_and_chats_in_process(other_uid: int, upstream: Upstream) -> None:
    upstream.reply_text = "from the real provider"
    env = shared_env(DEEPSEEK_API_KEY=CANARY_KEY, DEEPSEEK_BASE_URL=f"{upstream.url}/v1")
    ep = forwarder.endpoint(env)
    fake = subprocess.Popen([sys.executable, "-c", FAKE_DAEMON, str(ep.base.parent), ep.address.name, str(other_uid)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None and fake.stdout.readline() == "listening\n"
        proc = subprocess.run([sys.executable, "-m", "hermesd", "chat", "-p", "deepseek", "-m", "deepseek-chat", "hi"],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
        received = fake.stdout.readline()
    finally:
        fake.kill()
        fake.wait()
    assert received == "0\n"
    assert proc.returncode == 0 and proc.stdout == "from the real provider\n"
    assert f"hermesd: not using the shared daemon ({ep.address} is held by uid {other_uid}" in proc.stderr
    assert [r.json["messages"][-1]["content"] for r in upstream.requests] == ["hi"]


def _symlink_owned_by(link: Path, target: Path, uid: int) -> Path:
    link.symlink_to(target)
    os.lchown(link, uid, uid)
    return link


@pytest.mark.parametrize("case", ["socket dir is a symlink", "parent is another user's symlink",
                                  "socket dir is another user's", "parent is another user's",
                                  "parent is writable by others"])
def test_a_runtime_dir_reached_through_something_another_user_controls_is_refused(
        case: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    needs_other = "another user" in case
    if needs_other and os.geteuid() != 0:
        pytest.skip("another user's files need root")
    uid = request.getfixturevalue("other_uid") if needs_other else os.getuid()
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    if case == "socket dir is a symlink":  # even to a directory of the user's: it could be pointed elsewhere
        run, expected = _symlink_owned_by(tmp_path / "run-link", mine, uid), "is a symbolic link"
    elif case == "parent is another user's symlink":
        run, expected = _symlink_owned_by(tmp_path / "parent-link", mine, uid) / "run", f"belonging to uid {uid}"
    elif case == "socket dir is another user's":
        os.chown(mine, uid, uid)
        run, expected = mine, f"the runtime directory {mine} belongs to uid {uid}"
    elif case == "parent is another user's":
        os.chown(mine, uid, uid)
        run, expected = mine / "run", f"{mine}, a parent of the runtime directory, belongs to uid {uid}"
    else:
        mine.chmod(0o777)
        run, expected = mine / "run", f"run `chmod go-w {mine}`"
    with pytest.raises(RuntimeDirError) as caught:
        check_private_dir(run)
    assert expected in str(caught.value)
    proc = forward_once(shared_env(HERMESD_RUNTIME_DIR=str(run)))
    assert proc.returncode == 0 and "cannot use the shared daemon" in proc.stderr and expected in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(mine.glob("**/hermesd-*"))
    tcp = subprocess.run([sys.executable, "-m", "hermesd", "--tcp", "--port", "0"], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "HERMESD_RUNTIME_DIR": str(run)}, check=False)
    assert tcp.returncode == 1 and expected in tcp.stderr and "Traceback" not in tcp.stderr  # the token file's too
    assert not list(mine.glob("**/*.token"))


def test_sticky_parents_and_the_users_own_symlinks_on_the_way_are_accepted(tmp_path: Path) -> None:
    shared_tmp = tmp_path / "shared-tmp"
    shared_tmp.mkdir()
    shared_tmp.chmod(0o1777)  # like /tmp: others may create names, not replace ours
    assert check_private_dir(shared_tmp / "run") == shared_tmp / "run"
    (tmp_path / "real-home").mkdir()
    link = tmp_path / "home"
    link.symlink_to("real-home")  # like macOS's /var -> /private/var, or a home moved elsewhere
    assert check_private_dir(link / "run").is_dir() and (tmp_path / "real-home" / "run").is_dir()


def test_the_runtime_dir_is_never_in_the_shared_temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without XDG_RUNTIME_DIR (ssh without logind, containers, cron): the user's cache dir, not <tmp>/hermesd-<uid>."""
    for name in ("HERMESD_RUNTIME_DIR", "XDG_RUNTIME_DIR", "HERMESD_CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    user_run = Path(f"/run/user/{os.getuid()}")
    expected = user_run / "hermesd" if user_run.is_dir() else tmp_path / "cache" / "hermesd" / "run"
    assert runtime_dir() == expected
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "xdg"))
    assert runtime_dir() == tmp_path / "xdg" / "hermesd"


@pytest.mark.asyncio
async def test_a_long_socket_path_is_used_where_it_is_not_moved_to_tmp(start_daemon: Any, tmp_path: Path) -> None:
    run = tmp_path / ("r" * 60) / ("u" * 60) / "run"  # the socket's path is far over sun_path's 108 bytes
    own_tmp = tmp_path / "tmpdir"
    own_tmp.mkdir()
    env = {"HERMESD_RUNTIME_DIR": str(run), "TMPDIR": str(own_tmp), "DEEPSEEK_API_KEY": CANARY_KEY}
    try:
        client = await start_daemon(env=env, shared=True)
        assert (await client.request("hermes/getConfig"))["path"]
        [sock] = run.glob("hermesd-*.sock")
        assert len(os.fsencode(sock)) > 108 and sock.is_socket() and len(shared_daemon_pids(run)) == 1
        assert list(own_tmp.iterdir()) == []
    finally:
        stop_shared_daemons(run)


@pytest.mark.asyncio
async def test_the_daemon_works_in_root_with_umask_077_and_absolute_paths(tmp_path: Path) -> None:
    from tests.lsp_client import LspClient

    where = tmp_path / "project"
    (where / ".hermes").mkdir(parents=True)
    env = shared_env(HERMES_HOME=".hermes")
    before = os.umask(0o002)  # the first client's umask, which the daemon must not keep
    try:
        client = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], env, cwd=str(where))
    finally:
        os.umask(before)
    try:
        await client.initialize()
        [(_, pid)] = shared_daemon_pids(Path(os.environ["HERMESD_RUNTIME_DIR"])).items()
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        status = Path(f"/proc/{pid}/status").read_text()
        assert "Umask:\t0077" in status
        assert (await client.request("hermes/getConfig"))["path"] == str(where / ".hermes" / "config.yaml")
    finally:
        await client.close()


OTHER_VALUE = "sk-other-5b8d0e"
FAMILIES = {
    # family: (variable, its value in the first environment, in the second); CANARY_KEY wherever a secret goes
    "a name with KEY": ("ACME_KEY_ID", CANARY_KEY, OTHER_VALUE),
    "a name with TOKEN": ("ACME_TOKEN_V2", CANARY_KEY, OTHER_VALUE),
    "a name with SECRET": ("ACME_CLIENT_SECRET_V2", CANARY_KEY, OTHER_VALUE),
    "a name with PASSWORD": ("ACME_PASSWORD", CANARY_KEY, OTHER_VALUE),
    "a name with CREDENTIAL": ("ACME_CREDENTIALS_JSON", CANARY_KEY, OTHER_VALUE),
    "a name with AUTH": ("ACME_AUTH_HEADER", CANARY_KEY, OTHER_VALUE),
    "AWS_*": ("AWS_PROFILE", "work", "personal"),
    "GOOGLE_*": ("GOOGLE_CLOUD_PROJECT", "team-a", "team-b"),
    "GEMINI_*": ("GEMINI_API_VERSION", "v1", "v1beta"),
    "AZURE_*": ("AZURE_OPENAI_DEPLOYMENT", "team-a", "team-b"),
    "a base URL": ("ACME_API_BASE", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b"),
    "a proxy": ("https_proxy", "http://127.0.0.1:9", "http://127.0.0.1:8"),
    "a CA bundle": ("SSL_CERT_FILE", "/etc/ssl/a.pem", "/etc/ssl/b.pem"),
    "a key_env named in config": ("TEAM_FALLBACK_ACCOUNT", CANARY_KEY, OTHER_VALUE),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
@pytest.mark.asyncio
async def test_two_credential_environments_get_two_daemons_and_identical_ones_share(
        family: str, start_daemon: Any, isolated_home: Path) -> None:
    name, first, second = FAMILIES[family]
    if family == "a key_env named in config":  # no secret word in its name: found by scanning config.yaml
        write_config(isolated_home, {"fallback_providers": [{"provider": "deepseek", "model": "deepseek-chat",
                                                             "key_env": name}]})
    run = Path(os.environ["HERMESD_RUNTIME_DIR"])
    a = await start_daemon(env={name: first}, shared=True)
    same = await start_daemon(env={name: first}, shared=True)
    assert len(shared_daemon_pids(run)) == 1
    other = await start_daemon(env={name: second}, shared=True)
    assert len(shared_daemon_pids(run)) == 2
    for client in (a, same, other):
        assert (await client.request("hermes/getConfig"))["path"]


@pytest.mark.asyncio
async def test_a_relative_hermes_home_means_each_clients_own_directory(tmp_path: Path) -> None:
    from tests.lsp_client import LspClient

    run = Path(os.environ["HERMESD_RUNTIME_DIR"])
    env = shared_env(HERMES_HOME=".hermes", DEEPSEEK_API_KEY=CANARY_KEY)
    clients = []
    for project in ("one", "one", "two"):
        (tmp_path / project / ".hermes").mkdir(parents=True, exist_ok=True)
        client = await LspClient.spawn([sys.executable, "-m", "hermesd", "--stdio"], env, cwd=str(tmp_path / project))
        clients.append(client)
        await client.initialize()
    try:
        assert len(shared_daemon_pids(run)) == 2
        paths = [(await c.request("hermes/getConfig"))["path"] for c in clients]
        assert paths == [str(tmp_path / p / ".hermes" / "config.yaml") for p in ("one", "one", "two")]
    finally:
        for client in clients:
            await client.close()


def test_a_symlink_where_a_log_goes_is_neither_appended_to_nor_chmoded(tmp_path: Path) -> None:
    env = shared_env(DEEPSEEK_API_KEY=CANARY_KEY)
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    victim.chmod(0o644)
    ep = forwarder.endpoint(env)
    ep.log.symlink_to(victim)  # the daemon's stderr
    logs = Path(os.environ["HERMESD_LOG_DIR"])
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "hermesd.log").symlink_to(victim)  # the log proper (the in-process fallback's)
    proc = forward_once(env)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert f"the shared daemon's log {ep.log} cannot be opened: Too many levels of symbolic links" in proc.stderr
    assert "cannot use the shared daemon (the shared daemon exited while starting" in proc.stderr
    assert victim.read_text() == "the user's own file\n" and stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert shared_daemon_pids(ep.base.parent) == {}
