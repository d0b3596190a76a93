"""MiniMax on the China platform (minimaxi.com), Anthropic-compatible API.

A separate account and key from minimax.io. Like the international
platform, the M2 family is served on the ``/anthropic`` endpoint, which keeps
interleaved thinking intact across tool calls.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="minimax-cn",
        aliases=("minimax-china", "minimax_cn"),
        api_mode="anthropic_messages",
        display_name="MiniMax (China)",
        description="MiniMax: M2-series models on the China platform (minimaxi.com)",
        signup_url="https://platform.minimaxi.com/",
        env_vars=("MINIMAX_CN_API_KEY", "MINIMAX_CN_BASE_URL"),
        base_url="https://api.minimaxi.com/anthropic",
        auth_type="api_key",
        default_aux_model="MiniMax-M2.7",
        fallback_models=("MiniMax-M2.7", "MiniMax-M2.5", "MiniMax-M2.1", "MiniMax-M2"),
    )
)
