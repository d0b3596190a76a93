"""The plugin API itself: ProviderProfile's fields and hooks, OMIT_TEMPERATURE,
and the registry functions (contract section 1 and the first half of 2)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any

import pytest

import providers
from providers import get_provider_profile, list_providers, register_provider
from providers.base import OMIT_TEMPERATURE, ProviderProfile
from tests._unit_helpers import BUNDLED_NAMES, unit_env  # noqa: F401  (autouse fixture)

# The contract's table, in its order: field -> default ("REQUIRED" for name).
CONTRACT_FIELDS: list[tuple[str, Any]] = [
    ("name", "REQUIRED"),
    ("api_mode", "chat_completions"),
    ("aliases", ()),
    ("display_name", ""),
    ("description", ""),
    ("signup_url", ""),
    ("env_vars", ()),
    ("base_url", ""),
    ("models_url", ""),
    ("auth_type", "api_key"),
    ("supports_health_check", True),
    ("supports_vision", False),
    ("supports_vision_tool_messages", True),  # hermes-agent 0.19.0
    ("fallback_models", ()),
    ("hostname", ""),
    ("default_headers", {}),
    ("fixed_temperature", None),
    ("default_max_tokens", None),
    ("default_aux_model", ""),
]


# -- the import paths ---------------------------------------------------------


def test_contract_import_paths() -> None:
    import providers.base as base

    assert providers.register_provider is register_provider
    assert providers.get_provider_profile is get_provider_profile
    assert providers.list_providers is list_providers
    assert base.ProviderProfile is ProviderProfile
    assert base.OMIT_TEMPERATURE is OMIT_TEMPERATURE
    # Re-exported from the package too; the very same objects.
    assert providers.ProviderProfile is ProviderProfile
    assert providers.OMIT_TEMPERATURE is OMIT_TEMPERATURE


# -- ProviderProfile ----------------------------------------------------------


def test_profile_is_a_dataclass_with_exactly_the_contract_fields_in_order() -> None:
    assert dataclasses.is_dataclass(ProviderProfile)
    names = [f.name for f in dataclasses.fields(ProviderProfile)]
    assert names == [name for name, _ in CONTRACT_FIELDS]


@pytest.mark.parametrize("name,default", CONTRACT_FIELDS[1:], ids=[n for n, _ in CONTRACT_FIELDS[1:]])
def test_field_default(name: str, default: Any) -> None:
    p = ProviderProfile(name="x")
    value = getattr(p, name)
    assert value == default
    assert type(value) is type(default)


def test_name_is_required() -> None:
    with pytest.raises(TypeError):
        ProviderProfile()  # type: ignore[call-arg]
    field = next(f for f in dataclasses.fields(ProviderProfile) if f.name == "name")
    assert field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def test_name_is_the_first_positional_argument() -> None:
    assert ProviderProfile("acme").name == "acme"


def test_default_headers_is_not_shared_between_instances() -> None:
    a, b = ProviderProfile(name="a"), ProviderProfile(name="b")
    a.default_headers["X-A"] = "1"
    assert b.default_headers == {}
    assert ProviderProfile(name="c").default_headers == {}


def test_profile_is_mutable() -> None:
    p = ProviderProfile(name="x")
    p.base_url = "https://changed.example.com/v1"
    p.aliases = ("y",)
    assert p.base_url == "https://changed.example.com/v1"
    assert p.aliases == ("y",)


def test_every_field_can_be_set_by_keyword() -> None:
    values = dict(
        name="full",
        api_mode="anthropic_messages",
        aliases=("f1", "f2"),
        display_name="Full",
        description="desc",
        signup_url="https://full.example.com/keys",
        env_vars=("FULL_API_KEY", "FULL_BASE_URL"),
        base_url="https://api.full.example.com/v1",
        models_url="https://api.full.example.com/v1/catalog",
        auth_type="oauth_external",
        supports_health_check=False,
        supports_vision=True,
        fallback_models=("m1", "m2"),
        hostname="full.example.com",
        default_headers={"User-Agent": "x"},
        fixed_temperature=OMIT_TEMPERATURE,
        default_max_tokens=1234,
        default_aux_model="m2",
    )
    p = ProviderProfile(**values)
    assert {k: getattr(p, k) for k in values} == values


def test_key_env_vars_and_base_url_env_var_split_env_vars() -> None:
    p = ProviderProfile(name="x", env_vars=("X_API_KEY", "X_TOKEN", "X_BASE_URL"))
    assert p.key_env_vars == ("X_API_KEY", "X_TOKEN")
    assert p.base_url_env_var == "X_BASE_URL"
    q = ProviderProfile(name="q", env_vars=("Q_KEY", "Q_URL"))
    assert q.key_env_vars == ("Q_KEY",)
    assert q.base_url_env_var == "Q_URL"
    assert ProviderProfile(name="n").base_url_env_var is None


# -- OMIT_TEMPERATURE ---------------------------------------------------------


def test_omit_temperature_is_a_singleton_compared_with_is() -> None:
    from providers.base import OMIT_TEMPERATURE as again

    assert again is OMIT_TEMPERATURE
    assert type(OMIT_TEMPERATURE)() is OMIT_TEMPERATURE
    assert copy.copy(OMIT_TEMPERATURE) is OMIT_TEMPERATURE
    assert copy.deepcopy(OMIT_TEMPERATURE) is OMIT_TEMPERATURE
    assert pickle.loads(pickle.dumps(OMIT_TEMPERATURE)) is OMIT_TEMPERATURE
    assert OMIT_TEMPERATURE is not None
    assert repr(OMIT_TEMPERATURE) == "OMIT_TEMPERATURE"


def test_omit_temperature_survives_copies_of_a_profile() -> None:
    p = ProviderProfile(name="kimi-like", fixed_temperature=OMIT_TEMPERATURE)
    assert dataclasses.replace(p).fixed_temperature is OMIT_TEMPERATURE
    assert copy.deepcopy(p).fixed_temperature is OMIT_TEMPERATURE


def test_bundled_kimi_uses_the_very_same_sentinel() -> None:
    assert get_provider_profile("kimi-coding").fixed_temperature is OMIT_TEMPERATURE


# -- default hooks ------------------------------------------------------------


def test_prepare_messages_returns_the_same_list_object() -> None:
    messages = [{"role": "user", "content": "hi"}]
    snapshot = copy.deepcopy(messages)
    result = ProviderProfile(name="x").prepare_messages(messages)
    assert result is messages
    assert messages == snapshot


def test_prepare_messages_on_an_empty_list() -> None:
    empty: list[dict[str, Any]] = []
    assert ProviderProfile(name="x").prepare_messages(empty) is empty


def test_build_extra_body_default_is_empty_and_ignores_unknown_context() -> None:
    p = ProviderProfile(name="x")
    assert p.build_extra_body() == {}
    assert p.build_extra_body(
        session_id="s-1",
        model="m",
        base_url="https://x",
        provider_preferences={"order": ["a"]},
        reasoning_config={"enabled": True},
        openrouter_min_coding_score=0.5,
        something_new_in_a_later_version=object(),
    ) == {}


def test_build_extra_body_returns_a_fresh_dict() -> None:
    p = ProviderProfile(name="x")
    first = p.build_extra_body()
    first["mutated"] = True
    assert p.build_extra_body() == {}


def test_build_api_kwargs_extras_default() -> None:
    p = ProviderProfile(name="x")
    assert p.build_api_kwargs_extras() == ({}, {})
    result = p.build_api_kwargs_extras(
        reasoning_config={"enabled": True, "effort": "high"},
        model="m",
        base_url="https://x",
        supports_reasoning=True,
        session_id="s",
        ollama_num_ctx=8192,
        unknown_later=1,
    )
    assert result == ({}, {})
    assert isinstance(result, tuple) and len(result) == 2


@pytest.mark.parametrize("cap", [None, 1, 16384])
def test_get_max_tokens_default_is_default_max_tokens(cap: int | None) -> None:
    p = ProviderProfile(name="x", default_max_tokens=cap)
    assert p.get_max_tokens("any-model") == cap
    assert p.get_max_tokens("") == cap


def test_get_max_tokens_follows_a_later_change_of_the_field() -> None:
    p = ProviderProfile(name="x")
    p.default_max_tokens = 77
    assert p.get_max_tokens("m") == 77


@pytest.mark.parametrize(
    "base_url,expected",
    [
        ("https://api.example.com/v1", "api.example.com"),
        ("https://API.Example.COM:8443/v1/", "api.example.com"),
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("https://user:pw@host.example.com/x", "host.example.com"),
        ("", ""),
        ("not a url", ""),
        ("api.example.com/v1", ""),  # no scheme: no host
        ("http://[::1", ""),  # unbalanced IPv6 bracket: urlsplit raises ValueError
        ("https://[not-an-ip]/v1", ""),
        ("::::", ""),
        ("acp://copilot", "copilot"),
    ],
)
def test_get_hostname_from_base_url(base_url: str, expected: str) -> None:
    assert ProviderProfile(name="x", base_url=base_url).get_hostname() == expected


@pytest.mark.parametrize("garbage", [None, 123, 4.5, b"https://bytes.example.com", ["https://x"], object()])
def test_get_hostname_never_raises_even_for_a_non_string_base_url(garbage: Any) -> None:
    # Plugins are third-party code: a wrong type in base_url must not break
    # the host table that every request's auto-detection goes through.
    assert ProviderProfile(name="x", base_url=garbage).get_hostname() == ""


def test_get_hostname_prefers_the_hostname_field_lowercased() -> None:
    p = ProviderProfile(name="x", base_url="https://api.example.com/v1", hostname="Other.Example.COM")
    assert p.get_hostname() == "other.example.com"


def test_fetch_models_default_signature() -> None:
    import inspect

    params = inspect.signature(ProviderProfile.fetch_models).parameters
    assert params["api_key"].kind is inspect.Parameter.KEYWORD_ONLY and params["api_key"].default is None
    assert params["base_url"].kind is inspect.Parameter.KEYWORD_ONLY and params["base_url"].default is None
    assert params["timeout"].default == 8.0


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:9/v1",  # nothing listens on port 9: refused at once
        "",  # no URL at all
        "acp://copilot",  # not HTTP
        "http://[::1",  # malformed: a user's typo in *_BASE_URL
        "http://127.0.0.1:99999/v1",
        "https://",
    ],
)
def test_fetch_models_failure_is_none_not_an_exception(base_url: str) -> None:
    assert ProviderProfile(name="x", base_url=base_url).fetch_models(timeout=1.0) is None
    assert ProviderProfile(name="x").fetch_models(base_url=base_url or None, timeout=1.0) is None


def test_subclass_overrides_hooks() -> None:
    class Custom(ProviderProfile):
        def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
            return {"session": session_id, "model": context.get("model")}

        def get_max_tokens(self, model: str) -> int | None:
            return 100 if model.startswith("small") else None

    c = Custom(name="custom-test")
    assert c.build_extra_body(session_id="s", model="m", other=1) == {"session": "s", "model": "m"}
    assert c.get_max_tokens("small-1") == 100
    assert c.get_max_tokens("big") is None
    register_provider(c)
    assert get_provider_profile("custom-test") is c


# -- register_provider / get_provider_profile / list_providers ----------------


def test_unknown_names_are_none() -> None:
    assert get_provider_profile("definitely-not-a-provider") is None
    assert get_provider_profile("") is None
    assert get_provider_profile("   ") is None
    assert get_provider_profile(None) is None  # type: ignore[arg-type]
    assert get_provider_profile(42) is None  # type: ignore[arg-type]


def test_lookup_by_name_and_alias() -> None:
    register_provider(ProviderProfile(name="alpha-test", aliases=("a1", "a2")))
    alpha = get_provider_profile("alpha-test")
    assert alpha is not None
    assert get_provider_profile("a1") is alpha
    assert get_provider_profile("a2") is alpha


def test_register_last_writer_wins_for_the_name() -> None:
    first = ProviderProfile(name="lww-test", base_url="https://one.example.com")
    second = ProviderProfile(name="lww-test", base_url="https://two.example.com")
    register_provider(first)
    register_provider(second)
    assert get_provider_profile("lww-test") is second
    assert [p for p in list_providers() if p.name == "lww-test"] == [second]


def test_register_last_writer_wins_for_an_alias() -> None:
    one = ProviderProfile(name="one-test", aliases=("shared-alias",))
    two = ProviderProfile(name="two-test", aliases=("shared-alias",))
    register_provider(one)
    register_provider(two)
    assert get_provider_profile("shared-alias") is two
    assert get_provider_profile("one-test") is one  # the name itself is untouched


def test_last_writer_wins_over_a_bundled_provider_and_its_aliases() -> None:
    bundled = get_provider_profile("gmi")
    mine = ProviderProfile(name="gmi", aliases=("gmi-cloud", "gmicloud"), base_url="https://mine.example.com/v1")
    register_provider(mine)
    assert get_provider_profile("gmi") is mine
    assert get_provider_profile("gmi-cloud") is mine
    assert get_provider_profile("gmicloud") is mine
    assert bundled is not mine


def test_an_alias_can_be_taken_over_from_a_bundled_provider() -> None:
    mine = ProviderProfile(name="my-router", aliases=("or",))
    register_provider(mine)
    assert get_provider_profile("or") is mine
    assert get_provider_profile("openrouter").name == "openrouter"


def test_names_beat_aliases_when_the_alias_is_registered_later() -> None:
    named = ProviderProfile(name="beta-test")
    register_provider(named)
    register_provider(ProviderProfile(name="alpha-test", aliases=("beta-test",)))
    assert get_provider_profile("beta-test") is named


def test_names_beat_aliases_when_the_alias_is_registered_first() -> None:
    alpha = ProviderProfile(name="alpha-test", aliases=("beta-test",))
    register_provider(alpha)
    assert get_provider_profile("beta-test") is alpha  # nothing else is called that yet
    named = ProviderProfile(name="beta-test")
    register_provider(named)
    assert get_provider_profile("beta-test") is named
    assert get_provider_profile("alpha-test") is alpha


def test_an_alias_equal_to_a_bundled_name_does_not_capture_it() -> None:
    register_provider(ProviderProfile(name="grabber", aliases=("openrouter", "anthropic", "deepseek")))
    for name in ("openrouter", "anthropic", "deepseek"):
        assert get_provider_profile(name).name == name


def test_lookup_strips_whitespace_and_ignores_case() -> None:
    assert get_provider_profile("  openrouter ").name == "openrouter"
    assert get_provider_profile("OpenRouter").name == "openrouter"
    assert get_provider_profile("OR").name == "openrouter"


@pytest.mark.parametrize("garbage", [None, "a string", 42, {"name": "dict"}, object()])
def test_register_refuses_something_that_is_not_a_profile(garbage: Any) -> None:
    before = list_providers()
    with pytest.raises(TypeError):
        register_provider(garbage)
    assert list_providers() == before


@pytest.mark.parametrize("bad_name", ["", "   ", None, 5])
def test_register_refuses_a_profile_without_a_usable_name(bad_name: Any) -> None:
    before = list_providers()
    with pytest.raises((ValueError, TypeError)):
        register_provider(ProviderProfile(name=bad_name))
    assert list_providers() == before


def test_list_providers_holds_every_bundled_provider_once() -> None:
    names = [p.name for p in list_providers()]
    assert sorted(names) == sorted(BUNDLED_NAMES)
    assert len(names) == len(set(names)) == 38


def test_list_providers_in_registration_order_each_once() -> None:
    start = len(list_providers())
    a = ProviderProfile(name="order-a", aliases=("oa1", "oa2"))
    b = ProviderProfile(name="order-b", aliases=("ob",))
    c = ProviderProfile(name="order-c")
    for p in (a, b, c):
        register_provider(p)
    assert list_providers()[start:] == [a, b, c]
    # Re-registering replaces in place: each name is listed once.
    b2 = ProviderProfile(name="order-b")
    register_provider(b2)
    tail = list_providers()[start:]
    assert [p.name for p in tail] == ["order-a", "order-b", "order-c"]
    assert tail[1] is b2
    names = [p.name for p in list_providers()]
    assert len(names) == len(set(names))


def test_bundled_providers_are_listed_in_discovery_order() -> None:
    # Bundled plugin directories load sorted by name, so registration order is sorted.
    assert [p.name for p in list_providers()] == sorted(BUNDLED_NAMES)


def test_list_providers_returns_a_copy() -> None:
    listed = list_providers()
    listed.clear()
    assert len(list_providers()) == 38


def test_registration_at_runtime_reports_a_runtime_origin() -> None:
    register_provider(ProviderProfile(name="runtime-test"))
    origin = providers.provider_origin("runtime-test")
    assert origin is not None and origin.source == "runtime"
    assert providers.provider_origin("nope") is None

