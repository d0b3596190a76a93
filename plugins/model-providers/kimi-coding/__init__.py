"""Kimi / Moonshot, OpenAI-compatible chat completions.

Moonshot manages temperature server-side for its thinking models and rejects
requests that set it, so temperature is never sent. The reasoning controls,
``extra_body.thinking`` (an on/off switch) and a top-level
``reasoning_effort``, are mutually exclusive on this API: sending both fails
with HTTP 400, so each request carries exactly one of them.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import OMIT_TEMPERATURE, ProviderProfile

_EFFORTS = frozenset({"low", "medium", "high"})


class KimiProfile(ProviderProfile):
    """Kimi: no temperature, thinking xor reasoning_effort."""

    def build_api_kwargs_extras(
        self, *, reasoning_config: dict[str, Any] | None = None, **context: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An explicit effort goes top-level; otherwise the thinking switch says on or off."""
        if not isinstance(reasoning_config, dict) or not reasoning_config:
            # No preference: thinking on, the server picks the depth.
            return {"thinking": {"type": "enabled"}}, {}
        if reasoning_config.get("enabled", True) is False:
            return {"thinking": {"type": "disabled"}}, {}
        effort = str(reasoning_config.get("effort") or "").strip().lower()
        if effort in _EFFORTS:
            return {}, {"reasoning_effort": effort}
        return {"thinking": {"type": "enabled"}}, {}


register_provider(
    KimiProfile(
        name="kimi-coding",
        aliases=("kimi", "moonshot", "kimi-for-coding"),
        display_name="Kimi / Moonshot",
        description="Moonshot AI's Kimi models (OpenAI-compatible API)",
        signup_url="https://platform.moonshot.ai/console/api-keys",
        env_vars=("KIMI_API_KEY", "KIMI_CODING_API_KEY", "KIMI_BASE_URL"),
        base_url="https://api.moonshot.ai/v1",
        auth_type="api_key",
        fixed_temperature=OMIT_TEMPERATURE,
        default_max_tokens=32000,
        default_headers={"User-Agent": "hermes-agent/1.0"},  # as Hermes sends: Moonshot knows coding agents by it
        default_aux_model="kimi-k2-turbo-preview",
        fallback_models=(
            "kimi-k2.5",
            "kimi-k2-thinking",
            "kimi-k2-thinking-turbo",
            "kimi-k2-turbo-preview",
            "kimi-k2-0905-preview",
        ),
    )
)
