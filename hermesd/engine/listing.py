"""The listing replies (providers, models, picker, config) as :mod:`hermesd.protocol` objects, shared by handlers and CLI."""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import providers
from providers.base import ProviderProfile
from providers.pareto import PARETO_MODEL, describe_pareto

from hermesd.engine import catalog, google_cloud, local, readiness
from hermesd.engine.labels import model_label
from hermesd.settings import suggest
from hermesd.settings import credentials
from hermesd.settings import config as config_mod
from hermesd.engine.errors import HermesError
from hermesd.engine.labels import model_label
from hermesd.protocol import (
    ConfigErrorInfo,
    CurrentModel,
    GetConfigResult,
    ListModelsResult,
    ListPickerResult,
    ListProvidersResult,
    ModelInfo,
    PickerInput,
    PickerItem,
    PluginErrorInfo,
    ProviderInfo,
    ProviderOverride,
    SelectModelResult,
    SetupProvider,
)
from hermesd.engine.runtime import resolve

if TYPE_CHECKING:
    from hermesd.engine.sessions import Session, SessionStore

log = logging.getLogger(__name__)

AWS_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK")


def key_status(profile: ProviderProfile, cfg: config_mod.Config | None = None) -> str | None:
    """The variable that holds a usable credential for ``profile``, if any.

    A Vertex token counts only with an endpoint to send it to (with ``cfg``, which may set it).
    """
    var, _ = credentials.find_key(profile.key_env_vars)
    if var is None and profile.auth_type == "aws_sdk":
        var = next((v for v in AWS_CREDENTIAL_VARS if credentials.is_usable(credentials.lookup(v))), None)
    if var is not None and profile.auth_type == google_cloud.AUTH_TYPE:
        try:
            resolve(cfg or config_mod.load(), provider=profile.name, model="-")
        except HermesError:
            return None
    return var


def keyless_url(profile: ProviderProfile, cfg: config_mod.Config) -> str | None:
    """The base URL of a provider usable without a key (custom, a local server), else None."""
    if profile.auth_type != "api_key":
        return None
    # Resolving costs ~0.1 ms a profile; skip it when no URL this profile could use is local.
    var = profile.base_url_env_var
    candidates = (profile.base_url, credentials.lookup(var) if var else None, cfg.get("model.base_url"))
    if profile.name not in local.KEYLESS_PROFILES and not any(isinstance(u, str) and local.is_local_url(u) for u in candidates):
        return None
    try:
        base_url = resolve(cfg, provider=profile.name, model="-").base_url
    except HermesError:
        return None
    return base_url if local.key_optional(profile, base_url) else None


def provider_row(profile: ProviderProfile, cfg: config_mod.Config | None = None) -> ProviderInfo:
    """One provider as hermes/listProviders shows it; with ``cfg``, a keyless local server counts as configured."""
    origin = providers.provider_origin(profile.name)
    var = key_status(profile, cfg)
    url = None if var is not None or cfg is None else keyless_url(profile, cfg)
    replaced = origin.overrides if origin else None
    return ProviderInfo(
        name=profile.name,
        display_name=profile.display_name or profile.name,
        description=profile.description,
        aliases=list(profile.aliases),
        api_mode=profile.api_mode,
        auth_type=profile.auth_type,
        base_url=url or profile.base_url,
        signup_url=profile.signup_url,
        key_env_vars=list(profile.key_env_vars),
        configured=var is not None or url is not None,
        source=origin.source if origin else "runtime",
        key_env_var=var or None,
        keyless=True if url else None,  # configured by its base URL alone; no key is needed or sent
        overrides=ProviderOverride(source=replaced.source, path=replaced.path) if replaced is not None else None,
    )


def current_model(cfg: config_mod.Config) -> CurrentModel:
    """The configured provider and model, the model's short label, and the detail an editor shows beside it."""
    model = cfg.get("model.default") or ""
    return target_model(cfg.get("model.provider") or "", model, cfg.get(config_mod.SCORE_KEY))


def target_model(provider: str, model: str, floor: Any) -> CurrentModel:
    """A provider and model as editors show them: the short label, and Pareto Code's floor beside it."""
    detail = None
    if model == PARETO_MODEL:
        detail = "no minimum coding score" if floor is None else f"minimum coding score {floor:g}"
    return CurrentModel(provider=provider, model=model, label=model_label(model), detail=detail)


