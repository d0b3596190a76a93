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
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from providers.pareto import DEFAULT_MIN_CODING_SCORE, coerce_min_coding_score

from hermesd.paths import config_path
from hermesd.settings.masking import has_userinfo, is_secret_name, mask_text, mask_url, mask_values

API_MODES = ("chat_completions", "codex_responses", "anthropic_messages", "bedrock_converse")
# Hermes 0.19.0's efforts (its VALID_REASONING_EFFORTS plus "none"). Each is handed to the
# provider's plugin verbatim; what a provider cannot take, its plugin or wire format maps.
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra")


class ConfigError(ValueError):
    """A value that breaks a key's rule; the message names both."""


class UnknownName(ConfigError):
    """A config key, or a provider named as a value, that does not exist: a usage error (``hermesd`` exits 2)."""


def unknown_key(key: str) -> UnknownName:
    """The one wording for a key nobody knows, with the closest known keys (``config get``, ``set``, setConfig)."""
    from hermesd.settings.suggest import did_you_mean

    near = did_you_mean(key, [*KEYS, *ALIASES])
    return UnknownName(f"unknown config key {key!r}{near}; `hermesd config get` prints every key and its value"
                       " (also providers.NAME.base_url)")


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
    """Whether a plugin registers ``name``, as a name or an alias."""
    import providers

    return providers.get_provider_profile(name) is not None


def _url(key: str, value: Any) -> str:
    url = _string(key, value)
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{key} must be an http:// or https:// URL, or empty (got {_shown(mask_url(url))})")
    if has_userinfo(url):
        # httpx would turn it into Basic auth and drop the Bearer key; and the password would be shown.
        raise ConfigError(f"{key} must not hold a user name or password (got {_shown(mask_url(url))}); "
                          "put the key in the provider's API key variable instead")
    return url.rstrip("/")


# Hermes' other names for the API shapes: ``responses``, and the ``transport`` values Hermes
# writes under ``providers.<name>`` (hermes_cli.providers.TRANSPORT_TO_API_MODE in 0.19.0,
# whose other transports are the api_modes' own names).
API_MODE_NAMES = {"responses": "codex_responses", "openai_chat": "chat_completions"}


def api_mode_named(name: str) -> str:
    """The api_mode a config value names, in any of Hermes' spellings (``openai_chat``: chat_completions)."""
    mode = name.strip().lower()
    return API_MODE_NAMES.get(mode, mode)


def _api_mode(key: str, value: Any) -> str:
    mode = api_mode_named(_string(key, value))
    if mode and mode not in API_MODES:
        raise ConfigError(f"{key} must be one of {', '.join(API_MODES)} or empty (got {_shown(value)})")
    return mode


def _effort(key: str, value: Any) -> str:
    # Hermes reads YAML's false (``reasoning_effort: off`` / ``no`` / ``false``), "false" and "disabled" as "none".
    effort = "none" if value is False else _string(key, value).lower()
    effort = "none" if effort in ("false", "disabled") else effort
    if effort and effort not in REASONING_EFFORTS:
        raise ConfigError(f"{key} must be one of {', '.join(REASONING_EFFORTS)} or empty (got {_shown(value)})")
    return effort


def _choice(*choices: str) -> Callable[[str, Any], str]:
    """One of ``choices`` (the first, usually empty, is the default)."""
    def check(key: str, value: Any) -> str:
        text = _string(key, value).strip().lower()
        if text not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(c or '(empty)' for c in choices)} (got {_shown(value)})")
        return text

    check.rule = {"type": "enum", "enum": list(choices)}  # type: ignore[attr-defined]
    return check


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


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key} must be true or false (got {_shown(value)})")
    return value


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


OPENROUTER_SORTS = ("latency", "price", "throughput")


def _routing(key: str, value: Any) -> dict[str, Any]:
    """OpenRouter's provider routing; a ``sort`` it does not know is dropped, as Hermes 0.19.0 drops it, and reported."""
    routing = _mapping(key, value)
    sort = routing.get("sort")
    if sort is None or (isinstance(sort, str) and sort.strip().lower() in ("", *OPENROUTER_SORTS)):
        return routing
    kept = {k: v for k, v in routing.items() if k != "sort"}
    raise ReadAs(f"{key}.sort must be one of {', '.join(OPENROUTER_SORTS)} (got {_shown(sort)}); "
                 "ignored: no sort is sent, as the Hermes agent does", kept)


