"""Finding and loading provider plugins.

Four places, loaded in this order so that later ones win (``register_provider``
is last-writer-wins): pip entry points, bundled plugin directories, user plugin
directories under ``$HERMES_HOME``, and legacy single files in this package.

Each plugin runs inside :func:`_guarded`, which rolls back whatever it
registered when it raises or registers something that is not a profile, and
records the error (plugin, file, line, message) for doctor. One bad plugin
never stops the others.

Entry points (docs/plugins.md, "Installed packages"): every group of
:data:`ENTRY_POINT_GROUPS`. An entry point naming a callable is called; one
naming a module is imported and its ``register`` called when it has one; one
naming a profile registers it. ``register`` gets a :class:`PluginContext` when
it takes a positional parameter (``register(ctx)``, ``register(ctx=None)``)
and nothing otherwise (``register()``). A plugin named in the shared
config.yaml's ``plugins.disabled`` is not run and is listed as disabled.

Entry points are opt-in, as Hermes 0.19 makes its ``hermes_agent.plugins``
group (any installed distribution, even a dependency of a dependency, could
declare one, and it would run in the process that holds every key): one runs
only when ``plugins.enabled`` names it (its entry-point name or its
distribution's), which ``hermes plugins enable`` and ``hermesd plugins
enable`` write, or when it was grandfathered: installed when hermesd first
ran with this rule (:func:`grandfathered`). The rest are in the errors with
the command that enables them. Every entry point ends registered, disabled,
or in the errors.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import stat
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from providers.base import ProviderProfile

# The seeds' group, Hermes' general plugin group, and the group provider-only
# packages use (hermes-apertis-provider, hermes-provider-venice).
ENTRY_POINT_GROUPS = ("hermes.plugins", "hermes_agent.plugins", "hermes_agent.model_providers")
# Top-level packages of the Hermes agent: a plugin importing one of their
# modules that hermesd.compat does not serve needs Hermes itself.
HERMES_PACKAGES = frozenset({"hermes_cli", "agent", "run_agent", "hermes_constants", "tools", "gateway"})
SOURCES = ("entry_point", "bundled", "user", "legacy", "runtime")
# Modules of this package that are not legacy single-file plugins.
_OWN_MODULES = {"base", "discovery", "pareto"}
_MODULE_PREFIX = "hermes_provider_plugins"


def hermes_home() -> Path:
    """``$HERMES_HOME``, default ``~/.hermes``; the environment is read on every call, so tests can move it."""
    return _home_of(os.environ.get("HERMES_HOME", ""), os.path.expanduser("~"))


@functools.lru_cache(maxsize=16)
def _home_of(value: str, user_home: str) -> Path:
    """The path for these two values, made once: a chat asks for it a few times (~15 µs each, built anew)."""
    value = value.strip()
    return Path(value).expanduser() if value else Path(user_home) / ".hermes"


def bundled_dir() -> Path:
    """Bundled plugins: beside this package inside ``hermesd/`` (wheel), or the checkout's."""
    parent = Path(__file__).resolve().parent.parent
    installed = parent / "bundled_plugins" / "model-providers"
    if installed.is_dir():
        return installed
    return parent / "plugins" / "model-providers"


def user_dir() -> Path:
    """``$HERMES_HOME/plugins/model-providers``: the user's own provider plugins."""
    return hermes_home() / "plugins" / "model-providers"


def general_user_dir() -> Path:
    """``$HERMES_HOME/plugins``: unlabelled plugins here may still be providers."""
    return hermes_home() / "plugins"


def legacy_dir() -> Path:
    """This package's own directory, where legacy single-file plugins sit."""
    return Path(__file__).resolve().parent


@dataclass
class Origin:
    """Where a registered profile came from, and what it replaced."""

    source: str
    plugin: str
    path: str
    overrides: "Origin | None" = None


@dataclass
class PluginError:
    """A plugin that failed to load: which, where (file, line) and why; doctor and hermes/listProviders show it."""

    plugin: str
    path: str
    message: str
    source: str
    line: int | None = None
    # ``group: name = value`` for an entry point, None for a directory or file.
    entry_point: str | None = None
    # The one fix, when it is not "repair the plugin" (an entry point not enabled: the command that enables it).
    hint: str | None = None


