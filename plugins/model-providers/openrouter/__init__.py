"""OpenRouter: one key, hundreds of models from many vendors.

Quirks worth a subclass:

* the model catalog is public, so it is fetched without the user's key and
  kept for the life of the process (it is large and changes rarely);
* the session id, provider routing preferences and the Pareto Code router
  travel in the body (OpenRouter groups a conversation's requests by
  ``session_id``);
* reasoning settings go in ``extra_body.reasoning`` for reasoning models,
  except Claude 4.6 and newer: those think adaptively, reject every form of
  "thinking disabled" (which OpenRouter derives from any ``reasoning`` field on
  a tool-continuation turn), and take their effort as top-level ``verbosity``;
* Grok models routed through OpenRouter get ``x-grok-conv-id`` so xAI keeps
  the prompt cache of one conversation on one backend.
"""

from __future__ import annotations

import threading
from typing import Any

from providers import register_provider
from providers.base import ProviderProfile
from providers.pareto import apply_pareto_router

# Successful catalog fetches, keyed by catalog URL (a user may point the
# provider at a mirror, whose catalog must not be confused with the real one).
_CATALOG_CACHE: dict[str, list[str]] = {}
_CATALOG_LOCK = threading.Lock()

_GROK_PREFIXES = ("x-ai/grok-", "xai/grok-")
_DEFAULT_REASONING = {"enabled": True, "effort": "medium"}

# Claude releases that can still switch thinking off. Every other Claude model,
# including ones not released yet, is treated as reasoning-mandatory: guessing
# "optional" for a new model means HTTP 400 on every turn after a tool call.
# Matched as substrings, in both spellings OpenRouter and Anthropic use (4-5, 4.5).
_CLAUDE_WITH_OPTIONAL_THINKING = (
    "claude-3",  # 3, 3.5, 3.7
    "claude-opus-4-0", "claude-opus-4.0", "claude-opus-4-1", "claude-opus-4.1",
    "claude-sonnet-4-0", "claude-sonnet-4.0",
    "claude-opus-4-2025", "claude-sonnet-4-2025",  # the dated 4.0 ids
    "claude-opus-4-5", "claude-opus-4.5", "claude-sonnet-4-5", "claude-sonnet-4.5",
    "claude-haiku-4-5", "claude-haiku-4.5",
)


def _anthropic_reasoning_is_mandatory(model: str | None) -> bool:
    """True for a Claude model that has no "thinking off" (Claude 4.6 and newer, and unknown ones).

    Named as in Hermes 0.19.0's plugin, whose own tests call it.
    """
    name = (model or "").lower()
    return "claude" in name and not any(marker in name for marker in _CLAUDE_WITH_OPTIONAL_THINKING)


class OpenRouterProfile(ProviderProfile):
    """OpenRouter with a cached public catalog and routing extras."""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """The public catalog; the key is deliberately not sent (it is not needed)."""
        url = self.catalog_url(base_url)
        with _CATALOG_LOCK:
            cached = _CATALOG_CACHE.get(url)
        if cached is not None:
            return list(cached)
        models = super().fetch_models(api_key=None, base_url=base_url, timeout=timeout)
        if models is not None:  # failures are retried next time, never cached
            with _CATALOG_LOCK:
                _CATALOG_CACHE[url] = list(models)
        return models

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """The session id, provider preferences, then the Pareto router entry when it applies."""
        body: dict[str, Any] = {"session_id": session_id} if session_id else {}
        preferences = context.get("provider_preferences")
        if preferences:
            body["provider"] = preferences
        return apply_pareto_router(body, context.get("model"), context.get("openrouter_min_coding_score"))

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        supports_reasoning: bool = False,
        model: str | None = None,
        session_id: str | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``extra_body.reasoning`` (or Claude 4.6+'s ``verbosity``) for reasoning models; the Grok header."""
        extra_body: dict[str, Any] = {}
        top_level: dict[str, Any] = {}
        if supports_reasoning and _anthropic_reasoning_is_mandatory(model):
            # No ``reasoning`` at all; the effort, verbatim (``max`` too), is OpenRouter's ``verbosity``.
            config = reasoning_config or {}
            effort = config.get("effort")
            if config.get("enabled", True) is not False and effort and effort != "none":
                top_level["verbosity"] = effort
        elif supports_reasoning:
            extra_body["reasoning"] = (
                dict(reasoning_config) if reasoning_config is not None else dict(_DEFAULT_REASONING)
            )
        if session_id and isinstance(model, str) and model.startswith(_GROK_PREFIXES):
            top_level["extra_headers"] = {"x-grok-conv-id": session_id}
        return extra_body, top_level


register_provider(
    OpenRouterProfile(
        name="openrouter",
        aliases=("or",),
        display_name="OpenRouter",
        description="OpenRouter: one API key for hundreds of models across vendors",
        signup_url="https://openrouter.ai/keys",
        env_vars=("OPENROUTER_API_KEY", "OPENROUTER_BASE_URL"),
        base_url="https://openrouter.ai/api/v1",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="google/gemini-3-flash-preview",
        fallback_models=(
            "anthropic/claude-sonnet-4.6",
            "openai/gpt-5.5",
            "openai/gpt-5.4",
            "google/gemini-3-flash-preview",
            "deepseek/deepseek-chat",
            "x-ai/grok-4",
            "openrouter/pareto-code",
        ),
    )
)
