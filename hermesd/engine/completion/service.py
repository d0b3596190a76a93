"""One connection's inline completions: supersede, adaptive debounce, a cache, the refusal rules, counters.

The latency rules (docs/completion.md, bench rows I1-I3):

* A newer request for the same document supersedes the older one: its task
  is cancelled, which closes its upstream stream at once (the model stops
  generating text nobody will see), and it answers with no suggestion.
* The debounce is ``completion.debounce_ms`` (0 by default) until requests
  start superseding each other, i.e. the user types faster than the model
  answers: then each request waits 1.5 times the recent keystroke interval,
  or the longest of the last four if longer (at most :data:`MAX_DEBOUNCE`),
  so a burst costs one request at its end.
* Typing the first characters of the current suggestion is answered from the
  cache with the rest of it, and no request; so is a hole seen before.

Refused, with no request: a buffer the secret-file rule matches (its name,
git ignores it, it holds a private key), and any buffer for a hosted
provider unless its folder is listed in ``completion.hosted_workspaces``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from hermesd.engine.completion import context, postprocess
from hermesd.engine.completion import requests as fim
from hermesd.engine.completion import settings as completion_settings
from hermesd.engine.completion.settings import CompletionSettings

log = logging.getLogger(__name__)

MAX_DEBOUNCE = 0.3  # seconds: the longest a burst makes a request wait
BURST_FACTOR = 1.5
CACHE_PER_DOCUMENT = 16
_ids = itertools.count(1)


@dataclass(frozen=True)
class Suggestion:
    """One completion to show at the cursor."""

    id: str
    text: str


@dataclass(frozen=True)
class _Entry:
    prefix: str
    suffix: str
    text: str


class Unavailable(Exception):
    """Completion is configured but cannot run (unknown provider, missing key): the message says why."""


_plan_cache: tuple[Any, Any] | None = None


def current_plan() -> fim.Plan | None:
    """The plan for config.yaml as it is now (None: completion is off); rebuilt when config or keys change.

    Raises :class:`Unavailable` when completion is configured but cannot be resolved.
    """
    global _plan_cache
    from hermesd.paths import env_path
    from hermesd.settings import config as config_mod

    cfg = config_mod.load()
    try:
        env_stamp = os.stat(env_path()).st_mtime_ns
    except OSError:
        env_stamp = None
    key = (id(cfg), cfg.env_stamp, env_stamp)
    if _plan_cache is not None and _plan_cache[0] == key:
        result = _plan_cache[1]
    else:
        result = _build_plan(cfg)
        _plan_cache = (key, result)
    if isinstance(result, Unavailable):
        raise result
    return result


def _build_plan(cfg: Any) -> fim.Plan | Unavailable | None:
    from hermesd.engine import runtime
    from hermesd.engine.errors import HermesError

    s = completion_settings.of(cfg)
    if not s.enabled:
        return None
    try:
        resolved = runtime.resolve(cfg, provider=s.provider, model=s.model, base_url=s.base_url or None)
        return fim.plan(resolved, s)
    except HermesError as exc:
        return Unavailable(f"{exc.message}; {exc.hint}" if exc.hint else exc.message)


def network() -> Any:
    from hermesd.settings import config as config_mod
    from hermesd.transports import NetworkSettings

    return NetworkSettings.of(config_mod.load())


def path_refusal(p: fim.Plan, path: str) -> str | None:
    """Why no buffer of ``path`` may be sent (the secret-file rule, the hosted opt-in), or None. Runs git."""
    from hermesd.engine.attachments import sensitive_reason
    from hermesd.engine.local import is_local_url

    reason = sensitive_reason(path)
    if reason:
        return f"{path} {reason}"
    if not is_local_url(p.url) and not opted_in(path, p.settings):
        return (f"{p.resolved.provider or p.resolved.base_url} is hosted: list the workspace folder in "
                "completion.hosted_workspaces to send its buffers there")
    return None


def text_refusal(hole: context.Hole) -> str | None:
    """Why this hole's text must not be sent (it holds a private key), or None."""
    from hermesd.engine.attachments import sensitive_reason

    reason = sensitive_reason("", hole.prefix + hole.suffix)
    return f"the buffer {reason}" if reason else None


def opted_in(path: str, s: CompletionSettings) -> bool:
    """Whether ``path`` lies in a folder of ``completion.hosted_workspaces`` (``"*"``: everywhere)."""
    if "*" in s.hosted_workspaces:
        return True
    if not path or not os.path.isabs(path):
        return False
    real = os.path.realpath(path)
    for folder in s.hosted_workspaces:
        root = os.path.realpath(os.path.expanduser(folder)).rstrip(os.sep)
        if real == root or real.startswith(root + os.sep):
            return True
    return False


