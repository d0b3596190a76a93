"""The 38 bundled model-provider plugins: identity, manifests, and the exact
request fields each one contributes.

No network: catalog tests run a throwaway HTTP server on 127.0.0.1 and point
``fetch_models`` at it through ``base_url``.
"""

from __future__ import annotations

import ast
import json
import math
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import providers
from hermesd.compat import SURFACE as COMPAT_SURFACE
from providers.base import API_MODES, AUTH_TYPES, OMIT_TEMPERATURE, ProviderProfile
from providers.discovery import bundled_dir
from tests._unit_helpers import catalog_server

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins" / "model-providers"

# name -> aliases, exactly as declared.
ALIASES: dict[str, tuple[str, ...]] = {
    "ai-gateway": ("vercel", "vercel-ai-gateway", "ai_gateway", "aigateway"),
    "alibaba": ("dashscope", "alibaba-cloud", "qwen-dashscope", "aliyun"),
    "alibaba-coding-plan": ("alibaba-coding", "alibaba_coding", "dashscope-coding"),
    "anthropic": ("claude",),
    "arcee": ("arcee-ai", "arceeai"),
    "azure-foundry": ("azure", "azure-ai-foundry", "azure-ai"),
    "bedrock": ("aws", "amazon-bedrock", "aws-bedrock"),
    "copilot": ("github-copilot", "github-models", "github"),
    "copilot-acp": ("github-copilot-acp", "copilot-cli"),
    "custom": ("ollama", "local", "vllm", "llamacpp", "llama.cpp", "llama-cpp"),
    "deepseek": ("deepseek-ai",),
    "deepinfra": ("deep-infra", "deepinfra-ai"),
    "fireworks": ("fireworks-ai", "fw"),
    "gemini": ("google", "google-gemini", "google-ai-studio"),
    "google-gemini-cli": ("gemini-cli", "gemini-oauth"),
    "gmi": ("gmi-cloud", "gmicloud"),
    "huggingface": ("hf", "hugging-face", "huggingface-hub"),
    "kilocode": ("kilo-code", "kilo", "kilo-gateway"),
    "kimi-coding": ("kimi", "moonshot", "kimi-for-coding"),
    "kimi-coding-cn": ("kimi-cn", "moonshot-cn"),
    "minimax": ("mini-max",),
    "minimax-cn": ("minimax-china", "minimax_cn"),
    "minimax-oauth": ("minimax_oauth", "minimax-oauth-io"),
    "nous": ("nous-portal", "nousresearch"),
    "novita": ("novita-ai", "novitaai"),
    "nvidia": ("nvidia-nim",),
    "ollama-cloud": ("ollama_cloud", "ollama-com"),
    "openai-codex": ("codex", "chatgpt", "openai_codex", "chatgpt-codex"),
    "opencode-go": ("opencode_go", "go", "opencode-go-sub"),
    "opencode-zen": ("opencode", "opencode_zen", "zen"),
    "openrouter": ("or",),
    "qwen-oauth": ("qwen", "qwen-portal", "qwen-cli"),
    "stepfun": ("step", "stepfun-coding-plan"),
    "upstage": ("solar",),
    "vertex": ("google-vertex", "vertex-ai", "gcp-vertex"),
    "xai": ("grok", "x-ai", "x.ai"),
    "xiaomi": ("mimo", "xiaomi-mimo"),
    "zai": ("glm", "z-ai", "z.ai", "zhipu"),
}
NAMES = sorted(ALIASES)

# name -> (api_mode, auth_type, base_url, env_vars)
ENDPOINTS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "ai-gateway": ("chat_completions", "api_key", "https://ai-gateway.vercel.sh/v1",
                   ("AI_GATEWAY_API_KEY", "AI_GATEWAY_BASE_URL")),
    "alibaba": ("chat_completions", "api_key", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
                ("DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL")),
    "alibaba-coding-plan": ("chat_completions", "api_key", "https://coding-intl.dashscope.aliyuncs.com/v1",
                            ("ALIBABA_CODING_PLAN_API_KEY", "DASHSCOPE_API_KEY", "ALIBABA_CODING_PLAN_BASE_URL")),
    "anthropic": ("anthropic_messages", "api_key", "https://api.anthropic.com",
                  ("ANTHROPIC_API_KEY", "ANTHROPIC_TOKEN", "ANTHROPIC_BASE_URL")),
    "arcee": ("chat_completions", "api_key", "https://api.arcee.ai/api/v1", ("ARCEEAI_API_KEY", "ARCEE_BASE_URL")),
    "azure-foundry": ("chat_completions", "api_key", "", ("AZURE_FOUNDRY_API_KEY", "AZURE_FOUNDRY_BASE_URL")),
    "bedrock": ("bedrock_converse", "aws_sdk", "https://bedrock-runtime.us-east-1.amazonaws.com",
                ("BEDROCK_BASE_URL",)),
    "copilot": ("chat_completions", "copilot", "https://api.githubcopilot.com",
                ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "COPILOT_API_BASE_URL")),
    "copilot-acp": ("chat_completions", "external_process", "acp://copilot", ("COPILOT_ACP_BASE_URL",)),
    "custom": ("chat_completions", "api_key", "", ("CUSTOM_API_KEY", "CUSTOM_BASE_URL")),
    "deepseek": ("chat_completions", "api_key", "https://api.deepseek.com/v1", ("DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL")),
    "deepinfra": ("chat_completions", "api_key", "https://api.deepinfra.com/v1/openai",
                  ("DEEPINFRA_API_KEY", "DEEPINFRA_BASE_URL")),
    "fireworks": ("chat_completions", "api_key", "https://api.fireworks.ai/inference/v1",
                  ("FIREWORKS_API_KEY", "FIREWORKS_BASE_URL")),
    "gemini": ("chat_completions", "api_key", "https://generativelanguage.googleapis.com/v1beta/openai",
               ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GEMINI_BASE_URL")),
    "gmi": ("chat_completions", "api_key", "https://api.gmi-serving.com/v1", ("GMI_API_KEY", "GMI_BASE_URL")),
    "google-gemini-cli": ("chat_completions", "oauth_external", "cloudcode-pa://google", ()),
    "huggingface": ("chat_completions", "api_key", "https://router.huggingface.co/v1", ("HF_TOKEN", "HF_BASE_URL")),
    "kilocode": ("chat_completions", "api_key", "https://api.kilo.ai/api/gateway",
                 ("KILOCODE_API_KEY", "KILOCODE_BASE_URL")),
    "kimi-coding": ("chat_completions", "api_key", "https://api.moonshot.ai/v1",
                    ("KIMI_API_KEY", "KIMI_CODING_API_KEY", "KIMI_BASE_URL")),
    "kimi-coding-cn": ("chat_completions", "api_key", "https://api.moonshot.cn/v1", ("KIMI_CN_API_KEY",)),
    "minimax": ("anthropic_messages", "api_key", "https://api.minimax.io/anthropic",
                ("MINIMAX_API_KEY", "MINIMAX_BASE_URL")),
    "minimax-cn": ("anthropic_messages", "api_key", "https://api.minimaxi.com/anthropic",
                   ("MINIMAX_CN_API_KEY", "MINIMAX_CN_BASE_URL")),
    "minimax-oauth": ("anthropic_messages", "oauth_external", "https://api.minimax.io/anthropic", ()),
    "nous": ("chat_completions", "oauth_external", "https://inference-api.nousresearch.com/v1",
             ("NOUS_API_KEY", "NOUS_INFERENCE_BASE_URL")),
    "nvidia": ("chat_completions", "api_key", "https://integrate.api.nvidia.com/v1",
               ("NVIDIA_API_KEY", "NVIDIA_BASE_URL")),
    "novita": ("chat_completions", "api_key", "https://api.novita.ai/openai/v1", ("NOVITA_API_KEY", "NOVITA_BASE_URL")),
    "ollama-cloud": ("chat_completions", "api_key", "https://ollama.com/v1", ("OLLAMA_API_KEY", "OLLAMA_BASE_URL")),
    "openai-codex": ("codex_responses", "oauth_external", "https://chatgpt.com/backend-api/codex", ()),
    "opencode-go": ("chat_completions", "api_key", "https://opencode.ai/zen/go/v1",
                    ("OPENCODE_GO_API_KEY", "OPENCODE_GO_BASE_URL")),
    "opencode-zen": ("chat_completions", "api_key", "https://opencode.ai/zen/v1",
                     ("OPENCODE_ZEN_API_KEY", "OPENCODE_ZEN_BASE_URL")),
    "openrouter": ("chat_completions", "api_key", "https://openrouter.ai/api/v1",
                   ("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL")),
    "qwen-oauth": ("chat_completions", "oauth_external", "https://portal.qwen.ai/v1", ("QWEN_API_KEY",)),
    "stepfun": ("chat_completions", "api_key", "https://api.stepfun.ai/step_plan/v1",
                ("STEPFUN_API_KEY", "STEPFUN_BASE_URL")),
    "upstage": ("chat_completions", "api_key", "https://api.upstage.ai/v1", ("UPSTAGE_API_KEY", "UPSTAGE_BASE_URL")),
    "vertex": ("chat_completions", "vertex", "https://aiplatform.googleapis.com", ("VERTEX_ACCESS_TOKEN", "VERTEX_BASE_URL")),
    "xai": ("codex_responses", "api_key", "https://api.x.ai/v1", ("XAI_API_KEY", "XAI_BASE_URL")),
    "xiaomi": ("chat_completions", "api_key", "https://api.xiaomimimo.com/v1", ("XIAOMI_API_KEY", "XIAOMI_BASE_URL")),
    "zai": ("chat_completions", "api_key", "https://api.z.ai/api/paas/v4",
            ("GLM_API_KEY", "ZAI_API_KEY", "Z_AI_API_KEY", "GLM_BASE_URL")),
}

