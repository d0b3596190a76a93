"""GitHub Copilot through the Copilot CLI, driven over ACP (stdio).

Nothing here speaks HTTP: the CLI subprocess owns sign-in and talks to
GitHub itself (``external_process`` auth), so there is no key to check, no
endpoint to probe and no REST catalog. ``acp://copilot`` is an internal
address, not a URL anyone can reach.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile


class CopilotACPProfile(ProviderProfile):
    """Copilot ACP: no REST catalog."""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """None: the models are only known to a signed-in CLI session."""
        return None


register_provider(
    CopilotACPProfile(
        name="copilot-acp",
        aliases=("github-copilot-acp", "copilot-cli"),
        display_name="GitHub Copilot (ACP)",
        description="GitHub Copilot through the Copilot CLI's Agent Client Protocol",
        signup_url="https://github.com/features/copilot/cli",
        env_vars=("COPILOT_ACP_BASE_URL",),
        base_url="acp://copilot",
        auth_type="external_process",
        supports_health_check=False,
        fallback_models=("claude-sonnet-4.5", "gpt-5", "claude-sonnet-4", "claude-haiku-4.5"),
    )
)
