"""hermes/describeConfig, hermes/selectModel and hermes/listPicker against the real daemon."""

from __future__ import annotations

import json

import pytest
import yaml
from pygls.exceptions import JsonRpcInvalidParams

from hermesd.settings import config as config_mod
from tests.conftest import CANARY_KEY, write_config


async def test_describe_config_lists_every_key_with_its_rule(start_daemon):
    daemon = await start_daemon()
    keys = {k["key"]: k for k in (await daemon.request("hermes/describeConfig"))["keys"]}
    assert list(keys) == [*config_mod.KEYS, *config_mod.ALIASES]
    assert keys["model.reasoning_effort"]["enum"] == keys["agent.reasoning_effort"]["enum"]
    assert keys["openrouter.min_coding_score"] == {
        "key": "openrouter.min_coding_score", "type": "number", "default": 0.65, "nullable": True,
        "min": 0.0, "max": 1.0, "doc": "Pareto Code router floor; null: no floor (strongest coder)"}
    assert keys["model.api_mode"]["enum"] == ["", *config_mod.API_MODES]
    assert keys["context.budget_tokens"] == {"key": "context.budget_tokens", "type": "integer", "default": 32000,
                                             "nullable": False, "min": 1000, "doc": "summarise older turns beyond this estimate"}
    assert keys["model.provider"]["type"] == "provider"


async def test_picker_with_no_keys_leads_with_pareto_and_one_setup_entry(start_daemon):
    daemon = await start_daemon()
    picker = await daemon.request("hermes/listPicker")
    items = picker["items"]
    assert [(i["kind"], i["label"], i["group"]) for i in items] == [
        ("model", "openrouter/pareto-code", "Recommended"),
        ("setup", "Set up another provider…", "More providers"),
    ]
    pareto = items[0]
    assert pareto["configured"] is False
    assert "cheapest coder scoring at least 0.65" in pareto["description"]
    assert "OPENROUTER_API_KEY" in pareto["hint"] and "https://openrouter.ai/keys" in pareto["hint"]
    assert pareto["input"]["param"] == "minCodingScore" and pareto["input"]["value"] == "0.65"
    setup = {row["provider"]: row for row in picker["setup"]}
    every = (await daemon.request("hermes/listProviders"))["providers"]
    assert list(setup) == [p["name"] for p in every] and "openrouter" in setup
    assert setup["anthropic"]["keyEnvVar"] == "ANTHROPIC_API_KEY"
    assert setup["anthropic"]["signupUrl"].startswith("https://")
    assert "ANTHROPIC_API_KEY" in setup["anthropic"]["hint"]


async def test_picker_lists_current_then_pareto_then_configured_models(start_daemon, upstream, isolated_home):
    upstream.models = ["qwen/qwen3-coder", "anthropic/claude-sonnet-4.6"]
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "qwen/qwen3-coder"}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"})
    picker = await daemon.request("hermes/listPicker")
    rows = [(i["group"], i["id"], i.get("current", False)) for i in picker["items"] if i["kind"] == "model"]
    assert rows == [
        ("Current model", "qwen/qwen3-coder", True),
        ("Recommended", "openrouter/pareto-code", False),
        ("OpenRouter", "anthropic/claude-sonnet-4.6", False),
    ]
    assert all(i["configured"] for i in picker["items"] if i["kind"] == "model")
    assert picker["items"][-1]["kind"] == "setup"
    assert "openrouter" not in {row["provider"] for row in picker["setup"]}


async def test_select_model_writes_provider_model_and_score_at_once(start_daemon, isolated_home):
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY})
    result = await daemon.request("hermes/selectModel",
                                  {"provider": "openrouter", "model": "openrouter/pareto-code", "minCodingScore": " 0.8 "})
    assert result["current"] == {"provider": "openrouter", "model": "openrouter/pareto-code", "label": "openrouter/pareto-code",
                                 "detail": "minimum coding score 0.8"}
    assert result["minCodingScore"] == 0.8
    assert result["message"] == "Using openrouter/pareto-code from OpenRouter, minimum coding score 0.8."
    assert "hint" not in result
    saved = yaml.safe_load((isolated_home / "config.yaml").read_text())
    assert saved["model"] == {"provider": "openrouter", "default": "openrouter/pareto-code"}
    assert saved["openrouter"]["min_coding_score"] == 0.8
    changed = {}
    for key in ("model.provider", "model.default", "openrouter.min_coding_score"):
        changed[key] = (await daemon.wait_until("hermes/configChanged", lambda p, k=key: p["key"] == k))["value"]
    assert changed == {"model.provider": "openrouter", "model.default": "openrouter/pareto-code",
                       "openrouter.min_coding_score": 0.8}
    # "none" means no floor; empty text keeps it.
    assert (await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code",
                                                        "minCodingScore": "none"}))["minCodingScore"] is None
    kept = await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code",
                                                       "minCodingScore": ""})
    assert kept["minCodingScore"] is None
    assert kept["message"] == "Using openrouter/pareto-code from OpenRouter with no minimum coding score."


