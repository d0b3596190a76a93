"""What Claude models take, as Hermes 0.19.0 knows them: output caps and the thinking contract.

Pure data and look-ups, shared by the Messages builder (``max_tokens`` is
mandatory there) and the Chat Completions one (a chat-completions route to a
Claude, MiniMax or Qwen3 model gets the model's cap when nothing else sets
one: proxies that omit it default as low as 4096 tokens, which thinking and a
large tool call exhaust).
"""

from __future__ import annotations

from typing import Any

# Output-token ceilings, matched as substrings of the model name (dots read as
# hyphens, the longest key wins); a model matching none gets the newest ceiling.
OUTPUT_LIMITS = {
    "claude-fable": 128_000, "claude-sonnet-5": 128_000, "claude-opus-4-8": 128_000, "claude-opus-4-7": 128_000,
    "claude-opus-4-6": 128_000, "claude-sonnet-4-6": 64_000,
    "claude-opus-4-5": 64_000, "claude-sonnet-4-5": 64_000, "claude-haiku-4-5": 64_000,
    "claude-opus-4": 32_000, "claude-sonnet-4": 64_000, "claude-3-7-sonnet": 128_000,
    "claude-3-5-sonnet": 8_192, "claude-3-5-haiku": 8_192,
    "claude-3-opus": 4_096, "claude-3-sonnet": 4_096, "claude-3-haiku": 4_096,
    "minimax": 131_072,  # Anthropic-compatible MiniMax
    "qwen3": 65_536,  # DashScope's Anthropic-compatible endpoint caps at 65536
}
NEWEST_OUTPUT_LIMIT = 128_000

# Claude families with manual (budgeted) thinking; every other Claude model, unknown ones
# included, thinks adaptively (Claude 4.6 and newer).
_MANUAL_THINKING = (
    "claude-3", "claude-opus-4-0", "claude-opus-4.0", "claude-opus-4-1", "claude-opus-4.1",
    "claude-sonnet-4-0", "claude-sonnet-4.0", "claude-opus-4-2025", "claude-sonnet-4-2025",
    "claude-opus-4-5", "claude-opus-4.5", "claude-sonnet-4-5", "claude-sonnet-4.5", "claude-haiku-4-5", "claude-haiku-4.5",
)
_NO_XHIGH = ("claude-opus-4-6", "claude-opus-4.6", "claude-sonnet-4-6", "claude-sonnet-4.6")  # 4.6: up to max, no xhigh
ADAPTIVE_EFFORTS = {"ultra": "max", "max": "max", "xhigh": "xhigh", "high": "high", "medium": "medium", "low": "low",
                    "minimal": "low"}
THINKING_BUDGETS = {"xhigh": 32000, "high": 16000, "medium": 8000, "low": 4000}  # manual thinking; others 8000


def _normalized(model: str) -> str:
    return (model or "").lower().replace(".", "-")


def has_output_limit(model: str) -> bool:
    """True for a model the table names (the chat-completions fallback applies only to those)."""
    name = _normalized(model)
    return any(key in name for key in OUTPUT_LIMITS)


def max_output(model: str) -> int:
    """The model's output ceiling: the longest matching key's, else the newest models'."""
    name = _normalized(model)
    matches = [key for key in OUTPUT_LIMITS if key in name]
    return OUTPUT_LIMITS[max(matches, key=len)] if matches else NEWEST_OUTPUT_LIMIT


def thinks_adaptively(model: str) -> bool:
    """Claude 4.6 and newer (and Claude models not known yet): ``thinking.type: adaptive``."""
    name = (model or "").lower()
    return "claude" in name and not any(marker in name for marker in _MANUAL_THINKING)


def thinking(model: str, reasoning: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
    """The body fields a reasoning config asks of a Messages model (adaptive, budgeted, or none),
    and the least ``max_tokens`` they need (0: any).

    Adaptive: ``thinking {type: adaptive, display: summarized}`` (4.7 hides the
    reasoning text unless asked) and ``output_config.effort`` (xhigh is max on
    4.6). Budgeted: ``thinking {type: enabled, budget_tokens}`` with
    ``temperature: 1``, which thinking requires there. Haiku does not think.
    """
    if not isinstance(reasoning, dict) or reasoning.get("enabled") is False or "haiku" in (model or "").lower():
        return {}, 0
    effort = str(reasoning.get("effort") or "medium").lower()
    if thinks_adaptively(model):
        level = ADAPTIVE_EFFORTS.get(effort, "medium")
        if level == "xhigh" and any(marker in model.lower() for marker in _NO_XHIGH):
            level = "max"
        return {"thinking": {"type": "adaptive", "display": "summarized"}, "output_config": {"effort": level}}, 0
    budget = THINKING_BUDGETS.get(effort, 8000)
    return {"thinking": {"type": "enabled", "budget_tokens": budget}, "temperature": 1}, budget + 4096