def plugin_error_row(error: providers.PluginError) -> PluginErrorInfo:
    """A load failure for editors; a plugin's exception text may quote a key, so it is scrubbed."""
    return PluginErrorInfo(plugin=error.plugin, path=error.path, message=credentials.redact(error.message),
                           line=error.line, entry_point=error.entry_point or None)


def providers_result() -> ListProvidersResult:
    """hermes/listProviders' result: every provider, the plugins that failed, the current model."""
    cfg = config_mod.load()
    return ListProvidersResult(
        providers=[provider_row(p, cfg) for p in providers.list_providers()],
        plugin_errors=[plugin_error_row(e) for e in providers.plugin_errors()],
        current=current_model(cfg),
    )


def models_result(name: str, refresh: bool) -> ListModelsResult:
    """hermes/listModels' result for provider ``name``; an unknown name raises a config_error naming the near misses.

    The catalog is fetched with the key and base URL a chat would use, or
    the profile's own URL and no key when the provider does not resolve.
    """
    profile = providers.get_provider_profile(name)
    if profile is None:
        raise HermesError("config_error", f"unknown provider {name!r}{suggest.did_you_mean(name, suggest.provider_names())}",
                          hint="run `hermesd providers` to see the names")
    cfg = config_mod.load()
    try:
        resolved = resolve(cfg, provider=profile.name, model="-")
        base_url, api_key = resolved.base_url, resolved.api_key
    except HermesError:
        base_url, api_key = profile.base_url, None
    return catalog.list_with_config(profile, cfg, base_url=base_url, api_key=api_key, refresh=refresh)


def config_result(cfg: config_mod.Config) -> GetConfigResult:
    """hermes/getConfig's result: the effective config masked, the defaults, and what is wrong with the file."""
    errors = []
    if cfg.parse_error is not None:
        errors.append(ConfigErrorInfo(message=str(cfg.parse_error), line=cfg.parse_error.line or None))
    errors += [ConfigErrorInfo(message=p) for p in cfg.problems]
    return GetConfigResult(path=str(cfg.path), config=config_mod.masked(cfg.shown), defaults=config_mod.defaults(),
                           errors=errors, current=current_model(cfg))


# -- the cross-provider model picker (hermes/listPicker) ----------------------

PICKER_TITLE = "Hermes: Select Model"
SETUP_LABEL = "Set up another provider…"


def is_configured(profile: ProviderProfile, cfg: config_mod.Config) -> bool:
    """Usable now, as listProviders' ``configured`` says: a key, or a keyless (local) endpoint."""
    return key_status(profile, cfg) is not None or keyless_url(profile, cfg) is not None


class Refused(config_mod.ConfigError):
    """A choice refused because its provider cannot be used yet; ``data`` (the error's JSON-RPC data) carries the sign-up link."""

    def __init__(self, message: str, signup_url: str | None) -> None:
        super().__init__(message)
        self.data = {"signupUrl": signup_url} if signup_url else None


def check_usable(provider: str, model: str = "-", cfg: config_mod.Config | None = None) -> None:
    """ConfigError, naming the fix, when a chat to ``provider`` would go out without its credential (or nowhere).

    Checked against the config as it is, with ``provider`` asked for: the URL
    and key a chat would use once it is selected (a ``model.base_url`` set for
    another provider stays with that one).
    """
    cfg = cfg or config_mod.load()
    try:
        resolved = resolve(cfg, provider=provider, model=model)
    except HermesError as exc:
        raise config_mod.ConfigError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from exc
    why = readiness.missing(resolved)
    if why is not None:
        assert resolved.profile is not None
        raise Refused(f"{why}: nothing was changed in {cfg.path}; {readiness.fix(resolved.profile)}",
                      resolved.profile.signup_url or None)


def set_config_value(key: str, value: Any, *, reset: bool = False) -> Any:
    """``config set`` and hermes/setConfig: :func:`hermesd.settings.config.set_value`, refusing a provider that cannot work yet."""
    if not reset and config_mod.canonical_key(key) == "model.provider":
        name = config_mod.validate(key, value)
        if name:
            check_usable(name)
    return config_mod.set_value(key, value, reset=reset)


def _setup_row(profile: ProviderProfile) -> SetupProvider:
    var = profile.key_env_vars[0] if profile.key_env_vars and profile.name not in local.KEYLESS_PROFILES else None
    return SetupProvider(provider=profile.name, label=profile.display_name or profile.name, description=readiness.needs(profile),
                         hint=readiness.setup_hint(profile), key_env_var=var, signup_url=profile.signup_url or None)