_routing.rule = {"type": "mapping"}  # type: ignore[attr-defined]


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
    """One config key: its default, its validator (returns the normalised value or raises ConfigError), its doc."""

    name: str
    default: Any
    check: Callable[[str, Any], Any]
    doc: str


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("model.provider", "", _provider, "provider name or alias; empty: auto-detect"),
        Key("model.default", "", _string, "model id used when a request names none"),
        Key("model.base_url", "", _url, "endpoint for model.provider when it is custom or unset (docs/config.md)"),
        Key("model.api_mode", "", _api_mode, "force an API shape; empty: detect"),
        Key("agent.reasoning_effort", "", _effort, "reasoning effort; empty: provider default"),
        Key("model.temperature", None, _number(0.0, 2.0), "sampling temperature; null: provider default"),
        Key("model.max_tokens", None, _integer(1, nullable=True), "output cap; null: provider default"),
        Key("openrouter.min_coding_score", DEFAULT_MIN_CODING_SCORE, _min_coding_score,
            "Pareto Code router floor; null: no floor (strongest coder)"),
        Key("openrouter.response_cache", False, _boolean,
            "ask OpenRouter to cache responses (X-OpenRouter-Cache); off unlike Hermes: docs/plugins.md"),
        Key("openrouter.response_cache_ttl", 300, _integer(1, 86400), "seconds OpenRouter keeps a cached response"),
        Key("provider_routing", {}, _routing, "OpenRouter provider routing: sort, only, ignore, order, ..."),
        Key("auxiliary.compression.provider", "", _provider, "provider for summaries; empty: the session's"),
        Key("auxiliary.compression.model", "", _string, "model for summaries; empty: the provider's default_aux_model"),
        Key("context.budget_tokens", 32000, _integer(1000), "summarise older turns beyond this estimate"),
        Key("context.keep_recent_messages", 6, _integer(2), "messages never summarised"),
        Key("ollama.num_ctx", None, _integer(1, nullable=True), "context window sent to Ollama"),
        Key("network.timeout", 120.0, _number(1.0, 3600.0), "seconds without a byte before giving up"),
        Key("network.connect_timeout", 10.0, _number(0.5, 300.0), "seconds to connect"),
        Key("network.max_concurrent_requests", 100, _integer(1, 1000),
            "requests in flight to one endpoint at once; further chats wait their turn, in order"),
        Key("agent.api_max_retries", 3, _integer(1, 11), "attempts (first try included) before the first token"),
        Key("catalog.ttl_seconds", 3600, _integer(0), "how long a fetched model list is reused"),
        Key("completion.provider", "", _provider, "provider for inline completion; empty: completion off"),
        Key("completion.model", "", _string, "model for inline completion (a code model with FIM); empty: off"),
        Key("completion.base_url", "", _url, "endpoint for completion.provider when it differs from the provider's own"),
        Key("completion.endpoint", "", _choice("", "completions", "fim", "infill", "ollama", "chat"),
            "FIM wire: completions (/v1/completions), fim (Mistral), infill (llama.cpp), ollama (/api/generate), "
            "chat (hole-filler prompt); empty: chosen from the provider (docs/completion.md)"),
        Key("completion.template", "", _string, "FIM template family, `server`, or a completion.templates name; empty: from the model id"),
        Key("completion.max_tokens", 64, _integer(1, 4096), "most tokens one completion may write"),
        Key("completion.prefix_chars", 6000, _integer(0, 200000), "characters before the cursor sent as the prefix"),
        Key("completion.suffix_chars", 2000, _integer(0, 200000), "characters after the cursor sent as the suffix"),
        Key("completion.multiline", True, _boolean, "suggest more than the rest of the line; false: one line at most"),
        Key("completion.languages", {}, _mapping, "language id -> false turns completion off there (`\"*\": false`: everywhere)"),
        Key("completion.templates", {}, _mapping, "your own FIM templates: name -> {layout: \"...{prefix}...{suffix}...\", stop: [...]}"),
        Key("completion.hosted_workspaces", {}, _mapping,
            "folder -> true: its buffers may go to a hosted (non-local) completion provider (`\"*\": true`: any)"),
        Key("completion.debounce_ms", 0, _integer(0, 2000), "least wait before asking the model; grows while keystrokes outrun replies"),
        Key("daemon.idle_timeout", 300, _integer(1), "seconds the shared daemon lives without clients"),
        Key("daemon.stop_grace", 5.0, _number(0.0, 300.0),
            "on SIGTERM/SIGINT, seconds running chats may take to finish before they are cancelled (partial text saved)"),
    )
}


_RULES: dict[Callable[[str, Any], Any], dict[str, Any]] = {
    _string: {"type": "string"},
    _provider: {"type": "provider"},
    _url: {"type": "url"},
    _api_mode: {"type": "enum", "enum": ["", *API_MODES]},
    _effort: {"type": "enum", "enum": ["", *REASONING_EFFORTS]},
    _mapping: {"type": "mapping"},
    _boolean: {"type": "boolean"},
}


