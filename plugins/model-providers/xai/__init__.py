"""xAI's Grok models, with an API key.

api.x.ai serves Grok best on the Responses API, which keeps reasoning state
between turns, so the profile's API mode is ``codex_responses``.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="xai",
        aliases=("grok", "x-ai", "x.ai"),
        api_mode="codex_responses",
        display_name="xAI",
        description="xAI: Grok models through the Responses API",
        signup_url="https://console.x.ai/",
        env_vars=("XAI_API_KEY", "XAI_BASE_URL"),
        base_url="https://api.x.ai/v1",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="grok-4-fast-non-reasoning",
        fallback_models=(
            "grok-4",
            "grok-4-fast-reasoning",
            "grok-4-fast-non-reasoning",
            "grok-code-fast-1",
            "grok-3-mini",
        ),
    )
)