def _model_row(profile: ProviderProfile, model: ModelInfo, group: str, configured: bool,
               current: CurrentModel, cfg: config_mod.Config) -> PickerItem:
    described = [t for t in (model.label if model.label != model.id else None, model.description) if t]
    if not configured:  # first: a long description is cut at the end
        described.insert(0, readiness.needs(profile))
    label = model_label(model.id)
    if label != model.id:  # a path or a long id: the short label, the whole id beside it
        described.insert(0, model.id)
    return PickerItem(
        kind="model", id=model.id, provider=profile.name, label=label, group=group,
        description=" · ".join(described), configured=configured,
        current=True if model.id == current.model and profile.name == current.provider else None,
        hint=None if configured else readiness.setup_hint(profile),
        input=score_input(cfg) if model.id == PARETO_MODEL and profile.name == "openrouter" else None,
    )


def score_input(cfg: config_mod.Config) -> PickerInput:
    """What to ask before selecting Pareto Code: its minimum coding score."""
    score = cfg.get(config_mod.SCORE_KEY)
    shown = "none" if score is None else f"{score:g}"
    return PickerInput(
        param="minCodingScore",
        prompt=("Pareto Code routes each request to the cheapest coding model scoring at least this"
                " (0.0 to 1.0; none: no minimum, the strongest coder). Empty keeps the current value."),
        value=shown,
        placeholder=f"{shown} (current)",
    )


def _models_of(profile: ProviderProfile, refresh: bool) -> ListModelsResult:
    try:
        return models_result(profile.name, refresh)
    except Exception as exc:  # noqa: BLE001 - one provider's failure must not empty the picker
        return ListModelsResult(provider=profile.name, models=[], source="fallback", error=credentials.redact(str(exc)))


def _pareto(cfg: config_mod.Config) -> ModelInfo:
    """Pareto Code as the picker lists it: described with the configured floor."""
    return ModelInfo(id=PARETO_MODEL, group="routers", description=describe_pareto(cfg.get(config_mod.SCORE_KEY)))


def picker_result(refresh: bool = False) -> ListPickerResult:
    """The model picker, display-ready and in display order.

    The current model first, then OpenRouter's Pareto Code router (listed
    even when OpenRouter has no key: it is what this product is built
    around), then every configured provider's models under its name, then
    one entry in front of every provider still to set up. Model lists of
    configured providers are fetched concurrently; unconfigured providers
    are never contacted.
    """
    from concurrent.futures import ThreadPoolExecutor

    cfg = config_mod.load()
    profiles = providers.list_providers()
    configured = [p for p in profiles if is_configured(p, cfg)]
    unconfigured = [p for p in profiles if not is_configured(p, cfg)]
    current = current_model(cfg)
    current_profile = providers.get_provider_profile(current.provider) if current.provider else None
    if current_profile is not None:
        current.provider = current_profile.name
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(configured)))) as pool:
        listed = list(pool.map(lambda p: _models_of(p, refresh), configured))

    items: list[PickerItem] = []
    errors: list[str] = []
    seen: set[tuple[str, str]] = set()

    def add(row: PickerItem) -> None:
        if (row.provider, row.id) not in seen:
            seen.add((row.provider, row.id))
            items.append(row)

    if current_profile is not None and current.model:
        model = next((m for result in listed for m in result.models
                      if result.provider == current_profile.name and m.id == current.model),
                     ModelInfo(id=current.model, group="models"))
        if model.id == PARETO_MODEL:
            model = _pareto(cfg)
        add(_model_row(current_profile, model, "Current model", is_configured(current_profile, cfg), current, cfg))
    openrouter = providers.get_provider_profile("openrouter")
    if openrouter is not None:
        add(_model_row(openrouter, _pareto(cfg), "Recommended", is_configured(openrouter, cfg), current, cfg))
    for profile, result in zip(configured, listed):
        group = profile.display_name or profile.name
        if result.source == "fallback" and result.models:
            group += " (built-in list)"
        down = catalog.is_unreachable(result)
        if result.error and not down:
            errors.append(f"{profile.display_name or profile.name}: {result.error}")
        for model in result.models:
            add(_model_row(profile, model, group, True, current, cfg))
        if down:  # one row saying so, in place of models this server may never have served
            items.append(PickerItem(kind="notice", id="", provider=profile.name, label=result.error, group=group,
                                    description="", configured=False, hint=result.error))
    setup = [_setup_row(p) for p in unconfigured]
    if setup:
        names = ", ".join(row.label for row in setup[:3]) + (", …" if len(setup) > 3 else "")
        items.append(PickerItem(kind="setup", id="", provider="", label=SETUP_LABEL, group="More providers",
                                description=f"{len(setup)} more need a key or sign-in: {names}", configured=False))
    return ListPickerResult(
        title=PICKER_TITLE,
        placeholder="Type to filter the models of every configured provider",
        current=current,
        items=items,
        setup_title="Hermes: Set up another provider",
        setup=setup,
        errors=errors or None,
    )


