"""Plugins edited under a running shared daemon (docs/plugins.md, "Reloads"): each session runs the
plugin code it started with, whole, while other windows see the files as they are now.

Two editors (two connections of one shared daemon) chat while a third party adds, edits, breaks
and fixes a plugin. The plugin's hook imports a submodule lazily, inside the hook, and puts both
files' versions into the request body, so the upstream's record shows exactly which code built
each request: a turn running mixed code would send two different versions.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.daemon import Daemon, shared_daemon_pids
from tests.upstream import Upstream

KEY = "sk-generations-5d1c"


def _write_gen(home: Path, version: str, base_url: str, broken: bool = False) -> None:
    """The ``gen`` plugin at ``version``: its ``__init__`` and its lazily imported ``tag`` module."""
    directory = home / "plugins" / "model-providers" / "gen"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tag.py").write_text(f"TAG = {version!r}\n", encoding="utf-8")
    init = (
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        f"INIT = {version!r}\n"
        "class Gen(ProviderProfile):\n"
        "    def build_extra_body(self, **context):\n"
        "        from .tag import TAG  # lazily, at the turn: the submodule the mixed-code bug re-imported\n"
        "        return {'init_version': INIT, 'tag_version': TAG}\n"
        + ("raise RuntimeError('half-edited')\n" if broken else "")
        + f"register_provider(Gen(name='gen', base_url={base_url!r}, env_vars=('GEN_API_KEY',),\n"
        "                        fallback_models=('gen-model',)))\n"
    )
    path = directory / "__init__.py"
    path.write_text(init, encoding="utf-8")
    # Edits within one mtime tick must still look like edits to the fingerprint.
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000 * (1 + hash(version) % 1000)))


def _write_added(home: Path, base_url: str) -> None:
    directory = home / "plugins" / "model-providers" / "added"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__init__.py").write_text(
        "from providers import register_provider\nfrom providers.base import ProviderProfile\n"
        f"register_provider(ProviderProfile(name='added', base_url={base_url!r}, env_vars=('ADDED_API_KEY',),\n"
        "                                  fallback_models=('added-model',)))\n", encoding="utf-8")


async def _chat(daemon: Daemon, session: str, message: str) -> str:
    """One turn; its whole text (the turn must have succeeded)."""
    result = await daemon.request("hermes/chat", {"sessionId": session, "message": message}, timeout=60)
    assert result["stopReason"] != "error", result.get("error")
    return result["text"]


def _versions(up: Upstream, message: str) -> tuple[str, str]:
    """The (``__init__``, ``tag``) versions of the request that carried ``message``."""
    [req] = [r for r in up.requests if r.path.endswith("/chat/completions")
             and r.json["messages"][-1]["content"] == message]
    return req.json["init_version"], req.json["tag_version"]


@pytest.mark.asyncio
async def test_editing_a_plugin_under_two_streaming_sessions_never_mixes_its_code(
        start_daemon, isolated_home: Path, upstream: Upstream) -> None:
    base = upstream.url + "/v1"
    _write_gen(isolated_home, "v1", base)
    env = {"GEN_API_KEY": KEY}
    a = await start_daemon(env=env, shared=True)
    b = await start_daemon(env=env, shared=True)
    assert len(shared_daemon_pids(Path(os.environ["HERMESD_RUNTIME_DIR"]))) == 1
    upstream.reply_text = "one two three four five six"
    upstream.chunk_delay = 0.15  # each reply streams for about a second: the two turns overlap

    # A's session starts on v1; both files are edited before its first turn imports tag.py,
    # and B's new session loads the edit.
    sa = (await a.request("hermes/newSession", {"provider": "gen", "model": "gen-model"}))["sessionId"]
    _write_gen(isolated_home, "v2", base)
    sb = (await b.request("hermes/newSession", {"provider": "gen", "model": "gen-model"}))["sessionId"]
    assert b.of("hermes/providersChanged")
    text = upstream.reply_text
    assert await asyncio.gather(_chat(a, sa, "a1"), _chat(b, sb, "b1")) == [text, text]
    assert _versions(upstream, "a1") == ("v1", "v1")
    assert _versions(upstream, "b1") == ("v2", "v2")

    # Someone breaks the plugin: B's window looks (its listing refreshes) and reports it ...
    _write_gen(isolated_home, "v3", base, broken=True)
    listing = await b.request("hermes/listProviders", {"refresh": True})
    [error] = [e for e in listing["pluginErrors"] if e["plugin"] == "gen"]
    assert "half-edited" in error["message"]
    assert "gen" not in {p["name"] for p in listing["providers"]}
    # ... while both sessions that started on good code go on, each on its own code, streaming together.
    assert await asyncio.gather(_chat(a, sa, "a2"), _chat(b, sb, "b2")) == [text, text]
    assert _versions(upstream, "a2") == ("v1", "v1")
    assert _versions(upstream, "b2") == ("v2", "v2")
    # Only what starts after the broken edit sees it.
    with pytest.raises(Exception, match="unknown provider 'gen'"):
        await a.request("hermes/newSession", {"provider": "gen", "model": "gen-model"})

    # Fixed, and another plugin added: a new session runs the fix; a new window's first picker shows both.
    _write_gen(isolated_home, "v4", base)
    _write_added(isolated_home, base)
    sa4 = (await a.request("hermes/newSession", {"provider": "gen", "model": "gen-model"}))["sessionId"]
    assert await _chat(a, sa4, "a4") == text
    assert _versions(upstream, "a4") == ("v4", "v4")
    c = await start_daemon(env=env, shared=True)
    picker = await c.request("hermes/listPicker")
    assert "added" in {row["provider"] for row in picker["items"]} | {p["provider"] for p in picker["setup"]}
    listing = await c.request("hermes/listProviders")
    assert not [e for e in listing["pluginErrors"] if e["plugin"] == "gen"]
    # The first sessions still run their own generations.
    assert await _chat(a, sa, "a5") == text
    assert _versions(upstream, "a5") == ("v1", "v1")


def _write_exiter(home: Path, base_url: str, body: str = "        os._exit(3)\n") -> Path:
    """A plugin whose build_api_kwargs_extras ends the process, as a crashing C extension would."""
    directory = home / "plugins" / "model-providers" / "exiter"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "__init__.py"
    path.write_text(
        "import os\nfrom providers import register_provider\nfrom providers.base import ProviderProfile\n"
        "class Exiter(ProviderProfile):\n"
        "    def build_api_kwargs_extras(self, **context):\n" + body +
        "        return {}, {}\n"
        f"register_provider(Exiter(name='exiter', base_url={base_url!r}, env_vars=('GEN_API_KEY',),\n"
        "                          fallback_models=('exiter-model',)))\n", encoding="utf-8")
    return path


@pytest.mark.asyncio
async def test_a_plugin_that_ends_the_daemon_is_named_and_quarantined_by_the_next_one(
        start_daemon, isolated_home: Path, upstream: Upstream) -> None:
    base = upstream.url + "/v1"
    _write_gen(isolated_home, "v1", base)
    plugin_file = _write_exiter(isolated_home, base)
    env = {"GEN_API_KEY": KEY}
    a = await start_daemon(env=env, shared=True)
    b = await start_daemon(env=env, shared=True)
    sb = (await b.request("hermes/newSession", {"provider": "gen", "model": "gen-model"}))["sessionId"]
    assert await _chat(b, sb, "saved before the crash") == upstream.reply_text
    upstream.chunk_delay = 0.2
    streaming = asyncio.ensure_future(_chat(b, sb, "streaming during the crash"))
    await asyncio.sleep(0.3)
    sa = (await a.request("hermes/newSession", {"provider": "exiter", "model": "exiter-model"}))["sessionId"]
    with pytest.raises(Exception):  # the shared daemon is gone: both editors lose their connection
        await _chat(a, sa, "this ends the daemon")
    with pytest.raises(Exception):
        await streaming
    run_dir = Path(os.environ["HERMESD_RUNTIME_DIR"])
    for _ in range(100):
        if not shared_daemon_pids(run_dir):
            break
        await asyncio.sleep(0.1)
    upstream.chunk_delay = 0.0

    # The next daemon (a new window) names the plugin, the hook and the time, and does not load it.
    c = await start_daemon(env=env, shared=True)
    listing = await c.request("hermes/listProviders")
    [error] = [e for e in listing["pluginErrors"] if e["plugin"] == "exiter"]
    assert re.fullmatch(r"crashed the daemon in build_api_kwargs_extras at \d\d:\d\d; quarantined until its files "
                        r"change \(or `hermesd plugins enable exiter`\)", error["message"]), error
    assert error["path"] == str(plugin_file) and error["line"] == 6
    assert "exiter" not in {p["name"] for p in listing["providers"]}
    doctor = await c.request("hermes/doctor", {"probe": False})
    [check] = [ch for ch in doctor["checks"] if ch["id"] == "plugin:exiter"]
    assert check["status"] == "fail" and "crashed the daemon in build_api_kwargs_extras" in check["summary"]
    log = (Path(os.environ["HERMESD_LOG_DIR"]) / "hermesd.log").read_text()
    assert "plugin exiter crashed the daemon in build_api_kwargs_extras" in log
    assert not list(Path(os.environ["HERMESD_LOG_DIR"]).glob("crash-*.log"))[1:]  # only the running daemon's
    # The other editor's earlier turn is saved; the other providers work.
    saved = await c.request("hermes/getSession", {"sessionId": sb})
    assert "saved before the crash" in [m["content"] for m in saved["messages"]]
    sc = (await c.request("hermes/newSession", {"provider": "gen", "model": "gen-model"}))["sessionId"]
    assert await _chat(c, sc, "after") == upstream.reply_text

    # Released by the user (files unchanged) ...
    cli = subprocess.run([sys.executable, "-m", "hermesd", "plugins", "enable", "exiter"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 0, cli.stderr
    listing = await c.request("hermes/listProviders", {"refresh": True})
    assert "exiter" in {p["name"] for p in listing["providers"]}
    assert not [e for e in listing["pluginErrors"] if e["plugin"] == "exiter"]


def test_a_quarantined_plugin_loads_again_once_its_files_change(isolated_home: Path) -> None:
    import providers
    from providers import discovery

    plugin_file = _write_exiter(isolated_home, "http://127.0.0.1:9/v1")
    discovery.quarantine(str(plugin_file.parent), {"plugin": "exiter", "function": "build_api_kwargs_extras",
                                                   "file": str(plugin_file), "line": 6, "at": "14:02"})
    providers.reload()
    [error] = [e for e in providers.plugin_errors() if e.plugin == "exiter"]
    assert error.message.startswith("crashed the daemon in build_api_kwargs_extras at 14:02; quarantined")
    assert providers.get_provider_profile("exiter") is None
    assert not providers.plugins_changed()

    _write_exiter(isolated_home, "http://127.0.0.1:9/v1", body="        pass  # fixed\n")
    assert providers.plugins_changed()
    providers.reload()
    assert providers.get_provider_profile("exiter") is not None
    assert discovery.read_quarantine() == {}


def test_a_replaced_generation_is_freed_once_no_session_holds_its_profiles(isolated_home: Path) -> None:
    import providers

    _write_gen(isolated_home, "v1", "http://127.0.0.1:9/v1")
    providers.reload()
    held = providers.get_provider_profile("gen")
    first = type(held).__module__.rsplit(".", 2)[0]  # hermes_provider_plugins.g<N>
    assert held.build_extra_body() == {"init_version": "v1", "tag_version": "v1"}
    for version in ("v2", "v3", "v4"):
        _write_gen(isolated_home, version, "http://127.0.0.1:9/v1")
        providers.reload()
        providers.release_generations([held])
    # Held: its modules stay, and its lazy import still resolves inside its own generation.
    assert any(m.startswith(first + ".") for m in sys.modules)
    assert held.build_extra_body() == {"init_version": "v1", "tag_version": "v1"}
    assert providers.get_provider_profile("gen").build_extra_body() == {"init_version": "v4", "tag_version": "v4"}
    providers.release_generations([])
    assert not any(m.startswith(first + ".") for m in sys.modules)
    live = {".".join(m.split(".")[:2]) for m in sys.modules if m.startswith("hermes_provider_plugins.g") and m.count(".") >= 3}
    assert len(live) == 2  # the current generation and the one it replaced
