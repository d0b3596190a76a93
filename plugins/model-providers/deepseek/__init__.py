"""DeepSeek's own API.

DeepSeek's thinking models (the V4 family and ``deepseek-reasoner``) think by
default and then insist that later turns echo the reasoning back, which
breaks after the first tool call unless the request states the mode. So
thinking models always get ``extra_body.thinking`` set explicitly, plus a
top-level ``reasoning_effort`` when one was asked for. ``deepseek-chat`` and
other V3 models are left untouched.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_PASSTHROUGH_EFFORTS = frozenset({"low", "medium", "high"})
_TOP_EFFORTS = frozenset({"xhigh", "max", "ultra"})


def is_thinking_model(model: str | None) -> bool:
    """V4 and later, and the legacy ``deepseek-reasoner``."""
    name = (model or "").strip().lower()
    if name.startswith("deepseek-v") and not name.startswith("deepseek-v3"):
        return True
    return name == "deepseek-reasoner"


class DeepSeekProfile(ProviderProfile):
    """DeepSeek: explicit thinking mode on thinking models."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        model: str | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``thinking`` enabled/disabled; ``reasoning_effort`` low/medium/high/max when asked."""
        if not is_thinking_model(model):
            return {}, {}
        enabled = not (isinstance(reasoning_config, dict) and reasoning_config.get("enabled") is False)
        extra_body = {"thinking": {"type": "enabled" if enabled else "disabled"}}
        top_level: dict[str, Any] = {}
        if enabled and isinstance(reasoning_config, dict):
            effort = str(reasoning_config.get("effort") or "").strip().lower()
            if effort in _PASSTHROUGH_EFFORTS:
                top_level["reasoning_effort"] = effort
            elif effort in _TOP_EFFORTS:
                top_level["reasoning_effort"] = "max"
        return extra_body, top_level


register_provider(
    DeepSeekProfile(
        name="deepseek",
        aliases=("deepseek-ai",),
        display_name="DeepSeek",
        description="DeepSeek: the native DeepSeek API",
        signup_url="https://platform.deepseek.com/api_keys",
        env_vars=("DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL"),
        base_url="https://api.deepseek.com/v1",
        auth_type="api_key",
        default_aux_model="deepseek-chat",
        fallback_models=(
            "deepseek-chat",
            "deepseek-reasoner",
            "deepseek-v4-pro",
            "deepseek-v4-flash",
        ),
    )
)
