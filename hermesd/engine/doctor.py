"""Diagnose a setup: config, plugins, keys, and a catalog probe per provider.

Probes only GET the catalog (never a billable completion), run concurrently
with a short timeout, and report which variable holds a key, never its value.
"""

from __future__ import annotations

import asyncio
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import providers
from providers.base import MAX_REDIRECTS, ProviderProfile, same_origin
from providers.pareto import PARETO_MODEL, coerce_min_coding_score

from hermesd.settings import config as config_mod
from hermesd.settings import credentials
from hermesd.engine import catalog, google_cloud, listing, local
from hermesd.engine.errors import HermesError
from hermesd.protocol import DoctorCheck, DoctorResult
from hermesd.engine.runtime import named_endpoint, own_entry, resolve

PROBE_TIMEOUT = 5.0
ANTHROPIC_VERSION = "2023-06-01"


@dataclass
class Check:
    """One row of the doctor report."""

    id: str
    status: str  # ok | warn | fail | skip (protocol.CheckStatus)
    summary: str
    hint: str | None = None
    provider: str | None = None

    def to_protocol(self) -> DoctorCheck:
        """The row as hermes/doctor sends it, summary and hint redacted (doctor output never shows a secret)."""
        return DoctorCheck(id=self.id, status=self.status,  # type: ignore[arg-type] - a CheckStatus
                           summary=credentials.redact(self.summary),
                           hint=credentials.redact(self.hint) if self.hint else None, provider=self.provider or None)


def report(checks: list[Check]) -> DoctorResult:
    """hermes/doctor's result (and ``hermesd doctor``'s): every check, redacted."""
    return DoctorResult(checks=[c.to_protocol() for c in checks])


def config_checks(cfg: config_mod.Config) -> list[Check]:
    """Whether config.yaml parses, and each value, template, shape and provider name that is wrong in it."""
    if cfg.parse_error is not None:
        err = cfg.parse_error
        where = f"{err.path} line {err.line}" if err.line else str(err.path)
        return [Check("config", "fail", f"{where}: {err.detail}",
                      hint="fix the file by hand; until then hermesd runs on defaults and will not write it")]
    checks = [Check("config", "ok", f"config parsed ({cfg.path})" if cfg.path.exists() else f"no config file yet ({cfg.path}); using defaults")]
    checks += [Check("config:value", "warn", problem, hint="run `hermesd config set KEY VALUE` to fix it") for problem in cfg.problems]
    checks += [Check("config:template", "warn", f"{where} is not set; the value is used as written",
                     hint="set the variable in the environment or in $HERMES_HOME/.env") for where in cfg.unresolved]
    checks += [Check("config:value", "warn", problem, hint="fix config.yaml by hand (docs/config.md shows the shapes)")
               for problem in config_mod.shape_problems(cfg)]
    checks += unused_key_checks(cfg)
    checks += unknown_provider_checks(cfg)
    return checks


def unused_key_checks(cfg: config_mod.Config) -> list[Check]:
    """Keys hermesd does not read: the Hermes agent's own are informational, any other is a typo (warn, with the key meant)."""
    from hermesd.settings import hermes_keys
    from hermesd.settings.suggest import did_you_mean

    agents, unknown = [], []
    for key in config_mod.ignored_keys(cfg):
        section, _, name = key.partition(".")
        if not name:
            known = section in hermes_keys.SECTIONS
            candidates = hermes_keys.SECTIONS | config_mod.USED_SECTIONS | set(config_mod.USED_KEYS)
        elif section in hermes_keys.SHARED_SECTION_KEYS or section in config_mod.USED_KEYS:
            names = hermes_keys.SHARED_SECTION_KEYS.get(section, set()) | config_mod.USED_KEYS.get(section, set())
            known = name.split(".")[0] in names
            candidates = {f"{section}.{n}" for n in names}
        else:
            known, candidates = True, set()  # a section only the agent reads: every key in it is the agent's
        if known:
            agents.append(key)
        else:
            unknown.append(Check("config:unknown-key", "warn",
                                 f"{key} is not a key hermesd or the Hermes agent reads{did_you_mean(key, candidates)}; it has no effect",
                                 hint=f"rename or remove it in {cfg.path}; docs/config.md lists the keys"))
    if agents:
        # Informational: the file is shared with the Hermes agent, which uses these.
        unknown.insert(0, Check("config:hermes-keys", "ok", "used by the Hermes agent, ignored here: " + ", ".join(agents)))
    return unknown


