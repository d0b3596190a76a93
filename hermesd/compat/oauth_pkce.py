"""``hermes_cli.auth_oauth_pkce_plugin``: the names an OAuth provider plugin builds its profile with.

zenmux imports ``OAuthPKCEConfig``, ``pkce_auth_handler`` and
``pkce_refresh_credential`` at module level to fill ``auth_handler=`` and
``refresh_credential=`` (fields of Hermes releases newer than 0.19.0, which
hermesd keeps and does not call). They exist here so the plugin's profile
loads; hermesd runs no OAuth login or refresh: the handlers say so when called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["OAuthPKCEConfig", "pkce_auth_handler", "pkce_refresh_credential"]


@dataclass
class OAuthPKCEConfig:
    """An OAuth authorization-code-with-PKCE client: where to sign in and where tokens come from."""

    client_id: str = ""
    authorize_url: str = ""
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    redirect_port: int = 0
    redirect_path: str = "/callback"
    timeout_seconds: float = 300
    label: str = ""
    audience: str = ""
    extra_authorize_params: dict[str, str] = field(default_factory=dict)


class NotSupported(RuntimeError):
    """hermesd does not sign in to providers; Hermes does."""


def _refuse(oauth: OAuthPKCEConfig, what: str) -> NotSupported:
    return NotSupported(f"hermesd does not {what} {oauth.label or 'this provider'} over OAuth: "
                        "sign in with the Hermes agent (`hermes auth add`)")


def pkce_auth_handler(oauth: OAuthPKCEConfig) -> Callable[[str, Any], bool]:
    """A sign-in handler for the profile's ``auth_handler``; calling it raises :class:`NotSupported`."""
    def handler(action: str, args: Any) -> bool:
        raise _refuse(oauth, "sign in to")

    return handler


def pkce_refresh_credential(oauth: OAuthPKCEConfig) -> Callable[..., Any]:
    """A refresher for the profile's ``refresh_credential``; calling it raises :class:`NotSupported`."""
    def refresh(*args: Any, **kwargs: Any) -> Any:
        raise _refuse(oauth, "refresh tokens for")

    return refresh