# Providers whose models are the user's own (no sensible cheap default).
NO_AUX_MODEL = {"custom", "azure-foundry", "copilot-acp", "google-gemini-cli", "upstage"}
NO_HEALTH_CHECK = {"bedrock", "copilot-acp", "xiaomi", "google-gemini-cli"}
# DeepInfra's live catalog is its only list (a guessed one would name retired models); Upstage lists its flagship.
FALLBACK_COUNTS = {"deepinfra": 0, "upstage": 1}
MAX_TOKENS = {"nvidia": 16384, "kimi-coding": 32000, "kimi-coding-cn": 32000, "qwen-oauth": 65536, "custom": 65536}
HEADERS: dict[str, dict[str, str]] = {
    "kimi-coding-cn": {"User-Agent": "hermes-agent/1.0"},
    "gmi": {"User-Agent": "HermesAgent/0.13.0"},
    "kimi-coding": {"User-Agent": "hermes-agent/1.0"},
    "copilot": {
        "Editor-Version": "vscode/1.104.1",
        "User-Agent": "HermesAgent/1.0",
        "Openai-Intent": "conversation-edits",
        "x-initiator": "agent",
    },
    "ai-gateway": {"HTTP-Referer": "https://hermes-agent.nousresearch.com", "X-Title": "Hermes Agent"},
}
VISION = {
    "ai-gateway", "anthropic", "azure-foundry", "bedrock", "copilot", "gemini", "google-gemini-cli", "kilocode",
    "openai-codex", "opencode-zen", "openrouter", "qwen-oauth", "vertex", "xai", "xiaomi",
}
# Providers whose hooks add nothing to a request.
PLAIN = {
    "alibaba", "anthropic", "arcee", "azure-foundry", "bedrock", "copilot", "copilot-acp", "deepinfra",
    "fireworks", "gmi", "huggingface", "kilocode", "minimax", "minimax-cn", "minimax-oauth", "novita",
    "openai-codex", "opencode-go", "opencode-zen", "xai", "xiaomi",
}

ENABLED_HIGH = {"enabled": True, "effort": "high"}
DISABLED = {"enabled": False}

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def _isolate(mp: pytest.MonkeyPatch, home: Path) -> None:
    """An empty HERMES_HOME (only bundled plugins load) and no proxy for the local server."""
    mp.setenv("HERMES_HOME", str(home))
    for var in PROXY_VARS:
        mp.delenv(var, raising=False)
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module", autouse=True)
def bundled_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One fresh discovery for the module: the hooks are pure, so tests can share it."""
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, tmp_path_factory.mktemp("hermes-home"))
        providers.reload()
        yield


@pytest.fixture
def fresh_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A discovery of its own, for tests about loading or per-process state."""
    _isolate(monkeypatch, tmp_path / "hermes-home")
    providers.reload()


def profile(name: str) -> ProviderProfile:
    found = providers.get_provider_profile(name)
    assert found is not None, name
    return found


def a_model(p: ProviderProfile) -> str:
    return (p.fallback_models or (p.default_aux_model,))[0]


