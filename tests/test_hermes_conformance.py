"""Drop-in conformance with the Hermes agent, measured with Hermes' own code, release by release.

Two releases: the seed's hermes-agent 0.13.0 (its snapshot beside the checkout,
``../shared/hermes-reference`` or ``$HERMES_REFERENCE``) and 0.19.0, the newest
on the registry (its provider tests in ``../shared/hermes-reference-0.19``,
its plugins and code in the venv ./scripts/test installs). A missing one skips
with that reason.

1. Each release's own provider tests (``test_provider_profiles.py``,
   ``test_plugin_discovery.py``) run unmodified against hermesd's
   ``providers`` package and bundled plugins, in a pytest subprocess whose
   conftest only sets a per-test ``HERMES_HOME``, clears credential variables
   and installs the Hermes surface the way the daemon does. Every test passes
   except the release's named exceptions (:data:`RELEASES`, docs/plugins.md);
   where the releases disagree hermesd follows 0.19.0 and the 0.13.0 test is a
   named version difference.
2. Hermes' real plugin directories (0.13.0's 28, 0.19.0's 32) load unchanged as
   user plugins of the real daemon: no plugin error, each release's profiles
   (33, 36) override hermesd's bundled ones.
3. The request matrices: for each case, the URL, body and provider-defined
   headers hermesd sends (recorded by the loopback upstream, or
   ``previewRequest`` for real hosts, where Hermes' host rules apply) equal
   what Hermes builds with its own transport, gate and SDK
   (tests/hermes_reference_side.py, run in the release's venv that
   ./scripts/test installs): 0.19.0's on issue 32's matrix, with hermesd's
   bundled plugins and with 0.19.0's; 0.13.0's apart from its named version
   differences (``VERSION_DIFFERENCES_0_13``).
4. The compatibility surface against 0.19.0's own functions, and a
   ``providers:`` block written by 0.19.0's own config migration
   (``transport: openai_chat``) chatting as Hermes maps it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._unit_helpers import BUNDLED_NAMES, hermes_reference
from tests.conftest import CANARY_KEY, write_config

ROOT = Path(__file__).resolve().parent.parent


def _reference() -> Path | None:
    candidate = hermes_reference()  # the one locator: also found from a worktree nested deeper
    return candidate if candidate is not None and (candidate / "plugins" / "model-providers").is_dir() else None


REFERENCE = _reference()
HERMES_VENV = Path(os.environ.get("HERMESD_HERMES_VENV", "~/.cache/hermesd-test/hermes-0.13.0")).expanduser()
HERMES_PYTHON = HERMES_VENV / "bin" / "python"
NEWEST_HERMES_VENV = Path(os.environ.get("HERMESD_HERMES_0_19_VENV", "~/.cache/hermesd-test/hermes-0.19.0")).expanduser()
NEWEST_HERMES_PYTHON = NEWEST_HERMES_VENV / "bin" / "python"

needs_reference = pytest.mark.skipif(
    REFERENCE is None,
    reason="the Hermes snapshot ../shared/hermes-reference/ is absent (set HERMES_REFERENCE to use another copy)",
)
needs_hermes = pytest.mark.skipif(
    not HERMES_PYTHON.exists(),
    reason=f"no hermes-agent==0.13.0 venv at {HERMES_VENV}: ./scripts/test installs it",
)

PROFILES = "tests/providers/test_provider_profiles.py"
DISCOVERY = "tests/providers/test_plugin_discovery.py"


@dataclass(frozen=True)
class Release:
    """One Hermes release's provider tests, and what hermesd does not pass of them, with why.

    ``exceptions`` are the tests that fail against hermesd on purpose (docs/plugins.md,
    "Hermes compatibility", one table per release); ``not_applicable`` are deselected
    because they test a part of Hermes hermesd does not have.
    """

    version: str
    reference: str  # the directory beside the repo (../shared/<reference>/tests/providers)
    exceptions: dict[str, str]
    not_applicable: dict[str, str]
    total: int  # tests in the two files, for a changed copy to show up

    def tests_dir(self) -> Path | None:
        root = hermes_reference(self.reference)
        providers = None if root is None else root / "tests" / "providers"
        return providers if providers is not None and (providers / "test_provider_profiles.py").is_file() else None


NOUS_AUTH_TYPE = (
    "hermesd's nous declares auth_type 'oauth_external' (the user signs in through the Hermes agent); "
    "Hermes says 'oauth_device_code', the flow its own CLI runs"
)
KIMI_EITHER_OR = (
    "version difference: 0.13.0 expects extra_body.thinking and reasoning_effort together, which Moonshot "
    "rejects; hermesd sends one or the other, the rule 0.19.0 adopted (its tests assert it)"
)
NOUS_TAGS = (
    "version difference: 0.13.0 expects the one tag product=hermes-agent; 0.19.0 adds the client release and "
    "the conversation (agent.portal_tags), which hermesd sends"
)
COUNT_33 = (
    "version difference: 0.13.0 expects exactly its 33 bundled profiles; 0.19.0 expects at least one per plugin "
    "directory, and hermesd bundles 38 (0.19.0's 36, plus ai-gateway and google-gemini-cli, which 0.19.0 dropped)"
)
PLUGIN_MANAGER = "tests Hermes' general plugin manager (hermes_cli.plugins.PluginManager), which hermesd does not have"

RELEASES = [
    Release(
        version="0.13.0",
        reference="hermes-reference",
        exceptions={
            f"{PROFILES}::TestKimiProfile::test_thinking_enabled": KIMI_EITHER_OR,
            f"{PROFILES}::TestKimiProfile::test_reasoning_effort_default": KIMI_EITHER_OR,
            f"{PROFILES}::TestKimiProfile::test_no_config_defaults": KIMI_EITHER_OR,
            f"{PROFILES}::TestNousProfile::test_auth_type": NOUS_AUTH_TYPE,
            f"{PROFILES}::TestNousProfile::test_tags": NOUS_TAGS,
            f"{DISCOVERY}::test_all_33_profiles_register": COUNT_33,
        },
        not_applicable={f"{DISCOVERY}::test_general_plugin_manager_skips_model_provider_kind": PLUGIN_MANAGER},
        total=45,
    ),
    Release(
        version="0.19.0",
        reference="hermes-reference-0.19",
        exceptions={f"{PROFILES}::TestNousProfile::test_auth_type": NOUS_AUTH_TYPE},
        not_applicable={f"{DISCOVERY}::test_general_plugin_manager_skips_model_provider_kind": PLUGIN_MANAGER},
        total=57,
    ),
]
HERMES_TEST_FILES = ("test_provider_profiles.py", "test_plugin_discovery.py")

# The conftest Hermes' tests run under: nothing but isolation and the daemon's own set-up.
HERMES_TESTS_CONFTEST = '''\
import os
import re

import pytest

import hermesd.aliases

hermesd.aliases.install()  # what the daemon's entry (hermesd.cli.main) does before any plugin loads


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    for name in list(os.environ):
        if re.search(r"(_API_KEY|_TOKEN|_KEY|_BASE_URL|_URL)$", name):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HERMES_HOME", str(tmp_path / "hermes-home"))
'''


def _outcomes(junit: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        # classname: "tests.providers.test_x" or "tests.providers.test_x.TestClass"
        dotted = case.get("classname", "").split(".")
        cut = next(i for i, part in enumerate(dotted) if part.startswith("test_")) + 1
        node = "::".join(["/".join(dotted[:cut]) + ".py", *dotted[cut:], case.get("name", "")])
        kinds = {child.tag for child in case}
        outcomes[node] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
    return outcomes


def run_hermes_provider_tests(release: Release, work: Path) -> tuple[dict[str, str], str]:
    """Run the release's provider tests, unmodified, against hermesd; outcome per test node."""
    tests = release.tests_dir()
    assert tests is not None
    (work / "tests" / "providers").mkdir(parents=True)
    for name in HERMES_TEST_FILES:
        shutil.copyfile(tests / name, work / "tests" / "providers" / name)
    # Hermes' discovery test finds the bundled plugins at <repo>/plugins/model-providers.
    (work / "plugins").symlink_to(ROOT / "plugins", target_is_directory=True)
    (work / "conftest.py").write_text(HERMES_TESTS_CONFTEST, encoding="utf-8")
    (work / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    junit = work / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    deselect = [arg for node in release.not_applicable for arg in ("--deselect", node)]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "--import-mode=importlib", f"--junitxml={junit}", *deselect, "tests/providers"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    return _outcomes(junit), proc.stdout[-4000:]


@pytest.mark.parametrize("release", RELEASES, ids=[r.version for r in RELEASES])
def test_hermes_own_provider_tests_pass_except_the_named_exceptions(release: Release, tmp_path: Path) -> None:
    if release.tests_dir() is None:
        pytest.skip(f"Hermes {release.version}'s provider tests (../shared/{release.reference}/tests/providers) are absent")
    outcomes, output = run_hermes_provider_tests(release, tmp_path / "hermes-tests")
    failed = {node for node, outcome in outcomes.items() if outcome != "passed"}
    assert failed == set(release.exceptions), output
    assert all(outcomes[node] == "failure" for node in release.exceptions)
    assert len(outcomes) == release.total - len(release.not_applicable), sorted(outcomes)
    print(f"Hermes {release.version}: {len(outcomes) - len(failed)} of {len(outcomes)} applicable pass")


def test_the_releases_disagree_only_where_named() -> None:
    """Where 0.13.0 and 0.19.0 disagree hermesd follows 0.19.0: each 0.13.0-only exception is named a version difference."""
    older, newest = RELEASES
    for node, why in older.exceptions.items():
        assert node in newest.exceptions or why.startswith("version difference: "), node


def _install_reference_plugins(home: Path, source: Path | None = None) -> list[str]:
    """Copy a Hermes release's plugin directories (the seed snapshot's by default) in as user plugins."""
    source = source or (REFERENCE / "plugins" / "model-providers" if REFERENCE else None)
    assert source is not None
    target = home / "plugins" / "model-providers"
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for plugin in sorted(source.iterdir()):
        if plugin.is_dir() and (plugin / "__init__.py").is_file():
            shutil.copytree(plugin, target / plugin.name, ignore=shutil.ignore_patterns("__pycache__"))
            names.append(plugin.name)
    return names


def _newest_hermes_plugins() -> Path | None:
    """0.19.0's plugin directories, as its wheel installs them (``site-packages/plugins/model-providers``)."""
    found = sorted(NEWEST_HERMES_VENV.glob("lib/python3*/site-packages/plugins/model-providers"))
    return found[0] if found else None


# Hermes release -> (its plugin directories, how many, the profiles they register, hermesd's bundled
# providers that release no longer ships, which stay hermesd's own).
PLUGIN_RELEASES = {
    "0.13.0": (lambda: REFERENCE / "plugins" / "model-providers" if REFERENCE else None, 28, 33,
               {"deepinfra", "fireworks", "novita", "upstage", "vertex"}),
    "0.19.0": (_newest_hermes_plugins, 32, 36, {"ai-gateway", "google-gemini-cli"}),
}


@pytest.mark.parametrize("version", sorted(PLUGIN_RELEASES))
async def test_hermes_real_plugins_load_unchanged_and_override_their_profiles(version, start_daemon, isolated_home):
    where, directories, profiles, hermesd_only = PLUGIN_RELEASES[version]
    source = where()
    if source is None or not source.is_dir():
        pytest.skip(f"Hermes {version}'s plugins are absent (../shared/hermes-reference, or ./scripts/test's venv)")
    names = _install_reference_plugins(isolated_home, source)
    assert len(names) == directories
    daemon = await start_daemon()
    listing = await daemon.request("hermes/listProviders")
    assert listing.get("pluginErrors", []) == []  # 0.19.0's nous too: agent.portal_tags is in the surface
    doctor = await daemon.request("hermes/doctor", {"probe": False})
    assert [c for c in doctor["checks"] if c["id"].startswith("plugin") and c["status"] != "ok"] == []
    rows = {row["name"]: row for row in listing["providers"]}
    assert len(rows) == len(BUNDLED_NAMES)
    user = {name for name, row in rows.items() if row["source"] == "user"}
    assert len(user) == profiles and user == set(BUNDLED_NAMES) - hermesd_only
    for name in user:
        assert rows[name]["overrides"]["source"] == "bundled", name
    assert {rows[name]["source"] for name in hermesd_only} == {"bundled"}


# -- the request matrix -------------------------------------------------------------------

SYSTEM = "You are a careful coding assistant."
KEYS = {
    "OPENROUTER_API_KEY", "DEEPSEEK_API_KEY", "KIMI_API_KEY", "NVIDIA_API_KEY", "GLM_API_KEY", "GOOGLE_API_KEY",
    "GMI_API_KEY", "AI_GATEWAY_API_KEY", "NOUS_API_KEY", "COPILOT_GITHUB_TOKEN", "HF_TOKEN",
}
PREFS = {"order": ["deepinfra", "together"], "sort": "price", "require_parameters": True, "data_collection": "deny"}

# (id, provider, model, where, settings). ``where``: a loopback path (the request is
# sent and recorded) or "preview" (the provider's real URL, or settings["base_url"]:
# previewRequest, nothing sent). Settings: effort, prefs, score, num_ctx, base_url.
MATRIX: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("openrouter-gpt5-default", "openrouter", "openai/gpt-5", "/openrouter/api/v1", {}),
    ("openrouter-deepseek-high-prefs", "openrouter", "deepseek/deepseek-v3.2", "/openrouter/api/v1",
     {"effort": "high", "prefs": PREFS}),
    ("openrouter-pareto-0.8", "openrouter", "openrouter/pareto-code", "/openrouter/api/v1", {"score": 0.8}),
    ("openrouter-grok-none", "openrouter", "x-ai/grok-4", "/openrouter/api/v1", {"effort": "none"}),
    ("openrouter-llama-gate-closed", "openrouter", "meta-llama/llama-4-maverick", "/openrouter/api/v1", {"effort": "low"}),
    ("openrouter-real-host-qwen3", "openrouter", "qwen/qwen3-coder", "preview", {}),
    ("deepseek-reasoner-high", "deepseek", "deepseek-reasoner", "/deepseek/v1", {"effort": "high"}),
    ("deepseek-chat-default", "deepseek", "deepseek-chat", "/deepseek/v1", {}),
    ("kimi-default", "kimi-coding", "kimi-k2.5", "/moonshot/v1", {}),
    ("kimi-none", "kimi-coding", "kimi-k2-thinking", "/moonshot/v1", {"effort": "none"}),
    ("nvidia-default", "nvidia", "nvidia/llama-3.3-nemotron-super-49b-v1.5", "/nvidia/v1", {}),
    ("zai-glm-high", "zai", "glm-5.1", "/zai/api/paas/v4", {"effort": "high"}),
    ("custom-ollama-num-ctx", "custom", "qwen3:8b", "/ollama/v1", {"num_ctx": 8192, "effort": "none"}),
    ("gemini-3-pro-high", "gemini", "gemini-3-pro-preview", "/gemini/v1beta", {"effort": "high"}),
    ("gemini-openai-compat-flash", "gemini", "gemini-3-flash-preview", "preview",
     {"effort": "minimal", "base_url": "https://generativelanguage.googleapis.com/v1beta/openai"}),
    ("gmi-user-agent", "gmi", "deepseek-ai/DeepSeek-V3.2", "/gmi/v1", {}),
    ("ai-gateway-gpt5-default", "ai-gateway", "openai/gpt-5", "preview", {}),
    ("nous-default", "nous", "Hermes-4-405B", "preview", {}),
    ("nous-none", "nous", "Hermes-4-70B", "preview", {"effort": "none"}),
    ("copilot-gpt5-high", "copilot", "gpt-5.4", "preview", {"effort": "high"}),
    ("copilot-claude-no-reasoning", "copilot", "claude-sonnet-4.6", "preview", {}),
    ("huggingface-qwen", "huggingface", "Qwen/Qwen3-Coder-480B-A35B-Instruct", "/hf/v1", {"effort": "medium"}),
]
# Where hermesd follows 0.19.0 and so differs from what 0.13.0 builds: case -> (field, why) pairs
# (fields as _differing names them). Exactly these fields differ; one that no longer does fails too.
USAGE = ("body.stream_options", "0.19.0 asks for the usage in the last chunk (include_usage)")
RESPONSES = [("url", "0.19.0 sends GPT-5.x through the Responses API"),
             *((f"body.{k}", "the Responses API's request") for k in (
                 "messages", "instructions", "input", "store", "include", "prompt_cache_key", "reasoning"))]