@dataclass(frozen=True)
class Alias:
    """hermesd's older name for a Hermes key: read when the Hermes key is absent, written to it."""

    name: str
    canonical: str
    to_canonical: Callable[[Any], Any] = lambda v: v
    from_canonical: Callable[[Any], Any] = lambda v: v
    check: Callable[[str, Any], Any] | None = None  # when its values differ from the Hermes key's


ALIASES: dict[str, Alias] = {
    a.name: a
    for a in (
        Alias("model.reasoning_effort", "agent.reasoning_effort"),
        Alias("openrouter.provider_preferences", "provider_routing"),
        Alias("auxiliary.provider", "auxiliary.compression.provider"),
        Alias("auxiliary.model", "auxiliary.compression.model"),
        # hermesd counted retries after the first attempt; Hermes counts attempts.
        Alias("network.max_retries", "agent.api_max_retries",
              lambda v: v + 1 if isinstance(v, int) and not isinstance(v, bool) else v,
              lambda v: v - 1 if isinstance(v, int) else v, _integer(0, 10)),
    )
}


def canonical_key(key: str) -> str:
    """The Hermes key an older hermesd name (:data:`ALIASES`) stands for; other keys unchanged."""
    alias = ALIASES.get(key)
    return alias.canonical if alias else key


def defaults() -> dict[str, Any]:
    """The built-in defaults as a nested tree, under both the Hermes keys and their older aliases; a fresh copy."""
    tree: dict[str, Any] = {}
    for key in KEYS.values():
        _set_path(tree, key.name, json.loads(json.dumps(key.default)))
    for alias in ALIASES.values():
        _set_path(tree, alias.name, alias.from_canonical(_get_path(tree, alias.canonical)))
    return tree


@dataclass
class Config:
    """The effective configuration and what went wrong reading it.

    ``raw`` is the file as written (``${VAR}`` templates intact), ``values``
    what hermesd uses (Hermes' migrations applied, templates expanded), and
    ``shown`` the effective values with the templates put back: what
    editors, ``config get`` and doctor may display.
    """

    path: Path
    raw: dict[str, Any]
    values: dict[str, Any]
    parse_error: ConfigUnreadable | None = None
    problems: list[str] = field(default_factory=list)
    shown: dict[str, Any] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)  # "key: ${VAR}" left as written
    template_names: tuple[str, ...] = ()  # variables the file's templates name
    env_stamp: tuple = ()  # their values when it was read

    def get(self, key: str) -> Any:
        """The effective value at dotted ``key``; None when absent."""
        return _get_path(self.values, key)

    def show(self, key: str = "") -> Any:
        """``key`` (the whole config when empty) as it may be displayed: ``${VAR}`` as written, unmasked."""
        return _get_path(self.shown, key) if key else self.shown

    def has(self, key: str) -> bool:
        """True when the file sets ``key`` or its alias (even to null)."""
        tree = migrate(self.raw)
        alias = ALIASES.get(key)
        names = [key, alias.canonical] if alias else [key, *(a.name for a in ALIASES.values() if a.canonical == key)]
        return any(_has_path(tree, name) for name in names)


_loaded: dict[Path, tuple[bytes | None, Config]] = {}
_UNCACHED = object()  # a file read() refused (too large, unreadable): parsed again for its error


def load(path: Path | None = None) -> Config:
    """The effective config, parsed again only when the file's bytes change.

    Every chat reads the config; parsing YAML each time cost ~1 ms of a
    chat's time to first token, while reading the small file to compare is a
    few microseconds. The returned object is shared: treat it as read-only.
    """
    path = path or config_path()
    data: Any
    try:
        data = path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else _UNCACHED
    except FileNotFoundError:  # no file (the defaults, cached too), unless a dangling symlink (an error)
        data = _UNCACHED if path.is_symlink() else None
    except OSError:
        data = _UNCACHED
    cached = _loaded.get(path)
    if data is not _UNCACHED and cached is not None and cached[0] == data and _env_stamp(cached[1]) == cached[1].env_stamp:
        return cached[1]
    config = _load_file(path)
    config.env_stamp = _env_stamp(config)
    if data is not _UNCACHED:
        _loaded[path] = (data, config)
    return config


def _env_stamp(config: Config) -> tuple:
    """The values of the variables the file's templates name: a change re-expands them."""
    from hermesd.settings.credentials import lookup

    return tuple((name, lookup(name)) for name in config.template_names)


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """Hermes' load-time migrations, on a shallow copy: ``model: NAME`` and root-level keys.

    ``model`` may be a plain model id; root-level ``provider``/``base_url``
    fill ``model.*`` only where that is empty (Hermes moves them there when
    it next saves; so does :func:`set_value` when it writes that key).
    """
    tree = dict(raw)
    model = tree.get("model")
    if isinstance(model, str):
        model = {"default": model} if model.strip() else {}
    if isinstance(model, dict):
        model = dict(model)
        if not model.get("default") and isinstance(model.get("model"), str):
            model["default"] = model["model"]  # Hermes accepts model.model for model.default
        for name in ("provider", "base_url"):
            if tree.get(name) and not model.get(name):
                model[name] = tree[name]
        tree["model"] = model
    return tree


