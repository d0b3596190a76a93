"""Bad plugins and bad config: each is skipped or refused with a message
naming the culprit, the other providers keep working, and the user's
config file is never lost, torn or overwritten when unreadable.

tests/test_daemon_e2e.py already covers a plugin raising at import and a
``build_extra_body`` that raises; this module covers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import pytest_asyncio
import yaml
from pygls.exceptions import JsonRpcException

from tests.conftest import CANARY_KEY, Daemon, write_config
from tests.daemon import alive, daemon_env, spawn_daemon, start_tcp, stop_daemon
from tests.lsp_client import LspClient
from tests.upstream import Upstream

module_loop = pytest.mark.asyncio(loop_scope="module")

PROFILE_IMPORTS = "from providers import register_provider\nfrom providers.base import ProviderProfile\n"


@pytest.fixture(scope="module")
def shared_upstream() -> Iterator[Upstream]:
    with Upstream() as up:
        yield up


@pytest.fixture
def up(shared_upstream: Upstream) -> Iterator[Upstream]:
    shared_upstream.reset()
    yield shared_upstream
    shared_upstream.reset()


@contextlib.asynccontextmanager
async def running(root: Path, extra_env: dict[str, str] | None = None) -> AsyncIterator[Daemon]:
    daemon = await spawn_daemon(daemon_env(root, extra_env))
    try:
        yield daemon
    finally:
        await stop_daemon(daemon)


# == bad plugins ================================================================================


def _plugin(home: Path, name: str, source: str) -> Path:
    directory = home / "plugins" / "model-providers" / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "__init__.py").write_text(source, encoding="utf-8")
    return directory


def _hook_plugin(home: Path, name: str, base_url: str, body: str, api_mode: str = "chat_completions") -> None:
    """A profile subclass overriding one hook with ``body`` (indented method source)."""
    _plugin(
        home,
        name,
        PROFILE_IMPORTS
        + "class Bad(ProviderProfile):\n"
        + body
        + f"register_provider(Bad(name={name!r}, api_mode={api_mode!r}, base_url={base_url!r}, "
        "env_vars=('PLUGIN_TEST_API_KEY',), fallback_models=('fallback-model',)))\n",
    )


LOAD_FAILURES = {
    # plugin directory: (source, expected message fragment, expected line)
    "bad-syntax": ("# a comment\n\ndef broken(:\n    pass\n", "SyntaxError", 3),
    "bad-import": ("import os\nimport hermesd_no_such_module_xyz\n", "ModuleNotFoundError", 2),
    "exits-at-import": ("import sys\nsys.exit(3)\n", "SystemExit", 2),
    "not-a-profile": (PROFILE_IMPORTS + "register_provider({'name': 'dict-not-profile'})\n", "TypeError", 3),
    "nameless": (PROFILE_IMPORTS + "register_provider(ProviderProfile(name=''))\n", "ValueError", 3),
    "half-registered": (
        PROFILE_IMPORTS + "register_provider(ProviderProfile(name='half-a'))\nraise RuntimeError('after registering')\n",
        "RuntimeError",
        4,
    ),
}

HOOKS = {
    # provider name: (method source, hook named in the error)
    "prepare-raises": ("    def prepare_messages(self, messages):\n        raise KeyError('no role')\n", "prepare_messages"),
    "prepare-wrong": ("    def prepare_messages(self, messages):\n        return 'not a list'\n", "prepare_messages"),
    "extra-wrong": ("    def build_extra_body(self, **context):\n        return ['not', 'a', 'dict']\n", "build_extra_body"),
    "extra-exits": ("    def build_extra_body(self, **context):\n        raise SystemExit('plugin called exit')\n", "build_extra_body"),
    "kwargs-raises": ("    def build_api_kwargs_extras(self, **context):\n        raise RuntimeError('kwargs boom')\n",
                      "build_api_kwargs_extras"),
    "kwargs-wrong": ("    def build_api_kwargs_extras(self, **context):\n        return {'not': 'a tuple'}\n",
                     "build_api_kwargs_extras"),
    "kwargs-wrong-parts": ("    def build_api_kwargs_extras(self, **context):\n        return ([], None)\n",
                           "build_api_kwargs_extras"),
    "maxtok-raises": ("    def get_max_tokens(self, model):\n        raise ZeroDivisionError('cap')\n", "get_max_tokens"),
    "maxtok-wrong": ("    def get_max_tokens(self, model):\n        return 'lots'\n", "get_max_tokens"),
}
ANTHROPIC_HOOKS = {
    "anthropic-maxtok-raises": ("    def get_max_tokens(self, model):\n        raise RuntimeError('cap')\n", "get_max_tokens"),
}
FETCHES = {
    "fetch-raises": "    def fetch_models(self, **kwargs):\n        raise ConnectionError('catalog down')\n",
    "fetch-wrong": "    def fetch_models(self, **kwargs):\n        return {'models': 'not a list'}\n",
    "fetch-exits": "    def fetch_models(self, **kwargs):\n        raise SystemExit(1)\n",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plugin_daemon(tmp_path_factory: pytest.TempPathFactory, shared_upstream: Upstream) -> AsyncIterator[Daemon]:
    root = tmp_path_factory.mktemp("plugins")
    home = root / "hermes-home"
    home.mkdir(exist_ok=True)
    base = f"{shared_upstream.url}/v1"
    for name, (source, _, _) in LOAD_FAILURES.items():
        _plugin(home, name, source)
    _plugin(home, "good-user", PROFILE_IMPORTS + f"register_provider(ProviderProfile(name='good-user', base_url={base!r}, "
            "env_vars=('PLUGIN_TEST_API_KEY',)))\n")
    for name, (body, _) in HOOKS.items():
        _hook_plugin(home, name, base, body)
    for name, (body, _) in ANTHROPIC_HOOKS.items():
        _hook_plugin(home, name, shared_upstream.url, body, api_mode="anthropic_messages")
    for name, body in FETCHES.items():
        _hook_plugin(home, name, base, body)
    _hook_plugin(home, "catalog-raises", base, "    def catalog_url(self, base_url=None):\n        raise RuntimeError('no catalog')\n")
    env = {"PLUGIN_TEST_API_KEY": CANARY_KEY, "DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": base}
    daemon = await spawn_daemon(daemon_env(root, env))
    yield daemon
    await stop_daemon(daemon)


async def _others_still_work(daemon: Daemon, up: Upstream) -> None:
    up.reply_text = "fine"
    for provider, model in (("good-user", "m"), ("deepseek", "deepseek-chat")):
        result = await daemon.request("hermes/chat", {"provider": provider, "model": model, "message": "hi"})
        assert result["stopReason"] == "end_turn" and result["text"] == "fine", result
    assert alive(daemon)


@module_loop
async def test_plugins_that_fail_to_load_are_reported_and_skipped(plugin_daemon: Daemon, up: Upstream) -> None:
    listing = await plugin_daemon.request("hermes/listProviders")
    errors = {e["plugin"]: e for e in listing["pluginErrors"]}
    assert set(errors) == set(LOAD_FAILURES)
    for name, (_, fragment, line) in LOAD_FAILURES.items():
        assert fragment in errors[name]["message"], errors[name]
        assert errors[name]["line"] == line, errors[name]
        assert errors[name]["path"].endswith(f"{name}/__init__.py")
    names = {p["name"] for p in listing["providers"]}
    assert "half-a" not in names  # what a failing plugin registered is rolled back
    assert "dict-not-profile" not in names
    assert {"good-user", "deepseek", "openrouter", *HOOKS, *FETCHES} <= names
    assert len([p for p in listing["providers"] if p["source"] == "bundled"]) == 38

    doctor = await plugin_daemon.request("hermes/doctor", {"probe": False})
    checks = {c["id"]: c for c in doctor["checks"]}
    for name, (_, fragment, line) in LOAD_FAILURES.items():
        check = checks[f"plugin:{name}"]
        assert check["status"] == "fail" and fragment in check["summary"]
        assert f"{name}/__init__.py line {line}" in check["hint"]
    await _others_still_work(plugin_daemon, up)


@module_loop
@pytest.mark.parametrize("provider", [*HOOKS, *ANTHROPIC_HOOKS])
async def test_a_hook_that_raises_or_returns_the_wrong_type_fails_only_its_chat(
    plugin_daemon: Daemon, up: Upstream, provider: str
) -> None:
    hook = {**HOOKS, **ANTHROPIC_HOOKS}[provider][1]
    result = await plugin_daemon.request("hermes/chat", {"provider": provider, "model": "m1", "message": "hi"})
    assert result["stopReason"] == "error", result
    error = result["error"]
    assert error["kind"] == "plugin_error"
    assert provider in error["message"], error
    assert hook in error["message"] or "called exit" in error["message"], error
    assert f"{provider}/__init__.py" in error["hint"]
    assert up.requests == []  # nothing was sent
    saved = await plugin_daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert saved["messages"][-1]["error"]["kind"] == "plugin_error"
    with pytest.raises(JsonRpcException) as info:  # the preview says the same thing
        await plugin_daemon.request("hermes/previewRequest", {"provider": provider, "model": "m1", "message": "hi"})
    assert info.value.code == -32602 and provider in info.value.message
    await _others_still_work(plugin_daemon, up)


@module_loop
@pytest.mark.parametrize("provider", list(FETCHES))
async def test_a_fetch_models_that_fails_falls_back_to_the_curated_list(plugin_daemon: Daemon, up: Upstream, provider: str) -> None:
    result = await plugin_daemon.request("hermes/listModels", {"provider": provider, "refresh": True})
    assert result["source"] == "fallback"
    assert [m["id"] for m in result["models"]] == ["fallback-model"]
    assert result["error"]
    if provider != "fetch-wrong":
        assert "fetch_models raised" in result["error"]
    await _others_still_work(plugin_daemon, up)


@module_loop
async def test_a_plugin_failing_during_a_doctor_probe_fails_only_its_check(plugin_daemon: Daemon, up: Upstream) -> None:
    doctor = await plugin_daemon.request("hermes/doctor", {"providers": ["catalog-raises", "good-user", "fetch-exits"]})
    checks = {c["id"]: c for c in doctor["checks"]}
    broken = checks["provider:catalog-raises"]
    assert broken["status"] == "fail" and "catalog-raises" in broken["summary"] and "no catalog" in broken["summary"]
    assert "catalog-raises/__init__.py" in broken["hint"]
    assert checks["provider:good-user"]["status"] == "ok"
    assert checks["provider:fetch-exits"]["status"] == "ok"  # probes GET the catalog; fetch_models is not called
    await _others_still_work(plugin_daemon, up)


@module_loop
async def test_api_mode_for_model_calling_exit_does_not_stop_the_daemon(tmp_path: Path) -> None:
    home = tmp_path / "hermes-home"
    _plugin(home, "exiter", PROFILE_IMPORTS + "import sys\nclass Exiter(ProviderProfile):\n"
            "    def api_mode_for_model(self, model):\n        sys.exit(2)\n"
            "register_provider(Exiter(name='exiter', base_url='http://127.0.0.1:9/v1', fallback_models=('m',)))\n")
    async with running(tmp_path) as daemon:
        for method, params in (("hermes/chat", {"provider": "exiter", "model": "m", "message": "hi"}),
                               ("hermes/doctor", {"providers": ["exiter"]}),
                               ("hermes/listModels", {"provider": "exiter"})):
            with contextlib.suppress(JsonRpcException):
                await daemon.request(method, params, timeout=10)
            assert alive(daemon), method


@module_loop
async def test_doctor_warns_when_a_plugin_directory_is_writable_by_others(tmp_path: Path) -> None:
    plugins = tmp_path / "hermes-home" / "plugins" / "model-providers"
    plugins.mkdir(parents=True)
    os.chmod(plugins, 0o777)
    async with running(tmp_path) as daemon:
        doctor = await daemon.request("hermes/doctor", {"probe": False})
    warnings = [c for c in doctor["checks"] if c["id"] == "plugins:permissions"]
    assert warnings and warnings[0]["status"] == "warn"
    assert str(plugins) in warnings[0]["summary"] and "chmod go-w" in warnings[0]["hint"]


# == bad config ===================================================================================


@module_loop
async def test_invalid_yaml_runs_on_defaults_refuses_writes_and_recovers_once_fixed(tmp_path: Path, up: Upstream) -> None:
    home = tmp_path / "hermes-home"
    home.mkdir(exist_ok=True)
    path = home / "config.yaml"
    path.write_text("model:\n  provider: deepseek\n  default: [unclosed\nnetwork:\n  timeout: 5\n", encoding="utf-8")
    before = path.read_bytes()
    env = {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{up.url}/v1"}
    async with running(tmp_path, env) as daemon:
        config = await daemon.request("hermes/getConfig")
        [error] = [e for e in config["errors"] if "line" in e]
        assert error["line"] == 4 and str(path) in error["message"]
        assert config["config"]["model"]["provider"] == "" and config["config"]["network"]["timeout"] == 120.0

        doctor = await daemon.request("hermes/doctor", {"probe": False})
        check = next(c for c in doctor["checks"] if c["id"] == "config")
        assert check["status"] == "fail" and f"{path} line 4" in check["summary"]

        for key, value in (("model.default", "x"), ("network.timeout", 30)):
            with pytest.raises(JsonRpcException) as info:
                await daemon.request("hermes/setConfig", {"key": key, "value": value})
            assert info.value.code == -32002 and f"{path}:4" in info.value.message
        with pytest.raises(JsonRpcException) as info:
            await daemon.request("hermes/setConfig", {"key": "model.default", "reset": True})
        assert info.value.code == -32002
        assert path.read_bytes() == before
        assert sorted(p.name for p in home.iterdir()) == ["config.yaml", "config.yaml.lock"]  # no .bak, no temp

        # Chats still work on the defaults, naming the provider explicitly.
        result = await daemon.request("hermes/chat", {"provider": "deepseek", "model": "deepseek-chat", "message": "hi"})
        assert result["stopReason"] == "end_turn", result

        # The CLI refuses too, with its config exit code.
        cli = subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "model.default", "x"],
                             env=daemon_env(tmp_path), capture_output=True, text=True, timeout=60)
        assert cli.returncode == 3 and "config.yaml:4" in cli.stderr
        assert path.read_bytes() == before

        # Fixed by hand: picked up at the next request, no restart.
        path.write_text("model:\n  provider: deepseek\n  default: deepseek-chat\n", encoding="utf-8")
        assert (await daemon.request("hermes/getConfig"))["errors"] == []
        assert (await daemon.request("hermes/setConfig", {"key": "network.timeout", "value": 30}))["value"] == 30.0
        assert alive(daemon)


PATHOLOGICAL = {
    "bad-date": b"model:\n  default: x\nreleased: 2024-13-45\n",
    "bad-tag": b"network:\n  timeout: !!int soon\n",
    "python-tag": b"model:\n  default: !!python/object/apply:os.system ['true']\n",
    "self-alias": b"openrouter:\n  provider_preferences: &p {a: *p}\n",
    "deep": b"a: " + b"[" * 200 + b"]" * 200 + b"\n",
    "top-level-list": b"- model\n- network\n",
    "not-utf8": b"model:\n  default: \xff\xfe\n",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def config_daemon(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Daemon, Path]]:
    root = tmp_path_factory.mktemp("config")
    daemon = await spawn_daemon(daemon_env(root))
    yield daemon, root / "hermes-home" / "config.yaml"
    await stop_daemon(daemon)


@module_loop
@pytest.mark.parametrize("case", list(PATHOLOGICAL))
async def test_a_file_yaml_cannot_build_is_unreadable_not_fatal(config_daemon: tuple[Daemon, Path], case: str) -> None:
    """Values PyYAML parses but cannot construct (or that refer to themselves) must not break every request."""
    daemon, path = config_daemon
    path.write_bytes(PATHOLOGICAL[case])
    try:
        config = await daemon.request("hermes/getConfig")
        assert config["errors"] and str(path) in config["errors"][0]["message"]
        assert config["config"]["network"]["timeout"] == 120.0
        doctor = await daemon.request("hermes/doctor", {"probe": False})
        assert next(c for c in doctor["checks"] if c["id"] == "config")["status"] == "fail"
        with pytest.raises(JsonRpcException) as info:
            await daemon.request("hermes/setConfig", {"key": "model.default", "value": "y"})
        assert info.value.code == -32002
        assert path.read_bytes() == PATHOLOGICAL[case]
        assert (await daemon.request("hermes/listProviders"))["current"] == {"provider": "", "model": "", "label": ""}
        assert alive(daemon)
    finally:
        path.unlink()


@module_loop
async def test_wrong_types_in_the_file_are_ignored_with_a_doctor_warning(tmp_path: Path, up: Upstream) -> None:
    home = tmp_path / "hermes-home"
    home.mkdir(exist_ok=True)
    write_config(home, {
        "model": {"provider": "deepseek", "default": "deepseek-chat", "max_tokens": -5, "temperature": "warm",
                  "api_mode": "grpc"},
        "network": {"timeout": "soon", "max_retries": 99},
        "openrouter": {"min_coding_score": 7, "provider_preferences": "cheapest"},
        "context": "big",
        "catalog": {"ttl_seconds": [1]},
    })
    env = {"DEEPSEEK_API_KEY": CANARY_KEY, "DEEPSEEK_BASE_URL": f"{up.url}/v1"}
    bad_keys = ["model.max_tokens", "model.temperature", "model.api_mode", "network.timeout", "network.max_retries",
                "openrouter.min_coding_score", "openrouter.provider_preferences", "catalog.ttl_seconds"]
    async with running(tmp_path, env) as daemon:
        config = await daemon.request("hermes/getConfig")
        effective, defaults = config["config"], config["defaults"]
        for key in bad_keys:
            section, name = key.split(".")
            # The score is read as Hermes reads it (no floor), not replaced by the default.
            expected = None if key == "openrouter.min_coding_score" else defaults[section][name]
            assert effective[section][name] == expected, key
        assert effective["context"] == defaults["context"]
        messages = " | ".join(e["message"] for e in config["errors"])
        for key in [*bad_keys, "context"]:
            assert key in messages, key

        doctor = await daemon.request("hermes/doctor", {"probe": False})
        warned = " | ".join(c["summary"] for c in doctor["checks"] if c["id"] == "config:value" and c["status"] == "warn")
        for key in [*bad_keys, "context"]:
            assert key in warned, key

        result = await daemon.request("hermes/chat", {"message": "hi"})
        assert result["stopReason"] == "end_turn", result
        body = up.requests[-1].json
        assert "max_tokens" not in body and "temperature" not in body
        assert up.requests[-1].path == "/v1/chat/completions"  # api_mode "grpc" ignored


@module_loop
async def test_unknown_keys_survive_a_write_and_the_previous_file_is_the_backup(tmp_path: Path) -> None:
    home = tmp_path / "hermes-home"
    home.mkdir(exist_ok=True)
    path = home / "config.yaml"
    path.write_text(
        "model:\n"
        "  default: deepseek-chat\n"
        "  future_option: [1, 2, {deep: true}]\n"
        "agent_only:\n"
        "  memory: {enabled: true, limit: 5}\n"
        "  released: 2024-05-01\n"
        "  name: \"Hermès ☤\"\n"
        "toolsets:\n"
        "- web\n"
        "- terminal\n",
        encoding="utf-8",
    )
    before_text = path.read_text(encoding="utf-8")
    before = yaml.safe_load(before_text)
    async with running(tmp_path, {"DEEPSEEK_API_KEY": "sk-test-deepseek-123456"}) as daemon:  # a provider is refused without its key
        config = await daemon.request("hermes/getConfig")  # a YAML date is not JSON: still answered
        assert config["config"]["agent_only"]["memory"] == {"enabled": True, "limit": 5}
        assert config["config"]["toolsets"] == ["web", "terminal"]
        await daemon.request("hermes/setConfig", {"key": "model.provider", "value": "deepseek"})
        await daemon.request("hermes/setConfig", {"key": "network.timeout", "value": 45})
        await daemon.request("hermes/setConfig", {"key": "model.default", "reset": True})
    after = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert after["agent_only"] == before["agent_only"]
    assert after["toolsets"] == before["toolsets"]
    assert after["model"] == {"future_option": [1, 2, {"deep": True}], "provider": "deepseek"}
    assert after["network"] == {"timeout": 45.0}
    backup = yaml.safe_load((home / "config.yaml.bak").read_text(encoding="utf-8"))
    assert backup["network"] == {"timeout": 45.0} and backup["model"]["default"] == "deepseek-chat"
    assert oct(path.stat().st_mode & 0o777) == "0o600"


@module_loop
async def test_a_symlinked_config_stays_a_symlink(tmp_path: Path) -> None:
    """Dotfile managers link ~/.hermes/config.yaml elsewhere; a write must not replace the link."""
    home = tmp_path / "hermes-home"
    home.mkdir(exist_ok=True)
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    (dotfiles / "hermes.yaml").write_text("model:\n  default: a\n", encoding="utf-8")
    (home / "config.yaml").symlink_to(dotfiles / "hermes.yaml")
    async with running(tmp_path) as daemon:
        await daemon.request("hermes/setConfig", {"key": "model.default", "value": "b"})
        assert (await daemon.request("hermes/getConfig"))["config"]["model"]["default"] == "b"
    assert (home / "config.yaml").is_symlink()
    assert yaml.safe_load((dotfiles / "hermes.yaml").read_text())["model"]["default"] == "b"


# -- concurrent writers ------------------------------------------------------------------------------

KEYS_A = {"model.default": lambda i: f"model-{i}", "model.temperature": lambda i: round(0.1 * (i % 10), 1),
          "context.budget_tokens": lambda i: 1000 + i, "network.max_retries": lambda i: i % 10}
KEYS_B = {"auxiliary.model": lambda i: f"aux-{i}", "model.max_tokens": lambda i: 100 + i,
          "context.keep_recent_messages": lambda i: 2 + i, "catalog.ttl_seconds": lambda i: 60 + i}


def _effective(path: Path, key: str) -> Any:
    """The key as written (an alias such as network.max_retries is written as its Hermes key)."""
    from hermesd.settings import config

    raw = config.migrate(yaml.safe_load(path.read_text(encoding="utf-8")))
    alias = config.ALIASES.get(key)
    node: Any = raw
    for part in (alias.canonical if alias else key).split("."):
        node = node[part]
    return alias.from_canonical(node) if alias else node


@module_loop
async def test_two_daemons_writing_different_keys_lose_no_update(tmp_path: Path) -> None:
    env = daemon_env(tmp_path)
    first, second = await asyncio.gather(spawn_daemon(env), spawn_daemon(env))
    try:
        for round_ in range(3):
            writes = [first.request("hermes/setConfig", {"key": k, "value": v(round_)}) for k, v in KEYS_A.items()]
            writes += [second.request("hermes/setConfig", {"key": k, "value": v(round_)}) for k, v in KEYS_B.items()]
            await asyncio.gather(*writes)
            path = tmp_path / "hermes-home" / "config.yaml"
            for key, value in {**KEYS_A, **KEYS_B}.items():
                assert _effective(path, key) == value(round_), (round_, key)
    finally:
        await asyncio.gather(stop_daemon(first), stop_daemon(second))


async def test_two_clients_of_one_daemon_writing_different_keys_lose_no_update(tmp_path: Path) -> None:
    daemon = start_tcp(daemon_env(tmp_path))
    try:
        a, b = await LspClient.connect(daemon.port), await LspClient.connect(daemon.port)
        for client in (a, b):
            await client.initialize({"token": daemon.token}, initialized=False)
        path = tmp_path / "hermes-home" / "config.yaml"
        for round_ in range(3):
            async def burst(client: LspClient, keys: dict[str, Any]) -> list[dict[str, Any]]:
                """Every write of the burst is in flight before the first reply is read."""
                pending = [client.call("hermes/setConfig", {"key": key, "value": value(round_)})
                           for key, value in keys.items()]
                return [reply for reply in await asyncio.gather(*pending) if "error" in reply]

            failures = await asyncio.gather(burst(a, KEYS_A), burst(b, KEYS_B))
            assert failures == [[], []]
            for key, value in {**KEYS_A, **KEYS_B}.items():
                assert _effective(path, key) == value(round_), (round_, key)
        assert daemon.proc.poll() is None
        for client in (a, b):
            await client.close()
    finally:
        daemon.stop()


# -- killed mid-write -----------------------------------------------------------------------------

_WRITER = """
import itertools, sys
from hermesd.settings import config
path = config.config_path()
for i in itertools.count():
    config.set_value("context.budget_tokens", 1000 + i)
    config.set_value("model.default", "m" * (i % 5000))  # sizes vary: a torn file would show
