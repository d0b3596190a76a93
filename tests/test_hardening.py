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


def test_a_torn_last_line_that_parses_is_skipped_and_later_turns_load(tmp_path: Path) -> None:
    """A crash can leave ``12`` or ``"te`` as the last line: skipped, and the next append starts a new line."""
    from hermesd.sessions import Settings, SessionStore

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
    import hermesd.sessions as sessions_mod
    from hermesd.sessions import SessionStore, Settings

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
