"""Local model servers as first-class providers: keyless endpoints, the model a
server serves as the default, ``hermesd setup``, and doctor failing when the
server is down. Detection runs against loopback fakes answering like Ollama,
LM Studio, vLLM and llama.cpp (tests/local_servers.py); chats go to the
recording upstream, and no key is set anywhere unless a test says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from hermesd.engine.local import is_local_url, key_optional
from tests import local_servers
from tests.conftest import CANARY_KEY, write_config
from tests.upstream import closed_port, closed_port_url


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hermesd", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def read_config(home) -> dict:
    return yaml.safe_load((home / "config.yaml").read_text())


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:11434/v1", True),
        ("http://localhost:1234/v1", True),
        ("http://[::1]:8080/v1", True),
        ("http://192.168.1.20:8000/v1", True),
        ("http://10.0.0.5/v1", True),
        ("http://172.16.3.4:8000", True),
        ("http://gpu-box.local:11434", True),
        ("http://169.254.10.1", True),
        ("https://openrouter.ai/api/v1", False),
        ("http://8.8.8.8/v1", False),
        ("https://example.com", False),
        ("", False),
        ("not a url", False),
    ],
)
def test_local_urls_are_classified_by_address_alone(url, local):
    assert is_local_url(url) is local


def test_which_providers_need_no_key():
    import providers

    custom, openrouter, codex = (providers.get_provider_profile(n) for n in ("custom", "openrouter", "openai-codex"))
    assert key_optional(custom, "https://my-vllm.example.com/v1")  # the user's own endpoint, wherever it is
    assert not key_optional(custom, "")  # no endpoint yet: nothing to use
    assert not key_optional(openrouter, "https://openrouter.ai/api/v1")
    assert key_optional(openrouter, "http://127.0.0.1:4000/v1")  # a local proxy
    assert not key_optional(codex, "http://127.0.0.1:4000/v1")  # signs in elsewhere


# -- detection ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routes", "kind", "models"),
    [
        (local_servers.ollama(["llama3.2:latest", "qwen3:8b"]), "Ollama", ["llama3.2:latest", "qwen3:8b"]),
        (local_servers.lm_studio(["qwen2.5-7b-instruct"]), "LM Studio", ["qwen2.5-7b-instruct"]),
        (local_servers.vllm(["Qwen/Qwen2.5-1.5B-Instruct"]), "vLLM", ["Qwen/Qwen2.5-1.5B-Instruct"]),
        (local_servers.llama_cpp(["smollm2"]), "llama.cpp", ["smollm2"]),
    ],
)
def test_setup_local_detects_each_server_on_its_port(routes, kind, models, isolated_home):
    with local_servers.serve(routes) as root:
        port = root.rsplit(":", 1)[1]
        done = run_cli("setup", "local", "--port", port, "--no-test", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["server"], report["models"], report["model"]) == (kind, models, models[0])
    assert read_config(isolated_home)["model"] == {"provider": "custom", "default": models[0], "base_url": f"{root}/v1"}


def test_setup_local_tries_the_ports_in_order_and_skips_what_is_not_a_model_server(isolated_home):
    with local_servers.serve(local_servers.code_server()) as code, \
            local_servers.serve(local_servers.lm_studio(["phi-4"])) as studio, \
            local_servers.serve(local_servers.ollama(["llama3.2"])) as ollama:
        ports = ",".join(u.rsplit(":", 1)[1] for u in (code, studio, ollama))
        done = run_cli("setup", "local", "--no-test", env={"HERMESD_LOCAL_PORTS": f"{closed_port()},{ports}"})
    assert done.returncode == 0, done.stderr
    assert f"found LM Studio at {studio}/v1 serving phi-4" in done.stdout
    assert f"also found: Ollama at {ollama}/v1" in done.stdout
    assert read_config(isolated_home)["model"]["base_url"] == f"{studio}/v1"


def test_setup_local_with_nothing_running_says_what_it_tried(isolated_home):
    port = str(closed_port())
    done = run_cli("setup", "local", "--port", port)
    assert done.returncode == 1
    assert f"no model server answered on 127.0.0.1 port {port}" in done.stderr and "setup local http://" in done.stderr
    assert not (isolated_home / "config.yaml").exists()


def test_setup_local_url_writes_once_and_runs_a_test_chat_without_a_key(upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "anthropic", "default": "claude-x", "api_mode": "anthropic_messages"},
                                 "network": {"max_retries": 0}})
    upstream.models = ["qwen3:8b", "llama3.1:8b"]
    upstream.reply_text = "Hello there"
    done = run_cli("setup", "local", f"{upstream.url}/v1")
    assert done.returncode == 0, done.stderr
    assert "test chat (qwen3:8b): Hello there" in done.stdout
    cfg = read_config(isolated_home)
    assert cfg["model"] == {"provider": "custom", "default": "qwen3:8b", "base_url": f"{upstream.url}/v1"}
    assert cfg["network"] == {"max_retries": 0}  # the rest of the file is kept
    [chat] = [r for r in upstream.requests if r.method == "POST"]
    assert chat.json["model"] == "qwen3:8b" and "authorization" not in chat.headers


def test_setup_local_reports_a_failed_test_chat(upstream, isolated_home):
    upstream.fail(status=500, times=None, path_contains="chat")
    write_config(isolated_home, {"network": {"max_retries": 0}})
    done = run_cli("setup", "local", f"{upstream.url}/v1", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["model"] == "model-a" and report["test"]["ok"] is False
    assert "the test chat failed" in done.stderr


def test_setup_openrouter_asks_for_nothing_the_environment_has(upstream, isolated_home):
    env = {"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"}
    done = run_cli("setup", "openrouter", env=env)
    assert done.returncode == 0, done.stderr
    assert read_config(isolated_home)["model"] == {"provider": "openrouter", "default": "openrouter/pareto-code"}
    [chat] = [r for r in upstream.requests if r.method == "POST"]
    assert chat.headers["authorization"] == f"Bearer {CANARY_KEY}" and chat.json["model"] == "openrouter/pareto-code"
    assert CANARY_KEY not in done.stdout + done.stderr
    assert not (isolated_home / ".env").exists()


def test_setup_openrouter_without_a_key_or_a_terminal_says_which_variable(isolated_home):
    done = run_cli("setup", "openrouter")
    assert done.returncode == 1 and "OPENROUTER_API_KEY" in done.stderr
    assert not (isolated_home / "config.yaml").exists()


# -- keyless providers through the daemon -----------------------------------------


async def test_a_keyless_endpoint_is_configured_lists_and_defaults_to_what_it_serves(start_daemon, upstream, isolated_home):
    write_config(isolated_home, {"model": {"provider": "custom", "base_url": f"{upstream.url}/v1"}})
    upstream.models = ["served-first", "served-second"]
    daemon = await start_daemon()
    rows = {r["name"]: r for r in (await daemon.request("hermes/listProviders"))["providers"]}
    assert rows["custom"]["configured"] and rows["custom"]["keyless"] and "keyEnvVar" not in rows["custom"]
    assert rows["custom"]["baseUrl"] == f"{upstream.url}/v1"
    assert not rows["openrouter"]["configured"]
    models = await daemon.request("hermes/listModels", {"provider": "custom"})
    assert models["source"] == "live" and [m["id"] for m in models["models"]] == ["served-first", "served-second"]
    preview = await daemon.request("hermes/previewRequest", {"message": "hi"})
    assert preview["body"]["model"] == "served-first" and "served-first" in preview["modelNote"]
    assert "Authorization" not in preview["headers"]
    result = await daemon.request("hermes/chat", {"message": "hi"})
    assert result["model"] == "served-first" and result["text"] == "Hello from upstream"
    [chat] = [r for r in upstream.requests if r.method == "POST"]
    assert chat.json["model"] == "served-first" and "authorization" not in chat.headers
    checks = {c["id"]: c for c in (await daemon.request("hermes/doctor", {"providers": ["custom"]}))["checks"]}
    assert checks["provider:custom"]["status"] == "ok" and "no key needed" in checks["provider:custom"]["summary"]
    assert checks["model"]["status"] == "ok" and "served-first" in checks["model"]["summary"]


def test_an_unreachable_keyless_endpoint_fails_doctor_and_falls_back_with_a_warning(isolated_home):
    url = closed_port_url() + "/v1"
    write_config(isolated_home, {"model": {"provider": "custom", "base_url": url}})
    doctor = run_cli("doctor", "--json")
    assert doctor.returncode == 1
    checks = {c["id"]: c for c in json.loads(doctor.stdout)["checks"]}
    failed = checks["provider:custom"]
    assert failed["status"] == "fail" and f"{url}/models" in failed["summary"] and "hermesd setup local" in failed["hint"]
    assert checks["model"]["status"] == "warn" and "gpt-oss:20b" in checks["model"]["summary"]
    human = run_cli("doctor", "custom")
    assert human.returncode == 1 and "[FAIL] custom: cannot reach" in human.stdout
    preview = run_cli("chat", "--preview", "hi")
    assert preview.returncode == 0, preview.stderr
    shown = json.loads(preview.stdout)
    assert shown["body"]["model"] == "gpt-oss:20b" and "could not be fetched" in shown["modelNote"]


def test_providers_command_shows_the_keyless_endpoint(upstream, isolated_home):
    done = run_cli("providers", env={"CUSTOM_BASE_URL": f"{upstream.url}/v1"})
    [line] = [l for l in done.stdout.splitlines() if " custom " in l]
    assert line.startswith("* custom") and f"no key needed ({upstream.url}/v1)" in line
    offline = run_cli("doctor", "--no-probe", "custom", env={"CUSTOM_BASE_URL": f"{upstream.url}/v1"})
    assert "[ok  ] custom: no key needed" in offline.stdout and upstream.requests == []


def test_a_paid_catalog_never_picks_the_default_model(upstream, isolated_home):
    """OpenRouter with no model.default, even behind a local proxy, uses its plugin's fallback, not the catalog's first row."""
    import providers

    upstream.models = ["some/expensive-model"]
    write_config(isolated_home, {"model": {"provider": "openrouter"}})
    done = run_cli("chat", "--preview", "hi",
                   env={"OPENROUTER_API_KEY": CANARY_KEY, "OPENROUTER_BASE_URL": f"{upstream.url}/api/v1"})
    shown = json.loads(done.stdout)
    assert shown["body"]["model"] == providers.get_provider_profile("openrouter").fallback_models[0]
    assert "modelNote" not in shown and upstream.requests == []


async def test_a_long_or_path_model_id_gets_a_short_label_from_the_daemon(start_daemon, isolated_home):
    path = "/home/u/models/SmolLM2-135M-Instruct-Q8_0.gguf"
    write_config(isolated_home, {"model": {"provider": "custom", "default": path}})
    daemon = await start_daemon()
    current = (await daemon.request("hermes/listProviders"))["current"]
    assert current == {"provider": "custom", "model": path, "label": "SmolLM2-135M-Instruct-Q8_0"}
    assert (await daemon.request("hermes/getConfig"))["current"] == current
    long_id = "accounts/fireworks/models/llama-v3p1-405b-instruct-long-context-edition"
    await daemon.request("hermes/setConfig", {"key": "model.default", "value": long_id})
    changed = daemon.of("hermes/configChanged") or [await daemon.wait_for("hermes/configChanged")]
    label = changed[0]["label"]
    assert len(label) <= 40 and label.startswith("llama-v3p1") and label.endswith("ntext-edition") and "\u2026" in label
    await daemon.request("hermes/setConfig", {"key": "model.default", "value": "qwen3:8b"})
    assert (await daemon.request("hermes/listProviders"))["current"]["label"] == "qwen3:8b"


def test_a_key_typed_at_setup_replaces_the_old_line_in_dotenv(isolated_home):
    from hermesd.engine.setup import save_key

    env = isolated_home / ".env"
    env.write_text("DEEPSEEK_API_KEY=keep-me\nexport OPENROUTER_API_KEY=old-value\n# a comment\n")
    save_key("OPENROUTER_API_KEY", CANARY_KEY)
    assert env.read_text() == f"DEEPSEEK_API_KEY=keep-me\n# a comment\nOPENROUTER_API_KEY={CANARY_KEY}\n"
    assert env.stat().st_mode & 0o777 == 0o600


def test_setup_local_offers_a_served_code_model_for_inline_completion(isolated_home):
    """Not at a terminal: a hint with the commands (asked with y/N at one); the report names the model."""
    routes = local_servers.ollama(["llama3.2:latest", "qwen2.5-coder:1.5b-base"])
    with local_servers.serve(routes) as root:
        port = root.rsplit(":", 1)[1]
        done = run_cli("setup", "local", "--port", port, "--no-test")
        assert done.returncode == 0, done.stderr
        assert ("inline completion: qwen2.5-coder:1.5b-base is a code model; to use it: "
                "`hermesd config set completion.provider custom`") in done.stdout
        assert "completion" not in read_config(isolated_home)  # offered, not written
        report = json.loads(run_cli("setup", "local", "--port", port, "--no-test", "--json").stdout)
    assert report["completionModel"] == "qwen2.5-coder:1.5b-base"