def _typed_score(score: Any) -> dict[str, Any]:
    """The score change a selection asks for: ``score`` as typed (text, a number, null), absent or empty text: none."""
    from hermesd.protocol import UNSET

    if score is UNSET or (isinstance(score, str) and not score.strip()):
        return {}
    return {config_mod.SCORE_KEY: score}


def _selected(profile: ProviderProfile, model: str, floor: Any, cfg: config_mod.Config, where: str = "") -> tuple[str, str | None, str | None]:
    """The sentence a selection shows, and the hint and sign-up link when the provider still needs something."""
    message = f"Using {model} from {profile.display_name or profile.name}{where}"
    if model == PARETO_MODEL:
        message += " with no minimum coding score" if floor is None else f", minimum coding score {floor:g}"
    ready = is_configured(profile, cfg)
    return message + ".", None if ready else readiness.setup_hint(profile), None if ready else profile.signup_url or None


def select_model(provider: str, model: str, score: Any) -> tuple[SelectModelResult, list[tuple[str, Any]]]:
    """hermes/selectModel: one atomic write, then what to show and which keys changed.

    ``score`` is what the user typed (text, a number, null, or absent as
    :data:`hermesd.protocol.UNSET`); empty text keeps the current floor.
    """
    before = config_mod.load()
    after = config_mod.select_model(provider, model, _typed_score(score), usable=lambda p, m: check_usable(p, m, before))
    profile = providers.get_provider_profile(after.get("model.provider"))
    assert profile is not None  # select_model validated it
    floor = after.get(config_mod.SCORE_KEY)
    message, hint, signup_url = _selected(profile, after.get("model.default"), floor, after)
    result = SelectModelResult(
        current=dataclasses.replace(current_model(after), provider=profile.name),
        message=message,
        min_coding_score=floor,
        hint=hint,
        signup_url=signup_url,
        scope="default",
    )
    return result, config_mod.changed_keys(before, after)


def select(provider: str, model: str, score: Any, scope: str, store: SessionStore | None = None,
           session: Session | None = None) -> tuple[SelectModelResult, list[tuple[str, Any]]]:
    """hermes/selectModel (and ``hermesd model``): for ``session`` alone (scope ``session``), or as the default,
    one atomic write of config.yaml, and ``session`` too when given; the result and the config keys changed."""
    if scope == "session":
        assert store is not None and session is not None
        return select_for_session(store, session, provider, model, score), []
    result, changed = select_model(provider, model, score)
    if store is not None and session is not None:  # validated just now: the conversation follows
        select_for_session(store, session, provider, model, score)
        result.session_id = session.id
    return result, changed


def select_for_session(store: SessionStore, session: Session, provider: str, model: str, score: Any) -> SelectModelResult:
    """hermes/selectModel for one conversation: its next turns go to ``provider``/``model`` (and the score
    typed), saved in the session; config.yaml is not touched. The same refusals as the default's."""
    cfg = config_mod.load()
    if not isinstance(model, str) or not model.strip():
        raise config_mod.ConfigError("model must be a model id (got an empty string)")
    name = config_mod.validate("model.provider", provider)
    if not name:
        raise config_mod.ConfigError("provider must be a provider name or alias (got an empty string)")
    changes = _typed_score(score)
    floor = config_mod.validate(config_mod.SCORE_KEY, changes[config_mod.SCORE_KEY]) if changes else session.settings.min_coding_score
    check_usable(name, model, cfg)
    resolved = resolve(cfg, provider=name, model=model.strip())
    assert resolved.profile is not None  # check_usable resolved it
    error = store.choose_model(session, resolved.provider, resolved.model, resolved.profile, floor)
    if error is not None:  # kept in memory and retried with the next write; the choice holds for this daemon
        log.warning("session %s: the model choice is not saved yet: %s", session.id, error.message)
    message, hint, signup_url = _selected(resolved.profile, resolved.model, floor, cfg, " in this conversation")
    return SelectModelResult(
        current=target_model(resolved.provider, resolved.model, floor),
        message=message,
        min_coding_score=floor,
        hint=hint,
        signup_url=signup_url,
        scope="session",
        session_id=session.id,
    )
