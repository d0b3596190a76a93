"""A queue in front of each endpoint's HTTP pool: at most N requests in flight, the rest wait their turn.

httpcore's pool, whenever a request starts or ends, checks every connection
(a ``poll()`` of each idle one) and, for each idle one, counts all of them; it
also closes any connection that goes idle while more than its keep-alive
allowance (20) are open, so under 100 concurrent chats most chats paid a new
TCP connection too. 10,000 chats sent at once made it quadratic (954 open
connections, ~4 chats/s: issue 38).

So a request first takes a slot here, in arrival order; a waiting chat costs
O(1) (one future in a deque, skipped once cancelled, where asyncio.Semaphore
removes a cancelled waiter from its deque, O(n) each). Each slot belongs to a
lane of :data:`LANE` slots, and each lane has its own small pool
(:func:`hermesd.transports.clients.httpx_client`): a pool's scans cover at most
:data:`LANE` connections, and every connection of a lane stays alive for the
next chat. The first lane with room is taken, so a quiet daemon uses lane 0
and its few warm connections.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import asynccontextmanager
from typing import AsyncIterator

LANE = 4  # slots (and connections) per lane's pool
_gates: dict[str, "Gate"] = {}


class Gate:
    """At most ``limit`` holders at once, each in a lane of :data:`LANE`; the others wait first come, first served."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.lanes: list[int] = []  # holders per lane
        self._waiters: deque[asyncio.Future] = deque()

    async def acquire(self) -> int:
        """Wait for a slot; its lane's number."""
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

    def release(self, lane: int) -> None:
        self.in_flight -= 1
        self.lanes[lane] -= 1
        self._wake()

    def resize(self, limit: int) -> None:
        """A new limit from config: more room wakes waiters now; less takes effect as holders leave."""
        if limit != self.limit:
            self.limit = limit
            self._wake()

    def _take(self) -> int:
        self.in_flight += 1
        lanes = self.lanes
        for lane, held in enumerate(lanes):  # a handful of lanes: the first with room keeps connections warm
            if held < LANE:
                lanes[lane] = held + 1
                return lane
        lanes.append(1)
        return len(lanes) - 1

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
    """Hold one of ``endpoint``'s ``limit`` request slots for the block; yields its lane
    (a cancel while waiting leaves none taken)."""
    held = gate(endpoint, limit)
    lane = await held.acquire()
    try:
        yield lane
    finally:
        held.release(lane)
