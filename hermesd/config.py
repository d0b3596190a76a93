"""``$HERMES_HOME/config.yaml``: typed keys, validation, atomic writes.

The file is the user's: we keep keys we do not know, never replace a file
we could not parse, and write through a temp file + fsync + rename under a
file lock, so a crash leaves the old or the new file and two writers never
lose each other's update. The previous version is kept as ``config.yaml.bak``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from providers.pareto import DEFAULT_MIN_CODING_SCORE, coerce_min_coding_score

from hermesd.paths import config_path

API_MODES = ("chat_completions", "codex_responses", "anthropic_messages", "bedrock_converse")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")


class ConfigError(ValueError):
    """A value that breaks a key's rule; the message names both."""


class ConfigUnreadable(Exception):
    """The file exists but cannot be parsed; writing would destroy it."""

    def __init__(self, path: Path, message: str, line: int | None) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}. Fix the file by hand; hermesd will not overwrite it.")
        self.path, self.line, self.detail = path, line, message


def _shown(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= 60 else text[:57] + "..."


# -- validators: return the normalised value or raise ConfigError -----------


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string (got {_shown(value)})")
    return value.strip()


def _provider(key: str, value: Any) -> str:
    """A provider name; ``auto`` (the Hermes agent's spelling) means empty.

    Whether a plugin registers the name is checked only when writing (see
    :func:`validate`): a plugin removed later must not silently blank the
    user's setting, and doctor reports the unknown name instead.
    """
    name = _string(key, value)
    return "" if name.lower() == "auto" else name


def provider_exists(name: str) -> bool:
    import providers

    return providers.get_provider_profile(name) is not None


def _url(key: str, value: Any) -> str:
    url = _string(key, value)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key} must be an http:// or https:// URL, or empty (got {_shown(value)})")
    return url.rstrip("/")


def _api_mode(key: str, value: Any) -> str:
    mode = _string(key, value)
    mode = "codex_responses" if mode == "responses" else mode
    if mode and mode not in API_MODES:
        raise ConfigError(f"{key} must be one of {', '.join(API_MODES)} or empty (got {_shown(value)})")
    return mode


def _effort(key: str, value: Any) -> str:
    effort = _string(key, value).lower()
    if effort and effort not in REASONING_EFFORTS:
        raise ConfigError(f"{key} must be one of {', '.join(REASONING_EFFORTS)} or empty (got {_shown(value)})")
    return effort


def _number(low: float, high: float) -> Callable[[str, Any], float | None]:
    def check(key: str, value: Any) -> float | None:
        if value is None:
            return None
        number = _as_float(value)
        if number is None or not low <= number <= high:
            raise ConfigError(f"{key} must be a number from {low} to {high} (got {_shown(value)})")
        return number

    check.rule = {"type": "number", "min": low, "max": high, "nullable": True}  # type: ignore[attr-defined]
    return check


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        return None
    return float(value)


def _integer(low: int, high: int | None = None, nullable: bool = False) -> Callable[[str, Any], int | None]:
    def check(key: str, value: Any) -> int | None:
        if value is None and nullable:
            return None
        number = _as_float(value)
        if number is None or number != int(number) or number < low or (high is not None and number > high):
            rule = f"from {low} to {high}" if high is not None else f"of at least {low}"
            extra = " or null" if nullable else ""
            raise ConfigError(f"{key} must be a whole number {rule}{extra} (got {_shown(value)})")
        return int(number)

    check.rule = {"type": "integer", "min": low, "max": high, "nullable": nullable}  # type: ignore[attr-defined]
    return check


class ReadAs(ConfigError):
    """A file value kept in a Hermes-compatible reading (``value``) but still reported."""

    def __init__(self, message: str, value: Any) -> None:
        super().__init__(message)
        self.value = value


def _min_coding_score(key: str, value: Any, *, writing: bool = False) -> float | None:
    """Hermes' reading of the score (providers.pareto): anything unusable means no floor.

    null means no floor on purpose. A hand-edited value that is not a number
    in [0, 1] is read as Hermes' CLI reads it (no floor; a boolean as 1.0 or
    0.0) and reported. A value being written must be a number in range, or null.
    """
    score = coerce_min_coding_score(value)
    if value is None or (score is not None and not isinstance(value, bool)):
        return score
    message = f"{key} must be a number from 0.0 to 1.0 (got {_shown(value)})"
    if writing:
        raise ConfigError(message)
    read = "ignored: no floor is sent" if score is None else f"read as {score:g}"
    raise ReadAs(f"{message}; {read}, as the Hermes agent reads it", score)


_min_coding_score.rule = {"type": "number", "min": 0.0, "max": 1.0, "nullable": True}  # type: ignore[attr-defined]