CAP = ("body.max_tokens", "0.19.0 caps Claude, MiniMax and Qwen3 models at their Anthropic-table ceiling")
OPENROUTER_HEADERS = [(f"header.{k}", "0.19.0's OpenRouter attribution headers")
                      for k in ("http-referer", "x-title", "x-openrouter-categories")]
VERSION_DIFFERENCES_0_13: dict[str, list[tuple[str, str]]] = {
    **{case[0]: [USAGE] for case in MATRIX if case[1] not in ("gemini",)},
    "gemini-3-pro-high": [USAGE],
    "gemini-openai-compat-flash": [USAGE],
    "openrouter-gpt5-default": RESPONSES,
    "ai-gateway-gpt5-default": RESPONSES,
    "copilot-gpt5-high": [("url", RESPONSES[0][1]), *((f"body.{k}", "the Responses API's request") for k in (
        "messages", "instructions", "input", "store", "include", "prompt_cache_key", "reasoning"))],
    "copilot-claude-no-reasoning": [USAGE, CAP],
    "openrouter-real-host-qwen3": [USAGE, CAP, *OPENROUTER_HEADERS],
    "huggingface-qwen": [USAGE, CAP],
    "custom-ollama-num-ctx": [USAGE, ("body.max_tokens", "0.19.0's custom profile caps at 65536")],
}
HERMES_0_19_HEADERS = {"http-referer", "x-title", "x-openrouter-categories", "x-anthropic-beta"}
# Headers an HTTP client adds on its own; everything else a provider receives is compared.
CLIENT_HEADERS = {"host", "accept", "accept-encoding", "connection", "content-length", "content-type", "user-agent"}


