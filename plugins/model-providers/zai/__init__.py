"""Z.AI (Zhipu) GLM models, OpenAI-compatible.

GLM 4.5 and later think by default; a user's reasoning preference is passed
as ``extra_body.thinking`` (enabled or disabled). Older GLM models, and
requests with no preference, are left alone.
"""

from __future__ import annotations

import re
from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_GLM_VERSION = re.compile(r"^(?:[\w.-]+/)?glm-(\d+)(?:\.(\d+))?")


def supports_thinking(model: str | None) -> bool:
    """True for glm-4.5 and later (an optional vendor prefix is allowed)."""
    match = _GLM_VERSION.match((model or "").strip().lower())
    return bool(match) and (int(match.group(1)), int(match.group(2) or 0)) >= (4, 5)


class ZaiProfile(ProviderProfile):
    """Z.AI: the thinking switch for GLM 4.5+."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        model: str | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``thinking`` on or off, only when the user expressed a preference."""
        if not isinstance(reasoning_config, dict) or not supports_thinking(model):
            return {}, {}
        enabled = reasoning_config.get("enabled") is not False
        return {"thinking": {"type": "enabled" if enabled else "disabled"}}, {}


register_provider(
    ZaiProfile(
        name="zai",
        aliases=("glm", "z-ai", "z.ai", "zhipu"),
        display_name="Z.AI (GLM)",
        description="Z.AI / Zhipu AI: GLM models",
        signup_url="https://z.ai/manage-apikey/apikey-list",
        env_vars=("GLM_API_KEY", "ZAI_API_KEY", "Z_AI_API_KEY", "GLM_BASE_URL"),
        base_url="https://api.z.ai/api/paas/v4",
        auth_type="api_key",
        default_aux_model="glm-4.5-flash",
        fallback_models=(
            "glm-5",
            "glm-4.7",
            "glm-4.6",
            "glm-4.5",
            "glm-4.5-air",
            "glm-4.5-flash",
        ),
    )
)
