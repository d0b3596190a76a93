"""Pure request building: what would be sent, as data, with no I/O.

One module per api_mode. Each ``build(resolved, messages, options)`` returns a
:class:`PreparedRequest` with the exact URL, headers and JSON body. The
transports send it; ``hermes/previewRequest`` shows it with secrets masked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hermesd.settings.masking import is_secret_name, mask_text, mask_values

if TYPE_CHECKING:
    from hermesd.protocol import PreviewResult

# Message fields a provider may receive; everything else is our bookkeeping.
WIRE_MESSAGE_FIELDS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})
_SECRET_HEADERS = frozenset({"authorization", "x-api-key", "api-key", "x-goog-api-key", "proxy-authorization"})


@dataclass
class ChatOptions:
    """Per-request settings the chat engine resolved from params, session and config."""

    temperature: float | None = None
    max_tokens: int | None = None
    reasoning_config: dict[str, Any] | None = None
    provider_preferences: dict[str, Any] | None = None
    min_coding_score: Any = None
    session_id: str | None = None
    ollama_num_ctx: int | None = None
    openrouter_headers: dict[str, str] = field(default_factory=dict)  # response cache, on openrouter.ai only
    supports_reasoning: bool | None = None  # None: Hermes' gate decides (hermesd.wire.hermes_rules)
    stream: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)


@dataclass
class PreparedRequest:
    """One HTTP request exactly as it will be sent (key included): the transports send it, the preview masks it."""

    url: str
    method: str
    headers: dict[str, str]
    body: dict[str, Any]
    api_mode: str
    provider: str
    model: str

    def content(self) -> bytes:
        """The body as sent: compact UTF-8 JSON in the prepared key order (what httpx's ``json=`` writes)."""
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    def preview(self) -> PreviewResult:
        """The request as an editor may see it: secret headers and key-shaped values masked."""
        from hermesd.protocol import PreviewResult

        return PreviewResult(url=self.url, method=self.method, headers=mask_headers(self.headers), body=mask_values(self.body),
                             provider=self.provider, api_mode=self.api_mode)


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with every credential's value masked (``Bearer ***``), for the preview."""
    masked = {}
    for name, value in headers.items():
        if name.lower() in _SECRET_HEADERS or is_secret_name(name):  # plugin-set X-Foo-Token too
            scheme = value.split(" ", 1)[0] if " " in value else ""
            masked[name] = f"{scheme} ***" if scheme else "***"
        else:
            masked[name] = mask_text(value)  # an sk-… under a harmless name
    return masked


def wire_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies carrying only fields a provider accepts (drops ``_*``, timestamps, our notes)."""
    return [
        {k: v for k, v in m.items() if k in WIRE_MESSAGE_FIELDS}
        for m in messages
        if isinstance(m, dict)
    ]


def split_system(messages: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """System text (joined) and the remaining conversation, for APIs that separate them."""
    system = [m for m in messages if m.get("role") in ("system", "developer")]
    rest = [m for m in messages if m.get("role") not in ("system", "developer")]
    return "\n\n".join(text_of(m.get("content")) for m in system), rest


def text_of(content: Any) -> str:
    """Plain text of a message's content, whether a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return "" if content is None else str(content)


def join_url(base_url: str, path: str) -> str:
    """``base_url`` and ``path`` joined by exactly one slash."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")
