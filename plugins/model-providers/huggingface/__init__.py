"""Hugging Face Inference Providers, through the OpenAI-compatible router.

router.huggingface.co forwards each request to one of the inference providers
hosting the model, billed to the Hugging Face account behind ``HF_TOKEN``.
"""

from __future__ import annotations

from providers import register_provider
from providers.base import ProviderProfile

register_provider(
    ProviderProfile(
        name="huggingface",
        aliases=("hf", "hugging-face", "huggingface-hub"),
        display_name="Hugging Face",
        description="Hugging Face Inference Providers (router)",
        signup_url="https://huggingface.co/settings/tokens",
        env_vars=("HF_TOKEN", "HF_BASE_URL"),
        base_url="https://router.huggingface.co/v1",
        auth_type="api_key",
        default_aux_model="openai/gpt-oss-20b",
        fallback_models=(
            "moonshotai/Kimi-K2-Thinking",
            "deepseek-ai/DeepSeek-V3.2",
            "zai-org/GLM-4.6",
            "Qwen/Qwen3-Coder-480B-A35B-Instruct",
            "MiniMaxAI/MiniMax-M2",
            "openai/gpt-oss-120b",
        ),
    )
)
