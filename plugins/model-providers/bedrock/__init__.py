"""Amazon Bedrock through its native Converse API.

Credentials come from the AWS SDK chain (environment, profile, IAM role), not
from a key in a variable, and model listing goes through the AWS SDK rather
than a REST ``/models`` route: ``fetch_models`` therefore returns None at once
and the picker shows the curated list.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile


class BedrockProfile(ProviderProfile):
    """Bedrock: SDK auth, no REST catalog."""

    def fetch_models(
        self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 8.0
    ) -> list[str] | None:
        """Always None, without any network traffic."""
        return None


register_provider(
    BedrockProfile(
        name="bedrock",
        aliases=("aws", "amazon-bedrock", "aws-bedrock"),
        api_mode="bedrock_converse",
        display_name="AWS Bedrock",
        description="Amazon Bedrock (Claude, Nova, Llama...) with AWS SDK credentials",
        signup_url="https://console.aws.amazon.com/bedrock/",
        env_vars=("BEDROCK_BASE_URL",),
        base_url="https://bedrock-runtime.us-east-1.amazonaws.com",
        auth_type="aws_sdk",
        supports_health_check=False,
        supports_vision=True,
        default_aux_model="us.anthropic.claude-haiku-4-5-20251001-v1:0",
        fallback_models=(
            "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us.anthropic.claude-haiku-4-5-20251001-v1:0",
            "us.anthropic.claude-opus-4-1-20250805-v1:0",
            "us.amazon.nova-pro-v1:0",
            "us.amazon.nova-lite-v1:0",
            "us.meta.llama4-maverick-17b-instruct-v1:0",
        ),
    )
)
