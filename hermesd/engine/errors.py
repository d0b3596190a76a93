"""Normalised failures: one vocabulary for every provider and transport.

Editors show ``message`` and ``hint``; they branch on ``kind``. Messages never
contain a secret: :meth:`HermesError.to_dict` runs them through the redactor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hermesd.protocol import ChatError

# The kinds are the protocol's (hermesd.protocol.ChatErrorKind): editors branch on them.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 529})


class HermesError(Exception):
    """A failure in the protocol's vocabulary: ``kind`` to branch on, ``message`` and ``hint`` to show, redacted."""

    def __init__(
        self,
        kind: str,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        provider: str | None = None,
    ) -> None:
        from hermesd.settings.credentials import redact

        # Scrubbed now, not only in to_dict(): servers, the CLI and logs all print
        # ``message`` directly, and it may quote an upstream body or a plugin's exception.
        message, hint = redact(message), redact(hint) if hint else hint
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.hint = hint
        self.status = status
        self.retry_after = retry_after
        self.provider = provider

    @property
    def retryable(self) -> bool:
        """By kind, not status: a 429 that means "out of credit" is a quota error, never retried."""
        return self.kind in ("rate_limited", "network")

    def to_protocol(self) -> ChatError:
        """The error as a chat result carries it (``kind``, ``message``, ``hint``...), secrets redacted."""
        from hermesd.settings.credentials import redact
        from hermesd.protocol import ChatError

        return ChatError(kind=self.kind, message=redact(self.message),  # type: ignore[arg-type] - a ChatErrorKind
                         hint=redact(self.hint) if self.hint else None, status=self.status,
                         retry_after=self.retry_after, provider=self.provider or None)

    def to_dict(self) -> dict[str, Any]:
        """:meth:`to_protocol` as JSON data: what a session file keeps beside the turn it ended."""
        from hermesd.protocol import to_wire

        return to_wire(self.to_protocol())


def _upstream_code(body: Any) -> str:
    """The provider's machine-readable error code or type (``context_length_exceeded``, ``insufficient_quota``)."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return " ".join(str(err.get(k)) for k in ("code", "type") if isinstance(err.get(k), str))
    return ""


def _upstream_message(body: Any) -> str:
    """The provider's own words, from OpenAI- or Anthropic-shaped error bodies."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("msg") or err.get("detail")
            if isinstance(msg, str):
                return msg
        if isinstance(err, str):
            return err
        detail = body.get("detail") or body.get("message")
        if isinstance(detail, str):
            return detail
    if isinstance(body, str):
        return body[:300]
    return ""


def from_status(
    status: int,
    body: Any,
    *,
    provider: str,
    model: str,
    key_env_var: str | None,
    key_env_vars: tuple[str, ...] = (),
    retry_after: float | None = None,
) -> HermesError:
    """Classify an HTTP error response from the upstream."""
    said = _upstream_message(body)
    lowered = f"{said} {_upstream_code(body)}".lower()
    label = provider or "the endpoint"
    suffix = f": {said}" if said else ""
    key_hint = key_env_var or (key_env_vars[0] if key_env_vars else "the provider's API key variable")
    if status in (401, 403):
        return HermesError(
            "auth",
            f"{label} rejected the credentials ({status}){suffix}",
            hint=f"check the key in {key_hint}",
            status=status,
            provider=provider,
        )
    if status == 402 or _is_quota_error(lowered):
        return HermesError(
            "quota",
            f"{label} says the account is out of credit ({status}){suffix}",
            hint=f"add credit to your {label} account or choose another provider",
            status=status,
            provider=provider,
        )
    if _is_context_error(lowered):
        return HermesError(
            "context_length",
            f"the conversation is too long for {model} ({status}){suffix}",
            hint="start a new chat, or lower context.budget_tokens so older turns are summarised sooner",
            status=status,
            provider=provider,
        )
    if status == 404 or ("model" in lowered and ("not found" in lowered or "does not exist" in lowered)):
        return HermesError(
            "model_not_found",
            f"{label} does not know the model {model!r} ({status}){suffix}",
            hint="pick another model (Hermes: Select Model / :HermesModel / `hermesd models " + (provider or "PROVIDER") + "`)",
            status=status,
            provider=provider,
        )
    if status == 429:
        wait = f"; retry after {retry_after:g} s" if retry_after else ""
        return HermesError(
            "rate_limited",
            f"{label} is rate limiting requests (429){suffix}",
            hint=f"wait a moment and try again{wait}",
            status=status,
            retry_after=retry_after,
            provider=provider,
        )
    if status >= 500:
        return HermesError(
            "network" if status in RETRYABLE_STATUS else "bad_response",
            f"{label} had a server error ({status}){suffix}",
            hint="try again shortly; if it persists, check the provider's status page",
            status=status,
            provider=provider,
        )
    return HermesError(
        "bad_response",
        f"{label} refused the request ({status}){suffix}",
        hint="run `hermesd doctor`, or preview the request with hermes/previewRequest",
        status=status,
        provider=provider,
    )


def _is_quota_error(lowered: str) -> bool:
    """Out of credit, however the provider words it (OpenAI says it with a 429, Anthropic with a 400)."""
    if "insufficient_quota" in lowered or "credit balance is too low" in lowered:
        return True
    return "insufficient" in lowered and ("credit" in lowered or "quota" in lowered or "balance" in lowered)


def _is_context_error(lowered: str) -> bool:
    return any(
        phrase in lowered
        for phrase in (
            "context length",
            "context_length",
            "maximum prompt length",
            "prompt length is",
            "input is too long",
            "maximum context",
            "context window",
            "too many tokens",
            "prompt is too long",
            "reduce the length",
        )
    )


def parse_retry_after(value: str | None) -> float | None:
    """A Retry-After header's seconds, clamped to 0-600; None when absent or not a number (an HTTP date)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, min(seconds, 600.0))


def storage_error(exc: OSError, what: str, outcome: str = "nothing already saved was lost, and the next "
                  "successful write catches up") -> HermesError:
    """A write that failed (disk full, quota, permissions), naming the file and what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    return HermesError("storage", f"{what} could not be saved{where}: {exc.strerror or exc}",
                       hint=f"free some disk space (or fix the directory's permissions); {outcome}")


def reached_no_model(error: dict[str, Any]) -> bool:
    """Whether a chat's error (its wire form) ended it before any request left: the configuration
    was refused (``config_error``), or the credential was missing (``auth`` with no upstream status)."""
    return error.get("kind") == "config_error" or (error.get("kind") == "auth" and error.get("status") is None)
