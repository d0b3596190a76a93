"""Xiaomi MiMo's OpenAI-compatible API.

Its ``/v1/models`` answers 401 even to a valid key, so doctor must not probe
it (that would report a working key as invalid).
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="xiaomi",
        aliases=("mimo", "xiaomi-mimo"),
        display_name="Xiaomi MiMo",
        description="Xiaomi MiMo models",
        signup_url="https://platform.xiaomimimo.com/",
        env_vars=("XIAOMI_API_KEY", "XIAOMI_BASE_URL"),
        base_url="https://api.xiaomimimo.com/v1",
        auth_type="api_key",
        supports_health_check=False,
        supports_vision=True,
        default_aux_model="mimo-v2-flash",
        fallback_models=("mimo-v2.5-pro", "mimo-v2.5", "mimo-v2-pro", "mimo-v2-omni", "mimo-v2-flash"),
    )
)
