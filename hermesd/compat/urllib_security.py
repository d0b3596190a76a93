"""``hermes_cli.urllib_security``: open a credentialed ``urllib`` request without leaking it.

Catalog fetches of plugins (venice, zenmux) open their ``/models`` request
with :func:`open_credentialed_url`. hermesd's rule for its own catalog fetch
applies (:func:`providers.base.same_origin`): a redirect is followed only
within the request's scheme, host and port, at most
:data:`providers.base.MAX_REDIRECTS` times; one to another origin raises
``urllib.error.HTTPError`` instead of carrying the key (urllib keeps every
header on a redirect).
"""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any, Callable
from urllib.parse import urlsplit

from providers.base import MAX_REDIRECTS, same_origin

__all__ = ["SafeCredentialRedirectHandler", "open_credentialed_url", "url_origin"]


def url_origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of ``url``, lower-cased, the port explicit when it is the default."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


class SafeCredentialRedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follows same-origin redirects of ``original_url`` only."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, original_url: str) -> None:
        super().__init__()
        self.original_url = original_url

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        """Follow a redirect within ``original_url``'s origin; raise ``HTTPError`` for any other, so the key stays."""
        if not same_origin(self.original_url, newurl):
            raise urllib.error.HTTPError(
                req.full_url, code, f"redirect to another origin refused (credentials stay with {url_origin(self.original_url)[1]})",
                headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def open_credentialed_url(
    request: urllib.request.Request,
    *,
    timeout: float,
    opener_factory: Callable[..., Any] | None = None,
) -> Any:
    """Open ``request`` following only same-origin redirects; the response, as ``urlopen`` returns it."""
    handler = SafeCredentialRedirectHandler(request.full_url)
    opener = (opener_factory or urllib.request.build_opener)(handler)
    return opener.open(request, timeout=timeout)
