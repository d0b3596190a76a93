"""Pure request building for inline completion: the exact HTTP request for one hole, per endpoint kind.

No I/O here: :func:`plan` decides (from config and the provider) which
endpoint and template completion uses, and :func:`build` turns a
:class:`~.context.Hole` into a :class:`~hermesd.wire.PreparedRequest`, which
:mod:`.fetch` sends and ``hermesd complete --preview`` shows masked.

Endpoint kinds (``completion.endpoint``):

* ``completions``: OpenAI-compatible ``/v1/completions`` (llama.cpp's server,
  llama-cpp-python, vLLM, Ollama's OpenAI API, DeepSeek's FIM beta). With a
  template, the prompt is the template filled in; without one (``server``),
  ``prompt`` + ``suffix`` and the server applies the model's own.
* ``fim``: Mistral's ``/v1/fim/completions`` (Codestral): ``prompt`` + ``suffix``.
* ``infill``: llama.cpp's ``/infill``: ``input_prefix`` + ``input_suffix``.
* ``ollama``: Ollama's ``/api/generate``: ``suffix``, or ``raw`` with a template.
* ``chat``: any chat model, with a hole-filler prompt (a FIM model would be better; doctor says so).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from hermesd.engine.completion.context import Hole
from hermesd.engine.completion.settings import CompletionSettings
from hermesd.engine.completion.templates import Template, choose
from hermesd.engine.errors import HermesError
from hermesd.engine.runtime import Resolved
from hermesd.wire import ChatOptions, PreparedRequest, join_url
from hermesd.wire.hermes_rules import client_headers

ENDPOINTS = ("completions", "fim", "infill", "ollama", "chat")
# Hosted FIM APIs: host -> (endpoint kind, where FIM requests go). DeepSeek serves FIM on its beta URL only.
KNOWN_HOSTS = {
    "api.mistral.ai": ("fim", "https://api.mistral.ai/v1"),
    "codestral.mistral.ai": ("fim", "https://codestral.mistral.ai/v1"),
    "api.deepseek.com": ("completions", "https://api.deepseek.com/beta"),
}
HOLE = "<HOLE>"
COMPLETION_OPEN, COMPLETION_CLOSE = "<COMPLETION>", "</COMPLETION>"
HOLE_FILLER_SYSTEM = (
    "You complete code in an editor. The user sends a file with one " + HOLE + " marker at the cursor. "
    "Reply with exactly the text that replaces " + HOLE + ", between " + COMPLETION_OPEN + " and "
    + COMPLETION_CLOSE + ", nothing else: no explanation, no code fence, no text already before or after the marker."
)


@dataclass(frozen=True)
class Plan:
    """How completion reaches its model, and why (doctor and the preview say both)."""

    endpoint: str
    endpoint_reason: str
    template: Template | None  # None: the server applies the model's own (or the chat endpoint)
    template_reason: str
    resolved: Resolved
    settings: CompletionSettings
    base_url: str = ""  # where FIM requests go, when not the provider's base URL (DeepSeek's /beta)

    @property
    def url(self) -> str:
        return self.base_url or self.resolved.base_url


def plan(resolved: Resolved, settings: CompletionSettings) -> Plan:
    """The endpoint kind and template for ``resolved`` (completion.provider/model already resolved)."""
    endpoint, why = choose_endpoint(resolved, settings)
    base_url = fim_base_url(resolved, settings)
    if endpoint in ("fim", "infill", "chat"):
        return Plan(endpoint, why, None, _template_unused(endpoint), resolved, settings, base_url)
    host = _host(base_url or resolved.base_url)
    if host in KNOWN_HOSTS and not settings.template:
        return Plan(endpoint, why, None, f"{host}'s FIM API applies the model's own template", resolved, settings, base_url)
    try:
        template, template_why = choose(resolved.model, settings.template, settings.templates)
    except ValueError as exc:
        raise HermesError("config_error", str(exc), hint="set completion.template to a listed name, or remove it") from None
    return Plan(endpoint, why, template, template_why, resolved, settings, base_url)


def fim_base_url(resolved: Resolved, settings: CompletionSettings) -> str:
    """Where FIM requests go when not the provider's base URL: the plugin's ``fim_base_url``, or a known
    host's FIM API (DeepSeek's /beta); "" otherwise. A URL set in config (completion.base_url) wins."""
    if settings.base_url:
        return ""
    declared = getattr(resolved.profile, "fim_base_url", "") if resolved.profile is not None else ""
    if isinstance(declared, str) and declared and _host(declared) == _host(resolved.base_url):
        return declared.rstrip("/")  # a key goes only to its own provider's host
    known = KNOWN_HOSTS.get(_host(resolved.base_url))
    return known[1] if known else ""


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _template_unused(endpoint: str) -> str:
    return {"fim": "Mistral's FIM API applies the model's own template",
            "infill": "llama.cpp's /infill applies the model's own FIM tokens",
            "chat": "a chat model: hole-filler prompt (no FIM template)"}[endpoint]


def choose_endpoint(resolved: Resolved, settings: CompletionSettings) -> tuple[str, str]:
    """``completion.endpoint``, else the profile's declared FIM endpoint, else what the URL and model suggest."""
    if settings.endpoint:
        return settings.endpoint, "completion.endpoint"
    declared = getattr(resolved.profile, "fim_endpoint", None) if resolved.profile is not None else None
    if isinstance(declared, str) and declared in ENDPOINTS:
        return declared, f"the {resolved.provider} plugin declares fim_endpoint: {declared}"
    host = _host(resolved.base_url)
    if host in KNOWN_HOSTS:
        return KNOWN_HOSTS[host][0], f"{host} serves a FIM API ({KNOWN_HOSTS[host][1]})"
    if resolved.api_mode != "chat_completions":
        return "chat", f"{resolved.api_mode} serves chat only"
    if settings.template or choose(resolved.model, "", settings.templates)[0] is not None:
        return "completions", "a FIM model on an OpenAI-compatible endpoint (/v1/completions)"
    return "chat", f"no FIM template known for {resolved.model!r}: hole-filler prompt to the chat API"


