"""Google Gemini through Google AI Studio's OpenAI-compatible endpoint.

Hermes' reasoning config is translated into Gemini's ``thinking_config``.
Google's OpenAI-compatibility layer only takes it nested as
``{"extra_body": {"google": {"thinking_config": {...}}}}`` with snake_case
keys; any other endpoint (a proxy speaking Gemini's own schema) gets the
camelCase ``thinking_config`` directly. Gemma models served by the same key
reject the field outright, so non-Gemini models get nothing.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile

_GOOGLE_HOST = "generativelanguage.googleapis.com"
_STRONG_EFFORTS = frozenset({"high", "xhigh", "max", "ultra"})
_KNOWN_EFFORTS = frozenset({"minimal", "low", "medium"}) | _STRONG_EFFORTS


def _gemini_model_name(model: str | None) -> str:
    """Lower-cased model name without an optional ``google/`` prefix."""
    name = (model or "").strip().lower()
    return name[len("google/"):] if name.startswith("google/") else name


def thinking_config(model: str | None, reasoning_config: dict[str, Any] | None) -> dict[str, Any] | None:
    """Gemini's camelCase ``thinkingConfig`` for a reasoning config, or None."""
    if not isinstance(reasoning_config, dict):
        return None
    name = _gemini_model_name(model)
    if not name.startswith("gemini"):
        return None
    effort = str(reasoning_config.get("effort") or "medium").strip().lower()
    if reasoning_config.get("enabled") is False or effort == "none":
        # Hides the thoughts without naming a level some models refuse.
        return {"includeThoughts": False}
    config: dict[str, Any] = {"includeThoughts": True}
    if name.startswith("gemini-2.5-"):
        # 2.5 takes a token budget, which coarse effort levels cannot pick well.
        return config
    if effort not in _KNOWN_EFFORTS:
        effort = "medium"
    if name.startswith("gemini-3"):
        if "flash" in name:
            # Flash documents low / medium / high.
            if effort in {"minimal", "low"}:
                config["thinkingLevel"] = "low"
            elif effort in _STRONG_EFFORTS:
                config["thinkingLevel"] = "high"
            else:
                config["thinkingLevel"] = "medium"
        elif "pro" in name:
            # Pro is stricter: low or high only.
            config["thinkingLevel"] = "high" if effort in _STRONG_EFFORTS else "low"
    return config


def _snake_case(config: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI-compat spelling of a ``thinkingConfig``."""
    out: dict[str, Any] = {}
    if isinstance(config.get("includeThoughts"), bool):
        out["include_thoughts"] = config["includeThoughts"]
    level = config.get("thinkingLevel")
    if isinstance(level, str) and level.strip():
        out["thinking_level"] = level.strip().lower()
    return out


def _is_openai_compat_url(base_url: str | None) -> bool:
    url = (base_url or "").strip().rstrip("/").lower()
    return _GOOGLE_HOST in url and url.endswith("/openai")


class GeminiProfile(ProviderProfile):
    """Gemini: thinking-config translation and bare catalog ids."""

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """Thinking config in the shape the endpoint understands."""
        config = thinking_config(context.get("model"), context.get("reasoning_config"))
        if not config:
            return {}
        base_url = context.get("base_url") or self.base_url
        if _is_openai_compat_url(base_url):
            return {"extra_body": {"google": {"thinking_config": _snake_case(config)}}}
        return {"thinking_config": config}

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """The catalog with Google's ``models/`` prefix removed, so ids match what requests use."""
        root = (base_url or self.base_url).rstrip("/")
        if root.endswith("/v1beta"):  # native root: its catalog has another shape
            root += "/openai"
        models = super().fetch_models(api_key=api_key, base_url=root, timeout=timeout)
        if models is None:
            return None
        return [m[len("models/"):] if m.startswith("models/") else m for m in models]


register_provider(
    GeminiProfile(
        name="gemini",
        aliases=("google", "google-gemini", "google-ai-studio"),
        display_name="Google AI Studio",
        description="Google Gemini models via AI Studio's OpenAI-compatible endpoint",
        signup_url="https://aistudio.google.com/app/apikey",
        env_vars=("GOOGLE_API_KEY", "GEMINI_API_KEY", "GEMINI_BASE_URL"),
        base_url=f"https://{_GOOGLE_HOST}/v1beta/openai",
        auth_type="api_key",
        supports_vision=True,
        default_aux_model="gemini-3.1-flash-lite-preview",
        fallback_models=(
            "gemini-3-pro-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-flash-lite-preview",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
        ),
    )
)
