"""Google Gemini through Google AI Studio's OpenAI-compatible endpoint.

Hermes' reasoning config is translated into Gemini's ``thinking_config``.
Google's OpenAI-compatibility layer only takes it nested as
``{"extra_body": {"google": {"thinking_config": {...}}}}`` with snake_case
keys; any other endpoint (a proxy speaking Gemini's own schema) gets the
camelCase ``thinking_config`` directly. Gemma models served by the same key
reject the field outright, so non-Gemini models get nothing.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_GOOGLE_HOST = "generativelanguage.googleapis.com"


class GeminiProfile(ProviderProfile):
    """Gemini: thinking-config translation and bare catalog ids."""

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """Thinking config in the shape the endpoint understands.

        Built by the helpers Hermes' own gemini plugin uses, which hermesd
        provides (docs/plugins.md, "The Hermes surface plugins may import").
        """
        from agent.transports.chat_completions import (
            _build_gemini_thinking_config,
            _is_gemini_openai_compat_base_url,
            _snake_case_gemini_thinking_config,
        )

        config = _build_gemini_thinking_config(context.get("model") or "", context.get("reasoning_config"))
        if not config:
            return {}
        if _is_gemini_openai_compat_base_url(context.get("base_url") or self.base_url):
            return {"extra_body": {"google": {"thinking_config": _snake_case_gemini_thinking_config(config)}}}
        return {"thinking_config": config}

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """The catalog with Google's ``models/`` prefix removed, so ids match what requests use."""
        root = (base_url or self.base_url).rstrip("/")
        if root.endswith("/v1beta"):  # native root: its catalog has another shape
            root += "/openai"
        models = super().fetch_models(api_key=api_key, base_url=root, timeout=timeout)
        if models is None:
            return None
        return [m[len("models/"):] if m.startswith("models/") else m for m in models]


register_provider(
    GeminiProfile(
        name="gemini",
        aliases=("google", "google-gemini", "google-ai-studio"),
        display_name="Google AI Studio",
        description="Google Gemini models via AI Studio's OpenAI-compatible endpoint",
        signup_url="https://aistudio.google.com/app/apikey",
        env_vars=("GOOGLE_API_KEY", "GEMINI_API_KEY", "GEMINI_BASE_URL"),
        base_url=f"https://{_GOOGLE_HOST}/v1beta/openai",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="gemini-3.1-flash-lite-preview",
        fallback_models=(
            "gemini-3-pro-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-flash-lite-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
        ),
    )
)