def extras(name: str, **context: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return profile(name).build_api_kwargs_extras(**context)


# The local catalog server is shared with the other unit tests: tests._unit_helpers.catalog_server.


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail loudly on any socket connection; returns the attempted addresses."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any, *args: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"unexpected network connection to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# -- identity, discovery and manifests ----------------------------------------


@pytest.mark.usefixtures("fresh_registry")
def test_all_38_bundled_providers_load_without_errors() -> None:
    assert len(NAMES) == 38
    assert providers.plugin_errors() == []
    assert sorted(p.name for p in providers.list_providers()) == NAMES
    assert bundled_dir().resolve() == PLUGINS_DIR.resolve()


@pytest.mark.parametrize("name", NAMES)
def test_aliases_are_declared_and_each_resolves(name: str) -> None:
    p = profile(name)
    assert p.name == name
    assert tuple(p.aliases) == ALIASES[name]
    for alias in ALIASES[name]:
        assert profile(alias) is p, alias
        assert profile(alias.upper()) is p, alias.upper()


def test_no_alias_collides_with_another_name_or_alias() -> None:
    seen: dict[str, str] = {name: name for name in NAMES}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            assert alias not in seen, f"{alias} is used by {seen[alias]} and {name}"
            seen[alias] = name


@pytest.mark.parametrize("name", NAMES)
def test_manifest(name: str) -> None:
    manifest = yaml.safe_load((PLUGINS_DIR / name / "plugin.yaml").read_text(encoding="utf-8"))
    assert manifest == {
        "name": name,
        "kind": "model-provider",
        "version": "1.0.0",
        "description": profile(name).description,
        "author": "hermesd",
        "provider_ids": [name],
    }


@pytest.mark.usefixtures("fresh_registry")
def test_every_plugin_directory_is_one_of_the_38_and_registers_only_itself() -> None:
    dirs = sorted(d.name for d in PLUGINS_DIR.iterdir() if d.is_dir() and not d.name.startswith(("_", ".")))
    assert dirs == NAMES
    bundled = {info.name: info for info in providers.list_plugins() if info.source == "bundled"}
    assert sorted(bundled) == NAMES
    for name, info in bundled.items():
        assert info.error is None
        assert info.provider_names == [name]
        assert info.manifest["provider_ids"] == [name]


@pytest.mark.parametrize("name", NAMES)
def test_plugin_imports_only_the_plugin_api_and_the_standard_library(name: str) -> None:
    tree = ast.parse((PLUGINS_DIR / name / "__init__.py").read_text(encoding="utf-8"))
    # The plugin API, plus the Hermes internals hermesd.compat provides (a documented contract).
    allowed = {"providers", "providers.base", "providers.pareto", *COMPAT_SURFACE}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
        else:
            continue
        for module in modules:
            if module.split(".")[0] in {"providers", "hermes_cli", "agent"}:
                assert module in allowed, module
            else:
                assert module.split(".")[0] in sys.stdlib_module_names, module
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "register_provider"]
    assert len(calls) == 1  # one profile per plugin, registered at import


# -- declared facts -------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_endpoint_auth_and_env_vars(name: str) -> None:
    p = profile(name)
    api_mode, auth_type, base_url, env_vars = ENDPOINTS[name]
    assert (p.api_mode, p.auth_type, p.base_url, tuple(p.env_vars)) == (api_mode, auth_type, base_url, env_vars)
    assert p.api_mode in API_MODES and p.auth_type in AUTH_TYPES
    url_vars = [v for v in p.env_vars if v.endswith("_URL")]
    assert len(url_vars) <= 1
    if url_vars:  # the base-URL override comes last, after every key variable
        assert p.env_vars[-1] == url_vars[0] == p.base_url_env_var


@pytest.mark.parametrize("name", NAMES)
def test_descriptive_fields_are_filled(name: str) -> None:
    p = profile(name)
    assert p.display_name and p.description
    assert len(p.fallback_models) == FALLBACK_COUNTS[name] if name in FALLBACK_COUNTS else 3 <= len(p.fallback_models) <= 8
    assert len(set(p.fallback_models)) == len(p.fallback_models)
    assert all(isinstance(m, str) and m.strip() == m and m for m in p.fallback_models)
    if name in NO_AUX_MODEL:
        assert p.default_aux_model == ""
    else:
        assert p.default_aux_model
    if name != "custom":
        assert p.signup_url.startswith("https://")
    assert p.supports_vision is (name in VISION)
    assert p.supports_health_check is (name not in NO_HEALTH_CHECK)
    assert p.models_url == ""  # every catalog lives at {base_url}/models or in a fetch_models override


@pytest.mark.parametrize("name", NAMES)
def test_hostname_maps_back(name: str) -> None:
    p = profile(name)
    expected = {"custom": "", "azure-foundry": "", "copilot-acp": "copilot"}.get(name)
    if expected is None:
        expected = p.base_url.split("/")[2]
    assert p.get_hostname() == expected


# -- temperature, max tokens, headers -------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_temperature(name: str) -> None:
    p = profile(name)
    if name in ("kimi-coding", "kimi-coding-cn"):
        assert p.fixed_temperature is OMIT_TEMPERATURE
    else:
        assert p.fixed_temperature is None


@pytest.mark.parametrize("name", NAMES)
def test_max_tokens(name: str) -> None:
    p = profile(name)
    expected = MAX_TOKENS.get(name)
    assert p.default_max_tokens == expected
    for model in (*p.fallback_models, "anything-else"):
        assert p.get_max_tokens(model) == expected


@pytest.mark.parametrize("name", NAMES)
def test_default_headers(name: str) -> None:
    assert profile(name).default_headers == HEADERS.get(name, {})


# -- hooks: general behaviour -----------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("reasoning", [None, ENABLED_HIGH, DISABLED])
def test_hooks_accept_the_daemons_context_and_unknown_keys(name: str, reasoning: dict | None) -> None:
    p = profile(name)
    model = a_model(p)
    body = p.build_extra_body(
        session_id="sess-1", model=model, base_url=p.base_url, provider_preferences=None,
        reasoning_config=reasoning, openrouter_min_coding_score=None, api_mode=p.api_mode,
        a_key_from_the_future=object(),
    )
    assert isinstance(body, dict)
    result = p.build_api_kwargs_extras(
        reasoning_config=reasoning, model=model, base_url=p.base_url, supports_reasoning=True,
        session_id="sess-1", ollama_num_ctx=None, a_key_from_the_future=object(),
    )
    assert isinstance(result, tuple) and len(result) == 2
    assert all(isinstance(part, dict) for part in result)


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_providers_add_nothing(name: str) -> None:
    p = profile(name)
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}]
    assert p.prepare_messages(messages) is messages
    for reasoning in (None, ENABLED_HIGH, DISABLED):
        for model in p.fallback_models:
            context = dict(model=model, base_url=p.base_url, reasoning_config=reasoning)
            assert p.build_extra_body(session_id="s", provider_preferences={"sort": "price"}, **context) == {}
            assert p.build_api_kwargs_extras(supports_reasoning=True, session_id="s", ollama_num_ctx=4096,
                                             **context) == ({}, {})


@pytest.mark.parametrize("name", NAMES)
def test_hooks_do_not_mutate_the_reasoning_config(name: str) -> None:
    p = profile(name)
    config = {"enabled": True, "effort": "high"}
    p.build_extra_body(model=a_model(p), reasoning_config=config)
    extra_body, _ = p.build_api_kwargs_extras(reasoning_config=config, model=a_model(p),
                                              supports_reasoning=True)
    assert config == {"enabled": True, "effort": "high"}
    if "reasoning" in extra_body:
        assert extra_body["reasoning"] == config and extra_body["reasoning"] is not config


# -- openrouter ---------------------------------------------------------------------


def or_body(**context: Any) -> dict[str, Any]:
    return profile("openrouter").build_extra_body(session_id=None, **context)


