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
    "deepseek/", "anthropic/", "openai/", "x-ai/", "google/gemini-2", "qwen/qwen3", "tencent/hy3-preview", "xiaomi/",
)
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
