"""hermesd.compat: the Hermes internals real Hermes plugins import, and Hermes'
private registry names (``providers._REGISTRY`` and friends).

The behaviour is compared with Hermes' own code in test_hermes_conformance.py;
here: what is provided, where, and that nothing leaks outside the process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import providers
from hermesd import compat
from providers.base import ProviderProfile
from tests._unit_helpers import UnitEnv, fresh_unit_env  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent


def test_the_surface_is_importable_after_install() -> None:
    compat.install()
    compat.install()  # idempotent: one finder
    assert sum(isinstance(f, type(compat._finder)) for f in sys.meta_path) == 1
    import hermes_cli
    from agent.transports.chat_completions import (
        _build_gemini_thinking_config,
        _is_gemini_openai_compat_base_url,
        _snake_case_gemini_thinking_config,
    )
    from hermes_cli.models import github_model_reasoning_efforts

    assert hermes_cli.__version__ == "0.13.0"
    assert github_model_reasoning_efforts("gpt-5.4") == ["minimal", "low", "medium", "high"]
    assert github_model_reasoning_efforts("openai/o3-mini") == ["low", "medium", "high"]
    assert github_model_reasoning_efforts("claude-sonnet-4.6") == []
    config = _build_gemini_thinking_config("gemini-3-pro-preview", {"enabled": True, "effort": "xhigh"})
    assert config == {"includeThoughts": True, "thinkingLevel": "high"}
    assert _snake_case_gemini_thinking_config(config) == {"include_thoughts": True, "thinking_level": "high"}
    assert _is_gemini_openai_compat_base_url("https://generativelanguage.googleapis.com/v1beta/openai/")
    assert not _is_gemini_openai_compat_base_url("http://127.0.0.1:8080/openai")


def test_catalog_entries_decide_when_given() -> None:
    compat.install()
    from hermes_cli.models import github_model_reasoning_efforts as efforts

    catalog = [
        {"id": "gpt-5-mini", "capabilities": {"supports": {"reasoning_effort": ["Low", "high", "low"]}}},
        {"id": "claude-x", "capabilities": ["chat", "reasoning"]},
        {"id": "gpt-5.4", "capabilities": ["chat"]},
    ]
    assert efforts("openai/gpt-5", catalog=catalog) == ["low", "high"]  # alias -> gpt-5-mini's entry
    assert efforts("claude-x", catalog=catalog) == []  # legacy "reasoning": the id rule says none
    assert efforts("gpt-5.4", catalog=catalog) == []  # legacy list without "reasoning"
    assert efforts("", catalog=catalog) == []


def test_only_the_listed_names_are_provided() -> None:
    compat.install()
    for name in ("hermes_cli.auth_device_flow", "hermes_cli.plugins_cmd", "agent.prompt_builder", "agent.transports.base"):
        with pytest.raises(ModuleNotFoundError):
            __import__(name)


def test_uninstall_forgets_the_shims_and_install_brings_them_back() -> None:
    import hermes_cli

    compat.uninstall()
    try:
        assert "hermes_cli" not in sys.modules
        with pytest.raises(ModuleNotFoundError):
            __import__("hermes_cli")
    finally:
        compat.install()
    import hermes_cli as again

    assert again is not hermes_cli and again.__version__ == "0.13.0"


def test_nothing_is_installed_outside_a_process_that_asks() -> None:
    """No top-level files: a plain interpreter with hermesd importable has no hermes_cli or agent."""
    code = (
        "import importlib.util, hermesd, providers;"
        "print([n for n in ('hermes_cli', 'agent') if importlib.util.find_spec(n) is not None])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT / "docs")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_daemon_entry_installs_the_surface(tmp_path: Path) -> None:
    """Hermes' gmi plugin (``from hermes_cli import __version__``) loads under the CLI."""
    plugin = tmp_path / "home" / "plugins" / "model-providers" / "gmi"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(
        "from hermes_cli import __version__\n"
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "register_provider(ProviderProfile(name='gmi', base_url='https://api.gmi-serving.com/v1',\n"
        "    default_headers={'User-Agent': f'HermesAgent/{__version__}'}))\n",
        encoding="utf-8",
    )
    env = {"HERMES_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "hermesd", "providers", "--json"], capture_output=True, text=True,
                         timeout=60, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    assert listing["pluginErrors"] == []
    [gmi] = [row for row in listing["providers"] if row["name"] == "gmi"]
    assert gmi["source"] == "user"


# -- Hermes' private registry names ------------------------------------------------------


def test_registry_names_are_live_views(fresh_unit_env: UnitEnv) -> None:
    from providers import _ALIASES, _REGISTRY  # taken once, as Hermes' tests do

    assert _REGISTRY["openrouter"] is providers.get_provider_profile("openrouter")
    assert _ALIASES["or"] == "openrouter"
    assert len(_REGISTRY) == len(providers.list_providers()) == 38
    providers.reload()  # a new registry object: the views follow it
    assert _REGISTRY["openrouter"] is providers.get_provider_profile("or")


def test_clear_and_reset_rediscovers(fresh_unit_env: UnitEnv) -> None:
    """Hermes' reset idiom: clear both tables, mark undiscovered; the next look-up discovers again."""
    providers.register_provider(ProviderProfile(name="in-code"))
    providers._REGISTRY.clear()
    providers._ALIASES.clear()
    providers._discovered = False
    assert providers.get_provider_profile("kimi").name == "kimi-coding"
    assert "in-code" not in providers._REGISTRY
    assert len(providers._REGISTRY) == 38
    assert providers.plugin_errors() == []
    assert providers.provider_origin("openrouter").source == "bundled"


def test_setting_and_deleting_entries(fresh_unit_env: UnitEnv) -> None:
    profile = ProviderProfile(name="acme", aliases=("ac",))
    providers._REGISTRY["acme"] = profile
    assert providers.get_provider_profile("ac") is profile
    assert providers.provider_origin("acme").source == "runtime"
    with pytest.raises(ValueError, match="register_provider"):
        providers._REGISTRY["other-name"] = profile
    del providers._REGISTRY["acme"]
    assert "acme" not in providers._REGISTRY and providers.provider_origin("acme") is None


async def test_the_daemon_serves_the_surface_to_bundled_plugins(start_daemon) -> None:
    """The bundled gemini plugin builds its thinking config through the surface, inside the daemon."""
    from tests.conftest import CANARY_KEY, write_config

    home = Path(os.environ["HERMES_HOME"])  # this module's unit env moved it
    write_config(home, {"model": {"provider": "gemini", "default": "gemini-3-pro-preview",
                                           "reasoning_effort": "xhigh"}})
    daemon = await start_daemon(env={"GEMINI_API_KEY": CANARY_KEY})
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["body"]["extra_body"] == {"google": {"thinking_config": {"include_thoughts": True,
                                                                            "thinking_level": "high"}}}
