"""The OpenRouter Pareto Code router (issue 4): the full matrix of score values
x models, at the profile level and through the chat_completions builder on
both the profile path and the no-profile path."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermesd.settings import config as hconfig
from hermesd.engine.runtime import Resolved, resolve
from hermesd.wire import ChatOptions
from hermesd.wire import chat_completions
from providers.base import ProviderProfile
from providers.pareto import (
    DEFAULT_MIN_CODING_SCORE,
    PARETO_MODEL,
    PARETO_PLUGIN_ID,
    apply_pareto_router,
    coerce_min_coding_score,
    describe_pareto,
    is_openrouter_url,
    pareto_plugin_entry,
)
from tests._unit_helpers import UnitEnv, load_config, profile, unit_env  # noqa: F401  (autouse fixture)

OPENROUTER_URL = "https://openrouter.ai/api/v1"
OTHER_OR_MODEL = "anthropic/claude-sonnet-4.6"

# Every score value of issue 4, with the float that must be sent (None: nothing).
SCORES: list[tuple[Any, float | None]] = [
    (0.65, 0.65),
    (0, 0.0),
    (0.0, 0.0),
    (1, 1.0),
    (1.0, 1.0),
    ("0.5", 0.5),
    (" 0.5 ", 0.5),
    (None, None),
    ("", None),
    (float("nan"), None),
    (float("inf"), None),
    (float("-inf"), None),
    (1.5, None),
    (-0.01, None),
    ("abc", None),
    ("  ", None),
    ("nan", None),
    ("1e-1", 0.1),
    (True, 1.0),  # float(True), as Hermes reads it
    (False, 0.0),
    ([], None),
    ({}, None),
    ([0.5], None),
]
SCORE_IDS = [repr(s) for s, _ in SCORES]

# (label, provider, model): the pareto model on OpenRouter, another OpenRouter
# model, and the pareto model name on a provider that is not OpenRouter.
TARGETS = [
    ("pareto-code", "openrouter", PARETO_MODEL),
    ("other-openrouter-model", "openrouter", OTHER_OR_MODEL),
    ("not-openrouter", "deepseek", PARETO_MODEL),
]
TARGET_IDS = [t[0] for t in TARGETS]


def expected_plugins(label: str, sent: float | None) -> list[dict[str, Any]] | None:
    if label == "pareto-code" and sent is not None:
        return [{"id": "pareto-router", "min_coding_score": sent}]
    return None


def assert_plugins(body: dict[str, Any], expected: list[dict[str, Any]] | None) -> None:
    if expected is None:
        assert "plugins" not in body, body.get("plugins")
    else:
        assert body["plugins"] == expected
        entry = body["plugins"][-1]
        assert type(entry["min_coding_score"]) is float
        assert list(entry) == ["id", "min_coding_score"]


def score_copy(score: Any) -> Any:
    return copy.deepcopy(score)


# -- the matrix ------------------------------------------------------------------


@pytest.mark.parametrize("label,provider,model", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("score,sent", SCORES, ids=SCORE_IDS)
def test_matrix_profile_level(label: str, provider: str, model: str, score: Any, sent: float | None) -> None:
    original = score_copy(score)
    body = profile(provider).build_extra_body(
        session_id="s-1",
        model=model,
        base_url=profile(provider).base_url,
        provider_preferences=None,
        reasoning_config=None,
        openrouter_min_coding_score=score,
    )
    assert isinstance(body, dict)
    assert_plugins(body, expected_plugins(label, sent))
    if not (isinstance(score, float) and math.isnan(score)):
        assert score == original  # the score object is not modified


@pytest.mark.parametrize("label,provider,model", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("score,sent", SCORES, ids=SCORE_IDS)
def test_matrix_wire_profile_path(label: str, provider: str, model: str, score: Any, sent: float | None) -> None:
    p = profile(provider)
    resolved = Resolved(provider=p.name, profile=p, model=model, base_url=p.base_url,
                        api_mode="chat_completions", api_key="sk-test-1234", key_env_var="X")
    request = chat_completions.build(resolved, [{"role": "user", "content": "hi"}], ChatOptions(min_coding_score=score))
    assert_plugins(request.body, expected_plugins(label, sent))
    assert request.body["model"] == model


@pytest.mark.parametrize("label,provider,model", TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("score,sent", SCORES, ids=SCORE_IDS)
def test_matrix_wire_no_profile_path(label: str, provider: str, model: str, score: Any, sent: float | None) -> None:
    # No profile loaded: an endpoint defined only in config. The OpenRouter
    # cases use OpenRouter's URL; the other one another provider's URL.
    base_url = OPENROUTER_URL if provider == "openrouter" else "https://api.deepseek.com/v1"
    resolved = Resolved(provider="", profile=None, model=model, base_url=base_url,
                        api_mode="chat_completions", api_key="sk-test-1234", key_env_var="OPENROUTER_API_KEY")
    request = chat_completions.build(resolved, [{"role": "user", "content": "hi"}], ChatOptions(min_coding_score=score))
    assert_plugins(request.body, expected_plugins(label, sent))


@pytest.mark.parametrize("score,sent", SCORES, ids=SCORE_IDS)
def test_rule_functions(score: Any, sent: float | None) -> None:
    assert coerce_min_coding_score(score) == sent
    entry = pareto_plugin_entry(PARETO_MODEL, score)
    assert entry == (None if sent is None else {"id": PARETO_PLUGIN_ID, "min_coding_score": sent})
    assert pareto_plugin_entry(OTHER_OR_MODEL, score) is None


@pytest.mark.parametrize("model", [None, "", "openrouter/pareto", "OPENROUTER/PARETO-CODE", " openrouter/pareto-code",
                                   "openrouter/pareto-code:free", "openrouter/auto"])
def test_only_exactly_the_pareto_model(model: Any) -> None:
    assert pareto_plugin_entry(model, 0.65) is None
    assert "plugins" not in profile("openrouter").build_extra_body(model=model, openrouter_min_coding_score=0.65)


@settings(max_examples=200, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float(score: float) -> None:
    entry = pareto_plugin_entry(PARETO_MODEL, score)
    if math.isfinite(score) and 0.0 <= score <= 1.0:
        assert entry == {"id": "pareto-router", "min_coding_score": score}
    else:
        assert entry is None


# -- existing plugins entries ---------------------------------------------------------


def or_resolved(p: Any | None, model: str = PARETO_MODEL) -> Resolved:
    return Resolved(provider="openrouter" if p else "", profile=p, model=model, base_url=OPENROUTER_URL,
                    api_mode="chat_completions", api_key="sk-test-1234", key_env_var="OPENROUTER_API_KEY")


@pytest.mark.parametrize("path", ["profile", "no-profile"])
def test_the_callers_extra_body_is_a_shallow_merge_over_the_pareto_entry(path: str) -> None:
    """As in Hermes' transport: the caller's additions come last and replace ``plugins`` whole."""
    p = profile("openrouter") if path == "profile" else None
    options = ChatOptions(
        min_coding_score=0.65,
        provider_preferences={"order": ["anthropic"], "allow_fallbacks": False},
        extra_body={"plugins": [{"id": "web"}]},
    )
    body = chat_completions.build(or_resolved(p), [{"role": "user", "content": "hi"}], options).body
    assert body["plugins"] == [{"id": "web"}]
    assert body["provider"] == {"order": ["anthropic"], "allow_fallbacks": False}
    assert options.extra_body == {"plugins": [{"id": "web"}]}  # the caller's dict is not modified
    without = chat_completions.build(or_resolved(p), [{"role": "user", "content": "hi"}],
                                     ChatOptions(min_coding_score=0.65)).body
    assert without["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.65}]


class _PlainOpenRouter(ProviderProfile):
    """A user's override of openrouter written for Hermes, with no Pareto support."""