def unknown_provider_checks(cfg: config_mod.Config) -> list[Check]:
    """A provider name no plugin registers: every chat fails on ``model.provider`` (fail); summaries on the auxiliary one (warn)."""
    from hermesd.settings.suggest import did_you_mean, provider_names

    checks = []
    for key, status in (("model.provider", "fail"), ("auxiliary.compression.provider", "warn")):
        name = cfg.get(key)
        if name and not config_mod.provider_exists(name) and named_endpoint(cfg, name) is None:
            checks.append(Check("config:provider", status,
                                f"{key} is {name!r}, which no plugin provides{did_you_mean(name, provider_names())}",
                                hint="fix the plugin (see the plugin checks) or run `hermesd config set "
                                     f"{key} NAME`; `hermesd providers` lists the names"))
    return checks


def setup_check(cfg: config_mod.Config, profiles: list[ProviderProfile]) -> Check | None:
    """The first row when no provider can be used yet: what to do (an unreadable file comes first: it is the thing to fix)."""
    if cfg.parse_error is not None or (cfg.get("model.provider") or "").strip():
        return None
    if any(listing.is_configured(p, cfg) for p in profiles):
        return None
    return Check("setup", "warn", "nothing is configured yet: no provider has a key or a local server",
                 hint="for a model server on this machine, run `hermesd setup local`; for OpenRouter, set "
                      "OPENROUTER_API_KEY and run `hermesd setup openrouter`; `hermesd providers` lists the others")


def shown_providers(cfg: config_mod.Config, profiles: list[ProviderProfile], only: list[str] | None,
                    everything: bool) -> tuple[list[ProviderProfile], Check | None]:
    """The providers doctor reports on, and one row counting the others (providers nobody set up)."""
    if only or everything:
        return profiles, None
    current = providers.get_provider_profile((cfg.get("model.provider") or "").strip() or "-")
    shown = [p for p in profiles if listing.is_configured(p, cfg) or (current is not None and p.name == current.name)]
    hidden = len(profiles) - len(shown)
    if not hidden:
        return shown, None
    return shown, Check("providers:hidden", "skip",
                        f"{hidden} provider{'s' if hidden != 1 else ''} not set up (no key, no local server): not checked",
                        hint="`hermesd doctor --all` lists them, with what each needs")


def fallback_checks(cfg: config_mod.Config) -> list[Check]:
    """The fallback chain in order: where each entry goes and whether its key is set (never its value)."""
    from hermesd.engine import fallback

    return [Check("fallback", status, summary, hint=hint) for status, summary, hint in fallback.describe(cfg)]


def plugin_checks() -> list[Check]:
    """Plugins that failed to load, third-party plugins, overridden profiles, and plugin dirs others could write."""
    checks = []
    for err in providers.plugin_errors():
        where = f"{err.path} line {err.line}" if err.line else err.path
        if err.hint:  # installed but not enabled: a choice to make, not a failure
            checks.append(Check(f"plugin:{err.plugin}", "warn",
                                f"installed provider plugin {err.plugin!r} ({err.entry_point}) is not loaded: {err.message}",
                                hint=err.hint))
            continue
        if err.entry_point:
            checks.append(Check(f"plugin:{err.plugin}", "fail",
                                f"installed provider plugin {err.plugin!r} ({err.entry_point}) is not loaded: {err.message}",
                                hint="upgrade or `pip uninstall` the package that declares it, or add "
                                     f"{err.plugin!r} to plugins.disabled in config.yaml; other providers still work"))
            continue
        checks.append(Check(f"plugin:{err.plugin}", "fail", f"plugin {err.plugin!r} failed to load: {err.message}",
                            hint=f"fix {where} or remove the plugin directory; other providers still work"))
    checks += third_party_checks()
    for profile in providers.list_providers():
        origin = providers.provider_origin(profile.name)
        if origin and origin.overrides is not None:
            checks.append(Check(f"override:{profile.name}", "warn",
                                f"{origin.source} plugin {profile.name!r} ({origin.path}) overrides the {origin.overrides.source} one",
                                hint="expected if you meant to replace it; delete the directory to go back", provider=profile.name))
    for root in (providers.discovery.user_dir(), providers.discovery.general_user_dir()):
        if _writable_by_others(root):
            checks.append(Check("plugins:permissions", "warn", f"{root} is writable by other users, who could run code as you",
                                hint=f"chmod go-w {root}"))
    home = providers.discovery.hermes_home()
    if _writable_by_others(home):
        checks.append(Check("home:permissions", "warn",
                            f"$HERMES_HOME ({home}) is writable by other users, who could change your config, "
                            "keys and plugins", hint=f"chmod go-w {home}"))
    return checks


