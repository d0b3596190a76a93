"""Alibaba Cloud Model Studio Coding Plan (a flat-rate coding tier).

A separate endpoint and key from regular DashScope. Its gateway silently
drops (never answers) requests carrying an OpenRouter-style ``reasoning``
object, but accepts a flat top-level ``reasoning_effort``, so reasoning is
expressed that way. There is no documented "thinking off" field: a disabled
request sends nothing and keeps the server default.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile


class AlibabaCodingPlanProfile(ProviderProfile):
    """Coding Plan: flat ``reasoning_effort``."""

    def build_api_kwargs_extras(
        self, *, reasoning_config: dict[str, Any] | None = None, **context: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Top-level effort (default medium) when reasoning is on; nothing otherwise."""
        if not isinstance(reasoning_config, dict) or not reasoning_config:
            return {}, {}
        if reasoning_config.get("enabled") is False:
            return {}, {}
        return {}, {"reasoning_effort": reasoning_config.get("effort") or "medium"}


register_provider(
    AlibabaCodingPlanProfile(
        name="alibaba-coding-plan",
        aliases=("alibaba-coding", "alibaba_coding", "dashscope-coding"),
        display_name="Alibaba Cloud (Coding Plan)",
        description="Alibaba Cloud Model Studio Coding Plan: flat-rate coding tier",
        signup_url="https://modelstudio.console.alibabacloud.com/",
        env_vars=("ALIBABA_CODING_PLAN_API_KEY", "DASHSCOPE_API_KEY", "ALIBABA_CODING_PLAN_BASE_URL"),
        base_url="https://coding-intl.dashscope.aliyuncs.com/v1",
        auth_type="api_key",
        default_aux_model="qwen3-coder-plus",
        fallback_models=(
            "qwen3-coder-plus",
            "qwen3.5-plus",
            "qwen3-coder-next",
            "kimi-k2.5",
            "glm-4.7",
            "MiniMax-M2.5",
        ),
    )
)
