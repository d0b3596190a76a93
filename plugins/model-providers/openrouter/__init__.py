"""OpenRouter: one key, hundreds of models from many vendors.

Quirks worth a subclass:

* the model catalog is public, so it is fetched without the user's key and
  kept for the life of the process (it is large and changes rarely);
* provider routing preferences and the Pareto Code router travel in the body;
* reasoning settings go in ``extra_body.reasoning`` for reasoning models;
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
        """Provider preferences, then the Pareto router entry when it applies."""
        body: dict[str, Any] = {}
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
        """``extra_body.reasoning`` for reasoning models; the Grok cache-affinity header."""
        extra_body: dict[str, Any] = {}
        if supports_reasoning:
            extra_body["reasoning"] = (
                dict(reasoning_config) if reasoning_config is not None else dict(_DEFAULT_REASONING)
            )
        top_level: dict[str, Any] = {}
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
