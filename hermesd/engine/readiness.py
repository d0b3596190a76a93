"""Whether a provider can be used now, and what to do when it cannot: one rule for the picker, selectModel, chat and doctor.

A provider that declares key variables needs one of them (hermesd runs no
sign-in of its own, whatever the plugin's ``auth_type``: ``nous`` is usable
with ``NOUS_API_KEY`` and without it is not), unless its endpoint is the
user's own (a local server, ``custom`` with a base URL). A plugin that
declares no key variable needs nothing hermesd can check, so it is never
refused here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.base import ProviderProfile

from hermesd.engine import google_cloud, local
from hermesd.engine.errors import HermesError

if TYPE_CHECKING:
    from hermesd.engine.runtime import Resolved


def needs(profile: ProviderProfile) -> str:
    """What ``profile`` needs, in a few words for a picker row: "needs OPENROUTER_API_KEY"."""
    if profile.name in local.KEYLESS_PROFILES:
        return "needs a base URL"
    if profile.auth_type == google_cloud.AUTH_TYPE:
        return "needs Google Cloud credentials"
    if profile.key_env_vars:
        return f"needs {profile.key_env_vars[0]}"
    if profile.auth_type == "aws_sdk":
        return "uses AWS credentials"
    return f"signs in with {profile.auth_type}"


def setup_hint(profile: ProviderProfile) -> str:
    """How to make ``profile`` usable, in a sentence for a person."""
    name = profile.display_name or profile.name
    if profile.name in local.KEYLESS_PROFILES:
        return f"{name}: {fix(profile)}"
    if profile.auth_type == google_cloud.AUTH_TYPE:
        return f"{name} needs Google Cloud credentials: {fix(profile)}"
    if profile.key_env_vars:
        return f"{name} needs {profile.key_env_vars[0]}: {fix(profile)}"
    if profile.auth_type == "aws_sdk":
        return f"{name} uses AWS credentials: {fix(profile)}"
    return f"{name} signs in outside Hermes ({profile.auth_type}): {fix(profile)}"


def fix(profile: ProviderProfile) -> str:
    """What to do, without saying again what is missing (a refusal's message has said it)."""
    from hermesd.paths import env_path

    if profile.name in local.KEYLESS_PROFILES:
        return ("for a model server on this machine (Ollama, LM Studio, llama.cpp, vLLM), run"
                " `hermesd setup local`; for another endpoint, `hermesd setup local URL`.")
    if profile.auth_type == google_cloud.AUTH_TYPE:
        return f"{google_cloud.fix(profile.name, profile.base_url_env_var)}."
    if profile.key_env_vars:
        where = f" Get a key at {profile.signup_url}." if profile.signup_url else ""
        return (f"set {profile.key_env_vars[0]} in {env_path()} or in the environment the editor starts from,"
                f" then choose the model again.{where}")
    if profile.auth_type == "aws_sdk":
        return ("set AWS_PROFILE or AWS_ACCESS_KEY_ID (and AWS_SECRET_ACCESS_KEY) in the environment the editor"
                " starts from, then choose it again.")
    return "sign in with its own tool, then run Hermes doctor to check."


def missing(resolved: Resolved) -> str | None:
    """Why a request to ``resolved`` would leave unauthenticated (or go nowhere), or None when it can be sent."""
    profile = resolved.profile
    if profile is None or resolved.api_key:
        return None
    if profile.name in local.KEYLESS_PROFILES and not resolved.base_url:
        return f"{profile.display_name or profile.name} has no base URL"
    if not profile.key_env_vars or local.key_optional(profile, resolved.base_url) or local.is_local_url(resolved.base_url):
        return None
    return f"{profile.display_name or profile.name} needs {' or '.join(profile.key_env_vars)}, and none is set"


def refusal(resolved: Resolved) -> HermesError | None:
    """A chat's ``auth`` error, before anything is sent, when :func:`missing` says the request cannot be authenticated."""
    why = missing(resolved)
    if why is None:
        return None
    assert resolved.profile is not None
    return HermesError("auth", f"{why}: nothing was sent", hint=fix(resolved.profile), provider=resolved.provider)
