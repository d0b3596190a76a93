"""Vercel AI Gateway: many vendors' models behind one OpenAI-compatible API.

Like OpenRouter it takes an OpenRouter-style ``reasoning`` object in the body,
and it credits traffic through the ``HTTP-Referer`` / ``X-Title`` headers.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_DEFAULT_REASONING = {"enabled": True, "effort": "medium"}


class AIGatewayProfile(ProviderProfile):
    """Vercel AI Gateway: reasoning passthrough."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        supports_reasoning: bool = False,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``extra_body.reasoning`` for reasoning models (medium effort when unset)."""
        if not supports_reasoning:
            return {}, {}
        reasoning = dict(reasoning_config) if reasoning_config is not None else dict(_DEFAULT_REASONING)
        return {"reasoning": reasoning}, {}


register_provider(
    AIGatewayProfile(
        name="ai-gateway",
        aliases=("vercel", "vercel-ai-gateway", "ai_gateway", "aigateway"),
        display_name="Vercel AI Gateway",
        description="Vercel AI Gateway: multi-vendor model gateway",
        signup_url="https://vercel.com/ai-gateway",
        env_vars=("AI_GATEWAY_API_KEY", "AI_GATEWAY_BASE_URL"),
        base_url="https://ai-gateway.vercel.sh/v1",
        auth_type="api_key",
        supports_vision=True,
        default_headers={
            "HTTP-Referer": "https://hermes-agent.nousresearch.com",
            "X-Title": "Hermes Agent",
        },
        default_aux_model="google/gemini-2.5-flash-lite",
        fallback_models=(
            "anthropic/claude-sonnet-4.5",
            "openai/gpt-5",
            "google/gemini-2.5-pro",
            "google/gemini-2.5-flash",
            "xai/grok-4",
            "deepseek/deepseek-v3.2",
        ),
    )
)
