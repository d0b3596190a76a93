"""Sending a prepared request and reading the reply as it streams.

Each transport turns one :class:`~hermesd.wire.PreparedRequest` into an async
stream of :class:`Delta` items ending in one :class:`Finish`, or raises a
:class:`~hermesd.engine.errors.HermesError`. Cancelling the consuming task closes
the upstream connection before the cancellation propagates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Union

if TYPE_CHECKING:
    from hermesd.engine.runtime import Resolved
    from hermesd.wire import PreparedRequest

STOP_REASONS = {
    "stop": "end_turn",
    "end_turn": "end_turn",
    "stop_sequence": "end_turn",
    "completed": "end_turn",
    "tool_calls": "end_turn",
    "tool_use": "end_turn",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "incomplete": "max_tokens",
}


@dataclass
class Delta:
    """A piece of the reply: text, reasoning, or both."""

    text: str = ""
    reasoning: str = ""


@dataclass
class Finish:
    """The end of a reply: why it stopped (the protocol's stop reasons), token counts (:func:`usage_dict`'s keys,
    and ``cost`` in USD when the upstream reports one), the model that answered."""

    stop_reason: str = "end_turn"
    usage: dict[str, Any] = field(default_factory=dict)
    routed_model: str | None = None


Event = Union[Delta, Finish]


@dataclass
class NetworkSettings:
    """Timeouts in seconds (config's network.timeout and network.connect_timeout), and how many
    requests may be in flight to one endpoint at once (network.max_concurrent_requests)."""

    timeout: float = 120.0
    connect_timeout: float = 10.0
    max_concurrent: int = 100

    @classmethod
    def of(cls, cfg: Any) -> "NetworkSettings":
        """The network settings of a loaded config."""
        return cls(timeout=cfg.get("network.timeout"), connect_timeout=cfg.get("network.connect_timeout"),
                   max_concurrent=cfg.get("network.max_concurrent_requests"))


def normal_stop_reason(raw: str | None) -> str:
    """An upstream's stop reason in the protocol's words; anything unknown reads as end_turn."""
    return STOP_REASONS.get((raw or "").lower(), "end_turn")


def open_stream(
    prepared: "PreparedRequest", resolved: "Resolved", net: NetworkSettings
) -> AsyncIterator[Event]:
    """The transport for ``prepared.api_mode`` (imports it on first use)."""
    if prepared.api_mode == "chat_completions":
        from hermesd.transports.chat_completions import stream
    elif prepared.api_mode == "codex_responses":
        from hermesd.transports.codex_responses import stream
    elif prepared.api_mode == "anthropic_messages":
        from hermesd.transports.anthropic_messages import stream
    elif prepared.api_mode == "bedrock_converse":
        from hermesd.transports.bedrock_converse import stream
    else:  # pragma: no cover - the builder already refused it
        raise ValueError(prepared.api_mode)
    return stream(prepared, resolved, net)


def usage_dict(input_tokens: Any, output_tokens: Any, *, reasoning: Any = None, cache_read: Any = None,
               cache_write: Any = None, cost: Any = None) -> dict[str, Any]:
    """The protocol's usage counts, leaving out any that is not a number.

    ``inputTokens`` is the whole prompt, cached parts included (OpenAI's
    meaning), so it is one scale across APIs; ``reasoningTokens`` are part of
    ``outputTokens``. ``cost`` is the upstream's own figure in USD (OpenRouter's
    ``usage.cost``).
    """
    counts = {"inputTokens": input_tokens, "outputTokens": output_tokens, "reasoningTokens": reasoning,
              "cacheReadTokens": cache_read, "cacheWriteTokens": cache_write}
    out: dict[str, Any] = {k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
    if isinstance(cost, (int, float)) and not isinstance(cost, bool) and cost >= 0:
        out["cost"] = float(cost)
    return out


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def with_cached(input_tokens: Any, cache_read: Any, cache_write: Any) -> Any:
    """Anthropic's and Bedrock's input count, which leaves the cached parts out, on OpenAI's scale (all of it)."""
    if not isinstance(input_tokens, int):
        return input_tokens
    return input_tokens + _int(cache_read) + _int(cache_write)