def third_party_checks() -> list[Check]:
    """Installed-but-disabled plugins, and what hermesd keeps but does not use of newer Hermes plugins."""
    from providers.base import newer_fields

    checks = []
    for info in providers.list_plugins():
        if info.disabled:
            where = info.entry_point or info.path
            checks.append(Check(f"plugin:{info.name}", "warn",
                                f"provider plugin {info.name!r} ({where}) is installed but not loaded: "
                                "plugins.disabled in config.yaml names it",
                                hint=f"to load it, remove {info.name!r} from plugins.disabled in config.yaml"))
        elif info.ignored:
            checks.append(Check(f"plugin:{info.name}", "warn",
                                f"plugin {info.name!r} also registers {', '.join(sorted(set(info.ignored)))}: "
                                "hermesd serves providers only and ignores them",
                                hint="nothing to do; the Hermes agent uses them"))
    for profile in providers.list_providers():
        newer = newer_fields(profile)
        if newer:
            checks.append(Check(f"profile:{profile.name}", "warn",
                                f"provider {profile.name!r} sets {', '.join(sorted(newer))}, from a Hermes release newer "
                                "than hermesd's plugin API (0.19.0): kept, not used",
                                hint="requests go out as for the fields hermesd knows" + (
                                    "" if profile.key_env_vars else
                                    f"; hermesd runs no {profile.auth_type} sign-in and this provider declares no key "
                                    "variable, so its requests carry no credential"), provider=profile.name))
    return checks


def environment_checks() -> list[Check]:
    """Which plugin registry this process uses, and what else in this environment shares our names.

    The Hermes agent owns the top-level ``providers`` package; inside hermesd's
    process that name is hermesd's own (see hermesd.aliases), so both can live
    in one environment. The registry's ``hermesd`` distribution is another
    program that installs the same ``hermesd`` package and command.
    """
    from importlib import metadata

    from hermesd import aliases

    api = os.path.dirname(providers.__file__)
    if aliases.is_ours(providers):
        checks = [Check("registry", "ok", f"plugin registry in use: hermesd's own ({api})")]
    else:
        checks = [Check("registry", "fail", f"plugin registry in use: {api}, not hermesd's ({aliases.api_dir()})",
                        hint="start hermesd through its `hermesd` or `hermesd-lsp` command, which installs its import aliases first")]
    try:
        hermes = metadata.distribution("hermes-agent")
    except metadata.PackageNotFoundError:
        hermes = None
    if hermes is not None:
        where = hermes.locate_file("providers")
        checks.append(Check("hermes-agent", "ok",
                            f"Hermes agent {hermes.version} is installed in this environment; its `providers` package ({where}) "
                            "serves Hermes' own processes, hermesd uses its own registry and changes none of Hermes' files"))
    try:
        other = metadata.distribution("hermesd")
    except metadata.PackageNotFoundError:
        other = None
    if other is not None and "editor" not in (other.metadata["Summary"] or ""):
        checks.append(Check("hermesd-distribution", "warn",
                            f"the `hermesd` distribution {other.version} ({other.metadata['Summary']}) is installed here too: "
                            "it is another program, and it overwrites the `hermesd` package and command",
                            hint="install this daemon into its own environment (`pipx install hermesd-lsp`, or a venv) "
                                 "and point your editor at that `hermesd-lsp`"))
    return checks


