"""OpenRouter's Pareto Code router.

Choosing the model ``openrouter/pareto-code`` makes OpenRouter send each
request to the cheapest model whose coding score meets a floor. The floor
travels in the request body as
``plugins: [{"id": "pareto-router", "min_coding_score": X}]``.

The rule lives here, in one place, because every path that can reach
OpenRouter must apply it identically: the openrouter plugin, the daemon's
path for endpoints with no profile, summaries, child sessions and the CLI.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlsplit

PARETO_MODEL = "openrouter/pareto-code"
PARETO_PLUGIN_ID = "pareto-router"
DEFAULT_MIN_CODING_SCORE = 0.65
OPENROUTER_HOST = "openrouter.ai"

__all__ = [
    "PARETO_MODEL",
    "PARETO_PLUGIN_ID",
    "DEFAULT_MIN_CODING_SCORE",
    "coerce_min_coding_score",
    "pareto_plugin_entry",
    "apply_pareto_router",
    "is_openrouter_url",
    "describe_pareto",
]


def coerce_min_coding_score(value: Any) -> float | None:
    """The score as a float in [0, 1], or None when no floor should be sent.

    Hermes' rule, so a config file shared with the Hermes agent sends the
    same floor from both: null and ``""`` mean unset; anything else goes
    through ``float()`` and is kept only inside [0.0, 1.0]. So ``"0.5"`` and
    ``" 0.5 "`` give 0.5, YAML ``true``/``false`` give 1.0/0.0 (as
    ``float(True)`` does in Hermes), and out-of-range numbers, NaN,
    infinities, non-numeric strings, lists and mappings give None.
    """
    if value is None or (isinstance(value, str) and value == ""):
        return None
    try:
        score = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if not 0.0 <= score <= 1.0:  # also False for NaN
        return None
    return score


def pareto_plugin_entry(model: str | None, score: Any) -> dict[str, Any] | None:
    """The ``plugins`` entry to send, or None when nothing should be sent."""
    if model != PARETO_MODEL:
        return None
    usable = coerce_min_coding_score(score)
    if usable is None:
        return None
    return {"id": PARETO_PLUGIN_ID, "min_coding_score": usable}


def apply_pareto_router(extra_body: dict[str, Any], model: str | None, score: Any) -> dict[str, Any]:
    """Return ``extra_body`` with the Pareto entry added when the rule says so.

    Existing ``plugins`` entries are kept; an earlier pareto-router entry is
    replaced rather than duplicated. The input is not mutated.
    """
    entry = pareto_plugin_entry(model, score)
    if entry is None:
        return extra_body
    existing = extra_body.get("plugins")
    kept = [
        p
        for p in (existing if isinstance(existing, list) else [])
        if not (isinstance(p, dict) and p.get("id") == PARETO_PLUGIN_ID)
    ]
    return {**extra_body, "plugins": [*kept, entry]}


def is_openrouter_url(url: str | None) -> bool:
    """True for openrouter.ai and its subdomains."""
    try:
        host = (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return False
    return host == OPENROUTER_HOST or host.endswith("." + OPENROUTER_HOST)


def describe_pareto(score: Any) -> str:
    """Picker text for the router, with the floor that would be sent."""
    usable = coerce_min_coding_score(score)
    if usable is None:
        return "Pareto Code router: auto-routes to the strongest coder (no minimum coding score set)"
    return f"Pareto Code router: auto-routes to the cheapest coder scoring at least {usable:g}"
