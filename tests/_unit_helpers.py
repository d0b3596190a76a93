"""Shared pieces of the unit tests (test_plugin_api, test_discovery, test_config,
test_runtime, test_wire, test_pareto, test_catalog_sessions).

Import the ``unit_env`` fixture into a test module to activate it there:

    from tests._unit_helpers import unit_env  # noqa: F401  (autouse fixture)

It gives every test its own ``HERMES_HOME`` and platform directories, removes
the developer's real keys, base URLs and proxies from the environment, and runs
a fresh provider discovery before the test, so registry state never leaks from
one test into another. Nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

import providers

BUNDLED_NAMES = (
    "ai-gateway", "alibaba", "alibaba-coding-plan", "anthropic", "arcee", "azure-foundry",
    "bedrock", "copilot", "copilot-acp", "custom", "deepinfra", "deepseek", "fireworks", "gemini", "gmi",
    "google-gemini-cli", "huggingface", "kilocode", "kimi-coding", "kimi-coding-cn", "minimax", "minimax-cn",
    "minimax-oauth", "nous", "novita", "nvidia", "ollama-cloud", "openai-codex", "opencode-go", "opencode-zen",
    "openrouter", "qwen-oauth", "stepfun", "upstage", "vertex", "xai", "xiaomi", "zai",
)
assert len(BUNDLED_NAMES) == 38

# Variables that could carry a real credential or point a provider elsewhere.
_SECRETISH = re.compile(r"(_API_KEY|_TOKEN|_KEY|_BASE_URL|_URL|_SECRET)$", re.IGNORECASE)
_KEEP = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV", "SYSTEMROOT"}
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@dataclass
class UnitEnv:
    home: Path
    cache: Path
    data: Path
    logs: Path

    @property
    def user_plugins(self) -> Path:
        return self.home / "plugins" / "model-providers"

    @property
    def general_plugins(self) -> Path:
        return self.home / "plugins"

    @property
    def config_path(self) -> Path:
        return self.home / "config.yaml"


def isolate(monkeypatch: pytest.MonkeyPatch, root: Path) -> UnitEnv:
    env = UnitEnv(root / "home", root / "cache", root / "data", root / "logs")
    for path in (env.home, env.cache, env.data, env.logs):
        path.mkdir(parents=True, exist_ok=True)
    for name in list(os.environ):
        if name not in _KEEP and _SECRETISH.search(name):
            monkeypatch.delenv(name, raising=False)
    for name in _PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.delenv("HERMES_INFERENCE_PROVIDER", raising=False)
    monkeypatch.setenv("HERMES_HOME", str(env.home))
    monkeypatch.setenv("HERMESD_CACHE_DIR", str(env.cache))
    monkeypatch.setenv("HERMESD_DATA_DIR", str(env.data))
    monkeypatch.setenv("HERMESD_LOG_DIR", str(env.logs))
    return env


# The registry as the last clean discovery (bundled plugins only, empty home)
# left it: the Registry object, and every profile's identity and field values.
_clean_state: tuple | None = None


def _registry_state() -> tuple:
    registry = providers._registry  # the live object: reload() replaces it
    profiles, aliases, origins = registry.snapshot()
    return (
        registry,
        tuple((name, id(p), repr(p)) for name, p in profiles.items()),
        tuple(sorted(aliases.items())),
        tuple((name, id(o)) for name, o in origins.items()),
        _openrouter_cache_keys(),
    )


def _openrouter_cache_keys() -> tuple:
    """The openrouter plugin module (a reload replaces it) and its process-wide catalog cache."""
    info = next((p for p in providers.list_plugins() if p.source == "bundled" and p.name == "openrouter"), None)
    module = sys.modules.get(info.module) if info is not None and info.module else None
    return module, tuple(getattr(module, "_CATALOG_CACHE", {}))


def _is_clean() -> bool:
    if _clean_state is None:
        return False
    now = _registry_state()
    return now[0] is _clean_state[0] and now[1:] == _clean_state[1:]


def clean_reload(home: Path) -> None:
    """A fresh discovery with ``home`` (an empty HERMES_HOME): bundled plugins only."""
    global _clean_state
    assert os.environ.get("HERMES_HOME") == str(home)
    _clean_state = None
    providers.reload()
    # Fixtures that patch where plugins come from must undo that themselves,
    # before this runs: a "clean" registry has every bundled provider, bundled.
    assert not providers.plugin_errors(), providers.plugin_errors()
    for name in BUNDLED_NAMES:
        origin = providers.provider_origin(name)
        assert origin is not None and origin.source == "bundled", (name, origin)
    _clean_state = _registry_state()


def _unit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force: bool) -> Iterator[UnitEnv]:
    env = isolate(monkeypatch, tmp_path / "unit")
    if force or not _is_clean():
        clean_reload(env.home)
    yield env
    if not _is_clean():
        # The test registered, reloaded or mutated something: leave a registry
        # of bundled plugins only for whatever runs next.
        empty = tmp_path / "unit-after"
        empty.mkdir(exist_ok=True)
        monkeypatch.setenv("HERMES_HOME", str(empty))
        clean_reload(empty)


@pytest.fixture(autouse=True)
def unit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UnitEnv]:
    """Isolated env; a fresh discovery whenever the registry is not pristine.

    "Pristine" is checked on every setup and teardown: the same Registry object
    as the last clean discovery, the same profiles with the same field values,
    aliases and origins. Anything a test registers, reloads or mutates makes
    the next setup (and this teardown) run ``providers.reload()``.
    """
    yield from _unit_env(tmp_path, monkeypatch, force=False)


@pytest.fixture(autouse=True)
def fresh_unit_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UnitEnv]:
    """Like ``unit_env``, but always runs ``providers.reload()`` before the test."""
    yield from _unit_env(tmp_path, monkeypatch, force=True)


# -- plugins -------------------------------------------------------------------


def write_plugin(root: Path, name: str, source: str, manifest: str | None = None, **files: str) -> Path:
    """``root/name/__init__.py`` (+ ``plugin.yaml`` and sibling modules); returns the directory."""
    plugin_dir = root / name
    plugin_dir.mkdir(parents=True, exist_ok=True)
    (plugin_dir / "__init__.py").write_text(textwrap.dedent(source), encoding="utf-8")
    if manifest is not None:
        (plugin_dir / "plugin.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    for filename, text in files.items():
        (plugin_dir / filename).write_text(textwrap.dedent(text), encoding="utf-8")
    return plugin_dir


def simple_plugin(name: str, base_url: str = "https://api.example.com/v1", **fields: Any) -> str:
    """Source of a plugin registering one plain profile."""
    extra = "".join(f"    {k}={v!r},\n" for k, v in fields.items())
    return (
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "register_provider(ProviderProfile(\n"
        f"    name={name!r},\n"
        f"    base_url={base_url!r},\n"
        f"{extra}"
        "))\n"
    )


def profile(name: str) -> Any:
    found = providers.get_provider_profile(name)
    assert found is not None, f"provider {name!r} is not registered"
    return found


def load_config(env: UnitEnv, data: dict[str, Any] | None = None) -> Any:
    """Write ``data`` as config.yaml (if given) and load it."""
    from hermesd.settings import config

    if data is not None:
        env.config_path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config.load(env.config_path)


# -- a local HTTP catalog server -------------------------------------------------


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]


@dataclass
class CatalogServer:
    """Answers GETs from a script of (status, payload); the last entry repeats."""

    url: str
    script: list[tuple[int, Any]]
    requests: list[Recorded] = field(default_factory=list)


@contextmanager
def catalog_server(*script: tuple[int, Any]) -> Iterator[CatalogServer]:
    state = CatalogServer(url="", script=list(script) or [(200, {"data": []})])
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            with lock:
                state.requests.append(Recorded(self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, payload = state.script.pop(0) if len(state.script) > 1 else state.script[0]
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as url:
        state.url = url
        yield state


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 in a thread; yields ``http://127.0.0.1:<port>``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def write_distribution(site: Path, name: str, version: str = "1.0", *, summary: str = "",
                       entry_points: str = "") -> Path:
    """An installed distribution's ``.dist-info`` in ``site``: its METADATA and, if given, its entry points."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    (info / "METADATA").write_text(metadata + (f"Summary: {summary}\n" if summary else ""))
    if entry_points:
        (info / "entry_points.txt").write_text(entry_points)
    return info