"""


def test_a_write_after_one_killed_between_its_backup_and_its_rename_leaves_no_temp_file(tmp_path: Path) -> None:
    """The state a writer killed after renaming its backup into place, before renaming the new file in,
    leaves: config.yaml.bak is config.yaml (one file, two names). The next write's staged backup is a
    third name for it, and POSIX rename() between two names of one file does nothing: the staged
    ``.bak.tmp`` stayed (issue 25; the killed-writer test below found it under load)."""
    home = tmp_path / "hermes-home"
    path = home / "config.yaml"
    path.write_text("keep_me: {unknown: true}\n", encoding="utf-8")
    os.link(path, home / "config.yaml.bak")
    env = daemon_env(tmp_path)
    subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "network.timeout", "30"], env=env, check=True,
                   capture_output=True, timeout=60)
    leftovers = sorted(p.name for p in home.iterdir() if p.name not in ("config.yaml", "config.yaml.bak", "config.yaml.lock"))
    assert leftovers == []
    assert yaml.safe_load((home / "config.yaml.bak").read_text(encoding="utf-8")) == {"keep_me": {"unknown": True}}
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["network"]["timeout"] == 30


def test_a_writer_killed_mid_write_leaves_the_old_or_the_new_file(tmp_path: Path) -> None:
    env = daemon_env(tmp_path)
    home = tmp_path / "hermes-home"
    path = home / "config.yaml"
    path.write_text("keep_me: {unknown: true}\n", encoding="utf-8")
    rng = random.Random(8)
    kills = 0
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER], env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (home / "config.yaml.bak").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # the interpreter is up and writing
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        kills += 1
        data = yaml.safe_load(path.read_text(encoding="utf-8"))  # parses: never torn
        assert data["keep_me"] == {"unknown": True}
        assert isinstance(data["context"]["budget_tokens"], int)
        backup = yaml.safe_load((home / "config.yaml.bak").read_text(encoding="utf-8"))
        assert backup["keep_me"] == {"unknown": True}
    assert kills == 12
    # The next write clears what the killed writers left behind.
    subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "network.timeout", "30"], env=env, check=True,
                   capture_output=True, timeout=60)
    leftovers = sorted(p.name for p in home.iterdir() if p.name not in ("config.yaml", "config.yaml.bak", "config.yaml.lock"))
    assert leftovers == []
