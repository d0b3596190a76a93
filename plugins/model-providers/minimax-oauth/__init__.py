"""MiniMax signed in through the browser (OAuth) instead of an API key.

Same Anthropic-compatible endpoint as ``minimax``; the token comes from the
sign-in flow (``oauth_external``), so no variable holds a key. ``minimax``
is registered first, so a bare api.minimax.io URL still maps to the key-based
profile.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="minimax-oauth",
        aliases=("minimax_oauth", "minimax-oauth-io"),
        api_mode="anthropic_messages",
        display_name="MiniMax (OAuth)",
        description="MiniMax via OAuth browser sign-in: no API key required",
        signup_url="https://api.minimax.io/",
        env_vars=(),
        base_url="https://api.minimax.io/anthropic",
        auth_type="oauth_external",
        default_aux_model="MiniMax-M2.7-highspeed",
        fallback_models=("MiniMax-M2.7", "MiniMax-M2.7-highspeed", "MiniMax-M2.5"),
    )
)