def dependency_checks() -> list[Check]:
    """The versions of hermesd's direct dependencies, and a warning for each outside the range the
    dependency matrix passed (hermesd.tested_versions, written by scripts/dependency_matrix.py)."""
    from importlib import metadata

    from hermesd.tested_versions import OPTIONAL, TESTED

    found, checks = [], []
    for name, (low, high) in TESTED.items():
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name not in OPTIONAL:
                checks.append(Check(f"dependency:{name}", "fail", f"{name} is not installed (tested: {low} to {high})",
                                    hint=f"pip install '{name}>={low},<={high}' in hermesd's environment"))
            continue
        found.append(f"{name} {version}")
        if not _release(low) <= _release(version) <= _release(high):
            checks.append(Check(f"dependency:{name}", "warn", f"{name} {version} is outside the tested range ({low} to {high})",
                                hint=f"if chats fail, pip install '{name}>={low},<={high}' in hermesd's environment"))
    return [Check("dependencies", "ok", "direct dependencies: " + ", ".join(found)), *checks]


def _release(version: str) -> tuple[int, ...]:
    """A version's release numbers (``"2.24.0rc1"`` -> ``(2, 24, 0)``): enough to place it in a tested range."""
    import re

    return tuple(int(part) for part in re.findall(r"\d+", re.match(r"[\d.]*", version).group())) or (0,)


def _writable_by_others(path: Path) -> bool:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IWGRP | stat.S_IWOTH))