class Completions:
    """Inline completion for one editor connection: nothing here is shared with another connection."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Task] = {}
        # Weak: a finished task leaves both by itself (no callback racing the handler that reads them).
        self._superseded: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()  # cancelled: a newer request took over
        self._cancelled: weakref.WeakSet[asyncio.Task] = weakref.WeakSet()  # cancelled once already
        self._last_request: dict[str, float] = {}
        self._intervals: dict[str, deque[float]] = {}
        self._cache: dict[str, deque[_Entry]] = {}
        self._path_reason: dict[str, tuple[fim.Plan, str | None]] = {}
        self.stats: Counter[str] = Counter()
        self.last_error = ""
        self._plan: fim.Plan | None = None  # the plan the cache's answers came from
        self._events: deque[tuple[str, str]] = deque(maxlen=256)  # (id, event) seen lately: a repeat counts once

    def forget(self, uri: str) -> None:
        """The document closed: drop its cache and cancel its request."""
        task = self._inflight.pop(uri, None)
        if task is not None and not task.done():
            self._cancel(task, superseded=True)
        for table in (self._last_request, self._intervals, self._cache, self._path_reason):
            table.pop(uri, None)

    async def complete(self, uri: str, text: str, offset: int, *, language: str = "", path: str = "",
                       invoked: bool = False) -> Suggestion | None:
        """The suggestion at ``offset`` of ``text`` (the document ``uri``), or None.

        Failures (completion misconfigured, the upstream down) are logged and
        counted, never raised: a keystroke must not open an error dialog.
        """
        from hermesd.engine.errors import HermesError

        try:
            return await self._complete(uri, text, offset, language, path, invoked)
        except (Unavailable, HermesError) as exc:
            self.stats["errors"] += 1
            self.last_error = str(exc.message if isinstance(exc, HermesError) else exc)
            log.warning("completion failed: %s", self.last_error)
            return None

    async def _complete(self, uri: str, text: str, offset: int, language: str, path: str,
                        invoked: bool) -> Suggestion | None:
        p = current_plan()
        if p is None or not p.settings.language_enabled(language):
            return None
        if p is not self._plan:
            if p != self._plan:  # another model or template: what the old one wrote is no answer now
                self._cache.clear()
            self._plan = p  # the same settings read again (config re-parsed elsewhere) keep the cache
        s = p.settings
        hole = context.cut(text, offset, s.prefix_chars, s.suffix_chars, language, path)
        hit = self._cached(uri, hole)
        if hit is not None:
            self.stats["cache_hits"] += 1
            return self._suggest(hit)
        why = await self._refused(uri, p, path, hole)
        if why:
            self.stats["refused"] += 1
            log.info("completion not requested: %s", why)
            return None
        burst = self._supersede(uri)
        task = asyncio.ensure_future(self._ask(p, hole, self._debounce(uri, burst, invoked, s.debounce_ms / 1000)))
        self._inflight[uri] = task
        try:
            answer = await asyncio.shield(task)  # its cancels go through _cancel, one each
        except asyncio.CancelledError:
            if task in self._superseded:  # a newer keystroke's request took over: no suggestion, no error
                self.stats["superseded"] += 1
                return None
            self._cancel(task)  # the editor cancelled this request ($/cancelRequest)
            raise
        finally:
            if self._inflight.get(uri) is task:
                del self._inflight[uri]
        if answer is None:
            return None
        self._remember(uri, _Entry(hole.prefix, hole.suffix, answer))
        return self._suggest(answer)

    def event(self, suggestion_id: str, event: str) -> None:
        """A suggestion was shown, accepted or rejected: counted once per suggestion and event."""
        if (suggestion_id, event) in self._events:
            return
        self._events.append((suggestion_id, event))
        self.stats[event] += 1

    def counters(self) -> Any:
        """The counters as the protocol reports them (hermes/completionStats)."""
        from hermesd.protocol import CompletionStats

        return CompletionStats(**{name: self.stats[name] for name in (
            "requests", "suggestions", "cache_hits", "superseded", "refused", "errors", "shown", "accepted", "rejected")})

    def _suggest(self, text: str) -> Suggestion:
        self.stats["suggestions"] += 1
        return Suggestion(f"c{next(_ids)}", text)

    async def _refused(self, uri: str, p: fim.Plan, path: str, hole: context.Hole) -> str | None:
        known = self._path_reason.get(uri)
        if known is None or (known[0] is not p and known[0] != p):  # once a document and plan: git runs a process
            known = (p, await asyncio.to_thread(path_refusal, p, path))
            self._path_reason[uri] = known
        return known[1] or text_refusal(hole)

    def _supersede(self, uri: str) -> bool:
        """Cancel the document's request still in flight (its upstream stream closes now); whether there was one."""
        previous = self._inflight.get(uri)
        if previous is None or previous.done():
            return False
        self._cancel(previous, superseded=True)
        return True

    def _cancel(self, task: asyncio.Task, superseded: bool = False) -> None:
        """Cancel ``task`` once: a second cancel would land in the middle of closing its upstream connection
        (an editor's $/cancelRequest, then the next keystroke's supersede) and leave that connection open."""
        if superseded:
            self._superseded.add(task)
        if task not in self._cancelled:
            self._cancelled.add(task)
            task.cancel()

    def _debounce(self, uri: str, burst: bool, invoked: bool, floor: float) -> float:
        """Seconds to wait before asking: the configured floor, longer while requests supersede each other."""
        now = time.monotonic()
        last = self._last_request.get(uri)
        self._last_request[uri] = now
        if invoked:
            return 0.0
        if not burst or last is None:
            self._intervals.pop(uri, None)
            return floor
        intervals = self._intervals.setdefault(uri, deque(maxlen=4))
        intervals.append(now - last)
        typical = sorted(intervals)[len(intervals) // 2]
        # The longest recent gap too: one keystroke delayed (a busy machine) must not let a request out mid-burst.
        return max(floor, min(max(BURST_FACTOR * typical, max(intervals)), MAX_DEBOUNCE))

    async def _ask(self, p: fim.Plan, hole: context.Hole, wait: float) -> str | None:
        from hermesd.transports.completion import stream_text

        if wait > 0:
            await asyncio.sleep(wait)
        prepared = fim.build(p, hole)
        stops = p.template.stop if p.template is not None else ()
        chat = p.endpoint == "chat"
        self.stats["requests"] += 1
        pieces: list[str] = []
        async with contextlib.aclosing(stream_text(prepared, p.resolved, network())) as stream:
            async for piece in stream:
                pieces.append(piece)
                if not chat and postprocess.complete_enough("".join(pieces), hole, multiline=p.settings.multiline,
                                                            stops=stops):
                    break  # closing the stream now: the model stops writing what would be cut anyway
        return postprocess.clean("".join(pieces), hole, multiline=p.settings.multiline, stops=stops, chat=chat)

    def _cached(self, uri: str, hole: context.Hole) -> str | None:
        """The rest of a suggestion whose first characters were typed since, or a hole seen before."""
        for entry in reversed(self._cache.get(uri, ())):
            if entry.suffix != hole.suffix or not hole.prefix.startswith(entry.prefix):
                continue
            typed = hole.prefix[len(entry.prefix):]
            if entry.text.startswith(typed) and len(typed) < len(entry.text):
                rest = entry.text[len(typed):]
                if rest.strip():
                    return rest
        return None

    def _remember(self, uri: str, entry: _Entry) -> None:
        self._cache.setdefault(uri, deque(maxlen=CACHE_PER_DOCUMENT)).append(entry)


def _at(text: str, offset: int, path: str) -> tuple[fim.Plan, context.Hole, str | None]:
    """The plan, the hole at ``offset`` of the file ``path``, and why it must not be sent (or None)."""
    p = current_plan()
    if p is None:
        raise Unavailable("completion is off: set completion.provider and completion.model (docs/completion.md)")
    s = p.settings
    hole = context.cut(text, offset, s.prefix_chars, s.suffix_chars, context.language_of(path), path)
    return p, hole, path_refusal(p, path) or text_refusal(hole)


def preview(text: str, offset: int, path: str) -> dict[str, Any]:
    """What completion at ``offset`` would send, secrets masked, and why (``hermesd complete --preview``).

    Raises :class:`Unavailable` when completion is off or cannot be resolved.
    """
    from hermesd.protocol import to_wire

    p, hole, refused = _at(text, offset, path)
    out: dict[str, Any] = {"provider": p.resolved.provider, "model": p.resolved.model, "endpoint": p.endpoint,
                           "endpointReason": p.endpoint_reason,
                           "template": p.template.name if p.template else None, "templateReason": p.template_reason}
    if refused:
        out["refused"] = f"nothing would be sent: {refused}"
    else:
        out["request"] = to_wire(fim.build(p, hole).preview())
    return out


async def complete_once(text: str, offset: int, path: str) -> str | None:
    """One completion at ``offset``, as an editor's request would get it (``hermesd complete``); errors raised."""
    p, hole, refused = _at(text, offset, path)
    if refused:
        raise Unavailable(f"nothing sent: {refused}")
    return await Completions()._ask(p, hole, 0.0)