def _config(provider: str, model: str, base_url: str | None, settings: dict[str, Any]) -> dict[str, Any]:
    model_cfg: dict[str, Any] = {"provider": provider, "default": model}
    if base_url:
        model_cfg["base_url"] = base_url
    if settings.get("effort"):
        model_cfg["reasoning_effort"] = settings["effort"]
    config: dict[str, Any] = {"model": model_cfg, "openrouter": {"provider_preferences": settings.get("prefs", {})}}
    if "score" in settings:
        config["openrouter"]["min_coding_score"] = settings["score"]
    if "num_ctx" in settings:
        config["ollama"] = {"num_ctx": settings["num_ctx"]}
    config["openrouter"].update(settings.get("cache", {}))
    return config


def _provider_headers(headers: dict[str, str], hermes_names: set[str]) -> dict[str, str]:
    """The headers a provider's profile or hooks put on the request (names lower-cased)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return {k: v for k, v in lowered.items()
            if k in hermes_names or not (k in CLIENT_HEADERS or k.startswith("x-stainless"))}


@needs_reference
@needs_hermes
async def test_requests_match_what_hermes_builds(start_daemon, upstream, isolated_home, tmp_path):
    _install_reference_plugins(isolated_home)
    daemon = await start_daemon(env={name: CANARY_KEY for name in KEYS})
    listing = await daemon.request("hermes/listProviders")
    hermes_013 = set(BUNDLED_NAMES) - PLUGIN_RELEASES["0.13.0"][3]
    assert listing.get("pluginErrors", []) == []
    assert {r["source"] for r in listing["providers"] if r["name"] in hermes_013} == {"user"}
    hermesd_side, hermes_cases = [], []
    for case_id, provider, model, where, settings in MATRIX:
        base_url = settings.get("base_url") if where == "preview" else upstream.url + where
        write_config(isolated_home, _config(provider, model, base_url, settings))
        session = await daemon.request("hermes/newSession", {"provider": provider, "model": model, "system": SYSTEM})
        params = {"sessionId": session["sessionId"], "message": "Fix the off-by-one in loop.py"}
        preview = await daemon.request("hermes/previewRequest", params)
        if where == "preview" or preview["apiMode"] != "chat_completions":
            # GPT-5.x goes through the Responses API (0.19.0): compared by its preview, which is the bytes sent
            # (test_gpt5_through_openrouter_sends_the_previewed_responses_request)
            sent = preview
            url, body, headers = sent["url"], sent["body"], sent["headers"]
        else:
            before = len(upstream.requests)
            result = await daemon.request("hermes/chat", params)
            assert result["stopReason"] == "end_turn", (case_id, result)
            [recorded] = upstream.requests[before:]
            url, body, headers = upstream.url + recorded.path, recorded.json, recorded.headers
        hermesd_side.append((case_id, url, body, headers))
        hermes_cases.append({
            "provider": provider,
            "model": model,
            "base_url": url.removesuffix("/chat/completions").removesuffix("/responses"),
            "api_key": CANARY_KEY if provider != "custom" else "no-key-required",
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": params["message"]}],
            "session_id": session["sessionId"],
            "effort": settings.get("effort", ""),
            "provider_preferences": settings.get("prefs"),
            "min_coding_score": settings.get("score", 0.65),  # Hermes' config default when the file has none
            "ollama_num_ctx": settings.get("num_ctx"),
        })

    hermes_home = tmp_path / "hermes-side-home"
    _install_reference_plugins(hermes_home)
    proc = subprocess.run(
        [str(HERMES_PYTHON), str(ROOT / "tests" / "hermes_reference_side.py")],
        input=json.dumps({"cases": hermes_cases}), capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env={"HERMES_HOME": str(hermes_home), "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    hermes_side = json.loads(proc.stdout)["results"]

    mismatches = []
    for (case_id, url, body, headers), hermes in zip(hermesd_side, hermes_side):
        assert hermes["user_plugin"], case_id  # Hermes built it with the snapshot's plugin, not its own copy
        ours = {k: v for k, v in body.items() if k != "stream"}  # the streaming flag is the client call's
        hermes_headers = dict(hermes["headers"])
        if case_id.startswith("custom"):
            hermes_headers.pop("authorization")  # Hermes' keyless placeholder (docs/plugins.md)
        if "***" in headers.get("Authorization", headers.get("authorization", "")):  # previewRequest masks it
            hermes_headers["authorization"] = "Bearer ***"
        our_headers = _provider_headers(headers, set(hermes_headers) | set(HERMES_0_19_HEADERS))
        differing = _differing(
            {"url": url, **{f"body.{k}": v for k, v in ours.items()}, **{f"header.{k}": v for k, v in our_headers.items()}},
            {"url": hermes["url"], **{f"body.{k}": v for k, v in hermes["body"].items()},
             **{f"header.{k}": v for k, v in hermes_headers.items()}})
        named = {field for field, _ in VERSION_DIFFERENCES_0_13.get(case_id, ())}
        if set(differing) != named:
            mismatches.append({"case": case_id, "unexplained": {k: v for k, v in differing.items() if k not in named},
                               "named but equal": sorted(named - set(differing))})
    assert mismatches == [], json.dumps(mismatches, indent=1)
    assert len(MATRIX) >= 15
    # The matrix exercises both sides of the gate and the rules outside the plugins.
    gates = {case[0]: h["supports_reasoning"] for case, h in zip(MATRIX, hermes_side)}
    assert gates["openrouter-gpt5-default"] and gates["nous-default"] and gates["copilot-gpt5-high"]
    assert not gates["openrouter-llama-gate-closed"] and not gates["copilot-claude-no-reasoning"]
    sent = {case_id: body for case_id, _, body, _ in hermesd_side}
    assert sent["openrouter-gpt5-default"]["reasoning"] == {"effort": "medium", "summary": "auto"}  # Responses
    assert sent["gmi-user-agent"] and hermes_side[[c[0] for c in MATRIX].index("gmi-user-agent")]["headers"][
        "user-agent"] == "HermesAgent/0.13.0"


# -- the compatibility surface against Hermes' own functions ----------------------------------

SURFACE_PROBE = '''
import json, sys
from agent.transports.chat_completions import (
    _build_gemini_thinking_config as build, _is_gemini_openai_compat_base_url as is_compat,
    _snake_case_gemini_thinking_config as snake)
from hermes_cli import __version__
from hermes_cli.models import github_model_reasoning_efforts as efforts
inputs = json.load(sys.stdin)
print(json.dumps({
    "version": __version__,
    "efforts": [efforts(m) for m in inputs["copilot_models"]],
    "efforts_catalog": [efforts(m, catalog=inputs["catalog"]) for m in inputs["copilot_models"]],
    "thinking": [[build(m, r) for r in inputs["reasoning"]] for m in inputs["gemini_models"]],
    "snake": [[snake(build(m, r)) for r in inputs["reasoning"]] for m in inputs["gemini_models"]]
             + [snake(c) for c in inputs["configs"]],
    "compat": [is_compat(u) for u in inputs["urls"]],
}, sort_keys=True))
'''
SURFACE_INPUTS = {
    "copilot_models": [
        "gpt-5", "gpt-5.4", "openai/gpt-5", "openai/gpt-5.4", "OpenAI/GPT-5", "gpt-5-mini", "gpt-5.3-codex",
        "x/gpt-5-chat", "o1", "o3-mini", "openai/o4-mini", "gpt-4.1", "openai/gpt-4.1-nano", "claude-sonnet-4.6",
        "claude-sonnet-4-5", "anthropic/claude-opus-4-6", "gemini-2.5-pro", "", None,
    ],
    "catalog": [
        {"id": "gpt-5-mini", "capabilities": {"supports": {"reasoning_effort": ["Low", "high", "low", " "]}}},
        {"id": "claude-sonnet-4.6", "capabilities": ["chat", "reasoning"]},
        {"id": "gpt-5.4", "capabilities": ["chat"]},
        {"id": "gpt-4.1", "capabilities": {"supports": {}}},
    ],
    "gemini_models": [
        "gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-flash-preview", "gemini-3-pro-preview", "gemini-3.1-pro",
        "gemini-3.1-flash-lite-preview", "google/gemini-3-pro", "GEMINI-3-FLASH", "gemini-3-ultra",
        "gemini-2.0-flash", "gemma-3-27b", "", None,
    ],
    "reasoning": [
        None, {}, {"enabled": False}, {"enabled": True}, {"effort": "high"},
        *({"enabled": True, "effort": e} for e in ("none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra", "", None, " HIGH ")),
    ],
    "configs": [{"thinkingBudget": 5.5, "includeThoughts": 1}, {"thinkingLevel": "  "}, {}, None, "x"],
    "urls": [
        "https://generativelanguage.googleapis.com/v1beta/openai", "https://generativelanguage.googleapis.com/v1beta/openai/",
        "HTTPS://GENERATIVELANGUAGE.GOOGLEAPIS.COM/v1beta/OpenAI", "https://generativelanguage.googleapis.com/v1beta",
        "http://127.0.0.1:1/openai", "", None,
    ],
}




@pytest.mark.skipif(not NEWEST_HERMES_PYTHON.exists(), reason="no hermes-agent==0.19.0 venv: ./scripts/test installs it")
def test_compat_surface_equals_hermes_own_functions(tmp_path: Path) -> None:
    """hermesd.compat's behaviour, input for input, against the functions Hermes 0.19.0's plugins import.

    Where 0.13.0 differs hermesd follows 0.19.0: Gemini 3's level for ``max`` (high; 0.13.0, not
    knowing the effort, sent medium, or low on Pro) is the one difference in these inputs.
    """
    proc = subprocess.run([str(NEWEST_HERMES_PYTHON), "-c", SURFACE_PROBE], input=json.dumps(SURFACE_INPUTS),
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    ours = subprocess.run([sys.executable, "-c", "from hermesd import compat; compat.install()\n" + SURFACE_PROBE],
                          input=json.dumps(SURFACE_INPUTS), capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr[-4000:]
    hermes = json.loads(proc.stdout)
    assert hermes.pop("version") == "0.19.0"
    assert {k: v for k, v in json.loads(ours.stdout).items() if k != "version"} == hermes


# -- config names as Hermes writes them ----------------------------------------------------

# Run in the hermes-agent==0.19.0 venv: Hermes' own migration (config version 11 -> 12) turns a
# custom_providers list into the providers: block, writing each api_mode as `transport`; then
# Hermes' own mapping of each entry's transport to the api_mode it sends with.
HERMES_WRITES_PROVIDERS = '''
import json, sys
import yaml
from hermes_cli.config import get_config_path, migrate_config
from hermes_cli.providers import TRANSPORT_TO_API_MODE, resolve_user_provider
path = get_config_path()
path.parent.mkdir(parents=True, exist_ok=True)
path.write_text(yaml.safe_dump(json.load(sys.stdin)))
migrate_config(interactive=False, quiet=True)
written = yaml.safe_load(path.read_text())["providers"]
modes = {name: TRANSPORT_TO_API_MODE.get(resolve_user_provider(name, written).transport, "chat_completions")
         for name in written}
print(json.dumps({"providers": written, "api_modes": modes}))
'''


@pytest.mark.skipif(not NEWEST_HERMES_PYTHON.exists(), reason="no hermes-agent==0.19.0 venv: ./scripts/test installs it")
async def test_a_providers_block_written_by_hermes_chats(start_daemon, upstream, isolated_home, tmp_path):
    """``transport: openai_chat`` (clawrouter's install writes it) and Hermes' other transports chat as Hermes maps them."""
    legacy = {"_config_version": 11, "custom_providers": [
        {"name": "ClawRouter", "base_url": upstream.url + "/claw/v1", "api_mode": "openai_chat", "model": "auto"},
        {"name": "Claude Proxy", "base_url": upstream.url + "/proxy/anthropic", "api_mode": "anthropic_messages",
         "model": "claude-sonnet-4-6"},
        {"name": "Codex Gateway", "base_url": upstream.url + "/codex/v1", "api_mode": "codex_responses", "model": "gpt-5.4"},
        {"name": "Plain", "base_url": upstream.url + "/plain/v1", "model": "qwen3:8b"},
    ]}
    home = tmp_path / "hermes-home"
    proc = subprocess.run([str(NEWEST_HERMES_PYTHON), "-c", HERMES_WRITES_PROVIDERS], input=json.dumps(legacy),
                          capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env={"HERMES_HOME": str(home), "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr[-4000:]
    hermes = json.loads(proc.stdout)
    assert hermes["providers"]["clawrouter"]["transport"] == "openai_chat"  # Hermes' name, as written
    assert hermes["api_modes"] == {"clawrouter": "chat_completions", "claude-proxy": "anthropic_messages",
                                   "codex-gateway": "codex_responses", "plain": "chat_completions"}

    write_config(isolated_home, {"providers": hermes["providers"]})
    daemon = await start_daemon()
    doctor = await daemon.request("hermes/doctor", {"probe": False})
    assert [c for c in doctor["checks"] if c["id"].startswith("config") and c["status"] != "ok"] == []
    paths = {"chat_completions": "/chat/completions", "anthropic_messages": "/v1/messages", "codex_responses": "/responses"}
    for name, api_mode in hermes["api_modes"].items():
        session = await daemon.request("hermes/newSession", {"provider": name})
        before = len(upstream.requests)
        result = await daemon.request("hermes/chat", {"sessionId": session["sessionId"], "message": "hi"})
        assert result["stopReason"] == "end_turn", (name, result)
        [sent] = upstream.requests[before:]
        assert sent.path.endswith(paths[api_mode]), (name, sent.path)
        assert sent.json["model"] == hermes["providers"][name]["default_model"]


# -- the request matrix against 0.19.0 ----------------------------------------------------

needs_newest_hermes = pytest.mark.skipif(
    not NEWEST_HERMES_PYTHON.exists(), reason="no hermes-agent==0.19.0 venv: ./scripts/test installs it")
OLLAMA = "http://127.0.0.1:11434/v1"
# Issue 32's 16 cases: (id, provider, model, settings). All through previewRequest: the real hosts
# decide Hermes' host rules (OpenRouter's headers, the gate), and nothing is sent.
MATRIX_0_19: list[tuple[str, str, str, dict[str, Any]]] = [
    ("openrouter-pareto-default", "openrouter", "openrouter/pareto-code", {}),
    ("openrouter-pareto-0.8", "openrouter", "openrouter/pareto-code", {"score": 0.8}),
    ("openrouter-sonnet-4.6-default", "openrouter", "anthropic/claude-sonnet-4.6", {}),
    ("openrouter-sonnet-4.6-high", "openrouter", "anthropic/claude-sonnet-4.6", {"effort": "high"}),
    ("openrouter-deepseek-prefs", "openrouter", "deepseek/deepseek-v3.2", {"effort": "high", "prefs": PREFS}),
    ("openrouter-gpt-5.4", "openrouter", "openai/gpt-5.4", {}),
    ("anthropic-sonnet-4.6", "anthropic", "claude-sonnet-4-6", {}),
    ("anthropic-opus-4.6-high", "anthropic", "claude-opus-4-6", {"effort": "high"}),
    ("gemini-3-flash", "gemini", "gemini-3-flash-preview", {"effort": "low"}),
    ("gemini-3-pro", "gemini", "gemini-3-pro-preview", {"effort": "high"}),
    ("deepseek-reasoner", "deepseek", "deepseek-reasoner", {"effort": "high"}),
    ("deepseek-chat", "deepseek", "deepseek-chat", {}),
    ("kimi-k2.5-default", "kimi-coding", "kimi-k2.5", {}),
    ("kimi-k2.5-high", "kimi-coding", "kimi-k2.5", {"effort": "high"}),
    ("custom-ollama-num-ctx-none", "custom", "qwen3:8b", {"num_ctx": 8192, "effort": "none", "base_url": OLLAMA}),
    ("custom-plain", "custom", "llama3.1:8b", {"base_url": OLLAMA}),
    # Beyond the 16: OpenRouter's response cache asked for in config (hermesd's default is off).
    ("openrouter-response-cache", "openrouter", "deepseek/deepseek-v3.2", {"cache": {"response_cache": True,
                                                                                    "response_cache_ttl": 600}}),
]
# Where hermesd sends something else than Hermes 0.19.0 on this matrix, on purpose (docs/plugins.md,
# "Requests"): case id -> why. None today: the cases run with hermesd's default of no response cache
# told to Hermes' side, and the one that asks for the cache sends Hermes' headers.
DIFFERENCES_0_19: dict[str, str] = {}
MATRIX_KEYS = {"OPENROUTER_API_KEY", "ANTHROPIC_API_KEY", "GOOGLE_API_KEY", "GEMINI_API_KEY", "DEEPSEEK_API_KEY",
               "KIMI_API_KEY"}


async def _matrix_0_19(daemon, isolated_home) -> list[dict[str, Any]]:
    """hermesd's previews of MATRIX_0_19, and the case each is for Hermes' side."""
    rows = []
    for case_id, provider, model, settings in MATRIX_0_19:
        write_config(isolated_home, _config(provider, model, settings.get("base_url"), settings))
        session = await daemon.request("hermes/newSession", {"provider": provider, "model": model, "system": SYSTEM})
        params = {"sessionId": session["sessionId"], "message": "Fix the off-by-one in loop.py"}
        sent = await daemon.request("hermes/previewRequest", params)
        base = sent["url"]
        for suffix in ("/chat/completions", "/responses", "/v1/messages"):
            base = base.removesuffix(suffix)
        rows.append({"id": case_id, "ours": sent, "case": {
            "provider": provider, "model": model, "base_url": base,
            "api_key": CANARY_KEY if provider != "custom" else "no-key-required",
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": params["message"]}],
            "session_id": session["sessionId"], "effort": settings.get("effort", ""),
            "provider_preferences": settings.get("prefs"), "min_coding_score": settings.get("score", 0.65),
            "ollama_num_ctx": settings.get("num_ctx"),
            "openrouter_config": settings.get("cache", {"response_cache": False}),  # off: hermesd's default
        }})
    return rows


def _hermes_0_19(cases: list[dict[str, Any]], home: Path, cwd: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(NEWEST_HERMES_PYTHON), str(ROOT / "tests" / "hermes_reference_side.py")],
        input=json.dumps({"cases": cases}), capture_output=True, text=True, timeout=300, cwd=cwd,
        env={"HERMES_HOME": str(home), "PATH": os.environ.get("PATH", ""), "HOME": str(cwd)},
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout)["results"]


def _mismatches(rows: list[dict[str, Any]], hermes_side: list[dict[str, Any]]) -> dict[str, Any]:
    found = {}
    for row, hermes in zip(rows, hermes_side):
        ours = row["ours"]
        body = {k: v for k, v in ours["body"].items() if k != "stream"}
        expected = dict(hermes["headers"])
        for name in ("authorization", "x-api-key"):
            if name in expected:
                expected[name] = "Bearer ***" if name == "authorization" else "***"
        if row["case"]["provider"] == "custom":
            expected.pop("authorization", None)  # Hermes' keyless placeholder (docs/plugins.md)
        headers = _provider_headers(ours["headers"], set(expected))
        if (ours["url"], body, headers) != (hermes["url"], hermes["body"], expected):
            found[row["id"]] = _differing(
                {"url": ours["url"], **{f"body.{k}": v for k, v in body.items()}, **{f"header.{k}": v for k, v in headers.items()}},
                {"url": hermes["url"], **{f"body.{k}": v for k, v in hermes["body"].items()},
                 **{f"header.{k}": v for k, v in expected.items()}})
    return found


def _differing(ours: dict[str, Any], hermes: dict[str, Any]) -> dict[str, Any]:
    """Each field that differs: [hermesd's, Hermes'] (None where one side has none)."""
    return {k: [ours.get(k), hermes.get(k)] for k in sorted({*ours, *hermes}) if ours.get(k) != hermes.get(k)}


@needs_newest_hermes
@pytest.mark.parametrize("plugins", ["bundled", "hermes-0.19.0"])
async def test_requests_match_what_hermes_0_19_builds(plugins, start_daemon, isolated_home, tmp_path):
    """Issue 32's matrix: URL, body and provider headers equal Hermes 0.19.0's, apart from DIFFERENCES_0_19."""
    source = _newest_hermes_plugins()
    if plugins != "bundled":
        _install_reference_plugins(isolated_home, source)
    daemon = await start_daemon(env={name: CANARY_KEY for name in MATRIX_KEYS})
    rows = await _matrix_0_19(daemon, isolated_home)
    hermes_home = tmp_path / "hermes-side-home"
    _install_reference_plugins(hermes_home, source)
    hermes_side = _hermes_0_19([row["case"] for row in rows], hermes_home, tmp_path)
    assert all(h["user_plugin"] for h in hermes_side)
    found = _mismatches(rows, hermes_side)
    print(f"{plugins}: {len(rows) - len(found)} of {len(rows)} equal Hermes 0.19.0's request")
    assert set(found) == set(DIFFERENCES_0_19), json.dumps(found, indent=1, sort_keys=True)


async def test_gpt5_through_openrouter_sends_the_previewed_responses_request(start_daemon, upstream, isolated_home):
    """GPT-5.x on OpenRouter chats through the Responses API: the bytes sent are the preview's (key unmasked)."""
    write_config(isolated_home, {"model": {"provider": "openrouter", "default": "openai/gpt-5.4"}})
    daemon = await start_daemon(env={"OPENROUTER_API_KEY": CANARY_KEY,
                                     "OPENROUTER_BASE_URL": f"{upstream.url}/openrouter/api/v1"})
    session = await daemon.request("hermes/newSession", {"system": SYSTEM})
    params = {"sessionId": session["sessionId"], "message": "Fix the off-by-one in loop.py"}
    preview = await daemon.request("hermes/previewRequest", params)
    assert preview["apiMode"] == "codex_responses" and preview["url"].endswith("/openrouter/api/v1/responses")
    result = await daemon.request("hermes/chat", params)
    assert result["stopReason"] == "end_turn", result
    [sent] = upstream.requests
    assert sent.path == "/openrouter/api/v1/responses" and sent.json == preview["body"]
    assert sent.json["reasoning"] == {"effort": "medium", "summary": "auto"}
    assert sent.json["include"] == ["reasoning.encrypted_content"] and sent.json["store"] is False
    assert sent.json["instructions"] == SYSTEM and sent.json["prompt_cache_key"].startswith("pck_")
