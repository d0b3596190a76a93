"""Microsoft Azure AI Foundry, OpenAI-compatible.

Endpoints are per resource (``https://<resource>.openai.azure.com/openai/v1``
and similar), so there is no default URL: the user sets one. Azure takes the
key in an ``api-key`` header, so the catalog fetch sends it that way.
"""

from __future__ import annotations

from dataclasses import replace

from providers import register_provider
from providers.base import ProviderProfile


class AzureFoundryProfile(ProviderProfile):
    """Azure Foundry: user endpoint, ``api-key`` header."""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """The deployment's ``/models``, authenticated the Azure way."""
        if not (base_url or self.base_url):
            return None
        profile = self
        if api_key:
            # A per-call copy: the key must not become a default header of the shared profile.
            profile = replace(self, default_headers={**self.default_headers, "api-key": api_key})
        return ProviderProfile.fetch_models(profile, api_key=None, base_url=base_url, timeout=timeout)


register_provider(
    AzureFoundryProfile(
        name="azure-foundry",
        aliases=("azure", "azure-ai-foundry", "azure-ai"),
        display_name="Azure AI Foundry",
        description="Microsoft Azure AI Foundry: OpenAI-compatible endpoint of your resource",
        signup_url="https://ai.azure.com/",
        env_vars=("AZURE_FOUNDRY_API_KEY", "AZURE_FOUNDRY_BASE_URL"),
        base_url="",
        auth_type="api_key",
        supports_vision=True,
        fallback_models=("gpt-5", "gpt-5-mini", "gpt-4.1", "gpt-4.1-mini", "o4-mini"),
    )
)
