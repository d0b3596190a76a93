"""Google Vertex AI: Gemini through Google Cloud's OpenAI-compatible endpoint.

Vertex has no static API key: requests carry a short-lived Google OAuth2
access token, and the endpoint names the project and region
(``https://REGION-aiplatform.googleapis.com/v1beta1/projects/PROJECT/locations/REGION/endpoints/openapi``;
the ``global`` region drops the host prefix). The Hermes agent mints the token
from a service account or Application Default Credentials; hermesd mints none,
so it takes the endpoint from ``VERTEX_BASE_URL`` and a token from
``VERTEX_ACCESS_TOKEN`` (``gcloud auth print-access-token``), and until both
are set says "needs Google Cloud credentials" with the exact fix rather than
send to the bare host (``auth_type="vertex"``, see hermesd.engine.google_cloud).
Thinking settings go nested in the body as for Gemini's own OpenAI-compatible
endpoint. The endpoint has no ``/models`` list: the picker shows the fallback
models.
"""

from __future__ import annotations

from typing import Any

from providers import register_provider
from providers.base import ProviderProfile


class VertexProfile(ProviderProfile):
    """Vertex AI: Gemini's snake_case thinking config, no catalog."""

    def build_extra_body(self, *, session_id: str | None = None, **context: Any) -> dict[str, Any]:
        """``{"extra_body": {"google": {"thinking_config": ...}}}`` for Gemini models (nothing for others)."""
        from agent.transports.chat_completions import (
            _build_gemini_thinking_config,
            _snake_case_gemini_thinking_config,
        )

        config = _snake_case_gemini_thinking_config(
            _build_gemini_thinking_config(context.get("model") or "", context.get("reasoning_config")))
        return {"extra_body": {"google": {"thinking_config": config}}} if config else {}

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """None: Vertex's OpenAI-compatible endpoint lists no models."""
        return None


register_provider(
    VertexProfile(
        name="vertex",
        aliases=("google-vertex", "vertex-ai", "gcp-vertex"),
        display_name="Google Vertex AI",
        description="Gemini through Google Cloud Vertex AI (OAuth2 access token, project and region)",
        signup_url="https://console.cloud.google.com/vertex-ai",
        env_vars=("VERTEX_ACCESS_TOKEN", "VERTEX_BASE_URL"),
        base_url="https://aiplatform.googleapis.com",  # the host only: the real endpoint names project and region
        auth_type="vertex",
        supports_vision=True,
        default_aux_model="google/gemini-3-flash-preview",
        fallback_models=(
            "google/gemini-3-pro-preview",
            "google/gemini-3-flash-preview",
            "google/gemini-2.5-pro",
            "google/gemini-2.5-flash",
        ),
    )
)
