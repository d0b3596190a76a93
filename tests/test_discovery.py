"""Plugin discovery: the seed's own examples, the four sources and their
order, broken plugins, manifests, the source heuristic, and reload.

Every test has its own temporary HERMES_HOME; the one test that must create
a legacy single-file plugin in the real ``providers/`` directory removes it
in a ``finally``.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import providers
from hermesd.settings import config as hconfig
from hermesd.engine import runtime
from hermesd.wire import ChatOptions
from hermesd.wire import chat_completions
from providers import get_provider_profile, list_providers
from providers.base import ProviderProfile
from providers.discovery import hermes_home, legacy_dir
from tests._unit_helpers import (  # noqa: F401  (fresh_unit_env is an autouse fixture)
    BUNDLED_NAMES,
    UnitEnv,
    fresh_unit_env,
    on_sys_path,
    profile,
    simple_plugin,
    write_distribution,
    write_plugin,
)

ROOT = Path(__file__).resolve().parent.parent

# -- the seed's examples, verbatim (seeds/002) ----------------------------------

ACME_INIT = '''\
# plugins/model-providers/acme-inference/__init__.py
from providers import register_provider
from providers.base import ProviderProfile

acme = ProviderProfile(
    name="acme-inference",
    aliases=("acme",),
    display_name="Acme Inference",
    description="Acme — OpenAI-compatible direct API",
    signup_url="https://acme.example.com/keys",
    env_vars=("ACME_API_KEY", "ACME_BASE_URL"),
    base_url="https://api.acme.example.com/v1",
    auth_type="api_key",
    default_aux_model="acme-small-fast",
    fallback_models=(
        "acme-large-v3",
        "acme-medium-v3",
        "acme-small-fast",
    ),
)

register_provider(acme)
'''

ACME_YAML = '''\
# plugins/model-providers/acme-inference/plugin.yaml
name: acme-inference
kind: model-provider
version: 1.0.0
description: Acme Inference — OpenAI-compatible direct API
author: Your Name
'''

GMI_OVERRIDE = '''\
from providers import register_provider
from providers.base import ProviderProfile

register_provider(ProviderProfile(
    name="gmi",
    aliases=("gmi-cloud", "gmicloud"),
    env_vars=("GMI_API_KEY",),
    base_url="https://gmi-staging.internal.example.com/v1",
    auth_type="api_key",
    default_aux_model="google/gemini-3.1-flash-lite-preview",
))
'''

MY_PROVIDER = '''\
from providers import register_provider
from providers.base import ProviderProfile

register_provider(ProviderProfile(
    name="my-provider",
    env_vars=("MY_API_KEY",),
    base_url="https://api.my-provider.example.com/v1",
    auth_type="api_key",
))
'''

# The README's "Adding a new provider" example (seeds/002), verbatim.
YOUR_PROVIDER_INIT = '''\
from providers import register_provider
from providers.base import ProviderProfile

my_provider = ProviderProfile(
    name="your-provider",
    aliases=("alias1", "alias2"),
    display_name="Your Provider",
    description="One-line description shown in the setup picker",
    signup_url="https://your-provider.example.com/keys",
    env_vars=("YOUR_PROVIDER_API_KEY", "YOUR_PROVIDER_BASE_URL"),
    base_url="https://api.your-provider.example.com/v1",
    default_aux_model="your-cheap-model",
)

register_provider(my_provider)
'''

YOUR_PROVIDER_YAML = '''\
name: your-provider-profile
kind: model-provider
version: 1.0.0
description: Short sentence about the provider
author: Your Name
'''


def line_of(source: str, marker: str) -> int:
    """1-based line number of the first line containing ``marker``."""
    for number, line in enumerate(source.splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in source")


def errors_by_plugin() -> dict[str, providers.PluginError]:
    return {e.plugin: e for e in providers.plugin_errors()}


def plugins_by_name() -> dict[str, providers.PluginInfo]:
    return {p.name: p for p in providers.list_plugins()}


def assert_all_bundled_loaded() -> None:
    names = {p.name for p in list_providers()}
    missing = set(BUNDLED_NAMES) - names
    assert not missing, f"bundled providers missing: {sorted(missing)}"
    for name in BUNDLED_NAMES:
        assert providers.provider_origin(name).source in ("bundled", "user", "legacy"), name


# -- the seed's examples --------------------------------------------------------


def test_seed_acme_inference_plugin_verbatim(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plugin(fresh_unit_env.user_plugins, "acme-inference", ACME_INIT, ACME_YAML)
    providers.reload()

    acme = get_provider_profile("acme-inference")
    assert acme is not None
    assert get_provider_profile("acme") is acme
    assert acme.display_name == "Acme Inference"
    assert acme.description == "Acme — OpenAI-compatible direct API"
    assert acme.signup_url == "https://acme.example.com/keys"
    assert acme.env_vars == ("ACME_API_KEY", "ACME_BASE_URL")
    assert acme.key_env_vars == ("ACME_API_KEY",)
    assert acme.base_url_env_var == "ACME_BASE_URL"
    assert acme.base_url == "https://api.acme.example.com/v1"
    assert acme.auth_type == "api_key"
    assert acme.api_mode == "chat_completions"
    assert acme.default_aux_model == "acme-small-fast"
    assert acme.fallback_models == ("acme-large-v3", "acme-medium-v3", "acme-small-fast")

    origin = providers.provider_origin("acme")
    assert origin.source == "user" and origin.plugin == "acme-inference" and origin.overrides is None
    assert providers.plugin_errors() == []
    assert_all_bundled_loaded()
    assert len(list_providers()) == 39

    info = plugins_by_name()["acme-inference"]
    assert info.source == "user" and info.kind == "model-provider" and info.error is None
    assert info.provider_names == ["acme-inference"]
    assert info.manifest == {
        "name": "acme-inference",
        "kind": "model-provider",
        "version": "1.0.0",
        "description": "Acme Inference — OpenAI-compatible direct API",
        "author": "Your Name",
    }

    # "the following auto-wire with no other edits": URL reverse mapping, runtime.
    assert runtime.provider_for_url("https://api.acme.example.com/v1/chat") == "acme-inference"
    monkeypatch.setenv("ACME_API_KEY", "sk-acme-test-key")
    resolved = runtime.resolve(hconfig.load(fresh_unit_env.config_path), provider="acme", model="acme-large-v3")
    assert (resolved.provider, resolved.base_url, resolved.api_mode) == (
        "acme-inference", "https://api.acme.example.com/v1", "chat_completions")
    assert (resolved.api_key, resolved.key_env_var) == ("sk-acme-test-key", "ACME_API_KEY")


def test_seed_readme_your_provider_example_verbatim(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "your_provider", YOUR_PROVIDER_INIT, YOUR_PROVIDER_YAML)
    providers.reload()
    p = profile("your-provider")
    assert get_provider_profile("alias1") is p and get_provider_profile("alias2") is p
    assert p.default_aux_model == "your-cheap-model"
    assert plugins_by_name()["your_provider"].manifest["name"] == "your-provider-profile"


def test_seed_user_override_of_gmi_points_at_staging(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    bundled = profile("gmi")
    write_plugin(fresh_unit_env.user_plugins, "gmi", GMI_OVERRIDE)
    providers.reload()

    gmi = get_provider_profile("gmi")
    assert gmi.base_url == "https://gmi-staging.internal.example.com/v1"
    assert get_provider_profile("gmi-cloud") is gmi and get_provider_profile("gmicloud") is gmi
    assert gmi is not bundled
    origin = providers.provider_origin("gmi")
    assert origin.source == "user"
    assert origin.path == str(fresh_unit_env.user_plugins / "gmi" / "__init__.py")
    assert origin.overrides is not None and origin.overrides.source == "bundled"
    assert origin.overrides.plugin == "gmi"
    assert providers.plugin_errors() == []
    assert len(list_providers()) == 38  # replaced, not added

    # "Next session" resolves to the staging endpoint.
    monkeypatch.setenv("GMI_API_KEY", "gmi-test-key")
    resolved = runtime.resolve(hconfig.load(fresh_unit_env.config_path), provider="gmi", model="m")
    assert resolved.base_url == "https://gmi-staging.internal.example.com/v1"
    assert resolved.api_key == "gmi-test-key"


def test_seed_my_provider_test_in_a_temporary_home(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    # mkdir -p $HERMES_HOME/plugins/model-providers/my-provider; cat > .../__init__.py
    write_plugin(fresh_unit_env.user_plugins, "my-provider", MY_PROVIDER)
    monkeypatch.setenv("MY_API_KEY", "your-test-key")
    providers.reload()

    # hermes -z "hello" --provider my-provider -m some-model
    resolved = runtime.resolve(hconfig.load(fresh_unit_env.config_path), provider="my-provider", model="some-model")
    assert resolved.provider == "my-provider"
    assert resolved.model == "some-model"
    assert resolved.base_url == "https://api.my-provider.example.com/v1"
    assert resolved.api_key == "your-test-key"
    request = chat_completions.build(resolved, [{"role": "user", "content": "hello"}], ChatOptions())
    assert request.url == "https://api.my-provider.example.com/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer your-test-key"
    assert request.body == {
        "model": "some-model",
        "messages": [{"role": "user", "content": "hello"}],
        "stream": True,
        "stream_options": {"include_usage": True},  # as Hermes 0.19.0 sends it (docs/plugins.md)
    }


# -- packages and relative imports -------------------------------------------------


def test_plugin_with_relative_imports(fresh_unit_env: UnitEnv) -> None:
    plugin_dir = write_plugin(
        fresh_unit_env.user_plugins,
        "rel-plugin",
        """
        from providers import register_provider
        from providers.base import ProviderProfile
        from .settings import BASE_URL, MODELS
        from . import quirks
        from .sub.deep import DEEP

        class RelProfile(ProviderProfile):
            def build_extra_body(self, *, session_id=None, **context):
                return quirks.extra(context.get("model"))

        register_provider(RelProfile(name="rel-plugin", base_url=BASE_URL, fallback_models=MODELS + (DEEP,)))
        """,
        **{
            "settings.py": 'BASE_URL = "https://rel.example.com/v1"\nMODELS = ("rel-a",)\n',
            "quirks.py": "def extra(model):\n    return {'quirk': model}\n",
        },
    )
    (plugin_dir / "sub").mkdir()
    (plugin_dir / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (plugin_dir / "sub" / "deep.py").write_text("from ..settings import MODELS\nDEEP = MODELS[0] + '-deep'\n")
    providers.reload()

    assert providers.plugin_errors() == []
    p = profile("rel-plugin")
    assert p.base_url == "https://rel.example.com/v1"
    assert p.fallback_models == ("rel-a", "rel-a-deep")
    assert p.build_extra_body(model="m1") == {"quirk": "m1"}
    assert not (plugin_dir / "__pycache__").exists()
    assert not (plugin_dir / "sub" / "__pycache__").exists()


def test_two_plugins_whose_names_differ_only_by_dash_and_underscore_stay_separate(fresh_unit_env: UnitEnv) -> None:
    # Each plugin is its own package ("under a unique module name"): a hook's
    # lazy relative import must find its own sibling module, not the other's.
    for dirname, value in (("dup-name", "dash"), ("dup_name", "underscore")):
        write_plugin(
            fresh_unit_env.user_plugins,
            dirname,
            f"""
            from providers import register_provider
            from providers.base import ProviderProfile

            class P(ProviderProfile):
                def build_extra_body(self, *, session_id=None, **context):
                    from .helper import VALUE  # deferred, as heavy imports should be
                    return {{"value": VALUE}}

            register_provider(P(name="prov-{value}"))
            """,
            **{"helper.py": f"VALUE = {value!r}\n"},
        )
    providers.reload()
    assert providers.plugin_errors() == []
    assert profile("prov-dash").build_extra_body() == {"value": "dash"}
    assert profile("prov-underscore").build_extra_body() == {"value": "underscore"}


def test_a_plugin_may_look_up_providers_while_discovery_runs(fresh_unit_env: UnitEnv, tmp_path: Path) -> None:
    # Tweaking a bundled profile instead of retyping it: look-ups during
    # discovery see what is registered so far, and nothing runs twice.
    runs = tmp_path / "runs.log"
    write_plugin(
        fresh_unit_env.user_plugins,
        "gmi-tweak",
        f"""
        import dataclasses
        from providers import get_provider_profile, list_providers, register_provider
        from providers.base import ProviderProfile
        open({str(runs)!r}, "a").write("run\\n")
        names = [p.name for p in list_providers()]
        assert "gmi" in names and "gmi-tweak-marker" not in names
        bundled = get_provider_profile("gmi")
        register_provider(dataclasses.replace(bundled, base_url="https://gmi-staging.internal.example.com/v1"))
        """,
    )
    providers.reload()
    assert providers.plugin_errors() == []
    assert runs.read_text() == "run\n"
    gmi = profile("gmi")
    assert gmi.base_url == "https://gmi-staging.internal.example.com/v1"
    assert gmi.default_headers == {"User-Agent": "HermesAgent/0.13.0"}  # kept from the bundled profile
    assert providers.provider_origin("gmi").overrides.source == "bundled"
    assert len(providers.list_plugins()) == 39


# -- broken plugins -------------------------------------------------------------

BAD_SYNTAX = """\
from providers import register_provider
from providers.base import ProviderProfile
def broken(:
    pass
"""

BAD_IMPORT = """\
from providers import register_provider
import definitely_not_an_installed_module_4f1e
"""

BAD_RAISE = """\
from providers import register_provider
from providers.base import ProviderProfile
raise RuntimeError("boom at import")
"""

BAD_EXIT = """\
import sys
from providers import register_provider
from providers.base import ProviderProfile
sys.exit(3)
"""

BAD_EXIT_BARE = """\
from providers import register_provider
from providers.base import ProviderProfile
raise SystemExit
"""

BAD_GARBAGE = """\
from providers import register_provider
from providers.base import ProviderProfile
register_provider({"name": "garbage"})
"""

BAD_PARTIAL = """\
from providers import register_provider
from providers.base import ProviderProfile
register_provider(ProviderProfile(name="partial-good", aliases=("partial-alias",)))
register_provider(ProviderProfile(name="deepseek", base_url="https://hijacked.example.com"))
register_provider(ProviderProfile(name="partial-or", aliases=("or",)))
raise ValueError("failed after registering")
"""

BAD_HELPER_INIT = """\
from providers import register_provider
from providers.base import ProviderProfile
from .helper import VALUE
"""
BAD_HELPER = """\
X = 1
VALUE = 1 / 0
"""

BAD_NAMELESS = """\
from providers import register_provider
from providers.base import ProviderProfile
register_provider(ProviderProfile(name=""))
"""

BAD_PLUGINS = {
    "bad-syntax": (BAD_SYNTAX, "def broken(:", "SyntaxError"),
    "bad-import": (BAD_IMPORT, "import definitely_not", "ModuleNotFoundError"),
    "bad-raise": (BAD_RAISE, "raise RuntimeError", "RuntimeError: boom at import"),
    "bad-exit": (BAD_EXIT, "sys.exit(3)", "SystemExit: 3"),
    "bad-exit-bare": (BAD_EXIT_BARE, "raise SystemExit", "SystemExit"),
    "bad-garbage": (BAD_GARBAGE, "register_provider({", "TypeError"),
    "bad-partial": (BAD_PARTIAL, "raise ValueError", "ValueError: failed after registering"),
    "bad-nameless": (BAD_NAMELESS, 'name=""', "ValueError"),
}


@pytest.fixture
def broken_home(fresh_unit_env: UnitEnv) -> UnitEnv:
    root = fresh_unit_env.user_plugins
    for name, (source, _, _) in BAD_PLUGINS.items():
        write_plugin(root, name, source)
    write_plugin(root, "bad-helper", BAD_HELPER_INIT, **{"helper.py": BAD_HELPER})
    write_plugin(root, "good-neighbour", simple_plugin("good-neighbour", aliases=("gn",)))
    providers.reload()
    return fresh_unit_env


@pytest.mark.parametrize("name", sorted(BAD_PLUGINS))
def test_broken_plugin_is_skipped_and_reported(broken_home: UnitEnv, name: str) -> None:
    source, marker, message = BAD_PLUGINS[name]
    error = errors_by_plugin()[name]
    assert error.plugin == name
    assert error.source == "user"
    assert error.path == str(broken_home.user_plugins / name / "__init__.py")
    assert error.line == line_of(source, marker)
    assert error.message.startswith(message), error.message
    info = plugins_by_name()[name]
    assert info.error == error
    assert info.provider_names == []


def test_error_in_a_sibling_module_points_at_that_module(broken_home: UnitEnv) -> None:
    error = errors_by_plugin()["bad-helper"]
    assert error.path == str(broken_home.user_plugins / "bad-helper" / "helper.py")
    assert error.line == 2
    assert error.message.startswith("ZeroDivisionError")


def test_exactly_the_broken_plugins_are_reported(broken_home: UnitEnv) -> None:
    assert sorted(errors_by_plugin()) == sorted([*BAD_PLUGINS, "bad-helper"])
    assert len(providers.plugin_errors()) == len(BAD_PLUGINS) + 1


def test_other_plugins_still_load_next_to_broken_ones(broken_home: UnitEnv) -> None:
    assert_all_bundled_loaded()
    assert get_provider_profile("good-neighbour") is get_provider_profile("gn")
    assert plugins_by_name()["good-neighbour"].error is None
    assert {p.name for p in list_providers()} == {*BUNDLED_NAMES, "good-neighbour"}


def test_partial_registrations_are_rolled_back(broken_home: UnitEnv) -> None:
    assert get_provider_profile("partial-good") is None
    assert get_provider_profile("partial-alias") is None
    assert get_provider_profile("partial-or") is None
    # The names and aliases it overrode are back to their owners.
    assert get_provider_profile("or").name == "openrouter"
    deepseek = get_provider_profile("deepseek")
    assert deepseek.base_url == "https://api.deepseek.com/v1"
    assert providers.provider_origin("deepseek").source == "bundled"
    assert providers.provider_origin("deepseek").overrides is None


def test_a_broken_override_leaves_the_bundled_provider(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "gmi", GMI_OVERRIDE + "raise RuntimeError('half done')\n")
    providers.reload()
    assert get_provider_profile("gmi").base_url == "https://api.gmi-serving.com/v1"
    assert providers.provider_origin("gmi").source == "bundled"
    assert errors_by_plugin()["gmi"].message == "RuntimeError: half done"


def test_broken_plugins_leave_no_modules_behind(broken_home: UnitEnv) -> None:
    leftovers = [m for m in sys.modules if m.startswith("hermes_provider_plugins.g") and ".user.bad" in m]
    assert leftovers == []


def test_a_plugin_that_registers_nothing_is_not_an_error(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "empty-plugin", "# nothing here\n")
    providers.reload()
    assert providers.plugin_errors() == []
    assert plugins_by_name()["empty-plugin"].provider_names == []


# -- which directories count -------------------------------------------------------


def test_directory_rules_underscore_dot_no_init_and_files(fresh_unit_env: UnitEnv) -> None:
    root = fresh_unit_env.user_plugins
    write_plugin(root, "_private", simple_plugin("from-underscore"))
    write_plugin(root, ".hidden", simple_plugin("from-dot"))
    no_init = root / "no-init"
    no_init.mkdir(parents=True)
    (no_init / "plugin.py").write_text(simple_plugin("from-no-init"))
    (no_init / "plugin.yaml").write_text("name: no-init\nkind: model-provider\n")
    (root / "loose_file.py").write_text(simple_plugin("from-loose-file"))
    providers.reload()
    for name in ("from-underscore", "from-dot", "from-no-init", "from-loose-file"):
        assert get_provider_profile(name) is None
    assert providers.plugin_errors() == []
    assert {p.name for p in providers.list_plugins() if p.source == "user"} == set()


def test_user_plugin_directories_load_sorted_later_wins(fresh_unit_env: UnitEnv) -> None:
    root = fresh_unit_env.user_plugins
    write_plugin(root, "b-plugin", simple_plugin("same-name", "https://from-b.example.com"))
    write_plugin(root, "a-plugin", simple_plugin("same-name", "https://from-a.example.com"))
    providers.reload()
    assert profile("same-name").base_url == "https://from-b.example.com"
    origin = providers.provider_origin("same-name")
    assert origin.plugin == "b-plugin" and origin.overrides.plugin == "a-plugin"
    user = [p.name for p in providers.list_plugins() if p.source == "user"]
    assert user == ["a-plugin", "b-plugin"]


def test_bundled_plugins_have_manifests_and_record_their_providers() -> None:
    bundled = [p for p in providers.list_plugins() if p.source == "bundled"]
    assert sorted(p.name for p in bundled) == sorted(BUNDLED_NAMES)
    for info in bundled:
        assert info.error is None
        assert info.provider_names == [info.name]
        assert info.manifest.get("kind") == "model-provider", info.name


def test_hermes_home_defaults_to_dot_hermes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("HERMES_HOME")
    assert hermes_home() == tmp_path / ".hermes"
    monkeypatch.setenv("HERMES_HOME", "   ")
    assert hermes_home() == tmp_path / ".hermes"
    monkeypatch.setenv("HERMES_HOME", "~/elsewhere")
    assert hermes_home() == tmp_path / "elsewhere"
    assert providers.hermes_home is hermes_home


def test_default_home_plugins_are_discovered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("HERMES_HOME")
    write_plugin(tmp_path / ".hermes" / "plugins" / "model-providers", "home-default", simple_plugin("home-default"))
    providers.reload()
    assert providers.provider_origin("home-default").source == "user"


# -- manifests and the general plugin directory ------------------------------------


def test_manifests_are_read_lazily_and_plugins_imported_once(
    fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counter = tmp_path / "imports.log"
    write_plugin(
        fresh_unit_env.user_plugins,
        "acme-inference",
        f"with open({str(counter)!r}, 'a') as f:\n    f.write('x\\n')\n" + ACME_INIT,
        ACME_YAML,
    )
    import providers.discovery as discovery

    reads: list[Path] = []
    real = discovery.read_manifest

    def counting(path: Path) -> dict[str, Any]:
        reads.append(Path(path))
        return real(path)

    monkeypatch.setattr(discovery, "read_manifest", counting)
    providers.reload()
    listed = providers.list_plugins()
    get_provider_profile("acme")
    list_providers()
    assert reads == []  # discovery and listing read no manifest
    info = next(p for p in listed if p.name == "acme-inference")
    assert info.manifest_path == str(fresh_unit_env.user_plugins / "acme-inference" / "plugin.yaml")
    assert info.manifest["version"] == "1.0.0"
    assert reads == [fresh_unit_env.user_plugins / "acme-inference" / "plugin.yaml"]
    providers.list_plugins()
    # The plugin ran exactly once: listing never imports it again.
    assert counter.read_text() == "x\n"


def test_plugin_without_manifest_has_empty_manifest(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "my-provider", MY_PROVIDER)
    providers.reload()
    info = plugins_by_name()["my-provider"]
    assert info.manifest_path is None and info.manifest == {}


def test_broken_manifest_reads_as_empty_and_the_plugin_still_loads(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "acme-inference", ACME_INIT, "name: [unclosed\n")
    providers.reload()
    assert get_provider_profile("acme") is not None
    assert plugins_by_name()["acme-inference"].manifest == {}


def test_general_dir_plugin_without_manifest_is_classified_by_source(fresh_unit_env: UnitEnv, tmp_path: Path) -> None:
    marker = tmp_path / "imported-unlabelled.txt"
    write_plugin(fresh_unit_env.general_plugins, "general-provider", simple_plugin("general-provider", aliases=("gp",)))
    write_plugin(
        fresh_unit_env.general_plugins,
        "not-a-provider",
        f"open({str(marker)!r}, 'w').write('imported')\n",
    )
    providers.reload()
    gp = get_provider_profile("gp")
    assert gp is not None and gp.name == "general-provider"
    assert providers.provider_origin("general-provider").source == "user"
    assert not marker.exists(), "a plugin that is not a model provider must not be imported"
    assert "not-a-provider" not in plugins_by_name()
    assert providers.plugin_errors() == []


def test_general_dir_plugin_mentioning_only_one_word_is_not_loaded(fresh_unit_env: UnitEnv) -> None:
    write_plugin(
        fresh_unit_env.general_plugins,
        "sneaky",
        """
        import providers
        import providers.base as base
        providers.register_provider(getattr(base, "Provider" + "Profile")(name="sneaky"))
        """,
    )
    providers.reload()
    assert get_provider_profile("sneaky") is None


def test_general_dir_manifest_kind_wins_over_the_heuristic(fresh_unit_env: UnitEnv, tmp_path: Path) -> None:
    marker = tmp_path / "memory-imported.txt"
    write_plugin(
        fresh_unit_env.general_plugins,
        "memory-plugin",
        f"# mentions register_provider and ProviderProfile in a comment\nopen({str(marker)!r}, 'w')\n",
        "name: memory-plugin\nkind: memory\n",
    )
    write_plugin(
        fresh_unit_env.general_plugins,
        "labelled-provider",
        """
        import providers
        import providers.base as base
        providers.register_provider(getattr(base, "Provider" + "Profile")(name="labelled"))
        """,
        "name: labelled-provider\nkind: model-provider\n",
    )
    providers.reload()
    assert not marker.exists()
    assert get_provider_profile("labelled") is not None
    assert plugins_by_name()["labelled-provider"].manifest["kind"] == "model-provider"


def test_classify_plugin(tmp_path: Path) -> None:
    from providers.discovery import classify_plugin

    yes = write_plugin(tmp_path, "yes", simple_plugin("yes"))
    no = write_plugin(tmp_path, "no", "print('hello')\n")
    labelled = write_plugin(tmp_path, "labelled", "print('hello')\n", "kind: context-engine\n")
    missing = tmp_path / "missing"
    missing.mkdir()
    assert classify_plugin(yes) == "model-provider"
    assert classify_plugin(no) == "unknown"
    assert classify_plugin(labelled) == "context-engine"
    assert classify_plugin(missing) == "unknown"


# -- legacy single files ----------------------------------------------------------


def test_legacy_single_file_provider_is_discovered(fresh_unit_env: UnitEnv) -> None:
    token = secrets.token_hex(4)
    stem = f"zz_test_legacy_{token}"
    name = f"zz-legacy-{token}"
    path = legacy_dir() / f"{stem}.py"
    private = legacy_dir() / f"_{stem}.py"
    # A user plugin of the same name loads earlier; the legacy file wins.
    write_plugin(fresh_unit_env.user_plugins, "same", simple_plugin(name, "https://user.example.com"))
    try:
        path.write_text(simple_plugin(name, "https://legacy.example.com"), encoding="utf-8")
        private.write_text(simple_plugin(f"{name}-private"), encoding="utf-8")
        assert providers.plugins_changed()
        providers.reload()
        p = profile(name)
        assert p.base_url == "https://legacy.example.com"
        origin = providers.provider_origin(name)
        assert origin.source == "legacy" and origin.path == str(path)
        assert origin.overrides is not None and origin.overrides.source == "user"
        assert get_provider_profile(f"{name}-private") is None
        legacy = [i.name for i in providers.list_plugins() if i.source == "legacy"]
        assert legacy == [stem]  # never base, discovery, pareto, __init__ or _private
        assert providers.plugin_errors() == []
    finally:
        for leftover in (path, private):
            leftover.unlink(missing_ok=True)
        for cached in (legacy_dir() / "__pycache__").glob(f"*{stem}*"):
            cached.unlink(missing_ok=True)
        providers.reload()
    assert get_provider_profile(name).base_url == "https://user.example.com"
    assert not path.exists()


# -- entry points -----------------------------------------------------------------


@pytest.fixture
def fake_distribution(fresh_unit_env: UnitEnv, tmp_path: Path) -> Any:
    """A distribution on sys.path with ``hermes.plugins`` / ``hermes_agent.plugins`` entry points."""
    token = secrets.token_hex(4)
    site = tmp_path / "site"
    site.mkdir()
    mods = {
        "callable": f"zz_ep_callable_{token}",
        "module": f"zz_ep_module_{token}",
        "agent": f"zz_ep_agent_{token}",
        "gmi": f"zz_ep_gmi_{token}",
        "broken": f"zz_ep_broken_{token}",
    }
    (site / f"{mods['callable']}.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "CALLS = []\n"
        "def register():\n"
        "    CALLS.append(1)\n"
        f"    register_provider(ProviderProfile(name='ep-callable-{token}', base_url='https://c.example.com'))\n"
    )
    (site / f"{mods['module']}.py").write_text(simple_plugin(f"ep-module-{token}", "https://m.example.com"))
    (site / f"{mods['agent']}.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "def setup():\n"
        f"    register_provider(ProviderProfile(name='ep-agent-{token}'))\n"
    )
    (site / f"{mods['gmi']}.py").write_text(simple_plugin("gmi", "https://entry-point-gmi.example.com/v1"))
    (site / f"{mods['broken']}.py").write_text("raise ImportError('entry point is broken')\n")
    write_distribution(site, f"zz-hermes-ep-{token}", entry_points=(
        "[hermes.plugins]\n"
        f"ep-callable = {mods['callable']}:register\n"
        f"ep-module = {mods['module']}\n"
        f"ep-gmi = {mods['gmi']}\n"
        f"ep-broken = {mods['broken']}\n"
        "\n[hermes_agent.plugins]\n"
        f"ep-agent = {mods['agent']}:setup\n"
    ))
    fresh_unit_env.config_path.write_text(f"plugins:\n  enabled: [zz-hermes-ep-{token}]\n")  # entry points are opt-in
    with on_sys_path(site, list(mods.values())):
        yield token, mods


def test_entry_point_callable_and_module_are_loaded(fake_distribution: Any) -> None:
    token, mods = fake_distribution
    providers.reload()
    for name in (f"ep-callable-{token}", f"ep-module-{token}", f"ep-agent-{token}"):
        p = profile(name)
        assert providers.provider_origin(name).source == "entry_point", name
    assert sys.modules[mods["callable"]].CALLS == [1]
    info = plugins_by_name()
    assert info["ep-callable"].source == "entry_point"
    assert info["ep-callable"].provider_names == [f"ep-callable-{token}"]
    assert info["ep-agent"].provider_names == [f"ep-agent-{token}"]
    assert_all_bundled_loaded()


def test_entry_point_errors_are_reported(fake_distribution: Any) -> None:
    providers.reload()
    error = errors_by_plugin()["ep-broken"]
    assert error.source == "entry_point"
    assert error.message == "ImportError: entry point is broken"


def test_bundled_plugin_overrides_an_entry_point_of_the_same_name(fake_distribution: Any) -> None:
    providers.reload()
    gmi = profile("gmi")
    assert gmi.base_url == "https://api.gmi-serving.com/v1"
    origin = providers.provider_origin("gmi")
    assert origin.source == "bundled"
    assert origin.overrides is not None and origin.overrides.source == "entry_point"
    assert origin.overrides.plugin == "ep-gmi"


def test_entry_points_register_again_on_every_reload(fake_distribution: Any) -> None:
    token, mods = fake_distribution
    providers.reload()
    providers.reload()
    # Both kinds survive a second discovery: a module that registers on import
    # must not be skipped because Python already has it in sys.modules.
    assert get_provider_profile(f"ep-callable-{token}") is not None
    assert get_provider_profile(f"ep-module-{token}") is not None
    assert get_provider_profile(f"ep-agent-{token}") is not None
    assert providers.provider_origin(f"ep-module-{token}").source == "entry_point"


# -- laziness -----------------------------------------------------------------


def test_discovery_is_lazy(fresh_unit_env: UnitEnv, tmp_path: Path) -> None:
    marker = tmp_path / "loaded.txt"
    write_plugin(
        fresh_unit_env.user_plugins,
        "lazy",
        f"open({str(marker)!r}, 'a').write('x')\n" + simple_plugin("lazy-provider"),
    )
    script = textwrap.dedent(
        f"""
        import pathlib, sys
        marker = pathlib.Path({str(marker)!r})
        import providers
        from providers.base import ProviderProfile
        assert not marker.exists(), "importing the package must not discover"
        assert providers.get_provider_profile("lazy-provider") is not None
        assert marker.read_text() == "x"
        providers.list_providers()
        assert marker.read_text() == "x", "discovery runs once"
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- reload and the change check --------------------------------------------------


def test_plugins_changed_false_right_after_discovery_and_after_loads(fresh_unit_env: UnitEnv) -> None:
    plugin_dir = write_plugin(
        fresh_unit_env.user_plugins,
        "rel",
        "from .impl import register\nregister()\n",
        **{"impl.py": "def register():\n" + textwrap.indent(simple_plugin("rel-provider"), "    ")},
    )
    providers.reload()
    assert profile("rel-provider")
    assert not providers.plugins_changed()
    # Loading and using plugins must not write into the user's plugin dirs.
    list_providers()
    providers.list_plugins()
    runtime.host_table()
    assert not providers.plugins_changed()
    assert not (plugin_dir / "__pycache__").exists()
    providers.reload()
    assert not providers.plugins_changed()


def test_added_plugin_is_seen_after_reload_not_before(fresh_unit_env: UnitEnv) -> None:
    providers.reload()
    assert not providers.plugins_changed()
    write_plugin(fresh_unit_env.user_plugins, "late", simple_plugin("late-provider"))
    assert providers.plugins_changed()
    assert get_provider_profile("late-provider") is None
    assert providers.plugins_changed()  # a look-up does not reload by itself
    providers.reload()
    assert get_provider_profile("late-provider") is not None
    assert not providers.plugins_changed()


def test_edited_plugin_is_seen_after_reload_not_before(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "editable", simple_plugin("editable", "https://v1.example.com/v1"))
    providers.reload()
    running = profile("editable")  # a session already running holds this one
    assert not providers.plugins_changed()
    write_plugin(fresh_unit_env.user_plugins, "editable", simple_plugin("editable", "https://version-two.example.com/v1"))
    assert providers.plugins_changed()
    assert profile("editable").base_url == "https://v1.example.com/v1"
    providers.reload()
    assert profile("editable").base_url == "https://version-two.example.com/v1"
    assert running.base_url == "https://v1.example.com/v1"  # unchanged for that session
    assert not providers.plugins_changed()


def test_edited_sibling_module_is_seen_after_reload(fresh_unit_env: UnitEnv) -> None:
    plugin_dir = write_plugin(
        fresh_unit_env.user_plugins,
        "split",
        "from .conf import URL\n" + simple_plugin("split").replace("'https://api.example.com/v1'", "URL"),
        **{"conf.py": "URL = 'https://one.example.com'\n"},
    )
    providers.reload()
    assert profile("split").base_url == "https://one.example.com"
    (plugin_dir / "conf.py").write_text("URL = 'https://second.example.com/v2'\n")
    assert providers.plugins_changed()
    providers.reload()
    assert profile("split").base_url == "https://second.example.com/v2"


@pytest.mark.parametrize("where", ["model-providers", "general"])
def test_edited_module_in_a_subpackage_is_a_change(fresh_unit_env: UnitEnv, where: str) -> None:
    root = fresh_unit_env.user_plugins if where == "model-providers" else fresh_unit_env.general_plugins
    plugin_dir = write_plugin(
        root,
        "nested",
        "from .sub.deeper.conf import URL\n" + simple_plugin("nested").replace("'https://api.example.com/v1'", "URL"),
    )
    for package in (plugin_dir / "sub", plugin_dir / "sub" / "deeper"):
        package.mkdir()
        (package / "__init__.py").write_text("")
    conf = plugin_dir / "sub" / "deeper" / "conf.py"
    conf.write_text("URL = 'https://one.example.com'\n")
    providers.reload()
    assert profile("nested").base_url == "https://one.example.com"
    assert not providers.plugins_changed()
    conf.write_text("URL = 'https://second.example.com/v2'\n")
    assert providers.plugins_changed()
    providers.reload()
    assert profile("nested").base_url == "https://second.example.com/v2"
    assert not providers.plugins_changed()


def test_removed_plugin_is_gone_after_reload_not_before(fresh_unit_env: UnitEnv) -> None:
    gone = write_plugin(fresh_unit_env.user_plugins, "gone", simple_plugin("gone-provider"))
    write_plugin(fresh_unit_env.user_plugins, "gmi", GMI_OVERRIDE)
    providers.reload()
    assert not providers.plugins_changed()
    shutil.rmtree(gone)
    assert providers.plugins_changed()
    assert get_provider_profile("gone-provider") is not None
    providers.reload()
    assert get_provider_profile("gone-provider") is None
    assert not providers.plugins_changed()
    # Removing an override brings the bundled provider back.
    shutil.rmtree(fresh_unit_env.user_plugins / "gmi")
    assert providers.plugins_changed()
    providers.reload()
    assert profile("gmi").base_url == "https://api.gmi-serving.com/v1"
    assert providers.provider_origin("gmi").source == "bundled"


def test_manifest_edit_and_general_dir_changes_count_as_changes(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "acme-inference", ACME_INIT, ACME_YAML)
    providers.reload()
    assert not providers.plugins_changed()
    (fresh_unit_env.user_plugins / "acme-inference" / "plugin.yaml").write_text(ACME_YAML + "provider_ids: [acme-inference]\n")
    assert providers.plugins_changed()
    providers.reload()
    assert not providers.plugins_changed()
    write_plugin(fresh_unit_env.general_plugins, "general-new", simple_plugin("general-new"))
    assert providers.plugins_changed()
    providers.reload()
    assert get_provider_profile("general-new") is not None


def test_a_different_hermes_home_counts_as_a_change(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    providers.reload()
    assert not providers.plugins_changed()
    other = tmp_path / "other-home"
    write_plugin(other / "plugins" / "model-providers", "other", simple_plugin("other-provider"))
    monkeypatch.setenv("HERMES_HOME", str(other))
    assert providers.plugins_changed()
    providers.reload()
    assert get_provider_profile("other-provider") is not None


def test_a_fixed_broken_plugin_loads_after_reload(fresh_unit_env: UnitEnv) -> None:
    write_plugin(fresh_unit_env.user_plugins, "fixme", BAD_SYNTAX)
    providers.reload()
    assert "fixme" in errors_by_plugin()
    write_plugin(fresh_unit_env.user_plugins, "fixme", simple_plugin("fixme-provider", "https://fixed.example.com/api/v1"))
    assert providers.plugins_changed()
    providers.reload()
    assert providers.plugin_errors() == []
    assert profile("fixme-provider").base_url == "https://fixed.example.com/api/v1"


def test_reload_is_a_fresh_registry(fresh_unit_env: UnitEnv) -> None:
    providers.register_provider(ProviderProfile(name="registered-in-code"))
    assert get_provider_profile("registered-in-code") is not None
    before = profile("openrouter")
    providers.reload()
    assert get_provider_profile("registered-in-code") is None
    after = profile("openrouter")
    assert after is not before  # the plugin ran again
    assert type(after).__module__ != "" and len(list_providers()) == 38
