"""Doctor's completion rows: which endpoint and template completion uses and why, and a probe of a local one.

A local server is probed with a real one-token FIM request (free, and the
only way to see the template work); a hosted one is not (every FIM request
is billable): ``hermesd complete --preview`` shows what it would get.
Rows are plain tuples, ``(id, status, summary, hint)``: hermesd.engine.doctor
makes them its own.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from hermesd.engine.completion import requests as fim
from hermesd.engine.completion import settings as completion_settings
from hermesd.engine.completion.context import Hole

Row = tuple[str, str, str, "str | None"]
PROBE_SECONDS = 30.0  # a local server may load the model on its first request
PROBE_HOLE = Hole("def greet(name):\n    ", "\n", "python")


async def rows(cfg: Any, probe: bool) -> list[Row]:
    """The completion rows for ``cfg``: none while completion is off."""
    from hermesd.engine import local, runtime
    from hermesd.engine.errors import HermesError

    s = completion_settings.of(cfg)
    if not s.enabled:
        if s.provider or s.model:
            missing = "completion.model" if s.provider else "completion.provider"
            return [("completion", "warn", f"completion is off: {missing} is not set",
                     f"`hermesd config set {missing} ...` (docs/completion.md)")]
        return []
    try:
        resolved = runtime.resolve(cfg, provider=s.provider, model=s.model, base_url=s.base_url or None)
        p = fim.plan(resolved, s)
    except HermesError as exc:
        return [("completion", "fail", f"completion cannot reach {s.provider}/{s.model}: {exc.message}", exc.hint)]
    out: list[Row] = []
    template = p.template.name if p.template else "none"
    summary = (f"completion: {resolved.provider or resolved.base_url} {resolved.model} via {p.endpoint} "
               f"({p.endpoint_reason}); template {template} ({p.template_reason})")
    if p.endpoint == "chat":
        out.append(("completion", "warn", summary,
                    "a chat model fills holes through a prompt: slower and less exact than a FIM model "
                    "(Qwen2.5-Coder, StarCoder2, Codestral, DeepSeek-Coder...) on a completions endpoint"))
    else:
        out.append(("completion", "ok", summary, None))
    hosted = not local.is_local_url(p.url)
    if hosted and not s.hosted_workspaces:
        out.append(("completion:opt-in", "warn", f"{resolved.provider or p.url} is hosted and no workspace is opted in: "
                    "no buffer is sent", "set completion.hosted_workspaces to {FOLDER: true} for each project you allow"))
    if not probe:
        return out
    if hosted:
        out.append(("completion:probe", "skip", "a hosted FIM endpoint is not probed (each request is billable)",
                    "`hermesd complete --preview FILE:LINE:COL` shows the exact request"))
        return out
    out.append(await _probe(p))
    return out


async def _probe(p: fim.Plan) -> Row:
    """One FIM request of one token to the local endpoint: does it answer, and how fast."""
    from hermesd.engine.errors import HermesError
    from hermesd.transports import NetworkSettings
    from hermesd.transports.completion import stream_text

    tiny = dataclasses.replace(p, settings=dataclasses.replace(p.settings, max_tokens=1))
    prepared = fim.build(tiny, PROBE_HOLE)
    started = time.monotonic()
    try:
        async for _ in stream_text(prepared, p.resolved, NetworkSettings(timeout=PROBE_SECONDS, connect_timeout=3.0)):
            pass
    except HermesError as exc:
        return ("completion:probe", "fail", f"{prepared.url} did not answer a completion request: {exc.message}",
                exc.hint or "check the server runs and serves the model; `hermesd complete --preview` shows the request")
    took = (time.monotonic() - started) * 1000
    return ("completion:probe", "ok", f"{prepared.url} answered a one-token completion request in {took:.0f} ms", None)
