"""Gemini thinking-config helpers that Hermes' gemini plugin imports from
``agent.transports.chat_completions``.

Hermes' reasoning config (``{"enabled": bool, "effort": str}``) becomes
Gemini's ``thinkingConfig``:

* only Gemini models get one (Gemma and older models on the same key reject
  the field), an optional ``google/`` prefix ignored;
* disabled, or effort ``none``: ``{"includeThoughts": False}``;
* Gemini 2.5: ``{"includeThoughts": True}`` alone (it takes a token budget,
  which a coarse effort cannot choose well);
* Gemini 3 Flash: ``thinkingLevel`` low (minimal, low) / high (high, xhigh,
  max, ultra) / medium (anything else); Gemini 3 Pro: high (high and up) or
  low. As in Hermes 0.19.0 (0.13.0 knew no effort above xhigh and sent
  medium, or low on Pro, for ``max``);
* any other Gemini model: ``{"includeThoughts": True}``.

Google's OpenAI-compatibility endpoint (``.../openai`` on
generativelanguage.googleapis.com) takes the snake_case spelling.
"""

from __future__ import annotations

from typing import Any

_STRONG = frozenset({"high", "xhigh", "max", "ultra"})
_LEVELS = frozenset({"minimal", "low", "medium", *_STRONG})


def _build_gemini_thinking_config(model: str, reasoning_config: dict | None) -> dict | None:
    """Gemini's camelCase ``thinkingConfig`` for a reasoning config, or None to send nothing."""
    if not isinstance(reasoning_config, dict):
        return None
    name = (model or "").strip().lower()
    if name.startswith("google/"):
        name = name.split("/", 1)[1]
    if not name.startswith("gemini"):
        return None
    if reasoning_config.get("enabled") is False:
        return {"includeThoughts": False}
    effort = str(reasoning_config.get("effort", "medium") or "medium").strip().lower()
    if effort == "none":
        return {"includeThoughts": False}
    config: dict[str, Any] = {"includeThoughts": True}
    if name.startswith("gemini-2.5-") or not name.startswith("gemini-3"):
        return config
    if effort not in _LEVELS:
        effort = "medium"
    if "flash" in name:
        config["thinkingLevel"] = "low" if effort in {"minimal", "low"} else "high" if effort in _STRONG else "medium"
    elif "pro" in name:
        config["thinkingLevel"] = "high" if effort in _STRONG else "low"
    return config


def _snake_case_gemini_thinking_config(config: dict | None) -> dict | None:
    """The OpenAI-compat spelling (``include_thoughts``, ``thinking_level``, ``thinking_budget``)."""
    if not isinstance(config, dict) or not config:
        return None
    out: dict[str, Any] = {}
    if isinstance(config.get("includeThoughts"), bool):
        out["include_thoughts"] = config["includeThoughts"]
    level = config.get("thinkingLevel")
    if isinstance(level, str) and level.strip():
        out["thinking_level"] = level.strip().lower()
    budget = config.get("thinkingBudget")
    if isinstance(budget, (int, float)):
        out["thinking_budget"] = int(budget)
    return out or None


def _is_gemini_openai_compat_base_url(base_url: Any) -> bool:
    """True for Google AI Studio's OpenAI-compatible root (``.../openai``)."""
    url = str(base_url or "").strip().rstrip("/").lower()
    return "generativelanguage.googleapis.com" in url and url.endswith("/openai")