@dataclass
class PluginInfo:
    """One plugin as a plugin manager sees it, whether or not it loaded."""

    name: str
    path: str
    source: str
    kind: str
    provider_names: list[str] = field(default_factory=list)
    error: PluginError | None = None
    manifest_path: str | None = None
    entry_point: str | None = None
    # Named in config.yaml's ``plugins.disabled``: listed, never run.
    disabled: bool = False
    # ``register_*`` calls of Hermes' plugin context hermesd accepts and ignores (tools, hooks).
    ignored: list[str] = field(default_factory=list)
    # The name its code was imported under (this generation's), None for an entry point.
    module: str | None = None

    @property
    def manifest(self) -> dict[str, Any]:
        """``plugin.yaml``, parsed only when asked for (listing stays cheap)."""
        return read_manifest(Path(self.manifest_path)) if self.manifest_path else {}


class Registry:
    """Profiles by canonical name, plus an alias table. Names beat aliases."""

    def __init__(self) -> None:
        self.profiles: dict[str, ProviderProfile] = {}
        self.aliases: dict[str, str] = {}
        self.origins: dict[str, Origin] = {}
        # Undo log of one plugin's run (see begin/rollback/commit), None otherwise.
        self._journal: list[tuple[dict, str, Any]] | None = None

    def _put(self, table: dict, key: str, value: Any) -> None:
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))
        table[key] = value

    def _drop(self, table: dict, key: str) -> None:
        if self._journal is not None:
            self._journal.append((table, key, table.get(key, _MISSING)))
        table.pop(key, None)

    def register(self, profile: "ProviderProfile", origin: Origin) -> None:
        """Add ``profile`` under its name and aliases; a later profile of the same name replaces it.

        The replaced profile's origin is kept on the new one (``overrides``) and
        its aliases that still point at it are dropped. Raises for anything that
        is not a usable profile.
        """
        from providers.base import ProviderProfile, missing_hooks

        if not isinstance(profile, ProviderProfile):
            raise TypeError(
                f"register_provider() expects a ProviderProfile, got {type(profile).__name__}"
            )
        if not isinstance(profile.name, str) or not profile.name.strip():
            raise ValueError("register_provider(): the profile's name must be a non-empty string")
        unsupported = missing_hooks(profile)
        if unsupported:
            hook, version = next(iter(unsupported.items()))
            raise UnsupportedHook(
                f"profile {profile.name!r} needs Hermes >= {version}'s {hook}, not supported: "
                "hermesd sends every request with its own client, so this provider cannot work here"
            )
        previous = self.origins.get(profile.name)
        if previous is not None and (previous.source, previous.path) == (origin.source, origin.path):
            previous = previous.overrides  # the same plugin registering again (import, then register())
        if previous is not None:
            # Drop the replaced profile's aliases that still point at it.
            old = self.profiles[profile.name]
            for alias in old.aliases:
                if self.aliases.get(alias) == profile.name:
                    self._drop(self.aliases, alias)
            origin.overrides = previous
        self._put(self.profiles, profile.name, profile)
        self._put(self.origins, profile.name, origin)
        for alias in profile.aliases or ():
            if isinstance(alias, str) and alias:
                self._put(self.aliases, alias, profile.name)

    def lookup(self, name: str) -> "ProviderProfile | None":
        """The profile ``name`` names or aliases (names first, then lower-cased); None for anything else."""
        if not isinstance(name, str):
            return None
        key = name.strip()
        profile = self.profiles.get(key)
        if profile is None and key in self.aliases:
            profile = self.profiles.get(self.aliases[key])
        if profile is None and key.lower() != key:
            return self.lookup(key.lower())
        return profile

    def snapshot(self) -> tuple[dict, dict, dict]:
        """Copies of the tables (profiles, aliases, origins): what a test compares before and after."""
        return dict(self.profiles), dict(self.aliases), dict(self.origins)

    # One plugin's run, undone as a whole when it fails. A journal rather than
    # a snapshot: copying the tables for each of hundreds of plugins made
    # discovery quadratic.

    def begin(self) -> None:
        """Start journaling one plugin's run, so :meth:`rollback` can undo it."""
        self._journal = []

    def rollback(self) -> None:
        """Undo everything registered since :meth:`begin`, newest first, and stop journaling."""
        for table, key, old in reversed(self._journal or ()):
            if old is _MISSING:
                table.pop(key, None)
            else:
                table[key] = old
        self._journal = None

    def journal_names(self) -> list[str]:
        """The names the running plugin registered so far."""
        return [key for table, key, _ in self._journal or () if table is self.origins]

    def commit(self) -> list[str]:
        """End the run; the names it registered, first registration first."""
        journal, self._journal = self._journal or [], None
        return list(dict.fromkeys(key for table, key, _ in journal if table is self.origins))


_MISSING = object()


