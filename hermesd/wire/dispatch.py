"""Pick the builder for a resolved api_mode."""

from __future__ import annotations

from typing import Any, Callable

from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest


def build_request(resolved: Resolved, messages: list[dict[str, Any]], options: ChatOptions) -> PreparedRequest:
    """The request for ``resolved.api_mode``; an unknown mode is a config_error."""
    return _builder(resolved.api_mode)(resolved, messages, options)


def _builder(api_mode: str) -> Callable[[Resolved, list[dict[str, Any]], ChatOptions], PreparedRequest]:
    from hermesd.wire import anthropic_messages, bedrock_converse, chat_completions, codex_responses

    builders = {
        "chat_completions": chat_completions.build,
        "codex_responses": codex_responses.build,
        "anthropic_messages": anthropic_messages.build,
        "bedrock_converse": bedrock_converse.build,
    }
    try:
        return builders[api_mode]
    except KeyError:
        raise HermesError(
            "config_error",
            f"unknown api_mode {api_mode!r}",
            hint="set model.api_mode (or the endpoint's providers.NAME.transport) to one of "
                 + ", ".join(builders) + " (Hermes' openai_chat is chat_completions)",
        ) from None
