"""DeepInfra: an OpenAI-compatible gateway to a hundred-odd open models.

The catalog changes often and spans models with different output limits, so
the plugin lists no fallback models (the live ``/models`` list is the truth;
a stale guess would route to a retired model) and sets no provider-wide
``max_tokens`` (DeepInfra applies each model's own cap).
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="deepinfra",
        aliases=("deep-infra", "deepinfra-ai"),
        display_name="DeepInfra",
        description="DeepInfra: 100+ open models, pay per use",
        signup_url="https://deepinfra.com/dash/api_keys",
        env_vars=("DEEPINFRA_API_KEY", "DEEPINFRA_BASE_URL"),
        base_url="https://api.deepinfra.com/v1/openai",
        auth_type="api_key",
        default_aux_model="deepseek-ai/DeepSeek-V4-Flash",
    )
)