@contextmanager
def on_sys_path(site: Path, modules: Iterator[str] | list[str]) -> Iterator[None]:
    """``site`` importable (its dist-info's entry points visible) until the block ends; then ``modules`` forgotten."""
    import importlib

    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path.remove(str(site))
        importlib.invalidate_caches()
        for module in modules:
            sys.modules.pop(module, None)


# -- multiprocessing targets (must be importable by a spawned child) -------------


def config_writer(sys_path: list[str], config_file: str, prefix: str, count: int) -> None:
    """``count`` set_value calls, each to a key of its own (``<prefix>.k<i>``).

    Only the known keys can be written, and there are fewer than 40 of them,
    so the child registers throw-away string keys in its own copy of the key
    table. The locking and read-modify-write under test are the real ones.
    """
    sys.path[:0] = [p for p in sys_path if p not in sys.path]
    from hermesd.settings import config

    for i in range(count):
        name = f"{prefix}.k{i}"
        config.KEYS[name] = config.Key(name, "", config._string, "test key")
        config.set_value(name, f"{prefix}-{i}", path=Path(config_file))


def hermes_reference(name: str = "hermes-reference") -> Path | None:
    """A Hermes agent reference beside the repo (``../shared/<name>``), or None.

    ``hermes-reference`` is the seed snapshot (Hermes 0.13.0); ``hermes-reference-0.19``
    holds 0.19.0's provider tests. Looked up from the repository upwards, so a git
    worktree nested deeper than the main checkout finds it too; the variable
    ``HERMES_REFERENCE`` (``HERMES_REFERENCE_0_19``, ...) overrides. Tests that need it
    skip with a reason when it is absent (a user's clone).
    """
    variable = name.upper().replace("-", "_").replace(".", "_")
    override = os.environ.get(variable, "").strip()
    if override:
        path = Path(override).expanduser()
        return path if path.is_dir() else None
    repo = Path(__file__).resolve().parent.parent
    for parent in (repo, *repo.parents):
        candidate = parent / "shared" / name
        if parent != repo and candidate.is_dir():
            return candidate
    return None


# -- the canary key scan -------------------------------------------------------------


def canary_hits(root: Path) -> list[str]:
    """Files under ``root`` (but ``.env``) holding the canary key: plain, JSON-escaped or UTF-16."""
    from tests.conftest import CANARY_KEY

    needles = (CANARY_KEY.encode(), json.dumps(CANARY_KEY).encode()[1:-1], CANARY_KEY.encode("utf-16-le"))
    return [str(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and p.name != ".env" and any(n in p.read_bytes() for n in needles)]
