"""API keys: read from the environment and ``$HERMES_HOME/.env``, never shown.

Callers learn *which* variable holds a usable key; only the transports ever
see the value. :func:`redact` scrubs known secret values out of any text
before it reaches a log, an error message or an editor.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Iterable, Mapping

from hermesd.paths import env_path

PLACEHOLDERS = frozenset(
    {
        "changeme", "change-me", "change_me", "your_api_key", "your-api-key", "yourapikey",
        "your_key", "your-key", "api_key", "apikey", "dummy", "none", "null", "xxx", "xxxx",
        "todo", "placeholder", "replace-me", "replaceme", "sk-xxx", "sk-...", "<your key>",
        "<api_key>", "test", "example",
    }
)
MIN_KEY_LENGTH = 4

_cache_lock = threading.Lock()
_dotenv_cache: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def parse_dotenv(text: str) -> dict[str, str]:
    """``KEY=value`` lines; ``export``, quotes and trailing ``# comments`` allowed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        name, value = match.groups()
        closing = value.find(value[0], 1) if value[:1] in ("'", '"') else -1
        if closing > 0:
            value = value[1:closing]  # anything after the closing quote is a comment
        else:
            value = re.sub(r"\s+#.*$", "", value)
        values[name] = value
    return values


def dotenv_values(path: Path | None = None) -> dict[str, str]:
    """``$HERMES_HOME/.env``, re-read only when the file changes."""
    path = path or env_path()
    try:
        st = path.stat()
    except OSError:
        return {}
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        cached = _dotenv_cache.get(path)
        if cached and cached[0] == stamp:
            return cached[1]
    try:
        values = parse_dotenv(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return {}
    with _cache_lock:
        _dotenv_cache[path] = (stamp, values)
    return values


def lookup(name: str) -> str | None:
    """A variable's value: the process environment first, then ``.env``."""
    value = os.environ.get(name)
    if value is None:
        value = dotenv_values().get(name)
    return value


def is_usable(value: str | None) -> bool:
    """Present, long enough and not a placeholder such as ``changeme``."""
    if value is None:
        return False
    text = value.strip()
    if len(text) < MIN_KEY_LENGTH:
        return False
    lowered = text.lower()
    return lowered not in PLACEHOLDERS and lowered.strip("<>") not in PLACEHOLDERS


def find_key(env_vars: Iterable[str]) -> tuple[str | None, str | None]:
    """``(variable, value)`` of the first usable key, or ``(None, None)``."""
    for name in env_vars:
        value = lookup(name)
        if is_usable(value):
            return name, value.strip()  # type: ignore[union-attr]
    return None, None


def known_secrets(extra: Iterable[str] = ()) -> list[str]:
    """Every value that looks like a credential, for :func:`redact`."""
    secrets = set(v for v in extra if v and len(v) >= MIN_KEY_LENGTH)
    sources: list[Mapping[str, str]] = [os.environ, dotenv_values()]
    for source in sources:
        for name, value in source.items():
            if _looks_secret(name) and is_usable(value):
                secrets.add(value.strip())
    return sorted(secrets, key=len, reverse=True)


def _looks_secret(name: str) -> bool:
    from hermesd.settings.masking import is_secret_name

    return not name.upper().endswith(("_BASE_URL", "_URL")) and is_secret_name(name)


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with every known secret value replaced by ``***``, a value that came
    from a config ``${VAR}`` by that template, and any key-shaped value or URL password by ``***``."""
    if not text:
        return text
    for secret in known_secrets(extra):
        text = text.replace(secret, "***")
    for value, template in _templates():
        text = text.replace(value, template)
    from hermesd.settings.masking import mask_text

    return mask_text(text)


_template_names: set[str] = set()


def remember_templates(names: Iterable[str]) -> None:
    """Variables config.yaml names as ``${VAR}``: :func:`redact` shows their values as the template."""
    _template_names.update(names)


def _templates() -> list[tuple[str, str]]:
    pairs = []
    for name in sorted(_template_names):
        value = lookup(name)
        if value and len(value.strip()) >= MIN_KEY_LENGTH:
            pairs.append((value.strip(), "${" + name + "}"))
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)
