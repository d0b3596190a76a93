"""A queue in front of each endpoint's connections: at most N requests in flight, the rest wait their turn.

httpcore's pool, whenever a request starts or ends, checks every connection:
for each idle one, anyio builds the socket's attribute dictionary (a
``getpeername``, the family's enum) and httpcore calls ``poll()`` on it, and counts
all the idle ones. It also closes a connection going idle while more than its
keep-alive allowance (20) are open, so under 100 concurrent chats most chats
paid a new TCP connection too. 10,000 chats sent at once made it quadratic
(954 open connections, ~4 chats/s: issue 38).

So a request first takes a slot here, in arrival order; a waiting chat costs
O(1) (one future in a deque, skipped once cancelled, where asyncio.Semaphore
removes a cancelled waiter from its deque, O(n) each). Each slot has its own
pool of one connection (:func:`hermesd.transports.clients.httpx_client`), kept
alive for the slot's next request, so a pool's scans cover that one
connection (with pools of 4, a short chat under 100 concurrent ones cost ~15 %
more CPU: bench/notes.md). The lowest free slot is taken, so a quiet daemon
reuses slot 0's warm connection.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

_gates: dict[str, "Gate"] = {}


class Gate:
    """At most ``limit`` holders at once, each holding its own slot; the others wait first come, first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._made = 0  # slots numbered 0, 1, ... as they were first needed
        self._free: list[int] = []  # a heap of the slots not held: the lowest (the warmest connection) first
        self._waiters: deque[asyncio.Future] = deque()

    @property
    def in_flight(self) -> int:
        """Slots held now: every slot made, but the free ones."""
        return self._made - len(self._free)

    async def acquire(self) -> int:
        """Wait for a slot; its number."""
        if self.in_flight < self.limit and not self._waiters:
            return self._take()
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            return await future  # the releaser took the slot for this waiter before waking it
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # woken and cancelled in the same turn: pass the slot on
                self.release(future.result())
            raise

    def release(self, number: int) -> None:
        heapq.heappush(self._free, number)
        self._wake()

    def resize(self, limit: int) -> None:
        """A new limit from config: more room wakes waiters now; less takes effect as holders leave."""
        if limit != self.limit:
            self.limit = limit
            self._wake()

    def _take(self) -> int:
        if self._free:
            return heapq.heappop(self._free)
        self._made += 1
        return self._made - 1

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters and self.in_flight < self.limit:
            future = waiters.popleft()
            if not future.done():  # a cancelled waiter is dropped here, O(1)
                future.set_result(self._take())


def gate(endpoint: str, limit: int) -> Gate:
    """The gate of ``endpoint`` (a base URL), its limit set to ``limit``."""
    found = _gates.get(endpoint)
    if found is None:
        found = _gates[endpoint] = Gate(limit)
    else:
        found.resize(limit)
    return found


@asynccontextmanager
async def slot(endpoint: str, limit: int) -> AsyncIterator[int]:
    """Hold one of ``endpoint``'s ``limit`` request slots for the block; yields its number
    (a cancel while waiting leaves none taken)."""
    held = gate(endpoint, limit)
    number = await held.acquire()
    try:
        yield number
    finally:
        held.release(number)