class _OwnPareto(ProviderProfile):
    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        return {"plugins": [{"id": "web"}, {"id": "pareto-router", "min_coding_score": 0.3}]}


@pytest.mark.parametrize("override, sent", [
    (_PlainOpenRouter, "absent"),
    (_OwnPareto, [{"id": "web"}, {"id": "pareto-router", "min_coding_score": 0.3}]),
], ids=["plain-override", "own-entry"])
def test_a_loaded_profile_owns_the_pareto_entry(override: type, sent: Any) -> None:
    """The daemon adds nothing to a profile's body on OpenRouter: what the plugin builds is sent."""
    p = override(name="openrouter", base_url=OPENROUTER_URL)
    body = chat_completions.build(or_resolved(p), [{"role": "user", "content": "hi"}],
                                  ChatOptions(min_coding_score=0.8)).body
    assert body.get("plugins", "absent") == sent


@pytest.mark.parametrize("path", ["profile", "no-profile"])
def test_other_models_keep_the_callers_plugins_untouched(path: str) -> None:
    p = profile("openrouter") if path == "profile" else None
    options = ChatOptions(min_coding_score=0.65, extra_body={"plugins": [{"id": "web"}]})
    body = chat_completions.build(or_resolved(p, model=OTHER_OR_MODEL), [{"role": "user", "content": "hi"}], options).body
    assert body["plugins"] == [{"id": "web"}]


def test_profile_level_merges_with_provider_preferences() -> None:
    body = profile("openrouter").build_extra_body(
        model=PARETO_MODEL, provider_preferences={"sort": "price"}, openrouter_min_coding_score="0.5"
    )
    assert body == {"provider": {"sort": "price"}, "plugins": [{"id": "pareto-router", "min_coding_score": 0.5}]}


def test_apply_pareto_router_does_not_mutate() -> None:
    original = {"plugins": [{"id": "web"}], "provider": {"order": ["a"]}}
    snapshot = copy.deepcopy(original)
    result = apply_pareto_router(original, PARETO_MODEL, 1)
    assert original == snapshot
    assert result["plugins"] == [{"id": "web"}, {"id": "pareto-router", "min_coding_score": 1.0}]
    assert apply_pareto_router(original, OTHER_OR_MODEL, 1) is original


