"""What counts as a secret and how it is masked: secret-sounding names, key-shaped values, URL passwords.

One rule for every output (getConfig, ``config get``, previews, doctor, errors, logs). Below both
:mod:`hermesd.settings.config` (which refuses URLs with a password) and :mod:`hermesd.settings.credentials`
(whose ``redact`` masks them), so neither imports the other for it.
"""

from __future__ import annotations

import re
from typing import Any

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


# Parts of a name whose value is masked (``auth`` covers ``authorization``, ``oauth``, ``X-Auth``).
_SECRET_WORDS = ("key", "token", "secret", "password", "passwd", "passphrase", "credential", "creds", "auth", "bearer",
                 "cookie")


def is_secret_name(name: str) -> bool:
    """Whether a name (header, field, variable) sounds like it holds a secret, so its value is masked."""
    lowered = name.lower()
    return any(word in lowered for word in _SECRET_WORDS)


# Values shaped like a provider's key, masked under any name: OpenAI/Anthropic/OpenRouter/DeepSeek ``sk-``,
# Groq ``gsk_``, xAI ``xai-``, Hugging Face ``hf_``, GitHub ``ghp_``/``github_pat_``, AWS ``AKIA``/``ASIA``,
# Google ``AIza``, Slack ``xox?-``, Stripe ``sk_live_``/``rk_live_``. Each needs a digit and some length,
# so words such as ``sk-learn`` or ``task-list`` are left alone.
_KEY_SHAPE = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:sk|gsk|xai|hf|ghp|gho|ghu|ghs|ghr|github_pat|sk_live|sk_test|rk_live|xox[abprs])[-_]"
    r"(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{16,}"
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"
    r"|AIza[0-9A-Za-z_-]{35}"
    r")"
)


def mask_text(text: str) -> str:
    """``text`` with every key-shaped value as ``***`` and every URL password as ``***``: what every output
    (getConfig, ``config get``, previews, doctor, errors, logs) does to a string whatever its name."""
    return mask_url(_KEY_SHAPE.sub("***", text))


def mask_values(tree: Any) -> Any:
    """A JSON tree with :func:`mask_text` applied to every string in it (a preview's body: names kept as sent)."""
    if isinstance(tree, dict):
        return {k: mask_values(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [mask_values(v) for v in tree]
    return mask_text(tree) if isinstance(tree, str) else tree
