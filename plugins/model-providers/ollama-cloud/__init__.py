"""Ollama Cloud (ollama.com), OpenAI-compatible.

Its ``/v1/chat/completions`` takes the reasoning level as a top-level
``reasoning_effort`` (none, low, medium, high and an undocumented max);
Hermes' ``xhigh`` maps to ``max`` and ``minimal``, which it rejects, to
``low``. A disabled request sends no effort at all.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_EFFORT_MAP = {
    "minimal": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "xhigh": "max",
    "max": "max",
    "ultra": "max",
}


class OllamaCloudProfile(ProviderProfile):
    """Ollama Cloud: top-level ``reasoning_effort``."""

    def build_api_kwargs_extras(
        self, *, reasoning_config: dict[str, Any] | None = None, **context: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The requested effort, top-level; omitted when disabled, unset or unknown."""
        if not isinstance(reasoning_config, dict) or reasoning_config.get("enabled") is False:
            return {}, {}
        effort = _EFFORT_MAP.get(str(reasoning_config.get("effort") or "").strip().lower())
        return ({}, {"reasoning_effort": effort}) if effort else ({}, {})


register_provider(
    OllamaCloudProfile(
        name="ollama-cloud",
        aliases=("ollama_cloud", "ollama-com"),
        display_name="Ollama Cloud",
        description="Ollama Cloud: large open models hosted on ollama.com",
        signup_url="https://ollama.com/settings/keys",
        env_vars=("OLLAMA_API_KEY", "OLLAMA_BASE_URL"),
        base_url="https://ollama.com/v1",
        auth_type="api_key",
        default_aux_model="gpt-oss:20b",
        fallback_models=(
            "gpt-oss:120b",
            "gpt-oss:20b",
            "qwen3-coder:480b",
            "deepseek-v3.1:671b",
            "kimi-k2:1t",
            "glm-4.6",
        ),
    )
)
