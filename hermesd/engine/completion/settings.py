"""The ``completion.*`` keys of config.yaml as one value: whether completion is on, and how it asks the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hermesd.settings.config import Config


@dataclass(frozen=True)
class CompletionSettings:
    """What config.yaml says about inline completion (docs/completion.md); off until provider and model are set."""

    provider: str = ""
    model: str = ""
    base_url: str = ""
    endpoint: str = ""  # "" (choose from the provider), completions, fim, infill, ollama, chat
    template: str = ""  # "" (from the model id), a family name, "server", or a completion.templates name
    templates: dict[str, Any] = field(default_factory=dict)
    max_tokens: int = 64
    prefix_chars: int = 6000
    suffix_chars: int = 2000
    multiline: bool = True
    debounce_ms: int = 0
    languages: dict[str, Any] = field(default_factory=dict)  # language id -> false turns it off
    hosted_workspaces: tuple[str, ...] = ()  # folders whose buffers may go to a hosted (non-local) provider

    @property
    def enabled(self) -> bool:
        return bool(self.provider and self.model)

    def language_enabled(self, language: str) -> bool:
        """Every language is on unless ``completion.languages`` turns it off (``{markdown: false}``)."""
        return self.languages.get(language, self.languages.get("*", True)) is not False


def of(config: Config) -> CompletionSettings:
    """The settings from a loaded config (values already validated by the config layer)."""
    def mapping(key: str) -> dict[str, Any]:
        value = config.get(key)
        return dict(value) if isinstance(value, dict) else {}

    return CompletionSettings(
        provider=(config.get("completion.provider") or "").strip(),
        model=(config.get("completion.model") or "").strip(),
        base_url=(config.get("completion.base_url") or "").strip(),
        endpoint=config.get("completion.endpoint") or "",
        template=(config.get("completion.template") or "").strip(),
        templates=mapping("completion.templates"),
        max_tokens=config.get("completion.max_tokens"),
        prefix_chars=config.get("completion.prefix_chars"),
        suffix_chars=config.get("completion.suffix_chars"),
        multiline=config.get("completion.multiline") is not False,
        debounce_ms=config.get("completion.debounce_ms"),
        languages=mapping("completion.languages"),
        hosted_workspaces=tuple(str(k) for k, v in mapping("completion.hosted_workspaces").items() if v is True),
    )
