"""What a reply used and cost, and how every editor and the CLI words it.

A reply's cost is ``reported`` when the upstream says it (OpenRouter's
``usage.cost``), ``estimated`` from its tokens and the catalog's prices
(a local server's replies cost 0), else ``unknown``. The same records add
up into totals (a session, a day, a model): :func:`count_reply` is the one
rule of what a saved reply adds, used by the session index.
"""

from __future__ import annotations

import math
from typing import Any

from hermesd.engine.pricing import Price
from hermesd.protocol import Usage, UsageTotals

LOCAL_PRICE = "local server"
# The totals' fields, in the order the index keeps them.
TOTAL_FIELDS = ("replies", "input_tokens", "output_tokens", "cost_usd", "estimated_replies", "unknown_replies")


def reply_usage(raw: dict[str, Any], *, price: Price | None, price_label: str = "", local: bool = False,
                summarize_at: int | None = None) -> Usage:
    """A transport's counts (``Finish.usage``) with the reply's cost and context meter."""
    usage = Usage(
        input_tokens=raw.get("inputTokens"), output_tokens=raw.get("outputTokens"),
        reasoning_tokens=raw.get("reasoningTokens"), cache_read_tokens=raw.get("cacheReadTokens"),
        cache_write_tokens=raw.get("cacheWriteTokens"), summarize_at=summarize_at,
        context_length=price.context_length if price else None,
    )
    if usage.input_tokens is not None or usage.output_tokens is not None:
        usage.context_tokens = (usage.input_tokens or 0) + (usage.output_tokens or 0)
    if isinstance(raw.get("cost"), float):
        usage.cost_usd, usage.cost_source = raw["cost"], "reported"
    elif local:
        usage.cost_usd, usage.cost_source, usage.price_source = 0.0, "estimated", LOCAL_PRICE
    elif price is not None and price.priced and usage.input_tokens is not None and usage.output_tokens is not None:
        usage.cost_usd, usage.cost_source, usage.price_source = estimate(usage, price), "estimated", price_label
    else:
        usage.cost_source = "unknown"
    return usage


def estimate(usage: Usage, price: Price) -> float:
    """Tokens × the catalog's per-token prices; cached tokens at their own price when the catalog lists one."""
    read, write = usage.cache_read_tokens or 0, usage.cache_write_tokens or 0
    fresh = max(0, (usage.input_tokens or 0) - read - write)
    prompt = price.prompt or 0.0
    return (fresh * prompt + read * (price.cache_read if price.cache_read is not None else prompt)
            + write * (price.cache_write if price.cache_write is not None else prompt)
            + (usage.output_tokens or 0) * (price.completion or 0.0))


def money(usd: float) -> str:
    """$0.00042, $0.0042, $0.1234, $12.30: two significant digits at least below a cent, so a cheap reply
    does not read as free."""
    if usd == 0:
        return "$0.00"
    if usd < 0.000001:
        return "<$0.000001"
    if usd < 0.01:
        return f"${usd:.{max(4, 1 - math.floor(math.log10(usd)))}f}"
    return f"${usd:.4f}" if usd < 1 else f"${usd:,.2f}"


def cost_text(usage: Usage) -> str:
    """"$0.0042", "~$0.0042 (estimated)", "$0.00 (local)", "cost unknown"."""
    if usage.cost_usd is None or usage.cost_source in (None, "unknown"):
        return "cost unknown"
    if usage.cost_source == "estimated":
        if usage.price_source == LOCAL_PRICE:
            return f"{money(usage.cost_usd)} (local)"
        shown = money(usage.cost_usd)
        return f"{'' if shown.startswith('<') else '~'}{shown} (estimated)"
    return money(usage.cost_usd)


def context_text(usage: Usage) -> str:
    """"context 1,444 / 200,000 (1%), summary at 32,000": the conversation against the model's window."""
    if usage.context_tokens is None:
        return ""
    text = f"context {usage.context_tokens:,}"
    if usage.context_length:
        text += f" / {usage.context_length:,} ({round(100 * usage.context_tokens / usage.context_length)}%)"
    if usage.summarize_at:
        text += f", summary at {usage.summarize_at:,}"
    return text


def model_text(model: str | None, routed: str | None) -> str:
    """"pareto-code → anthropic/claude-sonnet-4.6": OpenRouter's own routers without their prefix."""
    from hermesd.engine.labels import model_label

    shown = model_label(model) if model else ""
    if shown.startswith("openrouter/"):
        shown = shown[len("openrouter/"):]
    return f"{shown} → {routed}" if routed and routed != model else shown


def footer(usage: Usage, model: str | None, routed: str | None = None) -> str:
    """The one line under a reply: model, tokens, cost, context."""
    parts = [model_text(model, routed)]
    if usage.input_tokens is not None or usage.output_tokens is not None:
        tokens = f"{usage.input_tokens or 0:,} in / {usage.output_tokens or 0:,} out"
        if usage.reasoning_tokens:
            tokens += f" ({usage.reasoning_tokens:,} reasoning)"
        if usage.cache_read_tokens:
            tokens += f" · {usage.cache_read_tokens:,} cached"
        parts.append(tokens)
    parts += [cost_text(usage), context_text(usage)]
    return " · ".join(p for p in parts if p)


def count_reply(saved_usage: Any) -> list[float]:
    """What one saved reply adds to totals (:data:`TOTAL_FIELDS` order). A reply saved without usage (before
    hermesd counted it, or cut off before the upstream said) counts with its cost unknown."""
    usage = saved_usage if isinstance(saved_usage, dict) else {}
    tokens_in, tokens_out = usage.get("inputTokens"), usage.get("outputTokens")
    source, cost = usage.get("costSource"), usage.get("costUsd")
    known = source in ("reported", "estimated") and isinstance(cost, (int, float))
    return [1, tokens_in if isinstance(tokens_in, int) else 0, tokens_out if isinstance(tokens_out, int) else 0,
            float(cost) if known else 0.0, 1 if known and source == "estimated" else 0, 0 if known else 1]


def totals(values: Any = None) -> UsageTotals:
    """Totals from the index's sums (:data:`TOTAL_FIELDS` order, or a mapping of them), with their one-line label."""
    if isinstance(values, dict):
        values = [values.get(name) or 0 for name in TOTAL_FIELDS]
    replies, tokens_in, tokens_out, cost, estimated, unknown = [v or 0 for v in (values or [0] * 6)]
    out = UsageTotals(replies=int(replies), input_tokens=int(tokens_in), output_tokens=int(tokens_out),
                      cost_usd=round(float(cost), 10), estimated_replies=int(estimated), unknown_replies=int(unknown),
                      label="", cost_text="")
    out.cost_text = totals_cost_text(out)
    out.label = (f"{out.replies:,} repl{'y' if out.replies == 1 else 'ies'} · {out.input_tokens:,} in / "
                 f"{out.output_tokens:,} out · {out.cost_text}")
    return out


def totals_cost_text(t: UsageTotals) -> str:
    """"$0.0042 (1 estimated, 1 unknown)", or "cost unknown" when no reply's cost is known."""
    if t.unknown_replies >= t.replies:
        return "cost unknown"
    notes = [f"{n} {what}" for n, what in ((t.estimated_replies, "estimated"), (t.unknown_replies, "unknown")) if n]
    return money(t.cost_usd) + (f" ({', '.join(notes)})" if notes else "")
