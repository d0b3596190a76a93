"""Gemini through Google Cloud Code Assist, signed in the way the Gemini CLI is.

There is no API key (``oauth_external``) and no REST catalog:
``cloudcode-pa://google`` is an internal address for Code Assist's own
client, not a URL anyone can reach. The profile still carries the thinking
rule: Code Assist speaks Gemini's schema, so the config goes in
``thinking_config`` with camelCase keys, built by the same helper Hermes'
gemini plugin uses (``agent.transports.chat_completions``, provided inside
hermesd by ``hermesd.compat``).
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile


class GeminiCLIProfile(ProviderProfile):
    """Code Assist: Gemini's native thinking config; no catalog."""

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        from agent.transports.chat_completions import _build_gemini_thinking_config

        config = _build_gemini_thinking_config(context.get("model") or "", context.get("reasoning_config"))
        return {"thinking_config": config} if config else {}

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """None: Code Assist has no public model list."""
        return None


register_provider(
    GeminiCLIProfile(
        name="google-gemini-cli",
        aliases=("gemini-cli", "gemini-oauth"),
        display_name="Google Gemini (Code Assist sign-in)",
        description="Gemini models through Google Cloud Code Assist, signed in like the Gemini CLI",
        signup_url="https://github.com/google-gemini/gemini-cli",
        env_vars=(),
        base_url="cloudcode-pa://google",
        auth_type="oauth_external",
        supports_health_check=False,
        supports_vision=True,
        fallback_models=("gemini-3-pro-preview", "gemini-3-flash-preview", "gemini-2.5-pro", "gemini-2.5-flash"),
    )
)
