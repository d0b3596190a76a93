"""Resolving a request (contract section 3): provider, key, base URL and
api_mode precedence, the URL -> provider host table, and the no-profile path."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import providers
import providers.discovery as discovery
from hermesd.settings import config, credentials
from hermesd.engine import runtime
from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import detect_api_mode, host_table, provider_for_url, resolve
from providers import register_provider
from providers.base import ProviderProfile
from tests._unit_helpers import BUNDLED_NAMES, UnitEnv, load_config, profile, unit_env  # noqa: F401


@pytest.fixture
def env(unit_env: UnitEnv) -> UnitEnv:
    return unit_env


def cfg(env: UnitEnv, **model: Any) -> Any:
    """A config with the given ``model.*`` keys (and nothing else)."""
    return load_config(env, {"model": model} if model else {})


def write_dotenv(env: UnitEnv, text: str) -> None:
    (env.home / ".env").write_text(text, encoding="utf-8")


# -- provider ---------------------------------------------------------------------


def test_request_provider_beats_config_and_environment(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "xai")
    r = resolve(cfg(env, provider="deepseek"), provider="gmi")
    assert r.provider == "gmi" and r.profile is profile("gmi")


def test_config_provider_beats_the_environment(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "xai")
    assert resolve(cfg(env, provider="deepseek")).provider == "deepseek"


def test_environment_provider_when_nothing_else(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "  xai ")
    assert resolve(cfg(env)).provider == "xai"


def test_environment_provider_beats_auto_detection(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "gmi")
    assert resolve(cfg(env, base_url="https://api.deepseek.com/v1")).provider == "gmi"


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://api.deepseek.com/v1", "deepseek"),
        ("https://openrouter.ai/api/v1/", "openrouter"),
        ("https://API.X.AI/v1", "xai"),
        ("https://integrate.api.nvidia.com/v1", "nvidia"),
    ],
)
def test_auto_detect_from_the_configured_base_url_host(env: UnitEnv, url: str, expected: str) -> None:
    r = resolve(cfg(env, base_url=url))
    assert r.provider == expected and r.profile is profile(expected)


def test_aliases_resolve_to_the_canonical_name(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(cfg(env), provider="claude").provider == "anthropic"
    assert resolve(cfg(env, provider="or")).provider == "openrouter"
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "grok")
    assert resolve(cfg(env)).provider == "xai"


def test_no_provider_at_all_is_a_config_error(env: UnitEnv) -> None:
    with pytest.raises(HermesError) as info:
        resolve(cfg(env))
    assert info.value.kind == "config_error" and "no provider configured" in info.value.message
    assert info.value.hint


@pytest.mark.parametrize("where", ["request", "environment"])
def test_unknown_provider_is_a_config_error(env: UnitEnv, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    kwargs: dict[str, Any] = {}
    if where == "request":
        kwargs["provider"] = "no-such-provider"
    else:
        monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "no-such-provider")
    with pytest.raises(HermesError) as info:
        resolve(cfg(env), **kwargs)
    assert info.value.kind == "config_error"
    assert "'no-such-provider'" in info.value.message


def test_a_pinned_profile_is_used_as_is(env: UnitEnv) -> None:
    pinned = ProviderProfile(name="gmi", base_url="https://pinned.example.com/v1")
    r = resolve(cfg(env), provider="gmi", profile=pinned)
    assert r.profile is pinned and r.base_url == "https://pinned.example.com/v1"


# -- model ------------------------------------------------------------------------


def test_model_request_then_config_then_first_fallback(env: UnitEnv) -> None:
    c = cfg(env, provider="deepseek", default="deepseek-chat")
    assert resolve(c, model=" deepseek-reasoner ").model == "deepseek-reasoner"
    assert resolve(c).model == "deepseek-chat"
    # Another provider does not inherit the configured provider's default model.
    assert resolve(c, provider="gmi").model == profile("gmi").fallback_models[0]


# -- key --------------------------------------------------------------------------


def test_key_from_the_first_usable_variable(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "changeme")
    monkeypatch.setenv("ANTHROPIC_TOKEN", "  sk-ant-token-1234  ")
    r = resolve(cfg(env), provider="anthropic")
    assert (r.key_env_var, r.api_key) == ("ANTHROPIC_TOKEN", "sk-ant-token-1234")
    assert r.key_env_vars == ("ANTHROPIC_API_KEY", "ANTHROPIC_TOKEN")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api-5678")
    r = resolve(cfg(env), provider="anthropic")
    assert (r.key_env_var, r.api_key) == ("ANTHROPIC_API_KEY", "sk-ant-api-5678")


@pytest.mark.parametrize(
    "value",
    ["changeme", "CHANGEME", "your_api_key", "YOUR_API_KEY", "dummy", "none", "None", "null", "", "   ",
     "abc", " ab ", "<your key>", "xxx", "placeholder", " dummy "],
)
def test_placeholders_and_short_values_are_not_keys(env: UnitEnv, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", value)
    r = resolve(cfg(env), provider="deepseek")
    assert r.api_key is None and r.key_env_var is None
    assert not credentials.is_usable(value)


@pytest.mark.parametrize("value", ["abcd", "sk-1", "sk-or-v1-0123456789abcdef", "none-of-these-words"])
def test_usable_keys(value: str) -> None:
    assert credentials.is_usable(value)


def test_the_base_url_variable_is_never_taken_as_a_key(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "https://proxy.example.com/v1")
    r = resolve(cfg(env), provider="deepseek")
    assert r.api_key is None and "DEEPSEEK_BASE_URL" not in r.key_env_vars


def test_key_from_dotenv_in_hermes_home(env: UnitEnv) -> None:
    write_dotenv(
        env,
        "# keys\nexport DEEPSEEK_API_KEY=\"sk-from-dotenv\"\nGMI_API_KEY=gmi-from-dotenv  # comment\n"
        "NOT A LINE\nXAI_API_KEY='xai-quoted # not a comment'\n",
    )
    assert resolve(cfg(env), provider="deepseek").api_key == "sk-from-dotenv"
    assert resolve(cfg(env), provider="gmi").api_key == "gmi-from-dotenv"
    assert resolve(cfg(env), provider="xai").api_key == "xai-quoted # not a comment"


@pytest.mark.parametrize(
    "line,value",
    [
        ("A=plain", "plain"),
        ("A = spaced ", "spaced"),
        ("export A=exported", "exported"),
        ("A=plain # comment", "plain"),
        ("A=has#hash", "has#hash"),
        ('A="double quoted"', "double quoted"),
        ("A='single quoted'", "single quoted"),
        ('A="with # inside"', "with # inside"),
        ('A="quoted"  # and a comment', "quoted"),
        ("A='quoted' # and a comment", "quoted"),
        ("A=", ""),
    ],
)
def test_dotenv_line_formats(line: str, value: str) -> None:
    assert credentials.parse_dotenv(f"# header\n\n{line}\n") == {"A": value}


def test_environment_wins_over_dotenv(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    write_dotenv(env, "DEEPSEEK_API_KEY=sk-from-dotenv\n")
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-from-environment")
    r = resolve(cfg(env), provider="deepseek")
    assert (r.api_key, r.key_env_var) == ("sk-from-environment", "DEEPSEEK_API_KEY")


def test_dotenv_placeholder_is_skipped_for_the_next_variable(env: UnitEnv) -> None:
    write_dotenv(env, "ANTHROPIC_API_KEY=your_api_key\nANTHROPIC_TOKEN=sk-ant-real\n")
    r = resolve(cfg(env), provider="anthropic")
    assert (r.key_env_var, r.api_key) == ("ANTHROPIC_TOKEN", "sk-ant-real")


def test_dotenv_changes_are_picked_up(env: UnitEnv) -> None:
    write_dotenv(env, "DEEPSEEK_API_KEY=sk-first\n")
    assert resolve(cfg(env), provider="deepseek").api_key == "sk-first"
    write_dotenv(env, "DEEPSEEK_API_KEY=sk-second-and-longer\n")
    assert resolve(cfg(env), provider="deepseek").api_key == "sk-second-and-longer"


def test_provider_without_key_variables(env: UnitEnv) -> None:
    r = resolve(cfg(env), provider="bedrock")
    assert r.api_key is None and r.key_env_vars == ()


# -- base URL -----------------------------------------------------------------------


def test_config_base_url_for_the_configured_provider(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "https://from-env.example.com/v1")
    c = cfg(env, provider="deepseek", base_url="https://proxy.example.com/v1/")
    assert resolve(c).base_url == "https://proxy.example.com/v1"
    assert resolve(c, provider="deepseek").base_url_source == "model.base_url"


def test_config_base_url_when_the_request_names_the_configured_provider_by_alias(env: UnitEnv) -> None:
    c = cfg(env, provider="or", base_url="http://127.0.0.1:9999/api/v1")
    assert resolve(c, provider="openrouter").base_url == "http://127.0.0.1:9999/api/v1"


def test_providers_section_sets_a_url_for_one_provider(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "https://from-env.example.com/v1")
    env.config_path.write_text("model: {provider: custom, base_url: 'http://127.0.0.1:1/v1'}\n"
                               "providers: {deepseek: {base_url: 'https://proxy.example.com/v2/'}}\n")
    c = config.load(env.config_path)
    r = resolve(c, provider="deepseek")
    assert (r.base_url, r.base_url_source) == ("https://proxy.example.com/v2", "providers.deepseek.base_url")
    assert resolve(c, provider="openrouter").base_url == "https://openrouter.ai/api/v1"  # not custom's URL


def test_config_base_url_is_not_used_for_another_provider(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    c = cfg(env, provider="deepseek", base_url="https://proxy.example.com/v1")
    assert resolve(c, provider="gmi").base_url == "https://api.gmi-serving.com/v1"
    monkeypatch.setenv("GMI_BASE_URL", "https://gmi.local.example.com/v1///")
    assert resolve(c, provider="gmi").base_url == "https://gmi.local.example.com/v1"


def test_config_base_url_without_a_configured_provider_is_not_used_for_a_requested_one(env: UnitEnv) -> None:
    c = cfg(env, base_url="http://127.0.0.1:8000/v1")
    assert resolve(c, provider="deepseek").base_url == "https://api.deepseek.com/v1"


def test_base_url_variable_then_profile(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(cfg(env), provider="deepseek").base_url == "https://api.deepseek.com/v1"
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "  https://mirror.example.com/deepseek/  ")
    assert resolve(cfg(env), provider="deepseek").base_url == "https://mirror.example.com/deepseek"
    monkeypatch.setenv("DEEPSEEK_BASE_URL", "   ")
    assert resolve(cfg(env), provider="deepseek").base_url == "https://api.deepseek.com/v1"


def test_base_url_variable_from_dotenv(env: UnitEnv) -> None:
    write_dotenv(env, "DEEPSEEK_BASE_URL=https://dotenv-mirror.example.com/v1/\n")
    assert resolve(cfg(env), provider="deepseek").base_url == "https://dotenv-mirror.example.com/v1"


def test_profile_base_url_trailing_slash_removed(env: UnitEnv) -> None:
    register_provider(ProviderProfile(name="slashy", base_url="https://slash.example.com/v1/"))
    assert resolve(cfg(env), provider="slashy").base_url == "https://slash.example.com/v1"


# -- api_mode -------------------------------------------------------------------------


def test_config_api_mode_responses_means_codex_responses(env: UnitEnv) -> None:
    r = resolve(cfg(env, provider="deepseek", api_mode="responses"))
    assert r.api_mode == "codex_responses"


def test_config_api_mode_beats_everything(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_ZEN_BASE_URL", "https://zen.example.com/anthropic")
    c = cfg(env, provider="opencode-zen", api_mode="chat_completions")
    assert resolve(c, model="claude-sonnet-4-5").api_mode == "chat_completions"
    assert resolve(cfg(env, provider="anthropic", api_mode="chat_completions")).api_mode == "chat_completions"


def test_config_api_mode_only_for_the_configured_provider(env: UnitEnv) -> None:
    c = cfg(env, provider="deepseek", api_mode="anthropic_messages")
    assert resolve(c).api_mode == "anthropic_messages"
    assert resolve(c, provider="gmi").api_mode == "chat_completions"
    assert resolve(c, provider="xai").api_mode == "codex_responses"


@pytest.mark.parametrize(
    "model,mode",
    [
        ("claude-sonnet-4-5", "anthropic_messages"),
        ("opencode/claude-haiku-4-5", "anthropic_messages"),
        ("gpt-5.1-codex", "codex_responses"),
        ("kimi-k2", "chat_completions"),
        ("gemini-3-pro", "chat_completions"),
    ],
)
def test_per_model_dispatch(env: UnitEnv, model: str, mode: str) -> None:
    assert resolve(cfg(env), provider="opencode-zen", model=model).api_mode == mode


def test_per_model_dispatch_beats_url_detection(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_ZEN_BASE_URL", "https://zen.example.com/anthropic")
    assert resolve(cfg(env), provider="opencode-zen", model="kimi-k2").api_mode == "chat_completions"
    assert resolve(cfg(env), provider="opencode-zen", model="gpt-5").api_mode == "codex_responses"


class Dispatching(ProviderProfile):
    result: Any = None
    raises: bool = False

    def api_mode_for_model(self, model: str) -> str | None:
        if self.raises:
            raise RuntimeError("plugin bug")
        return self.result


@pytest.mark.parametrize("raises,result", [(True, None), (False, None), (False, "")])
def test_per_model_dispatch_that_fails_or_declines_falls_through(env: UnitEnv, raises: bool, result: Any) -> None:
    p = Dispatching(name="dispatching", base_url="https://d.example.com/anthropic", api_mode="bedrock_converse")
    p.raises, p.result = raises, result
    register_provider(p)
    assert resolve(cfg(env), provider="dispatching", model="m").api_mode == "anthropic_messages"


@pytest.mark.parametrize(
    "url,mode",
    [
        ("https://api.deepseek.com/anthropic", "anthropic_messages"),
        ("https://api.deepseek.com/anthropic/", "anthropic_messages"),
        ("https://api.deepseek.com/anthropic/v1", "anthropic_messages"),
        ("https://api.deepseek.com/ANTHROPIC/v1/", "anthropic_messages"),
        ("https://api.openai.com/v1", "codex_responses"),
        ("https://api.x.ai/v1", "codex_responses"),
        ("https://api.deepseek.com/v1", "chat_completions"),
    ],
)
def test_url_detection_through_the_base_url_variable(env: UnitEnv, monkeypatch: pytest.MonkeyPatch, url: str, mode: str) -> None:
    monkeypatch.setenv("DEEPSEEK_BASE_URL", url)
    assert resolve(cfg(env), provider="deepseek").api_mode == mode


def test_url_detection_beats_the_profile_api_mode(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XAI_BASE_URL", "https://grok-proxy.example.com/anthropic")
    assert resolve(cfg(env), provider="xai").api_mode == "anthropic_messages"


@pytest.mark.parametrize("host", ["api.kimi.com", "api.moonshot.ai", "api.moonshot.cn"])
def test_kimi_coding_path_means_chat_completions(env: UnitEnv, host: str) -> None:
    register_provider(ProviderProfile(name="kimi-like", api_mode="anthropic_messages", base_url=f"https://{host}/coding/v1"))
    assert resolve(cfg(env), provider="kimi-like").api_mode == "chat_completions"
    register_provider(ProviderProfile(name="kimi-like", api_mode="anthropic_messages", base_url=f"https://{host}/v1"))
    assert resolve(cfg(env), provider="kimi-like").api_mode == "anthropic_messages"


def test_coding_path_on_other_hosts_says_nothing(env: UnitEnv) -> None:
    register_provider(ProviderProfile(name="other-coding", api_mode="anthropic_messages", base_url="https://other.example.com/coding/v1"))
    assert resolve(cfg(env), provider="other-coding").api_mode == "anthropic_messages"


@pytest.mark.parametrize(
    "name,mode",
    [("anthropic", "anthropic_messages"), ("bedrock", "bedrock_converse"), ("openai-codex", "codex_responses"),
     ("minimax", "anthropic_messages"), ("xai", "codex_responses")],
)
def test_profile_api_mode_when_the_url_says_nothing(env: UnitEnv, name: str, mode: str) -> None:
    assert resolve(cfg(env), provider=name).api_mode == mode


def test_profile_api_mode_is_honoured_for_a_neutral_url(env: UnitEnv) -> None:
    register_provider(ProviderProfile(name="native", api_mode="anthropic_messages", base_url="https://native.example.com/api"))
    assert resolve(cfg(env), provider="native").api_mode == "anthropic_messages"


def test_chat_completions_is_the_default(env: UnitEnv) -> None:
    register_provider(ProviderProfile(name="blank-mode", api_mode="", base_url="https://blank.example.com"))
    assert resolve(cfg(env), provider="blank-mode").api_mode == "chat_completions"
    assert resolve(cfg(env), provider="deepseek").api_mode == "chat_completions"


@pytest.mark.parametrize(
    "url,mode",
    [
        ("https://x.example.com/anthropic", "anthropic_messages"),
        ("https://x.example.com/anthropic/v1/", "anthropic_messages"),
        ("https://x.example.com/anthropic/v2", None),
        ("https://x.example.com/anthropicish", None),
        ("https://api.openai.com", "codex_responses"),
        ("https://API.OPENAI.COM/v1", "codex_responses"),
        ("https://api.x.ai/v1", "codex_responses"),
        ("https://eu.api.openai.com/v1", None),
        ("https://api.kimi.com/coding/v1", "chat_completions"),
        ("https://api.kimi.com/v1", None),
        ("https://openrouter.ai/api/v1", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_detect_api_mode(url: str, mode: str | None) -> None:
    assert detect_api_mode(url) == mode


# -- host table ---------------------------------------------------------------------


def test_host_table_maps_every_bundled_host() -> None:
    table = host_table()
    for name in BUNDLED_NAMES:
        host = profile(name).get_hostname()
        if host:
            owner = table[host]
            assert profile(owner).get_hostname() == host
    assert table["openrouter.ai"] == "openrouter"
    assert table["api.deepseek.com"] == "deepseek"
    assert table["chatgpt.com"] == "openai-codex"
    assert "" not in table


@pytest.mark.parametrize(
    "url,name",
    [
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("HTTPS://OPENROUTER.AI/api/v1", "openrouter"),
        ("https://openrouter.ai:443/anything", "openrouter"),
        ("https://api.deepseek.com", "deepseek"),
        ("https://api.anthropic.com/v1/messages", "anthropic"),
        ("https://unknown.example.com/v1", None),
        ("not a url", None),
        ("", None),
        ("http://[::1", None),
    ],
)
def test_provider_for_url(url: str, name: str | None) -> None:
    assert provider_for_url(url) == name


def test_hostname_field_is_used_for_reverse_mapping() -> None:
    register_provider(ProviderProfile(name="hosted", base_url="https://gateway.example.com/v1", hostname="API.Hosted.Example.com"))
    assert provider_for_url("https://api.hosted.example.com/v1/chat") == "hosted"
    assert provider_for_url("https://gateway.example.com/v1") is None


def test_first_registered_profile_keeps_a_shared_host() -> None:
    register_provider(ProviderProfile(name="shared-first", base_url="https://shared.example.com/a"))
    register_provider(ProviderProfile(name="shared-second", base_url="https://shared.example.com/b"))
    assert provider_for_url("https://shared.example.com/b") == "shared-first"


def test_host_table_follows_an_override() -> None:
    register_provider(ProviderProfile(name="gmi", base_url="https://gmi-staging.internal.example.com/v1"))
    assert provider_for_url("https://gmi-staging.internal.example.com/v1") == "gmi"
    assert provider_for_url("https://api.gmi-serving.com/v1") is None


def test_a_profile_with_a_broken_base_url_does_not_break_the_table() -> None:
    register_provider(ProviderProfile(name="broken-url", base_url="http://[::1"))
    register_provider(ProviderProfile(name="wrong-type", base_url=123))  # type: ignore[arg-type]
    assert provider_for_url("https://openrouter.ai/api/v1") == "openrouter"


# -- without a profile ------------------------------------------------------------------


@pytest.fixture
def without_openrouter(env: UnitEnv, tmp_path: Path) -> Iterator[UnitEnv]:
    """The bundled plugins minus openrouter (as if it were removed from the install)."""
    copy = tmp_path / "bundled-copy"
    shutil.copytree(discovery.bundled_dir(), copy, ignore=shutil.ignore_patterns("openrouter", "__pycache__"))
    # A private MonkeyPatch, undone here (before unit_env's teardown rediscovers).
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(providers, "bundled_dir", lambda: copy)
        mp.setattr(discovery, "bundled_dir", lambda: copy)
        providers.reload()
        assert providers.get_provider_profile("openrouter") is None
        assert len(providers.list_providers()) == len(BUNDLED_NAMES) - 1
        yield env


OPENROUTER_URL = "https://openrouter.ai/api/v1"


def test_no_profile_openrouter_url_uses_the_openrouter_key(without_openrouter: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-1234")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-should-not-win")
    c = cfg(without_openrouter, provider="openrouter", base_url=OPENROUTER_URL + "/", default="openrouter/pareto-code")
    r = resolve(c)
    assert r.profile is None and r.provider == ""
    assert r.base_url == OPENROUTER_URL
    assert (r.api_key, r.key_env_var) == ("sk-or-test-1234", "OPENROUTER_API_KEY")
    assert r.key_env_vars == ("OPENROUTER_API_KEY", "HERMES_API_KEY")
    assert r.model == "openrouter/pareto-code"
    assert r.api_mode == "chat_completions"
    assert r.is_openrouter


def test_no_profile_when_the_request_names_the_configured_but_missing_provider(
    without_openrouter: UnitEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An editor (or `hermesd chat --provider openrouter`) naming the provider
    # the config names gets the config's endpoint, plugin or not.
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-1234")
    c = cfg(without_openrouter, provider="openrouter", base_url=OPENROUTER_URL)
    r = resolve(c, provider="openrouter", model="openrouter/pareto-code")
    assert r.profile is None and r.base_url == OPENROUTER_URL and r.api_key == "sk-or-test-1234"
    with pytest.raises(HermesError):
        resolve(c, provider="some-other-missing-provider")


def test_no_profile_without_a_configured_provider(without_openrouter: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERMES_API_KEY", "hermes-key-1234")
    r = resolve(cfg(without_openrouter, base_url=OPENROUTER_URL), model="anthropic/claude-sonnet-4.6")
    assert r.profile is None and r.is_openrouter
    assert (r.api_key, r.key_env_var) == ("hermes-key-1234", "HERMES_API_KEY")
    assert r.model == "anthropic/claude-sonnet-4.6"


def test_no_profile_key_from_dotenv(without_openrouter: UnitEnv) -> None:
    write_dotenv(without_openrouter, "OPENROUTER_API_KEY=sk-or-dotenv-1234\n")
    r = resolve(cfg(without_openrouter, base_url=OPENROUTER_URL))
    assert r.api_key == "sk-or-dotenv-1234"


def test_no_profile_for_an_unknown_endpoint(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-must-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-1234")
    r = resolve(cfg(env, base_url="http://127.0.0.1:8000/v1", default="local-model"))
    assert r.profile is None and r.provider == "" and not r.is_openrouter
    assert r.key_env_vars == ("HERMES_API_KEY",)  # OPENAI_API_KEY only goes to OpenAI's hosts
    assert (r.api_key, r.key_env_var) == (None, None)
    monkeypatch.setenv("HERMES_API_KEY", "sk-hermes-1234")
    assert resolve(cfg(env, base_url="http://127.0.0.1:8000/v1")).api_key == "sk-hermes-1234"
    assert resolve(cfg(env, base_url="https://api.openai.com/v1")).key_env_vars[0] == "OPENAI_API_KEY"
    assert r.model == "local-model"
    assert r.base_url == "http://127.0.0.1:8000/v1"


def test_no_profile_api_mode(env: UnitEnv) -> None:
    assert resolve(cfg(env, base_url="http://127.0.0.1:8000/anthropic")).api_mode == "anthropic_messages"
    assert resolve(cfg(env, base_url="http://127.0.0.1:8000/v1", api_mode="responses")).api_mode == "codex_responses"
    assert resolve(cfg(env, base_url="http://127.0.0.1:8000/v1")).api_mode == "chat_completions"


def test_unknown_configured_provider_is_kept_and_reported_by_doctor(without_openrouter: UnitEnv) -> None:
    """A plugin that disappeared must not blank the user's setting; doctor names it."""
    from hermesd.engine import doctor

    c = cfg(without_openrouter, provider="openrouter", base_url=OPENROUTER_URL)
    assert c.get("model.provider") == "openrouter" and not c.problems
    failures = [chk for chk in doctor.config_checks(c) if chk.status == "fail"]  # every chat fails on it
    assert any("model.provider is 'openrouter', which no plugin provides" in w.summary for w in failures)


