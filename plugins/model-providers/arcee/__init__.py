"""Arcee AI's direct API (Trinity and the earlier Arcee model line)."""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="arcee",
        aliases=("arcee-ai", "arceeai"),
        display_name="Arcee AI",
        description="Arcee AI: Trinity models, direct API",
        signup_url="https://chat.arcee.ai/",
        env_vars=("ARCEEAI_API_KEY", "ARCEE_BASE_URL"),
        base_url="https://api.arcee.ai/api/v1",
        auth_type="api_key",
        default_aux_model="trinity-mini",
        fallback_models=(
            "trinity-large-preview",
            "trinity-mini",
            "virtuoso-large",
            "coder-large",
            "maestro-reasoning",
        ),
    )
)
