"""Qwen Portal (the account behind Qwen Code), signed in with OAuth.

The portal wants every message's content as a list of parts, and caches the
system prompt only when its last part carries ``cache_control``. It also
defaults thinking to a server-side "auto" mode when the field is missing, so
the thinking switch is always sent explicitly.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_THINKING_BUDGET = 32768  # below the 64K output cap, leaving room for the answer
_EPHEMERAL = {"type": "ephemeral"}


def _as_parts(content: Any) -> list[Any] | None:
    """``content`` as a fresh list of parts, or None when it is neither text nor a list."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        # Dict parts are copied so adding cache_control never touches the caller's.
        return [
            {"type": "text", "text": part} if isinstance(part, str) else dict(part)
            for part in content
            if isinstance(part, (str, dict))
        ]
    return None


class QwenProfile(ProviderProfile):
    """Qwen Portal: list-of-parts content, system-prompt caching, high-res images."""

    def prepare_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """A new list of new message dicts; the caller's messages are left untouched."""
        prepared: list[dict[str, Any]] = []
        system_marked = False
        for message in messages:
            if not isinstance(message, dict):
                prepared.append(message)
                continue
            copy = dict(message)
            parts = _as_parts(message.get("content"))
            if parts:
                copy["content"] = parts
            if not system_marked and copy.get("role") == "system":
                system_marked = True
                content = copy.get("content")
                if isinstance(content, list) and content and isinstance(content[-1], dict):
                    content[-1] = {**content[-1], "cache_control": dict(_EPHEMERAL)}
            prepared.append(copy)
        return prepared

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """Ask for full-resolution image understanding on vision models."""
        return {"vl_high_resolution_images": True}

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        qwen_session_metadata: dict[str, Any] | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Thinking only on an explicit request; never left to the server's auto mode.

        Session metadata (``{"sessionId", "promptId"}``, when a caller has it)
        is a top-level ``metadata`` field, as Qwen Code sends it.
        """
        enabled = isinstance(reasoning_config, dict) and reasoning_config.get("enabled") is True
        extra_body: dict[str, Any] = {"enable_thinking": enabled}
        if enabled:
            extra_body["thinking_budget"] = _THINKING_BUDGET
        top_level: dict[str, Any] = {}
        if isinstance(qwen_session_metadata, dict) and qwen_session_metadata:
            top_level["metadata"] = dict(qwen_session_metadata)
        return extra_body, top_level


register_provider(
    QwenProfile(
        name="qwen-oauth",
        aliases=("qwen", "qwen-portal", "qwen-cli"),
        display_name="Qwen Portal (OAuth)",
        description="Qwen Code models through a Qwen account sign-in",
        signup_url="https://chat.qwen.ai/",
        env_vars=("QWEN_API_KEY",),
        base_url="https://portal.qwen.ai/v1",
        auth_type="oauth_external",
        supports_vision=True,
        default_max_tokens=65536,
        default_aux_model="qwen3-coder-flash",
        fallback_models=("qwen3-coder-plus", "qwen3-coder-flash", "vision-model"),
    )
)
