"""``agent.portal_tags.nous_portal_tags``: the attribution tags of Nous Portal requests.

Hermes 0.19.0's ``nous`` plugin imports it (0.13.0's wrote the one tag inline):
the product, the client release (``hermes_cli.__version__``, which hermesd keeps at
the contract it implements, see :mod:`hermesd.compat.version`) and, with a
session, the conversation, so the Portal credits usage as it does Hermes'. Hermes'
ambient conversation context (set by its agent loop) has no counterpart here: a
caller passes the session.
"""

from __future__ import annotations

from hermesd.compat.version import __version__


def nous_portal_tags(session_id: str | None = None) -> list[str]:
    """A fresh list of the Portal tags, with ``conversation=<session_id>`` when there is one."""
    tags = ["product=hermes-agent", f"client=hermes-client-v{__version__}"]
    if session_id:
        tags.append(f"conversation={session_id}")
    return tags
