"""A URL's user name and password: found and masked, for config's checks and the redaction of every log and error.

Below both :mod:`hermesd.settings.config` (which refuses such URLs) and
:mod:`hermesd.settings.credentials` (whose ``redact`` masks them), so neither imports the other for it.
"""

from __future__ import annotations

import re

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/@\s:]*):([^/@\s]*)@")


def has_userinfo(url: str) -> bool:
    """True when ``url`` names a user (``https://user:pass@host``)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "@" in url
    return bool(parts.username or parts.password or "@" in parts.netloc)


def mask_url(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` with the password as ``***``."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:***@", text) if "@" in text else text