# -- through resolution ------------------------------------------------------------------


def test_openrouter_profile_pointed_at_a_local_mirror_still_gets_the_entry(unit_env: UnitEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:8765/api/v1")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test-1234")
    resolved = resolve(load_config(unit_env, {}), provider="openrouter", model=PARETO_MODEL)
    assert resolved.base_url == "http://127.0.0.1:8765/api/v1" and resolved.is_openrouter
    body = chat_completions.build(resolved, [{"role": "user", "content": "hi"}], ChatOptions(min_coding_score=0.65)).body
    assert body["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.65}]


# Every hand-edited value of docs/providers.md's score table: (YAML, floor sent, doctor status).
HAND_EDITED: list[tuple[str, float | None, str]] = [
    ("", 0.65, "ok"),  # key absent: Hermes' config default
    ("min_coding_score: 0.8", 0.8, "ok"),
    ("min_coding_score: 0", 0.0, "ok"),
    ("min_coding_score: 1", 1.0, "ok"),
    ("min_coding_score: '0.5'", 0.5, "ok"),
    ("min_coding_score: ' 0.5 '", 0.5, "ok"),
    ("min_coding_score: null", None, "ok"),  # explicit null: no floor, on purpose
    ("min_coding_score:", None, "ok"),
    ("min_coding_score: ''", None, "warn"),
    ("min_coding_score: ' '", None, "warn"),
    ("min_coding_score: 1.5", None, "warn"),
    ("min_coding_score: 7", None, "warn"),
    ("min_coding_score: -1", None, "warn"),
    ("min_coding_score: abc", None, "warn"),
    ("min_coding_score: .nan", None, "warn"),
    ("min_coding_score: .inf", None, "warn"),
    ("min_coding_score: [0.5]", None, "warn"),
    ("min_coding_score: {a: 1}", None, "warn"),
    ("min_coding_score: true", 1.0, "warn"),  # float(True), as Hermes sends it
    ("min_coding_score: false", 0.0, "warn"),
]


@pytest.mark.parametrize("line,sent,status", HAND_EDITED, ids=[h[0] or "absent" for h in HAND_EDITED])
def test_hand_edited_score_to_request_and_doctor(unit_env: UnitEnv, line: str, sent: float | None, status: str) -> None:
    from hermesd.engine.doctor import config_checks, pareto_check

    unit_env.config_path.write_text(f"openrouter:\n  {line}\n" if line else "")
    cfg = hconfig.load(unit_env.config_path)
    score = cfg.get("openrouter.min_coding_score")
    body = chat_completions.build(or_resolved(profile("openrouter")), [{"role": "user", "content": "x"}],
                                  ChatOptions(min_coding_score=score)).body
    assert_plugins(body, None if sent is None else [{"id": "pareto-router", "min_coding_score": sent}])
    warnings = [c.summary for c in config_checks(cfg) if c.status == "warn"]
    if status == "ok":
        assert cfg.problems == [] and warnings == []
    else:
        read = "ignored: no floor is sent" if sent is None else f"read as {sent:g}"
        [problem] = cfg.problems
        assert problem.startswith("openrouter.min_coding_score must be a number from 0.0 to 1.0 (got ")
        assert problem.endswith(f"; {read}, as the Hermes agent reads it")
        assert any(problem in w for w in warnings)
    floor = pareto_check(cfg).summary
    assert ("no floor is sent" in floor) is (sent is None)
    assert ("ignored" in floor) is (sent is None and status == "warn")


def test_default_score() -> None:
    assert DEFAULT_MIN_CODING_SCORE == 0.65


# -- helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://openrouter.ai/api/v1", True),
        ("https://OpenRouter.AI/api/v1", True),
        ("https://eu.openrouter.ai/api/v1", True),
        ("http://openrouter.ai:8080", True),
        ("https://notopenrouter.ai/api/v1", False),
        ("https://openrouter.ai.evil.example.com/api/v1", False),
        ("https://example.com/openrouter.ai", False),
        ("http://127.0.0.1:8765/api/v1", False),
        ("", False),
        (None, False),
        ("http://[::1", False),
    ],
)
def test_is_openrouter_url(url: Any, expected: bool) -> None:
    assert is_openrouter_url(url) is expected


@pytest.mark.parametrize("score,shown", [(0.65, "0.65"), ("0.5", "0.5"), (0, "0"), (1.0, "1"), (0.725, "0.725"), (" 0.8 ", "0.8")])
def test_describe_pareto_includes_the_score(score: Any, shown: str) -> None:
    text = describe_pareto(score)
    assert f"scoring at least {shown}" in text
    assert "cheapest coder" in text


@pytest.mark.parametrize("score", [None, "", float("nan"), 1.5, "abc", [0.5]])
def test_describe_pareto_without_a_floor(score: Any) -> None:
    text = describe_pareto(score)
    assert "strongest" in text and "at least" not in text