# -- reasoning config ------------------------------------------------------------------


@pytest.mark.parametrize(
    "effort,expected",
    [("", None), ("none", {"enabled": False}), ("low", {"enabled": True, "effort": "low"}),
     ("xhigh", {"enabled": True, "effort": "xhigh"})],
)
def test_reasoning_config(effort: str, expected: Any) -> None:
    assert runtime.reasoning_config(effort) == expected


def test_auto_means_auto_detect_as_in_hermes(unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hermes configs say ``provider: auto``; it means "detect from the URL", not a provider name."""
    from hermesd.settings import config

    assert config.validate("model.provider", "auto") == ""
    monkeypatch.setenv("HERMES_INFERENCE_PROVIDER", "auto")
    c = cfg(unit_env, provider="auto", base_url=OPENROUTER_URL)
    assert c.get("model.provider") == ""
    assert runtime.resolve(c, model="openrouter/pareto-code").provider == "openrouter"


# -- Vertex AI: never the bare host -------------------------------------------------------

VERTEX_URL = "https://us-central1-aiplatform.googleapis.com/v1beta1/projects/my-proj/locations/us-central1/endpoints/openapi"


def test_vertex_without_credentials_names_the_exact_fix(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERTEX_PROJECT_ID", "my-proj")
    monkeypatch.setenv("VERTEX_REGION", "us-central1")
    with pytest.raises(HermesError) as info:
        resolve(cfg(env), provider="vertex", model="google/gemini-3-flash-preview")
    assert info.value.message == ("vertex needs Google Cloud credentials: no endpoint with a project and region is set; "
                                  "no access token is set (hermesd does not mint Google OAuth2 tokens)")
    assert info.value.hint.startswith(f"set VERTEX_BASE_URL={VERTEX_URL}, and "
                                      "`export VERTEX_ACCESS_TOKEN=$(gcloud auth print-access-token)`")


@pytest.mark.parametrize("url, missing", [
    ("https://aiplatform.googleapis.com/v1", "VERTEX_BASE_URL (https://aiplatform.googleapis.com/v1) names no project and region"),
    (VERTEX_URL, None),
    ("https://aiplatform.googleapis.com/v1beta1/projects/p/locations/global/endpoints/openapi", None),
    ("http://127.0.0.1:8080/vertex-proxy", None),  # a proxy of the user's: its path is its own
])
def test_vertex_needs_an_endpoint_with_project_and_region_and_a_token(
        env: UnitEnv, monkeypatch: pytest.MonkeyPatch, url: str, missing: str | None) -> None:
    monkeypatch.setenv("VERTEX_BASE_URL", url)
    monkeypatch.setenv("VERTEX_ACCESS_TOKEN", "ya29.a-token")
    if missing:
        with pytest.raises(HermesError, match="needs Google Cloud credentials: " + missing.replace("(", r"\(").replace(")", r"\)")):
            resolve(cfg(env), provider="vertex", model="google/gemini-2.5-pro")
        return
    r = resolve(cfg(env), provider="vertex", model="google/gemini-2.5-pro")
    assert (r.base_url, r.api_key, r.api_mode) == (url, "ya29.a-token", "chat_completions")
    monkeypatch.delenv("VERTEX_ACCESS_TOKEN")
    with pytest.raises(HermesError, match="needs Google Cloud credentials: no access token is set"):
        resolve(cfg(env), provider="vertex", model="google/gemini-2.5-pro")


def test_vertex_through_a_providers_entry(env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """How Hermes' own vertex plugin (no variables of its own) is configured: providers.vertex."""
    monkeypatch.setenv("MY_VERTEX_TOKEN", "ya29.other")
    c = load_config(env, {"providers": {"vertex": {"base_url": VERTEX_URL, "key_env": "MY_VERTEX_TOKEN"}}})
    r = resolve(c, provider="vertex", model="google/gemini-2.5-pro")
    assert (r.base_url, r.api_key) == (VERTEX_URL, "ya29.other")


@pytest.mark.parametrize("written, mode", [
    ("openai_chat", "chat_completions"), ("OpenAI_Chat", "chat_completions"), ("anthropic_messages", "anthropic_messages"),
    ("codex_responses", "codex_responses"), ("responses", "codex_responses"), ("bedrock_converse", "bedrock_converse"),
])
def test_transport_names_as_hermes_writes_them(env: UnitEnv, written: str, mode: str) -> None:
    c = load_config(env, {"providers": {"claw": {"api": "http://127.0.0.1:8402/v1", "transport": written}}})
    assert resolve(c, provider="claw", model="auto").api_mode == mode


def test_an_unknown_transport_is_a_config_problem(env: UnitEnv) -> None:
    c = load_config(env, {"providers": {"claw": {"api": "http://127.0.0.1:8402/v1", "transport": "grpc"}}})
    assert ('providers.claw.transport is "grpc", which names no API shape: use one of chat_completions, codex_responses, '
            "anthropic_messages, bedrock_converse (Hermes' openai_chat is chat_completions); chats to it fail"
            in config.shape_problems(c))