def test_openrouter_session_id_in_the_body() -> None:
    prefs = {"sort": "price"}
    body = profile("openrouter").build_extra_body(session_id="sess-7", model="openrouter/pareto-code",
                                                  provider_preferences=prefs, openrouter_min_coding_score=0.7)
    assert body == {"session_id": "sess-7", "provider": prefs,
                    "plugins": [{"id": "pareto-router", "min_coding_score": 0.7}]}
    assert profile("openrouter").build_extra_body(session_id="", model="openai/gpt-5.4") == {}


@pytest.mark.parametrize("model, effort, sent", [
    ("anthropic/claude-sonnet-4.6", "max", ({}, {"verbosity": "max"})),  # Claude 4.6+: effort as verbosity
    ("anthropic/claude-opus-4.7", "none", ({}, {})),
    ("anthropic/claude-sonnet-4.5", "max", ({"reasoning": {"enabled": True, "effort": "max"}}, {})),
    ("openai/gpt-5.5", "ultra", ({"reasoning": {"enabled": True, "effort": "ultra"}}, {})),
])
def test_openrouter_efforts_sent_verbatim(model: str, effort: str, sent: tuple) -> None:
    config = {"enabled": effort != "none", "effort": effort}
    assert extras("openrouter", model=model, reasoning_config=config, supports_reasoning=True) == sent


def test_openrouter_provider_preferences() -> None:
    prefs = {"order": ["anthropic"], "allow_fallbacks": False}
    assert or_body(model="anthropic/claude-sonnet-4.6", provider_preferences=prefs) == {"provider": prefs}
    assert or_body(model="anthropic/claude-sonnet-4.6", provider_preferences=None) == {}
    assert or_body(model="anthropic/claude-sonnet-4.6", provider_preferences={}) == {}
    assert or_body() == {}


@pytest.mark.parametrize("score, sent", [
    (0.65, 0.65), (0, 0.0), (1, 1.0), (0.0, 0.0), (1.0, 1.0), ("0.5", 0.5), (" 0.8 ", 0.8),
])
def test_openrouter_pareto_entry_for_valid_scores(score: Any, sent: float) -> None:
    body = or_body(model="openrouter/pareto-code", openrouter_min_coding_score=score)
    assert body == {"plugins": [{"id": "pareto-router", "min_coding_score": sent}]}


@pytest.mark.parametrize("score", [
    None, "", "  ", "abc", math.nan, math.inf, -math.inf, -0.01, 1.01, 65, [0.5], {"x": 1},
])
def test_openrouter_pareto_entry_absent_for_invalid_scores(score: Any) -> None:
    assert or_body(model="openrouter/pareto-code", openrouter_min_coding_score=score) == {}


@pytest.mark.parametrize("model", [None, "", "openrouter/auto", "anthropic/claude-sonnet-4.6",
                                   "openrouter/pareto-code:free", "OPENROUTER/PARETO-CODE"])
def test_openrouter_pareto_entry_only_for_the_pareto_model(model: str | None) -> None:
    assert or_body(model=model, openrouter_min_coding_score=0.7) == {}


def test_openrouter_pareto_entry_merges_with_provider_preferences() -> None:
    prefs = {"sort": "throughput"}
    body = or_body(model="openrouter/pareto-code", provider_preferences=prefs, openrouter_min_coding_score=0.9)
    assert body == {"provider": prefs, "plugins": [{"id": "pareto-router", "min_coding_score": 0.9}]}


def test_openrouter_reasoning_goes_in_the_extra_body() -> None:
    assert extras("openrouter", reasoning_config=None, supports_reasoning=True, model="openai/gpt-5.4") == (
        {"reasoning": {"enabled": True, "effort": "medium"}}, {})
    assert extras("openrouter", reasoning_config=ENABLED_HIGH, supports_reasoning=True) == (
        {"reasoning": {"enabled": True, "effort": "high"}}, {})
    assert extras("openrouter", reasoning_config=DISABLED, supports_reasoning=True) == (
        {"reasoning": {"enabled": False}}, {})
    assert extras("openrouter", reasoning_config=ENABLED_HIGH, supports_reasoning=False) == ({}, {})
    assert extras("openrouter", reasoning_config=ENABLED_HIGH) == ({}, {})


@pytest.mark.parametrize("model", ["x-ai/grok-4", "xai/grok-code-fast-1"])
def test_openrouter_grok_conversation_header(model: str) -> None:
    assert extras("openrouter", model=model, session_id="sess-9") == ({}, {"extra_headers": {"x-grok-conv-id": "sess-9"}})
    assert extras("openrouter", model=model, session_id=None) == ({}, {})
    assert extras("openrouter", model=model, session_id="sess-9", supports_reasoning=True,
                  reasoning_config=ENABLED_HIGH) == (
        {"reasoning": ENABLED_HIGH}, {"extra_headers": {"x-grok-conv-id": "sess-9"}})


@pytest.mark.parametrize("model", ["openai/gpt-5.4", "x-ai/grok", "grok-4", None])
def test_openrouter_no_grok_header_for_other_models(model: str | None) -> None:
    assert extras("openrouter", model=model, session_id="sess-9") == ({}, {})


@pytest.mark.usefixtures("fresh_registry")
def test_openrouter_catalog_is_public_and_cached_per_url() -> None:
    p = profile("openrouter")
    with catalog_server((200, {"data": [{"id": "a/one"}, {"id": "b/two"}]})) as first, \
            catalog_server((200, [{"id": "c/three"}])) as second:
        assert p.fetch_models(api_key="sk-or-secret", base_url=first.url + "/api/v1") == ["a/one", "b/two"]
        assert p.fetch_models(api_key="sk-or-secret", base_url=first.url + "/api/v1") == ["a/one", "b/two"]
        assert p.fetch_models(base_url=second.url + "/api/v1") == ["c/three"]
        assert [r.path for r in first.requests] == ["/api/v1/models"]  # second call came from the cache
        assert [r.path for r in second.requests] == ["/api/v1/models"]
        assert "authorization" not in first.requests[0].headers


@pytest.mark.usefixtures("fresh_registry")
def test_openrouter_failed_catalog_fetch_is_not_cached() -> None:
    p = profile("openrouter")
    with catalog_server((500, {"error": "down"}), (200, {"data": [{"id": "a/one"}]})) as server:
        url = server.url + "/api/v1"
        assert p.fetch_models(base_url=url) is None
        assert p.fetch_models(base_url=url) == ["a/one"]
        assert p.fetch_models(base_url=url) == ["a/one"]
        assert len(server.requests) == 2


@pytest.mark.usefixtures("fresh_registry")
def test_openrouter_cache_starts_empty_after_reload() -> None:
    with catalog_server((200, {"data": [{"id": "a/one"}]})) as server:
        profile("openrouter").fetch_models(base_url=server.url)
        providers.reload()
        profile("openrouter").fetch_models(base_url=server.url)
        assert len(server.requests) == 2


# -- anthropic --------------------------------------------------------------------


