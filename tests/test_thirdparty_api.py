"""The plugin API third-party Hermes plugins use: entry-point groups and calling convention,
``plugins.disabled``, ProviderProfile fields of Hermes 0.19.0 and newer, hooks hermesd lacks,
and the ``hermes_cli`` helpers of hermesd.compat. Real packages: tests/test_thirdparty_plugins.py.
"""

from __future__ import annotations

import secrets
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

import providers
from hermesd import compat
from hermesd.engine import doctor
from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, chat_completions
from providers.base import ProviderProfile, missing_hooks, newer_fields
from tests._unit_helpers import (  # noqa: F401  (fresh_unit_env is an autouse fixture)
    UnitEnv,
    catalog_server,
    fresh_unit_env,
    on_sys_path,
    serving,
    simple_plugin,
    write_distribution,
    write_plugin,
)

PROFILE = "from providers import register_provider\nfrom providers.base import ProviderProfile\n"


@pytest.fixture
def distribution(fresh_unit_env: UnitEnv, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A distribution on sys.path declaring one entry point of each kind third-party plugins use."""
    token = secrets.token_hex(4)
    site = tmp_path / "site"
    site.mkdir()
    mods = {kind: f"zz_tp_{kind}_{token}" for kind in
            ("noarg", "ctx", "both", "instance", "hermes", "newer", "client", "tools")}
    (site / f"{mods['noarg']}.py").write_text(PROFILE + (
        "CALLS = []\n"
        "def register():\n"
        "    CALLS.append(())\n"
        f"    register_provider(ProviderProfile(name='tp-noarg-{token}'))\n"))
    (site / f"{mods['ctx']}.py").write_text(PROFILE + (
        "CONTEXTS = []\n"
        "def register(ctx=None):\n"
        "    CONTEXTS.append(ctx)\n"
        f"    ctx.register_provider(ProviderProfile(name='tp-ctx-{token}'))\n"))
    # Venice's layout: registers on import, and its register() again; declared in two groups.
    (site / f"{mods['both']}.py").write_text(PROFILE + (
        f"p = ProviderProfile(name='tp-both-{token}')\n"
        "register_provider(p)\n"
        "def register(_context=None):\n"
        "    register_provider(p)\n"))
    (site / f"{mods['instance']}.py").write_text(PROFILE + f"profile = ProviderProfile(name='tp-instance-{token}')\n")
    (site / f"{mods['hermes']}.py").write_text("from hermes_cli.auth_device_flow import something\n")
    (site / f"{mods['newer']}.py").write_text(PROFILE + (
        f"register_provider(ProviderProfile(name='tp-newer-{token}', auth_handler=print,"
        " unsupported_response_formats=('json_schema',), supports_vision_tool_messages=False))\n"))
    (site / f"{mods['client']}.py").write_text(PROFILE + (
        "class P(ProviderProfile):\n"
        "    def create_client(self, **kw):\n"
        "        return object()\n"
        f"register_provider(P(name='tp-client-{token}'))\n"))
    (site / f"{mods['tools']}.py").write_text(
        "def register(ctx):\n"
        "    ctx.register_tool('x', {}, print)\n"
        "    ctx.register_hook('pre_llm_call', print)\n")
    write_distribution(site, f"zz-tp-{token}", entry_points=(
        "[hermes_agent.model_providers]\n"
        f"tp-noarg = {mods['noarg']}:register\n"
        f"tp-both = {mods['both']}:register\n"
        "\n[hermes_agent.plugins]\n"
        f"tp-ctx = {mods['ctx']}\n"
        f"tp-both = {mods['both']}\n"
        f"tp-instance = {mods['instance']}:profile\n"
        f"tp-hermes = {mods['hermes']}\n"
        f"tp-newer = {mods['newer']}\n"
        f"tp-client = {mods['client']}\n"
        f"tp-tools = {mods['tools']}\n"
    ))
    fresh_unit_env.config_path.write_text(f"plugins:\n  enabled: [zz-tp-{token}]\n")  # entry points are opt-in
    with on_sys_path(site, list(mods.values())):
        yield token, mods


def infos() -> dict[str, providers.PluginInfo]:
    return {p.name: p for p in providers.list_plugins() if p.source == "entry_point"}


def test_calling_convention_of_each_entry_point_kind(distribution: Any) -> None:
    token, mods = distribution
    providers.reload()
    found = infos()
    assert sys.modules[mods["noarg"]].CALLS == [()]  # register() gets nothing
    [ctx] = sys.modules[mods["ctx"]].CONTEXTS  # register(ctx=None) gets a context
    assert isinstance(ctx, providers.discovery.PluginContext) and ctx.name == "tp-ctx"
    for kind in ("noarg", "ctx", "both", "instance", "newer"):
        assert found[f"tp-{kind}"].provider_names == [f"tp-{kind}-{token}"], kind
        assert providers.provider_origin(f"tp-{kind}-{token}").source == "entry_point"
    assert found["tp-noarg"].entry_point == f"hermes_agent.model_providers: tp-noarg = {mods['noarg']}:register"
    # One module in two groups runs once, through its register; registering twice is no override.
    assert [p.entry_point for p in providers.list_plugins() if p.name == "tp-both"] == [
        f"hermes_agent.model_providers: tp-both = {mods['both']}:register"]
    assert providers.provider_origin(f"tp-both-{token}").overrides is None
    assert found["tp-tools"].ignored == ["register_tool", "register_hook"] and found["tp-tools"].error is None


def test_every_entry_point_ends_registered_disabled_or_reported(distribution: Any) -> None:
    token, mods = distribution
    providers.reload()
    found = infos()
    errors = {e.plugin: e for e in providers.plugin_errors() if e.source == "entry_point"}
    assert errors["tp-hermes"].message.startswith(
        "needs Hermes' hermes_cli.auth_device_flow, which hermesd does not provide")
    assert errors["tp-hermes"].entry_point == f"hermes_agent.plugins: tp-hermes = {mods['hermes']}"
    assert errors["tp-client"].message == (
        f"profile 'tp-client-{token}' needs Hermes >= 0.20.0's create_client, not supported: "
        "hermesd sends every request with its own client, so this provider cannot work here")
    assert providers.get_provider_profile(f"tp-client-{token}") is None
    for info in found.values():
        assert info.provider_names or info.error or info.disabled or info.ignored, info
    checks = {c.id: c for c in doctor.plugin_checks()}
    assert checks["plugin:tp-client"].status == "fail" and "create_client" in checks["plugin:tp-client"].summary
    assert "(hermes_agent.plugins: tp-client = " in checks["plugin:tp-client"].summary
    assert checks["plugin:tp-tools"].status == "warn" and "register_hook, register_tool" in checks["plugin:tp-tools"].summary


def test_plugins_disabled_by_entry_point_or_distribution_name(distribution: Any, fresh_unit_env: UnitEnv) -> None:
    token, mods = distribution
    fresh_unit_env.config_path.write_text(f"plugins:\n  disabled: [tp-noarg, zz-tp-{token}]\n")
    providers.reload()
    found = infos()
    assert all(info.disabled and not info.provider_names for info in found.values())
    assert not [p for p in providers.list_providers() if p.name.endswith(token)]
    checks = {c.id: c for c in doctor.plugin_checks()}
    assert checks["plugin:tp-noarg"].status == "warn"
    assert "is installed but not loaded: plugins.disabled in config.yaml names it" in checks["plugin:tp-noarg"].summary
    assert checks["plugin:tp-noarg"].hint == "to load it, remove 'tp-noarg' from plugins.disabled in config.yaml"
    fresh_unit_env.config_path.write_text(f"plugins:\n  enabled: [zz-tp-{token}]\n  disabled: []\n")
    assert providers.plugins_changed()  # plugins.disabled is part of the fingerprint
    providers.reload()
    assert providers.get_provider_profile(f"tp-noarg-{token}") is not None
    fresh_unit_env.config_path.write_text(f"model:\n  default: m\nplugins:\n  enabled: [zz-tp-{token}]\n  disabled: []\n")
    assert not providers.plugins_changed()  # other keys do not reload plugins


def test_directory_plugin_with_register_only_is_registered(fresh_unit_env: UnitEnv) -> None:
    """tokenlab's layout as a $HERMES_HOME directory: nothing registers on import, register(ctx) does."""
    write_plugin(fresh_unit_env.user_plugins, "reg-only", PROFILE + (
        "def register(ctx=None):\n"
        "    register_provider(ProviderProfile(name='reg-only'))\n"))
    write_plugin(fresh_unit_env.user_plugins, "unwanted", simple_plugin("unwanted-provider"))
    fresh_unit_env.config_path.write_text("plugins:\n  disabled: [unwanted]\n")
    providers.reload()
    assert providers.provider_origin("reg-only").source == "user"
    assert providers.get_provider_profile("unwanted-provider") is None
    assert {p.name: p.disabled for p in providers.list_plugins() if p.source == "user"} == {"unwanted": True, "reg-only": False}


# -- the profile API ---------------------------------------------------------------


def test_newer_fields_are_kept_and_named_in_doctor(distribution: Any) -> None:
    token, _ = distribution
    providers.reload()
    profile = providers.get_provider_profile(f"tp-newer-{token}")
    assert newer_fields(profile) == {"auth_handler": print, "unsupported_response_formats": ("json_schema",)}
    assert profile.unsupported_response_formats == ("json_schema",) and profile.supports_vision_tool_messages is False
    [check] = [c for c in doctor.plugin_checks() if c.id == f"profile:tp-newer-{token}"]
    assert check.status == "warn" and "sets auth_handler, unsupported_response_formats, from a Hermes release newer" in check.summary


def test_a_newer_field_never_shadows_a_hook() -> None:
    profile = ProviderProfile(name="x", fetch_models="not callable")
    assert callable(profile.fetch_models) and newer_fields(profile) == {"fetch_models": "not callable"}
    assert missing_hooks(profile) == {}
    assert profile.default_vision_model() is None


def test_text_only_tool_messages_for_a_provider_that_says_so() -> None:
    image_result = {"role": "tool", "tool_call_id": "c1", "content": [
        {"type": "text", "text": "screenshot taken"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}]}
    bare_image = {"role": "tool", "tool_call_id": "c2", "content": [{"type": "image_url", "image_url": {"url": "data:x"}}]}
    messages = [{"role": "user", "content": "look"}, image_result, bare_image]
    sent = {}
    for takes_lists in (True, False):
        profile = ProviderProfile(name="mimo", base_url="https://m.example.com/v1", supports_vision_tool_messages=takes_lists)
        resolved = Resolved("mimo", profile, "m", profile.base_url, "chat_completions", None, None)
        sent[takes_lists] = chat_completions.build(resolved, messages, ChatOptions()).body["messages"]
    assert sent[True][1:] == [image_result, bare_image]
    assert sent[False][1:] == [{**image_result, "content": "screenshot taken"}, {**bare_image, "content": "[multimodal tool result]"}]
    assert messages[1]["content"][0]["type"] == "text"  # the caller's list is not changed


# -- hermes_cli helpers in hermesd.compat ------------------------------------------


def test_hermes_cli_helpers_plugins_import(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    compat.install()
    from hermes_cli.auth_oauth_pkce_plugin import OAuthPKCEConfig, pkce_auth_handler, pkce_refresh_credential
    from hermes_cli.config import get_env_value
    from hermes_cli.plugins import PluginContext

    assert PluginContext is providers.discovery.PluginContext
    (fresh_unit_env.home / ".env").write_text("NANOGPT_MODEL_LIST_ENDPOINT=paid\n")
    assert get_env_value("NANOGPT_MODEL_LIST_ENDPOINT") == "paid"
    monkeypatch.setenv("NANOGPT_MODEL_LIST_ENDPOINT", "canonical")
    assert get_env_value("NANOGPT_MODEL_LIST_ENDPOINT") == "canonical"  # the environment first
    assert get_env_value("NOT_SET_ANYWHERE_X") is None
    oauth = OAuthPKCEConfig(client_id="c", authorize_url="https://a", token_url="https://t", label="ZenMux")
    with pytest.raises(RuntimeError, match="hermesd does not sign in to ZenMux over OAuth"):
        pkce_auth_handler(oauth)("add", None)
    with pytest.raises(RuntimeError, match="refresh tokens"):
        pkce_refresh_credential(oauth)({})


@pytest.fixture
def redirector() -> Iterator[tuple[str, list[str]]]:
    """``/same`` redirects within its origin, ``/away`` to another port; records the paths it serves."""
    seen: list[str] = []
    other = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            seen.append(self.path)
            targets = {"/same": "/models", "/away": f"http://127.0.0.1:{other.server_address[1]}/models"}
            if self.path in targets:
                self.send_response(302)
                self.send_header("Location", targets[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"data": [{"id": "m1"}]}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    try:
        with serving(Handler) as url:
            yield url, seen
    finally:
        other.server_close()


def test_open_credentialed_url_keeps_the_key_in_its_origin(redirector: tuple[str, list[str]]) -> None:
    compat.install()
    from hermes_cli.urllib_security import open_credentialed_url

    base, seen = redirector
    request = urllib.request.Request(base + "/same", headers={"Authorization": "Bearer k"})
    with open_credentialed_url(request, timeout=5) as response:
        assert response.read() == b'{"data": [{"id": "m1"}]}'
    assert seen == ["/same", "/models"]
    with pytest.raises(urllib.error.HTTPError, match="redirect to another origin refused"):
        open_credentialed_url(urllib.request.Request(base + "/away", headers={"x-api-key": "k"}), timeout=5)
    assert seen == ["/same", "/models", "/away"]


def test_catalog_fetch_through_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    """venice's and zenmux's fetch_models shape: a urllib request opened by the helper."""
    compat.install()
    from hermes_cli.urllib_security import open_credentialed_url

    with catalog_server((200, {"data": [{"id": "a"}]})) as server:
        with open_credentialed_url(urllib.request.Request(server.url + "/v1/models",
                                                          headers={"Authorization": "Bearer k"}), timeout=5) as r:
            assert r.status == 200
        assert server.requests[0].headers["authorization"] == "Bearer k"
