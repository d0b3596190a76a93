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