def test_anthropic_catalog_uses_x_api_key_and_version() -> None:
    page = {"data": [{"id": "claude-sonnet-4-6"}, {"id": "claude-haiku-4-5-20251001"}], "has_more": False}
    with catalog_server((200, page)) as server:
        models = profile("anthropic").fetch_models(api_key="sk-ant-test", base_url=server.url)
    assert models == ["claude-sonnet-4-6", "claude-haiku-4-5-20251001"]
    (request,) = server.requests
    assert request.path == "/v1/models?limit=1000"
    assert request.headers["x-api-key"] == "sk-ant-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers


def test_anthropic_catalog_follows_pages_and_a_v1_base_url() -> None:
    pages = [
        (200, {"data": [{"id": "m1"}, {"id": "m2"}], "has_more": True, "last_id": "m2"}),
        (200, {"data": [{"id": "m3"}, {"id": "m2"}], "has_more": False, "last_id": "m3"}),
    ]
    with catalog_server(*pages) as server:
        models = profile("anthropic").fetch_models(api_key="k-123", base_url=server.url + "/v1/")
    assert models == ["m1", "m2", "m3"]
    assert [r.path for r in server.requests] == ["/v1/models?limit=1000", "/v1/models?limit=1000&after_id=m2"]


def test_anthropic_catalog_failures_return_none() -> None:
    with catalog_server((401, {"error": "bad key"})) as server:
        assert profile("anthropic").fetch_models(api_key="k-123", base_url=server.url) is None
    with catalog_server((200, {"unexpected": True})) as server:
        assert profile("anthropic").fetch_models(api_key="k-123", base_url=server.url) is None


def test_anthropic_catalog_without_a_key_is_none_and_offline(no_network: list[Any]) -> None:
    assert profile("anthropic").fetch_models() is None
    assert profile("anthropic").fetch_models(api_key="", base_url="http://127.0.0.1:9") is None
    assert no_network == []


# -- gemini -----------------------------------------------------------------------

GEMINI_COMPAT = "https://generativelanguage.googleapis.com/v1beta/openai"


def gemini_body(model: str | None, reasoning: dict | None, base_url: str | None = GEMINI_COMPAT) -> dict:
    return profile("gemini").build_extra_body(model=model, reasoning_config=reasoning, base_url=base_url)


def compat(config: dict[str, Any]) -> dict[str, Any]:
    return {"extra_body": {"google": {"thinking_config": config}}}


@pytest.mark.parametrize("model, reasoning, expected", [
    # disabled, any gemini model
    ("gemini-2.5-flash", DISABLED, {"include_thoughts": False}),
    ("gemini-3-pro-preview", {"enabled": True, "effort": "none"}, {"include_thoughts": False}),
    ("google/gemini-3-flash-preview", DISABLED, {"include_thoughts": False}),
    # 2.5: thoughts on, no level
    ("gemini-2.5-pro", ENABLED_HIGH, {"include_thoughts": True}),
    ("gemini-2.5-flash", {"enabled": True, "effort": "low"}, {"include_thoughts": True}),
    # 3.x flash: low / medium / high (max and ultra are high, as in Hermes 0.19.0; an unknown effort reads as medium)
    ("gemini-3-flash-preview", {"enabled": True, "effort": "minimal"}, {"include_thoughts": True, "thinking_level": "low"}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "low"}, {"include_thoughts": True, "thinking_level": "low"}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "medium"}, {"include_thoughts": True, "thinking_level": "medium"}),
    ("gemini-3-flash-preview", {"enabled": True}, {"include_thoughts": True, "thinking_level": "medium"}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "bogus"}, {"include_thoughts": True, "thinking_level": "medium"}),
    ("gemini-3.1-flash-lite-preview", ENABLED_HIGH, {"include_thoughts": True, "thinking_level": "high"}),
    ("google/gemini-3-flash-preview", {"enabled": True, "effort": "xhigh"}, {"include_thoughts": True, "thinking_level": "high"}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "max"}, {"include_thoughts": True, "thinking_level": "high"}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "ultra"}, {"include_thoughts": True, "thinking_level": "high"}),
    # 3.x pro: low / high
    ("gemini-3-pro-preview", ENABLED_HIGH, {"include_thoughts": True, "thinking_level": "high"}),
    ("gemini-3-pro-preview", {"enabled": True, "effort": "xhigh"}, {"include_thoughts": True, "thinking_level": "high"}),
    ("gemini-3-pro-preview", {"enabled": True, "effort": "max"}, {"include_thoughts": True, "thinking_level": "high"}),
    ("gemini-3-pro-preview", {"enabled": True, "effort": "medium"}, {"include_thoughts": True, "thinking_level": "low"}),
    ("gemini-3.1-pro-preview", {"enabled": True, "effort": "minimal"}, {"include_thoughts": True, "thinking_level": "low"}),
    ("GEMINI-3-PRO-PREVIEW", {"enabled": True, "effort": "HIGH"}, {"include_thoughts": True, "thinking_level": "high"}),
])
def test_gemini_thinking_config_on_the_openai_compat_endpoint(model: str, reasoning: dict, expected: dict) -> None:
    assert gemini_body(model, reasoning) == compat(expected)
    assert gemini_body(model, reasoning, base_url=None) == compat(expected)  # falls back to the profile's URL


@pytest.mark.parametrize("model", ["gemma-3-27b-it", "google/gemma-3-12b-it", "", None, "learnlm-2.0-flash"])
@pytest.mark.parametrize("reasoning", [ENABLED_HIGH, DISABLED])
def test_gemini_no_thinking_config_for_non_gemini_models(model: str | None, reasoning: dict) -> None:
    assert gemini_body(model, reasoning) == {}


def test_gemini_no_thinking_config_without_reasoning_config() -> None:
    assert gemini_body("gemini-3-pro-preview", None) == {}
    assert profile("gemini").build_api_kwargs_extras(reasoning_config=ENABLED_HIGH, model="gemini-3-pro-preview") == ({}, {})


def test_gemini_native_schema_off_the_compat_endpoint() -> None:
    body = gemini_body("gemini-3-flash-preview", ENABLED_HIGH, base_url="https://proxy.example.com/v1beta")
    assert body == {"thinking_config": {"includeThoughts": True, "thinkingLevel": "high"}}


def test_gemini_catalog_strips_the_models_prefix() -> None:
    payload = {"data": [{"id": "models/gemini-2.5-flash"}, {"id": "gemini-3-pro-preview"}]}
    with catalog_server((200, payload)) as server:
        models = profile("gemini").fetch_models(api_key="g-key", base_url=server.url + "/v1beta")
    assert models == ["gemini-2.5-flash", "gemini-3-pro-preview"]
    assert server.requests[0].path == "/v1beta/openai/models"
    assert server.requests[0].headers["authorization"] == "Bearer g-key"


# -- kimi ---------------------------------------------------------------------------