@pytest.mark.parametrize("params, message", [
    ({"provider": "nope", "model": "m"}, "must be a known provider name"),
    ({"provider": "openrouter", "model": "  "}, "model must be a model id"),
    ({"provider": "openrouter", "model": "openrouter/pareto-code", "minCodingScore": "1.5"},
     "openrouter.min_coding_score must be a number from 0.0 to 1.0"),
    ({"provider": "openrouter", "model": "openrouter/pareto-code", "minCodingScore": True},
     "`minCodingScore` must be a number or a string"),
    ({"model": "m"}, "`provider` is required"),
])
async def test_select_model_refuses_bad_input_leaving_the_file_byte_identical(start_daemon, isolated_home, params, message):
    path = write_config(isolated_home, {"model": {"provider": "anthropic", "default": "claude-x"},
                                        "openrouter": {"min_coding_score": 0.5}})
    path.write_text("# mine\n" + path.read_text())
    before = path.read_bytes()
    daemon = await start_daemon()
    with pytest.raises(JsonRpcInvalidParams, match=message):
        await daemon.request("hermes/selectModel", params)
    assert path.read_bytes() == before
    assert not daemon.of("hermes/configChanged")


async def test_select_model_keeps_a_custom_base_url_with_its_provider(start_daemon, isolated_home):
    write_config(isolated_home, {"model": {"provider": "custom", "default": "local-model",
                                           "base_url": "http://127.0.0.1:9/v1", "api_mode": "anthropic_messages"}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY})
    await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code"})
    saved = yaml.safe_load((isolated_home / "config.yaml").read_text())
    assert saved["model"] == {"provider": "openrouter", "default": "openrouter/pareto-code"}
    assert saved["providers"] == {"custom": {"base_url": "http://127.0.0.1:9/v1"}}
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["url"].startswith("https://openrouter.ai/")
    changed = await daemon.wait_until("hermes/configChanged", lambda p: p["key"] == "model.base_url")
    assert changed["value"] == ""


async def test_set_config_takes_none_for_a_nullable_key_as_typed(start_daemon):
    """Editors send what the user typed; the words meaning null are the daemon's rule, not theirs."""
    daemon = await start_daemon()
    assert (await daemon.request("hermes/setConfig", {"key": "openrouter.min_coding_score", "value": " None "}))["value"] is None
    assert (await daemon.request("hermes/setConfig", {"key": "openrouter.min_coding_score", "value": "1e-1"}))["value"] == 0.1
    with pytest.raises(JsonRpcInvalidParams, match="model.reasoning_effort must be one of"):
        await daemon.request("hermes/setConfig", {"key": "model.reasoning_effort", "value": "null"})
    assert (await daemon.request("hermes/setConfig", {"key": "model.reasoning_effort", "value": "none"}))["value"] == "none"


async def test_vertex_in_the_picker_and_doctor_needs_google_cloud_credentials(start_daemon, upstream):
    """Never a wrong URL: with only a token, vertex is not offered; doctor and preview say what is missing."""
    daemon = await start_daemon(env={"VERTEX_ACCESS_TOKEN": "ya29.not-a-real-token", "VERTEX_PROJECT_ID": "my-proj"})
    picker = await daemon.request("hermes/listPicker")
    assert not [i for i in picker["items"] if i.get("provider") == "vertex"]
    vertex = {row["provider"]: row for row in picker["setup"]}["vertex"]
    fix = "VERTEX_BASE_URL=https://aiplatform.googleapis.com/v1beta1/projects/my-proj/locations/global/endpoints/openapi"
    assert vertex["description"] == "needs Google Cloud credentials"
    assert vertex["hint"].startswith("Google Vertex AI needs Google Cloud credentials: set " + fix)
    doctor = await daemon.request("hermes/doctor", {"probe": False, "providers": ["vertex"]})
    [check] = [c for c in doctor["checks"] if c["id"] == "provider:vertex"]
    assert check["status"] == "warn"  # half set up: the token without an endpoint
    assert check["summary"] == "vertex needs Google Cloud credentials: no endpoint with a project and region is set"
    assert fix in check["hint"] and "ya29" not in json.dumps(doctor)
    with pytest.raises(Exception, match="needs Google Cloud credentials") as refused:
        session = await daemon.request("hermes/newSession", {"provider": "vertex", "model": "google/gemini-2.5-pro"})
        await daemon.request("hermes/previewRequest", {"sessionId": session["sessionId"], "message": "hi"})
    assert "aiplatform.googleapis.com/chat/completions" not in str(refused.value)


async def test_vertex_with_an_endpoint_and_a_token_chats(start_daemon, upstream):
    daemon = await start_daemon(env={"VERTEX_ACCESS_TOKEN": "ya29.not-a-real-token",
                                     "VERTEX_BASE_URL": upstream.url + "/v1beta1/projects/p/locations/global/endpoints/openapi"})
    session = await daemon.request("hermes/newSession", {"provider": "vertex", "model": "google/gemini-2.5-pro"})
    result = await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
    assert result["stopReason"] == "end_turn"
    [sent] = upstream.requests
    assert sent.path == "/v1beta1/projects/p/locations/global/endpoints/openapi/chat/completions"
    assert {k.lower(): v for k, v in sent.headers.items()}["authorization"] == "Bearer ya29.not-a-real-token"
