"""OpenCode Go: OpenCode's subscription relay for open-weight coding models.

Go serves MiniMax models on the Anthropic Messages API and everything else
(GLM, Kimi, Qwen, MiMo) on chat completions; the daemon asks
:meth:`api_mode_for_model` before falling back to URL detection.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

_OWN_PREFIXES = ("opencode-go/", "opencode/")


class OpenCodeGoProfile(ProviderProfile):
    """OpenCode Go: per-model API surface."""

    def api_mode_for_model(self, model: str) -> str | None:
        """``anthropic_messages`` for MiniMax models, else chat completions; None without a model."""
        name = (model or "").strip().lower()
        for prefix in _OWN_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        if not name:
            return None
        return "anthropic_messages" if name.startswith("minimax") else "chat_completions"


register_provider(
    OpenCodeGoProfile(
        name="opencode-go",
        aliases=("opencode_go", "go", "opencode-go-sub"),
        display_name="OpenCode Go",
        description="OpenCode Go: open-weight coding models on a subscription",
        signup_url="https://opencode.ai/auth",
        env_vars=("OPENCODE_GO_API_KEY", "OPENCODE_GO_BASE_URL"),
        base_url="https://opencode.ai/zen/go/v1",
        auth_type="api_key",
        default_aux_model="glm-5",
        fallback_models=(
            "kimi-k2.6",
            "kimi-k2.5",
            "glm-5.1",
            "glm-5",
            "minimax-m2.7",
            "minimax-m2.5",
            "qwen3.6-plus",
        ),
    )
)
