"""A choice that cannot work is never saved, and a chat without its credential never leaves (issue 33, items 1, 6, 7).

From a working local setup (``custom`` at the recording upstream), choosing a
hosted provider with no key is refused by the daemon and the CLI alike:
config.yaml stays byte-identical, no client hears a change, and the next
chat still goes to the local server.
"""

from __future__ import annotations

import pytest
import yaml
from pygls.exceptions import JsonRpcInvalidParams

from tests.conftest import CANARY_KEY, write_config
from tests.test_cli_polish import run_cli


def _local_setup(home, upstream):
    path = write_config(home, {"model": {"provider": "custom", "default": "local-model", "base_url": f"{upstream.url}/v1"}})
    path.write_text("# mine\n" + path.read_text())
    return path


async def test_select_model_without_a_key_is_refused_and_the_local_setup_keeps_working(start_daemon, isolated_home, upstream):
    path = _local_setup(isolated_home, upstream)
    before = path.read_bytes()
    daemon = await start_daemon()
    with pytest.raises(JsonRpcInvalidParams) as info:
        await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code",
                                                    "minCodingScore": "0.8"})
    message = info.value.message
    assert message.startswith("OpenRouter needs OPENROUTER_API_KEY, and none is set: nothing was changed in ")
    assert "set OPENROUTER_API_KEY in " in message and "https://openrouter.ai/keys" in message
    assert info.value.data == {"signupUrl": "https://openrouter.ai/keys"}  # VS Code's "Get a Key" button
    assert path.read_bytes() == before
    assert not daemon.of("hermes/configChanged")
    # setConfig names the same rule for the provider key.
    with pytest.raises(JsonRpcInvalidParams, match="OpenRouter needs OPENROUTER_API_KEY"):
        await daemon.request("hermes/setConfig", {"key": "model.provider", "value": "openrouter"})
    assert path.read_bytes() == before
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result.get("error") is None and result["provider"] == "custom"
    assert upstream.requests[-1].path == "/v1/chat/completions"


async def test_the_picker_row_says_what_is_needed_and_the_key_makes_it_selectable(start_daemon, isolated_home, upstream):
    _local_setup(isolated_home, upstream)
    daemon = await start_daemon()
    picker = await daemon.request("hermes/listPicker")
    pareto = next(i for i in picker["items"] if i["id"] == "openrouter/pareto-code")
    assert pareto["configured"] is False and pareto["description"].startswith("needs OPENROUTER_API_KEY · ")
    setup = {row["provider"]: row for row in picker["setup"]}
    # One truth for the sign-in providers: hermesd runs no sign-in, so nous needs its key variable.
    assert setup["nous"]["description"] == "needs NOUS_API_KEY" and setup["nous"]["keyEnvVar"] == "NOUS_API_KEY"
    keyed = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY})
    result = await keyed.request("hermes/selectModel", {"provider": "openrouter", "model": "openrouter/pareto-code"})
    assert result["current"]["provider"] == "openrouter"


async def test_a_keyless_plugin_and_a_local_url_are_never_refused(start_daemon, isolated_home, upstream):
    """A plugin that declares no key variable needs nothing hermesd can check; a provider pointed at a local
    server needs no key either."""
    plugin = isolated_home / "plugins" / "model-providers" / "openbox"
    plugin.mkdir(parents=True)
    (plugin / "__init__.py").write_text(
        "from providers import register_provider\nfrom providers.base import ProviderProfile\n"
        f"register_provider(ProviderProfile(name='openbox', base_url='{upstream.url}/v1'))\n")
    daemon = await start_daemon(env={"OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"})
    assert (await daemon.request("hermes/selectModel", {"provider": "openbox", "model": "m"}))["current"]["provider"] == "openbox"
    assert (await daemon.request("hermes/selectModel", {"provider": "openrouter", "model": "x/y"}))["current"]["provider"] == "openrouter"


async def test_a_hosted_provider_without_its_key_refuses_the_chat_locally(start_daemon, isolated_home):
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openrouter/pareto-code"}})
    daemon = await start_daemon()
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["stopReason"] == "error"
    error = result["error"]
    assert error["kind"] == "auth" and "status" not in error
    assert error["message"] == "OpenRouter needs OPENROUTER_API_KEY, and none is set: nothing was sent"
    assert error["hint"].startswith("set OPENROUTER_API_KEY in ")


