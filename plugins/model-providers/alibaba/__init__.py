"""Alibaba Cloud Model Studio (DashScope), international endpoint.

Qwen models through DashScope's OpenAI-compatible mode. Mainland-China
accounts set ``DASHSCOPE_BASE_URL`` to
``https://dashscope.aliyuncs.com/compatible-mode/v1``.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="alibaba",
        aliases=("dashscope", "alibaba-cloud", "qwen-dashscope", "aliyun"),
        display_name="Alibaba Cloud (DashScope)",
        description="Alibaba Cloud Model Studio: Qwen models via DashScope",
        signup_url="https://modelstudio.console.alibabacloud.com/",
        env_vars=("DASHSCOPE_API_KEY", "DASHSCOPE_BASE_URL"),
        base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        auth_type="api_key",
        default_aux_model="qwen-flash",
        fallback_models=(
            "qwen3-max",
            "qwen-plus",
            "qwen3-coder-plus",
            "qwen3-coder-flash",
            "qwen-flash",
            "qwen3-vl-plus",
        ),
    )
)