_TEMPLATE = re.compile(r"\$\{([^}]+)\}")


def _expand(tree: Any, where: str, unresolved: list[str], names: set[str]) -> Any:
    """``${VAR}`` in string values, from the environment then ``$HERMES_HOME/.env`` (as Hermes loads it).

    Unresolved references stay verbatim and are listed. Iterative over a
    copy, so a deep or aliased tree costs no recursion.
    """
    from hermesd.settings.credentials import lookup

    def expand_string(text: str, key: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            names.add(name)
            value = lookup(name)
            if value is None:
                unresolved.append(f"{key}: {match.group(0)}")
                return match.group(0)
            return value

        return _TEMPLATE.sub(one, text) if "${" in text else text

    if isinstance(tree, str):
        return expand_string(tree, where)
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, str]] = [(tree, root, 0, where)]
    while stack:
        node, parent, slot, key = stack.pop()
        if isinstance(node, dict):
            copy: Any = {}
            parent[slot] = copy
            for k, v in node.items():
                stack.append((v, copy, k, f"{key}.{k}" if key else str(k)))
        elif isinstance(node, list):
            copy = [None] * len(node)
            parent[slot] = copy
            for i, v in enumerate(node):
                stack.append((v, copy, i, f"{key}[{i}]"))
        elif isinstance(node, str):
            parent[slot] = expand_string(node, key)
        else:
            parent[slot] = node
    return root[0]


def _load_file(path: Path) -> Config:
    """Read the file; bad values fall back to defaults and are listed as problems."""
    raw: dict[str, Any] = {}
    parse_error = None
    try:
        raw = _parse(path)
    except ConfigUnreadable as exc:
        parse_error = exc
    unresolved: list[str] = []
    names: set[str] = set()
    written = migrate(raw)
    expanded = _expand(written, "", unresolved, names)
    values, problems = _effective(expanded)
    shown, _ = _effective(written, quiet=True)
    for key in KEYS:  # a value that only validates once expanded is shown as written
        if _has_path(written, key) and isinstance(_get_path(written, key), str) and "${" in _get_path(written, key):
            _set_path(shown, key, _get_path(written, key))
    for alias in ALIASES.values():
        _set_path(shown, alias.name, alias.from_canonical(_get_path(shown, alias.canonical)))
    config = Config(path, raw, values, parse_error, problems, shown, unresolved, tuple(sorted(names)))
    _remember_templates(names)
    return config


def _effective(tree: dict[str, Any], quiet: bool = False) -> tuple[dict[str, Any], list[str]]:
    values = defaults()
    problems: list[str] = []
    for section in dict.fromkeys(name.split(".")[0] for name in (*KEYS, *ALIASES) if "." in name):
        content = tree.get(section)
        if content is not None and not isinstance(content, dict):
            problems.append(f"{section} must be a mapping of keys (got {_shown(content)}); its keys use their defaults")
    for key in KEYS.values():
        names = [key.name, *(a.name for a in ALIASES.values() if a.canonical == key.name)]
        name = next((n for n in names if _has_path(tree, n)), None)
        if name is None:
            continue
        value = _get_path(tree, name)
        alias = ALIASES.get(name)
        try:
            checked = (alias.check if alias and alias.check else key.check)(name, value)
            _set_path(values, key.name, alias.to_canonical(checked) if alias else checked)
        except ReadAs as exc:
            _set_path(values, key.name, exc.value)
            problems.append(str(exc))
        except ConfigError as exc:
            problems.append(f"{exc}; using the default {_shown(key.default)}")
    for alias in ALIASES.values():
        _set_path(values, alias.name, alias.from_canonical(_get_path(values, alias.canonical)))
    # Unknown keys ride along untouched so plugins or newer versions can read them.
    _merge_unknown(values, tree)
    return values, ([] if quiet else problems)


def _merge_unknown(values: dict[str, Any], tree: dict[str, Any]) -> None:
    for section, content in tree.items():
        if section not in values:
            values[section] = content
        elif isinstance(content, dict) and isinstance(values[section], dict) and section != "provider_routing":
            for name, value in content.items():
                if name not in values[section]:
                    values[section][name] = value
                elif isinstance(value, dict) and isinstance(values[section][name], dict):
                    for sub, item in value.items():
                        values[section][name].setdefault(sub, item)