def test_cli_model_switches_provider_and_model_in_one_write(isolated_home, upstream):
    upstream.models = ["served-a", "served-b"]
    write_config(isolated_home, {"model": {"provider": "custom", "default": "served-a", "base_url": f"{upstream.url}/v1"}})
    listed = run_cli("model")
    assert listed.returncode == 0, listed.stderr
    assert "* custom/served-a" in listed.stdout and "  custom/served-b" in listed.stdout
    done = run_cli("model", "custom/served-b")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Using served-b from Custom endpoint."
    saved = yaml.safe_load((isolated_home / "config.yaml").read_text())
    assert saved["model"] == {"provider": "custom", "default": "served-b", "base_url": f"{upstream.url}/v1"}


def test_cli_model_refuses_a_provider_without_its_key_leaving_the_file(isolated_home, upstream):
    path = _local_setup(isolated_home, upstream)
    before = path.read_bytes()
    done = run_cli("model", "openrouter/pareto-code")
    assert done.returncode == 3
    assert "OpenRouter needs OPENROUTER_API_KEY" in done.stderr and "nothing was changed" in done.stderr
    assert path.read_bytes() == before
    keyed = run_cli("model", "openrouter/pareto-code", "--min-coding-score", "0.8", env={"OPENROUTER_API_KEY": CANARY_KEY})
    assert keyed.returncode == 0, keyed.stderr
    assert keyed.stdout.strip() == "Using openrouter/pareto-code from OpenRouter, minimum coding score 0.8."
    saved = yaml.safe_load(path.read_text())
    assert saved["model"] == {"provider": "openrouter", "default": "openrouter/pareto-code"}
    assert saved["providers"] == {"custom": {"base_url": f"{upstream.url}/v1"}}
    typo = run_cli("model", "custmo/x")
    assert typo.returncode == 2 and "(did you mean custom?)" in typo.stderr


def test_config_set_has_one_rule_for_unknown_keys_and_providers(isolated_home):
    path = write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": "http://127.0.0.1:9/v1"}})
    before = path.read_bytes()
    key = run_cli("config", "set", "model.temprature", "0.5")
    assert key.returncode == 2
    assert key.stderr.startswith("hermesd: unknown config key 'model.temprature' (did you mean model.temperature")
    assert "known keys:" not in key.stderr and len(key.stderr.splitlines()) == 1
    provider = run_cli("config", "set", "model.provider", "custmo")
    assert provider.returncode == 2 and "(did you mean custom?)" in provider.stderr
    refused = run_cli("config", "set", "model.provider", "openrouter")
    assert refused.returncode == 3 and "OpenRouter needs OPENROUTER_API_KEY" in refused.stderr
    assert path.read_bytes() == before
    assert "2  usage error (unknown command, provider or config key)" in run_cli("--help").stdout


def test_an_ignored_bad_value_is_one_warning_line_for_the_cli_chat(isolated_home, upstream):
    write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": f"{upstream.url}/v1",
                                           "temperature": "hot"}})
    done = run_cli("chat", "hi")
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("hermesd: warning: ")]
    assert len(warnings) == 1 and "model.temperature" in warnings[0] and "hot" in warnings[0], done.stderr
    assert "temperature" not in upstream.requests[-1].json


def test_a_stopped_local_server_gets_doctors_hint_in_chat(isolated_home):
    from tests.upstream import closed_port_url

    base = closed_port_url() + "/v1"
    write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": base},
                                 "agent": {"api_max_retries": 1}})
    chat = run_cli("chat", "hi")
    assert chat.returncode == 1
    hint = f"start the model server at {base}, or point hermesd at the running one: `hermesd setup local URL`"
    assert f"  -> {hint}" in chat.stderr.splitlines(), chat.stderr
    doctor = run_cli("doctor", "custom")
    assert f"        -> {hint}" in doctor.stdout.splitlines(), doctor.stdout