class UnsupportedHook(Exception):
    """A profile built for a newer Hermes, relying on a hook hermesd does not call."""


class PluginContext:
    """What a Hermes plugin's ``register(ctx)`` gets in hermesd.

    The part of Hermes' ``hermes_cli.plugins.PluginContext`` provider plugins
    use: ``register_provider`` (which Hermes' own context lacks), the plugin's
    ``name``, and every other ``register_*`` method (tools, hooks, commands,
    skills) accepted and ignored, since hermesd has no agent loop to give them
    to. What was ignored is listed on the plugin (doctor shows it).
    """

    def __init__(self, name: str, ignored: list[str] | None = None) -> None:
        self.name = name
        self.ignored = ignored if ignored is not None else []

    @property
    def profile_name(self) -> str:
        """Another name for ``name``."""
        return self.name

    def register_provider(self, profile: "ProviderProfile") -> None:
        """``providers.register_provider(profile)``, under this plugin's origin (Hermes' context lacks it)."""
        from providers import register_provider

        register_provider(profile)

    def __getattr__(self, attr: str) -> Any:
        if not attr.startswith("register_"):
            raise AttributeError(f"hermesd's plugin context has no {attr!r} (it serves provider plugins only)")

        def ignore(*args: Any, **kwargs: Any) -> None:
            self.ignored.append(attr)

        return ignore


def wants_context(register: Callable[..., Any]) -> bool:
    """Whether ``register`` takes a positional parameter: pass it a context then, nothing otherwise."""
    import inspect

    try:
        params = inspect.signature(register).parameters.values()
    except (TypeError, ValueError):
        return True  # a builtin or C callable: Hermes always passes one
    return any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params)


