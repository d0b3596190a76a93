"""Request rules the Hermes agent applies outside its plugins, as pure functions.

Hermes' transport and agent decide three things no profile hook does, and a
plugin written for Hermes relies on them:

* **the ``supports_reasoning`` gate** handed to the hooks: true on Nous and
  Vercel AI Gateway hosts; on GitHub Models / Copilot hosts when the model
  takes reasoning efforts; on an OpenRouter URL (any URL containing
  "openrouter", as Hermes tests it) for the reasoning model families below;
  false everywhere else. Profiles use it to add their default reasoning
  (``{"enabled": True, "effort": "medium"}``) when none is configured;
* **the ``developer`` role**: a leading system message becomes ``developer``
  for GPT-5 and Codex models, whatever the provider;
* **the client's headers**: on openrouter.ai, Hermes' attribution
  (``HTTP-Referer``, ``X-Title``, ``X-OpenRouter-Categories``), the
  response-cache headers when enabled, and for Claude the fine-grained tool
  streaming beta; the profile's ``default_headers`` on top, and elsewhere;
* **the no-profile path** (an endpoint no plugin describes): the daemon, not a
  profile, adds OpenRouter's ``provider`` preferences, reasoning and Pareto
  entry on an openrouter.ai URL. With a profile loaded those belong to the
  profile alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from providers.pareto import apply_pareto_router, is_openrouter_url

from hermesd.compat.models import github_model_reasoning_efforts

DEVELOPER_ROLE_MODELS = ("gpt-5", "codex")
DEFAULT_REASONING = {"enabled": True, "effort": "medium"}
# OpenRouter model families that accept the ``reasoning`` field.
OPENROUTER_REASONING_PREFIXES = (
    "deepseek/", "anthropic/", "openai/", "x-ai/", "google/gemini-2", "google/gemma-4", "qwen/qwen3", "tencent/hy3",
    "xiaomi/",
)
OPENROUTER_ATTRIBUTION = {
    "HTTP-Referer": "https://hermes-agent.nousresearch.com",
    "X-Title": "Hermes Agent",
    "X-OpenRouter-Categories": "productivity,cli-agent",
}
CLAUDE_TOOL_STREAMING = "fine-grained-tool-streaming-2025-05-14"
_TRUTHY = ("1", "true", "yes", "on")
_ALWAYS_REASONING_HOSTS = ("nousresearch.com", "ai-gateway.vercel.sh")
_GITHUB_HOSTS = ("models.github.ai", "api.githubcopilot.com")


def _host_is(base_url: str, domain: str) -> bool:
    try:
        host = (urlsplit(base_url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    return bool(host) and (host == domain or host.endswith("." + domain))


def supports_reasoning(base_url: str | None, model: str | None) -> bool:
    """Hermes' gate: may this route carry a ``reasoning`` field for ``model``?"""
    url = (base_url or "").lower()
    if any(_host_is(url, host) for host in _ALWAYS_REASONING_HOSTS):
        return True
    if any(_host_is(url, host) for host in _GITHUB_HOSTS):
        return bool(github_model_reasoning_efforts(model))
    if "openrouter" not in url or "api.mistral.ai" in url:
        return False
    return (model or "").lower().startswith(OPENROUTER_REASONING_PREFIXES)


def developer_role(messages: list[dict[str, Any]], model: str | None) -> list[dict[str, Any]]:
    """``messages`` with a leading system message re-labelled ``developer`` for GPT-5 / Codex models."""
    name = (model or "").lower()
    if not messages or not isinstance(messages[0], dict) or messages[0].get("role") != "system":
        return messages
    if not any(marker in name for marker in DEVELOPER_ROLE_MODELS):
        return messages
    return [{**messages[0], "role": "developer"}, *messages[1:]]


def no_profile_extra_body(
    base_url: str,
    model: str,
    *,
    reasoning_config: dict[str, Any] | None,
    supports: bool,
    provider_preferences: dict[str, Any] | None,
    min_coding_score: Any,
) -> dict[str, Any]:
    """What the daemon adds for an endpoint no profile describes (OpenRouter's fields on its URLs)."""
    if not is_openrouter_url(base_url):
        return {}
    extra: dict[str, Any] = {}
    if provider_preferences:
        extra["provider"] = provider_preferences
    extra = apply_pareto_router(extra, model, min_coding_score)
    if supports:
        extra["reasoning"] = dict(reasoning_config) if reasoning_config is not None else dict(DEFAULT_REASONING)
    return extra


def openrouter_cache_headers(enabled: Any, ttl: Any, env_enabled: str = "", env_ttl: str = "") -> dict[str, str]:
    """OpenRouter's response-cache headers, as Hermes 0.19.0 builds them (the environment over the config).

    ``HERMES_OPENROUTER_CACHE`` (1/true/yes/on, anything else off) overrides
    ``openrouter.response_cache``; ``HERMES_OPENROUTER_CACHE_TTL`` (whole
    seconds, 1 to 86400; otherwise no TTL header) overrides
    ``openrouter.response_cache_ttl``. Off by default in hermesd (docs/plugins.md).
    """
    env_enabled = (env_enabled or "").strip().lower()
    if not (env_enabled in _TRUTHY if env_enabled else enabled is True):
        return {}
    headers = {"X-OpenRouter-Cache": "true"}
    env_ttl = (env_ttl or "").strip()
    if env_ttl:
        if env_ttl.isdigit() and 1 <= int(env_ttl) <= 86400:
            headers["X-OpenRouter-Cache-TTL"] = str(int(env_ttl))
    elif isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and 1 <= ttl <= 86400:
        headers["X-OpenRouter-Cache-TTL"] = str(int(ttl))
    return headers


def client_headers(base_url: str, model: str, profile: Any, openrouter_cache: dict[str, str]) -> dict[str, str]:
    """The headers Hermes' client construction adds for this host, then the profile's ``default_headers``."""
    headers: dict[str, str] = {}
    if _host_is(base_url, "openrouter.ai"):
        headers.update(OPENROUTER_ATTRIBUTION)
        headers.update(openrouter_cache)
        if "claude" in (model or "").lower():
            headers["x-anthropic-beta"] = CLAUDE_TOOL_STREAMING
    if profile is not None:
        headers.update(profile.default_headers or {})
    return headers


def needs_responses_api(provider: str, base_url: str, model: str) -> bool:
    """Hermes 0.19.0's upgrade of a chat-completions route to the Responses API.

    GPT-5.x is refused on ``/chat/completions`` by OpenAI and OpenRouter, so
    any route to it goes through the Responses API, except Nous (serves it as
    chat completions), ``custom`` (a relay may not speak Responses) and Azure
    OpenAI (no Responses API); Copilot for GPT-5 and later but ``gpt-5-mini``;
    every model on api.openai.com.
    """
    if _host_is(base_url, "openai.azure.com") or ".openai.azure." in (base_url or "").lower():
        return False
    if _host_is(base_url, "api.openai.com"):
        return True
    name = (model or "").lower()
    if provider in ("nous", "custom"):
        return False
    if provider == "copilot":
        import re

        match = re.match(r"^gpt-(\d+)", model or "")
        return bool(match) and int(match.group(1)) >= 5 and not (model or "").startswith("gpt-5-mini")
    return name.rsplit("/", 1)[-1].startswith("gpt-5")
