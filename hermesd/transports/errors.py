"""Map SDK and HTTP-library exceptions onto hermesd's error kinds."""

from __future__ import annotations

import json
from typing import Any

from hermesd.engine import local
from hermesd.engine.errors import HermesError, from_status, parse_retry_after
from hermesd.engine.runtime import Resolved


def from_http_response(status: int, headers: Any, body_bytes: bytes, resolved: Resolved) -> HermesError:
    """The HermesError for a non-2xx reply: status and body classified, Retry-After kept."""
    try:
        body: Any = json.loads(body_bytes or b"null")
    except (ValueError, UnicodeDecodeError):
        body = (body_bytes or b"").decode("utf-8", "replace")
    retry_after = parse_retry_after(headers.get("retry-after") if headers is not None else None)
    return from_status(
        status,
        body,
        provider=resolved.provider or resolved.base_url,
        model=resolved.model,
        key_env_var=resolved.key_env_var,
        key_env_vars=resolved.key_env_vars,
        retry_after=retry_after,
    )


def truncated(resolved: Resolved) -> HermesError:
    """The stream closed cleanly but without its final event: the reply may be cut short."""
    return HermesError(
        "bad_response",
        f"{resolved.provider or resolved.base_url} ended the stream before it finished",
        hint="the partial reply is kept; send again to retry",
        provider=resolved.provider,
    )


def reported_mid_reply(resolved: Resolved, message: str | None, kind: str = "bad_response") -> HermesError:
    """An error event inside a 200 stream: the provider failed after it started answering."""
    return HermesError(
        kind,
        f"{resolved.provider or resolved.base_url} reported an error mid-reply: {message or 'unknown'}",
        hint="the partial reply is kept; try again",
        provider=resolved.provider,
    )


def incompatible_sdk(package: str, exc: BaseException, resolved: Resolved) -> HermesError:
    """The installed ``package`` refuses how hermesd calls it: its name, version and the tested range, not "a hermesd bug"."""
    from importlib import metadata

    from hermesd.tested_versions import TESTED

    try:
        version = metadata.version(package)
    except metadata.PackageNotFoundError:
        version = "(not installed)"
    tested = TESTED.get(package)
    wanted = f"{package}>={tested[0]},<={tested[1]}" if tested else package
    return HermesError(
        "config_error",
        f"hermesd cannot use the installed {package} {version} ({type(exc).__name__}: {exc})",
        hint=(f"hermesd is tested with {package} {tested[0]} to {tested[1]}: " if tested else "")
        + f"pip install '{wanted}' in hermesd's environment; `hermesd doctor` lists the versions in use",
        provider=resolved.provider,
    )


def from_exception(exc: BaseException, resolved: Resolved, *, started: bool) -> HermesError:
    """Classify anything a transport raised. ``started``: some output already arrived."""
    if isinstance(exc, HermesError):
        return exc
    label = resolved.provider or resolved.base_url
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        response = getattr(exc, "response", None)
        body = getattr(exc, "body", None)
        headers = getattr(response, "headers", None)
        raw = json.dumps(body).encode() if body is not None else b""
        return from_http_response(status, headers, raw, resolved)
    name = type(exc).__name__
    text = str(exc) or name
    cause = exc.__cause__ or exc.__context__
    if cause is not None and name.startswith("API"):  # the SDK's wrapper hides the real failure
        text = f"{text} {type(cause).__name__}: {cause}".strip()
    if _unreadable(exc):
        return HermesError(
            "bad_response",
            f"{label} sent a reply hermesd could not read ({name}: {text})",
            hint="the partial reply is kept; try again or pick another model",
            provider=resolved.provider,
        )
    if "Timeout" in name:
        if started:
            return HermesError(
                "timeout",
                f"{label} went silent mid-reply ({text})",
                hint="the partial reply is kept; send again to retry, or raise network.timeout if the model pauses for long",
                provider=resolved.provider,
            )
        return HermesError(
            "timeout",
            f"{label} did not answer in time ({text})",
            hint="try again, or raise network.timeout if the model is slow to start",
            provider=resolved.provider,
        )
    networkish = any(word in name for word in ("Connect", "Network", "Read", "Write", "Protocol", "Remote", "Incomplete", "OSError"))
    if started and (networkish or isinstance(exc, OSError)):
        return HermesError(
            "network",
            f"the connection to {label} broke mid-reply ({name}: {text})",
            hint="the partial reply is kept; send again to retry",
            provider=resolved.provider,
        )
    if networkish or isinstance(exc, OSError):
        return HermesError(
            "network",
            f"cannot reach {label} ({name}: {text})",
            hint=local.start_hint(resolved.base_url) if _users_own_server(resolved)
            else f"check the base URL ({resolved.base_url}) and your network",
            provider=resolved.provider,
        )
    if name == "APIError":  # the SDK read an {"error": ...} event inside the stream
        return HermesError(
            "bad_response",
            f"{label} reported an error mid-reply: {text}",
            hint="the partial reply is kept; try again",
            provider=resolved.provider,
        )
    return HermesError(
        "network",
        f"request to {label} failed ({name}: {text})",
        hint="try again; `hermesd doctor` checks the provider",
        provider=resolved.provider,
    )


def _users_own_server(resolved: Resolved) -> bool:
    """A model server the user runs (not a hosted provider pointed at a local proxy): not answering means not started."""
    if not local.is_local_url(resolved.base_url):
        return False
    return resolved.profile is None or local.serves_own_models(resolved.profile, resolved.base_url)


def _unreadable(exc: BaseException) -> bool:
    """The bytes arrived but do not parse: JSON, SSE or content-encoding errors (never retried)."""
    name = type(exc).__name__
    if isinstance(exc, (ValueError, KeyError, TypeError, AttributeError, IndexError)):
        return True
    return "JSON" in name or "Decod" in name