class Loader:
    """Runs plugins against a registry, keeping errors and per-plugin results."""

    def __init__(self, registry: Registry, set_origin: Callable[[Origin | None], None],
                 prefix: str = _MODULE_PREFIX) -> None:
        self.registry = registry
        self.set_origin = set_origin
        self.errors: list[PluginError] = []
        self.plugins: list[PluginInfo] = []
        # Every module name starts with this generation's own prefix (see :class:`Generation`).
        self.prefix = prefix
        self._module_names: set[str] = set()
        # config.yaml's ``plugins.disabled`` and ``plugins.enabled``, read once per discovery.
        self.disabled: frozenset[str] = disabled_plugins()
        self.enabled: frozenset[str] = enabled_plugins()
        # Plugins that crashed an earlier daemon (quarantine_path()), read once per discovery.
        self.quarantined: dict[str, dict[str, Any]] = read_quarantine()

    def _guarded(self, info: PluginInfo, run: Callable[[], Any]) -> None:
        self.registry.begin()
        self.set_origin(Origin(info.source, info.name, info.path))
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - a plugin may raise anything, even SystemExit
            self.registry.rollback()
            if isinstance(exc, KeyboardInterrupt):
                raise
            info.error = _plugin_error(info, exc)
            self.errors.append(info.error)
        else:
            info.provider_names = self.registry.commit()
        finally:
            self.set_origin(None)
        self.plugins.append(info)

    def load_entry_points(self) -> None:
        """Every entry point of :data:`ENTRY_POINT_GROUPS`, except those ``plugins.disabled`` names.

        One package may declare the same module in two groups (venice: the
        module in ``hermes_agent.plugins``, its ``register`` in
        ``hermes_agent.model_providers``): it runs once, through the callable.
        """
        from importlib.metadata import entry_points

        found = [(group, ep) for group in ENTRY_POINT_GROUPS for ep in entry_points(group=group)]
        callables = {(ep.module, _dist_name(ep)) for _, ep in found if ep.attr is not None}
        allowed = self.enabled | grandfathered([ep.name for _, ep in found if ep.name not in self.disabled])
        done: set[tuple[str, str, str | None]] = set()
        for group, ep in found:
            key = (ep.module, _dist_name(ep), ep.attr)
            if key in done or (ep.attr is None and (ep.module, _dist_name(ep)) in callables):
                continue
            done.add(key)
            where = f"{group}: {ep.name} = {ep.value}"
            info = PluginInfo(ep.name, ep.value, "entry_point", "model-provider", entry_point=where)
            names = {ep.name, _dist_name(ep)}
            if names & self.disabled:
                info.disabled = True
                self.plugins.append(info)
                continue
            if not names & allowed:
                command = f"hermesd plugins enable {ep.name}"
                info.error = PluginError(ep.name, ep.value, f"installed ({_dist_name(ep) or ep.module}) but not enabled: "
                                         f"installed packages' plugins run only once enabled; run `{command}`",
                                         "entry_point", entry_point=where, hint=f"if you trust the package: {command}")
                self.errors.append(info.error)
                self.plugins.append(info)
                continue
            self._guarded(info, lambda ep=ep, info=info: _run_entry_point(ep, info))

    def load_directory_plugins(self, root: Path, source: str) -> None:
        """Every plugin package directly under ``root`` (with an ``__init__.py``), in name order."""
        for plugin_dir in _plugin_dirs(root):
            self.load_package(plugin_dir, source)

    def load_general_user_plugins(self, root: Path) -> None:
        """Model-provider plugins dropped in ``$HERMES_HOME/plugins/<name>/``."""
        for plugin_dir in _plugin_dirs(root):
            if plugin_dir.name == "model-providers":
                continue
            if classify_plugin(plugin_dir) == "model-provider":
                self.load_package(plugin_dir, "user")

    def load_package(self, plugin_dir: Path, source: str) -> None:
        """Load one plugin directory, guarded; disabled in config: listed, not run.

        A user plugin must be private (:func:`check_private`). A package that
        registers nothing on import has its ``register`` called, as for an entry point.
        """
        manifest = plugin_dir / "plugin.yaml"
        info = PluginInfo(
            plugin_dir.name,
            str(plugin_dir / "__init__.py"),
            source,
            "model-provider",
            manifest_path=str(manifest) if manifest.is_file() else None,
        )
        module_name = info.module = self._module_name(source, plugin_dir.name)

        def run() -> None:
            if source == "user":
                check_private(plugin_dir)
            _import_package(plugin_dir, module_name)
            # A package written for entry points (tokenlab, apertis) registers
            # from ``register`` rather than on import: call it as for an entry point.
            register = getattr(sys.modules.get(module_name), "register", None)
            if callable(register) and not self.registry.journal_names():
                _call_register(register, info)

        if info.name in self.disabled:
            info.disabled = True
            self.plugins.append(info)
            return
        if self._held(plugin_dir, info):
            return
        self._guarded(info, run)

    def _held(self, plugin_dir: Path, info: PluginInfo) -> bool:
        """Whether ``plugin_dir`` stays quarantined (listed with its crash as its error); a changed one is released."""
        record = self.quarantined.get(os.fspath(plugin_dir))
        if record is None:
            return False
        if record.get("files") != files_signature(plugin_dir):
            release_quarantine(path=os.fspath(plugin_dir))  # edited since the crash: load it again
            return False
        info.error = PluginError(plugin=info.name, path=record.get("file") or info.path, line=record.get("line"),
                                 message=quarantine_message(info.name, record), source=info.source)
        self.errors.append(info.error)
        self.plugins.append(info)
        return True

    def load_legacy(self, root: Path) -> None:
        """Each ``*.py`` in ``root`` as a legacy single-file plugin, except this package's own modules."""
        for path in sorted(root.glob("*.py")):
            stem = path.stem
            if stem.startswith("_") or stem in _OWN_MODULES:
                continue
            info = PluginInfo(stem, str(path), "legacy", "model-provider")
            module_name = info.module = self._module_name("legacy", stem)
            self._guarded(info, lambda path=path, module_name=module_name: _import_file(path, module_name))

    def _module_name(self, source: str, name: str) -> str:
        """A module name no other plugin of this discovery uses (``a-b`` and ``a_b`` differ)."""
        base = f"{self.prefix}.{source}.{_ident(name)}"
        module_name, n = base, 1
        while module_name in self._module_names:
            n += 1
            module_name = f"{base}_{n}"
        self._module_names.add(module_name)
        return module_name