def _origin(url: Any) -> str:
    """scheme://host:port of a URL: where a redirect points, without its path or query."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace')}"


def pareto_check(cfg: config_mod.Config) -> Check:
    """What openrouter.min_coding_score is, and whether the current model sends it; always ok (informational)."""
    raw = cfg.get("openrouter.min_coding_score")
    score = coerce_min_coding_score(raw)
    current = cfg.get("model.default") or ""
    with_model = current == PARETO_MODEL
    if score is None:
        ignored = any(p.startswith("openrouter.min_coding_score ") for p in cfg.problems)
        why = "ignored (see the config warning)" if ignored else "null"
        summary = f"openrouter.min_coding_score is {why}: no floor is sent (OpenRouter picks the strongest coder)"
    else:
        default = "" if cfg.has("openrouter.min_coding_score") else " (default)"
        sent = "sent with the current model" if with_model else f"not sent: the current model is {current or 'unset'}, not {PARETO_MODEL}"
        summary = f"openrouter.min_coding_score = {score:g}{default}; {sent}"
    return Check("pareto", "ok", summary)


def _probe_headers(profile: ProviderProfile, key: str) -> dict[str, str]:
    headers = dict(profile.default_headers or {})
    if profile.api_mode == "anthropic_messages":
        headers.update({"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION})
    else:
        headers["Authorization"] = f"Bearer {key}"
    return headers


def _vertex_check(profile: ProviderProfile, cfg: config_mod.Config) -> Check:
    """Vertex without probing: whether an endpoint and a token are set, else the exact fix."""
    cid = f"provider:{profile.name}"
    try:
        resolved = resolve(cfg, provider=profile.name, model="-")
    except HermesError as exc:
        # Skipped, like a provider with no key, unless something of it is set: then it is half done.
        started = any(credentials.lookup(v) for v in profile.env_vars) or own_entry(cfg, profile) is not None
        return Check(cid, "warn" if started else "skip", exc.message, hint=exc.hint, provider=profile.name)
    return Check(cid, "ok", f"{resolved.key_env_var} is set; endpoint {resolved.base_url}", provider=profile.name)


async def _probe(client: Any, profile: ProviderProfile, cfg: config_mod.Config) -> Check:
    cid = f"provider:{profile.name}"
    if profile.auth_type == google_cloud.AUTH_TYPE:
        return _vertex_check(profile, cfg)  # no catalog to probe
    try:
        resolved = resolve(cfg, provider=profile.name, model="-")
    except HermesError as exc:
        return Check(cid, "warn", exc.message, hint=exc.hint, provider=profile.name)
    var, key = resolved.key_env_var, resolved.api_key
    if profile.auth_type != "api_key":
        return _sign_in_check(profile, var)
    if not key and local.key_optional(profile, resolved.base_url):
        return await _probe_keyless(client, profile, resolved.base_url)
    if not key and profile.name in local.KEYLESS_PROFILES:
        return Check(cid, "skip", "no base URL set", provider=profile.name,
                     hint=f"run `hermesd setup local [URL]`, or set {profile.base_url_env_var or 'model.base_url'}")
    if not key:
        wanted = " or ".join(profile.key_env_vars) or "an API key variable"
        signup = f" (get one at {profile.signup_url})" if profile.signup_url else ""
        return Check(cid, "skip", "no key set", hint=f"set {wanted}{signup}", provider=profile.name)
    if not profile.supports_health_check or not resolved.base_url:
        return Check(cid, "ok", f"{var} is set (key configured; not probed)", provider=profile.name)
    url = profile.catalog_url(resolved.base_url)
    # The URL a chat would use, and where it was set: a key's destination is never a surprise.
    where = f"{resolved.base_url} (from {resolved.base_url_source})" if resolved.base_url_source else resolved.base_url
    try:
        response = await client.get(url, headers=_probe_headers(profile, key))
        for _ in range(MAX_REDIRECTS):  # within the origin only: the key must not follow a redirect elsewhere
            target = response.next_request
            if target is None:
                break
            if not same_origin(url, target.url):
                return Check(cid, "warn", f"{var} is set; {url} redirects to another origin ({_origin(target.url)}): "
                             "not followed, so the key was not sent there",
                             hint="set the provider's base URL to the address it redirects to, if you trust it",
                             provider=profile.name)
            response = await client.send(target)
    except Exception as exc:  # noqa: BLE001 - any network failure is a warning, not a crash
        return Check(cid, "warn", f"{var} is set; cannot reach {url} ({type(exc).__name__}); chats go to {where}",
                     hint="check your network or the provider's base URL", provider=profile.name)
    if response.status_code == 200:
        return Check(cid, "ok", f"{var} is set; catalog reachable (200) at {where}", provider=profile.name)
    if response.status_code in (401, 403):
        return Check(cid, "fail", f"{var} was rejected ({response.status_code})",
                     hint=f"set a valid key in {var}", provider=profile.name)
    return Check(cid, "warn", f"{var} is set; {url} answered {response.status_code}",
                 hint="the provider may be having trouble; try again later", provider=profile.name)


def _sign_in_check(profile: ProviderProfile, var: str | None) -> Check:
    """A provider whose plugin signs in elsewhere: hermesd runs no sign-in, so only its key variable counts (as in the picker)."""
    from hermesd.engine import readiness

    cid = f"provider:{profile.name}"
    if var:
        return Check(cid, "ok", f"{var} is set (signs in through {profile.auth_type}; not probed)", provider=profile.name)
    if profile.key_env_vars:
        return Check(cid, "skip", f"no key set ({' or '.join(profile.key_env_vars)}); hermesd runs no {profile.auth_type} sign-in",
                     hint=readiness.setup_hint(profile), provider=profile.name)
    return Check(cid, "skip", f"signs in through {profile.auth_type}, which hermesd does not run; not probed",
                 hint=readiness.setup_hint(profile), provider=profile.name)


async def _probe_keyless(client: Any, profile: ProviderProfile, base_url: str) -> Check:
    """A server the user runs: it must answer, since nothing else can be wrong with it."""
    cid, url = f"provider:{profile.name}", profile.catalog_url(base_url)
    try:
        response = await client.get(url, headers=dict(profile.default_headers or {}))
    except Exception as exc:  # noqa: BLE001 - any network failure is the finding
        return Check(cid, "fail", f"cannot reach {url} ({type(exc).__name__})", provider=profile.name,
                     hint=local.start_hint(base_url))
    if response.status_code in (401, 403):
        wanted = " or ".join(profile.key_env_vars) or "the provider's key variable"
        return Check(cid, "fail", f"{url} asks for a key ({response.status_code})", provider=profile.name,
                     hint=f"set {wanted}")
    if response.status_code != 200:
        return Check(cid, "warn", f"{url} answered {response.status_code}", provider=profile.name,
                     hint="check that the base URL ends where the server's /models lives (often /v1)")
    return Check(cid, "ok", f"no key needed; {url} answered (200)", provider=profile.name)


async def completion_checks(cfg: config_mod.Config, probe: bool) -> list[Check]:
    """Inline completion's rows (hermesd.engine.completion.doctor); none while it is off."""
    from hermesd.engine.completion import doctor as completion_doctor

    return [Check(*row) for row in await completion_doctor.rows(cfg, probe)]


