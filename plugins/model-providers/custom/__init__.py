"""Any OpenAI-compatible endpoint the user runs or names: Ollama, vLLM, llama.cpp...

There is no default URL; the user supplies one (config or ``CUSTOM_BASE_URL``).
Two Ollama quirks are handled here: the context window is only honoured as
``options.num_ctx`` in the body, and thinking models keep thinking unless the
request says so: ``think: false`` for ``/api/chat`` and proxies, and the
top-level ``reasoning_effort: "none"``, the one Ollama's
``/v1/chat/completions`` honours. An explicit effort goes as
``reasoning_effort`` (what vLLM, GLM and other OpenAI-compatible reasoning
servers read). The cap is 65536 tokens unless configured, as Hermes 0.19.0.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile


class CustomProfile(ProviderProfile):
    """User-supplied endpoint with Ollama's ``num_ctx`` and ``think`` switches."""

    def build_api_kwargs_extras(
        self,
        *,
        reasoning_config: dict[str, Any] | None = None,
        ollama_num_ctx: int | None = None,
        **context: Any,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``options.num_ctx`` for a context size; ``think: false`` and ``reasoning_effort`` for the effort."""
        extra_body: dict[str, Any] = {}
        top_level: dict[str, Any] = {}
        if isinstance(ollama_num_ctx, int) and not isinstance(ollama_num_ctx, bool) and ollama_num_ctx > 0:
            extra_body["options"] = {"num_ctx": ollama_num_ctx}
        if isinstance(reasoning_config, dict):
            effort = str(reasoning_config.get("effort") or "").strip().lower()
            if reasoning_config.get("enabled") is False or effort == "none":
                top_level["reasoning_effort"] = "none"
                extra_body["think"] = False
            elif effort:
                top_level["reasoning_effort"] = effort
        return extra_body, top_level

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """Nothing to ask until the user has named an endpoint."""
        if not (base_url or self.base_url):
            return None
        return super().fetch_models(api_key=api_key, base_url=base_url, timeout=timeout)


register_provider(
    CustomProfile(
        name="custom",
        aliases=("ollama", "local", "vllm", "llamacpp", "llama.cpp", "llama-cpp"),
        display_name="Custom endpoint",
        description="Any OpenAI-compatible server: Ollama, vLLM, llama.cpp, LM Studio...",
        env_vars=("CUSTOM_API_KEY", "CUSTOM_BASE_URL"),
        base_url="",
        auth_type="api_key",
        default_max_tokens=65536,
        supports_health_check=True,
        fallback_models=("gpt-oss:20b", "qwen3:8b", "llama3.1:8b"),
    )
)