def _remember_templates(names: set[str]) -> None:
    """Tell the redactor which values came from ``${VAR}``: shown text puts the template back."""
    from hermesd.settings import credentials

    credentials.remember_templates(names)


MAX_FILE_BYTES = 4 * 1024 * 1024
# Nodes a config may hold once every alias is expanded: Hermes' own file has ~600.
MAX_NODES = 200_000


def _check_size(node: Any, path: Path) -> None:
    """Refuse a document whose aliases expand past :data:`MAX_NODES` (a "billion laughs" file).

    Counts on the composed node graph, where an alias is the same node
    object again: each distinct node is visited once, so a 300-byte file
    that would expand to 10^9 nodes is refused in microseconds. A node that
    contains itself is refused too.
    """
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, done = stack.pop()
        ident = id(current)
        children = _children(current)
        if done:
            on_path.discard(ident)
            total = 1 + sum(size[id(c)] for c in children)
            if total > MAX_NODES:
                raise ConfigUnreadable(path, f"it expands to more than {MAX_NODES} values (YAML aliases repeating "
                                             "one another, a \"billion laughs\" file); refusing to read it", None)
            size[ident] = total
            continue
        if ident in size:
            continue
        if ident in on_path:
            raise ConfigUnreadable(path, "an alias contains itself", None)
        on_path.add(ident)
        stack.append((current, True))
        stack.extend((child, False) for child in children if id(child) not in size)


def _children(node: Any) -> list[Any]:
    value = getattr(node, "value", None)
    if not isinstance(value, list):
        return []
    out: list[Any] = []
    for item in value:
        if isinstance(item, tuple):
            out.extend(item)
        else:
            out.append(item)
    return out


def _read_text(path: Path) -> str | None:
    """The file's text; None when there is no file. Anything else that stops reading is named."""
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            raise ConfigUnreadable(path, f"it is a symbolic link to {os.readlink(path)}, which does not exist", None) from None
        return None
    except OSError as exc:
        raise ConfigUnreadable(path, f"cannot read: {exc.strerror or exc}", None) from exc
    if stat.S_ISDIR(st.st_mode):
        raise ConfigUnreadable(path, "it is a directory, not a file; move it away or point HERMES_HOME elsewhere", None)
    if st.st_size > MAX_FILE_BYTES:
        raise ConfigUnreadable(path, f"it is {st.st_size} bytes; the limit is {MAX_FILE_BYTES} bytes", None)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except PermissionError as exc:
        raise ConfigUnreadable(path, f"permission denied; run `chmod u+r {path}`", None) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigUnreadable(path, f"cannot read: {exc}", None) from exc


def _parse(path: Path) -> dict[str, Any]:
    """The file as a plain tree, read with PyYAML's C loader (the fast path every chat takes)."""
    text = _read_text(path)
    if text is None:
        return {}  # no file: no need for PyYAML (~7 ms to import) on a cold start
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return {}
        _check_size(node, path)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigUnreadable(path, f"invalid YAML: {problem}", line) from exc
    except RecursionError as exc:  # the YAML parser recurses per nesting level
        raise ConfigUnreadable(path, "nested too deeply to read", None) from exc
    except (ValueError, TypeError, AttributeError) as exc:  # a tag or date PyYAML cannot build (2024-13-45, !!int x)
        raise ConfigUnreadable(path, f"invalid YAML value: {exc}", None) from exc
    finally:
        loader.dispose()
    if deeper_than(data, MAX_FILE_DEPTH):
        raise ConfigUnreadable(path, f"nested more than {MAX_FILE_DEPTH} levels deep, or an alias contains itself", None)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigUnreadable(path, "the top level must be a mapping of sections", 1)
    return data


_PROVIDER_URL = re.compile(r"^providers\.([^.]+)\.base_url$")


def validate(key: str, value: Any) -> Any:
    """The normalised value for ``key`` (its alias's spelling too), or ConfigError naming the rule.

    ``${VAR}`` templates are checked as they expand, and kept as written.
    """
    spec = KEYS.get(canonical_key(key))
    alias = ALIASES.get(key)
    if spec is not None and alias is not None and alias.check is not None:
        spec = Key(key, None, alias.check, "")
    if spec is None and _PROVIDER_URL.match(key):
        spec = Key(key, "", _url, "")
    if spec is None:
        raise unknown_key(key)
    if not is_valid_unicode(value):
        raise ConfigError(f"{key} must be valid Unicode text (it contains a lone surrogate such as \\ud800)")
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS and describe(spec)["nullable"]:
        value = None  # typed into an editor's input box or the CLI; the rule lives here, not in each client
    if spec.check is _min_coding_score:
        return _min_coding_score(key, value, writing=True)  # stricter than reading a hand edit
    if isinstance(value, str) and "${" in value:
        spec.check(key, _expand(value, key, [], set()))
        return value.strip()
    normalised = spec.check(key, value)
    if spec.check is _provider and normalised and not provider_exists(normalised):
        from hermesd.settings.suggest import did_you_mean, provider_names

        raise UnknownName(
            f"{key} must be a known provider name or alias (got {_shown(value)}){did_you_mean(normalised, provider_names())}; "
            "run `hermesd providers` to see them"
        )
    return normalised


