"""Vertex AI's credentials: what a request needs, and the exact fix when it is missing.

A provider with ``auth_type="vertex"`` (hermesd's bundled ``vertex``, or Hermes
0.19.0's own plugin installed as a user plugin) has no static key: requests
carry a short-lived Google OAuth2 access token, and the endpoint names the
project and region. The Hermes agent mints the token from a service account or
Application Default Credentials and builds the URL at run time; its profile's
``base_url`` is the bare host, which answers every chat with 404. hermesd mints
no Google tokens, so it never sends there: it needs the endpoint (the
profile's ``*_BASE_URL`` variable, or ``providers.vertex.base_url``) and a
token (``VERTEX_ACCESS_TOKEN``, or ``providers.vertex.key_env``). Until it has
both, resolving a Vertex request (a chat, a preview, doctor, the picker) fails
with "needs Google Cloud credentials: ..." and a fix filled in with the
``VERTEX_PROJECT_ID`` and ``VERTEX_REGION`` the Hermes agent reads, when set.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

from hermesd.engine.errors import HermesError

AUTH_TYPE = "vertex"
TOKEN_VAR = "VERTEX_ACCESS_TOKEN"
_HOST = "aiplatform.googleapis.com"
_ENDPOINT_PATH = re.compile(r"/v1(beta1)?/projects/[^/]+/locations/[^/]+/endpoints/openapi$")


def endpoint(project: str, region: str = "global") -> str:
    """Vertex's OpenAI-compatible root for a project and region (``global`` has no host prefix)."""
    host = _HOST if region == "global" else f"{region}-{_HOST}"
    return f"https://{host}/v1beta1/projects/{project}/locations/{region}/endpoints/openapi"


def fix(name: str, base_url_var: str | None) -> str:
    """The exact settings that make Vertex work, with the user's project and region when known.

    ``base_url_var``: the profile's own variables (hermesd's ``vertex``); a profile that
    declares none (Hermes' own plugin) is configured under ``providers.<name>`` instead.
    """
    project = os.environ.get("VERTEX_PROJECT_ID", "").strip() or "PROJECT"
    region = os.environ.get("VERTEX_REGION", "").strip() or "global"
    url = endpoint(project, region)
    where = (f"set {base_url_var}={url}" if base_url_var else
             f"in config.yaml set providers.{name}.base_url: {url} and providers.{name}.key_env: {TOKEN_VAR}")
    unknown = "; PROJECT is your Google Cloud project id" if project == "PROJECT" else ""
    return (f"{where}, and `export {TOKEN_VAR}=$(gcloud auth print-access-token)` "
            f"(a token lasts an hour; hermesd does not renew it){unknown}")


def check(name: str, base_url: str, url_source: str | None, key: str | None, base_url_var: str | None) -> None:
    """Raise the "needs Google Cloud credentials" error unless a Vertex request can be sent as resolved.

    ``url_source``: where the user set the URL; None when it is the profile's bare host.
    """
    missing = []
    host = (urlsplit(base_url).hostname or "").lower()
    if url_source is None:
        missing.append("no endpoint with a project and region is set")
    elif host.endswith(_HOST) and not _ENDPOINT_PATH.search(urlsplit(base_url).path.rstrip("/")):
        missing.append(f"{url_source} ({base_url}) names no project and region")
    if not key:
        missing.append("no access token is set (hermesd does not mint Google OAuth2 tokens)")
    if missing:
        raise HermesError("config_error", f"{name} needs Google Cloud credentials: {'; '.join(missing)}",
                          hint=fix(name, base_url_var), provider=name)