async def test_with_the_server_down_the_picker_shows_the_configured_model_and_one_row_saying_so(start_daemon, isolated_home):
    """No built-in list of models this server never served; the model served as a path shows as its file name."""
    from tests.upstream import closed_port_url

    base = closed_port_url() + "/v1"
    path = "/srv/models/SmolLM2-360M-Instruct-Q8_0.gguf"
    write_config(isolated_home, {"model": {"provider": "custom", "default": path, "base_url": base}})
    daemon = await start_daemon()
    picker = await daemon.request("hermes/listPicker")
    custom = [(i["kind"], i["id"], i["label"]) for i in picker["items"] if i["provider"] == "custom"]
    down = f"server not reachable at {base}: start it, or run `hermesd setup local`"
    assert custom == [("model", path, "SmolLM2-360M-Instruct-Q8_0"), ("notice", "", down)]
    assert picker["current"]["label"] == "SmolLM2-360M-Instruct-Q8_0"
    assert not picker.get("errors")
    models = await daemon.request("hermes/listModels", {"provider": "custom"})
    assert models["models"] == [] and models["error"] == down


def test_cli_models_lists_nothing_a_stopped_server_never_served(isolated_home):
    from tests.upstream import closed_port_url

    base = closed_port_url() + "/v1"
    write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": base}})
    done = run_cli("models", "custom")
    assert done.stdout == "" and "server not reachable at " in done.stderr
    listed = run_cli("model")
    assert f"! server not reachable at {base}: start it, or run `hermesd setup local`" in listed.stdout.splitlines()


async def test_a_chat_result_carries_the_models_short_label(start_daemon, isolated_home, upstream):
    path = "/srv/models/SmolLM2-360M-Instruct-Q8_0.gguf"
    write_config(isolated_home, {"model": {"provider": "custom", "default": path, "base_url": f"{upstream.url}/v1"}})
    daemon = await start_daemon()
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["model"] == path and result["modelLabel"] == "SmolLM2-360M-Instruct-Q8_0"
    assert upstream.requests[-1].json["model"] == path  # the id is what is sent
    plain = await daemon.request("hermes/chat", {"message": "hi", "provider": "custom", "model": "qwen3:8b"})
    assert "modelLabel" not in plain


async def test_history_rows_and_reopened_sessions_show_the_models_short_label(start_daemon, isolated_home, upstream):
    """A model served as a path is its file name in the history row and in a reopened conversation, as in the picker."""
    path = "/srv/models/SmolLM2-360M-Instruct-Q8_0.gguf"
    write_config(isolated_home, {"model": {"provider": "custom", "default": path, "base_url": f"{upstream.url}/v1"}})
    daemon = await start_daemon()
    result = await daemon.request("hermes/chat", {"message": "hi"})
    [row] = (await daemon.request("hermes/listSessions"))["sessions"]
    assert row["description"] == "custom · SmolLM2-360M-Instruct-Q8_0" and row["model"] == path
    saved = await daemon.request("hermes/getSession", {"sessionId": result["sessionId"]})
    assert saved["model"] == path and saved["modelLabel"] == "SmolLM2-360M-Instruct-Q8_0"
    reply = saved["messages"][-1]
    assert reply["role"] == "assistant" and reply["model"] == path and reply["modelLabel"] == "SmolLM2-360M-Instruct-Q8_0"
    assert "modelLabel" not in saved["messages"][0]
    # A short id is its own label: nothing extra is sent.
    plain = await daemon.request("hermes/chat", {"message": "hi", "provider": "custom", "model": "qwen3:8b"})
    listed = {r["sessionId"]: r for r in (await daemon.request("hermes/listSessions"))["sessions"]}
    assert listed[plain["sessionId"]]["description"] == "custom · qwen3:8b"
    assert "modelLabel" not in await daemon.request("hermes/getSession", {"sessionId": plain["sessionId"]})


