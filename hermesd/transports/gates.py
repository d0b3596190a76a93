"""A queue in front of each endpoint's HTTP pool: at most N requests in flight, the rest wait their turn.

httpcore's pool scans every connection and every queued request whenever a
request starts or ends, so 10,000 chats sent at once to one endpoint cost
each other quadratically (954 open connections, ~4 chats/s: issue 38). Here a
chat waits for a slot before it reaches the pool, in arrival order, and a
waiting chat costs O(1): one future in a deque, skipped when it is cancelled
(asyncio.Semaphore removes a cancelled waiter from its deque, O(n) each).
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

_gates: dict[str, "Gate"] = {}


class Gate:
    """At most ``limit`` holders at once; the others wait first come, first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self._waiters: deque[asyncio.Future] = deque()

    @property
    def waiting(self) -> int:
        """Waiters not yet cancelled (counted on demand: only tests and logs ask)."""
        return sum(1 for f in self._waiters if not f.done())

    async def acquire(self) -> None:
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future  # the releaser counted this holder in before waking it
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # woken and cancelled in the same turn: pass the slot on
                self.release()
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        """A new limit from config: more room wakes waiters now; less takes effect as holders leave."""
        if limit != self.limit:
            self.limit = limit
            self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters and self.in_flight < self.limit:
            future = waiters.popleft()
            if not future.done():  # a cancelled waiter is dropped here, O(1)
                self.in_flight += 1
                future.set_result(None)


def gate(endpoint: str, limit: int) -> Gate:
    """The gate of ``endpoint`` (a base URL), its limit set to ``limit``."""
    found = _gates.get(endpoint)
    if found is None:
        found = _gates[endpoint] = Gate(limit)
    else:
        found.resize(limit)
    return found


@asynccontextmanager
async def slot(endpoint: str, limit: int) -> AsyncIterator[None]:
    """Hold one of ``endpoint``'s ``limit`` request slots for the block (a cancel while waiting leaves none taken)."""
    held = gate(endpoint, limit)
    await held.acquire()
    try:
        yield
    finally:
        held.release()
