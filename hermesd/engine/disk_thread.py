"""The one thread that does every chat's disk work: its session file, the index, the config.

Each chat steps off the event loop twice (its session and config, the reply
recorded), and about once a second while it streams (the reply so far).
Through ``asyncio.to_thread`` each step cost about 0.2 ms of CPU under load
(B6's short replies, issue 38): six pool workers and the loop handing the GIL
to each other at every system call and every SQLite statement, and a
self-pipe write and loop wake-up per step. One thread that runs, in order,
every job queued since its last round, and hands a round's results back to
the loop in one callback, costs much less, without an fsync or a locked index
ever blocking the loop. Each handover of the GIL still costs (a context switch
and cold caches on the other core), so what costs less than a hop stays on the
loop: the turn written ahead is one ``write`` to the page cache through the
file the session's lock holds open (:meth:`~hermesd.engine.sessions.SessionStore.claim`).

What it gives up: jobs wait for each other. The index's lock already
serialised their index work; their appends and fsyncs now queue too. So
nothing that may wait on the network comes here (a price catalog's fetch
goes to the default pool).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Results go back at least this often while jobs keep coming (a round of many fsyncs must not hold the first ones).
ROUND_SECONDS = 0.002

_Job = tuple[asyncio.AbstractEventLoop, asyncio.Future, contextvars.Context, Callable[..., Any], tuple[Any, ...]]
_Done = tuple[asyncio.Future, bool, Any]


class DiskThread:
    """Runs blocking disk work in arrival order on one thread, started on first use."""

    def __init__(self, name: str = "hermesd-disk") -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` on the disk thread (in this context, as ``asyncio.to_thread`` runs it); its result or exception.

        A cancelled caller does not stop the job: like a pool's, it runs to its end.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._jobs.put((loop, future, contextvars.copy_context(), func, args))
        if self._thread is None:
            self._start()
        return await future

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                # A daemon thread: the process's exit never waits on it, and the daemon's own shutdown awaits
                # every chat's last write before it lets the loop end.
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()

    def _forget_thread(self) -> None:
        """After a fork: the child has no such thread (and a fresh queue, with nobody else's jobs)."""
        self._jobs = queue.SimpleQueue()
        self._thread = None
        self._start_lock = threading.Lock()

    def _serve(self) -> None:
        jobs = self._jobs
        while True:
            done: dict[asyncio.AbstractEventLoop, list[_Done]] = {}
            job = jobs.get()
            since = time.monotonic()
            while True:
                loop, future, context, func, args = job
                outcome: _Done
                try:
                    outcome = (future, True, context.run(func, *args))
                except BaseException as exc:  # noqa: BLE001 - the caller's to raise, as a pool's future would
                    outcome = (future, False, exc)
                done.setdefault(loop, []).append(outcome)
                if time.monotonic() - since > ROUND_SECONDS:
                    break
                try:
                    job = jobs.get_nowait()
                except queue.Empty:
                    break
            for loop, results in done.items():
                try:
                    loop.call_soon_threadsafe(_settle, results)
                except RuntimeError:  # that loop is closed: nobody awaits these any more
                    log.debug("disk work finished after its event loop closed")


def _settle(results: list[_Done]) -> None:
    for future, ok, value in results:
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


_disk = DiskThread()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_disk._forget_thread)


async def run(func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` on the process's disk thread (see the module's docstring for what belongs there)."""
    return await _disk.run(func, *args)