@pytest.mark.parametrize("reasoning, expected", [
    (None, ({"thinking": {"type": "enabled"}}, {})),
    ({}, ({"thinking": {"type": "enabled"}}, {})),
    (DISABLED, ({"thinking": {"type": "disabled"}}, {})),
    ({"enabled": False, "effort": "high"}, ({"thinking": {"type": "disabled"}}, {})),
    ({"enabled": True}, ({"thinking": {"type": "enabled"}}, {})),
    ({"enabled": True, "effort": "low"}, ({}, {"reasoning_effort": "low"})),
    ({"enabled": True, "effort": "medium"}, ({}, {"reasoning_effort": "medium"})),
    (ENABLED_HIGH, ({}, {"reasoning_effort": "high"})),
    ({"effort": " High "}, ({}, {"reasoning_effort": "high"})),
    ({"enabled": True, "effort": "xhigh"}, ({"thinking": {"type": "enabled"}}, {})),
])
@pytest.mark.parametrize("name", ["kimi-coding", "kimi-coding-cn"])
def test_kimi_thinking_xor_reasoning_effort(name: str, reasoning: dict | None, expected: tuple) -> None:
    result = extras(name, reasoning_config=reasoning, model="kimi-k2.5")
    assert result == expected
    extra_body, top_level = result
    assert not ("thinking" in extra_body and "reasoning_effort" in top_level)


def test_kimi_omits_temperature_and_caps_tokens() -> None:
    p = profile("moonshot")
    assert p.fixed_temperature is OMIT_TEMPERATURE
    assert p.get_max_tokens("kimi-k2.5") == 32000
    assert p.build_extra_body(model="kimi-k2.5", reasoning_config=ENABLED_HIGH) == {}


# -- qwen ---------------------------------------------------------------------------


