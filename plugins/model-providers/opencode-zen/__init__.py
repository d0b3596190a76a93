"""OpenCode Zen: OpenCode's curated, pay-as-you-go model relay.

Zen serves each model family on the API surface its vendor speaks: Claude on
Anthropic Messages (``/v1/messages``), GPT on the Responses API
(``/v1/responses``), everything else on chat completions. The daemon asks
:meth:`api_mode_for_model` before falling back to URL detection.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

_OWN_PREFIXES = ("opencode-zen/", "opencode/")
_MODE_BY_PREFIX = (
    ("claude-", "anthropic_messages"),
    ("gpt-", "codex_responses"),
)


class OpenCodeZenProfile(ProviderProfile):
    """OpenCode Zen: per-model API surface."""

    def api_mode_for_model(self, model: str) -> str | None:
        """The API mode Zen serves ``model`` on; None when there is no model."""
        name = (model or "").strip().lower()
        for prefix in _OWN_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        if not name:
            return None
        for prefix, mode in _MODE_BY_PREFIX:
            if name.startswith(prefix):
                return mode
        return "chat_completions"


register_provider(
    OpenCodeZenProfile(
        name="opencode-zen",
        aliases=("opencode", "opencode_zen", "zen"),
        display_name="OpenCode Zen",
        description="OpenCode Zen: curated coding models, pay as you go",
        signup_url="https://opencode.ai/auth",
        env_vars=("OPENCODE_ZEN_API_KEY", "OPENCODE_ZEN_BASE_URL"),
        base_url="https://opencode.ai/zen/v1",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="gemini-3-flash",
        fallback_models=(
            "claude-sonnet-4-5",
            "gpt-5.1-codex",
            "gemini-3-pro",
            "claude-haiku-4-5",
            "kimi-k2",
            "glm-4.6",
            "qwen3-coder",
        ),
    )
)
