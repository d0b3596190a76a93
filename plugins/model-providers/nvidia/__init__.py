"""NVIDIA NIM (build.nvidia.com), OpenAI-compatible.

NIM caps output tokens lower than most APIs, so a provider-level cap of 16384
is applied. Its tool-message schema is also stricter: a ``name`` (or Hermes'
``tool_name``) field on a tool result is rejected, so it is removed.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_TOOL_FIELDS_REJECTED = ("name", "tool_name")


def _needs_strip(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and message.get("role") == "tool"
        and any(field in message for field in _TOOL_FIELDS_REJECTED)
    )


class NvidiaProfile(ProviderProfile):
    """NVIDIA NIM: strict tool messages."""

    def prepare_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copy only the tool messages that lose a field; return the input when none do."""
        if not any(_needs_strip(m) for m in messages):
            return messages
        return [
            {k: v for k, v in m.items() if k not in _TOOL_FIELDS_REJECTED} if _needs_strip(m) else m
            for m in messages
        ]


register_provider(
    NvidiaProfile(
        name="nvidia",
        aliases=("nvidia-nim",),
        display_name="NVIDIA NIM",
        description="NVIDIA NIM: accelerated inference on build.nvidia.com",
        signup_url="https://build.nvidia.com/",
        env_vars=("NVIDIA_API_KEY", "NVIDIA_BASE_URL"),
        base_url="https://integrate.api.nvidia.com/v1",
        auth_type="api_key",
        default_max_tokens=16384,
        default_aux_model="nvidia/nvidia-nemotron-nano-9b-v2",
        fallback_models=(
            "nvidia/llama-3.3-nemotron-super-49b-v1.5",
            "nvidia/nvidia-nemotron-nano-9b-v2",
            "meta/llama-3.3-70b-instruct",
            "qwen/qwen3-coder-480b-a35b-instruct",
            "moonshotai/kimi-k2-instruct",
            "deepseek-ai/deepseek-v3.1",
        ),
    )
)
