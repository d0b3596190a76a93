"""GitHub Copilot's chat API, used with a GitHub account that has Copilot.

The GitHub token is exchanged for a short-lived Copilot token (``copilot``
auth). The API only serves requests that identify an editor, so the editor
headers Hermes sends go on every request, catalog fetches included.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="copilot",
        aliases=("github-copilot", "github-models", "github"),
        display_name="GitHub Copilot",
        description="GitHub Copilot: models included with a Copilot subscription",
        signup_url="https://github.com/features/copilot",
        env_vars=("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "COPILOT_API_BASE_URL"),
        base_url="https://api.githubcopilot.com",
        auth_type="copilot",
        supports_vision=True,
        default_headers={
            "Editor-Version": "vscode/1.104.1",
            "User-Agent": "HermesAgent/1.0",
            "Openai-Intent": "conversation-edits",
            "x-initiator": "agent",
        },
        default_aux_model="gpt-5-mini",
        fallback_models=(
            "gpt-5.4",
            "gpt-4.1",
            "gpt-5-mini",
            "claude-sonnet-4.6",
            "claude-sonnet-4.5",
            "claude-haiku-4.5",
            "gemini-3-pro-preview",
            "gemini-2.5-pro",
        ),
    )
)
