"""Kilo Code's model gateway (the Kilo Gateway API).

An OpenRouter-style aggregator: vendor-qualified model ids, billed to the
Kilo Code account behind the key.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="kilocode",
        aliases=("kilo-code", "kilo", "kilo-gateway"),
        display_name="Kilo Code",
        description="Kilo Code: the Kilo Gateway model API",
        signup_url="https://app.kilo.ai/",
        env_vars=("KILOCODE_API_KEY", "KILOCODE_BASE_URL"),
        base_url="https://api.kilo.ai/api/gateway",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="google/gemini-3-flash-preview",
        fallback_models=(
            "anthropic/claude-sonnet-4.6",
            "anthropic/claude-opus-4.6",
            "openai/gpt-5.4",
            "google/gemini-3-pro-preview",
            "google/gemini-3-flash-preview",
            "x-ai/grok-code-fast-1",
        ),
    )
)