async def test_a_hosted_providers_built_in_list_is_shown_marked_when_its_catalog_fails(start_daemon, isolated_home, upstream):
    """A hosted service keeps offering its plugin's models when its catalog cannot be fetched (it serves them
    whatever its catalog says), under a group that says they are the built-in list, with why in `errors`;
    only a server the user runs is not given models it may never have served."""
    import providers

    upstream.fail(status=503, path_contains="/models", times=None)
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "qwen/qwen3-coder"}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"})
    picker = await daemon.request("hermes/listPicker", {"refresh": True})
    builtin = [i["id"] for i in picker["items"] if i["group"] == "OpenRouter (built-in list)"]
    expected = [m for m in providers.get_provider_profile("openrouter").fallback_models
                if m not in ("qwen/qwen3-coder", "openrouter/pareto-code")]
    assert builtin == expected and builtin
    assert picker["errors"] == ["OpenRouter: the live model list could not be fetched"]
    assert any(r.path.endswith("/models") for r in upstream.requests)  # it was asked, and failed
    models = await daemon.request("hermes/listModels", {"provider": "openrouter"})
    assert models["source"] == "fallback" and models["error"] == "the live model list could not be fetched"


async def test_a_boolean_key_takes_true_or_false_as_typed_and_names_its_rule(start_daemon, isolated_home):
    """An editor's input box and the CLI send text: "true"/"false" (any case) are the boolean; anything else is
    refused naming the rule; describeConfig says the key is a boolean, so the editors offer that choice."""
    path = write_config(isolated_home, {"model": {"provider": "custom", "default": "m", "base_url": "http://127.0.0.1:9/v1"}})
    daemon = await start_daemon()
    keys = {k["key"]: k for k in (await daemon.request("hermes/describeConfig"))["keys"]}
    assert keys["openrouter.response_cache"]["type"] == "boolean"
    assert (await daemon.request("hermes/setConfig", {"key": "openrouter.response_cache", "value": " TRUE "}))["value"] is True
    assert yaml.safe_load(path.read_text())["openrouter"]["response_cache"] is True
    assert (await daemon.request("hermes/setConfig", {"key": "openrouter.response_cache", "value": "false"}))["value"] is False
    before = path.read_bytes()
    with pytest.raises(JsonRpcInvalidParams, match=r"openrouter.response_cache must be true or false \(got \"yes\"\)"):
        await daemon.request("hermes/setConfig", {"key": "openrouter.response_cache", "value": "yes"})
    assert path.read_bytes() == before
    done = run_cli("config", "set", "openrouter.response_cache", "true")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(path.read_text())["openrouter"]["response_cache"] is True


def _saved_sessions() -> list:
    from hermesd.engine.sessions import SessionStore

    return SessionStore().list()


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "shared-daemon"])
async def test_a_one_shot_chat_that_reached_no_model_is_kept_out_of_history(start_daemon, isolated_home, upstream, shared):
    """`hermesd chat hi` refused on config (an unknown provider) or for a missing key sent nothing: it is no
    conversation, so it is not in the history nor continued by --continue; a failure in a conversation
    the user continues (--continue, --session) stays in it, and a chat that reached the model is kept."""
    env = {"HERMESD_SHARED": "1"} if shared else {}
    if shared:
        await start_daemon(env=env, shared=True)
    path = _local_setup(isolated_home, upstream)
    kept = run_cli("chat", "hello", env=env)
    assert kept.returncode == 0, kept.stderr
    [first] = _saved_sessions()
    write_config(isolated_home, {"model": {"provider": "custmo", "default": "m"}})
    typo = run_cli("chat", "hi", env=env)
    assert typo.returncode == 3 and "config_error: unknown provider 'custmo'" in typo.stderr
    write_config(isolated_home, {"model": {"provider": "anthropic", "default": "claude-sonnet-4-6"}})
    keyless = run_cli("chat", "hi", env=env | {"ANTHROPIC_API_KEY": ""})
    assert keyless.returncode == 1 and "Anthropic needs ANTHROPIC_API_KEY" in keyless.stderr
    assert [s.session_id for s in _saved_sessions()] == [first.session_id]
    sessions_dir = next(isolated_home.parent.rglob("sessions"))
    assert sorted(p.name for p in sessions_dir.glob("s-*.jsonl")) == [f"{first.session_id}.jsonl"]
    # Continued, the failed turn belongs to that conversation: it stays.
    again = run_cli("chat", "--continue", "and?", env=env | {"ANTHROPIC_API_KEY": ""})
    assert again.returncode == 1
    [row] = _saved_sessions()
    assert row.session_id == first.session_id and row.message_count == 4
