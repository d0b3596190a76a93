"""The state every connection of one daemon shares: sessions, the chat engine, the clients to notify.

One :class:`Daemon` per process, however many editors and CLIs connect to
it (stdio, TCP, the shared socket): it owns the session store and the chat
engine (created on first use), planApply's thread pool, the cached ``hermes/listProviders`` reply,
the watch on config.yaml, and the broadcast of ``hermes/configChanged`` and
``hermes/providersChanged`` to every connected client. It knows nothing of
pygls: a client is anything with ``protocol.notify(method, params)``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from hermesd.engine.chat import ChatEngine
    from hermesd.engine.sessions import SessionStore
    from hermesd.framing import RawResult
    from hermesd.serve.outbox import Outbox

log = logging.getLogger(__name__)


class Client(Protocol):
    """A connection the daemon can notify (a :class:`~hermesd.serve.server.HermesServer`)."""

    protocol: Any


class Connection(Client, Protocol):
    """One client's connection as :mod:`hermesd.serve.handlers` use it (a
    :class:`~hermesd.serve.server.HermesServer`): declared here, below both, so the
    handlers never import the server that registers them."""

    daemon: Daemon
    outbox: Outbox | None
    chats: set[asyncio.Task]  # this connection's hermes/chat requests in flight
    plugins_checked: bool  # its first listing request looked for plugin changes
    work_done_progress: Any  # pygls' progress reporter
    completion: Any  # its inline completion (hermesd.serve.completion.State)


class Daemon:
    """State shared by every connection: sessions, running chats, clients to notify."""

    def __init__(self) -> None:
        from hermesd.settings.config_watch import ConfigWatch

        self.clients: set[Client] = set()
        self._listing: tuple[tuple, Any] | None = None
        self.config_watch = ConfigWatch(self.config_changed)
        self._plugin_check: asyncio.Future | None = None

    def config_changed(self, key: str, value: Any) -> None:
        """Tell every client that ``key`` now has ``value`` (whoever changed it); a model comes with its short label."""
        from hermesd.protocol import ConfigChanged, to_wire

        change = ConfigChanged(key=key, value=value)
        if key == "model.default":
            from hermesd.engine.listing import model_label

            change.label = model_label(value or "")
        self.broadcast("hermes/configChanged", to_wire(change))
        for client in list(self.clients):
            react = getattr(client, "on_config_changed", None)
            if react is not None:
                react(key)

    def config_written(self, changed: list[tuple[str, Any]]) -> None:
        """After a write of ours: the watch takes the new file as its baseline (so it does not report
        the change again), and every client hears each changed key."""
        self.config_watch.sync()
        for key, value in changed:
            self.config_changed(key, value)

    @functools.cached_property
    def store(self) -> SessionStore:
        """The session store, opened on first use; it first replays what a forced exit left in recovery files."""

        from hermesd.engine.sessions import SessionStore

        store = SessionStore()
        try:
            store.replay_recovery()
        except Exception:  # noqa: BLE001 - a bad recovery file must not stop the daemon; it stays for a look
            log.exception("recovery files not replayed")
        return store

    def holds_unsaved(self) -> bool:
        """Whether turns a failed write left in memory are still unsaved (tried again, and logged, now)."""
        return "store" in vars(self) and self.store.retry_unsaved() > 0

    async def stop(self, why: str, grace: float | None = None) -> None:
        """SIGTERM/SIGINT: no new chats; running ones get ``grace`` (``daemon.stop_grace``) seconds, then are
        cancelled (partial text saved, each client answered); turns still unsaved go to a recovery file."""
        if "engine" in vars(self):
            notice = f"hermesd is stopping ({why})"
            await self.engine.stop(_stop_grace() if grace is None else grace, notice)
            await self._answered(5.0)
        if "store" in vars(self) and await asyncio.to_thread(self.store.retry_unsaved):
            await asyncio.to_thread(self.store.write_recovery)

    @functools.cached_property
    def engine(self) -> ChatEngine:
        """The chat engine, imported and built on first use (never for a connection that only lists)."""

        from hermesd.engine.chat import ChatEngine

        return ChatEngine(self.store)

    @functools.cached_property
    def apply_pool(self) -> ThreadPoolExecutor:
        """hermes/planApply's own two threads: however many large plans the clients send, they wait their turn
        here, and chats, getConfig and the rest keep the default pool to themselves."""
        from concurrent.futures import ThreadPoolExecutor

        return ThreadPoolExecutor(max_workers=2, thread_name_prefix="hermesd-apply")

    async def providers_listing(self) -> RawResult:
        """hermes/listProviders' result, rebuilt only when its inputs changed.

        It depends on the registry, config.yaml (the current model) and .env
        (which keys are set); the environment itself does not change under a
        running daemon. Serialised once: with hundreds of plugins, building
        and encoding the rows took far longer than the 5 ms a picker can wait.
        """
        key = _listing_key()
        cached = self._listing
        if cached is not None and cached[0] == key:
            return cached[1]
        from hermesd.engine import listing
        from hermesd.framing import RawResult
        from hermesd.protocol import to_wire

        result = await asyncio.to_thread(listing.providers_result)
        raw = RawResult(json.dumps(to_wire(result), separators=(",", ":")).encode("ascii"))
        self._listing = (key, raw)
        return raw

    def broadcast(self, method: str, params: dict[str, Any]) -> None:
        """``method`` to every connected client; a gone client is skipped."""
        for client in list(self.clients):
            try:
                client.protocol.notify(method, params)
            except Exception:  # noqa: BLE001 - a gone client must not stop the others
                log.debug("dropping notification to a closed client", exc_info=True)

    async def check_plugins(self) -> None:
        """:meth:`reload_plugins_if_changed` off the event loop; callers that arrive while a check runs
        share it (10,000 chats sent at once cost one check, not 10,000 thread hops of directory stats)."""
        pending = self._plugin_check
        if pending is None or pending.done():
            pending = self._plugin_check = asyncio.ensure_future(asyncio.to_thread(self.reload_plugins_if_changed))
        await asyncio.shield(pending)  # one caller cancelled does not cancel the others' check

    def reload_plugins_if_changed(self) -> bool:
        """Pick up plugins added, edited or removed since the last discovery.

        The reload makes a new plugin generation; sessions keep the profile
        they started with, so the older generations their profiles come from
        stay loaded, and the others are freed.
        """
        import providers

        if not providers.plugins_changed():
            return False
        providers.reload()
        store = self.__dict__.get("store")  # never opened: no session holds a profile
        providers.release_generations(store.profiles() if store is not None else ())
        from hermesd.protocol import ProvidersChanged, to_wire

        self.broadcast("hermes/providersChanged", to_wire(ProvidersChanged(reason="plugins-changed")))
        return True


    async def _answered(self, timeout: float) -> None:
        """Until every chat's result has reached its client (at most ``timeout`` s): the transports close next."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while any(getattr(c, "chats", None) for c in self.clients) and loop.time() < end:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)  # the handlers' results are sent from their tasks' done callbacks
        for client in list(self.clients):
            outbox = getattr(client, "outbox", None)
            if outbox is not None:
                await outbox.settle(max(0.0, end - loop.time()))


def _stop_grace() -> float:
    """``daemon.stop_grace`` from config.yaml (5 s when it cannot be read: the daemon is stopping anyway)."""
    from hermesd.settings import config

    try:
        value = config.load().get("daemon.stop_grace")
    except Exception:  # noqa: BLE001 - an unreadable config must not stop the stop
        return 5.0
    return float(value) if isinstance(value, (int, float)) else 5.0


def _listing_key() -> tuple:
    """What hermes/listProviders' result depends on, cheaply (two stats)."""
    import providers
    from hermesd.paths import config_path, env_path

    stats: list[Any] = [providers.registry_generation()]
    for path in (config_path(), env_path()):
        try:
            st = os.stat(path)
            stats.append((st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            stats.append(None)
    return tuple(stats)
