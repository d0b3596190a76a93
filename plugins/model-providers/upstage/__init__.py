"""Upstage Solar: reasoning through a top-level ``reasoning_effort``.

Solar Pro and Solar Open take ``reasoning_effort`` low/medium/high (like
OpenAI's field); ``solar-mini`` and ``syn-pro`` ignore it, so they get none.
Solar's own default is ``minimal``, reasoning off, which suits a coding agent
poorly: with no effort configured (or an enabled config without one) the
plugin asks for ``medium``. An effort above ``high`` (xhigh, max, ultra, and
any newer one) is Solar's strongest, ``high``; ``minimal`` and a disabled
config send nothing, so Solar's off-by-default applies.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_NO_REASONING = ("solar-mini", "syn-pro")  # substrings: dated variants (solar-mini-250127) too
_DEFAULT_EFFORT = "medium"
_SOLAR_EFFORTS = {"low": "low", "medium": "medium", "high": "high", "minimal": None}


def takes_reasoning(model: str | None) -> bool:
    """Every Solar model but the known non-reasoning families (an unknown, newer one is assumed to)."""
    name = (model or "").strip().lower()
    return not any(marker in name for marker in _NO_REASONING)


class UpstageProfile(ProviderProfile):
    """Upstage: Hermes' effort mapped onto Solar's low/medium/high."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        model: str | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``reasoning_effort`` at top level for reasoning models; medium when nothing is configured."""
        if not takes_reasoning(model):
            return {}, {}
        if not isinstance(reasoning_config, dict) or not reasoning_config:
            return {}, {"reasoning_effort": _DEFAULT_EFFORT}
        if reasoning_config.get("enabled") is False:
            return {}, {}
        asked = str(reasoning_config.get("effort") or "").strip().lower()
        effort = _SOLAR_EFFORTS.get(asked, "high") if asked else _DEFAULT_EFFORT
        return {}, ({"reasoning_effort": effort} if effort else {})


register_provider(
    UpstageProfile(
        name="upstage",
        aliases=("solar",),
        display_name="Upstage Solar",
        description="Upstage: the Solar models through the Solar API",
        signup_url="https://console.upstage.ai/api-keys",
        env_vars=("UPSTAGE_API_KEY", "UPSTAGE_BASE_URL"),
        base_url="https://api.upstage.ai/v1",
        auth_type="api_key",
        fallback_models=("solar-pro3",),
    )
)
