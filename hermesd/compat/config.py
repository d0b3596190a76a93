"""``hermes_cli.config.get_env_value``: a setting from the environment, else ``$HERMES_HOME/.env``.

The order Hermes documents and hermesd already reads keys in
(:func:`hermesd.settings.credentials.lookup`); None when neither has it. nanogpt reads
``NANOGPT_MODEL_LIST_ENDPOINT`` this way at import.
"""

from __future__ import annotations

from hermesd.settings.credentials import lookup


def get_env_value(key: str) -> str | None:
    """The environment's value of ``key``, else ``$HERMES_HOME/.env``'s; None when neither has it."""
    return lookup(key)