def build(p: Plan, hole: Hole) -> PreparedRequest:
    """The request for ``hole`` as it will be sent (key included)."""
    if p.endpoint == "chat":
        return _chat(p, hole)
    s = p.settings
    stop = _stops(p)
    body: dict[str, Any]
    if p.endpoint == "completions":
        body = {"model": p.resolved.model}
        body.update(_prompt(p.template, hole))
        body.update(max_tokens=s.max_tokens, temperature=0, stream=True)
        if stop:
            body["stop"] = stop
        url = join_url(p.url, "completions")
    elif p.endpoint == "fim":
        body = {"model": p.resolved.model, "prompt": hole.prefix, "suffix": hole.suffix, "max_tokens": s.max_tokens,
                "temperature": 0, "stream": True}
        if stop:
            body["stop"] = stop
        url = join_url(p.url, "fim/completions")
    elif p.endpoint == "infill":
        body = {"input_prefix": hole.prefix, "input_suffix": hole.suffix, "n_predict": s.max_tokens,
                "temperature": 0, "stream": True, "cache_prompt": True}
        if stop:
            body["stop"] = stop
        url = join_url(server_root(p.url), "infill")
    elif p.endpoint == "ollama":
        options: dict[str, Any] = {"num_predict": s.max_tokens, "temperature": 0}
        if stop:
            options["stop"] = stop
        body = {"model": p.resolved.model}
        body.update(_prompt(p.template, hole))
        if p.template is not None:
            body["raw"] = True  # our template, not the Modelfile's
        body.update(stream=True, options=options)
        url = join_url(server_root(p.url), "api/generate")
    else:
        raise HermesError("config_error", f"unknown completion.endpoint {p.endpoint!r}",
                          hint="one of " + ", ".join(ENDPOINTS))
    return PreparedRequest(url=url, method="POST", headers=_headers(p), body=body, api_mode=f"completion/{p.endpoint}",
                           provider=p.resolved.provider, model=p.resolved.model)


def _prompt(template: Template | None, hole: Hole) -> dict[str, str]:
    if template is None:
        return {"prompt": hole.prefix, "suffix": hole.suffix}
    return {"prompt": template.render(hole.prefix, hole.suffix)}


def _stops(p: Plan) -> list[str]:
    stops = list(p.template.stop) if p.template is not None else []
    if not p.settings.multiline:
        stops.append("\n")
    return stops


def _headers(p: Plan) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if p.resolved.api_key:
        headers["Authorization"] = f"Bearer {p.resolved.api_key}"
    headers.update(client_headers(p.resolved.base_url, p.resolved.model, p.resolved.profile, {}))
    return headers


def server_root(base_url: str) -> str:
    """The server's root for its native endpoints (``/infill``, ``/api/generate``): the base URL without ``/v1``."""
    return re.sub(r"/v1/?$", "", base_url.rstrip("/"))


def hole_filler_messages(hole: Hole) -> list[dict[str, Any]]:
    """The chat messages asking a chat model to fill the hole."""
    where = f" ({hole.path})" if hole.path else ""
    language = f"{hole.language} " if hole.language else ""
    user = f"Fill the {HOLE} in this {language}file{where}:\n\n{hole.prefix}{HOLE}{hole.suffix}"
    return [{"role": "system", "content": HOLE_FILLER_SYSTEM}, {"role": "user", "content": user}]


def _chat(p: Plan, hole: Hole) -> PreparedRequest:
    from hermesd.wire.dispatch import build_request

    options = ChatOptions(temperature=0, max_tokens=p.settings.max_tokens * 2, supports_reasoning=False)
    return build_request(p.resolved, hole_filler_messages(hole), options)