def model_check(cfg: config_mod.Config) -> Check | None:
    """With no model.default, which model a keyless server's chats get, and from where."""
    if (cfg.get("model.default") or "").strip() or not (cfg.get("model.provider") or "").strip():
        return None
    try:
        resolved = resolve(cfg, model="-")
    except HermesError:
        return None  # the config checks already report an unknown provider
    if resolved.profile is None:
        return None
    chosen = catalog.default_model(resolved.profile, resolved.base_url, resolved.api_key, cfg)
    if chosen.source == "served":
        return Check("model", "ok", chosen.note, provider=resolved.provider)
    if chosen.source == "fallback":
        return Check("model", "warn", chosen.note, provider=resolved.provider,
                     hint="start the server, or name the model: `hermesd config set model.default MODEL`")
    return None


async def run(
    *,
    only: list[str] | None = None,
    probe: bool = True,
    everything: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    cfg: config_mod.Config | None = None,
) -> list[Check]:
    """Every check: config, fallback, plugins, environment, dependencies, Pareto, then one row per provider.

    With ``probe`` each provider's catalog is asked (``progress(done, total,
    name)`` after each); without, a row says only whether its key is set.
    ``only`` limits the provider rows to those names; without it (or
    ``everything``) providers nobody set up are counted in one row.
    """
    cfg = cfg or await asyncio.to_thread(config_mod.load)
    profiles = providers.list_providers()
    first = setup_check(cfg, profiles)
    checks = (([first] if first else []) + config_checks(cfg) + fallback_checks(cfg) + plugin_checks() + environment_checks()
              + dependency_checks())
    checks.append(pareto_check(cfg))
    if only:
        wanted = {p.name for p in (providers.get_provider_profile(n) for n in only) if p}
        profiles = [p for p in profiles if p.name in wanted]
    profiles, hidden = shown_providers(cfg, profiles, only, everything)
    checks += [hidden] if hidden else []
    if not probe:
        checks += await completion_checks(cfg, probe=False)
        for profile in profiles:
            if profile.auth_type == google_cloud.AUTH_TYPE:
                checks.append(_vertex_check(profile, cfg))
                continue
            var, _ = credentials.find_key(profile.key_env_vars)
            url = None if var else listing.keyless_url(profile, cfg)
            summary = f"{var} is set" if var else f"no key needed ({url}; not probed)" if url else "no key set"
            checks.append(Check(f"provider:{profile.name}", "ok" if var or url else "skip", summary, provider=profile.name))
        return checks
    model = await asyncio.to_thread(model_check, cfg)
    checks += [model] if model else []
    checks += await completion_checks(cfg, probe=True)
    import httpx

    total, done = len(profiles), 0
    async with httpx.AsyncClient(timeout=PROBE_TIMEOUT) as client:

        async def one(profile: ProviderProfile) -> Check:
            nonlocal done
            try:
                result = await _probe(client, profile, cfg)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - a plugin's hook failed; the others still report
                origin = providers.provider_origin(profile.name)
                result = Check(f"provider:{profile.name}", "fail",
                               f"plugin {profile.name!r} raised {type(exc).__name__} while being probed: {exc}",
                               hint=f"fix or remove {origin.path if origin else 'the plugin'}; other providers still work",
                               provider=profile.name)
            done += 1
            if progress:
                progress(done, total, profile.name)
            return result

        checks += await asyncio.gather(*(one(p) for p in profiles))
    return checks
