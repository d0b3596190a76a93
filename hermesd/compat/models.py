"""``hermes_cli.models.github_model_reasoning_efforts``: which efforts a Copilot model takes.

Hermes' copilot plugin and its ``supports_reasoning`` gate for GitHub Models /
Copilot hosts both ask this. Written from Hermes' documented behaviour:

* a catalog entry (when the caller passes ``catalog``) is authoritative:
  ``capabilities.supports.reasoning_effort`` lists the efforts; a legacy
  list of capabilities without ``"reasoning"`` means none;
* otherwise the model id decides: the o-series (``o1``/``o3``/``o4``, with or
  without ``openai/``) takes low/medium/high, and anything that normalises to
  a ``gpt-5`` model takes minimal/low/medium/high; every other model, none.

Normalising follows Copilot's naming: a known OpenRouter-style alias maps to
the Copilot id (``openai/gpt-5`` is served as ``gpt-5-mini``), otherwise the
vendor prefix is dropped. hermesd never fetches GitHub's catalog from here:
``api_key`` is accepted for signature compatibility and ignored.
"""

from __future__ import annotations

from typing import Any

GPT5_EFFORTS = ("minimal", "low", "medium", "high")
O_SERIES_EFFORTS = ("low", "medium", "high")

# OpenRouter-style or dash-notation ids -> the id Copilot serves them under.
_ALIASES = {
    **{f"openai/{m}": "gpt-5-mini" for m in ("gpt-5", "gpt-5-chat", "gpt-5-mini", "gpt-5-nano")},
    **{f"openai/{m}": "gpt-4.1" for m in ("gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano")},
    "openai/gpt-4o": "gpt-4o",
    "openai/gpt-4o-mini": "gpt-4o-mini",
    "openai/o1": "gpt-5.2",
    "openai/o1-preview": "gpt-5.2",
    "openai/o3": "gpt-5.3-codex",
    **{f"openai/{m}": "gpt-5-mini" for m in ("o1-mini", "o3-mini", "o4-mini")},
}
_CLAUDE = {"opus-4.6": "opus-4-6", "sonnet-4.6": "sonnet-4-6", "sonnet-4": "sonnet-4-0",
           "sonnet-4.5": "sonnet-4-5", "haiku-4.5": "haiku-4-5"}
for _dotted, _dashed in _CLAUDE.items():
    for _spelling in (_dotted, _dashed):
        _ALIASES[f"anthropic/claude-{_spelling}"] = f"claude-{_dotted}"
    _ALIASES[f"claude-{_dashed}"] = f"claude-{_dotted}"
del _dotted, _dashed, _spelling


def _catalog_ids(catalog: list[dict[str, Any]] | None) -> set[str]:
    return {str(item.get("id") or "").strip() for item in catalog or () if str(item.get("id") or "").strip()}


def _copilot_id(model_id: str | None, catalog: list[dict[str, Any]] | None = None) -> str:
    """The id Copilot knows ``model_id`` by ("" for none)."""
    raw = str(model_id or "").strip()
    if not raw:
        return ""
    if raw in _ALIASES:
        return _ALIASES[raw]
    known = _catalog_ids(catalog)
    candidates = [raw]
    if "/" in raw:
        candidates.append(raw.split("/", 1)[1].strip())
    if raw.endswith(("-mini", "-nano", "-chat")):
        candidates.append(raw[:-5])
    for candidate in dict.fromkeys(c for c in candidates if c):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
        if candidate in known:
            return candidate
    return raw.split("/", 1)[1].strip() if "/" in raw else raw


def _efforts_from_catalog(entry: dict[str, Any]) -> list[str] | None:
    """The entry's efforts; None when the entry leaves it to the model id."""
    capabilities = entry.get("capabilities")
    if isinstance(capabilities, dict):
        supports = capabilities.get("supports")
        efforts = supports.get("reasoning_effort") if isinstance(supports, dict) else None
        if not isinstance(efforts, list):
            return []
        return list(dict.fromkeys(str(e).strip().lower() for e in efforts if str(e).strip()))
    legacy = {str(c).strip().lower() for c in capabilities or () if str(c).strip()}
    return None if "reasoning" in legacy else []


def github_model_reasoning_efforts(
    model_id: str | None,
    *,
    catalog: list[dict[str, Any]] | None = None,
    api_key: str | None = None,
) -> list[str]:
    """Reasoning efforts the Copilot / GitHub Models API accepts for ``model_id``; [] for none."""
    normalized = _copilot_id(model_id, catalog)
    if not normalized:
        return []
    if catalog is not None:
        entry = next((item for item in catalog if item.get("id") == normalized), None)
        if entry is not None:
            efforts = _efforts_from_catalog(entry)
            if efforts is not None:
                return efforts
    raw = str(model_id or normalized)
    if raw.strip().lower().startswith(("openai/o1", "openai/o3", "openai/o4", "o1", "o3", "o4")):
        return list(O_SERIES_EFFORTS)
    if _copilot_id(raw).lower().startswith("gpt-5"):
        return list(GPT5_EFFORTS)
    return []