def test_qwen_prepare_messages_normalises_and_marks_the_system_prompt() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": ["look", image]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        {"role": "user", "content": "thanks"},
    ]
    before = json.loads(json.dumps(messages))
    prepared = profile("qwen").prepare_messages(messages)
    assert prepared == [
        {"role": "system", "content": [
            {"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}]},
        {"role": "user", "content": [{"type": "text", "text": "look"}, image]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
        {"role": "user", "content": [{"type": "text", "text": "thanks"}]},
    ]
    assert messages == before  # nothing in the input changed
    assert prepared is not messages
    assert all(new is not old for new, old in zip(prepared, messages))


def test_qwen_marks_the_last_part_of_a_list_system_prompt_without_mutation() -> None:
    parts = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    messages = [{"role": "system", "content": parts}, {"role": "system", "content": "second"}]
    prepared = profile("qwen-oauth").prepare_messages(messages)
    assert prepared[0]["content"] == [
        {"type": "text", "text": "a"}, {"type": "text", "text": "b", "cache_control": {"type": "ephemeral"}}]
    assert prepared[1]["content"] == [{"type": "text", "text": "second"}]  # only the first system message
    assert parts == [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert messages[0]["content"] is parts and "cache_control" not in parts[-1]


def test_qwen_prepare_messages_on_empty_input() -> None:
    empty: list[dict[str, Any]] = []
    result = profile("qwen").prepare_messages(empty)
    assert result == [] and result is not empty


def test_qwen_body_and_thinking_switch() -> None:
    assert profile("qwen").build_extra_body(session_id="s", model="qwen3-coder-plus") == {"vl_high_resolution_images": True}
    assert extras("qwen", reasoning_config=None) == ({"enable_thinking": False}, {})
    assert extras("qwen", reasoning_config=DISABLED) == ({"enable_thinking": False}, {})
    assert extras("qwen", reasoning_config=ENABLED_HIGH) == ({"enable_thinking": True, "thinking_budget": 32768}, {})


# -- nous ---------------------------------------------------------------------------


def test_nous_attribution_tags() -> None:
    p = profile("nous-portal")
    # As Hermes 0.19.0 tags them (agent.portal_tags): product, client release, conversation.
    client = "client=hermes-client-v0.13.0"  # hermes_cli.__version__ as hermesd's surface gives it
    assert p.build_extra_body(session_id=None, model="Hermes-4-70B") == {"tags": ["product=hermes-agent", client]}
    assert p.build_extra_body(session_id="sess-3", model="Hermes-4-70B") == {
        "tags": ["product=hermes-agent", client, "conversation=sess-3"]}
    # OpenRouter-only routing preferences are never forwarded to the Portal.
    assert "provider" not in p.build_extra_body(provider_preferences={"sort": "price"})


@pytest.mark.parametrize("supports", [True, False])
def test_nous_reasoning_enabled_and_omitted_when_disabled(supports: bool) -> None:
    assert extras("nous", reasoning_config=ENABLED_HIGH, supports_reasoning=supports) == ({"reasoning": ENABLED_HIGH}, {})
    assert extras("nous", reasoning_config=DISABLED, supports_reasoning=supports) == ({}, {})
    assert extras("nous", reasoning_config={"enabled": False, "effort": "low"}, supports_reasoning=supports) == ({}, {})


def test_nous_default_reasoning_only_for_reasoning_models() -> None:
    assert extras("nous", reasoning_config=None, supports_reasoning=True) == (
        {"reasoning": {"enabled": True, "effort": "medium"}}, {})
    assert extras("nous", reasoning_config=None, supports_reasoning=False) == ({}, {})


# -- custom -------------------------------------------------------------------------


@pytest.mark.parametrize("num_ctx, reasoning, expected, top_level", [
    (8192, None, {"options": {"num_ctx": 8192}}, {}),
    # Ollama's /v1/chat/completions honours only reasoning_effort; /api/chat and proxies read think (0.19.0)
    (None, DISABLED, {"think": False}, {"reasoning_effort": "none"}),
    (None, {"enabled": True, "effort": "none"}, {"think": False}, {"reasoning_effort": "none"}),
    (32768, DISABLED, {"options": {"num_ctx": 32768}, "think": False}, {"reasoning_effort": "none"}),
    (None, ENABLED_HIGH, {}, {"reasoning_effort": "high"}),  # what vLLM, GLM and others read
    (None, None, {}, {}),
    (0, None, {}, {}),
    (True, None, {}, {}),
    ("4096", None, {}, {}),
])
def test_custom_ollama_switches(num_ctx: Any, reasoning: dict | None, expected: dict, top_level: dict) -> None:
    assert extras("ollama", ollama_num_ctx=num_ctx, reasoning_config=reasoning) == (expected, top_level)


def test_custom_has_no_default_url_and_no_catalog_without_one(no_network: list[Any]) -> None:
    p = profile("custom")
    assert p.base_url == "" and p.supports_health_check is True
    assert p.fetch_models(api_key="k-123") is None
    assert no_network == []


def test_custom_catalog_follows_the_users_url() -> None:
    with catalog_server((200, {"data": [{"id": "qwen3:8b"}]})) as server:
        assert profile("vllm").fetch_models(base_url=server.url + "/v1") == ["qwen3:8b"]
    assert server.requests[0].path == "/v1/models"


# -- bedrock / copilot-acp: no REST catalog -------------------------------------------


@pytest.mark.parametrize("name", ["bedrock", "copilot-acp", "google-gemini-cli"])
def test_no_rest_catalog_and_no_io(name: str, no_network: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("no HTTP request expected")

    monkeypatch.setattr(httpx, "get", refuse)
    monkeypatch.setattr(httpx.Client, "send", refuse)
    p = profile(name)
    assert p.fetch_models() is None
    assert p.fetch_models(api_key="AKIA-something", base_url="http://127.0.0.1:9", timeout=0.1) is None
    assert no_network == []
    assert p.supports_health_check is False


# -- nvidia --------------------------------------------------------------------------


def test_nvidia_strips_names_from_tool_messages_only() -> None:
    p = profile("nvidia-nim")
    plain = [{"role": "user", "content": "hi", "name": "alice"}]
    assert p.prepare_messages(plain) is plain
    tool = {"role": "tool", "tool_call_id": "1", "content": "ok", "name": "ls", "tool_name": "ls"}
    messages = [plain[0], tool]
    prepared = p.prepare_messages(messages)
    assert prepared == [plain[0], {"role": "tool", "tool_call_id": "1", "content": "ok"}]
    assert prepared[0] is plain[0]
    assert tool == {"role": "tool", "tool_call_id": "1", "content": "ok", "name": "ls", "tool_name": "ls"}
    assert p.build_api_kwargs_extras(reasoning_config=ENABLED_HIGH, model="nvidia/nvidia-nemotron-nano-9b-v2") == ({}, {})


# -- deepseek ------------------------------------------------------------------------


@pytest.mark.parametrize("model, reasoning, expected", [
    ("deepseek-reasoner", None, ({"thinking": {"type": "enabled"}}, {})),
    ("deepseek-reasoner", DISABLED, ({"thinking": {"type": "disabled"}}, {})),
    ("deepseek-v4-pro", ENABLED_HIGH, ({"thinking": {"type": "enabled"}}, {"reasoning_effort": "high"})),
    ("deepseek-v4-flash", {"enabled": True, "effort": "low"}, ({"thinking": {"type": "enabled"}}, {"reasoning_effort": "low"})),
    ("DeepSeek-V4-Pro", {"enabled": True, "effort": "xhigh"}, ({"thinking": {"type": "enabled"}}, {"reasoning_effort": "max"})),
    ("deepseek-v4-pro", {"enabled": True, "effort": "max"}, ({"thinking": {"type": "enabled"}}, {"reasoning_effort": "max"})),
    ("deepseek-v4-pro", {"enabled": True, "effort": "minimal"}, ({"thinking": {"type": "enabled"}}, {})),
    ("deepseek-v4-pro", {"enabled": False, "effort": "high"}, ({"thinking": {"type": "disabled"}}, {})),
    ("deepseek-chat", ENABLED_HIGH, ({}, {})),
    ("deepseek-chat", DISABLED, ({}, {})),
    ("deepseek-v3.2", ENABLED_HIGH, ({}, {})),
    (None, ENABLED_HIGH, ({}, {})),
])
def test_deepseek_thinking_models(model: str | None, reasoning: dict | None, expected: tuple) -> None:
    assert extras("deepseek", model=model, reasoning_config=reasoning) == expected


# -- ollama cloud ----------------------------------------------------------------------


@pytest.mark.parametrize("reasoning, expected", [
    (ENABLED_HIGH, {"reasoning_effort": "high"}),
    ({"enabled": True, "effort": "low"}, {"reasoning_effort": "low"}),
    ({"enabled": True, "effort": "medium"}, {"reasoning_effort": "medium"}),
    ({"enabled": True, "effort": "minimal"}, {"reasoning_effort": "low"}),
    ({"enabled": True, "effort": "xhigh"}, {"reasoning_effort": "max"}),
    ({"enabled": True, "effort": "max"}, {"reasoning_effort": "max"}),
    ({"enabled": True}, {}),
    ({"enabled": True, "effort": "weird"}, {}),
    (DISABLED, {}),
    ({"enabled": False, "effort": "high"}, {}),
    (None, {}),
])
def test_ollama_cloud_top_level_reasoning_effort(reasoning: dict | None, expected: dict) -> None:
    assert extras("ollama-cloud", reasoning_config=reasoning, model="gpt-oss:120b", supports_reasoning=True) == ({}, expected)


# -- zai --------------------------------------------------------------------------------


@pytest.mark.parametrize("model, reasoning, expected", [
    ("glm-4.6", ENABLED_HIGH, {"thinking": {"type": "enabled"}}),
    ("glm-4.5", DISABLED, {"thinking": {"type": "disabled"}}),
    ("glm-5", {"enabled": True}, {"thinking": {"type": "enabled"}}),
    ("z-ai/glm-4.7", DISABLED, {"thinking": {"type": "disabled"}}),
    ("glm-4.5-air", ENABLED_HIGH, {"thinking": {"type": "enabled"}}),
    ("glm-4.6", None, {}),
    ("glm-4", ENABLED_HIGH, {}),
    ("glm-4-9b", DISABLED, {}),
    ("other-model", ENABLED_HIGH, {}),
])
def test_zai_thinking_switch(model: str, reasoning: dict | None, expected: dict) -> None:
    assert extras("glm", model=model, reasoning_config=reasoning) == (expected, {})


# -- alibaba coding plan, stepfun, ai-gateway ---------------------------------------------


@pytest.mark.parametrize("reasoning, expected", [
    (ENABLED_HIGH, {"reasoning_effort": "high"}),
    ({"enabled": True}, {"reasoning_effort": "medium"}),
    (DISABLED, {}),
    (None, {}),
])
def test_alibaba_coding_plan_flat_reasoning_effort(reasoning: dict | None, expected: dict) -> None:
    assert extras("alibaba-coding-plan", reasoning_config=reasoning, model="qwen3-coder-plus") == ({}, expected)
    assert "reasoning" not in extras("alibaba-coding-plan", reasoning_config=reasoning, supports_reasoning=True)[0]


@pytest.mark.parametrize("model, reasoning, expected", [
    ("step-3.7-flash", None, {"reasoning_effort": "medium"}),
    ("step-3.7-flash", {"enabled": True, "effort": "low"}, {"reasoning_effort": "low"}),
    ("step-3.7-flash", {"enabled": True, "effort": "xhigh"}, {"reasoning_effort": "high"}),
    ("step-3.7-flash", DISABLED, {}),
    ("step-3.5-flash", ENABLED_HIGH, {}),
])
def test_stepfun_reasoning_effort(model: str, reasoning: dict | None, expected: dict) -> None:
    assert extras("stepfun", model=model, reasoning_config=reasoning) == ({}, expected)


def test_ai_gateway_reasoning_passthrough() -> None:
    assert extras("vercel", reasoning_config=ENABLED_HIGH, supports_reasoning=True) == ({"reasoning": ENABLED_HIGH}, {})
    assert extras("vercel", reasoning_config=None, supports_reasoning=True) == (
        {"reasoning": {"enabled": True, "effort": "medium"}}, {})
    assert extras("vercel", reasoning_config=ENABLED_HIGH, supports_reasoning=False) == ({}, {})
    assert profile("ai-gateway").build_extra_body(provider_preferences={"order": ["x"]}) == {}


# -- opencode zen ---------------------------------------------------------------------------


@pytest.mark.parametrize("model, mode", [
    ("claude-sonnet-4-5", "anthropic_messages"),
    ("opencode-zen/claude-haiku-4-5", "anthropic_messages"),
    ("gpt-5.1-codex", "codex_responses"),
    ("opencode/GPT-5", "codex_responses"),
    ("gemini-3-pro", "chat_completions"),
    ("kimi-k2", "chat_completions"),
    ("qwen3-coder", "chat_completions"),
    ("", None),
])
def test_opencode_zen_api_mode_per_model(model: str, mode: str | None) -> None:
    assert profile("zen").api_mode_for_model(model) == mode


@pytest.mark.parametrize("model, mode", [
    ("minimax-m2.7", "anthropic_messages"),
    ("opencode-go/MiniMax-M2.5", "anthropic_messages"),
    ("glm-5.1", "chat_completions"),
    ("kimi-k2.6", "chat_completions"),
    ("opencode/qwen3.6-plus", "chat_completions"),
    ("", None),
])
def test_opencode_go_api_mode_per_model(model: str, mode: str | None) -> None:
    assert profile("go").api_mode_for_model(model) == mode


def test_only_opencode_declares_per_model_dispatch() -> None:
    from providers.base import ProviderProfile

    declared = [p.name for p in providers.list_providers()
                if type(p).api_mode_for_model is not ProviderProfile.api_mode_for_model]
    assert sorted(declared) == ["opencode-go", "opencode-zen"]


# -- google gemini cli (Code Assist) ---------------------------------------------------------


@pytest.mark.parametrize("model, reasoning, expected", [
    ("gemini-3-pro-preview", ENABLED_HIGH, {"thinking_config": {"includeThoughts": True, "thinkingLevel": "high"}}),
    ("gemini-3-flash-preview", {"enabled": True, "effort": "minimal"},
     {"thinking_config": {"includeThoughts": True, "thinkingLevel": "low"}}),
    ("gemini-2.5-pro", ENABLED_HIGH, {"thinking_config": {"includeThoughts": True}}),
    ("gemini-2.5-pro", DISABLED, {"thinking_config": {"includeThoughts": False}}),
    ("gemma-3-27b", ENABLED_HIGH, {}),
    ("gemini-3-pro-preview", None, {}),
])
def test_gemini_cli_native_thinking_config(model: str, reasoning: dict | None, expected: dict) -> None:
    # Gemini's own schema whatever the URL: Code Assist is not the OpenAI-compat endpoint.
    p = profile("gemini-cli")
    assert p.build_extra_body(model=model, reasoning_config=reasoning, base_url=p.base_url) == expected


# -- azure foundry ------------------------------------------------------------------------------


def test_azure_foundry_catalog_sends_an_api_key_header() -> None:
    p = profile("azure")
    with catalog_server((200, {"data": [{"id": "gpt-5-mini"}]})) as server:
        assert p.fetch_models(api_key="az-key", base_url=server.url + "/openai/v1") == ["gpt-5-mini"]
    (request,) = server.requests
    assert request.path == "/openai/v1/models"
    assert request.headers["api-key"] == "az-key"
    assert "authorization" not in request.headers
    assert p.default_headers == {}  # the key never sticks to the shared profile


def test_azure_foundry_without_an_endpoint_is_none(no_network: list[Any]) -> None:
    assert profile("azure-foundry").fetch_models(api_key="az-key") is None
    assert no_network == []


# -- default catalog behaviour for the rest ------------------------------------------------------


@pytest.mark.parametrize("name", ["gmi", "copilot", "huggingface", "xai", "zai"])
def test_default_catalog_sends_bearer_and_default_headers(name: str) -> None:
    p = profile(name)
    with catalog_server((200, {"data": [{"id": "m-1"}]})) as server:
        assert p.fetch_models(api_key="key-42", base_url=server.url + "/v1") == ["m-1"]
    (request,) = server.requests
    assert request.path == "/v1/models"
    assert request.headers["authorization"] == "Bearer key-42"
    for header, value in HEADERS.get(name, {}).items():
        assert request.headers[header.lower()] == value


# -- upstage --------------------------------------------------------------------------


@pytest.mark.parametrize("config, sent", [
    (None, {"reasoning_effort": "medium"}),  # Solar's own default is off; a coding agent wants it on
    ({}, {"reasoning_effort": "medium"}),
    ({"enabled": True}, {"reasoning_effort": "medium"}),
    (DISABLED, {}),
    ({"enabled": True, "effort": "minimal"}, {}),
    ({"enabled": True, "effort": "low"}, {"reasoning_effort": "low"}),
    (ENABLED_HIGH, {"reasoning_effort": "high"}),
    ({"enabled": True, "effort": "xhigh"}, {"reasoning_effort": "high"}),  # above high: Solar's strongest
    ({"enabled": True, "effort": "max"}, {"reasoning_effort": "high"}),
    ({"enabled": True, "effort": "ultra"}, {"reasoning_effort": "high"}),
])
def test_upstage_reasoning_effort_at_top_level(config: dict | None, sent: dict) -> None:
    assert extras("upstage", reasoning_config=config, model="solar-pro3") == ({}, sent)


@pytest.mark.parametrize("model", ["solar-mini", "solar-mini-250127", "syn-pro"])
def test_upstage_models_without_reasoning_get_none(model: str) -> None:
    assert extras("upstage", reasoning_config=ENABLED_HIGH, model=model) == ({}, {})
    assert extras("upstage", reasoning_config=None, model=model) == ({}, {})


# -- vertex ---------------------------------------------------------------------------


def test_vertex_thinking_config_nested_as_for_gemini_openai_compat() -> None:
    p = profile("vertex")
    assert p.build_extra_body(model="google/gemini-3-flash-preview", reasoning_config={"enabled": True, "effort": "max"}) == {
        "extra_body": {"google": {"thinking_config": {"include_thoughts": True, "thinking_level": "high"}}}}
    assert p.build_extra_body(model="google/gemini-2.5-pro", reasoning_config=DISABLED) == {
        "extra_body": {"google": {"thinking_config": {"include_thoughts": False}}}}
    assert p.build_extra_body(model="meta/llama-4-maverick", reasoning_config=ENABLED_HIGH) == {}
    assert p.build_extra_body(model="google/gemini-2.5-pro", reasoning_config=None) == {}


def test_vertex_lists_no_catalog(no_network: list) -> None:
    assert profile("vertex").fetch_models(api_key="ya29.x", base_url="https://aiplatform.googleapis.com") is None