def set_value(key: str, value: Any, *, reset: bool = False, path: Path | None = None) -> Any:
    """Validate, then write ``key`` (an alias writes its Hermes key) atomically. Returns the new effective value.

    The file is edited in place with a round-trip YAML library: every other
    line, comment, blank line, quote and ``${VAR}`` template stays as written.
    """
    path = path or config_path()
    normalised = None if reset else validate(key, value)
    if reset and key not in KEYS and key not in ALIASES and not _PROVIDER_URL.match(key):
        validate(key, None)  # raises the unknown-key error
    alias = ALIASES.get(key)
    target = alias.canonical if alias else key
    if alias and not reset:
        normalised = alias.to_canonical(normalised)
    _edit(path, lambda doc: _apply(doc, target, normalised, reset, key))
    return load(path).get(key)


def _edit(path: Path, change: Callable[[Any], None]) -> None:
    """Apply ``change`` to the round-trip document under the lock; write only when the text changed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _locked(path):
        _parse(path)  # re-read under the lock: never lose a concurrent write, never replace a broken file
        # A symlinked config (dotfiles) stays a link: the file it points to is replaced.
        real = path.resolve() if path.is_symlink() else path
        text = _read_text(real) or ""
        from hermesd.settings import yaml_edit

        edited = yaml_edit.edit(text, path, _check_size, change)
        if edited != text:
            _atomic_write(real, edited)


def set_values(values: dict[str, Any], *, unset: tuple[str, ...] = (), path: Path | None = None) -> None:
    """Validate every key, then set ``values`` and remove ``unset`` in one atomic, round-trip write (``hermesd setup``)."""
    path = path or config_path()
    changes = []
    for key, value in values.items():
        alias = ALIASES.get(key)
        normalised = validate(key, value)
        changes.append((alias.canonical if alias else key, alias.to_canonical(normalised) if alias else normalised, False, key))
    changes += [(canonical_key(key), None, True, key) for key in unset]
    # The provider first: a URL written in the same call is then the new provider's, not moved to the old one.
    changes.sort(key=lambda change: change[0] != "model.provider")

    def apply_all(doc: Any) -> None:
        for target, value, reset, asked in changes:
            _apply(doc, target, value, reset, asked)

    _edit(path, apply_all)


def enable_plugin(name: str, *, path: Path | None = None) -> list[str]:
    """Add ``name`` to ``plugins.enabled`` and drop it from ``plugins.disabled``, in one atomic round-trip write
    (what ``hermes plugins enable`` writes to the same file). Returns the new ``plugins.enabled``."""
    path = path or config_path()
    section = load(path).raw.get("plugins")
    section = section if isinstance(section, dict) else {}
    enabled, disabled = (section.get(key) for key in ("enabled", "disabled"))
    enabled = [n for n in enabled if isinstance(n, str)] if isinstance(enabled, list) else []
    enabled += [] if name in enabled else [name]

    def change(doc: Any) -> None:
        from hermesd.settings import yaml_edit

        yaml_edit.set_path(doc, ["plugins", "enabled"], enabled)
        if isinstance(disabled, list) and name in disabled:
            yaml_edit.set_path(doc, ["plugins", "disabled"], [n for n in disabled if n != name])

    _edit(path, change)
    return enabled


SCORE_KEY = "openrouter.min_coding_score"
NULL_WORDS = ("none", "null", "off")  # typed for a nullable key, they mean null


def select_model(provider: str, model: str, changes: dict[str, Any] | None = None, *, path: Path | None = None,
                 usable: Callable[[str, str], None] | None = None) -> Config:
    """Write ``model.provider``, ``model.default`` and ``changes`` in one atomic write (``hermes/selectModel``).

    Everything is validated before the file is touched, so a refusal leaves
    it byte-identical; ``usable(provider, model)`` runs last and raises
    ConfigError for a choice that cannot work (no credential). On a provider
    switch a ``model.base_url`` stays with the provider it was set for (see
    :func:`_keep_url_with_its_provider`) and a forced ``model.api_mode`` is
    dropped: it described the old endpoint.
    """
    path = path or config_path()
    if not model.strip():
        raise ConfigError("model must be a model id (got an empty string)")
    if not validate("model.provider", provider):
        raise ConfigError("provider must be a provider name or alias (got an empty string)")
    for key, value in (changes or {}).items():
        validate(key, value)
    if usable is not None:
        usable(provider, model)
    switching = _provider_identity(provider) != _provider_identity(str(load(path).get("model.provider") or ""))
    set_values({"model.provider": provider, "model.default": model, **(changes or {})},
               unset=("model.api_mode",) if switching else (), path=path)
    return load(path)


def changed_keys(before: Config, after: Config) -> list[tuple[str, Any]]:
    """The known keys whose effective value differs, with the new value (for hermes/configChanged)."""
    return [(key, after.get(key)) for key in KEYS if before.get(key) != after.get(key)]


def describe_all() -> list[dict[str, Any]]:
    """Every key, then every alias (hermesd's older names, still accepted), described."""
    rows = [describe(key) for key in KEYS.values()]
    for alias in ALIASES.values():
        target = KEYS[alias.canonical]
        spec = Key(alias.name, alias.from_canonical(target.default), alias.check or target.check, target.doc)
        rows.append({**describe(spec), "doc": f"{target.doc} (hermesd's name for {alias.canonical})"})
    return rows


def describe(key: Key) -> dict[str, Any]:
    """A key's rule as data (``hermes/describeConfig``), so no editor keeps a copy of it."""
    rule: dict[str, Any] = dict(getattr(key.check, "rule", None) or _RULES.get(key.check, {"type": "string"}))
    rule.setdefault("nullable", False)
    return {"key": key.name, "default": key.default, "doc": key.doc, **rule}


def _apply(doc: Any, key: str, value: Any, reset: bool, asked: str) -> None:
    """One key's change on the round-trip document (Hermes' shapes: string ``model``, root keys)."""
    from hermesd.settings import yaml_edit

    parts = key.split(".")
    if parts[0] == "model" and len(parts) == 2:
        model = doc.get("model")
        if isinstance(model, str) or model is None and not reset:
            yaml_edit.put(doc, "model", {"default": model} if isinstance(model, str) and model.strip() else {})
        for name in ("provider", "base_url"):
            # Hermes' migration of root-level keys, done as Hermes' save_config does it.
            if doc.get(name) and isinstance(doc.get("model"), dict) and not doc["model"].get(name):
                yaml_edit.set_path(doc, ["model", name], doc[name])
            yaml_edit.remove(doc, [name])
        if parts[1] == "provider":
            _keep_url_with_its_provider(doc, "" if reset else value)
    if reset:
        yaml_edit.remove(doc, parts)
        if asked != key:
            yaml_edit.remove(doc, asked.split("."))
        for alias in ALIASES.values():
            if alias.canonical == key:
                yaml_edit.remove(doc, alias.name.split("."))
        return
    yaml_edit.set_path(doc, parts, value)


def _keep_url_with_its_provider(doc: Any, new_provider: str) -> None:
    """``model.base_url`` was set for the current ``model.provider``: on a switch it stays with that one.

    It moves to ``providers.<old provider>.base_url`` (Hermes' keyed shape;
    ``custom`` when no provider was set), so the new provider's key is never
    sent to the old provider's URL, whatever order the keys were written in.
    """
    from hermesd.settings import yaml_edit

    model = doc.get("model")
    url = model.get("base_url") if isinstance(model, dict) else None
    if not isinstance(url, str) or not url.strip():
        return
    old = str(model.get("provider") or "").strip()
    if _provider_identity(old) == _provider_identity(new_provider):
        return
    yaml_edit.set_path(doc, ["providers", old if old and old.lower() != "auto" else "custom", "base_url"], url)
    yaml_edit.remove(doc, ["model", "base_url"])


def _provider_identity(name: str) -> str:
    import providers

    name = name.strip()
    if not name or name.lower() == "auto":
        return ""
    profile = providers.get_provider_profile(name)
    return profile.name if profile is not None else name.lower()


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
    # Still there when the rename failed, or when the backup already was this very file (a writer killed
    # between its own rename and the new file's): rename() between two names of one file does nothing.
    with contextlib.suppress(OSError):
        os.unlink(staged)


# Hermes keys hermesd reads (docs/config.md has the table): whole sections, and keys of sections it shares.
USED_SECTIONS = frozenset({"providers", "custom_providers", "fallback_providers", "fallback_model", "provider_routing",
                           "provider", "base_url", "ollama", "catalog"})
USED_KEYS = {
    "model": {"provider", "default", "model", "base_url", "api_mode", "api_key", "temperature", "max_tokens",
              "reasoning_effort"},
    "agent": {"reasoning_effort", "api_max_retries"},
    "openrouter": {"min_coding_score", "provider_preferences", "response_cache", "response_cache_ttl"},
    "auxiliary": {"compression", "provider", "model"},
    "context": {"budget_tokens", "keep_recent_messages"},
    "network": {"timeout", "connect_timeout", "max_retries", "max_concurrent_requests"},
    "plugins": {"disabled", "enabled"},  # read by providers.discovery
    "daemon": {"idle_timeout", "stop_grace"},  # read by hermesd.serve.shared and hermesd.serve.daemon
    "completion": {"provider", "model", "base_url", "endpoint", "template", "templates", "max_tokens", "prefix_chars",
                   "suffix_chars", "multiline", "debounce_ms", "languages", "hosted_workspaces"},  # engine/completion
}
USED_AUX_KEYS = {"provider", "model"}


def ignored_keys(cfg: Config) -> list[str]:
    """Keys of the file hermesd does not use: the Hermes agent's own (terminal, agent.max_turns, ...)."""
    out: list[str] = []
    for section, content in migrate(cfg.raw).items():
        name = str(section)
        if name.startswith("_") or name in USED_SECTIONS:
            continue
        if name not in USED_KEYS or not isinstance(content, dict):
            out.append(name)
            continue
        for key, value in content.items():
            if str(key) not in USED_KEYS[name]:
                out.append(f"{name}.{key}")
            elif name == "auxiliary" and key == "compression" and isinstance(value, dict):
                out += [f"auxiliary.compression.{k}" for k in value if str(k) not in USED_AUX_KEYS]
    return out


def shape_problems(cfg: Config) -> list[str]:
    """Hermes sections in a shape hermesd cannot use (each then has no effect)."""
    written = migrate(cfg.raw)
    problems = [f"{a.name} ({_shown(_get_path(written, a.name))}) is ignored: {a.canonical}, the Hermes key, is set too "
                f"({_shown(_get_path(written, a.canonical))}); remove one"
                for a in ALIASES.values()
                if _has_path(written, a.name) and _has_path(written, a.canonical)]
    if written.get("model") is not None and not isinstance(written.get("model"), dict):
        problems.append(f"model must be a model id or a mapping (got {_shown(written['model'])})")
    raw = migrate(cfg.values)
    providers_section, listed = raw.get("providers"), raw.get("custom_providers")
    if providers_section is not None and not isinstance(providers_section, dict):
        problems.append(f"providers must be a mapping of names to {{base_url, key_env, ...}} (got {_shown(providers_section)})")
    if listed is not None and not isinstance(listed, list):
        problems.append("custom_providers must be a list (items start with '-'); it is ignored")
    entries = [(f"providers.{k}", e) for k, e in providers_section.items()] if isinstance(providers_section, dict) else []
    entries += [(f"custom_providers[{i}]", e) for i, e in enumerate(listed)] if isinstance(listed, list) else []
    for name, entry in entries:
        if not isinstance(entry, dict):
            problems.append(f"{name} must be a mapping with base_url (got {_shown(entry)}); it is ignored")
            continue
        url = next((entry[k] for k in ("base_url", "url", "api") if isinstance(entry.get(k), str)), "")
        if url and not url.startswith(("http://", "https://")):
            problems.append(f"{name}: {mask_url(url)!r} is not an http:// or https:// URL; the entry is ignored")
        elif url and has_userinfo(url):
            problems.append(f"{name}: the URL holds a user name or password ({mask_url(url)}); chats to it are refused")
        for field in ("api_mode", "apiMode", "transport"):
            mode = entry.get(field)
            if isinstance(mode, str) and mode.strip() and api_mode_named(mode) not in API_MODES:
                problems.append(f"{name}.{field} is {_shown(mode)}, which names no API shape: use one of "
                                f"{', '.join(API_MODES)} (Hermes' openai_chat is chat_completions); chats to it fail")
    return problems


def masked(tree: Any, _name: str = "", _secret: bool = False) -> Any:
    """A JSON-safe copy for editors and logs: secrets replaced by ``***``.

    Everything under a secret-looking key (``api_key``, ``headers.Authorization``,
    ``tokens: [..]``) is masked however deep, and a password in any URL
    (``https://user:***@host``). YAML has dates, NaN and non-string keys,
    which JSON (and so an editor) cannot take. A key-shaped value (``sk-…``) is masked under any name.
    """
    secret = _secret or bool(_name) and is_secret_name(_name)
    if isinstance(tree, dict):
        return {str(k): masked(v, str(k), secret) for k, v in tree.items()}
    if isinstance(tree, (list, tuple, set)):
        return [masked(v, _name, secret) for v in tree]
    if secret and isinstance(tree, str) and tree:
        return "***"
    if isinstance(tree, str):
        return mask_text(tree)
    if isinstance(tree, float) and not math.isfinite(tree):
        return str(tree)
    if tree is None or isinstance(tree, (int, float)):
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
