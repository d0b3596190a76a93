""""Did you mean …?" for names a person typed: provider names and config keys."""

from __future__ import annotations

import difflib
from typing import Iterable


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The candidates closest to ``word`` (case-insensitive), best first."""
    by_lower: dict[str, str] = {}
    for name in candidates:
        by_lower.setdefault(name.lower(), name)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=limit, cutoff=0.6)
    return [by_lower[f] for f in found]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """``" (did you mean a, b or c?)"``, or ``""`` when nothing is close."""
    found = close_matches(word, candidates)
    if not found:
        return ""
    listed = found[0] if len(found) == 1 else f"{', '.join(found[:-1])} or {found[-1]}"
    return f" (did you mean {listed}?)"


def provider_names() -> list[str]:
    """Every provider name and alias, as a user may type them."""
    import providers

    names: list[str] = []
    for profile in providers.list_providers():
        names.append(profile.name)
        names.extend(profile.aliases)
    return names