MAX_VALUE_DEPTH = 16  # what hermes/setConfig accepts for a mapping value
MAX_FILE_DEPTH = 64  # what a hand-written file may hold anywhere


def _mapping(key: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping (got {_shown(value)})")
    if deeper_than(value, MAX_VALUE_DEPTH):
        # YAML reads and writes recursively: a deeper value could be written but never read back.
        raise ConfigError(f"{key} is nested more than {MAX_VALUE_DEPTH} levels deep")
    return value


def is_valid_unicode(value: Any) -> bool:
    """False when a string anywhere in ``value`` holds a lone surrogate.

    JSON can carry ``"\\ud800"``; such a string cannot be encoded as UTF-8, so
    it could be neither written to a file nor sent upstream.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def deeper_than(value: Any, limit: int) -> bool:
    """True when lists and mappings nest more than ``limit`` levels.

    Iterative (the value may be thousands deep) and bounded, so it also ends
    on a YAML alias that contains itself (``a: &x [*x]``).
    """
    stack = [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in (node.values() if isinstance(node, dict) else node))
    return False


@dataclass(frozen=True)
class Key:
    name: str
    default: Any
    check: Callable[[str, Any], Any]
    doc: str


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("model.provider", "", _provider, "provider name or alias; empty: auto-detect"),
        Key("model.default", "", _string, "model id used when a request names none"),
        Key("model.base_url", "", _url, "endpoint override for model.provider"),
        Key("model.api_mode", "", _api_mode, "force an API shape; empty: detect"),
        Key("model.reasoning_effort", "", _effort, "reasoning effort; empty: provider default"),
        Key("model.temperature", None, _number(0.0, 2.0), "sampling temperature; null: provider default"),
        Key("model.max_tokens", None, _integer(1, nullable=True), "output cap; null: provider default"),
        Key("openrouter.min_coding_score", DEFAULT_MIN_CODING_SCORE, _min_coding_score,
            "Pareto Code router floor; null: no floor (strongest coder)"),
        Key("openrouter.provider_preferences", {}, _mapping, "OpenRouter `provider` routing object"),
        Key("auxiliary.provider", "", _provider, "provider for summaries; empty: the session's"),
        Key("auxiliary.model", "", _string, "model for summaries; empty: the provider's default_aux_model"),
        Key("context.budget_tokens", 32000, _integer(1000), "summarise older turns beyond this estimate"),
        Key("context.keep_recent_messages", 6, _integer(2), "messages never summarised"),
        Key("ollama.num_ctx", None, _integer(1, nullable=True), "context window sent to Ollama"),
        Key("network.timeout", 120.0, _number(1.0, 3600.0), "seconds without a byte before giving up"),
        Key("network.connect_timeout", 10.0, _number(0.5, 300.0), "seconds to connect"),
        Key("network.max_retries", 2, _integer(0, 10), "retries of 429/5xx before the first token"),
        Key("catalog.ttl_seconds", 3600, _integer(0), "how long a fetched model list is reused"),
    )
}


_RULES: dict[Callable[[str, Any], Any], dict[str, Any]] = {
    _string: {"type": "string"},
    _provider: {"type": "provider"},
    _url: {"type": "url"},
    _api_mode: {"type": "enum", "enum": ["", *API_MODES]},
    _effort: {"type": "enum", "enum": ["", *REASONING_EFFORTS]},
    _mapping: {"type": "mapping"},
}


def defaults() -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key in KEYS.values():
        _set_path(tree, key.name, json.loads(json.dumps(key.default)))
    return tree


@dataclass
class Config:
    """The effective configuration and what went wrong reading it."""

    path: Path
    raw: dict[str, Any]
    values: dict[str, Any]
    parse_error: ConfigUnreadable | None = None
    problems: list[str] = field(default_factory=list)

    def get(self, key: str) -> Any:
        return _get_path(self.values, key)

    def has(self, key: str) -> bool:
        """True when the file sets ``key`` (even to null)."""
        return _has_path(self.raw, key)


_loaded: dict[Path, tuple[bytes, Config]] = {}


def load(path: Path | None = None) -> Config:
    """The effective config, parsed again only when the file's bytes change.

    Every chat reads the config; parsing YAML each time cost ~1 ms of a
    chat's time to first token, while reading the small file to compare is a
    few microseconds. The returned object is shared: treat it as read-only.
    """
    path = path or config_path()
    try:
        data = path.read_bytes()
    except OSError:
        data = None
    cached = _loaded.get(path)
    if data is not None and cached is not None and cached[0] == data:
        return cached[1]
    config = _load_file(path)
    if data is not None:
        _loaded[path] = (data, config)
    return config


def _load_file(path: Path) -> Config:
    """Read the file; bad values fall back to defaults and are listed as problems."""
    raw: dict[str, Any] = {}
    parse_error = None
    try:
        raw = _parse(path)
    except ConfigUnreadable as exc:
        parse_error = exc
    values = defaults()
    problems: list[str] = []
    for section in dict.fromkeys(name.split(".")[0] for name in KEYS):
        content = raw.get(section)
        if content is not None and not isinstance(content, dict):
            problems.append(f"{section} must be a mapping of keys (got {_shown(content)}); its keys use their defaults")
    for key in KEYS.values():
        if not _has_path(raw, key.name):
            continue
        try:
            _set_path(values, key.name, key.check(key.name, _get_path(raw, key.name)))
        except ReadAs as exc:
            _set_path(values, key.name, exc.value)
            problems.append(str(exc))
        except ConfigError as exc:
            problems.append(f"{exc}; using the default {_shown(key.default)}")
    # Unknown keys ride along untouched so plugins or newer versions can read them.
    for section, content in raw.items():
        if section not in values:
            values[section] = content
        elif isinstance(content, dict):
            for name, value in content.items():
                values[section].setdefault(name, value)
    return Config(path, raw, values, parse_error, problems)


def _parse(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigUnreadable(path, f"cannot read: {exc}", None) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigUnreadable(path, f"invalid YAML: {problem}", line) from exc
    except RecursionError as exc:  # the YAML parser recurses per nesting level
        raise ConfigUnreadable(path, "nested too deeply to read", None) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # a tag or date PyYAML cannot build (2024-13-45, !!int x)
        raise ConfigUnreadable(path, f"invalid YAML value: {exc}", None) from exc
    if deeper_than(data, MAX_FILE_DEPTH):
        raise ConfigUnreadable(path, f"nested more than {MAX_FILE_DEPTH} levels deep, or an alias contains itself", None)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigUnreadable(path, "the top level must be a mapping of sections", 1)
    return data


def validate(key: str, value: Any) -> Any:
    """The normalised value for ``key``, or ConfigError naming the rule."""
    spec = KEYS.get(key)
    if spec is None:
        known = ", ".join(sorted(KEYS))
        raise ConfigError(f"unknown config key {key!r}; known keys: {known}")
    if not is_valid_unicode(value):
        raise ConfigError(f"{key} must be valid Unicode text (it contains a lone surrogate such as \\ud800)")
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS and describe(spec)["nullable"]:
        value = None  # typed into an editor's input box or the CLI; the rule lives here, not in each client
    if spec.check is _min_coding_score:
        return _min_coding_score(key, value, writing=True)  # stricter than reading a hand edit
    normalised = spec.check(key, value)
    if spec.check is _provider and normalised and not provider_exists(normalised):
        raise ConfigError(
            f"{key} must be a known provider name or alias (got {_shown(value)}); "
            "run `hermesd providers` to see them"
        )
    return normalised


def set_value(key: str, value: Any, *, reset: bool = False, path: Path | None = None) -> Any:
    """Validate, then write ``key`` atomically. Returns the new effective value."""
    path = path or config_path()
    normalised = None if reset else validate(key, value)
    if reset and key not in KEYS:
        validate(key, None)  # raises the unknown-key error
    _rewrite(path, lambda raw: _delete_path(raw, key) if reset else _set_path(raw, key, normalised))
    return load(path).get(key)


def set_values(values: dict[str, Any], *, unset: tuple[str, ...] = (), path: Path | None = None) -> None:
    """Validate every key, then set ``values`` and remove ``unset`` in one atomic write (``hermesd setup``)."""
    normalised = {key: validate(key, value) for key, value in values.items()}

    def change(raw: dict[str, Any]) -> None:
        for key, value in normalised.items():
            _set_path(raw, key, value)
        for key in unset:
            _delete_path(raw, key)

    _rewrite(path or config_path(), change)


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        raw = _parse(path)  # re-read under the lock: never lose a concurrent write
        change(raw)
        # A symlinked config (dotfiles) stays a link: the file it points to is replaced.
        _atomic_write(path.resolve() if path.is_symlink() else path, _dump(raw))


SCORE_KEY = "openrouter.min_coding_score"
NULL_WORDS = ("none", "null", "off")  # typed for a nullable key, they mean null


def select_model(provider: str, model: str, changes: dict[str, Any] | None = None, *, path: Path | None = None) -> Config:
    """Write ``model.provider``, ``model.default`` and ``changes`` in one atomic write.

    Everything is validated before the file is touched, so a refusal leaves
    it byte-identical. On a provider switch, a ``model.base_url`` set for the
    old provider moves to ``providers.<old>.base_url`` and a forced
    ``model.api_mode`` is dropped: both described the old endpoint, and the
    new provider's key must never be sent to the old provider's URL.
    """
    path = path or config_path()
    if not model.strip():
        raise ConfigError("model must be a model id (got an empty string)")
    values = {"model.provider": validate("model.provider", provider), "model.default": validate("model.default", model)}
    values.update((key, validate(key, value)) for key, value in (changes or {}).items())
    if not values["model.provider"]:
        raise ConfigError("provider must be a provider name or alias (got an empty string)")

    def change(raw: dict[str, Any]) -> None:
        old = _get_path(raw, "model.provider")
        if _provider_identity(old) != _provider_identity(values["model.provider"]):
            url = _get_path(raw, "model.base_url")
            if isinstance(url, str) and url.strip():
                owner = old.strip() if isinstance(old, str) and old.strip() and old.strip().lower() != "auto" else "custom"
                _set_path(raw, f"providers.{owner}.base_url", url)
            _delete_path(raw, "model.base_url")
            _delete_path(raw, "model.api_mode")
        for key, value in values.items():
            _set_path(raw, key, value)

    _rewrite(path, change)
    return load(path)


def changed_keys(before: Config, after: Config) -> list[tuple[str, Any]]:
    """The known keys whose effective value differs, with the new value (for hermes/configChanged)."""
    return [(key, after.get(key)) for key in KEYS if before.get(key) != after.get(key)]


def _provider_identity(name: Any) -> str:
    """A provider's canonical name (aliases resolved), ``""`` for none or auto."""
    import providers

    name = name.strip() if isinstance(name, str) else ""
    if not name or name.lower() == "auto":
        return ""
    profile = providers.get_provider_profile(name)
    return profile.name if profile is not None else name.lower()


def describe(key: Key) -> dict[str, Any]:
    """A key's rule as data (``hermes/describeConfig``), so no editor keeps a copy of it."""
    rule: dict[str, Any] = dict(getattr(key.check, "rule", None) or _RULES.get(key.check, {"type": "string"}))
    rule.setdefault("nullable", False)
    return {"key": key.name, "default": key.default, "doc": key.doc, **rule}


def _dump(data: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on a sidecar file, held across read-modify-write."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _atomic_write(path: Path, text: str) -> None:
    """Temp file in the same directory, fsync, keep a backup, rename, fsync the directory.

    Called under the lock, so any temp file already there belongs to a writer
    that was killed mid-write: it is removed rather than left in the user's home.
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        if path.exists():
            _keep_backup(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _keep_backup(path: Path, tmp: str) -> None:
    """``config.yaml.bak`` becomes the current file, atomically (a hard link renamed into place)."""
    backup = path.with_name(path.name + ".bak")
    staged = tmp[: -len(".tmp")] + ".bak.tmp"  # still matches the stale-temp pattern if we are killed
    try:
        os.link(path, staged)
    except OSError:  # no hard links here (some network or FAT file systems): copy instead
        with contextlib.suppress(OSError):
            shutil.copyfile(path, staged)
    with contextlib.suppress(OSError):
        os.chmod(staged, 0o600)  # the new file is 0600; its backup should not be wider
    with contextlib.suppress(OSError):
        os.rename(staged, backup)  # POSIX rename: atomic, replaces the old backup


_SECRET_WORDS = ("key", "token", "secret", "password", "credential")


def masked(tree: Any, _name: str = "") -> Any:
    """A JSON-safe copy with secret-looking values replaced by ``***`` (for editors and logs).

    YAML has dates, NaN and non-string keys, which JSON (and so an editor) cannot take.
    """
    if isinstance(tree, dict):
        return {str(k): masked(v, str(k)) for k, v in tree.items()}
    if isinstance(tree, (list, tuple, set)):
        return [masked(v, _name) for v in tree]
    lowered = _name.lower()
    if isinstance(tree, str) and tree and any(w in lowered for w in _SECRET_WORDS):
        return "***"
    if isinstance(tree, float) and not math.isfinite(tree):
        return str(tree)
    if tree is None or isinstance(tree, (str, int, float)):
        return tree
    return tree.isoformat() if hasattr(tree, "isoformat") else str(tree)


# -- dotted paths --------------------------------------------------------


def _get_path(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _has_path(tree: dict[str, Any], key: str) -> bool:
    node: Any = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _set_path(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[leaf] = value


def _delete_path(tree: dict[str, Any], key: str) -> None:
    """Remove ``key``, and the sections it leaves empty (no ``openrouter: {}`` behind)."""
    *parents, leaf = key.split(".")
    chain: list[tuple[dict[str, Any], str]] = []
    node: Any = tree
    for part in parents:
        if not isinstance(node, dict):
            return
        chain.append((node, part))
        node = node.get(part)
    if not isinstance(node, dict) or leaf not in node:
        return
    node.pop(leaf)
    for parent, part in reversed(chain):
        if parent.get(part) != {}:
            break
        del parent[part]
