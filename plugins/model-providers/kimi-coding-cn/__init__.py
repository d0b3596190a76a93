"""Kimi / Moonshot on the China platform (moonshot.cn), chat completions.

A separate account and key from the international platform (not an alias of
``kimi-coding``), with the same request rules: temperature is never sent,
output is capped at 32000 tokens, and each request carries either the
thinking switch or an explicit ``reasoning_effort``, never both (the API
rejects the pair). Moonshot's platform identifies coding agents by their
User-Agent, so Hermes' is sent.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import OMIT_TEMPERATURE, ProviderProfile

_EFFORTS = frozenset({"low", "medium", "high"})


class KimiCNProfile(ProviderProfile):
    """Kimi China: no temperature, thinking xor reasoning_effort."""

    def build_api_kwargs_extras(
        self, *, reasoning_config: dict[str, Any] | None = None, **context: Any
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """An explicit known effort goes top-level; otherwise the switch says on or off."""
        config = reasoning_config if isinstance(reasoning_config, dict) else {}
        if config.get("enabled", True) is False:
            return {"thinking": {"type": "disabled"}}, {}
        effort = str(config.get("effort") or "").strip().lower()
        if effort in _EFFORTS:
            return {}, {"reasoning_effort": effort}
        return {"thinking": {"type": "enabled"}}, {}


register_provider(
    KimiCNProfile(
        name="kimi-coding-cn",
        aliases=("kimi-cn", "moonshot-cn"),
        display_name="Kimi / Moonshot (China)",
        description="Moonshot AI's Kimi models on the China platform (moonshot.cn)",
        signup_url="https://platform.moonshot.cn/console/api-keys",
        env_vars=("KIMI_CN_API_KEY",),
        base_url="https://api.moonshot.cn/v1",
        auth_type="api_key",
        fixed_temperature=OMIT_TEMPERATURE,
        default_max_tokens=32000,
        default_headers={"User-Agent": "hermes-agent/1.0"},
        default_aux_model="kimi-k2-turbo-preview",
        fallback_models=(
            "kimi-k2.6",
            "kimi-k2.5",
            "kimi-k2-thinking",
            "kimi-k2-turbo-preview",
            "kimi-k2-0905-preview",
        ),
    )
)
