"""Model catalogs (live from a local server on 127.0.0.1, the on-disk cache,
fallbacks, OpenRouter's curated router entry) and session transcripts."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from hermesd.engine import catalog
from hermesd.protocol import to_wire
from hermesd.engine.runtime import resolve
from hermesd.engine.sessions import SessionStore, Settings
from providers import register_provider
from providers.base import ProviderProfile
from providers.pareto import PARETO_MODEL
from tests._unit_helpers import (  # noqa: F401  (fresh_unit_env is an autouse fixture)
    UnitEnv,
    catalog_server,
    fresh_unit_env,
    load_config,
    profile,
)

KEY = "sk-catalog-test-1234"


def listing(p: ProviderProfile, base_url: str, *, refresh: bool = False, ttl: int = 3600, score: Any = 0.65,
            key: str | None = KEY) -> dict[str, Any]:
    """The listing as hermes/listModels sends it."""
    return to_wire(catalog.list_models(p, base_url=base_url, api_key=key, refresh=refresh, ttl_seconds=ttl, min_coding_score=score))


def ids(result: dict[str, Any]) -> list[str]:
    return [m["id"] for m in result["models"]]


def catalog_files(env: UnitEnv) -> list[Path]:
    return sorted((env.cache / "catalogs").glob("*.json"))


# -- live, cache, refresh ------------------------------------------------------------


def test_live_fetch_through_the_plugins_base_url_override(fresh_unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    with catalog_server((200, {"data": [{"id": "deepseek-chat"}, {"id": "deepseek-reasoner"}, {"object": "x"}]})) as server:
        monkeypatch.setenv("DEEPSEEK_BASE_URL", server.url + "/v1")
        monkeypatch.setenv("DEEPSEEK_API_KEY", KEY)
        resolved = resolve(load_config(fresh_unit_env, {}), provider="deepseek")
        assert resolved.base_url == server.url + "/v1"
        before = time.time()
        result = listing(resolved.profile, resolved.base_url, key=resolved.api_key)
    assert result["provider"] == "deepseek"
    assert result["source"] == "live" and "error" not in result
    assert result["models"] == [
        {"id": "deepseek-chat", "group": "models"},
        {"id": "deepseek-reasoner", "group": "models"},
    ]
    fetched = time.mktime(time.strptime(result["fetchedAt"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(fetched - before) < 5
    assert [r.path for r in server.requests] == ["/v1/models"]
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    files = catalog_files(fresh_unit_env)
    assert len(files) == 1
    assert json.loads(files[0].read_text())["models"] == ["deepseek-chat", "deepseek-reasoner"]


def test_bare_list_catalog(fresh_unit_env: UnitEnv) -> None:
    p = ProviderProfile(name="bare", base_url="http://unused.invalid")
    with catalog_server((200, ["a", {"id": "b"}, 3, ""])) as server:
        result = listing(p, server.url)
    assert ids(result) == ["a", "b"] and result["source"] == "live"


def test_no_authorization_header_without_a_key(fresh_unit_env: UnitEnv) -> None:
    p = ProviderProfile(name="nokey", default_headers={"X-Client": "hermesd"})
    with catalog_server((200, {"data": [{"id": "a"}]})) as server:
        listing(p, server.url, key=None)
    assert "authorization" not in server.requests[0].headers
    assert server.requests[0].headers["x-client"] == "hermesd"


def test_cache_within_ttl_makes_no_second_request(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "one"}]}), (200, {"data": [{"id": "two"}]})) as server:
        first = listing(p, server.url + "/v1")
        second = listing(p, server.url + "/v1")
    assert len(server.requests) == 1
    assert first["source"] == "live" and second["source"] == "cache"
    assert ids(second) == ["one"]
    assert second["fetchedAt"] == first["fetchedAt"]


def test_refresh_bypasses_the_cache(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "one"}]}), (200, {"data": [{"id": "two"}]})) as server:
        listing(p, server.url + "/v1")
        refreshed = listing(p, server.url + "/v1", refresh=True)
        after = listing(p, server.url + "/v1")
    assert len(server.requests) == 2
    assert refreshed["source"] == "live" and ids(refreshed) == ["two"]
    assert after["source"] == "cache" and ids(after) == ["two"]


def test_expired_cache_is_fetched_again(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "one"}]}), (200, {"data": [{"id": "two"}]})) as server:
        listing(p, server.url + "/v1", ttl=0)
        again = listing(p, server.url + "/v1", ttl=0)
    assert len(server.requests) == 2 and again["source"] == "live" and ids(again) == ["two"]


def test_cache_is_per_endpoint(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "from-a"}]})) as a, catalog_server((200, {"data": [{"id": "from-b"}]})) as b:
        assert ids(listing(p, a.url + "/v1")) == ["from-a"]
        assert ids(listing(p, b.url + "/v1")) == ["from-b"]
        assert ids(listing(p, a.url + "/v1")) == ["from-a"]
    assert len(catalog_files(fresh_unit_env)) == 2


# -- failures ------------------------------------------------------------------------


@pytest.mark.parametrize("status,payload", [(500, {"error": "down"}), (401, {"error": "bad key"}), (200, {"unexpected": 1}),
                                            (200, "not json-ish")])
def test_failure_without_cache_gives_the_fallback_models(fresh_unit_env: UnitEnv, status: int, payload: Any) -> None:
    p = profile("deepseek")
    with catalog_server((status, payload)) as server:
        result = listing(p, server.url + "/v1")
    assert result["source"] == "fallback"
    assert result["error"]
    assert "fetchedAt" not in result
    assert ids(result) == list(p.fallback_models)
    assert catalog_files(fresh_unit_env) == []


def test_failure_with_a_stale_cache_gives_the_cache(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "cached-model"}]}), (503, {"error": "busy"})) as server:
        first = listing(p, server.url + "/v1", ttl=0)
        stale = listing(p, server.url + "/v1", ttl=0)
    assert stale["source"] == "cache"
    assert stale["error"]
    assert stale["fetchedAt"] == first["fetchedAt"]
    assert ids(stale) == ["cached-model"]


def test_unreachable_endpoint_gives_the_fallback(fresh_unit_env: UnitEnv) -> None:
    p = profile("gmi")
    result = listing(p, "http://127.0.0.1:9/v1")
    assert result["source"] == "fallback" and ids(result) == list(p.fallback_models)


def test_a_corrupt_cache_file_is_ignored(fresh_unit_env: UnitEnv) -> None:
    p = profile("deepseek")
    with catalog_server((200, {"data": [{"id": "one"}]}), (500, {})) as server:
        listing(p, server.url + "/v1")
        [path] = catalog_files(fresh_unit_env)
        path.write_text("{torn")
        result = listing(p, server.url + "/v1")
    assert result["source"] == "fallback" and ids(result) == list(p.fallback_models)


def test_a_fetch_models_that_raises(fresh_unit_env: UnitEnv) -> None:
    class Raising(ProviderProfile):
        def fetch_models(self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0) -> Any:
            raise RuntimeError("plugin bug")

    result = listing(Raising(name="raising", fallback_models=("fb-1",)), "http://127.0.0.1:9")
    assert result["source"] == "fallback" and ids(result) == ["fb-1"]
    assert "RuntimeError" in result["error"] and "plugin bug" in result["error"]


@pytest.mark.parametrize("garbage", [None, "a-string", [1, 2], {"data": []}, [None]])
def test_a_fetch_models_returning_garbage(fresh_unit_env: UnitEnv, garbage: Any) -> None:
    class Garbage(ProviderProfile):
        def fetch_models(self, **kwargs: Any) -> Any:
            return garbage

    result = listing(Garbage(name="garbage", fallback_models=("fb-1",)), "http://127.0.0.1:9")
    assert result["source"] == "fallback" and ids(result) == ["fb-1"]


def test_provider_without_a_catalog(fresh_unit_env: UnitEnv) -> None:
    result = listing(profile("bedrock"), profile("bedrock").base_url)
    assert result["source"] == "fallback"
    assert "no model catalog" in result["error"]
    assert ids(result) == list(profile("bedrock").fallback_models)


# -- fetch_models signatures -------------------------------------------------------------


def test_fetch_models_without_base_url_parameter_still_works(fresh_unit_env: UnitEnv) -> None:
    calls: list[dict[str, Any]] = []

    class OldStyle(ProviderProfile):
        def fetch_models(self, *, api_key: str | None = None, timeout: float = 8.0) -> list[str] | None:
            calls.append({"api_key": api_key, "timeout": timeout})
            return ["old-1", "old-2"]

    p = OldStyle(name="old-style")
    register_provider(p)
    result = listing(p, "https://old.example.com/v1")
    assert result["source"] == "live" and ids(result) == ["old-1", "old-2"]
    assert calls == [{"api_key": KEY, "timeout": catalog.FETCH_TIMEOUT}]


def test_fetch_models_whose_signature_hides_that_it_takes_no_base_url(fresh_unit_env: UnitEnv) -> None:
    # A decorator without functools.wraps: the signature says (*args, **kwargs),
    # the function underneath has the old (api_key, timeout) signature. The
    # contract: hermesd must tolerate an override that does not accept
    # base_url, calling it again without it.
    def old_fetch(self: Any, *, api_key: str | None = None, timeout: float = 8.0) -> list[str]:
        return ["wrapped-1"]

    def logged(fn: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)
        return wrapper

    class Decorated(ProviderProfile):
        fetch_models = logged(old_fetch)  # type: ignore[assignment]

    result = listing(Decorated(name="decorated"), "https://decorated.example.com/v1")
    assert result["source"] == "live", result.get("error")
    assert ids(result) == ["wrapped-1"]


def test_fetch_models_with_kwargs_gets_the_base_url(fresh_unit_env: UnitEnv) -> None:
    seen: dict[str, Any] = {}

    class Kw(ProviderProfile):
        def fetch_models(self, **kwargs: Any) -> list[str]:
            seen.update(kwargs)
            return ["kw-1"]

    listing(Kw(name="kw"), "https://kw.example.com/v1")
    assert seen["base_url"] == "https://kw.example.com/v1" and seen["api_key"] == KEY


# -- OpenRouter's router entry -----------------------------------------------------------


def assert_pareto_first(result: dict[str, Any], score_text: str | None) -> None:
    first = result["models"][0]
    assert first["id"] == PARETO_MODEL
    assert first["group"] == "routers"
    if score_text is None:
        assert "strongest" in first["description"]
    else:
        assert f"at least {score_text}" in first["description"]
    assert ids(result).count(PARETO_MODEL) == 1
    assert all(m["group"] == "models" for m in result["models"][1:])


def test_openrouter_lists_pareto_first_when_the_catalog_omits_it(fresh_unit_env: UnitEnv) -> None:
    with catalog_server((200, {"data": [{"id": "anthropic/claude-sonnet-4.6"}, {"id": "openai/gpt-5.5"}]})) as server:
        result = listing(profile("openrouter"), server.url + "/api/v1", score=0.65)
    assert result["source"] == "live"
    assert_pareto_first(result, "0.65")
    assert ids(result)[1:] == ["anthropic/claude-sonnet-4.6", "openai/gpt-5.5"]
    assert "authorization" not in server.requests[0].headers  # a public catalog: the key is not sent


def test_openrouter_pareto_not_duplicated_when_the_catalog_has_it(fresh_unit_env: UnitEnv) -> None:
    catalog_data = {"data": [{"id": "x/model"}, {"id": PARETO_MODEL, "supported_parameters": []}]}
    with catalog_server((200, catalog_data)) as server:
        result = listing(profile("openrouter"), server.url + "/api/v1", score="0.5")
    assert_pareto_first(result, "0.5")
    assert ids(result) == [PARETO_MODEL, "x/model"]


@pytest.mark.parametrize("score,text", [(0.65, "0.65"), (0.0, "0"), (1, "1"), (None, None)])
def test_openrouter_lists_pareto_when_the_catalog_fails(fresh_unit_env: UnitEnv, score: Any, text: str | None) -> None:
    with catalog_server((500, {"error": "down"})) as server:
        result = listing(profile("openrouter"), server.url + "/api/v1", score=score)
    assert result["source"] == "fallback" and result["error"]
    assert_pareto_first(result, text)


def test_openrouter_pareto_from_a_stale_cache(fresh_unit_env: UnitEnv) -> None:
    with catalog_server((200, {"data": [{"id": "a/b"}]})) as server:
        listing(profile("openrouter"), server.url + "/api/v1", ttl=0)
    # The server is gone; the plugin's own per-process cache is not, so make
    # the fetch fail the way a fresh daemon would see it.
    import providers

    providers.reload()
    result = listing(profile("openrouter"), server.url + "/api/v1", ttl=0, score=0.9)
    assert result["source"] == "cache" and result["error"]
    assert_pareto_first(result, "0.9")
    assert ids(result)[1:] == ["a/b"]


def test_other_providers_get_no_router_entry(fresh_unit_env: UnitEnv) -> None:
    assert catalog.curated_entries(profile("deepseek"), 0.65) == []
    with catalog_server((200, {"data": [{"id": PARETO_MODEL}]})) as server:
        result = listing(profile("deepseek"), server.url + "/v1")
    assert result["models"] == [{"id": PARETO_MODEL, "group": "models"}]


# -- sessions ----------------------------------------------------------------------------


def test_session_round_trip_through_disk(fresh_unit_env: UnitEnv) -> None:
    store = SessionStore()
    settings = Settings(min_coding_score=0.5, provider_preferences={"order": ["x"]}, reasoning_effort="low",
                        temperature=0.2, max_tokens=100, budget_tokens=5000)
    parent = store.create(provider="openrouter", model=PARETO_MODEL, settings=settings, system="be brief")
    child = store.create(provider="deepseek", model="deepseek-chat", settings=settings, parent_id=parent.id)
    store.add_messages(parent, {"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi"})
    store.add_messages(parent, {"role": "user", "content": "more"}, {"role": "assistant", "content": "ok"})
    store.replace_with_summary(parent, "they greeted", kept=2)
    store.add_messages(parent, {"role": "user", "content": "after summary"})
    store.update_target(parent, "gmi", "zai-org/GLM-5.1-FP8", None)

    path = fresh_unit_env.data / "sessions" / f"{parent.id}.jsonl"
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for line in path.read_text().splitlines():
        json.loads(line)

    fresh = SessionStore()
    loaded = fresh.get(parent.id)
    assert loaded is not None and loaded is not parent
    assert (loaded.provider, loaded.model, loaded.system) == ("gmi", "zai-org/GLM-5.1-FP8", "be brief")
    assert loaded.summary == "they greeted"
    assert loaded.messages == [
        {"role": "user", "content": "more"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "after summary"},
    ]
    assert loaded.settings == settings
    assert loaded.parent_id is None
    assert abs(loaded.updated_at - parent.updated_at) < 1
    loaded_child = fresh.get(child.id)
    assert loaded_child.parent_id == parent.id
    assert loaded_child.settings.min_coding_score == 0.5
    assert loaded_child.summary_row().parent_session_id == parent.id


def test_session_summary_rows_and_listing(fresh_unit_env: UnitEnv) -> None:
    store = SessionStore()
    first = store.create(provider="deepseek", model="m", settings=Settings())
    store.add_messages(first, {"role": "user", "content": "  a   question\nwith  spaces  "})
    time.sleep(0.01)
    second = store.create(provider="gmi", model="n", settings=Settings())
    store.add_messages(second, {"role": "user", "content": "x" * 80})
    row = store.get(first.id).summary_row()
    assert row.session_id == first.id and row.title == "a question with spaces"
    assert row.provider == "deepseek" and row.model == "m" and row.message_count == 1
    assert "parentSessionId" not in to_wire(row)
    assert second.title == "x" * 60 + "…"
    time.sleep(0.01)
    third = store.create(provider="", model="", settings=Settings())
    assert third.title == "(empty)"
    listed = SessionStore().list()  # newest first, read back from disk
    assert [s.session_id for s in listed] == [third.id, second.id, first.id]


def test_a_torn_last_line_is_skipped(fresh_unit_env: UnitEnv) -> None:
    store = SessionStore()
    session = store.create(provider="deepseek", model="m", settings=Settings())
    store.add_messages(session, {"role": "user", "content": "kept"})
    path = store.root / f"{session.id}.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type": "message", "role": "assistant", "content": "torn mid-wr')
    loaded = SessionStore().get(session.id)
    assert loaded is not None
    assert loaded.messages == [{"role": "user", "content": "kept"}]


def test_appends_after_a_torn_line_are_not_lost(fresh_unit_env: UnitEnv) -> None:
    # A crash mid-write leaves a line without its newline; the daemon restarts,
    # the user carries on, and the next turn must survive the next restart.
    store = SessionStore()
    session = store.create(provider="deepseek", model="m", settings=Settings())
    store.add_messages(session, {"role": "user", "content": "before the crash"})
    path = store.root / f"{session.id}.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"type": "message", "role": "assistant", "content": "torn')
    restarted = SessionStore()
    resumed = restarted.get(session.id)
    restarted.add_messages(resumed, {"role": "user", "content": "after the restart"})
    loaded = SessionStore().get(session.id)
    assert [m["content"] for m in loaded.messages] == ["before the crash", "after the restart"]


def test_a_torn_line_in_the_middle_is_skipped(fresh_unit_env: UnitEnv) -> None:
    store = SessionStore()
    session = store.create(provider="deepseek", model="m", settings=Settings())
    path = store.root / f"{session.id}.jsonl"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("{not json}\n")
    store.add_messages(session, {"role": "user", "content": "after"})
    assert [m["content"] for m in SessionStore().get(session.id).messages] == ["after"]


@pytest.mark.parametrize("bad", ["", "nope", "s-does-not-exist", None, 5])
def test_unknown_session_ids(fresh_unit_env: UnitEnv, bad: Any) -> None:
    assert SessionStore().get(bad) is None


def test_store_with_an_explicit_root(tmp_path: Path) -> None:
    root = tmp_path / "elsewhere"
    store = SessionStore(root)
    session = store.create(provider="p", model="m", settings=Settings())
    assert (root / f"{session.id}.jsonl").is_file()
    assert SessionStore(root).get(session.id).provider == "p"
    assert os.environ["HERMESD_DATA_DIR"] not in str(root)
