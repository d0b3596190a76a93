"""OpenRouter's Pareto Code router through the real daemon: the body OpenRouter receives."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import CANARY_KEY, write_config

PARETO = "openrouter/pareto-code"


def _env(up) -> dict[str, str]:
    return {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{up.url}/api/v1"}


def _plugins_sent(up) -> object:
    return up.requests[-1].json.get("plugins", "absent")


@pytest.mark.parametrize(
    ("openrouter_config", "expected"),
    [
        ({}, [{"id": "pareto-router", "min_coding_score": 0.65}]),  # key absent: the default
        ({"min_coding_score": 0.0}, [{"id": "pareto-router", "min_coding_score": 0.0}]),
        ({"min_coding_score": 1.0}, [{"id": "pareto-router", "min_coding_score": 1.0}]),
        ({"min_coding_score": "0.5"}, [{"id": "pareto-router", "min_coding_score": 0.5}]),  # hand-edited string
        ({"min_coding_score": None}, "absent"),  # explicit null: no floor
    ],
    ids=["default-0.65", "0.0", "1.0", "string-0.5", "null"],
)
async def test_score_values_on_the_wire(start_daemon, upstream, isolated_home, openrouter_config, expected):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": PARETO}, "openrouter": openrouter_config})
    daemon = await start_daemon(env=_env(upstream))
    result = await daemon.request("hermes/chat", {"message": "fix my bug"})
    assert result["stopReason"] == "end_turn", result
    assert _plugins_sent(upstream) == expected
    assert upstream.requests[-1].json["model"] == PARETO


async def test_score_is_dropped_for_other_models(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "anthropic/claude-sonnet-4.6"},
                                 "openrouter": {"min_coding_score": 0.9}})
    daemon = await start_daemon(env=_env(upstream))
    await daemon.request("hermes/chat", {"message": "hi"})
    assert _plugins_sent(upstream) == "absent"


@pytest.mark.parametrize("hook, sent", [
    ("", "absent"),  # a plain override written for Hermes: Hermes adds no floor, nor does hermesd
    ("    def build_extra_body(self, *, session_id=None, **context):\n"
     "        return {'plugins': [{'id': 'web'}, {'id': 'pareto-router', 'min_coding_score': 0.3}]}\n",
     [{"id": "web"}, {"id": "pareto-router", "min_coding_score": 0.3}]),  # its own entry, sent as built
], ids=["plain-override", "own-entry"])
async def test_a_user_override_owns_the_pareto_entry(start_daemon, upstream, isolated_home, hook, sent):
    user_plugin = isolated_home / "plugins" / "model-providers" / "openrouter"
    user_plugin.mkdir(parents=True)
    (user_plugin / "__init__.py").write_text(
        "from providers import register_provider\n"
        "from providers.base import ProviderProfile\n"
        "class OR(ProviderProfile):\n"
        "    pass\n" + hook +
        "register_provider(OR(name='openrouter', aliases=('or',), env_vars=('OPENROUTER_API_KEY', 'OPENROUTER_BASE_URL'),\n"
        "    base_url='https://openrouter.ai/api/v1'))\n",
        encoding="utf-8",
    )
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": PARETO}, "openrouter": {"min_coding_score": 0.8}})
    daemon = await start_daemon(env=_env(upstream))
    await daemon.request("hermes/chat", {"message": "hi"})
    assert _plugins_sent(upstream) == sent


async def test_no_profile_path_for_an_openrouter_url(start_daemon, upstream, isolated_home):
    """The openrouter plugin is gone (a broken user override replaced it): the URL decides."""
    broken = isolated_home / "plugins" / "model-providers" / "openrouter"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('broken on purpose')\n", encoding="utf-8")
    # The bundled one still loads; to simulate "no profile", point config at an endpoint
    # with a provider name that no plugin registers, on an openrouter.ai host.
    write_config(isolated_home, {"model": {"provider": "", "default": PARETO, "base_url": f"{upstream.url}/api/v1"},
                                 "openrouter": {"min_coding_score": 0.7}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY})
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    # 127.0.0.1 is not openrouter.ai: nothing is added on the no-profile path.
    assert "plugins" not in preview["body"]
    # The same config aimed at openrouter.ai gets the entry (previewed, not sent).
    write_config(isolated_home, {"model": {"provider": "", "default": PARETO, "base_url": "https://openrouter.ai/api/v1"},
                                 "openrouter": {"min_coding_score": 0.7}})
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["url"] == "https://openrouter.ai/api/v1/chat/completions"
    assert preview["body"]["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.7}]
    assert preview["headers"]["Authorization"] == "Bearer ***"
    assert upstream.requests == []


async def test_child_session_inherits_the_parents_score(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-5.4"}, "openrouter": {"min_coding_score": 0.4}})
    daemon = await start_daemon(env=_env(upstream))
    parent = await daemon.request("hermes/newSession")
    # The config changes after the parent started: the parent's score is what a child gets.
    await daemon.request("hermes/setConfig", {"key": "openrouter.min_coding_score", "value": 0.9})
    child = await daemon.request("hermes/newSession", {"parentSessionId": parent["sessionId"], "model": PARETO})
    assert child["provider"] == "openrouter" and child["model"] == PARETO
    await daemon.request("hermes/chat", {"sessionId": child["sessionId"], "message": "hi"})
    assert _plugins_sent(upstream) == [{"id": "pareto-router", "min_coding_score": 0.4}]
    # A fresh session reads the new value.
    fresh = await daemon.request("hermes/newSession", {"model": PARETO})
    await daemon.request("hermes/chat", {"sessionId": fresh["sessionId"], "message": "hi"})
    assert _plugins_sent(upstream) == [{"id": "pareto-router", "min_coding_score": 0.9}]


@pytest.mark.parametrize("aux_model", [PARETO, ""], ids=["aux-is-pareto", "aux-default"])
async def test_summary_path_applies_the_rule(start_daemon, upstream, isolated_home, aux_model):
    write_config(isolated_home, {
        "model": {"provider": "openrouter", "default": PARETO},
        "openrouter": {"min_coding_score": 0.55},
        "auxiliary": {"model": aux_model},
        "context": {"budget_tokens": 1000, "keep_recent_messages": 2},
    })
    upstream.reply_text = "x" * 3000  # long replies push the session over its budget
    daemon = await start_daemon(env=_env(upstream))
    session = await daemon.request("hermes/newSession")
    for turn in range(3):
        await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": f"turn {turn}"})
    bodies = [r.json for r in upstream.requests]
    summaries = [b for b in bodies if b["messages"][0]["content"].startswith("Summarise the conversation")]
    assert summaries, "no summary request was made"
    if aux_model == PARETO:
        assert summaries[0]["model"] == PARETO
        assert summaries[0]["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.55}]
    else:  # the profile's cheap auxiliary model: not the router, so no floor is sent
        from providers import get_provider_profile

        assert summaries[0]["model"] == get_provider_profile("openrouter").default_aux_model
        assert "plugins" not in summaries[0]
    last = bodies[-1]
    assert last["model"] == PARETO
    assert last["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.55}]
    assert last["messages"][0]["content"].startswith("Summary of the earlier conversation")
    saved = await daemon.request("hermes/getSession", {"sessionId": session["sessionId"]})
    assert saved["summary"]


async def test_routed_model_and_picker_entry(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"openrouter": {"min_coding_score": 0.72}})
    upstream.models = ["anthropic/claude-sonnet-4.6", PARETO, "qwen/qwen3-coder"]
    daemon = await start_daemon(env=_env(upstream))
    listing = await daemon.request("hermes/listModels", {"provider": "or"})
    first = listing["models"][0]
    assert first["id"] == PARETO and first["group"] == "routers"
    assert "auto-routes to the cheapest coder scoring at least 0.72" in first["description"]
    assert [m["id"] for m in listing["models"]].count(PARETO) == 1
    upstream.fail(status=503, times=None, path_contains="/models")
    failed = await daemon.request("hermes/listModels", {"provider": "openrouter", "refresh": True})
    assert failed["models"][0]["id"] == PARETO


def test_cli_chat_sends_the_same_body(upstream, isolated_home):
    write_config(isolated_home, {"openrouter": {"min_coding_score": "0.5"}})
    upstream.reply_text = "cli reply"
    upstream.routed_model = "mistral/devstral"
    env = {**os.environ, **_env(upstream)}
    proc = subprocess.run(
        [sys.executable, "-m", "hermesd", "chat", "-p", "openrouter", "-m", PARETO, "refactor this"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "cli reply"
    assert "routed to mistral/devstral" in proc.stderr
    assert upstream.requests[-1].json["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.5}]
    preview = subprocess.run(
        [sys.executable, "-m", "hermesd", "chat", "--preview", "-p", "openrouter", "-m", PARETO, "x"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert json.loads(preview.stdout)["body"]["plugins"] == [{"id": "pareto-router", "min_coding_score": 0.5}]
    assert CANARY_KEY not in preview.stdout + preview.stderr + proc.stdout + proc.stderr


def test_cli_config_set_refuses_bad_scores(isolated_home):
    env = dict(os.environ)
    ok = subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "openrouter.min_coding_score", "0.5"],
                        env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    before = (isolated_home / "config.yaml").read_bytes()
    bad = subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "openrouter.min_coding_score", "1.5"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 3
    assert "openrouter.min_coding_score must be a number from 0.0 to 1.0 (got 1.5)" in bad.stderr
    assert (isolated_home / "config.yaml").read_bytes() == before
    null = subprocess.run([sys.executable, "-m", "hermesd", "config", "set", "openrouter.min_coding_score", "null"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert null.returncode == 0
    got = subprocess.run([sys.executable, "-m", "hermesd", "config", "get", "openrouter.min_coding_score"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert got.stdout.strip() == "null"
