"""Nous Portal: Nous Research's inference API, signed in through the Portal.

Requests carry the same attribution tags Hermes sends (``agent.portal_tags``,
the Hermes surface hermesd provides), so Portal usage is credited to the Hermes
product and client release (and, with a session, to one conversation).
Provider routing preferences are OpenRouter-only: the Portal rejects them, so
they are never forwarded. A disabled reasoning request is expressed by
omitting ``reasoning`` altogether, because some Portal models refuse an
explicit ``enabled: false``.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_DEFAULT_REASONING = {"enabled": True, "effort": "medium"}


class NousProfile(ProviderProfile):
    """Nous Portal: attribution tags; reasoning omitted when disabled."""

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """Attribution tags, plus a per-conversation tag when there is a session.

        Imported here, not at the top: the Hermes surface exists once the daemon or
        CLI has installed it, which a plain ``import hermesd`` does not do.
        """
        from agent.portal_tags import nous_portal_tags

        return {"tags": nous_portal_tags(session_id)}

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        supports_reasoning: bool = False,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The reasoning dict when enabled; nothing at all when disabled."""
        if reasoning_config is None:
            # No preference: medium effort, but only for models that reason.
            return ({"reasoning": dict(_DEFAULT_REASONING)} if supports_reasoning else {}), {}
        if not isinstance(reasoning_config, dict) or reasoning_config.get("enabled") is False:
            return {}, {}
        return {"reasoning": dict(reasoning_config)}, {}


register_provider(
    NousProfile(
        name="nous",
        aliases=("nous-portal", "nousresearch"),
        display_name="Nous Portal",
        description="Nous Research: Hermes models and more through the Nous Portal",
        signup_url="https://portal.nousresearch.com/",
        env_vars=("NOUS_API_KEY", "NOUS_INFERENCE_BASE_URL"),
        base_url="https://inference-api.nousresearch.com/v1",
        auth_type="oauth_external",
        default_aux_model="Hermes-4-70B",
        fallback_models=(
            "Hermes-4-405B",
            "Hermes-4-70B",
            "Hermes-3-Llama-3.1-405B",
            "Hermes-3-Llama-3.1-70B",
        ),
    )
)
