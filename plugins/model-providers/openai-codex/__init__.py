"""OpenAI Codex models on a ChatGPT subscription (sign in with ChatGPT).

Requests go to the ChatGPT backend's Codex Responses API with the OAuth
token from the ChatGPT sign-in (``oauth_external``); there is no API key.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="openai-codex",
        aliases=("codex", "chatgpt", "openai_codex", "chatgpt-codex"),
        api_mode="codex_responses",
        display_name="ChatGPT / Codex subscription",
        description="OpenAI Codex models through a ChatGPT sign-in",
        signup_url="https://chatgpt.com/",
        env_vars=(),
        base_url="https://chatgpt.com/backend-api/codex",
        auth_type="oauth_external",
        supports_vision=True,
        default_aux_model="gpt-5.1-codex-mini",
        fallback_models=(
            "gpt-5.5",
            "gpt-5.4",
            "gpt-5.3-codex",
            "gpt-5.2-codex",
            "gpt-5.1-codex-max",
            "gpt-5.1-codex-mini",
        ),
    )
)
