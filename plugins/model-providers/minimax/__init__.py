"""MiniMax (international platform, minimax.io).

MiniMax recommends its Anthropic-compatible endpoint for the M2 family, which
keeps interleaved thinking intact across tool calls, so the base URL ends in
``/anthropic`` and the API mode is ``anthropic_messages``.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="minimax",
        aliases=("mini-max",),
        api_mode="anthropic_messages",
        display_name="MiniMax",
        description="MiniMax: M2-series models via the Anthropic-compatible API",
        signup_url="https://platform.minimax.io/",
        env_vars=("MINIMAX_API_KEY", "MINIMAX_BASE_URL"),
        base_url="https://api.minimax.io/anthropic",
        auth_type="api_key",
        default_aux_model="MiniMax-M2.5",
        fallback_models=("MiniMax-M2.7", "MiniMax-M2.5", "MiniMax-M2.1", "MiniMax-M2"),
    )
)
