"""Fireworks AI: fast inference for open models, OpenAI-compatible.

Models are addressed by their full catalog id
(``accounts/fireworks/models/<name>``); nothing else differs from the
standard Chat Completions request.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="fireworks",
        aliases=("fireworks-ai", "fw"),
        display_name="Fireworks AI",
        description="Fireworks AI: OpenAI-compatible API for open and proprietary models",
        signup_url="https://app.fireworks.ai/settings/users/api-keys",
        env_vars=("FIREWORKS_API_KEY", "FIREWORKS_BASE_URL"),
        base_url="https://api.fireworks.ai/inference/v1",
        auth_type="api_key",
        default_aux_model="accounts/fireworks/models/glm-5p2",
        fallback_models=(
            "accounts/fireworks/models/kimi-k2p6",
            "accounts/fireworks/models/glm-5p2",
            "accounts/fireworks/models/kimi-k2p7-code",
        ),
    )
)