def _dist_name(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else ""


def _run_entry_point(ep: Any, info: PluginInfo) -> None:
    """Load one entry point and run it per the calling convention (module docstring)."""
    from providers import register_provider
    from providers.base import ProviderProfile

    if ep.attr is None and ep.module in sys.modules:
        # ``ep.load()`` would return the cached module: run it again, or a
        # reload would lose what it registers on import.
        target: Any = importlib.reload(sys.modules[ep.module])
    else:
        target = ep.load()
    if isinstance(target, ProviderProfile):
        register_provider(target)
        return
    register = getattr(target, "register", None) if isinstance(target, type(sys)) else target
    if callable(register):
        _call_register(register, info)


def _call_register(register: Callable[..., Any], info: PluginInfo) -> None:
    if wants_context(register):
        register(PluginContext(info.name, info.ignored))
    else:
        register()


def disabled_plugins(path: Path | None = None) -> frozenset[str]:
    """``plugins.disabled`` of the shared config.yaml: the names not to run (Hermes' list, same meaning)."""
    return _plugins_list("disabled", path)


def enabled_plugins(path: Path | None = None) -> frozenset[str]:
    """``plugins.enabled`` of the shared config.yaml: the entry-point plugins to run (Hermes' allow-list)."""
    return _plugins_list("enabled", path)


# hermesd's record of the entry-point plugins installed when it first ran with the opt-in rule (in its data dir).
GRANDFATHERED_FILE = "plugins-grandfathered.json"


def grandfathered(installed: list[str]) -> frozenset[str]:
    """The entry-point plugins that were installed before the opt-in rule: enabled without being named.

    As Hermes' ``migrate_config`` does for its plugins, once: the first discovery that finds no record
    writes ``installed`` (the entry points present now, less ``plugins.disabled``) as the record, in
    hermesd's data dir rather than the shared config.yaml (Hermes runs its own migration on that file).
    Whatever is installed later needs ``plugins.enabled``. No record and no way to write one: nothing
    is grandfathered.
    """
    import json

    from hermesd.paths import data_dir

    path = data_dir() / GRANDFATHERED_FILE
    try:
        names = json.loads(path.read_text(encoding="utf-8"))["entry_points"]
        return frozenset(n for n in names if isinstance(n, str))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()
    record = {"entry_points": sorted(set(installed)),
              "note": "entry-point plugins installed when hermesd first ran with the opt-in rule: enabled "
                      "without plugins.enabled; anything installed later needs `hermesd plugins enable NAME`"}
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        staged.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
        os.chmod(staged, 0o600)
        os.replace(staged, path)
    except OSError:
        return frozenset()
    return frozenset(record["entry_points"])


def _plugins_list(key: str, path: Path | None) -> frozenset[str]:
    path = path or hermes_home() / "config.yaml"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return frozenset()
    if key not in text:
        return frozenset()  # the common case: no YAML parse on the way to discovery
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return frozenset()  # config checks report the broken file
    section = data.get("plugins") if isinstance(data, dict) else None
    names = section.get(key) if isinstance(section, dict) else None
    if isinstance(names, str):
        names = [names]
    return frozenset(n.strip() for n in names or () if isinstance(n, str) and n.strip())


# -- quarantine ----------------------------------------------------------------
#
# A plugin that took a daemon down (os._exit, a crash in a C extension) is
# named by the next daemon from the crash record hermesd.serve.crash keeps,
# and recorded here, keyed by its directory, with a signature of its files.
# It is not loaded until those files change or the user releases it
# (``hermesd plugins enable NAME``). Read once per discovery; nothing on the warm path.


def quarantine_path() -> Path:
    """``$HERMES_HOME/plugins/quarantine.json``: beside the plugins it holds back, for every daemon of this home."""
    return general_user_dir() / "quarantine.json"


def read_quarantine() -> dict[str, dict[str, Any]]:
    """Plugin directory -> its crash record; empty when there is none (the usual case: one failed open)."""
    import json

    try:
        data = json.loads(quarantine_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _write_quarantine(records: dict[str, dict[str, Any]]) -> None:
    """Replace the file atomically (private, like the keys a plugin could reach); none left: no file."""
    import json
    import tempfile

    path = quarantine_path()
    if not records:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".quarantine-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def quarantine(plugin_dir: str, record: dict[str, Any]) -> None:
    """Hold ``plugin_dir`` back from now on, with ``record`` (plugin, function, file, line, at) and its files' signature."""
    records = read_quarantine()
    records[plugin_dir] = {**record, "files": files_signature(Path(plugin_dir))}
    _write_quarantine(records)


def release_quarantine(name: str | None = None, path: str | None = None) -> list[str]:
    """Load the plugin named ``name`` (or at ``path``) again; the plugins released."""
    records = read_quarantine()
    gone = [k for k, v in records.items() if k == path or (name is not None and v.get("plugin") == name)]
    if gone:
        _write_quarantine({k: v for k, v in records.items() if k not in gone})
    return [records[k].get("plugin", k) for k in gone]


def quarantine_message(name: str, record: dict[str, Any]) -> str:
    """What pluginErrors, doctor and the editors say about a quarantined plugin."""
    where = f" in {record['function']}" if record.get("function") else ""
    when = f" at {record['at']}" if record.get("at") else ""
    return (f"crashed the daemon{where}{when}; quarantined until its files change "
            f"(or `hermesd plugins enable {name}`)")


def files_signature(plugin_dir: Path) -> list[list[Any]]:
    """(relative path, size, mtime) of each file the fingerprint watches under ``plugin_dir``: what "its files change" compares."""
    rows: list[tuple] = []
    _tree_stats(os.fspath(plugin_dir), _MAX_DEPTH, rows)
    root = os.fspath(plugin_dir)
    return [[os.path.relpath(r[0], root), *r[1:3]] for r in rows if len(r) == 5]


def plugin_of_path(path: str) -> tuple[str, str] | None:
    """(plugin name, plugin directory) of a directory plugin's file at ``path``; None for any other file."""
    for root in (user_dir(), bundled_dir(), general_user_dir()):
        root_s = os.fspath(root) + os.sep
        if path.startswith(root_s):
            name = path[len(root_s):].split(os.sep, 1)[0]
            if name and name != "model-providers":
                return name, root_s + name
    return None


def _plugin_dirs(root: Path) -> Iterator[Path]:
    """Plugin directories under ``root``: sorted, no ``_``/``.`` names, with ``__init__.py``."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(("_", ".")) or not entry.is_dir():
            continue
        if os.path.isfile(os.path.join(entry.path, "__init__.py")):
            yield Path(entry.path)


class UnsafePlugin(Exception):
    """A user plugin that someone else could have written: not loaded."""


def check_private(plugin_dir: Path) -> None:
    """Refuse a user plugin that another user could have changed, like ssh's StrictModes.

    Its directory, everything in it, and the directories between it and
    ``$HERMES_HOME`` must be owned by the user (or root) and writable by no
    one else: whoever can write any of them can run code as the user, with
    every key the daemon holds. Bundled plugins and entry points are exempt
    (they are installed like any other package).
    """
    if not hasattr(os, "getuid"):  # Windows: no owner and mode bits to speak of
        return
    home = hermes_home()
    chain = [p for p in plugin_dir.parents if home in p.parents]  # plugins/, plugins/model-providers/
    for path in [*reversed(chain), plugin_dir, *_tree(plugin_dir)]:
        problem = _not_private(path)
        if problem is not None:
            raise UnsafePlugin(problem)


def _tree(root: Path) -> Iterator[Path]:
    for parent, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in dirs + files:
            yield Path(parent, name)


def _not_private(path: Path) -> str | None:
    """Why ``path`` could have been written by another user; None when only its owner (or root) could."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    me = os.getuid()
    if st.st_uid not in (me, 0):
        return (f"not loaded: {path} is owned by uid {st.st_uid}, not by you (uid {me}), who could run code as you; "
                f"fix: `chown {me} {path}` if you trust its contents")
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return (f"not loaded: {path} is writable by group or others, who could run code as you; "
                f"fix: `chmod go-w {path}` after checking its contents")
    return None


def _ident(name: str) -> str:
    return re.sub(r"\W", "_", name) or "_"


def _import_package(plugin_dir: Path, module_name: str) -> None:
    """Import a plugin directory as a package under ``module_name``, unique to it and its generation.

    Its ``.py`` files are read now, once, and every module of the package
    (``__init__`` and any submodule imported later, however lazily) runs
    from that copy (:class:`_SnapshotFinder`): a turn on this generation never
    mixes in code edited after it loaded. Relative imports work as usual.
    """
    _snapshots[module_name] = (os.fspath(plugin_dir), _read_tree(plugin_dir))
    _ensure_parent_packages(module_name)
    try:
        spec = _SnapshotFinder.find_spec(module_name)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        _forget_modules(module_name)
        raise


def _read_tree(plugin_dir: Path) -> dict[str, bytes]:
    """Every ``.py`` file under ``plugin_dir``, by path relative to it (``/``-separated)."""
    files: dict[str, bytes] = {}

    def walk(path: str, prefix: str, depth: int) -> None:
        with os.scandir(path) as entries:
            for entry in entries:
                name = entry.name
                if name.endswith(".py") and entry.is_file():
                    with open(entry.path, "rb") as f:
                        files[prefix + name] = f.read()
                elif depth > 1 and name != "__pycache__" and not name.startswith(".") and entry.is_dir():
                    walk(entry.path, f"{prefix}{name}/", depth - 1)

    walk(os.fspath(plugin_dir), "", _MAX_DEPTH)
    return files


# Root module name of each loaded plugin package -> (its directory, its files as read at load).
_snapshots: dict[str, tuple[str, dict[str, bytes]]] = {}


class _SnapshotFinder:
    """Finds the modules of a plugin package in the copy of its files read when it loaded.

    First on ``sys.meta_path``; for any name outside ``hermes_provider_plugins``
    it returns at once. A submodule absent from the copy (a file added since)
    is not found, rather than found on disk.
    """

    @staticmethod
    def find_spec(fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith(_GENERATION_PREFIX):
            return None
        root = fullname
        while root not in _snapshots:
            root, dot, _ = root.rpartition(".")
            if not dot:
                return None
        plugin_dir, files = _snapshots[root]
        rel = fullname[len(root) + 1:].replace(".", "/")
        for candidate, package in ((f"{rel}/__init__.py" if rel else "__init__.py", True), (f"{rel}.py", False)):
            if candidate in files:
                origin = os.path.join(plugin_dir, *candidate.split("/"))
                return importlib.util.spec_from_file_location(
                    fullname, origin, loader=_SnapshotLoader(files[candidate]),
                    submodule_search_locations=[os.path.dirname(origin)] if package else None)
        raise ModuleNotFoundError(f"No module named {fullname!r} in {plugin_dir} as it was when loaded", name=fullname)


class _SnapshotLoader:
    """Runs one module's source as read at load time; writes no bytecode into the plugin's directory."""

    def __init__(self, source: bytes) -> None:
        self.source = source

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        code = compile(self.source, module.__spec__.origin, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - running the plugin is the point


if _SnapshotFinder not in sys.meta_path:
    sys.meta_path.insert(0, _SnapshotFinder)  # type: ignore[arg-type]


def _import_file(path: Path, module_name: str) -> None:
    """A legacy single-file plugin (no submodules to keep consistent)."""
    _ensure_parent_packages(module_name)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    # Writing __pycache__ into a plugin directory would change its
    # fingerprint and trigger a needless reload at the next session.
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        _forget_modules(module_name)
        raise
    finally:
        sys.dont_write_bytecode = dont_write


def _ensure_parent_packages(module_name: str) -> None:
    """Create empty namespace parents so ``a.b.c`` can be registered in sys.modules."""
    import types

    parts = module_name.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules:
            module = types.ModuleType(parent)
            module.__path__ = []  # a package with no search path of its own
            sys.modules[parent] = module


def _forget_modules(module_name: str) -> None:
    """Drop a module, its submodules and their file copies (a plugin that failed, a freed generation).

    Submodules only exist under an imported package, so when the package is
    absent there is nothing to look for: scanning all of ``sys.modules`` for
    each of hundreds of plugins made discovery quadratic.
    """
    prefix = module_name + "."
    for name in [n for n in _snapshots if n == module_name or n.startswith(prefix)]:
        del _snapshots[name]
    if module_name not in sys.modules:
        return
    # list() first: another thread may be importing while we scan.
    for name in [n for n in list(sys.modules) if n == module_name or n.startswith(prefix)]:
        sys.modules.pop(name, None)


_GENERATION_PREFIX = _MODULE_PREFIX + ".g"


class Generation:
    """One discovery's plugin code, imported under its own prefix ``hermes_provider_plugins.g<N>``.

    A reload makes a new generation and leaves the old one's modules where
    they are, so a session that started on an old profile keeps running its
    own code, lazy imports included, until no session holds a profile of it
    (:meth:`used_by`) and it is freed (:meth:`free`).
    """

    def __init__(self, number: int) -> None:
        self.number = number
        self.prefix = f"{_GENERATION_PREFIX}{number}"

    def used_by(self, modules: set[str]) -> bool:
        """Whether any of ``modules`` (profile classes' ``__module__``) is one of this generation's."""
        return any(m.startswith(self.prefix + ".") for m in modules)

    def free(self) -> None:
        """Drop this generation's modules and file copies: its code runs nowhere any more."""
        _forget_modules(self.prefix)


def _plugin_error(info: PluginInfo, exc: BaseException) -> PluginError:
    """The most useful location for an error: the plugin's own frame, else the file."""
    path, line = info.path, None
    if isinstance(exc, SyntaxError) and exc.filename:
        path, line = exc.filename, exc.lineno
    else:
        plugin_root = str(Path(info.path).parent) if info.source != "legacy" else info.path
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith(plugin_root):
                path, line = frame.filename, frame.lineno
                break
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
    if missing and missing.split(".")[0] in HERMES_PACKAGES:
        message = (f"needs Hermes' {missing}, which hermesd does not provide (docs/plugins.md lists the "
                   f"Hermes modules it serves): not supported ({message})")
    elif isinstance(exc, UnsupportedHook):
        message = str(exc)
    return PluginError(plugin=info.name, path=path, line=line, message=message, source=info.source,
                       entry_point=info.entry_point)


def read_manifest(path: Path) -> dict[str, Any]:
    """Parse ``plugin.yaml``; a broken manifest reads as empty rather than failing the plugin."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def classify_plugin(plugin_dir: Path) -> str:
    """A plugin's kind: the manifest's ``kind``, else the source-text heuristic."""
    manifest = plugin_dir / "plugin.yaml"
    if manifest.is_file():
        kind = read_manifest(manifest).get("kind")
        if isinstance(kind, str) and kind:
            return kind
    try:
        source = (plugin_dir / "__init__.py").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "unknown"
    if "register_provider" in source and ("ProviderProfile" in source or "from providers import" in source):
        return "model-provider"
    return "unknown"


def fingerprint() -> tuple:
    """A cheap summary of every plugin file's path, size and mtime.

    Equal fingerprints mean nothing a discovery would read has changed, so a
    new session can skip the reload. Costs one ``scandir`` per directory and
    one ``stat`` per plugin file (about two per plugin), however deep a
    plugin's own subpackages go.
    """
    rows: list[tuple] = [("HERMES_HOME", str(hermes_home()))]
    # config.yaml's ``plugins.disabled`` and ``plugins.enabled`` decide what loads; its other keys do not.
    rows.append(("plugins.disabled", tuple(sorted(disabled_plugins()))))
    rows.append(("plugins.enabled", tuple(sorted(enabled_plugins()))))
    try:  # a plugin released from quarantine loads at the next check
        st = os.stat(quarantine_path())
        rows.append(("quarantine", st.st_size, st.st_mtime_ns))
    except OSError:
        pass
    for root in (bundled_dir(), general_user_dir()):
        _tree_stats(os.fspath(root), _MAX_DEPTH, rows)
    legacy: list[tuple] = []
    _tree_stats(os.fspath(legacy_dir()), 1, legacy)
    rows.extend(row for row in legacy if row[0].endswith(".py"))
    return tuple(rows)


# Deep enough for any plugin's subpackages; the bound only stops symlink loops.
_MAX_DEPTH = 16

_WATCHED_SUFFIXES = (".py", ".yaml", ".yml")


# A directory's listing is kept while its mtime says nothing in it was added,
# removed or renamed: one stat instead of listing it again. Listings made
# within _RACY_NS of the directory's last change are not kept, since a
# filesystem with coarse timestamps may not show a change made in the same tick.
_listings: dict[str, tuple[tuple[int, int], list[tuple[str, str, bool]]]] = {}
_RACY_NS = 2_000_000_000


def _listing(path: str) -> tuple[tuple[int, int], list[tuple[str, str, bool]]] | None:
    """``path``'s (mode, owner), and ``(name, path, is_dir)`` of what the fingerprint looks at in it,
    sorted; None if unreadable."""
    try:
        st = os.stat(path)
    except OSError:
        _listings.pop(path, None)
        return None
    key = (st.st_mtime_ns, st.st_ino)
    access = (st.st_mode, st.st_uid)  # a chmod changes no mtime, and may make a plugin loadable
    cached = _listings.get(path)
    if cached is not None and cached[0] == key:
        return access, cached[1]
    entries = []
    try:
        with os.scandir(path) as it:
            for entry in it:
                name = entry.name
                if name == "__pycache__" or name.startswith("."):
                    continue
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    continue
                if is_dir or name.endswith(_WATCHED_SUFFIXES):
                    entries.append((name, entry.path, is_dir))
    except OSError:
        return None
    entries.sort()
    if time.time_ns() - st.st_mtime_ns > _RACY_NS:
        _listings[path] = (key, entries)
    return access, entries


def _tree_stats(root: str, depth: int, rows: list[tuple]) -> None:
    """Append ``(path, "d" | size, mtime_ns)`` rows for ``root``'s tree, ``depth`` levels deep.

    Plain strings and one list: this runs at every session start, for every plugin.
    """
    listed = _listing(root)
    if listed is None:
        return
    access, entries = listed
    rows.append((root, *access))
    for _, path, is_dir in entries:
        try:
            if is_dir:
                if depth > 1:  # its listing below shows what was added, removed or renamed
                    rows.append((path, "d"))
                    _tree_stats(path, depth - 1, rows)
                else:  # not listed: its mtime stands for its contents
                    rows.append((path, "d", os.stat(path).st_mtime_ns))
            else:
                st = os.stat(path)
                rows.append((path, st.st_size, st.st_mtime_ns, st.st_mode, st.st_uid))
        except OSError:
            continue
