"""GMI Cloud: many vendors' models behind one OpenAI-compatible API.

Model ids are vendor-qualified (``deepseek-ai/DeepSeek-V3.2``). GMI identifies
Hermes traffic by its User-Agent, so Hermes' own (with the Hermes release
hermesd's plugin contract follows, 0.13.0) is sent on every request.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="gmi",
        aliases=("gmi-cloud", "gmicloud"),
        display_name="GMI Cloud",
        description="GMI Cloud: multi-model direct API (vendor/model ids)",
        signup_url="https://www.gmicloud.ai/",
        env_vars=("GMI_API_KEY", "GMI_BASE_URL"),
        base_url="https://api.gmi-serving.com/v1",
        auth_type="api_key",
        default_headers={"User-Agent": "HermesAgent/0.13.0"},  # Hermes' release, as its own gmi plugin sends
        default_aux_model="google/gemini-3.1-flash-lite-preview",
        fallback_models=(
            "zai-org/GLM-5.1-FP8",
            "deepseek-ai/DeepSeek-V3.2",
            "moonshotai/Kimi-K2.5",
            "google/gemini-3.1-flash-lite-preview",
            "anthropic/claude-sonnet-4.6",
            "openai/gpt-5.4",
        ),
    )
)
